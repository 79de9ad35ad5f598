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

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use super::names::BucketName;
use super::policy_doc::{self, PolicyDocError};

pub const OBJECT_READ_SID: &str = "FlowgateS3ObjectRead";
pub const BUCKET_READ_SID: &str = "FlowgateS3BucketRead";
const OBJECT_READ_ACTIONS: &[&str] = &["s3:GetObject"];
const BUCKET_READ_ACTIONS: &[&str] = &["s3:ListBucket", "s3:GetBucketLocation"];

/// IAM quotas: "Role policy size cannot exceed 10,240 characters", counted without whitespace and
/// summed over all of a role's inline policies.
pub const ROLE_INLINE_POLICY_MAX_CHARS: usize = 10_240;
const POLICY_VERSION: &str = "2012-10-17";
const GET_OBJECT: &str = "s3:getobject";

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
    /// that grant `s3:GetObject` with the granted buckets' ARNs (`--narrow-wildcard`).
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// An Allow grants `s3:GetObject` on more than named buckets (`*`, a bucket-name pattern, NotResource).
    BroaderThanNeeded,
    /// `--narrow-wildcard` replaced a wildcard resource with the granted buckets.
    Narrowed,
    /// After a revoke, the bucket is still readable through a statement flowgate does not edit.
    StillReadable,
    /// An unconditional Deny in one of the role's policies makes the grant ineffective.
    Denied,
    /// A policy of the role could not be read: access through it is unknown.
    Unreadable,
}

/// Something about the policy the user should know; `Display` is the one-line message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// One statement added, modified or removed. Indexes are positions in the `Statement` list before
/// and after the edit (a single-object `Statement` is position 0).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatementChange {
    pub before_index: Option<usize>,
    pub after_index: Option<usize>,
    pub sid: Option<String>,
    pub before: Option<Value>,
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

/// Grants read access to `buckets`: adds `arn:P:s3:::B/*` to `FlowgateS3ObjectRead` and
/// `arn:P:s3:::B` to `FlowgateS3BucketRead`, creating them (and the document) when absent.
///
/// An ARN is not added when an unconditional Allow in this document (any Sid, no NotResource)
/// already lists that exact ARN with actions covering what flowgate's statement would grant:
/// then the bucket is granted by name and `revoke` will find it. Wildcard resources do not count:
/// the buckets are named explicitly even when `*` already covers them, so that narrowing or
/// removing the wildcard later keeps them readable; the wildcard is reported (or, with
/// `narrow_wildcard`, narrowed first).
pub fn grant(doc: &Map<String, Value>, buckets: &[BucketName], partition: &str, options: &GrantOptions) -> Result<Edit, RolePolicyError> {
    check_partition(partition)?;
    let buckets = distinct(buckets)?;
    let before = policy_doc::statements(doc)?;
    let mut work = before.clone();
    let mut modified = BTreeSet::new();
    let mut findings = Vec::new();

    if options.narrow_wildcard {
        for (index, statement) in before.iter().enumerate() {
            if narrowing_obstacle(statement, partition).is_none() {
                let narrowed = narrow(statement, &buckets, partition);
                findings.push(Finding {
                    kind: FindingKind::Narrowed,
                    bucket: None,
                    policy: None,
                    statement: statement_label(statement, index),
                    message: format!(
                        "narrowed statement {} from {} to the {} granted bucket(s)",
                        statement_label(statement, index),
                        statement.get("Resource").unwrap_or(&Value::Null),
                        buckets.len()
                    ),
                });
                work[index] = narrowed;
                modified.insert(index);
            }
        }
    }
    findings.extend(broad_grant_findings(&work, partition));

    let mut object_arns = Vec::new();
    let mut bucket_arns = Vec::new();
    for bucket in &buckets {
        let object_arn = format!("{}/*", bucket.arn(partition));
        if !named_by_allow(&work, OBJECT_READ_ACTIONS, &object_arn) {
            object_arns.push(object_arn);
        }
        let bucket_arn = bucket.arn(partition);
        if !named_by_allow(&work, BUCKET_READ_ACTIONS, &bucket_arn) {
            bucket_arns.push(bucket_arn);
        }
    }
    let original_len = before.len();
    for (sid, actions, arns) in [(OBJECT_READ_SID, OBJECT_READ_ACTIONS, object_arns), (BUCKET_READ_SID, BUCKET_READ_ACTIONS, bucket_arns)] {
        if arns.is_empty() {
            continue;
        }
        match work.iter().position(|s| policy_doc::sid(s) == Some(sid)) {
            Some(index) => {
                work[index] = append_resources(&work[index], sid, actions, &arns)?;
                if index < original_len {
                    modified.insert(index);
                }
            }
            None => work.push(flowgate_statement(sid, actions, &arns)),
        }
    }

    let policy = NamedPolicy { name: String::new(), source: PolicySource::Inline, document: Map::new() };
    findings.extend(grant_denied_in(&[(&policy, work.as_slice())], &buckets, partition));

    let mut changes: Vec<StatementChange> = modified.iter().map(|&i| change(Some(i), Some(i), Some(&before[i]), Some(&work[i]))).collect();
    changes.extend((original_len..work.len()).map(|i| change(None, Some(i), None, Some(&work[i]))));
    if changes.is_empty() {
        return Ok(unchanged(doc, findings));
    }
    let mut document = doc.clone();
    if document.is_empty() {
        document.insert("Version".into(), Value::String(POLICY_VERSION.into()));
    }
    let single = matches!(doc.get("Statement"), Some(Value::Object(_)));
    put_statements(&mut document, work, single);
    let chars = Value::Object(document.clone()).to_string().chars().count() + options.other_inline_chars;
    if chars > ROLE_INLINE_POLICY_MAX_CHARS {
        return Err(RolePolicyError::TooLarge { chars, limit: ROLE_INLINE_POLICY_MAX_CHARS });
    }
    Ok(Edit { document, changed: true, delete_policy: false, findings, changes })
}

/// The `Action` entries a revoke takes out of a statement, compared without regard to case ("The
/// prefix and the action name are case insensitive", IAM User Guide, IAM JSON policy elements:
/// Action): the reads flowgate grants, and the read-only `s3:Get*` and
/// `s3:List*` of the vendor's manual statement. Anything else (`s3:*`, `s3:GetObject*`,
/// `s3:GetObjectVersion`, write actions) is someone else's permission and stays; when it still
/// lets the role read the bucket, the revoke reports it instead.
pub const REVOKED_ACTIONS: &[&str] = &["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation", "s3:Get*", "s3:List*"];

/// What "the role can still read the bucket" means after a revoke: one of these actions is allowed
/// on the bucket's objects or on the bucket itself.
const READ_CHECKS: &[(&str, ReadTarget)] =
    &[("s3:getobject", ReadTarget::Objects), ("s3:listbucket", ReadTarget::Bucket), ("s3:getbucketlocation", ReadTarget::Bucket)];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadTarget {
    /// `arn:P:s3:::B/...`
    Objects,
    /// `arn:P:s3:::B`
    Bucket,
}

/// Revokes read access to `buckets`, and nothing else: from every unconditional Allow statement
/// with `Action` and `Resource` (whoever wrote it), the (action, resource) pairs whose action is
/// one of [`REVOKED_ACTIONS`] and whose resource names one of the buckets (`arn:P:s3:::B`, or a
/// path in it such as `B/*` or `B/reports/*`: reading under a prefix is reading that bucket).
///
/// - Only read actions on only the bucket's ARNs: the statement is removed.
/// - Other actions on the bucket's ARNs too: the read actions leave `Action`, the rest stays.
/// - Other resources too: the bucket's ARNs leave `Resource`, the rest stays.
/// - Both: the statement is split. It keeps its Sid, every action and its other resources; a new
///   statement right after it (Sid `<Sid>NonRead` when it had one) keeps the other actions on the
///   bucket's ARNs.
///
/// Never rewritten: Deny statements, statements with `NotAction`, `NotResource` or a `Condition`,
/// and resource patterns with a wildcard in the bucket name (`*`, `arn:P:s3:::logs-a*`): access
/// still possible through them (or through actions outside the read set, such as `s3:*`) is
/// reported as a `StillReadable` finding. Arrays that shrink stay arrays, every other key keeps its
/// place and every statement not naming a bucket is unchanged byte for byte. A split repeats part
/// of a statement, so the result can be larger than the input: the command checks IAM's size limit
/// over all of the role's inline policies ([`inline_size_error`]).
pub fn revoke(doc: &Map<String, Value>, buckets: &[BucketName], partition: &str) -> Result<Edit, RolePolicyError> {
    check_partition(partition)?;
    let buckets = distinct(buckets)?;
    let before = policy_doc::statements(doc)?;
    let mut sids: BTreeSet<String> = before.iter().filter_map(policy_doc::sid).map(str::to_owned).collect();
    let mut work = Vec::with_capacity(before.len());
    let mut changes = Vec::new();
    for (index, statement) in before.iter().enumerate() {
        let Some(revoked) = revoke_statement(statement, &buckets, partition) else {
            work.push(statement.clone());
            continue;
        };
        match revoked.kept {
            None => changes.push(change(Some(index), None, Some(statement), None)),
            Some(kept) => {
                changes.push(change(Some(index), Some(work.len()), Some(statement), Some(&kept)));
                work.push(kept);
            }
        }
        if let Some(mut split) = revoked.split {
            if let (Some(sid), Value::Object(map)) = (policy_doc::sid(statement), &mut split) {
                let new_sid = unique_sid(&format!("{sid}NonRead"), &sids);
                sids.insert(new_sid.clone());
                map.insert("Sid".into(), Value::String(new_sid));
            }
            changes.push(change(None, Some(work.len()), None, Some(&split)));
            work.push(split);
        }
    }

    let policy = NamedPolicy { name: String::new(), source: PolicySource::Inline, document: Map::new() };
    let findings = still_readable_in(&[(&policy, work.as_slice())], &buckets, partition);
    if changes.is_empty() {
        return Ok(unchanged(doc, findings));
    }
    let delete_policy = work.is_empty();
    let mut document = doc.clone();
    let single = matches!(doc.get("Statement"), Some(Value::Object(_)));
    put_statements(&mut document, work, single);
    Ok(Edit { document, changed: true, delete_policy, findings, changes })
}

/// The revoke of one statement: what is left of it (`None`: removed) and the split-off statement.
struct RevokedStatement {
    kept: Option<Value>,
    split: Option<Value>,
}

/// `None` when the statement is not edited: not an unconditional Allow with `Action` and
/// `Resource` lists of strings, or no read action on a bucket's ARN.
fn revoke_statement(statement: &Value, buckets: &[BucketName], partition: &str) -> Option<RevokedStatement> {
    let map = statement.as_object()?;
    if effect_of(statement) != Some(Effect::Allow) || is_conditional(map) || map.contains_key("NotAction") || map.contains_key("NotResource") {
        return None;
    }
    let actions = string_list(map.get("Action")?)?;
    let resources = string_list(map.get("Resource")?)?;
    let (read, other_actions): (Vec<&str>, Vec<&str>) = actions.iter().partition(|a| is_revoked_action(a));
    let (named, other_resources): (Vec<&str>, Vec<&str>) = resources.iter().partition(|r| names_any_bucket(r, buckets, partition));
    if read.is_empty() || named.is_empty() {
        return None;
    }
    let with = |actions: Option<&[&str]>, resources: Option<&[&str]>| {
        let mut map = map.clone();
        // `insert` on an existing key keeps its position (serde_json preserve_order). A list that
        // keeps some but not all of its entries had two or more: it was an array and stays one.
        if let Some(actions) = actions {
            map.insert("Action".into(), Value::Array(actions.iter().map(|a| Value::String((*a).to_owned())).collect()));
        }
        if let Some(resources) = resources {
            map.insert("Resource".into(), Value::Array(resources.iter().map(|r| Value::String((*r).to_owned())).collect()));
        }
        Value::Object(map)
    };
    let revoked = match (other_actions.is_empty(), other_resources.is_empty()) {
        (true, true) => RevokedStatement { kept: None, split: None },
        (false, true) => RevokedStatement { kept: Some(with(Some(&other_actions), None)), split: None },
        (true, false) => RevokedStatement { kept: Some(with(None, Some(&other_resources))), split: None },
        (false, false) => RevokedStatement { kept: Some(with(None, Some(&other_resources))), split: Some(with(Some(&other_actions), Some(&named))) },
    };
    Some(revoked)
}

fn is_revoked_action(action: &str) -> bool {
    REVOKED_ACTIONS.iter().any(|r| r.eq_ignore_ascii_case(action))
}

