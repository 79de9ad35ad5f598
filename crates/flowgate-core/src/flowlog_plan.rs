//! Flow-log coverage and plans: for each VPC, is there a compliant flow log to our bucket, a
//! non-compliant one, or none? From that, what to create, replace, keep, or refuse to touch.
//! `flowlogs enable`, `flowlogs status` and `verify` all judge coverage here.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::Serialize;

use super::format::LogFormat;
use super::names::{BucketName, LogPrefix, partition_of_region};
use super::report::{Change, ChangeStatus};

/// The tag every flow log flowgate creates carries. A flow log with it is flowgate's in every plan
/// (`ExistingFlowLog::is_managed`); `disable` and `offboard` delete only flow logs with it.
pub const MANAGED_TAG_KEY: &str = "flowgate:managed";
pub const MANAGED_TAG_VALUE: &str = "true";

/// CreateFlowLogs accepts up to 1000 VPC resource ids per call (EC2 API reference).
pub const CREATE_BATCH_LIMIT: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TrafficType {
    All,
    Accept,
    Reject,
}

impl TrafficType {
    pub fn as_api(self) -> &'static str {
        match self {
            TrafficType::All => "ALL",
            TrafficType::Accept => "ACCEPT",
            TrafficType::Reject => "REJECT",
        }
    }
}

impl FromStr for TrafficType {
    type Err = String;
    fn from_str(value: &str) -> Result<Self, String> {
        match value.to_ascii_uppercase().as_str() {
            "ALL" => Ok(TrafficType::All),
            "ACCEPT" => Ok(TrafficType::Accept),
            "REJECT" => Ok(TrafficType::Reject),
            _ => Err(format!("'{value}' is not a traffic type: use ALL, ACCEPT or REJECT")),
        }
    }
}

impl fmt::Display for TrafficType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_api())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileFormat {
    PlainText,
    Parquet,
}

impl FileFormat {
    pub fn as_api(self) -> &'static str {
        match self {
            FileFormat::PlainText => "plain-text",
            FileFormat::Parquet => "parquet",
        }
    }
}

impl FromStr for FileFormat {
    type Err = String;
    fn from_str(value: &str) -> Result<Self, String> {
        match value {
            "plain-text" => Ok(FileFormat::PlainText),
            "parquet" => Ok(FileFormat::Parquet),
            _ => Err(format!("'{value}' is not a file format: use plain-text or parquet")),
        }
    }
}

/// S3 `DestinationOptions` of a flow log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DestinationOptions {
    pub file_format: FileFormat,
    pub hive_partitions: bool,
    pub per_hour_partition: bool,
}

impl Default for DestinationOptions {
    fn default() -> Self {
        DestinationOptions { file_format: FileFormat::PlainText, hive_partitions: false, per_hour_partition: false }
    }
}

/// The flow log every VPC should have.
#[derive(Debug, Clone)]
pub struct DesiredFlowLog {
    pub partition: String,
    pub bucket: BucketName,
    pub prefix: Option<LogPrefix>,
    pub format: LogFormat,
    pub traffic_type: TrafficType,
    pub max_aggregation_interval: i32,
    pub options: DestinationOptions,
}

impl DesiredFlowLog {
    /// The LogDestination ARN: `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/prefix/`.
    pub fn destination_arn(&self) -> String {
        match &self.prefix {
            Some(prefix) => format!("arn:{}:s3:::{}/{prefix}/", self.partition, self.bucket),
            None => format!("arn:{}:s3:::{}", self.partition, self.bucket),
        }
    }
}

/// The CreateFlowLogs request flowgate sends for a VPC, as the API names its values: what
/// `flowlogs enable` sends (src/aws/ec2.rs builds the SDK call from it) and what the watcher's
/// Automation sends (`watch::stack_parameters` renders the stack from it), so the two cannot
/// create different flow logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowLogRequest {
    pub resource_type: &'static str,
    pub traffic_type: &'static str,
    pub log_destination_type: &'static str,
    pub log_destination: String,
    pub log_format: String,
    pub max_aggregation_interval: i32,
    pub file_format: &'static str,
    pub hive_compatible_partitions: bool,
    pub per_hour_partition: bool,
    /// On the flow log (TagSpecifications, resource type `vpc-flow-log`).
    pub tags: Vec<(String, String)>,
}

impl DesiredFlowLog {
    /// The request that creates this flow log on VPCs, with `tags` (flowgate's marker included).
    pub fn create_request(&self, tags: &[(String, String)]) -> FlowLogRequest {
        FlowLogRequest {
            resource_type: "VPC",
            traffic_type: self.traffic_type.as_api(),
            log_destination_type: "s3",
            log_destination: self.destination_arn(),
            log_format: self.format.to_api(),
            max_aggregation_interval: self.max_aggregation_interval,
            file_format: self.options.file_format.as_api(),
            hive_compatible_partitions: self.options.hive_partitions,
            per_hour_partition: self.options.per_hour_partition,
            tags: tags.to_vec(),
        }
    }
}

/// A VPC as DescribeVpcs reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Vpc {
    pub id: String,
    pub is_default: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The account that owns the VPC (`OwnerId`). In a participant account DescribeVpcs also
    /// returns VPCs shared with it through AWS RAM, owned by another account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
}

impl Vpc {
    /// The owner's account when the VPC is shared from another account: only the owner can create
    /// flow logs for the VPC ("VPC owners can create flow log subscriptions for the VPC";
    /// participants only for the network interfaces they own; VPC User Guide, "Share your VPC
    /// with other accounts", https://docs.aws.amazon.com/vpc/latest/userguide/vpc-sharing.html).
    pub fn shared_from(&self, account: &str) -> Option<&str> {
        self.owner_id.as_deref().filter(|owner| *owner != account)
    }
}

/// A flow log as DescribeFlowLogs reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExistingFlowLog {
    pub id: String,
    pub resource_id: String,
    /// `s3`, `cloud-watch-logs` or `kinesis-data-firehose`.
    pub destination_type: String,
    /// The destination ARN, or the log group name for CloudWatch Logs.
    pub destination: Option<String>,
    pub log_format: Option<String>,
    pub traffic_type: Option<String>,
    pub status: Option<String>,
    pub deliver_status: Option<String>,
    pub deliver_error: Option<String>,
    pub max_aggregation_interval: Option<i32>,
    /// `None` when AWS did not report them (the emulator never does).
    pub options: Option<DestinationOptions>,
    pub tags: Vec<(String, String)>,
    /// CreationTime, Unix seconds.
    pub created_at: Option<i64>,
}

