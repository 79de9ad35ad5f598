//! IAM/S3 policy documents as JSON values. Key order is preserved (serde_json `preserve_order`) so
//! that a document flowgate rewrites keeps every statement it did not touch as it was.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde_json::{Map, Value};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PolicyDocError {
    #[error("the policy document is not valid JSON ({0})")]
    NotJson(String),
    #[error("the policy document is not a JSON object")]
    NotObject,
    #[error("the policy document's Statement is neither an object nor an array")]
    BadStatement,
}

/// Parses a policy document, URL-decoding it first when it arrives percent-encoded (IAM returns
/// inline and managed policy documents that way).
pub fn parse_document(text: &str) -> Result<Map<String, Value>, PolicyDocError> {
    let trimmed = text.trim_start();
    let decoded;
    let json = if trimmed.starts_with('{') {
        trimmed
    } else {
        decoded = percent_encoding::percent_decode_str(trimmed).decode_utf8_lossy().into_owned();
        decoded.as_str()
    };
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(PolicyDocError::NotObject),
        Err(e) => Err(PolicyDocError::NotJson(e.to_string())),
    }
}

/// The statements of a document, whether `Statement` is one object or an array.
pub fn statements(doc: &Map<String, Value>) -> Result<Vec<Value>, PolicyDocError> {
    match doc.get("Statement") {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => Ok(items.clone()),
        Some(obj @ Value::Object(_)) => Ok(vec![obj.clone()]),
        Some(_) => Err(PolicyDocError::BadStatement),
    }
}

pub fn sid(statement: &Value) -> Option<&str> {
    statement.get("Sid").and_then(Value::as_str)
}

/// A statement in a form where two statements that mean the same compare equal: no `Sid`, every
/// string-or-array value as a sorted array, object keys unordered (serde_json maps compare as maps),
/// and what IAM reads without regard to case in lower case: action names (`S3:putObject` is
/// `s3:PutObject`) and condition key names (`aws:sourceaccount` is `aws:SourceAccount`).
pub fn canonical_statement(statement: &Value) -> Value {
    fn canon(value: &Value) -> Value {
        match value {
            Value::String(s) => Value::Array(vec![Value::String(s.clone())]),
            Value::Array(items) => {
                let mut canon_items: Vec<Value> = items
                    .iter()
                    .flat_map(|v| match canon(v) {
                        Value::Array(inner) if v.is_string() => inner,
                        other => vec![other],
                    })
                    .collect();
                canon_items.sort_by_key(|v| v.to_string());
                canon_items.dedup();
                Value::Array(canon_items)
            }
            Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), canon(v))).collect()),
            other => other.clone(),
        }
    }
    fn lower_strings(value: &mut Value) {
        match value {
            Value::String(s) => *s = s.to_lowercase(),
            Value::Array(items) => items.iter_mut().for_each(lower_strings),
            _ => {}
        }
    }
    let mut statement = statement.clone();
    if let Value::Object(map) = &mut statement {
        map.remove("Sid");
        for key in ["Action", "NotAction"] {
            if let Some(actions) = map.get_mut(key) {
                lower_strings(actions);
            }
        }
        if let Some(Value::Object(operators)) = map.get_mut("Condition") {
            for keys in operators.values_mut() {
                if let Value::Object(keys) = keys {
                    *keys = std::mem::take(keys).into_iter().map(|(k, v)| (k.to_lowercase(), v)).collect();
                }
            }
        }
    }
    canon(&statement)
}

/// Whether `statements` holds a statement that means the same as `wanted`, whatever its Sid.
pub fn contains_equivalent(statements: &[Value], wanted: &Value) -> bool {
    let wanted = canonical_statement(wanted);
    statements.iter().any(|s| canonical_statement(s) == wanted)
}

/// A policy statement (IAM's grammar) where a report carries one as a JSON value: only its JSON
/// Schema is used, for the published schemas of `--output json` (`flowgate schema`).
pub enum StatementShape {}

/// A whole policy document where a report carries one as a JSON value (see [`StatementShape`]).
pub enum DocumentShape {}

/// `Action`, `Resource` and their kin: one string or a list of them (IAM JSON policy grammar).
fn string_or_strings() -> Value {
    serde_json::json!({ "anyOf": [{ "type": "string" }, { "type": "array", "items": { "type": "string" } }] })
}

