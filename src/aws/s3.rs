//! S3: reading and setting up the flow-log bucket.

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLocationConstraint, CreateBucketConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, NoncurrentVersionExpiration, ObjectOwnership, OwnershipControls, OwnershipControlsRule, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Tagging,
    TransitionDefaultMinimumObjectSize,
};

use crate::aws::clients::Clients;
use crate::aws::{aws_error, error_code, http_status};
use crate::core::bucket::{
    AclGrant, AclGrantee, BucketAction, BucketExistence, BucketObservation, DefaultEncryption, ExpirationRule, LIFECYCLE_RULE_ID, ListedBucket,
    ObjectLock, PublicAccessBlock,
};
use crate::core::names::{BucketName, Tag};
use crate::error::{Error, Result};

/// Every IAM action this adapter calls (kept in step with `policies/operator/`).
pub const ACTIONS: &[&str] = &[
    "s3:ListBucket",
    "s3:GetBucketLocation",
    "s3:GetBucketPublicAccessBlock",
    "s3:GetBucketOwnershipControls",
    "s3:GetBucketPolicy",
    "s3:GetEncryptionConfiguration",
    "s3:GetLifecycleConfiguration",
    "s3:GetBucketTagging",
    // bucket create: the bucket ACL before switching object ownership; versioning and Object Lock
    // before writing an expiration.
    "s3:GetBucketAcl",
    "s3:GetBucketVersioning",
    "s3:GetBucketObjectLockConfiguration",
    "s3:CreateBucket",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutBucketOwnershipControls",
    "s3:PutBucketPolicy",
    "s3:PutEncryptionConfiguration",
    "s3:PutLifecycleConfiguration",
    "s3:PutBucketTagging",
    "s3:GetObject",
    "s3:ListBucketVersions",
    "s3:DeleteObjectVersion",
    "s3:DeleteBucket",
    "s3:ListAllMyBuckets",
    "s3:DeleteBucketPolicy",
];

fn build_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::refused(format!("could not build the {what} request: {e}"), None)
}

/// A client like `s3` (same credentials, endpoint and interceptors) that signs for `region`.
fn client_in(s3: &Client, region: &str) -> Client {
    Client::from_conf(s3.config().to_builder().region(aws_sdk_s3::config::Region::new(region.to_owned())).build())
}

/// HeadBucket's answer, before the owner is known to be the caller.
enum Head {
    Owned(Option<String>),
    Missing,
    Forbidden,
    /// 301 (or 400) naming the bucket's region: S3 answered before checking `ExpectedBucketOwner`.
    Elsewhere(String),
}

async fn head(s3: &Client, bucket: &BucketName, account: &str) -> Result<Head> {
    match s3.head_bucket().bucket(bucket.as_str()).expected_bucket_owner(account).send().await {
        Ok(out) => Ok(Head::Owned(out.bucket_region().map(str::to_owned))),
        Err(err) => {
            // S3 answers a HEAD for a bucket in another region with 301 (or 400) and names the
            // bucket's region in a header.
            let header_region = err.raw_response().and_then(|r| r.headers().get("x-amz-bucket-region")).map(str::to_owned);
            match (http_status(&err), header_region) {
                (Some(404), _) => Ok(Head::Missing),
                (Some(403), _) => Ok(Head::Forbidden),
                (Some(301 | 400), Some(region)) => Ok(Head::Elsewhere(region)),
                _ => Err(aws_error(err, format!("looking up bucket {bucket}"), "s3:ListBucket")),
            }
        }
    }
}

/// Where the bucket is, if it exists and is the caller's. `s3` is a client of the home region.
///
/// A bucket in another region answers 301 with its region in `x-amz-bucket-region` *before*
/// S3 evaluates `ExpectedBucketOwner` (HeadBucket, Amazon S3 API Reference:
/// https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html), so a 301 says nothing
/// about the owner: the HEAD is repeated in that region, where the owner check applies.
pub async fn bucket_existence(s3: &Client, bucket: &BucketName, account: &str) -> Result<BucketExistence> {
    match head(s3, bucket, account).await? {
        Head::Owned(Some(region)) => Ok(BucketExistence::Owned { region }),
        Head::Owned(None) => Ok(BucketExistence::Owned { region: bucket_location(s3, bucket).await? }),
        Head::Missing => Ok(BucketExistence::Missing),
        Head::Forbidden => Ok(BucketExistence::Forbidden),
        Head::Elsewhere(region) => match head(&client_in(s3, &region), bucket, account).await? {
            Head::Owned(_) => Ok(BucketExistence::Owned { region }),
            Head::Forbidden => Ok(BucketExistence::Forbidden),
            // Deleted between the two answers.
            Head::Missing => Ok(BucketExistence::Missing),
            Head::Elsewhere(again) => Err(Error::refused(
                format!("looking up bucket {bucket}: S3 redirected to {region}, which redirected to {again}"),
                Some("re-run in a moment; if it persists, pass --bucket-region with the bucket's region".to_owned()),
            )),
        },
    }
}

