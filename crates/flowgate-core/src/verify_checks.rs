//! `verify`'s checks, made from what the command observed: flow-log coverage per region, what a
//! listing of the delivery window means, which objects are read, what reading one found, the
//! vendor role's trust and read access, and the exit status of the whole. Pure: the command
//! observes and reads the clock once; every judgement takes `now` as an argument. Delivery per
//! region and for the account is judged in [`crate::delivery`].

use schemars::JsonSchema;
use serde::Serialize;

use super::delivery::{
    DeliveredObject, DeliveryRules, RegionDelivery, age, delivery_failure_fix, judge_account, judge_region, short_name, written_by,
};
use super::flowlog_parse::ObjectSummary;
use super::flowlog_plan::{VpcCoverage, VpcState};
use super::layout::is_text_object;
use super::report::{Check, CheckStatus, ExitStatus};
use super::role_policy::{Grant, Readability, Scope};
use super::trust::TrustAssessment;

/// The first check: who is looking.
pub fn identity_check(account: &str, principal: &str) -> Check {
    Check::pass("identity", format!("account {account} as {principal}"))
}

/// One region's flow-log coverage, counted as `flowlogs status` counts it.
#[derive(Debug, Clone, Copy)]
pub struct RegionCoverageCounts<'a> {
    pub region: &'a str,
    /// The region could not be read.
    pub error: Option<&'a str>,
    /// The region is closed to the account by an explicit deny (a region-deny policy): skipped.
    pub skipped: Option<&'a str>,
    pub vpcs: usize,
    pub compliant: usize,
    /// VPCs shared from other accounts: their owners enable flow logs, so they are not counted.
    pub shared: usize,
    pub coverage: &'a [VpcCoverage],
}

/// Pass when every VPC of the region's own is compliant; otherwise fail, naming each missing or
/// non-compliant VPC and the command that fixes it.
pub fn coverage_check(region: &RegionCoverageCounts<'_>, bucket: &str) -> Check {
    let name = format!("flow logs {}", region.region);
    if let Some(error) = region.error {
        return Check::fail(name, error, "fix the error and re-run");
    }
    // A warning, not a failure: the organization closed the region, so no VPC can exist there,
    // but an auditor must see that it was not looked at (--strict fails on it).
    if let Some(skipped) = region.skipped {
        return Check::warn(name, format!("not read: {skipped}"), "leave it out with --regions, or ask the organization's administrator to open it");
    }
    let shared = match region.shared {
        0 => String::new(),
        n => format!("; {n} shared from other accounts (their owners enable flow logs)"),
    };
    let own = region.vpcs.saturating_sub(region.shared);
    if region.vpcs == region.compliant + region.shared {
        return Check::pass(name, format!("{} of {own} VPC(s) compliant{shared}", region.compliant));
    }
    let detail: Vec<String> = region
        .coverage
        .iter()
        .filter_map(|v| match &v.state {
            VpcState::Compliant { .. } | VpcState::Shared { .. } => None,
            VpcState::Missing => Some(format!("{} missing", v.vpc_id)),
            VpcState::NonCompliant { reasons, .. } => Some(format!("{} non-compliant: {}", v.vpc_id, reasons.join("; "))),
        })
        .collect();
    Check::fail(name, format!("{} of {own} VPC(s) compliant; {}{shared}", region.compliant, detail.join(", ")), coverage_fix(region, bucket))
}

/// AWS's message in the reason `flowlog_plan` gives a flow log whose delivery AWS reports FAILED
/// (`fl-1: delivery failed: Access error`); `None` for any other reason.
fn delivery_failure_of(reason: &str) -> Option<&str> {
    reason.split_once(": ").and_then(|(_, rest)| rest.strip_prefix("delivery failed: "))
}

