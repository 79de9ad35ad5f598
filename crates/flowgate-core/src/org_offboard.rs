//! What `org offboard` does to the central bucket's policy: it removes what flowgate wrote for the
//! accounts that leave, and nothing else.
//! - The per-account org statements (`FlowgateOrgLogDelivery*`) lose the leaving accounts' entries
//!   (paths, `aws:SourceAccount`, `aws:SourceArn`) and go once no account is left in them.
//! - The organization form (`aws:SourceOrgID`) names no account: it goes with the whole
//!   organization only, and until then it still lets every account deliver, the leaving ones too.
//! - The log-archive account's single-account statements (`FlowgateLogDelivery*`, written by
//!   `bucket create` when org onboard created or adopted the bucket there) go when that account
//!   leaves, unless an onboarding of that account on its own still stands
//!   ([`log_archive_statements`]).
//!
//! Every other statement, and every top-level key, stays as it was (byte for byte) and in place.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use super::bucket_policy;
use super::org_delivery::{self, ORG_ACL_SID, ORG_WRITE_SID, SOURCE_ACCOUNT, SOURCE_ARN};
use super::policy_doc::{self, PolicyDocError};
use super::report::{Change, ChangeStatus};

/// Who leaves.
#[derive(Debug, Clone, Copy)]
pub struct Offboarding<'a> {
    pub leaving: &'a [String],
    /// Every account of the organization leaves: the organization form goes too.
    pub whole_organization: bool,
    /// The log-archive account whose single-account statements go with this offboarding (see
    /// [`log_archive_statements`]); `None`: they stay.
    pub log_archive: Option<&'a str>,
}

/// What offboarding does to the policy, and what it leaves.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OffboardEdit {
    /// The policy to put; `None` with `delete_policy` false: nothing to change.
    pub document: Option<String>,
    /// Nothing is left: DeleteBucketPolicy instead of a put.
    pub delete_policy: bool,
    /// The Sids of the statements removed whole, in policy order.
    pub removed: Vec<String>,
    /// Accounts taken out of the per-account org statements (which stay for the others, or go).
    pub taken_out: Vec<String>,
    /// Accounts the per-account org statements still name afterwards.
    pub still_granted: Vec<String>,
    /// The organization form stays: every account of the organization may still deliver.
    pub org_form_kept: bool,
    /// Every statement left, by Sid (`(no Sid)` for one without), in policy order.
    pub kept: Vec<String>,
    /// AWS's own delivery statements among those left (see `aws_delivery`): AWS wrote them, not
    /// flowgate, so they stay whoever leaves.
    pub aws_kept: Vec<String>,
}

impl OffboardEdit {
    pub fn changes_policy(&self) -> bool {
        self.document.is_some() || self.delete_policy
    }
}

/// The label a statement is reported by.
fn label(statement: &Value) -> String {
    policy_doc::sid(statement).unwrap_or("(no Sid)").to_owned()
}

/// Whether a resource or `aws:SourceArn` value of the per-account statements is `account`'s: its
/// delivery path (`.../AWSLogs/ACCOUNT/*` or `.../aws-account-id=ACCOUNT/*`) or its log
/// delivery's ARN (`arn:P:logs:*:ACCOUNT:*`).
fn names_account(value: &str, account: &str) -> bool {
    value.ends_with(&format!("/{account}/*")) || value.ends_with(&format!("aws-account-id={account}/*")) || value.split(':').nth(4) == Some(account)
}

/// `statement` without `leaving`'s resources and condition values, each list keeping its shape.
fn without_accounts(statement: &Value, leaving: &[String]) -> Value {
    let keep = |v: &Value| !v.as_str().is_some_and(|s| leaving.iter().any(|a| s == a || names_account(s, a)));
    let mut out = statement.clone();
    if let Some(Value::Array(items)) = out.get_mut("Resource") {
        items.retain(keep);
    }
    if let Some(Value::Object(operators)) = out.get_mut("Condition") {
        for keys in operators.values_mut() {
            let Value::Object(keys) = keys else { continue };
            for (key, values) in keys.iter_mut() {
                if key.eq_ignore_ascii_case(SOURCE_ACCOUNT) || key.eq_ignore_ascii_case(SOURCE_ARN) {
                    if let Value::Array(items) = values {
                        items.retain(keep);
                    }
                }
            }
        }
    }
    out
}

