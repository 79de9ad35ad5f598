//! `flowgate verify`: is the account onboarded? Identity, bucket, flow-log coverage (the same
//! judgement as `flowlogs status`), delivery (newest object per region, listing only the date
//! prefixes inside --since), the objects themselves (no KMS, required fields, every record
//! parses), and the vendor role's access (the evaluator of `access list`).

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::stream::{self, StreamExt};
use schemars::JsonSchema;
use serde::Serialize;
use tokio_util::io::SyncIoBridge;

use crate::aws::ec2;
use crate::aws::s3;
use crate::cli::desired_flow_log;
use crate::cli::{AccessTargetArgs, VerifyArgs};
use crate::context::{Ctx, Identity};
use crate::core::aws_verdict::{AwsVerdict, DeliveryPath, delivery_object_arn, judged};
use crate::core::bucket::{BucketExistence, BucketObservation, BucketSpec, assess_bucket};
use crate::core::delivery::{DeliveredObject, DeliveryRules, RegionDelivery};
use crate::core::evidence::{self, EvidenceFacts};
use crate::core::flowlog_parse::{ObjectSummary, ParseOptions, summarize};
use crate::core::layout::window_prefixes;
use crate::core::report::{Check, CheckStatus, worst};
use crate::core::role_policy::{bucket_access_with, bucket_policy_grants, can_read_with};
pub use crate::core::verify_checks::ObjectResult;
use crate::core::verify_checks::{
    RegionCoverageCounts, WindowListing, coverage_check, delivered_in_window, delivery_checks, exit_status, identity_check, no_role_check,
    object_check, read_check, trust_check,
};
use crate::error::{Error, ExitStatus, Result};
use crate::observe::regions::{RegionCoverage, coverage, resolve_regions};
use crate::observe::role::{audited_role, read_role_policies};
use crate::observe::simulation::{ReadQuestion, Simulate, aws_verdict};
use crate::output::{Report, render_checks};

#[derive(Debug, Serialize, JsonSchema)]
pub struct VerifyReport {
    pub command: &'static str,
    pub account: String,
    pub principal: String,
    pub bucket: String,
    pub since_secs: u64,
    pub status: CheckStatus,
    pub checks: Vec<Check>,
    pub objects: Vec<ObjectResult>,
    /// The facts behind the checks, as `--report` shows them.
    pub evidence: EvidenceFacts,
    /// The vendor role's trusted accounts, permission sets beyond storage (compliance-read,
    /// segmentation-write) and whether it can write security-group rules (the vendor's read-write
    /// mode; not S3, which `access list` reports per bucket), empty/false when no role was checked.
    pub trusted_accounts: Vec<String>,
    pub permission_sets: Vec<&'static str>,
    pub can_write: bool,
    /// AWS's policy simulator on the vendor role's reads of the bucket, beside flowgate's verdict
    /// (the `access read` check says both); absent when no role was checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_verdict: Option<AwsVerdict>,
    #[serde(skip)]
    strict: bool,
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "verify: account {} as {}, bucket {}", self.account, self.principal, self.bucket)?;
        write!(f, "{}", render_checks(&self.checks))?;
        let count = |s| self.checks.iter().filter(|c| c.status == s).count();
        let verdict = match self.status {
            CheckStatus::Pass => "onboarded correctly",
            CheckStatus::Warn => "onboarded, with warnings",
            CheckStatus::Fail => "NOT onboarded correctly",
        };
        if !self.trusted_accounts.is_empty() {
            let sets = if self.permission_sets.is_empty() { String::new() } else { format!("; also {}", self.permission_sets.join(", ")) };
            let write = if self.can_write { "security-group rules: read-write mode" } else { "security-group rules: read-only" };
            writeln!(f, "vendor role: trusts {}; {write}{sets}", self.trusted_accounts.join(", "))?;
        }
        writeln!(
            f,
            "{}: {verdict} ({} passed, {} warnings, {} failed)",
            self.status,
            count(CheckStatus::Pass),
            count(CheckStatus::Warn),
            count(CheckStatus::Fail)
        )
    }
}

impl Report for VerifyReport {
    fn exit_status(&self) -> ExitStatus {
        exit_status(self.status, self.strict)
    }
}

/// The wall clock, read once per run: every judgement gets a `now` from here. A `--wait` looks
/// at the bucket again later; its `now` moves on by the time waited, measured on the monotonic
/// clock the wait's deadline uses.
struct RunClock {
    unix_at_start: u64,
    start: Instant,
}

