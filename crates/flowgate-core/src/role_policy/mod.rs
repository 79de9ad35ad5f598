//! The cross-account role's storage access: flowgate's inline-policy editor (`access grant`,
//! `access revoke`) and a static reading of the role's identity policies (`access list`, `verify`).
//!
//! flowgate keeps its grants in two statements of the role's inline policy, the shape the AWS docs
//! and the vendor's manual guide give for reading a bucket:
//! - `FlowgateS3ObjectRead`: `s3:GetObject` on `arn:P:s3:::BUCKET/*`
//! - `FlowgateS3BucketRead`: `s3:ListBucket`, `s3:GetBucketLocation` on `arn:P:s3:::BUCKET`
//!
//! Two statements rather than one per bucket keep the document small (a role's inline policies
//! share 10,240 characters), and rather than one with both ARN kinds they avoid granting
//! `s3:GetObject` on a bucket ARN or `s3:ListBucket` on objects, which mean nothing.
//!
//! Resource patterns are matched as IAM does for ARNs: `*` any run of characters (including `/`
//! and `:`), `?` one character, case-sensitive; actions are matched case-insensitively. The whole
//! ARN is matched as one string: IAM lets only a segment-final `*` cross a colon, so a mid-segment
//! wildcard is read here more broadly than IAM would, which can only over-report access.
//!
//! The files: `edit` (grant, revoke), `evaluate` (what the policies allow per bucket),
//! `bucket_grants` (a bucket policy's statements about the role, as grants), `findings`
//! (what an edit leaves readable or denied), `s3_actions` (the one table of S3 reads, writes and
//! account-level actions), `statement` (one statement as the evaluator reads it), `wildcard` (S3
//! resource patterns, `--narrow-wildcard`), `glob` (IAM wildcard matching).

use std::fmt;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::policy_doc::{self, PolicyDocError};

pub const OBJECT_READ_SID: &str = "FlowgateS3ObjectRead";
pub const BUCKET_READ_SID: &str = "FlowgateS3BucketRead";
const OBJECT_READ_ACTIONS: &[&str] = &["s3:GetObject"];
const BUCKET_READ_ACTIONS: &[&str] = &["s3:ListBucket", "s3:GetBucketLocation"];

/// IAM quotas: "Role policy size cannot exceed 10,240 characters", counted without whitespace and
/// summed over all of a role's inline policies.
pub const ROLE_INLINE_POLICY_MAX_CHARS: usize = 10_240;
const POLICY_VERSION: &str = "2012-10-17";

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RolePolicyError {
    #[error("the role's inline policy cannot be edited: {0}; fix it in the IAM console and run again")]
    Document(#[from] PolicyDocError),
    #[error("statement {sid} of the role's inline policy was not written by flowgate ({reason}): rename its Sid or delete it, then run again")]
    ForeignStatement { sid: String, reason: String },
    #[error(
        "the role's inline policies would be {chars} characters, over IAM's limit of {limit}: grant fewer buckets per role, or move them to a managed policy"
    )]
    TooLarge { chars: usize, limit: usize },
    #[error("no bucket given: name at least one bucket")]
    NoBuckets,
    #[error("'{0}' is not an AWS partition: expected aws, aws-cn, aws-us-gov or another aws-* partition")]
    BadPartition(String),
}

