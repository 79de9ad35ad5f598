//! The organization's StackSet as planned: what differs between the set and what a run deploys,
//! which members need an instance or need theirs deployed again, and which deployment targets an
//! operation on the scope's instances takes.

use std::collections::BTreeMap;

use crate::org_scope::{AccountFilter, OrgTree};

/// The StackSet as CloudFormation describes it.
#[derive(Debug, Clone, Copy)]
pub struct DeployedSet<'a> {
    pub template_body: &'a str,
    pub parameters: &'a BTreeMap<String, String>,
    /// `None`: CloudFormation did not report it.
    pub auto_deployment: Option<bool>,
}

/// A StackSet of the roles' name is flowgate's when its template holds flowgate's operator role
/// (the fragment every org template carries) or its parameters name that role: only then may
/// `org onboard` update it and `org offboard` delete it.
pub fn is_flowgates_roles_set(set: &DeployedSet<'_>) -> bool {
    set.template_body.contains(&format!("{}:", crate::org_template::OPERATOR_ROLE_NAME)) || set.parameters.contains_key("OperatorRoleName")
}

/// `--stack-set-name` as given to an org command: a StackSet name, and not the watcher's.
pub fn parse_roles_set_name(value: &str) -> Result<String, String> {
    let name = crate::stack_plan::parse_stack_name(value)?;
    if name == crate::org_watch::WATCH_SET_NAME {
        return Err(format!("{name} is the watcher's StackSet (org onboard --watch): name the roles' StackSet otherwise"));
    }
    Ok(name)
}

/// What differs between the StackSet and what this run deploys: the template, the parameters
/// (by name; the ExternalId's value is not shown), auto-deployment (when CloudFormation reports it).
pub fn set_differences(set: &DeployedSet<'_>, template: &str, parameters: &[(String, String)], auto_deploy: bool) -> Vec<String> {
    let mut differences = Vec::new();
    if set.template_body != template {
        differences.push("the template".to_owned());
    }
    let changed: Vec<&str> = parameters.iter().filter(|(k, v)| set.parameters.get(k) != Some(v)).map(|(k, _)| k.as_str()).collect();
    if !changed.is_empty() {
        differences.push(format!("parameter(s) {}", changed.join(", ")));
    }
    if let Some(on) = set.auto_deployment.filter(|on| *on != auto_deploy) {
        differences.push(format!("auto-deployment {} -> {}", if on { "on" } else { "off" }, if auto_deploy { "on" } else { "off" }));
    }
    differences
}

/// Auto-deployment is on unless the scope names its accounts: AWS deploys to every account that
/// joins a target OU, whatever the account filter.
pub fn auto_deploys(filter: &AccountFilter) -> bool {
    !matches!(filter, AccountFilter::Intersection(_))
}

/// One stack instance as ListStackInstances summarizes it.
#[derive(Debug, Clone, Copy)]
pub struct InstanceSummary<'a> {
    pub account: &'a str,
    pub region: &'a str,
    /// CURRENT, OUTDATED or INOPERABLE.
    pub status: &'a str,
    pub detailed_status: Option<&'a str>,
}