impl RunClock {
    fn start() -> RunClock {
        let unix_at_start = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        RunClock { unix_at_start, start: Instant::now() }
    }

    /// Unix seconds.
    fn now(&self) -> u64 {
        self.unix_at_start + self.start.elapsed().as_secs()
    }
}

pub async fn verify(ctx: &Ctx, args: &VerifyArgs) -> Result<VerifyReport> {
    verify_with(ctx, args, false).await
}

/// `verify`; with `delivery_pending` (flow logs created moments ago, no --wait), a missing
/// delivery is a warning that says when to look again, not a failure.
///
/// Observe, then judge (in `core::verify_checks` and `core::delivery`), in the order the report
/// lists the checks: identity, bucket, coverage, delivery and objects, access.
pub async fn verify_with(ctx: &Ctx, args: &VerifyArgs, delivery_pending: bool) -> Result<VerifyReport> {
    desired_flow_log(&args.spec, "aws")?;
    let identity = ctx.identity().await?.clone();
    let desired = desired_flow_log(&args.spec, &identity.partition)?;
    let regions = resolve_regions(ctx, &args.scope).await?;
    let clock = RunClock::start();
    let mut checks = vec![identity_check(&identity.account, &identity.arn)];

    let (bucket_checks, bucket_region, bucket_tags, bucket_policy) = check_bucket(ctx, args, &identity.account, &identity.partition).await?;
    checks.extend(bucket_checks);
    let mut facts = EvidenceFacts { bucket_tags, ..EvidenceFacts::default() };

    // Coverage: the same judgement as `flowlogs status`.
    let (coverage, _) = coverage(ctx, &desired, &regions, &args.scope).await?;
    checks.extend(coverage.iter().map(|region| coverage_check(&coverage_counts(region), args.spec.bucket.as_str())));

    let mut objects = Vec::new();
    let mut idle = BTreeMap::new();
    if let Some(bucket_region) = &bucket_region {
        let looked = check_delivery(ctx, args, &identity.account, bucket_region, &coverage, delivery_pending, &clock).await?;
        checks.extend(looked.checks);
        (facts.delivery, idle) = delivery_facts(&looked.deliveries, &looked.objects, looked.now, args.since);
        objects = looked.objects;
    }
    facts.coverage = coverage_facts(&coverage, &idle);

    let access = check_access(ctx, args, &identity, bucket_policy.as_deref()).await?;
    checks.extend(access.checks);
    facts.access = access.evidence;

    Ok(VerifyReport {
        command: "verify",
        account: identity.account.clone(),
        principal: identity.arn.clone(),
        bucket: args.spec.bucket.to_string(),
        since_secs: args.since,
        status: worst(&checks),
        checks,
        objects,
        evidence: facts,
        trusted_accounts: access.trusted_accounts,
        permission_sets: access.permission_sets,
        can_write: access.can_write,
        aws_verdict: access.aws_verdict,
        strict: args.strict,
    })
}

/// The bucket's checks (as `bucket check` makes them, named `bucket ...`), its region when this
/// account owns it (only then is delivery looked at), its tags for the evidence, and its policy
/// (for the vendor role's access).
async fn check_bucket(
    ctx: &Ctx,
    args: &VerifyArgs,
    account: &str,
    partition: &str,
) -> Result<(Vec<Check>, Option<String>, Vec<evidence::TagPair>, Option<String>)> {
    let spec = BucketSpec {
        bucket: args.spec.bucket.clone(),
        region: ctx.home_region.clone(),
        region_required: false,
        prefix: args.spec.prefix.clone(),
        hive_partitions: args.spec.hive_partitions,
        expire_days: None,
        tags: Vec::new(),
        fix_encryption: false,
    };
    let observed = s3::observe_bucket(&ctx.clients, &ctx.home_region, &spec.bucket, account).await?;
    let checks = assess_bucket(&spec, &observed, partition, account).into_iter().map(|c| Check { name: format!("bucket {}", c.name), ..c }).collect();
    let bucket_region = match &observed.existence {
        BucketExistence::Owned { region } => Some(region.clone()),
        _ => None,
    };
    Ok((checks, bucket_region, bucket_tags(&observed), observed.policy))
}

