//! `flowgate org onboard | status | verify | offboard`: a whole AWS Organization as one plan.
//! AWS's own multi-account engine deploys the roles (one service-managed StackSet with
//! auto-deployment, in one region: IAM is global); flowgate's flow-log engine, the one
//! `flowlogs enable` runs, is fanned out over the accounts through the operator role the StackSet
//! deploys. The management account, which a service-managed StackSet never reaches, gets the
//! single-account stack. The central bucket's policy names every account in scope before any of
//! them creates a flow log to it.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::future::{BoxFuture, FutureExt};
use futures::stream::{self, StreamExt};
use serde::Serialize;

use crate::apply::{self, ApplyMode, Done, OnFailure, Plan, Step, error_text};
use crate::aws::organizations;
use crate::aws::s3;
use crate::aws::stacksets::{self, Caller, OperationPreferences, StackInstance, Targets};
use crate::cli::{
    BucketCreateArgs, BucketTargetArgs, CallAs, DeliveryPolicyForm, FlowLogsDisableArgs, FlowLogsStatusArgs, OrgOffboardArgs, OrgOnboardArgs,
    OrgStatusArgs, OrgTargetArgs, StackDeleteArgs, StackDeployArgs, StackNameArgs, desired_flow_log,
};
use crate::commands::flowlogs::EnablePlan;
use crate::commands::{bucket, flowlogs, stack};
use crate::context::{Ctx, Identity};
use crate::core::bucket::BucketAction;
use crate::core::names::{BucketName, LogPrefix};
use crate::core::org_checks::{self, InstanceState};
use crate::core::org_delivery::{self, DeliveryForm, OrgDeliveryTarget};
use crate::core::org_offboard::{self, LogArchiveStatements, OffboardEdit, Offboarding, OwnOnboarding};
use crate::core::org_scope::{self, AccountFilter, OrgScope, OrgTree, ScopeRequest, ScopedAccount};
use crate::core::org_template::{OPERATOR_ROLE_NAME, org_member_template};
use crate::core::report::{Change, ChangeStatus, ChangeTally, Check, CheckStatus, worst};
use crate::core::stack_plan::{DEFAULT_ROLE_NAME, StorageId, TEMPLATE};
use crate::error::{Error, ExitStatus, Result};
use crate::output::{Report, render_changes};

/// The session name flowgate's AssumeRole calls carry (CloudTrail shows it).
const SESSION_NAME: &str = "flowgate-org";