/// Parses the role's inline policy as IAM returns it (URL-encoded JSON); no policy (`None`, or an
/// empty string) is an empty document, which `grant` fills in.
pub fn parse_inline(text: Option<&str>) -> Result<Map<String, Value>, RolePolicyError> {
    match text {
        Some(text) if !text.trim().is_empty() => Ok(policy_doc::parse_document(text)?),
        _ => Ok(Map::new()),
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GrantOptions {
    /// Replace the resource `*` (or `arn:P:s3:::*`, `arn:P:s3:::*/*`) of S3-only Allow statements
    /// that grant `s3:GetObject` with the granted buckets' ARNs (`--narrow-wildcard`); the
    /// account-level reads they covered keep the wildcard in a statement of their own.
    pub narrow_wildcard: bool,
    /// Characters used by the role's other inline policies, which share IAM's size limit.
    pub other_inline_chars: usize,
}

/// The result of planning a grant or revoke on one inline policy document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Edit {
    /// The whole document to put (or the input, unchanged).
    pub document: Map<String, Value>,
    pub changed: bool,
    /// No statement is left: delete the inline policy instead of putting it (IAM rejects an empty one).
    pub delete_policy: bool,
    pub findings: Vec<Finding>,
    /// Statement-level diff for `--dry-run`, in document order.
    pub changes: Vec<StatementChange>,
}

impl Edit {
    /// The document as PutRolePolicy takes it: compact JSON.
    pub fn document_text(&self) -> String {
        Value::Object(self.document.clone()).to_string()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// An Allow grants `s3:GetObject` on more than named buckets (`*`, a bucket-name pattern, NotResource).
    BroaderThanNeeded,
    /// `--narrow-wildcard` replaced a wildcard resource with the granted buckets; the finding
    /// names every action whose scope changed.
    Narrowed,
    /// After a revoke, an action of the read set still reads the bucket through a statement
    /// flowgate does not (or cannot) edit.
    StillReadable,
    /// An unconditional Deny in one of the role's policies makes the grant ineffective.
    Denied,
    /// A policy of the role could not be read: access through it is unknown.
    Unreadable,
}

/// Something about the policy the user should know; `Display` is the one-line message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Finding {
    pub kind: FindingKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// The policy holding the statement, when the finding looked beyond the edited document.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// The statement concerned: `Sid "X"` or `#INDEX` (0-based) when it has no Sid.
    pub statement: String,
    pub message: String,
    /// The S3 actions concerned: the reads the statement still allows on the bucket
    /// (still-readable), the granted reads it denies (denied), or the statement's `Action` entries
    /// whose scope a narrowing changed (narrowed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
    /// Still-readable: the statement's `Action` entries that allow those reads, and the resource
    /// patterns that cover the bucket (what to remove).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub action_entries: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// Narrowed: what became of the account-level actions the wildcard served.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_level: Option<AccountLevelActions>,
}

impl Finding {
    /// A finding about `statement` with nothing but its message; set the other fields as needed.
    pub fn new(kind: FindingKind, statement: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            kind,
            bucket: None,
            policy: None,
            statement: statement.into(),
            message: message.into(),
            actions: Vec::new(),
            action_entries: Vec::new(),
            resources: Vec::new(),
            account_level: None,
        }
    }
}

/// The account-level S3 actions (no resource type: they work only on a wildcard) that a narrowed
/// statement covered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct AccountLevelActions {
    /// Kept on the statement's wildcard, in a statement of their own.
    pub kept: Vec<String>,
    /// That statement: `Sid "X"` or `#INDEX`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kept_in: Option<String>,
    /// No longer allowed: account-level writes.
    pub dropped: Vec<String>,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// One statement added, modified or removed. Indexes are positions in the `Statement` list before
/// and after the edit (a single-object `Statement` is position 0).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct StatementChange {
    pub before_index: Option<usize>,
    pub after_index: Option<usize>,
    pub sid: Option<String>,
    #[schemars(with = "Option<crate::policy_doc::StatementShape>")]
    pub before: Option<Value>,
    #[schemars(with = "Option<crate::policy_doc::StatementShape>")]
    pub after: Option<Value>,
}

impl fmt::Display for StatementChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = match (&self.before, &self.after) {
            (None, _) => '+',
            (_, None) => '-',
            _ => '~',
        };
        let index = self.after_index.or(self.before_index).unwrap_or_default();
        match &self.sid {
            Some(sid) => writeln!(f, "{sign} statement {index} ({sid})")?,
            None => writeln!(f, "{sign} statement {index}")?,
        }
        if let Some(before) = &self.before {
            writeln!(f, "  - {before}")?;
        }
        if let Some(after) = &self.after {
            writeln!(f, "  + {after}")?;
        }
        Ok(())
    }
}

mod bucket_grants;
mod edit;
mod evaluate;
mod findings;
pub(crate) mod glob;
mod s3_actions;
pub(crate) mod statement;
mod wildcard;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod properties;

pub use bucket_grants::bucket_policy_grants;
pub use edit::{grant, revoke};
pub use evaluate::{
    AccessReport, BucketAccess, BucketPolicyGrants, Effect, Grant, NamedPolicy, PolicySource, Readability, Scope, StatementRef, WildcardGrant,
    action_readability, bucket_access, bucket_access_with, can_read, can_read_with, evaluate, evaluate_with, named_buckets,
};
pub use findings::{grant_denied, still_readable};
pub use s3_actions::{ACCOUNT_LEVEL_READS, ACCOUNT_LEVEL_WRITES, GET_OBJECT, READ_ACTIONS, S3Action, Target, WRITE_ACTIONS};