/// Whether `resource` is `arn:P:s3:::B` or a path in it (`B/...`) for one of the buckets, by
/// name: a wildcard in the bucket name is a pattern, not a name.
fn names_any_bucket(resource: &str, buckets: &[BucketName], partition: &str) -> bool {
    buckets.iter().any(|b| {
        let arn = b.arn(partition);
        resource.strip_prefix(arn.as_str()).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// A string-or-array value's strings; `None` when it holds anything else (never rewritten).
fn string_list(value: &Value) -> Option<Vec<&str>> {
    match value {
        Value::String(s) => Some(vec![s.as_str()]),
        Value::Array(items) => items.iter().map(Value::as_str).collect(),
        _ => None,
    }
}

fn is_conditional(map: &Map<String, Value>) -> bool {
    match map.get("Condition") {
        None | Some(Value::Null) => false,
        Some(Value::Object(conditions)) => !conditions.is_empty(),
        Some(_) => true,
    }
}

/// `wanted`, or `wanted2`, `wanted3`...: "In IAM, the Sid value must be unique within a JSON
/// policy", and it takes only ASCII letters and digits (IAM User Guide, IAM JSON policy elements:
/// Sid), so the suffixes are letters and digits too.
fn unique_sid(wanted: &str, taken: &BTreeSet<String>) -> String {
    if !taken.contains(wanted) {
        return wanted.to_owned();
    }
    (2..).map(|n| format!("{wanted}{n}")).find(|s| !taken.contains(s)).unwrap_or_else(|| wanted.to_owned())
}

/// After a revoke: every Allow in any of the role's policies (inline as edited, managed) through
/// which the role may still read one of `buckets` (`s3:GetObject` on its objects, `s3:ListBucket`
/// or `s3:GetBucketLocation` on it), unless an unconditional Deny blocks that action; plus one
/// finding per policy that could not be read. Each finding names the policy, the statement and
/// what to do.
pub fn still_readable(policies: &[NamedPolicy], buckets: &[BucketName], partition: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut lists = Vec::new();
    for policy in policies {
        match policy_doc::statements(&policy.document) {
            Ok(list) => lists.push((policy, list)),
            Err(e) => findings.push(Finding {
                kind: FindingKind::Unreadable,
                bucket: None,
                policy: Some(policy.name.clone()),
                statement: String::new(),
                message: format!(
                    "{} policy {} could not be read ({e}): the role may still read the bucket through it",
                    source_word(policy.source),
                    policy.name
                ),
            }),
        }
    }
    let borrowed: Vec<(&NamedPolicy, &[Value])> = lists.iter().map(|(p, l)| (*p, l.as_slice())).collect();
    findings.extend(still_readable_in(&borrowed, buckets, partition));
    findings
}

/// The policy of a finding; `None` for the one document `grant`/`revoke` edit (named "").
fn policy_name(statement: &StatementRef) -> Option<String> {
    (!statement.policy.is_empty()).then(|| statement.policy.clone())
}

/// `statement Sid "X" of this policy`, or `inline policy P, statement Sid "X"`.
fn statement_words(statement: &StatementRef) -> String {
    if statement.policy.is_empty() { format!("statement {} of this policy", statement.label()) } else { statement.to_string() }
}

fn source_word(source: PolicySource) -> &'static str {
    match source {
        PolicySource::Inline => "inline",
        PolicySource::Managed => "managed",
    }
}

fn still_readable_in(policies: &[(&NamedPolicy, &[Value])], buckets: &[BucketName], partition: &str) -> Vec<Finding> {
    let views: Vec<StatementView<'_>> = policies.iter().flat_map(|(p, statements)| policy_views(&p.name, p.source, statements)).collect();
    let mut findings = Vec::new();
    for bucket in buckets {
        // Per statement, in the order first seen: the actions it still allows, and on what.
        let mut remaining: Vec<(&StatementView<'_>, Vec<&str>, String)> = Vec::new();
        for (action, target) in READ_CHECKS {
            let (allows, denies) = action_grants(&views, bucket, partition, action, *target);
            if denies.iter().any(|d| !d.conditional && d.scope == Scope::AllObjects) {
                continue;
            }
            for allow in allows {
                let Some(view) = views.iter().find(|v| v.statement == allow.statement) else { continue };
                match remaining.iter_mut().find(|(v, _, _)| v.statement == allow.statement) {
                    Some((_, actions, _)) => actions.push(action_name(action)),
                    None => remaining.push((view, vec![action_name(action)], allow.resource)),
                }
            }
        }
        for (view, actions, resource) in remaining {
            let when = if view.conditional { " when its condition holds" } else { "" };
            findings.push(Finding {
                kind: FindingKind::StillReadable,
                bucket: Some(bucket.to_string()),
                policy: policy_name(&view.statement),
                statement: view.statement.label(),
                message: format!(
                    "{bucket} is still readable{when} through {}, which allows {} on {resource}: {}",
                    statement_words(&view.statement),
                    actions.join(", "),
                    remedy(view, &resource, partition)
                ),
            });
        }
    }
    findings
}

fn action_name(lowercase: &str) -> &'static str {
    match lowercase {
        "s3:getobject" => "s3:GetObject",
        "s3:listbucket" => "s3:ListBucket",
        _ => "s3:GetBucketLocation",
    }
}

/// Why flowgate left a statement that still grants read access, and what the user can do.
fn remedy(view: &StatementView<'_>, resource: &str, partition: &str) -> String {
    if view.statement.source == PolicySource::Managed {
        return "flowgate edits only inline policies: detach that managed policy from the role, or remove the bucket from it".into();
    }
    if view.conditional {
        return "flowgate does not rewrite a statement with a Condition: edit it by hand".into();
    }
    if matches!(view.actions, Listed::AllBut(_)) {
        return "flowgate does not rewrite a statement with NotAction: edit it by hand".into();
    }
    if matches!(view.resources, Listed::AllBut(_)) {
        return "flowgate does not rewrite a statement with NotResource: edit it by hand".into();
    }
    match classify(resource, partition) {
        S3Resource::AllBuckets | S3Resource::BucketPattern => {
            "its resource is a wildcard covering the bucket: narrow it by hand, or with `access grant --narrow-wildcard --bucket B...` naming the buckets that stay readable, then revoke again".into()
        }
        _ => format!(
            "its actions are broader than the reads a revoke removes ({}): edit it by hand",
            REVOKED_ACTIONS.join(", ")
        ),
    }
}

/// Every statement allowing, and every statement denying, `action` (lowercase) on the bucket's
/// objects or on the bucket, with the resource pattern that matched. For the bucket itself the
/// scope is always `AllObjects` (the one ARN is covered or not).
fn action_grants(views: &[StatementView<'_>], bucket: &BucketName, partition: &str, action: &str, target: ReadTarget) -> (Vec<Grant>, Vec<Grant>) {
    let arn = bucket.arn(partition);
    let objects = format!("{arn}/");
    let mut allows = Vec::new();
    let mut denies = Vec::new();
    for view in views.iter().filter(|v| v.allows(action)) {
        let scope = match target {
            ReadTarget::Objects => view.object_scope(&objects),
            ReadTarget::Bucket => view.bucket_scope(&arn),
        };
        let Some((scope, resource)) = scope else { continue };
        let grant = Grant { statement: view.statement.clone(), resource, scope, conditional: view.conditional };
        match view.effect {
            Effect::Allow => allows.push(grant),
            Effect::Deny => denies.push(grant),
        }
    }
    (allows, denies)
}

/// After a grant: every unconditional Deny in any of the role's policies that blocks one of the
/// granted reads (`s3:GetObject` on all of a bucket's objects, `s3:ListBucket` or
/// `s3:GetBucketLocation` on it): explicit deny wins, so the grant has no effect.
pub fn grant_denied(policies: &[NamedPolicy], buckets: &[BucketName], partition: &str) -> Vec<Finding> {
    let lists: Vec<(&NamedPolicy, Vec<Value>)> =
        policies.iter().filter_map(|p| policy_doc::statements(&p.document).ok().map(|list| (p, list))).collect();
    let borrowed: Vec<(&NamedPolicy, &[Value])> = lists.iter().map(|(p, l)| (*p, l.as_slice())).collect();
    grant_denied_in(&borrowed, buckets, partition)
}

fn grant_denied_in(policies: &[(&NamedPolicy, &[Value])], buckets: &[BucketName], partition: &str) -> Vec<Finding> {
    let views: Vec<StatementView<'_>> = policies.iter().flat_map(|(p, statements)| policy_views(&p.name, p.source, statements)).collect();
    let mut findings = Vec::new();
    for bucket in buckets {
        let mut blocked: Vec<(StatementRef, Vec<&str>, String)> = Vec::new();
        for (action, target) in READ_CHECKS {
            let (_, denies) = action_grants(&views, bucket, partition, action, *target);
            for deny in denies.into_iter().filter(|d| !d.conditional && d.scope == Scope::AllObjects) {
                match blocked.iter_mut().find(|(s, _, _)| *s == deny.statement) {
                    Some((_, actions, _)) => actions.push(action_name(action)),
                    None => blocked.push((deny.statement, vec![action_name(action)], deny.resource)),
                }
            }
        }
        for (statement, actions, resource) in blocked {
            findings.push(Finding {
                kind: FindingKind::Denied,
                bucket: Some(bucket.to_string()),
                policy: policy_name(&statement),
                statement: statement.label(),
                message: format!(
                    "{} denies {} on {bucket} ({resource}): the grant has no effect until that Deny is removed",
                    statement_words(&statement),
                    actions.join(", ")
                ),
            });
        }
    }
    findings
}

// ---------------------------------------------------------------------------------------------
// Static evaluation

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicySource {
    Inline,
    Managed,
}

/// One identity policy of the role, as `access list` gathers them (inline and attached managed).
#[derive(Debug, Clone, PartialEq)]
pub struct NamedPolicy {
    pub name: String,
    pub source: PolicySource,
    pub document: Map<String, Value>,
}

impl NamedPolicy {
    /// From the (possibly URL-encoded) document text IAM returns.
    pub fn parse(name: impl Into<String>, source: PolicySource, text: &str) -> Result<Self, RolePolicyError> {
        Ok(NamedPolicy { name: name.into(), source, document: policy_doc::parse_document(text)? })
    }
}

/// Which statement of which policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementRef {
    pub policy: String,
    pub source: PolicySource,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// 0-based position in the policy's `Statement` list.
    pub index: usize,
}

impl StatementRef {
    /// `Sid "X"`, or `#INDEX` for a statement without a Sid.
    pub fn label(&self) -> String {
        match &self.sid {
            Some(sid) => format!("Sid \"{sid}\""),
            None => format!("#{}", self.index),
        }
    }
}

impl fmt::Display for StatementRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match self.source {
            PolicySource::Inline => "inline",
            PolicySource::Managed => "managed",
        };
        write!(f, "{source} policy {}, statement {}", self.policy, self.label())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Effect {
    Allow,
    Deny,
}

/// How much of a bucket's objects a statement's resources cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    AllObjects,
    /// Only some keys (e.g. `arn:aws:s3:::b/AWSLogs/*`, or a NotResource excluding part of it).
    SomeObjects,
}

/// A statement that allows or denies `s3:GetObject` on a bucket's objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    pub statement: StatementRef,
    /// The matching `Resource` pattern, or `NotResource [...]`.
    pub resource: String,
    pub scope: Scope,
    pub conditional: bool,
}