/// What the organization looks like to this run.
struct OrgView {
    identity: Identity,
    tree: OrgTree,
    scope: OrgScope,
    caller: Caller,
    stack_set_region: String,
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
fn refuse_named_vpcs(scope: &crate::cli::ScopeArgs) -> Result<()> {
    if scope.vpcs.is_empty() {
        return Ok(());
    }
    Err(Error::input(
        "--vpcs names VPCs of one account; the org commands cover every VPC of every account in scope",
        Some("leave out --vpcs (narrow with --ous, --include-accounts or --regions), or use flowgate flowlogs enable in that account".to_owned()),
    ))
}

/// `--regions` checked once against the caller's regions (exit 2 for a bad one), before the
/// accounts are fanned out: each would otherwise report it as its own failure.
async fn check_regions(ctx: &Ctx, scope: &crate::cli::ScopeArgs) -> Result<()> {
    if scope.regions.is_empty() {
        return Ok(());
    }
    crate::observe::regions::resolve_regions(ctx, scope).await.map(|_| ())
}

/// Discovery (read-only): who calls, the organization's tree, and which accounts are in scope.
async fn observe_org(ctx: &Ctx, target: &OrgTargetArgs) -> Result<OrgView> {
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
async fn account_ctx(ctx: &Ctx, account: &str, role: &str, mode: ApplyMode) -> Result<Ctx> {
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

/// The account the central bucket is in, and the run acting there.
async fn log_archive_ctx(ctx: &Ctx, target: &OrgTargetArgs, mode: ApplyMode) -> Result<(String, Ctx)> {
    let caller = ctx.identity().await?.account.clone();
    let account = target.log_archive_account.as_ref().map(|a| a.to_string()).unwrap_or(caller);
    let la = account_ctx(ctx, &account, &target.log_archive_role, mode).await?;
    Ok((account, la))
}

/// The StackSets' client in the StackSet's region.
fn stacksets_client(ctx: &Ctx, region: &str) -> aws_sdk_cloudformation::Client {
    ctx.clients.cloudformation_in(region)
}

/// One account of the report: where it sits, its stack instance, and its changes or checks.
#[derive(Debug, Clone, Serialize)]
pub struct AccountEntry {
    #[serde(flatten)]
    pub account: ScopedAccount,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack_instance: Option<StackInstance>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
    /// The account's worst check (`org status`/`org verify`); `status` is its Organizations status.
    #[serde(rename = "result", skip_serializing_if = "Option::is_none")]
    pub result: Option<CheckStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl AccountEntry {
    fn new(account: &ScopedAccount, instances: &[StackInstance], region: &str) -> Self {
        AccountEntry {
            account: account.clone(),
            stack_instance: instances.iter().find(|i| i.account == account.id && i.region == region).cloned(),
            changes: Vec::new(),
            checks: Vec::new(),
            result: None,
            error: None,
        }
    }

    fn in_scope(&self) -> bool {
        matches!(self.account.decision, org_scope::AccountDecision::InScope { .. })
    }

    fn is_management(&self) -> bool {
        matches!(self.account.decision, org_scope::AccountDecision::InScope { placement: org_scope::Placement::Management })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct VendorAccess {
    pub account: String,
    pub external_id: String,
    pub role_name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Organization {
    pub id: String,
    pub management_account: String,
    pub root_id: String,
}

#[derive(Debug, Serialize)]
pub struct OrgReport {
    pub command: &'static str,
    pub account: String,
    pub principal: String,
    pub organization: Organization,
    pub call_as: &'static str,
    pub stack_set: String,
    pub stack_set_region: String,
    pub bucket: String,
    pub log_archive_account: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_policy: Option<&'static str>,
    /// org onboard: who the organization's delivery statements let deliver, and what the plan
    /// changes about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_grant: Option<DeliveryGrant>,
    /// org offboard: what goes from the central bucket's policy and what stays.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_edit: Option<PolicyEdit>,
    /// What the vendor needs to register the accounts: its account, the ExternalId every
    /// account's role requires, and the role's name (the same in every account).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<VendorAccess>,
    pub dry_run: bool,
    /// What is done once for the organization: prerequisites, bucket, policy, StackSet, the
    /// management account's stack.
    pub changes: Vec<Change>,
    pub accounts: Vec<AccountEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<CheckStatus>,
    pub summary: ChangeTally,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rerun: Option<String>,
    #[serde(skip)]
    applied: bool,
}

impl OrgReport {
    fn new(command: &'static str, view: &OrgView, args: &OrgTargetArgs, bucket: &BucketName, log_archive: &str, dry_run: bool) -> Self {
        OrgReport {
            command,
            account: view.identity.account.clone(),
            principal: view.identity.arn.clone(),
            organization: Organization {
                id: view.tree.org_id.clone(),
                management_account: view.tree.management_account.clone(),
                root_id: view.tree.root_id.clone(),
            },
            call_as: match args.call_as {
                CallAs::SelfAccount => "self",
                CallAs::DelegatedAdmin => "delegated-admin",
            },
            stack_set: args.stack_set_name.clone(),
            stack_set_region: view.stack_set_region.clone(),
            bucket: bucket.to_string(),
            log_archive_account: log_archive.to_owned(),
            delivery_policy: None,
            delivery_grant: None,
            policy_edit: None,
            vendor: None,
            dry_run,
            changes: Vec::new(),
            accounts: Vec::new(),
            status: None,
            summary: ChangeTally::default(),
            rerun: None,
            applied: false,
        }
    }

    /// The accounts as people read them: by OU path, then name.
    fn display_order(&self) -> Vec<&AccountEntry> {
        let mut entries: Vec<&AccountEntry> = self.accounts.iter().collect();
        entries.sort_by(|a, b| (&a.account.ou_path, &a.account.name, &a.account.id).cmp(&(&b.account.ou_path, &b.account.name, &b.account.id)));
        entries
    }

    fn all_changes(&self) -> Vec<Change> {
        self.changes.iter().chain(self.accounts.iter().flat_map(|a| a.changes.iter())).cloned().collect()
    }

    fn accounts_table(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let in_scope = self.accounts.iter().filter(|a| a.in_scope()).count();
        writeln!(
            f,
            "organization {} (management account {}): {} account(s), {in_scope} in scope",
            self.organization.id,
            self.organization.management_account,
            self.accounts.len()
        )?;
        let name_width = self.accounts.iter().map(|a| a.account.name.len()).max().unwrap_or(4).clamp(4, 24);
        let ou_width = self.accounts.iter().map(|a| a.account.ou_path.len()).max().unwrap_or(2).clamp(2, 32);
        let decisions: Vec<String> = self.accounts.iter().map(decision_text).collect();
        let decision_width = decisions.iter().map(|d| d.len()).max().unwrap_or(8);
        writeln!(f, "  {:<12}  {:<name_width$}  {:<ou_width$}  {:<decision_width$}  stack instance", "account", "name", "ou", "decision")?;
        for entry in self.display_order() {
            let a = &entry.account;
            let decision = decision_text(entry);
            let instance = match (&entry.stack_instance, entry.is_management()) {
                (_, true) => "n/a (never reached by a StackSet)".to_owned(),
                (Some(i), _) => match &i.detailed_status {
                    Some(detail) => format!("{} ({detail})", i.status),
                    None => i.status.clone(),
                },
                (None, _) if entry.in_scope() => "none".to_owned(),
                (None, _) => "-".to_owned(),
            };
            let name: String = a.name.chars().take(name_width).collect();
            let ou: String = a.ou_path.chars().take(ou_width).collect();
            writeln!(f, "  {:<12}  {name:<name_width$}  {ou:<ou_width$}  {decision:<decision_width$}  {instance}", a.id)?;
        }
        Ok(())
    }
}

impl OrgReport {
    /// `org status` / `org verify`: accounts x checks, then what is not a pass, with its fix.
    fn checks_table(&self, f: &mut fmt::Formatter<'_>, status: CheckStatus) -> fmt::Result {
        let checked: Vec<&AccountEntry> = self.display_order().into_iter().filter(|a| !a.checks.is_empty()).collect();
        writeln!(
            f,
            "organization {} (management account {}): {} account(s), {} in scope",
            self.organization.id,
            self.organization.management_account,
            self.accounts.len(),
            checked.len()
        )?;
        let names: Vec<String> = checked.first().map(|a| a.checks.iter().map(|c| c.name.clone()).collect()).unwrap_or_default();
        let name_width = checked.iter().map(|a| a.account.name.len()).max().unwrap_or(4).clamp(4, 24);
        write!(f, "  {:<12}  {:<name_width$}", "account", "name")?;
        for name in &names {
            write!(f, "  {name:<w$}", w = name.len().max(4))?;
        }
        writeln!(f)?;
        for entry in &checked {
            let name: String = entry.account.name.chars().take(name_width).collect();
            let mut line = format!("  {:<12}  {name:<name_width$}", entry.account.id);
            for (check, column) in entry.checks.iter().zip(&names) {
                let shown = match check.status {
                    CheckStatus::Fail => "FAIL".to_owned(),
                    other => other.to_string(),
                };
                line.push_str(&format!("  {shown:<w$}", w = column.len().max(4)));
            }
            writeln!(f, "{}", line.trim_end())?;
        }
        for entry in self.display_order().into_iter().filter(|a| matches!(a.account.decision, org_scope::AccountDecision::Skipped { .. })) {
            if let org_scope::AccountDecision::Skipped { reason } = &entry.account.decision {
                writeln!(f, "  {:<12}  {}  skipped: {reason}", entry.account.id, entry.account.name)?;
            }
        }
        // What is not a pass, once per finding with the accounts it concerns.
        let mut findings: Vec<(&Check, Vec<&str>)> = Vec::new();
        for entry in &checked {
            for check in entry.checks.iter().filter(|c| c.status != CheckStatus::Pass) {
                match findings
                    .iter_mut()
                    .find(|(c, _)| c.name == check.name && c.status == check.status && c.detail == check.detail && c.fix == check.fix)
                {
                    Some((_, accounts)) => accounts.push(&entry.account.id),
                    None => findings.push((check, vec![&entry.account.id])),
                }
            }
        }
        for (check, accounts) in findings {
            writeln!(f, "{} {}: {} ({})", check.status, check.name, check.detail, accounts.join(", "))?;
            if let Some(fix) = &check.fix {
                writeln!(f, "  fix: {fix}")?;
            }
        }
        if !self.changes.is_empty() {
            write!(f, "organization:\n{}", render_changes(&self.changes))?;
        }
        writeln!(f, "{status}: {} account(s) checked", checked.len())
    }
}

fn decision_text(entry: &AccountEntry) -> String {
    match &entry.account.decision {
        org_scope::AccountDecision::InScope { placement: org_scope::Placement::Management } => "in scope (management: stack)".to_owned(),
        org_scope::AccountDecision::InScope { .. } => "in scope".to_owned(),
        org_scope::AccountDecision::OutOfScope { reason } => format!("out: {reason}"),
        org_scope::AccountDecision::Skipped { reason } => format!("skipped: {reason}"),
    }
}

impl OrgReport {
    /// The report once applied: the organization's steps (a step's own error as a failed
    /// change), each account's changes from the flow-log pass (an account the pass never reached
    /// keeps its planned changes, not attempted), the tally and the re-run line. Every change not
    /// attempted says why.
    fn settle(&mut self, org_steps: &[apply::StepOutcome], by_account: BTreeMap<String, Vec<Change>>, flow_error: Option<String>, interrupted: bool) {
        self.changes = Vec::new();
        for step in org_steps {
            self.changes.extend(step.changes.iter().cloned());
            if let Some(error) = &step.error {
                let mut change = Change::new("step", "organization", ChangeStatus::Failed, "the step did not complete");
                change.error = Some(error.clone());
                self.changes.push(change);
            }
        }
        let reason = if interrupted { Some("interrupted".to_owned()) } else { first_failure(&self.changes, &by_account) };
        for entry in self.accounts.iter_mut() {
            if let Some(changes) = by_account.get(&entry.account.id) {
                entry.changes = changes.clone();
            } else {
                let why = flow_error.clone().or_else(|| reason.clone()).unwrap_or_else(|| "the flow-log step did not run".to_owned());
                for change in entry.changes.iter_mut().filter(|c| c.status == ChangeStatus::Planned) {
                    not_attempted(change, &why);
                }
                entry.error = flow_error.clone();
            }
        }
        // The runner marks the steps after a failure (or an interrupt) "not attempted": say why.
        let unexplained = |c: &&mut Change| c.status == ChangeStatus::NotAttempted && !c.detail.contains(NOT_ATTEMPTED);
        let why = reason.unwrap_or_else(|| "an earlier step failed".to_owned());
        let accounts = self.accounts.iter_mut().flat_map(|a| a.changes.iter_mut());
        for change in self.changes.iter_mut().chain(accounts).filter(unexplained) {
            change.detail = format!("{} ({NOT_ATTEMPTED}{why})", change.detail);
        }
        let mut tally = ChangeTally::of(&self.all_changes());
        tally.interrupted = interrupted;
        self.summary = tally;
        if tally.failed > 0 || tally.not_attempted > 0 || tally.interrupted {
            self.rerun = Some(crate::output::rerun_command_line());
        }
    }
}

/// How a change not attempted says why: "DETAIL (not attempted: REASON)".
const NOT_ATTEMPTED: &str = "not attempted: ";

/// Marks a planned change "not attempted", with the reason.
fn not_attempted(change: &mut Change, reason: &str) {
    change.status = ChangeStatus::NotAttempted;
    change.detail = format!("{} ({NOT_ATTEMPTED}{reason})", change.detail);
}

/// `changes` with every planned one not attempted because `reason`.
fn unattempted(mut changes: Vec<Change>, reason: &str) -> Vec<Change> {
    for change in changes.iter_mut().filter(|c| c.status == ChangeStatus::Planned) {
        not_attempted(change, reason);
    }
    changes
}

/// A step that does not run because `reason`: its planned changes, not attempted.
fn not_run(changes: Vec<Change>, reason: &str) -> Done {
    Done::Report { changes: unattempted(changes, reason), error: None }
}

/// The changes of a step applied in order, stopped by `failure` at the change with that action:
/// the changes before it applied, it failed with the error, the ones after it not attempted
/// because of it (an interrupt leaves it and the rest not attempted); and the step's own error
/// when no planned change is left to carry it.
fn stopped_at(mut changes: Vec<Change>, failure: Option<(&str, Error)>) -> (Vec<Change>, Option<String>) {
    let Some((action, error)) = failure else {
        for change in changes.iter_mut().filter(|c| c.status == ChangeStatus::Planned) {
            change.status = ChangeStatus::Applied;
        }
        return (changes, None);
    };
    let at = changes.iter().position(|c| c.action == action).unwrap_or(0);
    let mut failed: Option<String> = None;
    let mut unplaced = Some(error);
    for (i, change) in changes.iter_mut().enumerate().filter(|(_, c)| c.status == ChangeStatus::Planned) {
        if i < at {
            change.status = ChangeStatus::Applied;
        } else if let Some(reason) = &failed {
            not_attempted(change, reason);
        } else if let Some(error) = unplaced.take() {
            if matches!(error, Error::Interrupted) {
                failed = Some("interrupted".to_owned());
                not_attempted(change, "interrupted");
            } else {
                failed = Some(format!("{} failed", change.action));
                change.status = ChangeStatus::Failed;
                change.error = Some(error_text(&error));
            }
        }
    }
    // No planned change left to carry the error: the step's own.
    (changes, unplaced.filter(|e| !matches!(e, Error::Interrupted)).map(|e| error_text(&e)))
}

/// The first failure of an applied run, as a reason for what was not attempted after it: an
/// account's flow logs first (offboard removes them before anything else), then the
/// organization's changes in order.
fn first_failure(org_changes: &[Change], by_account: &BTreeMap<String, Vec<Change>>) -> Option<String> {
    let account = by_account.iter().find_map(|(account, changes)| {
        changes.iter().find(|c| c.status == ChangeStatus::Failed).map(|c| format!("{} in account {account} failed", c.action))
    });
    account.or_else(|| org_changes.iter().find(|c| c.status == ChangeStatus::Failed).map(|c| format!("{} failed", c.action)))
}

fn preferences_of(operations: crate::cli::OperationArgs) -> OperationPreferences {
    OperationPreferences {
        failure_tolerance_percentage: operations.failure_tolerance_percentage,
        max_concurrent_percentage: operations.max_concurrent_percentage,
    }
}

/// Runs the accounts' futures, `concurrency` at once, and records each account's changes: the
/// flow-log step of onboard and offboard.
async fn run_accounts(
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

/// The plan as shown before the confirmation: the accounts and every change.
struct PlanText<'a>(&'a OrgReport);

impl fmt::Display for PlanText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let report = self.0;
        report.accounts_table(f)?;
        report.changes_text(f, false)
    }
}

impl OrgReport {
    fn changes_text(&self, f: &mut fmt::Formatter<'_>, applied: bool) -> fmt::Result {
        let show = |c: &&Change| !applied || c.status != ChangeStatus::Skipped;
        let org: Vec<Change> = self.changes.iter().filter(show).cloned().collect();
        if !org.is_empty() {
            write!(f, "organization:\n{}", render_changes(&org))?;
        }
        for entry in self.display_order() {
            let changes: Vec<Change> = entry.changes.iter().filter(show).cloned().collect();
            if !changes.is_empty() {
                write!(f, "account {} ({}):\n{}", entry.account.id, entry.account.name, render_changes(&changes))?;
            }
            if let Some(error) = &entry.error {
                writeln!(f, "account {} ({}): ERROR: {error}", entry.account.id, entry.account.name)?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for OrgReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(status) = self.status {
            return self.checks_table(f, status);
        }
        if self.applied {
            self.changes_text(f, true)?;
        }
        let s = &self.summary;
        if self.applied {
            write!(f, "{} applied, {} unchanged", s.applied, s.unchanged)?;
        } else if s.planned == 0 {
            write!(f, "nothing to change")?;
        } else {
            write!(f, "dry run: {} change(s) planned, nothing applied", s.planned)?;
        }
        if s.failed > 0 {
            write!(f, ", {} FAILED (re-run to converge)", s.failed)?;
        }
        if s.not_attempted > 0 {
            write!(f, ", {} not attempted", s.not_attempted)?;
        }
        writeln!(f)?;
        if let (Some(vendor), true) = (&self.vendor, self.applied) {
            writeln!(
                f,
                "for the vendor: role {} in every account in scope, trusting account {} with ExternalId {}",
                vendor.role_name, vendor.account, vendor.external_id
            )?;
        }
        if let Some(rerun) = &self.rerun {
            writeln!(f, "re-run to converge: {rerun}")?;
        }
        Ok(())
    }
}

impl Report for OrgReport {
    /// `org status` and `org verify` as every status and verify command: 0 when every check
    /// passes (or warns), 1 when any fails. onboard and offboard: the apply's rule.
    fn exit_status(&self) -> ExitStatus {
        match self.status {
            Some(CheckStatus::Fail) => ExitStatus::Failure,
            Some(_) => ExitStatus::Success,
            None => self.summary.exit_status(),
        }
    }
}

/// Prints a plan, unless `-q` asks for results and errors only and nobody needs to read the plan
/// first: with `--yes` the applied report lists every change; a dry run's plan is its result and a
/// question needs its plan, so both are shown.
fn show_plan(ctx: &Ctx, plan: impl fmt::Display) -> Result<()> {
    // (In JSON mode the printer keeps the plan for an error document and prints nothing.)
    if ctx.printer.quiet && !ctx.printer.is_json() && ctx.yes && !ctx.dry_run {
        return Ok(());
    }
    ctx.printer.text(plan)
}

/// The StackSet's parameters: today's vendor template with storage access off (member accounts
/// never read the central bucket), plus the operator role's trust.
struct SetParameters {
    values: Vec<(String, String)>,
    external_id: String,
    /// The ExternalId is new (neither given nor kept): a dry run does not show it.
    generated: bool,
    role_name: String,
}

fn set_parameters(args: &OrgOnboardArgs, view: &OrgView, existing: Option<&BTreeMap<String, String>>) -> Result<SetParameters> {
    let kept = |key: &str| existing.and_then(|p| p.get(key)).filter(|v| !v.is_empty()).cloned();
    let vendor = args.vendor_account.as_ref().map(|a| a.to_string()).or_else(|| kept("VendorAccountId")).ok_or_else(|| {
        Error::input(
            "--vendor-account is required to create the StackSet",
            Some("pass the vendor's 12-digit account id: --vendor-account ID".to_owned()),
        )
    })?;
    let given = args.external_id.clone().or_else(|| kept("ExternalId"));
    let generated = given.is_none();
    let external_id = given.unwrap_or_else(stack::new_external_id);
    let role_name = args.role_name.clone().or_else(|| kept("RoleName")).unwrap_or_else(|| DEFAULT_ROLE_NAME.to_owned());
    let compliance = if args.vendor_modes.no_compliance {
        String::new()
    } else {
        args.vendor_modes.compliance_account.as_ref().map(|a| a.to_string()).or_else(|| kept("ComplianceAccountId")).unwrap_or_default()
    };
    let values = vec![
        ("VendorAccountId".to_owned(), vendor),
        ("ExternalId".to_owned(), external_id.clone()),
        ("RoleName".to_owned(), role_name.clone()),
        ("StorageAccess".to_owned(), "false".to_owned()),
        ("StorageBucketNames".to_owned(), String::new()),
        ("ComplianceAccountId".to_owned(), compliance),
        ("ReadWrite".to_owned(), args.vendor_modes.read_write.to_string()),
        ("AdministratorAccountId".to_owned(), view.identity.account.clone()),
        ("OrganizationId".to_owned(), view.tree.org_id.clone()),
        ("OperatorRoleName".to_owned(), OPERATOR_ROLE_NAME.to_owned()),
    ];
    Ok(SetParameters { values, external_id, generated, role_name })
}

fn delivery_target<'a>(
    partition: &'a str,
    bucket: &'a BucketName,
    prefix: Option<&'a LogPrefix>,
    hive: bool,
    form: DeliveryPolicyForm,
    org_id: &str,
) -> OrgDeliveryTarget<'a> {
    OrgDeliveryTarget {
        partition,
        bucket,
        prefix,
        hive_partitions: hive,
        form: match form {
            DeliveryPolicyForm::PerAccount => DeliveryForm::PerAccount,
            DeliveryPolicyForm::Org => DeliveryForm::Org { org_id: org_id.to_owned() },
        },
    }
}

/// The accounts the delivery policy names: those in scope; and when per-account statements
/// replace the organization's (which let every account deliver), every active account of the
/// organization, so that no account that delivers today loses its grant to a narrower scope.
fn delivery_accounts(existing: Option<&str>, form: DeliveryPolicyForm, scoped: &[String], active: &[String]) -> Vec<String> {
    let org_form_now = org_delivery::org_form_granted(existing);
    let mut accounts = scoped.to_vec();
    if org_form_now && form == DeliveryPolicyForm::PerAccount {
        accounts.extend(active.iter().filter(|a| !scoped.contains(a)).cloned());
        accounts.sort();
    }
    accounts
}

/// The delivery policy for `accounts` merged into `existing`, refused past S3's size limit.
fn merged_policy(existing: Option<&str>, target: &OrgDeliveryTarget<'_>, accounts: &[String]) -> Result<org_delivery::OrgPolicyMerge> {
    let merge = org_delivery::merge_org_delivery(existing, target, accounts).map_err(|e| {
        Error::refused(format!("the central bucket's policy cannot be edited: {e}"), Some("fix the policy by hand, then re-run".to_owned()))
    })?;
    if merge.over_limit() {
        return Err(Error::refused(
            format!(
                "the bucket policy with per-account delivery for {} account(s) would be {} bytes, over S3's {}-byte limit",
                accounts.len(),
                merge.size_bytes,
                org_delivery::BUCKET_POLICY_LIMIT_BYTES
            ),
            Some("use --delivery-policy org (one statement conditioned on aws:SourceOrgID), or narrow the scope with --ous".to_owned()),
        ));
    }
    Ok(merge)
}

/// Who the organization's delivery statements let deliver once the plan is applied.
#[derive(Debug, Clone, Serialize)]
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
struct GrantContext<'a> {
    scoped: &'a [String],
    org_id: &'a str,
    /// Every account of the organization, whatever its status.
    org_accounts: &'a [String],
    /// The log-archive account, when it is outside the scope and its own delivery statements
    /// (bucket create's) are or will be in the policy.
    own_statements_outside: Option<&'a str>,
}

/// The plan line of the delivery statements and who they grant: every account gained or lost by
/// the edit, every account granted outside the scope, and, in the organization form, that every
/// account of the organization may deliver.
fn policy_change(
    merge: &org_delivery::OrgPolicyMerge,
    existing: Option<&str>,
    bucket: &BucketName,
    exists: bool,
    grant: &GrantContext<'_>,
) -> Result<(Change, DeliveryGrant)> {
    let after = merge.document.as_deref().or(existing);
    let change = org_delivery::grant_change(existing, after, grant.org_id, grant.org_accounts).map_err(|e| {
        Error::refused(format!("the central bucket's policy cannot be read: {e}"), Some("fix the policy by hand, then re-run".to_owned()))
    })?;
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
fn grant_parts(
    merge: &org_delivery::OrgPolicyMerge,
    change: &org_delivery::GrantChange,
    outside: &[String],
    grant: &GrantContext<'_>,
) -> Vec<String> {
    let list = |accounts: &[String]| format!("{} account(s): {}", accounts.len(), accounts.join(", "));
    let org_form = change.whole_organization;
    let mut parts = vec![match (&merge.document, merge.form_changed, org_form) {
        (None, _, _) => "organization delivery already granted".to_owned(),
        (Some(_), true, true) => "the per-account statements rewritten in the organization form".to_owned(),
        (Some(_), true, false) => "the organization form rewritten as per-account statements".to_owned(),
        (Some(_), false, true) => "one statement for the organization (aws:SourceOrgID)".to_owned(),
        (Some(_), false, false) if merge.added_accounts.is_empty() => "organization delivery statements".to_owned(),
        (Some(_), false, false) => format!("delivery for {} more account(s): {}", merge.added_accounts.len(), merge.added_accounts.join(", ")),
    }];
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
    if let Some(account) = grant.own_statements_outside {
        parts.push(format!("the log-archive account {account}, outside the scope, may deliver by its own statements (put-bucket-policy)"));
    }
    parts
}

/// Which accounts' flow logs flowgate manages, and through which role: members through the
/// operator role, the management account as the caller itself.
fn flow_log_accounts(view: &OrgView) -> Vec<(ScopedAccount, String)> {
    view.scope
        .in_scope()
        .into_iter()
        .filter(|a| {
            a.id == view.identity.account || matches!(a.decision, org_scope::AccountDecision::InScope { placement: org_scope::Placement::Member })
        })
        .map(|a| (a.clone(), OPERATOR_ROLE_NAME.to_owned()))
        .collect()
}

/// The flow-log plan (or its application) of one account, with `flowlogs enable`'s engine.
/// One account's flow logs applied: the plan made before the confirmation when there is one
/// (its reads are not repeated), else planned now (a member whose roles the StackSet has just
/// deployed).
async fn account_flow_logs(
    ctx: &Ctx,
    account: &ScopedAccount,
    role: &str,
    args: &OrgOnboardArgs,
    planned: Option<&EnablePlan>,
    just_deployed: bool,
) -> Result<Vec<Change>> {
    let member =
        if just_deployed { assume_new_role(ctx, &account.id, role).await? } else { account_ctx(ctx, &account.id, role, ApplyMode::APPLY).await? };
    let fresh;
    let plan = match planned {
        Some(plan) => plan,
        None => {
            fresh = flowlogs::plan_enable(&member, &args.flowlogs, false).await?;
            &fresh
        }
    };
    let mut changes = flowlogs::apply_enable(&member, plan, &args.flowlogs).await?.changes();
    changes.sort_by(|a, b| (a.region.as_deref(), &a.resource).cmp(&(b.region.as_deref(), &b.resource)));
    Ok(changes)
}

/// An account's failed change: `detail` what did not happen, the error with its hint.
fn account_failure(action: &str, account: &str, detail: &str, error: &Error) -> Change {
    let mut change = Change::new(action, account, ChangeStatus::Failed, detail);
    change.error = Some(error_text(error));
    change
}

// Long (~460 lines, a candidate to split into steps): discovery, five plan parts
// (prerequisites, bucket and policy, StackSet, management stack, flow logs per account), one
// confirmation, and their application in order.
pub async fn onboard(ctx: &Ctx, args: &OrgOnboardArgs) -> Result<OrgReport> {
    // What the input alone can tell, before the first AWS call.
    desired_flow_log(&args.flowlogs.spec, "aws")?;
    refuse_named_vpcs(&args.flowlogs.scope)?;
    if args.wait.no_wait {
        return Err(Error::input(
            "--no-wait does not apply to org onboard: the roles must exist before flow logs are made through them",
            Some("leave out --no-wait; --wait-timeout bounds the wait for each StackSet operation".to_owned()),
        ));
    }
    if args.register_delegated_admin.is_some() && args.target.call_as == CallAs::DelegatedAdmin {
        return Err(Error::input(
            "--register-delegated-admin is applied from the management account, not with --call-as delegated-admin",
            Some("run it once from the management account, then call as the delegated administrator".to_owned()),
        ));
    }
    let view = observe_org(ctx, &args.target).await?;
    check_regions(ctx, &args.flowlogs.scope).await?;
    let template = org_member_template(TEMPLATE).map_err(|e| Error::refused(format!("the StackSet template does not build (a bug): {e}"), None))?;
    let cfn = stacksets_client(ctx, &view.stack_set_region);
    let planning_mode = ApplyMode::PLAN_ONLY;

    // Prerequisites.
    let mut org_changes = Vec::new();
    let mut register_admin = None;
    if let Some(admin) = &args.register_delegated_admin {
        if view.caller != Caller::Management {
            return Err(Error::input("--register-delegated-admin is applied from the management account", None));
        }
        let registered = organizations::is_stacksets_delegated_admin(&ctx.clients.organizations(), admin.as_str()).await?;
        org_changes.push(Change::new(
            "register-delegated-admin",
            admin.as_str(),
            if registered { ChangeStatus::Skipped } else { ChangeStatus::Planned },
            if registered { "already StackSets' delegated administrator" } else { "StackSets' delegated administrator" },
        ));
        register_admin = (!registered).then(|| admin.to_string());
    }
    let trusted = stacksets::organizations_access(&cfn, view.caller).await?;
    if !trusted && view.caller == Caller::DelegatedAdmin {
        return Err(Error::refused(
            "StackSets' trusted access to the organization is not activated",
            Some(
                "activate it from the management account: flowgate org onboard there, or aws cloudformation activate-organizations-access".to_owned(),
            ),
        ));
    }
    org_changes.push(Change::new(
        "activate-organizations-access",
        "cloudformation",
        if trusted { ChangeStatus::Skipped } else { ChangeStatus::Planned },
        if trusted { "StackSets' trusted access is active" } else { "StackSets' trusted access to the organization (service-managed permissions)" },
    ));

    // The central bucket and its delivery policy.
    let (log_archive, la_plan) = log_archive_ctx(ctx, &args.target, planning_mode).await?;
    // A bucket in the management account is read through that account's single-account stack;
    // anywhere else, through the StackSet instance of the account it is in.
    let via_management_stack = log_archive == view.identity.account && view.caller == Caller::Management;
    if args.storage_access && via_management_stack && view.scope.management().is_none() {
        return Err(Error::input(
            "--storage-access: the central bucket is in the management account, which is out of scope, so no vendor role there would read it",
            Some("put the bucket in a member account with --log-archive-account, or include the management account (leave out --ous)".to_owned()),
        ));
    }
    let bucket_args = BucketCreateArgs {
        target: BucketTargetArgs {
            bucket: args.flowlogs.spec.bucket.clone(),
            bucket_region: args.bucket_region.clone(),
            prefix: args.flowlogs.spec.prefix.clone(),
            hive_partitions: args.flowlogs.spec.hive_partitions,
        },
        expire_days: None,
        tags: Vec::new(),
        fix_encryption: false,
        remove_old_paths: false,
    };
    let bucket_plan = bucket::create(&la_plan, &bucket_args).await?;
    let bucket_exists = bucket_plan.changes.iter().any(|c| c.action == "create-bucket" && c.status == ChangeStatus::Skipped);
    let scoped_ids: Vec<String> = view.scope.in_scope().iter().map(|a| a.id.clone()).collect();
    let spec = &args.flowlogs.spec;
    let partition = view.identity.partition.clone();
    let target = delivery_target(&partition, &spec.bucket, spec.prefix.as_ref(), spec.hive_partitions, args.delivery_policy, &view.tree.org_id);
    // A new bucket gets the log-archive account's own delivery statements first (bucket create):
    // the size checked is that of the policy the organization's statements join.
    let existing_policy = if bucket_exists {
        s3::read_policy(&la_plan.s3(&bucket_plan.region), &spec.bucket).await?
    } else {
        let own = crate::core::bucket_policy::DeliveryTarget {
            partition: &partition,
            bucket: &spec.bucket,
            prefix: spec.prefix.as_ref(),
            account: &log_archive,
            hive_partitions: spec.hive_partitions,
        };
        let statements = crate::core::bucket_policy::delivery_statements(&own);
        crate::core::bucket_policy::merge_delivery_statements(None, &statements, &|_| false).ok().and_then(|m| m.document)
    };
    let active_ids: Vec<String> = view.tree.accounts.iter().filter(|a| a.status == org_scope::AccountStatus::Active).map(|a| a.id.clone()).collect();
    let grant_ids = delivery_accounts(existing_policy.as_deref(), args.delivery_policy, &scoped_ids, &active_ids);
    let merge = merged_policy(existing_policy.as_deref(), &target, &grant_ids)?;
    let org_accounts: Vec<String> = view.tree.accounts.iter().map(|a| a.id.clone()).collect();
    let own_outside =
        (!scoped_ids.contains(&log_archive) && has_account_statements(existing_policy.as_deref(), &log_archive)).then_some(log_archive.as_str());
    let grant_context =
        GrantContext { scoped: &scoped_ids, org_id: &view.tree.org_id, org_accounts: &org_accounts, own_statements_outside: own_outside };
    let (policy_line, delivery_grant) = policy_change(&merge, existing_policy.as_deref(), &spec.bucket, bucket_exists, &grant_context)?;

    // The StackSet and its instances.
    let existing_set = stacksets::describe_stack_set(&cfn, &args.target.stack_set_name, view.caller).await?;
    let parameters = set_parameters(args, &view, existing_set.as_ref().map(|s| &s.parameters))?;
    let instances = match &existing_set {
        Some(_) => stacksets::list_stack_instances(&cfn, &args.target.stack_set_name, view.caller).await?,
        None => Vec::new(),
    };
    let set_name = args.target.stack_set_name.clone();
    let set_line = match &existing_set {
        None => Change::new(
            "create-stack-set",
            &set_name,
            ChangeStatus::Planned,
            "service-managed, auto-deployment on, the vendor role and the operator role",
        ),
        Some(set) => {
            if set_is_current(set, &template, &parameters, &view) {
                Change::new("update-stack-set", &set_name, ChangeStatus::Skipped, "template and parameters are current")
            } else {
                Change::new(
                    "update-stack-set",
                    &set_name,
                    ChangeStatus::Planned,
                    format!(
                        "{} changed: every instance is updated",
                        set_differences(set, &template, &parameters.values, auto_deploys(&view)).join(", ")
                    ),
                )
            }
        }
    };
    let members: Vec<&ScopedAccount> = view.scope.members();
    let missing: Vec<String> =
        members.iter().filter(|m| !instances.iter().any(|i| i.account == m.id && i.region == view.stack_set_region)).map(|m| m.id.clone()).collect();
    let missing_accounts = missing.clone();
    // Instances a failed or cancelled operation left OUTDATED are deployed again (a StackSet
    // update does that for every instance anyway).
    let stale: Vec<String> = members
        .iter()
        .filter_map(|m| instances.iter().find(|i| i.account == m.id && i.region == view.stack_set_region))
        .filter(|i| i.status == "OUTDATED" && !matches!(i.detailed_status.as_deref(), Some("RUNNING" | "PENDING")))
        .map(|i| i.account.clone())
        .collect();
    let set_updates = set_line.action == "update-stack-set" && set_line.status == ChangeStatus::Planned;
    let stale: Vec<String> = if set_updates { Vec::new() } else { stale };
    let repair_line = (!stale.is_empty()).then(|| {
        Change::new(
            "update-stack-instances",
            &set_name,
            ChangeStatus::Planned,
            format!("{} account(s) left OUTDATED by a failed operation, deployed again: {}", stale.len(), stale.join(", ")),
        )
        .in_region(&view.stack_set_region)
    });
    let instances_line = if missing.is_empty() {
        Change::new(
            "create-stack-instances",
            &set_name,
            ChangeStatus::Skipped,
            format!("every member in scope has an instance in {}", view.stack_set_region),
        )
    } else {
        Change::new(
            "create-stack-instances",
            &set_name,
            ChangeStatus::Planned,
            format!(
                "{} member account(s) in {} via {} target(s): {}",
                missing.len(),
                view.stack_set_region,
                view.scope.target_ous.len(),
                missing.join(", ")
            ),
        )
    }
    .in_region(&view.stack_set_region);

    // The management account: never reached by a service-managed StackSet.
    let management_in_scope = view.scope.management().is_some();
    let storage_ids = vec![StorageId::from(spec.bucket.clone())];
    let management_stack = StackDeployArgs {
        name: StackNameArgs { stack_name: args.stack_name.clone() },
        vendor_account: parameters.values.first().and_then(|(_, v)| v.parse().ok()),
        external_id: Some(parameters.external_id.clone()),
        role_name: Some(parameters.role_name.clone()),
        storage_access: args.storage_access && via_management_stack,
        storage_ids: if args.storage_access && via_management_stack { storage_ids } else { Vec::new() },
        template: None,
        vendor_modes: args.vendor_modes.clone(),
        change_set_preview: false,
        wait: args.wait.clone(),
    };
    let caller_is_management = view.caller == Caller::Management;
    let mut management_changes = Vec::new();
    if management_in_scope && caller_is_management {
        let planning = ctx.fork(planning_mode, ctx.printer.silent());
        management_changes = stack::deploy(&planning, &management_stack).await?.changes;
    } else if management_in_scope {
        management_changes.push(Change::new(
            "deploy-stack",
            &view.tree.management_account,
            ChangeStatus::Skipped,
            "the management account is out of a delegated administrator's reach: run flowgate onboard there",
        ));
    }
    // Vendor storage access: the log-archive account's vendor role (a StackSet instance) reads
    // the central bucket through a parameter override of that one instance; no other member's
    // role reads storage, and nothing grants the organization as a whole.
    let storage = if args.storage_access && !via_management_stack {
        Some(plan_storage_access(&cfn, &view, &args.target.stack_set_name, &log_archive, &spec.bucket, &instances).await?)
    } else {
        None
    };

    // Flow logs, per account: planned through the operator role where it exists already.
    let flow_accounts = flow_log_accounts(&view);
    let pending: Vec<_> = flow_accounts.iter().map(|(account, role)| plan_account_flow_logs(ctx, account, role, args)).collect();
    let planned: Vec<(String, Result<EnablePlan>)> = stream::iter(pending).buffered(usize::from(args.target.account_concurrency)).collect().await;

    let mut report = OrgReport::new("org onboard", &view, &args.target, &spec.bucket, &log_archive, ctx.dry_run);
    report.delivery_policy = Some(match args.delivery_policy {
        DeliveryPolicyForm::PerAccount => "per-account",
        DeliveryPolicyForm::Org => "org",
    });
    report.delivery_grant = Some(delivery_grant);
    report.vendor = Some(VendorAccess {
        account: parameters.values.first().map(|(_, v)| v.clone()).unwrap_or_default(),
        external_id: if parameters.generated && ctx.dry_run {
            "(a new random one, generated when applied)".to_owned()
        } else {
            parameters.external_id.clone()
        },
        role_name: parameters.role_name.clone(),
    });
    report.changes = org_changes;
    report.changes.extend(bucket_plan.changes.clone());
    report.changes.push(policy_line.clone());
    report.changes.push(set_line.clone());
    report.changes.push(instances_line.clone());
    report.changes.extend(repair_line.clone());
    if let Some((line, _)) = &storage {
        report.changes.push(line.clone());
    }
    report.changes.extend(management_changes.clone());
    report.accounts = view.scope.accounts.iter().map(|a| AccountEntry::new(a, &instances, &view.stack_set_region)).collect();
    let first_run = existing_set.is_none() || !missing.is_empty();
    let mut flow_plans: BTreeMap<String, EnablePlan> = BTreeMap::new();
    for (id, result) in planned {
        let Some(entry) = report.accounts.iter_mut().find(|e| e.account.id == id) else { continue };
        entry.changes = match result {
            Ok(plan) => {
                let changes = plan.changes();
                flow_plans.insert(id.clone(), plan);
                changes
            }
            // A role the StackSet has yet to deploy cannot be assumed: planned with it.
            Err(_) if first_run && missing.contains(&id) => vec![Change::new(
                "enable-flow-logs",
                &id,
                ChangeStatus::Planned,
                format!("every VPC in scope, once the StackSet has deployed {OPERATOR_ROLE_NAME}"),
            )],
            Err(e) => vec![account_failure("read-account", &id, "the account could not be read", &e)],
        };
    }
    report.summary = ChangeTally::of(&report.all_changes());
    show_plan(ctx, format_args!("{}\nPlan for organization {}:\n{}", ctx.identity_line().await?, view.tree.org_id, PlanText(&report)))?;

    // Apply, in order: the bucket policy names every account before any of them creates a flow
    // log to it; the roles exist before flow logs are made through them.
    let pending = report.summary.planned;
    let question = format!("Apply {pending} change(s) to organization {}?", view.tree.org_id);
    let decision = apply::confirm(ctx.mode(), pending, &question)?;
    if decision != apply::Decision::Apply {
        return Ok(report);
    }
    report.applied = true;
    let la_apply = la_plan.fork(ApplyMode::APPLY, ctx.printer.silent());
    let applying = ctx.fork(ApplyMode::APPLY, ctx.printer.silent());
    let preferences = preferences_of(args.operations);
    let wait = std::time::Duration::from_secs(args.wait.wait_timeout);
    let prerequisites_ok = AtomicBool::new(true);
    let bucket_ok = AtomicBool::new(true);
    let roles_failed: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let account_results: Mutex<BTreeMap<String, Vec<Change>>> = Mutex::new(BTreeMap::new());
    let (view_ref, cfn_ref, template_ref, parameters_ref) = (&view, &cfn, &template, &parameters);
    let (prereq_ok, bucket_ok_ref, roles_failed_ref, results_ref) = (&prerequisites_ok, &bucket_ok, &roles_failed, &account_results);
    let (la_ref, applying_ref, bucket_args_ref, target_ref, scoped_ref) = (&la_apply, &applying, &bucket_args, &target, &scoped_ids);
    let active_ref = &active_ids;
    let prerequisite_lines: Vec<Change> =
        report.changes.iter().filter(|c| c.action == "register-delegated-admin" || c.action == "activate-organizations-access").cloned().collect();

    let plan_changes: BTreeMap<String, Vec<Change>> = report.accounts.iter().map(|a| (a.account.id.clone(), a.changes.clone())).collect();
    let mut steps = vec![Step::new(prerequisite_lines, async move {
        let done = async {
            // Trusted access first: a delegated administrator is registered for a service that
            // has it.
            if !trusted {
                stacksets::activate_organizations_access(&stacksets_client(ctx, &view_ref.stack_set_region)).await?;
            }
            if let Some(admin) = &register_admin {
                organizations::register_stacksets_delegated_admin(&ctx.clients.organizations(), admin).await?;
            }
            Ok::<_, Error>(())
        }
        .await;
        prereq_ok.store(done.is_ok(), Ordering::SeqCst);
        done.map(|()| Done::Changed)
    })];
    steps.push(Step::new(bucket_plan.changes.clone(), async move {
        let done = match bucket::create(la_ref, bucket_args_ref).await {
            Ok(r) => Done::Report { changes: r.changes, error: None },
            Err(e) => Done::Report { changes: Vec::new(), error: Some(error_text(&e)) },
        };
        bucket_ok_ref.store(step_ok(&done), Ordering::SeqCst);
        Ok(done)
    }));
    let policy_lines = vec![policy_line];
    let unapplied_policy = policy_lines.clone();
    steps.push(Step::new(policy_lines, async move {
        if !bucket_ok_ref.load(Ordering::SeqCst) {
            return Ok(not_run(unapplied_policy, "the bucket step failed"));
        }
        let result = async {
            let region = match s3::bucket_existence(&la_ref.s3(&la_ref.home_region), &spec.bucket, &la_ref.identity().await?.account).await? {
                crate::core::bucket::BucketExistence::Owned { region } => region,
                _ => return Err(Error::refused(format!("bucket {} is not there", spec.bucket), None)),
            };
            let client = la_ref.s3(&region);
            let existing = s3::read_policy(&client, &spec.bucket).await?;
            let grant = delivery_accounts(existing.as_deref(), args.delivery_policy, scoped_ref, active_ref);
            let merge = merged_policy(existing.as_deref(), target_ref, &grant)?;
            match merge.document {
                None => Ok(Done::AlreadyDone),
                Some(document) => {
                    s3::apply_after_create(&client, &spec.bucket, &BucketAction::PutBucketPolicy { document }, s3::AFTER_CREATE_DELAYS).await?;
                    Ok(Done::Changed)
                }
            }
        }
        .await;
        if result.is_err() {
            bucket_ok_ref.store(false, Ordering::SeqCst);
        }
        result
    }));
    let mut set_lines = vec![set_line, instances_line];
    set_lines.extend(repair_line.clone());
    let storage_override = storage.as_ref().and_then(|(line, grant)| {
        set_lines.push(line.clone());
        grant.clone()
    });
    let applied_lines = set_lines.clone();
    steps.push(Step::new(set_lines, async move {
        if !prereq_ok.load(Ordering::SeqCst) {
            roles_failed_ref.lock().unwrap_or_else(|p| p.into_inner()).push("*".to_owned());
            return Ok(not_run(applied_lines, "the prerequisites failed"));
        }
        let outcome = deploy_stack_set(
            cfn_ref,
            view_ref,
            &args.target.stack_set_name,
            template_ref,
            parameters_ref,
            existing_set.is_some(),
            &missing,
            &stale,
            instances.is_empty(),
            preferences,
            wait,
        )
        .await;
        let (mut failures, mut stop) = match outcome {
            Ok(failures) => (failures, None),
            Err(phase) => (Vec::new(), Some(phase)),
        };
        if let (None, Some(grant)) = (&stop, storage_override.as_ref()) {
            match grant_storage(cfn_ref, view_ref, &args.target.stack_set_name, grant, preferences, wait).await {
                Ok(more) => failures.extend(more),
                Err(e) => stop = Some(("grant-storage-access", e)),
            }
        }
        {
            let mut failed = roles_failed_ref.lock().unwrap_or_else(|p| p.into_inner());
            // The roles did not deploy (a failed storage grant leaves them deployed).
            if stop.as_ref().is_some_and(|(action, _)| *action != "grant-storage-access") {
                failed.push("*".to_owned());
            }
            failed.extend(failures.iter().map(|f| f.0.clone()));
        }
        let (mut changes, error) = stopped_at(applied_lines, stop);
        for (account, region, status, reason) in &failures {
            let mut change = Change::new("stack-instance", account, ChangeStatus::Failed, format!("{status} in {region}"));
            change.error = Some(reason.clone());
            changes.push(change);
        }
        Ok(Done::Report { changes, error })
    }));
    if management_in_scope && caller_is_management {
        let management_stack = &management_stack;
        steps.push(Step::new(management_changes, async move {
            Ok(match stack::deploy(applying_ref, management_stack).await {
                Ok(r) => Done::Report { changes: r.changes, error: (!r.failures.is_empty()).then(|| r.failures.join("; ")) },
                Err(e) => Done::Report { changes: Vec::new(), error: Some(error_text(&e)) },
            })
        }));
    }
    let flow_changes: Vec<Change> = report.accounts.iter().flat_map(|a| a.changes.clone()).collect();
    let flow_accounts_ref = &flow_accounts;
    let flow_plans_ref = &flow_plans;
    let missing_ref = &missing_accounts;
    let plan_changes_ref = &plan_changes;
    steps.push(Step::new(flow_changes, async move {
        if !bucket_ok_ref.load(Ordering::SeqCst) {
            // No account creates a flow log to a bucket whose policy does not name it.
            let mut recorded = results_ref.lock().unwrap_or_else(|p| p.into_inner());
            for (account, changes) in plan_changes_ref.iter().filter(|(_, c)| !c.is_empty()) {
                recorded.insert(account.clone(), unattempted(changes.clone(), "the bucket policy is not in place"));
            }
            return Ok(Done::Report { changes: recorded.values().flatten().cloned().collect(), error: None });
        }
        let failed_roles = roles_failed_ref.lock().unwrap_or_else(|p| p.into_inner()).clone();
        // The futures are made up front: a future made by a stream's closure is not provably
        // `Send` inside the runner's boxed step.
        let caller = view_ref.identity.account.as_str();
        let pending: Vec<_> = flow_accounts_ref
            .iter()
            .map(|(account, role)| {
                let just_deployed = missing_ref.contains(&account.id);
                let plan_time = plan_changes_ref.get(&account.id).map(Vec::as_slice).unwrap_or_default();
                apply_account_flow_logs(ctx, account, role, args, &failed_roles, caller, flow_plans_ref.get(&account.id), just_deployed, plan_time)
            })
            .collect();
        Ok(run_accounts(pending, args.target.account_concurrency, results_ref).await)
    }));
    let outcome = apply::run(ApplyMode::APPLY, &ctx.printer, Plan::new(steps, OnFailure::Continue { concurrency: 1 }), "").await?;

    // The report: organization-level outcomes (every step but the last, the flow logs), and
    // each account's flow-log changes.
    let (org_steps, flow_step) = outcome.steps.split_at(outcome.steps.len().saturating_sub(1));
    let flow_error = flow_step.first().and_then(|s| s.error.clone());
    let by_account = account_results.into_inner().unwrap_or_else(|p| p.into_inner());
    report.settle(org_steps, by_account, flow_error, outcome.tally.interrupted);
    // Re-read the instances so that the report shows what the StackSet did.
    if let Ok(now) = stacksets::list_stack_instances(&cfn, &args.target.stack_set_name, view.caller).await {
        for entry in report.accounts.iter_mut() {
            entry.stack_instance = now.iter().find(|i| i.account == entry.account.id && i.region == view.stack_set_region).cloned();
        }
    }
    Ok(report)
}

/// A role the StackSet has just created: IAM is eventually consistent, and AssumeRole may be
/// denied for a short while after the role and its trust are created. Denials are retried for
/// about half a minute; any other error is not.
async fn assume_new_role(ctx: &Ctx, account: &str, role: &str) -> Result<Ctx> {
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

/// One account's flow-log plan. (Each per-account future is boxed as `Send` where its lifetimes
/// are concrete: unboxed, the streams over accounts are not provably `Send` inside the runner.)
fn plan_account_flow_logs<'a>(
    ctx: &'a Ctx,
    account: &'a ScopedAccount,
    role: &'a str,
    args: &'a OrgOnboardArgs,
) -> BoxFuture<'a, (String, Result<EnablePlan>)> {
    async move {
        let plan = match account_ctx(ctx, &account.id, role, ApplyMode::PLAN_ONLY).await {
            Ok(member) => flowlogs::plan_enable(&member, &args.flowlogs, false).await,
            Err(e) => Err(e),
        };
        (account.id.clone(), plan)
    }
    .boxed()
}

#[allow(clippy::too_many_arguments)]
/// Applies one account's flow logs, unless its roles did not deploy or the user asked to stop.
fn apply_account_flow_logs<'a>(
    ctx: &'a Ctx,
    account: &'a ScopedAccount,
    role: &'a str,
    args: &'a OrgOnboardArgs,
    failed_roles: &'a [String],
    caller: &'a str,
    planned: Option<&'a EnablePlan>,
    just_deployed: bool,
    plan_time: &'a [Change],
) -> BoxFuture<'a, (String, Vec<Change>)> {
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
        let changes = match account_flow_logs(ctx, account, role, args, planned, just_deployed).await {
            Ok(changes) => changes,
            Err(e) => {
                vec![account_failure("enable-flow-logs", &account.id, "not applied", &e)]
            }
        };
        (account.id.clone(), changes)
    }
    .boxed()
}

/// Removes one account's flowgate flow logs to the bucket.
fn disable_account_flow_logs<'a>(
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

fn step_ok(done: &Done) -> bool {
    match done {
        Done::Report { changes, error } => error.is_none() && changes.iter().all(|c| c.status != ChangeStatus::Failed),
        Done::Changed | Done::AlreadyDone => true,
    }
}

/// Auto-deployment is on unless the scope names its accounts (see `stacksets::auto_deployment`).
fn auto_deploys(view: &OrgView) -> bool {
    !matches!(view.scope.account_filter, AccountFilter::Intersection(_))
}

/// What differs between the StackSet and what this run deploys: the template, the parameters
/// (by name; the ExternalId's value is not shown), auto-deployment (when CloudFormation reports it).
fn set_differences(set: &stacksets::StackSetInfo, template: &str, parameters: &[(String, String)], auto_deploy: bool) -> Vec<String> {
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

fn set_is_current(set: &stacksets::StackSetInfo, template: &str, parameters: &SetParameters, view: &OrgView) -> bool {
    set_differences(set, template, &parameters.values, auto_deploys(view)).is_empty()
}

/// An operation that FAILED or was STOPPED without saying which account: an error of the step.
fn failed_without_results(outcome: &stacksets::OperationOutcome, id: &str) -> Result<()> {
    if matches!(outcome.status.as_str(), "FAILED" | "STOPPED") && outcome.failures.is_empty() {
        return Err(Error::refused(
            format!("the StackSet operation {id} ended {}: {}", outcome.status, outcome.status_reason.clone().unwrap_or_default()),
            Some("see the operation in the CloudFormation console (StackSets), fix, and re-run".to_owned()),
        ));
    }
    Ok(())
}

/// The override that lets the log-archive account's vendor role read the central bucket.
#[derive(Debug, Clone)]
struct StorageGrant {
    account: String,
    /// The target OU the account's instance was deployed through.
    ou: String,
    overrides: Vec<(String, String)>,
}

/// The target OU above `account` (its instance's deployment target).
fn target_ou_of(view: &OrgView, account: &str) -> Option<String> {
    let mut parent = view.tree.accounts.iter().find(|a| a.id == account)?.parent_id.clone();
    for _ in 0..8 {
        if view.scope.target_ous.contains(&parent) {
            return Some(parent);
        }
        parent = view.tree.units.iter().find(|u| u.id == parent)?.parent_id.clone();
    }
    None
}

async fn plan_storage_access(
    cfn: &aws_sdk_cloudformation::Client,
    view: &OrgView,
    set: &str,
    log_archive: &str,
    bucket: &BucketName,
    instances: &[StackInstance],
) -> Result<(Change, Option<StorageGrant>)> {
    let line = |status, detail: String| Change::new("grant-storage-access", bucket.as_str(), status, detail);
    let member = view.scope.members().iter().any(|m| m.id == log_archive);
    let Some(ou) = target_ou_of(view, log_archive).filter(|_| member) else {
        return Err(Error::input(
            format!("--storage-access: the log-archive account {log_archive} is not a member in scope, so the StackSet deploys no vendor role there"),
            Some("include the log-archive account in the scope (--ous / --include-accounts), or grant by hand with flowgate access grant in that account".to_owned()),
        ));
    };
    let wanted = [("StorageAccess".to_owned(), "true".to_owned()), ("StorageBucketNames".to_owned(), bucket.to_string())];
    let has_instance = instances.iter().any(|i| i.account == log_archive && i.region == view.stack_set_region);
    let current =
        if has_instance { stacksets::instance_overrides(cfn, set, log_archive, &view.stack_set_region, view.caller).await? } else { BTreeMap::new() };
    // UpdateStackInstances resets every override it is not given: the instance's others are
    // passed again with their current values.
    let overrides: Vec<(String, String)> = wanted
        .iter()
        .cloned()
        .chain(current.iter().filter(|(k, _)| !wanted.iter().any(|(w, _)| w == *k)).map(|(k, v)| (k.clone(), v.clone())))
        .collect();
    if wanted.iter().all(|(k, v)| current.get(k) == Some(v)) {
        return Ok((line(ChangeStatus::Skipped, format!("the vendor role in log-archive account {log_archive} reads the bucket")), None));
    }
    let detail =
        format!("the vendor role in log-archive account {log_archive} reads the bucket (a parameter override of that account's stack instance)");
    Ok((line(ChangeStatus::Planned, detail), Some(StorageGrant { account: log_archive.to_owned(), ou, overrides })))
}

/// An account's failure in a StackSet operation: (account, region, status, reason).
type InstanceFailure = (String, String, String, String);

/// Creates or updates the StackSet, creates the missing instances and deploys the stale ones
/// again, waiting for each operation; returns each account's failure, or the error with the
/// action of the plan line it stopped at.
#[allow(clippy::too_many_arguments)]
async fn deploy_stack_set(
    cfn: &aws_sdk_cloudformation::Client,
    view: &OrgView,
    name: &str,
    template: &str,
    parameters: &SetParameters,
    exists: bool,
    missing: &[String],
    stale: &[String],
    no_instances: bool,
    preferences: OperationPreferences,
    wait: std::time::Duration,
) -> std::result::Result<Vec<InstanceFailure>, (&'static str, Error)> {
    let set_action = if exists { "update-stack-set" } else { "create-stack-set" };
    let mut failures = deploy_set(cfn, view, name, template, parameters, exists, preferences, wait).await.map_err(|e| (set_action, e))?;
    if !missing.is_empty() {
        // The first deployment targets the scope (its OUs, filtered as asked); a later one only
        // the members still without an instance (accounts that joined while auto-deployment was
        // off, or whose instance was deleted), leaving the others' stacks alone.
        let only_missing = AccountFilter::Intersection(missing.to_vec());
        let filter = if no_instances { &view.scope.account_filter } else { &only_missing };
        // At most 50 OUs per call.
        for ous in view.scope.target_ous.chunks(50) {
            let targets = Targets { ous, filter };
            let created = async {
                let id =
                    stacksets::create_stack_instances(cfn, name, &targets, &view.stack_set_region, preferences, view.caller, stacksets::BUSY_DELAYS)
                        .await?;
                let outcome = stacksets::wait_operation(cfn, name, &id, view.caller, wait).await?;
                failed_without_results(&outcome, &id)?;
                Ok::<_, Error>(outcome.failures)
            };
            failures.extend(created.await.map_err(|e| ("create-stack-instances", e))?);
        }
    }
    if !stale.is_empty() {
        for ous in view.scope.target_ous.chunks(50) {
            let updated = async {
                let id = stacksets::update_instances(
                    cfn,
                    name,
                    ous,
                    stale,
                    &view.stack_set_region,
                    None,
                    preferences,
                    view.caller,
                    stacksets::BUSY_DELAYS,
                )
                .await?;
                let outcome = stacksets::wait_operation(cfn, name, &id, view.caller, wait).await?;
                failed_without_results(&outcome, &id)?;
                Ok::<_, Error>(outcome.failures)
            };
            failures.extend(updated.await.map_err(|e| ("update-stack-instances", e))?);
        }
    }
    Ok(failures)
}

/// Creates the StackSet, or updates it when it differs from what this run deploys.
#[allow(clippy::too_many_arguments)]
async fn deploy_set(
    cfn: &aws_sdk_cloudformation::Client,
    view: &OrgView,
    name: &str,
    template: &str,
    parameters: &SetParameters,
    exists: bool,
    preferences: OperationPreferences,
    wait: std::time::Duration,
) -> Result<Vec<InstanceFailure>> {
    match stacksets::describe_stack_set(cfn, name, view.caller).await? {
        None => stacksets::create_stack_set(cfn, name, template, &parameters.values, auto_deploys(view), view.caller).await?,
        Some(set) if exists && !set_is_current(&set, template, parameters, view) => {
            let id = stacksets::update_stack_set(
                cfn,
                name,
                template,
                &parameters.values,
                auto_deploys(view),
                preferences,
                view.caller,
                stacksets::BUSY_DELAYS,
            )
            .await?;
            let outcome = stacksets::wait_operation(cfn, name, &id, view.caller, wait).await?;
            failed_without_results(&outcome, &id)?;
            return Ok(outcome.failures);
        }
        Some(_) => {}
    }
    Ok(Vec::new())
}

/// The parameter override that lets the log-archive account's vendor role read the bucket.
async fn grant_storage(
    cfn: &aws_sdk_cloudformation::Client,
    view: &OrgView,
    name: &str,
    grant: &StorageGrant,
    preferences: OperationPreferences,
    wait: std::time::Duration,
) -> Result<Vec<InstanceFailure>> {
    let id = stacksets::update_instances(
        cfn,
        name,
        std::slice::from_ref(&grant.ou),
        std::slice::from_ref(&grant.account),
        &view.stack_set_region,
        Some(&grant.overrides),
        preferences,
        view.caller,
        stacksets::BUSY_DELAYS,
    )
    .await?;
    Ok(stacksets::wait_operation(cfn, name, &id, view.caller, wait).await?.failures)
}

/// `org status` and `org verify`: per account, the stack instance, the operator role, flow-log
/// coverage and delivery to the central bucket.
pub async fn inspect(ctx: &Ctx, args: &OrgStatusArgs, command: &'static str) -> Result<OrgReport> {
    desired_flow_log(&args.spec, "aws")?;
    refuse_named_vpcs(&args.scope)?;
    let view = observe_org(ctx, &args.target).await?;
    check_regions(ctx, &args.scope).await?;
    let cfn = stacksets_client(ctx, &view.stack_set_region);
    let set = stacksets::describe_stack_set(&cfn, &args.target.stack_set_name, view.caller).await?;
    let instances = if set.is_some() { stacksets::list_stack_instances(&cfn, &args.target.stack_set_name, view.caller).await? } else { Vec::new() };
    let (log_archive, la) = log_archive_ctx(ctx, &args.target, ApplyMode::PLAN_ONLY).await?;
    let policy = match s3::bucket_existence(&la.s3(&la.home_region), &args.spec.bucket, &log_archive).await? {
        crate::core::bucket::BucketExistence::Owned { region } => Some((region.clone(), s3::read_policy(&la.s3(&region), &args.spec.bucket).await?)),
        _ => None,
    };
    // An account may deliver when the policy already grants its path under this prefix, in the
    // per-account form or in the organization's (with this organization's id): merging it in
    // either form would change nothing.
    let policy_text = policy.as_ref().and_then(|(_, p)| p.clone());
    let partition = view.identity.partition.clone();
    let spec = &args.spec;
    let may_deliver = |account: &str| {
        let accounts = [account.to_owned()];
        let by_org_statements = [DeliveryPolicyForm::PerAccount, DeliveryPolicyForm::Org].into_iter().any(|form| {
            let target = delivery_target(&partition, &spec.bucket, spec.prefix.as_ref(), spec.hive_partitions, form, &view.tree.org_id);
            policy_text.is_some()
                && org_delivery::merge_org_delivery(policy_text.as_deref(), &target, &accounts).is_ok_and(|m| m.document.is_none() && !m.form_changed)
        });
        // Or by the single-account statements (the log-archive account's own, or an account
        // onboarded on its own into this bucket): any statement that grants what they grant.
        let own = crate::core::bucket_policy::DeliveryTarget {
            partition: &partition,
            bucket: &spec.bucket,
            prefix: spec.prefix.as_ref(),
            account,
            hive_partitions: spec.hive_partitions,
        };
        let by_own_statements = policy_text.is_some()
            && crate::core::bucket_policy::missing_delivery_statements(
                policy_text.as_deref(),
                &crate::core::bucket_policy::delivery_statements(&own),
            )
            .is_ok_and(|missing| missing.is_empty());
        by_org_statements || by_own_statements
    };

    // The management account's stack (a StackSet never reaches that account).
    let management_stack = match (view.scope.management(), view.caller) {
        (None, _) => Check::pass("stack-instance", "not in scope"),
        (Some(_), Caller::DelegatedAdmin) => Check::warn(
            "stack-instance",
            "the management account is out of a delegated administrator's reach",
            "check it there: flowgate stack status",
        ),
        (Some(_), Caller::Management) => match crate::aws::cloudformation::describe_stack(&ctx.cloudformation(), &args.stack_name).await? {
            Some(stack) if stack.status.ends_with("_COMPLETE") && !stack.status.contains("ROLLBACK") && !stack.status.starts_with("DELETE") => {
                Check::pass("stack-instance", format!("the single-account stack {} is {}", args.stack_name, stack.status))
            }
            Some(stack) => Check::fail(
                "stack-instance",
                format!("the single-account stack {} is {}", args.stack_name, stack.status),
                "re-run flowgate org onboard",
            ),
            None => Check::fail("stack-instance", format!("no stack {} in the management account", args.stack_name), "re-run flowgate org onboard"),
        },
    };

    let mut report = OrgReport::new(command, &view, &args.target, &args.spec.bucket, &log_archive, false);
    report.accounts = view.scope.accounts.iter().map(|a| AccountEntry::new(a, &instances, &view.stack_set_region)).collect();
    if set.is_none() {
        report.changes.push(Change::new("stack-set", &args.target.stack_set_name, ChangeStatus::Planned, "not deployed: org onboard creates it"));
    }
    if policy.is_none() {
        report.changes.push(Change::new("bucket", args.spec.bucket.as_str(), ChangeStatus::Planned, format!("not in account {log_archive}")));
    }
    let flow_accounts = flow_log_accounts(&view);
    let status_args = FlowLogsStatusArgs { spec: args.spec.clone(), scope: args.scope.clone() };
    let pending: Vec<_> = flow_accounts.iter().map(|(account, role)| account_coverage(ctx, account, role, &status_args)).collect();
    let coverage: Vec<(String, Result<flowlogs::StatusReport>)> =
        stream::iter(pending).buffered(usize::from(args.target.account_concurrency)).collect().await;
    let coverage: BTreeMap<String, Result<flowlogs::StatusReport>> = coverage.into_iter().collect();
    let scoped: Vec<String> = view.scope.in_scope().iter().map(|a| a.id.clone()).collect();
    let delivered = delivered_accounts(
        &la,
        &args.spec.bucket,
        args.spec.prefix.as_ref(),
        args.spec.hive_partitions,
        policy.as_ref().map(|(r, _)| r.as_str()),
        &scoped,
    )
    .await;

    for entry in report.accounts.iter_mut().filter(|e| e.in_scope()) {
        let id = entry.account.id.clone();
        let mut checks = Vec::new();
        if entry.is_management() {
            checks.push(management_stack.clone());
        } else {
            checks.push(instance_check(entry.stack_instance.as_ref()));
        }
        match coverage.get(&id) {
            Some(Ok(status)) => {
                let t = &status.totals;
                let detail = format!(
                    "{} VPC(s) in {} region(s): {} compliant, {} non-compliant, {} missing",
                    t.vpcs, t.regions, t.compliant, t.non_compliant, t.missing
                );
                checks.push(match status.status {
                    CheckStatus::Pass => Check::pass("flow-logs", detail),
                    _ => Check::fail("flow-logs", detail, "re-run flowgate org onboard (add --replace for non-compliant flow logs)"),
                });
            }
            Some(Err(e)) => {
                checks.push(Check::fail("flow-logs", format!("could not be read: {e}"), e.hint().unwrap_or("check the account's operator role")))
            }
            None => checks.push(Check::warn("flow-logs", "not managed by this caller", "run flowgate onboard in the management account")),
        }
        checks.push(if may_deliver(&id) {
            Check::pass("delivery-policy", "the central bucket's policy lets the account deliver")
        } else {
            Check::fail("delivery-policy", "the central bucket's policy does not name the account", "re-run flowgate org onboard")
        });
        checks.push(match &delivered {
            Ok(accounts) if accounts.contains(&id) => Check::pass("delivery", "flow-log objects from the account are in the central bucket"),
            Ok(_) => Check::warn(
                "delivery",
                "no flow-log object from the account yet",
                "objects arrive about 10 minutes after traffic; a VPC without traffic delivers nothing",
            ),
            Err(e) => Check::warn("delivery", format!("the central bucket could not be listed: {e}"), "check the log-archive role's s3:ListBucket"),
        });
        entry.result = Some(worst(&checks));
        entry.checks = checks;
    }
    let all: Vec<Check> = report.accounts.iter().flat_map(|a| a.checks.iter().cloned()).collect();
    let mut status = worst(&all);
    if !report.changes.is_empty() {
        status = CheckStatus::Fail;
    }
    report.status = Some(status);
    Ok(report)
}

fn account_coverage<'a>(
    ctx: &'a Ctx,
    account: &'a ScopedAccount,
    role: &'a str,
    args: &'a FlowLogsStatusArgs,
) -> BoxFuture<'a, (String, Result<flowlogs::StatusReport>)> {
    async move {
        let member = account_ctx(ctx, &account.id, role, ApplyMode::PLAN_ONLY).await;
        let result = match member {
            Ok(member) => flowlogs::status(&member, args).await,
            Err(e) => Err(e),
        };
        (account.id.clone(), result)
    }
    .boxed()
}

