//! The least-privilege IAM policies an operator needs to run each command (`policies/operator/`),
//! embedded so that tests can hold them against the actions the adapters call and the actions
//! CloudFormation's resource handlers call, and so that `flowgate permissions` can render them.

use serde_json::Value;

use super::names::{BucketName, Partition};
use super::policy_doc;

mod evaluate;
pub use evaluate::{Decision, arn_match, decide};

/// (command, policy document) for every command that calls AWS.
pub const OPERATOR_POLICIES: &[(&str, &str)] = &[
    ("bucket create", include_str!("../../../policies/operator/bucket-create.json")),
    ("bucket check", include_str!("../../../policies/operator/bucket-check.json")),
    ("flowlogs enable", include_str!("../../../policies/operator/flowlogs-enable.json")),
    ("flowlogs status", include_str!("../../../policies/operator/flowlogs-status.json")),
    ("flowlogs disable", include_str!("../../../policies/operator/flowlogs-disable.json")),
    ("stack deploy", include_str!("../../../policies/operator/stack-deploy.json")),
    ("stack status", include_str!("../../../policies/operator/stack-status.json")),
    ("stack delete", include_str!("../../../policies/operator/stack-delete.json")),
    ("access grant/revoke --via role", include_str!("../../../policies/operator/access-role.json")),
    // `stack deploy`'s policy, plus reading the managed policies attached to the role: after the
    // redeploy a revoke checks every policy of the role for what still grants the bucket.
    ("access grant/revoke --via stack", include_str!("../../../policies/operator/access-stack.json")),
    ("access list", include_str!("../../../policies/operator/access-list.json")),
    ("verify", include_str!("../../../policies/operator/verify.json")),
    ("onboard", include_str!("../../../policies/operator/onboard.json")),
    ("wizard", include_str!("../../../policies/operator/wizard.json")),
    ("offboard", include_str!("../../../policies/operator/offboard.json")),
    // The watcher: the stack (templates/watch.yaml) and what CloudFormation creates and deletes
    // with the caller's credentials (its roles, Automation document and EventBridge rules, named
    // after the stack), and the CloudTrail reads of the prerequisite.
    ("watch enable", include_str!("../../../policies/operator/watch-enable.json")),
    ("watch status", include_str!("../../../policies/operator/watch-status.json")),
    ("watch disable", include_str!("../../../policies/operator/watch-disable.json")),
    // The caller of the org commands (the management account or StackSets' delegated
    // administrator); each includes the single-account policies of what it runs in the caller's
    // own account (the management account's stack and flow logs, a central bucket there).
    ("org onboard", include_str!("../../../policies/operator/org-onboard.json")),
    ("org status/verify", include_str!("../../../policies/operator/org-status.json")),
    ("org offboard", include_str!("../../../policies/operator/org-offboard.json")),
];

/// The IAM actions of CloudFormation's resource handlers per resource type, with their source.
pub const HANDLER_PERMISSIONS: &str = include_str!("../../../policies/cloudformation/handler-permissions.json");

/// `flowgate permissions COMMAND`: the command as typed (words joined by `-`) and the entry of
/// [`OPERATOR_POLICIES`] it prints.
pub const PERMISSION_COMMANDS: &[(&str, &str)] = &[
    ("bucket-create", "bucket create"),
    ("bucket-check", "bucket check"),
    ("flowlogs-enable", "flowlogs enable"),
    ("flowlogs-status", "flowlogs status"),
    ("flowlogs-disable", "flowlogs disable"),
    ("stack-deploy", "stack deploy"),
    ("stack-status", "stack status"),
    ("stack-delete", "stack delete"),
    ("access-grant", "access grant/revoke --via role"),
    ("access-revoke", "access grant/revoke --via role"),
    ("access-grant-stack", "access grant/revoke --via stack"),
    ("access-revoke-stack", "access grant/revoke --via stack"),
    ("access-list", "access list"),
    ("verify", "verify"),
    ("onboard", "onboard"),
    ("watch-enable", "watch enable"),
    ("watch-status", "watch status"),
    ("watch-disable", "watch disable"),
    ("wizard", "wizard"),
    ("offboard", "offboard"),
    ("org-onboard", "org onboard"),
    ("org-status", "org status/verify"),
    ("org-verify", "org status/verify"),
    ("org-offboard", "org offboard"),
];

