//! `flowgate bucket create` and `flowgate bucket check`.

use std::fmt;

use schemars::JsonSchema;
use serde::Serialize;

use crate::apply::{self, Done, OnFailure, Plan, Step};
use crate::aws::ec2;
use crate::aws::s3::{self, Applied};
use crate::cli::{BucketCheckArgs, BucketCreateArgs, BucketTargetArgs};
use crate::context::Ctx;
use crate::core::bucket::{
    BucketAction, BucketExistence, BucketPlan, BucketSpec, DeliveringFlowLog, FlowLogUse, assess_bucket, old_delivery_paths, plan_bucket,
};
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

#[derive(Debug, Serialize, JsonSchema)]
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
            if s.steps_failed > 0 {
                writeln!(
                    f,
                    "bucket {}: {} applied, {} FAILED, {} not attempted; fix the error and re-run (it converges)",
                    self.bucket, s.steps_applied, s.steps_failed, s.steps_not_attempted
                )
            } else {
                writeln!(f, "bucket {} in {}: {} change(s) applied, {} already right", self.bucket, self.region, s.steps_applied, s.steps_unchanged)
            }
        } else if s.steps_planned == 0 {
            writeln!(f, "bucket {} in {} is already right: nothing to change", self.bucket, self.region)
        } else {
            writeln!(f, "dry run: {} change(s) planned, nothing applied", s.steps_planned)
        }
    }
}

impl crate::output::Report for BucketCreateReport {
    fn exit_status(&self) -> ExitStatus {
        self.summary.exit_status()
    }
}

pub async fn create(ctx: &Ctx, args: &BucketCreateArgs) -> Result<BucketCreateReport> {
    let identity = ctx.identity().await?.clone();
    let spec =
        BucketSpec { expire_days: args.expire_days, tags: args.tags.clone(), fix_encryption: args.fix_encryption, ..spec_of(ctx, &args.target) };
    let mut observed = s3::observe_bucket(&ctx.clients, &ctx.home_region, &spec.bucket, &identity.account).await?;
    if let BucketExistence::Owned { region } = &observed.existence {
        let region = region.clone();
        s3::observe_for_create(&ctx.s3(&region), &spec.bucket, &mut observed, spec.expire_days.is_some()).await?;
    }
    // Only a policy that grants an earlier delivery path needs the account's flow logs: whether
    // they still deliver there decides what the plan keeps.
    if !old_delivery_paths(&spec, &observed, &identity.partition, &identity.account).is_empty() {
        observed.flow_log_use = Some(observe_flow_log_use(ctx, &spec.bucket, &identity.partition).await);
    }
    let plan = plan_bucket(&spec, &observed, &identity.partition, &identity.account, args.remove_old_paths).map_err(|e| {
        let hint = e.hint();
        Error::refused(e.to_string(), Some(hint))
    })?;

    let bucket_name = spec.bucket.to_string();
    ctx.printer.text(format_args!(
        "{}\nPlan for bucket {} ({}):\n{}",
        ctx.identity_line().await?,
        bucket_name,
        plan.region,
        render_changes(&plan.changes)
    ))?;
    let pending = plan.steps.len();
    let outcome =
        apply::run(ctx.mode(), &ctx.printer, apply_plan(ctx, &spec.bucket, &plan), &format!("Apply {pending} change(s) to bucket {bucket_name}?"))
            .await?;
    Ok(BucketCreateReport {
        command: "bucket create",
        account: identity.account.clone(),
        principal: identity.arn.clone(),
        bucket: bucket_name,
        region: plan.region.clone(),
        dry_run: ctx.dry_run,
        changes: outcome.changes(),
        summary: outcome.tally,
        applied: outcome.applied(),
    })
}

/// One step per change of the bucket plan, in order; later steps depend on earlier ones (a
/// policy needs the bucket), so a failure stops the rest.
fn apply_plan<'a>(ctx: &'a Ctx, bucket: &'a BucketName, plan: &'a BucketPlan) -> Plan<'a> {
    // Once the plan creates the bucket, the steps after it run against a bucket S3 may not show
    // everywhere yet: they retry its NoSuchBucket for a while.
    let creates = plan.steps.iter().position(|(action, _)| matches!(action, BucketAction::CreateBucket { .. }));
    // The lines after the create that need no call are what a new bucket has by default: right
    // only once the create succeeded.
    let create_line = creates.map(|c| plan.steps[c].1);
    let steps = plan
        .changes
        .iter()
        .enumerate()
        .map(|(index, change)| match plan.steps.iter().position(|(_, i)| *i == index) {
            None if create_line.is_some_and(|line| index > line) => Step::predicted(vec![change.clone()]),
            None => Step::shown(vec![change.clone()]),
            Some(n) => {
                let (action, _) = &plan.steps[n];
                let after_create = creates.is_some_and(|c| n > c);
                Step::new(vec![change.clone()], async move {
                    let applied = if after_create {
                        s3::apply_after_create(&ctx.s3(&plan.region), bucket, action, s3::AFTER_CREATE_DELAYS).await?
                    } else {
                        s3::apply_bucket_action(&ctx.s3(&plan.region), bucket, action).await?
                    };
                    Ok(match applied {
                        Applied::Changed => Done::Changed,
                        Applied::AlreadyDone => Done::AlreadyDone,
                    })
                })
            }
        })
        .collect();
    Plan::new(steps, OnFailure::Stop)
}

#[derive(Debug, Serialize, JsonSchema)]
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
    let observed = s3::observe_bucket(&ctx.clients, &ctx.home_region, &spec.bucket, &identity.account).await?;
    let checks = assess_bucket(&spec, &observed, &identity.partition, &identity.account);
    Ok(BucketCheckReport { command: "bucket check", account: identity.account, bucket: spec.bucket.to_string(), status: worst(&checks), checks })
}
