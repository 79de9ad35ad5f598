//! `flowgate onboard`: the whole onboarding as one plan and one confirmation. Each step is the
//! real command (bucket create, flowlogs enable, stack deploy, verify), run first in dry-run mode
//! to build the combined plan (no mutating call: the stack's plan is the local comparison, not a
//! change set), then, once confirmed, with --yes: every step re-reads the account, so a re-run
//! after a partial failure converges.

use std::fmt;

use schemars::JsonSchema;
use serde::Serialize;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::apply::{self, ApplyMode, Decision, Done, OnFailure, Plan, Step, error_text};
use crate::cli::{
    BucketCreateArgs, BucketTargetArgs, FlowLogSpecArgs, FlowLogsEnableArgs, OnboardArgs, ScopeArgs, SimulateArgs, StackDeployArgs, StackNameArgs,
    StackWaitArgs, VerifyArgs, WatchEnableArgs,
};
use crate::commands::stack::StackOutputs;
use crate::commands::verify::VerifyReport;
use crate::commands::{bucket, flowlogs, stack, verify, watch};
use crate::context::Ctx;
use crate::core::flowlog_plan::FileFormat;
use crate::core::names::partition_of_region;
use crate::core::report::{Change, ChangeStatus, ChangeTally, CheckStatus};
use crate::core::stack_plan::StorageId;
use crate::error::{Error, ExitStatus, Result};
use crate::output::{Report, render_changes};

/// The sub-commands' arguments, filled from onboard's (the wizard fills the same).
#[derive(Debug, Clone)]
pub struct OnboardSteps {
    pub bucket: BucketCreateArgs,
    pub flowlogs: FlowLogsEnableArgs,
    pub stack: StackDeployArgs,
    pub verify: VerifyArgs,
    /// `--watch`: the watcher, with the flow log the flow-log step creates.
    pub watch: Option<WatchEnableArgs>,
    /// The same, asked for or not: without `--watch`, a watcher that makes another flow log is
    /// named.
    pub watched_flow_log: WatchEnableArgs,
}

pub fn steps_of(args: &OnboardArgs, external_id: Option<String>) -> OnboardSteps {
    let spec = FlowLogSpecArgs {
        bucket: args.bucket.clone(),
        prefix: args.prefix.clone(),
        format: args.format.clone(),
        ecs: args.ecs,
        traffic_type: args.traffic_type,
        max_aggregation_interval: 600,
        file_format: FileFormat::PlainText,
        hive_partitions: false,
        per_hour_partition: false,
    };
    let scope = ScopeArgs { regions: args.regions.clone(), vpcs: Vec::new(), concurrency: args.concurrency };
    let storage_ids =
        if args.storage_access && args.storage_ids.is_empty() { vec![StorageId::from(args.bucket.clone())] } else { args.storage_ids.clone() };
    let watched_flow_log =
        WatchEnableArgs { spec: spec.clone(), regions: args.regions.clone(), tags: args.tags.clone(), concurrency: args.concurrency };
    OnboardSteps {
        watch: args.watch.then(|| watched_flow_log.clone()),
        watched_flow_log,
        bucket: BucketCreateArgs {
            target: BucketTargetArgs {
                bucket: args.bucket.clone(),
                bucket_region: args.bucket_region.clone(),
                prefix: args.prefix.clone(),
                hive_partitions: false,
            },
            expire_days: args.expire_days,
            tags: args.tags.clone(),
            fix_encryption: args.fix_encryption,
            remove_old_paths: false,
        },
        flowlogs: FlowLogsEnableArgs {
            spec: spec.clone(),
            scope: scope.clone(),
            replace: args.replace,
            replace_unmanaged: args.replace_unmanaged,
            tags: args.tags.clone(),
        },
        stack: StackDeployArgs {
            name: StackNameArgs { stack_name: args.stack_name.clone() },
            vendor_account: args.vendor_account.clone(),
            external_id,
            role_name: args.role_name.clone(),
            storage_access: args.storage_access,
            storage_ids,
            vendor_modes: args.vendor_modes.clone(),
            template: None,
            change_set_preview: false,
            wait: StackWaitArgs { no_wait: false, wait_timeout: 1800 },
        },
        verify: VerifyArgs {
            spec,
            scope,
            since: 24 * 3600,
            max_objects: 3,
            role_name: None,
            stack_name: args.stack_name.clone(),
            wait: args.wait,
            delivery_grace: 15 * 60,
            strict: false,
            report: None,
            simulate: SimulateArgs { no_simulate: false },
        },
    }
}