impl ExistingFlowLog {
    /// Whether the flow log is flowgate's: the one predicate every plan uses (whatever its
    /// destination: a flow log flowgate created to an earlier bucket is still its own).
    pub fn is_managed(&self) -> bool {
        self.tags.iter().any(|(k, v)| k == MANAGED_TAG_KEY && v == MANAGED_TAG_VALUE)
    }

    /// (bucket, prefix) of an S3 destination ARN `arn:PARTITION:s3:::bucket[/prefix/]`.
    pub fn s3_destination(&self) -> Option<(String, Option<String>)> {
        if self.destination_type != "s3" {
            return None;
        }
        let arn = self.destination.as_deref()?;
        let path = arn.splitn(6, ':').nth(5)?;
        let (bucket, prefix) = match path.split_once('/') {
            Some((bucket, prefix)) => (bucket, Some(prefix.trim_matches('/')).filter(|p| !p.is_empty())),
            None => (path, None),
        };
        Some((bucket.to_owned(), prefix.map(str::to_owned)))
    }

    fn describe_destination(&self) -> String {
        format!("{} {}", self.destination_type, self.destination.as_deref().unwrap_or("(no destination)"))
    }
}

/// Why a flow log to our bucket does not match what is wanted; empty when it is compliant.
pub fn noncompliance(desired: &DesiredFlowLog, flow_log: &ExistingFlowLog) -> Vec<String> {
    let mut reasons = Vec::new();
    if let Some((_, prefix)) = flow_log.s3_destination() {
        let wanted = desired.prefix.as_ref().map(|p| p.as_str().to_owned());
        if prefix != wanted {
            reasons.push(format!("delivers under prefix '{}', wanted '{}'", prefix.unwrap_or_default(), wanted.unwrap_or_default()));
        }
    }
    // DescribeFlowLogs reports the default format's fields for a flow log created without one.
    let format = match flow_log.log_format.as_deref() {
        Some(text) => LogFormat::parse_api(text),
        None => Ok(LogFormat::default_v2()),
    };
    match format {
        Ok(format) => {
            let missing = format.missing(desired.format.fields());
            if !missing.is_empty() {
                reasons.push(format!("format lacks {}", missing.join(", ")));
            }
        }
        Err(e) => reasons.push(format!("unreadable format: {e}")),
    }
    if let Some(traffic) = &flow_log.traffic_type {
        if traffic != desired.traffic_type.as_api() {
            reasons.push(format!("traffic type {traffic}, wanted {}", desired.traffic_type));
        }
    }
    if let Some(interval) = flow_log.max_aggregation_interval {
        if interval != desired.max_aggregation_interval {
            reasons.push(format!("aggregation interval {interval}s, wanted {}s", desired.max_aggregation_interval));
        }
    }
    if let Some(options) = flow_log.options {
        if options != desired.options {
            reasons.push(format!(
                "destination options {}/hive={}/per-hour={}, wanted {}/hive={}/per-hour={}",
                options.file_format.as_api(),
                options.hive_partitions,
                options.per_hour_partition,
                desired.options.file_format.as_api(),
                desired.options.hive_partitions,
                desired.options.per_hour_partition
            ));
        }
    }
    if let Some(status) = &flow_log.status {
        if status != "ACTIVE" {
            reasons.push(format!("status {status}"));
        }
    }
    if flow_log.deliver_status.as_deref() == Some("FAILED") {
        reasons.push(format!("delivery failed: {}", flow_log.deliver_error.as_deref().unwrap_or("no reason given")));
    }
    reasons
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum VpcState {
    Compliant {
        flow_log_id: String,
    },
    NonCompliant {
        flow_log_ids: Vec<String>,
        reasons: Vec<String>,
    },
    Missing,
    /// Shared with this account by `owner_id` (AWS RAM): its owner enables its flow logs; never
    /// planned, never counted missing.
    Shared {
        owner_id: String,
    },
}

/// A flow log of the VPC to a destination other than our bucket: reported, never touched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct OtherFlowLog {
    pub id: String,
    pub destination: String,
    /// Tagged flowgate:managed=true: flowgate's own (to another bucket), which `flowlogs disable`
    /// deletes.
    pub managed: bool,
    /// Its bucket, when it delivers to S3.
    #[serde(skip)]
    pub bucket: Option<String>,
}

impl OtherFlowLog {
    fn of(flow_log: &ExistingFlowLog) -> Self {
        OtherFlowLog {
            id: flow_log.id.clone(),
            destination: flow_log.describe_destination(),
            managed: flow_log.is_managed(),
            bucket: flow_log.s3_destination().map(|(bucket, _)| bucket),
        }
    }

    /// How every plan that shows it describes it.
    pub fn describe(&self) -> String {
        match (&self.bucket, self.managed) {
            (Some(bucket), true) => format!(
                "{} to {}: flowgate's (tagged {MANAGED_TAG_KEY}={MANAGED_TAG_VALUE}), to another bucket: left alone (flowgate flowlogs disable --bucket {bucket} deletes it)",
                self.id, self.destination
            ),
            (None, true) => format!(
                "{} to {}: flowgate's (tagged {MANAGED_TAG_KEY}={MANAGED_TAG_VALUE}), to another destination: left alone",
                self.id, self.destination
            ),
            (_, false) => format!("{} to {}: not flowgate's, left alone", self.id, self.destination),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct VpcCoverage {
    pub vpc_id: String,
    pub is_default: bool,
    #[serde(flatten)]
    pub state: VpcState,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub other_flow_logs: Vec<OtherFlowLog>,
}

/// One VPC's coverage, seen from `account` (the caller's account).
pub fn assess_vpc(desired: &DesiredFlowLog, account: &str, vpc: &Vpc, flow_logs: &[ExistingFlowLog]) -> VpcCoverage {
    if let Some(owner) = vpc.shared_from(account) {
        let state = VpcState::Shared { owner_id: owner.to_owned() };
        return VpcCoverage { vpc_id: vpc.id.clone(), is_default: vpc.is_default, state, other_flow_logs: Vec::new() };
    }
    let mut ours = Vec::new();
    let mut others = Vec::new();
    for flow_log in flow_logs.iter().filter(|f| f.resource_id == vpc.id) {
        match flow_log.s3_destination() {
            Some((bucket, _)) if bucket == desired.bucket.as_str() => ours.push(flow_log),
            _ => others.push(OtherFlowLog::of(flow_log)),
        }
    }
    let judged: Vec<(&ExistingFlowLog, Vec<String>)> = ours.iter().map(|f| (*f, noncompliance(desired, f))).collect();
    // Of several compliant flow logs, one in the `--format` order is preferred: then nothing is
    // left to say (see `field_order_differs`).
    let mut compliant = judged.iter().filter(|(_, reasons)| reasons.is_empty());
    let in_order = compliant.clone().find(|(f, _)| !field_order_differs(desired, f));
    let state = if let Some((compliant, _)) = in_order.or_else(|| compliant.next()) {
        VpcState::Compliant { flow_log_id: compliant.id.clone() }
    } else if judged.is_empty() {
        VpcState::Missing
    } else {
        VpcState::NonCompliant {
            flow_log_ids: judged.iter().map(|(f, _)| f.id.clone()).collect(),
            reasons: judged.iter().flat_map(|(f, reasons)| reasons.iter().map(move |r| format!("{}: {r}", f.id))).collect(),
        }
    };
    VpcCoverage { vpc_id: vpc.id.clone(), is_default: vpc.is_default, state, other_flow_logs: others }
}

/// One VPC's replacement: create the correct flow log, then delete the old ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Replacement {
    pub vpc_id: String,
    /// The flow logs deleted once the new one exists.
    pub old_flow_log_ids: Vec<String>,
    pub reasons: Vec<String>,
    /// Of `old_flow_log_ids`, those that are not flowgate's (deleted only with
    /// `--replace-unmanaged`): the plan names each.
    pub unmanaged: Vec<UnmanagedFlowLog>,
    /// Flow logs to the bucket on the VPC that are not flowgate's and stay (no
    /// `--replace-unmanaged`): the plan names each and the flag.
    pub left_alone: Vec<UnmanagedFlowLog>,
    /// The user tags of the flowgate flow logs it replaces, carried over to the new one.
    pub carried_tags: Vec<(String, String)>,
}

/// A VPC whose flow log to the bucket is not what is wanted and that nothing replaces, with why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeftAlone {
    pub vpc_id: String,
    pub reasons: Vec<String>,
    /// flowgate's flow logs concerned (`--replace` replaces them).
    pub flowgates: Vec<String>,
    /// Flow logs concerned that are not flowgate's (`--replace-unmanaged` replaces them).
    pub unmanaged: Vec<UnmanagedFlowLog>,
    /// The VPC is compliant and only the field order differs from `--format`: reported, not
    /// blocked (see [`field_order_differs`]).
    pub compliant: bool,
}

/// A flow log to the bucket that is not flowgate's (no `flowgate:managed=true` tag): another
/// team's, or one made by hand.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnmanagedFlowLog {
    pub id: String,
    pub tags: Vec<(String, String)>,
}