async fn bucket_location(s3: &Client, bucket: &BucketName) -> Result<String> {
    let out = s3
        .get_bucket_location()
        .bucket(bucket.as_str())
        .send()
        .await
        .map_err(|e| aws_error(e, format!("reading the region of bucket {bucket}"), "s3:GetBucketLocation"))?;
    Ok(region_of_constraint(out.location_constraint()))
}

fn region_of_constraint(constraint: Option<&BucketLocationConstraint>) -> String {
    // An empty constraint means us-east-1; "EU" is the legacy name of eu-west-1.
    match constraint.map(BucketLocationConstraint::as_str) {
        None | Some("") => "us-east-1".to_owned(),
        Some("EU") => "eu-west-1".to_owned(),
        Some(region) => region.to_owned(),
    }
}

/// What this account can say of a bucket's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BucketPolicyRead {
    /// This account's bucket, and its policy (`None`: it has none).
    Owned(Option<String>),
    Missing,
}

/// The policy of `bucket` when this account owns it, read in the bucket's own region (asked of
/// `home_region`). Both calls carry `ExpectedBucketOwner`, so another account's bucket answers
/// 403, an error naming the permission like a missing one: flowgate cannot tell them apart.
/// GetBucketLocation and GetBucketPolicy need only `s3:GetBucketLocation` and
/// `s3:GetBucketPolicy` (not HeadBucket's `s3:ListBucket`, which would let the operator list
/// every bucket's keys).
pub async fn bucket_policy_of(clients: &Clients, home_region: &str, bucket: &BucketName, account: &str) -> Result<BucketPolicyRead> {
    let located = clients.s3(home_region).get_bucket_location().bucket(bucket.as_str()).expected_bucket_owner(account).send().await;
    let region = match located {
        Ok(out) => region_of_constraint(out.location_constraint()),
        Err(e) if error_code(&e) == Some("NoSuchBucket") => return Ok(BucketPolicyRead::Missing),
        // A redirect names the bucket's region in a header, as it does for HeadBucket.
        Err(e) => match e.raw_response().and_then(|r| r.headers().get("x-amz-bucket-region")).map(str::to_owned) {
            Some(region) => region,
            None => return Err(aws_error(e, format!("finding the region of bucket {bucket}"), "s3:GetBucketLocation")),
        },
    };
    let read = clients.s3(&region).get_bucket_policy().bucket(bucket.as_str()).expected_bucket_owner(account).send().await;
    match read {
        Ok(out) => Ok(BucketPolicyRead::Owned(out.policy().map(str::to_owned))),
        Err(e) if error_code(&e) == Some("NoSuchBucketPolicy") => Ok(BucketPolicyRead::Owned(None)),
        Err(e) if error_code(&e) == Some("NoSuchBucket") => Ok(BucketPolicyRead::Missing),
        Err(e) => Err(aws_error(e, format!("reading the bucket policy of {bucket}"), "s3:GetBucketPolicy")),
    }
}

/// Reads every property flowgate manages on the bucket: where it is (asked in `home_region`),
/// then the rest in its own region.
pub async fn observe_bucket(clients: &Clients, home_region: &str, bucket: &BucketName, account: &str) -> Result<BucketObservation> {
    let existence = bucket_existence(&clients.s3(home_region), bucket, account).await?;
    let BucketExistence::Owned { region } = &existence else {
        return Ok(BucketObservation { existence, ..BucketObservation::missing() });
    };
    let s3 = clients.s3(region);
    let (public_access_block, object_ownership, policy, encryption, expiration_rules, tags) = tokio::try_join!(
        read_public_access_block(&s3, bucket),
        read_object_ownership(&s3, bucket),
        read_policy(&s3, bucket),
        read_encryption(&s3, bucket),
        read_expiration_rules(&s3, bucket),
        read_tags(&s3, bucket),
    )?;
    Ok(BucketObservation {
        existence,
        public_access_block,
        object_ownership,
        policy,
        encryption,
        expiration_rules,
        tags,
        ..BucketObservation::missing()
    })
}

