//! `verify`'s delivery judgements: from what AWS reports about each region (the flow logs'
//! `DeliverLogsStatus`, whether the covered VPCs have network interfaces) and the objects found,
//! pass / warn / fail per region and for the account. Pure: the caller observes, and passes `now`
//! in once.
//!
//! Why not "every region must have an object": AWS writes nothing while there is no traffic ("you
//! won't see flow log data until there is active traffic for the network interface, subnet, or
//! VPC", VPC User Guide, "Flow log limitations",
//! https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-limitations.html), and `enable`
//! covers the default VPCs of unused regions too. So a region whose covered VPCs have no network
//! interface is idle (a pass with a note), a region with interfaces but no object is a warning, a
//! flow log whose delivery AWS reports FAILED is a failure with AWS's message
//! (`DeliverLogsStatus`/`DeliverLogsErrorMessage`, EC2 API reference, "FlowLog",
//! https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_FlowLog.html), and the account as a
//! whole must have delivered at least once once the grace period is over.
//!
//! Whose objects: every delivered object's name carries its flow log's id
//! (`{account}_vpcflowlogs_{region}_{flow-log-id}_{YYYYMMDDTHHmmZ}_{hash}.log.gz`, VPC User Guide,
//! "flow-logs-s3"). Another flow log can write under the same prefix (a subnet-level one, or the
//! one `--replace` just deleted, which keeps delivering for a while): only objects of the region's
//! compliant flow logs are judged.

use super::flowlog_plan::ExistingFlowLog;
use super::report::Check;

/// The flow-log id a delivered object's name carries, when the name is AWS's for this account and
/// region.
pub fn flow_log_id_of_key<'a>(key: &'a str, account: &str, region: &str) -> Option<&'a str> {
    let file = key.rsplit('/').next()?;
    let rest = file.strip_prefix(account)?.strip_prefix("_vpcflowlogs_")?.strip_prefix(region)?.strip_prefix('_')?;
    let id = rest.split('_').next()?;
    // The id is followed by the time and the hash: a name that ends after the id is not AWS's.
    (id.starts_with("fl-") && rest.len() > id.len()).then_some(id)
}

/// Whether one of `flow_log_ids` wrote the object.
pub fn written_by(key: &str, account: &str, region: &str, flow_log_ids: &[String]) -> bool {
    flow_log_id_of_key(key, account, region).is_some_and(|id| flow_log_ids.iter().any(|f| f == id))
}

/// `{account}_vpcflowlogs_{region}_{rest}` -> `{rest}`: the flow log, time and hash identify it.
pub fn short_name(key: &str, region: &str) -> String {
    let file = key.rsplit('/').next().unwrap_or(key);
    let marker = format!("_vpcflowlogs_{region}_");
    file.split_once(&marker).map(|(_, rest)| rest.to_owned()).unwrap_or_else(|| file.to_owned())
}

/// A duration for people: `45 s`, `12 min`, `3 h`.
pub fn age(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s => format!("{} h", s / 3600),
    }
}

/// The settings every judgement of one run shares.
#[derive(Debug, Clone)]
pub struct DeliveryRules {
    /// Unix seconds, taken once by the caller.
    pub now: i64,
    /// Flow logs younger than this have not delivered yet (`--delivery-grace`).
    pub grace_secs: i64,
    /// The window objects were listed in (`--since`).
    pub since_secs: i64,
    /// The flow logs were created moments ago by this run (onboard without `--wait`).
    pub pending: bool,
    pub bucket: String,
}

impl DeliveryRules {
    fn young(&self, created: Option<i64>) -> bool {
        self.pending || created.is_some_and(|c| self.now - c < self.grace_secs)
    }
}

/// An object found in the bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveredObject {
    pub key: String,
    /// Unix seconds.
    pub last_modified: i64,
    pub size: i64,
}

