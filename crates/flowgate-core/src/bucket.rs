//! What the flow-log bucket should look like, compared with what it is: the plan for
//! `bucket create` and the checks for `bucket check` (and `verify`).

use serde::Serialize;

use super::bucket_policy::{self, DeliveryTarget};
use super::delivery_policy::delivery_policy_check;
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpirationRule {
    pub id: String,
    /// The key prefix it filters on (`None`: the whole bucket).
    pub prefix: Option<String>,
    pub days: Option<i32>,
    pub enabled: bool,
    /// `NoncurrentVersionExpiration.NoncurrentDays`: when earlier versions go (versioned bucket).
    pub noncurrent_days: Option<i32>,
    /// An `Expiration.ExpiredObjectDeleteMarker` rule: it removes delete markers left alone.
    pub delete_markers: bool,
}

/// The suffix of the rule that removes expired delete markers beside an expiration rule: S3 takes
/// `ExpiredObjectDeleteMarker` only in an Expiration element without `Days` or `Date`
/// (LifecycleExpiration, Amazon S3 API Reference:
/// https://docs.aws.amazon.com/AmazonS3/latest/API/API_LifecycleExpiration.html), so it is a rule
/// of its own.
pub const DELETE_MARKER_RULE_SUFFIX: &str = "-delete-markers";

/// A grant of the bucket ACL (GetBucketAcl) other than the owner's FULL_CONTROL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclGrant {
    pub grantee: AclGrantee,
    /// READ, WRITE, READ_ACP, WRITE_ACP or FULL_CONTROL.
    pub permission: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AclGrantee {
    /// A predefined group, by its URI (`http://acs.amazonaws.com/groups/s3/LogDelivery`).
    Group(String),
    /// An account, by its canonical user id.
    CanonicalUser {
        id: String,
        display_name: Option<String>,
    },
    Email(String),
}

impl AclGrant {
    /// How plans name it: the permission and to whom, groups by what they mean.
    pub fn describe(&self) -> String {
        let grantee = match &self.grantee {
            AclGrantee::Group(uri) => match uri.rsplit('/').next().unwrap_or(uri) {
                "LogDelivery" => format!("the S3 log-delivery group ({uri})"),
                "AllUsers" => format!("everyone ({uri})"),
                "AuthenticatedUsers" => format!("every AWS account ({uri})"),
                _ => format!("the group {uri}"),
            },
            AclGrantee::CanonicalUser { id, display_name: Some(name) } => format!("account {name} (canonical user {id})"),
            AclGrantee::CanonicalUser { id, display_name: None } => format!("another account (canonical user {id})"),
            AclGrantee::Email(email) => format!("the account of {email}"),
        };
        format!("{} to {grantee}", self.permission)
    }
}

/// S3 Object Lock on the bucket (GetObjectLockConfiguration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectLock {
    /// The default retention ("GOVERNANCE 30 days"), if the bucket sets one.
    pub default_retention: Option<String>,
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
    /// The bucket ACL's grants other than the owner's FULL_CONTROL; read by `bucket create` only
    /// when object ownership is to become BucketOwnerEnforced (`None`: not read).
    pub acl_grants: Option<Vec<AclGrant>>,
    /// `Enabled` or `Suspended` once versioning was ever turned on (`None`: never, or not read);
    /// read by `bucket create` with `--expire-days`.
    pub versioning: Option<String>,
    /// Object Lock, when the bucket has it; read by `bucket create` with `--expire-days`.
    pub object_lock: Option<ObjectLock>,
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
            acl_grants: None,
            versioning: None,
            object_lock: None,
        }
    }

    /// Whether expiring an object leaves its data behind as a noncurrent version: on a bucket
    /// whose versioning is enabled or suspended, lifecycle expiration only adds a delete marker
    /// ("Expiring objects", Amazon S3 User Guide:
    /// https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-expire-general-considerations.html).
    pub fn versioned(&self) -> bool {
        matches!(self.versioning.as_deref(), Some("Enabled" | "Suspended"))
    }
}

/// One step of a bucket plan, with what the adapter needs to carry it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BucketAction {
    CreateBucket {
        region: String,
    },
    PutPublicAccessBlock,
    PutOwnershipControls,
    PutBucketPolicy {
        document: String,
    },
    PutEncryptionSseS3,
    /// flowgate's expiration rule `id` for `prefix`; on a versioned bucket also the expiry of
    /// noncurrent versions and a rule `delete_marker_id` removing expired delete markers.
    PutLifecycleExpiration {
        days: i32,
        prefix: String,
        id: String,
        noncurrent_days: Option<i32>,
        delete_marker_id: Option<String>,
    },
    PutTagging {
        tags: Vec<Tag>,
    },
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

