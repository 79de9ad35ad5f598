//! What the flow-log bucket should look like, compared with what it is: the plan for
//! `bucket create` and the checks for `bucket check` (and `verify`).

use serde::Serialize;

use super::bucket_policy::{self, DeliveryTarget};
use super::names::{BucketName, LogPrefix, Tag};
use super::report::{Change, ChangeStatus, Check};

/// The lifecycle rule flowgate owns in a bucket's lifecycle configuration; other rules are kept.
/// A rule for another prefix (after `--prefix` changed) gets this id with the prefix appended.
pub const LIFECYCLE_RULE_ID: &str = "flowgate-expire-flow-logs";

/// What the user asked for.
#[derive(Debug, Clone)]
pub struct BucketSpec {
    pub bucket: BucketName,
    /// Where to create the bucket when it does not exist (and where it must be when one is named).
    pub region: String,
    pub region_required: bool,
    pub prefix: Option<LogPrefix>,
    pub hive_partitions: bool,
    pub expire_days: Option<i32>,
    pub tags: Vec<Tag>,
    pub fix_encryption: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum BucketExistence {
    Missing,
    Owned {
        region: String,
    },
    /// HeadBucket answered 403: another account owns the name, or the caller may not see it.
    Forbidden,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum DefaultEncryption {
    /// No configuration reported (the emulator's answer for a new bucket; real S3 then uses SSE-S3).
    NotConfigured,
    SseS3,
    Kms {
        algorithm: String,
        key: Option<String>,
    },
    Other {
        algorithm: String,
    },
}

impl DefaultEncryption {
    pub fn from_algorithm(algorithm: &str, key: Option<String>) -> Self {
        match algorithm {
            "AES256" => DefaultEncryption::SseS3,
            "aws:kms" | "aws:kms:dsse" => DefaultEncryption::Kms { algorithm: algorithm.to_owned(), key },
            other => DefaultEncryption::Other { algorithm: other.to_owned() },
        }
    }

    pub fn is_kms(&self) -> bool {
        matches!(self, DefaultEncryption::Kms { .. })
    }

    /// Why `bucket` is refused as the flow-log bucket with this default encryption (SSE-KMS);
    /// `None` when flowgate accepts it. `bucket create` and the wizard judge by this.
    pub fn kms_refusal(&self, bucket: &str) -> Option<BucketPlanError> {
        match self {
            DefaultEncryption::Kms { algorithm, key } => Some(BucketPlanError::KmsEncrypted {
                bucket: bucket.to_owned(),
                algorithm: algorithm.clone(),
                key: key.as_ref().map(|k| format!(", key {k}")).unwrap_or_default(),
            }),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct PublicAccessBlock {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

impl PublicAccessBlock {
    pub const ALL: PublicAccessBlock =
        PublicAccessBlock { block_public_acls: true, ignore_public_acls: true, block_public_policy: true, restrict_public_buckets: true };
}

/// One of flowgate's lifecycle rules (id starting with LIFECYCLE_RULE_ID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpirationRule {
    pub id: String,
    /// The key prefix it filters on (`None`: the whole bucket).
    pub prefix: Option<String>,
    pub days: Option<i32>,
    pub enabled: bool,
}

/// A flow log of the account that delivers to the bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveringFlowLog {
    pub region: String,
    pub id: String,
    /// Its key prefix in the bucket (`None`: no prefix, straight under `AWSLogs/`).
    pub prefix: Option<String>,
}

/// Where the account's flow logs deliver in the bucket, as far as it could be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowLogUse {
    pub delivering: Vec<DeliveringFlowLog>,
    /// (region, why) for every region whose flow logs could not be read.
    pub unread: Vec<(String, String)>,
}

/// Whether any flow log still writes under a granted delivery path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathUse {
    /// Flow logs deliver there ("fl-1 in eu-west-1").
    InUse(Vec<String>),
    Unused,
    /// Not known: some region could not be read (or flow logs were not read at all).
    Unknown(String),
}

/// Whether a flow log writes under `path` (a granted key path such as `AWSLogs/123456789012/`):
/// a flow log with prefix P writes under `P/AWSLogs/...`.
pub fn path_use(flow_logs: Option<&FlowLogUse>, path: &str) -> PathUse {
    let Some(flow_logs) = flow_logs else { return PathUse::Unknown("the account's flow logs were not read".into()) };
    let users: Vec<String> = flow_logs
        .delivering
        .iter()
        .filter(|f| {
            let root = lifecycle_prefix_of(f.prefix.as_deref());
            root.starts_with(path) || path.starts_with(&root)
        })
        .map(|f| format!("{} in {}", f.id, f.region))
        .collect();
    if !users.is_empty() {
        PathUse::InUse(users)
    } else if !flow_logs.unread.is_empty() {
        let regions: Vec<String> = flow_logs.unread.iter().map(|(region, why)| format!("{region}: {why}")).collect();
        PathUse::Unknown(format!("flow logs could not be read in {}", regions.join("; ")))
    } else {
        PathUse::Unused
    }
}

/// A bucket of the account as the wizard lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedBucket {
    pub name: String,
    /// Its region, or why it could not be read.
    pub region: Result<String, String>,
    /// Its default encryption, or why it could not be read.
    pub encryption: Result<DefaultEncryption, String>,
}

/// What the adapters read about the bucket. For a missing bucket only `existence` is meaningful.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketObservation {
    pub existence: BucketExistence,
    pub public_access_block: Option<PublicAccessBlock>,
    pub object_ownership: Option<String>,
    pub policy: Option<String>,
    pub encryption: DefaultEncryption,
    /// flowgate's expiration rules, if the bucket has any.
    pub expiration_rules: Vec<ExpirationRule>,
    pub tags: Vec<Tag>,
    /// Where the account's flow logs deliver in this bucket; read only when the policy grants a
    /// delivery path other than the wanted one (`None`: not read).
    pub flow_log_use: Option<FlowLogUse>,
}