fn plan_account_disable<'a>(
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

fn instance_check(instance: Option<&StackInstance>) -> Check {
    org_checks::instance_check(instance.map(|i| InstanceState {
        status: &i.status,
        detailed_status: i.detailed_status.as_deref(),
        status_reason: i.status_reason.as_deref(),
    }))
}

/// The accounts with at least one flow-log object under their own flow-log path
/// (`[prefix/]AWSLogs/ACCOUNT/vpcflowlogs/`, or the hive form), one key asked for per account:
/// other services' logs under `AWSLogs/ACCOUNT/` are not flow logs, and a central bucket may hold
/// millions of objects.
async fn delivered_accounts(
    la: &Ctx,
    bucket: &BucketName,
    prefix: Option<&LogPrefix>,
    hive: bool,
    region: Option<&str>,
    accounts: &[String],
) -> Result<Vec<String>> {
    let Some(region) = region else { return Ok(Vec::new()) };
    let client = la.s3(region);
    let root = prefix.map(|p| format!("{p}/")).unwrap_or_default();
    let reads: Vec<_> = accounts
        .iter()
        .map(|account| {
            let path = if hive {
                format!("{root}AWSLogs/aws-account-id={account}/aws-service=vpcflowlogs/")
            } else {
                format!("{root}AWSLogs/{account}/vpcflowlogs/")
            };
            let client = client.clone();
            async move { (account.clone(), s3::any_object(&client, bucket, &path).await) }
        })
        .collect();
    let found: Vec<(String, Result<bool>)> = stream::iter(reads).buffered(16).collect().await;
    let mut delivered = Vec::new();
    for (account, result) in found {
        if result? {
            delivered.push(account);
        }
    }
    Ok(delivered)
}

