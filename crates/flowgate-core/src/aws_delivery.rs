//! AWS's own delivery statements in a bucket policy. When the account that creates a flow log to
//! S3 owns the bucket and may `s3:GetBucketPolicy` and `s3:PutBucketPolicy`, the log delivery
//! service writes the delivery statements itself, Sids `AWSLogDeliveryWrite` and
//! `AWSLogDeliveryAclCheck` (sometimes with a suffix, `AWSLogDeliveryWrite20150319`), principal
//! `delivery.logs.amazonaws.com`. AWS's guides disagree on what becomes of the policy already
//! there:
//! - VPC User Guide, "Amazon S3 bucket permissions for flow logs"
//!   (https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-permissions.html): "This
//!   policy overwrites any existing policy attached to the bucket."
//! - CloudWatch Logs User Guide, "Logs sent to Amazon S3"
//!   (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-infrastructure-S3.html):
//!   "If the bucket has a resource policy but that policy doesn't contain the statement ..., that
//!   statement is appended to the bucket's resource policy."
//!
//! So flowgate recognises AWS's statements wherever it reads or edits a bucket policy (they are
//! never dropped, they count as a delivery grant, they are named), and after its flow-log step
//! puts back whatever AWS's write removed ([`restore_after_aws_write`]).

use serde_json::{Map, Value};

use crate::bucket_policy::DeliveryTarget;
use crate::policy_doc::{self, PolicyDocError};
use crate::resource_policy::{Ask, DELIVERY_SERVICE, Judged, On, Requester, delivery_context, judge_bucket_policy};
use crate::role_policy::{Effect, Scope};

/// The Sids AWS gives its statements (VPC User Guide, "flow-logs-s3-permissions").
pub const AWS_WRITE_SID: &str = "AWSLogDeliveryWrite";
pub const AWS_ACL_SID: &str = "AWSLogDeliveryAclCheck";

/// Whether `statement` is one of the log delivery service's own statements: an Allow to
/// `delivery.logs.amazonaws.com` whose Sid is AWS's, with or without a suffix of letters and
/// digits (Sids may hold nothing else).
pub fn is_aws_statement(statement: &Value) -> bool {
    let Some(sid) = policy_doc::sid(statement) else { return false };
    let suffix = sid.strip_prefix(AWS_WRITE_SID).or_else(|| sid.strip_prefix(AWS_ACL_SID));
    let to_delivery = match statement.get("Principal").and_then(|p| p.get("Service")) {
        Some(Value::String(service)) => service == DELIVERY_SERVICE,
        Some(Value::Array(services)) => services.iter().any(|s| s == DELIVERY_SERVICE),
        _ => false,
    };
    suffix.is_some_and(|s| s.chars().all(|c| c.is_ascii_alphanumeric()))
        && statement.get("Effect").and_then(Value::as_str) == Some("Allow")
        && to_delivery
}

/// The label a statement is reported by: its Sid, or `statement #N` (1-based) without one.
pub fn label(statement: &Value, index: usize) -> String {
    policy_doc::sid(statement).map(str::to_owned).unwrap_or_else(|| format!("statement #{}", index + 1))
}

fn statements_of(text: Option<&str>) -> Result<Vec<Value>, PolicyDocError> {
    match text {
        Some(text) if !text.trim().is_empty() => policy_doc::statements(&policy_doc::parse_document(text)?),
        _ => Ok(Vec::new()),
    }
}

/// The Sids of AWS's own statements in the policy `text`, in policy order.
pub fn aws_sids(text: Option<&str>) -> Result<Vec<String>, PolicyDocError> {
    Ok(statements_of(text)?.iter().filter(|s| is_aws_statement(s)).filter_map(|s| policy_doc::sid(s).map(str::to_owned)).collect())
}

