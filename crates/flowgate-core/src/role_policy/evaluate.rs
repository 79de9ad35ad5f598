//! Static evaluation: what the role's identity policies let it read, per bucket, from the policy
//! text alone (conditions are not evaluated, only noticed).

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use super::statement::{Listed, StatementView, compact_strings, effect_of, view};
use super::wildcard::{S3Resource, classify};
use super::{GET_OBJECT, RolePolicyError};
use crate::names::BucketName;
use crate::policy_doc;

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
}