/// What becomes of one statement.
enum Fate {
    Keep,
    Remove,
    /// A per-account org statement without these accounts.
    TakeOut(Vec<String>),
}

fn fate(statement: &Value, offboarding: &Offboarding<'_>) -> Fate {
    if matches!(policy_doc::sid(statement), Some(ORG_WRITE_SID | ORG_ACL_SID)) {
        if org_delivery::is_org_form(statement) {
            return if offboarding.whole_organization { Fate::Remove } else { Fate::Keep };
        }
        let named = org_delivery::sorted_unique(org_delivery::condition_values(statement, "StringEquals", SOURCE_ACCOUNT));
        let leaving: Vec<String> = named.iter().filter(|a| offboarding.whole_organization || offboarding.leaving.contains(a)).cloned().collect();
        return match (leaving.is_empty(), leaving.len() == named.len()) {
            _ if offboarding.whole_organization => Fate::Remove,
            (true, _) => Fate::Keep,
            (false, true) => Fate::Remove,
            (false, false) => Fate::TakeOut(leaving),
        };
    }
    match offboarding.log_archive {
        Some(account) if bucket_policy::is_account_statement(statement, account) => Fate::Remove,
        _ => Fate::Keep,
    }
}

/// The policy once `offboarding` has left; see the module comment for what goes.
pub fn offboard_edit(existing: Option<&str>, offboarding: &Offboarding<'_>) -> Result<OffboardEdit, PolicyDocError> {
    let Some(text) = existing.filter(|t| !t.trim().is_empty()) else { return Ok(OffboardEdit::default()) };
    let mut doc = policy_doc::parse_document(text)?;
    let mut edit = OffboardEdit::default();
    let mut kept = Vec::new();
    let mut changed = false;
    for statement in policy_doc::statements(&doc)? {
        let org_statement = matches!(policy_doc::sid(&statement), Some(ORG_WRITE_SID | ORG_ACL_SID));
        match fate(&statement, offboarding) {
            Fate::Keep => {
                edit.org_form_kept |= org_statement && org_delivery::is_org_form(&statement);
                kept.push(statement);
            }
            Fate::Remove => {
                if org_statement && !org_delivery::is_org_form(&statement) {
                    edit.taken_out.extend(org_delivery::condition_values(&statement, "StringEquals", SOURCE_ACCOUNT));
                }
                edit.removed.push(label(&statement));
                changed = true;
            }
            Fate::TakeOut(accounts) => {
                edit.taken_out.extend(accounts.iter().cloned());
                kept.push(without_accounts(&statement, &accounts));
                changed = true;
            }
        }
    }
    edit.taken_out = org_delivery::sorted_unique(edit.taken_out);
    edit.kept = kept.iter().map(label).collect();
    edit.aws_kept = kept.iter().filter(|s| super::aws_delivery::is_aws_statement(s)).map(label).collect();
    let after = Value::Object({
        let mut after = doc.clone();
        after.insert("Statement".into(), Value::Array(kept.clone()));
        after
    });
    edit.still_granted = org_delivery::granted_org_accounts(Some(&after.to_string()))?;
    if !changed {
        return Ok(edit);
    }
    if kept.is_empty() {
        edit.delete_policy = true;
        return Ok(edit);
    }
    doc.insert("Statement".into(), Value::Array(kept));
    edit.document = Some(serde_json::to_string(&Value::Object(doc)).map_err(|e| PolicyDocError::NotJson(e.to_string()))?);
    Ok(edit)
}

/// An onboarding of the log-archive account on its own, as offboard finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnOnboarding<'a> {
    /// No single-account role stack in the account.
    None,
    /// The account's single-account stack goes with this offboarding (the management account,
    /// whose stack org onboard deploys and org offboard deletes).
    Leaving,
    /// The account's single-account stack stays: `flowgate onboard` ran there on its own.
    Stays { stack: &'a str },
}

/// Whether the log-archive account's single-account statements go with this offboarding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogArchiveStatements {
    Remove,
    Keep { reason: String },
}