impl BucketPlan {
    /// Adds a change line for `bucket`: planned with its step when `needed`, skipped otherwise.
    fn step(&mut self, bucket: &str, needed: Option<BucketAction>, name: &'static str, detail: String) {
        let status = if needed.is_some() { ChangeStatus::Planned } else { ChangeStatus::Skipped };
        self.changes.push(Change::new(name, bucket, status, detail));
        if let Some(action) = needed {
            self.steps.push((action, self.changes.len() - 1));
        }
    }
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

/// The lifecycle rules to write so that objects under a prefix expire as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleWrite {
    /// The expiration rule's id: the rule for that prefix, or a new one.
    pub id: String,
    /// On a versioned bucket: when noncurrent versions go.
    pub noncurrent_days: Option<i32>,
    /// On a versioned bucket: the rule removing expired delete markers.
    pub delete_marker_id: Option<String>,
}

/// What to do about the expiration of `prefix` after `days`: `None` when flowgate's rules already
/// do exactly that; otherwise the rules to write (the rule for that prefix, or a new one: a rule
/// for another prefix is kept, its objects still expire). On a `versioned` bucket the data only
/// goes with `NoncurrentVersionExpiration`, and the delete markers left behind with a rule of their
/// own (see [`DELETE_MARKER_RULE_SUFFIX`]).
pub fn lifecycle_to_write(rules: &[ExpirationRule], prefix: &str, days: i32, versioned: bool) -> Option<LifecycleWrite> {
    let for_prefix: Vec<&ExpirationRule> = rules.iter().filter(|r| r.prefix.as_deref() == Some(prefix)).collect();
    let expiring = for_prefix.iter().find(|r| !r.delete_markers);
    let markers = for_prefix.iter().find(|r| r.delete_markers);
    let expiring_right = expiring.is_some_and(|r| r.enabled && r.days == Some(days) && (!versioned || r.noncurrent_days == Some(days)));
    let markers_right = !versioned || markers.is_some_and(|r| r.enabled);
    if expiring_right && markers_right {
        return None;
    }
    let id = match expiring {
        Some(rule) => rule.id.clone(),
        None if !rules.iter().any(|r| r.id == LIFECYCLE_RULE_ID) => LIFECYCLE_RULE_ID.to_owned(),
        None => {
            let suffix: String = prefix.trim_end_matches('/').chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect();
            format!("{LIFECYCLE_RULE_ID}-{suffix}")
        }
    };
    let delete_marker_id = versioned.then(|| markers.map(|r| r.id.clone()).unwrap_or_else(|| format!("{id}{DELETE_MARKER_RULE_SUFFIX}")));
    // NoncurrentDays = days: an expired object stays recoverable as a noncurrent version for as
    // long again (what a versioned bucket is kept for), then its data is deleted; the plan says
    // that this makes about twice `days` in all.
    Some(LifecycleWrite { id, noncurrent_days: versioned.then_some(days), delete_marker_id })
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
// One short section per bucket property, in the order the plan lists and applies them (create,
// public access, ownership, policy, encryption, lifecycle, tags); the longer ones are functions.
pub fn plan_bucket(
    spec: &BucketSpec,
    observed: &BucketObservation,
    partition: &str,
    account: &str,
    remove_old_paths: bool,
) -> Result<BucketPlan, BucketPlanError> {
    let bucket = spec.bucket.to_string();
    let mut plan = BucketPlan { region: spec.region.clone(), steps: Vec::new(), changes: Vec::new() };
    let step = |plan: &mut BucketPlan, needed: Option<BucketAction>, name: &'static str, detail: String| plan.step(&bucket, needed, name, detail);

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

    plan_ownership(&mut plan, &bucket, observed, missing);

    plan_policy(&mut plan, &bucket, spec, observed, (partition, account), remove_old_paths)?;

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
        plan_lifecycle(&mut plan, &bucket, spec, observed, days);
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

/// flowgate's delivery statements merged into the bucket policy; the plan names every delivery
/// path it adds, keeps or removes, and why.
fn plan_policy(
    plan: &mut BucketPlan,
    bucket: &str,
    spec: &BucketSpec,
    observed: &BucketObservation,
    (partition, account): (&str, &str),
    remove_old_paths: bool,
) -> Result<(), BucketPlanError> {
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
        .map_err(|e| BucketPlanError::UnreadablePolicy { bucket: bucket.to_owned(), reason: e.to_string() })?;
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
            plan.step(
                bucket,
                Some(BucketAction::PutBucketPolicy { document }),
                "put-bucket-policy",
                format!("flow-log delivery policy: {}", what.join("; ")),
            );
        }
        None if paths.is_empty() => plan.step(bucket, None, "put-bucket-policy", "flow-log delivery statements already present".into()),
        None => plan.step(bucket, None, "put-bucket-policy", format!("flow-log delivery statements already present; {}", paths.join("; "))),
    }
    Ok(())
}

