//! The onboard plan, read-only, in the order it is applied: the prerequisites (StackSets' trusted
//! access, a delegated administrator), the central bucket and its delivery policy, the StackSet
//! and its instances, the management account's single-account stack, the log-archive instance's
//! storage override, and each account's flow logs.

use std::collections::BTreeMap;

use super::discover::{OrgView, log_archive_ctx, observe_org, refuse_named_vpcs, stacksets_client};
use super::flowlogs::{AccountPlan, plan_onboard_flow_logs, skip_lines};
use super::regions::{check_requested, requested};
use super::report::{AccountEntry, OrgReport, VendorAccess, account_failure};
use super::stackset::{self, SetParameters, StorageGrant, set_is_current, set_parameters, summaries};
use super::watch::{WatchPlan, plan_watch};
use crate::apply::ApplyMode;
use crate::aws::organizations;
use crate::aws::s3;
use crate::aws::stacksets::{self, Caller, StackInstance};
use crate::cli::{
    BucketCreateArgs, BucketTargetArgs, CallAs, DeliveryPolicyForm, FlowLogSpecArgs, OrgOnboardArgs, StackDeployArgs, StackNameArgs, desired_flow_log,
};
use crate::commands::flowlogs::EnablePlan;
use crate::commands::{bucket, stack};
use crate::context::Ctx;
use crate::core::names::BucketName;
use crate::core::org_delivery::{self, DeliveryForm, OrgDeliveryTarget, OrgPolicyMerge};
use crate::core::org_grant::{self, DeliveryGrant, GrantContext};
use crate::core::org_scope::AccountStatus;
use crate::core::org_stackset::{self, missing_instances, stale_instances, target_ou_of};
use crate::core::org_template::{OPERATOR_ROLE_NAME, org_member_template};
use crate::core::report::{Change, ChangeStatus, ChangeTally};
use crate::core::stack_plan::{StorageId, TEMPLATE};
use crate::error::{Error, Result};

/// What the input alone can tell, before the first AWS call.
pub(super) fn check_input(args: &OrgOnboardArgs) -> Result<()> {
    desired_flow_log(&args.flowlogs.spec, "aws")?;
    refuse_named_vpcs(&args.flowlogs.scope)?;
    if args.wait.no_wait {
        return Err(Error::input(
            "--no-wait does not apply to org onboard: the roles must exist before flow logs are made through them",
            Some("leave out --no-wait; --wait-timeout bounds the wait for each StackSet operation".to_owned()),
        ));
    }
    if args.register_delegated_admin.is_some() && args.target.call_as == CallAs::DelegatedAdmin {
        return Err(Error::input(
            "--register-delegated-admin is applied from the management account, not with --call-as delegated-admin",
            Some("run it once from the management account, then call as the delegated administrator".to_owned()),
        ));
    }
    Ok(())
}

/// The onboard plan: everything the apply needs, read once.
pub(super) struct OnboardPlan {
    pub view: OrgView,
    pub cfn: aws_sdk_cloudformation::Client,
    pub template: String,
    pub prerequisites: Prerequisites,
    pub central: CentralPlan,
    pub set: SetPlan,
    pub management: ManagementPlan,
    /// The log-archive instance's storage override: its plan line, and the grant when it changes.
    pub storage: Option<(Change, Option<StorageGrant>)>,
    /// Each account's flow-log plan, made through a role that exists already.
    pub flow_plans: BTreeMap<String, EnablePlan>,
    /// Each account's plan lines of the regions it skips (not enabled there).
    pub skip_lines: BTreeMap<String, Vec<Change>>,
    /// The regions of the pass: the requested ones, or those enabled in the accounts read.
    pub in_play: Vec<String>,
    /// The watch StackSet (`--watch`), in the regions of the pass.
    pub watch: WatchPlan,
}

/// The regions of the flow-log pass: `--regions`, or every region enabled in an account read (an
/// account without one of them skips it, and its plan says so).
fn regions_in_play(args: &OrgOnboardArgs, planned: &[(String, Result<AccountPlan>)]) -> Vec<String> {
    if !args.flowlogs.scope.regions.is_empty() {
        return requested(&args.flowlogs.scope);
    }
    let mut all: Vec<String> = planned.iter().filter_map(|(_, p)| p.as_ref().ok()).flat_map(|p| p.enabled()).collect();
    all.sort();
    all.dedup();
    all
}

