//! `flowgate stack deploy | status | delete`: the cross-account role stack, created and updated
//! through change sets so that the plan shown is what CloudFormation will do.

use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_cloudformation::Client;
use rand::RngCore;
use schemars::JsonSchema;
use serde::Serialize;

use crate::apply::{self, ApplyMode, Done, OnFailure, Plan, Step};
use crate::aws::cloudformation::{self as cfn, StackEvent, StackInfo};
use crate::aws::ec2;
use crate::cli::{StackDeleteArgs, StackDeployArgs, StackNameArgs};
use crate::context::Ctx;
use crate::core::flowlog_plan::usable_regions;
use crate::core::limits;
use crate::core::names::{BucketName, partition_of_region};
use crate::core::report::{Change, ChangeStatus, ChangeTally};
use crate::core::role_policy::Readability;
use crate::core::stack_plan::{
    DEFAULT_ROLE_NAME, ParameterChange, StackCondition, StackParameters, StorageId, TEMPLATE, classify_status, deploy_warnings,
    external_id_from_random, foreign_partition, is_no_change_reason, parameter_changes, parse_bucket_list, resolve_compliance,
};
use crate::core::stack_template::{Bound, Inputs, ResourcePlan, Template, parse_template, plan_resources, undeclared_resources};
use crate::core::vendor_access::trusted_account_ids;
use crate::error::{Error, ExitStatus, Result};
use crate::observe::role::{RoleAccess, role_access};
use crate::output::{Printer, Report, render_changes};

/// What the admin pastes into the vendor's portal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct StackOutputs {
    pub role_arn: String,
    pub external_id: String,
    pub account_id: String,
    pub storage_buckets: Vec<String>,
    /// The second (compliance) vendor account the role trusts, with the same ExternalId.
    pub compliance_account: Option<String>,
    /// Whether the role may manage security-group rules (segmentation enforcement).
    pub read_write: bool,
}

/// The stack's outputs; where CloudFormation reports none (the emulator, for stacks made through
/// change sets) they are derived from the parameters, which say the same.
pub fn outputs_of(info: &StackInfo, partition: &str, account: &str) -> Option<StackOutputs> {
    let params = StackParameters::from_api(&info.parameters)?;
    let role_arn = info.outputs.get("RoleArn").cloned().unwrap_or_else(|| format!("arn:{partition}:iam::{account}:role/{}", params.role_name));
    let storage_buckets = match info.outputs.get("StorageBuckets") {
        Some(list) => crate::core::stack_plan::parse_bucket_list(list),
        None => params.storage_buckets.clone(),
    };
    Some(StackOutputs {
        role_arn,
        external_id: info.outputs.get("ExternalId").cloned().unwrap_or(params.external_id),
        account_id: info.outputs.get("AccountId").cloned().unwrap_or_else(|| account.to_owned()),
        storage_buckets,
        compliance_account: params.compliance_account.clone(),
        read_write: params.read_write,
    })
}

/// Everything `deploy_stack` needs, resolved from flags (and discovery) before any change.
#[derive(Debug, Clone)]
pub struct DeployRequest {
    pub stack_name: String,
    pub account: String,
    pub partition: String,
    pub vendor_account: Option<String>,
    pub external_id: Option<String>,
    pub role_name: Option<String>,
    pub storage_access: bool,
    /// The buckets to grant when `storage_access` (named or discovered).
    pub storage_buckets: Vec<String>,
    /// `--compliance-account` (kept from the stack when `None`, unless `no_compliance`).
    pub compliance_account: Option<String>,
    pub no_compliance: bool,
    /// `--read-write`: omitted means read-only (as the vendor's script).
    pub read_write: bool,
    pub template: String,
    pub no_wait: bool,
    pub wait_timeout: Duration,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct StackDeployReport {
    pub command: &'static str,
    pub account: String,
    pub stack_name: String,
    /// create, update, recreate (after ROLLBACK_COMPLETE) or none (up to date).
    pub operation: &'static str,
    pub dry_run: bool,
    /// Where the plan comes from: local (the template and parameters compared here, no
    /// mutating call) or change-set (--change-set-preview).
    pub plan_source: &'static str,
    pub changes: Vec<Change>,
    pub parameter_changes: Vec<ParameterChange>,
    /// On a dry run of a first deploy: one will be generated when applied (no value is shown).
    pub external_id_generated: bool,
    /// What needs a deliberate --yes: the caller's own account as vendor, a short ExternalId.
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub final_status: Option<String>,
    pub failures: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outputs: Option<StackOutputs>,
    pub summary: ChangeTally,
}

impl fmt::Display for StackDeployReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.operation, self.dry_run, &self.final_status) {
            ("none", _, _) if self.command == "stack delete" => writeln!(f, "stack {} does not exist: nothing to delete", self.stack_name)?,
            ("none", _, _) => writeln!(f, "stack {} is up to date: nothing to change", self.stack_name)?,
            (_, true, _) if self.plan_source == "change-set" => writeln!(f, "dry run: the change set was deleted, nothing applied")?,
            (_, true, _) => writeln!(f, "dry run: nothing applied (planned locally from the template and parameters)")?,
            (_, false, Some(status)) if self.failures.is_empty() => writeln!(f, "stack {}: {status}", self.stack_name)?,
            (_, false, Some(status)) => {
                writeln!(f, "stack {}: {status} (FAILED)", self.stack_name)?;
                for failure in &self.failures {
                    writeln!(f, "  {failure}")?;
                }
            }
            _ => {}
        }
        if let (Some(out), false) = (&self.outputs, self.dry_run) {
            writeln!(f, "For the vendor's portal:")?;
            writeln!(f, "  role ARN     {}", out.role_arn)?;
            writeln!(f, "  external id  {}", out.external_id)?;
            writeln!(f, "  account id   {}", out.account_id)?;
            let buckets = if out.storage_buckets.is_empty() { "(none)".to_owned() } else { out.storage_buckets.join(", ") };
            writeln!(f, "  buckets      {buckets}")?;
            if let Some(compliance) = &out.compliance_account {
                writeln!(f, "  compliance   account {compliance} also trusted (same ExternalId), compliance read privileges")?;
            }
            writeln!(f, "  mode         {}", if out.read_write { "read-write (manages security-group rules)" } else { "read-only" })?;
        }
        Ok(())
    }
}

impl Report for StackDeployReport {
    fn exit_status(&self) -> ExitStatus {
        // A deploy or delete is one step that CloudFormation applies or rolls back as a whole:
        // when it failed, nothing of it is partly done, whatever resources the plan left alone.
        let failed = !self.failures.is_empty() || self.summary.failed > 0;
        if failed && !self.summary.interrupted { ExitStatus::Failure } else { self.summary.exit_status() }
    }
}

/// A new strong ExternalId (for callers that must know it before deploying, like onboard).
pub fn new_external_id() -> String {
    random_external_id()
}

fn random_external_id() -> String {
    let mut random = [0u8; 32];
    rand::rng().fill_bytes(&mut random);
    external_id_from_random(&random)
}

