//! The central bucket's delivery policy for a whole organization: two statements of flowgate's
//! (`FlowgateOrgLogDeliveryWrite`, `FlowgateOrgLogDeliveryAclCheck`) that let the log delivery
//! service write every in-scope account's flow logs, merged into whatever policy the bucket has.
//!
//! Two forms. Per account (the default) is what the VPC User Guide documents for flow logs
//! delivered to a bucket in another account ("Permissions for flow logs to Amazon S3",
//! https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-permissions.html): each account's
//! `AWSLogs/ACCOUNT/*` path, with `aws:SourceAccount` and `aws:SourceArn` naming the accounts. It
//! grows with every account, and bucket policies are limited to 20 KB, so an org of a few hundred
//! accounts needs the org form: one path `AWSLogs/*` conditioned on `aws:SourceOrgID`, a global
//! condition key present when a service principal acts for a resource of an organization's
//! account (IAM User Guide, "AWS global condition context keys",
//! https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html). The
//! flow-log page itself shows only the per-account form, which is why it is the default.
//!
//! The single-account statements (`FlowgateLogDelivery*`, see `bucket_policy`) are never touched
//! here: an account onboarded on its own keeps its grant.

use serde_json::{Map, Value, json};

use super::names::{BucketName, LogPrefix};
use super::policy_doc::{self, PolicyDocError};

/// "Bucket policies are limited to 20 KB in size." (Amazon S3 User Guide, "Bucket policies and
/// user policies", https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-iam-policies.html).
/// PutBucketPolicy past it fails with `PolicyTooLarge`; flowgate checks before the call.
pub const BUCKET_POLICY_LIMIT_BYTES: usize = 20 * 1024;
pub const ORG_WRITE_SID: &str = "FlowgateOrgLogDeliveryWrite";
pub const ORG_ACL_SID: &str = "FlowgateOrgLogDeliveryAclCheck";

const DELIVERY_SERVICE: &str = "delivery.logs.amazonaws.com";
pub(crate) const SOURCE_ACCOUNT: &str = "aws:SourceAccount";
pub(crate) const SOURCE_ARN: &str = "aws:SourceArn";
const SOURCE_ORG_ID: &str = "aws:SourceOrgID";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryForm {
    PerAccount,
    Org { org_id: String },
}

/// The central bucket and how its delivery grant is written.
#[derive(Debug, Clone)]
pub struct OrgDeliveryTarget<'a> {
    pub partition: &'a str,
    pub bucket: &'a BucketName,
    pub prefix: Option<&'a LogPrefix>,
    pub hive_partitions: bool,
    pub form: DeliveryForm,
}

impl OrgDeliveryTarget<'_> {
    fn root(&self) -> String {
        let prefix = self.prefix.map(|p| format!("{p}/")).unwrap_or_default();
        format!("arn:{}:s3:::{}/{prefix}AWSLogs/", self.partition, self.bucket)
    }

    /// The object resource one account's flow logs are written under (same paths as the
    /// single-account statement, so a bucket that was onboarded account by account keeps its keys).
    pub fn account_resource(&self, account: &str) -> String {
        if self.hive_partitions { format!("{}aws-account-id={account}/*", self.root()) } else { format!("{}{account}/*", self.root()) }
    }

    fn source_arn(&self, account: &str) -> String {
        format!("arn:{}:logs:*:{account}:*", self.partition)
    }
}

fn strings(items: &[String]) -> Value {
    Value::Array(items.iter().cloned().map(Value::String).collect())
}

pub(crate) fn sorted_unique(items: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut items: Vec<String> = items.into_iter().collect();
    items.sort();
    items.dedup();
    items
}