/// What was observed in one region with flowgate's flow logs to the bucket.
#[derive(Debug, Clone)]
pub struct RegionDelivery {
    pub region: String,
    /// The flow logs to the bucket on the region's own VPCs, as DescribeFlowLogs reports them.
    pub flow_logs: Vec<ExistingFlowLog>,
    /// How many of the VPCs those flow logs cover have a network interface; `Err` when it could
    /// not be read.
    pub vpcs_with_interfaces: Result<usize, String>,
    /// Objects written by the region's compliant flow logs inside the window, newest first.
    pub objects: Vec<DeliveredObject>,
    /// Objects inside the window written by other flow logs: ignored.
    pub ignored: usize,
    /// Objects inside the window written by the region's flow logs that AWS now reports FAILED:
    /// they delivered before the failure (not counted as deliveries, not ignored either).
    pub before_failure: usize,
}

impl RegionDelivery {
    fn covered_vpcs(&self) -> usize {
        let mut vpcs: Vec<&str> = self.flow_logs.iter().map(|f| f.resource_id.as_str()).collect();
        vpcs.sort_unstable();
        vpcs.dedup();
        vpcs.len()
    }

    fn oldest_created(&self) -> Option<i64> {
        self.flow_logs.iter().filter_map(|f| f.created_at).min()
    }

    /// Whether it is idle: none of its covered VPCs has a network interface, so AWS has nothing
    /// to deliver. A region whose delivery AWS reports FAILED is never idle: AWS had something to
    /// deliver and could not.
    pub fn is_idle(&self) -> bool {
        self.vpcs_with_interfaces == Ok(0) && !self.has_failed()
    }

    /// Whether AWS reports a failed delivery for one of its flow logs.
    pub fn has_failed(&self) -> bool {
        self.flow_logs.iter().any(|f| f.deliver_status.as_deref() == Some("FAILED"))
    }

    /// `fl-1 (vpc-1): Access error` for each flow log AWS reports FAILED.
    fn failures(&self) -> Vec<String> {
        self.flow_logs
            .iter()
            .filter(|f| f.deliver_status.as_deref() == Some("FAILED"))
            .map(|f| format!("{} ({}): {}", f.id, f.resource_id, f.deliver_error.as_deref().unwrap_or("no reason given")))
            .collect()
    }

    /// AWS's `DeliverLogsErrorMessage` of each failed flow log.
    fn failure_messages(&self) -> Vec<&str> {
        self.flow_logs.iter().filter(|f| f.deliver_status.as_deref() == Some("FAILED")).map(|f| f.deliver_error.as_deref().unwrap_or("")).collect()
    }

    fn before_failure_note(&self) -> String {
        match self.before_failure {
            0 => String::new(),
            n => format!("; {n} object(s) in the window were delivered before it failed"),
        }
    }

    /// Whether waiting could still bring an object: not delivered yet, not idle, not failed.
    pub fn worth_waiting_for(&self) -> bool {
        self.objects.is_empty() && !self.is_idle() && !self.has_failed()
    }

    fn ignored_note(&self) -> String {
        match self.ignored {
            0 => String::new(),
            n => format!("; {n} object(s) of other flow logs ignored"),
        }
    }
}

/// Why AWS could not deliver, read from `DeliverLogsErrorMessage`. The EC2 API reference
/// ("FlowLog", https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_FlowLog.html) names
/// `Rate limited`, `Access error` and `Unknown error`; for an S3 destination there is no IAM role,
/// so an access error is the bucket refusing the log delivery service (its policy, its object
/// ownership, a KMS default key), and a destination that no longer exists is its own message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DeliveryFailure {
    /// The bucket is gone (deleted, or the name now belongs to nobody).
    DestinationMissing,
    /// The bucket refuses AWS's log delivery (`delivery.logs.amazonaws.com`).
    Access,
    /// AWS throttled the delivery: it resumes by itself.
    RateLimited,
    /// AWS names no cause flowgate knows.
    Unknown,
}

impl DeliveryFailure {
    pub fn of(message: &str) -> DeliveryFailure {
        let message = message.to_ascii_lowercase();
        if message.contains("does not exist") || message.contains("not found") || message.contains("notfound") || message.contains("nosuchbucket") {
            DeliveryFailure::DestinationMissing
        } else if ["access", "permission", "denied", "forbidden"].iter().any(|w| message.contains(w)) {
            DeliveryFailure::Access
        } else if message.contains("rate limit") || message.contains("throttl") {
            DeliveryFailure::RateLimited
        } else {
            DeliveryFailure::Unknown
        }
    }