impl UnmanagedFlowLog {
    fn of(flow_log: &ExistingFlowLog) -> Self {
        UnmanagedFlowLog { id: flow_log.id.clone(), tags: flow_log.tags.clone() }
    }

    /// How every plan names it: by the tag that decides, and the tags it has instead.
    pub fn describe(&self) -> String {
        let tags = if self.tags.is_empty() { "untagged".to_owned() } else { format!("tagged {}", tags_text(&self.tags)) };
        format!("{} (NOT flowgate's: no {MANAGED_TAG_KEY}={MANAGED_TAG_VALUE} tag, {tags})", self.id)
    }
}

fn tags_text(tags: &[(String, String)]) -> String {
    tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
}

/// Which non-compliant flow logs to the bucket `enable` may replace (deleting the old one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReplaceScope {
    /// None (no `--replace`): they are reported and left alone.
    #[default]
    Nothing,
    /// flowgate's own, told by [`ExistingFlowLog::is_managed`] (`--replace`).
    Flowgates,
    /// flowgate's and those that are not flowgate's (`--replace-unmanaged`): another team's flow
    /// log is deleted only when the user says so with a flag that names it.
    AlsoUnmanaged,
}

impl ReplaceScope {
    fn may_replace(self, flow_log: &ExistingFlowLog) -> bool {
        match self {
            ReplaceScope::Nothing => false,
            ReplaceScope::Flowgates => flow_log.is_managed(),
            ReplaceScope::AlsoUnmanaged => true,
        }
    }
}

/// What every plan says of a compliant flow log with the `--format` fields in another order.
pub const OTHER_ORDER: &str = "same fields, other order: --replace applies the order";

/// Whether the flow log has exactly the `--format` fields, in another order. Such a flow log is
/// compliant (`status` and `verify` pass it): every delivered object starts with a header line
/// naming its fields, and readers (flowgate's parser among them) go by that header, not by
/// position. Still the user asked for that order, so `enable`'s plan says so and `--replace`
/// applies it. A format with extra fields is not this case: replacing it would drop them.
pub fn field_order_differs(desired: &DesiredFlowLog, flow_log: &ExistingFlowLog) -> bool {
    let format = match flow_log.log_format.as_deref() {
        Some(text) => match LogFormat::parse_api(text) {
            Ok(format) => format,
            Err(_) => return false,
        },
        None => LogFormat::default_v2(),
    };
    let wanted = desired.format.fields();
    format.fields().len() == wanted.len() && format.missing(wanted).is_empty() && format.fields() != wanted
}

/// The user tags a replacement carries from the flowgate flow logs it replaces: every tag but
/// flowgate's marker and AWS's own (`aws:` keys are reserved and cannot be set: EC2 User Guide,
/// "Tag restrictions", https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_Tags.html#tag-restrictions);
/// the first value of a key wins.
fn carried_tags(replaced: &[&ExistingFlowLog]) -> Vec<(String, String)> {
    let mut carried: Vec<(String, String)> = Vec::new();
    for (key, value) in replaced.iter().filter(|f| f.is_managed()).flat_map(|f| &f.tags) {
        let reserved = key == MANAGED_TAG_KEY || key.to_ascii_lowercase().starts_with("aws:");
        if !reserved && !carried.iter().any(|(k, _)| k == key) {
            carried.push((key.clone(), value.clone()));
        }
    }
    carried
}

/// The tags of a replacement's new flow log: this run's (flowgate's marker and `--tag`s), then
/// the carried ones for keys this run does not set (a `--tag` given now wins).
pub fn replacement_tags(run_tags: &[(String, String)], carried: &[(String, String)]) -> Vec<(String, String)> {
    let mut tags = run_tags.to_vec();
    tags.extend(carried.iter().filter(|(key, _)| !run_tags.iter().any(|(k, _)| k == key)).cloned());
    tags
}

/// What to do in one region.
#[derive(Debug, Clone)]
pub struct RegionPlan {
    pub region: String,
    /// When the oldest flow log to the bucket in this region was created (Unix seconds): delivery
    /// is due about 10 minutes after.
    pub oldest_to_bucket: Option<i64>,
    pub coverage: Vec<VpcCoverage>,
    pub create: Vec<String>,
    pub replace: Vec<Replacement>,
    /// VPCs whose flow log to the bucket is not as wanted and is left alone, for want of
    /// `--replace` or `--replace-unmanaged`.
    pub left_alone: Vec<LeftAlone>,
}