/// Object ownership BucketOwnerEnforced, which new buckets are created with: only an adopted
/// bucket may need it. The switch disables every ACL of the bucket and its objects ("Controlling
/// ownership of objects and disabling ACLs", Amazon S3 User Guide:
/// https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html), so the plan
/// names the bucket ACL's grants that would stop working. While the bucket ACL grants anyone but
/// the owner, S3 refuses the switch (InvalidBucketAclWithObjectOwnership: "Troubleshooting",
/// https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-ownership-error-responses.html):
/// no flag could make flowgate's PUT pass short of resetting the ACL, and those grants are not
/// flowgate's to remove. So such a switch is blocked with the grants named and the way to migrate
/// them; without such grants it is planned, with a line saying ACLs stop applying (the prompt, or
/// --yes, then confirms it).
fn plan_ownership(plan: &mut BucketPlan, bucket: &str, observed: &BucketObservation, missing: bool) {
    let was = observed.object_ownership.as_deref().unwrap_or("not set");
    if missing || observed.object_ownership.as_deref() == Some("BucketOwnerEnforced") {
        plan.step(bucket, None, "put-ownership-controls", "object ownership is BucketOwnerEnforced".into());
        return;
    }
    match observed.acl_grants.as_deref() {
        Some(grants) if !grants.is_empty() => {
            let named: Vec<String> = grants.iter().map(AclGrant::describe).collect();
            let detail = format!(
                "object ownership is {was}: BucketOwnerEnforced would disable every ACL, and the bucket ACL grants {}: \
                 they would stop working. S3 refuses the switch while the bucket ACL grants anyone but the owner \
                 (InvalidBucketAclWithObjectOwnership) and flowgate removes no grant that is not its own: move what they \
                 allow to the bucket policy, reset the ACL (aws s3api put-bucket-acl --bucket {bucket} --acl private), then re-run",
                named.join("; ")
            );
            plan.changes.push(Change::new("put-ownership-controls", bucket, ChangeStatus::Blocked, detail));
        }
        Some(_) => plan.step(
            bucket,
            Some(BucketAction::PutOwnershipControls),
            "put-ownership-controls",
            format!(
                "set object ownership to BucketOwnerEnforced (was {was}): ACLs stop applying; the bucket ACL grants only the owner's \
                 FULL_CONTROL (ACLs of existing objects stop applying too)"
            ),
        ),
        None => plan.step(
            bucket,
            Some(BucketAction::PutOwnershipControls),
            "put-ownership-controls",
            format!("set object ownership to BucketOwnerEnforced (was {was}): every ACL of the bucket and its objects stops applying"),
        ),
    }
}