/// The watcher's regions: those of the pass, less a region every account read skipped (closed by
/// a policy in all of them, where its instances could only fail).
fn watch_regions(in_play: &[String], planned: &[(String, Result<AccountPlan>)]) -> Vec<String> {
    let plans: Vec<_> = planned.iter().filter_map(|(_, p)| p.as_ref().ok()?.plan.as_ref()).collect();
    let closed_everywhere = |region: &String| !plans.is_empty() && plans.iter().all(|p| p.skipped.iter().any(|s| &s.region == region));
    in_play.iter().filter(|r| !closed_everywhere(r)).cloned().collect()
}

/// Reads the organization and every account, and plans the onboarding with the report that
/// shows it.
pub(super) async fn plan_onboard(ctx: &Ctx, args: &OrgOnboardArgs) -> Result<(OnboardPlan, OrgReport)> {
    let view = observe_org(ctx, &args.target).await?;
    let template = org_member_template(TEMPLATE).map_err(|e| Error::refused(format!("the StackSet template does not build (a bug): {e}"), None))?;
    let cfn = stacksets_client(ctx, &view.stack_set_region);
    let prerequisites = plan_prerequisites(ctx, args, &view, &cfn).await?;
    let (central, delivery_grant) = plan_central_bucket(ctx, args, &view).await?;
    let set = plan_stack_set(&cfn, args, &view, &template).await?;
    let management = plan_management_stack(ctx, args, &view, &set.parameters, central.via_management_stack).await?;
    // Vendor storage access: the log-archive account's vendor role (a StackSet instance) reads
    // the central bucket through a parameter override of that one instance; no other member's
    // role reads storage, and nothing grants the organization as a whole.
    let storage = if args.storage_access && !central.via_management_stack {
        Some(plan_storage_access(&cfn, &view, &args.target.stack_set_name, &central.log_archive, &args.flowlogs.spec.bucket, &set.instances).await?)
    } else {
        None
    };
    // Flow logs, per account: planned through the operator role where it exists already, each in
    // the regions enabled there.
    let planned = plan_onboard_flow_logs(ctx, args, &view).await;
    let read: Vec<_> = planned.iter().filter_map(|(_, p)| p.as_ref().ok()?.regions.clone()).collect();
    check_requested(ctx, &args.flowlogs.scope, &read).await?;
    let in_play = regions_in_play(args, &planned);
    let watch = plan_watch(ctx, args, &view, &cfn, &watch_regions(&in_play, &planned)).await?;
    let mut plan = OnboardPlan {
        view,
        cfn,
        template,
        prerequisites,
        central,
        set,
        management,
        storage,
        flow_plans: BTreeMap::new(),
        skip_lines: BTreeMap::new(),
        in_play,
        watch,
    };
    let report = plan.report(ctx, args, delivery_grant, planned);
    Ok((plan, report))
}