/// The statements AWS writes for `account`'s flow logs in `region` delivering to `target`'s
/// path, as the VPC User Guide shows them (`*` for a region: the ARN pattern of every region).
pub fn aws_statements(target: &DeliveryTarget<'_>, region: &str) -> Vec<Value> {
    let (partition, account) = (target.partition, target.account);
    let bucket_arn = format!("arn:{partition}:s3:::{}", target.bucket);
    let source_arn = format!("arn:{partition}:logs:{region}:{account}:*");
    vec![
        serde_json::json!({
            "Sid": AWS_WRITE_SID,
            "Effect": "Allow",
            "Principal": {"Service": DELIVERY_SERVICE},
            "Action": "s3:PutObject",
            "Resource": format!("{bucket_arn}/{}*", target.log_path()),
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account, "s3:x-amz-acl": "bucket-owner-full-control"},
                "ArnLike": {"aws:SourceArn": source_arn}
            }
        }),
        serde_json::json!({
            "Sid": AWS_ACL_SID,
            "Effect": "Allow",
            "Principal": {"Service": DELIVERY_SERVICE},
            "Action": ["s3:GetBucketAcl", "s3:ListBucket"],
            "Resource": bucket_arn,
            "Condition": {"StringEquals": {"aws:SourceAccount": account}, "ArnLike": {"aws:SourceArn": source_arn}}
        }),
    ]
}

/// AWS's own statements granting the log delivery service what it needs for one account's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsGrant {
    /// The Sids of the statements that grant it.
    pub sids: Vec<String>,
    /// The regions whose flow logs the write statement admits (its `aws:SourceArn`); `None`: any.
    pub regions: Option<Vec<String>>,
}

/// Whether AWS's own statements let the delivery service write `target`'s path and check the
/// bucket's ACL. The one thing they may depend on is `aws:SourceArn`, which AWS writes for the
/// region of the flow log it was created for: the regions it admits are named.
pub fn aws_grant(text: Option<&str>, target: &DeliveryTarget<'_>) -> Result<Option<AwsGrant>, PolicyDocError> {
    let statements = statements_of(text)?;
    let requester = Requester::Service(DELIVERY_SERVICE);
    let (partition, account) = (target.partition, target.account);
    let write = [Ask { action: "s3:PutObject", on: On::Objects { prefix: target.log_path() } }];
    let check = [Ask { action: "s3:GetBucketAcl", on: On::Bucket }];
    let granting = |judged: Vec<Judged>| -> Vec<usize> {
        let only_source_arn = |j: &Judged| j.depends_on.iter().all(|d| d == "condition aws:SourceArn");
        judged
            .iter()
            .filter(|j| j.effect == Effect::Allow && j.scope == Scope::AllObjects && only_source_arn(j))
            .map(|j| j.statement.index)
            .filter(|i| statements.get(*i).is_some_and(is_aws_statement))
            .collect()
    };
    let writes = granting(judge_bucket_policy(text, target.bucket, partition, &requester, &delivery_context(partition, account, true), &write)?);
    let checks = granting(judge_bucket_policy(text, target.bucket, partition, &requester, &delivery_context(partition, account, false), &check)?);
    if writes.is_empty() || checks.is_empty() {
        return Ok(None);
    }
    let mut sids: Vec<String> = writes.iter().chain(&checks).map(|i| label(&statements[*i], *i)).collect();
    sids.dedup();
    let regions = writes.iter().map(|i| source_regions(&statements[*i], account)).try_fold(Vec::new(), |mut all, regions| {
        all.extend(regions?);
        Some(all)
    });
    Ok(Some(AwsGrant { sids, regions: regions.map(crate::org_delivery::sorted_unique) }))
}

/// The regions `statement`'s `ArnLike aws:SourceArn` admits for `account`; `None`: every region
/// (no such condition, or a region `*`).
fn source_regions(statement: &Value, account: &str) -> Option<Vec<String>> {
    let arns = crate::org_delivery::condition_values(statement, "ArnLike", "aws:SourceArn");
    if arns.is_empty() {
        return None;
    }
    let regions: Vec<String> =
        arns.iter().filter(|arn| arn.split(':').nth(4) == Some(account)).filter_map(|arn| arn.split(':').nth(3)).map(str::to_owned).collect();
    if regions.iter().any(|r| r == "*" || r.is_empty()) { None } else { Some(regions) }
}

