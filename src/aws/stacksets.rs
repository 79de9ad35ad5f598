//! CloudFormation StackSets with service-managed permissions: the organization's trusted access,
//! one stack set, its instances and the operations that deploy them.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{
    AutoDeployment, CallAs, Capability, ConcurrencyMode, DeploymentTargets, ManagedExecution, Parameter, PermissionModels, RegionConcurrencyType,
    StackSetOperationPreferences,
};

use crate::aws::{aws_error, error_code};
use crate::core::org_scope::AccountFilter;
use crate::error::{Error, Result};

pub const ACTIONS: &[&str] = &[
    "cloudformation:DescribeOrganizationsAccess",
    "cloudformation:ActivateOrganizationsAccess",
    "cloudformation:DescribeStackSet",
    "cloudformation:CreateStackSet",
    "cloudformation:UpdateStackSet",
    "cloudformation:DeleteStackSet",
    "cloudformation:ListStackInstances",
    "cloudformation:CreateStackInstances",
    "cloudformation:DeleteStackInstances",
    "cloudformation:DescribeStackSetOperation",
    "cloudformation:ListStackSetOperationResults",
    "cloudformation:DescribeStackInstance",
    "cloudformation:UpdateStackInstances",
];

/// Who the caller is to StackSets: the management account, or a registered delegated
/// administrator (`CallAs=DELEGATED_ADMIN` on every call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Management,
    DelegatedAdmin,
}

impl Caller {
    fn call_as(self) -> CallAs {
        match self {
            Caller::Management => CallAs::SelfValue,
            Caller::DelegatedAdmin => CallAs::DelegatedAdmin,
        }
    }
}

/// Whether StackSets may act in the organization (trusted access); `None` when CloudFormation
/// could not say (the answer is then planned as a step, which is idempotent).
pub async fn organizations_access(cfn: &Client, caller: Caller) -> Result<bool> {
    let out = cfn
        .describe_organizations_access()
        .call_as(caller.call_as())
        .send()
        .await
        .map_err(|e| aws_error(e, "reading StackSets' trusted access to the organization", "cloudformation:DescribeOrganizationsAccess"))?;
    Ok(out.status().is_some_and(|s| s.as_str() == "ENABLED"))
}

pub async fn activate_organizations_access(cfn: &Client) -> Result<()> {
    cfn.activate_organizations_access()
        .send()
        .await
        .map_err(|e| aws_error(e, "activating StackSets' trusted access to the organization", "cloudformation:ActivateOrganizationsAccess"))?;
    Ok(())
}

/// A stack set as flowgate compares it.
#[derive(Debug, Clone, Default)]
pub struct StackSetInfo {
    pub status: String,
    pub template_body: String,
    pub parameters: BTreeMap<String, String>,
    pub auto_deployment: Option<bool>,
}

pub async fn describe_stack_set(cfn: &Client, name: &str, caller: Caller) -> Result<Option<StackSetInfo>> {
    match cfn.describe_stack_set().stack_set_name(name).call_as(caller.call_as()).send().await {
        Ok(out) => Ok(out.stack_set().map(|set| StackSetInfo {
            status: set.status().map(|s| s.as_str().to_owned()).unwrap_or_default(),
            template_body: set.template_body().unwrap_or_default().to_owned(),
            parameters: set
                .parameters()
                .iter()
                .filter_map(|p| Some((p.parameter_key()?.to_owned(), p.parameter_value().unwrap_or_default().to_owned())))
                .collect(),
            auto_deployment: set.auto_deployment().and_then(|a| a.enabled()),
        })),
        Err(e) if error_code(&e) == Some("StackSetNotFoundException") => Ok(None),
        Err(e) => Err(aws_error(e, format!("reading stack set {name}"), "cloudformation:DescribeStackSet")),
    }
}

fn parameters_of(parameters: &[(String, String)]) -> Vec<Parameter> {
    parameters.iter().map(|(k, v)| Parameter::builder().parameter_key(k).parameter_value(v).build()).collect()
}

/// Auto-deployment on: accounts that join a target OU get the stack, and accounts that leave
/// lose it (stacks are not retained). Off when the scope names its accounts: AWS deploys to
/// every account that joins a target OU, whatever account filter the instances were created with.
fn auto_deployment(enabled: bool) -> AutoDeployment {
    let builder = AutoDeployment::builder().enabled(enabled);
    if enabled { builder.retain_stacks_on_account_removal(false).build() } else { builder.build() }
}

