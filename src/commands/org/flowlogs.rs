//! The per-account flow-log pass: `flowlogs enable`'s, `disable`'s and `status`'s engine run in
//! each account through its operator role (the caller itself in the management account), the
//! accounts `--account-concurrency` at a time.
//!
//! Each per-account future is boxed as `Send` where its lifetimes are concrete: unboxed, the
//! streams over accounts are not provably `Send` inside the runner.

use std::collections::BTreeMap;
use std::sync::Mutex;

use futures::future::{BoxFuture, FutureExt};
use futures::stream::{self, StreamExt};

use super::discover::{OrgView, account_ctx, assume_new_role, flow_log_accounts};
use super::regions::account_scope;
use super::report::account_failure;
use crate::apply::{ApplyMode, Done};
use crate::cli::{FlowLogsDisableArgs, FlowLogsEnableArgs, FlowLogsStatusArgs, OrgOnboardArgs};
use crate::commands::flowlogs::{self, BucketOwner, EnablePlan};
use crate::context::Ctx;
use crate::core::org_outcome::unattempted;
use crate::core::org_regions::{self, AccountRegions};
use crate::core::org_scope::ScopedAccount;
use crate::core::report::{Change, ChangeStatus};
use crate::error::{Error, Result};

/// Runs the accounts' futures, `concurrency` at once, and records each account's changes: the
/// flow-log step of onboard and offboard.
pub(super) async fn run_accounts(
    pending: Vec<BoxFuture<'_, (String, Vec<Change>)>>,
    concurrency: u16,
    by_account: &Mutex<BTreeMap<String, Vec<Change>>>,
) -> Done {
    let results: Vec<(String, Vec<Change>)> = stream::iter(pending).buffer_unordered(usize::from(concurrency)).collect().await;
    let mut all = Vec::new();
    let mut recorded = by_account.lock().unwrap_or_else(|p| p.into_inner());
    for (account, changes) in results {
        all.extend(changes.iter().cloned());
        recorded.insert(account, changes);
    }
    Done::Report { changes: all, error: None }
}

/// Each account's flow-log plan for org onboard, read through the roles that exist already.
pub(super) async fn plan_onboard_flow_logs(ctx: &Ctx, args: &OrgOnboardArgs, view: &OrgView) -> Vec<(String, Result<AccountPlan>)> {
    let flow_accounts = flow_log_accounts(view);
    let pending: Vec<_> = flow_accounts.iter().map(|(account, role)| plan_account_flow_logs(ctx, account, role, args)).collect();
    stream::iter(pending).buffered(usize::from(args.target.account_concurrency)).collect().await
}

/// One account's flow-log plan.
fn plan_account_flow_logs<'a>(
    ctx: &'a Ctx,
    account: &'a ScopedAccount,
    role: &'a str,
    args: &'a OrgOnboardArgs,
) -> BoxFuture<'a, (String, Result<AccountPlan>)> {
    async move {
        let plan = match account_ctx(ctx, &account.id, role, ApplyMode::PLAN_ONLY).await {
            Ok(member) => plan_in_account(&member, &args.flowlogs, bucket_owner(ctx, &account.id, args).await).await,
            Err(e) => Err(e),
        };
        (account.id.clone(), plan)
    }
    .boxed()
}

/// One account's flow-log plan in its own regions.
pub(super) struct AccountPlan {
    /// `None`: none of the requested regions is enabled in the account.
    pub plan: Option<EnablePlan>,
    /// The account's regions, read with `--regions`.
    pub regions: Option<AccountRegions>,
}

impl AccountPlan {
    /// The regions enabled in the account: as read, or as the plan found them.
    pub(super) fn enabled(&self) -> Vec<String> {
        match (&self.regions, &self.plan) {
            (Some(regions), _) => regions.enabled.clone(),
            (None, Some(plan)) => plan.regions.clone(),
            (None, None) => Vec::new(),
        }
    }
}

