//! The organization's StackSet and its operations: the parameters it deploys, creating or
//! updating it, creating the missing instances and deploying stale ones again, the log-archive
//! instance's storage override, and deleting the scope's instances and the set.

use std::collections::BTreeMap;
use std::time::Duration;

use super::discover::OrgView;
use crate::aws::stacksets::{self, OperationPreferences, StackInstance, Targets};
use crate::cli::{OperationArgs, OrgOnboardArgs};
use crate::commands::stack;
use crate::core::org_scope::AccountFilter;
use crate::core::org_stackset::{self, AdministratorTrust, DeployedSet, InstanceSummary};
use crate::core::org_template::OPERATOR_ROLE_NAME;
use crate::core::stack_plan::DEFAULT_ROLE_NAME;
use crate::error::{Error, Result};

/// The roles StackSet's description.
const ROLES_DESCRIPTION: &str = "flowgate: the analytics vendor's cross-account role and flowgate's operator role in every member account";

pub(super) fn preferences_of(operations: OperationArgs) -> OperationPreferences {
    OperationPreferences {
        failure_tolerance_percentage: operations.failure_tolerance_percentage,
        max_concurrent_percentage: operations.max_concurrent_percentage,
    }
}

/// The instances as the core judges them.
pub(super) fn summaries(instances: &[StackInstance]) -> Vec<InstanceSummary<'_>> {
    instances
        .iter()
        .map(|i| InstanceSummary { account: &i.account, region: &i.region, status: &i.status, detailed_status: i.detailed_status.as_deref() })
        .collect()
}

/// The StackSet's parameters: today's vendor template with storage access off (member accounts
/// never read the central bucket), plus the operator role's trust.
pub(super) struct SetParameters {
    pub values: Vec<(String, String)>,
    pub external_id: String,
    /// The ExternalId is new (neither given nor kept): a dry run does not show it.
    pub generated: bool,
    pub role_name: String,
    /// The administrator whose trust this run takes over (`--take-over-administration`).
    pub taken_over_from: Option<String>,
}

/// The account the operator roles trust: the one the StackSet names already, unless the run is
/// asked to take the trust over; a run from another account without that is refused before any
/// change (its AssumeRole calls into the members would all be denied).
fn administrator(args: &OrgOnboardArgs, view: &OrgView, existing: Option<&str>) -> Result<(String, Option<String>)> {
    let caller = &view.identity.account;
    match org_stackset::administrator_trust(existing, caller, args.take_over_administration) {
        AdministratorTrust::Caller => Ok((caller.clone(), None)),
        AdministratorTrust::TakeOver { from } => Ok((caller.clone(), Some(from))),
        AdministratorTrust::HeldBy { account } => {
            let role = if account == view.tree.management_account { "the management account" } else { "another administrator" };
            Err(Error::input(
                format!(
                    "the operator roles of stack set {} trust {role} ({account}), not this account ({caller}): a run from here cannot reach the members through them",
                    args.target.stack_set_name
                ),
                Some(format!(
                    "run flowgate org from account {account}; or pass --take-over-administration to make every operator role trust {caller} instead (every instance is updated, and {account} can no longer assume them)"
                )),
            ))
        }
    }
}

pub(super) fn set_parameters(args: &OrgOnboardArgs, view: &OrgView, existing: Option<&BTreeMap<String, String>>) -> Result<SetParameters> {
    let kept = |key: &str| existing.and_then(|p| p.get(key)).filter(|v| !v.is_empty()).cloned();
    let vendor = args.vendor_account.as_ref().map(|a| a.to_string()).or_else(|| kept("VendorAccountId")).ok_or_else(|| {
        Error::input(
            "--vendor-account is required to create the StackSet",
            Some("pass the vendor's 12-digit account id: --vendor-account ID".to_owned()),
        )
    })?;
    let given = args.external_id.clone().or_else(|| kept("ExternalId"));
    let generated = given.is_none();
    let external_id = given.unwrap_or_else(stack::new_external_id);
    let role_name = args.role_name.clone().or_else(|| kept("RoleName")).unwrap_or_else(|| DEFAULT_ROLE_NAME.to_owned());
    let compliance = if args.vendor_modes.no_compliance {
        String::new()
    } else {
        args.vendor_modes.compliance_account.as_ref().map(|a| a.to_string()).or_else(|| kept("ComplianceAccountId")).unwrap_or_default()
    };
    let (administrator, taken_over_from) = administrator(args, view, existing.and_then(|p| p.get("AdministratorAccountId")).map(String::as_str))?;
    let values = vec![
        ("VendorAccountId".to_owned(), vendor),
        ("ExternalId".to_owned(), external_id.clone()),
        ("RoleName".to_owned(), role_name.clone()),
        ("StorageAccess".to_owned(), "false".to_owned()),
        ("StorageBucketNames".to_owned(), String::new()),
        ("ComplianceAccountId".to_owned(), compliance),
        ("ReadWrite".to_owned(), args.vendor_modes.read_write.to_string()),
        ("AdministratorAccountId".to_owned(), administrator),
        ("OrganizationId".to_owned(), view.tree.org_id.clone()),
        ("OperatorRoleName".to_owned(), OPERATOR_ROLE_NAME.to_owned()),
    ];
    Ok(SetParameters { values, external_id, generated, role_name, taken_over_from })
}