/// What org offboard does to the central bucket's policy, as planned (or as applied).
#[derive(Debug, Clone, Serialize)]
pub struct PolicyEdit {
    /// Statements removed whole, by Sid.
    pub removed_statements: Vec<String>,
    /// Accounts taken out of the per-account organization statements.
    pub accounts_taken_out: Vec<String>,
    /// Accounts the per-account organization statements still name.
    pub accounts_still_granted: Vec<String>,
    /// The organization form stays: every account of the organization may still deliver.
    pub org_form_kept: bool,
    /// Every statement left, by Sid (`(no Sid)` for one without), in policy order.
    pub kept_statements: Vec<String>,
    /// Nothing is left: the bucket policy is deleted.
    pub policy_deleted: bool,
    /// The log-archive account's own delivery statements (`FlowgateLogDelivery*`): `removed`,
    /// `none`, or `kept: WHY`.
    pub log_archive_statements: String,
    /// The bucket's policy is as this says (applied, or nothing to change); false: a plan (a dry
    /// run, or a step that did not run or failed).
    pub applied: bool,
}

/// What offboard plans for the central bucket's policy.
struct PolicyPlan {
    /// The bucket's region; `None`: no such bucket in the log-archive account.
    region: Option<String>,
    /// The log-archive account, when its own statements go with this offboarding.
    log_archive_leaves: Option<String>,
    verdict: LogArchiveStatements,
    line: Change,
    edit: Option<PolicyEdit>,
}