impl OnboardPlan {
    /// The plan's report: the organization's changes in the order they apply, and each account
    /// with its flow-log plan (kept in `flow_plans` for the apply).
    fn report(&mut self, ctx: &Ctx, args: &OrgOnboardArgs, grant: DeliveryGrant, planned: Vec<(String, Result<AccountPlan>)>) -> OrgReport {
        let spec = &args.flowlogs.spec;
        let mut report = OrgReport::new("org onboard", &self.view, &args.target, &spec.bucket, &self.central.log_archive, ctx.dry_run);
        report.delivery_policy = Some(match args.delivery_policy {
            DeliveryPolicyForm::PerAccount => "per-account",
            DeliveryPolicyForm::Org => "org",
        });
        report.delivery_grant = Some(grant);
        let parameters = &self.set.parameters;
        report.vendor = Some(VendorAccess {
            account: parameters.values.first().map(|(_, v)| v.clone()).unwrap_or_default(),
            external_id: if parameters.generated && ctx.dry_run {
                "(a new random one, generated when applied)".to_owned()
            } else {
                parameters.external_id.clone()
            },
            role_name: parameters.role_name.clone(),
        });
        report.changes = self.prerequisites.changes.clone();
        report.changes.extend(self.central.bucket_changes.clone());
        report.changes.push(self.central.policy_line.clone());
        report.changes.extend(self.set.lines());
        if let Some((line, _)) = &self.storage {
            report.changes.push(line.clone());
        }
        report.changes.extend(self.management.changes.clone());
        report.changes.extend(self.watch.lines.clone());
        let view = &self.view;
        report.accounts = view.scope.accounts.iter().map(|a| AccountEntry::new(a, &self.set.instances, &view.stack_set_region)).collect();
        for (id, result) in planned {
            let Some(entry) = report.accounts.iter_mut().find(|e| e.account.id == id) else { continue };
            entry.changes = match result {
                Ok(account_plan) => self.account_changes(&id, account_plan),
                // A role the StackSet has yet to deploy (or deploy again) cannot be assumed:
                // planned with it.
                Err(_) if self.set.deploying.contains(&id) => vec![Change::new(
                    "enable-flow-logs",
                    &id,
                    ChangeStatus::Planned,
                    format!("every VPC in scope, once the StackSet has deployed {OPERATOR_ROLE_NAME}"),
                )],
                Err(e) => vec![account_failure("read-account", &id, "the account could not be read", &e)],
            };
        }
        report.summary = ChangeTally::of(&report.all_changes());
        report
    }
}

impl OnboardPlan {
    /// One account's plan lines (its flow logs, then the regions it skips), its plan kept for
    /// the apply.
    fn account_changes(&mut self, id: &str, account_plan: AccountPlan) -> Vec<Change> {
        let skipped = skip_lines(id, &self.in_play, &account_plan.enabled());
        let mut changes = account_plan.plan.as_ref().map(EnablePlan::changes).unwrap_or_default();
        changes.extend(skipped.iter().cloned());
        if let Some(plan) = account_plan.plan {
            self.flow_plans.insert(id.to_owned(), plan);
        }
        self.skip_lines.insert(id.to_owned(), skipped);
        changes
    }
}

/// StackSets' trusted access and a delegated administrator, as the plan finds them.
pub(super) struct Prerequisites {
    pub changes: Vec<Change>,
    /// The account to register as StackSets' delegated administrator (not registered yet).
    pub register_admin: Option<String>,
    /// StackSets' trusted access to the organization is active.
    pub trusted: bool,
}

async fn plan_prerequisites(ctx: &Ctx, args: &OrgOnboardArgs, view: &OrgView, cfn: &aws_sdk_cloudformation::Client) -> Result<Prerequisites> {
    let mut changes = Vec::new();
    let mut register_admin = None;
    if let Some(admin) = &args.register_delegated_admin {
        if view.caller != Caller::Management {
            return Err(Error::input("--register-delegated-admin is applied from the management account", None));
        }
        let registered = organizations::is_stacksets_delegated_admin(&ctx.clients.organizations(), admin.as_str()).await?;
        changes.push(Change::new(
            "register-delegated-admin",
            admin.as_str(),
            if registered { ChangeStatus::Skipped } else { ChangeStatus::Planned },
            if registered { "already StackSets' delegated administrator" } else { "StackSets' delegated administrator" },
        ));
        register_admin = (!registered).then(|| admin.to_string());
    }
    let trusted = stacksets::organizations_access(cfn, view.caller).await?;
    if !trusted && view.caller == Caller::DelegatedAdmin {
        return Err(Error::refused(
            "StackSets' trusted access to the organization is not activated",
            Some(
                "activate it from the management account: flowgate org onboard there, or aws cloudformation activate-organizations-access".to_owned(),
            ),
        ));
    }
    changes.push(Change::new(
        "activate-organizations-access",
        "cloudformation",
        if trusted { ChangeStatus::Skipped } else { ChangeStatus::Planned },
        if trusted { "StackSets' trusted access is active" } else { "StackSets' trusted access to the organization (service-managed permissions)" },
    ));
    Ok(Prerequisites { changes, register_admin, trusted })
}