/// One step of the onboarding and what became of it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StepResult {
    pub step: &'static str,
    pub changes: Vec<Change>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct OnboardReport {
    pub command: &'static str,
    pub account: String,
    pub principal: String,
    pub bucket: String,
    pub dry_run: bool,
    pub steps: Vec<StepResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub portal: Option<StackOutputs>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify: Option<VerifyReport>,
    /// The bucket-policy statements AWS's own policy write removed when the flow logs were
    /// created, which flowgate put back (the flow-log step's `restore-bucket-policy`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub restored_statements: Vec<String>,
    pub summary: ChangeTally,
    /// What to run again after a failure (it converges).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rerun: Option<String>,
    /// The wizard's answers as one non-interactive command, for automation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub equivalent_command: Option<String>,
    /// Whether the plan had anything to change (what `--dry-run --exit-code` exits 4 for).
    pub would_change: bool,
    /// `--exit-code` (with `--dry-run`): drift exits 4 unless something failed.
    #[serde(skip)]
    pub drift_exit_code: bool,
    #[serde(skip)]
    applied: bool,
}

impl fmt::Display for OnboardReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The plan was printed before confirmation; after applying, what became of each change.
        for step in self.steps.iter().filter(|_| self.applied) {
            let shown: Vec<Change> = step.changes.iter().filter(|c| !matches!(c.status, ChangeStatus::Skipped)).cloned().collect();
            if shown.is_empty() && step.error.is_none() {
                continue;
            }
            writeln!(f, "{}:", step.step)?;
            write!(f, "{}", render_changes(&shown))?;
            if let Some(error) = &step.error {
                writeln!(f, "  FAILED: {error}")?;
            }
        }
        if !self.restored_statements.is_empty() {
            writeln!(f, "bucket policy: AWS's own write removed {}, put back", self.restored_statements.join(", "))?;
        }
        if let Some(verify) = &self.verify {
            write!(f, "{verify}")?;
        }
        if let Some(out) = &self.portal {
            writeln!(f, "For the vendor's portal:")?;
            writeln!(f, "  role ARN     {}", out.role_arn)?;
            writeln!(f, "  external id  {}", out.external_id)?;
            writeln!(f, "  account id   {}", out.account_id)?;
            writeln!(f, "  bucket       {}", self.bucket)?;
        }
        let s = &self.summary;
        // Changes, not plan lines: the stack deploy is one change (see `ChangeTally`).
        if self.dry_run {
            writeln!(f, "dry run: {} change(s) planned, nothing applied", s.steps_planned)?;
        } else if !self.applied {
            writeln!(f, "nothing to change")?;
        } else {
            writeln!(f, "{} change(s) applied, {} failed", s.steps_applied, s.steps_failed)?;
        }
        if let Some(rerun) = &self.rerun {
            writeln!(f, "re-run to finish (it converges): {rerun}")?;
        }
        if let Some(line) = &self.equivalent_command {
            writeln!(f, "The same onboarding, for automation:\n  {line}")?;
        }
        Ok(())
    }
}

impl Report for OnboardReport {
    fn exit_status(&self) -> ExitStatus {
        let step_failed = self.steps.iter().any(|s| s.error.is_some());
        if step_failed || self.summary.failed > 0 {
            return if self.summary.applied > 0 { ExitStatus::Partial } else { ExitStatus::Failure };
        }
        let status = match self.verify.as_ref().map(|v| v.status) {
            Some(CheckStatus::Fail) => ExitStatus::Failure,
            _ => self.summary.exit_status(),
        };
        if self.drift_exit_code { status.with_drift(self.would_change) } else { status }
    }
}

/// A sub-command's result as a step of the composed plan: its changes and any error of the
/// step as a whole (with its hint).
fn sub_report(result: Result<(Vec<Change>, Option<String>)>) -> Done {
    match result {
        Ok((changes, error)) => Done::Report { changes, error },
        Err(e) => Done::Report { changes: Vec::new(), error: Some(error_text(&e)) },
    }
}

fn step_ok(done: &Done) -> bool {
    match done {
        Done::Report { changes, error } => error.is_none() && changes.iter().all(|c| c.status != ChangeStatus::Failed),
        Done::Changed | Done::AlreadyDone => true,
    }
}