async fn read_public_access_block(s3: &Client, bucket: &BucketName) -> Result<Option<PublicAccessBlock>> {
    match s3.get_public_access_block().bucket(bucket.as_str()).send().await {
        Ok(out) => Ok(out.public_access_block_configuration().map(|c| PublicAccessBlock {
            block_public_acls: c.block_public_acls().unwrap_or(false),
            ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
            block_public_policy: c.block_public_policy().unwrap_or(false),
            restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
        })),
        Err(e) if error_code(&e) == Some("NoSuchPublicAccessBlockConfiguration") => Ok(None),
        Err(e) => Err(aws_error(e, format!("reading the public access block of {bucket}"), "s3:GetBucketPublicAccessBlock")),
    }
}

async fn read_object_ownership(s3: &Client, bucket: &BucketName) -> Result<Option<String>> {
    match s3.get_bucket_ownership_controls().bucket(bucket.as_str()).send().await {
        Ok(out) => Ok(out.ownership_controls().and_then(|c| c.rules().first()).map(|r| r.object_ownership().as_str().to_owned())),
        Err(e) if error_code(&e) == Some("OwnershipControlsNotFoundError") => Ok(None),
        Err(e) => Err(aws_error(e, format!("reading the object ownership of {bucket}"), "s3:GetBucketOwnershipControls")),
    }
}

pub async fn read_policy(s3: &Client, bucket: &BucketName) -> Result<Option<String>> {
    match s3.get_bucket_policy().bucket(bucket.as_str()).send().await {
        Ok(out) => Ok(out.policy().map(str::to_owned)),
        Err(e) if error_code(&e) == Some("NoSuchBucketPolicy") => Ok(None),
        Err(e) => Err(aws_error(e, format!("reading the bucket policy of {bucket}"), "s3:GetBucketPolicy")),
    }
}

pub async fn delete_policy(s3: &Client, bucket: &BucketName) -> Result<()> {
    s3.delete_bucket_policy()
        .bucket(bucket.as_str())
        .send()
        .await
        .map_err(|e| aws_error(e, format!("deleting the bucket policy of {bucket}"), "s3:DeleteBucketPolicy"))?;
    Ok(())
}

async fn read_encryption(s3: &Client, bucket: &BucketName) -> Result<DefaultEncryption> {
    match s3.get_bucket_encryption().bucket(bucket.as_str()).send().await {
        Ok(out) => {
            let default =
                out.server_side_encryption_configuration().and_then(|c| c.rules().iter().find_map(|r| r.apply_server_side_encryption_by_default()));
            Ok(match default {
                Some(d) => DefaultEncryption::from_algorithm(d.sse_algorithm().as_str(), d.kms_master_key_id().map(str::to_owned)),
                None => DefaultEncryption::NotConfigured,
            })
        }
        Err(e) if error_code(&e) == Some("ServerSideEncryptionConfigurationNotFoundError") => Ok(DefaultEncryption::NotConfigured),
        Err(e) => Err(aws_error(e, format!("reading the default encryption of {bucket}"), "s3:GetEncryptionConfiguration")),
    }
}

/// The bucket's lifecycle rules and its `x-amz-transition-default-minimum-object-size` setting,
/// which GetBucketLifecycleConfiguration reports in a response header.
async fn read_lifecycle(s3: &Client, bucket: &BucketName) -> Result<(Vec<LifecycleRule>, Option<TransitionDefaultMinimumObjectSize>)> {
    match s3.get_bucket_lifecycle_configuration().bucket(bucket.as_str()).send().await {
        Ok(out) => Ok((out.rules().to_vec(), out.transition_default_minimum_object_size().cloned())),
        Err(e) if error_code(&e) == Some("NoSuchLifecycleConfiguration") => Ok((Vec::new(), None)),
        Err(e) => Err(aws_error(e, format!("reading the lifecycle rules of {bucket}"), "s3:GetLifecycleConfiguration")),
    }
}

/// flowgate's expiration rules (ids starting with LIFECYCLE_RULE_ID), with the prefix each expires.
async fn read_expiration_rules(s3: &Client, bucket: &BucketName) -> Result<Vec<ExpirationRule>> {
    let (rules, _) = read_lifecycle(s3, bucket).await?;
    Ok(rules
        .iter()
        .filter_map(|r| {
            let id = r.id().filter(|id| id.starts_with(LIFECYCLE_RULE_ID))?;
            // The rule-level Prefix is the legacy form of Filter.Prefix; either may be used.
            #[allow(deprecated)]
            let prefix = r.filter().and_then(|f| f.prefix()).or(r.prefix()).map(str::to_owned);
            Some(ExpirationRule {
                id: id.to_owned(),
                prefix,
                days: r.expiration().and_then(|e| e.days()),
                enabled: r.status() == &ExpirationStatus::Enabled,
                noncurrent_days: r.noncurrent_version_expiration().and_then(|n| n.noncurrent_days()),
                delete_markers: r.expiration().and_then(|e| e.expired_object_delete_marker()) == Some(true),
            })
        })
        .collect())
}