/// The central bucket in the log-archive account and the organization's delivery policy on it.
pub(super) struct CentralPlan {
    pub log_archive: String,
    /// The run acting in the log-archive account (plan only; the apply forks it).
    pub la_plan: Ctx,
    /// A bucket in the management account is read through that account's single-account stack;
    /// anywhere else, through the StackSet instance of the account it is in.
    pub via_management_stack: bool,
    pub bucket_args: BucketCreateArgs,
    pub bucket_changes: Vec<Change>,
    pub policy_line: Change,
    /// The accounts in scope, and the organization's active accounts: the apply merges the
    /// delivery statements again on the policy as it is then.
    pub scoped_ids: Vec<String>,
    pub active_ids: Vec<String>,
}

async fn plan_central_bucket(ctx: &Ctx, args: &OrgOnboardArgs, view: &OrgView) -> Result<(CentralPlan, DeliveryGrant)> {
    let (log_archive, la_plan) = log_archive_ctx(ctx, &args.target, ApplyMode::PLAN_ONLY).await?;
    let via_management_stack = log_archive == view.identity.account && view.caller == Caller::Management;
    if args.storage_access && via_management_stack && view.scope.management().is_none() {
        return Err(Error::input(
            "--storage-access: the central bucket is in the management account, which is out of scope, so no vendor role there would read it",
            Some("put the bucket in a member account with --log-archive-account, or include the management account (leave out --ous)".to_owned()),
        ));
    }
    let bucket_args = bucket_create_args(args);
    let bucket_plan = bucket::create(&la_plan, &bucket_args).await?;
    let bucket_exists = bucket_plan.changes.iter().any(|c| c.action == "create-bucket" && c.status == ChangeStatus::Skipped);
    let spec = &args.flowlogs.spec;
    // A new bucket gets the log-archive account's own delivery statements first (bucket create):
    // the size checked is that of the policy the organization's statements join.
    let existing_policy = if bucket_exists {
        s3::read_policy(&la_plan.s3(&bucket_plan.region), &spec.bucket).await?
    } else {
        own_statements_policy(&view.identity.partition, spec, &log_archive)
    };
    let scoped_ids: Vec<String> = view.scope.in_scope().iter().map(|a| a.id.clone()).collect();
    let active_ids: Vec<String> = view.tree.accounts.iter().filter(|a| a.status == AccountStatus::Active).map(|a| a.id.clone()).collect();
    let existing = existing_policy.as_deref();
    let (policy_line, grant) = plan_delivery_policy(args, view, &log_archive, existing, bucket_exists, (&scoped_ids, &active_ids))?;
    let bucket_changes = bucket_plan.changes;
    let central = CentralPlan { log_archive, la_plan, via_management_stack, bucket_args, bucket_changes, policy_line, scoped_ids, active_ids };
    Ok((central, grant))
}

fn bucket_create_args(args: &OrgOnboardArgs) -> BucketCreateArgs {
    BucketCreateArgs {
        target: BucketTargetArgs {
            bucket: args.flowlogs.spec.bucket.clone(),
            bucket_region: args.bucket_region.clone(),
            prefix: args.flowlogs.spec.prefix.clone(),
            hive_partitions: args.flowlogs.spec.hive_partitions,
        },
        expire_days: None,
        tags: Vec::new(),
        fix_encryption: false,
        remove_old_paths: false,
    }
}

/// The policy `bucket create` gives a new bucket: the log-archive account's own statements.
fn own_statements_policy(partition: &str, spec: &FlowLogSpecArgs, log_archive: &str) -> Option<String> {
    let own = crate::core::bucket_policy::DeliveryTarget {
        partition,
        bucket: &spec.bucket,
        prefix: spec.prefix.as_ref(),
        account: log_archive,
        hive_partitions: spec.hive_partitions,
    };
    let statements = crate::core::bucket_policy::delivery_statements(&own);
    crate::core::bucket_policy::merge_delivery_statements(None, &statements, &|_| false).ok().and_then(|m| m.document)
}

