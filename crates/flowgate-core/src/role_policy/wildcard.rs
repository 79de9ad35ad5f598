//! S3 resource patterns: which name a bucket, which cover every bucket, and the
//! `--narrow-wildcard` rewrite of an every-bucket grant into the granted buckets.

use serde_json::Value;

use super::evaluate::{Effect, PolicySource, StatementRef};
use super::glob::{Coverage, glob_match, prefix_coverage};
use super::s3_actions::{ACCOUNT_LEVEL_READS, ACCOUNT_LEVEL_WRITES, GET_OBJECT, account_level_covered};
use super::statement::{Listed, compact_strings, statement_label, strings, view};
use super::{AccountLevelActions, Finding, FindingKind};
use crate::names::BucketName;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum S3Resource<'a> {
    /// Every bucket (`*`, `arn:P:s3:::*`, `arn:P:s3:::*/*`, `arn:*:s3:::*`).
    AllBuckets,
    /// A wildcard in the bucket name (`arn:P:s3:::logs-*`, `arn:P:s3:::*/AWSLogs/*`).
    BucketPattern,
    /// A named bucket, or objects in it.
    Bucket(&'a str),
    Other,
}

pub(super) fn classify<'a>(resource: &'a str, partition: &str) -> S3Resource<'a> {
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
pub(super) fn narrowing_obstacle(statement: &Value, partition: &str) -> Option<String> {
    let Some(view) = view(StatementRef { policy: String::new(), source: PolicySource::Inline, sid: None, index: 0 }, statement) else {
        return Some("it is not an Allow statement".into());
    };
    if view.effect != Effect::Allow || !view.allows(&GET_OBJECT.lowercase()) {
        return Some("it does not allow s3:GetObject".into());
    }
    let Listed::Only(actions) = &view.actions else { return Some("it uses NotAction".into()) };
    let Listed::Only(resources) = &view.resources else { return Some("it uses NotResource".into()) };
    if let Some(other) = actions.iter().find(|a| !a.to_ascii_lowercase().starts_with("s3:")) {
        return Some(format!("it also allows {other}"));
    }
    if !resources.iter().any(|r| classify(r, partition) == S3Resource::AllBuckets) {
        return Some("its wildcard is a bucket-name pattern, not every bucket".into());
    }
    None
}

/// A statement `--narrow-wildcard` rewrote, and what became of what its wildcard served.
pub(super) struct Narrowing {
    /// The statement, each every-bucket wildcard replaced by the granted buckets' ARNs.
    pub(super) statement: Value,
    /// The account-level reads it covered, on its wildcard, in a statement of their own (the
    /// original Sid still in place: the caller makes it unique).
    pub(super) split: Option<Value>,
    /// The `Action` entries whose scope changed: every entry left in the statement.
    pub(super) entries: Vec<String>,
    /// The wildcards replaced.
    pub(super) wildcards: Vec<String>,
    pub(super) kept: Vec<&'static str>,
    pub(super) dropped: Vec<&'static str>,
}