/// Whether the role can `s3:GetObject` a bucket's objects, from its identity policies alone
/// (bucket policies, permission boundaries, SCPs and KMS key policies are not seen here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "readability", rename_all = "kebab-case")]
pub enum Readability {
    /// Unconditional Allows (on all objects or some keys; see each grant's scope), and no Deny
    /// that could apply.
    Allowed {
        by: Vec<Grant>,
    },
    /// An unconditional Deny on all of the bucket's objects: explicit deny wins.
    Denied {
        by: Vec<Grant>,
    },
    /// Some Allow exists, but every Allow has a Condition, or a Deny with a Condition or on some
    /// keys only may apply: whether a read succeeds depends on the request.
    Conditional {
        allowed_by: Vec<Grant>,
        denied_by: Vec<Grant>,
    },
    NotGranted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BucketAccess {
    pub bucket: BucketName,
    pub readability: Readability,
    /// Every statement allowing `s3:GetObject` on some of its objects (wildcards included).
    pub allows: Vec<Grant>,
    /// Every statement denying it, conditional or not.
    pub denies: Vec<Grant>,
}

/// A statement about `s3:GetObject` on more than named buckets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WildcardGrant {
    pub statement: StatementRef,
    pub effect: Effect,
    /// The pattern (`*`, `arn:aws:s3:::logs-*`), or `NotResource [...]`.
    pub resource: String,
    /// The pattern matches every bucket (as opposed to buckets whose name matches it).
    pub all_buckets: bool,
    pub conditional: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessReport {
    pub partition: String,
    /// Every bucket named (without wildcards) in any statement's `Resource`, by name.
    pub buckets: Vec<BucketAccess>,
    pub wildcard_allows: Vec<WildcardGrant>,
    pub wildcard_denies: Vec<WildcardGrant>,
    /// Policies or statements that could not be read and were skipped.
    pub problems: Vec<String>,
}

/// What the role's identity policies let it read, per bucket they name, plus every wildcard grant.
///
/// - Actions: `Action` patterns matched case-insensitively with IAM wildcards; an Allow with
///   `NotAction` applies to `s3:GetObject` unless a `NotAction` pattern matches it.
/// - Resources: `NotResource` applies to the objects its patterns do not cover (all, some or none).
/// - Conditions are never evaluated: a statement with a non-empty `Condition` is conditional.
///   A conditional Allow does not make a bucket `Allowed`; a conditional Deny does not make it
///   `Denied` (it may not apply) but turns `Allowed` into `Conditional`.
pub fn evaluate(policies: &[NamedPolicy], partition: &str) -> AccessReport {
    let (statements, problems) = collect_statements(policies);
    let views: Vec<StatementView<'_>> = statements.iter().filter_map(|(r, s)| view(r.clone(), s)).collect();

    let mut named = BTreeSet::new();
    let mut wildcard_allows = Vec::new();
    let mut wildcard_denies = Vec::new();
    for view in &views {
        let mut wildcard = |resource: String, all_buckets: bool| {
            let grant =
                WildcardGrant { statement: view.statement.clone(), effect: view.effect, resource, all_buckets, conditional: view.conditional };
            match view.effect {
                Effect::Allow => wildcard_allows.push(grant),
                Effect::Deny => wildcard_denies.push(grant),
            }
        };
        match &view.resources {
            Listed::Only(resources) => {
                for resource in resources {
                    match classify(resource, partition) {
                        S3Resource::Bucket(name) => {
                            if let Ok(bucket) = name.parse::<BucketName>() {
                                named.insert(bucket);
                            }
                        }
                        kind @ (S3Resource::AllBuckets | S3Resource::BucketPattern) if view.allows(GET_OBJECT) => {
                            wildcard((*resource).to_owned(), kind == S3Resource::AllBuckets);
                        }
                        _ => {}
                    }
                }
            }
            Listed::AllBut(excluded) if view.allows(GET_OBJECT) => {
                wildcard(format!("NotResource {}", compact_strings(excluded)), false);
            }
            _ => {}
        }
    }
    let buckets = named.iter().map(|bucket| bucket_access(&views, bucket, partition)).collect();
    AccessReport { partition: partition.to_owned(), buckets, wildcard_allows, wildcard_denies, problems }
}

/// Whether the role's identity policies let it read `bucket`'s objects (for `verify`); same rules
/// as `evaluate`.
pub fn can_read(policies: &[NamedPolicy], bucket: &BucketName, partition: &str) -> Readability {
    let (statements, _) = collect_statements(policies);
    let views: Vec<StatementView<'_>> = statements.iter().filter_map(|(r, s)| view(r.clone(), s)).collect();
    bucket_access(&views, bucket, partition).readability
}

fn collect_statements(policies: &[NamedPolicy]) -> (Vec<(StatementRef, Value)>, Vec<String>) {
    let mut statements = Vec::new();
    let mut problems = Vec::new();
    for policy in policies {
        match policy_doc::statements(&policy.document) {
            Ok(list) => {
                for (index, statement) in list.into_iter().enumerate() {
                    let statement_ref = StatementRef {
                        policy: policy.name.clone(),
                        source: policy.source,
                        sid: policy_doc::sid(&statement).map(str::to_owned),
                        index,
                    };
                    if effect_of(&statement).is_none() {
                        problems.push(format!("{statement_ref}: not an Allow or Deny statement, skipped"));
                    }
                    statements.push((statement_ref, statement));
                }
            }
            Err(e) => problems.push(format!("policy {}: {e}, skipped", policy.name)),
        }
    }
    (statements, problems)
}

fn policy_views<'a>(name: &str, source: PolicySource, statements: &'a [Value]) -> Vec<StatementView<'a>> {
    statements
        .iter()
        .enumerate()
        .filter_map(|(index, statement)| {
            let statement_ref = StatementRef { policy: name.to_owned(), source, sid: policy_doc::sid(statement).map(str::to_owned), index };
            view(statement_ref, statement)
        })
        .collect()
}

fn bucket_access(views: &[StatementView<'_>], bucket: &BucketName, partition: &str) -> BucketAccess {
    let objects = format!("{}/", bucket.arn(partition));
    let mut allows = Vec::new();
    let mut denies = Vec::new();
    for view in views.iter().filter(|v| v.allows(GET_OBJECT)) {
        let Some((scope, resource)) = view.object_scope(&objects) else { continue };
        let grant = Grant { statement: view.statement.clone(), resource, scope, conditional: view.conditional };
        match view.effect {
            Effect::Allow => allows.push(grant),
            Effect::Deny => denies.push(grant),
        }
    }
    let certain_denies: Vec<Grant> = denies.iter().filter(|d| !d.conditional && d.scope == Scope::AllObjects).cloned().collect();
    let unconditional_allows: Vec<Grant> = allows.iter().filter(|a| !a.conditional).cloned().collect();
    let readability = if !certain_denies.is_empty() {
        Readability::Denied { by: certain_denies }
    } else if allows.is_empty() {
        Readability::NotGranted
    } else if !unconditional_allows.is_empty() && denies.is_empty() {
        Readability::Allowed { by: unconditional_allows }
    } else {
        Readability::Conditional { allowed_by: allows.clone(), denied_by: denies.clone() }
    };
    BucketAccess { bucket: bucket.clone(), readability, allows, denies }
}

// ---------------------------------------------------------------------------------------------
// Statements

/// A list-valued element of a statement: `Action` or `NotAction`, `Resource` or `NotResource`.
enum Listed<'a> {
    Only(Vec<&'a str>),
    AllBut(Vec<&'a str>),
    Missing,
}

impl<'a> Listed<'a> {
    fn of(statement: &'a Map<String, Value>, key: &str, not_key: &str) -> Self {
        if let Some(value) = statement.get(key) {
            Listed::Only(strings(value))
        } else if let Some(value) = statement.get(not_key) {
            Listed::AllBut(strings(value))
        } else {
            Listed::Missing
        }
    }
}

/// A string-or-array value's strings; anything else (invalid in IAM) matches nothing.
fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// An Allow or Deny statement as the evaluator reads it.
struct StatementView<'a> {
    statement: StatementRef,
    effect: Effect,
    actions: Listed<'a>,
    resources: Listed<'a>,
    conditional: bool,
}

fn effect_of(statement: &Value) -> Option<Effect> {
    // IAM accepts exactly these two spellings.
    match statement.get("Effect").and_then(Value::as_str) {
        Some("Allow") => Some(Effect::Allow),
        Some("Deny") => Some(Effect::Deny),
        _ => None,
    }
}

fn view(statement_ref: StatementRef, statement: &Value) -> Option<StatementView<'_>> {
    let effect = effect_of(statement)?;
    let map = statement.as_object()?;
    let conditional = match map.get("Condition") {
        None | Some(Value::Null) => false,
        Some(Value::Object(conditions)) => !conditions.is_empty(),
        Some(_) => true,
    };
    Some(StatementView {
        statement: statement_ref,
        effect,
        actions: Listed::of(map, "Action", "NotAction"),
        resources: Listed::of(map, "Resource", "NotResource"),
        conditional,
    })
}

impl StatementView<'_> {
    /// Whether the statement's actions include `action` (lowercase).
    fn allows(&self, action: &str) -> bool {
        match &self.actions {
            Listed::Only(patterns) => patterns.iter().any(|p| glob_match(&p.to_ascii_lowercase(), action)),
            Listed::AllBut(patterns) => !patterns.iter().any(|p| glob_match(&p.to_ascii_lowercase(), action)),
            Listed::Missing => false,
        }
    }

    /// Whether the statement's resources cover the bucket ARN `arn` itself, and the first pattern
    /// that does.
    fn bucket_scope(&self, arn: &str) -> Option<(Scope, String)> {
        match &self.resources {
            Listed::Only(patterns) => patterns.iter().find(|p| glob_match(p, arn)).map(|p| (Scope::AllObjects, (*p).to_owned())),
            Listed::AllBut(excluded) => {
                (!excluded.iter().any(|p| glob_match(p, arn))).then(|| (Scope::AllObjects, format!("NotResource {}", compact_strings(excluded))))
            }
            Listed::Missing => None,
        }
    }

    /// How much of the objects under `objects` (`arn:P:s3:::B/`) the statement's resources cover,
    /// and the pattern that covers the most.
    fn object_scope(&self, objects: &str) -> Option<(Scope, String)> {
        match &self.resources {
            Listed::Only(patterns) => {
                let (coverage, pattern) = patterns
                    .iter()
                    .map(|p| (prefix_coverage(p, objects), *p))
                    .fold((Coverage::None, ""), |best, next| if next.0 > best.0 { next } else { best });
                match coverage {
                    Coverage::None => None,
                    Coverage::Some => Some((Scope::SomeObjects, pattern.to_owned())),
                    Coverage::All => Some((Scope::AllObjects, pattern.to_owned())),
                }
            }
            Listed::AllBut(excluded) => {
                let description = format!("NotResource {}", compact_strings(excluded));
                match excluded.iter().map(|p| prefix_coverage(p, objects)).max().unwrap_or(Coverage::None) {
                    Coverage::All => None,
                    Coverage::Some => Some((Scope::SomeObjects, description)),
                    Coverage::None => Some((Scope::AllObjects, description)),
                }
            }
            Listed::Missing => None,
        }
    }
}

/// Whether an unconditional Allow in `statements` lists exactly `arn` with actions covering every
/// one of `actions` (each may come from a different statement).
fn named_by_allow(statements: &[Value], actions: &[&str], arn: &str) -> bool {
    let views = policy_views("", PolicySource::Inline, statements);
    actions.iter().all(|action| {
        let action = action.to_ascii_lowercase();
        views.iter().any(|v| {
            v.effect == Effect::Allow
                && !v.conditional
                && matches!(&v.resources, Listed::Only(resources) if resources.contains(&arn))
                && v.allows(&action)
        })
    })
}

/// Appends `arns` to flowgate's statement `sid`, after checking it still has flowgate's shape.
fn append_resources(statement: &Value, sid: &str, actions: &[&str], arns: &[String]) -> Result<Value, RolePolicyError> {
    let foreign = |reason: &str| RolePolicyError::ForeignStatement { sid: sid.to_owned(), reason: reason.to_owned() };
    let Some(map) = statement.as_object() else { return Err(foreign("it is not a JSON object")) };
    if effect_of(statement) != Some(Effect::Allow) {
        return Err(foreign("its Effect is not Allow"));
    }
    for key in ["NotAction", "NotResource", "Condition"] {
        if map.contains_key(key) {
            return Err(foreign(&format!("it has {key}")));
        }
    }
    let have: BTreeSet<String> = map.get("Action").map(strings).unwrap_or_default().iter().map(|a| a.to_ascii_lowercase()).collect();
    let want: BTreeSet<String> = actions.iter().map(|a| a.to_ascii_lowercase()).collect();
    if have != want {
        return Err(foreign(&format!("its Action is not {}", actions.join(", "))));
    }
    let mut resources = match map.get("Resource") {
        Some(Value::String(s)) => vec![Value::String(s.clone())],
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => items.clone(),
        _ => return Err(foreign("its Resource is not a list of ARNs")),
    };
    for arn in arns {
        if !resources.iter().any(|r| r.as_str() == Some(arn)) {
            resources.push(Value::String(arn.clone()));
        }
    }
    let mut map = map.clone();
    map.insert("Resource".into(), Value::Array(resources));
    Ok(Value::Object(map))
}

fn flowgate_statement(sid: &str, actions: &[&str], arns: &[String]) -> Value {
    let mut map = Map::new();
    map.insert("Sid".into(), Value::String(sid.into()));
    map.insert("Effect".into(), Value::String("Allow".into()));
    let action = match actions {
        [one] => Value::String((*one).into()),
        many => Value::Array(many.iter().map(|a| Value::String((*a).into())).collect()),
    };
    map.insert("Action".into(), action);
    // Always an array, so that later grants append without changing its representation.
    map.insert("Resource".into(), Value::Array(arns.iter().cloned().map(Value::String).collect()));
    Value::Object(map)
}

// ---------------------------------------------------------------------------------------------
// Wildcards

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum S3Resource<'a> {
    /// Every bucket (`*`, `arn:P:s3:::*`, `arn:P:s3:::*/*`, `arn:*:s3:::*`).
    AllBuckets,
    /// A wildcard in the bucket name (`arn:P:s3:::logs-*`, `arn:P:s3:::*/AWSLogs/*`).
    BucketPattern,
    /// A named bucket, or objects in it.
    Bucket(&'a str),
    Other,
}

fn classify<'a>(resource: &'a str, partition: &str) -> S3Resource<'a> {
    if prefix_coverage(resource, &format!("arn:{partition}:s3:::")) == Coverage::All {
        return S3Resource::AllBuckets;
    }
    let parts: Vec<&str> = resource.splitn(6, ':').collect();
    let [arn, arn_partition, service, region, account, path] = parts[..] else { return S3Resource::Other };
    if arn != "arn"
        || !glob_match(arn_partition, partition)
        || !glob_match(&service.to_ascii_lowercase(), "s3")
        || !glob_match(region, "")
        || !glob_match(account, "")
    {
        return S3Resource::Other;
    }
    let (bucket, key) = match path.split_once('/') {
        Some((bucket, key)) => (bucket, Some(key)),
        None => (path, None),
    };
    let all_stars = |s: &str| !s.is_empty() && s.chars().all(|c| c == '*');
    if all_stars(bucket) && key.is_none_or(all_stars) {
        S3Resource::AllBuckets
    } else if bucket.contains(['*', '?']) {
        S3Resource::BucketPattern
    } else if bucket.is_empty() {
        S3Resource::Other
    } else {
        S3Resource::Bucket(bucket)
    }
}