/// The plan line of the delivery statements and who they grant; `(scoped, active)`: the accounts
/// in scope and the organization's active ones.
fn plan_delivery_policy(
    args: &OrgOnboardArgs,
    view: &OrgView,
    log_archive: &str,
    existing: Option<&str>,
    bucket_exists: bool,
    (scoped, active): (&[String], &[String]),
) -> Result<(Change, DeliveryGrant)> {
    let spec = &args.flowlogs.spec;
    let target = delivery_target(&view.identity.partition, spec, args.delivery_policy, &view.tree.org_id);
    let grant_ids = org_grant::delivery_accounts(existing, args.delivery_policy == DeliveryPolicyForm::PerAccount, scoped, active);
    let merge = merged_policy(existing, &target, &grant_ids)?;
    let org_accounts: Vec<String> = view.tree.accounts.iter().map(|a| a.id.clone()).collect();
    let own_outside = (!scoped.iter().any(|a| a == log_archive) && org_grant::has_account_statements(existing, log_archive)).then_some(log_archive);
    let context = GrantContext { scoped, org_id: &view.tree.org_id, org_accounts: &org_accounts, own_statements_outside: own_outside };
    org_grant::grant_line(&merge, existing, &spec.bucket, bucket_exists, &context).map_err(|e| {
        Error::refused(format!("the central bucket's policy cannot be read: {e}"), Some("fix the policy by hand, then re-run".to_owned()))
    })
}

/// The organization's delivery statements as asked: the bucket, its prefix and layout, the form.
pub(super) fn delivery_target<'a>(partition: &'a str, spec: &'a FlowLogSpecArgs, form: DeliveryPolicyForm, org_id: &str) -> OrgDeliveryTarget<'a> {
    OrgDeliveryTarget {
        partition,
        bucket: &spec.bucket,
        prefix: spec.prefix.as_ref(),
        hive_partitions: spec.hive_partitions,
        form: match form {
            DeliveryPolicyForm::PerAccount => DeliveryForm::PerAccount,
            DeliveryPolicyForm::Org => DeliveryForm::Org { org_id: org_id.to_owned() },
        },
    }
}

/// The delivery policy for `accounts` merged into `existing`, refused past S3's size limit.
pub(super) fn merged_policy(existing: Option<&str>, target: &OrgDeliveryTarget<'_>, accounts: &[String]) -> Result<OrgPolicyMerge> {
    let merge = org_delivery::merge_org_delivery(existing, target, accounts).map_err(|e| {
        Error::refused(format!("the central bucket's policy cannot be edited: {e}"), Some("fix the policy by hand, then re-run".to_owned()))
    })?;
    if merge.over_limit() {
        // What the bytes are, AWS's own delivery statements among them (they count as well).
        let parts = crate::core::limits::bucket_policy_parts(merge.document.as_deref().or(existing).unwrap_or_default());
        return Err(Error::refused(
            format!(
                "the bucket policy with per-account delivery for {} account(s) would be {} bytes, over S3's {}-byte limit ({parts})",
                accounts.len(),
                merge.size_bytes,
                org_delivery::BUCKET_POLICY_LIMIT_BYTES
            ),
            Some("use --delivery-policy org (one statement conditioned on aws:SourceOrgID), or narrow the scope with --ous".to_owned()),
        ));
    }
    Ok(merge)
}

/// The StackSet and its instances, as planned.
pub(super) struct SetPlan {
    /// The StackSet exists already.
    pub exists: bool,
    pub parameters: SetParameters,
    pub instances: Vec<StackInstance>,
    pub set_line: Change,
    pub instances_line: Change,
    /// Instances a failed or cancelled operation left OUTDATED, deployed again.
    pub repair_line: Option<Change>,
    /// Members in scope without an instance.
    pub missing: Vec<String>,
    /// Members whose instance is deployed again (none when the set's update does that anyway).
    pub stale: Vec<String>,
    /// Members whose roles this run deploys: without an instance, or left OUTDATED (deployed
    /// again by the repair or by the set's update). Their roles may not exist before the apply.
    pub deploying: Vec<String>,
}

impl SetPlan {
    /// The plan lines, in the order they apply.
    pub(super) fn lines(&self) -> Vec<Change> {
        let mut lines = vec![self.set_line.clone(), self.instances_line.clone()];
        lines.extend(self.repair_line.clone());
        lines
    }
}