/// What resolves an instance's failure in `account` when its `reason` is a role of the StackSet
/// that already exists there (`stack_name`: the single-account stack to name when the reason
/// names none).
pub(super) fn collision_fix(account: &str, reason: &str, parameters: &SetParameters, stack_name: &str) -> Option<String> {
    let collision = org_stackset::role_collision(reason, &[parameters.role_name.as_str(), OPERATOR_ROLE_NAME])?;
    Some(org_stackset::collision_fix(account, &collision, (&parameters.role_name, stack_name)))
}

pub(super) fn deployed(set: &stacksets::StackSetInfo) -> DeployedSet<'_> {
    DeployedSet { template_body: &set.template_body, parameters: &set.parameters, auto_deployment: set.auto_deployment }
}

/// The roles' StackSet of that name, refused when it is not flowgate's: `org onboard` would
/// replace its template, `org offboard` delete it.
pub(super) fn flowgates_set_or_refuse(set: Option<stacksets::StackSetInfo>, name: &str) -> Result<Option<stacksets::StackSetInfo>> {
    match set {
        Some(set) if !org_stackset::is_flowgates_roles_set(&deployed(&set)) => Err(Error::refused(
            format!("stack set {name} is not flowgate's (its template has no {OPERATOR_ROLE_NAME}): flowgate leaves it alone"),
            Some("name flowgate's StackSet with --stack-set-name (default flowgate-org-roles)".to_owned()),
        )),
        set => Ok(set),
    }
}

pub(super) fn set_is_current(set: &stacksets::StackSetInfo, template: &str, parameters: &SetParameters, view: &OrgView) -> bool {
    org_stackset::set_differences(&deployed(set), template, &parameters.values, org_stackset::auto_deploys(&view.scope.account_filter)).is_empty()
}

/// An operation that FAILED or was STOPPED without saying which account: an error of the step.
pub(super) fn failed_without_results(outcome: &stacksets::OperationOutcome, id: &str) -> Result<()> {
    if matches!(outcome.status.as_str(), "FAILED" | "STOPPED") && outcome.failures.is_empty() {
        return Err(Error::refused(
            format!("the StackSet operation {id} ended {}: {}", outcome.status, outcome.status_reason.clone().unwrap_or_default()),
            Some("see the operation in the CloudFormation console (StackSets), fix, and re-run".to_owned()),
        ));
    }
    Ok(())
}

/// The override that lets the log-archive account's vendor role read the central bucket.
#[derive(Debug, Clone)]
pub(super) struct StorageGrant {
    pub account: String,
    /// The target OU the account's instance was deployed through.
    pub ou: String,
    pub overrides: Vec<(String, String)>,
}

/// An account's failure in a StackSet operation: (account, region, status, reason).
pub(super) type InstanceFailure = (String, String, String, String);

/// The StackSet this run deploys, and how its operations run.
pub(super) struct SetDeployment<'a> {
    pub cfn: &'a aws_sdk_cloudformation::Client,
    pub view: &'a OrgView,
    pub name: &'a str,
    pub template: &'a str,
    pub parameters: &'a SetParameters,
    pub preferences: OperationPreferences,
    pub wait: Duration,
}

/// What the deployment does to the instances.
pub(super) struct InstanceWork<'a> {
    /// The StackSet exists already.
    pub exists: bool,
    pub missing: &'a [String],
    pub stale: &'a [String],
    /// The StackSet has no instance yet: the first deployment targets the whole scope.
    pub no_instances: bool,
}

