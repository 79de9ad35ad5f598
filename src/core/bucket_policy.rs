//! The bucket policy AWS documents for flow-log delivery to S3 (VPC User Guide, "flow-logs-s3"),
//! rendered from `policies/flowlog-delivery-bucket-policy.json` and merged into whatever policy the
//! bucket already has, statement by statement.

use serde_json::{Map, Value};

use super::names::{BucketName, LogPrefix};
use super::policy_doc::{self, PolicyDocError};

pub const DELIVERY_POLICY_TEMPLATE: &str = include_str!("../../policies/flowlog-delivery-bucket-policy.json");

/// Where and for whom flow logs are delivered; determines the policy's resources and conditions.
#[derive(Debug, Clone)]
pub struct DeliveryTarget<'a> {
    pub partition: &'a str,
    pub bucket: &'a BucketName,
    pub prefix: Option<&'a LogPrefix>,
    pub account: &'a str,
    pub hive_partitions: bool,
}

impl DeliveryTarget<'_> {
    /// The key path flow logs are written under: `[prefix/]AWSLogs/ACCOUNT/` (or the
    /// hive-compatible `AWSLogs/aws-account-id=ACCOUNT/`). Granting this whole path once keeps the
    /// policy from growing with each flow log (bucket policies are limited to 20 KB).
    pub fn log_path(&self) -> String {
        let prefix = self.prefix.map(|p| format!("{p}/")).unwrap_or_default();
        if self.hive_partitions { format!("{prefix}AWSLogs/aws-account-id={}/", self.account) } else { format!("{prefix}AWSLogs/{}/", self.account) }
    }
}

/// The statements flowgate wants in the bucket policy.
pub fn delivery_statements(target: &DeliveryTarget<'_>) -> Vec<Value> {
    // Every substituted value is validated (partition from an ARN, bucket and prefix by their
    // parsers, account digits), so none can break out of its JSON string.
    let rendered = DELIVERY_POLICY_TEMPLATE
        .replace("${Partition}", target.partition)
        .replace("${BucketName}", target.bucket.as_str())
        .replace("${LogPath}", &target.log_path())
        .replace("${AccountId}", target.account);
    policy_doc::parse_document(&rendered).and_then(|doc| policy_doc::statements(&doc)).unwrap_or_default()
}

/// The result of merging the delivery statements into an existing policy.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyMerge {
    /// The full document to put; `None` when nothing needs to change.
    pub document: Option<String>,
    /// Sids of statements that were absent and are added.
    pub added: Vec<String>,
    /// Sids of flowgate's own statements that were present but out of date and are rewritten in place.
    pub updated: Vec<String>,
    /// How many statements of the existing policy are kept as they were.
    pub kept: usize,
}

/// Adds each desired statement unless an equivalent one (any Sid) is already there. A statement
/// carrying one of flowgate's Sids that no longer matches is rewritten in place; every other
/// statement, and every other top-level key, is kept as it was.
pub fn merge_delivery_statements(existing: Option<&str>, desired: &[Value]) -> Result<PolicyMerge, PolicyDocError> {
    let mut doc = match existing {
        Some(text) if !text.trim().is_empty() => policy_doc::parse_document(text)?,
        _ => {
            let mut doc = Map::new();
            doc.insert("Version".into(), Value::String("2012-10-17".into()));
            doc
        }
    };
    let mut statements = policy_doc::statements(&doc)?;
    let kept_before = statements.len();
    let (mut added, mut updated) = (Vec::new(), Vec::new());
    for wanted in desired {
        if policy_doc::contains_equivalent(&statements, wanted) {
            continue;
        }
        let wanted_sid = policy_doc::sid(wanted).unwrap_or_default().to_owned();
        match statements.iter_mut().find(|s| policy_doc::sid(s) == Some(wanted_sid.as_str())) {
            Some(slot) => {
                *slot = wanted.clone();
                updated.push(wanted_sid);
            }
            None => {
                statements.push(wanted.clone());
                added.push(wanted_sid);
            }
        }
    }
    let kept = kept_before - updated.len();
    if added.is_empty() && updated.is_empty() {
        return Ok(PolicyMerge { document: None, added, updated, kept });
    }
    doc.insert("Statement".into(), Value::Array(statements));
    let document = serde_json::to_string(&Value::Object(doc)).map_err(|e| PolicyDocError::NotJson(e.to_string()))?;
    Ok(PolicyMerge { document: Some(document), added, updated, kept })
}

