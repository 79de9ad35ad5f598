//! `flowgate stack deploy | status | delete`: the cross-account role stack, created and updated
//! through change sets so that the plan shown is what CloudFormation will do.

use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::time::Duration;

use aws_sdk_cloudformation::Client;
use rand::RngCore;
use serde::Serialize;

use crate::aws::cloudformation::{self as cfn, StackEvent, StackInfo};
use crate::aws::ec2;
use crate::cli::{StackDeleteArgs, StackDeployArgs, StackNameArgs};
use crate::commands::{ApplyMode, Decision, confirm_mode};
use crate::context::Ctx;
use crate::core::flowlog_plan::usable_regions;
use crate::core::report::{Change, ChangeStatus, ChangeTally};
use crate::core::stack_plan::{
    DEFAULT_ROLE_NAME, ParameterChange, StackCondition, StackParameters, TEMPLATE, classify_status, external_id_from_random, is_no_change_reason,
    parameter_changes,
};
use crate::error::{Error, ExitStatus, Result};
use crate::output::{Printer, Report, render_changes};

/// What the admin pastes into the vendor's portal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackOutputs {
    pub role_arn: String,
    pub external_id: String,
    pub account_id: String,
    pub storage_buckets: Vec<String>,
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
    pub template: String,
    pub no_wait: bool,
    pub wait_timeout: Duration,
}

#[derive(Debug, Serialize)]
pub struct StackDeployReport {
    pub command: &'static str,
    pub account: String,
    pub stack_name: String,
    /// create, update, recreate (after ROLLBACK_COMPLETE) or none (up to date).
    pub operation: &'static str,
    pub dry_run: bool,
    pub changes: Vec<Change>,
    pub parameter_changes: Vec<ParameterChange>,
    pub external_id_generated: bool,
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
            ("none", _, _) => writeln!(f, "stack {} is up to date: nothing to change", self.stack_name)?,
            (_, true, _) => writeln!(f, "dry run: the change set was deleted, nothing applied")?,
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
        }
        Ok(())
    }
}

