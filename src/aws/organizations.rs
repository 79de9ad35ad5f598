//! AWS Organizations, read-only: the organization, its OU tree and its accounts with where each
//! sits. (The one write, the delegated-administrator registration, is a plan step.)

use aws_sdk_organizations::Client;

use crate::aws::{aws_error, error_code};
use crate::core::org_scope::{AccountStatus, OrgAccount, OrgTree, OrgUnit};
use crate::error::{Error, Result};

pub const ACTIONS: &[&str] = &[
    "organizations:DescribeOrganization",
    "organizations:ListRoots",
    "organizations:ListOrganizationalUnitsForParent",
    "organizations:ListAccountsForParent",
    "organizations:ListDelegatedAdministrators",
    "organizations:RegisterDelegatedAdministrator",
];

/// The service principal StackSets' delegated administrators are registered for.
pub const STACKSETS_PRINCIPAL: &str = "member.org.stacksets.cloudformation.amazonaws.com";

/// (organization id, management account id).
pub async fn describe_organization(orgs: &Client) -> Result<(String, String)> {
    let out = orgs.describe_organization().send().await.map_err(|e| {
        if error_code(&e) == Some("AWSOrganizationsNotInUseException") {
            return Error::refused(
                "the caller's account is not in an AWS Organization",
                Some("run flowgate org from the organization's management account (or its delegated administrator); for one account use flowgate onboard".to_owned()),
            );
        }
        aws_error(e, "reading the organization", "organizations:DescribeOrganization")
    })?;
    let org = out.organization().ok_or_else(|| Error::refused("Organizations returned no organization", None))?;
    let id = org.id().unwrap_or_default().to_owned();
    let management = org.master_account_id().unwrap_or_default().to_owned();
    Ok((id, management))
}

fn status_of(account: &aws_sdk_organizations::types::Account) -> AccountStatus {
    // `State` replaces the deprecated `Status` and adds PENDING_ACTIVATION and CLOSED (both
    // have ACTIVE, SUSPENDED and PENDING_CLOSURE); older answers carry only `Status`.
    #[allow(deprecated)]
    let text = account.state().map(|s| s.as_str().to_owned()).or_else(|| account.status().map(|s| s.as_str().to_owned())).unwrap_or_default();
    AccountStatus::parse(&text)
}

async fn units_under(orgs: &Client, parent: &str) -> Result<Vec<OrgUnit>> {
    let mut units = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = orgs
            .list_organizational_units_for_parent()
            .parent_id(parent)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| aws_error(e, format!("listing the OUs under {parent}"), "organizations:ListOrganizationalUnitsForParent"))?;
        units.extend(out.organizational_units().iter().map(|u| OrgUnit {
            id: u.id().unwrap_or_default().to_owned(),
            name: u.name().unwrap_or_default().to_owned(),
            parent_id: parent.to_owned(),
        }));
        match out.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => break,
        }
    }
    Ok(units)
}

async fn accounts_under(orgs: &Client, parent: &str) -> Result<Vec<OrgAccount>> {
    let mut accounts = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = orgs
            .list_accounts_for_parent()
            .parent_id(parent)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| aws_error(e, format!("listing the accounts under {parent}"), "organizations:ListAccountsForParent"))?;
        accounts.extend(out.accounts().iter().map(|a| OrgAccount {
            id: a.id().unwrap_or_default().to_owned(),
            name: a.name().unwrap_or_default().to_owned(),
            status: status_of(a),
            parent_id: parent.to_owned(),
        }));
        match out.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => break,
        }
    }
    Ok(accounts)
}

/// The organization's tree: the root, every OU (breadth first, each level's parents read
/// concurrently) and every account with its parent. Paginated throughout.
pub async fn org_tree(orgs: &Client) -> Result<OrgTree> {
    use futures::stream::{self, StreamExt};
    let (org_id, management_account) = describe_organization(orgs).await?;
    let roots = orgs.list_roots().send().await.map_err(|e| aws_error(e, "listing the organization's root", "organizations:ListRoots"))?;
    let root_id = roots.roots().first().and_then(|r| r.id()).ok_or_else(|| Error::refused("Organizations returned no root", None))?.to_owned();
    let mut units: Vec<OrgUnit> = Vec::new();
    let mut level = vec![root_id.clone()];
    // Organizations allows five levels of OUs under the root; the bound keeps a misbehaving
    // answer from looping.
    for _ in 0..8 {
        if level.is_empty() {
            break;
        }
        // The futures are made up front: a stream holding a closure over borrowed ids is not
        // provably `Send` in the commands that await this.
        let reads: Vec<_> = level.iter().map(|parent| units_under(orgs, parent)).collect();
        let found: Vec<Result<Vec<OrgUnit>>> = stream::iter(reads).buffered(8).collect().await;
        let mut next = Vec::new();
        for result in found {
            for unit in result? {
                if !units.iter().any(|u| u.id == unit.id) {
                    next.push(unit.id.clone());
                    units.push(unit);
                }
            }
        }
        level = next;
    }
    let parents: Vec<String> = std::iter::once(root_id.clone()).chain(units.iter().map(|u| u.id.clone())).collect();
    let reads: Vec<_> = parents.iter().map(|parent| accounts_under(orgs, parent)).collect();
    let found: Vec<Result<Vec<OrgAccount>>> = stream::iter(reads).buffered(8).collect().await;
    let mut accounts = Vec::new();
    for result in found {
        accounts.extend(result?);
    }
    accounts.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(OrgTree { root_id, units, accounts, management_account, org_id })
}

/// Whether `account` is a registered delegated administrator for StackSets.
pub async fn is_stacksets_delegated_admin(orgs: &Client, account: &str) -> Result<bool> {
    let mut token: Option<String> = None;
    loop {
        let out = orgs
            .list_delegated_administrators()
            .service_principal(STACKSETS_PRINCIPAL)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| aws_error(e, "listing StackSets' delegated administrators", "organizations:ListDelegatedAdministrators"))?;
        if out.delegated_administrators().iter().any(|d| d.id() == Some(account)) {
            return Ok(true);
        }
        match out.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => return Ok(false),
        }
    }
}

pub async fn register_stacksets_delegated_admin(orgs: &Client, account: &str) -> Result<()> {
    match orgs.register_delegated_administrator().account_id(account).service_principal(STACKSETS_PRINCIPAL).send().await {
        Ok(_) => Ok(()),
        Err(e) if error_code(&e) == Some("AccountAlreadyRegisteredException") => Ok(()),
        Err(e) => Err(aws_error(
            e,
            format!("registering account {account} as StackSets' delegated administrator"),
            "organizations:RegisterDelegatedAdministrator",
        )),
    }
}