/// Why a statement is not one `--narrow-wildcard` rewrites, or `None` when it is: an Allow whose
/// actions are all S3 actions, include `s3:GetObject`, and whose `Resource` has an every-bucket
/// wildcard.
fn narrowing_obstacle(statement: &Value, partition: &str) -> Option<String> {
    let Some(view) = view(StatementRef { policy: String::new(), source: PolicySource::Inline, sid: None, index: 0 }, statement) else {
        return Some("it is not an Allow statement".into());
    };
    if view.effect != Effect::Allow || !view.allows(GET_OBJECT) {
        return Some("it does not allow s3:GetObject".into());
    }
    let Listed::Only(actions) = &view.actions else { return Some("it uses NotAction".into()) };
    let Listed::Only(resources) = &view.resources else { return Some("it uses NotResource".into()) };
    if let Some(other) = actions.iter().find(|a| !a.to_ascii_lowercase().starts_with("s3:")) {
        return Some(format!("it also allows {other}"));
    }
    // AWS-FACTS: s3:ListAllMyBuckets only works with Resource "*".
    if actions.iter().any(|a| a.eq_ignore_ascii_case("s3:ListAllMyBuckets")) {
        return Some("it allows s3:ListAllMyBuckets, which needs Resource \"*\"; move that action to its own statement".into());
    }
    if !resources.iter().any(|r| classify(r, partition) == S3Resource::AllBuckets) {
        return Some("its wildcard is a bucket-name pattern, not every bucket".into());
    }
    None
}

/// The statement with each every-bucket wildcard resource replaced by the ARNs of `buckets` it
/// covered (`arn:P:s3:::B` and/or `arn:P:s3:::B/*`), other resources and keys kept in place.
fn narrow(statement: &Value, buckets: &[BucketName], partition: &str) -> Value {
    let Some(map) = statement.as_object() else { return statement.clone() };
    let items: Vec<Value> = match map.get("Resource") {
        Some(Value::Array(items)) => items.clone(),
        Some(other) => vec![other.clone()],
        None => Vec::new(),
    };
    let mut narrowed: Vec<Value> = Vec::new();
    let push = |narrowed: &mut Vec<Value>, arn: String| {
        if !narrowed.iter().chain(items.iter()).any(|r| r.as_str() == Some(arn.as_str())) {
            narrowed.push(Value::String(arn));
        }
    };
    for item in &items {
        match item.as_str() {
            Some(pattern) if classify(pattern, partition) == S3Resource::AllBuckets => {
                for bucket in buckets {
                    let bucket_arn = bucket.arn(partition);
                    if glob_match(pattern, &bucket_arn) {
                        push(&mut narrowed, bucket_arn.clone());
                    }
                    if prefix_coverage(pattern, &format!("{bucket_arn}/")) == Coverage::All {
                        push(&mut narrowed, format!("{bucket_arn}/*"));
                    }
                }
            }
            _ => narrowed.push(item.clone()),
        }
    }
    let mut map = map.clone();
    map.insert("Resource".into(), Value::Array(narrowed));
    Value::Object(map)
}

/// One finding per Allow statement that grants `s3:GetObject` on more than named buckets.
fn broad_grant_findings(statements: &[Value], partition: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (index, statement) in statements.iter().enumerate() {
        let Some(view) = view(StatementRef { policy: String::new(), source: PolicySource::Inline, sid: None, index }, statement) else {
            continue;
        };
        if view.effect != Effect::Allow || !view.allows(GET_OBJECT) {
            continue;
        }
        let broad: Vec<String> = match &view.resources {
            Listed::Only(resources) => resources
                .iter()
                .filter(|r| matches!(classify(r, partition), S3Resource::AllBuckets | S3Resource::BucketPattern))
                .map(|r| format!("\"{r}\""))
                .collect(),
            Listed::AllBut(excluded) => vec![format!("everything but {}", compact_strings(excluded))],
            Listed::Missing => Vec::new(),
        };
        if broad.is_empty() {
            continue;
        }
        let label = statement_label(statement, index);
        let condition = if view.conditional { " (when its condition holds)" } else { "" };
        let remedy = match narrowing_obstacle(statement, partition) {
            None => "run again with --narrow-wildcard to narrow it to the granted buckets".to_owned(),
            Some(reason) => format!("edit it by hand ({reason})"),
        };
        findings.push(Finding {
            kind: FindingKind::BroaderThanNeeded,
            bucket: None,
            policy: None,
            statement: label.clone(),
            message: format!(
                "statement {label} allows s3:GetObject on {}{condition}, broader than the buckets flowgate grants: {remedy}",
                broad.join(", ")
            ),
        });
    }
    findings
}

// ---------------------------------------------------------------------------------------------
// Glob matching