pub async fn create_stack_set(
    cfn: &Client,
    name: &str,
    template: &str,
    parameters: &[(String, String)],
    auto_deploy: bool,
    caller: Caller,
    description: &str,
) -> Result<()> {
    cfn.create_stack_set()
        .stack_set_name(name)
        .description(description)
        .template_body(template)
        .set_parameters(Some(parameters_of(parameters)))
        .capabilities(Capability::CapabilityNamedIam)
        .permission_model(PermissionModels::ServiceManaged)
        .auto_deployment(auto_deployment(auto_deploy))
        // Operations queue instead of failing with OperationInProgressException.
        .managed_execution(ManagedExecution::builder().active(true).build())
        .call_as(caller.call_as())
        .send()
        .await
        .map_err(|e| aws_error(e, format!("creating stack set {name}"), "cloudformation:CreateStackSet"))?;
    Ok(())
}

/// How an operation proceeds: accounts in parallel up to a percentage, regions in parallel, and
/// a failure tolerance, so one broken account neither stops nor serializes the others. (AWS's
/// defaults are one account at a time and stop at the first failure.)
#[derive(Debug, Clone, Copy)]
pub struct OperationPreferences {
    pub failure_tolerance_percentage: i32,
    pub max_concurrent_percentage: i32,
}

impl OperationPreferences {
    fn build(self) -> StackSetOperationPreferences {
        StackSetOperationPreferences::builder()
            .region_concurrency_type(RegionConcurrencyType::Parallel)
            .failure_tolerance_percentage(self.failure_tolerance_percentage)
            .max_concurrent_percentage(self.max_concurrent_percentage)
            .concurrency_mode(ConcurrencyMode::SoftFailureTolerance)
            .build()
    }
}

/// The accounts an operation targets: OUs (at most 50 per call), optionally filtered.
#[derive(Debug, Clone)]
pub struct Targets<'a> {
    pub ous: &'a [String],
    pub filter: &'a AccountFilter,
}

fn deployment_targets(targets: &Targets<'_>) -> DeploymentTargets {
    let builder = DeploymentTargets::builder().set_organizational_unit_ids(Some(targets.ous.to_vec()));
    match targets.filter {
        AccountFilter::None => builder.build(),
        AccountFilter::Intersection(accounts) => {
            builder.set_accounts(Some(accounts.clone())).account_filter_type(aws_sdk_cloudformation::types::AccountFilterType::Intersection).build()
        }
        AccountFilter::Difference(accounts) => {
            builder.set_accounts(Some(accounts.clone())).account_filter_type(aws_sdk_cloudformation::types::AccountFilterType::Difference).build()
        }
    }
}

/// How long to wait out `OperationInProgressException` (one operation per stack set at a time: another
/// flowgate, the console, or auto-deployment), then gives up with a hint.
pub const BUSY_DELAYS: &[Duration] = &[
    Duration::from_secs(2),
    Duration::from_secs(5),
    Duration::from_secs(10),
    Duration::from_secs(20),
    Duration::from_secs(30),
    Duration::from_secs(60),
];

macro_rules! retry_busy {
    ($send:expr, $context:expr, $action:expr, $delays:expr) => {{
        let mut attempt = 0usize;
        loop {
            match $send.await {
                Ok(out) => break Ok(out),
                Err(e) if error_code(&e) == Some("OperationInProgressException") && attempt < $delays.len() => {
                    tokio::time::sleep($delays[attempt]).await;
                    attempt += 1;
                }
                Err(e) => {
                    let busy_now = error_code(&e) == Some("OperationInProgressException");
                    let mut error = aws_error(e, $context, $action);
                    if busy_now {
                        error = Error::refused(
                            format!("{error} (another operation on the stack set was still running after every wait)"),
                            Some("wait for it to finish (flowgate org status), then re-run".to_owned()),
                        );
                    }
                    break Err(error);
                }
            }
        }
    }};
}