/// flowgate wrote the single-account statements (their Sids) for the log-archive account when
/// org onboard created or adopted the bucket there, and nothing of the organization needs them
/// once that account leaves (or the whole organization does). An onboarding of that account on
/// its own (`flowgate onboard`, which writes the same statements and deploys the role stack that
/// org onboard never deploys in a member) claims them too: while its stack stands they stay.
pub fn log_archive_statements(log_archive: &str, leaving: &[String], whole_organization: bool, own: OwnOnboarding<'_>) -> LogArchiveStatements {
    if !whole_organization && !leaving.iter().any(|a| a == log_archive) {
        return LogArchiveStatements::Keep { reason: "the account is not leaving".to_owned() };
    }
    match own {
        OwnOnboarding::Stays { stack } => {
            LogArchiveStatements::Keep { reason: format!("the account has its own role stack {stack} (flowgate onboard there): they stay with it") }
        }
        OwnOnboarding::None | OwnOnboarding::Leaving => LogArchiveStatements::Remove,
    }
}

/// An account in scope that offboard keeps, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeptAccount {
    pub account: String,
    pub reason: String,
}

/// The accounts offboard keeps after the flow-log pass (as planned, or as applied): those with a
/// failed change (an account or a region that could not be read, a removal that failed). Their
/// flow logs may still deliver to the bucket, so each keeps its delivery grant and its stack
/// instance (the operator role a re-run removes them through), and the StackSet stays with it.
pub fn kept_accounts(by_account: &BTreeMap<String, Vec<Change>>) -> Vec<KeptAccount> {
    by_account
        .iter()
        .filter_map(|(account, changes)| {
            let failed = changes.iter().find(|c| c.status == ChangeStatus::Failed)?;
            Some(KeptAccount { account: account.clone(), reason: format!("{} failed: its flow logs may still deliver", failed.action) })
        })
        .collect()
}

/// `kept` and then each account of `more` not kept already.
pub fn with_kept(mut kept: Vec<KeptAccount>, more: Vec<KeptAccount>) -> Vec<KeptAccount> {
    for account in more {
        if !kept.iter().any(|k| k.account == account.account) {
            kept.push(account);
        }
    }
    kept
}

/// Who leaves once the kept accounts stay: the accounts in scope but the kept; the whole
/// organization only when none is kept (the organization form goes with it, and would take the
/// kept accounts' grant too).
pub fn leaving_without(in_scope: &[String], whole_organization: bool, kept: &[KeptAccount]) -> (Vec<String>, bool) {
    let leaving = in_scope.iter().filter(|a| !kept.iter().any(|k| k.account == **a)).cloned().collect();
    (leaving, whole_organization && kept.is_empty())
}

/// The log-archive account's own statements stay with it when it is kept.
pub fn kept_log_archive(log_archive: &str, kept: &[KeptAccount]) -> Option<LogArchiveStatements> {
    let kept = kept.iter().find(|k| k.account == log_archive)?;
    Some(LogArchiveStatements::Keep { reason: format!("the account is kept ({})", kept.reason) })
}

/// What org offboard does to the central bucket's policy, as planned (or as applied): the
/// report's `policy_edit`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PolicyEdit {
    /// Statements removed whole, by Sid.
    pub removed_statements: Vec<String>,
    /// Accounts taken out of the per-account organization statements.
    pub accounts_taken_out: Vec<String>,
    /// Accounts the per-account organization statements still name.
    pub accounts_still_granted: Vec<String>,
    /// Accounts in scope that keep their grant: their flow logs could not be removed (see
    /// [`kept_accounts`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accounts_kept: Vec<String>,
    /// The organization form stays: every account of the organization may still deliver.
    pub org_form_kept: bool,
    /// Every statement left, by Sid (`(no Sid)` for one without), in policy order.
    pub kept_statements: Vec<String>,
    /// AWS's own delivery statements among those left (`AWSLogDeliveryWrite`, ...): written by
    /// AWS when the bucket owner created a flow log, never removed by flowgate.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aws_statements: Vec<String>,
    /// Nothing is left: the bucket policy is deleted.
    pub policy_deleted: bool,
    /// The log-archive account's own delivery statements (`FlowgateLogDelivery*`): `removed`,
    /// `none`, or `kept: WHY`.
    pub log_archive_statements: String,
    /// The bucket's policy is as this says (applied, or nothing to change); false: a plan (a dry
    /// run, or a step that did not run or failed).
    pub applied: bool,
}

