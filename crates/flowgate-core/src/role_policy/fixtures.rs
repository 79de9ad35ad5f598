//! Documents and buckets shared by the role-policy unit and property tests.

use serde_json::{Map, Value};

use super::*;
use crate::names::BucketName;
use serde_json::json;

pub(super) fn bucket(name: &str) -> BucketName {
    name.parse().unwrap()
}

pub(super) fn buckets(names: &[&str]) -> Vec<BucketName> {
    names.iter().map(|n| bucket(n)).collect()
}

pub(super) fn doc(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

pub(super) fn text(map: &Map<String, Value>) -> String {
    Value::Object(map.clone()).to_string()
}
pub(super) const PLAIN: GrantOptions = GrantOptions { narrow_wildcard: false, other_inline_chars: 0 };

pub(super) fn ec2_describe() -> Value {
    json!({"Sid": "Discovery", "Effect": "Allow", "Action": ["ec2:DescribeVpcs", "ec2:DescribeFlowLogs"], "Resource": "*"})
}

pub(super) fn deny_insecure() -> Value {
    json!({"Sid": "DenyInsecure", "Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
}

pub(super) fn flowgate(objects: &[&str], buckets: &[&str]) -> Vec<Value> {
    vec![
        json!({"Sid": OBJECT_READ_SID, "Effect": "Allow", "Action": "s3:GetObject",
               "Resource": objects.iter().map(|b| format!("arn:aws:s3:::{b}/*")).collect::<Vec<_>>()}),
        json!({"Sid": BUCKET_READ_SID, "Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
               "Resource": buckets.iter().map(|b| format!("arn:aws:s3:::{b}")).collect::<Vec<_>>()}),
    ]
}

pub(super) fn inline(name: &str, document: Value) -> NamedPolicy {
    NamedPolicy { name: name.into(), source: PolicySource::Inline, document: doc(document) }
}

pub(super) fn kind(readability: &Readability) -> &'static str {
    match readability {
        Readability::Allowed { .. } => "allowed",
        Readability::Denied { .. } => "denied",
        Readability::Conditional { .. } => "conditional",
        Readability::NotGranted => "not-granted",
    }
}