/// The two org statements for `accounts` (sorted and deduplicated here). In the per-account form
/// with no account there is nothing to grant and no statement.
pub fn org_delivery_statements(target: &OrgDeliveryTarget<'_>, accounts: &[String]) -> Vec<Value> {
    let bucket_arn = format!("arn:{}:s3:::{}", target.partition, target.bucket);
    match &target.form {
        DeliveryForm::PerAccount => {
            let accounts = sorted_unique(accounts.iter().cloned());
            if accounts.is_empty() {
                return Vec::new();
            }
            let resources: Vec<String> = accounts.iter().map(|a| target.account_resource(a)).collect();
            let arns: Vec<String> = accounts.iter().map(|a| target.source_arn(a)).collect();
            vec![
                json!({
                    "Sid": ORG_WRITE_SID,
                    "Effect": "Allow",
                    "Principal": {"Service": DELIVERY_SERVICE},
                    "Action": "s3:PutObject",
                    "Resource": strings(&resources),
                    "Condition": {
                        "StringEquals": {SOURCE_ACCOUNT: strings(&accounts), "s3:x-amz-acl": "bucket-owner-full-control"},
                        "ArnLike": {SOURCE_ARN: strings(&arns)}
                    }
                }),
                json!({
                    "Sid": ORG_ACL_SID,
                    "Effect": "Allow",
                    "Principal": {"Service": DELIVERY_SERVICE},
                    "Action": ["s3:GetBucketAcl", "s3:ListBucket"],
                    "Resource": bucket_arn,
                    "Condition": {
                        "StringEquals": {SOURCE_ACCOUNT: strings(&accounts)},
                        "ArnLike": {SOURCE_ARN: strings(&arns)}
                    }
                }),
            ]
        }
        DeliveryForm::Org { org_id } => vec![
            json!({
                "Sid": ORG_WRITE_SID,
                "Effect": "Allow",
                "Principal": {"Service": DELIVERY_SERVICE},
                "Action": "s3:PutObject",
                "Resource": format!("{}*", target.root()),
                "Condition": {
                    "StringEquals": {SOURCE_ORG_ID: org_id, "s3:x-amz-acl": "bucket-owner-full-control"}
                }
            }),
            json!({
                "Sid": ORG_ACL_SID,
                "Effect": "Allow",
                "Principal": {"Service": DELIVERY_SERVICE},
                "Action": ["s3:GetBucketAcl", "s3:ListBucket"],
                "Resource": bucket_arn,
                "Condition": {"StringEquals": {SOURCE_ORG_ID: org_id}}
            }),
        ],
    }
}

/// What merging the org statements into the bucket's policy does.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OrgPolicyMerge {
    /// The full document to put; `None`: nothing to change.
    pub document: Option<String>,
    /// Accounts the policy did not grant before and grants now.
    pub added_accounts: Vec<String>,
    /// Accounts granted before, not in the requested set, and kept (merge never takes a grant
    /// away: an account that left the scope may still have flow logs delivering).
    pub kept_accounts: Vec<String>,
    /// Bytes of the resulting document (or of the existing one when unchanged).
    pub size_bytes: usize,
    /// The org statements were in the other form and are rewritten.
    pub form_changed: bool,
    /// Resources of the old write statement outside this prefix's `AWSLogs/` that a change of
    /// form does not carry over (delivery under an earlier prefix): the plan names them.
    pub dropped_resources: Vec<String>,
    /// AWS's own delivery statements in the policy (by Sid), written by AWS when the bucket
    /// owner created a flow log (see `aws_delivery`): kept, and counted in `size_bytes`.
    pub aws_statements: Vec<String>,
}

impl OrgPolicyMerge {
    /// Whether the document is past S3's bucket-policy size limit (PutBucketPolicy would fail).
    pub fn over_limit(&self) -> bool {
        self.size_bytes > BUCKET_POLICY_LIMIT_BYTES
    }
}

fn parse_or_new(existing: Option<&str>) -> Result<Map<String, Value>, PolicyDocError> {
    match existing {
        Some(text) if !text.trim().is_empty() => policy_doc::parse_document(text),
        _ => {
            let mut doc = Map::new();
            doc.insert("Version".into(), Value::String("2012-10-17".into()));
            Ok(doc)
        }
    }
}

pub(crate) fn existing_statements(existing: Option<&str>) -> Result<Vec<Value>, PolicyDocError> {
    match existing {
        Some(text) if !text.trim().is_empty() => policy_doc::statements(&policy_doc::parse_document(text)?),
        _ => Ok(Vec::new()),
    }
}

/// The values of condition `key` under `operator` (key compared without case, as IAM does).
pub(crate) fn condition_values(statement: &Value, operator: &str, key: &str) -> Vec<String> {
    let Some(Value::Object(keys)) = statement.get("Condition").and_then(|c| c.get(operator)) else {
        return Vec::new();
    };
    keys.iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(key))
        .flat_map(|(_, v)| match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(items) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            _ => Vec::new(),
        })
        .collect()
}

