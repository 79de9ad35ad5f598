//! Which accounts of an AWS Organization an `org onboard` covers: the OUs the StackSet targets
//! (`--ous`, or the whole root), the `--include-accounts`/`--exclude-accounts` filters, and the
//! accounts that cannot be onboarded (not ACTIVE) or that a service-managed StackSet never reaches
//! (the management account, which goes the single-account way).
//!
//! Id formats are Organizations' own (API Reference, "OrganizationalUnit" and "Parent" data types,
//! https://docs.aws.amazon.com/organizations/latest/APIReference/API_OrganizationalUnit.html):
//! an OU id is `ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}`, a root id `r-[0-9a-z]{4,32}`, an account id
//! 12 digits.

use std::collections::{BTreeSet, HashMap, HashSet};

/// An account's `Status` in ListAccounts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccountStatus {
    Active,
    Suspended,
    PendingClosure,
    /// A status this version does not know, as AWS wrote it.
    #[serde(untagged)]
    Other(String),
}

impl AccountStatus {
    pub fn parse(text: &str) -> Self {
        match text {
            "ACTIVE" => Self::Active,
            "SUSPENDED" => Self::Suspended,
            "PENDING_CLOSURE" => Self::PendingClosure,
            other => Self::Other(other.to_owned()),
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct OrgAccount {
    pub id: String,
    pub name: String,
    pub status: AccountStatus,
    pub parent_id: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct OrgUnit {
    pub id: String,
    pub name: String,
    pub parent_id: String,
}

/// The organization as discovered: its root, every OU and every account with its parent.
#[derive(Debug, Clone)]
pub struct OrgTree {
    pub root_id: String,
    pub units: Vec<OrgUnit>,
    pub accounts: Vec<OrgAccount>,
    pub management_account: String,
    pub org_id: String,
}

/// The scope flags as given.
#[derive(Debug, Clone, Default)]
pub struct ScopeRequest {
    pub ous: Vec<String>,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

/// How an account in scope is reached.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Placement {
    /// By the service-managed StackSet.
    Member,
    /// The management account: service-managed StackSets never deploy to it, so flowgate deploys
    /// its stack the single-account way.
    Management,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(tag = "decision", rename_all = "kebab-case")]
pub enum AccountDecision {
    InScope {
        placement: Placement,
    },
    OutOfScope {
        reason: String,
    },
    /// In scope by the flags but cannot be onboarded (not ACTIVE).
    Skipped {
        reason: String,
    },
}

#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct ScopedAccount {
    pub id: String,
    pub name: String,
    /// The OU names from the root, e.g. `Root/Workloads/Prod`.
    pub ou_path: String,
    pub status: AccountStatus,
    #[serde(flatten)]
    pub decision: AccountDecision,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct OrgScope {
    /// Every account of the organization, sorted by id.
    pub accounts: Vec<ScopedAccount>,
    /// The OU ids the StackSet's instances target: `--ous`, or the root.
    pub target_ous: Vec<String>,
    pub account_filter: AccountFilter,
}

/// StackSets' `DeploymentTargets.AccountFilterType` with its `Accounts`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", content = "accounts", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccountFilter {
    None,
    Intersection(Vec<String>),
    Difference(Vec<String>),
}

impl OrgScope {
    /// In scope and reached by the StackSet.
    pub fn members(&self) -> Vec<&ScopedAccount> {
        self.accounts.iter().filter(|a| matches!(&a.decision, AccountDecision::InScope { placement: Placement::Member })).collect()
    }

    /// The management account when it is in scope (onboarded the single-account way).
    pub fn management(&self) -> Option<&ScopedAccount> {
        self.accounts.iter().find(|a| matches!(&a.decision, AccountDecision::InScope { placement: Placement::Management }))
    }

    /// Every account in scope.
    pub fn in_scope(&self) -> Vec<&ScopedAccount> {
        self.accounts.iter().filter(|a| matches!(&a.decision, AccountDecision::InScope { .. })).collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("'{0}' is not an AWS account id: give 12 digits, e.g. 123456789012")]
    BadAccountId(String),
    #[error("'{0}' is not an OU or root id: give ou-xxxx-xxxxxxxx or r-xxxx (see `aws organizations list-organizational-units-for-parent`)")]
    BadOuId(String),
    #[error("no {what} id given: give one or more, comma-separated")]
    Empty { what: &'static str },
    #[error("OU '{0}' is not in this organization: check the id with `aws organizations list-organizational-units-for-parent`")]
    UnknownOu(String),
    #[error("account {id} in --{flag} is not an account of this organization: check it with `aws organizations list-accounts`")]
    UnknownAccount { id: String, flag: &'static str },
    #[error("every --include-accounts id is also in --exclude-accounts: nothing would be onboarded")]
    NothingIncluded,
}

fn is_lower_alnum(text: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
}

pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// `r-[0-9a-z]{4,32}`
pub fn is_root_id(text: &str) -> bool {
    text.strip_prefix("r-").is_some_and(|rest| is_lower_alnum(rest, 4, 32))
}

/// `ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}`
pub fn is_ou_id(text: &str) -> bool {
    text.strip_prefix("ou-").and_then(|rest| rest.split_once('-')).is_some_and(|(root, ou)| is_lower_alnum(root, 4, 32) && is_lower_alnum(ou, 8, 32))
}

fn split_ids(text: &str, what: &'static str, valid: fn(&str) -> bool, bad: fn(String) -> ScopeError) -> Result<Vec<String>, ScopeError> {
    let mut ids: Vec<String> = Vec::new();
    for piece in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if !valid(piece) {
            return Err(bad(piece.to_owned()));
        }
        if !ids.iter().any(|id| id == piece) {
            ids.push(piece.to_owned());
        }
    }
    if ids.is_empty() {
        return Err(ScopeError::Empty { what });
    }
    Ok(ids)
}

/// A comma-separated list of account ids (`--include-accounts`, `--exclude-accounts`): trimmed,
/// deduplicated, in the order given.
pub fn parse_account_ids(text: &str) -> Result<Vec<String>, ScopeError> {
    split_ids(text, "account", is_account_id, ScopeError::BadAccountId)
}

/// A comma-separated list of OU or root ids (`--ous`): trimmed, deduplicated, in the order given.
pub fn parse_ou_ids(text: &str) -> Result<Vec<String>, ScopeError> {
    split_ids(text, "OU", |id| is_ou_id(id) || is_root_id(id), ScopeError::BadOuId)
}

/// The OU ids above `parent` (nearest first) and the `Root/...` path of names. Stops at the root,
/// at a parent the tree does not hold, and at a cycle, so a malformed tree cannot loop.
fn ancestry(tree: &OrgTree, units: &HashMap<&str, &OrgUnit>, parent: &str) -> (Vec<String>, String) {
    let mut chain = Vec::new();
    let mut names = Vec::new();
    let mut seen = HashSet::new();
    let mut at = parent;
    let mut reached_root = false;
    while seen.insert(at) {
        if at == tree.root_id {
            reached_root = true;
            break;
        }
        let Some(unit) = units.get(at) else { break };
        chain.push(unit.id.clone());
        names.push(unit.name.clone());
        at = &unit.parent_id;
    }
    names.push(if reached_root { "Root".to_owned() } else { "?".to_owned() });
    names.reverse();
    (chain, names.join("/"))
}

/// Decides every account of `tree` against `request`. Errors name the first id that is malformed
/// or not in the organization.
pub fn select(tree: &OrgTree, request: &ScopeRequest) -> Result<OrgScope, ScopeError> {
    for ou in &request.ous {
        if !is_ou_id(ou) && !is_root_id(ou) {
            return Err(ScopeError::BadOuId(ou.clone()));
        }
    }
    for id in request.include.iter().chain(&request.exclude) {
        if !is_account_id(id) {
            return Err(ScopeError::BadAccountId(id.clone()));
        }
    }
    let units: HashMap<&str, &OrgUnit> = tree.units.iter().map(|u| (u.id.as_str(), u)).collect();
    for ou in &request.ous {
        if *ou != tree.root_id && !units.contains_key(ou.as_str()) {
            return Err(ScopeError::UnknownOu(ou.clone()));
        }
    }
    let known: HashSet<&str> = tree.accounts.iter().map(|a| a.id.as_str()).collect();
    for (flag, ids) in [("include-accounts", &request.include), ("exclude-accounts", &request.exclude)] {
        if let Some(id) = ids.iter().find(|id| !known.contains(id.as_str())) {
            return Err(ScopeError::UnknownAccount { id: id.clone(), flag });
        }
    }
    let include: BTreeSet<&str> = request.include.iter().map(String::as_str).collect();
    let exclude: BTreeSet<&str> = request.exclude.iter().map(String::as_str).collect();
    let account_filter = if !include.is_empty() {
        let kept: Vec<String> = include.difference(&exclude).map(|s| (*s).to_owned()).collect();
        if kept.is_empty() {
            return Err(ScopeError::NothingIncluded);
        }
        AccountFilter::Intersection(kept)
    } else if !exclude.is_empty() {
        AccountFilter::Difference(exclude.iter().map(|s| (*s).to_owned()).collect())
    } else {
        AccountFilter::None
    };
    let whole_root = request.ous.is_empty() || request.ous.contains(&tree.root_id);
    let mut target_ous: Vec<String> = Vec::new();
    if whole_root {
        target_ous.push(tree.root_id.clone());
    } else {
        for ou in &request.ous {
            if !target_ous.contains(ou) {
                target_ous.push(ou.clone());
            }
        }
    }

    let mut accounts: Vec<ScopedAccount> = tree
        .accounts
        .iter()
        .map(|account| {
            let (chain, ou_path) = ancestry(tree, &units, &account.parent_id);
            let under = whole_root || chain.iter().any(|ou| target_ous.contains(ou));
            let decision = match &account.status {
                AccountStatus::Suspended => AccountDecision::Skipped { reason: "suspended".into() },
                AccountStatus::PendingClosure => AccountDecision::Skipped { reason: "pending closure".into() },
                AccountStatus::Other(status) => AccountDecision::Skipped { reason: format!("status {status}") },
                AccountStatus::Active if exclude.contains(account.id.as_str()) => {
                    AccountDecision::OutOfScope { reason: "excluded by --exclude-accounts".into() }
                }
                AccountStatus::Active if !include.is_empty() && !include.contains(account.id.as_str()) => {
                    AccountDecision::OutOfScope { reason: "not in --include-accounts".into() }
                }
                AccountStatus::Active if !under => AccountDecision::OutOfScope { reason: "not under --ous".into() },
                AccountStatus::Active => AccountDecision::InScope {
                    placement: if account.id == tree.management_account { Placement::Management } else { Placement::Member },
                },
            };
            ScopedAccount { id: account.id.clone(), name: account.name.clone(), ou_path, status: account.status.clone(), decision }
        })
        .collect();
    accounts.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(OrgScope { accounts, target_ous, account_filter })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ROOT: &str = "r-ab12";
    const WORKLOADS: &str = "ou-ab12-workload";
    const PROD: &str = "ou-ab12-prod0001";
    const SANDBOX: &str = "ou-ab12-sandbox1";
    const MGMT: &str = "111111111111";
    const PROD_A: &str = "222222222222";
    const PROD_B: &str = "333333333333";
    const WORK: &str = "444444444444";
    const SAND: &str = "555555555555";
    const GONE: &str = "666666666666";

    fn unit(id: &str, name: &str, parent: &str) -> OrgUnit {
        OrgUnit { id: id.into(), name: name.into(), parent_id: parent.into() }
    }

    fn account(id: &str, status: &str, parent: &str) -> OrgAccount {
        OrgAccount { id: id.into(), name: format!("acct-{id}"), status: AccountStatus::parse(status), parent_id: parent.into() }
    }

    /// Root{mgmt, Workloads{work, Prod{a, b}}, Sandbox{sand, suspended}}
    fn tree() -> OrgTree {
        OrgTree {
            root_id: ROOT.into(),
            units: vec![unit(WORKLOADS, "Workloads", ROOT), unit(PROD, "Prod", WORKLOADS), unit(SANDBOX, "Sandbox", ROOT)],
            accounts: vec![
                account(SAND, "ACTIVE", SANDBOX),
                account(PROD_B, "ACTIVE", PROD),
                account(MGMT, "ACTIVE", ROOT),
                account(GONE, "SUSPENDED", SANDBOX),
                account(PROD_A, "ACTIVE", PROD),
                account(WORK, "ACTIVE", WORKLOADS),
            ],
            management_account: MGMT.into(),
            org_id: "o-abcdef1234".into(),
        }
    }

    fn request(ous: &[&str], include: &[&str], exclude: &[&str]) -> ScopeRequest {
        let own = |ids: &[&str]| ids.iter().map(|s| (*s).to_owned()).collect();
        ScopeRequest { ous: own(ous), include: own(include), exclude: own(exclude) }
    }

    fn decision<'a>(scope: &'a OrgScope, id: &str) -> &'a AccountDecision {
        &scope.accounts.iter().find(|a| a.id == id).unwrap().decision
    }

    fn ids(accounts: Vec<&ScopedAccount>) -> Vec<&str> {
        accounts.into_iter().map(|a| a.id.as_str()).collect()
    }

    #[test]
    fn no_flags_is_every_active_account_of_the_root() {
        let scope = select(&tree(), &ScopeRequest::default()).unwrap();
        assert_eq!(scope.accounts.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), [MGMT, PROD_A, PROD_B, WORK, SAND, GONE]);
        assert_eq!(ids(scope.members()), [PROD_A, PROD_B, WORK, SAND]);
        assert_eq!(scope.management().map(|a| a.id.as_str()), Some(MGMT));
        assert_eq!(ids(scope.in_scope()), [MGMT, PROD_A, PROD_B, WORK, SAND]);
        assert_eq!(decision(&scope, GONE), &AccountDecision::Skipped { reason: "suspended".into() });
        assert_eq!(scope.target_ous, [ROOT]);
        assert_eq!(scope.account_filter, AccountFilter::None);
        let paths: Vec<&str> = scope.accounts.iter().map(|a| a.ou_path.as_str()).collect();
        assert_eq!(paths, ["Root", "Root/Workloads/Prod", "Root/Workloads/Prod", "Root/Workloads", "Root/Sandbox", "Root/Sandbox"]);
        // The root id as an OU means the whole root too.
        let by_root = select(&tree(), &request(&[ROOT, PROD], &[], &[])).unwrap();
        assert_eq!(ids(by_root.in_scope()), ids(scope.in_scope()));
        assert_eq!(by_root.target_ous, [ROOT]);
    }

    #[test]
    fn ous_cover_every_depth_below_them() {
        let scope = select(&tree(), &request(&[WORKLOADS], &[], &[])).unwrap();
        assert_eq!(ids(scope.in_scope()), [PROD_A, PROD_B, WORK]);
        assert!(scope.management().is_none());
        assert_eq!(decision(&scope, SAND), &AccountDecision::OutOfScope { reason: "not under --ous".into() });
        assert_eq!(decision(&scope, MGMT), &AccountDecision::OutOfScope { reason: "not under --ous".into() });
        assert_eq!(scope.target_ous, [WORKLOADS]);
        let two = select(&tree(), &request(&[PROD, SANDBOX, PROD], &[], &[])).unwrap();
        assert_eq!(ids(two.in_scope()), [PROD_A, PROD_B, SAND]);
        assert_eq!(two.target_ous, [PROD, SANDBOX]);
    }

    #[test]
    fn include_and_exclude_filter_and_become_the_stackset_filter() {
        let scope = select(&tree(), &request(&[], &[WORK, PROD_A, SAND], &[SAND])).unwrap();
        assert_eq!(ids(scope.in_scope()), [PROD_A, WORK]);
        assert_eq!(decision(&scope, SAND), &AccountDecision::OutOfScope { reason: "excluded by --exclude-accounts".into() });
        assert_eq!(decision(&scope, PROD_B), &AccountDecision::OutOfScope { reason: "not in --include-accounts".into() });
        assert_eq!(scope.account_filter, AccountFilter::Intersection(vec![PROD_A.into(), WORK.into()]));

        let scope = select(&tree(), &request(&[], &[], &[WORK, PROD_A])).unwrap();
        assert_eq!(ids(scope.in_scope()), [MGMT, PROD_B, SAND]);
        assert_eq!(scope.account_filter, AccountFilter::Difference(vec![PROD_A.into(), WORK.into()]));
        assert_eq!(serde_json::to_value(&scope.account_filter).unwrap(), json!({"type": "DIFFERENCE", "accounts": [PROD_A, WORK]}));

        assert_eq!(select(&tree(), &request(&[], &[WORK], &[WORK])).unwrap_err(), ScopeError::NothingIncluded);
    }

    #[test]
    fn status_is_judged_before_the_filters() {
        let mut org = tree();
        org.accounts.push(account("777777777777", "PENDING_CLOSURE", PROD));
        org.accounts.push(account("888888888888", "CLOSED", PROD));
        let scope = select(&org, &request(&[], &[], &[GONE])).unwrap();
        assert_eq!(decision(&scope, GONE), &AccountDecision::Skipped { reason: "suspended".into() });
        assert_eq!(decision(&scope, "777777777777"), &AccountDecision::Skipped { reason: "pending closure".into() });
        assert_eq!(decision(&scope, "888888888888"), &AccountDecision::Skipped { reason: "status CLOSED".into() });
        let json = serde_json::to_value(scope.accounts.iter().find(|a| a.id == "888888888888").unwrap()).unwrap();
        assert_eq!(json["status"], "CLOSED");
        assert_eq!(json["decision"], "skipped");
        assert_eq!(json["reason"], "status CLOSED");
        let json = serde_json::to_value(scope.management().unwrap()).unwrap();
        assert_eq!(
            json,
            json!({"id": MGMT, "name": "acct-111111111111", "ou_path": "Root", "status": "ACTIVE", "decision": "in-scope", "placement": "management"})
        );
        assert_eq!(serde_json::to_value(AccountStatus::PendingClosure).unwrap(), "PENDING_CLOSURE");
    }

    #[test]
    fn bad_and_unknown_ids_are_named() {
        let org = tree();
        assert_eq!(select(&org, &request(&["ou-ab12-missing1"], &[], &[])).unwrap_err(), ScopeError::UnknownOu("ou-ab12-missing1".into()));
        assert_eq!(select(&org, &request(&["r-zz99"], &[], &[])).unwrap_err(), ScopeError::UnknownOu("r-zz99".into()));
        assert_eq!(select(&org, &request(&["OU-AB12-PROD0001"], &[], &[])).unwrap_err(), ScopeError::BadOuId("OU-AB12-PROD0001".into()));
        let err = select(&org, &request(&[], &["999999999999"], &[])).unwrap_err();
        assert_eq!(err, ScopeError::UnknownAccount { id: "999999999999".into(), flag: "include-accounts" });
        assert!(err.to_string().contains("999999999999") && !err.to_string().contains('\n'));
        assert_eq!(select(&org, &request(&[], &[], &["12345"])).unwrap_err(), ScopeError::BadAccountId("12345".into()));
        // More than 50 OUs is not an error here: the caller splits the targets into calls.
        let mut many = tree();
        many.units.extend((0..60).map(|i| unit(&format!("ou-ab12-{i:08}"), "x", ROOT)));
        let ous: Vec<String> = (0..60).map(|i| format!("ou-ab12-{i:08}")).collect();
        assert_eq!(select(&many, &ScopeRequest { ous, ..ScopeRequest::default() }).unwrap().target_ous.len(), 60);
    }

    #[test]
    fn a_cycle_or_a_missing_parent_does_not_loop() {
        let mut org = tree();
        org.units.push(unit("ou-ab12-looploop", "A", "ou-ab12-loopback"));
        org.units.push(unit("ou-ab12-loopback", "B", "ou-ab12-looploop"));
        org.units.push(unit("ou-ab12-orphaned", "Lost", "ou-ab12-nowhere1"));
        org.accounts.push(account("121212121212", "ACTIVE", "ou-ab12-looploop"));
        org.accounts.push(account("131313131313", "ACTIVE", "ou-ab12-orphaned"));
        let scope = select(&org, &request(&["ou-ab12-loopback"], &[], &[])).unwrap();
        let looped = scope.accounts.iter().find(|a| a.id == "121212121212").unwrap();
        assert_eq!(looped.ou_path, "?/B/A");
        assert!(matches!(looped.decision, AccountDecision::InScope { .. }));
        let orphan = scope.accounts.iter().find(|a| a.id == "131313131313").unwrap();
        assert_eq!(orphan.ou_path, "?/Lost");
        assert!(matches!(orphan.decision, AccountDecision::OutOfScope { .. }));
    }

    #[test]
    fn flag_values_are_parsed() {
        assert_eq!(parse_account_ids(" 222222222222, 111111111111,222222222222,").unwrap(), ["222222222222", "111111111111"]);
        assert_eq!(parse_account_ids("1111-2222-3333"), Err(ScopeError::BadAccountId("1111-2222-3333".into())));
        assert_eq!(parse_account_ids(" , "), Err(ScopeError::Empty { what: "account" }));
        assert_eq!(parse_ou_ids("ou-ab12-prod0001, r-ab12 ,ou-ab12-prod0001").unwrap(), ["ou-ab12-prod0001", "r-ab12"]);
        for bad in ["ou-ab1-prod0001", "ou-ab12-prod001", "ou-ab12", "r-ab1", "o-abcdef1234", "ou-ab12-prod_001"] {
            assert_eq!(parse_ou_ids(bad), Err(ScopeError::BadOuId(bad.into())), "{bad}");
        }
        assert!(is_ou_id(&format!("ou-{}-{}", "a".repeat(32), "b".repeat(32))));
        assert!(!is_ou_id(&format!("ou-{}-{}", "a".repeat(33), "b".repeat(8))));
    }

    mod properties {
        use super::*;
        use proptest::collection::vec;
        use proptest::prelude::*;

        const STATUSES: [&str; 4] = ["ACTIVE", "SUSPENDED", "PENDING_CLOSURE", "ACTIVE"];

        /// A tree of up to 6 OUs (each under the root or an earlier OU) and up to 12 accounts, and
        /// a request drawn from its own ids.
        fn org_and_request() -> impl Strategy<Value = (OrgTree, ScopeRequest)> {
            (vec(any::<prop::sample::Index>(), 0..6), vec((any::<prop::sample::Index>(), 0..STATUSES.len()), 1..12), any::<prop::sample::Index>())
                .prop_flat_map(|(unit_parents, account_specs, mgmt)| {
                    let mut units = Vec::new();
                    for (i, parent) in unit_parents.iter().enumerate() {
                        let parent = if i == 0 {
                            ROOT.to_owned()
                        } else {
                            [ROOT.to_owned()].into_iter().chain((0..i).map(|j| format!("ou-ab12-{j:08}"))).nth(parent.index(i + 1)).unwrap()
                        };
                        units.push(unit(&format!("ou-ab12-{i:08}"), &format!("U{i}"), &parent));
                    }
                    let parents: Vec<String> = [ROOT.to_owned()].into_iter().chain(units.iter().map(|u| u.id.clone())).collect();
                    let accounts: Vec<OrgAccount> = account_specs
                        .iter()
                        .enumerate()
                        .map(|(i, (p, s))| account(&format!("{:012}", 500_000_000_000u64 + i as u64), STATUSES[*s], &parents[p.index(parents.len())]))
                        .collect();
                    let ids: Vec<String> = accounts.iter().map(|a| a.id.clone()).collect();
                    let management = ids[mgmt.index(ids.len())].clone();
                    let org = OrgTree { root_id: ROOT.into(), units, accounts, management_account: management, org_id: "o-abcdef1234".into() };
                    let all_ous = parents.clone();
                    (
                        Just(org),
                        prop::sample::subsequence(all_ous.clone(), 0..=all_ous.len().min(3)),
                        prop::sample::subsequence(ids.clone(), 0..=ids.len()),
                        prop::sample::subsequence(ids.clone(), 0..=ids.len()),
                    )
                })
                .prop_map(|(org, ous, include, exclude)| (org, ScopeRequest { ous, include, exclude }))
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

            #[test]
            fn every_account_once_and_the_rules_hold((org, req) in org_and_request()) {
                let scope = match select(&org, &req) {
                    Ok(scope) => scope,
                    Err(ScopeError::NothingIncluded) => {
                        prop_assert!(!req.include.is_empty() && req.include.iter().all(|a| req.exclude.contains(a)));
                        return Ok(());
                    }
                    Err(e) => return Err(TestCaseError::fail(format!("unexpected {e}"))),
                };
                let mut seen: Vec<&str> = scope.accounts.iter().map(|a| a.id.as_str()).collect();
                let mut all: Vec<&str> = org.accounts.iter().map(|a| a.id.as_str()).collect();
                prop_assert!(seen.windows(2).all(|w| w[0] < w[1]), "sorted by id, no duplicate");
                seen.sort();
                all.sort();
                prop_assert_eq!(seen, all);
                for a in scope.in_scope() {
                    prop_assert!(!req.exclude.contains(&a.id), "{} excluded but in scope", a.id);
                    prop_assert_eq!(&a.status, &AccountStatus::Active);
                    prop_assert!(req.include.is_empty() || req.include.contains(&a.id));
                }
                prop_assert!(scope.members().iter().all(|a| a.id != org.management_account));
                prop_assert_eq!(scope.members().len() + usize::from(scope.management().is_some()), scope.in_scope().len());
                if req.ous.is_empty() && req.include.is_empty() && req.exclude.is_empty() {
                    let active = org.accounts.iter().filter(|a| a.status == AccountStatus::Active).count();
                    prop_assert_eq!(scope.in_scope().len(), active);
                    prop_assert_eq!(&scope.account_filter, &AccountFilter::None);
                }
            }
        }
    }
}