/// An operation's id, so that a retried call after a lost answer does not start a second one.
pub fn operation_id() -> String {
    let mut bytes = [0u8; 8];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    format!("flowgate-{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

#[allow(clippy::too_many_arguments)]
pub async fn update_stack_set(
    cfn: &Client,
    name: &str,
    template: &str,
    parameters: &[(String, String)],
    auto_deploy: bool,
    preferences: OperationPreferences,
    caller: Caller,
    delays: &[Duration],
) -> Result<String> {
    let id = operation_id();
    let out = retry_busy!(
        cfn.update_stack_set()
            .stack_set_name(name)
            .template_body(template)
            .set_parameters(Some(parameters_of(parameters)))
            .capabilities(Capability::CapabilityNamedIam)
            .permission_model(PermissionModels::ServiceManaged)
            .auto_deployment(auto_deployment(auto_deploy))
            .operation_preferences(preferences.build())
            .operation_id(&id)
            .call_as(caller.call_as())
            .send(),
        format!("updating stack set {name}"),
        "cloudformation:UpdateStackSet",
        delays
    )?;
    Ok(out.operation_id().unwrap_or(&id).to_owned())
}

#[allow(clippy::too_many_arguments)]
pub async fn create_stack_instances(
    cfn: &Client,
    name: &str,
    targets: &Targets<'_>,
    region: &str,
    preferences: OperationPreferences,
    caller: Caller,
    delays: &[Duration],
) -> Result<String> {
    let id = operation_id();
    let out = retry_busy!(
        cfn.create_stack_instances()
            .stack_set_name(name)
            .deployment_targets(deployment_targets(targets))
            .regions(region)
            .operation_preferences(preferences.build())
            .operation_id(&id)
            .call_as(caller.call_as())
            .send(),
        format!("creating the instances of stack set {name}"),
        "cloudformation:CreateStackInstances",
        delays
    )?;
    Ok(out.operation_id().unwrap_or(&id).to_owned())
}

#[allow(clippy::too_many_arguments)]
pub async fn delete_stack_instances(
    cfn: &Client,
    name: &str,
    targets: &Targets<'_>,
    region: &str,
    preferences: OperationPreferences,
    caller: Caller,
    delays: &[Duration],
) -> Result<String> {
    let id = operation_id();
    let out = retry_busy!(
        cfn.delete_stack_instances()
            .stack_set_name(name)
            .deployment_targets(deployment_targets(targets))
            .regions(region)
            .retain_stacks(false)
            .operation_preferences(preferences.build())
            .operation_id(&id)
            .call_as(caller.call_as())
            .send(),
        format!("deleting the instances of stack set {name}"),
        "cloudformation:DeleteStackInstances",
        delays
    )?;
    Ok(out.operation_id().unwrap_or(&id).to_owned())
}

pub async fn delete_stack_set(cfn: &Client, name: &str, caller: Caller, delays: &[Duration]) -> Result<()> {
    retry_busy!(
        cfn.delete_stack_set().stack_set_name(name).call_as(caller.call_as()).send(),
        format!("deleting stack set {name}"),
        "cloudformation:DeleteStackSet",
        delays
    )?;
    Ok(())
}

/// One stack instance: an account's copy of the stack set in a region.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct StackInstance {
    pub account: String,
    pub region: String,
    /// CURRENT, OUTDATED or INOPERABLE.
    pub status: String,
    /// SUCCEEDED, FAILED, RUNNING, PENDING, CANCELLED, INOPERABLE, SKIPPED_SUSPENDED_ACCOUNT...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detailed_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
}

pub async fn list_stack_instances(cfn: &Client, name: &str, caller: Caller) -> Result<Vec<StackInstance>> {
    let mut instances = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = cfn
            .list_stack_instances()
            .stack_set_name(name)
            .call_as(caller.call_as())
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| aws_error(e, format!("listing the instances of stack set {name}"), "cloudformation:ListStackInstances"))?;
        instances.extend(out.summaries().iter().map(|s| StackInstance {
            account: s.account().unwrap_or_default().to_owned(),
            region: s.region().unwrap_or_default().to_owned(),
            status: s.status().map(|x| x.as_str().to_owned()).unwrap_or_default(),
            detailed_status: s.stack_instance_status().and_then(|x| x.detailed_status()).map(|x| x.as_str().to_owned()),
            status_reason: s.status_reason().map(str::to_owned),
        }));
        match out.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => break,
        }
    }
    instances.sort_by(|a, b| (&a.account, &a.region).cmp(&(&b.account, &b.region)));
    Ok(instances)
}

/// How an operation ended, with each account's failure.
#[derive(Debug, Clone, Default)]
pub struct OperationOutcome {
    pub status: String,
    pub status_reason: Option<String>,
    /// (account, region, status, reason) of every result that did not succeed.
    pub failures: Vec<(String, String, String, String)>,
}