/// What `bucket create` reads besides [`observe_bucket`], and only when its plan needs it: the
/// bucket ACL when object ownership is not yet BucketOwnerEnforced (the switch disables it), and
/// versioning and Object Lock when `expiring` (they decide what expiry deletes). `bucket check`
/// and `verify` read none of it.
pub async fn observe_for_create(s3: &Client, bucket: &BucketName, observed: &mut BucketObservation, expiring: bool) -> Result<()> {
    if observed.object_ownership.as_deref() != Some("BucketOwnerEnforced") {
        observed.acl_grants = Some(read_acl_grants(s3, bucket).await?);
    }
    if expiring {
        let (versioning, object_lock) = tokio::try_join!(read_versioning(s3, bucket), read_object_lock(s3, bucket))?;
        observed.versioning = versioning;
        observed.object_lock = object_lock;
    }
    Ok(())
}

/// The bucket ACL's grants other than the owner's FULL_CONTROL.
async fn read_acl_grants(s3: &Client, bucket: &BucketName) -> Result<Vec<AclGrant>> {
    use aws_sdk_s3::types::Type;
    let out = s3
        .get_bucket_acl()
        .bucket(bucket.as_str())
        .send()
        .await
        .map_err(|e| aws_error(e, format!("reading the ACL of bucket {bucket}"), "s3:GetBucketAcl"))?;
    let owner = out.owner().and_then(|o| o.id());
    let mut grants = Vec::new();
    for grant in out.grants() {
        let (Some(grantee), Some(permission)) = (grant.grantee(), grant.permission()) else { continue };
        let permission = permission.as_str().to_owned();
        let grantee = match grantee.r#type() {
            Type::Group => AclGrantee::Group(grantee.uri().unwrap_or("unknown group").to_owned()),
            Type::AmazonCustomerByEmail => AclGrantee::Email(grantee.email_address().unwrap_or("unknown address").to_owned()),
            _ => {
                let id = grantee.id().unwrap_or("unknown").to_owned();
                if owner == Some(id.as_str()) && permission == "FULL_CONTROL" {
                    continue;
                }
                AclGrantee::CanonicalUser { id, display_name: grantee.display_name().map(str::to_owned) }
            }
        };
        grants.push(AclGrant { grantee, permission });
    }
    Ok(grants)
}

/// `Enabled` or `Suspended`; `None` for a bucket whose versioning was never turned on.
async fn read_versioning(s3: &Client, bucket: &BucketName) -> Result<Option<String>> {
    let out = s3
        .get_bucket_versioning()
        .bucket(bucket.as_str())
        .send()
        .await
        .map_err(|e| aws_error(e, format!("reading the versioning of bucket {bucket}"), "s3:GetBucketVersioning"))?;
    Ok(out.status().map(|s| s.as_str().to_owned()))
}

async fn read_object_lock(s3: &Client, bucket: &BucketName) -> Result<Option<ObjectLock>> {
    match s3.get_object_lock_configuration().bucket(bucket.as_str()).send().await {
        Ok(out) => {
            let Some(config) = out.object_lock_configuration().filter(|c| c.object_lock_enabled().is_some()) else { return Ok(None) };
            let default_retention = config.rule().and_then(|r| r.default_retention()).map(|d| {
                let mode = d.mode().map(|m| m.as_str()).unwrap_or("retention");
                match (d.days(), d.years()) {
                    (Some(days), _) => format!("{mode} {days} days"),
                    (None, Some(years)) => format!("{mode} {years} years"),
                    (None, None) => mode.to_owned(),
                }
            });
            Ok(Some(ObjectLock { default_retention }))
        }
        Err(e) if error_code(&e) == Some("ObjectLockConfigurationNotFoundError") => Ok(None),
        Err(e) => Err(aws_error(e, format!("reading the Object Lock configuration of bucket {bucket}"), "s3:GetBucketObjectLockConfiguration")),
    }
}