fn glob_match(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let states = glob_states(&pattern, text);
    states.last().copied().unwrap_or(false)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Coverage {
    None,
    Some,
    All,
}

/// How many of the strings that start with `prefix` (and continue: an object key is never empty)
/// `pattern` matches.
fn prefix_coverage(pattern: &str, prefix: &str) -> Coverage {
    let pattern: Vec<char> = pattern.chars().collect();
    let states = glob_states(&pattern, prefix);
    let live = |i: usize| states.get(i).copied().unwrap_or(false);
    if (0..pattern.len()).any(|i| live(i) && pattern[i..].iter().all(|&c| c == '*')) {
        Coverage::All
    } else if (0..pattern.len()).any(live) {
        Coverage::Some
    } else {
        Coverage::None
    }
}

/// The pattern positions reachable after reading `text` (position `pattern.len()` = matched all).
fn glob_states(pattern: &[char], text: &str) -> Vec<bool> {
    let mut states = vec![false; pattern.len() + 1];
    states[0] = true;
    skip_stars(pattern, &mut states);
    for c in text.chars() {
        let mut next = vec![false; pattern.len() + 1];
        for (i, &p) in pattern.iter().enumerate() {
            if !states[i] {
                continue;
            }
            match p {
                '*' => next[i] = true,
                '?' => next[i + 1] = true,
                p if p == c => next[i + 1] = true,
                _ => {}
            }
        }
        skip_stars(pattern, &mut next);
        if !next.contains(&true) {
            return next;
        }
        states = next;
    }
    states
}

/// A `*` also matches nothing.
fn skip_stars(pattern: &[char], states: &mut [bool]) {
    for (i, &p) in pattern.iter().enumerate() {
        if states[i] && p == '*' {
            states[i + 1] = true;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Small helpers

fn check_partition(partition: &str) -> Result<(), RolePolicyError> {
    if super::names::is_partition(partition) { Ok(()) } else { Err(RolePolicyError::BadPartition(partition.to_owned())) }
}

fn distinct(buckets: &[BucketName]) -> Result<Vec<BucketName>, RolePolicyError> {
    let mut seen = BTreeSet::new();
    let list: Vec<BucketName> = buckets.iter().filter(|b| seen.insert(*b)).cloned().collect();
    if list.is_empty() { Err(RolePolicyError::NoBuckets) } else { Ok(list) }
}

fn statement_label(statement: &Value, index: usize) -> String {
    match policy_doc::sid(statement) {
        Some(sid) => format!("Sid \"{sid}\""),
        None => format!("#{index}"),
    }
}

fn compact_strings(items: &[&str]) -> String {
    Value::Array(items.iter().map(|s| Value::String((*s).to_owned())).collect()).to_string()
}

fn change(before_index: Option<usize>, after_index: Option<usize>, before: Option<&Value>, after: Option<&Value>) -> StatementChange {
    let sid = before.or(after).and_then(policy_doc::sid).map(str::to_owned);
    StatementChange { before_index, after_index, sid, before: before.cloned(), after: after.cloned() }
}

fn unchanged(doc: &Map<String, Value>, findings: Vec<Finding>) -> Edit {
    Edit { document: doc.clone(), changed: false, delete_policy: false, findings, changes: Vec::new() }
}

/// Writes the statement list back, as a single object when it was one and still is.
fn put_statements(document: &mut Map<String, Value>, mut statements: Vec<Value>, was_single: bool) {
    let value = match statements.pop() {
        Some(only) if was_single && statements.is_empty() => only,
        Some(last) => {
            statements.push(last);
            Value::Array(statements)
        }
        None => Value::Array(Vec::new()),
    };
    document.insert("Statement".into(), value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bucket(name: &str) -> BucketName {
        name.parse().unwrap()
    }

    fn buckets(names: &[&str]) -> Vec<BucketName> {
        names.iter().map(|n| bucket(n)).collect()
    }

    fn doc(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    fn text(map: &Map<String, Value>) -> String {
        Value::Object(map.clone()).to_string()
    }

    type GrantCase = (&'static str, Value, Vec<&'static str>, GrantOptions, Option<Value>);
    type RevokeCase = (&'static str, Value, Vec<&'static str>, Option<Value>, bool);

    const NARROW: GrantOptions = GrantOptions { narrow_wildcard: true, other_inline_chars: 0 };
    const PLAIN: GrantOptions = GrantOptions { narrow_wildcard: false, other_inline_chars: 0 };

    fn ec2_describe() -> Value {
        json!({"Sid": "Discovery", "Effect": "Allow", "Action": ["ec2:DescribeVpcs", "ec2:DescribeFlowLogs"], "Resource": "*"})
    }

    fn deny_insecure() -> Value {
        json!({"Sid": "DenyInsecure", "Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
    }

    fn flowgate(objects: &[&str], buckets: &[&str]) -> Vec<Value> {
        vec![
            json!({"Sid": OBJECT_READ_SID, "Effect": "Allow", "Action": "s3:GetObject",
                   "Resource": objects.iter().map(|b| format!("arn:aws:s3:::{b}/*")).collect::<Vec<_>>()}),
            json!({"Sid": BUCKET_READ_SID, "Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                   "Resource": buckets.iter().map(|b| format!("arn:aws:s3:::{b}")).collect::<Vec<_>>()}),
        ]
    }

    #[test]
    fn grant_cases() {
        let other_bucket = json!({"Sid": "Archive", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::archive-logs/*"});
        let [fg_obj_a, fg_bucket_a] = <[Value; 2]>::try_from(flowgate(&["flow-a"], &["flow-a"])).unwrap();
        let [fg_obj_ab, fg_bucket_ab] = <[Value; 2]>::try_from(flowgate(&["flow-a", "flow-b"], &["flow-a", "flow-b"])).unwrap();
        // (name, input, buckets, options, expected document; None = unchanged)
        let cases: Vec<GrantCase> = vec![
            ("empty document", json!({}), vec!["flow-a"], PLAIN, Some(json!({"Version": "2012-10-17", "Statement": [fg_obj_a, fg_bucket_a]}))),
            (
                "unrelated statements kept in place",
                json!({"Version": "2012-10-17", "Id": "x", "Statement": [ec2_describe(), deny_insecure(), other_bucket]}),
                vec!["flow-a"],
                PLAIN,
                Some(
                    json!({"Version": "2012-10-17", "Id": "x", "Statement": [ec2_describe(), deny_insecure(), other_bucket, fg_obj_a, fg_bucket_a]}),
                ),
            ),
            (
                "appends to flowgate's statements",
                json!({"Version": "2012-10-17", "Statement": [ec2_describe(), fg_obj_a, fg_bucket_a]}),
                vec!["flow-b"],
                PLAIN,
                Some(json!({"Version": "2012-10-17", "Statement": [ec2_describe(), fg_obj_ab, fg_bucket_ab]})),
            ),
            (
                "already granted by flowgate",
                json!({"Version": "2012-10-17", "Statement": [fg_obj_ab, fg_bucket_ab]}),
                vec!["flow-b", "flow-a"],
                PLAIN,
                None,
            ),
            (
                "already granted by a hand-written statement with any Sid",
                json!({"Version": "2012-10-17", "Statement": {"Sid": "Mine", "Effect": "Allow", "Action": "s3:*",
                    "Resource": ["arn:aws:s3:::flow-a", "arn:aws:s3:::flow-a/*"]}}),
                vec!["flow-a"],
                PLAIN,
                None,
            ),
            (
                "a conditional Allow does not count as granted",
                json!({"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": ["arn:aws:s3:::flow-a", "arn:aws:s3:::flow-a/*"],
                    "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}}),
                vec!["flow-a"],
                PLAIN,
                Some(json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": ["arn:aws:s3:::flow-a", "arn:aws:s3:::flow-a/*"],
                    "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}, fg_obj_a, fg_bucket_a]})),
            ),
            (
                "single-object Statement, strings for Action and Resource",
                json!({"Version": "2012-10-17", "Statement": {"Sid": OBJECT_READ_SID, "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::flow-a/*"}}),
                vec!["flow-b"],
                PLAIN,
                Some(json!({"Version": "2012-10-17", "Statement": [
                 {"Sid": OBJECT_READ_SID, "Effect": "Allow", "Action": "s3:GetObject", "Resource": ["arn:aws:s3:::flow-a/*", "arn:aws:s3:::flow-b/*"]},
                 {"Sid": BUCKET_READ_SID, "Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": ["arn:aws:s3:::flow-b"]}]})),
            ),
            (
                "only the missing half is added",
                json!({"Statement": [{"Sid": "Objects", "Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::flow-a/*"}]}),
                vec!["flow-a"],
                PLAIN,
                Some(
                    json!({"Statement": [{"Sid": "Objects", "Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::flow-a/*"}, fg_bucket_a]}),
                ),
            ),
            (
                "wildcard left in place without --narrow-wildcard",
                json!({"Statement": [{"Sid": "S3Read", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"}]}),
                vec!["flow-a"],
                PLAIN,
                Some(
                    json!({"Statement": [{"Sid": "S3Read", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"}, fg_obj_a, fg_bucket_a]}),
                ),
            ),
            (
                "wildcard narrowed, Sid and Action kept, nothing else needed",
                json!({"Version": "2012-10-17", "Statement": {"Sid": "S3Read", "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"], "Resource": "arn:aws:s3:::*"}}),
                vec!["flow-a", "flow-b"],
                NARROW,
                Some(json!({"Version": "2012-10-17", "Statement": {"Sid": "S3Read", "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"],
                    "Resource": ["arn:aws:s3:::flow-a", "arn:aws:s3:::flow-a/*", "arn:aws:s3:::flow-b", "arn:aws:s3:::flow-b/*"]}})),
            ),
            (
                "objects-only wildcard narrows to object ARNs; bucket reads added by flowgate",
                json!({"Statement": [{"Sid": "S3Read", "Effect": "Allow", "Action": "s3:GetObject",
                    "Resource": ["arn:aws:s3:::keep-me/x", "arn:aws:s3:::*/*"]}]}),
                vec!["flow-a"],
                NARROW,
                Some(json!({"Statement": [{"Sid": "S3Read", "Effect": "Allow", "Action": "s3:GetObject",
                    "Resource": ["arn:aws:s3:::keep-me/x", "arn:aws:s3:::flow-a/*"]}, fg_bucket_a]})),
            ),
            (
                "wildcard with non-S3 actions is never narrowed",
                json!({"Statement": [{"Sid": "Broad", "Effect": "Allow", "Action": ["s3:GetObject", "ec2:Describe*"], "Resource": "*"}]}),
                vec!["flow-a"],
                NARROW,
                Some(
                    json!({"Statement": [{"Sid": "Broad", "Effect": "Allow", "Action": ["s3:GetObject", "ec2:Describe*"], "Resource": "*"}, fg_obj_a, fg_bucket_a]}),
                ),
            ),
        ];
        for (name, input, names, options, expected) in cases {
            let input = doc(input);
            let edit = grant(&input, &buckets(&names), "aws", &options).unwrap_or_else(|e| panic!("{name}: {e}"));
            match expected {
                None => {
                    assert!(!edit.changed, "{name}");
                    assert!(edit.changes.is_empty(), "{name}");
                    assert_eq!(text(&edit.document), text(&input), "{name}");
                }
                Some(expected) => {
                    assert!(edit.changed, "{name}");
                    assert_eq!(text(&edit.document), expected.to_string(), "{name}");
                }
            }
            assert!(!edit.delete_policy, "{name}");
            // Granting again changes nothing.
            let again = grant(&edit.document, &buckets(&names), "aws", &options).unwrap();
            assert!(!again.changed, "{name}: second grant");
            assert_eq!(again.document, edit.document, "{name}: second grant");
        }
    }

    #[test]
    fn grant_reports_wildcards_and_narrowing() {
        let wildcard = doc(json!({"Statement": [{"Sid": "S3Read", "Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]}));
        let plain = grant(&wildcard, &buckets(&["flow-a"]), "aws", &PLAIN).unwrap();
        assert_eq!(plain.findings.len(), 1);
        assert_eq!(plain.findings[0].kind, FindingKind::BroaderThanNeeded);
        assert_eq!(plain.findings[0].statement, "Sid \"S3Read\"");
        assert!(plain.findings[0].message.contains("--narrow-wildcard"), "{}", plain.findings[0]);

        let narrowed = grant(&wildcard, &buckets(&["flow-a"]), "aws", &NARROW).unwrap();
        assert_eq!(narrowed.findings.iter().map(|f| f.kind).collect::<Vec<_>>(), [FindingKind::Narrowed]);
        assert_eq!(narrowed.changes[0].before_index, Some(0));
        assert_eq!(narrowed.changes[0].after.as_ref().unwrap()["Resource"], json!(["arn:aws:s3:::flow-a", "arn:aws:s3:::flow-a/*"]));

        let mixed = doc(json!({"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "ec2:Describe*"], "Resource": "*"}]}));
        let edit = grant(&mixed, &buckets(&["flow-a"]), "aws", &NARROW).unwrap();
        assert_eq!(edit.findings.len(), 1);
        assert!(edit.findings[0].message.contains("edit it by hand (it also allows ec2:Describe*)"), "{}", edit.findings[0]);
        assert_eq!(edit.findings[0].statement, "#0");

        let list_all = doc(json!({"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListAllMyBuckets"], "Resource": "*"}]}));
        let edit = grant(&list_all, &buckets(&["flow-a"]), "aws", &NARROW).unwrap();
        assert!(edit.findings[0].message.contains("s3:ListAllMyBuckets"), "{}", edit.findings[0]);

        let pattern = doc(json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::flow-*"}]}));
        let edit = grant(&pattern, &buckets(&["flow-a"]), "aws", &NARROW).unwrap();
        assert!(edit.findings[0].message.contains("bucket-name pattern"), "{}", edit.findings[0]);
        assert_eq!(edit.document["Statement"][0]["Resource"], "arn:aws:s3:::flow-*");

        let not_resource = doc(json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::secret/*"}]}));
        let edit = grant(&not_resource, &buckets(&["flow-a"]), "aws", &NARROW).unwrap();
        assert!(edit.findings[0].message.contains("everything but [\"arn:aws:s3:::secret/*\"]"), "{}", edit.findings[0]);
    }

    #[test]
    fn grant_reports_an_unconditional_deny_but_not_a_conditional_one() {
        let input =
            doc(json!({"Statement": [deny_insecure(), {"Sid": "NoLogs", "Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::flow-a/*"}]}));
        let edit = grant(&input, &buckets(&["flow-a", "flow-b"]), "aws", &PLAIN).unwrap();
        assert_eq!(edit.findings.len(), 1);
        assert_eq!(edit.findings[0].kind, FindingKind::Denied);
        assert_eq!(edit.findings[0].bucket.as_deref(), Some("flow-a"));
        assert!(edit.changed);
    }

    #[test]
    fn grant_in_another_partition_and_from_url_encoded_text() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22ec2%3ADescribeVpcs%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D";
        let input = parse_inline(Some(encoded)).unwrap();
        let edit = grant(&input, &buckets(&["flow-a"]), "aws-cn", &PLAIN).unwrap();
        assert_eq!(
            edit.document_text(),
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:DescribeVpcs","Resource":"*"},{"Sid":"FlowgateS3ObjectRead","Effect":"Allow","Action":"s3:GetObject","Resource":["arn:aws-cn:s3:::flow-a/*"]},{"Sid":"FlowgateS3BucketRead","Effect":"Allow","Action":["s3:ListBucket","s3:GetBucketLocation"],"Resource":["arn:aws-cn:s3:::flow-a"]}]}"#
        );
        assert_eq!(parse_inline(None).unwrap(), Map::new());
        assert_eq!(parse_inline(Some("  ")).unwrap(), Map::new());
        assert!(matches!(parse_inline(Some("{nope")), Err(RolePolicyError::Document(PolicyDocError::NotJson(_)))));
    }

    #[test]
    fn grant_refuses_what_it_cannot_do() {
        let names: Vec<String> = (0..80).map(|i| format!("flow-logs-{i:03}-{}", "x".repeat(40))).collect();
        let many: Vec<BucketName> = names.iter().map(|n| bucket(n)).collect();
        let err = grant(&Map::new(), &many, "aws", &PLAIN).unwrap_err();
        let RolePolicyError::TooLarge { chars, limit } = err else { panic!("{err}") };
        assert!(chars > limit && limit == 10_240, "{chars}");
        assert!(err.to_string().contains("over IAM's limit of 10240"), "{err}");
        // The role's other inline policies count towards the same limit.
        let small = grant(&Map::new(), &buckets(&["flow-a"]), "aws", &PLAIN).unwrap();
        let size = small.document_text().len();
        let tight = GrantOptions { narrow_wildcard: false, other_inline_chars: ROLE_INLINE_POLICY_MAX_CHARS - size };
        assert!(grant(&Map::new(), &buckets(&["flow-a"]), "aws", &tight).is_ok());
        let over = GrantOptions { other_inline_chars: ROLE_INLINE_POLICY_MAX_CHARS - size + 1, ..tight };
        assert!(matches!(grant(&Map::new(), &buckets(&["flow-a"]), "aws", &over), Err(RolePolicyError::TooLarge { .. })));

        let hijacked = doc(json!({"Statement": [{"Sid": OBJECT_READ_SID, "Effect": "Allow", "Action": "s3:GetObject",
                                                 "Resource": "arn:aws:s3:::a-b/*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}));
        let err = grant(&hijacked, &buckets(&["flow-a"]), "aws", &PLAIN).unwrap_err();
        assert_eq!(err, RolePolicyError::ForeignStatement { sid: OBJECT_READ_SID.into(), reason: "it has Condition".into() });
        let widened = doc(json!({"Statement": [{"Sid": BUCKET_READ_SID, "Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::a-b"}]}));
        let err = grant(&widened, &buckets(&["flow-a"]), "aws", &PLAIN).unwrap_err();
        assert!(err.to_string().contains("its Action is not s3:ListBucket, s3:GetBucketLocation"), "{err}");

        assert_eq!(grant(&Map::new(), &[], "aws", &PLAIN).unwrap_err(), RolePolicyError::NoBuckets);
        for bad in ["", "AWS", "aws:cn", "aws-", "aws--x", "gcp"] {
            assert_eq!(grant(&Map::new(), &buckets(&["flow-a"]), bad, &PLAIN).unwrap_err(), RolePolicyError::BadPartition(bad.into()));
        }
        assert!(matches!(grant(&doc(json!({"Statement": 3})), &buckets(&["flow-a"]), "aws", &PLAIN), Err(RolePolicyError::Document(_))));
        for e in [err, RolePolicyError::NoBuckets, RolePolicyError::TooLarge { chars: 1, limit: 0 }] {
            assert!(!e.to_string().contains('\n'));
        }
    }

    #[test]
    fn revoke_cases() {
        let [fg_obj_ab, fg_bucket_ab] = <[Value; 2]>::try_from(flowgate(&["flow-a", "flow-b"], &["flow-a", "flow-b"])).unwrap();
        let [fg_obj_b, fg_bucket_b] = <[Value; 2]>::try_from(flowgate(&["flow-b"], &["flow-b"])).unwrap();
        let [fg_obj_a, fg_bucket_a] = <[Value; 2]>::try_from(flowgate(&["flow-a"], &["flow-a"])).unwrap();
        let deny_a = json!({"Sid": "NoA", "Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::flow-a/*"});
        let not_resource = json!({"Effect": "Allow", "Action": "s3:ListBucket", "NotResource": ["arn:aws:s3:::flow-a"]});
        // (name, input, buckets, expected document (None = unchanged), delete_policy)
        let cases: Vec<RevokeCase> = vec![
            (
                "one of two buckets; one-element arrays stay arrays",
                json!({"Version": "2012-10-17", "Statement": [ec2_describe(), fg_obj_ab, fg_bucket_ab.clone()]}),
                vec!["flow-a"],
                Some(json!({"Version": "2012-10-17", "Statement": [ec2_describe(), fg_obj_b, fg_bucket_b]})),
                false,
            ),
            (
                "bucket not granted",
                json!({"Version": "2012-10-17", "Statement": [ec2_describe(), fg_obj_a.clone(), fg_bucket_a.clone()]}),
                vec!["flow-b"],
                None,
                false,
            ),
            (
                "last bucket: delete the policy",
                json!({"Version": "2012-10-17", "Statement": [fg_obj_a.clone(), fg_bucket_a.clone()]}),
                vec!["flow-a"],
                Some(json!({"Version": "2012-10-17", "Statement": []})),
                true,
            ),
            (
                "from hand-written statements too, with prefix patterns; Deny, NotResource and Condition on other buckets kept",
                json!({"Statement": [
                 {"Sid": "Logs", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::flow-a/AWSLogs/*"},
                 {"Sid": "Cond", "Effect": "Allow", "Action": "s3:*", "Resource": ["arn:aws:s3:::flow-b", "arn:aws:s3:::other-b"],
                  "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
                 deny_a.clone(), not_resource.clone(),
                 {"Effect": "Allow", "Action": "s3:GetObject", "Resource": ["arn:aws:s3:::flow-ab/*", "arn:aws:s3:::flow-a.b/*"]}]}),
                vec!["flow-a"],
                Some(json!({"Statement": [
                 {"Sid": "Cond", "Effect": "Allow", "Action": "s3:*", "Resource": ["arn:aws:s3:::flow-b", "arn:aws:s3:::other-b"],
                  "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
                 deny_a, not_resource,
                 {"Effect": "Allow", "Action": "s3:GetObject", "Resource": ["arn:aws:s3:::flow-ab/*", "arn:aws:s3:::flow-a.b/*"]}]})),
                false,
            ),
            (
                "single-object Statement stays an object",
                json!({"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": ["arn:aws:s3:::flow-a/*", "arn:aws:s3:::flow-b/*"]}}),
                vec!["flow-b"],
                Some(json!({"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": ["arn:aws:s3:::flow-a/*"]}})),
                false,
            ),
            (
                "single-object Statement removed",
                json!({"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::flow-a/*"}}),
                vec!["flow-a"],
                Some(json!({"Statement": []})),
                true,
            ),
            (
                "several buckets at once",
                json!({"Statement": [fg_obj_a, fg_bucket_ab]}),
                vec!["flow-a", "flow-b"],
                Some(json!({"Statement": []})),
                true,
            ),
            (
                "other partitions untouched",
                json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws-cn:s3:::flow-a/*"}]}),
                vec!["flow-a"],
                None,
                false,
            ),
            ("empty document", json!({}), vec!["flow-a"], None, false),
        ];
        for (name, input, names, expected, delete) in cases {
            let input = doc(input);
            let edit = revoke(&input, &buckets(&names), "aws").unwrap_or_else(|e| panic!("{name}: {e}"));
            match expected {
                None => {
                    assert!(!edit.changed && edit.changes.is_empty(), "{name}");
                    assert_eq!(text(&edit.document), text(&input), "{name}");
                }
                Some(expected) => {
                    assert!(edit.changed, "{name}");
                    assert_eq!(text(&edit.document), expected.to_string(), "{name}");
                }
            }
            assert_eq!(edit.delete_policy, delete, "{name}");
            assert!(edit.findings.is_empty(), "{name}: {:?}", edit.findings);
            let again = revoke(&edit.document, &buckets(&names), "aws").unwrap();
            assert!(!again.changed, "{name}: second revoke");
        }
    }

    #[test]
    fn revoke_diff_names_removed_and_modified_statements() {
        let input = doc(json!({"Statement": [ec2_describe(), flowgate(&["flow-a"], &[])[0].clone(), flowgate(&[], &["flow-a", "x-y"])[1].clone()]}));
        let edit = revoke(&input, &buckets(&["flow-a"]), "aws").unwrap();
        assert_eq!(edit.changes.len(), 2);
        assert_eq!((edit.changes[0].before_index, edit.changes[0].after_index), (Some(1), None));
        assert_eq!((edit.changes[1].before_index, edit.changes[1].after_index), (Some(2), Some(1)));
        assert_eq!(edit.changes[1].sid.as_deref(), Some(BUCKET_READ_SID));
        let shown: String = edit.changes.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            concat!(
                "- statement 1 (FlowgateS3ObjectRead)\n",
                "  - {\"Sid\":\"FlowgateS3ObjectRead\",\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":[\"arn:aws:s3:::flow-a/*\"]}\n",
                "~ statement 1 (FlowgateS3BucketRead)\n",
                "  - {\"Sid\":\"FlowgateS3BucketRead\",\"Effect\":\"Allow\",\"Action\":[\"s3:ListBucket\",\"s3:GetBucketLocation\"],\"Resource\":[\"arn:aws:s3:::flow-a\",\"arn:aws:s3:::x-y\"]}\n",
                "  + {\"Sid\":\"FlowgateS3BucketRead\",\"Effect\":\"Allow\",\"Action\":[\"s3:ListBucket\",\"s3:GetBucketLocation\"],\"Resource\":[\"arn:aws:s3:::x-y\"]}\n",
            )
        );
        let json = serde_json::to_value(&edit).unwrap();
        assert_eq!(json["changes"][0]["before_index"], 1);
        assert_eq!(json["delete_policy"], false);
    }

    #[test]
    fn revoke_reports_access_left_through_wildcards() {
        let input = doc(json!({"Statement": [
            {"Sid": "S3Read", "Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::*"},
            {"Sid": "Cond", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::flow-*/*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]}));
        let edit = revoke(&input, &buckets(&["flow-a"]), "aws").unwrap();
        assert!(!edit.changed);
        assert_eq!(edit.findings.len(), 2);
        assert!(edit.findings.iter().all(|f| f.kind == FindingKind::StillReadable && f.bucket.as_deref() == Some("flow-a")));
        assert_eq!(
            edit.findings[0].message,
            "flow-a is still readable through statement Sid \"S3Read\" of this policy, which allows s3:GetObject, s3:GetBucketLocation on arn:aws:s3:::*: its resource is a wildcard covering the bucket: narrow it by hand, or with `access grant --narrow-wildcard --bucket B...` naming the buckets that stay readable, then revoke again"
        );
        assert!(edit.findings[1].message.contains("readable when its condition holds"));
        assert!(edit.findings[1].message.contains("does not rewrite a statement with a Condition"), "{}", edit.findings[1]);

        // Removing the named grant while a wildcard remains: changed, and still reported.
        let both = doc(json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}, flowgate(&["flow-a"], &[])[0].clone()]}));
        let edit = revoke(&both, &buckets(&["flow-a"]), "aws").unwrap();
        assert!(edit.changed && !edit.delete_policy);
        assert_eq!(edit.findings.len(), 1);
        assert_eq!(edit.findings[0].statement, "#0");

        // A Deny that blocks the bucket anyway: nothing to report.
        let denied = doc(
            json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}, {"Effect": "Deny", "Action": "*", "Resource": "*"}]}),
        );
        assert!(revoke(&denied, &buckets(&["flow-a"]), "aws").unwrap().findings.is_empty());
    }

    /// Issue 12 item 1: a revoke took the role's write and tagging grants on the bucket away with
    /// its read grant ("no statement left: delete the inline policy").
    #[test]
    fn revoke_takes_only_the_reads_and_keeps_other_grants_on_the_bucket() {
        let input = doc(json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "WriteReports", "Effect": "Allow", "Action": ["s3:PutObject", "s3:DeleteObject"], "Resource": ["arn:aws:s3:::logs-a/reports/*"]},
            {"Sid": "ReadA", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::logs-a/*"]},
            {"Sid": "TagBucket", "Effect": "Allow", "Action": ["s3:PutBucketTagging"], "Resource": ["arn:aws:s3:::logs-a"]}]}));
        let edit = revoke(&input, &buckets(&["logs-a"]), "aws").unwrap();
        assert!(edit.changed && !edit.delete_policy);
        assert_eq!(
            text(&edit.document),
            json!({"Version": "2012-10-17", "Statement": [
                {"Sid": "WriteReports", "Effect": "Allow", "Action": ["s3:PutObject", "s3:DeleteObject"], "Resource": ["arn:aws:s3:::logs-a/reports/*"]},
                {"Sid": "TagBucket", "Effect": "Allow", "Action": ["s3:PutBucketTagging"], "Resource": ["arn:aws:s3:::logs-a"]}]})
            .to_string()
        );
        assert!(edit.findings.is_empty(), "{:?}", edit.findings);
    }

    #[test]
    fn revoke_splits_mixed_statements() {
        // (name, statement, expected statements)
        let cases: Vec<(&str, Value, Value)> = vec![
            (
                "read and write on the bucket: the write stays, action case ignored",
                json!({"Sid": "Mixed", "Effect": "Allow", "Action": ["S3:GETOBJECT", "s3:PutObject", "s3:Get*"], "Resource": "arn:aws:s3:::logs-a/*"}),
                json!([{"Sid": "Mixed", "Effect": "Allow", "Action": ["s3:PutObject"], "Resource": "arn:aws:s3:::logs-a/*"}]),
            ),
            (
                "reads on two buckets: the other bucket stays",
                json!({"Sid": "Two", "Effect": "Allow", "Action": "s3:GetObject", "Resource": ["arn:aws:s3:::logs-b/*", "arn:aws:s3:::logs-a/*"]}),
                json!([{"Sid": "Two", "Effect": "Allow", "Action": "s3:GetObject", "Resource": ["arn:aws:s3:::logs-b/*"]}]),
            ),
            (
                "read and write on two buckets: split, the Sid kept and a new one for the bucket's other actions",
                json!({"Sid": "Both", "Effect": "Allow", "Action": ["s3:List*", "s3:PutObject"],
                       "Resource": ["arn:aws:s3:::logs-a", "arn:aws:s3:::logs-b", "arn:aws:s3:::logs-a/x/*"]}),
                json!([{"Sid": "Both", "Effect": "Allow", "Action": ["s3:List*", "s3:PutObject"], "Resource": ["arn:aws:s3:::logs-b"]},
                       {"Sid": "BothNonRead", "Effect": "Allow", "Action": ["s3:PutObject"], "Resource": ["arn:aws:s3:::logs-a", "arn:aws:s3:::logs-a/x/*"]}]),
            ),
            (
                "split without a Sid",
                json!({"Effect": "Allow", "Action": ["s3:GetBucketLocation", "s3:PutBucketTagging"], "Resource": ["arn:aws:s3:::logs-a", "arn:aws:s3:::logs-b"]}),
                json!([{"Effect": "Allow", "Action": ["s3:GetBucketLocation", "s3:PutBucketTagging"], "Resource": ["arn:aws:s3:::logs-b"]},
                       {"Effect": "Allow", "Action": ["s3:PutBucketTagging"], "Resource": ["arn:aws:s3:::logs-a"]}]),
            ),
            (
                "write only: untouched",
                json!({"Sid": "W", "Effect": "Allow", "Action": ["s3:PutObject"], "Resource": "arn:aws:s3:::logs-a/*"}),
                json!([{"Sid": "W", "Effect": "Allow", "Action": ["s3:PutObject"], "Resource": "arn:aws:s3:::logs-a/*"}]),
            ),
        ];
        for (name, statement, expected) in cases {
            let input = doc(json!({"Statement": [statement]}));
            let edit = revoke(&input, &buckets(&["logs-a"]), "aws").unwrap();
            assert_eq!(Value::Array(policy_doc::statements(&edit.document).unwrap()), expected, "{name}");
            assert!(edit.findings.is_empty(), "{name}: {:?}", edit.findings);
            assert!(!revoke(&edit.document, &buckets(&["logs-a"]), "aws").unwrap().changed, "{name}: second revoke");
        }
        // A split's Sid never collides with one the policy already has.
        let taken = doc(json!({"Statement": [
            {"Sid": "S", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": ["arn:aws:s3:::logs-a/*", "arn:aws:s3:::logs-b/*"]},
            {"Sid": "SNonRead", "Effect": "Allow", "Action": "ec2:DescribeVpcs", "Resource": "*"}]}));
        let edit = revoke(&taken, &buckets(&["logs-a"]), "aws").unwrap();
        let sids: Vec<&str> = edit.document["Statement"].as_array().unwrap().iter().filter_map(policy_doc::sid).collect();
        assert_eq!(sids, ["S", "SNonRead2", "SNonRead"]);
        assert_eq!(edit.changes.iter().map(|c| (c.before_index, c.after_index)).collect::<Vec<_>>(), [(Some(0), Some(0)), (None, Some(1))]);
    }

    #[test]
    fn revoke_leaves_what_it_cannot_rewrite_and_says_so() {
        let cond = json!({"Bool": {"aws:SecureTransport": "true"}});
        // (name, statement, words the finding must contain; None = no finding)
        let cases: Vec<(&str, Value, Option<&str>)> = vec![
            (
                "s3:* is more than reads",
                json!({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::logs-a/*"}),
                Some("broader than the reads"),
            ),
            (
                "s3:GetObject* is more than reads",
                json!({"Effect": "Allow", "Action": "s3:GetObject*", "Resource": "arn:aws:s3:::logs-a/*"}),
                Some("broader than the reads"),
            ),
            (
                "condition",
                json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::logs-a/*", "Condition": cond}),
                Some("with a Condition"),
            ),
            ("NotAction", json!({"Effect": "Allow", "NotAction": "s3:PutObject", "Resource": "arn:aws:s3:::logs-a/*"}), Some("with NotAction")),
            ("NotResource", json!({"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::other/*"}), Some("with NotResource")),
            ("NotResource excluding the bucket", json!({"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::logs-a*"}), None),
            (
                "bucket-name pattern",
                json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::logs-a*"}),
                Some("wildcard covering the bucket"),
            ),
            (
                "every bucket",
                json!({"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": "arn:aws:s3:::*"}),
                Some("allows s3:ListBucket on arn:aws:s3:::*"),
            ),
            ("list objects only, write actions", json!({"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}), None),
        ];
        for (name, statement, words) in cases {
            let input = doc(json!({"Statement": [statement]}));
            let edit = revoke(&input, &buckets(&["logs-a"]), "aws").unwrap();
            assert!(!edit.changed, "{name}: never rewritten");
            match words {
                None => assert!(edit.findings.is_empty(), "{name}: {:?}", edit.findings),
                Some(words) => {
                    assert_eq!(edit.findings.len(), 1, "{name}: {:?}", edit.findings);
                    assert_eq!(edit.findings[0].kind, FindingKind::StillReadable, "{name}");
                    assert!(edit.findings[0].message.contains(words), "{name}: {}", edit.findings[0]);
                }
            }
        }
    }

    #[test]
    fn still_readable_looks_at_every_policy_and_honours_denies() {
        let read_only = NamedPolicy::parse(
            "AmazonS3ReadOnlyAccess",
            PolicySource::Managed,
            &json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*", "s3-object-lambda:Get*", "s3-object-lambda:List*"], "Resource": "*"}]}).to_string(),
        )
        .unwrap();
        let findings = still_readable(&[inline("Mine", json!({"Statement": []})), read_only.clone()], &buckets(&["logs-a"]), "aws");
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].policy.as_deref(), Some("AmazonS3ReadOnlyAccess"));
        assert!(findings[0].message.starts_with("logs-a is still readable through managed policy AmazonS3ReadOnlyAccess, statement #0, which allows s3:GetObject, s3:ListBucket, s3:GetBucketLocation on *"), "{}", findings[0]);
        assert!(findings[0].message.contains("detach"), "{}", findings[0]);

        let deny = inline(
            "Guard",
            json!({"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": ["arn:aws:s3:::logs-a", "arn:aws:s3:::logs-a/*"]}]}),
        );
        assert!(still_readable(&[read_only.clone(), deny], &buckets(&["logs-a"]), "aws").is_empty());

        let broken = NamedPolicy { name: "Broken".into(), source: PolicySource::Inline, document: doc(json!({"Statement": 3})) };
        let findings = still_readable(&[broken], &buckets(&["logs-a"]), "aws");
        assert_eq!(findings.iter().map(|f| f.kind).collect::<Vec<_>>(), [FindingKind::Unreadable]);

        let denied = grant_denied(
            &[inline("Guard", json!({"Statement": {"Effect": "Deny", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::logs-*"}}))],
            &buckets(&["logs-a", "other"]),
            "aws",
        );
        assert_eq!(denied.len(), 1, "{denied:?}");
        assert_eq!(denied[0].bucket.as_deref(), Some("logs-a"));
        assert_eq!(
            denied[0].message,
            "inline policy Guard, statement #0 denies s3:ListBucket on logs-a (arn:aws:s3:::logs-*): the grant has no effect until that Deny is removed"
        );
    }

    fn inline(name: &str, document: Value) -> NamedPolicy {
        NamedPolicy { name: name.into(), source: PolicySource::Inline, document: doc(document) }
    }

    fn kind(readability: &Readability) -> &'static str {
        match readability {
            Readability::Allowed { .. } => "allowed",
            Readability::Denied { .. } => "denied",
            Readability::Conditional { .. } => "conditional",
            Readability::NotGranted => "not-granted",
        }
    }

    #[test]
    fn readability_cases() {
        let cond = json!({"StringEquals": {"aws:PrincipalTag/team": "net"}});
        // (name, statements, bucket, expected)
        let cases: Vec<(&str, Value, &str, &str)> = vec![
            ("object ARN", json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::flow-a/*"}]), "flow-a", "allowed"),
            ("bucket ARN only", json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::flow-a"}]), "flow-a", "not-granted"),
            ("other bucket", json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::flow-ab/*"}]), "flow-a", "not-granted"),
            ("s3:* lowercase", json!([{"Effect": "Allow", "Action": "S3:*", "Resource": "arn:aws:s3:::flow-a/*"}]), "flow-a", "allowed"),
            ("s3:get*object", json!([{"Effect": "Allow", "Action": "s3:Get*Object", "Resource": "*"}]), "flow-a", "allowed"),
            ("action star", json!({"Effect": "Allow", "Action": "*", "Resource": "*"}), "flow-a", "allowed"),
            ("other actions", json!([{"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObjectAcl"], "Resource": "*"}]), "flow-a", "not-granted"),
            ("key prefix", json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::flow-a/AWSLogs/*"}]), "flow-a", "allowed"),
            ("bucket pattern", json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::flow-?"}]), "flow-a", "not-granted"),
            ("bucket pattern star", json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::flow-*"}]), "flow-a", "allowed"),
            (
                "other partition",
                json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws-cn:s3:::flow-a/*"}]),
                "flow-a",
                "not-granted",
            ),
            ("NotAction not excluding", json!([{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]), "flow-a", "allowed"),
            ("NotAction excluding", json!([{"Effect": "Allow", "NotAction": "s3:Get*", "Resource": "*"}]), "flow-a", "not-granted"),
            (
                "NotResource other",
                json!([{"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::secret/*"}]),
                "flow-a",
                "allowed",
            ),
            (
                "NotResource this",
                json!([{"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::flow-a/*"}]),
                "flow-a",
                "not-granted",
            ),
            (
                "conditional allow",
                json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": cond}]),
                "flow-a",
                "conditional",
            ),
            (
                "empty condition is none",
                json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {}}]),
                "flow-a",
                "allowed",
            ),
            (
                "deny wins",
                json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::flow-a/*"}]),
                "flow-a",
                "denied",
            ),
            (
                "deny star",
                json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::flow-a/*"}, {"Effect": "Deny", "Action": "*", "Resource": "*"}]),
                "flow-a",
                "denied",
            ),
            (
                "deny on bucket ARN only",
                json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::flow-a/*"}, {"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::flow-a"}]),
                "flow-a",
                "allowed",
            ),
            (
                "deny other action",
                json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::flow-a/*"}, {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "*"}]),
                "flow-a",
                "allowed",
            ),
            (
                "conditional deny",
                json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::flow-a/*"}, {"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": cond}]),
                "flow-a",
                "conditional",
            ),
            (
                "deny on some keys",
                json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::flow-a/*"}, {"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::flow-a/private/*"}]),
                "flow-a",
                "conditional",
            ),
            ("deny without allow", json!([{"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": cond}]), "flow-a", "not-granted"),
            (
                "NotResource deny excluding",
                json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}, {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::flow-a/*"}]),
                "flow-a",
                "allowed",
            ),
            ("invalid effect ignored", json!([{"Effect": "allow", "Action": "s3:GetObject", "Resource": "*"}]), "flow-a", "not-granted"),
            ("garbage values ignored", json!([{"Effect": "Allow", "Action": 5, "Resource": {"a": 1}}, 7, "x"]), "flow-a", "not-granted"),
        ];
        for (name, statements, b, expected) in cases {
            let policies = [inline("p", json!({"Version": "2012-10-17", "Statement": statements}))];
            let readability = can_read(&policies, &bucket(b), "aws");
            assert_eq!(kind(&readability), expected, "{name}: {readability:?}");
        }
    }

    #[test]
    fn evaluate_reports_buckets_wildcards_and_sources() {
        let policies = [
            inline("FlowgateStorageAccess", json!({"Statement": flowgate(&["flow-a", "flow-b"], &["flow-a", "flow-b", "only-listed"])})),
            NamedPolicy::parse(
                "VendorRead",
                PolicySource::Managed,
                &json!({"Version": "2012-10-17", "Statement": [
                    {"Sid": "All", "Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::logs-*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
                    {"Sid": "NoB", "Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::flow-b/*"}]})
                .to_string(),
            )
            .unwrap(),
            inline("Broken", json!({"Statement": "nope"})),
        ];
        let report = evaluate(&policies, "aws");
        let summary: Vec<(&str, &str)> = report.buckets.iter().map(|b| (b.bucket.as_str(), kind(&b.readability))).collect();
        assert_eq!(summary, [("flow-a", "allowed"), ("flow-b", "denied"), ("only-listed", "not-granted")]);
        let Readability::Allowed { by } = &report.buckets[0].readability else { panic!() };
        assert_eq!(by[0].statement.to_string(), "inline policy FlowgateStorageAccess, statement Sid \"FlowgateS3ObjectRead\"");
        assert_eq!(by[0].resource, "arn:aws:s3:::flow-a/*");
        let Readability::Denied { by } = &report.buckets[1].readability else { panic!() };
        assert_eq!(by[0].statement.to_string(), "managed policy VendorRead, statement Sid \"NoB\"");
        assert_eq!(report.buckets[1].allows.len(), 1);
        assert_eq!(report.wildcard_allows.len(), 1);
        assert_eq!(report.wildcard_allows[0].resource, "arn:aws:s3:::logs-*");
        assert!(!report.wildcard_allows[0].all_buckets && report.wildcard_allows[0].conditional);
        assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
        assert!(report.problems[0].contains("Broken"));
        assert_eq!(kind(&can_read(&policies, &bucket("logs-x"), "aws")), "conditional");

        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["buckets"][1]["readability"]["readability"], "denied");
        assert_eq!(json["buckets"][0]["readability"]["by"][0]["statement"]["source"], "inline");
    }

    #[test]
    fn wildcard_classification() {
        let cases = [
            ("*", S3Resource::AllBuckets),
            ("arn:aws:s3:::*", S3Resource::AllBuckets),
            ("arn:aws:s3:::*/*", S3Resource::AllBuckets),
            ("arn:*:s3:::*", S3Resource::AllBuckets),
            ("arn:aws:s3:*", S3Resource::AllBuckets),
            ("arn:aws:s3:::*/AWSLogs/*", S3Resource::BucketPattern),
            ("arn:aws:s3:::flow-*", S3Resource::BucketPattern),
            ("arn:aws:s3:::flow-a", S3Resource::Bucket("flow-a")),
            ("arn:aws:s3:::flow-a/AWSLogs/*", S3Resource::Bucket("flow-a")),
            ("arn:aws-cn:s3:::flow-a", S3Resource::Other),
            ("arn:aws:ec2:*:*:instance/*", S3Resource::Other),
            ("arn:aws:s3:::", S3Resource::Other),
            ("flow-a", S3Resource::Other),
        ];
        for (resource, expected) in cases {
            assert_eq!(classify(resource, "aws"), expected, "{resource}");
        }
        assert!(glob_match("s3:get?bject", "s3:getobject"));
        assert!(!glob_match("s3:get", "s3:getobject"));
        assert!(glob_match("**", ""));
        assert_eq!(prefix_coverage("arn:aws:s3:::b/*", "arn:aws:s3:::b/"), Coverage::All);
        assert_eq!(prefix_coverage("arn:aws:s3:::b/?*", "arn:aws:s3:::b/"), Coverage::Some);
        assert_eq!(prefix_coverage("arn:aws:s3:::b", "arn:aws:s3:::b/"), Coverage::None);
        assert_eq!(prefix_coverage("arn:aws:s3:::b/", "arn:aws:s3:::b/"), Coverage::None);
    }

    mod properties {
        use super::*;
        use proptest::collection::vec;
        use proptest::prelude::*;

        // "alpha-logs-2" starts with another bucket's name: revoking one must not touch the other.
        const UNIVERSE: [&str; 4] = ["alpha-logs", "alpha-logs-2", "beta-logs", "gamma.logs"];

        fn one_or_many(items: Vec<String>, as_string: bool) -> Value {
            match items.as_slice() {
                [one] if as_string => Value::String(one.clone()),
                _ => Value::Array(items.into_iter().map(Value::String).collect()),
            }
        }

        fn resource() -> impl Strategy<Value = String> {
            prop_oneof![
                prop::sample::select(vec![
                    "*",
                    "arn:aws:s3:::*",
                    "arn:aws:s3:::*/*",
                    "arn:aws:s3:::alpha-*",
                    "arn:aws:s3:::alpha-logs*",
                    "arn:aws:ec2:*:*:instance/*",
                    "arn:aws-cn:s3:::alpha-logs/*",
                ])
                .prop_map(str::to_owned),
                (0..UNIVERSE.len(), 0..4u8).prop_map(|(b, form)| {
                    let arn = format!("arn:aws:s3:::{}", UNIVERSE[b]);
                    match form {
                        0 => arn,
                        1 => format!("{arn}/*"),
                        2 => format!("{arn}/reports/*"),
                        _ => format!("{arn}/AWSLogs/*"),
                    }
                }),
            ]
        }

        fn action() -> impl Strategy<Value = String> {
            prop::sample::select(vec![
                "s3:GetObject",
                "s3:getobject",
                "S3:GETOBJECT",
                "s3:*",
                "s3:Get*",
                "s3:List*",
                "s3:GetObject*",
                "s3:ListBucket",
                "s3:GetBucketLocation",
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:PutBucketTagging",
                "ec2:Describe*",
                "*",
            ])
            .prop_map(str::to_owned)
        }

        fn statement() -> impl Strategy<Value = Value> {
            (
                prop::option::of(prop::sample::select(vec!["S1", "S2", "ReadLogs", "Ec2Describe"])),
                any::<bool>(),
                (vec(action(), 1..4), any::<bool>(), prop::bool::weighted(0.1)),
                (vec(resource(), 1..4), any::<bool>(), prop::bool::weighted(0.1)),
                prop::bool::weighted(0.25),
                prop::bool::weighted(0.1),
            )
                .prop_map(
                    |(sid, allow, (actions, action_string, not_action), (resources, resource_string, not_resource), condition, principal)| {
                        let mut map = Map::new();
                        if let Some(sid) = sid {
                            map.insert("Sid".into(), json!(sid));
                        }
                        map.insert("Effect".into(), json!(if allow { "Allow" } else { "Deny" }));
                        map.insert((if not_action { "NotAction" } else { "Action" }).into(), one_or_many(actions, action_string));
                        map.insert((if not_resource { "NotResource" } else { "Resource" }).into(), one_or_many(resources, resource_string));
                        if condition {
                            map.insert("Condition".into(), json!({"Bool": {"aws:SecureTransport": "true"}}));
                        }
                        if principal {
                            map.insert("Principal".into(), json!({"AWS": "arn:aws:iam::111122223333:root"}));
                        }
                        Value::Object(map)
                    },
                )
        }

        /// A flowgate statement as an earlier grant wrote it (Resource string or array, never empty).
        fn flowgate_statement_of(object: bool) -> impl Strategy<Value = Value> {
            (prop::sample::subsequence(UNIVERSE.to_vec(), 1..=UNIVERSE.len()), any::<bool>()).prop_map(move |(names, as_string)| {
                let (sid, action, suffix) = if object {
                    (OBJECT_READ_SID, json!("s3:GetObject"), "/*")
                } else {
                    (BUCKET_READ_SID, json!(["s3:ListBucket", "s3:GetBucketLocation"]), "")
                };
                let arns = names.iter().map(|n| format!("arn:aws:s3:::{n}{suffix}")).collect();
                json!({"Sid": sid, "Effect": "Allow", "Action": action, "Resource": one_or_many(arns, as_string)})
            })
        }

        fn policy() -> impl Strategy<Value = Map<String, Value>> {
            (
                vec(statement(), 0..5),
                prop::option::of((flowgate_statement_of(true), any::<prop::sample::Index>())),
                prop::option::of((flowgate_statement_of(false), any::<prop::sample::Index>())),
                any::<bool>(),
                prop::bool::weighted(0.8),
            )
                .prop_map(|(mut statements, object_read, bucket_read, single, version)| {
                    for (statement, at) in [object_read, bucket_read].into_iter().flatten() {
                        let at = at.index(statements.len() + 1);
                        statements.insert(at, statement);
                    }
                    let mut map = Map::new();
                    if version {
                        map.insert("Version".into(), json!("2012-10-17"));
                    }
                    match statements.len() {
                        0 if !version => {}
                        1 if single => {
                            map.insert("Statement".into(), statements.remove(0));
                        }
                        _ => {
                            map.insert("Statement".into(), Value::Array(statements));
                        }
                    }
                    map
                })
        }

        fn statement_list(doc: &Map<String, Value>) -> Vec<Value> {
            policy_doc::statements(doc).unwrap()
        }

        /// Statements in a form where `"x"` and `["x"]` compare equal, serialized to compare key order too.
        fn normalized(doc: &Map<String, Value>) -> Vec<String> {
            statement_list(doc)
                .into_iter()
                .map(|mut s| {
                    if let Some(Value::Object(map)) = Some(&mut s) {
                        if let Some(Value::String(r)) = map.get("Resource").cloned() {
                            map.insert("Resource".into(), json!([r]));
                        }
                    }
                    s.to_string()
                })
                .collect()
        }

        fn without_statements(doc: &Map<String, Value>) -> String {
            let mut doc = doc.clone();
            doc.shift_remove("Statement");
            Value::Object(doc).to_string()
        }

        /// The evaluator's answer without statement positions, which a removed statement shifts.
        fn positionless<T: Serialize>(answer: &T) -> Value {
            fn strip(value: &mut Value) {
                match value {
                    Value::Object(map) => {
                        map.remove("index");
                        map.values_mut().for_each(strip);
                    }
                    Value::Array(items) => items.iter_mut().for_each(strip),
                    _ => {}
                }
            }
            let mut value = serde_json::to_value(answer).unwrap();
            strip(&mut value);
            value
        }

        fn readable(doc: &Map<String, Value>, name: &str) -> Readability {
            can_read(&[inline("p", Value::Object(doc.clone()))], &bucket(name), "aws")
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, max_global_rejects: 8192, ..ProptestConfig::default() })]

            /// (a) revoke(grant(p, b), b) ≡ p when revoke(p, b) changes nothing: the same top-level keys, and the same
            /// statements in the same order, byte for byte once a one-string Resource is written as a
            /// one-element array; a p without statements comes back as "delete the policy". The
            /// evaluator gives the same answer for every bucket.
            #[test]
            fn revoke_undoes_grant(p in policy(), pick in any::<prop::sample::Index>()) {
                // Buckets p grants nothing a revoke would take (statements naming them with other
                // actions, conditions or wildcards are welcome), and that p does not already let
                // the role read (through `s3:*`, say): a grant of those plans nothing.
                let candidates: Vec<&str> = UNIVERSE
                    .into_iter()
                    .filter(|b| !revoke(&p, &[bucket(b)], "aws").unwrap().changed)
                    .filter(|b| grant(&p, &[bucket(b)], "aws", &PLAIN).unwrap().changed)
                    .collect();
                prop_assume!(!candidates.is_empty());
                let b = candidates[pick.index(candidates.len())];
                let granted = grant(&p, &[bucket(b)], "aws", &PLAIN).unwrap();
                prop_assert!(granted.changed);
                let revoked = revoke(&granted.document, &[bucket(b)], "aws").unwrap();
                prop_assert!(revoked.changed);
                if statement_list(&p).is_empty() {
                    prop_assert!(revoked.delete_policy);
                    prop_assert!(statement_list(&revoked.document).is_empty());
                } else {
                    prop_assert!(!revoked.delete_policy);
                    prop_assert_eq!(without_statements(&revoked.document), without_statements(&p));
                    prop_assert_eq!(normalized(&revoked.document), normalized(&p));
                }
                for name in UNIVERSE {
                    prop_assert_eq!(readable(&revoked.document, name), readable(&p, name), "{}", name);
                }
            }

            /// (b) grant is idempotent, with and without narrowing.
            #[test]
            fn grant_is_idempotent(p in policy(), names in prop::sample::subsequence(UNIVERSE.to_vec(), 1..=UNIVERSE.len()), narrow in any::<bool>()) {
                let options = GrantOptions { narrow_wildcard: narrow, other_inline_chars: 0 };
                let list = buckets(&names);
                let once = grant(&p, &list, "aws", &options).unwrap();
                let twice = grant(&once.document, &list, "aws", &options).unwrap();
                prop_assert!(!twice.changed);
                prop_assert!(twice.changes.is_empty());
                prop_assert_eq!(text(&twice.document), text(&once.document));
                // And the granted buckets are readable unless this policy denies them.
                for name in &names {
                    let readability = readable(&once.document, name);
                    let denied = once.findings.iter().any(|f| f.kind == FindingKind::Denied && f.bucket.as_deref() == Some(*name));
                    prop_assert!(denied || !matches!(readability, Readability::NotGranted | Readability::Denied { .. }), "{}: {:?}", name, readability);
                }
            }

            /// (c) revoking b never changes what the evaluator says about any other bucket, nor the
            /// wildcard grants; afterwards b is unreadable unless a finding says through which
            /// statement; a second revoke changes nothing.
            #[test]
            fn revoke_leaves_other_buckets_alone(p in policy(), b in prop::sample::select(UNIVERSE.to_vec())) {
                let revoked = revoke(&p, &[bucket(b)], "aws").unwrap();
                for name in UNIVERSE.iter().filter(|n| **n != b) {
                    prop_assert_eq!(positionless(&readable(&revoked.document, name)), positionless(&readable(&p, name)), "{}", name);
                }
                let before = evaluate(&[inline("p", Value::Object(p.clone()))], "aws");
                let after = evaluate(&[inline("p", Value::Object(revoked.document.clone()))], "aws");
                let others = |r: &AccessReport| r.buckets.iter().filter(|a| a.bucket.as_str() != b).map(positionless).collect::<Vec<_>>();
                prop_assert_eq!(others(&after), others(&before));
                prop_assert_eq!(positionless(&after.wildcard_allows), positionless(&before.wildcard_allows));
                prop_assert_eq!(positionless(&after.wildcard_denies), positionless(&before.wildcard_denies));
                let reported = revoked.findings.iter().any(|f| f.kind == FindingKind::StillReadable && f.bucket.as_deref() == Some(b));
                let readability = readable(&revoked.document, b);
                prop_assert!(reported || matches!(readability, Readability::NotGranted | Readability::Denied { .. }), "{:?}", readability);
                prop_assert!(!revoke(&revoked.document, &[bucket(b)], "aws").unwrap().changed);
            }

            /// (d) statements not changed by revoke(p, b) are byte-identical and keep their order; a
            /// changed statement is an unconditional Allow with Action and Resource that names b in
            /// its Resource; a Sid the revoke adds is unique in the policy.
            #[test]
            fn revoke_keeps_other_statements_byte_for_byte(p in policy(), b in prop::sample::select(UNIVERSE.to_vec())) {
                let revoked = revoke(&p, &[bucket(b)], "aws").unwrap();
                let before = statement_list(&p);
                let after = statement_list(&revoked.document);
                let changed_before: BTreeSet<usize> = revoked.changes.iter().filter_map(|c| c.before_index).collect();
                let changed_after: BTreeSet<usize> = revoked.changes.iter().filter(|c| c.after.is_some()).filter_map(|c| c.after_index).collect();
                let untouched = |list: &[Value], changed: &BTreeSet<usize>| {
                    list.iter().enumerate().filter(|(i, _)| !changed.contains(i)).map(|(_, s)| s.to_string()).collect::<Vec<_>>()
                };
                prop_assert_eq!(untouched(&after, &changed_after), untouched(&before, &changed_before));
                let arn = format!("arn:aws:s3:::{b}");
                for i in &changed_before {
                    let statement = &before[*i];
                    let names_b = strings(&statement["Resource"]).iter().any(|r| *r == arn || r.starts_with(&format!("{arn}/")));
                    let plain_allow = statement["Effect"] == "Allow"
                        && ["NotAction", "NotResource", "Condition"].iter().all(|k| statement.get(*k).is_none());
                    prop_assert!(names_b && plain_allow, "statement {} changed: {}", i, statement);
                }
                let sids_before: BTreeSet<&str> = before.iter().filter_map(policy_doc::sid).collect();
                let new_sids: Vec<&str> = after.iter().filter_map(policy_doc::sid).filter(|s| !sids_before.contains(s)).collect();
                let distinct: BTreeSet<&str> = new_sids.iter().copied().collect();
                prop_assert_eq!(distinct.len(), new_sids.len());
            }

            /// (e) The (action, resource) pairs of every unconditional Allow: a revoke removes only
            /// pairs of (read set x b's ARNs) and adds none; every other statement (Deny,
            /// Condition, NotAction, NotResource) is kept as it was.
            #[test]
            fn revoke_removes_only_reads_on_the_bucket(p in policy(), b in prop::sample::select(UNIVERSE.to_vec())) {
                let revoked = revoke(&p, &[bucket(b)], "aws").unwrap();
                let (pairs_before, others_before) = pairs(&p);
                let (pairs_after, others_after) = pairs(&revoked.document);
                prop_assert_eq!(others_after, others_before);
                prop_assert!(pairs_after.is_subset(&pairs_before), "added: {:?}", pairs_after.difference(&pairs_before).collect::<Vec<_>>());
                let arn = format!("arn:aws:s3:::{b}");
                for (context, action, resource) in pairs_before.difference(&pairs_after) {
                    let read = REVOKED_ACTIONS.iter().any(|r| r.eq_ignore_ascii_case(action));
                    let on_b = *resource == arn || resource.starts_with(&format!("{arn}/"));
                    prop_assert!(read && on_b, "removed ({}, {}) from {}", action, resource, context);
                }
            }
        }

        /// (statement without Sid/Action/Resource, action, resource) for each plain Allow, and the
        /// sorted text of every other statement.
        #[allow(clippy::type_complexity)]
        fn pairs(doc: &Map<String, Value>) -> (BTreeSet<(String, String, String)>, Vec<String>) {
            let mut pairs = BTreeSet::new();
            let mut others = Vec::new();
            for statement in statement_list(doc) {
                let plain = statement["Effect"] == "Allow"
                    && statement.get("Action").is_some()
                    && statement.get("Resource").is_some()
                    && ["NotAction", "NotResource", "Condition"].iter().all(|k| statement.get(*k).is_none());
                if !plain {
                    others.push(statement.to_string());
                    continue;
                }
                let mut context = statement.clone();
                if let Some(map) = context.as_object_mut() {
                    for key in ["Sid", "Action", "Resource"] {
                        map.shift_remove(key);
                    }
                }
                for action in strings(&statement["Action"]) {
                    for resource in strings(&statement["Resource"]) {
                        pairs.insert((context.to_string(), action.to_owned(), resource.to_owned()));
                    }
                }
            }
            others.sort();
            (pairs, others)
        }

        fn any_json() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                "[a-z:*/?.-]{0,10}".prop_map(Value::String),
                prop::sample::select(vec![
                    "Allow",
                    "Deny",
                    "*",
                    "s3:GetObject",
                    "s3:*",
                    "arn:aws:s3:::alpha-logs",
                    "arn:aws:s3:::alpha-logs/*",
                    OBJECT_READ_SID,
                    BUCKET_READ_SID
                ])
                .prop_map(|s| Value::String(s.into())),
            ];
            leaf.prop_recursive(4, 48, 6, |inner| {
                let key =
                    prop::sample::select(vec!["Statement", "Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition", "x"]);
                prop_oneof![
                    vec(inner.clone(), 0..5).prop_map(Value::Array),
                    vec((key, inner), 0..6).prop_map(|pairs| Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
                ]
            })
        }

        proptest! {
            /// No JSON input panics; whatever grant accepts, a second grant leaves alone.
            #[test]
            fn any_json_is_handled(statement in any_json(), wrap in any::<bool>(), narrow in any::<bool>()) {
                let p = match (&statement, wrap) {
                    (Value::Object(map), false) => map.clone(),
                    _ => doc(json!({"Statement": statement})),
                };
                let list = buckets(&["alpha-logs"]);
                let options = GrantOptions { narrow_wildcard: narrow, other_inline_chars: 0 };
                if let Ok(once) = grant(&p, &list, "aws", &options) {
                    let twice = grant(&once.document, &list, "aws", &options);
                    prop_assert!(matches!(&twice, Ok(edit) if !edit.changed), "{:?}", twice);
                }
                let _ = revoke(&p, &list, "aws");
                let _ = evaluate(&[inline("p", Value::Object(p.clone()))], "aws");
                let _ = can_read(&[inline("p", Value::Object(p))], &list[0], "aws");
            }
        }
    }
}