fn coverage_counts(region: &RegionCoverage) -> RegionCoverageCounts<'_> {
    RegionCoverageCounts {
        region: &region.region,
        error: region.error.as_deref(),
        skipped: region.skipped.as_deref(),
        vpcs: region.vpcs,
        compliant: region.compliant,
        shared: region.shared,
        coverage: &region.coverage,
    }
}

/// What `check_delivery` looked at and concluded.
struct DeliveryLook {
    checks: Vec<Check>,
    deliveries: Vec<RegionDelivery>,
    objects: Vec<ObjectResult>,
    /// Unix seconds of the last look.
    now: i64,
}

/// Delivery and the objects, for every region with flowgate's flow logs to the bucket: look (and
/// with --wait, look again), judge each region and the account, then read the newest objects.
async fn check_delivery(
    ctx: &Ctx,
    args: &VerifyArgs,
    account: &str,
    bucket_region: &str,
    coverage: &[RegionCoverage],
    delivery_pending: bool,
    clock: &RunClock,
) -> Result<DeliveryLook> {
    let (deliveries, now) = wait_for_deliveries(ctx, args, account, bucket_region, coverage, clock).await?;
    let rules = DeliveryRules {
        now: now as i64,
        grace_secs: args.delivery_grace as i64,
        since_secs: args.since as i64,
        pending: delivery_pending,
        bucket: args.spec.bucket.to_string(),
    };
    let (mut checks, to_read) = delivery_checks(&deliveries, &rules, usize::from(args.max_objects));
    let objects = read_objects(ctx, args, bucket_region, to_read, rules.now).await;
    checks.extend(objects.iter().map(object_check));
    Ok(DeliveryLook { checks, deliveries, objects, now: rules.now })
}

/// What each region delivered, looked at once, or with --wait until every region worth waiting
/// for has an object or the time is up; with the `now` of the last look.
async fn wait_for_deliveries(
    ctx: &Ctx,
    args: &VerifyArgs,
    account: &str,
    bucket_region: &str,
    coverage: &[RegionCoverage],
    clock: &RunClock,
) -> Result<(Vec<RegionDelivery>, u64)> {
    let mut now = clock.now();
    let mut deliveries = observe_deliveries(ctx, args, account, bucket_region, coverage, now).await?;
    let deadline = args.wait.map(|w| Instant::now() + Duration::from_secs(w));
    let spinner = deadline.and_then(|_| ctx.printer.progress(deliveries.len(), "waiting for the first delivery"));
    loop {
        let waiting = deliveries.iter().filter(|(d, _)| d.worth_waiting_for()).count();
        if let Some(bar) = &spinner {
            bar.set_position((deliveries.len() - waiting) as u64);
        }
        match deadline {
            Some(deadline) if waiting > 0 && Instant::now() < deadline => {
                ctx.printer.status(format!("{waiting} region(s) without a delivery yet; checking again in 30 s"));
                tokio::time::sleep(Duration::from_secs(30)).await;
                now = clock.now();
                for (delivery, compliant) in deliveries.iter_mut().filter(|(d, _)| d.worth_waiting_for()) {
                    let listing = delivered(ctx, args, account, bucket_region, &delivery.region, compliant, &[], now).await?;
                    (delivery.objects, delivery.ignored, delivery.before_failure) = (listing.objects, listing.ignored, listing.before_failure);
                }
            }
            _ => break,
        }
    }
    if let Some(bar) = spinner {
        bar.finish_and_clear();
    }
    Ok((deliveries.into_iter().map(|(d, _)| d).collect(), now))
}

/// Objects delivered in the window for one region by its compliant flow logs, newest first; how
/// many its `failed` flow logs (FAILED delivery) wrote before; and how many others (other flow
/// logs' objects under the same prefix) were left out.
#[allow(clippy::too_many_arguments)] // the bucket, the region and its flow logs, each needed once
async fn delivered(
    ctx: &Ctx,
    args: &VerifyArgs,
    account: &str,
    bucket_region: &str,
    region: &str,
    compliant: &[String],
    failed: &[String],
    now: u64,
) -> Result<WindowListing> {
    let client = ctx.s3(bucket_region);
    let mut listed = Vec::new();
    for prefix in window_prefixes(args.spec.prefix.as_ref(), account, region, now, args.since) {
        let objects = s3::list_objects(&client, &args.spec.bucket, &prefix).await?;
        listed.extend(objects.into_iter().map(|o| DeliveredObject { key: o.key, last_modified: o.last_modified, size: o.size }));
    }
    Ok(delivered_in_window(listed, now, args.since, account, region, compliant, failed))
}