impl BucketObservation {
    pub fn missing() -> Self {
        BucketObservation {
            existence: BucketExistence::Missing,
            public_access_block: None,
            object_ownership: None,
            policy: None,
            encryption: DefaultEncryption::NotConfigured,
            expiration_rules: Vec::new(),
            tags: Vec::new(),
            flow_log_use: None,
        }
    }
}

/// One step of a bucket plan, with what the adapter needs to carry it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BucketAction {
    CreateBucket { region: String },
    PutPublicAccessBlock,
    PutOwnershipControls,
    PutBucketPolicy { document: String },
    PutEncryptionSseS3,
    PutLifecycleExpiration { days: i32, prefix: String, id: String },
    PutTagging { tags: Vec<Tag> },
}

impl BucketAction {
    /// The name shown in plans and in the JSON `changes` list.
    pub fn name(&self) -> &'static str {
        match self {
            BucketAction::CreateBucket { .. } => "create-bucket",
            BucketAction::PutPublicAccessBlock => "put-public-access-block",
            BucketAction::PutOwnershipControls => "put-ownership-controls",
            BucketAction::PutBucketPolicy { .. } => "put-bucket-policy",
            BucketAction::PutEncryptionSseS3 => "put-bucket-encryption",
            BucketAction::PutLifecycleExpiration { .. } => "put-lifecycle-configuration",
            BucketAction::PutTagging { .. } => "put-bucket-tagging",
        }
    }
}

/// A plan: the steps to apply (in order) and a change entry for every property, applied or not.
#[derive(Debug, Clone)]
pub struct BucketPlan {
    pub region: String,
    pub steps: Vec<(BucketAction, usize)>,
    pub changes: Vec<Change>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BucketPlanError {
    #[error("bucket {bucket} exists but is not yours (HeadBucket was refused)")]
    NotOwned { bucket: String },
    #[error("bucket {bucket} already exists in {actual}, not in {wanted}")]
    WrongRegion { bucket: String, actual: String, wanted: String },
    #[error(
        "bucket {bucket} encrypts new objects with SSE-KMS ({algorithm}{key}): the vendor's role cannot read KMS-encrypted flow logs without kms:Decrypt on that key"
    )]
    KmsEncrypted { bucket: String, algorithm: String, key: String },
    #[error("bucket {bucket} has a bucket policy flowgate cannot read: {reason}")]
    UnreadablePolicy { bucket: String, reason: String },
    /// The bucket's tags with the requested ones would pass S3's 50 per bucket (`limits`).
    #[error("bucket {bucket} holds {existing} tag(s); with the --tag(s) it would hold {total}, over S3's limit of {limit} tags per bucket")]
    TooManyTags { bucket: String, existing: usize, total: usize, limit: usize },
}

impl BucketPlanError {
    pub fn hint(&self) -> String {
        match self {
            BucketPlanError::NotOwned { .. } => "choose another bucket name (S3 names are global), or check that you may s3:ListBucket it".into(),
            BucketPlanError::WrongRegion { actual, .. } => {
                format!("pass --bucket-region {actual} to adopt it, or choose another bucket name")
            }
            BucketPlanError::KmsEncrypted { .. } => {
                "re-run with --fix-encryption to set the default to SSE-S3 (AES256); objects already written stay as they are".into()
            }
            BucketPlanError::UnreadablePolicy { .. } => "fix the bucket policy's JSON (aws s3api get-bucket-policy) and re-run".into(),
            BucketPlanError::TooManyTags { bucket, total, limit, .. } => format!(
                "remove {} tag(s) the bucket no longer needs (aws s3api get-bucket-tagging / put-bucket-tagging --bucket {bucket}), or pass fewer --tag, then re-run",
                total - limit
            ),
        }
    }
}

fn delivery_target<'a>(spec: &'a BucketSpec, partition: &'a str, account: &'a str) -> DeliveryTarget<'a> {
    DeliveryTarget { partition, bucket: &spec.bucket, prefix: spec.prefix.as_ref(), account, hive_partitions: spec.hive_partitions }
}

/// The prefix flowgate's lifecycle rule expires: everything flow logs are delivered under.
pub fn lifecycle_prefix(prefix: Option<&LogPrefix>) -> String {
    lifecycle_prefix_of(prefix.map(LogPrefix::as_str))
}

