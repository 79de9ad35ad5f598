//! The inline-policy editor: `grant` adds buckets to flowgate's two statements, `revoke` takes
//! the read actions (the read set of `s3_actions`) on named buckets out of any plain Allow, and
//! nothing else changes.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::evaluate::NamedPolicy;
use super::evaluate::{Effect, PolicySource, policy_views};
use super::findings::{grant_denied_in, still_readable_in};
use super::s3_actions::reads_only;
use super::statement::{Listed, effect_of, statement_label, strings};
use super::wildcard::{broad_grant_findings, narrow, narrowed_finding, narrowing_obstacle};
use super::{
    BUCKET_READ_ACTIONS, BUCKET_READ_SID, Edit, Finding, GrantOptions, OBJECT_READ_ACTIONS, OBJECT_READ_SID, POLICY_VERSION,
    ROLE_INLINE_POLICY_MAX_CHARS, RolePolicyError, StatementChange,
};
use crate::names::BucketName;
use crate::policy_doc;

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
        let (narrowed, splits) = narrow_wildcards(&before, &mut work, &mut modified, &buckets, partition);
        findings.extend(narrowed);
        // After every statement of the document, where the diff lists them as added.
        work.extend(splits);
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

/// `--narrow-wildcard`: narrows in `work` each statement `narrowing_obstacle` accepts (its index
/// goes into `modified`), and returns a `Narrowed` finding for each, and the statements that keep
/// the account-level reads on the wildcard (their Sid `<Sid>AccountLevel`, made unique).
fn narrow_wildcards(
    before: &[Value],
    work: &mut [Value],
    modified: &mut BTreeSet<usize>,
    buckets: &[BucketName],
    partition: &str,
) -> (Vec<Finding>, Vec<Value>) {
    let mut sids: BTreeSet<String> = before.iter().filter_map(policy_doc::sid).map(str::to_owned).collect();
    let mut findings = Vec::new();
    let mut splits = Vec::new();
    for (index, statement) in before.iter().enumerate() {
        if narrowing_obstacle(statement, partition).is_some() {
            continue;
        }
        let narrowing = narrow(statement, buckets, partition);
        let split_label = narrowing.split.clone().map(|mut split| {
            if let (Some(sid), Value::Object(map)) = (policy_doc::sid(statement), &mut split) {
                let new_sid = unique_sid(&format!("{sid}AccountLevel"), &sids);
                sids.insert(new_sid.clone());
                map.insert("Sid".into(), Value::String(new_sid));
            }
            let label = statement_label(&split, before.len() + splits.len());
            splits.push(split);
            label
        });
        findings.push(narrowed_finding(&narrowing, &statement_label(statement, index), split_label, buckets));
        work[index] = narrowing.statement;
        modified.insert(index);
    }
    (findings, splits)
}

/// Revokes read access to `buckets`, and nothing else: from every unconditional Allow statement
/// with `Action` and `Resource` (whoever wrote it), the (action, resource) pairs whose action is a
/// revoked entry ([`is_revoked_action`]: an action of the read set, a pattern that grants only
/// reads such as `s3:Get*` or `s3:ListBucket*`, or an action flowgate's grant adds) and whose
/// resource names one of the buckets (`arn:P:s3:::B`, or a path in it such as `B/*` or
/// `B/reports/*`: reading under a prefix is reading that bucket).
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
/// still possible through them (or through entries that also write, such as `s3:*`) is reported as
/// a `StillReadable` finding naming the entries and the statement. Arrays that shrink stay arrays, every other key keeps its
/// place and every statement not naming a bucket is unchanged byte for byte. A split repeats part
/// of a statement, so the result can be larger than the input: the command checks IAM's size limit
/// over all of the role's inline policies (`RolePolicyError::TooLarge`).
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