async fn plan_stack_set(cfn: &aws_sdk_cloudformation::Client, args: &OrgOnboardArgs, view: &OrgView, template: &str) -> Result<SetPlan> {
    let name = &args.target.stack_set_name;
    let existing = stackset::flowgates_set_or_refuse(stacksets::describe_stack_set(cfn, name, view.caller).await?, name)?;
    let parameters = set_parameters(args, view, existing.as_ref().map(|s| &s.parameters))?;
    let instances = match &existing {
        Some(_) => stacksets::list_stack_instances(cfn, name, view.caller).await?,
        None => Vec::new(),
    };
    let mut set_line = match &existing {
        None => {
            let auto = if org_stackset::auto_deploys(&view.scope.account_filter) { "on" } else { "off (named accounts)" };
            Change::new(
                "create-stack-set",
                name,
                ChangeStatus::Planned,
                format!("service-managed, auto-deployment {auto}, the vendor role and the operator role"),
            )
        }
        Some(set) if set_is_current(set, template, &parameters, view) => {
            Change::new("update-stack-set", name, ChangeStatus::Skipped, "template and parameters are current")
        }
        Some(set) => Change::new("update-stack-set", name, ChangeStatus::Planned, set_update_detail(set, template, &parameters, view)),
    };
    let members: Vec<String> = view.scope.members().iter().map(|m| m.id.clone()).collect();
    let region = &view.stack_set_region;
    let missing = missing_instances(&members, &summaries(&instances), region);
    // Instances a failed or cancelled operation left OUTDATED are deployed again (a StackSet
    // update does that for every instance anyway).
    let set_updates = set_line.action == "update-stack-set" && set_line.status == ChangeStatus::Planned;
    let outdated = stale_instances(&members, &summaries(&instances), region);
    let stale = if set_updates { Vec::new() } else { outdated.clone() };
    let mut repair_line = (!stale.is_empty()).then(|| {
        let detail = format!("{} account(s) left OUTDATED by a failed operation, deployed again: {}", stale.len(), stale.join(", "));
        Change::new("update-stack-instances", name, ChangeStatus::Planned, detail).in_region(region)
    });
    // An account whose last deployment met a role that already exists there fails again until the
    // user resolves it: the line that deploys it again says how.
    let collisions = collision_notes(&outdated, &instances, &parameters, &args.stack_name);
    if !collisions.is_empty() {
        let line = repair_line.as_mut().unwrap_or(&mut set_line);
        line.detail = format!("{}; {}", line.detail, collisions.join("; "));
    }
    let instances_line = if missing.is_empty() {
        Change::new("create-stack-instances", name, ChangeStatus::Skipped, format!("every member in scope has an instance in {region}"))
    } else {
        let detail = format!("{} member account(s) in {region} via {} target(s): {}", missing.len(), view.scope.target_ous.len(), missing.join(", "));
        Change::new("create-stack-instances", name, ChangeStatus::Planned, detail)
    }
    .in_region(region);
    let deploying = missing.iter().chain(&outdated).cloned().collect();
    Ok(SetPlan { exists: existing.is_some(), parameters, instances, set_line, instances_line, repair_line, missing, stale, deploying })
}

/// For each `outdated` account whose instance failed on a role of the StackSet that already
/// exists there: what resolves it.
fn collision_notes(outdated: &[String], instances: &[StackInstance], parameters: &SetParameters, stack_name: &str) -> Vec<String> {
    outdated
        .iter()
        .filter_map(|account| {
            let reason = instances.iter().find(|i| &i.account == account)?.status_reason.as_deref()?;
            let fix = stackset::collision_fix(account, reason, parameters, stack_name)?;
            Some(format!("{account} fails again until resolved: {fix}"))
        })
        .collect()
}

/// What a StackSet update changes; a trust taken over from another administrator is named first,
/// with whom it leaves out.
fn set_update_detail(set: &stacksets::StackSetInfo, template: &str, parameters: &SetParameters, view: &OrgView) -> String {
    let auto = org_stackset::auto_deploys(&view.scope.account_filter);
    let Some(from) = &parameters.taken_over_from else {
        let differences = org_stackset::set_differences(&stackset::deployed(set), template, &parameters.values, auto);
        return format!("{} changed: every instance is updated", differences.join(", "));
    };
    let others: Vec<(String, String)> = parameters.values.iter().filter(|(k, _)| k != "AdministratorAccountId").cloned().collect();
    let mut changes =
        vec![format!("operator roles trust {from} -> {} (--take-over-administration: {from} can no longer assume them)", view.identity.account)];
    changes.extend(org_stackset::set_differences(&stackset::deployed(set), template, &others, auto));
    format!("{}: every instance is updated", changes.join(", "))
}

