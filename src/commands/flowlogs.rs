//! `flowgate flowlogs enable | status | disable`: flow logs to the bucket in every enabled region
//! and every VPC. Regions are observed and applied concurrently (bounded); a failing region is
//! reported while the others finish.

use std::collections::BTreeMap;
use std::fmt;

use rand::RngCore;
use schemars::JsonSchema;
use serde::Serialize;

use crate::apply::{self, Done, OnFailure, Plan, Step, error_text};
use crate::aws::ec2::{self, ItemFailure};
use crate::aws::s3;

use crate::cli::{FlowLogsDisableArgs, FlowLogsEnableArgs, FlowLogsStatusArgs, desired_flow_log};
use crate::context::Ctx;
use crate::core::bucket::BucketExistence;
use crate::core::flowlog_plan::{
    CREATE_BATCH_LIMIT, DesiredFlowLog, RegionPlan, Replacement, VpcState, kept_by_disable, kept_to_bucket, plan_region, region_changes,
    replacement_tags, select_for_disable, shared_detail,
};
use crate::core::report::{Change, ChangeStatus, ChangeTally, CheckStatus};
use crate::error::{Error, ExitStatus, Result};
use crate::observe::regions::{
    CoverageTotals, RegionCoverage, SkippedRegion, check_named_vpcs, coverage, observe_regions, resolve_regions, skipped_regions,
};
use crate::output::{Report, render_changes};

mod policy_watch;
pub use policy_watch::{PolicyWatch, Restored};

fn failed_region(action: &str, region: &str, error: &Error) -> Change {
    let mut change = Change::new(action, region, ChangeStatus::Failed, "the region could not be read");
    change.error = Some(error_text(error));
    change.in_region(region)
}

async fn ensure_bucket(ctx: &Ctx, desired: &DesiredFlowLog) -> Result<()> {
    let account = ctx.identity().await?.account.clone();
    match s3::bucket_existence(&ctx.s3(&ctx.home_region), &desired.bucket, &account).await? {
        BucketExistence::Owned { .. } => Ok(()),
        BucketExistence::Missing => Err(Error::refused(
            format!("bucket {} does not exist", desired.bucket),
            Some(format!("create it first: flowgate bucket create --bucket {}", desired.bucket)),
        )),
        BucketExistence::Forbidden => Err(Error::refused(
            format!("bucket {} belongs to another account or cannot be read", desired.bucket),
            Some("flow logs go to a bucket of this account: check the name".to_owned()),
        )),
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct FlowLogsReport {
    pub command: &'static str,
    pub account: String,
    pub principal: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    pub regions: Vec<String>,
    /// Regions closed to the account by an explicit deny (a region-deny policy): skipped, with
    /// the reason; they make a run neither fail nor partial.
    pub skipped_regions: Vec<SkippedRegion>,
    /// `disable --bucket`: the flow logs that still deliver to the bucket afterwards (another
    /// team's, or flowgate's on VPCs not selected), as `ID (REGION)`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kept_to_bucket: Vec<String>,
    /// `enable`: the bucket-policy statements AWS's own policy write (made when the bucket's
    /// owner creates a flow log) removed and flowgate put back, by Sid.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub restored_statements: Vec<String>,
    /// `enable`: AWS's own delivery statements that write added to the policy (kept), by Sid.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aws_statements: Vec<String>,
    pub dry_run: bool,
    pub changes: Vec<Change>,
    pub summary: ChangeTally,
    #[serde(skip)]
    applied: bool,
}

impl fmt::Display for FlowLogsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.summary;
        if self.applied {
            let attempted: Vec<Change> = self.changes.iter().filter(|c| c.status != ChangeStatus::Skipped).cloned().collect();
            write!(f, "{}", render_changes(&attempted))?;
        }
        for skipped in &self.skipped_regions {
            writeln!(f, "{}: {}", skipped.region, skipped.reason)?;
        }
        if !self.restored_statements.is_empty() {
            writeln!(
                f,
                "bucket policy: AWS's own write removed {} statement(s), put back: {}",
                self.restored_statements.len(),
                self.restored_statements.join(", ")
            )?;
        }
        if !self.aws_statements.is_empty() {
            writeln!(f, "bucket policy: AWS's own delivery statements added by its write, kept: {}", self.aws_statements.join(", "))?;
        }
        let regions = self.regions.len();
        if self.applied {
            write!(f, "{} applied, {} unchanged", s.steps_applied, s.steps_unchanged)?;
        } else if s.steps_planned == 0 {
            write!(f, "nothing to change in {regions} region(s)")?;
        } else {
            write!(f, "dry run: {} change(s) planned in {regions} region(s), nothing applied", s.steps_planned)?;
        }
        if s.steps_failed > 0 {
            write!(f, ", {} FAILED (re-run to converge)", s.steps_failed)?;
        }
        if s.steps_not_attempted > 0 {
            write!(f, ", {} not attempted", s.steps_not_attempted)?;
        }
        if s.steps_blocked > 0 {
            write!(
                f,
                ", {} non-compliant left alone (the plan names the flag: --replace, or --replace-unmanaged for flow logs not flowgate's)",
                s.steps_blocked
            )?;
        }
        writeln!(f)
    }
}

