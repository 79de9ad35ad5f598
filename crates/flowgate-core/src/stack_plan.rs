//! The cross-account role stack: its parameters, what a stack status allows, and the plan in words
//! ("storage access will be REVOKED for bucket b1"). CloudFormation facts: AWS-FACTS.md.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::names::{BucketName, parse_bucket_or_arn};

pub const DEFAULT_STACK_NAME: &str = "flowgate-cross-account";
pub const DEFAULT_ROLE_NAME: &str = "FlowgateCrossAccountRole";
pub const TEMPLATE: &str = include_str!("../../../templates/cross-account-role.yaml");
/// The read-only discovery policy, also embedded in the template (a test checks they match).
pub const DISCOVERY_POLICY: &str = include_str!("../../../policies/vendor-discovery.json");

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackParameters {
    pub vendor_account: String,
    pub external_id: String,
    pub role_name: String,
    /// Buckets the vendor may read; empty means no storage access.
    pub storage_buckets: Vec<String>,
}

impl StackParameters {
    pub fn storage_access(&self) -> bool {
        !self.storage_buckets.is_empty()
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
        ]
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
        })
    }
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

    #[test]
    fn shipped_policies_are_read_only_and_explicit() {
        let doc = super::super::policy_doc::parse_document(DISCOVERY_POLICY).unwrap();
        for statement in super::super::policy_doc::statements(&doc).unwrap() {
            let actions: Vec<String> = match &statement["Action"] {
                serde_json::Value::String(a) => vec![a.clone()],
                serde_json::Value::Array(items) => items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
                _ => Vec::new(),
            };
            assert!(!actions.is_empty());
            for action in actions {
                assert!(!action.contains('*'), "no wildcard action: {action}");
                let verb = action.split(':').nth(1).unwrap_or("");
                assert!(["Describe", "List", "Get"].iter().any(|p| verb.starts_with(p)), "read-only: {action}");
            }
        }
        // Every action named in the template (`Action: svc:Verb` or `- svc:Verb` lines) is
        // read-only, except the trust policy's sts:AssumeRole.
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
            let verb = token.split(':').nth(1).unwrap_or("");
            assert!(["Describe", "List", "Get"].iter().any(|p| verb.starts_with(p)), "template action {token}");
            assert!(!token.contains('*'), "template action {token}");
        }
        assert!(seen >= 15, "found only {seen} actions in the template");
        assert!(TEMPLATE.contains("sts:ExternalId"), "the trust policy requires the ExternalId");
    }
}
