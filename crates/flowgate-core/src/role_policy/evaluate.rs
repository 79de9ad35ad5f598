//! Static evaluation: what the role's identity policies let it read (and write), per bucket, from
//! the policy text alone (their conditions are not evaluated, only noticed), with what each
//! bucket's own policy allows or denies the role (judged, conditions too, in
//! `crate::resource_policy`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value};

use super::RolePolicyError;
use super::s3_actions::{GET_OBJECT, READ_ACTIONS, S3Action, Target, WRITE_ACTIONS};
use super::statement::{Listed, StatementView, compact_strings, effect_of, view};
use super::wildcard::{S3Resource, classify};
use crate::names::BucketName;
use crate::policy_doc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PolicySource {
    Inline,
    Managed,
    /// The bucket policy of the bucket named by `StatementRef::policy` (a resource policy, read
    /// for the role's access to that bucket).
    Bucket,
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

/// Which statement of which policy (for a bucket policy, `policy` is the bucket's name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
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
        match self.source {
            PolicySource::Inline => write!(f, "inline policy {}, statement {}", self.policy, self.label()),
            PolicySource::Managed => write!(f, "managed policy {}, statement {}", self.policy, self.label()),
            // Said next to the bucket it belongs to.
            PolicySource::Bucket => write!(f, "the bucket policy, statement {}", self.label()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub enum Effect {
    Allow,
    Deny,
}

/// How much of a bucket's objects a statement's resources cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// All of them (for an action on the bucket itself: the bucket's ARN).
    AllObjects,
    /// Only some keys (e.g. `arn:aws:s3:::b/AWSLogs/*`, or a NotResource excluding part of it).
    SomeObjects,
}

/// A statement that allows or denies reads (or writes) of a bucket, through one resource pattern.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Grant {
    pub statement: StatementRef,
    /// The matching `Resource` pattern, or `NotResource [...]`.
    pub resource: String,
    pub scope: Scope,
    pub conditional: bool,
    /// The actions of the judged set (reads, or `s3:GetObject` alone for `can_read`) that the
    /// statement allows or denies through that resource.
    pub actions: Vec<String>,
    /// For a bucket policy statement that is `conditional`: what it depends on
    /// (`condition aws:SourceIp`, a session name); the role's own conditions are not judged.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
}

/// A bucket policy's statements about the role (from [`crate::resource_policy`]), as grants the
/// evaluator weighs with the role's own; each grant lists the actions of the read and write sets
/// it covers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BucketPolicyGrants {
    pub allows: Vec<Grant>,
    pub denies: Vec<Grant>,
    /// The bucket policy could not be read or parsed: its denies are not seen.
    pub problem: Option<String>,
}

const NO_BUCKET_POLICY: BucketPolicyGrants = BucketPolicyGrants { allows: Vec::new(), denies: Vec::new(), problem: None };

impl BucketPolicyGrants {
    /// The grants of `grants` that cover `action`, each narrowed to it.
    fn for_action(&self, grants: &[Grant], action: &S3Action) -> Vec<Grant> {
        grants
            .iter()
            .filter(|g| g.actions.iter().any(|a| a == action.name))
            .map(|g| Grant { actions: vec![action.name.to_owned()], ..g.clone() })
            .collect()
    }
}