impl Report for FlowLogsReport {
    fn exit_status(&self) -> ExitStatus {
        self.summary.exit_status()
    }
}

fn random_token() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn mark(changes: &mut [Change], action: &str, vpc: &str, status: ChangeStatus, error: Option<String>, note: Option<&str>) {
    if let Some(change) = changes.iter_mut().find(|c| c.action == action && c.resource == vpc) {
        change.status = status;
        change.error = error;
        if let Some(note) = note {
            change.detail = format!("{} ({note})", change.detail);
        }
    }
}

/// How often, and after how long, a create refused with "Access Denied for LogDestination" is
/// tried again: a bucket policy flowgate has just written takes a moment to reach the log
/// delivery service (S3 bucket policies are eventually consistent), and the create is
/// refused meanwhile. About 25 s in all, then the refusal stands and is reported.
const DESTINATION_SETTLE_DELAYS: [std::time::Duration; 3] =
    [std::time::Duration::from_secs(3), std::time::Duration::from_secs(7), std::time::Duration::from_secs(15)];

/// The refusal of a destination whose policy does not (yet) let the log delivery service write:
/// "Access Denied for LogDestination: BUCKET. Please check LogDestination permission."
fn destination_not_yet_writable(failure: &ItemFailure) -> bool {
    failure.message.contains("Access Denied for LogDestination")
}

/// Creates the batch's flow logs; the VPCs refused because the destination is not yet writable
/// are tried again (a new client token each time, so the retry is a new request), bounded.
async fn create_settling(
    client: &aws_sdk_ec2::Client,
    region: &str,
    desired: &DesiredFlowLog,
    batch: &[String],
    tags: &[(String, String)],
) -> Result<Vec<ItemFailure>> {
    let mut failures = ec2::create_flow_logs(client, region, desired, batch, tags, &random_token()).await?;
    for delay in DESTINATION_SETTLE_DELAYS {
        let waiting: Vec<String> = failures.iter().filter(|f| destination_not_yet_writable(f)).map(|f| f.id.clone()).collect();
        if waiting.is_empty() {
            break;
        }
        tracing::debug!(region, vpcs = ?waiting, "destination not yet writable: trying again in {delay:?}");
        tokio::time::sleep(delay).await;
        let again = ec2::create_flow_logs(client, region, desired, &waiting, tags, &random_token()).await?;
        failures.retain(|f| !waiting.contains(&f.id));
        failures.extend(again);
    }
    Ok(failures)
}

/// A failed item, as a failed change carries it.
fn item_error(failure: &ItemFailure) -> String {
    failure.text()
}

