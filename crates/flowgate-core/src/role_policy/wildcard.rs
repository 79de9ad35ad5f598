//! S3 resource patterns: which name a bucket, which cover every bucket, and the
//! `--narrow-wildcard` rewrite of an every-bucket grant into the granted buckets.

use serde_json::Value;

use super::evaluate::{Effect, PolicySource, StatementRef};
use super::glob::{Coverage, glob_match, prefix_coverage};
use super::statement::{Listed, compact_strings, statement_label, view};
use super::{Finding, FindingKind, GET_OBJECT};
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
pub(super) fn narrow(statement: &Value, buckets: &[BucketName], partition: &str) -> Value {
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
pub(super) fn broad_grant_findings(statements: &[Value], partition: &str) -> Vec<Finding> {
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