impl RegionPlan {
    pub fn pending(&self) -> usize {
        self.create.len() + self.replace.len()
    }
}

/// The flow logs to the bucket on the account's own VPCs (those `enable` creates or replaces).
pub fn flow_logs_to_bucket<'a>(desired: &DesiredFlowLog, account: &str, vpcs: &[Vpc], flow_logs: &'a [ExistingFlowLog]) -> Vec<&'a ExistingFlowLog> {
    flow_logs
        .iter()
        .filter(|f| vpcs.iter().any(|v| v.id == f.resource_id && v.shared_from(account).is_none()))
        .filter(|f| f.s3_destination().is_some_and(|(bucket, _)| bucket == desired.bucket.as_str()))
        .collect()
}

/// `account` is the caller's: VPCs shared from other accounts are reported, never planned.
pub fn plan_region(
    region: &str,
    account: &str,
    desired: &DesiredFlowLog,
    vpcs: &[Vpc],
    flow_logs: &[ExistingFlowLog],
    scope: ReplaceScope,
) -> RegionPlan {
    let coverage: Vec<VpcCoverage> = vpcs.iter().map(|vpc| assess_vpc(desired, account, vpc, flow_logs)).collect();
    let oldest_to_bucket = flow_logs_to_bucket(desired, account, vpcs, flow_logs).iter().filter_map(|f| f.created_at).min();
    let mut plan = RegionPlan {
        region: region.to_owned(),
        oldest_to_bucket,
        coverage: Vec::new(),
        create: Vec::new(),
        replace: Vec::new(),
        left_alone: Vec::new(),
    };
    let by_id = |ids: &[String]| -> Vec<&ExistingFlowLog> { ids.iter().filter_map(|id| flow_logs.iter().find(|f| &f.id == id)).collect() };
    for vpc in &coverage {
        match &vpc.state {
            VpcState::Shared { .. } => {}
            VpcState::Compliant { flow_log_id } => {
                let reordered: Vec<&ExistingFlowLog> =
                    by_id(std::slice::from_ref(flow_log_id)).into_iter().filter(|f| field_order_differs(desired, f)).collect();
                if !reordered.is_empty() {
                    let reasons = vec![format!("{flow_log_id}: {OTHER_ORDER}")];
                    plan_replacement(&mut plan, &vpc.vpc_id, &reordered, reasons, true, scope);
                }
            }
            VpcState::Missing => plan.create.push(vpc.vpc_id.clone()),
            VpcState::NonCompliant { flow_log_ids, reasons } => {
                plan_replacement(&mut plan, &vpc.vpc_id, &by_id(flow_log_ids), reasons.clone(), false, scope)
            }
        }
    }
    plan.coverage = coverage;
    plan
}

/// Replaces the flow logs `scope` allows of `candidates` (the VPC's flow logs to the bucket that
/// are not as wanted) and names the rest as left alone; `compliant` when only their field order
/// differs.
fn plan_replacement(
    plan: &mut RegionPlan,
    vpc_id: &str,
    candidates: &[&ExistingFlowLog],
    reasons: Vec<String>,
    compliant: bool,
    scope: ReplaceScope,
) {
    let (replaced, kept): (Vec<&ExistingFlowLog>, Vec<&ExistingFlowLog>) = candidates.iter().partition(|f| scope.may_replace(f));
    if replaced.is_empty() {
        plan.left_alone.push(LeftAlone {
            vpc_id: vpc_id.to_owned(),
            reasons,
            flowgates: kept.iter().filter(|f| f.is_managed()).map(|f| f.id.clone()).collect(),
            unmanaged: kept.iter().filter(|f| !f.is_managed()).map(|f| UnmanagedFlowLog::of(f)).collect(),
            compliant,
        });
        return;
    }
    plan.replace.push(Replacement {
        vpc_id: vpc_id.to_owned(),
        old_flow_log_ids: replaced.iter().map(|f| f.id.clone()).collect(),
        reasons,
        unmanaged: replaced.iter().filter(|f| !f.is_managed()).map(|f| UnmanagedFlowLog::of(f)).collect(),
        left_alone: kept.iter().map(|f| UnmanagedFlowLog::of(f)).collect(),
        carried_tags: carried_tags(&replaced),
    });
}

fn replace_detail(replacement: &Replacement) -> String {
    let old: Vec<String> = replacement
        .old_flow_log_ids
        .iter()
        .map(|id| match replacement.unmanaged.iter().find(|u| &u.id == id) {
            Some(unmanaged) => unmanaged.describe(),
            None => format!("{id} (flowgate's)"),
        })
        .collect();
    let mut detail = format!("create the correct flow log, then delete {} ({})", old.join(", "), replacement.reasons.join("; "));
    if !replacement.carried_tags.is_empty() {
        detail.push_str(&format!("; the new flow log keeps the tags {}", tags_text(&replacement.carried_tags)));
    }
    if !replacement.left_alone.is_empty() {
        let named: Vec<String> = replacement.left_alone.iter().map(UnmanagedFlowLog::describe).collect();
        detail.push_str(&format!("; left alone: {} (re-run with --replace-unmanaged to replace it too)", named.join(", ")));
    }
    detail
}

/// What a left-alone VPC's line says: why, and which flag would replace which flow log.
fn left_alone_detail(left: &LeftAlone) -> String {
    let mut remedies = Vec::new();
    if !left.flowgates.is_empty() {
        remedies.push(format!("re-run with --replace to replace {}", left.flowgates.join(", ")));
    }
    if !left.unmanaged.is_empty() {
        let named: Vec<String> = left.unmanaged.iter().map(UnmanagedFlowLog::describe).collect();
        remedies.push(format!("{}: left alone, re-run with --replace-unmanaged to replace it", named.join(", ")));
    }
    if remedies.is_empty() {
        remedies.push("re-run with --replace to replace it".to_owned());
    }
    if left.compliant {
        format!("compliant ({}); {}", left.reasons.join("; "), remedies.join("; "))
    } else {
        format!("non-compliant ({}): {}", left.reasons.join("; "), remedies.join("; "))
    }
}