/// Applies one region's plan with that region's client; updates the region's change entries.
pub async fn apply_region(
    client: &aws_sdk_ec2::Client,
    desired: &DesiredFlowLog,
    plan: &RegionPlan,
    mut changes: Vec<Change>,
    tags: &[(String, String)],
) -> Vec<Change> {
    let region = plan.region.as_str();

    for batch in plan.create.chunks(CREATE_BATCH_LIMIT) {
        match create_settling(client, region, desired, batch, tags).await {
            Ok(failures) => {
                for vpc in batch {
                    match failures.iter().find(|f| &f.id == vpc) {
                        // Someone (or an earlier, interrupted run) created it meanwhile: covered.
                        Some(f) if f.code == "FlowLogAlreadyExists" => {
                            mark(&mut changes, "create-flow-log", vpc, ChangeStatus::Skipped, None, Some("already exists"))
                        }
                        Some(f) => mark(&mut changes, "create-flow-log", vpc, ChangeStatus::Failed, Some(item_error(f)), None),
                        None => mark(&mut changes, "create-flow-log", vpc, ChangeStatus::Applied, None, None),
                    }
                }
            }
            Err(e) => {
                let text = error_text(&e);
                for vpc in batch {
                    mark(&mut changes, "create-flow-log", vpc, ChangeStatus::Failed, Some(text.clone()), None);
                }
            }
        }
    }

    for replacement in &plan.replace {
        let vpc = replacement.vpc_id.as_str();
        match replace_one(client, region, desired, replacement, tags).await {
            Ok(note) => mark(&mut changes, "replace-flow-log", vpc, ChangeStatus::Applied, None, note),
            Err(error) => mark(&mut changes, "replace-flow-log", vpc, ChangeStatus::Failed, Some(error), None),
        }
    }
    changes
}

/// One VPC's replacement: the new flow log first, then the old ones deleted; with a note when
/// coverage had a gap, or why it failed.
async fn replace_one(
    client: &aws_sdk_ec2::Client,
    region: &str,
    desired: &DesiredFlowLog,
    replacement: &Replacement,
    tags: &[(String, String)],
) -> std::result::Result<Option<&'static str>, String> {
    let single = [replacement.vpc_id.clone()];
    let joined = |failures: &[ItemFailure]| failures.iter().map(item_error).collect::<Vec<_>>().join("; ");
    // The new flow log keeps the user tags of the flowgate flow log it replaces.
    let tags = &replacement_tags(tags, &replacement.carried_tags);
    // Create first, so that the VPC is never without a flow log...
    match ec2::create_flow_logs(client, region, desired, &single, tags, &random_token()).await {
        Ok(failures) if failures.is_empty() => match ec2::delete_flow_logs(client, region, &replacement.old_flow_log_ids).await {
            Ok(failed) if failed.is_empty() => Ok(None),
            Ok(failed) => Err(format!("new flow log created; old not deleted: {}", joined(&failed))),
            Err(e) => Err(format!("new flow log created; old not deleted: {}", error_text(&e))),
        },
        // ...unless EC2 refuses a second flow log to the same destination. While a flow log that is
        // not flowgate's stays there, deleting flowgate's would not make room: nothing is deleted.
        Ok(failures) if failures.iter().any(|f| f.code == "FlowLogAlreadyExists") && !replacement.left_alone.is_empty() => Err(format!(
            "{}; {} (not flowgate's) still delivers there, so nothing was deleted: re-run with --replace-unmanaged to replace it too",
            joined(&failures),
            replacement.left_alone.iter().map(|f| f.id.as_str()).collect::<Vec<_>>().join(", ")
        )),
        // Otherwise delete the old one first and create again, and say that coverage had a gap.
        Ok(failures) if failures.iter().any(|f| f.code == "FlowLogAlreadyExists") => {
            match ec2::delete_flow_logs(client, region, &replacement.old_flow_log_ids).await {
                Ok(failed) if failed.is_empty() => match ec2::create_flow_logs(client, region, desired, &single, tags, &random_token()).await {
                    Ok(again) if again.is_empty() => Ok(Some("deleted before creating: coverage had a short gap")),
                    Ok(again) => Err(format!("old flow log deleted but the new one failed, the VPC has NO flow log: {}", joined(&again))),
                    Err(e) => Err(format!("old flow log deleted but the new one failed, the VPC has NO flow log: {}", error_text(&e))),
                },
                Ok(failed) => Err(joined(&failed)),
                Err(e) => Err(error_text(&e)),
            }
        }
        Ok(failures) => Err(joined(&failures)),
        Err(e) => Err(error_text(&e)),
    }
}

pub async fn enable(ctx: &Ctx, args: &FlowLogsEnableArgs) -> Result<FlowLogsReport> {
    enable_with(ctx, args, BucketOwner::Checked).await
}

