//! `flowgate bucket create` and `flowgate bucket check`.

use std::fmt;

use serde::Serialize;

use crate::aws::ec2;
use crate::aws::s3::{self, Applied};
use crate::cli::{BucketCheckArgs, BucketCreateArgs, BucketTargetArgs};
use crate::commands::{Decision, confirm};
use crate::context::Ctx;
use crate::core::bucket::{BucketAction, BucketSpec, DeliveringFlowLog, FlowLogUse, assess_bucket, old_delivery_paths, plan_bucket};
use crate::core::flowlog_plan::usable_regions;
use crate::core::names::BucketName;
use crate::core::report::{Change, ChangeStatus, ChangeTally, Check, CheckStatus, worst};
use crate::error::{Error, ExitStatus, Result};
use crate::output::{Report, render_changes, render_checks};

fn spec_of(ctx: &Ctx, target: &BucketTargetArgs) -> BucketSpec {
    BucketSpec {
        bucket: target.bucket.clone(),
        region: target.bucket_region.as_ref().map(|r| r.to_string()).unwrap_or_else(|| ctx.home_region.clone()),
        region_required: target.bucket_region.is_some(),
        prefix: target.prefix.clone(),
        hive_partitions: target.hive_partitions,
        expire_days: None,
        tags: Vec::new(),
        fix_encryption: false,
    }
}

/// Where the account's flow logs deliver in `bucket`, in every usable region (DescribeFlowLogs,
/// unfiltered, as `stack deploy` discovers flow-log buckets). A region that cannot be read is
/// recorded, not fatal: its paths then count as possibly in use.
async fn observe_flow_log_use(ctx: &Ctx, bucket: &BucketName, partition: &str) -> FlowLogUse {
    use futures::stream::{self, StreamExt};
    let regions = match ec2::describe_regions(&ctx.ec2(&ctx.home_region)).await {
        Ok(all) => usable_regions(&all, partition),
        Err(e) => return FlowLogUse { delivering: Vec::new(), unread: vec![("every region".to_owned(), e.to_string())] },
    };
    let results: Vec<(String, Result<Vec<ec2::S3Destination>>)> = stream::iter(regions)
        .map(|region| async move {
            let found = ec2::list_s3_destinations(&ctx.ec2(&region), &region).await;
            (region, found)
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let mut usage = FlowLogUse::default();
    for (region, result) in results {
        match result {
            Ok(destinations) => {
                usage.delivering.extend(destinations.into_iter().filter(|d| d.bucket == bucket.as_str()).map(|d| DeliveringFlowLog {
                    region: region.clone(),
                    id: d.flow_log_id,
                    prefix: d.prefix,
                }))
            }
            Err(e) => usage.unread.push((region, e.to_string())),
        }
    }
    usage.delivering.sort_by(|a, b| (&a.region, &a.id).cmp(&(&b.region, &b.id)));
    usage.unread.sort();
    usage
}

#[derive(Debug, Serialize)]
pub struct BucketCreateReport {
    pub command: &'static str,
    pub account: String,
    pub principal: String,
    pub bucket: String,
    pub region: String,
    pub dry_run: bool,
    pub changes: Vec<Change>,
    pub summary: ChangeTally,
    #[serde(skip)]
    applied: bool,
}

impl fmt::Display for BucketCreateReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.summary;
        if self.applied {
            let attempted: Vec<Change> = self.changes.iter().filter(|c| c.status != ChangeStatus::Skipped).cloned().collect();
            write!(f, "{}", render_changes(&attempted))?;
            if s.failed > 0 {
                writeln!(
                    f,
                    "bucket {}: {} applied, {} FAILED, {} not attempted; fix the error and re-run (it converges)",
                    self.bucket, s.applied, s.failed, s.not_attempted
                )
            } else {
                writeln!(f, "bucket {} in {}: {} change(s) applied, {} already right", self.bucket, self.region, s.applied, s.unchanged)
            }
        } else if s.planned == 0 {
            writeln!(f, "bucket {} in {} is already right: nothing to change", self.bucket, self.region)
        } else {
            writeln!(f, "dry run: {} change(s) planned, nothing applied", s.planned)
        }
    }
}

impl crate::output::Report for BucketCreateReport {
    fn exit_status(&self) -> ExitStatus {
        if self.summary.failed > 0 { ExitStatus::Failure } else { ExitStatus::Success }
    }
}

