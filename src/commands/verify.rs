//! `flowgate verify`: is the account onboarded? Identity, bucket, flow-log coverage (the same
//! judgement as `flowlogs status`), delivery (newest object per region, listing only the date
//! prefixes inside --since), the objects themselves (no KMS, required fields, every record
//! parses), and the vendor role's access (the evaluator of `access list`).

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::stream::{self, StreamExt};
use serde::Serialize;
use tokio_util::io::SyncIoBridge;

use crate::aws::s3::{self, ObjectInfo};
use crate::cli::{AccessTargetArgs, VerifyArgs};
use crate::commands::access::{audited_role, read_role_policies};
use crate::commands::flowlogs::{coverage, desired_flow_log, resolve_regions};
use crate::context::Ctx;
use crate::core::bucket::{BucketExistence, BucketSpec, assess_bucket};
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

fn age(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s => format!("{} h", s / 3600),
    }
}

/// Objects delivered in the window for one region, newest first.
async fn delivered(ctx: &Ctx, args: &VerifyArgs, account: &str, bucket_region: &str, region: &str, now: u64) -> Result<Vec<ObjectInfo>> {
    let client = ctx.s3(bucket_region);
    let oldest = now.saturating_sub(args.since) as i64;
    let mut objects = Vec::new();
    for prefix in window_prefixes(args.spec.prefix.as_ref(), account, region, now, args.since) {
        objects.extend(s3::list_objects(&client, &args.spec.bucket, &prefix).await?.into_iter().filter(|o| o.last_modified >= oldest));
    }
    objects.sort_by(|a, b| b.last_modified.cmp(&a.last_modified).then_with(|| a.key.cmp(&b.key)));
    Ok(objects)
}

/// Reads and parses one object off the async runtime, streaming (constant memory).
async fn check_object(ctx: &Ctx, args: &VerifyArgs, bucket_region: &str, region: &str, object: ObjectInfo, now: u64) -> ObjectResult {
    let client = ctx.s3(bucket_region);
    let mut result = ObjectResult {
        region: region.to_owned(),
        key: object.key.clone(),
        size: object.size,
        age_secs: now as i64 - object.last_modified,
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

/// `{account}_vpcflowlogs_{region}_{rest}` -> `{rest}`: the flow log, time and hash identify it.
fn short_name(key: &str, region: &str) -> String {
    let file = key.rsplit('/').next().unwrap_or(key);
    let marker = format!("_vpcflowlogs_{region}_");
    file.split_once(&marker).map(|(_, rest)| rest.to_owned()).unwrap_or_else(|| file.to_owned())
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
    let mut delivering = Vec::new();
    let mut young: Vec<String> = Vec::new();
    for region in &coverage {
        let name = format!("flow logs {}", region.region);
        if let Some(error) = &region.error {
            checks.push(Check::fail(name, error.clone(), "fix the error and re-run"));
            continue;
        }
        if region.compliant + region.non_compliant > 0 {
            delivering.push(region.region.clone());
            // The first objects arrive about 10 minutes after a flow log is created (VPC User
            // Guide); within --delivery-grace (15 min) a missing delivery is pending, not failed.
            if region.oldest_flow_log_created.is_some_and(|created| now_secs() as i64 - created < args.delivery_grace as i64) {
                young.push(region.region.clone());
            }
        }
        if region.vpcs == region.compliant {
            checks.push(Check::pass(name, format!("{} of {} VPC(s) compliant", region.compliant, region.vpcs)));
        } else {
            let detail: Vec<String> = region
                .coverage
                .iter()
                .filter_map(|v| match &v.state {
                    VpcState::Compliant { .. } => None,
                    VpcState::Missing => Some(format!("{} missing", v.vpc_id)),
                    VpcState::NonCompliant { reasons, .. } => Some(format!("{} non-compliant: {}", v.vpc_id, reasons.join("; "))),
                })
                .collect();
            checks.push(Check::fail(
                name,
                format!("{} of {} VPC(s) compliant; {}", region.compliant, region.vpcs, detail.join(", ")),
                format!("flowgate flowlogs enable --bucket {} --regions {} (--replace for non-compliant)", args.spec.bucket, region.region),
            ));
        }
    }

    // 4 and 5. Delivery and the objects, for every region with flow logs to the bucket.
    let mut objects = Vec::new();
    if let Some(bucket_region) = &bucket_region {
        let deadline = args.wait.map(|w| std::time::Instant::now() + Duration::from_secs(w));
        let spinner = deadline.and_then(|_| ctx.printer.progress(delivering.len(), "waiting for the first delivery"));
        let mut found: BTreeMap<String, Vec<ObjectInfo>> = BTreeMap::new();
        loop {
            for region in &delivering {
                if found.get(region).is_some_and(|o| !o.is_empty()) {
                    continue;
                }
                let listed = delivered(ctx, args, &identity.account, bucket_region, region, now_secs()).await?;
                found.insert(region.clone(), listed);
            }
            let waiting = delivering.iter().filter(|r| found.get(*r).is_none_or(|o| o.is_empty())).count();
            if let Some(bar) = &spinner {
                bar.set_position((delivering.len() - waiting) as u64);
            }
            match deadline {
                Some(deadline) if waiting > 0 && std::time::Instant::now() < deadline => {
                    ctx.printer.status(format!("{waiting} region(s) without a delivery yet; checking again in 30 s"));
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
                _ => break,
            }
        }
        if let Some(bar) = spinner {
            bar.finish_and_clear();
        }
        let mut to_read = Vec::new();
        for region in &delivering {
            let listed = found.remove(region).unwrap_or_default();
            let name = format!("delivery {region}");
            match listed.first() {
                None if delivery_pending || young.contains(region) => checks.push(Check::warn(
                    name,
                    "pending: the flow logs were just created; the first objects arrive about 10 minutes later",
                    format!("flowgate verify --bucket {} --wait", args.spec.bucket),
                )),
                None => checks.push(Check::fail(
                    name,
                    format!("no flow-log object delivered in the last {}", age(args.since as i64)),
                    "delivery starts about 10 minutes after flow logs are enabled: wait (flowgate verify --wait), then check the flow logs' delivery status (flowgate flowlogs status)",
                )),
                Some(newest) => {
                    checks.push(Check::pass(name, format!("{} object(s); newest {} old ({})", listed.len(), age(now_secs() as i64 - newest.last_modified), short_name(&newest.key, region))));
                    let text: Vec<ObjectInfo> = listed.iter().filter(|o| is_text_object(&o.key)).take(usize::from(args.max_objects)).cloned().collect();
                    if text.is_empty() {
                        checks.push(Check::warn(format!("objects {region}"), "only Parquet objects: not parsed", "use --file-format plain-text to have flowgate parse them"));
                    }
                    to_read.extend(text.into_iter().map(|o| (region.clone(), o)));
                }
            }
        }
        let now = now_secs();
        objects = stream::iter(to_read)
            .map(|(region, object)| async move { check_object(ctx, args, bucket_region, &region, object, now).await })
            .buffer_unordered(4)
            .collect::<Vec<_>>()
            .await;
        objects.sort_by(|a, b| (&a.region, &a.key).cmp(&(&b.region, &b.key)));
        checks.extend(objects.iter().map(object_check));
    }

    // 6. The vendor role's access.
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
        strict: args.strict,
    })
}
