//! `flowgate offboard`: removes what flowgate set up, as one plan and one confirmation: its
//! flow logs (tagged flowgate:managed) in every region, the role stack (which revokes the vendor's
//! access with the role), and with --delete-bucket the bucket. Other flow logs are never touched.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::apply::{self, ApplyMode, Done, OnFailure, Plan, Step, error_text};
use crate::aws::s3;
use crate::cli::{FlowLogsDisableArgs, OffboardArgs, StackDeleteArgs, StackNameArgs, StackWaitArgs, WatchDisableArgs};
use crate::commands::onboard::{OnboardReport, StepResult};
use crate::commands::{flowlogs, stack, watch};
use crate::context::Ctx;
use crate::core::bucket::BucketExistence;
use crate::core::names::BucketName;
use crate::core::report::{Change, ChangeStatus};
use crate::error::{Error, Result};
use crate::output::render_changes;

/// Objects counted before a bucket deletion is refused or shown; beyond this it says "at least".
const OBJECT_COUNT_CAP: usize = 100_000;

// Long (~120 lines): three to five sub-plans composed into one plan and one run; read top to bottom.
pub async fn offboard(ctx: &Ctx, args: &OffboardArgs) -> Result<OnboardReport> {
    let identity = ctx.identity().await?.clone();
    let disable = FlowLogsDisableArgs { scope: args.scope.clone(), bucket: args.bucket.clone() };
    let delete =
        StackDeleteArgs { name: StackNameArgs { stack_name: args.stack_name.clone() }, wait: StackWaitArgs { no_wait: false, wait_timeout: 1800 } };

    let unwatch = args.watch.then(|| WatchDisableArgs { regions: args.scope.regions.clone(), concurrency: args.scope.concurrency });
    let planning = ctx.fork(ApplyMode::PLAN_ONLY, ctx.printer.without_plans());
    let watch_plan = match &unwatch {
        Some(unwatch) => Some(watch::disable(&planning, unwatch).await?),
        None => None,
    };
    let flowlogs_plan = flowlogs::disable(&planning, &disable).await?;
    let stack_plan = stack::delete(&planning, &delete).await?;
    let bucket_change = plan_bucket_change(ctx, args, &identity.account, &flowlogs_plan).await?;
    let mut report = OnboardReport::new(
        "offboard",
        &identity.account,
        &identity.arn,
        args.bucket.as_ref().map(|b| b.to_string()).unwrap_or_default(),
        ctx.dry_run,
    );
    report.steps = vec![
        StepResult { step: "flow logs", changes: flowlogs_plan.changes.clone(), error: None },
        StepResult { step: "role stack and access", changes: stack_plan.changes.clone(), error: None },
    ];
    if let Some(change) = &bucket_change {
        report.steps.push(StepResult { step: "bucket", changes: vec![change.clone()], error: None });
    }
    // Without --watch, a watcher of flowgate's stays, and the plan says where.
    let kept_watchers = if args.watch { Vec::new() } else { watch::kept_lines(&planning, &args.scope).await };
    if !kept_watchers.is_empty() {
        report.steps.push(StepResult { step: "watcher", changes: kept_watchers.clone(), error: None });
    }
    // The watcher goes first: it would give a VPC created meanwhile a new flow log.
    if let Some(watch_plan) = &watch_plan {
        report.steps.insert(0, StepResult { step: "watcher", changes: watch_plan.changes.clone(), error: None });
    }
    let first = usize::from(watch_plan.is_some());
    ctx.printer.text(format_args!("{}\nPlan for offboarding (one confirmation for all of it):\n", ctx.identity_line().await?))?;
    for step in &report.steps {
        ctx.printer.text(format_args!("{}:\n{}", step.step, render_changes(&step.changes)))?;
    }

    // Applied in order, each sub-command re-reading the account; a failed step does not keep the
    // role stack from going (the vendor's access is independent of the flow logs), but the bucket
    // stays while a flow log that delivers to it could not be removed: a deleted bucket's name can
    // be taken by anyone, and the flow log would then deliver to them. Ctrl-C stops before the
    // next step.
    let applying = ctx.fork(ApplyMode::APPLY, ctx.printer.without_plans());
    let flow_logs_left = AtomicBool::new(false);
    let (applying, disable, delete, flow_logs_left) = (&applying, &disable, &delete, &flow_logs_left);
    let mut steps = Vec::new();
    if let Some(unwatch) = &unwatch {
        steps.push(Step::new(report.steps[0].changes.clone(), async move {
            Ok(match watch::disable(applying, unwatch).await {
                Ok(r) => Done::Report { changes: r.changes, error: None },
                Err(e) => Done::Report { changes: Vec::new(), error: Some(error_text(&e)) },
            })
        }));
    }
    steps.extend([
        Step::new(report.steps[first].changes.clone(), async move {
            let done = match flowlogs::disable(applying, disable).await {
                Ok(r) => Done::Report { changes: r.changes, error: None },
                Err(e) => Done::Report { changes: Vec::new(), error: Some(error_text(&e)) },
            };
            if let Done::Report { changes, error } = &done
                && (error.is_some() || changes.iter().any(|c| c.status == ChangeStatus::Failed))
            {
                flow_logs_left.store(true, Ordering::SeqCst);
            }
            Ok(done)
        }),
        Step::new(report.steps[first + 1].changes.clone(), async move {
            Ok(match stack::delete(applying, delete).await {
                Ok(r) => Done::Report { changes: r.changes, error: (!r.failures.is_empty()).then(|| r.failures.join("; ")) },
                Err(e) => Done::Report { changes: Vec::new(), error: Some(error_text(&e)) },
            })
        }),
    ]);
    if let Some(change) = bucket_change.as_ref().filter(|c| c.status != ChangeStatus::Planned) {
        steps.push(Step::shown(vec![change.clone()]));
    } else if let (Some(bucket), Some(change)) = (&args.bucket, &bucket_change) {
        let account = identity.account.as_str();
        steps.push(Step::new(vec![change.clone()], async move {
            if flow_logs_left.load(Ordering::SeqCst) {
                let mut kept = change.clone();
                kept.status = ChangeStatus::NotAttempted;
                kept.detail = "kept: a flow log that delivers to it could not be removed (see above); re-run offboard once it is".to_owned();
                return Ok(Done::Report { changes: vec![kept], error: None });
            }
            delete_bucket(ctx, bucket, account, change.clone()).await
        }));
    }
    if !kept_watchers.is_empty() {
        steps.push(Step::shown(kept_watchers));
    }
    let names: Vec<&'static str> = report.steps.iter().map(|s| s.step).collect();
    let mut plan = Plan::new(steps, OnFailure::Continue { concurrency: 1 });
    // Changes, not plan lines: the stack's resources are details of its deletion (see `ChangeTally`).
    plan.pending = Some(report.steps.iter().flat_map(|s| &s.changes).filter(|c| c.status == ChangeStatus::Planned && c.part_of.is_none()).count());
    let pending = plan.pending();
    let outcome = apply::run(ctx.mode(), &ctx.printer, plan, &format!("Apply {pending} change(s) to offboard account {}?", identity.account)).await?;
    report.summary = outcome.tally;
    if !outcome.applied() {
        return Ok(report);
    }
    report.mark_applied();
    report.steps = names.into_iter().zip(outcome.steps).map(|(step, o)| StepResult { step, changes: o.changes, error: o.error }).collect();
    if report.steps.iter().any(|s| s.error.is_some()) || report.summary.failed > 0 || report.summary.interrupted {
        report.rerun = Some(crate::output::rerun_command_line());
    }
    Ok(report)
}