impl OnboardReport {
    pub fn new(command: &'static str, account: &str, principal: &str, bucket: String, dry_run: bool) -> Self {
        OnboardReport {
            command,
            account: account.to_owned(),
            principal: principal.to_owned(),
            bucket,
            dry_run,
            steps: Vec::new(),
            portal: None,
            verify: None,
            restored_statements: Vec::new(),
            summary: ChangeTally::default(),
            rerun: None,
            equivalent_command: None,
            would_change: false,
            drift_exit_code: false,
            applied: false,
        }
    }

    pub fn mark_applied(&mut self) {
        self.applied = true;
    }
}

/// Plans every step (dry run), shows one plan, confirms once, applies in order, then verifies.
// Long (~130 lines): four or five sub-commands planned, confirmed once, applied in order, then verified.
pub async fn onboard(ctx: &Ctx, args: &OnboardArgs) -> Result<OnboardReport> {
    // The planning pass makes no ExternalId up (it says one will be generated); the apply
    // generates it once, in stack deploy, and reports it.
    let steps = steps_of(args, args.external_id.clone());
    // What the input alone can tell, before the first AWS call.
    stack::check_storage_partition(&args.storage_ids, partition_of_region(&ctx.home_region), &format!("the region {}", ctx.home_region))?;
    stack::check_deploy_limits(&steps.stack, &stack::check_template(crate::core::stack_plan::TEMPLATE, None)?, &ctx.home_region)?;
    let identity = ctx.identity().await?.clone();
    stack::check_storage_partition(&args.storage_ids, &identity.partition, &format!("the caller {}", identity.arn))?;
    let mut report = OnboardReport::new("onboard", &identity.account, &identity.arn, args.bucket.to_string(), ctx.dry_run);

    // The plan: every step in dry-run mode, plans not printed one by one.
    let planning = ctx.fork(ApplyMode::PLAN_ONLY, ctx.printer.without_plans());
    let bucket_plan = bucket::create(&planning, &steps.bucket).await?;
    let bucket_exists = bucket_plan.changes.iter().any(|c| c.action == "create-bucket" && c.status == ChangeStatus::Skipped);
    let owner = if bucket_exists { flowlogs::BucketOwner::Checked } else { flowlogs::BucketOwner::ThisAccount };
    let flowlogs_plan = flowlogs::enable_with(&planning, &steps.flowlogs, owner).await?;
    let stack_plan = stack::deploy(&planning, &steps.stack).await?;
    report.steps = vec![
        StepResult { step: "bucket", changes: bucket_plan.changes.clone(), error: None },
        StepResult { step: "flow logs", changes: flowlogs_plan.changes.clone(), error: None },
        StepResult { step: "role stack and access", changes: stack_plan.changes.clone(), error: None },
    ];
    if let Some(watch_args) = &steps.watch {
        report.steps.push(StepResult { step: "watcher", changes: watch::enable(&planning, watch_args).await?.changes, error: None });
    } else {
        let differing = watch::differing_lines(&planning, &steps.watched_flow_log).await;
        if !differing.is_empty() {
            report.steps.push(StepResult { step: "watcher", changes: differing, error: None });
        }
    }
    let planned: Vec<Change> = report.steps.iter().flat_map(|s| s.changes.iter().cloned()).collect();
    report.summary = ChangeTally::of(&planned);
    let pending = report.summary.steps_planned;
    (report.would_change, report.drift_exit_code) = (pending > 0, args.exit_code);
    ctx.printer.text(format_args!("{}\nPlan for onboarding (one confirmation for all of it):\n", ctx.identity_line().await?))?;
    for step in &report.steps {
        ctx.printer.text(format_args!("{}:\n{}", step.step, render_changes(&step.changes)))?;
    }

    // A vendor account that is the caller's own, or a short ExternalId (printed by the stack
    // step as warnings): applied only with a deliberate --yes, never on a prompt's answer.
    if !stack_plan.warnings.is_empty() && !ctx.dry_run && !ctx.yes {
        return Err(Error::input(
            format!("not applied: {} warning(s) above need a deliberate --yes", stack_plan.warnings.len()),
            Some("fix --vendor-account / --external-id, or re-run with --yes if this is deliberate".to_owned()),
        ));
    }
    match apply::confirm(ctx.mode(), pending, &format!("Apply {pending} change(s) to onboard account {}?", identity.account))? {
        Decision::DryRun => return Ok(report),
        Decision::NothingToDo => {
            report.portal = stack_plan.outputs.clone();
            report.verify = Some(verify::verify_with(ctx, &steps.verify, false).await?);
            return Ok(report);
        }
        Decision::Apply => {}
    }

    // Apply in order, each step re-reading the account: the sub-commands' plans run as steps of
    // one plan, so Ctrl-C stops before the next one. The flow logs and the stack need the bucket
    // (a failed bucket step leaves them not attempted); they do not need each other. What was
    // applied is reported, and re-running converges.
    report.applied = true;
    let applying = ctx.fork(ApplyMode::APPLY, ctx.printer.without_plans());
    let rerun = crate::output::rerun_command_line();
    let bucket_ok = AtomicBool::new(true);
    let created_flow_logs = AtomicBool::new(false);
    // An up-to-date stack is not deployed again: its outputs are the plan's.
    let portal = Mutex::new(stack_plan.outputs.clone());
    let restored = Mutex::new(Vec::new());
    let (applying, sub, restored_ref) = (&applying, &steps, &restored);
    let (bucket_ok, created, portal_ref) = (&bucket_ok, &created_flow_logs, &portal);
    let needs_bucket = || Done::Report { changes: Vec::new(), error: Some("not attempted: the bucket step failed".into()) };
    let plan = Plan::new(
        vec![
            Step::new(report.steps[0].changes.clone(), async move {
                let done = sub_report(bucket::create(applying, &sub.bucket).await.map(|r| (r.changes, None)));
                bucket_ok.store(step_ok(&done), Ordering::SeqCst);
                Ok(done)
            }),
            Step::new(report.steps[1].changes.clone(), async move {
                if !bucket_ok.load(Ordering::SeqCst) {
                    return Ok(needs_bucket());
                }
                Ok(sub_report(flowlogs::enable(applying, &sub.flowlogs).await.map(|r| {
                    created.store(r.summary.applied > 0, Ordering::SeqCst);
                    *restored_ref.lock().unwrap_or_else(|p| p.into_inner()) = r.restored_statements.clone();
                    (r.changes, None)
                })))
            }),
            Step::new(report.steps[2].changes.clone(), async move {
                if !bucket_ok.load(Ordering::SeqCst) {
                    return Ok(needs_bucket());
                }
                Ok(sub_report(stack::deploy(applying, &sub.stack).await.map(|r| {
                    *portal_ref.lock().unwrap_or_else(|p| p.into_inner()) = r.outputs.clone();
                    (r.changes, (!r.failures.is_empty()).then(|| r.failures.join("; ")))
                })))
            }),
        ],
        OnFailure::Continue { concurrency: 1 },
    );
    let mut plan = plan;
    // The watcher's step, planned with --watch; without it, only the notice of a watcher that makes
    // another flow log, shown.
    match (&sub.watch, report.steps.iter().find(|s| s.step == "watcher")) {
        (Some(watch_args), Some(planned)) => {
            // After the flow-log step: the watcher creates the flow log that step just did.
            plan.steps.push(Step::new(planned.changes.clone(), async move {
                if !bucket_ok.load(Ordering::SeqCst) {
                    return Ok(needs_bucket());
                }
                Ok(sub_report(watch::enable(applying, watch_args).await.map(|r| (r.changes, None))))
            }));
        }
        (None, Some(notice)) => plan.steps.push(Step::shown(notice.changes.clone())),
        _ => {}
    }
    let outcome = apply::run(ApplyMode::APPLY, &ctx.printer, plan, "").await?;
    let names: Vec<&'static str> = report.steps.iter().map(|s| s.step).collect();
    report.steps = names.into_iter().zip(outcome.steps).map(|(step, o)| StepResult { step, changes: o.changes, error: o.error }).collect();
    report.summary = outcome.tally;
    report.portal = portal.into_inner().unwrap_or_else(|p| p.into_inner());
    report.restored_statements = restored.into_inner().unwrap_or_else(|p| p.into_inner());
    let failed = report.steps.iter().any(|s| s.error.is_some()) || report.summary.failed > 0;
    if failed || report.summary.interrupted {
        report.rerun = Some(rerun);
        return Ok(report);
    }
    let created_flow_logs = created_flow_logs.load(Ordering::SeqCst);
    let pending_delivery = created_flow_logs && args.wait.is_none();
    report.verify = Some(verify::verify_with(ctx, &steps.verify, pending_delivery).await?);
    Ok(report)
}