/// What `flowlogs enable` plans for one account: the flow log wanted, each readable region's
/// plan with the changes it shows, and the regions that could not be read.
pub struct EnablePlan {
    pub account: String,
    pub principal: String,
    pub desired: DesiredFlowLog,
    pub regions: Vec<String>,
    pub plans: Vec<(RegionPlan, Vec<Change>)>,
    pub unread: Vec<Change>,
    /// Regions closed by an explicit deny (a region-deny policy): nothing planned there.
    pub skipped: Vec<SkippedRegion>,
    /// The bucket policy read again after the flow-log step, when this account owns the bucket
    /// and creates flow logs (see [`policy_watch`]).
    pub policy_watch: Option<PolicyWatch>,
}

impl EnablePlan {
    pub fn pending(&self) -> usize {
        self.plans.iter().map(|(p, _)| p.pending()).sum()
    }

    /// Every change of the plan, as the plan table shows it.
    pub fn changes(&self) -> Vec<Change> {
        let skipped = self.skipped.iter().map(SkippedRegion::change);
        let watch = self.policy_watch.iter().map(|w| w.line.clone());
        self.plans.iter().flat_map(|(_, c)| c.iter().cloned()).chain(self.unread.iter().cloned()).chain(skipped).chain(watch).collect()
    }
}

/// Whose the flow logs' bucket is, as the caller of [`plan_enable`] knows it. AWS writes its own
/// delivery statements into the bucket policy only for flow logs its owner creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketOwner {
    /// This account's: checked before planning (`flowlogs enable`).
    Checked,
    /// This account's, not checked: an earlier step of the same run creates it (onboard's plan).
    ThisAccount,
    /// Another account's (an organization's central bucket), or flow logs made through a role
    /// that may not write its policy.
    Other,
}

/// Observes the account and plans its flow logs, checking that the bucket exists only when
/// `owner` says so (onboard plans the flow logs before the bucket step has created it; an
/// organization's members deliver to a bucket of another account).
pub async fn plan_enable(ctx: &Ctx, args: &FlowLogsEnableArgs, owner: BucketOwner) -> Result<EnablePlan> {
    let require_bucket = owner == BucketOwner::Checked;
    // Validate before any AWS call; the partition only changes the ARN, checked again below.
    desired_flow_log(&args.spec, "aws")?;
    let identity = ctx.identity().await?.clone();
    let desired = desired_flow_log(&args.spec, &identity.partition)?;
    let regions = resolve_regions(ctx, &args.scope).await?;
    // The bucket check and the reads of every region are independent: one round trip, not two.
    let (bucket, observed) =
        tokio::join!(async { if require_bucket { ensure_bucket(ctx, &desired).await } else { Ok(()) } }, observe_regions(ctx, &regions, &args.scope));
    bucket?;
    check_named_vpcs(&args.scope, &observed)?;

    let mut plans: Vec<(RegionPlan, Vec<Change>)> = Vec::new();
    let mut unread = Vec::new();
    let skipped = skipped_regions(&observed);
    for (region, result) in &observed {
        match result {
            Ok(state) if state.denied.is_some() => {}
            Ok(state) => {
                let plan = plan_region(region, &identity.account, &desired, &state.vpcs, &state.flow_logs, args.replace_scope());
                let changes = region_changes(&plan);
                plans.push((plan, changes));
            }
            Err(e) => unread.push(failed_region("read-region", region, e)),
        }
    }
    let pending: usize = plans.iter().map(|(p, _)| p.pending()).sum();
    let policy_watch = (owner != BucketOwner::Other && pending > 0).then(|| PolicyWatch::planned(&args.spec.bucket));
    Ok(EnablePlan { account: identity.account, principal: identity.arn, desired, regions, plans, unread, skipped, policy_watch })
}