async fn read_tags(s3: &Client, bucket: &BucketName) -> Result<Vec<Tag>> {
    match s3.get_bucket_tagging().bucket(bucket.as_str()).send().await {
        Ok(out) => Ok(out.tag_set().iter().map(|t| Tag { key: t.key().to_owned(), value: t.value().to_owned() }).collect()),
        Err(e) if error_code(&e) == Some("NoSuchTagSet") => Ok(Vec::new()),
        Err(e) => Err(aws_error(e, format!("reading the tags of {bucket}"), "s3:GetBucketTagging")),
    }
}

/// What became of an applied action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Changed,
    /// AWS said it was already so (e.g. BucketAlreadyOwnedByYou).
    AlreadyDone,
}

/// The waits between attempts of a bucket call that S3 refuses right after CreateBucket: at most
/// 6.75 s in all, then the error stands.
pub const AFTER_CREATE_DELAYS: &[Duration] =
    &[Duration::from_millis(250), Duration::from_millis(500), Duration::from_secs(1), Duration::from_secs(2), Duration::from_secs(3)];

/// Whether S3 refused a call because the bucket it just created is not visible everywhere yet.
fn bucket_settling(error: &Error) -> bool {
    matches!(error, Error::Aws { code: Some(code), .. } if code == "NoSuchBucket" || code == "OperationAborted")
}

/// Applies `action` to a bucket created moments ago. Bucket configuration is eventually
/// consistent: right after CreateBucket, calls such as PutPublicAccessBlock or PutBucketPolicy can
/// answer `NoSuchBucket` or `OperationAborted` ("a conflicting conditional operation is currently
/// in progress") for a few seconds (Amazon S3 User Guide, "Amazon S3 data consistency model":
/// https://docs.aws.amazon.com/AmazonS3/latest/userguide/Welcome.html#ConsistencyModel). Those two
/// answers are retried after each of `delays`; any other answer is returned at once.
pub async fn apply_after_create(s3: &Client, bucket: &BucketName, action: &BucketAction, delays: &[Duration]) -> Result<Applied> {
    let mut waits = delays.iter();
    loop {
        match apply_bucket_action(s3, bucket, action).await {
            Err(e) if bucket_settling(&e) => match waits.next() {
                Some(wait) => {
                    tracing::debug!("{}: {e}; bucket {bucket} was just created, trying again in {wait:?}", action.name());
                    tokio::time::sleep(*wait).await;
                }
                None => return Err(e),
            },
            other => return other,
        }
    }
}

/// Applies one planned change to the bucket.
// Over 80 lines: one match arm per `BucketAction`, each one SDK call with its error translation.
pub async fn apply_bucket_action(s3: &Client, bucket: &BucketName, action: &BucketAction) -> Result<Applied> {
    let name = bucket.as_str();
    match action {
        BucketAction::CreateBucket { region } => {
            let mut request = s3.create_bucket().bucket(name).object_ownership(ObjectOwnership::BucketOwnerEnforced);
            // us-east-1 takes no LocationConstraint; every other region requires one.
            if region != "us-east-1" {
                request = request.create_bucket_configuration(
                    CreateBucketConfiguration::builder().location_constraint(BucketLocationConstraint::from(region.as_str())).build(),
                );
            }
            match request.send().await {
                Ok(_) => Ok(Applied::Changed),
                Err(e) if error_code(&e) == Some("BucketAlreadyOwnedByYou") => Ok(Applied::AlreadyDone),
                Err(e) if error_code(&e) == Some("BucketAlreadyExists") => Err(Error::refused(
                    format!("bucket name {bucket} is taken by another AWS account"),
                    Some("choose another bucket name: S3 bucket names are global".to_owned()),
                )),
                Err(e) => Err(aws_error(e, format!("creating bucket {bucket} in {region}"), "s3:CreateBucket")),
            }
        }
        BucketAction::PutPublicAccessBlock => {
            let config = PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build();
            s3.put_public_access_block()
                .bucket(name)
                .public_access_block_configuration(config)
                .send()
                .await
                .map_err(|e| aws_error(e, format!("blocking public access to {bucket}"), "s3:PutBucketPublicAccessBlock"))?;
            Ok(Applied::Changed)
        }
        BucketAction::PutOwnershipControls => {
            let rule = OwnershipControlsRule::builder()
                .object_ownership(ObjectOwnership::BucketOwnerEnforced)
                .build()
                .map_err(|e| build_error("ownership controls", e))?;
            let controls = OwnershipControls::builder().rules(rule).build().map_err(|e| build_error("ownership controls", e))?;
            s3.put_bucket_ownership_controls()
                .bucket(name)
                .ownership_controls(controls)
                .send()
                .await
                .map_err(|e| aws_error(e, format!("setting object ownership of {bucket}"), "s3:PutBucketOwnershipControls"))?;
            Ok(Applied::Changed)
        }
        BucketAction::PutBucketPolicy { document } => {
            s3.put_bucket_policy()
                .bucket(name)
                .policy(document)
                .send()
                .await
                .map_err(|e| aws_error(e, format!("writing the bucket policy of {bucket}"), "s3:PutBucketPolicy"))?;
            Ok(Applied::Changed)
        }
        BucketAction::PutEncryptionSseS3 => {
            let default = ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::Aes256)
                .build()
                .map_err(|e| build_error("encryption", e))?;
            let config = ServerSideEncryptionConfiguration::builder()
                .rules(ServerSideEncryptionRule::builder().apply_server_side_encryption_by_default(default).build())
                .build()
                .map_err(|e| build_error("encryption", e))?;
            s3.put_bucket_encryption()
                .bucket(name)
                .server_side_encryption_configuration(config)
                .send()
                .await
                .map_err(|e| aws_error(e, format!("setting SSE-S3 default encryption on {bucket}"), "s3:PutEncryptionConfiguration"))?;
            Ok(Applied::Changed)
        }
        BucketAction::PutLifecycleExpiration { days, prefix, id, noncurrent_days, delete_marker_id } => {
            let rules = expiration_rules(*days, prefix, id, *noncurrent_days, delete_marker_id.as_deref())?;
            put_lifecycle_rules(s3, bucket, rules).await
        }
        BucketAction::PutTagging { tags } => {
            let tag_set = tags
                .iter()
                .map(|t| aws_sdk_s3::types::Tag::builder().key(&t.key).value(&t.value).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| build_error("tagging", e))?;
            let tagging = Tagging::builder().set_tag_set(Some(tag_set)).build().map_err(|e| build_error("tagging", e))?;
            s3.put_bucket_tagging()
                .bucket(name)
                .tagging(tagging)
                .send()
                .await
                .map_err(|e| aws_error(e, format!("tagging {bucket}"), "s3:PutBucketTagging"))?;
            Ok(Applied::Changed)
        }
    }
}