/// `--expire-days`: flowgate's expiration rule for the delivery path, and on a versioned bucket
/// what makes expiry delete the data; the plan says what expiry does on such a bucket.
fn plan_lifecycle(plan: &mut BucketPlan, bucket: &str, spec: &BucketSpec, observed: &BucketObservation, days: i32) {
    let prefix = lifecycle_prefix(spec.prefix.as_ref());
    let versioned = observed.versioned();
    let to_write = lifecycle_to_write(&observed.expiration_rules, &prefix, days, versioned);
    let others: Vec<String> = observed
        .expiration_rules
        .iter()
        .filter(|r| r.prefix.as_deref() != Some(prefix.as_str()))
        .map(|r| format!("{} ({})", r.prefix.as_deref().unwrap_or("whole bucket"), r.id))
        .collect();
    let kept = if others.is_empty() { String::new() } else { format!("; rule(s) for {} kept", others.join(", ")) };
    let mut detail = if to_write.is_none() {
        format!("objects under {prefix} already expire after {days} days{kept}")
    } else {
        format!("expire objects under {prefix} after {days} days (other lifecycle rules kept){kept}")
    };
    if versioned {
        let markers = to_write.as_ref().and_then(|w| w.delete_marker_id.clone()).unwrap_or_else(|| "its own rule".into());
        detail.push_str(&format!(
            "; versioning is {}: expiry only adds a delete marker and keeps the data as a noncurrent version (still billed), \
             so noncurrent versions are deleted {days} days later (about {} days after delivery in all) and delete markers \
             left alone are removed ({markers})",
            observed.versioning.as_deref().unwrap_or("on"),
            2 * i64::from(days)
        ));
    }
    if let Some(lock) = &observed.object_lock {
        // Lifecycle rules do not delete a locked version ("Managing S3 Lifecycle policies with
        // Object Lock", Amazon S3 User Guide:
        // https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html#object-lock-managing-lifecycle).
        let retention = lock.default_retention.as_ref().map(|r| format!(", default retention {r}")).unwrap_or_default();
        detail.push_str(&format!(
            "; Object Lock is on{retention}: object versions under a retention period or legal hold are not deleted before it ends"
        ));
    }
    let action = to_write.map(|w| BucketAction::PutLifecycleExpiration {
        days,
        prefix: prefix.clone(),
        id: w.id,
        noncurrent_days: w.noncurrent_days,
        delete_marker_id: w.delete_marker_id,
    });
    plan.step(bucket, action, "put-lifecycle-configuration", detail);
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

    // The delivery statements, and every Deny that stops the log delivery service.
    checks.push(delivery_policy_check(observed.policy.as_deref(), &delivery_target(spec, partition, account)));

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
        let rule = observed.expiration_rules.iter().find(|r| r.prefix.as_deref() == Some(prefix.as_str()) && !r.delete_markers);
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

    /// The expiry rule an earlier `--expire-days 30` wrote, as S3 returns it.
    fn flowgate_rule_30_days() -> ExpirationRule {
        ExpirationRule { id: LIFECYCLE_RULE_ID.into(), prefix: Some("AWSLogs/".into()), days: Some(30), enabled: true, ..ExpirationRule::default() }
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
            acl_grants: None,
            versioning: None,
            object_lock: None,
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
        observed.expiration_rules = vec![flowgate_rule_30_days()];
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
        observed.expiration_rules = vec![flowgate_rule_30_days()];
        let plan = plan_bucket(&net, &observed, "aws", "123456789012", false).unwrap();
        let lifecycle = plan.steps.iter().find_map(|(a, _)| match a {
            BucketAction::PutLifecycleExpiration { days, prefix, id, .. } => Some((*days, prefix.clone(), id.clone())),
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
            ..ExpirationRule::default()
        });
        let plan = plan_bucket(&net, &observed, "aws", "123456789012", false).unwrap();
        assert!(!planned(&plan).contains(&"put-lifecycle-configuration"));
        let detail = &plan.changes.iter().find(|c| c.action == "put-lifecycle-configuration").unwrap().detail;
        assert!(detail.contains("rule(s) for AWSLogs/ (flowgate-expire-flow-logs) kept"), "{detail}");
    }

    fn change<'a>(plan: &'a BucketPlan, action: &str) -> &'a Change {
        plan.changes.iter().find(|c| c.action == action).unwrap()
    }

    /// BucketOwnerEnforced disables every ACL: a bucket ACL granting others (the log-delivery
    /// group's WRITE, another account's READ) is named, and the switch, which S3 refuses while such
    /// grants exist, is blocked rather than left to fail.
    #[test]
    fn switching_ownership_names_the_acl_grants_that_stop_working() {
        let mut observed = compliant(&spec());
        observed.object_ownership = Some("ObjectWriter".into());
        observed.acl_grants = Some(vec![
            AclGrant { grantee: AclGrantee::Group("http://acs.amazonaws.com/groups/s3/LogDelivery".into()), permission: "WRITE".into() },
            AclGrant { grantee: AclGrantee::CanonicalUser { id: "abc123".into(), display_name: None }, permission: "READ".into() },
        ]);
        let plan = plan_bucket(&spec(), &observed, "aws", "123456789012", false).unwrap();
        assert!(!planned(&plan).contains(&"put-ownership-controls"), "not applied: S3 would refuse it");
        let ownership = change(&plan, "put-ownership-controls");
        assert_eq!(ownership.status, ChangeStatus::Blocked);
        for named in [
            "WRITE to the S3 log-delivery group (http://acs.amazonaws.com/groups/s3/LogDelivery)",
            "READ to another account (canonical user abc123)",
            "InvalidBucketAclWithObjectOwnership",
            "aws s3api put-bucket-acl --bucket flow-logs --acl private",
        ] {
            assert!(ownership.detail.contains(named), "{named}: {}", ownership.detail);
        }

        observed.acl_grants = Some(Vec::new());
        let plan = plan_bucket(&spec(), &observed, "aws", "123456789012", false).unwrap();
        assert_eq!(planned(&plan), ["put-ownership-controls"]);
        let detail = &change(&plan, "put-ownership-controls").detail;
        assert!(detail.contains("(was ObjectWriter): ACLs stop applying; the bucket ACL grants only the owner's FULL_CONTROL"), "{detail}");
        let missing = plan_bucket(&spec(), &BucketObservation::missing(), "aws", "123456789012", false).unwrap();
        assert_eq!(change(&missing, "put-ownership-controls").status, ChangeStatus::Skipped);
    }

    fn lifecycle_action(plan: &BucketPlan) -> Option<BucketAction> {
        plan.steps.iter().map(|(a, _)| a.clone()).find(|a| matches!(a, BucketAction::PutLifecycleExpiration { .. }))
    }

    /// On a versioned bucket `Expiration.Days` only adds delete markers: the data goes with
    /// NoncurrentVersionExpiration, and the markers left behind with a rule of their own.
    #[test]
    fn expiry_on_a_versioned_bucket_deletes_noncurrent_versions_and_delete_markers() {
        let spec = BucketSpec { expire_days: Some(30), ..spec() };
        let mut observed = compliant(&spec);
        let plain = plan_bucket(&spec, &observed, "aws", "123456789012", false).unwrap();
        let Some(BucketAction::PutLifecycleExpiration { noncurrent_days, delete_marker_id, .. }) = lifecycle_action(&plain) else { panic!() };
        assert_eq!((noncurrent_days, delete_marker_id), (None, None), "an unversioned bucket deletes on expiry");
        assert!(!change(&plain, "put-lifecycle-configuration").detail.contains("noncurrent"));

        for state in ["Enabled", "Suspended"] {
            observed.versioning = Some(state.into());
            let plan = plan_bucket(&spec, &observed, "aws", "123456789012", false).unwrap();
            assert_eq!(
                lifecycle_action(&plan),
                Some(BucketAction::PutLifecycleExpiration {
                    days: 30,
                    prefix: "AWSLogs/".into(),
                    id: LIFECYCLE_RULE_ID.into(),
                    noncurrent_days: Some(30),
                    delete_marker_id: Some(format!("{LIFECYCLE_RULE_ID}-delete-markers")),
                })
            );
            let detail = &change(&plan, "put-lifecycle-configuration").detail;
            assert!(detail.contains(&format!("versioning is {state}: expiry only adds a delete marker")), "{detail}");
            assert!(detail.contains("noncurrent versions are deleted 30 days later (about 60 days after delivery in all)"), "{detail}");
        }

        // The rule of an earlier run without NoncurrentVersionExpiration is rewritten...
        let days_only = flowgate_rule_30_days();
        observed.expiration_rules = vec![days_only.clone()];
        assert!(lifecycle_action(&plan_bucket(&spec, &observed, "aws", "123456789012", false).unwrap()).is_some());
        // ...and once both rules are there, nothing is left to do.
        let markers = ExpirationRule {
            id: format!("{LIFECYCLE_RULE_ID}-delete-markers"),
            prefix: Some("AWSLogs/".into()),
            enabled: true,
            delete_markers: true,
            ..ExpirationRule::default()
        };
        observed.expiration_rules = vec![ExpirationRule { noncurrent_days: Some(30), ..days_only }, markers];
        let plan = plan_bucket(&spec, &observed, "aws", "123456789012", false).unwrap();
        assert_eq!(lifecycle_action(&plan), None);
        assert!(change(&plan, "put-lifecycle-configuration").detail.starts_with("objects under AWSLogs/ already expire after 30 days"));
        assert_eq!(assess_bucket(&spec, &observed, "aws", "123456789012").iter().find(|c| c.name == "lifecycle").unwrap().status, CheckStatus::Pass);
    }

    #[test]
    fn expiry_under_object_lock_says_retained_versions_stay() {
        let spec = BucketSpec { expire_days: Some(7), ..spec() };
        let mut observed = compliant(&spec);
        observed.versioning = Some("Enabled".into());
        observed.object_lock = Some(ObjectLock { default_retention: Some("COMPLIANCE 365 days".into()) });
        let plan = plan_bucket(&spec, &observed, "aws", "123456789012", false).unwrap();
        let detail = &change(&plan, "put-lifecycle-configuration").detail;
        assert!(
            detail.contains(
                "Object Lock is on, default retention COMPLIANCE 365 days: object versions under a retention period or legal hold are not deleted before it ends"
            ),
            "{detail}"
        );
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
