//! The cross-account role stack: its parameters, what a stack status allows, and the plan in words
//! ("storage access will be REVOKED for bucket b1"). CloudFormation facts: AWS-FACTS.md.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use crate::names::{BucketName, parse_bucket_or_arn};

pub const DEFAULT_STACK_NAME: &str = "flowgate-cross-account";
pub const DEFAULT_ROLE_NAME: &str = "FlowgateCrossAccountRole";
pub const TEMPLATE: &str = include_str!("../../../templates/cross-account-role.yaml");
/// The read-only discovery policy, also embedded in the template (a test checks they match).
pub const DISCOVERY_POLICY: &str = include_str!("../../../policies/vendor-discovery.json");
/// The compliance account's read-only privileges (the vendor guide's "Xcloud Compliance
/// Requirements"), also embedded in the template (a test checks they match).
pub const COMPLIANCE_POLICY: &str = include_str!("../../../policies/vendor-compliance-read.json");
/// Segmentation enforcement (`--read-write`): security-group rules of the account only, also
/// embedded in the template with `${AWS::Partition}`/`${AWS::AccountId}` (a test checks they match).
pub const SEGMENTATION_WRITE_POLICY: &str = include_str!("../../../policies/vendor-segmentation-write.json");
/// Parameters of the shipped template that older or hand-written templates (`--template`) may
/// lack: they are passed only when the template declares them, and refused when set but undeclared.
pub const OPTIONAL_PARAMETERS: &[&str] = &["ComplianceAccountId", "ReadWrite"];

/// What a stack's status allows flowgate to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "condition")]
pub enum StackCondition {
    Missing,
    /// CREATE_COMPLETE, UPDATE_COMPLETE, UPDATE_ROLLBACK_COMPLETE, IMPORT_COMPLETE...: updatable.
    Ready {
        status: String,
    },
    /// A failed create: cannot be updated, only deleted and created again.
    RollbackComplete,
    /// *_IN_PROGRESS: wait for it.
    InProgress {
        status: String,
    },
    /// CREATE_FAILED, DELETE_FAILED, UPDATE_ROLLBACK_FAILED...: needs a person.
    Broken {
        status: String,
    },
}

impl StackCondition {
    pub fn label(&self) -> &'static str {
        match self {
            StackCondition::Missing => "missing",
            StackCondition::Ready { .. } => "ready",
            StackCondition::RollbackComplete => "rollback-complete",
            StackCondition::InProgress { .. } => "in-progress",
            StackCondition::Broken { .. } => "broken",
        }
    }
}

pub fn classify_status(status: Option<&str>) -> StackCondition {
    match status {
        // REVIEW_IN_PROGRESS: a stack that only holds a CREATE change set, no resource; a new
        // CREATE change set may be made for it.
        None | Some("DELETE_COMPLETE") | Some("REVIEW_IN_PROGRESS") => StackCondition::Missing,
        Some("ROLLBACK_COMPLETE") => StackCondition::RollbackComplete,
        Some(s) if s.ends_with("_IN_PROGRESS") => StackCondition::InProgress { status: s.to_owned() },
        Some(s) if s.ends_with("_FAILED") => StackCondition::Broken { status: s.to_owned() },
        Some(s) => StackCondition::Ready { status: s.to_owned() },
    }
}

/// Whether a FAILED change set failed only because there was nothing to change.
pub fn is_no_change_reason(reason: &str) -> bool {
    reason.contains("didn't contain changes") || reason.contains("No updates are to be performed")
}

/// The stack's parameters as flowgate sets them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct StackParameters {
    pub vendor_account: String,
    pub external_id: String,
    pub role_name: String,
    /// Buckets the vendor may read; empty means no storage access.
    pub storage_buckets: Vec<String>,
    /// A second vendor account (the vendor's compliance product, "XCloud" in its script) trusted
    /// with the same ExternalId and given the compliance read privileges; `None` for none.
    pub compliance_account: Option<String>,
    /// Segmentation enforcement: the role may manage the account's security-group rules.
    pub read_write: bool,
}