/// Applies `plan` (confirmed as `ctx.mode()` says), regions concurrently, then the bucket-policy
/// step: the policy is read before the first flow log is created and put back afterwards where
/// AWS's own write took something away.
pub async fn apply_enable(ctx: &Ctx, plan: &EnablePlan, args: &FlowLogsEnableArgs) -> Result<(apply::Outcome, Restored)> {
    let pending = plan.pending();
    let tags = ec2::creation_tags(&args.tags);
    let before = tokio::sync::OnceCell::new();
    let mut steps: Vec<Step> = plan
        .plans
        .iter()
        .map(|(region_plan, region_changes)| {
            if region_plan.pending() == 0 {
                return Step::shown(region_changes.clone());
            }
            let (desired, tags, before) = (&plan.desired, &tags, &before);
            let region_changes = region_changes.clone();
            Step::new(region_changes.clone(), async move {
                if let Some(watch) = &plan.policy_watch {
                    before.get_or_init(|| policy_watch::read(ctx, &watch.bucket)).await;
                }
                let changes = apply_region(&ctx.ec2(&region_plan.region), desired, region_plan, region_changes, tags).await;
                Ok(Done::Report { changes, error: None })
            })
        })
        .collect();
    steps.push(Step::shown(plan.unread.clone()));
    steps.push(Step::shown(plan.skipped.iter().map(SkippedRegion::change).collect()));
    let mut runner_plan = Plan::new(steps, OnFailure::Continue { concurrency: usize::from(args.scope.concurrency) });
    runner_plan.pending = Some(pending);
    runner_plan.progress = Some("applying");
    let mut outcome = apply::run(ctx.mode(), &ctx.printer, runner_plan, &format!("Apply {pending} flow-log change(s)?")).await?;
    let restored = match &plan.policy_watch {
        Some(watch) => policy_watch::settle(ctx, watch, before.get(), &mut outcome).await,
        None => Restored::default(),
    };
    Ok((outcome, restored))
}

/// `enable`, with what the caller knows of the bucket's owner (see [`plan_enable`]).
pub async fn enable_with(ctx: &Ctx, args: &FlowLogsEnableArgs, owner: BucketOwner) -> Result<FlowLogsReport> {
    let plan = plan_enable(ctx, args, owner).await?;
    let desired = &plan.desired;
    ctx.printer.text(format_args!(
        "{}\nPlan: flow logs to {} in {} region(s), format {} ({} fields, version {}), traffic {}:\n{}",
        ctx.identity_line().await?,
        desired.destination_arn(),
        plan.regions.len(),
        args.spec.format,
        desired.format.fields().len(),
        desired.format.version(),
        desired.traffic_type,
        render_changes(&plan.changes())
    ))?;
    let (outcome, restored) = apply_enable(ctx, &plan, args).await?;
    let mut all = outcome.changes();
    if outcome.applied() {
        // Region by region, the bucket-policy step after them.
        all.sort_by(|a, b| {
            (a.action == policy_watch::ACTION, a.region.as_deref(), &a.resource).cmp(&(
                b.action == policy_watch::ACTION,
                b.region.as_deref(),
                &b.resource,
            ))
        });
    }
    Ok(FlowLogsReport {
        command: "flowlogs enable",
        account: plan.account.clone(),
        principal: plan.principal.clone(),
        destination: Some(desired.destination_arn()),
        format: Some(desired.format.to_api()),
        regions: plan.regions.clone(),
        skipped_regions: plan.skipped.clone(),
        kept_to_bucket: Vec::new(),
        restored_statements: restored.restored_statements,
        aws_statements: restored.aws_statements,
        dry_run: ctx.dry_run,
        changes: all,
        summary: outcome.tally,
        applied: outcome.applied(),
    })
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct StatusReport {
    pub command: &'static str,
    pub account: String,
    pub destination: String,
    pub format: String,
    pub status: CheckStatus,
    pub regions: Vec<RegionCoverage>,
    pub totals: CoverageTotals,
    /// Whether `flowlogs enable` (with `--replace` for the non-compliant) would change anything.
    pub would_change: bool,
    /// `--exit-code`: drift exits 4, an unreadable region still 1.
    #[serde(skip)]
    drift_exit_code: bool,
}

impl fmt::Display for StatusReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "flow-log coverage to {} (account {}):", self.destination, self.account)?;
        writeln!(f, "  {:<16} {:>5} {:>10} {:>14} {:>8} {:>7}", "region", "vpcs", "compliant", "non-compliant", "missing", "shared")?;
        for region in &self.regions {
            if let Some(error) = &region.error {
                writeln!(f, "  {:<16} ERROR: {error}", region.region)?;
                continue;
            }
            if let Some(skipped) = &region.skipped {
                writeln!(f, "  {:<16} {skipped}", region.region)?;
                continue;
            }
            writeln!(
                f,
                "  {:<16} {:>5} {:>10} {:>14} {:>8} {:>7}",
                region.region, region.vpcs, region.compliant, region.non_compliant, region.missing, region.shared
            )?;
            for vpc in &region.coverage {
                match &vpc.state {
                    VpcState::Compliant { .. } => {}
                    VpcState::Missing => writeln!(f, "      {}  missing: no flow log to the bucket", vpc.vpc_id)?,
                    VpcState::NonCompliant { reasons, .. } => writeln!(f, "      {}  NON-COMPLIANT: {}", vpc.vpc_id, reasons.join("; "))?,
                    VpcState::Shared { owner_id } => writeln!(f, "      {}  {}", vpc.vpc_id, shared_detail(owner_id))?,
                }
            }
        }
        let t = &self.totals;
        writeln!(
            f,
            "{}: {} VPC(s) in {} region(s): {} compliant, {} non-compliant, {} missing{}{}{}",
            self.status,
            t.vpcs,
            t.regions,
            t.compliant,
            t.non_compliant,
            t.missing,
            if t.shared > 0 { format!(", {} shared from other accounts (their owners enable flow logs)", t.shared) } else { String::new() },
            if t.failed_regions > 0 { format!(", {} region(s) could not be read", t.failed_regions) } else { String::new() },
            if t.skipped_regions > 0 { format!(", {} region(s) denied by policy and skipped", t.skipped_regions) } else { String::new() }
        )
    }
}