/// The report of `edit` (not yet applied); `has_own`: the policy holds the log-archive account's
/// own statements.
pub fn policy_edit_report(edit: &OffboardEdit, has_own: bool, verdict: &LogArchiveStatements) -> PolicyEdit {
    let removed_own =
        edit.removed.iter().any(|sid| sid == bucket_policy::WRITE_SID || sid == bucket_policy::ACL_SID) && *verdict == LogArchiveStatements::Remove;
    let log_archive_statements = match verdict {
        _ if removed_own => "removed".to_owned(),
        LogArchiveStatements::Keep { reason } if has_own => format!("kept: {reason}"),
        _ if has_own => "kept".to_owned(),
        _ => "none".to_owned(),
    };
    PolicyEdit {
        removed_statements: edit.removed.clone(),
        accounts_taken_out: edit.taken_out.clone(),
        accounts_still_granted: edit.still_granted.clone(),
        accounts_kept: Vec::new(),
        org_form_kept: edit.org_form_kept,
        kept_statements: edit.kept.clone(),
        aws_statements: edit.aws_kept.clone(),
        policy_deleted: edit.delete_policy,
        log_archive_statements,
        applied: false,
    }
}

/// The plan line of the policy edit: what goes, what stays and who may still deliver; `status`
/// when the edit changes the policy, skipped when it does not.
pub fn policy_line(bucket: &str, edit: &OffboardEdit, report: &PolicyEdit, org_id: &str, log_archive: &str, status: ChangeStatus) -> Change {
    let list = |accounts: &[String]| format!("{} account(s): {}", accounts.len(), accounts.join(", "));
    let mut parts = Vec::new();
    if !edit.removed.is_empty() {
        parts.push(format!("remove {}", edit.removed.join(", ")));
    }
    if !edit.taken_out.is_empty() {
        parts.push(format!("take out {}", list(&edit.taken_out)));
    }
    if !report.accounts_kept.is_empty() {
        parts.push(format!("kept, their flow logs not removed: {} (a re-run takes them out)", list(&report.accounts_kept)));
    }
    match report.log_archive_statements.as_str() {
        "removed" => parts.push(format!("the log-archive account {log_archive}'s own statements go with it")),
        "none" => {}
        kept => parts.push(format!("the log-archive account {log_archive}'s own statements {kept}")),
    }
    if !edit.still_granted.is_empty() {
        parts.push(format!("still delivering: {}", list(&edit.still_granted)));
    }
    if edit.org_form_kept {
        parts.push(format!(
            "the organization form stays: every account of organization {org_id} may still deliver, the leaving ones too (--whole-organization removes it)"
        ));
    }
    if !edit.aws_kept.is_empty() {
        parts.push(format!("AWS's own delivery statements stay (AWS wrote them, not flowgate): {}", edit.aws_kept.join(", ")));
    }
    parts.push(if edit.delete_policy {
        "nothing else left: the bucket policy is deleted".to_owned()
    } else {
        format!("{} statement(s) kept: {}", edit.kept.len(), if edit.kept.is_empty() { "none".to_owned() } else { edit.kept.join(", ") })
    });
    let status = if edit.changes_policy() { status } else { ChangeStatus::Skipped };
    let detail = if edit.changes_policy() { parts.join("; ") } else { format!("nothing to remove; {}", parts.join("; ")) };
    Change::new("remove-delivery-statements", bucket, status, detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bucket_policy::{DeliveryTarget, delivery_statements};
    use crate::names::BucketName;
    use crate::org_delivery::{DeliveryForm, OrgDeliveryTarget, granted_org_accounts, merge_org_delivery};
    use serde_json::json;

    const ORG_ID: &str = "o-abcdef1234";

    fn bucket() -> BucketName {
        "central-logs".parse().unwrap()
    }

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{:012}", 100_000_000_000u64 + i as u64 * 7919)).collect()
    }

    fn target(bucket: &BucketName, org_form: bool, hive: bool) -> OrgDeliveryTarget<'_> {
        let form = if org_form { DeliveryForm::Org { org_id: ORG_ID.into() } } else { DeliveryForm::PerAccount };
        OrgDeliveryTarget { partition: "aws", bucket, prefix: None, hive_partitions: hive, form }
    }

    fn single(account: &str) -> Vec<Value> {
        let b = bucket();
        delivery_statements(&DeliveryTarget { partition: "aws", bucket: &b, prefix: None, account, hive_partitions: false })
    }

    fn doc(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    fn leaving<'a>(accounts: &'a [String], whole: bool, log_archive: Option<&'a str>) -> Offboarding<'a> {
        Offboarding { leaving: accounts, whole_organization: whole, log_archive }
    }

    #[test]
    fn taking_accounts_out_of_hive_paths_and_leaving_the_org_form_alone() {
        let b = bucket();
        let a = ids(3);
        let merged = merge_org_delivery(None, &target(&b, false, true), &a).unwrap().document.unwrap();
        let edit = offboard_edit(Some(&merged), &leaving(&a[..1], false, None)).unwrap();
        let after = edit.document.unwrap();
        assert_eq!(edit.taken_out, a[..1].to_vec());
        assert_eq!(edit.still_granted, a[1..].to_vec());
        assert!(edit.removed.is_empty() && !edit.org_form_kept);
        assert!(!after.contains(&a[0]) && after.contains(&format!("aws-account-id={}/*", a[1])), "{after}");

        let org_policy = merge_org_delivery(None, &target(&b, true, false), &a).unwrap().document.unwrap();
        let untouched = offboard_edit(Some(&org_policy), &leaving(&a, false, None)).unwrap();
        assert!(!untouched.changes_policy() && untouched.taken_out.is_empty() && untouched.org_form_kept);
        assert_eq!(untouched.kept, [ORG_WRITE_SID, ORG_ACL_SID]);
        let whole = offboard_edit(Some(&org_policy), &leaving(&[], true, None)).unwrap();
        assert!(whole.delete_policy && whole.removed == [ORG_WRITE_SID, ORG_ACL_SID] && !whole.org_form_kept);
    }

    /// The case: the log-archive account's own statements next to the organization's;
    /// they go with that account, and only when asked (the onboarding verdict).
    #[test]
    fn the_log_archive_account_s_own_statements_go_with_it() {
        let b = bucket();
        let a = ids(3);
        let archive = a[0].clone();
        let other = json!({"Sid": "DenyInsecure", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::central-logs/*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}});
        let mut statements = vec![other.clone()];
        statements.extend(single(&archive));
        let existing = json!({"Version": "2012-10-17", "Id": "keep", "Statement": statements}).to_string();
        let merged = merge_org_delivery(Some(&existing), &target(&b, false, false), &a).unwrap().document.unwrap();

        let edit = offboard_edit(Some(&merged), &leaving(&a, false, Some(&archive))).unwrap();
        assert_eq!(edit.removed, [bucket_policy::WRITE_SID, bucket_policy::ACL_SID, ORG_WRITE_SID, ORG_ACL_SID]);
        assert_eq!(edit.kept, ["DenyInsecure"]);
        assert_eq!(edit.taken_out, a);
        let after = doc(edit.document.as_deref().unwrap());
        assert_eq!(after, json!({"Version": "2012-10-17", "Id": "keep", "Statement": [other]}));

        // Without the verdict, the single-account statements stay.
        let kept = offboard_edit(Some(&merged), &leaving(&a, false, None)).unwrap();
        assert_eq!(kept.removed, [ORG_WRITE_SID, ORG_ACL_SID]);
        assert_eq!(kept.kept, ["DenyInsecure", bucket_policy::WRITE_SID, bucket_policy::ACL_SID]);
        // Another account's single-account statements are never the log-archive account's.
        let not_its = offboard_edit(Some(&merged), &leaving(&a, false, Some(&a[1]))).unwrap();
        assert_eq!(not_its.removed, [ORG_WRITE_SID, ORG_ACL_SID]);
    }

    #[test]
    fn who_keeps_the_log_archive_statements() {
        let a = ids(2);
        let remove = |leaving: &[String], whole, own| log_archive_statements(&a[0], leaving, whole, own) == LogArchiveStatements::Remove;
        assert!(remove(&a, false, OwnOnboarding::None));
        assert!(remove(&[], true, OwnOnboarding::None));
        assert!(remove(&a, false, OwnOnboarding::Leaving));
        assert!(!remove(&a[1..], false, OwnOnboarding::None), "the account is not leaving");
        let LogArchiveStatements::Keep { reason } = log_archive_statements(&a[0], &a, true, OwnOnboarding::Stays { stack: "flowgate-cross-account" })
        else {
            panic!("an onboarding of its own keeps them")
        };
        assert!(reason.contains("flowgate-cross-account"), "{reason}");
    }

    /// AWS's own delivery statements (written when the log-archive account, the bucket's owner,
    /// created a flow log: VPC User Guide, "Amazon S3 bucket permissions for flow logs") are not
    /// flowgate's: they stay when that account leaves, and the plan line says so.
    #[test]
    fn aws_s_own_statements_stay_and_are_named() {
        let b = bucket();
        let a = ids(2);
        let own = DeliveryTarget { partition: "aws", bucket: &b, prefix: None, account: &a[0], hive_partitions: false };
        let mut statements = single(&a[0]);
        statements.extend(crate::aws_delivery::aws_statements(&own, "us-east-1"));
        let existing = json!({"Version": "2012-10-17", "Statement": statements}).to_string();
        let merged = merge_org_delivery(Some(&existing), &target(&b, false, false), &a).unwrap();
        assert_eq!(merged.aws_statements, ["AWSLogDeliveryWrite", "AWSLogDeliveryAclCheck"]);
        let merged = merged.document.unwrap();
        let edit = offboard_edit(Some(&merged), &leaving(&a, true, Some(&a[0]))).unwrap();
        assert_eq!(edit.kept, ["AWSLogDeliveryWrite", "AWSLogDeliveryAclCheck"]);
        assert_eq!(edit.aws_kept, edit.kept);
        assert!(!edit.delete_policy && edit.document.is_some());
        let report = policy_edit_report(&edit, true, &LogArchiveStatements::Remove);
        assert_eq!(report.aws_statements, ["AWSLogDeliveryWrite", "AWSLogDeliveryAclCheck"]);
        let line = policy_line("central-logs", &edit, &report, ORG_ID, &a[0], ChangeStatus::Planned);
        assert!(
            line.detail.contains("AWS's own delivery statements stay (AWS wrote them, not flowgate): AWSLogDeliveryWrite, AWSLogDeliveryAclCheck"),
            "{}",
            line.detail
        );
    }

    #[test]
    fn nothing_to_take_out_changes_nothing() {
        let b = bucket();
        assert_eq!(offboard_edit(None, &leaving(&ids(1), true, None)).unwrap(), OffboardEdit::default());
        let merged = merge_org_delivery(None, &target(&b, false, false), &ids(2)).unwrap().document.unwrap();
        let edit = offboard_edit(Some(&merged), &leaving(&ids(5)[3..], false, None)).unwrap();
        assert!(!edit.changes_policy() && edit.removed.is_empty() && edit.taken_out.is_empty());
        assert_eq!(edit.still_granted, ids(2));
        assert!(offboard_edit(Some("{nope"), &leaving(&[], true, None)).is_err());
    }

    #[test]
    fn the_report_and_the_line_say_what_goes_and_whose_statements_stay() {
        let b = bucket();
        let a = ids(3);
        let archive = a[0].clone();
        let mut statements = single(&archive);
        statements.push(
            json!({"Sid": "Reports", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::central-logs/r/*"}),
        );
        let existing = json!({"Statement": statements}).to_string();
        let merged = merge_org_delivery(Some(&existing), &target(&b, false, false), &a).unwrap().document.unwrap();

        let edit = offboard_edit(Some(&merged), &leaving(&a[..1], false, Some(&archive))).unwrap();
        let report = policy_edit_report(&edit, true, &LogArchiveStatements::Remove);
        assert_eq!(report.log_archive_statements, "removed");
        assert_eq!((report.accounts_taken_out.clone(), report.applied), (a[..1].to_vec(), false));
        let line = policy_line("central-logs", &edit, &report, ORG_ID, &archive, ChangeStatus::Planned);
        assert_eq!((line.action.as_str(), line.status), ("remove-delivery-statements", ChangeStatus::Planned));
        let expected = format!(
            "remove {}, {}; take out 1 account(s): {archive}; the log-archive account {archive}'s own statements go with it; still delivering: 2 account(s): {}, {}; 3 statement(s) kept: Reports, {ORG_WRITE_SID}, {ORG_ACL_SID}",
            bucket_policy::WRITE_SID,
            bucket_policy::ACL_SID,
            a[1],
            a[2]
        );
        assert_eq!(line.detail, expected);

        // Kept by an onboarding of its own: said with the reason.
        let stays = LogArchiveStatements::Keep { reason: "its own stack".into() };
        let edit = offboard_edit(Some(&merged), &leaving(&a[..1], false, None)).unwrap();
        let report = policy_edit_report(&edit, true, &stays);
        assert_eq!(report.log_archive_statements, "kept: its own stack");
        assert!(policy_line("b", &edit, &report, ORG_ID, &archive, ChangeStatus::Applied).detail.contains("own statements kept: its own stack"));
        // Nothing to change: skipped whatever the status asked, and said so.
        let nothing = offboard_edit(None, &leaving(&a, false, None)).unwrap();
        let report = policy_edit_report(&nothing, false, &stays);
        assert_eq!(report.log_archive_statements, "none");
        let line = policy_line("b", &nothing, &report, ORG_ID, &archive, ChangeStatus::Planned);
        assert_eq!(line.status, ChangeStatus::Skipped);
        assert_eq!(line.detail, "nothing to remove; 0 statement(s) kept: none");
    }

    #[test]
    fn an_account_with_a_failed_read_or_removal_is_kept_and_only_the_others_leave() {
        let a = ids(3);
        let failed = |action: &str| {
            let mut change = Change::new(action, "x", ChangeStatus::Failed, "d");
            change.error = Some("denied".into());
            change
        };
        let removed = Change::new("delete-flow-log", "fl-1", ChangeStatus::Applied, "d");
        let by_account: BTreeMap<String, Vec<Change>> = [
            (a[0].clone(), vec![removed.clone()]),
            (a[1].clone(), vec![removed, failed("delete-flow-log")]),
            (a[2].clone(), vec![failed("read-account")]),
        ]
        .into_iter()
        .collect();
        let kept = kept_accounts(&by_account);
        assert_eq!(kept.iter().map(|k| k.account.as_str()).collect::<Vec<_>>(), [a[1].as_str(), a[2].as_str()]);
        assert_eq!(kept[1].reason, "read-account failed: its flow logs may still deliver");
        assert_eq!(leaving_without(&a, true, &kept), (vec![a[0].clone()], false), "the organization form stays for the kept");
        assert_eq!(leaving_without(&a, true, &[]), (a.clone(), true));
        let more = with_kept(kept[..1].to_vec(), kept.clone());
        assert_eq!(more, kept, "each account once, the first reason kept");
        assert!(matches!(kept_log_archive(&a[2], &kept), Some(LogArchiveStatements::Keep { reason }) if reason.contains("read-account failed")));
        assert_eq!(kept_log_archive(&a[0], &kept), None);
    }

    #[test]
    fn the_line_names_the_kept_accounts() {
        let b = bucket();
        let a = ids(3);
        let merged = merge_org_delivery(None, &target(&b, false, false), &a).unwrap().document.unwrap();
        let edit = offboard_edit(Some(&merged), &leaving(&a[..2], false, None)).unwrap();
        let mut report = policy_edit_report(&edit, false, &LogArchiveStatements::Remove);
        report.accounts_kept = vec![a[2].clone()];
        let line = policy_line("central-logs", &edit, &report, ORG_ID, &a[0], ChangeStatus::Planned);
        let kept = format!("kept, their flow logs not removed: 1 account(s): {} (a re-run takes them out)", a[2]);
        assert!(line.detail.contains(&kept), "{}", line.detail);
        assert!(line.detail.contains(&format!("still delivering: 1 account(s): {}", a[2])), "{}", line.detail);
    }

    mod properties {
        //! The offboard editor against generated policies: other statements (some of them
        //! flowgate's single-account ones for any account), maybe org statements in either form,
        //! any leaving set. What is not flowgate's for a leaving account stays byte for byte, and
        //! the edit's account of itself is what the policy says afterwards.

        use super::*;
        use proptest::collection::vec;
        use proptest::prelude::*;

        fn account() -> impl Strategy<Value = String> {
            (0..8u64).prop_map(|i| format!("{:012}", 300_000_000_000 + i * 1_000_003))
        }

        fn other_statement() -> impl Strategy<Value = Value> {
            let single = (account(), any::<bool>()).prop_map(|(a, acl)| single(&a)[usize::from(acl)].clone());
            let other = crate::policy_strategies::unrelated_allow(vec!["Reports", "Backup", "", "FlowgateLogDeliveryWrite"]);
            prop_oneof![single, other, crate::policy_strategies::aws_statement()]
        }

        /// Other statements, and maybe org statements (either form) at some place.
        fn policy() -> impl Strategy<Value = Value> {
            (vec(other_statement(), 0..5), prop::option::of((vec(account(), 1..6), any::<bool>(), any::<bool>())), 0..6usize, any::<bool>()).prop_map(
                |(others, org, at, id)| {
                    let mut statements = others;
                    if let Some((accounts, org_form, hive)) = org {
                        let b = bucket();
                        let merged = merge_org_delivery(None, &target(&b, org_form, hive), &accounts).unwrap().document.unwrap();
                        for (k, s) in doc(&merged)["Statement"].as_array().unwrap().iter().enumerate() {
                            statements.insert((at + k).min(statements.len()), s.clone());
                        }
                    }
                    let mut policy = json!({"Version": "2012-10-17", "Statement": statements});
                    if id {
                        policy["Id"] = json!("team");
                    }
                    policy
                },
            )
        }

        fn is_org(statement: &Value) -> bool {
            matches!(policy_doc::sid(statement), Some(ORG_WRITE_SID | ORG_ACL_SID))
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

            #[test]
            fn offboarding_removes_only_what_flowgate_wrote_for_the_leaving(
                existing in policy(),
                gone in vec(account(), 0..5),
                whole in any::<bool>(),
                archive in prop::option::of(account()),
            ) {
                let text = existing.to_string();
                let before_granted = granted_org_accounts(Some(&text)).unwrap();
                let edit = offboard_edit(Some(&text), &leaving(&gone, whole, archive.as_deref())).unwrap();
                let after_text = match (&edit.document, edit.delete_policy) {
                    (Some(d), false) => d.clone(),
                    (None, true) => json!({"Statement": []}).to_string(),
                    (None, false) => text.clone(),
                    (Some(_), true) => { prop_assert!(false, "both a document and a delete"); unreachable!() }
                };
                let after = doc(&after_text);
                let before_statements = existing["Statement"].as_array().unwrap().clone();
                let after_statements = after["Statement"].as_array().unwrap().clone();

                // Top-level keys stay (unless the policy goes whole).
                if !edit.delete_policy {
                    for (key, value) in existing.as_object().unwrap() {
                        if key != "Statement" {
                            prop_assert_eq!(&after[key], value);
                        }
                    }
                }
                // Every statement that is neither an org statement nor the log-archive account's
                // own is kept byte for byte, in order.
                let untouchable = |s: &Value| !is_org(s) && !archive.as_deref().is_some_and(|a| bucket_policy::is_account_statement(s, a));
                let text_of = |items: &[Value]| -> Vec<String> { items.iter().filter(|s| untouchable(s)).map(|s| serde_json::to_string(s).unwrap()).collect() };
                prop_assert_eq!(text_of(&after_statements), text_of(&before_statements));
                for s in &before_statements {
                    if let Some(a) = archive.as_deref().filter(|a| bucket_policy::is_account_statement(s, a)) {
                        prop_assert!(!after_statements.contains(s), "{}'s own statement kept: {}", a, s);
                    }
                }
                // AWS's own statements always stay, and are named.
                let aws_before: Vec<&Value> = before_statements.iter().filter(|s| crate::aws_delivery::is_aws_statement(s)).collect();
                for s in &aws_before {
                    prop_assert!(after_statements.contains(s), "AWS's statement removed: {}", s);
                }
                prop_assert_eq!(edit.aws_kept.len(), aws_before.len());
                // The report is the policy: kept labels, removed ones absent, accounts.
                prop_assert_eq!(&edit.kept, &after_statements.iter().map(label).collect::<Vec<_>>());
                prop_assert_eq!(edit.kept.len() + edit.removed.len(), before_statements.len());
                let after_granted = granted_org_accounts(Some(&after_text)).unwrap();
                prop_assert_eq!(&edit.still_granted, &after_granted);
                for a in &before_granted {
                    let leaves = whole || gone.contains(a);
                    prop_assert_eq!(after_granted.contains(a), !leaves, "{}", a);
                    prop_assert_eq!(edit.taken_out.contains(a), leaves, "{}", a);
                    if leaves {
                        for s in after_statements.iter().filter(|s| is_org(s)) {
                            prop_assert!(!s.to_string().contains(a.as_str()), "{} still named: {}", a, s);
                        }
                    }
                }
                // The organization form goes with the whole organization only.
                let org_form_before = before_statements.iter().any(|s| is_org(s) && org_delivery::is_org_form(s));
                prop_assert_eq!(edit.org_form_kept, org_form_before && !whole);
                // Once more changes nothing.
                let again = offboard_edit(Some(&after_text), &leaving(&gone, whole, archive.as_deref())).unwrap();
                prop_assert!(edit.delete_policy || !again.changes_policy(), "{:?}", again);
            }
        }
    }
}