fn change_set_name() -> String {
    let mut random = [0u8; 4];
    rand::rng().fill_bytes(&mut random);
    let suffix: String = random.iter().map(|b| format!("{b:02x}")).collect();
    format!("flowgate-{}-{suffix}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0))
}

fn print_event(printer: &Printer) -> impl FnMut(&StackEvent) + Send + '_ {
    move |event: &StackEvent| {
        let reason = event.reason.as_deref().map(|r| format!("  {r}")).unwrap_or_default();
        printer.status(format!("  {:<28} {:<24} {}{reason}", event.status, event.resource_type, event.logical_id));
    }
}

/// Whether a stack status after an operation means it failed.
fn failed_status(status: &str) -> bool {
    status.ends_with("_FAILED") || status.contains("ROLLBACK")
}

/// Reads the stack, waiting out an operation in progress unless told not to.
async fn settled_stack(cfn_client: &Client, printer: &Printer, request: &DeployRequest) -> Result<Option<StackInfo>> {
    let info = cfn::describe_stack(cfn_client, &request.stack_name).await?;
    let status = info.as_ref().map(|i| i.status.clone());
    if let StackCondition::InProgress { status } = classify_status(status.as_deref()) {
        if request.no_wait {
            return Err(Error::refused(
                format!("stack {} is {status}", request.stack_name),
                Some("wait for it to finish, or re-run without --no-wait to wait here".to_owned()),
            ));
        }
        printer.status(format!("stack {} is {status}: waiting for it to finish", request.stack_name));
        let mut seen = HashSet::new();
        let mut sink = |_: &StackEvent| {};
        let (info, _) = cfn::wait_stack(cfn_client, &request.stack_name, &mut seen, request.wait_timeout, &mut sink).await?;
        return Ok(info);
    }
    Ok(info)
}

/// Deletes an unexecuted change set; for a CREATE change set also the empty stack CloudFormation
/// made for it (REVIEW_IN_PROGRESS), which would otherwise stay behind.
/// What a change set came to: ready to show or execute, or nothing for CloudFormation to change.
enum ChangeSetOutcome {
    Ready(cfn::ChangeSet),
    NoChanges,
}