    /// What to do: the flow logs themselves are right (replacing them changes nothing); the
    /// bucket is what needs fixing, except when AWS only throttled.
    fn fix(self, bucket: &str) -> String {
        match self {
            DeliveryFailure::DestinationMissing => format!(
                "bucket {bucket} no longer exists: create it again with `flowgate bucket create --bucket {bucket}` (it adds the delivery policy), and the flow logs deliver to it again"
            ),
            DeliveryFailure::Access => format!(
                "bucket {bucket} no longer lets AWS's log delivery (delivery.logs.amazonaws.com) write: `flowgate bucket create --bucket {bucket}` restores flowgate's delivery statements in its bucket policy and its object ownership (BucketOwnerEnforced), keeping the other statements (`flowgate bucket check --bucket {bucket}` shows which is wrong); keep its default encryption SSE-S3, not a KMS key; the flow logs need not be replaced"
            ),
            DeliveryFailure::RateLimited => "AWS throttled the delivery (Rate limited): it resumes by itself; look again later".to_owned(),
            DeliveryFailure::Unknown => format!(
                "AWS names no cause: check the bucket's delivery policy, object ownership and encryption (`flowgate bucket check --bucket {bucket}`)"
            ),
        }
    }
}

/// What to do about deliveries AWS reports FAILED with these messages: one remedy per cause.
pub fn delivery_failure_fix<'a>(messages: impl IntoIterator<Item = &'a str>, bucket: &str) -> String {
    let mut causes: Vec<DeliveryFailure> = messages.into_iter().map(DeliveryFailure::of).collect();
    causes.sort();
    causes.dedup();
    if causes.is_empty() {
        causes.push(DeliveryFailure::Unknown);
    }
    let fixes: Vec<String> = causes.iter().map(|c| c.fix(bucket)).collect();
    format!("{}; then check again with `flowgate verify --bucket {bucket} --wait`", fixes.join("; "))
}

/// The delivery check of one region.
pub fn judge_region(region: &RegionDelivery, rules: &DeliveryRules) -> Check {
    let name = format!("delivery {}", region.region);
    let failed = region.failures();
    if !failed.is_empty() {
        return Check::fail(
            name,
            format!("AWS reports delivery FAILED for {}{}", failed.join(", "), region.before_failure_note()),
            delivery_failure_fix(region.failure_messages(), &rules.bucket),
        );
    }
    let since = age(rules.since_secs);
    if let Some(DeliveredObject { key, last_modified: modified, .. }) = region.objects.first() {
        return Check::pass(
            name,
            format!(
                "{} object(s) from flowgate's flow logs; newest {} old ({}){}",
                region.objects.len(),
                age(rules.now - modified),
                short_name(key, &region.region),
                region.ignored_note()
            ),
        );
    }
    let covered = region.covered_vpcs();
    match &region.vpcs_with_interfaces {
        Ok(0) => Check::pass(
            name,
            format!("idle, no traffic to deliver: none of the {covered} covered VPC(s) has a network interface{}", region.ignored_note()),
        ),
        _ if rules.young(region.oldest_created()) => Check::warn(
            name,
            format!("pending: the flow logs were just created; the first objects arrive about 10 minutes later{}", region.ignored_note()),
            format!("flowgate verify --bucket {} --wait", rules.bucket),
        ),
        Ok(busy) => Check::warn(
            name,
            format!(
                "no object from flowgate's flow logs in the last {since}, although {busy} of the {covered} covered VPC(s) have network interfaces{}",
                region.ignored_note()
            ),
            "AWS writes only while there is traffic: wait (flowgate verify --wait), then check the flow logs (flowgate flowlogs status) and the bucket's delivery policy (flowgate bucket check)",
        ),
        Err(error) => Check::warn(
            name,
            format!(
                "no object from flowgate's flow logs in the last {since}, and whether there is traffic is unknown: {error}{}",
                region.ignored_note()
            ),
            "grant ec2:DescribeNetworkInterfaces, or wait (flowgate verify --wait)",
        ),
    }
}