/// Reads the central bucket's policy and plans its edit: the leaving accounts out of the
/// organization's statements, and the log-archive account's own statements when that account
/// leaves and no onboarding of its own keeps them (its role stack is read to know).
async fn plan_offboard_policy(
    la: &Ctx,
    args: &OrgOffboardArgs,
    view: &OrgView,
    log_archive: &str,
    leaving: &[String],
    whole_org: bool,
    stack_goes: bool,
) -> Result<PolicyPlan> {
    let bucket = &args.bucket;
    let region = match s3::bucket_existence(&la.s3(&la.home_region), bucket, log_archive).await? {
        crate::core::bucket::BucketExistence::Owned { region } => region,
        _ => {
            let line =
                Change::new("remove-delivery-statements", bucket.as_str(), ChangeStatus::Skipped, format!("no such bucket in account {log_archive}"));
            let verdict = LogArchiveStatements::Keep { reason: "no bucket".to_owned() };
            return Ok(PolicyPlan { region: None, log_archive_leaves: None, verdict, line, edit: None });
        }
    };
    let existing = s3::read_policy(&la.s3(&region), bucket).await?;
    let leaves = whole_org || leaving.iter().any(|a| a == log_archive);
    let own = match (leaves, stack_goes) {
        (false, _) => OwnOnboarding::None,
        (true, true) => OwnOnboarding::Leaving,
        (true, false) => match crate::aws::cloudformation::describe_stack(&la.cloudformation(), &args.stack_name).await? {
            Some(_) => OwnOnboarding::Stays { stack: &args.stack_name },
            None => OwnOnboarding::None,
        },
    };
    let verdict = org_offboard::log_archive_statements(log_archive, leaving, whole_org, own);
    let log_archive_leaves = (verdict == LogArchiveStatements::Remove).then(|| log_archive.to_owned());
    let offboarding = Offboarding { leaving, whole_organization: whole_org, log_archive: log_archive_leaves.as_deref() };
    let edit = offboard_edit_of(existing.as_deref(), &offboarding)?;
    let has_own = has_account_statements(existing.as_deref(), log_archive);
    let report = policy_edit_report(&edit, has_own, &verdict);
    let line = policy_line(bucket, &edit, &report, &view.tree.org_id, log_archive, ChangeStatus::Planned);
    Ok(PolicyPlan { region: Some(region), log_archive_leaves, verdict, line, edit: Some(report) })
}