impl SetDeployment<'_> {
    /// Creates or updates the StackSet, creates the missing instances and deploys the stale ones
    /// again, waiting for each operation; returns each account's failure, or the error with the
    /// action of the plan line it stopped at.
    pub(super) async fn deploy(&self, work: &InstanceWork<'_>) -> std::result::Result<Vec<InstanceFailure>, (&'static str, Error)> {
        let set_action = if work.exists { "update-stack-set" } else { "create-stack-set" };
        let mut failures = self.deploy_set(work.exists).await.map_err(|e| (set_action, e))?;
        if !work.missing.is_empty() {
            failures.extend(self.create_instances(work).await.map_err(|e| ("create-stack-instances", e))?);
        }
        if !work.stale.is_empty() {
            failures.extend(self.redeploy_instances(work.stale).await.map_err(|e| ("update-stack-instances", e))?);
        }
        Ok(failures)
    }

    /// Creates the StackSet, or updates it when it differs from what this run deploys.
    async fn deploy_set(&self, exists: bool) -> Result<Vec<InstanceFailure>> {
        let (cfn, view, name) = (self.cfn, self.view, self.name);
        let auto = org_stackset::auto_deploys(&view.scope.account_filter);
        match stacksets::describe_stack_set(cfn, name, view.caller).await? {
            None => stacksets::create_stack_set(cfn, name, self.template, &self.parameters.values, auto, view.caller, ROLES_DESCRIPTION).await?,
            Some(set) if exists && !set_is_current(&set, self.template, self.parameters, view) => {
                let id = stacksets::update_stack_set(
                    cfn,
                    name,
                    self.template,
                    &self.parameters.values,
                    auto,
                    self.preferences,
                    view.caller,
                    stacksets::BUSY_DELAYS,
                )
                .await?;
                return self.finished(&id).await;
            }
            Some(_) => {}
        }
        Ok(Vec::new())
    }

    /// Waits for operation `id` to end; each account's failure.
    async fn finished(&self, id: &str) -> Result<Vec<InstanceFailure>> {
        let outcome = stacksets::wait_operation(self.cfn, self.name, id, self.view.caller, self.wait).await?;
        failed_without_results(&outcome, id)?;
        Ok(outcome.failures)
    }

    /// The first deployment targets the scope (its OUs, filtered as asked); a later one only the
    /// members still without an instance (accounts that joined while auto-deployment was off, or
    /// whose instance was deleted), leaving the others' stacks alone. At most 50 OUs per call.
    async fn create_instances(&self, work: &InstanceWork<'_>) -> Result<Vec<InstanceFailure>> {
        let view = self.view;
        let only_missing = AccountFilter::Intersection(work.missing.to_vec());
        let filter = if work.no_instances { &view.scope.account_filter } else { &only_missing };
        let mut failures = Vec::new();
        for ous in view.scope.target_ous.chunks(50) {
            let targets = Targets { ous, filter };
            let region = &view.stack_set_region;
            let id = stacksets::create_stack_instances(self.cfn, self.name, &targets, region, self.preferences, view.caller, stacksets::BUSY_DELAYS)
                .await?;
            failures.extend(self.finished(&id).await?);
        }
        Ok(failures)
    }

    /// Deploys the `stale` accounts' instances again, as they are.
    async fn redeploy_instances(&self, stale: &[String]) -> Result<Vec<InstanceFailure>> {
        let view = self.view;
        let mut failures = Vec::new();
        for ous in view.scope.target_ous.chunks(50) {
            let id = stacksets::update_instances(
                self.cfn,
                self.name,
                ous,
                stale,
                &view.stack_set_region,
                None,
                self.preferences,
                view.caller,
                stacksets::BUSY_DELAYS,
            )
            .await?;
            failures.extend(self.finished(&id).await?);
        }
        Ok(failures)
    }

    /// The parameter override that lets the log-archive account's vendor role read the bucket.
    pub(super) async fn grant_storage(&self, grant: &StorageGrant) -> Result<Vec<InstanceFailure>> {
        let id = stacksets::update_instances(
            self.cfn,
            self.name,
            std::slice::from_ref(&grant.ou),
            std::slice::from_ref(&grant.account),
            &self.view.stack_set_region,
            Some(&grant.overrides),
            self.preferences,
            self.view.caller,
            stacksets::BUSY_DELAYS,
        )
        .await?;
        Ok(stacksets::wait_operation(self.cfn, self.name, &id, self.view.caller, self.wait).await?.failures)
    }
}

/// Deletes the scope's stack instances that `filter` selects (`RetainStacks` false), at most 50
/// OUs a call; `None`: none to delete.
pub(super) async fn delete_instances(
    cfn: &aws_sdk_cloudformation::Client,
    view: &OrgView,
    set_name: &str,
    filter: Option<&AccountFilter>,
    preferences: OperationPreferences,
    wait: Duration,
) -> Result<()> {
    let Some(filter) = filter else { return Ok(()) };
    for ous in view.scope.target_ous.chunks(50) {
        let targets = Targets { ous, filter };
        let id = stacksets::delete_stack_instances(cfn, set_name, &targets, &view.stack_set_region, preferences, view.caller, stacksets::BUSY_DELAYS)
            .await?;
        let outcome = stacksets::wait_operation(cfn, set_name, &id, view.caller, wait).await?;
        failed_without_results(&outcome, &id)?;
        if let Some((account, _, status, reason)) = outcome.failures.first() {
            return Err(Error::refused(format!("deleting the instance in account {account}: {status} {reason}"), None));
        }
    }
    Ok(())
}

/// Deletes the StackSet once no instance is left.
pub(super) async fn delete_set(cfn: &aws_sdk_cloudformation::Client, view: &OrgView, set_name: &str) -> Result<()> {
    let left = stacksets::list_stack_instances(cfn, set_name, view.caller).await?;
    if !left.is_empty() {
        return Err(Error::refused(
            format!("stack set {set_name} still has {} instance(s): it is kept", left.len()),
            Some("see flowgate org status; delete the remaining instances, then re-run".to_owned()),
        ));
    }
    stacksets::delete_stack_set(cfn, set_name, view.caller, stacksets::BUSY_DELAYS).await
}