async fn observe_delivery(
    ctx: &Ctx,
    args: &VerifyArgs,
    account: &str,
    bucket_region: &str,
    region: &RegionCoverage,
    now: u64,
) -> Result<(RegionDelivery, Vec<String>)> {
    let compliant = region.compliant_flow_log_ids();
    // What a flow log AWS now reports FAILED wrote earlier shows that the region delivered before.
    let failed: Vec<String> = region.to_bucket.iter().filter(|f| f.deliver_status.as_deref() == Some("FAILED")).map(|f| f.id.clone()).collect();
    let mut vpcs: Vec<String> = region.to_bucket.iter().map(|f| f.resource_id.clone()).collect();
    vpcs.sort();
    vpcs.dedup();
    let client = ctx.ec2(&region.region);
    let (listed, interfaces) = tokio::join!(
        delivered(ctx, args, account, bucket_region, &region.region, &compliant, &failed, now),
        ec2::vpcs_with_interfaces(&client, &region.region, &vpcs)
    );
    let listing = listed?;
    let delivery = RegionDelivery {
        region: region.region.clone(),
        flow_logs: region.to_bucket.clone(),
        vpcs_with_interfaces: interfaces.map(|busy| busy.len()).map_err(|e| e.to_string()),
        objects: listing.objects,
        ignored: listing.ignored,
        before_failure: listing.before_failure,
    };
    Ok((delivery, compliant))
}

/// What each region with flowgate's flow logs to the bucket delivered, and whether its covered
/// VPCs have network interfaces (regions read concurrently), with the region's compliant ids.
async fn observe_deliveries(
    ctx: &Ctx,
    args: &VerifyArgs,
    account: &str,
    bucket_region: &str,
    coverage: &[RegionCoverage],
    now: u64,
) -> Result<Vec<(RegionDelivery, Vec<String>)>> {
    // The futures are made up front: a stream closure over borrowed regions is not `Send` for
    // every lifetime, which the spawned command needs.
    let futures: Vec<_> = coverage
        .iter()
        .filter(|r| r.error.is_none() && !r.to_bucket.is_empty())
        .map(|region| observe_delivery(ctx, args, account, bucket_region, region, now))
        .collect();
    let observed: Vec<Result<(RegionDelivery, Vec<String>)>> = stream::iter(futures).buffered(usize::from(args.scope.concurrency)).collect().await;
    observed.into_iter().collect()
}

/// Reads the objects, four at a time, sorted by region and key.
async fn read_objects(ctx: &Ctx, args: &VerifyArgs, bucket_region: &str, to_read: Vec<(String, DeliveredObject)>, now: i64) -> Vec<ObjectResult> {
    let mut objects = stream::iter(to_read)
        .map(|(region, object)| async move { read_object(ctx, args, bucket_region, ObjectResult::new(&region, &object, now)).await })
        .buffer_unordered(4)
        .collect::<Vec<_>>()
        .await;
    objects.sort_by(|a, b| (&a.region, &a.key).cmp(&(&b.region, &b.key)));
    objects
}

/// Reads and parses one object off the async runtime, streaming (constant memory).
async fn read_object(ctx: &Ctx, args: &VerifyArgs, bucket_region: &str, mut result: ObjectResult) -> ObjectResult {
    let client = ctx.s3(bucket_region);
    match s3::object_encryption(&client, &args.spec.bucket, &result.key).await {
        Ok(sse) => result.encryption = sse,
        Err(e) => {
            result.error = Some(e.to_string());
            return result;
        }
    }
    let body = match s3::object_body(&client, &args.spec.bucket, &result.key).await {
        Ok(body) => body,
        Err(e) => {
            result.error = Some(e.to_string());
            return result;
        }
    };
    let reader = SyncIoBridge::new(body.into_async_read());
    let parsed = tokio::task::spawn_blocking(move || summarize(std::io::BufReader::new(reader), &ParseOptions::default())).await;
    match parsed {
        Ok(Ok(summary)) => result.summary = Some(summary.with_source(&result.key)),
        Ok(Err(e)) => result.error = Some(e.to_string()),
        Err(e) => result.error = Some(format!("the parser stopped: {e}")),
    }
    result
}