/// The names a rendered policy is scoped to.
#[derive(Debug, Clone)]
pub struct PolicyNames {
    pub partition: Partition,
    /// `None`: any account (`*`). IAM and CloudFormation act only in the caller's own account, so
    /// the wildcard grants no more than the account's id would.
    pub account: Option<String>,
    pub role_name: String,
    pub stack_name: String,
    pub bucket: Option<BucketName>,
    /// The StackSet of the org commands.
    pub stack_set_name: String,
    /// The role the org commands assume in the log-archive account.
    pub log_archive_role: String,
    /// The log-archive account, when it is not the caller's: only then does the policy let the
    /// caller assume the log-archive role, and only in that account.
    pub log_archive_account: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("'{0}' is not a command with an operator policy")]
    UnknownCommand(String),
    #[error("the {0} policy is scoped to the flow-log bucket")]
    NeedsBucket(String),
    #[error("the {0} policy does not parse after rendering (a bug): {1}")]
    Invalid(String, String),
}

/// The operator policy document of `command` (as typed: `stack-delete` or `stack delete`).
pub fn policy_of(command: &str) -> Result<(&'static str, &'static str), RenderError> {
    let slug = command.split_whitespace().collect::<Vec<_>>().join("-");
    let unknown = || RenderError::UnknownCommand(command.to_owned());
    let &(slug, key) = PERMISSION_COMMANDS.iter().find(|(s, _)| *s == slug).ok_or_else(unknown)?;
    let document = OPERATOR_POLICIES.iter().find(|(c, _)| *c == key).map(|(_, d)| *d).ok_or_else(unknown)?;
    Ok((slug, document))
}

/// The policy of `command` with its placeholders (`${Partition}`, `${AccountId}`, `${RoleName}`,
/// `${StackName}`, `${FlowLogBucket}`, `${StackSetName}`, `${LogArchiveRole}`,
/// `${LogArchiveAccount}`) replaced by `names`. Every value is validated by its
/// parser before it gets here, so none can break out of its JSON string.
pub fn render(command: &str, names: &PolicyNames) -> Result<Value, RenderError> {
    let (slug, document) = policy_of(command)?;
    if document.contains("${FlowLogBucket}") && names.bucket.is_none() {
        return Err(RenderError::NeedsBucket(slug.to_owned()));
    }
    let bucket = names.bucket.as_ref().map(BucketName::as_str).unwrap_or_default();
    let text = document
        .replace("${Partition}", names.partition.name())
        .replace("${AccountId}", names.account.as_deref().unwrap_or("*"))
        .replace("${RoleName}", &names.role_name)
        .replace("${StackName}", &names.stack_name)
        .replace("${FlowLogBucket}", bucket)
        .replace("${StackSetName}", &names.stack_set_name)
        .replace("${LogArchiveRole}", &names.log_archive_role);
    let text = match &names.log_archive_account {
        Some(account) => text.replace("${LogArchiveAccount}", account),
        None => without_log_archive_role(&text),
    };
    if let Some(at) = text.find("${") {
        let rest: String = text[at..].chars().take(24).collect();
        return Err(RenderError::Invalid(slug.to_owned(), format!("unreplaced placeholder {rest}")));
    }
    serde_json::from_str(&text).map_err(|e| RenderError::Invalid(slug.to_owned(), e.to_string()))
}

/// The policy without the resources that name the log-archive account (a central bucket in the
/// caller's own account needs no role assumed): a statement left with no resource goes too.
fn without_log_archive_role(text: &str) -> String {
    let Ok(mut doc) = serde_json::from_str::<Value>(text) else { return text.to_owned() };
    if let Some(statements) = doc.get_mut("Statement").and_then(Value::as_array_mut) {
        for statement in statements.iter_mut() {
            if let Some(Value::Array(resources)) = statement.get_mut("Resource") {
                resources.retain(|r| !r.as_str().is_some_and(|r| r.contains("${LogArchiveAccount}")));
            }
        }
        statements.retain(|s| !matches!(s.get("Resource"), Some(Value::Array(r)) if r.is_empty()));
    }
    doc.to_string()
}

/// Every action an operator policy allows.
pub fn allowed_actions(document: &str) -> Vec<String> {
    let Ok(doc) = policy_doc::parse_document(document) else { return Vec::new() };
    let statements = policy_doc::statements(&doc).unwrap_or_default();
    let mut actions = Vec::new();
    for statement in statements.iter().filter(|s| s["Effect"] == "Allow") {
        match &statement["Action"] {
            Value::String(a) => actions.push(a.clone()),
            Value::Array(items) => actions.extend(items.iter().filter_map(Value::as_str).map(str::to_owned)),
            _ => {}
        }
    }
    actions
}