/// Creates the change set for `desired` and waits for it. A set CloudFormation failed is deleted
/// (with the empty stack a create left); one that failed for any reason but "no changes" is an
/// error. A CreateChangeSet that fails for a new stack removes the REVIEW_IN_PROGRESS stacks it
/// left behind.
async fn make_change_set(
    cfn_client: &Client,
    request: &DeployRequest,
    create: bool,
    parameters: &[(&'static str, String)],
) -> Result<ChangeSetOutcome> {
    let stack = request.stack_name.as_str();
    let id = match cfn::create_change_set(cfn_client, stack, &change_set_name(), create, &request.template, parameters).await {
        Ok(id) => id,
        Err(e) => {
            if create {
                remove_review_stacks(cfn_client, stack).await;
            }
            return Err(e);
        }
    };
    let set = cfn::wait_change_set(cfn_client, stack, &id, request.wait_timeout).await?;
    if set.status != "FAILED" {
        return Ok(ChangeSetOutcome::Ready(set));
    }
    let reason = set.status_reason.clone().unwrap_or_default();
    discard_change_set(cfn_client, stack, &id, create).await?;
    if !is_no_change_reason(&reason) {
        return Err(Error::refused(
            format!("CloudFormation rejected the change set for stack {stack}: {reason}"),
            Some("fix the cause (template, parameters, permissions) and re-run".to_owned()),
        ));
    }
    Ok(ChangeSetOutcome::NoChanges)
}

async fn discard_change_set(cfn_client: &Client, stack: &str, id: &str, created_stack: bool) -> Result<()> {
    cfn::delete_change_set(cfn_client, stack, id).await?;
    if created_stack {
        cfn::delete_stack(cfn_client, stack).await?;
    }
    Ok(())
}

/// After CreateChangeSet failed for a stack that did not exist: CloudFormation may already have
/// created the stack, empty, in REVIEW_IN_PROGRESS ("CreateChangeSet ... for a stack that does not
/// exist ... creates the stack with status REVIEW_IN_PROGRESS", CreateChangeSet API reference);
/// such a stub is deleted so that nothing is left behind. Bounded: the emulator leaves one per
/// retried attempt. Best effort: the CreateChangeSet error is what the caller reports.
async fn remove_review_stacks(cfn_client: &Client, stack: &str) {
    for _ in 0..10 {
        match cfn::describe_stack(cfn_client, stack).await {
            Ok(Some(info)) if info.status == "REVIEW_IN_PROGRESS" => {
                tracing::info!(stack, "deleting the empty REVIEW_IN_PROGRESS stack left by a failed CreateChangeSet");
                if cfn::delete_stack(cfn_client, stack).await.is_err() {
                    return;
                }
            }
            _ => return,
        }
    }
}

/// How `deploy_stack` plans.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeployOptions {
    /// Plan from CloudFormation's change set (CreateChangeSet, a mutating call, also on a dry
    /// run) instead of the local comparison of templates and parameters.
    pub change_set_preview: bool,
}

/// Parses and checks a template before any AWS call: a bad one is an input error (exit 2).
pub fn check_template(text: &str, path: Option<&std::path::Path>) -> Result<Template> {
    parse_template(text).map_err(|e| {
        let name = path.map(|p| p.display().to_string()).unwrap_or_else(|| "the stack's template".to_owned());
        Error::input(
            format!("the template {name} cannot be deployed: {e}"),
            Some(
                "fix the file (YAML or JSON with a Resources section and flowgate's parameters), or leave out --template to use the shipped one"
                    .to_owned(),
            ),
        )
    })
}

/// A resource plan as a line of the plan: a detail of the stack operation `operation` (the
/// deploy applies its resources as one change).
fn resource_change(plan: &ResourcePlan, operation: &str) -> Option<Change> {
    let (action, status) = match plan.action {
        "add" => ("add-resource", ChangeStatus::Planned),
        "remove" => ("remove-resource", ChangeStatus::Planned),
        "modify" => ("modify-resource", ChangeStatus::Planned),
        "may-change" => ("may-change-resource", ChangeStatus::Planned),
        "absent" => ("skip-resource", ChangeStatus::Skipped),
        _ => return None,
    };
    Some(Change::new(action, &plan.logical_id, status, format!("{}: {}", plan.resource_type, plan.detail)).part_of(operation))
}

/// Deploys (creates, updates or re-creates) the role stack: the one path `stack deploy` and
/// `access` (stack mode) use. The plan is the local comparison (no mutating call before the
/// confirmation); the apply goes through a change set.
pub async fn deploy_stack(cfn_client: &Client, printer: &Printer, mode: ApplyMode, request: &DeployRequest) -> Result<StackDeployReport> {
    deploy_stack_with(cfn_client, printer, mode, request, DeployOptions::default()).await
}

/// The stack as found: its state, flowgate's parameters on it, and what a deploy must do.
struct Observed {
    info: Option<StackInfo>,
    existing: Option<StackParameters>,
    /// ROLLBACK_COMPLETE (a failed create): delete, then create again.
    recreate: bool,
    create: bool,
}

/// Reads the stack (waiting out an operation in progress) and refuses one flowgate cannot deploy
/// to: broken, or not flowgate's role stack.
async fn observe_stack(cfn_client: &Client, printer: &Printer, request: &DeployRequest) -> Result<Observed> {
    let stack = request.stack_name.as_str();
    let info = settled_stack(cfn_client, printer, request).await?;
    let condition = classify_status(info.as_ref().map(|i| i.status.as_str()));
    if let StackCondition::Broken { status } = &condition {
        let hint = match status.as_str() {
            "UPDATE_ROLLBACK_FAILED" => "continue the rollback (CloudFormation console: Continue update rollback), then re-run",
            "DELETE_FAILED" => "delete or retain the resources CloudFormation could not delete, delete the stack, then re-run",
            _ => "inspect the stack's events in the CloudFormation console, fix the cause, then re-run",
        };
        return Err(Error::refused(format!("stack {stack} is {status} and cannot be deployed to"), Some(hint.to_owned())));
    }
    let existing = match &info {
        Some(info) if condition != StackCondition::Missing => Some(StackParameters::from_api(&info.parameters).ok_or_else(|| {
            Error::refused(
                format!("stack {stack} exists but is not flowgate's role stack (it has no VendorAccountId/ExternalId parameters)"),
                Some("choose another --stack-name".to_owned()),
            )
        })?),
        _ => None,
    };
    let recreate = condition == StackCondition::RollbackComplete;
    let create = condition == StackCondition::Missing || recreate;
    Ok(Observed { info, existing, recreate, create })
}

/// The parameters to deploy (the one place they are built): the request's, else the stack's,
/// else the defaults. Also whether the ExternalId is (to be) generated, and whether a dry run
/// leaves it pending.
struct Desired {
    parameters: StackParameters,
    /// The parameters as the template takes them (the optional ones only where it declares them).
    api: Vec<(&'static str, String)>,
    generated: bool,
    external_id_pending: bool,
}

fn mark_planned(changes: &mut [Change], status: ChangeStatus) {
    for change in changes.iter_mut().filter(|c| c.status == ChangeStatus::Planned) {
        change.status = status;
    }
}

fn desired_parameters(
    request: &DeployRequest,
    template: &Template,
    existing: Option<&StackParameters>,
    mode: ApplyMode,
    options: DeployOptions,
) -> Result<Desired> {
    let stack = request.stack_name.as_str();
    let vendor_account = request.vendor_account.clone().or_else(|| existing.map(|p| p.vendor_account.clone())).ok_or_else(|| {
        Error::input(format!("--vendor-account is required to create stack {stack}"), Some("pass the vendor's 12-digit AWS account id".to_owned()))
    })?;
    // A dry run does not make up an ExternalId: the apply would make up another. It says one will
    // be generated. (A change-set preview needs a value; it is used for the preview only.)
    let external_id_pending = request.external_id.is_none() && existing.is_none() && mode.dry_run && !options.change_set_preview;
    let (external_id, generated) = match (&request.external_id, existing) {
        (Some(id), _) => (id.clone(), false),
        (None, Some(p)) => (p.external_id.clone(), false),
        (None, None) if external_id_pending => (String::new(), true),
        (None, None) => (random_external_id(), true),
    };
    let role_name = request.role_name.clone().or_else(|| existing.map(|p| p.role_name.clone())).unwrap_or_else(|| DEFAULT_ROLE_NAME.to_owned());
    let storage_buckets: Vec<String> = if request.storage_access {
        if request.storage_buckets.is_empty() {
            return Err(Error::refused(
                "--storage-access was given but there is no bucket to grant: no --storage-ids and no flow log delivers to S3",
                Some("pass --storage-ids BUCKET, or enable flow logs first (flowgate flowlogs enable)".to_owned()),
            ));
        }
        request.storage_buckets.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect()
    } else {
        Vec::new()
    };
    // The vendor script's semantics for its optional products: a compliance account is kept
    // unless named or `--no-compliance`; `--read-write` omitted means read-only.
    let parameters = StackParameters {
        vendor_account,
        external_id,
        role_name,
        storage_buckets,
        compliance_account: resolve_compliance(request.compliance_account.as_deref(), request.no_compliance, existing),
        read_write: request.read_write,
    };
    let api = template_parameters(template, &parameters, request.template.as_str() != TEMPLATE)?;
    Ok(Desired { parameters, api, generated, external_id_pending })
}

/// What the plan came to.
enum Planned {
    /// Nothing to deploy (the report says why).
    UpToDate,
    /// Deploy through this change set (a preview's), or make one when applying; `parameters_only`:
    /// the change set listed nothing although the parameters differ, so UpdateStack applies them.
    Deploy { change_set: Option<cfn::ChangeSet>, parameters_only: bool },
}

/// The plan's change lines: the recreate, the change set's resource changes (a preview), or the
/// local comparison of the old template and parameters with the new.
#[allow(clippy::too_many_arguments)] // the observation, the wanted state and the plan, each needed once
// Long (~85 lines): three ways to plan (recreate, local comparison, change-set preview), side by side.
async fn plan_changes(
    cfn_client: &Client,
    request: &DeployRequest,
    observed: &Observed,
    desired: &Desired,
    template: &Template,
    old_template_text: Option<&str>,
    options: DeployOptions,
    report: &mut StackDeployReport,
) -> Result<Planned> {
    let stack = request.stack_name.as_str();
    let Observed { existing, recreate, create, info } = observed;
    let (recreate, create) = (*recreate, *create);
    // The local plan: which resources the conditions switch on or off, and which use a changed
    // parameter, with the old template and parameters against the new.
    let region = cfn_client.config().region().map(|r| r.as_ref().to_owned());
    let inputs_of = |p: &StackParameters| Inputs::new(&p.to_api(), &request.partition, region.as_deref(), &request.account, stack);
    let desired_inputs = Inputs::new(&desired.api, &request.partition, region.as_deref(), &request.account, stack);
    let new_inputs = if desired.external_id_pending { desired_inputs.without("ExternalId") } else { desired_inputs };
    let old_inputs = existing.as_ref().filter(|_| !recreate).map(inputs_of);
    // An old template that cannot be read locally is taken to be the new one (the usual case).
    let old_template = old_template_text.and_then(|t| parse_template(t).ok()).unwrap_or_else(|| template.clone());
    let old_bound = old_inputs.as_ref().map(|i| Bound::new(&old_template, i));
    let resource_plans = plan_resources(old_bound.as_ref(), &Bound::new(template, &new_inputs));

    if recreate {
        report.changes.push(Change::new(
            "delete-stack",
            stack,
            ChangeStatus::Planned,
            "ROLLBACK_COMPLETE (a failed create) cannot be updated: delete it, then create it again",
        ));
        report.changes.push(Change::new("create-stack", stack, ChangeStatus::Planned, "create the role stack from the template"));
        report.changes.extend(resource_plans.iter().filter_map(|p| resource_change(p, "create-stack")));
        return Ok(Planned::Deploy { change_set: None, parameters_only: false });
    }
    let operation = if create { "create-stack" } else { "update-stack" };
    if !options.change_set_preview {
        report.changes.push(Change::new(
            operation,
            stack,
            ChangeStatus::Planned,
            if create { "create the role stack from the template (through a change set)" } else { "update the stack (through a change set)" },
        ));
        report.changes.extend(resource_plans.iter().filter(|p| create || p.changes()).filter_map(|p| resource_change(p, operation)));
        return Ok(Planned::Deploy { change_set: None, parameters_only: false });
    }
    match make_change_set(cfn_client, request, create, &desired.api).await? {
        ChangeSetOutcome::NoChanges if existing.as_ref() == Some(&desired.parameters) => {
            report.operation = "none";
            report.changes.push(Change::new("update-stack", stack, ChangeStatus::Skipped, "the change set has no changes"));
            report.outputs = info.as_ref().and_then(|i| outputs_of(i, &request.partition, &request.account));
            Ok(Planned::UpToDate)
        }
        ChangeSetOutcome::NoChanges => {
            // The parameters differ although the change set lists no change: a parameter change
            // is never dropped; it is applied with UpdateStack instead.
            report.changes.push(Change::new(
                "update-stack",
                stack,
                ChangeStatus::Planned,
                "parameters only (the change set listed no resource change): UpdateStack",
            ));
            Ok(Planned::Deploy { change_set: None, parameters_only: true })
        }
        ChangeSetOutcome::Ready(set) => {
            report.changes.push(Change::new(
                operation,
                stack,
                ChangeStatus::Planned,
                format!("change set {}", set.id.rsplit('/').next().unwrap_or(&set.id)),
            ));
            for rc in &set.changes {
                let replacement = match rc.replacement.as_deref() {
                    Some("True") => ", REPLACED",
                    Some("Conditional") => ", may be replaced",
                    _ => "",
                };
                report.changes.push(
                    Change::new(
                        format!("{}-resource", rc.action.to_ascii_lowercase()),
                        &rc.logical_id,
                        ChangeStatus::Planned,
                        format!("{}{replacement}", rc.resource_type),
                    )
                    .part_of(operation),
                );
            }
            Ok(Planned::Deploy { change_set: Some(set), parameters_only: false })
        }
    }
}

/// What the apply step learned, for the report.
#[derive(Default)]
struct Deployed {
    /// The change set (a preview's) was executed, or none was left to discard.
    settled: bool,
    /// The template differs only in ways CloudFormation ignores: nothing was deployed.
    no_changes: bool,
    final_status: Option<String>,
    failures: Vec<String>,
    info: Option<StackInfo>,
}

#[allow(clippy::too_many_arguments)] // what was observed, wanted and planned, each needed once
/// The deploy itself: the recreate's delete, the change set (unless a preview made it), its
/// execution (or UpdateStack for parameters only), and the wait.
async fn apply_deploy(
    cfn_client: &Client,
    printer: &Printer,
    request: &DeployRequest,
    observed: &Observed,
    desired: &Desired,
    planned: Planned,
    mut changes: Vec<Change>,
    deployed: &Mutex<Deployed>,
) -> Result<Done> {
    let stack = request.stack_name.as_str();
    let record = |update: &dyn Fn(&mut Deployed)| update(&mut deployed.lock().unwrap_or_else(|p| p.into_inner()));
    let Planned::Deploy { mut change_set, mut parameters_only } = planned else {
        return Ok(Done::Changed);
    };
    let mut seen: HashSet<String> = cfn::recent_events(cfn_client, stack).await.map(|e| e.into_iter().map(|e| e.id).collect()).unwrap_or_default();
    let mut on_event = print_event(printer);
    if observed.recreate {
        cfn::delete_stack(cfn_client, stack).await?;
        let (_, failures) = cfn::wait_stack(cfn_client, stack, &mut seen, request.wait_timeout, &mut on_event).await?;
        if !failures.is_empty() {
            return Err(Error::refused(
                format!("could not delete stack {stack} in ROLLBACK_COMPLETE"),
                Some("delete it in the CloudFormation console, then re-run".to_owned()),
            ));
        }
    }
    // The apply's change set (unless a preview already made it).
    if change_set.is_none() && !parameters_only {
        match make_change_set(cfn_client, request, observed.create, &desired.api).await? {
            ChangeSetOutcome::NoChanges if observed.existing.as_ref() == Some(&desired.parameters) => {
                record(&|d| {
                    d.settled = true;
                    d.no_changes = true;
                });
                mark_planned(&mut changes, ChangeStatus::Skipped);
                return Ok(Done::Report { changes, error: None });
            }
            // The parameters differ although the change set lists no change (the emulator's
            // UPDATE change sets never list one): a parameter change is never dropped; it is
            // applied with UpdateStack instead.
            ChangeSetOutcome::NoChanges => parameters_only = true,
            ChangeSetOutcome::Ready(set) => change_set = Some(set),
        }
    }
    match (&change_set, parameters_only) {
        (Some(set), _) => cfn::execute_change_set(cfn_client, stack, &set.id).await?,
        (None, true) => cfn::update_stack(cfn_client, stack, &request.template, &desired.api).await?,
        (None, false) => return Err(Error::refused("internal: no change set to execute", None)),
    }
    record(&|d| d.settled = true);
    if request.no_wait {
        record(&|d| d.final_status = Some("execution started (not waiting)".to_owned()));
        return Ok(Done::Changed);
    }
    let (info, failures) = cfn::wait_stack(cfn_client, stack, &mut seen, request.wait_timeout, &mut on_event).await?;
    let status = info.as_ref().map(|i| i.status.clone()).unwrap_or_else(|| "DELETE_COMPLETE".to_owned());
    let mut failures: Vec<String> =
        failures.iter().map(|e| format!("{} ({}): {} {}", e.logical_id, e.resource_type, e.status, e.reason.as_deref().unwrap_or(""))).collect();
    let failed = failed_status(&status);
    if failed && failures.is_empty() {
        failures.push(info.as_ref().and_then(|i| i.status_reason.clone()).unwrap_or_else(|| format!("the stack ended in {status}")));
    }
    record(&|d| {
        d.final_status = Some(status.clone());
        d.failures = failures.clone();
        d.info = info.clone();
    });
    // A stack that ended in a failed state: every change of the deploy failed with it, and its
    // first line says why and what to do.
    if failed {
        if let Some(first) = changes.iter_mut().find(|c| c.status == ChangeStatus::Planned) {
            first.error = Some(format!(
                "stack {stack} ended in {status}: {} (hint: fix the cause the failed resources name (permissions, template, parameters), then re-run; a stack CloudFormation rolled back is updated or re-created from where it is)",
                failures.join("; ")
            ));
        }
    }
    mark_planned(&mut changes, if failed { ChangeStatus::Failed } else { ChangeStatus::Applied });
    Ok(Done::Report { changes, error: None })
}

/// Where a deploy's values are judged: the pseudo parameters its template may use.
struct Place<'a> {
    partition: &'a str,
    region: Option<&'a str>,
    account: &'a str,
    stack: &'a str,
}

/// AWS's limits on what a deploy writes, judged on the template as CloudFormation will render it
/// with `api`: CloudFormation's parameter value size, and IAM's size of the role's inline
/// policies (which CloudFormation would only meet while applying, then roll back). The refusal
/// (what, the size, the limit) and what to do, with how many of the buckets one role can take.
fn over_limit(template: &Template, api: &[(&'static str, String)], place: &Place) -> Option<(String, String)> {
    let inputs_for = |api: &[(&'static str, String)]| Inputs::new(api, place.partition, place.region, place.account, place.stack);
    let breaches = limits::stack_breaches(template, &inputs_for(api));
    if breaches.is_empty() {
        return None;
    }
    let buckets = api.iter().find(|(k, _)| *k == "StorageBucketNames").map(|(_, v)| parse_bucket_list(v)).unwrap_or_default();
    let fit = limits::buckets_that_fit(template, &buckets, |some| inputs_for(&with_buckets(api, some)));
    let words: Vec<String> = breaches.iter().map(ToString::to_string).collect();
    Some((format!("stack {} cannot be deployed: {}; nothing was changed", place.stack, words.join("; ")), storage_remedy(buckets.len(), fit)))
}

/// `api` granting `buckets` instead.
fn with_buckets(api: &[(&'static str, String)], buckets: &[String]) -> Vec<(&'static str, String)> {
    api.iter()
        .map(|(name, value)| match *name {
            "StorageBucketNames" => (*name, buckets.join(",")),
            "StorageAccess" => (*name, (!buckets.is_empty()).to_string()),
            _ => (*name, value.clone()),
        })
        .collect()
}

fn storage_remedy(total: usize, fit: usize) -> String {
    if fit == 0 || fit == total {
        return "the template's own policies or parameters are over the limit: shorten them in the template given with --template, or leave --template out".to_owned();
    }
    format!(
        "one role can be granted at most {fit} of these {total} buckets: split them over several role stacks (flowgate stack deploy --stack-name NAME --role-name NAME --storage-ids ...), or have the flow logs deliver to fewer buckets; a wildcard such as --storage-ids 'flowlogs-*' is not accepted (the template admits bucket names only, so that no list can grant every bucket)"
    )
}

/// What the input alone tells about AWS's limits, before any AWS call: the `--storage-ids`
/// granted through the template with the flags given. Placeholders stand in for what is not known
/// yet (the account, a vendor account or ExternalId to come): none of them changes the sizes
/// judged. Over a limit: an input error (exit 2). What the account adds (buckets a stack already
/// grants, a compliance account kept) is judged again before the deploy, with exit 1.
pub fn check_deploy_limits(args: &StackDeployArgs, template: &Template, home_region: &str) -> Result<()> {
    if !args.storage_access || args.storage_ids.is_empty() {
        return Ok(());
    }
    let params = StackParameters {
        vendor_account: args.vendor_account.as_ref().map(|a| a.to_string()).unwrap_or_else(|| "000000000000".to_owned()),
        external_id: args.external_id.clone().unwrap_or_else(|| "x".repeat(32)),
        role_name: args.role_name.clone().unwrap_or_else(|| DEFAULT_ROLE_NAME.to_owned()),
        storage_buckets: args.storage_ids.iter().map(|b| b.bucket.to_string()).collect::<BTreeSet<_>>().into_iter().collect(),
        compliance_account: args.vendor_modes.compliance_account.as_ref().filter(|_| !args.vendor_modes.no_compliance).map(|a| a.to_string()),
        read_write: args.vendor_modes.read_write,
    };
    // A template that lacks a parameter the flags need is refused with its own words later.
    let Ok(api) = params.api_for(|name| template.parameters.contains_key(name)) else {
        return Ok(());
    };
    let place =
        Place { partition: partition_of_region(home_region), region: Some(home_region), account: "000000000000", stack: &args.name.stack_name };
    match over_limit(template, &api, &place) {
        None => Ok(()),
        Some((message, hint)) => Err(Error::input(message, Some(hint))),
    }
}

/// AWS's limits with what the account holds (the buckets a stack grants, a kept compliance
/// account, the buckets discovered), before any mutating call: refused with exit 1.
fn check_limits_with_state(cfn_client: &Client, request: &DeployRequest, template: &Template, desired: &Desired) -> Result<()> {
    let region = cfn_client.config().region().map(|r| r.as_ref().to_owned());
    let place = Place { partition: &request.partition, region: region.as_deref(), account: &request.account, stack: &request.stack_name };
    match over_limit(template, &desired.api, &place) {
        None => Ok(()),
        Some((message, hint)) => Err(Error::refused(message, Some(hint))),
    }
}

pub async fn deploy_stack_with(
    cfn_client: &Client,
    printer: &Printer,
    mode: ApplyMode,
    request: &DeployRequest,
    options: DeployOptions,
) -> Result<StackDeployReport> {
    let stack = request.stack_name.as_str();
    let template = check_template(&request.template, None)?;
    let observed = observe_stack(cfn_client, printer, request).await?;
    let desired = desired_parameters(request, &template, observed.existing.as_ref(), mode, options)?;
    check_limits_with_state(cfn_client, request, &template, &desired)?;
    let mut words = parameter_changes(if observed.recreate { None } else { observed.existing.as_ref() }, &desired.parameters);
    if desired.external_id_pending {
        words.push(ParameterChange {
            parameter: "ExternalId",
            text: "a strong ExternalId will be generated when applied (no value yet: pass --external-id ID to choose it now)".to_owned(),
            loud: false,
        });
    }
    let mut report = new_deploy_report(request, &observed, &desired, words.clone(), mode, options);

    // The stack's current template, for the up-to-date check and the local plan (GetTemplate is
    // a read).
    let old_template_text = match (&observed.existing, observed.recreate) {
        (Some(_), false) => cfn::template_body(cfn_client, stack).await?,
        _ => None,
    };
    // Up to date: same parameters and same template. Checked before any change set, so that a
    // second run makes no mutating call at all.
    if let (Some(old), Some(info)) = (&observed.existing, &observed.info) {
        if !observed.recreate && old == &desired.parameters && old_template_text.as_deref().map(str::trim) == Some(request.template.trim()) {
            report.operation = "none";
            report.changes.push(Change::new(
                "update-stack",
                stack,
                ChangeStatus::Skipped,
                format!("{}: parameters and template unchanged", info.status),
            ));
            report.outputs = outputs_of(info, &request.partition, &request.account);
            report.summary = ChangeTally::of(&report.changes);
            return Ok(report);
        }
    }

    report.warnings = deploy_warnings(&request.account, observed.existing.as_ref(), &desired.parameters, !desired.external_id_pending);
    if let (Some(account), true) = (&request.compliance_account, request.no_compliance) {
        // The vendor's script takes both and skips the compliance product: so does flowgate, but
        // the two flags contradict, and the plan says which one won.
        report.warnings.push(format!(
            "--compliance-account (--xcloud-account) {account} and --no-compliance (--no-deploy-xcloud) contradict: --no-compliance wins, {account} is not trusted"
        ));
    }
    for warning in &report.warnings {
        crate::output::warn(warning);
    }
    if !report.warnings.is_empty() && !mode.dry_run && !mode.yes {
        return Err(Error::input(
            format!("not deployed: {} warning(s) above need a deliberate --yes", report.warnings.len()),
            Some("fix --vendor-account / --external-id, or re-run with --yes if this is deliberate".to_owned()),
        ));
    }

    let planned = plan_changes(cfn_client, request, &observed, &desired, &template, old_template_text.as_deref(), options, &mut report).await?;
    if let Planned::UpToDate = planned {
        report.summary = ChangeTally::of(&report.changes);
        return Ok(report);
    }
    // The parameters are details of the deploy that sets them (its last stack operation).
    let operation = report.changes.iter().rev().find(|c| c.part_of.is_none()).map(|c| c.action.clone()).unwrap_or_else(|| "update-stack".to_owned());
    for word in &words {
        report.changes.push(Change::new("parameter", word.parameter, ChangeStatus::Planned, &word.text).part_of(operation.as_str()));
    }
    printer.text(format_args!("Plan for stack {stack} ({}):\n{}", report.operation, render_changes(&report.changes)))?;
    if desired.generated && !mode.dry_run {
        printer.status(format!("generated a new ExternalId: {} (give it to the vendor)", desired.parameters.external_id));
    }
    let revoked: Vec<&ParameterChange> = words.iter().filter(|w| w.loud).collect();
    for word in &revoked {
        crate::output::warn(&word.text);
    }
    let question =
        if revoked.is_empty() { format!("Deploy stack {stack}?") } else { format!("Deploy stack {stack} ({} warning(s) above)?", revoked.len()) };

    run_deploy(cfn_client, printer, mode, request, &observed, &desired, planned, &question, report).await
}

/// The report of a deploy, before its plan.
fn new_deploy_report(
    request: &DeployRequest,
    observed: &Observed,
    desired: &Desired,
    words: Vec<ParameterChange>,
    mode: ApplyMode,
    options: DeployOptions,
) -> StackDeployReport {
    StackDeployReport {
        command: "stack deploy",
        account: request.account.clone(),
        stack_name: request.stack_name.clone(),
        operation: match (observed.recreate, observed.create) {
            (true, _) => "recreate",
            (false, true) => "create",
            (false, false) => "update",
        },
        dry_run: mode.dry_run,
        plan_source: if options.change_set_preview && !observed.recreate { "change-set" } else { "local" },
        changes: Vec::new(),
        parameter_changes: words,
        external_id_generated: desired.generated,
        warnings: Vec::new(),
        final_status: None,
        failures: Vec::new(),
        outputs: None,
        summary: ChangeTally::default(),
    }
}

/// Confirms and applies the deploy as one step of the runner, then reports what it came to.
#[allow(clippy::too_many_arguments)] // what was observed, wanted and planned, each needed once
async fn run_deploy(
    cfn_client: &Client,
    printer: &Printer,
    mode: ApplyMode,
    request: &DeployRequest,
    observed: &Observed,
    desired: &Desired,
    planned: Planned,
    question: &str,
    mut report: StackDeployReport,
) -> Result<StackDeployReport> {
    let stack = request.stack_name.as_str();
    // One step: the deploy applies (or fails) as a whole.
    let preview = match &planned {
        Planned::Deploy { change_set: Some(set), .. } => Some(set.id.clone()),
        _ => None,
    };
    let deployed = Mutex::new(Deployed::default());
    let step =
        Step::new(report.changes.clone(), apply_deploy(cfn_client, printer, request, observed, desired, planned, report.changes.clone(), &deployed));
    let mut plan = Plan::new(vec![step], OnFailure::Stop);
    plan.pending = Some(1);
    let outcome = apply::run(mode, printer, plan, question).await;
    let deployed = deployed.into_inner().unwrap_or_else(|p| p.into_inner());
    // A preview's change set that was not executed (a dry run, a refusal, an interrupt) is
    // deleted, with the empty stack a CREATE change set made.
    if let (Some(id), false) = (&preview, deployed.settled) {
        let discarded = discard_change_set(cfn_client, stack, id, observed.create).await;
        if outcome.is_ok() {
            discarded?;
        }
    }
    let outcome = outcome?;
    report.changes = outcome.changes();
    report.summary = outcome.tally;
    if deployed.no_changes {
        report.operation = "none";
        report.outputs = observed.info.as_ref().and_then(|i| outputs_of(i, &request.partition, &request.account));
    }
    if deployed.final_status.is_some() {
        report.final_status = deployed.final_status;
        report.failures = deployed.failures;
        report.outputs = deployed.info.as_ref().and_then(|i| outputs_of(i, &request.partition, &request.account));
    }
    Ok(report)
}

/// The buckets the account's flow logs deliver to, in every usable region.
async fn discover_flow_log_buckets(ctx: &Ctx) -> Result<Vec<String>> {
    let partition = ctx.identity().await?.partition.clone();
    let regions = usable_regions(&ec2::describe_regions(&ctx.ec2(&ctx.home_region)).await?, &partition);
    let mut buckets = BTreeSet::new();
    for region in regions {
        buckets.extend(ec2::list_all_flow_log_buckets(&ctx.ec2(&region), &region).await?);
    }
    Ok(buckets.into_iter().collect())
}

/// The CloudFormation parameters for `template`: the optional ones only where it declares them
/// (a template given with --template may predate them); one it lacks but the deploy needs is an
/// input error before any change.
fn template_parameters(template: &Template, desired: &StackParameters, custom: bool) -> Result<Vec<(&'static str, String)>> {
    desired.api_for(|name| template.parameters.contains_key(name)).map_err(|e| {
        let fix = if custom { "add it to the template given with --template, or leave out --template" } else { "leave out the flag" };
        Error::input(
            format!("{e}: {fix}"),
            Some("flowgate's shipped template declares every parameter (flowgate stack deploy without --template)".to_owned()),
        )
    })
}

pub fn read_template(path: Option<&std::path::Path>) -> Result<String> {
    match path {
        None => Ok(TEMPLATE.to_owned()),
        Some(path) => std::fs::read_to_string(path).map_err(|e| {
            Error::input(
                format!("cannot read the template {}: {e}", path.display()),
                Some("check the path given to --template, or leave it out to use the shipped template".to_owned()),
            )
        }),
    }
}

/// `--storage-ids` ARNs of another partition than the caller's: refused (exit 2) from the home
/// region's partition before any call, and from the caller's ARN before any mutating call.
pub fn check_storage_partition(ids: &[StorageId], partition: &str, source: &str) -> Result<()> {
    match foreign_partition(ids, partition, source) {
        None => Ok(()),
        Some(message) => Err(Error::input(message, Some("name buckets of the caller's partition (or bare bucket names)".to_owned()))),
    }
}

pub async fn deploy(ctx: &Ctx, args: &StackDeployArgs) -> Result<StackDeployReport> {
    // Everything the input alone can tell is checked before the first AWS call.
    let template = read_template(args.template.as_deref())?;
    check_deploy_limits(args, &check_template(&template, args.template.as_deref())?, &ctx.home_region)?;
    check_storage_partition(&args.storage_ids, partition_of_region(&ctx.home_region), &format!("the region {}", ctx.home_region))?;
    let identity = ctx.identity().await?.clone();
    check_storage_partition(&args.storage_ids, &identity.partition, &format!("the caller {}", identity.arn))?;
    let storage_buckets = if !args.storage_access {
        Vec::new()
    } else if args.storage_ids.is_empty() {
        let found = discover_flow_log_buckets(ctx).await?;
        ctx.printer.status(format!(
            "storage access: the account's flow logs deliver to {}",
            if found.is_empty() { "no bucket".to_owned() } else { found.join(", ") }
        ));
        found
    } else {
        args.storage_ids.iter().map(|b| b.bucket.to_string()).collect()
    };
    let request = DeployRequest {
        stack_name: args.name.stack_name.clone(),
        account: identity.account.clone(),
        partition: identity.partition.clone(),
        vendor_account: args.vendor_account.as_ref().map(|a| a.to_string()),
        external_id: args.external_id.clone(),
        role_name: args.role_name.clone(),
        storage_access: args.storage_access,
        storage_buckets,
        compliance_account: args.vendor_modes.compliance_account.as_ref().map(|a| a.to_string()),
        no_compliance: args.vendor_modes.no_compliance,
        read_write: args.vendor_modes.read_write,
        template,
        no_wait: args.wait.no_wait,
        wait_timeout: Duration::from_secs(args.wait.wait_timeout),
    };
    ctx.printer.text(ctx.identity_line().await?)?;
    ctx.printer.text("\n")?;
    let options = DeployOptions { change_set_preview: args.change_set_preview };
    deploy_stack_with(&ctx.cloudformation(), &ctx.printer, ctx.mode(), &request, options).await
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct StackStatusReport {
    pub command: &'static str,
    pub account: String,
    pub stack_name: String,
    pub exists: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// missing, ready, rollback-complete, in-progress, broken, or not-flowgates (a stack of that
    /// name made from another template).
    pub condition: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<StackParameters>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outputs: Option<StackOutputs>,
    /// Whether the stack's role exists and was read: false when there is no stack, when it is
    /// not flowgate's, after a failed create (ROLLBACK_COMPLETE: CloudFormation deleted what it
    /// made, and a role of that name is not the stack's), or when IAM has no such role. Every
    /// field below is read from the role's policies (and the buckets' own policies), as
    /// `access list` reads them; without a role they are empty.
    pub role_found: bool,
    /// The buckets whose objects the role can read (its own policies and the buckets' policies
    /// allow it, and no Deny takes it away): the buckets its policies name and the stack's.
    pub readable_buckets: Vec<String>,
    /// The accounts the role's trust policy names.
    pub trusted_accounts: Vec<String>,
    /// network-discovery, compliance-read, segmentation-write, storage-read: the permission sets
    /// the role's policies grant.
    pub permission_sets: Vec<&'static str>,
    /// Whether the role can write at all: security-group rules (`security_group_writes`) or S3
    /// objects and bucket settings (`s3_writes`).
    pub can_write: bool,
    /// The write actions of the vendor's read-write mode the role may call (security-group rules).
    pub security_group_writes: Vec<String>,
    /// Per bucket, the S3 writes the role may make there (as `access list` reports them).
    pub s3_writes: Vec<BucketWrites>,
    /// Policies that could not be read: access through them is unknown.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// The S3 writes the role may make in one bucket.
#[derive(Debug, Serialize, JsonSchema)]
pub struct BucketWrites {
    pub bucket: String,
    pub actions: Vec<String>,
}

impl fmt::Display for StackStatusReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(status) = &self.status else {
            return writeln!(f, "stack {} does not exist (flowgate stack deploy creates it)", self.stack_name);
        };
        writeln!(f, "stack {}: {status}", self.stack_name)?;
        if self.condition == "not-flowgates" {
            return writeln!(f, "  not flowgate's role stack: it has no VendorAccountId/ExternalId parameters (name flowgate's with --stack-name)");
        }
        if let Some(p) = &self.parameters {
            writeln!(f, "  vendor account  {}", p.vendor_account)?;
            writeln!(f, "  role name       {}", p.role_name)?;
        }
        if let Some(o) = &self.outputs {
            writeln!(f, "  role ARN        {}", o.role_arn)?;
            writeln!(f, "  external id     {}", o.external_id)?;
        }
        if !self.role_found {
            return writeln!(f, "  role            not found: it trusts no one and grants nothing");
        }
        let buckets = if self.readable_buckets.is_empty() { "none".to_owned() } else { self.readable_buckets.join(", ") };
        writeln!(f, "  can read        flow-log objects in: {buckets} (from the role's policies and the buckets')")?;
        writeln!(f, "  trusts          {}", self.trusted_accounts.join(", "))?;
        writeln!(f, "  permission sets {}", self.permission_sets.join(", "))?;
        let rules = if self.security_group_writes.is_empty() {
            "no (read-only mode)".to_owned()
        } else {
            format!("YES, read-write mode ({})", self.security_group_writes.join(", "))
        };
        writeln!(f, "  can write       security-group rules: {rules}")?;
        if self.s3_writes.is_empty() {
            writeln!(f, "  S3 writes       none")?;
        }
        for writes in &self.s3_writes {
            writeln!(f, "  S3 writes       {}: {}", writes.bucket, writes.actions.join(", "))?;
        }
        for problem in &self.problems {
            writeln!(f, "  problem: {problem}")?;
        }
        Ok(())
    }
}

impl Report for StackStatusReport {
    fn exit_status(&self) -> ExitStatus {
        if self.condition == "ready" { ExitStatus::Success } else { ExitStatus::Failure }
    }
}

/// What the stack's role can do, read from IAM (and the buckets' policies): `None` when there is
/// no role of the stack's to read (see `StackStatusReport::role_found`).
async fn stack_role_access(ctx: &Ctx, condition: &StackCondition, parameters: Option<&StackParameters>) -> Result<Option<RoleAccess>> {
    let Some(parameters) = parameters else { return Ok(None) };
    if matches!(condition, StackCondition::Missing | StackCondition::RollbackComplete) {
        return Ok(None);
    }
    let stack_buckets: Vec<BucketName> = parameters.storage_buckets.iter().filter_map(|b| b.parse().ok()).collect();
    role_access(ctx, &parameters.role_name, &stack_buckets).await
}

pub async fn status(ctx: &Ctx, args: &StackNameArgs) -> Result<StackStatusReport> {
    let identity = ctx.identity().await?.clone();
    let info = cfn::describe_stack(&ctx.cloudformation(), &args.stack_name).await?;
    let condition = classify_status(info.as_ref().map(|i| i.status.as_str()));
    let outputs = info.as_ref().and_then(|i| outputs_of(i, &identity.partition, &identity.account));
    let parameters = info.as_ref().and_then(|i| StackParameters::from_api(&i.parameters));
    let foreign = condition != StackCondition::Missing && parameters.is_none();
    let role = stack_role_access(ctx, &condition, parameters.as_ref()).await?;
    let mut report = StackStatusReport {
        command: "stack status",
        account: identity.account.clone(),
        stack_name: args.stack_name.clone(),
        exists: info.is_some(),
        status: info.as_ref().map(|i| i.status.clone()),
        condition: if foreign { "not-flowgates" } else { condition.label() },
        role_found: role.is_some(),
        readable_buckets: Vec::new(),
        trusted_accounts: Vec::new(),
        permission_sets: Vec::new(),
        can_write: false,
        security_group_writes: Vec::new(),
        s3_writes: Vec::new(),
        problems: Vec::new(),
        parameters,
        outputs,
    };
    if let Some(role) = role {
        fill_from_role(&mut report, role);
    }
    Ok(report)
}

/// The report's access fields, from what the role's policies (and the buckets') allow.
fn fill_from_role(report: &mut StackStatusReport, role: RoleAccess) {
    let RoleAccess { read, access, vendor, network_discovery } = role;
    let readable: Vec<String> =
        access.buckets.iter().filter(|b| matches!(b.readability, Readability::Allowed { .. })).map(|b| b.bucket.to_string()).collect();
    let mut sets = Vec::new();
    if network_discovery {
        sets.push("network-discovery");
    }
    sets.extend(vendor.set_names());
    if !readable.is_empty() {
        sets.push("storage-read");
    }
    report.s3_writes = access
        .buckets
        .iter()
        .filter(|b| !b.s3_writes.is_empty())
        .map(|b| BucketWrites { bucket: b.bucket.to_string(), actions: b.s3_writes.clone() })
        .collect();
    report.can_write = vendor.can_write() || !report.s3_writes.is_empty();
    report.security_group_writes = vendor.write_actions;
    report.trusted_accounts = trusted_account_ids(&read.trust.principals);
    report.permission_sets = sets;
    report.readable_buckets = readable;
    report.problems = access.problems;
}

/// A stack that is not flowgate's role stack (no VendorAccountId/ExternalId parameters).
fn not_flowgates_stack(stack: &str, verb: &str) -> Error {
    Error::refused(
        format!("stack {stack} is not flowgate's role stack (it has no VendorAccountId/ExternalId parameters): flowgate does not {verb} it"),
        Some("name flowgate's stack with --stack-name; a stack of another template is deleted by whoever made it".to_owned()),
    )
}

/// A stack with flowgate's parameters that holds resources flowgate's template does not declare
/// (a queue, a topic, another team's role) was not made from that template: its deletion would
/// take them too, so it is refused, naming them.
fn refuse_undeclared_resources(stack: &str, resources: &[cfn::StackResource]) -> Result<()> {
    let template = parse_template(TEMPLATE).map_err(|e| Error::refused(format!("flowgate's template does not parse: {e}"), None))?;
    let pairs: Vec<(String, String)> = resources.iter().map(|r| (r.logical_id.clone(), r.resource_type.clone())).collect();
    let foreign = undeclared_resources(&template, &pairs);
    if foreign.is_empty() {
        return Ok(());
    }
    let named: Vec<String> = foreign.iter().map(|(id, kind)| format!("{id} ({kind})")).collect();
    Err(Error::refused(
        format!("stack {stack} holds resources flowgate's template does not declare: {}; it is not flowgate's to delete", named.join(", ")),
        Some(
            "delete it yourself (aws cloudformation delete-stack) if it is meant to go; flowgate deletes only the stacks of its template".to_owned(),
        ),
    ))
}

/// The plan of a deletion: the stack and every resource it removes, refused for a stack that is
/// not flowgate's (the test a deploy applies, and resources its template does not declare): a
/// stack of the same name made from another template is someone else's, with whatever it holds.
async fn deletion_changes(client: &Client, stack: &str, info: &StackInfo) -> Result<Vec<Change>> {
    if StackParameters::from_api(&info.parameters).is_none() {
        return Err(not_flowgates_stack(stack, "delete"));
    }
    let stack_line = Change::new(
        "delete-stack",
        stack,
        ChangeStatus::Planned,
        format!("{}: the role and its policies are deleted; the vendor loses access", info.status),
    );
    let resources = cfn::stack_resources(client, stack).await?;
    refuse_undeclared_resources(stack, &resources)?;
    let resource_lines = resources.into_iter().map(|resource| {
        let name = resource.physical_id.as_deref().map(|id| format!(" {id}")).unwrap_or_default();
        Change::new(
            "delete-resource",
            resource.logical_id,
            ChangeStatus::Planned,
            format!("{}{name}: deleted with the stack", resource.resource_type),
        )
        .part_of("delete-stack")
    });
    Ok(std::iter::once(stack_line).chain(resource_lines).collect())
}

pub async fn delete(ctx: &Ctx, args: &StackDeleteArgs) -> Result<StackDeployReport> {
    let identity = ctx.identity().await?.clone();
    let client = ctx.cloudformation();
    let stack = args.name.stack_name.as_str();
    let info = cfn::describe_stack(&client, stack).await?;
    let mut report = StackDeployReport {
        command: "stack delete",
        account: identity.account.clone(),
        stack_name: stack.to_owned(),
        operation: "delete",
        dry_run: ctx.dry_run,
        plan_source: "local",
        changes: Vec::new(),
        parameter_changes: Vec::new(),
        external_id_generated: false,
        warnings: Vec::new(),
        final_status: None,
        failures: Vec::new(),
        outputs: None,
        summary: ChangeTally::default(),
    };
    let Some(info) = info else {
        report.operation = "none";
        report.changes.push(Change::new("delete-stack", stack, ChangeStatus::Skipped, "the stack does not exist"));
        report.summary = ChangeTally::of(&report.changes);
        return Ok(report);
    };
    report.changes = deletion_changes(&client, stack, &info).await?;
    ctx.printer.text(format_args!("{}\nPlan:\n{}", ctx.identity_line().await?, render_changes(&report.changes)))?;
    // The wait's end: the stack's final status and the resources that failed to delete.
    let ended: Mutex<Option<(String, Vec<String>)>> = Mutex::new(None);
    let step = Step::new(report.changes.clone(), async {
        let mut seen: HashSet<String> = cfn::recent_events(&client, stack).await.map(|e| e.into_iter().map(|e| e.id).collect()).unwrap_or_default();
        cfn::delete_stack(&client, stack).await?;
        if args.wait.no_wait {
            return Ok(Done::Changed);
        }
        let mut on_event = print_event(&ctx.printer);
        let (info, failures) = cfn::wait_stack(&client, stack, &mut seen, Duration::from_secs(args.wait.wait_timeout), &mut on_event).await?;
        let status = info.map(|i| i.status).unwrap_or_else(|| "DELETE_COMPLETE".to_owned());
        let mut changes = report.changes.clone();
        let mut failed: Vec<String> = Vec::new();
        if status != "DELETE_COMPLETE" {
            failed = failures.iter().map(|e| format!("{}: {} {}", e.logical_id, e.status, e.reason.as_deref().unwrap_or(""))).collect();
            if failed.is_empty() {
                failed.push(format!("the stack ended in {status}"));
            }
            for change in &mut changes {
                let kept = change.action == "delete-stack" || failures.iter().any(|e| e.logical_id == change.resource);
                change.status = if kept { ChangeStatus::Failed } else { ChangeStatus::Applied };
                if change.action == "delete-stack" {
                    change.error = Some(format!(
                        "stack {stack} ended in {status}: {} (hint: delete or retain the resources CloudFormation could not delete (CloudFormation console), then re-run)",
                        failed.join("; ")
                    ));
                }
            }
        } else {
            changes.iter_mut().for_each(|c| c.status = ChangeStatus::Applied);
        }
        *ended.lock().unwrap_or_else(|p| p.into_inner()) = Some((status, failed));
        Ok(Done::Report { changes, error: None })
    });
    let outcome = apply::run(ctx.mode(), &ctx.printer, Plan::new(vec![step], OnFailure::Stop), &format!("Delete stack {stack}?")).await?;
    report.changes = outcome.changes();
    report.summary = outcome.tally;
    if let Some((status, failures)) = ended.into_inner().unwrap_or_else(|p| p.into_inner()) {
        report.final_status = Some(status);
        report.failures = failures;
    }
    Ok(report)
}