/// Whose the central bucket is, for `account`'s flow logs. The caller's own flow logs (made as
/// the caller) to a bucket in the caller's account are its owner's, and AWS may write the
/// bucket's policy for them (see `flowlogs::BucketOwner`). A member's are made through the
/// operator role, which holds no S3 permission (templates/org-operator-role.yaml): AWS writes no
/// policy for them, whoever owns the bucket.
async fn bucket_owner(ctx: &Ctx, account: &str, args: &OrgOnboardArgs) -> BucketOwner {
    let Ok(identity) = ctx.identity().await else { return BucketOwner::Other };
    let log_archive = args.target.log_archive_account.as_ref().map(|a| a.to_string());
    let caller_owns = log_archive.as_deref().is_none_or(|la| la == identity.account);
    if account == identity.account && caller_owns { BucketOwner::ThisAccount } else { BucketOwner::Other }
}

/// `flowlogs enable`'s plan in the account, over the requested regions it has enabled.
async fn plan_in_account(member: &Ctx, args: &FlowLogsEnableArgs, owner: BucketOwner) -> Result<AccountPlan> {
    let account = account_scope(member, &args.scope).await?;
    let plan = match account.scope {
        Some(scope) => Some(flowlogs::plan_enable(member, &FlowLogsEnableArgs { scope, ..args.clone() }, owner).await?),
        None => None,
    };
    Ok(AccountPlan { plan, regions: account.regions })
}

/// The plan lines of the regions of the pass (`in_play`) that an account has not enabled.
pub(super) fn skip_lines(account: &str, in_play: &[String], enabled: &[String]) -> Vec<Change> {
    org_regions::skipped_regions(in_play, enabled).iter().map(|region| org_regions::skip_line(account, region)).collect()
}

/// The onboard flow-log pass as planned: what each account's application needs to know.
pub(super) struct EnablePass<'a> {
    pub ctx: &'a Ctx,
    pub args: &'a OrgOnboardArgs,
    /// The caller's account (its flow logs are made as the caller).
    pub caller: &'a str,
    /// Accounts whose roles did not deploy (`*`: none did).
    pub failed_roles: &'a [String],
    /// Each account's plan, made before the confirmation through a role that existed.
    pub plans: &'a BTreeMap<String, EnablePlan>,
    /// Members whose roles this run deploys (their instance is created, or deployed again).
    pub deploying: &'a [String],
    /// Each account's changes as the plan showed them.
    pub plan_changes: &'a BTreeMap<String, Vec<Change>>,
    /// Each account's plan lines of the regions it skips (not enabled there).
    pub skip_lines: &'a BTreeMap<String, Vec<Change>>,
    /// The regions of the pass: the requested ones, or those enabled in the accounts read.
    pub in_play: &'a [String],
}

impl<'a> EnablePass<'a> {
    /// Applies one account's flow logs, unless its roles did not deploy or the user asked to stop.
    pub(super) fn apply_account(&self, account: &'a ScopedAccount, role: &'a str) -> BoxFuture<'a, (String, Vec<Change>)> {
        let (ctx, args, caller, failed_roles) = (self.ctx, self.args, self.caller, self.failed_roles);
        let planned = self.plans.get(&account.id);
        let just_deployed = self.deploying.contains(&account.id);
        let plan_time = self.plan_changes.get(&account.id).map(Vec::as_slice).unwrap_or_default();
        let skipped = self.skip_lines.get(&account.id).cloned().unwrap_or_default();
        let in_play = self.in_play;
        async move {
            // An account that could not be read for the plan is not changed unseen: the plan's
            // failure stands, and a re-run plans it again. (A role the StackSet has just deployed
            // was planned as "every VPC, once deployed".)
            if planned.is_none() && !just_deployed {
                return (account.id.clone(), plan_time.to_vec());
            }
            let member = account.id != caller;
            let whole = || vec![Change::new("enable-flow-logs", &account.id, ChangeStatus::Planned, "flow logs in every VPC in scope")];
            if member && failed_roles.iter().any(|f| f == &account.id || f == "*") {
                return (account.id.clone(), unattempted(whole(), "its stack instance did not deploy"));
            }
            if crate::interrupt::requested() {
                return (account.id.clone(), unattempted(whole(), "interrupted"));
            }
            let planned = planned.map(|plan| (plan, skipped));
            let changes = match account_flow_logs(ctx, (account, role), args, planned, just_deployed, in_play).await {
                Ok(changes) => changes,
                Err(e) => vec![account_failure("enable-flow-logs", &account.id, "not applied", &e)],
            };
            (account.id.clone(), changes)
        }
        .boxed()
    }
}