/// Whether the role can read a bucket, from its identity policies and, when given, the bucket's
/// own policy (`BucketPolicyGrants`; permission boundaries, SCPs and KMS key policies are not
/// seen here). Judged per action of the
/// read set with the rules below; the bucket takes the first of Allowed, Conditional, Denied that
/// one of its actions has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct BucketAccess {
    pub bucket: BucketName,
    /// Whether any action of the read set ([`READ_ACTIONS`]) is allowed on the bucket.
    pub readability: Readability,
    /// Every statement allowing a read of the bucket (wildcards included), with the reads.
    pub allows: Vec<Grant>,
    /// Every statement denying one, conditional or not.
    pub denies: Vec<Grant>,
    /// The S3 writes ([`WRITE_ACTIONS`]) an unconditional Allow allows on the bucket or some of
    /// its objects and no Deny restricts. Security-group rules are `can_write`'s business.
    pub s3_writes: Vec<String>,
    /// The S3 writes allowed only under a Condition, or restricted by a Deny that may apply.
    pub s3_conditional_writes: Vec<String>,
    /// The reads of the read set that an Allow grants and an unconditional Deny (the role's or
    /// the bucket policy's) takes away: the bucket may be readable, yet not these.
    pub denied_reads: Vec<String>,
    /// AWS's policy simulator beside flowgate's verdict (`access list` asks it; the evaluator
    /// leaves it `None`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_verdict: Option<crate::aws_verdict::AwsVerdict>,
}

/// A statement about reads on more than named buckets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct WildcardGrant {
    pub statement: StatementRef,
    pub effect: Effect,
    /// The pattern (`*`, `arn:aws:s3:::logs-*`), or `NotResource [...]`.
    pub resource: String,
    /// The pattern matches every bucket (as opposed to buckets whose name matches it).
    pub all_buckets: bool,
    pub conditional: bool,
    /// The actions of the read set the statement allows or denies.
    pub actions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct AccessReport {
    pub partition: String,
    /// Every bucket named (without wildcards) in any statement's `Resource`, by name.
    pub buckets: Vec<BucketAccess>,
    pub wildcard_allows: Vec<WildcardGrant>,
    pub wildcard_denies: Vec<WildcardGrant>,
    /// Policies or statements that could not be read and were skipped.
    pub problems: Vec<String>,
}

/// What the role's identity policies let it read and write, per bucket they name, plus every
/// wildcard read grant.
///
/// - Actions: `Action` patterns matched case-insensitively with IAM wildcards; an Allow with
///   `NotAction` applies to an action unless a `NotAction` pattern matches it. Each action is
///   judged on the ARN its resource type names: the objects (`arn:P:s3:::B/...`) or the bucket.
/// - Resources: `NotResource` applies to the objects its patterns do not cover (all, some or none).
/// - Conditions are never evaluated: a statement with a non-empty `Condition` is conditional.
///   A conditional Allow does not make a bucket `Allowed`; a conditional Deny does not make it
///   `Denied` (it may not apply) but turns `Allowed` into `Conditional`.
pub fn evaluate(policies: &[NamedPolicy], partition: &str) -> AccessReport {
    evaluate_with(policies, partition, &BTreeMap::new())
}

/// `evaluate`, weighing each bucket's own policy too (see [`BucketPolicyGrants`]): the buckets
/// reported are the ones the role's policies name and every key of `bucket_policies`.
pub fn evaluate_with(policies: &[NamedPolicy], partition: &str, bucket_policies: &BTreeMap<BucketName, BucketPolicyGrants>) -> AccessReport {
    let (statements, mut problems) = collect_statements(policies);
    let views: Vec<StatementView<'_>> = statements.iter().filter_map(|(r, s)| view(r.clone(), s)).collect();
    let (mut named, wildcard_allows, wildcard_denies) = named_and_wildcards(&views, partition);
    named.extend(bucket_policies.keys().cloned());
    problems.extend(bucket_policies.values().filter_map(|g| g.problem.clone()));
    let buckets = named.iter().map(|bucket| access_of(&views, bucket, partition, bucket_policies.get(bucket).unwrap_or(&NO_BUCKET_POLICY))).collect();
    AccessReport { partition: partition.to_owned(), buckets, wildcard_allows, wildcard_denies, problems }
}

/// The buckets the role's policies name (without wildcards), in name order.
pub fn named_buckets(policies: &[NamedPolicy], partition: &str) -> Vec<BucketName> {
    let (statements, _) = collect_statements(policies);
    let views: Vec<StatementView<'_>> = statements.iter().filter_map(|(r, s)| view(r.clone(), s)).collect();
    named_and_wildcards(&views, partition).0.into_iter().collect()
}

