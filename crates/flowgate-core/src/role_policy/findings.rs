//! What an edit leaves behind, read across all of the role's policies: access still possible
//! after a revoke, and denies that make a grant ineffective.

use serde_json::Value;

use super::evaluate::{NamedPolicy, PolicySource, Scope, StatementRef, action_grants, policy_views};
use super::s3_actions::{READ_ACTIONS, S3Action, Target, entry_matches, reads_only};
use super::statement::{Listed, StatementView};
use super::wildcard::{S3Resource, classify};
use super::{BUCKET_READ_ACTIONS, Finding, FindingKind, OBJECT_READ_ACTIONS};
use crate::names::BucketName;
use crate::policy_doc;

/// After a revoke: every Allow in any of the role's policies (inline as edited, managed) through
/// which the role may still read one of `buckets` (an action of the read set, [`READ_ACTIONS`],
/// on its objects or on the bucket), unless an unconditional Deny blocks that action; plus one
/// finding per policy that could not be read. Each finding names the policy, the statement, the
/// reads, the `Action` entries that allow them and what to do.
pub fn still_readable(policies: &[NamedPolicy], buckets: &[BucketName], partition: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut lists = Vec::new();
    for policy in policies {
        match policy_doc::statements(&policy.document) {
            Ok(list) => lists.push((policy, list)),
            Err(e) => findings.push(Finding {
                policy: Some(policy.name.clone()),
                ..Finding::new(
                    FindingKind::Unreadable,
                    "",
                    format!(
                        "{} policy {} could not be read ({e}): the role may still read the bucket through it",
                        source_word(policy.source),
                        policy.name
                    ),
                )
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
        PolicySource::Bucket => "bucket",
    }
}

/// One statement's reads of one bucket that no Deny blocks: the actions, and the resources.
struct Remaining<'v, 'a> {
    view: &'v StatementView<'a>,
    actions: Vec<&'static str>,
    resources: Vec<String>,
}

pub(super) fn still_readable_in(policies: &[(&NamedPolicy, &[Value])], buckets: &[BucketName], partition: &str) -> Vec<Finding> {
    let views: Vec<StatementView<'_>> = policies.iter().flat_map(|(p, statements)| policy_views(&p.name, p.source, statements)).collect();
    let mut findings = Vec::new();
    for bucket in buckets {
        // Per statement, in the order first seen.
        let mut remaining: Vec<Remaining<'_, '_>> = Vec::new();
        for action in READ_ACTIONS {
            let (allows, denies) = action_grants(&views, bucket, partition, action);
            if denies.iter().any(|d| !d.conditional && d.scope == Scope::AllObjects) {
                continue;
            }
            for allow in allows {
                let Some(view) = views.iter().find(|v| v.statement == allow.statement) else { continue };
                match remaining.iter_mut().find(|r| r.view.statement == allow.statement) {
                    Some(r) => {
                        r.actions.push(action.name);
                        if !r.resources.contains(&allow.resource) {
                            r.resources.push(allow.resource);
                        }
                    }
                    None => remaining.push(Remaining { view, actions: vec![action.name], resources: vec![allow.resource] }),
                }
            }
        }
        findings.extend(remaining.into_iter().map(|r| still_readable_finding(&r, bucket, partition)));
    }
    findings
}

fn still_readable_finding(remaining: &Remaining<'_, '_>, bucket: &BucketName, partition: &str) -> Finding {
    let view = remaining.view;
    // The entries to take out: those matching one of the reads still allowed (none for NotAction).
    let entries: Vec<String> = match &view.actions {
        Listed::Only(patterns) => {
            patterns.iter().filter(|p| remaining.actions.iter().any(|a| entry_matches(p, a))).map(|p| (*p).to_owned()).collect()
        }
        _ => Vec::new(),
    };
    let when = if view.conditional { " when its condition holds" } else { "" };
    let message = format!(
        "{bucket} is still readable{when} through {}, which allows {} on {}: {}",
        statement_words(&view.statement),
        reads_words(&remaining.actions),
        remaining.resources.join(", "),
        remedy(view, &entries, &remaining.resources, partition)
    );
    Finding {
        bucket: Some(bucket.to_string()),
        policy: policy_name(&view.statement),
        actions: remaining.actions.iter().map(|a| (*a).to_owned()).collect(),
        action_entries: entries,
        resources: remaining.resources.clone(),
        ..Finding::new(FindingKind::StillReadable, view.statement.label(), message)
    }
}

/// The reads, named up to three; the finding's `actions` lists them all.
fn reads_words(actions: &[&str]) -> String {
    match actions {
        [_, _, _, _, ..] => format!("{}, {} and {} other reads", actions[0], actions[1], actions.len() - 2),
        _ => actions.join(", "),
    }
}

/// Why flowgate left a statement that still grants read access, and what the user can do.
fn remedy(view: &StatementView<'_>, entries: &[String], resources: &[String], partition: &str) -> String {
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
    if resources.iter().any(|r| matches!(classify(r, partition), S3Resource::AllBuckets | S3Resource::BucketPattern)) {
        return "its resource is a wildcard covering the bucket: narrow it by hand, or with `access grant --narrow-wildcard --bucket B...` naming the buckets that stay readable, then revoke again".into();
    }
    if entries.is_empty() || view.statement.source != PolicySource::Inline {
        return "edit it by hand".into();
    }
    let listed = entries.join(", ");
    if entries.iter().all(|e| reads_only(e)) {
        format!("flowgate could not take {listed} out of it: remove them by hand")
    } else {
        format!(
            "{listed} also allows actions that are not reads (writes), and a revoke takes out only entries that read: remove {listed} on the bucket from it by hand, or replace it with the actions the role needs"
        )
    }
}

/// The reads a grant adds, as the evaluator judges them: flowgate's two statements' actions.
fn granted_actions() -> Vec<S3Action> {
    let objects = OBJECT_READ_ACTIONS.iter().map(|name| S3Action { name, target: Target::Objects });
    objects.chain(BUCKET_READ_ACTIONS.iter().map(|name| S3Action { name, target: Target::Bucket })).collect()
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
        for action in granted_actions() {
            let (_, denies) = action_grants(&views, bucket, partition, &action);
            for deny in denies.into_iter().filter(|d| !d.conditional && d.scope == Scope::AllObjects) {
                match blocked.iter_mut().find(|(s, _, _)| *s == deny.statement) {
                    Some((_, actions, _)) => actions.push(action.name),
                    None => blocked.push((deny.statement, vec![action.name], deny.resource)),
                }
            }
        }
        for (statement, actions, resource) in blocked {
            let message = format!(
                "{} denies {} on {bucket} ({resource}): the grant has no effect until that Deny is removed",
                statement_words(&statement),
                actions.join(", ")
            );
            findings.push(Finding {
                bucket: Some(bucket.to_string()),
                policy: policy_name(&statement),
                actions: actions.iter().map(|a| (*a).to_owned()).collect(),
                ..Finding::new(FindingKind::Denied, statement.label(), message)
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
        assert!(findings[0].message.starts_with("logs-a is still readable through managed policy AmazonS3ReadOnlyAccess, statement #0, which allows s3:GetObject, s3:GetObjectVersion and 9 other reads on *"), "{}", findings[0]);
        assert_eq!(findings[0].actions, READ_ACTIONS.iter().map(|a| a.name).collect::<Vec<_>>());
        assert_eq!(findings[0].action_entries, ["s3:Get*", "s3:List*"]);
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