/// The bucket's line of the plan: kept, deleted (with its objects under --force), or kept
/// although --delete-bucket asks for it while flow logs may still deliver to it.
async fn plan_bucket_change(ctx: &Ctx, args: &OffboardArgs, account: &str, flowlogs_plan: &flowlogs::FlowLogsReport) -> Result<Option<Change>> {
    let Some(bucket) = &args.bucket else { return Ok(None) };
    Ok(Some(if !args.delete_bucket {
        Change::new("keep-bucket", bucket.as_str(), ChangeStatus::Skipped, "kept with its flow logs (--delete-bucket removes it)")
    } else {
        match s3::bucket_existence(&ctx.s3(&ctx.home_region), bucket, account).await? {
            BucketExistence::Owned { region } => {
                let count = s3::count_object_versions(&ctx.s3(&region), bucket, OBJECT_COUNT_CAP).await?;
                let shown = if count >= OBJECT_COUNT_CAP { format!("at least {count}") } else { count.to_string() };
                if count > 0 && !args.force {
                    return Err(Error::refused(
                        format!("bucket {bucket} holds {shown} object(s): it is deleted only when empty"),
                        Some("add --force to delete its objects with it, or leave out --delete-bucket to keep it".to_owned()),
                    ));
                }
                match still_delivering(flowlogs_plan) {
                    Some(why) => Change::new("delete-bucket", bucket.as_str(), ChangeStatus::Blocked, format!("kept: {why}")),
                    None => Change::new("delete-bucket", bucket.as_str(), ChangeStatus::Planned, format!("in {region}, with its {shown} object(s)")),
                }
            }
            BucketExistence::Missing => Change::new("delete-bucket", bucket.as_str(), ChangeStatus::Skipped, "does not exist"),
            BucketExistence::Forbidden => return Err(Error::refused(format!("bucket {bucket} is not this account's"), None)),
        }
    }))
}

/// Why the bucket must stay although --delete-bucket asks for it: flow logs that deliver to it
/// and are not removed (another team's, flowgate's on VPCs not selected), or regions the
/// organization's policy closes, whose flow logs cannot be seen. A deleted bucket's name can be
/// taken by another account, which would then receive those flow logs.
fn still_delivering(flowlogs_plan: &flowlogs::FlowLogsReport) -> Option<String> {
    if !flowlogs_plan.kept_to_bucket.is_empty() {
        return Some(format!(
            "flow log(s) {} still deliver to it and are not removed here (another team's, or on VPCs not selected): delete them first",
            flowlogs_plan.kept_to_bucket.join(", ")
        ));
    }
    if !flowlogs_plan.skipped_regions.is_empty() {
        let regions: Vec<&str> = flowlogs_plan.skipped_regions.iter().map(|r| r.region.as_str()).collect();
        return Some(format!(
            "region(s) {} are closed by the organization's policy: flow logs there cannot be seen or removed and may still deliver to it",
            regions.join(", ")
        ));
    }
    None
}

/// Deletes the bucket (and, when the plan said so, its objects) in the region it is in.
async fn delete_bucket(ctx: &Ctx, bucket: &BucketName, account: &str, mut change: Change) -> Result<Done> {
    let region = match s3::bucket_existence(&ctx.s3(&ctx.home_region), bucket, account).await {
        Ok(BucketExistence::Owned { region }) => region,
        _ => ctx.home_region.clone(),
    };
    let deleted = s3::delete_bucket_and_objects(&ctx.s3(&region), bucket).await?;
    change.status = ChangeStatus::Applied;
    change.detail = format!("deleted with {deleted} object(s)");
    Ok(Done::Report { changes: vec![change], error: None })
}