/// The buckets the statements name, and every statement about reads on more than named buckets
/// (allows, denies).
fn named_and_wildcards(views: &[StatementView<'_>], partition: &str) -> (BTreeSet<BucketName>, Vec<WildcardGrant>, Vec<WildcardGrant>) {
    let mut named = BTreeSet::new();
    let mut wildcard_allows = Vec::new();
    let mut wildcard_denies = Vec::new();
    for view in views {
        let reads: Vec<String> = READ_ACTIONS.iter().filter(|a| view.allows(&a.lowercase())).map(|a| a.name.to_owned()).collect();
        let mut wildcard = |resource: String, all_buckets: bool| {
            let grant = WildcardGrant {
                statement: view.statement.clone(),
                effect: view.effect,
                resource,
                all_buckets,
                conditional: view.conditional,
                actions: reads.clone(),
            };
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
                        kind @ (S3Resource::AllBuckets | S3Resource::BucketPattern) if !reads.is_empty() => {
                            wildcard((*resource).to_owned(), kind == S3Resource::AllBuckets);
                        }
                        _ => {}
                    }
                }
            }
            Listed::AllBut(excluded) if !reads.is_empty() => {
                wildcard(format!("NotResource {}", compact_strings(excluded)), false);
            }
            _ => {}
        }
    }
    (named, wildcard_allows, wildcard_denies)
}

/// What the role's identity policies let it read and write of `bucket`, named or not; same rules
/// as `evaluate`.
pub fn bucket_access(policies: &[NamedPolicy], bucket: &BucketName, partition: &str) -> BucketAccess {
    bucket_access_with(policies, bucket, partition, &NO_BUCKET_POLICY)
}

/// `bucket_access`, weighing the bucket's own policy too.
pub fn bucket_access_with(policies: &[NamedPolicy], bucket: &BucketName, partition: &str, bucket_policy: &BucketPolicyGrants) -> BucketAccess {
    let (statements, _) = collect_statements(policies);
    let views: Vec<StatementView<'_>> = statements.iter().filter_map(|(r, s)| view(r.clone(), s)).collect();
    access_of(&views, bucket, partition, bucket_policy)
}

/// Whether the role can `s3:GetObject` the bucket's objects, which is what the vendor's reader
/// does (for `verify`); same rules as `evaluate`, for that one action of the read set.
pub fn can_read(policies: &[NamedPolicy], bucket: &BucketName, partition: &str) -> Readability {
    can_read_with(policies, bucket, partition, &NO_BUCKET_POLICY)
}

/// `can_read`, weighing the bucket's own policy too.
pub fn can_read_with(policies: &[NamedPolicy], bucket: &BucketName, partition: &str, bucket_policy: &BucketPolicyGrants) -> Readability {
    let (statements, _) = collect_statements(policies);
    let views: Vec<StatementView<'_>> = statements.iter().filter_map(|(r, s)| view(r.clone(), s)).collect();
    judge(&views, bucket, partition, &[GET_OBJECT], bucket_policy).readability
}

/// Whether the role's own policies allow `action` (a name of the read set, any case) on the
/// bucket, the bucket's policy left out: the question IAM's policy simulator answers for a role
/// (see `crate::aws_verdict`). `None` for an action outside the read set.
pub fn action_readability(policies: &[NamedPolicy], bucket: &BucketName, partition: &str, action: &str) -> Option<Readability> {
    let action = READ_ACTIONS.iter().find(|a| a.name.eq_ignore_ascii_case(action))?;
    let (statements, _) = collect_statements(policies);
    let views: Vec<StatementView<'_>> = statements.iter().filter_map(|(r, s)| view(r.clone(), s)).collect();
    Some(judge(&views, bucket, partition, std::slice::from_ref(action), &NO_BUCKET_POLICY).readability)
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

pub(super) fn policy_views<'a>(name: &str, source: PolicySource, statements: &'a [Value]) -> Vec<StatementView<'a>> {
    statements
        .iter()
        .enumerate()
        .filter_map(|(index, statement)| {
            let statement_ref = StatementRef { policy: name.to_owned(), source, sid: policy_doc::sid(statement).map(str::to_owned), index };
            view(statement_ref, statement)
        })
        .collect()
}