impl Report for StatusReport {
    fn exit_status(&self) -> ExitStatus {
        if self.drift_exit_code {
            let failed = if self.totals.failed_regions > 0 { ExitStatus::Failure } else { ExitStatus::Success };
            return failed.with_drift(self.would_change);
        }
        if self.status == CheckStatus::Pass { ExitStatus::Success } else { ExitStatus::Failure }
    }
}

pub async fn status(ctx: &Ctx, args: &FlowLogsStatusArgs) -> Result<StatusReport> {
    desired_flow_log(&args.spec, "aws")?;
    let identity = ctx.identity().await?.clone();
    let desired = desired_flow_log(&args.spec, &identity.partition)?;
    let regions = resolve_regions(ctx, &args.scope).await?;
    let (regions, totals) = coverage(ctx, &desired, &regions, &args.scope).await?;
    let all_covered = totals.failed_regions == 0 && totals.non_compliant == 0 && totals.missing == 0;
    Ok(StatusReport {
        command: "flowlogs status",
        account: identity.account,
        destination: desired.destination_arn(),
        format: desired.format.to_api(),
        status: if all_covered { CheckStatus::Pass } else { CheckStatus::Fail },
        would_change: totals.non_compliant > 0 || totals.missing > 0,
        drift_exit_code: args.exit_code,
        regions,
        totals,
    })
}