fn lifecycle_prefix_of(prefix: Option<&str>) -> String {
    match prefix.map(|p| p.trim_matches('/')).filter(|p| !p.is_empty()) {
        Some(p) => format!("{p}/AWSLogs/"),
        None => "AWSLogs/".into(),
    }
}

/// What to do about the expiration of `prefix` after `days`: `None` when one of flowgate's rules
/// already does exactly that; otherwise the rule id to write (the rule for that prefix, or a new
/// one: a rule for another prefix is kept, its objects still expire).
pub fn expiration_rule_to_write(rules: &[ExpirationRule], prefix: &str, days: i32) -> Option<String> {
    let same_prefix = rules.iter().find(|r| r.prefix.as_deref() == Some(prefix));
    match same_prefix {
        Some(rule) if rule.enabled && rule.days == Some(days) => None,
        Some(rule) => Some(rule.id.clone()),
        None if !rules.iter().any(|r| r.id == LIFECYCLE_RULE_ID) => Some(LIFECYCLE_RULE_ID.to_owned()),
        None => {
            let suffix: String = prefix.trim_end_matches('/').chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect();
            Some(format!("{LIFECYCLE_RULE_ID}-{suffix}"))
        }
    }
}

/// Delivery paths flowgate's policy statement grants besides the wanted one (an earlier
/// `--prefix`): when there are any, the command reads where the account's flow logs deliver.
pub fn old_delivery_paths(spec: &BucketSpec, observed: &BucketObservation, partition: &str, account: &str) -> Vec<String> {
    let desired = bucket_policy::delivery_statements(&delivery_target(spec, partition, account));
    match bucket_policy::merge_delivery_statements(observed.policy.as_deref(), &desired, &|_| false) {
        Ok(merge) => merge.kept_resources.iter().filter_map(|r| bucket_policy::resource_path(r, partition, &spec.bucket)).collect(),
        Err(_) => Vec::new(),
    }
}

fn describe_use(path: &str, usage: &PathUse, removing: bool) -> String {
    match usage {
        PathUse::InUse(users) => format!("keep {path}: flow logs still deliver there ({})", users.join(", ")),
        PathUse::Unused if removing => format!("remove {path}: no flow log delivers there (--remove-old-paths)"),
        PathUse::Unused => format!("keep {path}: no flow log delivers there any more (--remove-old-paths removes it)"),
        PathUse::Unknown(why) => format!("keep {path}: {why}"),
    }
}

/// Tags after adding the requested ones; `None` when every requested tag is already set.
pub fn merged_tags(existing: &[Tag], requested: &[Tag]) -> Option<Vec<Tag>> {
    let already = requested.iter().all(|want| existing.iter().any(|have| have == want));
    if already {
        return None;
    }
    let mut merged: Vec<Tag> = existing.iter().filter(|have| !requested.iter().any(|want| want.key == have.key)).cloned().collect();
    merged.extend(requested.iter().cloned());
    Some(merged)
}

/// S3 holds at most 50 tags per bucket and PutBucketTagging replaces the whole set: with the
/// bucket's own tags the set to put may pass it although the --tags alone do not.
fn check_tag_count(bucket: &str, existing: &[Tag], merged: Option<&[Tag]>) -> Result<(), BucketPlanError> {
    match merged.and_then(|tags| super::limits::tags_breach(format!("bucket {bucket}"), tags, 0)) {
        None => Ok(()),
        Some(breach) => Err(BucketPlanError::TooManyTags {
            bucket: bucket.to_owned(),
            existing: existing.iter().filter(|t| !t.key.to_ascii_lowercase().starts_with("aws:")).count(),
            total: breach.size,
            limit: breach.limit,
        }),
    }
}