/// The management account's single-account stack: never reached by a service-managed StackSet.
pub(super) struct ManagementPlan {
    /// The stack deployed by this run (the caller is the management account, in scope).
    pub deploy: Option<StackDeployArgs>,
    pub changes: Vec<Change>,
}

async fn plan_management_stack(
    ctx: &Ctx,
    args: &OrgOnboardArgs,
    view: &OrgView,
    parameters: &SetParameters,
    via_management_stack: bool,
) -> Result<ManagementPlan> {
    let storage = args.storage_access && via_management_stack;
    let stack_args = StackDeployArgs {
        name: StackNameArgs { stack_name: args.stack_name.clone() },
        vendor_account: parameters.values.first().and_then(|(_, v)| v.parse().ok()),
        external_id: Some(parameters.external_id.clone()),
        role_name: Some(parameters.role_name.clone()),
        storage_access: storage,
        storage_ids: if storage { vec![StorageId::from(args.flowlogs.spec.bucket.clone())] } else { Vec::new() },
        template: None,
        vendor_modes: args.vendor_modes.clone(),
        change_set_preview: false,
        wait: args.wait.clone(),
    };
    match (view.scope.management().is_some(), view.caller) {
        (true, Caller::Management) => {
            let planning = ctx.fork(ApplyMode::PLAN_ONLY, ctx.printer.silent());
            let changes = stack::deploy(&planning, &stack_args).await?.changes;
            Ok(ManagementPlan { deploy: Some(stack_args), changes })
        }
        (true, Caller::DelegatedAdmin) => {
            let line = Change::new(
                "deploy-stack",
                &view.tree.management_account,
                ChangeStatus::Skipped,
                "the management account is out of a delegated administrator's reach: run flowgate onboard there",
            );
            Ok(ManagementPlan { deploy: None, changes: vec![line] })
        }
        (false, _) => Ok(ManagementPlan { deploy: None, changes: Vec::new() }),
    }
}

async fn plan_storage_access(
    cfn: &aws_sdk_cloudformation::Client,
    view: &OrgView,
    set: &str,
    log_archive: &str,
    bucket: &BucketName,
    instances: &[StackInstance],
) -> Result<(Change, Option<StorageGrant>)> {
    let line = |status, detail: String| Change::new("grant-storage-access", bucket.as_str(), status, detail);
    let member = view.scope.members().iter().any(|m| m.id == log_archive);
    let Some(ou) = target_ou_of(&view.tree, &view.scope.target_ous, log_archive).filter(|_| member) else {
        return Err(Error::input(
            format!("--storage-access: the log-archive account {log_archive} is not a member in scope, so the StackSet deploys no vendor role there"),
            Some("include the log-archive account in the scope (--ous / --include-accounts), or grant by hand with flowgate access grant in that account".to_owned()),
        ));
    };
    let wanted = [("StorageAccess".to_owned(), "true".to_owned()), ("StorageBucketNames".to_owned(), bucket.to_string())];
    let has_instance = instances.iter().any(|i| i.account == log_archive && i.region == view.stack_set_region);
    let current =
        if has_instance { stacksets::instance_overrides(cfn, set, log_archive, &view.stack_set_region, view.caller).await? } else { BTreeMap::new() };
    // UpdateStackInstances resets every override it is not given: the instance's others are
    // passed again with their current values.
    let overrides: Vec<(String, String)> = wanted
        .iter()
        .cloned()
        .chain(current.iter().filter(|(k, _)| !wanted.iter().any(|(w, _)| w == *k)).map(|(k, v)| (k.clone(), v.clone())))
        .collect();
    if wanted.iter().all(|(k, v)| current.get(k) == Some(v)) {
        return Ok((line(ChangeStatus::Skipped, format!("the vendor role in log-archive account {log_archive} reads the bucket")), None));
    }
    let detail =
        format!("the vendor role in log-archive account {log_archive} reads the bucket (a parameter override of that account's stack instance)");
    Ok((line(ChangeStatus::Planned, detail), Some(StorageGrant { account: log_archive.to_owned(), ou, overrides })))
}