fn offboard_edit_of(existing: Option<&str>, offboarding: &Offboarding<'_>) -> Result<OffboardEdit> {
    org_offboard::offboard_edit(existing, offboarding).map_err(|e| {
        Error::refused(format!("the central bucket's policy cannot be edited: {e}"), Some("fix the policy by hand, then re-run".to_owned()))
    })
}

/// Whether the policy holds flowgate's single-account statements for `account`.
fn has_account_statements(existing: Option<&str>, account: &str) -> bool {
    let statements =
        existing.and_then(|text| crate::core::policy_doc::parse_document(text).ok()).and_then(|doc| crate::core::policy_doc::statements(&doc).ok());
    statements.unwrap_or_default().iter().any(|s| crate::core::bucket_policy::is_account_statement(s, account))
}

fn policy_edit_report(edit: &OffboardEdit, has_own: bool, verdict: &LogArchiveStatements) -> PolicyEdit {
    let removed_own = edit.removed.iter().any(|sid| sid == crate::core::bucket_policy::WRITE_SID || sid == crate::core::bucket_policy::ACL_SID)
        && *verdict == LogArchiveStatements::Remove;
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
        org_form_kept: edit.org_form_kept,
        kept_statements: edit.kept.clone(),
        policy_deleted: edit.delete_policy,
        log_archive_statements,
        applied: false,
    }
}

