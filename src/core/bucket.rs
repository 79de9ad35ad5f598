//! What the flow-log bucket should look like, compared with what it is: the plan for
//! `bucket create` and the checks for `bucket check` (and `verify`).

use serde::Serialize;

use super::bucket_policy::{self, DeliveryTarget};
use super::names::{BucketName, LogPrefix, Tag};
use super::report::{Change, ChangeStatus, Check};

/// The lifecycle rule flowgate owns in a bucket's lifecycle configuration; other rules are kept.
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

/// What the adapters read about the bucket. For a missing bucket only `existence` is meaningful.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketObservation {
    pub existence: BucketExistence,
    pub public_access_block: Option<PublicAccessBlock>,
    pub object_ownership: Option<String>,
    pub policy: Option<String>,
    pub encryption: DefaultEncryption,
    /// Days of flowgate's expiration rule, if the bucket has it.
    pub expiration_days: Option<i32>,
    pub tags: Vec<Tag>,
}

impl BucketObservation {
    pub fn missing() -> Self {
        BucketObservation {
            existence: BucketExistence::Missing,
            public_access_block: None,
            object_ownership: None,
            policy: None,
            encryption: DefaultEncryption::NotConfigured,
            expiration_days: None,
            tags: Vec::new(),
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
    PutLifecycleExpiration { days: i32, prefix: String },
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
        }
    }
}

fn delivery_target<'a>(spec: &'a BucketSpec, partition: &'a str, account: &'a str) -> DeliveryTarget<'a> {
    DeliveryTarget { partition, bucket: &spec.bucket, prefix: spec.prefix.as_ref(), account, hive_partitions: spec.hive_partitions }
}