fn access_of(views: &[StatementView<'_>], bucket: &BucketName, partition: &str, bucket_policy: &BucketPolicyGrants) -> BucketAccess {
    let reads = judge(views, bucket, partition, READ_ACTIONS, bucket_policy);
    let denied_reads = READ_ACTIONS
        .iter()
        .filter(|action| {
            let one = judge(views, bucket, partition, std::slice::from_ref(*action), bucket_policy);
            matches!(one.readability, Readability::Denied { .. }) && !one.allows.is_empty()
        })
        .map(|action| action.name.to_owned())
        .collect();
    let mut s3_writes = Vec::new();
    let mut s3_conditional_writes = Vec::new();
    for action in WRITE_ACTIONS {
        match judge(views, bucket, partition, std::slice::from_ref(action), bucket_policy).readability {
            Readability::Allowed { .. } => s3_writes.push(action.name.to_owned()),
            Readability::Conditional { .. } => s3_conditional_writes.push(action.name.to_owned()),
            Readability::Denied { .. } | Readability::NotGranted => {}
        }
    }
    BucketAccess {
        bucket: bucket.clone(),
        readability: reads.readability,
        allows: reads.allows,
        denies: reads.denies,
        s3_writes,
        s3_conditional_writes,
        denied_reads,
        aws_verdict: None,
    }
}

/// The verdict on a set of actions for one bucket, and every grant behind it.
pub(super) struct Judgement {
    pub(super) readability: Readability,
    pub(super) allows: Vec<Grant>,
    pub(super) denies: Vec<Grant>,
}

/// Judges each action on its own, then the set: Allowed when one action is, else Conditional when
/// one is, else Denied when one is, else NotGranted. Grants of one statement through one resource
/// are merged, their actions listed together. The bucket policy's grants weigh as the role's own:
/// the role and the bucket are in one account, and an Allow in a resource policy that names the
/// role (or everyone) needs nothing more: "For IAM users and role principals within your account,
/// no other permissions are required" (IAM User Guide, "AWS JSON policy elements: Principal");
/// an explicit Deny in any policy denies.
pub(super) fn judge(
    views: &[StatementView<'_>],
    bucket: &BucketName,
    partition: &str,
    actions: &[S3Action],
    bucket_policy: &BucketPolicyGrants,
) -> Judgement {
    let (mut allowed, mut conditional_allows, mut conditional_denies, mut denied) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut allows, mut denies) = (Vec::new(), Vec::new());
    for action in actions {
        let (mut action_allows, mut action_denies) = action_grants(views, bucket, partition, action);
        action_allows.extend(bucket_policy.for_action(&bucket_policy.allows, action));
        action_denies.extend(bucket_policy.for_action(&bucket_policy.denies, action));
        match verdict(&action_allows, &action_denies) {
            Readability::Allowed { by } => merge(&mut allowed, by),
            Readability::Conditional { allowed_by, denied_by } => {
                merge(&mut conditional_allows, allowed_by);
                merge(&mut conditional_denies, denied_by);
            }
            Readability::Denied { by } => merge(&mut denied, by),
            Readability::NotGranted => {}
        }
        merge(&mut allows, action_allows);
        merge(&mut denies, action_denies);
    }
    let readability = if !allowed.is_empty() {
        Readability::Allowed { by: allowed }
    } else if !conditional_allows.is_empty() {
        Readability::Conditional { allowed_by: conditional_allows, denied_by: conditional_denies }
    } else if !denied.is_empty() {
        Readability::Denied { by: denied }
    } else {
        Readability::NotGranted
    };
    Judgement { readability, allows, denies }
}

/// One action's verdict from the statements allowing and denying it.
fn verdict(allows: &[Grant], denies: &[Grant]) -> Readability {
    let certain_denies: Vec<Grant> = denies.iter().filter(|d| !d.conditional && d.scope == Scope::AllObjects).cloned().collect();
    let unconditional_allows: Vec<Grant> = allows.iter().filter(|a| !a.conditional).cloned().collect();
    if !certain_denies.is_empty() {
        Readability::Denied { by: certain_denies }
    } else if allows.is_empty() {
        Readability::NotGranted
    } else if !unconditional_allows.is_empty() && denies.is_empty() {
        Readability::Allowed { by: unconditional_allows }
    } else {
        Readability::Conditional { allowed_by: allows.to_vec(), denied_by: denies.to_vec() }
    }
}

/// Adds `grants` to `into`, one entry per (statement, resource, scope) with the
/// actions of both.
fn merge(into: &mut Vec<Grant>, grants: Vec<Grant>) {
    for grant in grants {
        let same = |g: &&mut Grant| g.statement == grant.statement && g.resource == grant.resource && g.scope == grant.scope;
        match into.iter_mut().find(same) {
            Some(existing) => {
                for action in grant.actions {
                    if !existing.actions.contains(&action) {
                        existing.actions.push(action);
                    }
                }
            }
            None => into.push(grant),
        }
    }
}

/// Every statement allowing, and every statement denying, `action` on the bucket's ARN its
/// target names (the objects under `arn:P:s3:::B/`, or `arn:P:s3:::B` itself), with the resource
/// pattern that matched. For the bucket itself the scope is always `AllObjects` (the one ARN is
/// covered or not).
pub(super) fn action_grants(views: &[StatementView<'_>], bucket: &BucketName, partition: &str, action: &S3Action) -> (Vec<Grant>, Vec<Grant>) {
    let arn = bucket.arn(partition);
    let objects = format!("{arn}/");
    let lowercase = action.lowercase();
    let mut allows = Vec::new();
    let mut denies = Vec::new();
    for view in views.iter().filter(|v| v.allows(&lowercase)) {
        let scope = match action.target {
            Target::Objects => view.object_scope(&objects),
            Target::Bucket => view.bucket_scope(&arn),
        };
        let Some((scope, resource)) = scope else { continue };
        let grant = Grant {
            statement: view.statement.clone(),
            resource,
            scope,
            conditional: view.conditional,
            actions: vec![action.name.to_owned()],
            depends_on: Vec::new(),
        };
        match view.effect {
            Effect::Allow => allows.push(grant),
            Effect::Deny => denies.push(grant),
        }
    }
    (allows, denies)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::role_policy::fixtures::*;
    use serde_json::json;

    // Over 80 lines: a table of cases, one row each; splitting it would hide how they differ.
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
                    {"Sid": "NoB", "Effect": "Deny", "Action": "s3:*", "Resource": ["arn:aws:s3:::flow-b", "arn:aws:s3:::flow-b/*"]}]})
                .to_string(),
            )
            .unwrap(),
            inline("Broken", json!({"Statement": "nope"})),
        ];
        let report = evaluate(&policies, "aws");
        let summary: Vec<(&str, &str)> = report.buckets.iter().map(|b| (b.bucket.as_str(), kind(&b.readability))).collect();
        // Listing a bucket is reading it: only-listed is readable, though not its objects.
        assert_eq!(summary, [("flow-a", "allowed"), ("flow-b", "denied"), ("only-listed", "allowed")]);
        let Readability::Allowed { by } = &report.buckets[0].readability else { panic!() };
        assert_eq!(by[0].statement.to_string(), "inline policy FlowgateStorageAccess, statement Sid \"FlowgateS3ObjectRead\"");
        assert_eq!((by[0].resource.as_str(), by[0].actions.as_slice()), ("arn:aws:s3:::flow-a/*", &["s3:GetObject".to_owned()][..]));
        assert_eq!(by[1].actions, ["s3:ListBucket"]);
        let Readability::Denied { by } = &report.buckets[1].readability else { panic!() };
        assert_eq!(by[0].statement.to_string(), "managed policy VendorRead, statement Sid \"NoB\"");
        assert_eq!(report.buckets[1].allows.len(), 2);
        let Readability::Allowed { by } = &report.buckets[2].readability else { panic!() };
        assert_eq!(by.iter().map(|g| g.actions.clone()).collect::<Vec<_>>(), [["s3:ListBucket"]]);
        assert_eq!(kind(&can_read(&policies, &bucket("only-listed"), "aws")), "not-granted", "can_read is s3:GetObject alone");
        assert_eq!(report.wildcard_allows.len(), 1);
        assert_eq!(report.wildcard_allows[0].resource, "arn:aws:s3:::logs-*");
        assert!(!report.wildcard_allows[0].all_buckets && report.wildcard_allows[0].conditional);
        assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
        assert!(report.problems[0].contains("Broken"));
        assert_eq!(kind(&can_read(&policies, &bucket("logs-x"), "aws")), "conditional");

        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["buckets"][1]["readability"]["readability"], "denied");
        assert_eq!(json["buckets"][0]["readability"]["by"][0]["statement"]["source"], "inline");
        assert_eq!(json["buckets"][0]["readability"]["by"][0]["actions"], json!(["s3:GetObject"]));
    }

    /// Issue 22 items 3 and 7: a role left with s3:GetObjectVersion and s3:ListBucketVersions was
    /// "not readable", and one with s3:PutObject on the bucket "can write: no (read-only)".
    #[test]
    fn every_read_counts_and_s3_writes_are_reported() {
        let policies = [inline(
            "p",
            json!({"Statement": [
                {"Sid": "Versions", "Effect": "Allow", "Action": ["s3:GetObjectVersion", "s3:ListBucketVersions"], "Resource": ["arn:aws:s3:::logs-a", "arn:aws:s3:::logs-a/*"]},
                {"Sid": "Write", "Effect": "Allow", "Action": ["s3:PutObject", "s3:DeleteObject*"], "Resource": "arn:aws:s3:::logs-a/incoming/*"},
                {"Sid": "Expire", "Effect": "Allow", "Action": "s3:PutLifecycleConfiguration", "Resource": "arn:aws:s3:::logs-a", "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
                {"Sid": "Other", "Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::other-b/*"},
                {"Sid": "NoDelete", "Effect": "Deny", "Action": "s3:DeleteObjectVersion", "Resource": "*"}]}),
        )];
        let report = evaluate(&policies, "aws");
        let logs = &report.buckets[0];
        assert_eq!(logs.bucket.as_str(), "logs-a");
        let Readability::Allowed { by } = &logs.readability else { panic!("{:?}", logs.readability) };
        assert_eq!(
            by.iter().map(|g| (g.resource.as_str(), g.actions.clone())).collect::<Vec<_>>(),
            [("arn:aws:s3:::logs-a/*", vec!["s3:GetObjectVersion".to_owned()]), ("arn:aws:s3:::logs-a", vec!["s3:ListBucketVersions".to_owned()])]
        );
        // s3:DeleteObject* on some keys, less the version deletes an unconditional Deny blocks.
        let deletes = [
            "s3:DeleteObject",
            "s3:DeleteObjectTagging",
            "s3:DeleteObjectVersionTagging",
            "s3:DeleteObjectAnnotation",
            "s3:DeleteObjectVersionAnnotation",
        ];
        assert_eq!(logs.s3_writes, [&["s3:PutObject"][..], &deletes[..]].concat());
        assert_eq!(logs.s3_conditional_writes, ["s3:PutLifecycleConfiguration"]);
        assert_eq!(kind(&can_read(&policies, &bucket("logs-a"), "aws")), "not-granted");
        let other = &report.buckets[1];
        assert_eq!((other.bucket.as_str(), kind(&other.readability)), ("other-b", "allowed"));
        assert!(other.s3_writes.contains(&"s3:PutObject".to_owned()) && !other.s3_writes.contains(&"s3:DeleteBucket".to_owned()));
    }
}