impl StackParameters {
    pub fn storage_access(&self) -> bool {
        !self.storage_buckets.is_empty()
    }

    /// The accounts the role trusts (each only with the ExternalId): the vendor's, then the
    /// compliance account.
    pub fn trusted_accounts(&self) -> Vec<String> {
        std::iter::once(self.vendor_account.clone()).chain(self.compliance_account.clone()).collect()
    }

    /// The permission sets the template grants with these parameters, by the name of their
    /// policy file: network-discovery always, compliance-read, segmentation-write, storage-read.
    pub fn permission_sets(&self) -> Vec<&'static str> {
        let mut sets = vec!["network-discovery"];
        if self.compliance_account.is_some() {
            sets.push("compliance-read");
        }
        if self.read_write {
            sets.push("segmentation-write");
        }
        if self.storage_access() {
            sets.push("storage-read");
        }
        sets
    }

    /// CloudFormation parameters. A revoke sends `StorageAccess=false` with an empty list: a
    /// false flag with a non-empty list would leave the parameters saying something the grant
    /// does not (and the emulator would keep granting the list).
    pub fn to_api(&self) -> Vec<(&'static str, String)> {
        vec![
            ("VendorAccountId", self.vendor_account.clone()),
            ("ExternalId", self.external_id.clone()),
            ("RoleName", self.role_name.clone()),
            ("StorageAccess", self.storage_access().to_string()),
            ("StorageBucketNames", self.storage_buckets.join(",")),
            ("ComplianceAccountId", self.compliance_account.clone().unwrap_or_default()),
            ("ReadWrite", self.read_write.to_string()),
        ]
    }

    /// The parameters for a template that declares (`declares`) some of them: an optional one the
    /// template lacks is left out while it has its default, and is an error when it is set
    /// (CloudFormation rejects a parameter the template does not declare, and leaving it out
    /// would silently drop the compliance trust or the write permission asked for).
    pub fn api_for(&self, declares: impl Fn(&str) -> bool) -> Result<Vec<(&'static str, String)>, String> {
        let mut out = Vec::new();
        for (name, value) in self.to_api() {
            if declares(name) || !OPTIONAL_PARAMETERS.contains(&name) {
                out.push((name, value));
                continue;
            }
            let set = match name {
                "ComplianceAccountId" => self.compliance_account.is_some(),
                _ => self.read_write,
            };
            if set {
                let flag = if name == "ReadWrite" { "--read-write" } else { "--compliance-account" };
                return Err(format!("the template does not declare the parameter {name}, which {flag} needs"));
            }
        }
        Ok(out)
    }

    /// Reads the parameters of an existing stack; `None` when it is not flowgate's template.
    pub fn from_api(parameters: &BTreeMap<String, String>) -> Option<StackParameters> {
        let storage = parameters.get("StorageAccess").map(|v| v == "true").unwrap_or(false);
        Some(StackParameters {
            vendor_account: parameters.get("VendorAccountId")?.clone(),
            external_id: parameters.get("ExternalId")?.clone(),
            role_name: parameters.get("RoleName").cloned().unwrap_or_else(|| DEFAULT_ROLE_NAME.to_owned()),
            storage_buckets: if storage {
                parse_bucket_list(parameters.get("StorageBucketNames").map(String::as_str).unwrap_or(""))
            } else {
                Vec::new()
            },
            compliance_account: parameters
                .get("ComplianceAccountId")
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty() && v != "[]" && v != "['']"),
            read_write: parameters.get("ReadWrite").is_some_and(|v| v == "true"),
        })
    }
}

/// The compliance account a deploy sets, with the vendor script's meaning: `--xcloud-account ID`
/// (`--compliance-account`) sets it, `--no-deploy-xcloud` (`--no-compliance`) removes it, and
/// neither keeps what the stack has (as the vendor account and ExternalId are kept).
pub fn resolve_compliance(named: Option<&str>, no_compliance: bool, existing: Option<&StackParameters>) -> Option<String> {
    if no_compliance {
        return None;
    }
    named.map(str::to_owned).or_else(|| existing.and_then(|p| p.compliance_account.clone()))
}

