//! The S3 actions flowgate judges by name, in one place: what reads a bucket, what writes it, and
//! what has no resource at all.
//!
//! Source: the Service Authorization Reference, "Actions, resources, and condition keys for Amazon
//! S3" (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html),
//! read in its machine-readable form. An action's resource type says which ARN it is authorized
//! against: `object` is `arn:P:s3:::BUCKET/KEY`, `bucket` is `arn:P:s3:::BUCKET`, and an action
//! with none "must specify all resources ("*")". Access points (`accesspoint`,
//! `accesspointobject`) are other ARNs, which flowgate does not match against buckets.

use super::glob::glob_match;

/// Which of a bucket's ARNs an action is authorized against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `arn:P:s3:::BUCKET/KEY` (resource type `object`).
    Objects,
    /// `arn:P:s3:::BUCKET` (resource type `bucket`).
    Bucket,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct S3Action {
    pub name: &'static str,
    pub target: Target,
}

const fn objects(name: &'static str) -> S3Action {
    S3Action { name, target: Target::Objects }
}

const fn bucket(name: &'static str) -> S3Action {
    S3Action { name, target: Target::Bucket }
}

/// What the vendor's reader calls (GetObject, and HeadObject, which the reference maps to it).
pub const GET_OBJECT: S3Action = objects("s3:GetObject");

/// The read set: every action that reads a bucket's objects or lists what is in it. A revoke takes
/// these out, `access list` says "readable" when one is allowed, and what is left after a revoke
/// is reported.
///
/// Left out on purpose: the Read actions about an object rather than its content
/// (`GetObjectAcl`, `GetObjectTagging`, `GetObjectRetention`, `GetObjectLegalHold`, annotations
/// and their Version forms) and about the bucket's configuration (`GetBucketPolicy`,
/// `GetBucketLocation`, ...): they disclose no object. `s3-object-lambda:GetObject` is another
/// service prefix on Object Lambda access point ARNs.
pub const READ_ACTIONS: &[S3Action] = &[
    GET_OBJECT,
    // Another version than the current one (GetObject with a versionId).
    objects("s3:GetObjectVersion"),
    // "Retrieves all the metadata from an object without returning the object itself": sizes,
    // checksums, parts (GetObjectAttributes API reference); what a listing would show, per key.
    objects("s3:GetObjectAttributes"),
    objects("s3:GetObjectVersionAttributes"),
    // Torrent files: the object's content over BitTorrent.
    objects("s3:GetObjectTorrent"),
    objects("s3:GetObjectVersionTorrent"),
    // "Grants permission to replicate ... objects": reads every version's content.
    objects("s3:GetObjectVersionForReplication"),
    // ListParts: the parts of an upload in progress (resource type `object`).
    objects("s3:ListMultipartUploadParts"),
    // ListObjects(V2) and HeadBucket.
    bucket("s3:ListBucket"),
    // ListObjectVersions.
    bucket("s3:ListBucketVersions"),
    // ListMultipartUploads.
    bucket("s3:ListBucketMultipartUploads"),
];

/// The write set: every action that changes, deletes or exposes a bucket's objects (access levels
/// Write, Permissions management and Tagging on `object`), and the bucket actions that delete it,
/// expire or copy its objects, or decide who can reach them. Other bucket configuration writes
/// (CORS, logging, metrics, notifications, tags, website, ...) change no object and are left out.
pub const WRITE_ACTIONS: &[S3Action] = &[
    objects("s3:PutObject"),
    objects("s3:PutObjectAcl"),
    objects("s3:PutObjectVersionAcl"),
    objects("s3:PutObjectTagging"),
    objects("s3:PutObjectVersionTagging"),
    objects("s3:PutObjectRetention"),
    objects("s3:PutObjectLegalHold"),
    objects("s3:PutObjectAnnotation"),
    objects("s3:PutObjectVersionAnnotation"),
    objects("s3:DeleteObject"),
    objects("s3:DeleteObjectVersion"),
    objects("s3:DeleteObjectTagging"),
    objects("s3:DeleteObjectVersionTagging"),
    objects("s3:DeleteObjectAnnotation"),
    objects("s3:DeleteObjectVersionAnnotation"),
    objects("s3:AbortMultipartUpload"),
    objects("s3:RestoreObject"),
    objects("s3:BypassGovernanceRetention"),
    objects("s3:ObjectOwnerOverrideToBucketOwner"),
    objects("s3:UpdateObjectEncryption"),
    objects("s3:ReplicateObject"),
    objects("s3:ReplicateDelete"),
    objects("s3:ReplicateTags"),
    objects("s3:ReplicateObjectAnnotation"),
    objects("s3:InitiateReplication"),
    bucket("s3:DeleteBucket"),
    bucket("s3:PutBucketPolicy"),
    bucket("s3:DeleteBucketPolicy"),
    bucket("s3:PutBucketAcl"),
    bucket("s3:PutBucketOwnershipControls"),
    bucket("s3:PutBucketPublicAccessBlock"),
    bucket("s3:PutBucketVersioning"),
    bucket("s3:PutBucketObjectLockConfiguration"),
    bucket("s3:PutLifecycleConfiguration"),
    bucket("s3:PutReplicationConfiguration"),
    bucket("s3:PutEncryptionConfiguration"),
];