/// The account's delivery check: at least one object once the grace period is over. `None` when
/// no region has flowgate's flow logs (the coverage checks say why).
pub fn judge_account(regions: &[RegionDelivery], rules: &DeliveryRules) -> Option<Check> {
    if regions.is_empty() {
        return None;
    }
    let name = "delivery";
    let objects: usize = regions.iter().map(|r| r.objects.len()).sum();
    let delivering = regions.iter().filter(|r| !r.objects.is_empty()).count();
    if objects > 0 {
        return Some(Check::pass(name, format!("{objects} object(s) from flowgate's flow logs in {delivering} of {} region(s)", regions.len())));
    }
    let idle = regions.iter().filter(|r| r.is_idle()).count();
    let idle_note = if idle > 0 { format!(" ({idle} of {} region(s) idle: no network interfaces)", regions.len()) } else { String::new() };
    // A region AWS reports FAILED is neither pending nor idle: AWS tried to deliver (and may have
    // delivered before), so the account's check says so, with the remedy for the cause.
    let failed: Vec<&RegionDelivery> = regions.iter().filter(|r| r.has_failed()).collect();
    if !failed.is_empty() {
        let names: Vec<String> = failed.iter().map(|r| format!("{} ({})", r.region, r.failure_messages().join(", "))).collect();
        let before: usize = failed.iter().map(|r| r.before_failure).sum();
        let before_note = if before > 0 { format!("; {before} object(s) in the window were delivered before it failed") } else { String::new() };
        return Some(Check::fail(
            name,
            format!(
                "no object from flowgate's flow logs in the last {}: AWS reports delivery FAILED in {}{before_note}{idle_note}",
                age(rules.since_secs),
                names.join(", ")
            ),
            delivery_failure_fix(failed.iter().flat_map(|r| r.failure_messages()), &rules.bucket),
        ));
    }
    // Pending while a region that can deliver (not idle) is inside its grace period; when every
    // region is idle, the grace period runs from the oldest flow log.
    let busy: Vec<&RegionDelivery> = regions.iter().filter(|r| !r.is_idle()).collect();
    let young = if busy.is_empty() {
        rules.young(regions.iter().filter_map(RegionDelivery::oldest_created).min())
    } else {
        busy.iter().any(|r| rules.young(r.oldest_created()))
    };
    if young {
        return Some(Check::warn(
            name,
            format!("pending: nothing delivered yet; the first objects arrive about 10 minutes after the flow logs are created{idle_note}"),
            format!("flowgate verify --bucket {} --wait", rules.bucket),
        ));
    }
    Some(Check::fail(
        name,
        format!("flowgate's flow logs delivered no object in any region in the last {}{idle_note}", age(rules.since_secs)),
        "AWS writes only while there is traffic: check that a covered VPC has traffic, the flow logs (flowgate flowlogs status) and the bucket's delivery policy (flowgate bucket check)",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::CheckStatus;

    const ACCOUNT: &str = "123456789012";
    const NOW: i64 = 1_800_000_000;

    fn rules() -> DeliveryRules {
        DeliveryRules { now: NOW, grace_secs: 900, since_secs: 86_400, pending: false, bucket: "flow-bucket".into() }
    }

    fn flow_log(id: &str, vpc: &str, age_secs: i64, status: &str, error: Option<&str>) -> ExistingFlowLog {
        ExistingFlowLog {
            id: id.into(),
            resource_id: vpc.into(),
            created_at: Some(NOW - age_secs),
            deliver_status: Some(status.into()),
            deliver_error: error.map(str::to_owned),
            ..ExistingFlowLog::default()
        }
    }

    fn object(key: String, last_modified: i64) -> DeliveredObject {
        DeliveredObject { key, last_modified, size: 100 }
    }

    fn key(region: &str, flow_log: &str) -> String {
        format!("AWSLogs/{ACCOUNT}/vpcflowlogs/{region}/2027/01/15/{ACCOUNT}_vpcflowlogs_{region}_{flow_log}_20270115T0805Z_ab12cd34.log.gz")
    }

    #[test]
    fn object_names_carry_their_flow_log_id() {
        let ids = vec!["fl-0aaa".to_owned()];
        let table: &[(&str, Option<&str>)] = &[
            (
                "AWSLogs/123456789012/vpcflowlogs/eu-west-1/2027/01/15/123456789012_vpcflowlogs_eu-west-1_fl-0aaa_20270115T0805Z_ab12.log.gz",
                Some("fl-0aaa"),
            ),
            (
                "p/AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=eu-west-1/year=2027/month=01/day=15/hour=08/123456789012_vpcflowlogs_eu-west-1_fl-0bbb_20270115T0805Z_ab12.log.parquet",
                Some("fl-0bbb"),
            ),
            // Another region's or account's object, and names that are not AWS's.
            ("x/123456789012_vpcflowlogs_eu-west-2_fl-0aaa_20270115T0805Z_ab12.log.gz", None),
            ("x/999999999999_vpcflowlogs_eu-west-1_fl-0aaa_20270115T0805Z_ab12.log.gz", None),
            ("x/123456789012_vpcflowlogs_eu-west-1_fl-0aaa", None),
            ("x/123456789012_vpcflowlogs_eu-west-1_eni-0aaa_20270115T0805Z_ab12.log.gz", None),
            ("x/notes.txt", None),
        ];
        for (key, expected) in table {
            assert_eq!(flow_log_id_of_key(key, ACCOUNT, "eu-west-1"), *expected, "{key}");
            assert_eq!(written_by(key, ACCOUNT, "eu-west-1", &ids), *expected == Some("fl-0aaa"), "{key}");
        }
        assert!(!written_by(table[0].0, ACCOUNT, "eu-west-1", &[]), "no compliant flow log, no object of ours");
    }

    #[test]
    fn region_judgements() {
        let old = 3 * 3600;
        let ok = |age| flow_log("fl-1", "vpc-1", age, "SUCCESS", None);
        let with = |flow_logs: Vec<ExistingFlowLog>, interfaces: Result<usize, String>, objects: Vec<DeliveredObject>, ignored| RegionDelivery {
            region: "eu-west-1".into(),
            flow_logs,
            vpcs_with_interfaces: interfaces,
            objects,
            ignored,
            before_failure: 0,
        };
        let fresh = vec![object(key("eu-west-1", "fl-1"), NOW - 300)];
        // (case, observation, pending, status, words the detail must contain)
        let table: Vec<(&str, RegionDelivery, bool, CheckStatus, &[&str])> = vec![
            (
                "delivered",
                with(vec![ok(old)], Ok(1), fresh.clone(), 0),
                false,
                CheckStatus::Pass,
                &["1 object(s)", "5 min old", "fl-1_20270115T0805Z"],
            ),
            (
                "AWS reports FAILED: a fail with AWS's message, objects or not",
                with(vec![ok(old), flow_log("fl-2", "vpc-2", old, "FAILED", Some("Access error"))], Ok(2), fresh.clone(), 0),
                false,
                CheckStatus::Fail,
                &["FAILED", "fl-2 (vpc-2): Access error"],
            ),
            (
                "idle: no interfaces, old flow logs",
                with(vec![ok(old)], Ok(0), vec![], 0),
                false,
                CheckStatus::Pass,
                &["idle, no traffic to deliver", "1 covered VPC"],
            ),
            ("idle even when just created", with(vec![ok(60)], Ok(0), vec![], 0), true, CheckStatus::Pass, &["idle"]),
            ("interfaces, young flow logs: pending", with(vec![ok(60)], Ok(1), vec![], 0), false, CheckStatus::Warn, &["pending"]),
            ("interfaces, onboard just created them: pending", with(vec![ok(old)], Ok(1), vec![], 0), true, CheckStatus::Warn, &["pending"]),
            (
                "interfaces, past the grace period, nothing: warning",
                with(vec![ok(old)], Ok(1), vec![], 0),
                false,
                CheckStatus::Warn,
                &["no object", "1 of the 1 covered VPC(s)"],
            ),
            (
                "only other flow logs' objects: not a delivery",
                with(vec![ok(old)], Ok(1), vec![], 3),
                false,
                CheckStatus::Warn,
                &["no object", "3 object(s) of other flow logs ignored"],
            ),
            (
                "interfaces unreadable",
                with(vec![ok(old)], Err("access denied".into()), vec![], 0),
                false,
                CheckStatus::Warn,
                &["unknown: access denied"],
            ),
        ];
        for (case, observed, pending, status, words) in table {
            let check = judge_region(&observed, &DeliveryRules { pending, ..rules() });
            assert_eq!(check.name, "delivery eu-west-1");
            assert_eq!(check.status, status, "{case}: {check:?}");
            for word in words {
                assert!(check.detail.contains(word), "{case}: {word:?} not in {:?}", check.detail);
            }
            assert_eq!(check.fix.is_some(), status != CheckStatus::Pass, "{case}");
        }
    }

    #[test]
    fn account_judgements() {
        let old = 3 * 3600;
        let region = |name: &str, age, interfaces, objects: usize| RegionDelivery {
            region: name.into(),
            flow_logs: vec![flow_log("fl-1", "vpc-1", age, "SUCCESS", None)],
            vpcs_with_interfaces: Ok(interfaces),
            objects: (0..objects).map(|i| object(key(name, "fl-1"), NOW - 60 * i as i64)).collect(),
            ignored: 0,
            before_failure: 0,
        };
        assert_eq!(judge_account(&[], &rules()), None, "no flow logs: nothing to judge");
        let table: Vec<(&str, Vec<RegionDelivery>, bool, CheckStatus, &str)> = vec![
            (
                "one busy region delivered, the idle ones did not",
                vec![region("a", old, 2, 3), region("b", old, 0, 0)],
                false,
                CheckStatus::Pass,
                "3 object(s) from flowgate's flow logs in 1 of 2",
            ),
            (
                "every region idle, past the grace period",
                vec![region("a", old, 0, 0), region("b", old, 0, 0)],
                false,
                CheckStatus::Fail,
                "2 of 2 region(s) idle",
            ),
            (
                "nothing delivered, past the grace period",
                vec![region("a", old, 1, 0)],
                false,
                CheckStatus::Fail,
                "delivered no object in any region in the last 24 h",
            ),
            (
                "nothing yet, the busy region's flow logs just created",
                vec![region("a", 60, 1, 0), region("b", old, 0, 0)],
                false,
                CheckStatus::Warn,
                "pending",
            ),
            ("every region idle, one just created", vec![region("a", 60, 0, 0), region("b", 60, 0, 0)], false, CheckStatus::Warn, "pending"),
            (
                "a new idle region does not extend an old busy one's grace",
                vec![region("a", old, 1, 0), region("b", 60, 0, 0)],
                false,
                CheckStatus::Fail,
                "1 of 2 region(s) idle",
            ),
            ("nothing yet, onboard just created them", vec![region("a", old, 1, 0)], true, CheckStatus::Warn, "pending"),
        ];
        for (case, regions, pending, status, words) in table {
            let check = judge_account(&regions, &DeliveryRules { pending, ..rules() }).unwrap();
            assert_eq!(check.name, "delivery");
            assert_eq!(check.status, status, "{case}: {check:?}");
            assert!(check.detail.contains(words), "{case}: {:?}", check.detail);
        }
    }

    #[test]
    fn waiting_is_for_busy_regions_without_objects() {
        let base = RegionDelivery {
            region: "r".into(),
            flow_logs: vec![flow_log("fl-1", "vpc-1", 60, "SUCCESS", None)],
            vpcs_with_interfaces: Ok(1),
            objects: Vec::new(),
            ignored: 0,
            before_failure: 0,
        };
        assert!(base.worth_waiting_for());
        assert!(!RegionDelivery { vpcs_with_interfaces: Ok(0), ..base.clone() }.worth_waiting_for(), "idle");
        assert!(!RegionDelivery { objects: vec![object("k".into(), NOW)], ..base.clone() }.worth_waiting_for(), "delivered");
        let failed = RegionDelivery { flow_logs: vec![flow_log("fl-1", "vpc-1", 60, "FAILED", None)], ..base };
        assert!(!failed.worth_waiting_for(), "failed");
    }

    /// A region whose flow log AWS reports FAILED (`DeliverLogsStatus`, EC2 API reference,
    /// "FlowLog") after it delivered: the account's check says so with the remedy for the cause,
    /// never "pending: nothing delivered yet" nor "idle", whether the flow logs are young or
    /// onboard just ran, and whether the VPCs have network interfaces or not.
    #[test]
    fn a_failed_region_is_neither_pending_nor_idle() {
        let failed = |age, interfaces, message: &str, before| RegionDelivery {
            region: "eu-west-1".into(),
            flow_logs: vec![flow_log("fl-1", "vpc-1", age, "FAILED", Some(message))],
            vpcs_with_interfaces: Ok(interfaces),
            objects: Vec::new(),
            ignored: 0,
            before_failure: before,
        };
        for (age, interfaces, pending) in [(60, 0, false), (60, 1, true), (3 * 3600, 0, false), (3 * 3600, 2, true)] {
            let region = failed(age, interfaces, "Access error", 4);
            assert!(!region.is_idle() && !region.worth_waiting_for());
            let check = judge_account(std::slice::from_ref(&region), &DeliveryRules { pending, ..rules() }).unwrap();
            assert_eq!(check.status, CheckStatus::Fail, "{check:?}");
            assert!(check.detail.contains("FAILED in eu-west-1 (Access error)"), "{check:?}");
            assert!(check.detail.contains("4 object(s) in the window were delivered before it failed"), "{check:?}");
            assert!(!check.detail.contains("pending") && !check.detail.contains("idle"), "{check:?}");
            let fix = check.fix.unwrap();
            assert!(fix.contains("bucket policy") && fix.contains("object ownership") && !fix.contains("--replace"), "{fix}");
            let region_check = judge_region(&region, &rules());
            assert!(region_check.detail.contains("delivered before it failed"), "{region_check:?}");
        }
        // Another busy region still pending does not hide the failure.
        let young = RegionDelivery {
            region: "us-east-1".into(),
            flow_logs: vec![flow_log("fl-2", "vpc-2", 60, "SUCCESS", None)],
            vpcs_with_interfaces: Ok(1),
            objects: Vec::new(),
            ignored: 0,
            before_failure: 0,
        };
        let check = judge_account(&[young, failed(3 * 3600, 1, "Access error", 0)], &rules()).unwrap();
        assert_eq!(check.status, CheckStatus::Fail, "{check:?}");
    }

    /// The remedy follows AWS's message: the bucket's policy or ownership, a bucket that is gone,
    /// or throttling that passes; replacing the flow logs is never it.
    #[test]
    fn the_fix_matches_the_cause() {
        let table: &[(&str, DeliveryFailure, &str)] = &[
            ("Access error", DeliveryFailure::Access, "bucket policy"),
            ("The log destination does not exist", DeliveryFailure::DestinationMissing, "flowgate bucket create --bucket flow-bucket"),
            ("LogDestinationNotFoundException", DeliveryFailure::DestinationMissing, "no longer exists"),
            ("Rate limited", DeliveryFailure::RateLimited, "resumes by itself"),
            ("Unknown error", DeliveryFailure::Unknown, "flowgate bucket check --bucket flow-bucket"),
            ("", DeliveryFailure::Unknown, "names no cause"),
        ];
        for (message, cause, words) in table {
            assert_eq!(DeliveryFailure::of(message), *cause, "{message}");
            let fix = delivery_failure_fix([*message], "flow-bucket");
            assert!(fix.contains(words) && !fix.contains("--replace"), "{message}: {fix}");
        }
        let both = delivery_failure_fix(["Access error", "Rate limited", "Access error"], "flow-bucket");
        assert_eq!(both.matches("bucket policy").count(), 1, "one remedy per cause: {both}");
        assert!(both.contains("resumes by itself"), "{both}");
    }

    #[test]
    fn ages_and_short_names() {
        assert_eq!(age(45), "45 s");
        assert_eq!(age(600), "10 min");
        assert_eq!(age(86_400), "24 h");
        assert_eq!(short_name(&key("eu-west-1", "fl-1"), "eu-west-1"), "fl-1_20270115T0805Z_ab12cd34.log.gz");
        assert_eq!(short_name("a/b/other.log.gz", "eu-west-1"), "other.log.gz");
    }
}