/// A CommaDelimitedList as read back: `b1,b2` from AWS, `['b1', 'b2']` from the emulator.
pub fn parse_bucket_list(value: &str) -> Vec<String> {
    value
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .map(|item| item.trim().trim_matches(|c| c == '\'' || c == '"').trim().to_owned())
        .filter(|item| !item.is_empty())
        .collect()
}

/// One parameter change, in words; `loud` for a revocation the admin must not miss.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ParameterChange {
    pub parameter: &'static str,
    pub text: String,
    pub loud: bool,
}

pub fn parameter_changes(old: Option<&StackParameters>, new: &StackParameters) -> Vec<ParameterChange> {
    let mut changes = Vec::new();
    let Some(old) = old else {
        changes.push(ParameterChange {
            parameter: "VendorAccountId",
            text: format!("role trusted by vendor account {}", new.vendor_account),
            loud: false,
        });
        changes.push(ParameterChange { parameter: "RoleName", text: format!("role name {}", new.role_name), loud: false });
        for bucket in &new.storage_buckets {
            changes.push(ParameterChange {
                parameter: "StorageBucketNames",
                text: format!("storage access will be GRANTED for bucket {bucket}"),
                loud: false,
            });
        }
        if new.storage_buckets.is_empty() {
            changes.push(ParameterChange { parameter: "StorageAccess", text: "no storage access (discovery only)".into(), loud: false });
        }
        changes.extend(vendor_mode_changes(None, new));
        return changes;
    };
    if old.vendor_account != new.vendor_account {
        changes.push(ParameterChange {
            parameter: "VendorAccountId",
            text: format!("trusted vendor account will change from {} to {}", old.vendor_account, new.vendor_account),
            loud: true,
        });
    }
    if old.external_id != new.external_id {
        changes.push(ParameterChange {
            parameter: "ExternalId",
            text: "the ExternalId will change: the vendor's portal needs the new one".into(),
            loud: true,
        });
    }
    if old.role_name != new.role_name {
        changes.push(ParameterChange {
            parameter: "RoleName",
            text: format!("the role will be REPLACED: {} -> {} (its ARN changes)", old.role_name, new.role_name),
            loud: true,
        });
    }
    for bucket in new.storage_buckets.iter().filter(|b| !old.storage_buckets.contains(b)) {
        changes.push(ParameterChange {
            parameter: "StorageBucketNames",
            text: format!("storage access will be GRANTED for bucket {bucket}"),
            loud: false,
        });
    }
    for bucket in old.storage_buckets.iter().filter(|b| !new.storage_buckets.contains(b)) {
        changes.push(ParameterChange {
            parameter: "StorageBucketNames",
            text: format!("storage access will be REVOKED for bucket {bucket}"),
            loud: true,
        });
    }
    changes.extend(vendor_mode_changes(Some(old), new));
    changes
}

/// The compliance trust and the write mode, in words. Removing either is loud: the vendor's
/// script removes them when a deploy omits them, and so does flowgate, but never unannounced.
fn vendor_mode_changes(old: Option<&StackParameters>, new: &StackParameters) -> Vec<ParameterChange> {
    let mut changes = Vec::new();
    let old_compliance = old.and_then(|o| o.compliance_account.as_deref());
    match (old_compliance, new.compliance_account.as_deref()) {
        (None, Some(account)) => changes.push(ParameterChange {
            parameter: "ComplianceAccountId",
            text: format!("compliance account {account} will be TRUSTED (same ExternalId) with read-only compliance privileges"),
            loud: false,
        }),
        (Some(account), None) => changes.push(ParameterChange {
            parameter: "ComplianceAccountId",
            text: format!(
                "compliance account {account} will be REMOVED: its trust and compliance privileges are dropped (asked by --no-compliance/--no-deploy-xcloud; leave that out to keep it)"
            ),
            loud: true,
        }),
        (Some(before), Some(after)) if before != after => changes.push(ParameterChange {
            parameter: "ComplianceAccountId",
            text: format!("trusted compliance account will change from {before} to {after}"),
            loud: true,
        }),
        _ => {}
    }
    match (old.is_some_and(|o| o.read_write), new.read_write) {
        (false, true) => changes.push(ParameterChange {
            parameter: "ReadWrite",
            text: "security-group rule management will be GRANTED (read-write: the vendor enforces segmentation)".into(),
            loud: false,
        }),
        (true, false) => changes.push(ParameterChange {
            parameter: "ReadWrite",
            text: "security-group rule management will be REVOKED (read-only from now on; pass --read-write to keep it)".into(),
            loud: true,
        }),
        _ => {}
    }
    changes
}