impl Report for StackDeployReport {
    fn exit_status(&self) -> ExitStatus {
        if self.failures.is_empty() && self.summary.failed == 0 { ExitStatus::Success } else { ExitStatus::Failure }
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
async fn discard_change_set(cfn_client: &Client, stack: &str, id: &str, created_stack: bool) -> Result<()> {
    cfn::delete_change_set(cfn_client, stack, id).await?;
    if created_stack {
        cfn::delete_stack(cfn_client, stack).await?;
    }
    Ok(())
}

/// Deploys (creates, updates or re-creates) the role stack: the one path `stack deploy` and
/// `access` (stack mode) use.
pub async fn deploy_stack(cfn_client: &Client, printer: &Printer, mode: ApplyMode, request: &DeployRequest) -> Result<StackDeployReport> {
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

    let vendor_account = request.vendor_account.clone().or_else(|| existing.as_ref().map(|p| p.vendor_account.clone())).ok_or_else(|| {
        Error::input(format!("--vendor-account is required to create stack {stack}"), Some("pass the vendor's 12-digit AWS account id".to_owned()))
    })?;
    let (external_id, generated) = match (&request.external_id, &existing) {
        (Some(id), _) => (id.clone(), false),
        (None, Some(p)) => (p.external_id.clone(), false),
        (None, None) => (random_external_id(), true),
    };
    let role_name =
        request.role_name.clone().or_else(|| existing.as_ref().map(|p| p.role_name.clone())).unwrap_or_else(|| DEFAULT_ROLE_NAME.to_owned());
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
    let desired = StackParameters { vendor_account, external_id, role_name, storage_buckets };
    let words = parameter_changes(if recreate { None } else { existing.as_ref() }, &desired);

    let mut report = StackDeployReport {
        command: "stack deploy",
        account: request.account.clone(),
        stack_name: stack.to_owned(),
        operation: if recreate {
            "recreate"
        } else if create {
            "create"
        } else {
            "update"
        },
        dry_run: mode.dry_run,
        changes: Vec::new(),
        parameter_changes: words.clone(),
        external_id_generated: generated,
        final_status: None,
        failures: Vec::new(),
        outputs: None,
        summary: ChangeTally::default(),
    };

    // Up to date: same parameters and same template. Checked before any change set, so that a
    // second run makes no mutating call at all.
    if let (Some(old), Some(info)) = (&existing, &info) {
        if !recreate && old == &desired && cfn::template_body(cfn_client, stack).await?.as_deref().map(str::trim) == Some(request.template.trim()) {
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

    // A failed create (ROLLBACK_COMPLETE) cannot be updated: delete it first. No change set can
    // be previewed for a stack that still exists, so the plan says so in words.
    let mut change_set = None;
    let mut parameters_only = false;
    if recreate {
        report.changes.push(Change::new(
            "delete-stack",
            stack,
            ChangeStatus::Planned,
            "ROLLBACK_COMPLETE (a failed create) cannot be updated: delete it, then create it again",
        ));
        report.changes.push(Change::new("create-stack", stack, ChangeStatus::Planned, "create the role stack from the template"));
    } else {
        let id = cfn::create_change_set(cfn_client, stack, &change_set_name(), create, &request.template, &desired.to_api()).await?;
        let set = cfn::wait_change_set(cfn_client, stack, &id, request.wait_timeout).await?;
        if set.status == "FAILED" {
            let reason = set.status_reason.clone().unwrap_or_default();
            discard_change_set(cfn_client, stack, &id, create).await?;
            if !is_no_change_reason(&reason) {
                return Err(Error::refused(
                    format!("CloudFormation rejected the change set for stack {stack}: {reason}"),
                    Some("fix the cause (template, parameters, permissions) and re-run".to_owned()),
                ));
            }
            if existing.as_ref() == Some(&desired) {
                report.operation = "none";
                report.changes.push(Change::new("update-stack", stack, ChangeStatus::Skipped, "the change set has no changes"));
                report.outputs = info.as_ref().and_then(|i| outputs_of(i, &request.partition, &request.account));
                report.summary = ChangeTally::of(&report.changes);
                return Ok(report);
            }
            // The parameters differ although the change set lists no change: a parameter change
            // is never dropped; it is applied with UpdateStack instead.
            parameters_only = true;
            report.changes.push(Change::new(
                "update-stack",
                stack,
                ChangeStatus::Planned,
                "parameters only (the change set listed no resource change): UpdateStack",
            ));
        } else {
            report.changes.push(Change::new(
                if create { "create-stack" } else { "update-stack" },
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
                report.changes.push(Change::new(
                    format!("{}-resource", rc.action.to_ascii_lowercase()),
                    &rc.logical_id,
                    ChangeStatus::Planned,
                    format!("{}{replacement}", rc.resource_type),
                ));
            }
            change_set = Some(set);
        }
    }
    for word in &words {
        report.changes.push(Change::new("parameter", word.parameter, ChangeStatus::Planned, &word.text));
    }
    printer.text(format_args!("Plan for stack {stack} ({}):\n{}", report.operation, render_changes(&report.changes)))?;
    if generated {
        printer.status(format!("generated a new ExternalId: {} (give it to the vendor)", desired.external_id));
    }
    let revoked: Vec<&ParameterChange> = words.iter().filter(|w| w.loud).collect();
    for word in &revoked {
        eprintln!("{} {}", console::style("WARNING:").red().bold(), word.text);
    }

    let question =
        if revoked.is_empty() { format!("Deploy stack {stack}?") } else { format!("Deploy stack {stack} ({} warning(s) above)?", revoked.len()) };
    let decision = confirm_mode(mode, 1, &question);
    let decision = match decision {
        Ok(d) => d,
        Err(e) => {
            if let Some(set) = &change_set {
                let _ = discard_change_set(cfn_client, stack, &set.id, create && !recreate).await;
            }
            return Err(e);
        }
    };
    if decision != Decision::Apply {
        if let Some(set) = &change_set {
            discard_change_set(cfn_client, stack, &set.id, create && !recreate).await?;
        }
        report.summary = ChangeTally::of(&report.changes);
        return Ok(report);
    }

    if crate::interrupt::requested() {
        if let Some(set) = &change_set {
            discard_change_set(cfn_client, stack, &set.id, create && !recreate).await?;
        }
        for change in report.changes.iter_mut().filter(|c| c.status == ChangeStatus::Planned) {
            change.status = ChangeStatus::NotAttempted;
        }
        report.summary = ChangeTally::of(&report.changes);
        return Ok(report);
    }
    let mut seen: HashSet<String> = cfn::recent_events(cfn_client, stack).await.map(|e| e.into_iter().map(|e| e.id).collect()).unwrap_or_default();
    let mut on_event = print_event(printer);
    if recreate {
        cfn::delete_stack(cfn_client, stack).await?;
        let (_, failures) = cfn::wait_stack(cfn_client, stack, &mut seen, request.wait_timeout, &mut on_event).await?;
        if !failures.is_empty() {
            return Err(Error::refused(
                format!("could not delete stack {stack} in ROLLBACK_COMPLETE"),
                Some("delete it in the CloudFormation console, then re-run".to_owned()),
            ));
        }
        if let Some(change) = report.changes.iter_mut().find(|c| c.action == "delete-stack") {
            change.status = ChangeStatus::Applied;
        }
        let id = cfn::create_change_set(cfn_client, stack, &change_set_name(), true, &request.template, &desired.to_api()).await?;
        let set = cfn::wait_change_set(cfn_client, stack, &id, request.wait_timeout).await?;
        if set.status == "FAILED" {
            return Err(Error::refused(
                format!("CloudFormation rejected the change set for stack {stack}: {}", set.status_reason.unwrap_or_default()),
                None,
            ));
        }
        change_set = Some(set);
    }
    match (&change_set, parameters_only) {
        (Some(set), _) => cfn::execute_change_set(cfn_client, stack, &set.id).await?,
        (None, true) => cfn::update_stack(cfn_client, stack, &request.template, &desired.to_api()).await?,
        (None, false) => return Err(Error::refused("internal: no change set to execute", None)),
    }
    for change in report.changes.iter_mut().filter(|c| c.status == ChangeStatus::Planned) {
        change.status = ChangeStatus::Applied;
    }
    if request.no_wait {
        report.final_status = Some("execution started (not waiting)".to_owned());
        report.summary = ChangeTally::of(&report.changes);
        return Ok(report);
    }
    let (info, failures) = cfn::wait_stack(cfn_client, stack, &mut seen, request.wait_timeout, &mut on_event).await?;
    let status = info.as_ref().map(|i| i.status.clone()).unwrap_or_else(|| "DELETE_COMPLETE".to_owned());
    report.failures =
        failures.iter().map(|e| format!("{} ({}): {} {}", e.logical_id, e.resource_type, e.status, e.reason.as_deref().unwrap_or(""))).collect();
    if failed_status(&status) {
        if report.failures.is_empty() {
            report.failures.push(info.as_ref().and_then(|i| i.status_reason.clone()).unwrap_or_else(|| format!("the stack ended in {status}")));
        }
        for change in report.changes.iter_mut().filter(|c| c.status == ChangeStatus::Applied) {
            change.status = ChangeStatus::Failed;
        }
    }
    report.final_status = Some(status);
    report.outputs = info.as_ref().and_then(|i| outputs_of(i, &request.partition, &request.account));
    report.summary = ChangeTally::of(&report.changes);
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

pub async fn deploy(ctx: &Ctx, args: &StackDeployArgs) -> Result<StackDeployReport> {
    let template = read_template(args.template.as_deref())?;
    let identity = ctx.identity().await?.clone();
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
        args.storage_ids.iter().map(|b| b.to_string()).collect()
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
        template,
        no_wait: args.wait.no_wait,
        wait_timeout: Duration::from_secs(args.wait.wait_timeout),
    };
    ctx.printer.text(ctx.identity_line().await?)?;
    ctx.printer.text("\n")?;
    deploy_stack(&ctx.cloudformation(), &ctx.printer, ctx.mode(), &request).await
}

#[derive(Debug, Serialize)]
pub struct StackStatusReport {
    pub command: &'static str,
    pub account: String,
    pub stack_name: String,
    pub exists: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// missing, ready, rollback-complete, in-progress or broken.
    pub condition: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<StackParameters>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outputs: Option<StackOutputs>,
    /// What the role can read: discovery everywhere, objects in these buckets.
    pub readable_buckets: Vec<String>,
}

impl fmt::Display for StackStatusReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(status) = &self.status else {
            return writeln!(f, "stack {} does not exist (flowgate stack deploy creates it)", self.stack_name);
        };
        writeln!(f, "stack {}: {status}", self.stack_name)?;
        if let Some(p) = &self.parameters {
            writeln!(f, "  vendor account  {}", p.vendor_account)?;
            writeln!(f, "  role name       {}", p.role_name)?;
        }
        if let Some(o) = &self.outputs {
            writeln!(f, "  role ARN        {}", o.role_arn)?;
            writeln!(f, "  external id     {}", o.external_id)?;
        }
        let buckets = if self.readable_buckets.is_empty() { "none (discovery only)".to_owned() } else { self.readable_buckets.join(", ") };
        writeln!(f, "  can read        read-only network discovery; flow-log objects in: {buckets}")
    }
}

impl Report for StackStatusReport {
    fn exit_status(&self) -> ExitStatus {
        if self.condition == "ready" { ExitStatus::Success } else { ExitStatus::Failure }
    }
}

pub async fn status(ctx: &Ctx, args: &StackNameArgs) -> Result<StackStatusReport> {
    let identity = ctx.identity().await?.clone();
    let info = cfn::describe_stack(&ctx.cloudformation(), &args.stack_name).await?;
    let condition = classify_status(info.as_ref().map(|i| i.status.as_str()));
    let outputs = info.as_ref().and_then(|i| outputs_of(i, &identity.partition, &identity.account));
    Ok(StackStatusReport {
        command: "stack status",
        account: identity.account.clone(),
        stack_name: args.stack_name.clone(),
        exists: info.is_some(),
        status: info.as_ref().map(|i| i.status.clone()),
        condition: condition.label(),
        parameters: info.as_ref().and_then(|i| StackParameters::from_api(&i.parameters)),
        readable_buckets: outputs.as_ref().map(|o| o.storage_buckets.clone()).unwrap_or_default(),
        outputs,
    })
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
        changes: Vec::new(),
        parameter_changes: Vec::new(),
        external_id_generated: false,
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
    report.changes.push(Change::new(
        "delete-stack",
        stack,
        ChangeStatus::Planned,
        format!("{}: the role and its policies are deleted; the vendor loses access", info.status),
    ));
    ctx.printer.text(format_args!("{}\nPlan:\n{}", ctx.identity_line().await?, render_changes(&report.changes)))?;
    if confirm_mode(ctx.mode(), 1, &format!("Delete stack {stack}?"))? != Decision::Apply {
        report.summary = ChangeTally::of(&report.changes);
        return Ok(report);
    }
    let mut seen: HashSet<String> = cfn::recent_events(&client, stack).await.map(|e| e.into_iter().map(|e| e.id).collect()).unwrap_or_default();
    cfn::delete_stack(&client, stack).await?;
    report.changes[0].status = ChangeStatus::Applied;
    if !args.wait.no_wait {
        let mut on_event = print_event(&ctx.printer);
        let (info, failures) = cfn::wait_stack(&client, stack, &mut seen, Duration::from_secs(args.wait.wait_timeout), &mut on_event).await?;
        let status = info.map(|i| i.status).unwrap_or_else(|| "DELETE_COMPLETE".to_owned());
        if status != "DELETE_COMPLETE" {
            report.changes[0].status = ChangeStatus::Failed;
            report.failures = failures.iter().map(|e| format!("{}: {} {}", e.logical_id, e.status, e.reason.as_deref().unwrap_or(""))).collect();
            if report.failures.is_empty() {
                report.failures.push(format!("the stack ended in {status}"));
            }
        }
        report.final_status = Some(status);
    }
    report.summary = ChangeTally::of(&report.changes);
    Ok(report)
}