/// One account's flow logs applied, with `flowlogs enable`'s engine: the plan made before the
/// confirmation when there is one, with its skipped regions' lines (its reads are not repeated),
/// else planned now (a member whose roles the StackSet has just deployed) in its own regions.
async fn account_flow_logs(
    ctx: &Ctx,
    (account, role): (&ScopedAccount, &str),
    args: &OrgOnboardArgs,
    planned: Option<(&EnablePlan, Vec<Change>)>,
    just_deployed: bool,
    in_play: &[String],
) -> Result<Vec<Change>> {
    let member =
        if just_deployed { assume_new_role(ctx, &account.id, role).await? } else { account_ctx(ctx, &account.id, role, ApplyMode::APPLY).await? };
    let fresh;
    let (plan, skipped) = match planned {
        Some(planned) => planned,
        None => {
            fresh = plan_in_account(&member, &args.flowlogs, bucket_owner(ctx, &account.id, args).await).await?;
            let skipped = skip_lines(&account.id, in_play, &fresh.enabled());
            match &fresh.plan {
                Some(plan) => (plan, skipped),
                None => return Ok(skipped),
            }
        }
    };
    let mut changes = flowlogs::apply_enable(&member, plan, &args.flowlogs).await?.0.changes();
    changes.extend(skipped);
    changes.sort_by(|a, b| (a.region.as_deref(), &a.resource).cmp(&(b.region.as_deref(), &b.resource)));
    Ok(changes)
}

/// What offboard would remove in one account (a plan: nothing is changed).
pub(super) fn plan_account_disable<'a>(
    ctx: &'a Ctx,
    account: &'a ScopedAccount,
    role: &'a str,
    disable: &'a FlowLogsDisableArgs,
) -> BoxFuture<'a, (String, Result<Vec<Change>>)> {
    async move {
        let result = match account_ctx(ctx, &account.id, role, ApplyMode::PLAN_ONLY).await {
            Ok(member) => flowlogs::disable(&member, disable).await.map(|r| r.changes),
            Err(e) => Err(e),
        };
        (account.id.clone(), result)
    }
    .boxed()
}

/// Removes one account's flowgate flow logs to the bucket.
pub(super) fn disable_account_flow_logs<'a>(
    ctx: &'a Ctx,
    account: &'a ScopedAccount,
    role: &'a str,
    disable: &'a FlowLogsDisableArgs,
) -> BoxFuture<'a, (String, Vec<Change>)> {
    async move {
        let result = async {
            let member = account_ctx(ctx, &account.id, role, ApplyMode::APPLY).await?;
            Ok::<_, Error>(flowlogs::disable(&member, disable).await?.changes)
        }
        .await;
        let changes = result.unwrap_or_else(|e| vec![account_failure("delete-flow-logs", &account.id, "not applied", &e)]);
        (account.id.clone(), changes)
    }
    .boxed()
}

/// One account's flow-log coverage in its own regions.
pub(super) struct AccountCoverage {
    /// `None`: none of the requested regions is enabled in the account.
    pub status: Option<flowlogs::StatusReport>,
    /// The account's regions, read with `--regions`.
    pub regions: Option<AccountRegions>,
}

/// One account's flow-log coverage, as `flowlogs status` judges it, over the requested regions it
/// has enabled.
pub(super) fn account_coverage<'a>(
    ctx: &'a Ctx,
    account: &'a ScopedAccount,
    role: &'a str,
    args: &'a FlowLogsStatusArgs,
) -> BoxFuture<'a, (String, Result<AccountCoverage>)> {
    async move {
        let result = async {
            let member = account_ctx(ctx, &account.id, role, ApplyMode::PLAN_ONLY).await?;
            let account = account_scope(&member, &args.scope).await?;
            let status = match account.scope {
                Some(scope) => Some(flowlogs::status(&member, &FlowLogsStatusArgs { spec: args.spec.clone(), scope, exit_code: false }).await?),
                None => None,
            };
            Ok::<_, Error>(AccountCoverage { status, regions: account.regions })
        }
        .await;
        (account.id.clone(), result)
    }
    .boxed()
}
