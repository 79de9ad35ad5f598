//! What an edit leaves behind, read across all of the role's policies: access still possible
//! after a revoke, and denies that make a grant ineffective.

use serde_json::Value;

use super::edit::REVOKED_ACTIONS;
use super::evaluate::{Effect, Grant, NamedPolicy, PolicySource, Scope, StatementRef, policy_views};
use super::statement::{Listed, StatementView};
use super::wildcard::{S3Resource, classify};
use super::{Finding, FindingKind};
use crate::names::BucketName;
use crate::policy_doc;

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

pub(super) fn still_readable_in(policies: &[(&NamedPolicy, &[Value])], buckets: &[BucketName], partition: &str) -> Vec<Finding> {
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
pub(super) fn remedy(view: &StatementView<'_>, resource: &str, partition: &str) -> String {
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

pub(super) fn grant_denied_in(policies: &[(&NamedPolicy, &[Value])], buckets: &[BucketName], partition: &str) -> Vec<Finding> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::role_policy::fixtures::*;
    use serde_json::json;

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
}