/// The S3 actions with no resource type whose access level is List or Read: they list or
/// describe account-wide things (buckets' names, access points, jobs, Storage Lens, Access Grants
/// instances) and read no object. `--narrow-wildcard` keeps these on the statement's wildcard.
pub const ACCOUNT_LEVEL_READS: &[&str] = &[
    "s3:GetAccessPoint",
    "s3:GetAccountPublicAccessBlock",
    "s3:ListAccessGrantsInstances",
    "s3:ListAccessPoints",
    "s3:ListAccessPointsForObjectLambda",
    "s3:ListAllMyBuckets",
    "s3:ListJobs",
    "s3:ListMultiRegionAccessPoints",
    "s3:ListStorageLensConfigurations",
    "s3:ListStorageLensGroups",
];

/// The S3 actions with no resource type that write: account-wide settings and Batch Operations
/// jobs (which run over any bucket). `--narrow-wildcard` does not keep these on the wildcard.
pub const ACCOUNT_LEVEL_WRITES: &[&str] = &[
    "s3:CreateJob",
    "s3:CreateStorageLensGroup",
    "s3:PutAccessPointPublicAccessBlock",
    "s3:PutAccountPublicAccessBlock",
    "s3:PutStorageLensConfiguration",
];

impl S3Action {
    /// The name as the evaluator compares it ("The prefix and the action name are case
    /// insensitive", IAM User Guide, IAM JSON policy elements: Action).
    pub fn lowercase(&self) -> String {
        self.name.to_ascii_lowercase()
    }
}

/// Whether an `Action` entry (an IAM pattern) matches `action`, without regard to case.
pub fn entry_matches(entry: &str, action: &str) -> bool {
    glob_match(&entry.to_ascii_lowercase(), &action.to_ascii_lowercase())
}

/// Whether an `Action` entry grants nothing but reads, and some of the read set: then a revoke can
/// take the entry out without taking anything else. A name is exact; a pattern qualifies only when
/// it starts, before its first wildcard, with `s3:Get` or `s3:List`: every S3 action of those
/// prefixes has access level Read or List in the reference, and a pattern such as `s3:*` or
/// `s3:*Object` also matches writes (`s3:PutObject`). `s3:Get*` also covers reads outside the
/// read set (`s3:GetBucketPolicy`, ...); they leave with it, and none of them writes.
pub fn reads_only(entry: &str) -> bool {
    let lower = entry.to_ascii_lowercase();
    if !READ_ACTIONS.iter().any(|a| glob_match(&lower, &a.lowercase())) {
        return false;
    }
    let literal = lower.split(['*', '?']).next().unwrap_or_default();
    literal.len() == lower.len() || literal.starts_with("s3:get") || literal.starts_with("s3:list")
}

/// The account-level actions an `Action` entry covers: (the reads, the writes).
pub fn account_level_covered(entry: &str) -> (Vec<&'static str>, Vec<&'static str>) {
    let covered = |names: &[&'static str]| names.iter().copied().filter(|a| entry_matches(entry, a)).collect::<Vec<_>>();
    (covered(ACCOUNT_LEVEL_READS), covered(ACCOUNT_LEVEL_WRITES))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tables_do_not_overlap_and_read_set_is_what_the_issue_names() {
        let reads: Vec<&str> = READ_ACTIONS.iter().map(|a| a.name).collect();
        for name in ["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:ListBucketVersions", "s3:ListMultipartUploadParts"] {
            assert!(reads.contains(&name), "{name}");
        }
        assert_eq!(READ_ACTIONS[0], GET_OBJECT);
        let all: Vec<&str> = reads
            .iter()
            .copied()
            .chain(WRITE_ACTIONS.iter().map(|a| a.name))
            .chain(ACCOUNT_LEVEL_READS.iter().copied())
            .chain(ACCOUNT_LEVEL_WRITES.iter().copied())
            .collect();
        let mut distinct = all.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), all.len(), "an action is in two tables");
        assert!(WRITE_ACTIONS.iter().all(|a| !reads_only(a.name)));
    }

    #[test]
    fn which_entries_grant_only_reads() {
        // (entry, only reads and some of the read set)
        let cases = [
            ("s3:GetObject", true),
            ("S3:GETOBJECTVERSION", true),
            ("s3:ListBucketVersions", true),
            ("s3:Get*", true),
            ("s3:GetObject*", true),
            ("s3:List*", true),
            ("s3:ListBucket*", true),
            ("s3:Get?bject", true),
            ("s3:*", false),
            ("*", false),
            ("s3:*Object", false),
            ("s3:*Version", false),
            ("s3:PutObject", false),
            ("s3:GetBucketPolicy", false),
            ("s3:GetBucketLocation", false),
            ("s3:ListAllMyBuckets", false),
            ("s3:GetObjectAcl", false),
            ("ec2:Get*", false),
        ];
        for (entry, expected) in cases {
            assert_eq!(reads_only(entry), expected, "{entry}");
        }
    }

    #[test]
    fn account_level_actions_of_an_entry() {
        let (reads, writes) = account_level_covered("s3:List*");
        assert!(reads.contains(&"s3:ListAllMyBuckets") && reads.contains(&"s3:ListAccessPoints"), "{reads:?}");
        assert!(writes.is_empty());
        let (reads, writes) = account_level_covered("s3:*");
        assert_eq!((reads.len(), writes.len()), (ACCOUNT_LEVEL_READS.len(), ACCOUNT_LEVEL_WRITES.len()));
        assert_eq!(account_level_covered("s3:GetObject"), (vec![], vec![]));
    }
}