/// A bucket given to `--storage-ids`: a name, or an ARN whose partition is kept so that a bucket
/// of another partition than the caller's is refused before any change (`arn:aws-cn:s3:::b` can
/// never be granted to a role in `aws`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StorageId {
    pub bucket: BucketName,
    /// The ARN's partition; `None` for a bare name.
    pub partition: Option<String>,
}

impl From<BucketName> for StorageId {
    fn from(bucket: BucketName) -> Self {
        StorageId { bucket, partition: None }
    }
}

impl std::fmt::Display for StorageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.bucket)
    }
}

pub fn parse_storage_id(value: &str) -> Result<StorageId, String> {
    let bucket = parse_bucket_or_arn(value)?;
    let partition = value.strip_prefix("arn:").and_then(|rest| rest.split(':').next()).map(str::to_owned);
    Ok(StorageId { bucket, partition })
}

/// The `--storage-ids` ARNs of another partition than `partition`, as one error sentence.
pub fn foreign_partition(ids: &[StorageId], partition: &str, source: &str) -> Option<String> {
    let foreign: Vec<String> =
        ids.iter().filter_map(|id| id.partition.as_deref().filter(|p| *p != partition).map(|p| format!("arn:{p}:s3:::{}", id.bucket))).collect();
    (!foreign.is_empty()).then(|| {
        format!(
            "--storage-ids {} is in another partition than {source} ({partition}): a role can only be granted buckets of its own partition",
            foreign.join(", ")
        )
    })
}

/// The shortest ExternalId flowgate sets without a warning. The ExternalId is what keeps another
/// customer of the vendor from having the vendor assume this role (the confused deputy); a short
/// one can be guessed.
pub const MIN_EXTERNAL_ID_LEN: usize = 16;

/// Warnings about what a deploy sets, each to be made deliberate with `--yes`: a role trusting
/// the caller's own account (the vendor account given is probably wrong), a weak ExternalId.
/// Only values this deploy sets are judged: a kept value was judged when it was set.
pub fn deploy_warnings(caller_account: &str, old: Option<&StackParameters>, new: &StackParameters, external_id_known: bool) -> Vec<String> {
    let mut warnings = Vec::new();
    if new.vendor_account == caller_account && old.is_none_or(|o| o.vendor_account != new.vendor_account) {
        warnings
            .push(format!("--vendor-account {} is this account itself: the role would trust your own account, not the vendor's", new.vendor_account));
    }
    if let Some(compliance) = new.compliance_account.as_deref().filter(|c| *c == caller_account) {
        if old.is_none_or(|o| o.compliance_account.as_deref() != Some(compliance)) {
            warnings
                .push(format!("--compliance-account {compliance} is this account itself: the role would trust your own account, not the vendor's"));
        }
    }
    let length = new.external_id.chars().count();
    if external_id_known && length < MIN_EXTERNAL_ID_LEN && old.is_none_or(|o| o.external_id != new.external_id) {
        warnings.push(format!(
            "the ExternalId has {length} characters: use at least {MIN_EXTERNAL_ID_LEN} (leave --external-id out for a strong generated one)"
        ));
    }
    warnings
}

/// The characters of a generated ExternalId: letters and digits, all within AWS's allowed set.
const EXTERNAL_ID_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