/// The plan line of the policy edit: what goes, what stays and who may still deliver.
fn policy_line(bucket: &BucketName, edit: &OffboardEdit, report: &PolicyEdit, org_id: &str, log_archive: &str, status: ChangeStatus) -> Change {
    let list = |accounts: &[String]| format!("{} account(s): {}", accounts.len(), accounts.join(", "));
    let mut parts = Vec::new();
    if !edit.removed.is_empty() {
        parts.push(format!("remove {}", edit.removed.join(", ")));
    }
    if !edit.taken_out.is_empty() {
        parts.push(format!("take out {}", list(&edit.taken_out)));
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
    parts.push(if edit.delete_policy {
        "nothing else left: the bucket policy is deleted".to_owned()
    } else {
        format!("{} statement(s) kept: {}", edit.kept.len(), if edit.kept.is_empty() { "none".to_owned() } else { edit.kept.join(", ") })
    });
    let status = if edit.changes_policy() { status } else { ChangeStatus::Skipped };
    let detail = if edit.changes_policy() { parts.join("; ") } else { format!("nothing to remove; {}", parts.join("; ")) };
    Change::new("remove-delivery-statements", bucket.as_str(), status, detail)
}

/// Applies the policy edit on what the bucket's policy is now; returns the line and the edit as
/// applied.
async fn apply_offboard_policy(
    la: &Ctx,
    bucket: &BucketName,
    region: &str,
    offboarding: &Offboarding<'_>,
    verdict: &LogArchiveStatements,
    org_id: &str,
) -> Result<(Change, PolicyEdit)> {
    let log_archive = la.identity().await?.account.clone();
    let client = la.s3(region);
    let existing = s3::read_policy(&client, bucket).await?;
    let edit = offboard_edit_of(existing.as_deref(), offboarding)?;
    if edit.delete_policy {
        s3::delete_policy(&client, bucket).await?;
    } else if let Some(document) = &edit.document {
        s3::apply_bucket_action(&client, bucket, &BucketAction::PutBucketPolicy { document: document.clone() }).await?;
    }
    let mut report = policy_edit_report(&edit, has_account_statements(existing.as_deref(), &log_archive), verdict);
    report.applied = true;
    let line = policy_line(bucket, &edit, &report, org_id, &log_archive, ChangeStatus::Applied);
    Ok((line, report))
}

// Long (~150 lines): the reverse of onboard in the order that keeps access until it is not
// needed: flow logs (through the operator roles), the bucket policy, the instances, the set.
pub async fn offboard(ctx: &Ctx, args: &OrgOffboardArgs) -> Result<OrgReport> {
    let t = &args.target;
    if !args.whole_organization && t.ous.is_empty() && t.include_accounts.is_empty() && t.exclude_accounts.is_empty() {
        return Err(Error::input(
            "org offboard needs its scope named: it removes roles, flow logs and delivery grants",
            Some("pass --ous, --include-accounts or --exclude-accounts as org onboard was given them, or --whole-organization".to_owned()),
        ));
    }
    let view = observe_org(ctx, &args.target).await?;
    let cfn = stacksets_client(ctx, &view.stack_set_region);
    let set = stacksets::describe_stack_set(&cfn, &args.target.stack_set_name, view.caller).await?;
    let instances = if set.is_some() { stacksets::list_stack_instances(&cfn, &args.target.stack_set_name, view.caller).await? } else { Vec::new() };
    let (log_archive, la) = log_archive_ctx(ctx, &args.target, ApplyMode::PLAN_ONLY).await?;
    let whole_org = args.target.ous.is_empty() && args.target.include_accounts.is_empty() && args.target.exclude_accounts.is_empty();
    let mut report = OrgReport::new("org offboard", &view, &args.target, &args.bucket, &log_archive, ctx.dry_run);
    report.accounts = view.scope.accounts.iter().map(|a| AccountEntry::new(a, &instances, &view.stack_set_region)).collect();

    // Flow logs first: they are removed through the operator roles the instances hold, in every
    // region and VPC.
    let every_region = crate::cli::ScopeArgs { regions: Vec::new(), vpcs: Vec::new(), concurrency: args.concurrency };
    let disable = FlowLogsDisableArgs { scope: every_region, bucket: Some(args.bucket.clone()) };
    let flow_accounts = flow_log_accounts(&view);
    let pending: Vec<_> = flow_accounts.iter().map(|(account, role)| plan_account_disable(ctx, account, role, &disable)).collect();
    let planned: Vec<(String, Result<Vec<Change>>)> = stream::iter(pending).buffered(usize::from(args.target.account_concurrency)).collect().await;
    let mut unread: Vec<String> = Vec::new();
    for (id, result) in planned {
        if let Some(entry) = report.accounts.iter_mut().find(|e| e.account.id == id) {
            entry.changes = match result {
                Ok(changes) => changes,
                Err(e) => {
                    unread.push(id.clone());
                    vec![account_failure("read-account", &id, "the account could not be read", &e)]
                }
            };
        }
    }

    // The bucket policy: the leaving accounts' grants (a narrower offboard leaves the others
    // delivering).
    let delete_management = view.scope.management().is_some() && view.caller == Caller::Management;
    let leaving: Vec<String> = view.scope.in_scope().iter().map(|a| a.id.clone()).collect();
    let stack_goes = delete_management && log_archive == view.tree.management_account;
    let policy = plan_offboard_policy(&la, args, &view, &log_archive, &leaving, whole_org, stack_goes).await?;
    report.policy_edit = policy.edit.clone();
    let policy_line = policy.line.clone();
    let in_scope_instances: Vec<&StackInstance> = instances.iter().filter(|i| view.scope.members().iter().any(|m| m.id == i.account)).collect();
    let instances_line = if in_scope_instances.is_empty() {
        Change::new("delete-stack-instances", &args.target.stack_set_name, ChangeStatus::Skipped, "no instance in scope")
    } else {
        Change::new(
            "delete-stack-instances",
            &args.target.stack_set_name,
            ChangeStatus::Planned,
            format!("{} account(s): the vendor role and the operator role go with them", in_scope_instances.len()),
        )
    };
    let others_remain = instances.len() > in_scope_instances.len();
    let set_line = match (&set, others_remain) {
        (None, _) => Change::new("delete-stack-set", &args.target.stack_set_name, ChangeStatus::Skipped, "does not exist"),
        (Some(_), true) => {
            Change::new("delete-stack-set", &args.target.stack_set_name, ChangeStatus::Skipped, "kept: instances outside the scope remain")
        }
        (Some(_), false) => Change::new("delete-stack-set", &args.target.stack_set_name, ChangeStatus::Planned, "once its instances are gone"),
    };
    let delete_args = StackDeleteArgs { name: StackNameArgs { stack_name: args.stack_name.clone() }, wait: args.wait.clone() };
    let management_changes = if delete_management {
        stack::delete(&ctx.fork(ApplyMode::PLAN_ONLY, ctx.printer.silent()), &delete_args).await?.changes
    } else {
        Vec::new()
    };
    report.changes = vec![policy_line.clone(), instances_line.clone(), set_line.clone()];
    report.changes.extend(management_changes.clone());
    report.summary = ChangeTally::of(&report.all_changes());
    show_plan(ctx, format_args!("{}\nPlan to offboard organization {}:\n{}", ctx.identity_line().await?, view.tree.org_id, PlanText(&report)))?;

    let pending = report.summary.planned;
    let decision = apply::confirm(ctx.mode(), pending, &format!("Apply {pending} change(s) to offboard organization {}?", view.tree.org_id))?;
    if decision != apply::Decision::Apply {
        return Ok(report);
    }
    report.applied = true;
    let preferences = preferences_of(args.operations);
    let wait = std::time::Duration::from_secs(args.wait.wait_timeout);
    let la_apply = la.fork(ApplyMode::APPLY, ctx.printer.silent());
    let applying = ctx.fork(ApplyMode::APPLY, ctx.printer.silent());
    let (view_ref, cfn_ref, disable_ref, la_ref, applying_ref, delete_ref) = (&view, &cfn, &disable, &la_apply, &applying, &delete_args);
    let unread_ref = &unread;
    let account_results: Mutex<BTreeMap<String, Vec<Change>>> = Mutex::new(BTreeMap::new());
    let results_ref = &account_results;
    let applied_edit: Mutex<Option<PolicyEdit>> = Mutex::new(None);
    let applied_edit_ref = &applied_edit;
    let offboarding = Offboarding { leaving: &leaving, whole_organization: whole_org, log_archive: policy.log_archive_leaves.as_deref() };
    let offboarding_ref = &offboarding;
    let verdict_ref = &policy.verdict;
    let flow_changes: Vec<Change> = report.accounts.iter().flat_map(|a| a.changes.clone()).collect();
    let flow_accounts_ref = &flow_accounts;
    let set_name = args.target.stack_set_name.as_str();
    let bucket = &args.bucket;
    let bucket_region = policy.region.clone();
    let set_lines = vec![instances_line, set_line];
    let set_lines_ref = &set_lines;
    let mut steps = vec![
        Step::new(flow_changes, async move {
            // An account that could not be read for the plan is not changed unseen.
            let pending: Vec<_> = flow_accounts_ref
                .iter()
                .filter(|(account, _)| !unread_ref.contains(&account.id))
                .map(|(account, role)| disable_account_flow_logs(ctx, account, role, disable_ref))
                .collect();
            Ok(run_accounts(pending, args.target.account_concurrency, results_ref).await)
        }),
        Step::new(vec![policy_line], async move {
            let Some(region) = &bucket_region else { return Ok(Done::AlreadyDone) };
            let (line, edit) = apply_offboard_policy(la_ref, bucket, region, offboarding_ref, verdict_ref, &view_ref.tree.org_id).await?;
            *applied_edit_ref.lock().unwrap_or_else(|p| p.into_inner()) = Some(edit);
            Ok(Done::Report { changes: vec![line], error: None })
        }),
        Step::new(set_lines.clone(), async move {
            let deleted = delete_instances(cfn_ref, view_ref, set_name, !in_scope_instances.is_empty(), preferences, wait).await;
            if let Err(e) = deleted {
                let (changes, error) = stopped_at(set_lines_ref.clone(), Some(("delete-stack-instances", e)));
                return Ok(Done::Report { changes, error });
            }
            let removed = if set.is_some() && !others_remain { delete_set(cfn_ref, view_ref, set_name).await } else { Ok(()) };
            let (changes, error) = stopped_at(set_lines_ref.clone(), removed.err().map(|e| ("delete-stack-set", e)));
            Ok(Done::Report { changes, error })
        }),
    ];
    if delete_management {
        steps.push(Step::new(management_changes, async move {
            Ok(match stack::delete(applying_ref, delete_ref).await {
                Ok(r) => Done::Report { changes: r.changes, error: (!r.failures.is_empty()).then(|| r.failures.join("; ")) },
                Err(e) => Done::Report { changes: Vec::new(), error: Some(error_text(&e)) },
            })
        }));
    }
    let outcome = apply::run(ApplyMode::APPLY, &ctx.printer, Plan::new(steps, OnFailure::Stop), "").await?;
    // Every step but the first (the flow logs) is the organization's.
    let by_account = account_results.into_inner().unwrap_or_else(|p| p.into_inner());
    report.settle(outcome.steps.get(1..).unwrap_or_default(), by_account, None, outcome.tally.interrupted);
    match applied_edit.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(edit) => report.policy_edit = Some(edit),
        // Nothing to change: the plan is what the bucket says.
        None if report.changes.iter().any(|c| c.action == "remove-delivery-statements" && c.status == ChangeStatus::Skipped) => {
            if let Some(edit) = report.policy_edit.as_mut() {
                edit.applied = true;
            }
        }
        None => {}
    }
    Ok(report)
}

