//! Discovery, read-only: who calls, the organization's tree and which accounts are in scope; the
//! run acting in another account through a role; the accounts whose flow logs flowgate manages.

use crate::apply::ApplyMode;
use crate::aws::organizations;
use crate::aws::stacksets::Caller;
use crate::cli::{CallAs, OrgTargetArgs, ScopeArgs};
use crate::context::{Ctx, Identity};
use crate::core::org_scope::{self, OrgScope, OrgTree, ScopeRequest, ScopedAccount};
use crate::core::org_template::OPERATOR_ROLE_NAME;
use crate::error::{Error, Result};

/// The session name flowgate's AssumeRole calls carry (CloudTrail shows it).
const SESSION_NAME: &str = "flowgate-org";

/// What the organization looks like to this run.
pub(super) struct OrgView {
    pub identity: Identity,
    pub tree: OrgTree,
    pub scope: OrgScope,
    pub caller: Caller,
    pub stack_set_region: String,
}

fn caller_of(call_as: CallAs) -> Caller {
    match call_as {
        CallAs::SelfAccount => Caller::Management,
        CallAs::DelegatedAdmin => Caller::DelegatedAdmin,
    }
}

fn scope_request(target: &OrgTargetArgs) -> ScopeRequest {
    ScopeRequest {
        ous: target.ous.clone(),
        include: target.include_accounts.iter().map(|a| a.to_string()).collect(),
        exclude: target.exclude_accounts.iter().map(|a| a.to_string()).collect(),
    }
}

/// `--vpcs` names VPCs of one account: an organization's plan covers every VPC of each account.
pub(super) fn refuse_named_vpcs(scope: &ScopeArgs) -> Result<()> {
    if scope.vpcs.is_empty() {
        return Ok(());
    }
    Err(Error::input(
        "--vpcs names VPCs of one account; the org commands cover every VPC of every account in scope",
        Some("leave out --vpcs (narrow with --ous, --include-accounts or --regions), or use flowgate flowlogs enable in that account".to_owned()),
    ))
}

/// Discovery (read-only): who calls, the organization's tree, and which accounts are in scope.
pub(super) async fn observe_org(ctx: &Ctx, target: &OrgTargetArgs) -> Result<OrgView> {
    let identity = ctx.identity().await?.clone();
    let tree = organizations::org_tree(&ctx.clients.organizations()).await?;
    let caller = caller_of(target.call_as);
    match caller {
        Caller::Management if identity.account != tree.management_account => {
            return Err(Error::input(
                format!("account {} is not the organization's management account ({})", identity.account, tree.management_account),
                Some("run from the management account, or from StackSets' delegated administrator with --call-as delegated-admin".to_owned()),
            ));
        }
        Caller::DelegatedAdmin if identity.account == tree.management_account => {
            return Err(Error::input(
                "--call-as delegated-admin is for a member account registered as StackSets' delegated administrator, and this is the management account",
                Some("leave out --call-as (self) in the management account".to_owned()),
            ));
        }
        _ => {}
    }
    let scope = org_scope::select(&tree, &scope_request(target))
        .map_err(|e| Error::input(e.to_string(), Some("list the organization with: aws organizations list-accounts / list-roots".to_owned())))?;
    let stack_set_region = target.stack_set_region.as_ref().map(|r| r.to_string()).unwrap_or_else(|| ctx.home_region.clone());
    Ok(OrgView { identity, tree, scope, caller, stack_set_region })
}

/// The run acting in `account` through `role` (AssumeRole, credentials cached and refreshed), or
/// the caller itself when `account` is the caller's.
pub(super) async fn account_ctx(ctx: &Ctx, account: &str, role: &str, mode: ApplyMode) -> Result<Ctx> {
    let identity = ctx.identity().await?.clone();
    let printer = ctx.printer.silent();
    if account == identity.account {
        return Ok(ctx.fork(mode, printer));
    }
    let role_arn = format!("arn:{}:iam::{account}:role/{role}", identity.partition);
    let clients = ctx.clients.assumed(&role_arn, SESSION_NAME).await.map_err(|e| {
        let detail = aws_smithy_types::error::display::DisplayErrorContext(&e).to_string();
        let denied = detail.contains("AccessDenied") || detail.contains("not authorized");
        Error::refused(
            format!("cannot assume {role} in account {account}: {}", if denied { "access denied" } else { detail.as_str() }),
            Some(if role == OPERATOR_ROLE_NAME {
                format!("the StackSet deploys {OPERATOR_ROLE_NAME}: check the account's stack instance with flowgate org status")
            } else {
                format!("the caller needs sts:AssumeRole on {role_arn}, and the role must trust the caller's account")
            }),
        )
    })?;
    let assumed = Identity {
        account: account.to_owned(),
        arn: format!("arn:{}:sts::{account}:assumed-role/{role}/{SESSION_NAME}", identity.partition),
        partition: identity.partition.clone(),
    };
    Ok(ctx.in_account(clients, assumed, mode, printer))
}

/// A role the StackSet has just created: IAM is eventually consistent, and AssumeRole may be
/// denied for a short while after the role and its trust are created. Denials are retried for
/// about half a minute; any other error is not.
pub(super) async fn assume_new_role(ctx: &Ctx, account: &str, role: &str) -> Result<Ctx> {
    const DELAYS: [u64; 4] = [2, 4, 8, 16];
    let mut attempt = 0;
    loop {
        match account_ctx(ctx, account, role, ApplyMode::APPLY).await {
            Err(e) if attempt < DELAYS.len() && e.to_string().contains("access denied") && !crate::interrupt::requested() => {
                tokio::time::sleep(std::time::Duration::from_secs(DELAYS[attempt])).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// The account the central bucket is in, and the run acting there.
pub(super) async fn log_archive_ctx(ctx: &Ctx, target: &OrgTargetArgs, mode: ApplyMode) -> Result<(String, Ctx)> {
    let caller = ctx.identity().await?.account.clone();
    let account = target.log_archive_account.as_ref().map(|a| a.to_string()).unwrap_or(caller);
    let la = account_ctx(ctx, &account, &target.log_archive_role, mode).await?;
    Ok((account, la))
}

/// The StackSets' client in the StackSet's region.
pub(super) fn stacksets_client(ctx: &Ctx, region: &str) -> aws_sdk_cloudformation::Client {
    ctx.clients.cloudformation_in(region)
}

/// Which accounts' flow logs flowgate manages, and through which role: members through the
/// operator role, the management account as the caller itself.
pub(super) fn flow_log_accounts(view: &OrgView) -> Vec<(ScopedAccount, String)> {
    view.scope
        .in_scope()
        .into_iter()
        .filter(|a| {
            a.id == view.identity.account || matches!(a.decision, org_scope::AccountDecision::InScope { placement: org_scope::Placement::Member })
        })
        .map(|a| (a.clone(), OPERATOR_ROLE_NAME.to_owned()))
        .collect()
}