/// Waits for an operation to end (RUNNING/QUEUED/STOPPING are waited for, up to `timeout`), then
/// reads its per-account results.
pub async fn wait_operation(cfn: &Client, name: &str, id: &str, caller: Caller, timeout: Duration) -> Result<OperationOutcome> {
    let start = std::time::Instant::now();
    let mut attempt = 0u32;
    let (status, status_reason) = loop {
        let out = cfn
            .describe_stack_set_operation()
            .stack_set_name(name)
            .operation_id(id)
            .call_as(caller.call_as())
            .send()
            .await
            .map_err(|e| aws_error(e, format!("reading operation {id} of stack set {name}"), "cloudformation:DescribeStackSetOperation"))?;
        let operation = out.stack_set_operation();
        let status = operation.and_then(|o| o.status()).map(|s| s.as_str().to_owned()).unwrap_or_default();
        if !matches!(status.as_str(), "RUNNING" | "QUEUED" | "STOPPING") {
            break (status, operation.and_then(|o| o.status_reason()).map(str::to_owned));
        }
        if start.elapsed() > timeout || crate::interrupt::requested() {
            return Err(Error::refused(
                format!("operation {id} of stack set {name} was still {status} after {}s", start.elapsed().as_secs()),
                Some("it goes on in AWS: follow it with flowgate org status, and re-run once it ended".to_owned()),
            ));
        }
        tokio::time::sleep(Duration::from_millis((500u64 << attempt.min(4)).min(8000))).await;
        attempt += 1;
    };
    let mut failures = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = cfn
            .list_stack_set_operation_results()
            .stack_set_name(name)
            .operation_id(id)
            .call_as(caller.call_as())
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| aws_error(e, format!("reading the results of operation {id}"), "cloudformation:ListStackSetOperationResults"))?;
        for result in out.summaries() {
            let result_status = result.status().map(|s| s.as_str().to_owned()).unwrap_or_default();
            if result_status != "SUCCEEDED" {
                failures.push((
                    result.account().unwrap_or_default().to_owned(),
                    result.region().unwrap_or_default().to_owned(),
                    result_status,
                    result.status_reason().unwrap_or_default().to_owned(),
                ));
            }
        }
        match out.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => break,
        }
    }
    Ok(OperationOutcome { status, status_reason, failures })
}

/// The parameter values one account's instance overrides (an empty map when it has none or
/// there is no such instance).
pub async fn instance_overrides(cfn: &Client, name: &str, account: &str, region: &str, caller: Caller) -> Result<BTreeMap<String, String>> {
    match cfn
        .describe_stack_instance()
        .stack_set_name(name)
        .stack_instance_account(account)
        .stack_instance_region(region)
        .call_as(caller.call_as())
        .send()
        .await
    {
        Ok(out) => Ok(out
            .stack_instance()
            .map(|i| {
                i.parameter_overrides()
                    .iter()
                    .filter_map(|p| Some((p.parameter_key()?.to_owned(), p.parameter_value().unwrap_or_default().to_owned())))
                    .collect()
            })
            .unwrap_or_default()),
        Err(e) if error_code(&e) == Some("StackInstanceNotFoundException") => Ok(BTreeMap::new()),
        Err(e) => Err(aws_error(e, format!("reading the instance of stack set {name} in account {account}"), "cloudformation:DescribeStackInstance")),
    }
}

/// Updates the instances of `accounts` (under `ous`): with `overrides`, their parameter values
/// (the log-archive account's vendor role reads the central bucket; no other account's does);
/// without, the instances are deployed again as they are (an instance a failed operation left
/// OUTDATED).
#[allow(clippy::too_many_arguments)]
pub async fn update_instances(
    cfn: &Client,
    name: &str,
    ous: &[String],
    accounts: &[String],
    region: &str,
    overrides: Option<&[(String, String)]>,
    preferences: OperationPreferences,
    caller: Caller,
    delays: &[Duration],
) -> Result<String> {
    let id = operation_id();
    let targets = Targets { ous, filter: &AccountFilter::Intersection(accounts.to_vec()) };
    let account = accounts.join(", ");
    let out = retry_busy!(
        cfn.update_stack_instances()
            .stack_set_name(name)
            .deployment_targets(deployment_targets(&targets))
            .regions(region)
            .set_parameter_overrides(overrides.map(parameters_of))
            .operation_preferences(preferences.build())
            .operation_id(&id)
            .call_as(caller.call_as())
            .send(),
        format!("overriding the parameters of stack set {name} in account {account}"),
        "cloudformation:UpdateStackInstances",
        delays
    )?;
    Ok(out.operation_id().unwrap_or(&id).to_owned())
}