/// flowgate's rules for one prefix: the expiration after `days`, with the expiry of noncurrent
/// versions when asked; and the rule removing expired delete markers, apart, since S3 takes
/// `ExpiredObjectDeleteMarker` only in an Expiration without `Days` or `Date` (LifecycleExpiration,
/// Amazon S3 API Reference: https://docs.aws.amazon.com/AmazonS3/latest/API/API_LifecycleExpiration.html).
fn expiration_rules(days: i32, prefix: &str, id: &str, noncurrent_days: Option<i32>, delete_marker_id: Option<&str>) -> Result<Vec<LifecycleRule>> {
    let filter = || LifecycleRuleFilter::builder().prefix(prefix).build();
    let mut expiring = LifecycleRule::builder()
        .id(id)
        .status(ExpirationStatus::Enabled)
        .filter(filter())
        .expiration(LifecycleExpiration::builder().days(days).build());
    if let Some(noncurrent) = noncurrent_days {
        expiring = expiring.noncurrent_version_expiration(NoncurrentVersionExpiration::builder().noncurrent_days(noncurrent).build());
    }
    let mut rules = vec![expiring.build().map_err(|e| build_error("lifecycle", e))?];
    if let Some(marker_id) = delete_marker_id {
        let markers = LifecycleRule::builder()
            .id(marker_id)
            .status(ExpirationStatus::Enabled)
            .filter(filter())
            .expiration(LifecycleExpiration::builder().expired_object_delete_marker(true).build())
            .build()
            .map_err(|e| build_error("lifecycle", e))?;
        rules.push(markers);
    }
    Ok(rules)
}

/// Writes `rules` into the bucket's lifecycle configuration. The configuration is replaced whole:
/// it is re-read now and every rule but those written here is kept (flowgate's rules for other
/// prefixes included), and so is the bucket's `x-amz-transition-default-minimum-object-size`:
/// without the header S3 resets that setting to its default
/// (PutBucketLifecycleConfiguration, Amazon S3 API Reference:
/// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLifecycleConfiguration.html).
async fn put_lifecycle_rules(s3: &Client, bucket: &BucketName, rules: Vec<LifecycleRule>) -> Result<Applied> {
    let (existing, minimum_size) = read_lifecycle(s3, bucket).await?;
    let mut all: Vec<LifecycleRule> = existing.into_iter().filter(|r| !rules.iter().any(|new| new.id() == r.id())).collect();
    all.extend(rules);
    let config = BucketLifecycleConfiguration::builder().set_rules(Some(all)).build().map_err(|e| build_error("lifecycle", e))?;
    s3.put_bucket_lifecycle_configuration()
        .bucket(bucket.as_str())
        .lifecycle_configuration(config)
        .set_transition_default_minimum_object_size(minimum_size)
        .send()
        .await
        .map_err(|e| aws_error(e, format!("setting the lifecycle rules of {bucket}"), "s3:PutLifecycleConfiguration"))?;
    Ok(Applied::Changed)
}

