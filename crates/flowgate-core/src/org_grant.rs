//! Who the central bucket's policy lets deliver, as org onboard plans it and org status judges
//! it: the accounts the organization's statements name, the plan line that says what an edit
//! gains and loses, and whether one account may deliver today (by the organization's statements
//! in either form, or by the single-account statements of its own).

use schemars::JsonSchema;
use serde::Serialize;

use crate::bucket_policy::{self, DeliveryTarget};
use crate::names::{BucketName, LogPrefix};
use crate::org_delivery::{self, DeliveryForm, GrantChange, OrgDeliveryTarget, OrgPolicyMerge};
use crate::policy_doc::{self, PolicyDocError};
use crate::report::{Change, ChangeStatus};

/// Who the organization's delivery statements let deliver once the plan is applied.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DeliveryGrant {
    /// `per-account` or `org`.
    pub form: &'static str,
    /// The organization form: every account of the organization may deliver, today's and any
    /// that joins later, whatever the scope.
    pub whole_organization: bool,
    /// Every account granted (the organization form: every account of the organization today).
    pub accounts: Vec<String>,
    /// Accounts granted that were not before.
    pub gained: Vec<String>,
    /// Accounts granted before that are not any more.
    pub lost: Vec<String>,
    /// The organization form is replaced: accounts that join the organization later are no
    /// longer granted.
    pub future_accounts_lost: bool,
    /// Accounts granted that are outside the scope.
    pub outside_scope: Vec<String>,
}

/// The scope and the organization a delivery grant is told against.
#[derive(Debug, Clone, Copy)]
pub struct GrantContext<'a> {
    pub scoped: &'a [String],
    pub org_id: &'a str,
    /// Every account of the organization, whatever its status.
    pub org_accounts: &'a [String],
    /// The log-archive account, when it is outside the scope and its own delivery statements
    /// (bucket create's) are or will be in the policy.
    pub own_statements_outside: Option<&'a str>,
}

/// The accounts the delivery policy names: those in scope (`scoped`); and when per-account
/// statements replace the organization's (which let every account deliver), every `active`
/// account of the organization, so that no account that delivers today loses its grant to a
/// narrower scope.
pub fn delivery_accounts(existing: Option<&str>, per_account: bool, scoped: &[String], active: &[String]) -> Vec<String> {
    let org_form_now = org_delivery::org_form_granted(existing);
    let mut accounts = scoped.to_vec();
    if org_form_now && per_account {
        accounts.extend(active.iter().filter(|a| !scoped.contains(a)).cloned());
        accounts.sort();
    }
    accounts
}

/// The plan line of the delivery statements (`exists`: the bucket is there already) and who they
/// grant: every account gained or lost by the edit, every account granted outside the scope, and,
/// in the organization form, that every account of the organization may deliver.
pub fn grant_line(
    merge: &OrgPolicyMerge,
    existing: Option<&str>,
    bucket: &BucketName,
    exists: bool,
    grant: &GrantContext<'_>,
) -> Result<(Change, DeliveryGrant), PolicyDocError> {
    let after = merge.document.as_deref().or(existing);
    let change = org_delivery::grant_change(existing, after, grant.org_id, grant.org_accounts)?;
    let outside: Vec<String> = change.granted.iter().filter(|a| !grant.scoped.contains(a)).cloned().collect();
    let parts = grant_parts(merge, &change, &outside, grant);
    let size = format!("{} of {} bytes", merge.size_bytes, org_delivery::BUCKET_POLICY_LIMIT_BYTES);
    let (status, detail) = match (&merge.document, exists) {
        (None, _) => (ChangeStatus::Skipped, format!("{} ({size})", parts.join("; "))),
        (Some(_), true) => (ChangeStatus::Planned, format!("{}; {size}", parts.join("; "))),
        (Some(_), false) => (ChangeStatus::Planned, format!("{}; {size} (after the bucket is created)", parts.join("; "))),
    };
    let line = Change::new("put-delivery-statements", bucket.as_str(), status, detail);
    let grant = DeliveryGrant {
        form: if change.whole_organization { "org" } else { "per-account" },
        whole_organization: change.whole_organization,
        accounts: change.granted,
        gained: change.gained,
        lost: change.lost,
        future_accounts_lost: change.future_accounts_lost,
        outside_scope: outside,
    };
    Ok((line, grant))
}

