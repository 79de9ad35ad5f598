//! `flowgate verify`: is the account onboarded? Identity, bucket, flow-log coverage (the same
//! judgement as `flowlogs status`), delivery (newest object per region, listing only the date
//! prefixes inside --since), the objects themselves (no KMS, required fields, every record
//! parses), and the vendor role's access (the evaluator of `access list`).

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::stream::{self, StreamExt};
use serde::Serialize;
use tokio_util::io::SyncIoBridge;

use crate::aws::ec2;
use crate::aws::s3;
use crate::cli::{AccessTargetArgs, VerifyArgs};
use crate::commands::access::{audited_role, read_role_policies};
use crate::commands::flowlogs::{RegionCoverage, coverage, desired_flow_log, resolve_regions};
use crate::context::Ctx;
use crate::core::bucket::{BucketExistence, BucketSpec, assess_bucket};
use crate::core::delivery::{DeliveredObject, DeliveryRules, RegionDelivery, age, judge_account, judge_region, short_name, written_by};
use crate::core::flowlog_parse::{ObjectSummary, ParseOptions, summarize};
use crate::core::flowlog_plan::VpcState;
use crate::core::layout::{is_text_object, window_prefixes};
use crate::core::report::{Check, CheckStatus, worst};
use crate::core::role_policy::{Readability, can_read};
use crate::error::{Error, ExitStatus, Result};
use crate::output::{Report, render_checks};