/// Narrows a statement `narrowing_obstacle` accepts: each every-bucket wildcard resource becomes
/// the ARNs of `buckets` it covered (`arn:P:s3:::B` and/or `arn:P:s3:::B/*`), other resources and
/// keys kept in place.
///
/// The actions with no resource type (`s3:ListAllMyBuckets`, and the others a pattern such as
/// `s3:List*` covers) work only on a wildcard, so a bucket ARN would silently end them. The reads
/// among them (access level List or Read: names of buckets, access points, jobs; no object) are
/// moved, by name, to a statement of their own that keeps the wildcard: that keeps them working
/// and grants no read of any bucket, so the read is still narrowed. The writes (`s3:CreateJob`,
/// `s3:PutAccountPublicAccessBlock`, ...) are not kept: a Batch Operations job runs over any
/// bucket, and account-wide settings decide whether buckets can be public, which is what the
/// narrowing is taking away; they are named instead. Entries that are exactly an account-level
/// action leave the narrowed statement, where they would do nothing.
pub(super) fn narrow(statement: &Value, buckets: &[BucketName], partition: &str) -> Narrowing {
    let Some(map) = statement.as_object() else {
        return Narrowing {
            statement: statement.clone(),
            split: None,
            entries: Vec::new(),
            wildcards: Vec::new(),
            kept: Vec::new(),
            dropped: Vec::new(),
        };
    };
    let items: Vec<Value> = match map.get("Resource") {
        Some(Value::Array(items)) => items.clone(),
        Some(other) => vec![other.clone()],
        None => Vec::new(),
    };
    let mut narrowed: Vec<Value> = Vec::new();
    let mut wildcards: Vec<String> = Vec::new();
    let push = |narrowed: &mut Vec<Value>, arn: String| {
        if !narrowed.iter().chain(items.iter()).any(|r| r.as_str() == Some(arn.as_str())) {
            narrowed.push(Value::String(arn));
        }
    };
    for item in &items {
        match item.as_str() {
            Some(pattern) if classify(pattern, partition) == S3Resource::AllBuckets => {
                wildcards.push(pattern.to_owned());
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
    let entries: Vec<&str> = map.get("Action").map(strings).unwrap_or_default();
    let account_level = |e: &&str| ACCOUNT_LEVEL_READS.iter().chain(ACCOUNT_LEVEL_WRITES).any(|a| a.eq_ignore_ascii_case(e));
    let (kept, dropped) = account_level_served(&entries, &wildcards, partition);
    let left: Vec<&str> = entries.iter().copied().filter(|e| !account_level(e)).collect();
    let mut map = map.clone();
    if left.len() < entries.len() {
        // Two or more entries, one of them allowing s3:GetObject: it was an array and stays one.
        map.insert("Action".into(), Value::Array(left.iter().map(|a| Value::String((*a).to_owned())).collect()));
    }
    let split = (!kept.is_empty()).then(|| account_level_statement(&map, &kept, &wildcards));
    map.insert("Resource".into(), Value::Array(narrowed));
    Narrowing { statement: Value::Object(map), split, entries: left.iter().map(|e| (*e).to_owned()).collect(), wildcards, kept, dropped }
}

/// The account-level actions the entries allowed through one of the wildcards: (reads, writes).
/// Only a wildcard that covers every bucket's own ARN (`*`, `arn:P:s3:::*`), not objects only
/// (`arn:P:s3:::*/*`), can have served them.
fn account_level_served(entries: &[&str], wildcards: &[String], partition: &str) -> (Vec<&'static str>, Vec<&'static str>) {
    let served = wildcards.iter().any(|w| glob_match(w, "*") || prefix_coverage(w, &format!("arn:{partition}:s3:::")) == Coverage::All);
    let mut kept: Vec<&'static str> = Vec::new();
    let mut dropped: Vec<&'static str> = Vec::new();
    if served {
        for entry in entries {
            let (reads, writes) = account_level_covered(entry);
            kept.extend(reads.into_iter().filter(|a| !kept.contains(a)).collect::<Vec<_>>());
            dropped.extend(writes.into_iter().filter(|a| !dropped.contains(a)).collect::<Vec<_>>());
        }
    }
    // In the tables' order, whatever order the entries came in.
    kept.sort_by_key(|a| ACCOUNT_LEVEL_READS.iter().position(|r| r == a));
    dropped.sort_by_key(|a| ACCOUNT_LEVEL_WRITES.iter().position(|w| w == a));
    (kept, dropped)
}

/// The statement that keeps `actions` on the wildcards: the original's keys in their order (its
/// Effect, Sid and any Condition), `Action` the names, `Resource` the wildcards that served them.
fn account_level_statement(map: &serde_json::Map<String, Value>, actions: &[&str], wildcards: &[String]) -> Value {
    let list = |items: Vec<String>| match items.as_slice() {
        [one] => Value::String(one.clone()),
        _ => Value::Array(items.into_iter().map(Value::String).collect()),
    };
    let mut split = map.clone();
    split.insert("Action".into(), list(actions.iter().map(|a| (*a).to_owned()).collect()));
    split.insert("Resource".into(), list(wildcards.to_vec()));
    Value::Object(split)
}

/// The `Narrowed` finding: every entry whose scope changed, and the account-level actions kept
/// (and where) or no longer allowed.
pub(super) fn narrowed_finding(narrowing: &Narrowing, label: &str, split_label: Option<String>, buckets: &[BucketName]) -> Finding {
    let names: Vec<&str> = buckets.iter().map(BucketName::as_str).collect();
    let mut message = format!(
        "narrowed statement {label} from {} to the {} granted bucket(s) ({}): {} now apply only to those buckets and their objects, no longer to other buckets nor to other S3 resources (access points, Batch Operations jobs, Storage Lens, Access Grants)",
        compact_strings(&narrowing.wildcards.iter().map(String::as_str).collect::<Vec<_>>()),
        buckets.len(),
        names.join(", "),
        narrowing.entries.join(", ")
    );
    if let Some(split) = &split_label {
        message.push_str(&format!(
            "; the account-level actions it covered, which have no resource and work only on a wildcard, keep it in the new statement {split}: {}",
            narrowing.kept.join(", ")
        ));
    }
    if !narrowing.dropped.is_empty() {
        message.push_str(&format!(
            "; no longer allowed: {} (account-level writes; add them back in a statement of their own if the role needs them)",
            narrowing.dropped.join(", ")
        ));
    }
    let account_level = (!narrowing.kept.is_empty() || !narrowing.dropped.is_empty()).then(|| AccountLevelActions {
        kept: narrowing.kept.iter().map(|a| (*a).to_owned()).collect(),
        kept_in: split_label,
        dropped: narrowing.dropped.iter().map(|a| (*a).to_owned()).collect(),
    });
    Finding { actions: narrowing.entries.clone(), account_level, ..Finding::new(FindingKind::Narrowed, label, message) }
}

/// One finding per Allow statement that grants `s3:GetObject` on more than named buckets.
pub(super) fn broad_grant_findings(statements: &[Value], partition: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (index, statement) in statements.iter().enumerate() {
        let Some(view) = view(StatementRef { policy: String::new(), source: PolicySource::Inline, sid: None, index }, statement) else {
            continue;
        };
        if view.effect != Effect::Allow || !view.allows(&GET_OBJECT.lowercase()) {
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
        let message =
            format!("statement {label} allows s3:GetObject on {}{condition}, broader than the buckets flowgate grants: {remedy}", broad.join(", "));
        findings.push(Finding::new(FindingKind::BroaderThanNeeded, label, message));
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