/// The prefix flowgate's lifecycle rule expires: everything flow logs are delivered under.
pub fn lifecycle_prefix(prefix: Option<&LogPrefix>) -> String {
    match prefix {
        Some(p) => format!("{p}/AWSLogs/"),
        None => "AWSLogs/".into(),
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

pub fn plan_bucket(spec: &BucketSpec, observed: &BucketObservation, partition: &str, account: &str) -> Result<BucketPlan, BucketPlanError> {
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
            step(&mut plan, None, "create-bucket", format!("exists in {region}, owned by this account: adopted"));
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

    if let DefaultEncryption::Kms { algorithm, key } = &observed.encryption {
        if !spec.fix_encryption {
            let key = key.as_ref().map(|k| format!(", key {k}")).unwrap_or_default();
            return Err(BucketPlanError::KmsEncrypted { bucket, algorithm: algorithm.clone(), key });
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
    let merge = bucket_policy::merge_delivery_statements(observed.policy.as_deref(), &desired)
        .map_err(|e| BucketPlanError::UnreadablePolicy { bucket: bucket.clone(), reason: e.to_string() })?;
    match merge.document {
        Some(document) => {
            let mut what = Vec::new();
            if !merge.added.is_empty() {
                what.push(format!("add {}", merge.added.join(", ")));
            }
            if !merge.updated.is_empty() {
                what.push(format!("update {}", merge.updated.join(", ")));
            }
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
        None => step(&mut plan, None, "put-bucket-policy", "flow-log delivery statements already present".into()),
    }

    match &observed.encryption {
        DefaultEncryption::Kms { algorithm, .. } => step(
            &mut plan,
            Some(BucketAction::PutEncryptionSseS3),
            "put-bucket-encryption",
            format!("replace default encryption {algorithm} with SSE-S3 (AES256) (--fix-encryption)"),
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
        let ok = observed.expiration_days == Some(days);
        step(
            &mut plan,
            (!ok).then(|| BucketAction::PutLifecycleExpiration { days, prefix: prefix.clone() }),
            "put-lifecycle-configuration",
            if ok {
                format!("objects under {prefix} already expire after {days} days")
            } else {
                format!("expire objects under {prefix} after {days} days (other lifecycle rules kept)")
            },
        );
    }

    if !spec.tags.is_empty() {
        let merged = merged_tags(&observed.tags, &spec.tags);
        let names: Vec<String> = spec.tags.iter().map(|t| format!("{}={}", t.key, t.value)).collect();
        let detail =
            if merged.is_some() { format!("set {} (other tags kept)", names.join(", ")) } else { format!("{} already set", names.join(", ")) };
        step(&mut plan, merged.map(|tags| BucketAction::PutTagging { tags }), "put-bucket-tagging", detail);
    }
    Ok(plan)
}

/// The checks of `bucket check`: every property `bucket create` sets, judged pass/warn/fail.
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

    let desired = bucket_policy::delivery_statements(&delivery_target(spec, partition, account));
    checks.push(match bucket_policy::missing_delivery_statements(observed.policy.as_deref(), &desired) {
        Ok(missing) if missing.is_empty() => Check::pass("delivery-policy", "flow-log delivery statements present"),
        Ok(missing) => {
            Check::fail("delivery-policy", format!("missing {}", missing.join(", ")), "flowgate bucket create (merges them into the policy)")
        }
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
        checks.push(match observed.expiration_days {
            Some(have) if have == days => Check::pass("lifecycle", format!("flow logs expire after {days} days")),
            Some(have) => Check::warn(
                "lifecycle",
                format!("flow logs expire after {have} days, not {days}"),
                format!("flowgate bucket create --expire-days {days}"),
            ),
            None => Check::warn("lifecycle", "no flowgate expiration rule", format!("flowgate bucket create --expire-days {days}")),
        });
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::report::CheckStatus;

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
            expiration_days: None,
            tags: Vec::new(),
        }
    }

    fn planned(plan: &BucketPlan) -> Vec<&'static str> {
        plan.steps.iter().map(|(a, _)| a.name()).collect()
    }

    #[test]
    fn missing_bucket_plans_everything_in_order() {
        let plan = plan_bucket(&spec(), &BucketObservation::missing(), "aws", "123456789012").unwrap();
        assert_eq!(planned(&plan), ["create-bucket", "put-public-access-block", "put-bucket-policy"]);
        assert_eq!(plan.region, "eu-west-1");
        // Every property is reported, applied or not.
        assert_eq!(plan.changes.len(), 5);
    }

    #[test]
    fn compliant_bucket_plans_nothing() {
        let spec = spec();
        let plan = plan_bucket(&spec, &compliant(&spec), "aws", "123456789012").unwrap();
        assert!(plan.steps.is_empty());
        assert!(plan.changes.iter().all(|c| c.status == ChangeStatus::Skipped));
        assert!(assess_bucket(&spec, &compliant(&spec), "aws", "123456789012").iter().all(|c| c.status == CheckStatus::Pass));
    }

    #[test]
    fn adopted_bucket_keeps_its_region() {
        let mut observed = compliant(&spec());
        observed.existence = BucketExistence::Owned { region: "us-west-2".into() };
        let plan = plan_bucket(&spec(), &observed, "aws", "123456789012").unwrap();
        assert_eq!(plan.region, "us-west-2");
        let required = BucketSpec { region_required: true, ..spec() };
        assert!(matches!(plan_bucket(&required, &observed, "aws", "123456789012"), Err(BucketPlanError::WrongRegion { .. })));
    }

    #[test]
    fn kms_is_refused_unless_fixing() {
        let mut observed = compliant(&spec());
        observed.encryption = DefaultEncryption::from_algorithm("aws:kms", Some("alias/x".into()));
        let err = plan_bucket(&spec(), &observed, "aws", "123456789012").unwrap_err();
        assert!(err.to_string().contains("SSE-KMS"));
        assert!(err.hint().contains("--fix-encryption"));
        let fixing = BucketSpec { fix_encryption: true, ..spec() };
        assert_eq!(planned(&plan_bucket(&fixing, &observed, "aws", "123456789012").unwrap()), ["put-bucket-encryption"]);
        let checks = assess_bucket(&spec(), &observed, "aws", "123456789012");
        assert!(checks.iter().any(|c| c.name == "encryption" && c.status == CheckStatus::Fail));
    }

    #[test]
    fn foreign_bucket_is_an_error() {
        let observed = BucketObservation { existence: BucketExistence::Forbidden, ..BucketObservation::missing() };
        assert!(matches!(plan_bucket(&spec(), &observed, "aws", "1"), Err(BucketPlanError::NotOwned { .. })));
    }

    #[test]
    fn lifecycle_and_tags_only_when_different() {
        let spec = BucketSpec { expire_days: Some(30), tags: vec!["team=net".parse().unwrap()], ..spec() };
        let mut observed = compliant(&spec);
        observed.tags = vec!["owner=ops".parse().unwrap()];
        let plan = plan_bucket(&spec, &observed, "aws", "123456789012").unwrap();
        assert_eq!(planned(&plan), ["put-lifecycle-configuration", "put-bucket-tagging"]);
        let Some((BucketAction::PutTagging { tags }, _)) = plan.steps.last() else { panic!("tagging planned") };
        assert_eq!(tags.len(), 2, "existing tag kept");
        observed.expiration_days = Some(30);
        observed.tags.push("team=net".parse().unwrap());
        assert!(plan_bucket(&spec, &observed, "aws", "123456789012").unwrap().steps.is_empty());
    }
}