/// Sids of the delivery statements that the existing policy lacks (for `bucket check`).
pub fn missing_delivery_statements(existing: Option<&str>, desired: &[Value]) -> Result<Vec<String>, PolicyDocError> {
    let statements = match existing {
        Some(text) if !text.trim().is_empty() => policy_doc::statements(&policy_doc::parse_document(text)?)?,
        _ => Vec::new(),
    };
    Ok(desired
        .iter()
        .filter(|wanted| !policy_doc::contains_equivalent(&statements, wanted))
        .map(|wanted| policy_doc::sid(wanted).unwrap_or_default().to_owned())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn target<'a>(bucket: &'a BucketName, prefix: Option<&'a LogPrefix>) -> DeliveryTarget<'a> {
        DeliveryTarget { partition: "aws", bucket, prefix, account: "123456789012", hive_partitions: false }
    }

    #[test]
    fn renders_documented_statements() {
        let bucket: BucketName = "flow-bucket".parse().unwrap();
        let statements = delivery_statements(&target(&bucket, None));
        assert_eq!(statements.len(), 2);
        assert_eq!(statements[0]["Resource"], "arn:aws:s3:::flow-bucket/AWSLogs/123456789012/*");
        assert_eq!(statements[0]["Condition"]["StringEquals"]["aws:SourceAccount"], "123456789012");
        assert_eq!(statements[0]["Condition"]["ArnLike"]["aws:SourceArn"], "arn:aws:logs:*:123456789012:*");
        assert_eq!(statements[1]["Resource"], "arn:aws:s3:::flow-bucket");
        assert!(!DELIVERY_POLICY_TEMPLATE.contains("\"*\""), "no wildcard action or resource");
    }

    #[test]
    fn prefix_and_hive_paths() {
        let bucket: BucketName = "b-1".parse().unwrap();
        let prefix: LogPrefix = "team/net".parse().unwrap();
        let with_prefix = target(&bucket, Some(&prefix));
        assert_eq!(with_prefix.log_path(), "team/net/AWSLogs/123456789012/");
        let hive = DeliveryTarget { hive_partitions: true, ..with_prefix };
        assert_eq!(delivery_statements(&hive)[0]["Resource"], "arn:aws:s3:::b-1/team/net/AWSLogs/aws-account-id=123456789012/*");
    }

    #[test]
    fn merge_keeps_every_existing_statement_and_key() {
        let bucket: BucketName = "b-1".parse().unwrap();
        let desired = delivery_statements(&target(&bucket, None));
        let existing = json!({
            "Version": "2012-10-17",
            "Id": "keep-me",
            "Statement": [{"Sid": "Other", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b-1/shared/*"}]
        })
        .to_string();
        let merge = merge_delivery_statements(Some(&existing), &desired).unwrap();
        assert_eq!(merge.added, ["FlowgateLogDeliveryWrite", "FlowgateLogDeliveryAclCheck"]);
        assert_eq!(merge.kept, 1);
        let doc: Value = serde_json::from_str(merge.document.as_deref().unwrap()).unwrap();
        assert_eq!(doc["Id"], "keep-me");
        assert_eq!(doc["Statement"][0]["Sid"], "Other");
        assert_eq!(doc["Statement"].as_array().unwrap().len(), 3);

        // Merging again changes nothing.
        let again = merge_delivery_statements(merge.document.as_deref(), &desired).unwrap();
        assert_eq!(again.document, None);
        assert!(missing_delivery_statements(merge.document.as_deref(), &desired).unwrap().is_empty());
    }

    #[test]
    fn equivalent_statement_under_another_sid_counts_as_present() {
        let bucket: BucketName = "b-1".parse().unwrap();
        let desired = delivery_statements(&target(&bucket, None));
        let mut theirs = desired.clone();
        theirs[0]["Sid"] = json!("AWSLogDeliveryWrite");
        theirs[1]["Sid"] = json!("AWSLogDeliveryAclCheck");
        let existing = json!({"Version": "2012-10-17", "Statement": theirs}).to_string();
        assert_eq!(merge_delivery_statements(Some(&existing), &desired).unwrap().document, None);
    }

    #[test]
    fn stale_flowgate_statement_is_updated_in_place() {
        let bucket: BucketName = "b-1".parse().unwrap();
        let desired = delivery_statements(&target(&bucket, None));
        let mut stale = desired.clone();
        stale[0]["Resource"] = json!("arn:aws:s3:::b-1/old/AWSLogs/123456789012/*");
        let existing = json!({"Version": "2012-10-17", "Statement": [json!({"Sid": "First"}), stale[0].clone()]}).to_string();
        let merge = merge_delivery_statements(Some(&existing), &desired).unwrap();
        assert_eq!(merge.updated, ["FlowgateLogDeliveryWrite"]);
        let doc: Value = serde_json::from_str(merge.document.as_deref().unwrap()).unwrap();
        assert_eq!(doc["Statement"][0]["Sid"], "First");
        assert_eq!(doc["Statement"][1], desired[0]);
    }

    #[test]
    fn single_object_statement_is_kept() {
        let bucket: BucketName = "b-1".parse().unwrap();
        let desired = delivery_statements(&target(&bucket, None));
        let existing = r#"{"Version":"2012-10-17","Statement":{"Sid":"Solo","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b-1/pub/*"}}"#;
        let merge = merge_delivery_statements(Some(existing), &desired).unwrap();
        let doc: Value = serde_json::from_str(merge.document.as_deref().unwrap()).unwrap();
        assert_eq!(doc["Statement"][0]["Sid"], "Solo");
        assert_eq!(doc["Statement"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn garbage_policy_is_an_error_not_a_replacement() {
        assert!(merge_delivery_statements(Some("{not json"), &[]).is_err());
    }
}