/// The plan as change entries, one per VPC (and one per flow log to another destination).
pub fn region_changes(plan: &RegionPlan) -> Vec<Change> {
    let mut changes = Vec::new();
    for vpc in &plan.coverage {
        let replacement = plan.replace.iter().find(|r| r.vpc_id == vpc.vpc_id);
        let left_alone = plan.left_alone.iter().find(|l| l.vpc_id == vpc.vpc_id);
        let change = match (&vpc.state, replacement, left_alone) {
            (_, Some(replacement), _) => Change::new("replace-flow-log", &vpc.vpc_id, ChangeStatus::Planned, replace_detail(replacement)),
            (VpcState::Compliant { .. }, None, Some(left)) => {
                Change::new("keep-flow-log", &vpc.vpc_id, ChangeStatus::Skipped, left_alone_detail(left))
            }
            (VpcState::Compliant { flow_log_id }, None, None) => {
                Change::new("keep-flow-log", &vpc.vpc_id, ChangeStatus::Skipped, format!("compliant flow log {flow_log_id}"))
            }
            (VpcState::Missing, ..) => Change::new("create-flow-log", &vpc.vpc_id, ChangeStatus::Planned, "no flow log to the bucket: create one"),
            (VpcState::Shared { owner_id }, ..) => Change::new("shared-vpc", &vpc.vpc_id, ChangeStatus::Skipped, shared_detail(owner_id)),
            (VpcState::NonCompliant { reasons, .. }, None, left) => {
                let default = LeftAlone { vpc_id: vpc.vpc_id.clone(), reasons: reasons.clone(), ..LeftAlone::default() };
                Change::new("replace-flow-log", &vpc.vpc_id, ChangeStatus::Blocked, left_alone_detail(left.unwrap_or(&default)))
            }
        };
        changes.push(change.in_region(&plan.region));
        for other in &vpc.other_flow_logs {
            changes.push(Change::new("other-flow-log", &vpc.vpc_id, ChangeStatus::Skipped, other.describe()).in_region(&plan.region));
        }
    }
    changes
}

/// How a VPC shared from another account is reported everywhere (enable, status, verify).
pub fn shared_detail(owner_id: &str) -> String {
    format!("shared from {owner_id}: its owner enables flow logs")
}

/// The flow logs `disable` deletes: flowgate-tagged, on the selected VPCs (all when none named),
/// and to `bucket` when one is named.
pub fn select_for_disable<'a>(flow_logs: &'a [ExistingFlowLog], vpcs: &[String], bucket: Option<&BucketName>) -> Vec<&'a ExistingFlowLog> {
    flow_logs
        .iter()
        .filter(|f| f.is_managed())
        .filter(|f| vpcs.is_empty() || vpcs.contains(&f.resource_id))
        .filter(|f| bucket.is_none_or(|b| f.s3_destination().is_some_and(|(name, _)| name == b.as_str())))
        .collect()
}

/// What `disable` leaves of `flow_logs` besides `selected`: (flowgate's flow logs not selected,
/// flow logs that are not flowgate's). flowgate's are told by the same predicate as in every plan.
pub fn kept_by_disable(flow_logs: &[ExistingFlowLog], selected: &[&ExistingFlowLog]) -> (usize, usize) {
    let kept = flow_logs.iter().filter(|f| !selected.iter().any(|s| s.id == f.id));
    kept.fold((0, 0), |(flowgates, others), f| if f.is_managed() { (flowgates + 1, others) } else { (flowgates, others + 1) })
}

/// The flow logs that still deliver to `bucket` once `selected` are deleted (another team's, or
/// flowgate's on VPCs not selected): while any is left, the bucket must stay.
pub fn kept_to_bucket<'a>(flow_logs: &'a [ExistingFlowLog], selected: &[&ExistingFlowLog], bucket: &BucketName) -> Vec<&'a ExistingFlowLog> {
    flow_logs
        .iter()
        .filter(|f| !selected.iter().any(|s| s.id == f.id))
        .filter(|f| f.s3_destination().is_some_and(|(name, _)| name == bucket.as_str()))
        .collect()
}

/// A region as DescribeRegions reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionInfo {
    pub name: String,
    pub opt_in_status: Option<String>,
}

/// The regions flowgate works in: enabled for the account (`opt-in-not-required` or `opted-in`)
/// and in the caller's partition (the emulator lists every partition's regions; AWS lists one).
pub fn usable_regions(all: &[RegionInfo], partition: &str) -> Vec<String> {
    let mut usable: Vec<String> = all
        .iter()
        .filter(|r| matches!(r.opt_in_status.as_deref(), None | Some("opt-in-not-required") | Some("opted-in")))
        .filter(|r| partition_of_region(&r.name) == partition)
        .map(|r| r.name.clone())
        .collect();
    usable.sort();
    usable.dedup();
    usable
}