/// Whether a revoke takes `Action` entry `entry` out of a statement: an entry that grants only
/// reads, some of them in the read set ([`reads_only`]: `s3:GetObjectVersion`, `s3:Get*`,
/// `s3:ListBucket*`, ...), or one of the actions flowgate's grant adds (`s3:GetBucketLocation`
/// too, so that a revoke undoes a grant). Anything that may also write (`s3:*`, `s3:*Object`,
/// `s3:PutObject`) is someone else's permission and stays.
fn is_revoked_action(entry: &str) -> bool {
    reads_only(entry) || OBJECT_READ_ACTIONS.iter().chain(BUCKET_READ_ACTIONS).any(|a| a.eq_ignore_ascii_case(entry))
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

fn check_partition(partition: &str) -> Result<(), RolePolicyError> {
    if crate::names::is_partition(partition) { Ok(()) } else { Err(RolePolicyError::BadPartition(partition.to_owned())) }
}

fn distinct(buckets: &[BucketName]) -> Result<Vec<BucketName>, RolePolicyError> {
    let mut seen = BTreeSet::new();
    let list: Vec<BucketName> = buckets.iter().filter(|b| seen.insert(*b)).cloned().collect();
    if list.is_empty() { Err(RolePolicyError::NoBuckets) } else { Ok(list) }
}

fn change(before_index: Option<usize>, after_index: Option<usize>, before: Option<&Value>, after: Option<&Value>) -> StatementChange {
    let sid = before.or(after).and_then(policy_doc::sid).map(str::to_owned);
    StatementChange { before_index, after_index, sid, before: before.cloned(), after: after.cloned() }
}

pub(super) fn unchanged(doc: &Map<String, Value>, findings: Vec<Finding>) -> Edit {
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
    use crate::policy_doc::PolicyDocError;
    use crate::role_policy::fixtures::*;
    use crate::role_policy::{ACCOUNT_LEVEL_READS, ACCOUNT_LEVEL_WRITES, FindingKind, READ_ACTIONS, bucket_access, parse_inline};
    use serde_json::json;

    type GrantCase = (&'static str, Value, Vec<&'static str>, GrantOptions, Option<Value>);
    type RevokeCase = (&'static str, Value, Vec<&'static str>, Option<Value>, bool);

    const NARROW: GrantOptions = GrantOptions { narrow_wildcard: true, other_inline_chars: 0 };

    // Over 80 lines: a table of cases, one row each; splitting it would hide how they differ.
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

        let pattern = doc(json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::flow-*"}]}));
        let edit = grant(&pattern, &buckets(&["flow-a"]), "aws", &NARROW).unwrap();
        assert!(edit.findings[0].message.contains("bucket-name pattern"), "{}", edit.findings[0]);
        assert_eq!(edit.document["Statement"][0]["Resource"], "arn:aws:s3:::flow-*");

        let not_resource = doc(json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::secret/*"}]}));
        let edit = grant(&not_resource, &buckets(&["flow-a"]), "aws", &NARROW).unwrap();
        assert!(edit.findings[0].message.contains("everything but [\"arn:aws:s3:::secret/*\"]"), "{}", edit.findings[0]);
    }

    /// Issue 22 item 7: narrowing `s3:List*` to bucket ARNs silently took away
    /// s3:ListAllMyBuckets, which works only on "*".
    #[test]
    fn narrowing_keeps_account_level_reads_and_names_what_it_drops() {
        let lists = ["s3:ListAccessGrantsInstances", "s3:ListAccessPoints", "s3:ListAccessPointsForObjectLambda", "s3:ListAllMyBuckets"];
        let lists =
            [&lists[..], &["s3:ListJobs", "s3:ListMultiRegionAccessPoints", "s3:ListStorageLensConfigurations", "s3:ListStorageLensGroups"]].concat();
        let vendor = doc(json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "VendorS3", "Effect": "Allow", "Action": ["s3:GetObject", "s3:List*"], "Resource": "*"},
            {"Sid": "VendorS3AccountLevel", "Effect": "Allow", "Action": "ec2:DescribeVpcs", "Resource": "*"}]}));
        let edit = grant(&vendor, &buckets(&["flow-a", "flow-b"]), "aws", &NARROW).unwrap();
        let statements = policy_doc::statements(&edit.document).unwrap();
        assert_eq!(
            Value::Array(statements),
            json!([
                {"Sid": "VendorS3", "Effect": "Allow", "Action": ["s3:GetObject", "s3:List*"],
                 "Resource": ["arn:aws:s3:::flow-a", "arn:aws:s3:::flow-a/*", "arn:aws:s3:::flow-b", "arn:aws:s3:::flow-b/*"]},
                {"Sid": "VendorS3AccountLevel", "Effect": "Allow", "Action": "ec2:DescribeVpcs", "Resource": "*"},
                {"Sid": "VendorS3AccountLevel2", "Effect": "Allow", "Action": lists, "Resource": "*"},
                flowgate(&[], &["flow-a", "flow-b"])[1]
            ])
        );
        let narrowed = &edit.findings[0];
        assert_eq!(narrowed.kind, FindingKind::Narrowed);
        assert_eq!(narrowed.actions, ["s3:GetObject", "s3:List*"]);
        let account_level = narrowed.account_level.as_ref().unwrap();
        assert_eq!(
            (account_level.kept.iter().map(String::as_str).collect::<Vec<_>>(), account_level.kept_in.as_deref(), account_level.dropped.len()),
            (lists, Some("Sid \"VendorS3AccountLevel2\""), 0)
        );
        assert_eq!(
            narrowed.message,
            "narrowed statement Sid \"VendorS3\" from [\"*\"] to the 2 granted bucket(s) (flow-a, flow-b): s3:GetObject, s3:List* now apply only to those buckets and their objects, no longer to other buckets nor to other S3 resources (access points, Batch Operations jobs, Storage Lens, Access Grants); the account-level actions it covered, which have no resource and work only on a wildcard, keep it in the new statement Sid \"VendorS3AccountLevel2\": s3:ListAccessGrantsInstances, s3:ListAccessPoints, s3:ListAccessPointsForObjectLambda, s3:ListAllMyBuckets, s3:ListJobs, s3:ListMultiRegionAccessPoints, s3:ListStorageLensConfigurations, s3:ListStorageLensGroups"
        );
        let json = serde_json::to_value(narrowed).unwrap();
        assert_eq!(json["account_level"]["kept_in"], "Sid \"VendorS3AccountLevel2\"");

        // s3:*: the account-level writes are not kept, and named; an explicit account-level entry
        // leaves the narrowed statement for the new one; a Condition goes with both.
        let cond = json!({"Bool": {"aws:SecureTransport": "true"}});
        let star = doc(
            json!({"Statement": [{"Effect": "Allow", "Action": ["s3:*", "s3:ListAllMyBuckets"], "Resource": ["arn:aws:s3:::*", "arn:aws:s3:::keep/x"], "Condition": cond}]}),
        );
        let edit = grant(&star, &buckets(&["flow-a"]), "aws", &NARROW).unwrap();
        let statements = policy_doc::statements(&edit.document).unwrap();
        assert_eq!(
            statements[0],
            json!({"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::flow-a", "arn:aws:s3:::flow-a/*", "arn:aws:s3:::keep/x"], "Condition": cond})
        );
        assert_eq!(statements[1], json!({"Effect": "Allow", "Action": ACCOUNT_LEVEL_READS, "Resource": "arn:aws:s3:::*", "Condition": cond}));
        let account_level = edit.findings[0].account_level.as_ref().unwrap();
        assert_eq!(
            (account_level.kept_in.as_deref(), account_level.dropped.clone()),
            (Some("#1"), ACCOUNT_LEVEL_WRITES.iter().map(|a| (*a).to_owned()).collect())
        );
        assert!(edit.findings[0].message.contains("; no longer allowed: s3:CreateJob, s3:CreateStorageLensGroup,"), "{}", edit.findings[0]);
        assert!(!grant(&edit.document, &buckets(&["flow-a"]), "aws", &NARROW).unwrap().changed, "narrowing twice");

        // Objects only: no account-level action ever worked there, so none is moved.
        let objects = doc(json!({"Statement": [{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "arn:aws:s3:::*/*"}]}));
        let edit = grant(&objects, &buckets(&["flow-a"]), "aws", &NARROW).unwrap();
        assert_eq!(edit.findings[0].account_level, None);
        assert_eq!(policy_doc::statements(&edit.document).unwrap().len(), 2, "the narrowed statement and flowgate's bucket read");
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

    // Over 80 lines: a table of cases, one row each; splitting it would hide how they differ.
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
            "flow-a is still readable through statement Sid \"S3Read\" of this policy, which allows s3:GetObject, s3:GetObjectVersion and 5 other reads on arn:aws:s3:::*: its resource is a wildcard covering the bucket: narrow it by hand, or with `access grant --narrow-wildcard --bucket B...` naming the buckets that stay readable, then revoke again"
        );
        assert_eq!(edit.findings[0].actions.len(), 7, "every Get action of the read set: {:?}", edit.findings[0].actions);
        assert_eq!(
            (edit.findings[0].action_entries.as_slice(), edit.findings[0].resources.as_slice()),
            (&["s3:Get*".to_owned()][..], &["arn:aws:s3:::*".to_owned()][..])
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

    /// Issue 22 item 3: a revoke took out s3:GetObject and s3:ListBucket and left
    /// s3:GetObjectVersion and s3:ListBucketVersions, with exit 0 and nothing reported.
    #[test]
    fn revoke_takes_every_read_of_the_read_set() {
        let arns = json!(["arn:aws:s3:::logs-a", "arn:aws:s3:::logs-a/*"]);
        // (name, Action, what stays of the statement; None = removed)
        let cases: Vec<(&str, Value, Option<Value>)> = vec![
            ("the four actions of the issue", json!(["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucketVersions", "s3:ListBucket"]), None),
            ("every read of the read set, any case", json!(READ_ACTIONS.iter().map(|a| a.name.to_ascii_uppercase()).collect::<Vec<_>>()), None),
            ("read-only patterns", json!(["s3:GetObject*", "s3:ListBucket*", "s3:Get*", "s3:List*"]), None),
            (
                "writes and non-read Gets stay",
                json!(["s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject*", "s3:GetObjectAcl", "s3:ListMultipartUploadParts"]),
                Some(json!(["s3:PutObject", "s3:DeleteObject*", "s3:GetObjectAcl"])),
            ),
        ];
        for (name, actions, stays) in cases {
            let input = doc(json!({"Statement": [{"Sid": "Read", "Effect": "Allow", "Action": actions, "Resource": arns}]}));
            let edit = revoke(&input, &buckets(&["logs-a"]), "aws").unwrap();
            let expected = match stays {
                None => json!([]),
                Some(actions) => json!([{"Sid": "Read", "Effect": "Allow", "Action": actions, "Resource": arns}]),
            };
            assert_eq!(Value::Array(policy_doc::statements(&edit.document).unwrap()), expected, "{name}");
            assert!(edit.findings.is_empty(), "{name}: {:?}", edit.findings);
            let left = bucket_access(&[inline("p", Value::Object(edit.document.clone()))], &bucket("logs-a"), "aws");
            assert_eq!(kind(&left.readability), "not-granted", "{name}: {:?}", left.readability);
        }
    }

    #[test]
    fn revoke_leaves_what_it_cannot_rewrite_and_says_so() {
        let cond = json!({"Bool": {"aws:SecureTransport": "true"}});
        // (name, statement, words the finding must contain; None = no finding)
        let cases: Vec<(&str, Value, Option<&str>)> = vec![
            (
                "s3:* is more than reads",
                json!({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::logs-a/*"}),
                Some(
                    "s3:* also allows actions that are not reads (writes), and a revoke takes out only entries that read: remove s3:* on the bucket",
                ),
            ),
            (
                "s3:*Object also writes",
                json!({"Effect": "Allow", "Action": ["s3:*Object", "s3:GetObjectAcl"], "Resource": "arn:aws:s3:::logs-a/*"}),
                Some("which allows s3:GetObject on arn:aws:s3:::logs-a/*: s3:*Object also allows actions that are not reads"),
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
}
