//! `flowgate offboard`: removes what flowgate set up, as one plan and one confirmation: its
//! flow logs (tagged flowgate:managed) in every region, the role stack (which revokes the vendor's
//! access with the role), and with --delete-bucket the bucket. Other flow logs are never touched.

use crate::aws::s3;
use crate::cli::{FlowLogsDisableArgs, OffboardArgs, StackDeleteArgs, StackNameArgs, StackWaitArgs};
use crate::commands::onboard::{OnboardReport, StepResult};
use crate::commands::{Decision, confirm, flowlogs, stack};
use crate::context::Ctx;
use crate::core::bucket::BucketExistence;
use crate::core::report::{Change, ChangeStatus, ChangeTally};
use crate::error::{Error, Result};
use crate::output::render_changes;

/// Objects counted before a bucket deletion is refused or shown; beyond this it says "at least".
const OBJECT_COUNT_CAP: usize = 100_000;

pub async fn offboard(ctx: &Ctx, args: &OffboardArgs) -> Result<OnboardReport> {
    let identity = ctx.identity().await?.clone();
    let disable = FlowLogsDisableArgs { scope: args.scope.clone(), bucket: args.bucket.clone() };
    let delete =
        StackDeleteArgs { name: StackNameArgs { stack_name: args.stack_name.clone() }, wait: StackWaitArgs { no_wait: false, wait_timeout: 1800 } };

    let planning = ctx.fork(true, false, ctx.printer.without_plans());
    let flowlogs_plan = flowlogs::disable(&planning, &disable).await?;
    let stack_plan = stack::delete(&planning, &delete).await?;
    let mut bucket_change = None;
    if let Some(bucket) = &args.bucket {
        bucket_change = Some(if !args.delete_bucket {
            Change::new("keep-bucket", bucket.as_str(), ChangeStatus::Skipped, "kept with its flow logs (--delete-bucket removes it)")
        } else {
            match s3::bucket_existence(&ctx.s3(&ctx.home_region), bucket, &identity.account).await? {
                BucketExistence::Owned { region } => {
                    let count = s3::count_object_versions(&ctx.s3(&region), bucket, OBJECT_COUNT_CAP).await?;
                    let shown = if count >= OBJECT_COUNT_CAP { format!("at least {count}") } else { count.to_string() };
                    if count > 0 && !args.force {
                        return Err(Error::refused(
                            format!("bucket {bucket} holds {shown} object(s): it is deleted only when empty"),
                            Some("add --force to delete its objects with it, or leave out --delete-bucket to keep it".to_owned()),
                        ));
                    }
                    Change::new("delete-bucket", bucket.as_str(), ChangeStatus::Planned, format!("in {region}, with its {shown} object(s)"))
                }
                BucketExistence::Missing => Change::new("delete-bucket", bucket.as_str(), ChangeStatus::Skipped, "does not exist"),
                BucketExistence::Forbidden => return Err(Error::refused(format!("bucket {bucket} is not this account's"), None)),
            }
        });
    }
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
    let planned: Vec<Change> = report.steps.iter().flat_map(|s| s.changes.iter().cloned()).collect();
    report.summary = ChangeTally::of(&planned);
    let pending = report.summary.planned;
    ctx.printer.text(format_args!("{}\nPlan for offboarding (one confirmation for all of it):\n", ctx.identity_line().await?))?;
    for step in &report.steps {
        ctx.printer.text(format_args!("{}:\n{}", step.step, render_changes(&step.changes)))?;
    }
    if confirm(ctx, pending, &format!("Apply {pending} change(s) to offboard account {}?", identity.account))? != Decision::Apply {
        return Ok(report);
    }

    report.mark_applied();
    let applying = ctx.fork(false, true, ctx.printer.without_plans());
    report.steps.clear();
    match flowlogs::disable(&applying, &disable).await {
        Ok(r) => report.steps.push(StepResult { step: "flow logs", changes: r.changes, error: None }),
        Err(e) => report.steps.push(StepResult::failed("flow logs", &e)),
    }
    match stack::delete(&applying, &delete).await {
        Ok(r) => {
            let error = (!r.failures.is_empty()).then(|| r.failures.join("; "));
            report.steps.push(StepResult { step: "role stack and access", changes: r.changes, error });
        }
        Err(e) => report.steps.push(StepResult::failed("role stack and access", &e)),
    }
    if let (Some(bucket), Some(mut change)) = (&args.bucket, bucket_change) {
        if change.status == ChangeStatus::Planned {
            let region = match s3::bucket_existence(&ctx.s3(&ctx.home_region), bucket, &identity.account).await {
                Ok(BucketExistence::Owned { region }) => region,
                _ => ctx.home_region.clone(),
            };
            match s3::delete_bucket_and_objects(&ctx.s3(&region), bucket).await {
                Ok(n) => {
                    change.status = ChangeStatus::Applied;
                    change.detail = format!("deleted with {n} object(s)");
                }
                Err(e) => {
                    change.status = ChangeStatus::Failed;
                    change.error = Some(e.to_string());
                }
            }
        }
        report.steps.push(StepResult { step: "bucket", changes: vec![change], error: None });
    }
    let all: Vec<Change> = report.steps.iter().flat_map(|s| s.changes.iter().cloned()).collect();
    report.summary = ChangeTally::of(&all);
    if report.steps.iter().any(|s| s.error.is_some()) || report.summary.failed > 0 {
        report.rerun = Some(crate::output::rerun_command_line());
    }
    Ok(report)
}