/// What fixes a region's gaps. A flow log that is right but whose delivery AWS reports FAILED
/// needs the bucket fixed, not replacing (a new flow log to the same bucket fails the same way);
/// a missing or otherwise non-compliant one needs `flowlogs enable` (with `--replace`, or
/// `--replace-unmanaged` for a flow log flowgate did not make).
fn coverage_fix(region: &RegionCoverageCounts<'_>, bucket: &str) -> String {
    let mut failures: Vec<&str> = Vec::new();
    let mut enable = false;
    for vpc in region.coverage {
        match &vpc.state {
            VpcState::NonCompliant { reasons, .. } if !reasons.is_empty() && reasons.iter().all(|r| delivery_failure_of(r).is_some()) => {
                failures.extend(reasons.iter().filter_map(|r| delivery_failure_of(r)));
            }
            VpcState::Compliant { .. } | VpcState::Shared { .. } => {}
            _ => enable = true,
        }
    }
    let enable_fix = format!(
        "flowgate flowlogs enable --bucket {bucket} --regions {} (--replace for non-compliant flow logs flowgate made, --replace-unmanaged also for others)",
        region.region
    );
    match (failures.is_empty(), enable) {
        (true, _) => enable_fix,
        (false, false) => delivery_failure_fix(failures, bucket),
        (false, true) => format!("{}; for the other VPCs: {enable_fix}", delivery_failure_fix(failures, bucket)),
    }
}

/// What a listing of one region's window prefixes holds for verify.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WindowListing {
    /// The objects a compliant flow log of this account and region wrote, newest first (ties by
    /// key).
    pub objects: Vec<DeliveredObject>,
    /// How many other flow logs wrote (a subnet-level one, or one `--replace` just deleted that
    /// still delivers): ignored.
    pub ignored: usize,
    /// How many the region's flow logs that AWS now reports FAILED wrote: they delivered before.
    pub before_failure: usize,
}

/// What a listing of one region's window prefixes means for verify: of the objects modified
/// inside the window (`now - since` or later), the ones the `compliant` flow logs wrote, the ones
/// the `failed` flow logs wrote before their delivery failed, and how many others are ignored.
pub fn delivered_in_window(
    listed: Vec<DeliveredObject>,
    now: u64,
    since: u64,
    account: &str,
    region: &str,
    compliant: &[String],
    failed: &[String],
) -> WindowListing {
    let oldest = i64::try_from(now.saturating_sub(since)).unwrap_or(i64::MAX);
    let in_window: Vec<DeliveredObject> = listed.into_iter().filter(|o| o.last_modified >= oldest).collect();
    let total = in_window.len();
    let before_failure = in_window.iter().filter(|o| written_by(&o.key, account, region, failed)).count();
    let mut objects: Vec<DeliveredObject> = in_window.into_iter().filter(|o| written_by(&o.key, account, region, compliant)).collect();
    objects.sort_by(|a, b| b.last_modified.cmp(&a.last_modified).then_with(|| a.key.cmp(&b.key)));
    let ignored = total.saturating_sub(objects.len() + before_failure);
    WindowListing { objects, ignored, before_failure }
}

/// The objects of one region verify reads: its newest text objects, at most `max` (Parquet is not
/// parsed); and a warning when the region delivered only Parquet, so nothing is read.
pub fn objects_to_read(delivery: &RegionDelivery, max: usize) -> (Vec<DeliveredObject>, Option<Check>) {
    let text: Vec<DeliveredObject> = delivery.objects.iter().filter(|o| is_text_object(&o.key)).take(max).cloned().collect();
    let warning = (text.is_empty() && !delivery.objects.is_empty()).then(|| {
        Check::warn(
            format!("objects {}", delivery.region),
            "only Parquet objects: not parsed",
            "use --file-format plain-text to have flowgate parse them",
        )
    });
    (text, warning)
}