/// A strong ExternalId from random bytes (never derived from names): 32 characters from a
/// 57-character alphabet, about 186 bits.
pub fn external_id_from_random(random: &[u8; 32]) -> String {
    random.iter().map(|b| EXTERNAL_ID_ALPHABET[usize::from(*b) % EXTERNAL_ID_ALPHABET.len()] as char).collect()
}

/// AWS allows 2-1224 characters of `[\w+=,.@:/-]` (IAM User Guide, sts:ExternalId).
pub fn parse_external_id(value: &str) -> Result<String, String> {
    let len = value.chars().count();
    if !(2..=1224).contains(&len) {
        return Err(format!("ExternalId must be 2 to 1224 characters (it has {len})"));
    }
    if let Some(bad) = value.chars().find(|c| !(c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(*c))) {
        return Err(format!("ExternalId contains '{bad}': use letters, digits and _ + = , . @ : / -"));
    }
    Ok(value.to_owned())
}

/// CloudFormation stack names: a letter, then letters, digits and hyphens, at most 128.
pub fn parse_stack_name(value: &str) -> Result<String, String> {
    let ok = value.len() <= 128
        && value.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok { Ok(value.to_owned()) } else { Err(format!("'{value}' is not a stack name: a letter, then letters, digits and hyphens (at most 128)")) }
}