/// Deletes the scope's stack instances (`RetainStacks` false), at most 50 OUs a call.
async fn delete_instances(
    cfn: &aws_sdk_cloudformation::Client,
    view: &OrgView,
    set_name: &str,
    any: bool,
    preferences: OperationPreferences,
    wait: std::time::Duration,
) -> Result<()> {
    if !any {
        return Ok(());
    }
    for ous in view.scope.target_ous.chunks(50) {
        let targets = Targets { ous, filter: &view.scope.account_filter };
        let id = stacksets::delete_stack_instances(cfn, set_name, &targets, &view.stack_set_region, preferences, view.caller, stacksets::BUSY_DELAYS)
            .await?;
        let outcome = stacksets::wait_operation(cfn, set_name, &id, view.caller, wait).await?;
        failed_without_results(&outcome, &id)?;
        if let Some((account, _, status, reason)) = outcome.failures.first() {
            return Err(Error::refused(format!("deleting the instance in account {account}: {status} {reason}"), None));
        }
    }
    Ok(())
}

/// Deletes the StackSet once no instance is left.
async fn delete_set(cfn: &aws_sdk_cloudformation::Client, view: &OrgView, set_name: &str) -> Result<()> {
    let left = stacksets::list_stack_instances(cfn, set_name, view.caller).await?;
    if !left.is_empty() {
        return Err(Error::refused(
            format!("stack set {set_name} still has {} instance(s): it is kept", left.len()),
            Some("see flowgate org status; delete the remaining instances, then re-run".to_owned()),
        ));
    }
    stacksets::delete_stack_set(cfn, set_name, view.caller, stacksets::BUSY_DELAYS).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stack_set_update_names_what_changed() {
        let set = stacksets::StackSetInfo {
            status: "ACTIVE".into(),
            template_body: "T".into(),
            parameters: [("RoleName".to_owned(), "A".to_owned())].into_iter().collect(),
            auto_deployment: Some(true),
        };
        let same = [("RoleName".to_owned(), "A".to_owned())];
        assert!(set_differences(&set, "T", &same, true).is_empty());
        assert_eq!(set_differences(&set, "T", &same, false), ["auto-deployment on -> off"]);
        let renamed = [("RoleName".to_owned(), "B".to_owned())];
        assert_eq!(set_differences(&set, "U", &renamed, true), ["the template", "parameter(s) RoleName"]);
        // CloudFormation did not report auto-deployment: not a difference.
        let unknown = stacksets::StackSetInfo { auto_deployment: None, ..set.clone() };
        assert!(set_differences(&unknown, "T", &same, false).is_empty());
    }

    #[test]
    fn per_account_statements_replacing_the_org_form_keep_every_active_account() {
        let scoped = vec!["111111111111".to_owned()];
        let active = vec!["111111111111".to_owned(), "222222222222".to_owned(), "333333333333".to_owned()];
        let org_form = format!(
            r#"{{"Statement":[{{"Sid":"{}","Condition":{{"StringEquals":{{"aws:SourceOrgID":"o-abcdefghij"}}}}}}]}}"#,
            org_delivery::ORG_WRITE_SID
        );
        assert_eq!(delivery_accounts(Some(&org_form), DeliveryPolicyForm::PerAccount, &scoped, &active), active);
        // Already per-account, or staying in the org form: the scope only.
        assert_eq!(delivery_accounts(None, DeliveryPolicyForm::PerAccount, &scoped, &active), scoped);
        assert_eq!(delivery_accounts(Some(&org_form), DeliveryPolicyForm::Org, &scoped, &active), scoped);
    }
}