/// A listed object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub key: String,
    pub size: i64,
    /// Unix seconds.
    pub last_modified: i64,
}

/// Every object under `prefix` (paginated).
pub async fn list_objects(s3: &Client, bucket: &BucketName, prefix: &str) -> Result<Vec<ObjectInfo>> {
    let mut objects = Vec::new();
    let mut pages = s3.list_objects_v2().bucket(bucket.as_str()).prefix(prefix).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_error(e, format!("listing s3://{bucket}/{prefix}"), "s3:ListBucket"))?;
        for object in page.contents() {
            let Some(key) = object.key() else { continue };
            objects.push(ObjectInfo {
                key: key.to_owned(),
                size: object.size().unwrap_or(0),
                last_modified: object.last_modified().map(|t| t.secs()).unwrap_or(0),
            });
        }
    }
    Ok(objects)
}

/// Whether any object is under `prefix` (one key asked for, however large the bucket).
pub async fn any_object(s3: &Client, bucket: &BucketName, prefix: &str) -> Result<bool> {
    let out = s3
        .list_objects_v2()
        .bucket(bucket.as_str())
        .prefix(prefix)
        .max_keys(1)
        .send()
        .await
        .map_err(|e| aws_error(e, format!("listing s3://{bucket}/{prefix}"), "s3:ListBucket"))?;
    Ok(!out.contents().is_empty())
}

/// The server-side encryption of an object (`AES256`, `aws:kms`, `aws:kms:dsse`), if reported.
pub async fn object_encryption(s3: &Client, bucket: &BucketName, key: &str) -> Result<Option<String>> {
    let out = s3
        .head_object()
        .bucket(bucket.as_str())
        .key(key)
        .send()
        .await
        .map_err(|e| aws_error(e, format!("reading s3://{bucket}/{key}"), "s3:GetObject"))?;
    Ok(out.server_side_encryption().map(|s| s.as_str().to_owned()))
}

/// The object's body as a stream.
pub async fn object_body(s3: &Client, bucket: &BucketName, key: &str) -> Result<aws_sdk_s3::primitives::ByteStream> {
    let out = s3
        .get_object()
        .bucket(bucket.as_str())
        .key(key)
        .send()
        .await
        .map_err(|e| aws_error(e, format!("downloading s3://{bucket}/{key}"), "s3:GetObject"))?;
    Ok(out.body)
}

/// One page (up to 1000) of the bucket's object versions and delete markers, from `after` (the
/// key and version markers the previous page ended at); with the markers to go on from, if any.
async fn object_versions_page(
    s3: &Client,
    bucket: &BucketName,
    after: Option<(String, Option<String>)>,
) -> Result<(Vec<aws_sdk_s3::types::ObjectIdentifier>, Option<(String, Option<String>)>)> {
    use aws_sdk_s3::types::ObjectIdentifier;
    let (key_marker, version_marker) = after.map_or((None, None), |(key, version)| (Some(key), version));
    let page = s3
        .list_object_versions()
        .bucket(bucket.as_str())
        .max_keys(1000)
        .set_key_marker(key_marker)
        .set_version_id_marker(version_marker)
        .send()
        .await
        .map_err(|e| aws_error(e, format!("listing the object versions of s3://{bucket}"), "s3:ListBucketVersions"))?;
    let versions = page.versions().iter().map(|v| (v.key(), v.version_id()));
    let markers = page.delete_markers().iter().map(|m| (m.key(), m.version_id()));
    let ids = versions
        .chain(markers)
        .filter_map(|(key, version)| ObjectIdentifier::builder().key(key?).set_version_id(version.map(str::to_owned)).build().ok())
        .collect();
    let next = match (page.is_truncated(), page.next_key_marker()) {
        (Some(true), Some(key)) => Some((key.to_owned(), page.next_version_id_marker().map(str::to_owned))),
        _ => None,
    };
    Ok((ids, next))
}