/// The members without an instance in `region`.
pub fn missing_instances(members: &[String], instances: &[InstanceSummary<'_>], region: &str) -> Vec<String> {
    members.iter().filter(|m| !instances.iter().any(|i| i.account == m.as_str() && i.region == region)).cloned().collect()
}

/// The members whose instance in `region` a failed or cancelled operation left OUTDATED (and no
/// operation is deploying now): they are deployed again.
pub fn stale_instances(members: &[String], instances: &[InstanceSummary<'_>], region: &str) -> Vec<String> {
    members
        .iter()
        .filter_map(|m| instances.iter().find(|i| i.account == m.as_str() && i.region == region))
        .filter(|i| i.status == "OUTDATED" && !matches!(i.detailed_status, Some("RUNNING" | "PENDING")))
        .map(|i| i.account.to_owned())
        .collect()
}

/// The target OU above `account` (its instance's deployment target), at most eight levels up.
pub fn target_ou_of(tree: &OrgTree, target_ous: &[String], account: &str) -> Option<String> {
    let mut parent = tree.accounts.iter().find(|a| a.id == account)?.parent_id.clone();
    for _ in 0..8 {
        if target_ous.contains(&parent) {
            return Some(parent);
        }
        parent = tree.units.iter().find(|u| u.id == parent)?.parent_id.clone();
    }
    None
}

/// The account filter that deletes the scope's instances but the `kept` accounts' (AWS
/// CloudFormation API Reference, DeploymentTargets: `DIFFERENCE` excludes the accounts listed from
/// the OUs' accounts, `INTERSECTION` takes only them). `None`: no account is left to delete.
pub fn deletion_filter(scope: &AccountFilter, kept: &[String]) -> Option<AccountFilter> {
    if kept.is_empty() {
        return Some(scope.clone());
    }
    let sorted = |mut accounts: Vec<String>| {
        accounts.sort();
        accounts.dedup();
        accounts
    };
    match scope {
        AccountFilter::None => Some(AccountFilter::Difference(sorted(kept.to_vec()))),
        AccountFilter::Difference(excluded) => Some(AccountFilter::Difference(sorted(excluded.iter().chain(kept).cloned().collect()))),
        AccountFilter::Intersection(included) => {
            let left: Vec<String> = included.iter().filter(|a| !kept.contains(a)).cloned().collect();
            (!left.is_empty()).then_some(AccountFilter::Intersection(left))
        }
    }
}

/// Whom the operator roles trust after a run: the StackSet's `AdministratorAccountId`. The
/// management account and a delegated administrator edit the same StackSet (StackSets with
/// service-managed permissions are created in the management account, including those a
/// delegated administrator creates: CloudFormation API Reference, CreateStackSet `CallAs`), so a
/// run that wrote its own account there would take the roles away from the other one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdministratorTrust {
    /// The roles trust the caller already, or nothing yet: the caller.
    Caller,
    /// Another account holds the trust and the run was asked to take it over.
    TakeOver { from: String },
    /// Another account holds the trust, and the run was not asked to take it over.
    HeldBy { account: String },
}

/// The trust a run leaves: `existing`, the StackSet's value (`None`: no StackSet, or no value).
pub fn administrator_trust(existing: Option<&str>, caller: &str, take_over: bool) -> AdministratorTrust {
    match existing.filter(|a| !a.is_empty() && *a != caller) {
        None => AdministratorTrust::Caller,
        Some(other) if take_over => AdministratorTrust::TakeOver { from: other.to_owned() },
        Some(other) => AdministratorTrust::HeldBy { account: other.to_owned() },
    }
}

/// A role of the StackSet that already existed in an account, as the failed instance's reason
/// says: CloudFormation cannot create a named IAM role that exists (IAM's EntityAlreadyExists),
/// and says "NAME already exists", "... already exists in stack ARN" when another stack holds
/// it, or "Resource of type 'AWS::IAM::Role' with identifier 'NAME' already exists".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleCollision {
    pub role: String,
    /// The stack holding the role, when the reason names it.
    pub stack: Option<String>,
}

/// The collision a failed instance's `reason` reports with one of `roles`, if it is one.
pub fn role_collision(reason: &str, roles: &[&str]) -> Option<RoleCollision> {
    if !reason.contains("already exists") && !reason.contains("EntityAlreadyExists") {
        return None;
    }
    let role = roles.iter().find(|role| names_role(reason, role))?;
    let stack = reason.split(":stack/").nth(1).and_then(|rest| rest.split(['/', ' ', '"', '\'']).next()).filter(|s| !s.is_empty());
    Some(RoleCollision { role: (*role).to_owned(), stack: stack.map(str::to_owned) })
}

/// `role` stands in `text` as a whole name (a longer role name that contains it does not count;
/// a dot after it ends a sentence).
fn names_role(text: &str, role: &str) -> bool {
    let part_of_name = |c: char| c.is_ascii_alphanumeric() || "_+=,@-".contains(c);
    text.match_indices(role).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + role.len()..].chars().next();
        !before.is_some_and(part_of_name) && !after.is_some_and(part_of_name)
    })
}