/// What `check_access` found about the vendor role.
#[derive(Default)]
struct AccessLook {
    checks: Vec<Check>,
    evidence: Option<evidence::AccessEvidence>,
    trusted_accounts: Vec<String>,
    permission_sets: Vec<&'static str>,
    can_write: bool,
    aws_verdict: Option<AwsVerdict>,
}

/// The vendor role's access: who may assume it, whether its policies and the bucket's policy let
/// it read the bucket (with the evidence of both, and AWS's policy simulator beside flowgate's
/// verdict), and what else it may do (compliance reads, security-group writes).
async fn check_access(ctx: &Ctx, args: &VerifyArgs, identity: &Identity, bucket_policy: Option<&str>) -> Result<AccessLook> {
    let target = AccessTargetArgs { via: None, stack_name: args.stack_name.clone(), role_name: args.role_name.clone(), policy_name: None };
    let role = match audited_role(ctx, &target).await {
        Err(Error::Input { .. }) => return Ok(AccessLook { checks: vec![no_role_check()], ..AccessLook::default() }),
        Err(e) => return Err(e),
        Ok(role) => role,
    };
    let read = read_role_policies(ctx, &role).await?;
    let (bucket, partition) = (&args.spec.bucket, identity.partition.as_str());
    let grants = bucket_policy_grants(bucket_policy, bucket, partition, &identity.account, &read.arn);
    let readability = can_read_with(&read.policies, bucket, partition, &grants);
    let reads = bucket_access_with(&read.policies, bucket, partition, &grants);
    let access = evidence::access_evidence(&role, &read.trust, vec![evidence::bucket_read(bucket.as_str(), &readability)]);
    let path =
        DeliveryPath { prefix: args.spec.prefix.as_ref(), hive: args.spec.hive_partitions, account: &identity.account, region: &ctx.home_region };
    let object_arn = delivery_object_arn(bucket, partition, &path);
    let question = ReadQuestion { role_arn: &read.arn, policies: &read.policies, bucket, partition, object_arn: &object_arn, permissions: "verify" };
    let verdict = aws_verdict(&ctx.iam(), &question, Simulate::from_flag(args.simulate.no_simulate)).await;
    let reading = read_check(&role, &readability, bucket.as_str(), args.role_name.as_deref(), &reads.denied_reads, &reads.denies);
    let checks = vec![trust_check(&role, &read.trust), judged(reading, &verdict)];
    let documents: Vec<_> = read.policies.iter().map(|p| &p.document).collect();
    let found = crate::core::vendor_access::vendor_permissions(&documents);
    Ok(AccessLook {
        checks,
        evidence: Some(access),
        trusted_accounts: crate::core::vendor_access::trusted_account_ids(&read.trust.principals),
        permission_sets: found.set_names(),
        can_write: found.can_write(),
        aws_verdict: Some(verdict),
    })
}

// The facts for `--report` (and the JSON's `evidence`), from what verify observed; the shaping is
// the core's (crate::core::evidence).

fn bucket_tags(observed: &BucketObservation) -> Vec<evidence::TagPair> {
    observed.tags.iter().map(|t| evidence::TagPair { key: t.key.clone(), value: t.value.clone() }).collect()
}

/// Per region with deliveries: the delivery row, and how many covered VPCs are idle.
fn delivery_facts(
    deliveries: &[RegionDelivery],
    objects: &[ObjectResult],
    now: i64,
    since: u64,
) -> (Vec<evidence::DeliveryRow>, BTreeMap<String, usize>) {
    let rows = deliveries
        .iter()
        .map(|d| {
            let read: Vec<&ObjectSummary> = objects.iter().filter(|o| o.region == d.region).filter_map(|o| o.summary.as_ref()).collect();
            evidence::delivery_row(&d.region, &d.objects, &read, now, since)
        })
        .collect();
    let idle = deliveries.iter().filter_map(|d| Some((d.region.clone(), evidence::idle_vpcs(d)?))).collect();
    (rows, idle)
}

fn coverage_facts(coverage: &[RegionCoverage], idle: &BTreeMap<String, usize>) -> Vec<evidence::CoverageRow> {
    coverage.iter().map(|r| evidence::coverage_row(&r.region, r.error.as_deref(), &r.coverage, &r.vpc_names, idle.get(&r.region).copied())).collect()
}