/// How many object versions (current and earlier ones, and delete markers) the bucket holds,
/// counting up to `cap` (then `cap` means "at least"). In a bucket without versioning, its objects.
pub async fn count_object_versions(s3: &Client, bucket: &BucketName, cap: usize) -> Result<usize> {
    let mut count = 0;
    let mut after = None;
    loop {
        let (ids, next) = object_versions_page(s3, bucket, after).await?;
        count += ids.len();
        if count >= cap {
            return Ok(cap);
        }
        match next {
            Some(next) => after = Some(next),
            None => return Ok(count),
        }
    }
}

/// Deletes every object version and delete marker (in batches of 1000, DeleteObjects' limit), so
/// that a bucket that has or had versioning empties too, and then the bucket. Returns how many
/// versions were deleted.
pub async fn delete_bucket_and_objects(s3: &Client, bucket: &BucketName) -> Result<usize> {
    use aws_sdk_s3::types::Delete;
    let mut deleted = 0;
    loop {
        // Each pass lists from the start: what the previous one deleted is gone from the listing.
        let (ids, _) = object_versions_page(s3, bucket, None).await?;
        if ids.is_empty() {
            break;
        }
        let batch = ids.len();
        let delete = Delete::builder().set_objects(Some(ids)).quiet(true).build().map_err(|e| build_error("delete", e))?;
        let out = s3
            .delete_objects()
            .bucket(bucket.as_str())
            .delete(delete)
            .send()
            .await
            .map_err(|e| aws_error(e, format!("deleting objects of s3://{bucket}"), "s3:DeleteObjectVersion"))?;
        if let Some(error) = out.errors().first() {
            return Err(Error::refused(
                format!("could not delete s3://{bucket}/{}: {}", error.key().unwrap_or("?"), error.message().unwrap_or("no message")),
                Some("check for a bucket policy or Object Lock that protects it, delete what is left by hand, then re-run".to_owned()),
            ));
        }
        deleted += batch;
    }
    s3.delete_bucket().bucket(bucket.as_str()).send().await.map_err(|e| aws_error(e, format!("deleting bucket {bucket}"), "s3:DeleteBucket"))?;
    Ok(deleted)
}

/// The bucket's region, or why it could not be learnt. HeadBucket names the region in
/// `x-amz-bucket-region` whoever asks and from whichever region, while GetBucketLocation outside
/// the bucket's region is not governed by its policy (GetBucketLocation, Amazon S3 API Reference:
/// https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLocation.html): HEAD first.
async fn region_of(home: &Client, bucket: &BucketName) -> std::result::Result<String, String> {
    let from_head = match home.head_bucket().bucket(bucket.as_str()).send().await {
        Ok(out) => out.bucket_region().map(str::to_owned),
        Err(err) => err.raw_response().and_then(|r| r.headers().get("x-amz-bucket-region")).map(str::to_owned),
    };
    match from_head {
        Some(region) => Ok(region),
        None => bucket_location(home, bucket).await.map_err(|e| match e.hint() {
            Some(hint) => format!("{e}; {hint}"),
            None => e.to_string(),
        }),
    }
}

/// The account's buckets (at most `cap`), each with its region and its default encryption, or why
/// they could not be read: a bucket is never left out for an error. `home` is a
/// client of the home region; each bucket's encryption is read in its own region.
pub async fn list_buckets_with_encryption(home: &Client, cap: usize) -> Result<Vec<ListedBucket>> {
    use futures::stream::{self, StreamExt};
    let out = home.list_buckets().send().await.map_err(|e| aws_error(e, "listing the account's buckets", "s3:ListAllMyBuckets"))?;
    // ListBuckets names each bucket's region (BucketRegion) where S3 reports it.
    let listed: Vec<(String, Option<String>)> =
        out.buckets().iter().filter_map(|b| Some((b.name()?.to_owned(), b.bucket_region().map(str::to_owned)))).take(cap).collect();
    let mut buckets: Vec<ListedBucket> = stream::iter(listed)
        .map(|(name, listed_region)| async move {
            let bucket: BucketName = match name.parse() {
                Ok(bucket) => bucket,
                Err(e) => {
                    let why = format!("not usable by flowgate: {e}");
                    return ListedBucket { name, region: Err(why.clone()), encryption: Err(why) };
                }
            };
            let region = match listed_region {
                Some(region) => Ok(region),
                None => region_of(home, &bucket).await,
            };
            let encryption = match &region {
                Ok(region) => read_encryption(&client_in(home, region), &bucket).await.map_err(|e| e.to_string()),
                Err(_) => Err("its region is unknown".to_owned()),
            };
            ListedBucket { name, region, encryption }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    buckets.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(buckets)
}