/// The delivery checks of every region (each region's judgement, then its Parquet-only warning),
/// then the account's; and the objects to read, as (region, object), at most `max_objects` per
/// region.
pub fn delivery_checks(deliveries: &[RegionDelivery], rules: &DeliveryRules, max_objects: usize) -> (Vec<Check>, Vec<(String, DeliveredObject)>) {
    let mut checks = Vec::new();
    let mut to_read = Vec::new();
    for delivery in deliveries {
        checks.push(judge_region(delivery, rules));
        let (text, warning) = objects_to_read(delivery, max_objects);
        checks.extend(warning);
        to_read.extend(text.into_iter().map(|o| (delivery.region.clone(), o)));
    }
    checks.extend(judge_account(deliveries, rules));
    (checks, to_read)
}

/// One object read and parsed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
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

impl ObjectResult {
    /// An object about to be read, its age taken at `now` (Unix seconds).
    pub fn new(region: &str, object: &DeliveredObject, now: i64) -> ObjectResult {
        ObjectResult {
            region: region.to_owned(),
            key: object.key.clone(),
            size: object.size,
            age_secs: now.saturating_sub(object.last_modified),
            encryption: None,
            summary: None,
            error: None,
        }
    }
}

/// What reading one object found: KMS encryption (the vendor's role cannot decrypt it), an error
/// reading or parsing it, or lines that do not parse all fail; otherwise a pass with its counts.
pub fn object_check(result: &ObjectResult) -> Check {
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

/// No flowgate stack and no `--role-name`: there is no role to check, which is a warning.
pub fn no_role_check() -> Check {
    Check::warn(
        "access",
        "no vendor role to check: no flowgate stack and no --role-name",
        "pass --role-name NAME, or deploy the stack (flowgate stack deploy)",
    )
}

/// Whether only the vendor, with the ExternalId, can assume the role.
pub fn trust_check(role: &str, trust: &TrustAssessment) -> Check {
    if trust.requires_external_id {
        Check::pass("access trust", format!("role {role} is assumable by {} only with the ExternalId", trust.principals.join(", ")))
    } else {
        Check::fail(
            "access trust",
            format!("role {role} can be assumed without an ExternalId ({})", trust.unguarded.join(", ")),
            "require sts:ExternalId in the trust policy (flowgate stack deploy does)",
        )
    }
}

/// Whether the role's policies and the bucket's let it read the bucket's objects (`readability`,
/// for `s3:GetObject`), and no unconditional Deny takes away a read it is granted
/// (`denied_reads`, with every Deny of the bucket in `denies`); the fix for a role without a
/// grant names `--role-name` when the user gave one.
pub fn read_check(role: &str, readability: &Readability, bucket: &str, role_name: Option<&str>, denied_reads: &[String], denies: &[Grant]) -> Check {
    let first = |grants: &[Grant]| grants.first().map(|g| g.statement.to_string()).unwrap_or_default();
    let deny_fix = "remove the Deny, or flowgate access list to see it";
    if !denied_reads.is_empty() && !matches!(readability, Readability::Denied { .. }) {
        let by: Vec<String> = denies
            .iter()
            .filter(|d| !d.conditional && d.scope == Scope::AllObjects && d.actions.iter().any(|a| denied_reads.contains(a)))
            .map(|d| d.statement.to_string())
            .fold(Vec::new(), |mut all, s| {
                if !all.contains(&s) {
                    all.push(s);
                }
                all
            });
        return Check::fail("access read", format!("role {role} is denied {} on the bucket by {}", denied_reads.join(", "), by.join("; ")), deny_fix);
    }
    match readability {
        Readability::Allowed { by } => Check::pass("access read", format!("role {role} can s3:GetObject the bucket's objects ({})", first(by))),
        Readability::Conditional { allowed_by, denied_by } => {
            let may: Vec<String> = denied_by
                .iter()
                .filter(|d| !d.depends_on.is_empty())
                .map(|d| format!("; may be denied by {} if {}", d.statement, d.depends_on.join(" and ")))
                .collect();
            Check::warn(
                "access read",
                format!(
                    "role {role} can read the bucket under conditions ({} allow(s), {} conditional deny(s)){}",
                    allowed_by.len(),
                    denied_by.len(),
                    may.concat()
                ),
                "check the conditions (flowgate access list)",
            )
        }
        Readability::Denied { by } => {
            Check::fail("access read", format!("role {role} is denied s3:GetObject on the bucket ({})", first(by)), deny_fix)
        }
        Readability::NotGranted => {
            let role_flag = role_name.map(|r| format!(" --role-name {r}")).unwrap_or_default();
            Check::fail(
                "access read",
                format!("role {role} cannot read the bucket's objects"),
                format!("flowgate access grant --bucket {bucket}{role_flag}"),
            )
        }
    }
}

/// A failed check fails the run; a warning does too with `--strict`.
pub fn exit_status(status: CheckStatus, strict: bool) -> ExitStatus {
    match status {
        CheckStatus::Fail => ExitStatus::Failure,
        CheckStatus::Warn if strict => ExitStatus::Failure,
        _ => ExitStatus::Success,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flowlog_parse::LineError;
    use crate::flowlog_plan::ExistingFlowLog;
    use crate::role_policy::{PolicySource, StatementRef};

    const ACCOUNT: &str = "123456789012";
    const NOW: u64 = 1_800_000_000;

    fn key(region: &str, flow_log: &str, minute: u32, ext: &str) -> String {
        format!("AWSLogs/{ACCOUNT}/vpcflowlogs/{region}/2027/01/15/{ACCOUNT}_vpcflowlogs_{region}_{flow_log}_20270115T08{minute:02}Z_ab12cd34.{ext}")
    }

    fn object(key: String, age_secs: i64) -> DeliveredObject {
        DeliveredObject { key, last_modified: NOW as i64 - age_secs, size: 100 }
    }

    fn vpc(id: &str, state: VpcState) -> VpcCoverage {
        VpcCoverage { vpc_id: id.into(), is_default: false, state, other_flow_logs: Vec::new() }
    }

    fn desired() -> crate::flowlog_plan::DesiredFlowLog {
        crate::flowlog_plan::DesiredFlowLog {
            partition: "aws".into(),
            bucket: "flow-bucket".parse().unwrap(),
            prefix: None,
            format: crate::format::LogFormat::required(),
            traffic_type: crate::flowlog_plan::TrafficType::All,
            max_aggregation_interval: 600,
            options: crate::flowlog_plan::DestinationOptions::default(),
        }
    }

    fn own_vpc() -> crate::flowlog_plan::Vpc {
        crate::flowlog_plan::Vpc { id: "vpc-1".into(), is_default: false, name: None, owner_id: Some(ACCOUNT.into()) }
    }

    /// A flow log `desired()` finds compliant.
    fn compliant_flow_log() -> ExistingFlowLog {
        ExistingFlowLog {
            id: "fl-1".into(),
            resource_id: "vpc-1".into(),
            destination_type: "s3".into(),
            destination: Some("arn:aws:s3:::flow-bucket".into()),
            log_format: Some(crate::format::LogFormat::required().to_api()),
            traffic_type: Some("ALL".into()),
            status: Some("ACTIVE".into()),
            deliver_status: Some("SUCCESS".into()),
            max_aggregation_interval: Some(600),
            ..ExistingFlowLog::default()
        }
    }

    fn counts<'a>(error: Option<&'a str>, vpcs: usize, compliant: usize, shared: usize, coverage: &'a [VpcCoverage]) -> RegionCoverageCounts<'a> {
        RegionCoverageCounts { region: "eu-west-1", error, skipped: None, vpcs, compliant, shared, coverage }
    }

    #[test]
    fn coverage_passes_only_when_every_own_vpc_is_compliant() {
        let compliant = vpc("vpc-1", VpcState::Compliant { flow_log_id: "fl-1".into() });
        let shared = vpc("vpc-2", VpcState::Shared { owner_id: "999999999999".into() });
        let missing = vpc("vpc-3", VpcState::Missing);
        let wrong = vpc("vpc-4", VpcState::NonCompliant { flow_log_ids: vec!["fl-4".into()], reasons: vec!["format lacks srcaddr".into()] });

        let all = [compliant.clone()];
        let check = coverage_check(&counts(None, 1, 1, 0, &all), "flow-bucket");
        assert_eq!((check.status, check.detail.as_str()), (CheckStatus::Pass, "1 of 1 VPC(s) compliant"));
        assert_eq!(check.name, "flow logs eu-west-1");

        let with_shared = [compliant.clone(), shared.clone()];
        let check = coverage_check(&counts(None, 2, 1, 1, &with_shared), "flow-bucket");
        assert_eq!(check.status, CheckStatus::Pass);
        assert_eq!(check.detail, "1 of 1 VPC(s) compliant; 1 shared from other accounts (their owners enable flow logs)");

        let gaps = [compliant, shared, missing, wrong];
        let check = coverage_check(&counts(None, 4, 1, 1, &gaps), "flow-bucket");
        assert_eq!(check.status, CheckStatus::Fail);
        assert_eq!(
            check.detail,
            "1 of 3 VPC(s) compliant; vpc-3 missing, vpc-4 non-compliant: format lacks srcaddr; 1 shared from other accounts (their owners enable flow logs)"
        );
        assert_eq!(
            check.fix.as_deref(),
            Some(
                "flowgate flowlogs enable --bucket flow-bucket --regions eu-west-1 (--replace for non-compliant flow logs flowgate made, --replace-unmanaged also for others)"
            )
        );

        // A flow log that is right but whose delivery AWS reports FAILED: the bucket is fixed,
        // not the flow log replaced. The reason is flowlog_plan's own, from a real assessment.
        let failing = ExistingFlowLog { deliver_status: Some("FAILED".into()), deliver_error: Some("Access error".into()), ..compliant_flow_log() };
        let assessed = crate::flowlog_plan::assess_vpc(&desired(), ACCOUNT, &own_vpc(), &[failing]);
        let failed = [assessed.clone()];
        let check = coverage_check(&counts(None, 1, 0, 0, &failed), "flow-bucket");
        let fix = check.fix.unwrap();
        assert!(fix.contains("bucket policy") && !fix.contains("--replace"), "{assessed:?}: {fix}");
        let mixed = [assessed, vpc("vpc-3", VpcState::Missing)];
        let fix = coverage_check(&counts(None, 2, 0, 0, &mixed), "flow-bucket").fix.unwrap();
        assert!(fix.contains("bucket policy") && fix.contains("for the other VPCs: flowgate flowlogs enable"), "{fix}");

        let check = coverage_check(&counts(Some("AccessDenied: ec2:DescribeVpcs"), 0, 0, 0, &[]), "flow-bucket");
        assert_eq!((check.status, check.detail.as_str()), (CheckStatus::Fail, "AccessDenied: ec2:DescribeVpcs"));

        let mut denied = counts(None, 0, 0, 0, &[]);
        denied.skipped = Some("denied by policy (an explicit deny in a service control policy), skipped");
        let check = coverage_check(&denied, "flow-bucket");
        assert_eq!(check.status, CheckStatus::Warn, "seen, neither passed nor failed");
        assert!(check.detail.contains("explicit deny in a service control policy"), "{}", check.detail);
    }

    #[test]
    fn a_listing_keeps_the_window_and_the_compliant_flow_logs_newest_first() {
        let compliant = vec!["fl-1".to_owned(), "fl-2".to_owned()];
        let listed = vec![
            object(key("eu-west-1", "fl-1", 1, "log.gz"), 600),
            object(key("eu-west-1", "fl-2", 2, "log.gz"), 60),
            // Same time as the one above: ties go by key.
            object(key("eu-west-1", "fl-1", 3, "log.gz"), 60),
            // Another flow log (a subnet-level one, or one --replace deleted): ignored.
            object(key("eu-west-1", "fl-9", 4, "log.gz"), 30),
            // Outside the window: neither kept nor counted.
            object(key("eu-west-1", "fl-1", 5, "log.gz"), 3601),
            object(key("eu-west-1", "fl-9", 6, "log.gz"), 7200),
            // Another region's object under the prefix: not this region's flow logs.
            object(key("eu-west-2", "fl-1", 7, "log.gz"), 10),
        ];
        let listing = delivered_in_window(listed.clone(), NOW, 3600, ACCOUNT, "eu-west-1", &compliant, &[]);
        let keys: Vec<&str> = listing.objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, [key("eu-west-1", "fl-1", 3, "log.gz"), key("eu-west-1", "fl-2", 2, "log.gz"), key("eu-west-1", "fl-1", 1, "log.gz")]);
        assert_eq!((listing.ignored, listing.before_failure), (2, 0));
        // A flow log AWS reports FAILED: what it wrote in the window was delivered before, neither
        // a delivery of a compliant flow log nor another's.
        let listing = delivered_in_window(listed, NOW, 3600, ACCOUNT, "eu-west-1", &compliant, &["fl-9".to_owned()]);
        assert_eq!((listing.objects.len(), listing.ignored, listing.before_failure), (3, 1, 1));
        // The window's edge is inside it.
        let edge = vec![object(key("eu-west-1", "fl-1", 1, "log.gz"), 3600)];
        assert_eq!(delivered_in_window(edge, NOW, 3600, ACCOUNT, "eu-west-1", &compliant, &[]).objects.len(), 1);
        // No compliant flow log: nothing is ours.
        let listing = delivered_in_window(vec![object(key("eu-west-1", "fl-1", 1, "log.gz"), 1)], NOW, 3600, ACCOUNT, "eu-west-1", &[], &[]);
        assert_eq!((listing.objects.len(), listing.ignored), (0, 1));
    }

    fn delivery(objects: Vec<DeliveredObject>) -> RegionDelivery {
        RegionDelivery {
            region: "eu-west-1".into(),
            flow_logs: vec![ExistingFlowLog {
                id: "fl-1".into(),
                resource_id: "vpc-1".into(),
                created_at: Some(NOW as i64 - 86_400),
                deliver_status: Some("SUCCESS".into()),
                ..ExistingFlowLog::default()
            }],
            vpcs_with_interfaces: Ok(1),
            objects,
            ignored: 0,
            before_failure: 0,
        }
    }

    #[test]
    fn the_newest_text_objects_are_read_and_parquet_only_warns() {
        let text = |m| object(key("eu-west-1", "fl-1", m, "log.gz"), 60);
        let parquet = |m| object(key("eu-west-1", "fl-1", m, "log.parquet"), 60);

        let (read, warning) = objects_to_read(&delivery(vec![text(3), parquet(2), text(1), text(0)]), 2);
        assert_eq!(read, [text(3), text(1)]);
        assert!(warning.is_none());

        let (read, warning) = objects_to_read(&delivery(vec![parquet(1), parquet(0)]), 2);
        assert!(read.is_empty());
        let warning = warning.expect("a warning for Parquet only");
        assert_eq!(
            (warning.status, warning.name.as_str(), warning.detail.as_str()),
            (CheckStatus::Warn, "objects eu-west-1", "only Parquet objects: not parsed")
        );

        // Nothing delivered is delivery's judgement, not a warning about objects.
        assert_eq!(objects_to_read(&delivery(Vec::new()), 2), (Vec::new(), None));
    }

    #[test]
    fn delivery_checks_are_per_region_then_for_the_account() {
        let rules = DeliveryRules { now: NOW as i64, grace_secs: 900, since_secs: 86_400, pending: false, bucket: "flow-bucket".into() };
        let regions = [
            delivery(vec![object(key("eu-west-1", "fl-1", 1, "log.parquet"), 60)]),
            delivery(vec![object(key("eu-west-1", "fl-1", 2, "log.gz"), 60)]),
        ];
        let (checks, to_read) = delivery_checks(&regions, &rules, 5);
        let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["delivery eu-west-1", "objects eu-west-1", "delivery eu-west-1", "delivery"]);
        assert_eq!(to_read, [("eu-west-1".to_owned(), object(key("eu-west-1", "fl-1", 2, "log.gz"), 60))]);
        assert_eq!(delivery_checks(&[], &rules, 5), (Vec::new(), Vec::new()));
    }

    fn read(encryption: Option<&str>, summary: Option<ObjectSummary>, error: Option<&str>) -> ObjectResult {
        let object = object(key("eu-west-1", "fl-1", 1, "log.gz"), 300);
        ObjectResult {
            encryption: encryption.map(str::to_owned),
            summary,
            error: error.map(str::to_owned),
            ..ObjectResult::new("eu-west-1", &object, NOW as i64)
        }
    }

    #[test]
    fn an_object_passes_only_when_readable_and_every_line_parses() {
        let result = read(None, None, None);
        assert_eq!((result.age_secs, result.size), (300, 100));
        let name = "object eu-west-1 fl-1_20270115T0801Z_ab12cd34.log.gz";

        let mut good = ObjectSummary::default();
        good.records = 10;
        good.actions.accept = 7;
        good.actions.reject = 3;
        let check = object_check(&read(Some("AES256"), Some(good.clone()), None));
        assert_eq!((check.status, check.name.as_str()), (CheckStatus::Pass, name));
        assert_eq!(check.detail, "10 records, 7 ACCEPT / 3 REJECT, 5 min age, SSE AES256");
        assert_eq!(object_check(&read(None, Some(good.clone()), None)).detail, "10 records, 7 ACCEPT / 3 REJECT, 5 min age, SSE none reported");

        // KMS comes first: even a parsed object is unreadable to the vendor.
        let check = object_check(&read(Some("aws:kms"), Some(good), None));
        assert_eq!((check.status, check.detail.as_str()), (CheckStatus::Fail, "encrypted with aws:kms: the vendor's role cannot decrypt it"));

        let check = object_check(&read(None, None, Some("the gzip stream ends early")));
        assert_eq!((check.status, check.detail.as_str()), (CheckStatus::Fail, "the gzip stream ends early"));

        let mut bad = ObjectSummary::default();
        bad.records = 8;
        bad.parse_errors = 2;
        bad.errors = vec![LineError { source: None, line: 4, message: "field 'srcaddr' is not an IP address".into() }];
        let check = object_check(&read(None, Some(bad), None));
        assert_eq!(check.status, CheckStatus::Fail);
        assert_eq!(check.detail, "2 of 10 line(s) could not be parsed (line 4: field 'srcaddr' is not an IP address)");

        let check = object_check(&read(None, None, None));
        assert_eq!((check.status, check.detail.as_str()), (CheckStatus::Fail, "not read"));
    }

    fn grant(sid: &str) -> Grant {
        Grant {
            statement: StatementRef { policy: "vendor-read".into(), source: PolicySource::Inline, sid: Some(sid.into()), index: 0 },
            resource: "arn:aws:s3:::flow-bucket/*".into(),
            scope: Scope::AllObjects,
            conditional: false,
            actions: vec!["s3:GetObject".into()],
            depends_on: Vec::new(),
        }
    }

    #[test]
    fn access_checks() {
        let guarded =
            TrustAssessment { principals: vec!["arn:aws:iam::999999999999:root".into()], requires_external_id: true, unguarded: Vec::new() };
        let check = trust_check("vendor", &guarded);
        assert_eq!(
            (check.status, check.detail.as_str()),
            (CheckStatus::Pass, "role vendor is assumable by arn:aws:iam::999999999999:root only with the ExternalId")
        );
        let open = TrustAssessment { requires_external_id: false, unguarded: vec!["statement 0".into()], ..guarded };
        let check = trust_check("vendor", &open);
        assert_eq!((check.status, check.detail.as_str()), (CheckStatus::Fail, "role vendor can be assumed without an ExternalId (statement 0)"));

        let allowed = Readability::Allowed { by: vec![grant("Read")] };
        let check = read_check("vendor", &allowed, "flow-bucket", None, &[], &[]);
        assert_eq!(check.status, CheckStatus::Pass);
        assert!(check.detail.starts_with("role vendor can s3:GetObject the bucket's objects ("), "{}", check.detail);
        let conditional = Readability::Conditional { allowed_by: vec![grant("A")], denied_by: vec![grant("B"), grant("C")] };
        let check = read_check("vendor", &conditional, "flow-bucket", None, &[], &[]);
        assert_eq!(check.status, CheckStatus::Warn);
        assert_eq!(check.detail, "role vendor can read the bucket under conditions (1 allow(s), 2 conditional deny(s))");
        let check = read_check("vendor", &Readability::Denied { by: vec![grant("Deny")] }, "flow-bucket", None, &[], &[]);
        assert_eq!(check.status, CheckStatus::Fail);
        assert!(check.detail.starts_with("role vendor is denied s3:GetObject on the bucket ("), "{}", check.detail);
        let check = read_check("vendor", &Readability::NotGranted, "flow-bucket", None, &[], &[]);
        assert_eq!((check.status, check.fix.as_deref()), (CheckStatus::Fail, Some("flowgate access grant --bucket flow-bucket")));
        let check = read_check("vendor", &Readability::NotGranted, "flow-bucket", Some("vendor"), &[], &[]);
        assert_eq!(check.fix.as_deref(), Some("flowgate access grant --bucket flow-bucket --role-name vendor"));

        // Issue 23 item 4: a Deny in the bucket policy takes a granted read away, the object read
        // left allowed or not.
        let bucket_deny = Grant {
            statement: StatementRef { policy: "flow-bucket".into(), source: PolicySource::Bucket, sid: Some("NoList".into()), index: 2 },
            actions: vec!["s3:ListBucket".into()],
            ..grant("NoList")
        };
        let check = read_check("vendor", &allowed, "flow-bucket", None, &["s3:ListBucket".to_owned()], std::slice::from_ref(&bucket_deny));
        assert_eq!(
            (check.status, check.detail.as_str()),
            (CheckStatus::Fail, "role vendor is denied s3:ListBucket on the bucket by the bucket policy, statement Sid \"NoList\"")
        );
        let maybe = Grant { conditional: true, depends_on: vec!["condition aws:SourceIp".into()], ..bucket_deny };
        let conditional = Readability::Conditional { allowed_by: vec![grant("A")], denied_by: vec![maybe] };
        let check = read_check("vendor", &conditional, "flow-bucket", None, &[], &[]);
        assert!(
            check.detail.ends_with("; may be denied by the bucket policy, statement Sid \"NoList\" if condition aws:SourceIp"),
            "{}",
            check.detail
        );

        assert_eq!((no_role_check().status, no_role_check().name.as_str()), (CheckStatus::Warn, "access"));
        assert_eq!(identity_check(ACCOUNT, "arn:aws:iam::123456789012:user/me").detail, "account 123456789012 as arn:aws:iam::123456789012:user/me");
    }

    #[test]
    fn warnings_fail_the_run_only_when_strict() {
        let table = [
            (CheckStatus::Pass, false, ExitStatus::Success),
            (CheckStatus::Pass, true, ExitStatus::Success),
            (CheckStatus::Warn, false, ExitStatus::Success),
            (CheckStatus::Warn, true, ExitStatus::Failure),
            (CheckStatus::Fail, false, ExitStatus::Failure),
            (CheckStatus::Fail, true, ExitStatus::Failure),
        ];
        for (status, strict, expected) in table {
            assert_eq!(exit_status(status, strict), expected, "{status:?} strict={strict}");
        }
    }
}