fn resources(statement: &Value) -> Vec<String> {
    match statement.get("Resource") {
        Some(Value::String(r)) => vec![r.clone()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

pub(crate) fn is_org_form(statement: &Value) -> bool {
    !condition_values(statement, "StringEquals", SOURCE_ORG_ID).is_empty()
}

fn find<'s>(statements: &'s [Value], sid: &str) -> Option<(usize, &'s Value)> {
    statements.iter().enumerate().find(|(_, s)| policy_doc::sid(s) == Some(sid))
}

/// Whether flowgate's org write statement is in the organization form (`aws:SourceOrgID`). Other
/// statements with that key (CloudTrail's, Config's) do not count.
pub fn org_form_granted(existing: Option<&str>) -> bool {
    existing_statements(existing).ok().and_then(|statements| find(&statements, ORG_WRITE_SID).map(|(_, s)| is_org_form(s))).unwrap_or(false)
}

/// Accounts the org write statement names in `aws:SourceAccount` (sorted); empty for the org form
/// or when there is no such statement.
pub fn granted_org_accounts(existing: Option<&str>) -> Result<Vec<String>, PolicyDocError> {
    let statements = existing_statements(existing)?;
    Ok(find(&statements, ORG_WRITE_SID).map(|(_, s)| sorted_unique(condition_values(s, "StringEquals", SOURCE_ACCOUNT))).unwrap_or_default())
}

/// Who the org statements let deliver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrgGrant {
    /// The per-account form: these accounts (sorted); none without org statements.
    Accounts(Vec<String>),
    /// The organization form for this organization: every account of it, present and future.
    WholeOrganization,
}

impl OrgGrant {
    /// The accounts granted, the organization form read as every one of `org_accounts`.
    pub fn accounts(&self, org_accounts: &[String]) -> Vec<String> {
        match self {
            OrgGrant::Accounts(accounts) => accounts.clone(),
            OrgGrant::WholeOrganization => sorted_unique(org_accounts.iter().cloned()),
        }
    }
}

/// Who the org write statement of `existing` lets deliver, for organization `org_id` (the
/// organization form of another organization grants none of this one's accounts).
pub fn org_grant(existing: Option<&str>, org_id: &str) -> Result<OrgGrant, PolicyDocError> {
    let statements = existing_statements(existing)?;
    Ok(match find(&statements, ORG_WRITE_SID) {
        Some((_, write)) if is_org_form(write) => {
            if condition_values(write, "StringEquals", SOURCE_ORG_ID) == [org_id] {
                OrgGrant::WholeOrganization
            } else {
                OrgGrant::Accounts(Vec::new())
            }
        }
        Some((_, write)) => OrgGrant::Accounts(sorted_unique(condition_values(write, "StringEquals", SOURCE_ACCOUNT))),
        None => OrgGrant::Accounts(Vec::new()),
    })
}

/// What an edit of the org statements does to who may deliver, said in accounts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GrantChange {
    /// Every account granted afterwards (the organization form: every account of the
    /// organization today).
    pub granted: Vec<String>,
    /// Granted afterwards and not before.
    pub gained: Vec<String>,
    /// Granted before and not afterwards.
    pub lost: Vec<String>,
    /// Afterwards the organization form: any account that joins the organization later may
    /// deliver too.
    pub whole_organization: bool,
    /// The organization form is replaced: an account that joins the organization later is no
    /// longer granted.
    pub future_accounts_lost: bool,
}

/// Compares who `before` and `after` let deliver, the organization's accounts being
/// `org_accounts` (any status).
pub fn grant_change(before: Option<&str>, after: Option<&str>, org_id: &str, org_accounts: &[String]) -> Result<GrantChange, PolicyDocError> {
    let (was, now) = (org_grant(before, org_id)?, org_grant(after, org_id)?);
    let (had, has) = (was.accounts(org_accounts), now.accounts(org_accounts));
    Ok(GrantChange {
        gained: has.iter().filter(|a| !had.contains(a)).cloned().collect(),
        lost: had.iter().filter(|a| !has.contains(a)).cloned().collect(),
        whole_organization: now == OrgGrant::WholeOrganization,
        future_accounts_lost: was == OrgGrant::WholeOrganization && now != OrgGrant::WholeOrganization,
        granted: has,
    })
}

/// `wanted` with every value `had` listed under the same list (resources, `aws:SourceArn`) kept as
/// well: a grant flowgate made earlier (another prefix, an account's narrower ARN) is never lost.
fn keep_extras(wanted: &Value, had: &Value) -> Value {
    let mut out = wanted.clone();
    let union = |ours: Vec<String>, theirs: Vec<String>| strings(&sorted_unique(ours.into_iter().chain(theirs)));
    if let Value::Object(map) = &mut out {
        let merged = union(resources(wanted), resources(had));
        map.insert("Resource".into(), merged);
    }
    for (operator, key) in [("ArnLike", SOURCE_ARN), ("StringEquals", SOURCE_ACCOUNT)] {
        let theirs = condition_values(had, operator, key);
        if theirs.is_empty() {
            continue;
        }
        if let Some(Value::Object(keys)) = out.get_mut("Condition").and_then(|c| c.get_mut(operator)) {
            if let Some(ours) = keys.get(key) {
                let ours = condition_values(&json!({"Condition": {operator: {key: ours.clone()}}}), operator, key);
                keys.insert(key.into(), union(ours, theirs));
            }
        }
    }
    out
}