/// The plan for `bucket create`. `remove_old_paths` (`--remove-old-paths`) removes delivery paths
/// of an earlier `--prefix` from flowgate's policy statement once no flow log of the account
/// delivers there; without it they are kept.
// Over 80 lines: one short section per bucket property, in the order the plan lists and applies
// them (create, public access, ownership, encryption, policy, lifecycle, tags); a candidate to split
// into one function per property.
pub fn plan_bucket(
    spec: &BucketSpec,
    observed: &BucketObservation,
    partition: &str,
    account: &str,
    remove_old_paths: bool,
) -> Result<BucketPlan, BucketPlanError> {
    let bucket = spec.bucket.to_string();
    let mut plan = BucketPlan { region: spec.region.clone(), steps: Vec::new(), changes: Vec::new() };
    let step = |plan: &mut BucketPlan, needed: Option<BucketAction>, name: &'static str, detail: String| {
        let status = if needed.is_some() { ChangeStatus::Planned } else { ChangeStatus::Skipped };
        plan.changes.push(Change::new(name, &bucket, status, detail));
        if let Some(action) = needed {
            let index = plan.changes.len() - 1;
            plan.steps.push((action, index));
        }
    };

    let missing = match &observed.existence {
        BucketExistence::Forbidden => return Err(BucketPlanError::NotOwned { bucket }),
        BucketExistence::Owned { region } => {
            if spec.region_required && region != &spec.region {
                return Err(BucketPlanError::WrongRegion { bucket, actual: region.clone(), wanted: spec.region.clone() });
            }
            plan.region = region.clone();
            // Named without --bucket-region, a bucket elsewhere than the home region is adopted
            // where it is: the plan says so, as it decides where the flow logs are stored.
            let detail = if !spec.region_required && region != &spec.region {
                format!("adopting bucket in {region} (not the home region {}): exists there, owned by this account", spec.region)
            } else {
                format!("exists in {region}, owned by this account: adopted")
            };
            step(&mut plan, None, "create-bucket", detail);
            false
        }
        BucketExistence::Missing => {
            let region = spec.region.clone();
            step(
                &mut plan,
                Some(BucketAction::CreateBucket { region: region.clone() }),
                "create-bucket",
                format!("create in {region}, ACLs disabled (BucketOwnerEnforced)"),
            );
            true
        }
    };

    if let Some(refusal) = observed.encryption.kms_refusal(&bucket) {
        if !spec.fix_encryption {
            return Err(refusal);
        }
    }

    let pab_ok = observed.public_access_block == Some(PublicAccessBlock::ALL);
    step(
        &mut plan,
        (!pab_ok).then_some(BucketAction::PutPublicAccessBlock),
        "put-public-access-block",
        if pab_ok { "all public access already blocked".into() } else { "block all public access".into() },
    );

    // New buckets are created with BucketOwnerEnforced, so only an adopted bucket may need it.
    let ownership_ok = missing || observed.object_ownership.as_deref() == Some("BucketOwnerEnforced");
    step(
        &mut plan,
        (!ownership_ok).then_some(BucketAction::PutOwnershipControls),
        "put-ownership-controls",
        if ownership_ok {
            "object ownership is BucketOwnerEnforced".into()
        } else {
            format!("set object ownership to BucketOwnerEnforced (was {})", observed.object_ownership.as_deref().unwrap_or("not set"))
        },
    );

    let desired = bucket_policy::delivery_statements(&delivery_target(spec, partition, account));
    let usage_of = |resource: &str| {
        bucket_policy::resource_path(resource, partition, &spec.bucket).map(|path| {
            let usage = path_use(observed.flow_log_use.as_ref(), &path);
            (path, usage)
        })
    };
    // An old path goes only when asked to and no flow log of the account delivers there.
    let retire = |resource: &str| remove_old_paths && usage_of(resource).is_some_and(|(_, usage)| usage == PathUse::Unused);
    let merge = bucket_policy::merge_delivery_statements(observed.policy.as_deref(), &desired, &retire)
        .map_err(|e| BucketPlanError::UnreadablePolicy { bucket: bucket.clone(), reason: e.to_string() })?;
    let path_of = |resource: &String| bucket_policy::resource_path(resource, partition, &spec.bucket).unwrap_or_else(|| resource.clone());
    let mut paths = Vec::new();
    if !merge.added_resources.is_empty() {
        paths.push(format!("add path {}", merge.added_resources.iter().map(path_of).collect::<Vec<_>>().join(", ")));
    }
    for resource in merge.kept_resources.iter().chain(&merge.removed_resources) {
        let removing = merge.removed_resources.contains(resource);
        paths.push(match usage_of(resource) {
            Some((path, usage)) => describe_use(&path, &usage, removing),
            None => format!("keep {resource}"),
        });
    }
    match merge.document {
        Some(document) => {
            let mut what = Vec::new();
            if !merge.added.is_empty() {
                what.push(format!("add {}", merge.added.join(", ")));
            }
            if !merge.updated.is_empty() {
                what.push(format!("update {}", merge.updated.join(", ")));
            }
            what.extend(paths);
            if merge.kept > 0 {
                what.push(format!("keep {} existing statement(s)", merge.kept));
            }
            step(
                &mut plan,
                Some(BucketAction::PutBucketPolicy { document }),
                "put-bucket-policy",
                format!("flow-log delivery policy: {}", what.join("; ")),
            );
        }
        None if paths.is_empty() => step(&mut plan, None, "put-bucket-policy", "flow-log delivery statements already present".into()),
        None => step(&mut plan, None, "put-bucket-policy", format!("flow-log delivery statements already present; {}", paths.join("; "))),
    }

    match &observed.encryption {
        DefaultEncryption::Kms { algorithm, .. } => step(
            &mut plan,
            Some(BucketAction::PutEncryptionSseS3),
            "put-bucket-encryption",
            format!("replace default encryption {algorithm} with SSE-S3 (AES256), which the vendor can read; objects already written keep theirs"),
        ),
        DefaultEncryption::SseS3 | DefaultEncryption::NotConfigured => {
            step(&mut plan, None, "put-bucket-encryption", "no SSE-KMS: objects are SSE-S3, readable cross-account".into())
        }
        DefaultEncryption::Other { algorithm } => {
            step(&mut plan, None, "put-bucket-encryption", format!("default encryption {algorithm} is not KMS"))
        }
    }

    if let Some(days) = spec.expire_days {
        let prefix = lifecycle_prefix(spec.prefix.as_ref());
        let to_write = expiration_rule_to_write(&observed.expiration_rules, &prefix, days);
        let others: Vec<String> = observed
            .expiration_rules
            .iter()
            .filter(|r| r.prefix.as_deref() != Some(prefix.as_str()))
            .map(|r| format!("{} ({})", r.prefix.as_deref().unwrap_or("whole bucket"), r.id))
            .collect();
        let kept = if others.is_empty() { String::new() } else { format!("; rule(s) for {} kept", others.join(", ")) };
        let detail = if to_write.is_none() {
            format!("objects under {prefix} already expire after {days} days{kept}")
        } else {
            format!("expire objects under {prefix} after {days} days (other lifecycle rules kept){kept}")
        };
        step(
            &mut plan,
            to_write.map(|id| BucketAction::PutLifecycleExpiration { days, prefix: prefix.clone(), id }),
            "put-lifecycle-configuration",
            detail,
        );
    }

    if !spec.tags.is_empty() {
        let merged = merged_tags(&observed.tags, &spec.tags);
        check_tag_count(&bucket, &observed.tags, merged.as_deref())?;
        let names: Vec<String> = spec.tags.iter().map(|t| format!("{}={}", t.key, t.value)).collect();
        let detail =
            if merged.is_some() { format!("set {} (other tags kept)", names.join(", ")) } else { format!("{} already set", names.join(", ")) };
        step(&mut plan, merged.map(|tags| BucketAction::PutTagging { tags }), "put-bucket-tagging", detail);
    }
    Ok(plan)
}