/// What the plan line says about who may deliver: what the edit does, the accounts gained and
/// lost, every account granted outside the scope and why.
fn grant_parts(merge: &OrgPolicyMerge, change: &GrantChange, outside: &[String], grant: &GrantContext<'_>) -> Vec<String> {
    let list = |accounts: &[String]| format!("{} account(s): {}", accounts.len(), accounts.join(", "));
    let org_form = change.whole_organization;
    let mut parts = vec![edit_text(merge, org_form)];
    if org_form {
        parts.push(format!(
            "the organization form lets every account of organization {} deliver, its {} account(s) today and any that joins later, whatever the scope",
            grant.org_id,
            change.granted.len()
        ));
    }
    // Per-account without a change of form, the accounts gained are the "more account(s)" above.
    let more_named = merge.document.is_some() && !merge.form_changed && !org_form;
    let mut named: Vec<String> = merge.kept_accounts.iter().chain(merge.added_accounts.iter().filter(|_| more_named)).cloned().collect();
    if !change.gained.is_empty() && (org_form || merge.form_changed) {
        parts.push(format!("gained: {}", list(&change.gained)));
        named.extend(change.gained.iter().cloned());
    }
    if !change.lost.is_empty() {
        parts.push(format!("no longer granted: {}", list(&change.lost)));
    }
    if change.future_accounts_lost {
        parts.push("accounts that join the organization later are no longer granted".to_owned());
    }
    if !merge.kept_accounts.is_empty() {
        parts.push(format!("kept (granted before): {}", list(&merge.kept_accounts)));
    }
    let unexplained: Vec<String> = outside.iter().filter(|a| !named.contains(a)).cloned().collect();
    match (unexplained.is_empty(), merge.form_changed && !org_form) {
        (true, _) => {}
        // Every active account the organization form let deliver keeps its grant.
        (false, true) => parts.push(format!("kept from the organization form, outside the scope: {}", list(&unexplained))),
        (false, false) => parts.push(format!("granted outside the scope: {}", list(&unexplained))),
    }
    if !merge.dropped_resources.is_empty() {
        parts.push(format!("no longer granted (another prefix): {}", merge.dropped_resources.join(", ")));
    }
    if !merge.aws_statements.is_empty() {
        parts.push(format!(
            "AWS's own delivery statements kept: {} (written by AWS when the bucket owner created a flow log)",
            merge.aws_statements.join(", ")
        ));
    }
    if let Some(account) = grant.own_statements_outside {
        parts.push(format!("the log-archive account {account}, outside the scope, may deliver by its own statements (put-bucket-policy)"));
    }
    parts
}

/// What the edit of the organization's statements does, in a few words.
fn edit_text(merge: &OrgPolicyMerge, org_form: bool) -> String {
    match (&merge.document, merge.form_changed, org_form) {
        (None, _, _) => "organization delivery already granted".to_owned(),
        (Some(_), true, true) => "the per-account statements rewritten in the organization form".to_owned(),
        (Some(_), true, false) => "the organization form rewritten as per-account statements".to_owned(),
        (Some(_), false, true) => "one statement for the organization (aws:SourceOrgID)".to_owned(),
        (Some(_), false, false) if merge.added_accounts.is_empty() => "organization delivery statements".to_owned(),
        (Some(_), false, false) => format!("delivery for {} more account(s): {}", merge.added_accounts.len(), merge.added_accounts.join(", ")),
    }
}