/// Brings the bucket policy's two org statements up to `target` for `accounts`. Accounts and
/// resources the org statements already grant are kept (union); when the form changes the two
/// statements are rewritten whole (the org form covers every account of the org; the per-account
/// form replacing it starts from `accounts`). Every other statement and top-level key is kept as
/// it was and in place; the same call again returns `document: None`.
pub fn merge_org_delivery(existing: Option<&str>, target: &OrgDeliveryTarget<'_>, accounts: &[String]) -> Result<OrgPolicyMerge, PolicyDocError> {
    let mut doc = parse_or_new(existing)?;
    let mut statements = policy_doc::statements(&doc)?;
    let old_write = find(&statements, ORG_WRITE_SID).map(|(_, s)| s.clone());
    let old_acl = find(&statements, ORG_ACL_SID).map(|(_, s)| s.clone());
    let wants_org = matches!(target.form, DeliveryForm::Org { .. });
    let old_form_org = old_write.as_ref().or(old_acl.as_ref()).map(is_org_form);
    let form_changed = old_form_org.is_some_and(|was_org| was_org != wants_org);

    let granted = match &old_write {
        Some(write) if !is_org_form(write) => sorted_unique(condition_values(write, "StringEquals", SOURCE_ACCOUNT)),
        _ => Vec::new(),
    };
    let requested = sorted_unique(accounts.iter().cloned());
    let aws_statements =
        statements.iter().filter(|s| crate::aws_delivery::is_aws_statement(s)).filter_map(policy_doc::sid).map(str::to_owned).collect();
    let mut merge = OrgPolicyMerge { form_changed, aws_statements, ..OrgPolicyMerge::default() };
    // The org form for the same organization already covers every account.
    let same_org = match (&target.form, &old_write) {
        (DeliveryForm::Org { org_id }, Some(write)) => condition_values(write, "StringEquals", SOURCE_ORG_ID) == [org_id.clone()],
        _ => false,
    };
    merge.added_accounts = if same_org { Vec::new() } else { requested.iter().filter(|a| !granted.contains(a)).cloned().collect() };
    let desired = if wants_org || form_changed {
        org_delivery_statements(target, &requested)
    } else {
        merge.kept_accounts = granted.iter().filter(|a| !requested.contains(a)).cloned().collect();
        org_delivery_statements(target, &sorted_unique(granted.iter().chain(&requested).cloned()))
    };

    if form_changed {
        let root = target.root();
        merge.dropped_resources = old_write.iter().flat_map(resources).filter(|r| !r.starts_with(&root)).collect();
    }
    if desired.is_empty() {
        // The per-account form with no account at all: nothing to grant, and statements of the
        // other form are not taken away for it.
        merge.form_changed = false;
    }
    let mut changed = false;
    for wanted in desired {
        let sid = policy_doc::sid(&wanted).unwrap_or_default().to_owned();
        match find(&statements, &sid).map(|(i, s)| (i, s.clone())) {
            Some((i, had)) => {
                let statement = if form_changed { wanted } else { keep_extras(&wanted, &had) };
                if policy_doc::canonical_statement(&statement) != policy_doc::canonical_statement(&had) {
                    statements[i] = statement;
                    changed = true;
                }
            }
            None => {
                statements.push(wanted);
                changed = true;
            }
        }
    }
    if !changed {
        merge.size_bytes = existing.map(str::len).unwrap_or_default();
        return Ok(merge);
    }
    doc.insert("Statement".into(), Value::Array(statements));
    let text = serde_json::to_string(&Value::Object(doc)).map_err(|e| PolicyDocError::NotJson(e.to_string()))?;
    merge.size_bytes = text.len();
    merge.document = Some(text);
    Ok(merge)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bucket_policy::{DeliveryTarget, delivery_statements};

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{:012}", 100_000_000_000u64 + i as u64 * 7919)).collect()
    }

    fn per_account<'a>(bucket: &'a BucketName, prefix: Option<&'a LogPrefix>) -> OrgDeliveryTarget<'a> {
        OrgDeliveryTarget { partition: "aws", bucket, prefix, hive_partitions: false, form: DeliveryForm::PerAccount }
    }

    #[test]
    fn the_org_form_is_flowgate_statement_not_any_source_org_id() {
        let b: BucketName = "central-logs".parse().unwrap();
        let per = merge_org_delivery(None, &per_account(&b, None), &ids(2)).unwrap().document.unwrap();
        let mut with_trail: Value = serde_json::from_str(&per).unwrap();
        with_trail["Statement"].as_array_mut().unwrap().push(json!({"Sid": "AWSCloudTrailWrite", "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject", "Resource": "arn:aws:s3:::central-logs/AWSLogs/*",
            "Condition": {"StringEquals": {"aws:SourceOrgID": "o-abcdefghij"}}}));
        assert!(!org_form_granted(Some(&with_trail.to_string())));
        let org = OrgDeliveryTarget { form: DeliveryForm::Org { org_id: "o-abcdefghij".into() }, ..per_account(&b, None) };
        assert!(org_form_granted(merge_org_delivery(None, &org, &ids(2)).unwrap().document.as_deref()));
        assert!(!org_form_granted(None));
    }

    fn org(bucket: &BucketName) -> OrgDeliveryTarget<'_> {
        OrgDeliveryTarget {
            partition: "aws",
            bucket,
            prefix: None,
            hive_partitions: false,
            form: DeliveryForm::Org { org_id: "o-abcdef1234".into() },
        }
    }

    fn doc(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    fn sids(text: &str) -> Vec<String> {
        doc(text)["Statement"].as_array().unwrap().iter().map(|s| policy_doc::sid(s).unwrap_or("").to_owned()).collect()
    }

    #[test]
    fn per_account_statements_name_every_account() {
        let bucket: BucketName = "central-logs".parse().unwrap();
        let accounts = vec!["222222222222".to_owned(), "111111111111".to_owned(), "222222222222".to_owned()];
        let statements = org_delivery_statements(&per_account(&bucket, None), &accounts);
        assert_eq!(statements.len(), 2);
        let write = &statements[0];
        assert_eq!(write["Sid"], ORG_WRITE_SID);
        assert_eq!(write["Principal"]["Service"], "delivery.logs.amazonaws.com");
        assert_eq!(
            write["Resource"],
            json!(["arn:aws:s3:::central-logs/AWSLogs/111111111111/*", "arn:aws:s3:::central-logs/AWSLogs/222222222222/*"])
        );
        assert_eq!(write["Condition"]["StringEquals"]["aws:SourceAccount"], json!(["111111111111", "222222222222"]));
        assert_eq!(write["Condition"]["StringEquals"]["s3:x-amz-acl"], "bucket-owner-full-control");
        assert_eq!(write["Condition"]["ArnLike"]["aws:SourceArn"], json!(["arn:aws:logs:*:111111111111:*", "arn:aws:logs:*:222222222222:*"]));
        let acl = &statements[1];
        assert_eq!(acl["Sid"], ORG_ACL_SID);
        assert_eq!(acl["Action"], json!(["s3:GetBucketAcl", "s3:ListBucket"]));
        assert_eq!(acl["Resource"], "arn:aws:s3:::central-logs");
        assert_eq!(acl["Condition"]["StringEquals"]["aws:SourceAccount"], json!(["111111111111", "222222222222"]));

        let prefix: LogPrefix = "net/flows".parse().unwrap();
        let hive = OrgDeliveryTarget { hive_partitions: true, ..per_account(&bucket, Some(&prefix)) };
        assert_eq!(
            org_delivery_statements(&hive, &accounts)[0]["Resource"][0],
            "arn:aws:s3:::central-logs/net/flows/AWSLogs/aws-account-id=111111111111/*"
        );
        // The same key path the single-account statement grants, so a bucket onboarded account by
        // account keeps writing to the same keys.
        let single = delivery_statements(&DeliveryTarget {
            partition: "aws",
            bucket: &bucket,
            prefix: Some(&prefix),
            account: "111111111111",
            hive_partitions: true,
        });
        assert_eq!(single[0]["Resource"], org_delivery_statements(&hive, &accounts)[0]["Resource"][0]);
        assert!(org_delivery_statements(&per_account(&bucket, None), &[]).is_empty());
    }

    #[test]
    fn org_form_is_one_path_conditioned_on_the_org() {
        let bucket: BucketName = "central-logs".parse().unwrap();
        let statements = org_delivery_statements(&org(&bucket), &ids(3));
        assert_eq!(statements[0]["Resource"], "arn:aws:s3:::central-logs/AWSLogs/*");
        assert_eq!(statements[0]["Condition"]["StringEquals"]["aws:SourceOrgID"], "o-abcdef1234");
        assert_eq!(statements[0]["Condition"]["StringEquals"]["s3:x-amz-acl"], "bucket-owner-full-control");
        assert!(statements[0]["Condition"].get("ArnLike").is_none());
        assert_eq!(statements[1]["Condition"]["StringEquals"]["aws:SourceOrgID"], "o-abcdef1234");
    }

    #[test]
    fn merge_adds_to_a_policy_and_keeps_everything_else() {
        let bucket: BucketName = "central-logs".parse().unwrap();
        let single =
            delivery_statements(&DeliveryTarget { partition: "aws", bucket: &bucket, prefix: None, account: "999999999999", hive_partitions: false });
        let other = json!({"Sid": "DenyInsecure", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::central-logs/*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}});
        let existing = json!({"Version": "2012-10-17", "Id": "keep", "Statement": [other, single[0], single[1]]}).to_string();
        let target = per_account(&bucket, None);
        let merge = merge_org_delivery(Some(&existing), &target, &ids(2)).unwrap();
        let text = merge.document.clone().unwrap();
        assert_eq!(sids(&text), ["DenyInsecure", "FlowgateLogDeliveryWrite", "FlowgateLogDeliveryAclCheck", ORG_WRITE_SID, ORG_ACL_SID]);
        let after = doc(&text);
        assert_eq!(after["Id"], "keep");
        assert_eq!(after["Statement"][0], doc(&existing)["Statement"][0]);
        assert_eq!(after["Statement"][1], doc(&existing)["Statement"][1]);
        assert_eq!(merge.added_accounts, ids(2));
        assert!(merge.kept_accounts.is_empty() && !merge.form_changed);
        assert_eq!(merge.size_bytes, text.len());
        assert_eq!(granted_org_accounts(Some(&text)).unwrap(), ids(2));

        let again = merge_org_delivery(Some(&text), &target, &ids(2)).unwrap();
        assert_eq!(again.document, None);
        assert!(again.added_accounts.is_empty());
        assert_eq!(again.size_bytes, text.len());
    }

    #[test]
    fn merge_never_takes_an_account_away() {
        let bucket: BucketName = "central-logs".parse().unwrap();
        let target = per_account(&bucket, None);
        let all = ids(4);
        let first = merge_org_delivery(None, &target, &all[..3]).unwrap().document.unwrap();
        // Account 0 left the scope, account 3 joined.
        let merge = merge_org_delivery(Some(&first), &target, &all[1..]).unwrap();
        assert_eq!(merge.added_accounts, [all[3].clone()]);
        assert_eq!(merge.kept_accounts, [all[0].clone()]);
        let text = merge.document.unwrap();
        assert_eq!(granted_org_accounts(Some(&text)).unwrap(), all);
        let write = &doc(&text)["Statement"][0];
        assert_eq!(write["Resource"].as_array().unwrap().len(), 4);
        assert_eq!(write["Condition"]["ArnLike"]["aws:SourceArn"].as_array().unwrap().len(), 4);
        // A subset of what is granted changes nothing.
        assert_eq!(merge_org_delivery(Some(&text), &target, &all[..1]).unwrap().document, None);
    }

    #[test]
    fn merge_keeps_resources_of_an_earlier_prefix() {
        let bucket: BucketName = "central-logs".parse().unwrap();
        let old: LogPrefix = "old".parse().unwrap();
        let first = merge_org_delivery(None, &per_account(&bucket, Some(&old)), &ids(1)).unwrap().document.unwrap();
        let merge = merge_org_delivery(Some(&first), &per_account(&bucket, None), &ids(1)).unwrap();
        let text = merge.document.unwrap();
        let resources = resources(&doc(&text)["Statement"][0]);
        assert!(resources.contains(&format!("arn:aws:s3:::central-logs/old/AWSLogs/{}/*", ids(1)[0])), "{resources:?}");
        assert!(resources.contains(&format!("arn:aws:s3:::central-logs/AWSLogs/{}/*", ids(1)[0])), "{resources:?}");
    }

    #[test]
    fn switching_form_rewrites_the_org_statements() {
        let bucket: BucketName = "central-logs".parse().unwrap();
        let per = merge_org_delivery(None, &per_account(&bucket, None), &ids(3)).unwrap().document.unwrap();
        let to_org = merge_org_delivery(Some(&per), &org(&bucket), &ids(3)).unwrap();
        assert!(to_org.form_changed);
        assert!(to_org.kept_accounts.is_empty() && to_org.added_accounts.is_empty());
        let org_text = to_org.document.unwrap();
        assert_eq!(sids(&org_text), [ORG_WRITE_SID, ORG_ACL_SID]);
        let write = &doc(&org_text)["Statement"][0];
        assert_eq!(write["Resource"], "arn:aws:s3:::central-logs/AWSLogs/*");
        assert!(write["Condition"]["StringEquals"].get("aws:SourceAccount").is_none());
        assert!(granted_org_accounts(Some(&org_text)).unwrap().is_empty());
        let again = merge_org_delivery(Some(&org_text), &org(&bucket), &ids(5)).unwrap();
        assert_eq!(again.document, None);
        assert!(again.added_accounts.is_empty(), "the org form covers every account");

        let back = merge_org_delivery(Some(&org_text), &per_account(&bucket, None), &ids(2)).unwrap();
        assert!(back.form_changed && back.kept_accounts.is_empty());
        assert_eq!(back.added_accounts, ids(2));
        let back_text = back.document.unwrap();
        assert_eq!(granted_org_accounts(Some(&back_text)).unwrap(), ids(2));
        assert!(!back_text.contains("SourceOrgID") && !back_text.contains("AWSLogs/*\""));
    }

    /// A rewrite names who it lets deliver: the organization form every account of the
    /// organization (today's and later ones), the per-account form only its list.
    #[test]
    fn a_change_of_form_names_every_account_gained_and_lost() {
        let bucket: BucketName = "central-logs".parse().unwrap();
        let org_accounts = ids(5);
        let per = merge_org_delivery(None, &per_account(&bucket, None), &org_accounts[..2]).unwrap().document.unwrap();
        let as_org = merge_org_delivery(Some(&per), &org(&bucket), &org_accounts[..2]).unwrap().document.unwrap();
        let to_org = grant_change(Some(&per), Some(&as_org), "o-abcdef1234", &org_accounts).unwrap();
        assert_eq!(to_org.gained, org_accounts[2..].to_vec(), "the accounts outside the two named are granted too");
        assert!(to_org.lost.is_empty() && to_org.whole_organization && !to_org.future_accounts_lost);
        assert_eq!(to_org.granted, org_accounts);

        // Back to per-account for four of them: the fifth (say, suspended) and later accounts lose.
        let back = merge_org_delivery(Some(&as_org), &per_account(&bucket, None), &org_accounts[..4]).unwrap().document.unwrap();
        let to_per = grant_change(Some(&as_org), Some(&back), "o-abcdef1234", &org_accounts).unwrap();
        assert_eq!(to_per.lost, [org_accounts[4].clone()]);
        assert!(to_per.gained.is_empty() && to_per.future_accounts_lost && !to_per.whole_organization);

        // Another organization's form grants none of this one's accounts; nothing at all, none.
        assert_eq!(org_grant(Some(&as_org), "o-zzzzzzzzzz").unwrap(), OrgGrant::Accounts(Vec::new()));
        assert_eq!(org_grant(None, "o-abcdef1234").unwrap(), OrgGrant::Accounts(Vec::new()));
        let fresh = grant_change(None, Some(&per), "o-abcdef1234", &org_accounts).unwrap();
        assert_eq!((fresh.gained, fresh.lost), (org_accounts[..2].to_vec(), Vec::new()));
    }

    #[test]
    fn size_against_the_bucket_policy_limit() {
        let bucket: BucketName = "acme-central-flow-logs".parse().unwrap();
        let target = per_account(&bucket, None);
        let small = merge_org_delivery(None, &target, &ids(20)).unwrap();
        let large = merge_org_delivery(None, &target, &ids(140)).unwrap();
        assert!(!small.over_limit(), "20 accounts: {} bytes of {BUCKET_POLICY_LIMIT_BYTES}", small.size_bytes);
        assert!(large.over_limit(), "140 accounts: {} bytes of {BUCKET_POLICY_LIMIT_BYTES}", large.size_bytes);
        let as_org = merge_org_delivery(None, &org(&bucket), &ids(140)).unwrap();
        assert!(!as_org.over_limit(), "org form: {} bytes", as_org.size_bytes);
    }

    mod properties {
        //! The org delivery editor against generated policies: other statements (some of them
        //! flowgate's single-account ones), maybe org statements from an earlier run, any account
        //! set. Nothing of the user's and no granted account is lost.

        use super::*;
        use proptest::collection::vec;
        use proptest::prelude::*;

        fn bucket() -> BucketName {
            "central-logs".parse().unwrap()
        }

        fn account() -> impl Strategy<Value = String> {
            (0..12u64).prop_map(|i| format!("{:012}", 300_000_000_000 + i * 1_000_003))
        }

        fn other_statement() -> impl Strategy<Value = Value> {
            let single = (account(), any::<bool>()).prop_map(|(a, acl)| {
                let b = bucket();
                delivery_statements(&DeliveryTarget { partition: "aws", bucket: &b, prefix: None, account: &a, hive_partitions: false })
                    [usize::from(acl)]
                .clone()
            });
            let other = crate::policy_strategies::unrelated_allow(vec!["Reports", "Backup", "Deny", ""]);
            prop_oneof![single, other, crate::policy_strategies::aws_statement()]
        }

        /// Other statements, and maybe per-account org statements of an earlier run at some place.
        fn policy() -> impl Strategy<Value = Value> {
            (vec(other_statement(), 0..5), prop::option::of(vec(account(), 1..6)), 0..6usize, any::<bool>(), any::<bool>()).prop_map(
                |(others, earlier, at, id, old_prefix)| {
                    let mut statements = others;
                    if let Some(accounts) = earlier {
                        let b = bucket();
                        // Sometimes granted under an earlier prefix.
                        let prefix: LogPrefix = "old".parse().unwrap();
                        let prefix = old_prefix.then_some(&prefix);
                        for (k, s) in org_delivery_statements(&per_account(&b, prefix), &accounts).into_iter().enumerate() {
                            statements.insert((at + k).min(statements.len()), s);
                        }
                    }
                    let mut doc = json!({"Version": "2012-10-17", "Statement": statements});
                    if id {
                        doc["Id"] = json!("team");
                    }
                    doc
                },
            )
        }

        fn not_org(d: &Value) -> Vec<Value> {
            d["Statement"].as_array().unwrap().iter().filter(|s| !matches!(policy_doc::sid(s), Some(ORG_WRITE_SID | ORG_ACL_SID))).cloned().collect()
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

            #[test]
            fn merge_loses_nothing_and_is_idempotent(existing in policy(), accounts in vec(account(), 0..8), org_form in any::<bool>()) {
                let b = bucket();
                let target = if org_form { org(&b) } else { per_account(&b, None) };
                let text = existing.to_string();
                let before = granted_org_accounts(Some(&text)).unwrap();
                let merge = merge_org_delivery(Some(&text), &target, &accounts).unwrap();
                let after_text = merge.document.clone().unwrap_or_else(|| text.clone());
                let after = doc(&after_text);
                prop_assert_eq!(merge.size_bytes, after_text.len());
                for (key, value) in existing.as_object().unwrap() {
                    if key != "Statement" {
                        prop_assert_eq!(&after[key], value);
                    }
                }
                prop_assert_eq!(not_org(&after), not_org(&existing));
                // AWS's own statements are among those kept, and named.
                prop_assert_eq!(&merge.aws_statements, &crate::aws_delivery::aws_sids(Some(&text)).unwrap());
                prop_assert_eq!(&crate::aws_delivery::aws_sids(Some(&after_text)).unwrap(), &merge.aws_statements);
                let granted = granted_org_accounts(Some(&after_text)).unwrap();
                // Every resource the old write statement granted is granted again, or lies under this
                // prefix's AWSLogs/ (which the new form covers), or is named as dropped.
                let old_write = existing["Statement"].as_array().unwrap().iter().find(|s| policy_doc::sid(s) == Some(ORG_WRITE_SID)).cloned();
                let new_write = after["Statement"].as_array().unwrap().iter().find(|s| policy_doc::sid(s) == Some(ORG_WRITE_SID)).cloned();
                let root = target.root();
                for r in old_write.iter().flat_map(resources) {
                    let kept = new_write.as_ref().is_some_and(|w| resources(w).contains(&r));
                    prop_assert!(kept || r.starts_with(&root) || merge.dropped_resources.contains(&r), "{} lost unnamed", r);
                }
                if org_form {
                    let w = new_write.expect("the org write statement");
                    prop_assert_eq!(condition_values(&w, "StringEquals", SOURCE_ORG_ID), vec!["o-abcdef1234".to_owned()]);
                    let everything = format!("{}*", root);
                    prop_assert!(resources(&w).contains(&everything));
                } else {
                    for a in before.iter().chain(&accounts) {
                        prop_assert!(granted.contains(a), "{} lost or not added", a);
                    }
                    for a in &merge.kept_accounts {
                        prop_assert!(before.contains(a) && !accounts.contains(a));
                    }
                }
                let again = merge_org_delivery(Some(&after_text), &target, &accounts).unwrap();
                prop_assert_eq!(again.document, None);
                prop_assert!(again.added_accounts.is_empty(), "{:?}", again.added_accounts);
            }

        }
    }
}