/// The checks of `bucket check`: every property `bucket create` sets, judged pass/warn/fail.
// Over 80 lines: one check per property, in the order the report lists them.
pub fn assess_bucket(spec: &BucketSpec, observed: &BucketObservation, partition: &str, account: &str) -> Vec<Check> {
    let mut checks = Vec::new();
    match &observed.existence {
        BucketExistence::Missing => {
            checks.push(Check::fail(
                "exists",
                format!("bucket {} does not exist", spec.bucket),
                format!("flowgate bucket create --bucket {}", spec.bucket),
            ));
            return checks;
        }
        BucketExistence::Forbidden => {
            checks.push(Check::fail(
                "exists",
                format!("bucket {} is not yours or cannot be read (403)", spec.bucket),
                "check the name and that you may s3:ListBucket it",
            ));
            return checks;
        }
        BucketExistence::Owned { region } => {
            checks.push(Check::pass("exists", format!("owned by this account, in {region}")));
            if spec.region_required && region != &spec.region {
                checks.push(Check::fail(
                    "region",
                    format!("in {region}, expected {}", spec.region),
                    format!("use --bucket-region {region} or another bucket"),
                ));
            } else {
                checks.push(Check::pass("region", region.clone()));
            }
        }
    }

    checks.push(match observed.public_access_block {
        Some(pab) if pab == PublicAccessBlock::ALL => Check::pass("public-access-block", "all four settings on"),
        Some(_) => Check::fail("public-access-block", "some public access settings are off", "flowgate bucket create (blocks all public access)"),
        None => Check::fail("public-access-block", "no public access block configured", "flowgate bucket create (blocks all public access)"),
    });

    checks.push(match observed.object_ownership.as_deref() {
        Some("BucketOwnerEnforced") => Check::pass("object-ownership", "BucketOwnerEnforced (ACLs disabled)"),
        other => Check::warn(
            "object-ownership",
            format!("{}: delivered objects may be owned by the delivery service", other.unwrap_or("not set")),
            "flowgate bucket create (sets BucketOwnerEnforced)",
        ),
    });

    let target = delivery_target(spec, partition, account);
    let desired = bucket_policy::delivery_statements(&target);
    let wanted_path = target.log_path();
    // Every path the delivery service may write to, the wanted one and earlier ones alike.
    let others = match bucket_policy::granted_delivery_paths(observed.policy.as_deref(), partition, &spec.bucket) {
        Ok(paths) => {
            let others: Vec<String> = paths.into_iter().filter(|p| p != &wanted_path).collect();
            if others.is_empty() { String::new() } else { format!("; also grants {} (kept while flow logs deliver there)", others.join(", ")) }
        }
        Err(_) => String::new(),
    };
    checks.push(match bucket_policy::missing_delivery_statements(observed.policy.as_deref(), &desired) {
        Ok(missing) if missing.is_empty() => {
            Check::pass("delivery-policy", format!("flow-log delivery statements present for {wanted_path}{others}"))
        }
        Ok(missing) => Check::fail(
            "delivery-policy",
            format!("missing {} for {wanted_path}{others}", missing.join(", ")),
            "flowgate bucket create (merges them into the policy)",
        ),
        Err(e) => Check::fail("delivery-policy", e.to_string(), "fix the bucket policy's JSON"),
    });

    checks.push(match &observed.encryption {
        DefaultEncryption::Kms { algorithm, key } => Check::fail(
            "encryption",
            format!("default encryption is {algorithm}{}: the vendor cannot decrypt", key.as_ref().map(|k| format!(" ({k})")).unwrap_or_default()),
            "flowgate bucket create --fix-encryption (sets SSE-S3)",
        ),
        DefaultEncryption::SseS3 => Check::pass("encryption", "SSE-S3 (AES256), no KMS"),
        DefaultEncryption::NotConfigured => Check::pass("encryption", "no default encryption configured (S3 applies SSE-S3), no KMS"),
        DefaultEncryption::Other { algorithm } => {
            Check::warn("encryption", format!("unrecognised default encryption {algorithm}"), "check that it is not KMS")
        }
    });

    if let Some(days) = spec.expire_days {
        // A rule is judged by the prefix it filters on as well as its id: a rule for `AWSLogs/`
        // does not expire what is delivered under `net/AWSLogs/`.
        let prefix = lifecycle_prefix(spec.prefix.as_ref());
        let fix =
            format!("flowgate bucket create --expire-days {days}{}", spec.prefix.as_ref().map(|p| format!(" --prefix {p}")).unwrap_or_default());
        let rule = observed.expiration_rules.iter().find(|r| r.prefix.as_deref() == Some(prefix.as_str()));
        checks.push(match rule {
            Some(r) if r.enabled && r.days == Some(days) => Check::pass("lifecycle", format!("flow logs under {prefix} expire after {days} days")),
            Some(r) if !r.enabled => Check::warn("lifecycle", format!("the expiration rule for {prefix} is disabled"), fix),
            Some(r) => Check::warn(
                "lifecycle",
                format!("flow logs under {prefix} expire after {} days, not {days}", r.days.map(|d| d.to_string()).unwrap_or_else(|| "no".into())),
                fix,
            ),
            None if observed.expiration_rules.is_empty() => Check::warn("lifecycle", "no flowgate expiration rule", fix),
            None => {
                let covered: Vec<&str> = observed.expiration_rules.iter().map(|r| r.prefix.as_deref().unwrap_or("the whole bucket")).collect();
                Check::warn("lifecycle", format!("no flowgate expiration rule for {prefix} (rules expire {})", covered.join(", ")), fix)
            }
        });
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::CheckStatus;

    fn spec() -> BucketSpec {
        BucketSpec {
            bucket: "flow-logs".parse().unwrap(),
            region: "eu-west-1".into(),
            region_required: false,
            prefix: None,
            hive_partitions: false,
            expire_days: None,
            tags: Vec::new(),
            fix_encryption: false,
        }
    }

    fn compliant(spec: &BucketSpec) -> BucketObservation {
        let statements = bucket_policy::delivery_statements(&delivery_target(spec, "aws", "123456789012"));
        BucketObservation {
            existence: BucketExistence::Owned { region: "eu-west-1".into() },
            public_access_block: Some(PublicAccessBlock::ALL),
            object_ownership: Some("BucketOwnerEnforced".into()),
            policy: Some(serde_json::json!({"Version": "2012-10-17", "Statement": statements}).to_string()),
            encryption: DefaultEncryption::SseS3,
            expiration_rules: Vec::new(),
            tags: Vec::new(),
            flow_log_use: None,
        }
    }

    fn planned(plan: &BucketPlan) -> Vec<&'static str> {
        plan.steps.iter().map(|(a, _)| a.name()).collect()
    }

    #[test]
    fn missing_bucket_plans_everything_in_order() {
        let plan = plan_bucket(&spec(), &BucketObservation::missing(), "aws", "123456789012", false).unwrap();
        assert_eq!(planned(&plan), ["create-bucket", "put-public-access-block", "put-bucket-policy"]);
        assert_eq!(plan.region, "eu-west-1");
        // Every property is reported, applied or not.
        assert_eq!(plan.changes.len(), 5);
    }

    #[test]
    fn compliant_bucket_plans_nothing() {
        let spec = spec();
        let plan = plan_bucket(&spec, &compliant(&spec), "aws", "123456789012", false).unwrap();
        assert!(plan.steps.is_empty());
        assert!(plan.changes.iter().all(|c| c.status == ChangeStatus::Skipped));
        assert!(assess_bucket(&spec, &compliant(&spec), "aws", "123456789012").iter().all(|c| c.status == CheckStatus::Pass));
    }

    #[test]
    fn adopted_bucket_keeps_its_region() {
        let mut observed = compliant(&spec());
        observed.existence = BucketExistence::Owned { region: "us-west-2".into() };
        let plan = plan_bucket(&spec(), &observed, "aws", "123456789012", false).unwrap();
        assert_eq!(plan.region, "us-west-2");
        let required = BucketSpec { region_required: true, ..spec() };
        assert!(matches!(plan_bucket(&required, &observed, "aws", "123456789012", false), Err(BucketPlanError::WrongRegion { .. })));
    }

    #[test]
    fn kms_is_refused_unless_fixing() {
        let mut observed = compliant(&spec());
        observed.encryption = DefaultEncryption::from_algorithm("aws:kms", Some("alias/x".into()));
        let err = plan_bucket(&spec(), &observed, "aws", "123456789012", false).unwrap_err();
        assert!(err.to_string().contains("SSE-KMS"));
        assert!(err.hint().contains("--fix-encryption"));
        let fixing = BucketSpec { fix_encryption: true, ..spec() };
        assert_eq!(planned(&plan_bucket(&fixing, &observed, "aws", "123456789012", false).unwrap()), ["put-bucket-encryption"]);
        let checks = assess_bucket(&spec(), &observed, "aws", "123456789012");
        assert!(checks.iter().any(|c| c.name == "encryption" && c.status == CheckStatus::Fail));
    }

    #[test]
    fn foreign_bucket_is_an_error() {
        let observed = BucketObservation { existence: BucketExistence::Forbidden, ..BucketObservation::missing() };
        assert!(matches!(plan_bucket(&spec(), &observed, "aws", "1", false), Err(BucketPlanError::NotOwned { .. })));
    }

    /// S3's 50 tags per bucket, counted with the tags the bucket already has: 49 and one more
    /// --tag fit, 50 and one more do not; a --tag that replaces an existing key adds none.
    #[test]
    fn tags_past_fifty_per_bucket_are_refused() {
        let tag = |i: usize| -> Tag { format!("k{i}=v").parse().unwrap() };
        let with = |n: usize| BucketObservation { tags: (0..n).map(tag).collect(), ..compliant(&spec()) };
        let asked = BucketSpec { tags: vec!["team=net".parse().unwrap()], ..spec() };
        let plan = plan_bucket(&asked, &with(49), "aws", "123456789012", false).unwrap();
        assert!(plan.steps.iter().any(|(a, _)| matches!(a, BucketAction::PutTagging { tags } if tags.len() == 50)));
        let err = plan_bucket(&asked, &with(50), "aws", "123456789012", false).unwrap_err();
        assert_eq!(err, BucketPlanError::TooManyTags { bucket: "flow-logs".into(), existing: 50, total: 51, limit: 50 });
        assert!(err.to_string().contains("holds 50 tag(s)") && err.hint().contains("remove 1 tag(s)"), "{err}: {}", err.hint());
        let replacing = BucketSpec { tags: vec!["k3=other".parse().unwrap()], ..spec() };
        assert!(plan_bucket(&replacing, &with(50), "aws", "123456789012", false).is_ok(), "a new value for a key it has adds no tag");
    }

    #[test]
    fn lifecycle_and_tags_only_when_different() {
        let spec = BucketSpec { expire_days: Some(30), tags: vec!["team=net".parse().unwrap()], ..spec() };
        let mut observed = compliant(&spec);
        observed.tags = vec!["owner=ops".parse().unwrap()];
        let plan = plan_bucket(&spec, &observed, "aws", "123456789012", false).unwrap();
        assert_eq!(planned(&plan), ["put-lifecycle-configuration", "put-bucket-tagging"]);
        let Some((BucketAction::PutTagging { tags }, _)) = plan.steps.last() else { panic!("tagging planned") };
        assert_eq!(tags.len(), 2, "existing tag kept");
        observed.expiration_rules =
            vec![ExpirationRule { id: LIFECYCLE_RULE_ID.into(), prefix: Some("AWSLogs/".into()), days: Some(30), enabled: true }];
        observed.tags.push("team=net".parse().unwrap());
        assert!(plan_bucket(&spec, &observed, "aws", "123456789012", false).unwrap().steps.is_empty());
    }

    fn with_prefix(prefix: &str) -> BucketSpec {
        BucketSpec { prefix: Some(prefix.parse().unwrap()), ..spec() }
    }

    fn policy_detail(plan: &BucketPlan) -> String {
        plan.changes.iter().find(|c| c.action == "put-bucket-policy").map(|c| c.detail.clone()).unwrap_or_default()
    }

    fn delivering(prefix: Option<&str>) -> FlowLogUse {
        FlowLogUse {
            delivering: vec![DeliveringFlowLog { region: "eu-west-1".into(), id: "fl-1".into(), prefix: prefix.map(str::to_owned) }],
            unread: Vec::new(),
        }
    }

    /// `bucket create --prefix net` on a bucket granting `AWSLogs/...`: the new path is added, the
    /// old one kept while a flow log delivers there, and the plan says so.
    #[test]
    fn a_new_prefix_adds_a_path_and_keeps_the_delivering_one() {
        let mut observed = compliant(&spec());
        observed.flow_log_use = Some(delivering(None));
        let net = with_prefix("net");
        assert_eq!(old_delivery_paths(&net, &observed, "aws", "123456789012"), ["AWSLogs/123456789012/"]);
        let plan = plan_bucket(&net, &observed, "aws", "123456789012", false).unwrap();
        assert_eq!(planned(&plan), ["put-bucket-policy"]);
        let detail = policy_detail(&plan);
        assert!(detail.contains("add path net/AWSLogs/123456789012/"), "{detail}");
        assert!(detail.contains("keep AWSLogs/123456789012/: flow logs still deliver there (fl-1 in eu-west-1)"), "{detail}");
        assert!(!detail.contains("update"), "{detail}");
        let Some((BucketAction::PutBucketPolicy { document }, _)) = plan.steps.first() else { panic!("policy planned") };
        assert!(document.contains("/AWSLogs/123456789012/*") && document.contains("/net/AWSLogs/123456789012/*"), "{document}");

        // Even with --remove-old-paths, a path a flow log delivers to stays.
        let flagged = plan_bucket(&net, &observed, "aws", "123456789012", true).unwrap();
        let Some((BucketAction::PutBucketPolicy { document: flagged_doc }, _)) = flagged.steps.first() else { panic!("policy planned") };
        assert_eq!(flagged_doc, document);
    }

    #[test]
    fn an_unused_old_path_goes_only_with_the_flag() {
        let mut observed = compliant(&spec());
        let net = with_prefix("net");
        // Applied once: both paths granted.
        observed.flow_log_use = Some(delivering(Some("net")));
        let Some((BucketAction::PutBucketPolicy { document }, _)) =
            plan_bucket(&net, &observed, "aws", "123456789012", false).unwrap().steps.first().cloned()
        else {
            panic!("policy planned")
        };
        observed.policy = Some(document);

        let kept = plan_bucket(&net, &observed, "aws", "123456789012", false).unwrap();
        assert!(kept.steps.is_empty(), "nothing to change without the flag");
        assert!(policy_detail(&kept).contains("keep AWSLogs/123456789012/: no flow log delivers there any more (--remove-old-paths removes it)"));

        let removed = plan_bucket(&net, &observed, "aws", "123456789012", true).unwrap();
        assert_eq!(planned(&removed), ["put-bucket-policy"]);
        assert!(policy_detail(&removed).contains("remove AWSLogs/123456789012/: no flow log delivers there"), "{}", policy_detail(&removed));

        // A region that could not be read may hide a flow log: kept, with the reason.
        observed.flow_log_use = Some(FlowLogUse { delivering: Vec::new(), unread: vec![("ap-south-1".into(), "access denied".into())] });
        let unknown = plan_bucket(&net, &observed, "aws", "123456789012", true).unwrap();
        assert!(unknown.steps.is_empty());
        assert!(policy_detail(&unknown).contains("keep AWSLogs/123456789012/: flow logs could not be read in ap-south-1: access denied"));

        // bucket check --prefix reports both paths.
        let checks = assess_bucket(&net, &observed, "aws", "123456789012");
        let policy = checks.iter().find(|c| c.name == "delivery-policy").unwrap();
        assert_eq!(policy.status, CheckStatus::Pass);
        assert!(
            policy.detail.contains("net/AWSLogs/123456789012/") && policy.detail.contains("also grants AWSLogs/123456789012/"),
            "{}",
            policy.detail
        );
    }

    /// A lifecycle rule filtering `AWSLogs/` does not expire what is delivered under `net/AWSLogs/`.
    #[test]
    fn lifecycle_rule_is_judged_by_its_prefix() {
        let net = BucketSpec { expire_days: Some(30), ..with_prefix("net") };
        let mut observed = compliant(&spec());
        observed.flow_log_use = Some(delivering(None));
        observed.expiration_rules =
            vec![ExpirationRule { id: LIFECYCLE_RULE_ID.into(), prefix: Some("AWSLogs/".into()), days: Some(30), enabled: true }];
        let plan = plan_bucket(&net, &observed, "aws", "123456789012", false).unwrap();
        let lifecycle = plan.steps.iter().find_map(|(a, _)| match a {
            BucketAction::PutLifecycleExpiration { days, prefix, id } => Some((*days, prefix.clone(), id.clone())),
            _ => None,
        });
        assert_eq!(lifecycle, Some((30, "net/AWSLogs/".to_owned(), format!("{LIFECYCLE_RULE_ID}-net-AWSLogs"))));
        let checks = assess_bucket(&net, &observed, "aws", "123456789012");
        let check = checks.iter().find(|c| c.name == "lifecycle").unwrap();
        assert_eq!(check.status, CheckStatus::Warn, "{check:?}");
        assert!(check.detail.contains("no flowgate expiration rule for net/AWSLogs/"), "{}", check.detail);

        // Both rules present: nothing to do, and the old one is named as kept.
        observed.expiration_rules.push(ExpirationRule {
            id: format!("{LIFECYCLE_RULE_ID}-net-AWSLogs"),
            prefix: Some("net/AWSLogs/".into()),
            days: Some(30),
            enabled: true,
        });
        let plan = plan_bucket(&net, &observed, "aws", "123456789012", false).unwrap();
        assert!(!planned(&plan).contains(&"put-lifecycle-configuration"));
        let detail = &plan.changes.iter().find(|c| c.action == "put-lifecycle-configuration").unwrap().detail;
        assert!(detail.contains("rule(s) for AWSLogs/ (flowgate-expire-flow-logs) kept"), "{detail}");
    }

    #[test]
    fn adopting_outside_the_home_region_is_said_in_the_plan() {
        let mut observed = compliant(&spec());
        observed.existence = BucketExistence::Owned { region: "eu-central-1".into() };
        let plan = plan_bucket(&spec(), &observed, "aws", "123456789012", false).unwrap();
        let create = plan.changes.iter().find(|c| c.action == "create-bucket").unwrap();
        assert!(create.detail.starts_with("adopting bucket in eu-central-1 (not the home region eu-west-1)"), "{}", create.detail);
        // In the home region it is a plain adoption.
        let home = plan_bucket(&spec(), &compliant(&spec()), "aws", "123456789012", false).unwrap();
        assert!(home.changes.iter().any(|c| c.detail.contains("exists in eu-west-1, owned by this account: adopted")));
    }
}