// Long (~90 lines): observe, select per region, show the plan, then one step per region; read top to bottom.
pub async fn disable(ctx: &Ctx, args: &FlowLogsDisableArgs) -> Result<FlowLogsReport> {
    let identity = ctx.identity().await?.clone();
    let regions = resolve_regions(ctx, &args.scope).await?;
    let observed = observe_regions(ctx, &regions, &args.scope).await;
    check_named_vpcs(&args.scope, &observed)?;

    let mut to_delete: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let skipped = skipped_regions(&observed);
    let mut planned: Vec<Change> = skipped.iter().map(SkippedRegion::change).collect();
    let mut kept_to = Vec::new();
    for (region, result) in &observed {
        match result {
            Ok(state) if state.denied.is_some() => {}
            Ok(state) => {
                let selected = select_for_disable(&state.flow_logs, &args.scope.vpcs, args.bucket.as_ref());
                for flow_log in &selected {
                    planned.push(
                        Change::new(
                            "delete-flow-log",
                            &flow_log.id,
                            ChangeStatus::Planned,
                            format!("flowgate's flow log on {} to {}", flow_log.resource_id, flow_log.destination.as_deref().unwrap_or("?")),
                        )
                        .in_region(region),
                    );
                }
                if let Some(bucket) = &args.bucket {
                    kept_to.extend(kept_to_bucket(&state.flow_logs, &selected, bucket).iter().map(|f| format!("{} ({region})", f.id)));
                }
                let (flowgates, others) = kept_by_disable(&state.flow_logs, &selected);
                let kept = [
                    (flowgates, "of flowgate's flow log(s) not selected (to another bucket than --bucket, or on a VPC not named): left alone"),
                    (others, "flow log(s) not flowgate's (not tagged flowgate:managed=true): left alone"),
                ];
                for (count, what) in kept.into_iter().filter(|(count, _)| *count > 0) {
                    planned.push(Change::new("keep-flow-logs", region, ChangeStatus::Skipped, format!("{count} {what}")).in_region(region));
                }
                if !selected.is_empty() {
                    to_delete.insert(region.clone(), selected.iter().map(|f| f.id.clone()).collect());
                }
            }
            Err(e) => planned.push(failed_region("read-region", region, e)),
        }
    }
    let pending: usize = to_delete.values().map(Vec::len).sum();
    ctx.printer.text(format_args!(
        "{}\nPlan: delete flowgate's flow logs in {} region(s):\n{}",
        ctx.identity_line().await?,
        regions.len(),
        render_changes(&planned)
    ))?;
    let mut report = FlowLogsReport {
        command: "flowlogs disable",
        account: identity.account.clone(),
        principal: identity.arn.clone(),
        destination: None,
        format: None,
        regions,
        skipped_regions: skipped,
        kept_to_bucket: kept_to,
        restored_statements: Vec::new(),
        aws_statements: Vec::new(),
        dry_run: ctx.dry_run,
        changes: Vec::new(),
        summary: ChangeTally::default(),
        applied: false,
    };
    // One step per region (its flow logs are deleted in batches, each keeps its own outcome), in
    // the plan's order: a region's deletions are listed together.
    let mut groups: Vec<(Option<String>, Vec<Change>)> = Vec::new();
    for change in planned {
        let region = change.region.clone().filter(|r| change.action == "delete-flow-log" && to_delete.contains_key(r));
        match groups.last_mut() {
            Some((Some(last), changes)) if region.as_ref() == Some(last) => changes.push(change),
            _ => groups.push((region, vec![change])),
        }
    }
    let steps: Vec<Step> = groups
        .into_iter()
        .map(|(region, changes)| match region {
            None => Step::shown(changes),
            Some(region) => {
                let ids = to_delete.get(&region).cloned().unwrap_or_default();
                Step::new(changes.clone(), delete_region(ctx, region, ids, changes))
            }
        })
        .collect();
    let mut plan = Plan::new(steps, OnFailure::Continue { concurrency: usize::from(args.scope.concurrency) });
    plan.pending = Some(pending);
    let outcome = apply::run(ctx.mode(), &ctx.printer, plan, &format!("Delete {pending} flow log(s)?")).await?;
    report.applied = outcome.applied();
    report.summary = outcome.tally;
    report.changes = outcome.changes();
    Ok(report)
}

/// Deletes one region's flow logs in batches; each change records its own outcome.
async fn delete_region(ctx: &Ctx, region: String, ids: Vec<String>, mut changes: Vec<Change>) -> Result<Done> {
    let mut failures = Vec::new();
    let mut error = None;
    for batch in ids.chunks(CREATE_BATCH_LIMIT) {
        match ec2::delete_flow_logs(&ctx.ec2(&region), &region, batch).await {
            Ok(failed) => failures.extend(failed),
            Err(e) => {
                error = Some(error_text(&e));
                break;
            }
        }
    }
    for change in changes.iter_mut() {
        match (&error, failures.iter().find(|f| f.id == change.resource)) {
            (Some(text), _) => {
                change.status = ChangeStatus::Failed;
                change.error = Some(text.clone());
            }
            (None, Some(f)) => {
                change.status = ChangeStatus::Failed;
                change.error = Some(item_error(f));
            }
            (None, None) => change.status = ChangeStatus::Applied,
        }
    }
    Ok(Done::Report { changes, error: None })
}