/// What resolves a collision in `account`, for its failure and its plan line. flowgate cannot
/// reach the account before its instance deploys, so the fix is a command the user runs there:
/// `flowgate stack delete`, which deletes only a stack that is flowgate's (by its parameters and
/// resources). The StackSet then makes the role under the same name, so its ARN is unchanged.
/// `single_account`: the vendor role's name and the single-account stack to name when the reason
/// names none (only the vendor role is ever in a single-account stack).
pub fn collision_fix(account: &str, collision: &RoleCollision, single_account: (&str, &str)) -> String {
    let role = &collision.role;
    let (vendor_role, default_stack) = single_account;
    let stack = match collision.stack.as_deref() {
        Some(stack) if stack.starts_with("StackSet-") => {
            return format!(
                "role {role} in account {account} belongs to {stack}, another StackSet's stack: remove that StackSet's instance there, or give this StackSet another --role-name"
            );
        }
        Some(stack) => stack,
        None if role == vendor_role => default_stack,
        None => {
            return format!(
                "role {role} already exists in account {account}, in no stack the error names: it is not this StackSet's; remove it there, then re-run"
            );
        }
    };
    format!(
        "role {role} in account {account} is in its stack {stack} (onboarded on its own?): run `flowgate stack delete --stack-name {stack}` there (with that account's credentials, e.g. --profile), then re-run at once (the vendor cannot reach the account in between): the StackSet makes the role again under the same name and ARN, with the organization's ExternalId. stack delete deletes only a stack of flowgate's; a role of someone else's is theirs to remove, or give the StackSet another --role-name"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org_scope::{AccountStatus, OrgAccount, OrgUnit};

    #[test]
    fn a_stack_set_update_names_what_changed() {
        let parameters: BTreeMap<String, String> = [("RoleName".to_owned(), "A".to_owned())].into_iter().collect();
        let set = DeployedSet { template_body: "T", parameters: &parameters, auto_deployment: Some(true) };
        let same = [("RoleName".to_owned(), "A".to_owned())];
        assert!(set_differences(&set, "T", &same, true).is_empty());
        assert_eq!(set_differences(&set, "T", &same, false), ["auto-deployment on -> off"]);
        let renamed = [("RoleName".to_owned(), "B".to_owned())];
        assert_eq!(set_differences(&set, "U", &renamed, true), ["the template", "parameter(s) RoleName"]);
        // CloudFormation did not report auto-deployment: not a difference.
        let unknown = DeployedSet { auto_deployment: None, ..set };
        assert!(set_differences(&unknown, "T", &same, false).is_empty());
    }

    #[test]
    fn named_accounts_turn_auto_deployment_off() {
        assert!(auto_deploys(&AccountFilter::None));
        assert!(auto_deploys(&AccountFilter::Difference(vec!["1".into()])));
        assert!(!auto_deploys(&AccountFilter::Intersection(vec!["1".into()])));
    }

    fn instance<'a>(account: &'a str, status: &'a str, detailed: Option<&'a str>) -> InstanceSummary<'a> {
        InstanceSummary { account, region: "us-east-1", status, detailed_status: detailed }
    }

    #[test]
    fn members_without_an_instance_in_the_region_are_missing_and_outdated_ones_stale() {
        let members: Vec<String> = ["a", "b", "c", "d", "e"].map(String::from).to_vec();
        let mut elsewhere = instance("e", "CURRENT", None);
        elsewhere.region = "eu-west-1";
        let instances = [
            instance("a", "CURRENT", Some("SUCCEEDED")),
            instance("b", "OUTDATED", Some("FAILED")),
            instance("c", "OUTDATED", Some("RUNNING")),
            elsewhere,
            instance("x", "OUTDATED", Some("FAILED")),
        ];
        assert_eq!(missing_instances(&members, &instances, "us-east-1"), ["d", "e"]);
        // A RUNNING operation is deploying c already; x is not a member in scope.
        assert_eq!(stale_instances(&members, &instances, "us-east-1"), ["b"]);
    }

    #[test]
    fn the_target_ou_is_the_nearest_targeted_ancestor() {
        let unit = |id: &str, parent: &str| OrgUnit { id: id.into(), name: id.into(), parent_id: parent.into() };
        let account = |id: &str, parent: &str| OrgAccount { id: id.into(), name: id.into(), status: AccountStatus::Active, parent_id: parent.into() };
        let tree = OrgTree {
            root_id: "r-1".into(),
            units: vec![unit("ou-a", "r-1"), unit("ou-b", "ou-a")],
            accounts: vec![account("111111111111", "ou-b"), account("222222222222", "r-1")],
            management_account: "999999999999".into(),
            org_id: "o-1".into(),
        };
        assert_eq!(target_ou_of(&tree, &["ou-a".into()], "111111111111").as_deref(), Some("ou-a"));
        assert_eq!(target_ou_of(&tree, &["ou-b".into(), "ou-a".into()], "111111111111").as_deref(), Some("ou-b"));
        assert_eq!(target_ou_of(&tree, &["ou-a".into()], "222222222222"), None);
        assert_eq!(target_ou_of(&tree, &["ou-a".into()], "333333333333"), None);
    }

    #[test]
    fn kept_accounts_are_left_out_of_the_deletion() {
        let kept = vec!["222222222222".to_owned()];
        assert_eq!(deletion_filter(&AccountFilter::None, &[]), Some(AccountFilter::None));
        assert_eq!(deletion_filter(&AccountFilter::None, &kept), Some(AccountFilter::Difference(kept.clone())));
        let excluded = AccountFilter::Difference(vec!["333333333333".into()]);
        assert_eq!(deletion_filter(&excluded, &kept), Some(AccountFilter::Difference(vec!["222222222222".into(), "333333333333".into()])));
        let included = AccountFilter::Intersection(vec!["111111111111".into(), "222222222222".into()]);
        assert_eq!(deletion_filter(&included, &kept), Some(AccountFilter::Intersection(vec!["111111111111".into()])));
        assert_eq!(deletion_filter(&AccountFilter::Intersection(kept.clone()), &kept), None, "nothing left to delete");
    }

    #[test]
    fn the_trust_stays_with_the_administrator_that_holds_it_unless_taken_over() {
        assert_eq!(administrator_trust(None, "111111111111", false), AdministratorTrust::Caller);
        assert_eq!(administrator_trust(Some(""), "111111111111", false), AdministratorTrust::Caller, "an empty value trusts no one");
        assert_eq!(administrator_trust(Some("111111111111"), "111111111111", true), AdministratorTrust::Caller);
        assert_eq!(administrator_trust(Some("111111111111"), "222222222222", false), AdministratorTrust::HeldBy { account: "111111111111".into() });
        assert_eq!(administrator_trust(Some("111111111111"), "222222222222", true), AdministratorTrust::TakeOver { from: "111111111111".into() });
    }

    #[test]
    fn a_role_collision_is_read_from_the_instance_reason() {
        let roles = ["FlowgateCrossAccountRole", "FlowgateOrgOperatorRole"];
        let collision = |role: &str, stack: Option<&str>| Some(RoleCollision { role: role.into(), stack: stack.map(Into::into) });
        let cases = [
            ("FlowgateCrossAccountRole already exists", collision("FlowgateCrossAccountRole", None)),
            (
                "FlowgateCrossAccountRole already exists in stack arn:aws:cloudformation:us-east-1:111111111111:stack/flowgate-cross-account/0f1e",
                collision("FlowgateCrossAccountRole", Some("flowgate-cross-account")),
            ),
            (
                "Resource of type 'AWS::IAM::Role' with identifier 'FlowgateOrgOperatorRole' already exists.",
                collision("FlowgateOrgOperatorRole", None),
            ),
            (
                "Resource handler returned message: \"Role with name FlowgateCrossAccountRole already exists. (Service: Iam, Status Code: 409)\" (HandlerErrorCode: AlreadyExists)",
                collision("FlowgateCrossAccountRole", None),
            ),
            ("FlowgateCrossAccountRole2 already exists", None),
            ("Role FlowgateCrossAccountRole: AccessDenied", None),
            ("Bucket acme already exists", None),
        ];
        for (reason, expected) in cases {
            assert_eq!(role_collision(reason, &roles), expected, "{reason}");
        }
    }

    #[test]
    fn a_collision_names_the_command_that_resolves_it() {
        let single_account = ("FlowgateCrossAccountRole", "flowgate-cross-account");
        let own = RoleCollision { role: "FlowgateCrossAccountRole".into(), stack: Some("acme-vendor".into()) };
        let fix = collision_fix("111111111111", &own, single_account);
        assert!(fix.contains("111111111111") && fix.contains("`flowgate stack delete --stack-name acme-vendor`"), "{fix}");
        let unnamed = RoleCollision { stack: None, ..own.clone() };
        assert!(collision_fix("111111111111", &unnamed, single_account).contains("--stack-name flowgate-cross-account`"));
        // Only the vendor role is ever in a single-account stack; another StackSet's stack is not
        // flowgate stack delete's.
        let operator = RoleCollision { role: "FlowgateOrgOperatorRole".into(), stack: None };
        let other_set = RoleCollision { stack: Some("StackSet-old-roles-8c1d".into()), ..own };
        for collision in [operator, other_set] {
            let fix = collision_fix("111111111111", &collision, single_account);
            assert!(!fix.contains("stack delete") && fix.contains(&collision.role), "{fix}");
        }
    }

    #[test]
    fn only_a_set_holding_flowgates_operator_role_is_flowgates() {
        let empty = BTreeMap::new();
        let ours = crate::org_template::ORG_OPERATOR_FRAGMENT;
        assert!(is_flowgates_roles_set(&DeployedSet { template_body: ours, parameters: &empty, auto_deployment: None }));
        let named = BTreeMap::from([("OperatorRoleName".to_owned(), "FlowgateOrgOperatorRole".to_owned())]);
        assert!(is_flowgates_roles_set(&DeployedSet { template_body: "Resources: {}", parameters: &named, auto_deployment: None }));
        let theirs = BTreeMap::from([("VendorAccountId".to_owned(), "111122223333".to_owned())]);
        let template = "Resources:\n  TeamRole:\n    Type: AWS::IAM::Role\n";
        assert!(!is_flowgates_roles_set(&DeployedSet { template_body: template, parameters: &theirs, auto_deployment: None }));
    }

    #[test]
    fn the_watchers_set_name_is_not_a_roles_set_name() {
        assert_eq!(parse_roles_set_name("flowgate-org-roles").unwrap(), "flowgate-org-roles");
        assert!(parse_roles_set_name(crate::org_watch::WATCH_SET_NAME).unwrap_err().contains("the watcher's StackSet"));
        assert!(parse_roles_set_name("bad name!").is_err());
    }
}