/// What reading the bucket policy again after the flow-log step finds, and what puts it back.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PolicyRestore {
    /// The policy to put; `None`: AWS's write removed nothing.
    pub document: Option<String>,
    /// The statements (by label) that were there before the flow-log step, are gone, and are put
    /// back: flowgate's and anyone else's.
    pub restored: Vec<String>,
    /// AWS's own statements that were not there before (by Sid): kept.
    pub aws_added: Vec<String>,
    /// Bytes of the policy afterwards (the one to put, or the one read).
    pub size_bytes: usize,
}

fn parse_or_empty(text: Option<&str>) -> Result<Map<String, Value>, PolicyDocError> {
    match text {
        Some(text) if !text.trim().is_empty() => policy_doc::parse_document(text),
        _ => Ok(Map::new()),
    }
}

/// The same statement in both policies: the same Sid (a statement rewritten in place, as AWS
/// does with its own), or, without a Sid, the same meaning.
fn same_statement(a: &Value, b: &Value) -> bool {
    match (policy_doc::sid(a), policy_doc::sid(b)) {
        (Some(x), Some(y)) => x == y,
        (None, None) => policy_doc::canonical_statement(a) == policy_doc::canonical_statement(b),
        _ => false,
    }
}

/// The policy as it was `before` the flow-log step with what AWS added since (`after`): every
/// statement of `before` that `after` lacks is put back in its place; every statement of `after`
/// is kept (AWS's new ones at the end, a statement rewritten in place in its new form, so that
/// no Sid is there twice). After AWS's append (the CloudWatch Logs guide) nothing is missing and
/// nothing is put; after its overwrite (the VPC guide) the result is what the append gives.
pub fn restore_after_aws_write(before: Option<&str>, after: Option<&str>) -> Result<PolicyRestore, PolicyDocError> {
    let (before_doc, mut doc) = (parse_or_empty(before)?, parse_or_empty(after)?);
    let (before_statements, after_statements) = (policy_doc::statements(&before_doc)?, policy_doc::statements(&doc)?);
    let mut restore = PolicyRestore { size_bytes: after.map(str::len).unwrap_or_default(), ..PolicyRestore::default() };
    let mut used = vec![false; after_statements.len()];
    let mut merged = Vec::with_capacity(before_statements.len() + after_statements.len());
    for (index, statement) in before_statements.iter().enumerate() {
        match (0..after_statements.len()).find(|i| !used[*i] && same_statement(&after_statements[*i], statement)) {
            Some(i) => {
                used[i] = true;
                merged.push(after_statements[i].clone());
            }
            None => {
                restore.restored.push(label(statement, index));
                merged.push(statement.clone());
            }
        }
    }
    for (i, statement) in after_statements.iter().enumerate().filter(|(i, _)| !used[*i]) {
        if is_aws_statement(statement) {
            restore.aws_added.push(label(statement, i));
        }
        merged.push(statement.clone());
    }
    // The document's own keys (`Id`) went with an overwrite too.
    let lost_keys: Vec<(&String, &Value)> = before_doc.iter().filter(|(k, _)| *k != "Statement" && !doc.contains_key(*k)).collect();
    if restore.restored.is_empty() && lost_keys.iter().all(|(k, _)| *k == "Version") {
        return Ok(restore);
    }
    for (key, value) in lost_keys {
        if key != "Version" {
            restore.restored.push(format!("the policy's {key}"));
        }
        doc.insert(key.clone(), value.clone());
    }
    if !doc.contains_key("Version") {
        doc.insert("Version".into(), Value::String("2012-10-17".into()));
    }
    doc.insert("Statement".into(), Value::Array(merged));
    let text = serde_json::to_string(&Value::Object(doc)).map_err(|e| PolicyDocError::NotJson(e.to_string()))?;
    restore.size_bytes = text.len();
    restore.document = Some(text);
    Ok(restore)
}

#[cfg(test)]
mod tests;