/// Whether the policy holds flowgate's single-account statements for `account`.
pub fn has_account_statements(existing: Option<&str>, account: &str) -> bool {
    let statements = existing.and_then(|text| policy_doc::parse_document(text).ok()).and_then(|doc| policy_doc::statements(&doc).ok());
    statements.unwrap_or_default().iter().any(|s| bucket_policy::is_account_statement(s, account))
}

/// The central bucket flow logs are delivered to.
#[derive(Debug, Clone, Copy)]
pub struct CentralBucket<'a> {
    pub partition: &'a str,
    pub bucket: &'a BucketName,
    pub prefix: Option<&'a LogPrefix>,
    pub hive_partitions: bool,
}

/// Whether `policy` lets `account` deliver: it already grants the account's path under this
/// prefix in the per-account form or in the organization's (with this organization's id), so
/// that merging it in either form would change nothing; or any statement grants what the
/// single-account statements grant (the log-archive account's own, or an account onboarded on
/// its own into this bucket).
pub fn may_deliver(policy: Option<&str>, central: &CentralBucket<'_>, org_id: &str, account: &str) -> bool {
    if policy.is_none() {
        return false;
    }
    let accounts = [account.to_owned()];
    let by_org_statements = [DeliveryForm::PerAccount, DeliveryForm::Org { org_id: org_id.to_owned() }].into_iter().any(|form| {
        let target = OrgDeliveryTarget {
            partition: central.partition,
            bucket: central.bucket,
            prefix: central.prefix,
            hive_partitions: central.hive_partitions,
            form,
        };
        org_delivery::merge_org_delivery(policy, &target, &accounts).is_ok_and(|m| m.document.is_none() && !m.form_changed)
    });
    let own = DeliveryTarget {
        partition: central.partition,
        bucket: central.bucket,
        prefix: central.prefix,
        account,
        hive_partitions: central.hive_partitions,
    };
    let by_own_statements = bucket_policy::missing_delivery_statements(policy, &bucket_policy::delivery_statements(&own)).is_ok_and(|m| m.is_empty());
    by_org_statements || by_own_statements
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "111111111111";
    const B: &str = "222222222222";
    const C: &str = "333333333333";
    const ORG: &str = "o-abcdefghij";

    fn ids(accounts: &[&str]) -> Vec<String> {
        accounts.iter().map(|a| a.to_string()).collect()
    }

    fn target(bucket: &BucketName, form: DeliveryForm) -> OrgDeliveryTarget<'_> {
        OrgDeliveryTarget { partition: "aws", bucket, prefix: None, hive_partitions: false, form }
    }

    fn org_form(bucket: &BucketName) -> String {
        let org = target(bucket, DeliveryForm::Org { org_id: ORG.into() });
        org_delivery::merge_org_delivery(None, &org, &ids(&[A])).unwrap().document.unwrap()
    }

    #[test]
    fn per_account_statements_replacing_the_org_form_keep_every_active_account() {
        let bucket: BucketName = "central-logs".parse().unwrap();
        let scoped = ids(&[A]);
        let active = ids(&[A, B, C]);
        let org = org_form(&bucket);
        assert_eq!(delivery_accounts(Some(&org), true, &scoped, &active), active);
        // Already per-account, or staying in the org form: the scope only.
        assert_eq!(delivery_accounts(None, true, &scoped, &active), scoped);
        assert_eq!(delivery_accounts(Some(&org), false, &scoped, &active), scoped);
    }

    fn context<'a>(scoped: &'a [String], org_accounts: &'a [String]) -> GrantContext<'a> {
        GrantContext { scoped, org_id: ORG, org_accounts, own_statements_outside: None }
    }

    #[test]
    fn the_grant_line_names_the_accounts_added_and_a_second_run_is_skipped() {
        let bucket: BucketName = "central-logs".parse().unwrap();
        let (scoped, all) = (ids(&[A, B]), ids(&[A, B, C]));
        let merge = org_delivery::merge_org_delivery(None, &target(&bucket, DeliveryForm::PerAccount), &scoped).unwrap();
        let (line, grant) = grant_line(&merge, None, &bucket, false, &context(&scoped, &all)).unwrap();
        assert_eq!(line.status, ChangeStatus::Planned);
        assert!(line.detail.starts_with(&format!("delivery for 2 more account(s): {A}, {B}")), "{}", line.detail);
        assert!(line.detail.ends_with("(after the bucket is created)"), "{}", line.detail);
        assert_eq!((grant.form, grant.gained.clone(), grant.outside_scope.is_empty()), ("per-account", scoped.clone(), true));
        let policy = merge.document.unwrap();
        let again = org_delivery::merge_org_delivery(Some(&policy), &target(&bucket, DeliveryForm::PerAccount), &scoped).unwrap();
        let (line, _) = grant_line(&again, Some(&policy), &bucket, true, &context(&scoped, &all)).unwrap();
        assert_eq!(line.status, ChangeStatus::Skipped);
        assert!(line.detail.starts_with("organization delivery already granted"), "{}", line.detail);
    }

    #[test]
    fn the_org_form_says_it_grants_every_account_and_leaving_it_says_what_is_lost() {
        let bucket: BucketName = "central-logs".parse().unwrap();
        let (scoped, all) = (ids(&[A]), ids(&[A, B, C]));
        let org = target(&bucket, DeliveryForm::Org { org_id: ORG.into() });
        let merge = org_delivery::merge_org_delivery(None, &org, &scoped).unwrap();
        let (line, grant) = grant_line(&merge, None, &bucket, true, &context(&scoped, &all)).unwrap();
        assert!(grant.whole_organization && grant.outside_scope == ids(&[B, C]), "{grant:?}");
        assert!(line.detail.contains(&format!("every account of organization {ORG} deliver, its 3 account(s) today")), "{}", line.detail);
        // Back to per-account for the scope only: the others keep their grant, named as such.
        let policy = merge.document.unwrap();
        let accounts = delivery_accounts(Some(&policy), true, &scoped, &all);
        let back = org_delivery::merge_org_delivery(Some(&policy), &target(&bucket, DeliveryForm::PerAccount), &accounts).unwrap();
        let (line, grant) = grant_line(&back, Some(&policy), &bucket, true, &context(&scoped, &all)).unwrap();
        assert!(grant.future_accounts_lost && !grant.whole_organization, "{grant:?}");
        assert!(line.detail.contains("the organization form rewritten as per-account statements"), "{}", line.detail);
        assert!(line.detail.contains(&format!("kept from the organization form, outside the scope: 2 account(s): {B}, {C}")), "{}", line.detail);
    }

    fn own_statements(bucket: &BucketName, account: &str) -> String {
        let own = DeliveryTarget { partition: "aws", bucket, prefix: None, account, hive_partitions: false };
        let statements = bucket_policy::delivery_statements(&own);
        bucket_policy::merge_delivery_statements(None, &statements, &|_| false).unwrap().document.unwrap()
    }

    #[test]
    fn an_account_may_deliver_by_the_organizations_statements_in_either_form_or_by_its_own() {
        let bucket: BucketName = "central-logs".parse().unwrap();
        let central = CentralBucket { partition: "aws", bucket: &bucket, prefix: None, hive_partitions: false };
        let per = org_delivery::merge_org_delivery(None, &target(&bucket, DeliveryForm::PerAccount), &ids(&[A])).unwrap().document.unwrap();
        assert!(may_deliver(Some(&per), &central, ORG, A));
        assert!(!may_deliver(Some(&per), &central, ORG, B));
        let org = org_form(&bucket);
        assert!(may_deliver(Some(&org), &central, ORG, C), "the organization form grants every account");
        assert!(!may_deliver(Some(&org), &central, "o-otherorgxyz", C), "another organization's form grants none");
        let own = own_statements(&bucket, B);
        assert!(may_deliver(Some(&own), &central, ORG, B));
        assert!(has_account_statements(Some(&own), B) && !has_account_statements(Some(&own), A));
        assert!(!may_deliver(None, &central, ORG, A));
        assert!(!has_account_statements(None, A));
    }
}