impl JsonSchema for StatementShape {
    fn schema_name() -> Cow<'static, str> {
        "PolicyStatement".into()
    }

    // IAM JSON policy elements reference (IAM User Guide): Sid, Effect, Principal/NotPrincipal
    // ("*" or a map of principal type to ids), Action/NotAction, Resource/NotResource, Condition
    // (operator -> condition key -> value or values). IAM and S3 refuse a statement without an
    // Effect, so every statement read from AWS or written by flowgate has one.
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let principal = serde_json::json!({
            "anyOf": [{ "const": "*" }, { "type": "object", "additionalProperties": string_or_strings() }]
        });
        json_schema!({
            "description": "An IAM policy statement, as in the policy document.",
            "type": "object",
            "properties": {
                "Sid": { "type": "string" },
                "Effect": { "enum": ["Allow", "Deny"] },
                "Principal": principal,
                "NotPrincipal": principal,
                "Action": string_or_strings(),
                "NotAction": string_or_strings(),
                "Resource": string_or_strings(),
                "NotResource": string_or_strings(),
                "Condition": { "type": "object", "additionalProperties": { "type": "object" } },
            },
            "required": ["Effect"],
        })
    }
}

impl JsonSchema for DocumentShape {
    fn schema_name() -> Cow<'static, str> {
        "PolicyDocument".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let statement = generator.subschema_for::<StatementShape>();
        json_schema!({
            "description": "An IAM policy document.",
            "type": "object",
            "properties": {
                "Version": { "enum": ["2012-10-17", "2008-10-17"] },
                "Id": { "type": "string" },
                "Statement": { "anyOf": [statement, { "type": "array", "items": statement }] },
            },
            "required": ["Version", "Statement"],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn action_and_condition_key_case_does_not_matter() {
        let wanted = json!({
            "Effect": "Allow",
            "Principal": {"Service": "delivery.logs.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::b/AWSLogs/1/*",
            "Condition": {"StringEquals": {"aws:SourceAccount": "1"}}
        });
        let written = json!({
            "Sid": "Mine",
            "Effect": "Allow",
            "Principal": {"Service": "delivery.logs.amazonaws.com"},
            "Action": ["S3:putobject"],
            "Resource": "arn:aws:s3:::b/AWSLogs/1/*",
            "Condition": {"StringEquals": {"AWS:SourceAccount": "1"}}
        });
        assert!(contains_equivalent(&[written], &wanted));
        // Resources and values keep their case: a bucket ARN or account differing in case is another.
        let other_resource = json!({
            "Effect": "Allow",
            "Principal": {"Service": "delivery.logs.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::B/AWSLogs/1/*",
            "Condition": {"StringEquals": {"aws:SourceAccount": "1"}}
        });
        assert!(!contains_equivalent(&[other_resource], &wanted));
    }

    #[test]
    fn parses_url_encoded_documents() {
        let doc = parse_document("%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D").unwrap();
        assert_eq!(doc["Version"], "2012-10-17");
        assert!(matches!(parse_document("not json"), Err(PolicyDocError::NotJson(_))));
        assert_eq!(parse_document("[1]"), Err(PolicyDocError::NotObject));
    }

    #[test]
    fn statement_may_be_an_object() {
        let doc = parse_document(r#"{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}"#).unwrap();
        assert_eq!(statements(&doc).unwrap().len(), 1);
    }

    #[test]
    fn canonical_form_ignores_sid_order_and_string_vs_array() {
        let a = json!({"Sid":"A","Effect":"Allow","Action":["s3:ListBucket","s3:GetBucketAcl"],"Resource":"arn:aws:s3:::b"});
        let b = json!({"Resource":["arn:aws:s3:::b"],"Effect":"Allow","Action":["s3:GetBucketAcl","s3:ListBucket"]});
        assert_eq!(canonical_statement(&a), canonical_statement(&b));
        let c = json!({"Effect":"Deny","Action":["s3:GetBucketAcl","s3:ListBucket"],"Resource":"arn:aws:s3:::b"});
        assert_ne!(canonical_statement(&a), canonical_statement(&c));
    }
}