/// IAM role names: 1-64 characters of `[\w+=,.@-]`.
pub fn parse_role_name(value: &str) -> Result<String, String> {
    let ok = (1..=64).contains(&value.len()) && value.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if ok { Ok(value.to_owned()) } else { Err(format!("'{value}' is not an IAM role name: 1-64 of letters, digits and _+=,.@-")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(buckets: &[&str]) -> StackParameters {
        StackParameters {
            vendor_account: "111122223333".into(),
            external_id: "ext-123".into(),
            role_name: DEFAULT_ROLE_NAME.into(),
            storage_buckets: buckets.iter().map(|b| b.to_string()).collect(),
            compliance_account: None,
            read_write: false,
        }
    }

    #[test]
    fn statuses() {
        assert_eq!(classify_status(None), StackCondition::Missing);
        assert_eq!(classify_status(Some("ROLLBACK_COMPLETE")), StackCondition::RollbackComplete);
        assert_eq!(classify_status(Some("UPDATE_ROLLBACK_COMPLETE")), StackCondition::Ready { status: "UPDATE_ROLLBACK_COMPLETE".into() });
        assert!(matches!(classify_status(Some("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")), StackCondition::InProgress { .. }));
        assert!(matches!(classify_status(Some("UPDATE_ROLLBACK_FAILED")), StackCondition::Broken { .. }));
        assert_eq!(classify_status(Some("DELETE_COMPLETE")), StackCondition::Missing);
        assert_eq!(classify_status(Some("REVIEW_IN_PROGRESS")), StackCondition::Missing, "not waited on: nothing is in progress");
    }

    #[test]
    fn revoke_sends_false_and_an_empty_list() {
        let api: BTreeMap<&str, String> = params(&[]).to_api().into_iter().collect();
        assert_eq!(api["StorageAccess"], "false");
        assert_eq!(api["StorageBucketNames"], "");
        let api: BTreeMap<&str, String> = params(&["b1", "b2"]).to_api().into_iter().collect();
        assert_eq!((api["StorageAccess"].as_str(), api["StorageBucketNames"].as_str()), ("true", "b1,b2"));
    }

    #[test]
    fn reads_back_both_list_spellings() {
        assert_eq!(parse_bucket_list("b1,b2"), ["b1", "b2"]);
        assert_eq!(parse_bucket_list("['b1', 'b2']"), ["b1", "b2"]);
        assert!(parse_bucket_list("['']").is_empty());
        assert!(parse_bucket_list("").is_empty());
        let map: BTreeMap<String, String> = params(&["b1"]).to_api().into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        assert_eq!(StackParameters::from_api(&map), Some(params(&["b1"])));
    }

    #[test]
    fn changes_in_words() {
        let changes = parameter_changes(Some(&params(&["b1", "b2"])), &params(&["b2", "b3"]));
        let texts: Vec<&str> = changes.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["storage access will be GRANTED for bucket b3", "storage access will be REVOKED for bucket b1"]);
        assert!(changes[1].loud && !changes[0].loud);
        assert!(parameter_changes(Some(&params(&["b1"])), &params(&["b1"])).is_empty());
        let mut other = params(&[]);
        other.external_id = "new-one".into();
        assert!(parameter_changes(Some(&params(&[])), &other)[0].text.contains("ExternalId will change"));
    }

    #[test]
    fn storage_ids_keep_their_partition() {
        let named = parse_storage_id("flow-one").unwrap();
        let cn = parse_storage_id("arn:aws-cn:s3:::flow-two").unwrap();
        let aws = parse_storage_id("arn:aws:s3:::flow-three").unwrap();
        assert_eq!((named.partition.as_deref(), cn.partition.as_deref()), (None, Some("aws-cn")));
        assert_eq!(cn.to_string(), "flow-two");
        let ids = [named, cn, aws];
        let err = foreign_partition(&ids, "aws", "the caller").unwrap();
        assert!(err.contains("arn:aws-cn:s3:::flow-two") && !err.contains("flow-three"), "{err}");
        assert!(foreign_partition(&ids[..1], "aws-cn", "the caller").is_none(), "a bare name is in the caller's partition");
        assert!(parse_storage_id("arn:aws:s3:::b/*").is_err());
    }

    #[test]
    fn warnings_for_an_own_account_vendor_and_a_short_external_id() {
        let mut own = params(&[]);
        own.vendor_account = "123456789012".into();
        let warnings = deploy_warnings("123456789012", None, &own, true);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("this account itself") && warnings[1].contains("7 characters"), "{warnings:?}");
        // Kept values were judged when they were set.
        assert!(deploy_warnings("123456789012", Some(&own), &own, true).is_empty());
        let mut strong = params(&[]);
        strong.external_id = "x".repeat(16);
        assert!(deploy_warnings("123456789012", None, &strong, true).is_empty());
        assert!(deploy_warnings("123456789012", None, &params(&[]), false).is_empty(), "an ExternalId still to be generated is strong");
    }

    #[test]
    fn external_ids() {
        let id = external_id_from_random(&[7u8; 32]);
        assert_eq!(id.len(), 32);
        assert!(parse_external_id(&id).is_ok());
        assert!(parse_external_id("a").is_err());
        assert!(parse_external_id("has space").is_err());
        assert!(parse_external_id(&"x".repeat(1225)).is_err());
        assert!(parse_external_id("Org:team/flow-logs@2026").is_ok());
    }

    #[test]
    fn names() {
        assert!(parse_stack_name("flowgate-cross-account").is_ok());
        assert!(parse_stack_name("1stack").is_err());
        assert!(parse_stack_name("bad_name").is_err());
        assert!(parse_role_name("ColorTokensCrossAccountAccessRole").is_ok());
        assert!(parse_role_name("bad role").is_err());
    }

    /// The actions of a policy document's statements.
    fn actions_of(text: &str) -> Vec<String> {
        let doc = super::super::policy_doc::parse_document(text).unwrap();
        let mut out = Vec::new();
        for statement in super::super::policy_doc::statements(&doc).unwrap() {
            match &statement["Action"] {
                serde_json::Value::String(a) => out.push(a.clone()),
                serde_json::Value::Array(items) => out.extend(items.iter().filter_map(|v| v.as_str().map(str::to_owned))),
                _ => {}
            }
        }
        out
    }

    /// Read-only by name: the Service Authorization Reference's Read/List actions of these
    /// policies all start so (ecr:BatchGetImage reads image layers).
    fn is_read_only(action: &str) -> bool {
        let verb = action.split(':').nth(1).unwrap_or("");
        ["Describe", "List", "Get", "BatchGet"].iter().any(|p| verb.starts_with(p))
    }

    #[test]
    fn shipped_policies_are_read_only_and_explicit() {
        for policy in [DISCOVERY_POLICY, COMPLIANCE_POLICY] {
            let actions = actions_of(policy);
            assert!(!actions.is_empty());
            for action in actions {
                assert!(!action.contains('*'), "no wildcard action: {action}");
                assert!(is_read_only(&action), "read-only: {action}");
            }
        }
        // The write policy: security-group rule actions only, never on "*", every resource a
        // security group or security-group rule of the account; and the one read ModifySecurityGroupRules
        // needs (rule ids come from DescribeSecurityGroupRules, which has no resource type).
        let write = actions_of(SEGMENTATION_WRITE_POLICY);
        assert_eq!(write.len(), 9, "{write:?}");
        for action in &write {
            assert!(action.starts_with("ec2:") && !action.contains('*'), "{action}");
            assert!(action.contains("SecurityGroup") || action == "ec2:CreateTags", "{action}");
        }
        assert!(write.iter().any(|a| a == "ec2:DescribeSecurityGroupRules"), "{write:?}");
        let doc = super::super::policy_doc::parse_document(SEGMENTATION_WRITE_POLICY).unwrap();
        for statement in super::super::policy_doc::statements(&doc).unwrap() {
            if statement["Action"] == "ec2:DescribeSecurityGroupRules" {
                assert_eq!(statement["Resource"], "*");
                continue;
            }
            let resources: Vec<&str> = statement["Resource"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
            assert!(!resources.is_empty());
            for resource in resources {
                assert!(
                    resource == "arn:${Partition}:ec2:*:${AccountId}:security-group/*"
                        || resource == "arn:${Partition}:ec2:*:${AccountId}:security-group-rule/*",
                    "{resource}"
                );
            }
        }
        // Every action named in the template (`Action: svc:Verb` or `- svc:Verb` lines) is
        // read-only, except the trust policy's sts:AssumeRole and the write policy's actions.
        let is_action = |t: &str| {
            let mut parts = t.splitn(2, ':');
            let (service, verb) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            !service.is_empty()
                && service.chars().all(|c| c.is_ascii_lowercase() || c == '-' || c.is_ascii_digit())
                && verb.chars().next().is_some_and(|c| c.is_ascii_uppercase() || c == '*')
                && verb.chars().all(|c| c.is_ascii_alphanumeric() || c == '*')
        };
        let mut seen = 0;
        for line in TEMPLATE.lines().map(str::trim) {
            let token = line.strip_prefix("- ").or_else(|| line.strip_prefix("Action: ")).unwrap_or("").trim();
            if !is_action(token) || token == "sts:AssumeRole" {
                continue;
            }
            seen += 1;
            assert!(!token.contains('*'), "template action {token}");
            assert!(is_read_only(token) || write.iter().any(|w| w == token), "template action {token}");
        }
        assert!(seen >= 15 + 34 + 8, "found only {seen} actions in the template");
        assert!(TEMPLATE.contains("sts:ExternalId"), "the trust policy requires the ExternalId");
    }

    fn vendor(compliance: Option<&str>, read_write: bool) -> StackParameters {
        StackParameters { compliance_account: compliance.map(str::to_owned), read_write, ..params(&[]) }
    }

    /// The vendor script's semantics: a named compliance account is set, --no-deploy-xcloud
    /// removes it, and omitting both keeps it; the write mode is exactly what is asked.
    #[test]
    fn compliance_account_is_set_removed_or_kept() {
        let with = vendor(Some("444455556666"), false);
        assert_eq!(resolve_compliance(Some("777788889999"), false, Some(&with)).as_deref(), Some("777788889999"));
        assert_eq!(resolve_compliance(None, false, Some(&with)).as_deref(), Some("444455556666"), "omitted: kept");
        assert_eq!(resolve_compliance(None, true, Some(&with)), None, "--no-deploy-xcloud removes");
        assert_eq!(resolve_compliance(Some("777788889999"), true, None), None, "--no-deploy-xcloud wins");
        assert_eq!(resolve_compliance(None, false, None), None);
    }

    #[test]
    fn removing_compliance_or_write_is_loud() {
        let base = vendor(None, false);
        let full = vendor(Some("444455556666"), true);
        let added = parameter_changes(Some(&base), &full);
        assert_eq!(added.iter().map(|c| (c.parameter, c.loud)).collect::<Vec<_>>(), [("ComplianceAccountId", false), ("ReadWrite", false)]);
        assert!(added[0].text.contains("444455556666 will be TRUSTED"), "{added:?}");
        let removed = parameter_changes(Some(&full), &base);
        assert_eq!(removed.iter().map(|c| (c.parameter, c.loud)).collect::<Vec<_>>(), [("ComplianceAccountId", true), ("ReadWrite", true)]);
        assert!(removed[0].text.contains("REMOVED") && removed[1].text.contains("REVOKED"), "{removed:?}");
        assert!(parameter_changes(Some(&full), &full).is_empty(), "a second run changes nothing");
        let created = parameter_changes(None, &full);
        assert!(created.iter().any(|c| c.parameter == "ComplianceAccountId" && !c.loud), "{created:?}");
        assert!(created.iter().any(|c| c.parameter == "ReadWrite" && !c.loud), "{created:?}");
        let moved = parameter_changes(Some(&full), &vendor(Some("777788889999"), true));
        assert!(moved[0].loud && moved[0].text.contains("from 444455556666 to 777788889999"), "{moved:?}");
    }

    #[test]
    fn new_parameters_round_trip_and_default_for_old_stacks() {
        let full = vendor(Some("444455556666"), true);
        let map: BTreeMap<String, String> = full.to_api().into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        assert_eq!(StackParameters::from_api(&map), Some(full.clone()));
        // A stack made before these parameters existed: no compliance account, read-only.
        let old: BTreeMap<String, String> =
            params(&[]).to_api().into_iter().filter(|(k, _)| !OPTIONAL_PARAMETERS.contains(k)).map(|(k, v)| (k.to_owned(), v)).collect();
        assert_eq!(StackParameters::from_api(&old), Some(params(&[])));
        let mut empty = map.clone();
        empty.insert("ComplianceAccountId".into(), "".into());
        assert_eq!(StackParameters::from_api(&empty).unwrap().compliance_account, None);
    }

    #[test]
    fn optional_parameters_only_for_templates_that_declare_them() {
        let declares_none = |p: &str| !OPTIONAL_PARAMETERS.contains(&p);
        let plain = params(&["b1"]).api_for(declares_none).unwrap();
        assert_eq!(plain.len(), 5, "{plain:?}");
        assert!(vendor(None, true).api_for(declares_none).unwrap_err().contains("--read-write"));
        assert!(vendor(Some("444455556666"), false).api_for(declares_none).unwrap_err().contains("--compliance-account"));
        assert_eq!(vendor(Some("444455556666"), true).api_for(|_| true).unwrap().len(), 7);
    }

    #[test]
    fn trusted_accounts_and_permission_sets() {
        assert_eq!(params(&[]).trusted_accounts(), ["111122223333"]);
        assert_eq!(params(&[]).permission_sets(), ["network-discovery"]);
        let full = StackParameters { storage_buckets: vec!["b1".into()], ..vendor(Some("444455556666"), true) };
        assert_eq!(full.trusted_accounts(), ["111122223333", "444455556666"]);
        assert_eq!(full.permission_sets(), ["network-discovery", "compliance-read", "segmentation-write", "storage-read"]);
    }

    #[test]
    fn a_compliance_account_that_is_the_caller_is_a_warning() {
        let mut own = vendor(Some("123456789012"), false);
        own.external_id = "x".repeat(16);
        let warnings = deploy_warnings("123456789012", None, &own, true);
        assert!(warnings.len() == 1 && warnings[0].contains("--compliance-account 123456789012"), "{warnings:?}");
        assert!(deploy_warnings("123456789012", Some(&own), &own, true).is_empty());
    }
}