/// One object read and parsed.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectResult {
    pub region: String,
    pub key: String,
    pub size: i64,
    pub age_secs: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<ObjectSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct VerifyReport {
    pub command: &'static str,
    pub account: String,
    pub principal: String,
    pub bucket: String,
    pub since_secs: u64,
    pub status: CheckStatus,
    pub checks: Vec<Check>,
    pub objects: Vec<ObjectResult>,
    /// The vendor role's trusted accounts, permission sets beyond storage (compliance-read,
    /// segmentation-write) and whether it can write (empty/false when no role was checked).
    pub trusted_accounts: Vec<String>,
    pub permission_sets: Vec<&'static str>,
    pub can_write: bool,
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
            let write = if self.can_write { "can write security-group rules" } else { "read-only" };
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
        match self.status {
            CheckStatus::Fail => ExitStatus::Failure,
            CheckStatus::Warn if self.strict => ExitStatus::Failure,
            _ => ExitStatus::Success,
        }
    }
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Objects delivered in the window for one region by its compliant flow logs, newest first, and
/// how many others (other flow logs' objects under the same prefix) were left out.
async fn delivered(
    ctx: &Ctx,
    args: &VerifyArgs,
    account: &str,
    bucket_region: &str,
    region: &str,
    compliant: &[String],
    now: u64,
) -> Result<(Vec<DeliveredObject>, usize)> {
    let client = ctx.s3(bucket_region);
    let oldest = now.saturating_sub(args.since) as i64;
    let mut listed = Vec::new();
    for prefix in window_prefixes(args.spec.prefix.as_ref(), account, region, now, args.since) {
        listed.extend(s3::list_objects(&client, &args.spec.bucket, &prefix).await?.into_iter().filter(|o| o.last_modified >= oldest));
    }
    let total = listed.len();
    let mut kept: Vec<DeliveredObject> = listed
        .into_iter()
        .filter(|o| written_by(&o.key, account, region, compliant))
        .map(|o| DeliveredObject { key: o.key, last_modified: o.last_modified, size: o.size })
        .collect();
    kept.sort_by(|a, b| b.last_modified.cmp(&a.last_modified).then_with(|| a.key.cmp(&b.key)));
    let ignored = total - kept.len();
    Ok((kept, ignored))
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
    let mut vpcs: Vec<String> = region.to_bucket.iter().map(|f| f.resource_id.clone()).collect();
    vpcs.sort();
    vpcs.dedup();
    let client = ctx.ec2(&region.region);
    let (listed, interfaces) = tokio::join!(
        delivered(ctx, args, account, bucket_region, &region.region, &compliant, now),
        ec2::vpcs_with_interfaces(&client, &region.region, &vpcs)
    );
    let (objects, ignored) = listed?;
    let delivery = RegionDelivery {
        region: region.region.clone(),
        flow_logs: region.to_bucket.clone(),
        vpcs_with_interfaces: interfaces.map(|busy| busy.len()).map_err(|e| e.to_string()),
        objects,
        ignored,
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

/// Reads and parses one object off the async runtime, streaming (constant memory).
async fn check_object(ctx: &Ctx, args: &VerifyArgs, bucket_region: &str, region: &str, object: DeliveredObject, now: i64) -> ObjectResult {
    let client = ctx.s3(bucket_region);
    let mut result = ObjectResult {
        region: region.to_owned(),
        key: object.key.clone(),
        size: object.size,
        age_secs: now - object.last_modified,
        encryption: None,
        summary: None,
        error: None,
    };
    match s3::object_encryption(&client, &args.spec.bucket, &object.key).await {
        Ok(sse) => result.encryption = sse,
        Err(e) => {
            result.error = Some(e.to_string());
            return result;
        }
    }
    let body = match s3::object_body(&client, &args.spec.bucket, &object.key).await {
        Ok(body) => body,
        Err(e) => {
            result.error = Some(e.to_string());
            return result;
        }
    };
    let reader = SyncIoBridge::new(body.into_async_read());
    let parsed = tokio::task::spawn_blocking(move || summarize(std::io::BufReader::new(reader), &ParseOptions::default())).await;
    match parsed {
        Ok(Ok(summary)) => result.summary = Some(summary.with_source(&object.key)),
        Ok(Err(e)) => result.error = Some(e.to_string()),
        Err(e) => result.error = Some(format!("the parser stopped: {e}")),
    }
    result
}

fn object_check(result: &ObjectResult) -> Check {
    let name = format!("object {} {}", result.region, short_name(&result.key, &result.region));
    if let Some(sse) = result.encryption.as_deref().filter(|s| s.starts_with("aws:kms")) {
        return Check::fail(
            name,
            format!("encrypted with {sse}: the vendor's role cannot decrypt it"),
            "set the bucket's default encryption to SSE-S3: flowgate bucket create --fix-encryption (new objects)",
        );
    }
    if let Some(error) = &result.error {
        return Check::fail(name, error.clone(), "check the flow log's format (flowgate flowlogs status) and the object in S3");
    }
    match &result.summary {
        Some(s) if s.parse_errors > 0 => {
            let first = s.errors.first().map(|e| format!(" (line {}: {})", e.line, e.message)).unwrap_or_default();
            Check::fail(
                name,
                format!("{} of {} line(s) could not be parsed{first}", s.parse_errors, s.records + s.parse_errors),
                "check the flow log's format",
            )
        }
        Some(s) => Check::pass(
            name,
            format!(
                "{} records, {} ACCEPT / {} REJECT, {} age, SSE {}",
                s.records,
                s.actions.accept,
                s.actions.reject,
                age(result.age_secs),
                result.encryption.as_deref().unwrap_or("none reported")
            ),
        ),
        None => Check::fail(name, "not read", "re-run verify"),
    }
}

pub async fn verify(ctx: &Ctx, args: &VerifyArgs) -> Result<VerifyReport> {
    verify_with(ctx, args, false).await
}

/// `verify`; with `delivery_pending` (flow logs created moments ago, no --wait), a missing
/// delivery is a warning that says when to look again, not a failure.
pub async fn verify_with(ctx: &Ctx, args: &VerifyArgs, delivery_pending: bool) -> Result<VerifyReport> {
    desired_flow_log(&args.spec, "aws")?;
    let identity = ctx.identity().await?.clone();
    let desired = desired_flow_log(&args.spec, &identity.partition)?;
    let regions = resolve_regions(ctx, &args.scope).await?;
    let mut checks = vec![Check::pass("identity", format!("account {} as {}", identity.account, identity.arn))];

    // 2. The bucket.
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
    let observed = s3::observe_bucket(ctx, &spec.bucket, &identity.account).await?;
    checks.extend(
        assess_bucket(&spec, &observed, &identity.partition, &identity.account)
            .into_iter()
            .map(|c| Check { name: format!("bucket {}", c.name), ..c }),
    );
    let bucket_region = match &observed.existence {
        BucketExistence::Owned { region } => Some(region.clone()),
        _ => None,
    };

    // 3. Coverage: the same judgement as `flowlogs status`.
    let (coverage, _) = coverage(ctx, &desired, &regions, &args.scope).await?;
    for region in &coverage {
        let name = format!("flow logs {}", region.region);
        if let Some(error) = &region.error {
            checks.push(Check::fail(name, error.clone(), "fix the error and re-run"));
            continue;
        }
        let shared = match region.shared {
            0 => String::new(),
            n => format!("; {n} shared from other accounts (their owners enable flow logs)"),
        };
        if region.vpcs == region.compliant + region.shared {
            checks.push(Check::pass(name, format!("{} of {} VPC(s) compliant{shared}", region.compliant, region.vpcs - region.shared)));
        } else {
            let detail: Vec<String> = region
                .coverage
                .iter()
                .filter_map(|v| match &v.state {
                    VpcState::Compliant { .. } | VpcState::Shared { .. } => None,
                    VpcState::Missing => Some(format!("{} missing", v.vpc_id)),
                    VpcState::NonCompliant { reasons, .. } => Some(format!("{} non-compliant: {}", v.vpc_id, reasons.join("; "))),
                })
                .collect();
            checks.push(Check::fail(
                name,
                format!("{} of {} VPC(s) compliant; {}{shared}", region.compliant, region.vpcs - region.shared, detail.join(", ")),
                format!("flowgate flowlogs enable --bucket {} --regions {} (--replace for non-compliant)", args.spec.bucket, region.region),
            ));
        }
    }

    // 4 and 5. Delivery and the objects, for every region with flowgate's flow logs to the bucket.
    let mut objects = Vec::new();
    if let Some(bucket_region) = &bucket_region {
        // The clock is read once per look at the bucket; the judgements get that `now`.
        let mut now = now_secs();
        let mut deliveries = observe_deliveries(ctx, args, &identity.account, bucket_region, &coverage, now).await?;
        let deadline = args.wait.map(|w| std::time::Instant::now() + Duration::from_secs(w));
        let spinner = deadline.and_then(|_| ctx.printer.progress(deliveries.len(), "waiting for the first delivery"));
        loop {
            let waiting = deliveries.iter().filter(|(d, _)| d.worth_waiting_for()).count();
            if let Some(bar) = &spinner {
                bar.set_position((deliveries.len() - waiting) as u64);
            }
            match deadline {
                Some(deadline) if waiting > 0 && std::time::Instant::now() < deadline => {
                    ctx.printer.status(format!("{waiting} region(s) without a delivery yet; checking again in 30 s"));
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    now = now_secs();
                    for (delivery, compliant) in deliveries.iter_mut().filter(|(d, _)| d.worth_waiting_for()) {
                        let (kept, ignored) = delivered(ctx, args, &identity.account, bucket_region, &delivery.region, compliant, now).await?;
                        (delivery.objects, delivery.ignored) = (kept, ignored);
                    }
                }
                _ => break,
            }
        }
        if let Some(bar) = spinner {
            bar.finish_and_clear();
        }
        let rules = DeliveryRules {
            now: now as i64,
            grace_secs: args.delivery_grace as i64,
            since_secs: args.since as i64,
            pending: delivery_pending,
            bucket: args.spec.bucket.to_string(),
        };
        let mut to_read = Vec::new();
        for (delivery, _) in &deliveries {
            checks.push(judge_region(delivery, &rules));
            let region = &delivery.region;
            let text: Vec<DeliveredObject> =
                delivery.objects.iter().filter(|o| is_text_object(&o.key)).take(usize::from(args.max_objects)).cloned().collect();
            if text.is_empty() && !delivery.objects.is_empty() {
                checks.push(Check::warn(
                    format!("objects {region}"),
                    "only Parquet objects: not parsed",
                    "use --file-format plain-text to have flowgate parse them",
                ));
            }
            to_read.extend(text.into_iter().map(|o| (region.clone(), o)));
        }
        let regions_judged: Vec<RegionDelivery> = deliveries.into_iter().map(|(d, _)| d).collect();
        checks.extend(judge_account(&regions_judged, &rules));
        let now = rules.now;
        objects = stream::iter(to_read)
            .map(|(region, object)| async move { check_object(ctx, args, bucket_region, &region, object, now).await })
            .buffer_unordered(4)
            .collect::<Vec<_>>()
            .await;
        objects.sort_by(|a, b| (&a.region, &a.key).cmp(&(&b.region, &b.key)));
        checks.extend(objects.iter().map(object_check));
    }

    // 6. The vendor role's access.
    let (mut trusted_accounts, mut permission_sets, mut can_write) = (Vec::new(), Vec::new(), false);
    let target = AccessTargetArgs { via: None, stack_name: args.stack_name.clone(), role_name: args.role_name.clone(), policy_name: None };
    match audited_role(ctx, &target).await {
        Err(Error::Input { .. }) => checks.push(Check::warn(
            "access",
            "no vendor role to check: no flowgate stack and no --role-name",
            "pass --role-name NAME, or deploy the stack (flowgate stack deploy)",
        )),
        Err(e) => return Err(e),
        Ok(role) => {
            let read = read_role_policies(ctx, &role).await?;
            let documents: Vec<_> = read.policies.iter().map(|p| &p.document).collect();
            let found = crate::core::vendor_access::vendor_permissions(&documents);
            trusted_accounts = crate::core::vendor_access::trusted_account_ids(&read.trust.principals);
            permission_sets = crate::commands::access::permission_set_names(&found);
            can_write = found.can_write();
            checks.push(if read.trust.requires_external_id {
                Check::pass("access trust", format!("role {role} is assumable by {} only with the ExternalId", read.trust.principals.join(", ")))
            } else {
                Check::fail(
                    "access trust",
                    format!("role {role} can be assumed without an ExternalId ({})", read.trust.unguarded.join(", ")),
                    "require sts:ExternalId in the trust policy (flowgate stack deploy does)",
                )
            });
            let fix = format!(
                "flowgate access grant --bucket {}{}",
                args.spec.bucket,
                args.role_name.as_ref().map(|r| format!(" --role-name {r}")).unwrap_or_default()
            );
            checks.push(match can_read(&read.policies, &args.spec.bucket, &identity.partition) {
                Readability::Allowed { by } => Check::pass(
                    "access read",
                    format!(
                        "role {role} can s3:GetObject the bucket's objects ({})",
                        by.first().map(|g| g.statement.to_string()).unwrap_or_default()
                    ),
                ),
                Readability::Conditional { allowed_by, denied_by } => Check::warn(
                    "access read",
                    format!(
                        "role {role} can read the bucket under conditions ({} allow(s), {} conditional deny(s))",
                        allowed_by.len(),
                        denied_by.len()
                    ),
                    "check the conditions (flowgate access list)",
                ),
                Readability::Denied { by } => Check::fail(
                    "access read",
                    format!("role {role} is denied s3:GetObject on the bucket ({})", by.first().map(|g| g.statement.to_string()).unwrap_or_default()),
                    "remove the Deny, or flowgate access list to see it",
                ),
                Readability::NotGranted => Check::fail("access read", format!("role {role} cannot read the bucket's objects"), fix),
            });
        }
    }

    Ok(VerifyReport {
        command: "verify",
        account: identity.account.clone(),
        principal: identity.arn.clone(),
        bucket: args.spec.bucket.to_string(),
        since_secs: args.since,
        status: worst(&checks),
        checks,
        objects,
        trusted_accounts,
        permission_sets,
        can_write,
        strict: args.strict,
    })
}