pub async fn create(ctx: &Ctx, args: &BucketCreateArgs) -> Result<BucketCreateReport> {
    let identity = ctx.identity().await?.clone();
    let spec =
        BucketSpec { expire_days: args.expire_days, tags: args.tags.clone(), fix_encryption: args.fix_encryption, ..spec_of(ctx, &args.target) };
    let mut observed = s3::observe_bucket(ctx, &spec.bucket, &identity.account).await?;
    // Only a policy that grants an earlier delivery path needs the account's flow logs: whether
    // they still deliver there decides what the plan keeps.
    if !old_delivery_paths(&spec, &observed, &identity.partition, &identity.account).is_empty() {
        observed.flow_log_use = Some(observe_flow_log_use(ctx, &spec.bucket, &identity.partition).await);
    }
    let plan = plan_bucket(&spec, &observed, &identity.partition, &identity.account, args.remove_old_paths).map_err(|e| {
        let hint = e.hint();
        Error::refused(e.to_string(), Some(hint))
    })?;

    let mut report = BucketCreateReport {
        command: "bucket create",
        account: identity.account.clone(),
        principal: identity.arn.clone(),
        bucket: spec.bucket.to_string(),
        region: plan.region.clone(),
        dry_run: ctx.dry_run,
        changes: plan.changes.clone(),
        summary: ChangeTally::of(&plan.changes),
        applied: false,
    };
    ctx.printer.text(format_args!(
        "{}\nPlan for bucket {} ({}):\n{}",
        ctx.identity_line().await?,
        report.bucket,
        report.region,
        render_changes(&report.changes)
    ))?;

    match confirm(ctx, plan.steps.len(), &format!("Apply {} change(s) to bucket {}?", plan.steps.len(), report.bucket))? {
        Decision::DryRun | Decision::NothingToDo => return Ok(report),
        Decision::Apply => {}
    }

    report.applied = true;
    let mut failed = false;
    let mut created = false;
    for (action, index) in &plan.steps {
        let change = &mut report.changes[*index];
        if failed || crate::interrupt::requested() {
            change.status = ChangeStatus::NotAttempted;
            continue;
        }
        let outcome = if created {
            s3::apply_after_create(&ctx.s3(&plan.region), &spec.bucket, action, s3::AFTER_CREATE_DELAYS).await
        } else {
            s3::apply_bucket_action(ctx, &spec.bucket, &plan.region, action).await
        };
        if matches!(action, BucketAction::CreateBucket { .. }) && outcome.is_ok() {
            created = true;
        }
        match outcome {
            Ok(Applied::Changed) => change.status = ChangeStatus::Applied,
            Ok(Applied::AlreadyDone) => {
                change.status = ChangeStatus::Skipped;
                change.detail = format!("{} (already done)", change.detail);
            }
            Err(e) => {
                // Later steps depend on earlier ones (a policy needs the bucket): stop here and
                // report the rest as not attempted.
                change.status = ChangeStatus::Failed;
                change.error = Some(match e.hint() {
                    Some(hint) => format!("{e} (hint: {hint})"),
                    None => e.to_string(),
                });
                failed = true;
            }
        }
    }
    report.summary = ChangeTally::of(&report.changes);
    Ok(report)
}

#[derive(Debug, Serialize)]
pub struct BucketCheckReport {
    pub command: &'static str,
    pub account: String,
    pub bucket: String,
    pub status: CheckStatus,
    pub checks: Vec<Check>,
}

impl fmt::Display for BucketCheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "bucket {} (account {}):", self.bucket, self.account)?;
        write!(f, "{}", render_checks(&self.checks))?;
        let fails = self.checks.iter().filter(|c| c.status == CheckStatus::Fail).count();
        let warns = self.checks.iter().filter(|c| c.status == CheckStatus::Warn).count();
        writeln!(f, "{}: {} check(s), {fails} failed, {warns} warning(s)", self.status, self.checks.len())
    }
}

impl Report for BucketCheckReport {
    fn exit_status(&self) -> ExitStatus {
        if self.status == CheckStatus::Fail { ExitStatus::Failure } else { ExitStatus::Success }
    }
}

pub async fn check(ctx: &Ctx, args: &BucketCheckArgs) -> Result<BucketCheckReport> {
    let identity = ctx.identity().await?.clone();
    let spec = BucketSpec { expire_days: args.expire_days, ..spec_of(ctx, &args.target) };
    let observed = s3::observe_bucket(ctx, &spec.bucket, &identity.account).await?;
    let checks = assess_bucket(&spec, &observed, &identity.partition, &identity.account);
    Ok(BucketCheckReport { command: "bucket check", account: identity.account, bucket: spec.bucket.to_string(), status: worst(&checks), checks })
}