/// Narrows the usable regions to the requested ones; a requested region that is unknown or not
/// enabled is an input error naming it.
pub fn select_regions(usable: &[String], all: &[RegionInfo], requested: &[String]) -> Result<Vec<String>, String> {
    if requested.is_empty() {
        return Ok(usable.to_vec());
    }
    let mut selected = Vec::new();
    for region in requested {
        if usable.contains(region) {
            if !selected.contains(region) {
                selected.push(region.clone());
            }
        } else if all.iter().any(|r| &r.name == region) {
            return Err(format!("region {region} is not enabled for this account (or not in its partition)"));
        } else {
            return Err(format!("region {region} is unknown to this account's partition"));
        }
    }
    Ok(selected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{extended_fields, required_fields};

    const ACCOUNT: &str = "123456789012";

    fn desired() -> DesiredFlowLog {
        DesiredFlowLog {
            partition: "aws".into(),
            bucket: "flow-bucket".parse().unwrap(),
            prefix: None,
            format: LogFormat::required(),
            traffic_type: TrafficType::All,
            max_aggregation_interval: 600,
            options: DestinationOptions::default(),
        }
    }

    fn vpc(id: &str) -> Vpc {
        Vpc { id: id.into(), is_default: false, name: None, owner_id: Some(ACCOUNT.into()) }
    }

    fn flow_log(id: &str, vpc: &str, destination: &str, format: Option<String>) -> ExistingFlowLog {
        ExistingFlowLog {
            id: id.into(),
            resource_id: vpc.into(),
            destination_type: "s3".into(),
            destination: Some(destination.into()),
            log_format: format,
            traffic_type: Some("ALL".into()),
            status: Some("ACTIVE".into()),
            deliver_status: Some("SUCCESS".into()),
            max_aggregation_interval: Some(600),
            ..ExistingFlowLog::default()
        }
    }

    fn managed(flow_log: ExistingFlowLog) -> ExistingFlowLog {
        let mut tags = flow_log.tags.clone();
        tags.push((MANAGED_TAG_KEY.into(), MANAGED_TAG_VALUE.into()));
        ExistingFlowLog { tags, ..flow_log }
    }

    fn compliant(id: &str, vpc: &str) -> ExistingFlowLog {
        flow_log(id, vpc, "arn:aws:s3:::flow-bucket", Some(LogFormat::required().to_api()))
    }

    #[test]
    fn destination_arns() {
        let mut d = desired();
        assert_eq!(d.destination_arn(), "arn:aws:s3:::flow-bucket");
        d.prefix = Some("team/net".parse().unwrap());
        assert_eq!(d.destination_arn(), "arn:aws:s3:::flow-bucket/team/net/");
        let f = flow_log("fl-1", "vpc-1", "arn:aws:s3:::flow-bucket/team/net/", None);
        assert_eq!(f.s3_destination(), Some(("flow-bucket".into(), Some("team/net".into()))));
        assert!(noncompliance(&d, &f).iter().all(|r| !r.contains("prefix")));
        let no_slash = flow_log("fl-1", "vpc-1", "arn:aws:s3:::flow-bucket/team/net", None);
        assert_eq!(no_slash.s3_destination(), f.s3_destination());
    }

    #[test]
    fn plans_create_keep_and_blocked() {
        let vpcs = [vpc("vpc-a"), vpc("vpc-b"), vpc("vpc-c"), vpc("vpc-d")];
        let flow_logs = [
            compliant("fl-a", "vpc-a"),
            // flowgate's, in the default format: lacks tcp-flags.
            managed(flow_log("fl-b", "vpc-b", "arn:aws:s3:::flow-bucket", Some(LogFormat::default_v2().to_api()))),
            // Another team's CloudWatch flow log: not ours, and the VPC still needs one.
            ExistingFlowLog {
                id: "fl-c".into(),
                resource_id: "vpc-c".into(),
                destination_type: "cloud-watch-logs".into(),
                destination: Some("arn:aws:logs:eu-west-1:1:log-group:team".into()),
                ..ExistingFlowLog::default()
            },
        ];
        let plan = plan_region("eu-west-1", ACCOUNT, &desired(), &vpcs, &flow_logs, ReplaceScope::Nothing);
        assert_eq!(plan.create, ["vpc-c", "vpc-d"]);
        assert_eq!(plan.left_alone.iter().map(|l| l.vpc_id.as_str()).collect::<Vec<_>>(), ["vpc-b"]);
        assert!(plan.replace.is_empty());
        let changes = region_changes(&plan);
        let b = changes.iter().find(|c| c.resource == "vpc-b").unwrap();
        assert_eq!(b.status, ChangeStatus::Blocked);
        assert!(b.detail.contains("format lacks tcp-flags") && b.detail.contains("--replace"), "{}", b.detail);
        let other = changes.iter().find(|c| c.action == "other-flow-log").unwrap();
        assert!(other.detail.contains("cloud-watch-logs") && other.detail.contains("left alone"));

        let replacing = plan_region("eu-west-1", ACCOUNT, &desired(), &vpcs, &flow_logs, ReplaceScope::Flowgates);
        assert_eq!(
            replacing.replace,
            [Replacement {
                vpc_id: "vpc-b".into(),
                old_flow_log_ids: vec!["fl-b".into()],
                reasons: vec!["fl-b: format lacks tcp-flags".into()],
                ..Replacement::default()
            }]
        );
        assert_eq!(replacing.pending(), 3);
    }

    #[test]
    fn vpcs_shared_from_another_account_are_reported_never_planned() {
        // A participant account sees the owner's VPC in DescribeVpcs with the owner's OwnerId;
        // only the owner can create its flow logs (VPC User Guide, "Share your VPC").
        let shared = Vpc { owner_id: Some("999988887777".into()), ..vpc("vpc-shared") };
        // OwnerId missing (not reported): treated as the caller's own VPC.
        let unknown_owner = Vpc { owner_id: None, ..vpc("vpc-own") };
        let vpcs = [shared.clone(), unknown_owner, vpc("vpc-a")];
        // Even a flow log on the shared VPC listed by mistake must not count as ours.
        let flow_logs = [compliant("fl-a", "vpc-a"), ExistingFlowLog { created_at: Some(5), ..compliant("fl-s", "vpc-shared") }];
        for scope in [ReplaceScope::Nothing, ReplaceScope::AlsoUnmanaged] {
            let plan = plan_region("eu-west-1", ACCOUNT, &desired(), &vpcs, &flow_logs, scope);
            assert_eq!(plan.create, ["vpc-own"], "only the account's own uncovered VPC");
            assert!(plan.replace.is_empty() && plan.left_alone.is_empty());
            assert_eq!(plan.oldest_to_bucket, None, "the shared VPC's flow log is not flowgate's");
            assert_eq!(plan.coverage[0].state, VpcState::Shared { owner_id: "999988887777".into() });
            let changes = region_changes(&plan);
            let change = changes.iter().find(|c| c.resource == "vpc-shared").unwrap();
            assert_eq!((change.action.as_str(), change.status), ("shared-vpc", ChangeStatus::Skipped));
            assert_eq!(change.detail, "shared from 999988887777: its owner enables flow logs");
        }
        assert_eq!(shared.shared_from(ACCOUNT), Some("999988887777"));
        assert_eq!(shared.shared_from("999988887777"), None, "the owner's own view");
    }

    #[test]
    fn compliant_everywhere_plans_nothing() {
        let vpcs = [vpc("vpc-a"), vpc("vpc-b")];
        let flow_logs = [compliant("fl-a", "vpc-a"), compliant("fl-b", "vpc-b")];
        let plan = plan_region("us-east-1", ACCOUNT, &desired(), &vpcs, &flow_logs, ReplaceScope::AlsoUnmanaged);
        assert_eq!(plan.pending(), 0);
        assert!(region_changes(&plan).iter().all(|c| c.status == ChangeStatus::Skipped));
    }

    #[test]
    fn extra_fields_and_other_order_are_compliant() {
        let mut fields: Vec<&str> = extended_fields(false);
        fields.reverse();
        let f = flow_log("fl-a", "vpc-a", "arn:aws:s3:::flow-bucket", Some(LogFormat::new(&fields).to_api()));
        assert!(noncompliance(&desired(), &f).is_empty());
    }

    fn to_bucket(id: &str, vpc: &str, tags: &[(&str, &str)]) -> ExistingFlowLog {
        let tags = tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        ExistingFlowLog { tags, ..flow_log(id, vpc, "arn:aws:s3:::flow-bucket", Some(LogFormat::default_v2().to_api())) }
    }

    fn change_of<'a>(changes: &'a [Change], vpc: &str) -> &'a Change {
        changes.iter().find(|c| c.resource == vpc && c.action != "other-flow-log").unwrap()
    }

    /// `--replace` replaces flowgate's flow logs only; one that is not flowgate's (another team's,
    /// tagged owner=netops, or untagged) is named in the plan and replaced only with
    /// `--replace-unmanaged`.
    #[test]
    fn a_flow_log_not_flowgates_is_replaced_only_with_replace_unmanaged() {
        let vpcs = [vpc("vpc-a"), vpc("vpc-b"), vpc("vpc-c")];
        let flow_logs = [
            to_bucket("fl-netops", "vpc-a", &[("owner", "netops")]),
            to_bucket("fl-bare", "vpc-b", &[]),
            managed(to_bucket("fl-ours", "vpc-c", &[("team", "x")])),
            to_bucket("fl-theirs", "vpc-c", &[("owner", "netops")]),
        ];
        let plan = plan_region("eu-west-1", ACCOUNT, &desired(), &vpcs, &flow_logs, ReplaceScope::Flowgates);
        assert_eq!(plan.replace.len(), 1);
        let c = &plan.replace[0];
        assert_eq!((c.vpc_id.as_str(), c.old_flow_log_ids.clone()), ("vpc-c", vec!["fl-ours".to_owned()]));
        assert_eq!(c.left_alone, [UnmanagedFlowLog { id: "fl-theirs".into(), tags: vec![("owner".into(), "netops".into())] }]);
        let changes = region_changes(&plan);
        let a = change_of(&changes, "vpc-a");
        assert_eq!(a.status, ChangeStatus::Blocked);
        assert!(a.detail.contains("fl-netops (NOT flowgate's: no flowgate:managed=true tag, tagged owner=netops)"), "{}", a.detail);
        assert!(a.detail.contains("left alone, re-run with --replace-unmanaged to replace it"), "{}", a.detail);
        assert!(!a.detail.contains("--replace to"), "--replace would not replace it: {}", a.detail);
        let b = change_of(&changes, "vpc-b");
        assert!(b.detail.contains("fl-bare (NOT flowgate's: no flowgate:managed=true tag, untagged)"), "{}", b.detail);
        let vpc_c = change_of(&changes, "vpc-c");
        assert_eq!(vpc_c.status, ChangeStatus::Planned);
        assert!(vpc_c.detail.contains("then delete fl-ours (flowgate's)"), "{}", vpc_c.detail);
        assert!(vpc_c.detail.contains("left alone: fl-theirs (NOT flowgate's"), "{}", vpc_c.detail);
        assert!(vpc_c.detail.contains("the new flow log keeps the tags team=x"), "{}", vpc_c.detail);

        let all = plan_region("eu-west-1", ACCOUNT, &desired(), &vpcs, &flow_logs, ReplaceScope::AlsoUnmanaged);
        assert!(all.left_alone.is_empty());
        let ids: Vec<Vec<String>> = all.replace.iter().map(|r| r.old_flow_log_ids.clone()).collect();
        assert_eq!(ids, [vec!["fl-netops".to_owned()], vec!["fl-bare".to_owned()], vec!["fl-ours".to_owned(), "fl-theirs".to_owned()]]);
        assert!(all.replace[0].carried_tags.is_empty(), "another team's tags do not move to flowgate's flow log");
        let changes = region_changes(&all);
        let a = change_of(&changes, "vpc-a");
        assert!(a.detail.contains("then delete fl-netops (NOT flowgate's: no flowgate:managed=true tag, tagged owner=netops)"), "{}", a.detail);

        let none = plan_region("eu-west-1", ACCOUNT, &desired(), &vpcs, &flow_logs, ReplaceScope::Nothing);
        let vpc_c = change_of(&region_changes(&none), "vpc-c").detail.clone();
        assert!(vpc_c.contains("re-run with --replace to replace fl-ours") && vpc_c.contains("fl-theirs (NOT flowgate's"), "{vpc_c}");
    }

    #[test]
    fn a_replaced_flowgate_flow_log_keeps_its_user_tags() {
        let old = managed(to_bucket("fl-old", "vpc-a", &[("team", "x"), ("aws:cloudformation:stack-name", "s"), ("cost", "1")]));
        let older = managed(to_bucket("fl-older", "vpc-a", &[("team", "y"), ("env", "prod")]));
        let plan = plan_region("eu-west-1", ACCOUNT, &desired(), &[vpc("vpc-a")], &[old, older], ReplaceScope::Flowgates);
        let carried = &plan.replace[0].carried_tags;
        let pairs: Vec<(&str, &str)> = carried.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(pairs, [("team", "x"), ("cost", "1"), ("env", "prod")], "no marker, no aws: key, first value wins");
        let run = vec![(MANAGED_TAG_KEY.to_owned(), MANAGED_TAG_VALUE.to_owned()), ("cost".to_owned(), "2".to_owned())];
        let tags = replacement_tags(&run, carried);
        let pairs: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(pairs, [(MANAGED_TAG_KEY, MANAGED_TAG_VALUE), ("cost", "2"), ("team", "x"), ("env", "prod")], "this run's --tag wins");
    }

    /// The `--format` fields in another order: compliant (readers go by the header line), yet not
    /// what was asked: the plan says so and `--replace` applies the order.
    #[test]
    fn same_fields_in_another_order_is_said_and_applied_by_replace() {
        let mut fields = required_fields();
        fields.swap(3, 4);
        let reordered = flow_log("fl-r", "vpc-a", "arn:aws:s3:::flow-bucket", Some(LogFormat::new(&fields).to_api()));
        assert!(noncompliance(&desired(), &reordered).is_empty(), "compliant: status and verify pass it");
        assert!(field_order_differs(&desired(), &reordered));
        assert!(!field_order_differs(&desired(), &compliant("fl-a", "vpc-a")));
        let mut extra = extended_fields(false);
        extra.reverse();
        let superset = flow_log("fl-x", "vpc-a", "arn:aws:s3:::flow-bucket", Some(LogFormat::new(&extra).to_api()));
        assert!(!field_order_differs(&desired(), &superset), "extra fields: replacing would drop them");

        let vpcs = [vpc("vpc-a")];
        let plan = plan_region("eu-west-1", ACCOUNT, &desired(), &vpcs, std::slice::from_ref(&reordered), ReplaceScope::Nothing);
        assert_eq!(plan.pending(), 0);
        let keep = change_of(&region_changes(&plan), "vpc-a").clone();
        assert_eq!((keep.action.as_str(), keep.status), ("keep-flow-log", ChangeStatus::Skipped));
        assert!(keep.detail.contains("fl-r: same fields, other order: --replace applies the order"), "{}", keep.detail);

        let ours = managed(reordered.clone());
        let plan = plan_region("eu-west-1", ACCOUNT, &desired(), &vpcs, std::slice::from_ref(&ours), ReplaceScope::Flowgates);
        assert_eq!(plan.replace.len(), 1);
        let change = change_of(&region_changes(&plan), "vpc-a").clone();
        assert_eq!((change.action.as_str(), change.status), ("replace-flow-log", ChangeStatus::Planned));
        assert!(change.detail.contains(OTHER_ORDER), "{}", change.detail);
        // Not flowgate's: named, and only --replace-unmanaged applies the order.
        let plan = plan_region("eu-west-1", ACCOUNT, &desired(), &vpcs, std::slice::from_ref(&reordered), ReplaceScope::Flowgates);
        assert_eq!(plan.pending(), 0);
        assert!(change_of(&region_changes(&plan), "vpc-a").detail.contains("--replace-unmanaged"));
        // A compliant flow log in the asked order beside it: nothing to say.
        let both = [reordered, compliant("fl-a", "vpc-a")];
        let plan = plan_region("eu-west-1", ACCOUNT, &desired(), &vpcs, &both, ReplaceScope::AlsoUnmanaged);
        assert_eq!(plan.pending(), 0);
        assert_eq!(change_of(&region_changes(&plan), "vpc-a").detail, "compliant flow log fl-a");
    }

    #[test]
    fn every_mismatch_is_named() {
        let mut d = desired();
        d.prefix = Some("p".parse().unwrap());
        let f = ExistingFlowLog {
            traffic_type: Some("REJECT".into()),
            max_aggregation_interval: Some(60),
            status: Some("ACTIVE".into()),
            deliver_status: Some("FAILED".into()),
            deliver_error: Some("Access error".into()),
            options: Some(DestinationOptions { file_format: FileFormat::Parquet, ..DestinationOptions::default() }),
            ..compliant("fl-a", "vpc-a")
        };
        let reasons = noncompliance(&d, &f);
        for expected in ["prefix", "traffic type REJECT", "aggregation interval 60s", "parquet", "delivery failed: Access error"] {
            assert!(reasons.iter().any(|r| r.contains(expected)), "{expected}: {reasons:?}");
        }
    }

    #[test]
    fn a_compliant_flow_log_wins_over_a_stale_one() {
        let vpcs = [vpc("vpc-a")];
        let flow_logs = [flow_log("fl-old", "vpc-a", "arn:aws:s3:::flow-bucket", None), compliant("fl-new", "vpc-a")];
        let coverage = assess_vpc(&desired(), ACCOUNT, &vpcs[0], &flow_logs);
        assert_eq!(coverage.state, VpcState::Compliant { flow_log_id: "fl-new".into() });
    }

    #[test]
    fn disable_selects_only_managed_flow_logs() {
        let mut managed = compliant("fl-1", "vpc-a");
        managed.tags = vec![(MANAGED_TAG_KEY.into(), "true".into())];
        let mut managed_b = compliant("fl-2", "vpc-b");
        managed_b.tags = managed.tags.clone();
        let unmanaged = compliant("fl-3", "vpc-a");
        let all = [managed, managed_b, unmanaged];
        let ids = |v: Vec<&ExistingFlowLog>| v.iter().map(|f| f.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(select_for_disable(&all, &[], None)), ["fl-1", "fl-2"]);
        assert_eq!(ids(select_for_disable(&all, &["vpc-b".into()], None)), ["fl-2"]);
        let other: BucketName = "other-bucket".parse().unwrap();
        assert!(select_for_disable(&all, &[], Some(&other)).is_empty());
    }

    /// A flow log tagged flowgate:managed=true is flowgate's whatever its bucket: the plan of
    /// another bucket says so, and `disable` (which offboard runs) deletes it unless --bucket
    /// names another bucket.
    #[test]
    fn a_tagged_flow_log_to_another_bucket_is_flowgates_in_every_plan() {
        let tags = vec![(MANAGED_TAG_KEY.to_owned(), MANAGED_TAG_VALUE.to_owned())];
        let earlier = ExistingFlowLog { tags, ..flow_log("fl-old", "vpc-a", "arn:aws:s3:::old-bucket", None) };
        let team = flow_log("fl-team", "vpc-a", "arn:aws:s3:::team-bucket", None);
        let all = [earlier.clone(), team];
        let plan = plan_region("eu-west-1", ACCOUNT, &desired(), &[vpc("vpc-a")], &all, ReplaceScope::Nothing);
        let others = &plan.coverage[0].other_flow_logs;
        assert_eq!(others.iter().map(|o| (o.id.as_str(), o.managed)).collect::<Vec<_>>(), [("fl-old", true), ("fl-team", false)]);
        let details: Vec<String> = region_changes(&plan).into_iter().filter(|c| c.action == "other-flow-log").map(|c| c.detail).collect();
        assert!(details[0].contains("flowgate's (tagged flowgate:managed=true)") && !details[0].contains("not flowgate's"), "{}", details[0]);
        assert!(details[0].contains("flowgate flowlogs disable --bucket old-bucket"), "{}", details[0]);
        assert!(details[1].contains("not flowgate's, left alone"), "{}", details[1]);

        let ids = |v: Vec<&ExistingFlowLog>| v.iter().map(|f| f.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(select_for_disable(&all, &[], None)), ["fl-old"]);
        let old: BucketName = "old-bucket".parse().unwrap();
        assert_eq!(ids(select_for_disable(&all, &[], Some(&old))), ["fl-old"]);
        let other = select_for_disable(&all, &[], Some(&desired().bucket));
        assert!(other.is_empty());
        assert_eq!(kept_by_disable(&all, &other), (1, 1), "flowgate's to old-bucket kept and counted as flowgate's");
        assert_eq!(kept_by_disable(&all, &[&earlier]), (0, 1));
    }

    #[test]
    fn regions_are_filtered_by_opt_in_and_partition() {
        let all = [
            RegionInfo { name: "us-east-1".into(), opt_in_status: Some("opt-in-not-required".into()) },
            RegionInfo { name: "af-south-1".into(), opt_in_status: Some("not-opted-in".into()) },
            RegionInfo { name: "ap-east-1".into(), opt_in_status: Some("opted-in".into()) },
            RegionInfo { name: "cn-north-1".into(), opt_in_status: Some("opt-in-not-required".into()) },
            RegionInfo { name: "us-gov-west-1".into(), opt_in_status: None },
        ];
        let usable = usable_regions(&all, "aws");
        assert_eq!(usable, ["ap-east-1", "us-east-1"]);
        assert_eq!(select_regions(&usable, &all, &["us-east-1".into()]).unwrap(), ["us-east-1"]);
        assert!(select_regions(&usable, &all, &["af-south-1".into()]).unwrap_err().contains("not enabled"));
        assert!(select_regions(&usable, &all, &["mars-east-1".into()]).unwrap_err().contains("unknown"));
        assert_eq!(usable_regions(&all, "aws-us-gov"), ["us-gov-west-1"]);
    }

    #[test]
    fn parses_traffic_and_file_formats() {
        assert_eq!("accept".parse::<TrafficType>().unwrap(), TrafficType::Accept);
        assert!("some".parse::<TrafficType>().is_err());
        assert_eq!("parquet".parse::<FileFormat>().unwrap(), FileFormat::Parquet);
        assert!("csv".parse::<FileFormat>().is_err());
    }
}
