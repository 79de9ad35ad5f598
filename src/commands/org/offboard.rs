//! `org offboard`: the reverse of onboard, in the order that keeps access until it is not
//! needed: flow logs (through the operator roles), the bucket policy, the instances, the set,
//! and the management account's single-account stack. An account whose flow logs could not be
//! removed (its role refused, a read or a removal failed) keeps what lets a re-run finish: its
//! delivery grant, its stack instance (the operator role) and so the StackSet; the plan and the
//! report name it and why, and the run exits 3.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use futures::stream::{self, StreamExt};

use super::discover::{OrgView, flow_log_accounts, log_archive_ctx, observe_org, stacksets_client};
use super::display::PlanText;
use super::flowlogs::{disable_account_flow_logs, plan_account_disable, run_accounts};
use super::offboard_policy::{Leaving, PolicyPlan, apply_offboard_policy, plan_offboard_policy};
use super::report::{AccountEntry, OrgReport, account_failure, not_run, show_plan, stopped_at};
use super::stackset::{delete_instances, delete_set, flowgates_set_or_refuse, preferences_of};
use super::watch::{WatchRemoval, plan_removal, remove};
use crate::apply::{self, ApplyMode, Done, OnFailure, Plan, Step, error_text};
use crate::aws::stacksets::{self, Caller, StackInstance};
use crate::cli::{FlowLogsDisableArgs, OrgOffboardArgs, ScopeArgs, StackDeleteArgs, StackNameArgs};
use crate::commands::stack;
use crate::context::Ctx;
use crate::core::org_offboard::{self, KeptAccount, PolicyEdit};
use crate::core::org_scope::AccountFilter;
use crate::core::org_scope::ScopedAccount;
use crate::core::org_stackset;
use crate::core::report::{Change, ChangeStatus, ChangeTally};
use crate::error::{Error, Result};

pub async fn offboard(ctx: &Ctx, args: &OrgOffboardArgs) -> Result<OrgReport> {
    let t = &args.target;
    if !args.whole_organization && t.ous.is_empty() && t.include_accounts.is_empty() && t.exclude_accounts.is_empty() {
        return Err(Error::input(
            "org offboard needs its scope named: it removes roles, flow logs and delivery grants",
            Some("pass --ous, --include-accounts or --exclude-accounts as org onboard was given them, or --whole-organization".to_owned()),
        ));
    }
    let (plan, report) = plan_offboard(ctx, args).await?;
    let org_id = &plan.view.tree.org_id;
    show_plan(ctx, format_args!("{}\nPlan to offboard organization {org_id}:\n{}", ctx.identity_line().await?, PlanText(&report)))?;
    let pending = report.summary.planned;
    let decision = apply::confirm(ctx.mode(), pending, &format!("Apply {pending} change(s) to offboard organization {org_id}?"))?;
    if decision != apply::Decision::Apply {
        return Ok(report);
    }
    apply_offboard(ctx, args, plan, report).await
}

/// The offboard plan: everything the apply needs, read once.
struct OffboardPlan {
    view: OrgView,
    cfn: aws_sdk_cloudformation::Client,
    set_exists: bool,
    instances: Vec<StackInstance>,
    /// The log-archive account, and the run acting there (plan only; the apply forks it).
    log_archive: String,
    la: Ctx,
    whole_org: bool,
    disable: FlowLogsDisableArgs,
    flow_accounts: Vec<(ScopedAccount, String)>,
    /// Accounts whose flow logs could not be read for the plan: not changed unseen.
    unread: Vec<String>,
    /// Accounts kept by the plan: their flow logs could not all be read (see
    /// [`org_offboard::kept_accounts`]).
    kept: Vec<KeptAccount>,
    /// Every account in scope.
    in_scope: Vec<String>,
    policy: PolicyPlan,
    delete_args: StackDeleteArgs,
    /// The management account's stack goes: the caller is that account, in scope (its plan
    /// lines; unless the account is kept).
    management_changes: Option<Vec<Change>>,
    /// flowgate's watch StackSet, removed first.
    watch: Option<WatchRemoval>,
}

async fn plan_offboard(ctx: &Ctx, args: &OrgOffboardArgs) -> Result<(OffboardPlan, OrgReport)> {
    let view = observe_org(ctx, &args.target).await?;
    let cfn = stacksets_client(ctx, &view.stack_set_region);
    let set =
        flowgates_set_or_refuse(stacksets::describe_stack_set(&cfn, &args.target.stack_set_name, view.caller).await?, &args.target.stack_set_name)?;
    let watch = plan_removal(&cfn, &view).await?;
    let instances = if set.is_some() { stacksets::list_stack_instances(&cfn, &args.target.stack_set_name, view.caller).await? } else { Vec::new() };
    let (log_archive, la) = log_archive_ctx(ctx, &args.target, ApplyMode::PLAN_ONLY).await?;
    let whole_org = args.target.ous.is_empty() && args.target.include_accounts.is_empty() && args.target.exclude_accounts.is_empty();
    let mut report = OrgReport::new("org offboard", &view, &args.target, &args.bucket, &log_archive, ctx.dry_run);
    report.accounts = view.scope.accounts.iter().map(|a| AccountEntry::new(a, &instances, &view.stack_set_region)).collect();

    // Flow logs first: they are removed through the operator roles the instances hold, in every
    // region and VPC.
    let every_region = ScopeArgs { regions: Vec::new(), vpcs: Vec::new(), concurrency: args.concurrency };
    let disable = FlowLogsDisableArgs { scope: every_region, bucket: Some(args.bucket.clone()) };
    let flow_accounts = flow_log_accounts(&view);
    let (unread, kept) = plan_flow_log_removal(ctx, args, &disable, &flow_accounts, &mut report).await;

    // The bucket policy: the leaving accounts' grants (a narrower offboard leaves the others
    // delivering, and a kept account keeps its own).
    let in_scope: Vec<String> = view.scope.in_scope().iter().map(|a| a.id.clone()).collect();
    let management_kept = kept.iter().any(|k| k.account == view.tree.management_account);
    let delete_management = view.scope.management().is_some() && view.caller == Caller::Management && !management_kept;
    let (leaving, whole) = org_offboard::leaving_without(&in_scope, whole_org, &kept);
    let stack_goes = delete_management && log_archive == view.tree.management_account;
    let who = Leaving { accounts: &leaving, whole_organization: whole, stack_goes, kept: &kept };
    let policy = plan_offboard_policy(&la, args, &view, &log_archive, &who).await?;
    report.policy_edit = policy.edit.clone();
    let (instances_line, set_line) = set_lines(&args.target.stack_set_name, &view, set.is_some(), &instances, &kept).lines;
    let delete_args = StackDeleteArgs { name: StackNameArgs { stack_name: args.stack_name.clone() }, wait: args.wait.clone() };
    let management_changes = if delete_management {
        Some(stack::delete(&ctx.fork(ApplyMode::PLAN_ONLY, ctx.printer.silent()), &delete_args).await?.changes)
    } else {
        None
    };
    report.changes = watch.as_ref().map(|w| w.lines.clone()).unwrap_or_default();
    report.changes.extend([policy.line.clone(), instances_line, set_line]);
    report.changes.extend(management_changes.clone().unwrap_or_default());
    report.changes.extend(kept_management_line(&view, &args.stack_name, &kept));
    report.summary = ChangeTally::of(&report.all_changes());
    let set_exists = set.is_some();
    let plan = OffboardPlan {
        view,
        cfn,
        set_exists,
        instances,
        log_archive,
        la,
        whole_org,
        disable,
        flow_accounts,
        unread,
        kept,
        in_scope,
        policy,
        delete_args,
        management_changes,
        watch,
    };
    Ok((plan, report))
}

/// Plans each account's flow-log removal into its report entry; the accounts that could not be
/// read, and the accounts kept (each entry says why).
async fn plan_flow_log_removal(
    ctx: &Ctx,
    args: &OrgOffboardArgs,
    disable: &FlowLogsDisableArgs,
    flow_accounts: &[(ScopedAccount, String)],
    report: &mut OrgReport,
) -> (Vec<String>, Vec<KeptAccount>) {
    let pending: Vec<_> = flow_accounts.iter().map(|(account, role)| plan_account_disable(ctx, account, role, disable)).collect();
    let planned: Vec<(String, Result<Vec<Change>>)> = stream::iter(pending).buffered(usize::from(args.target.account_concurrency)).collect().await;
    let mut unread = Vec::new();
    let mut by_account = BTreeMap::new();
    for (id, result) in planned {
        let changes = match result {
            Ok(changes) => changes,
            Err(e) => {
                unread.push(id.clone());
                vec![account_failure("read-account", &id, "the account could not be read", &e)]
            }
        };
        by_account.insert(id, changes);
    }
    let kept = org_offboard::kept_accounts(&by_account);
    for entry in report.accounts.iter_mut() {
        if let Some(changes) = by_account.remove(&entry.account.id) {
            entry.changes = changes;
        }
    }
    mark_kept(report, &kept);
    (unread, kept)
}

/// Each kept account's entry says why it is kept.
fn mark_kept(report: &mut OrgReport, kept: &[KeptAccount]) {
    for entry in report.accounts.iter_mut() {
        if let Some(k) = kept.iter().find(|k| k.account == entry.account.id) {
            entry.kept = Some(k.reason.clone());
        }
    }
}

/// The management account's stack stays while the account is kept: the plan line that says so.
fn kept_management_line(view: &OrgView, stack_name: &str, kept: &[KeptAccount]) -> Option<Change> {
    let management = view.scope.management()?;
    let reason = &kept.iter().find(|k| k.account == management.id)?.reason;
    (view.caller == Caller::Management)
        .then(|| Change::new("delete-stack", stack_name, ChangeStatus::Skipped, format!("kept with management account {}: {reason}", management.id)))
}

/// What happens to the scope's instances and to the set.
struct SetWork {
    /// The plan lines: (instances, set).
    lines: (Change, Change),
    /// The account filter of the instances to delete; `None`: none.
    filter: Option<AccountFilter>,
    /// The set goes: it exists, and no instance outside the scope or of a kept account remains.
    delete_set: bool,
}

/// The instances of the scope go but the kept accounts' (each keeps its operator role, through
/// which a re-run removes its flow logs), and the set once no other instance remains.
fn set_lines(set_name: &str, view: &OrgView, set_exists: bool, instances: &[StackInstance], kept: &[KeptAccount]) -> SetWork {
    let members = view.scope.members();
    let kept_members: Vec<String> = kept.iter().filter(|k| members.iter().any(|m| m.id == k.account)).map(|k| k.account.clone()).collect();
    let in_scope: Vec<&StackInstance> = instances.iter().filter(|i| members.iter().any(|m| m.id == i.account)).collect();
    let going = in_scope.iter().filter(|i| !kept_members.contains(&i.account)).count();
    let kept_text = (!kept_members.is_empty()).then(|| format!("kept: {} account(s): {}", kept_members.len(), kept_members.join(", ")));
    let instances_line = match (going, &kept_text) {
        (0, None) => Change::new("delete-stack-instances", set_name, ChangeStatus::Skipped, "no instance in scope"),
        (0, Some(kept)) => Change::new("delete-stack-instances", set_name, ChangeStatus::Skipped, kept),
        (n, kept) => {
            let mut detail = format!("{n} account(s): the vendor role and the operator role go with them");
            if let Some(kept) = kept {
                detail = format!("{detail}; {kept} (their flow logs were not removed)");
            }
            Change::new("delete-stack-instances", set_name, ChangeStatus::Planned, detail)
        }
    };
    let others_remain = instances.len() > in_scope.len();
    let set_line = match (set_exists, others_remain, &kept_text) {
        (false, _, _) => Change::new("delete-stack-set", set_name, ChangeStatus::Skipped, "does not exist"),
        (true, true, _) => Change::new("delete-stack-set", set_name, ChangeStatus::Skipped, "kept: instances outside the scope remain"),
        (true, false, Some(_)) => {
            let detail = format!("kept: the instances of {} stay (a re-run deletes it once they are out)", kept_members.join(", "));
            Change::new("delete-stack-set", set_name, ChangeStatus::Skipped, detail)
        }
        (true, false, None) => Change::new("delete-stack-set", set_name, ChangeStatus::Planned, "once its instances are gone"),
    };
    let filter = if going == 0 { None } else { org_stackset::deletion_filter(&view.scope.account_filter, &kept_members) };
    SetWork { lines: (instances_line, set_line), filter, delete_set: set_exists && !others_remain && kept_members.is_empty() }
}

/// The offboard run: the plan, the runs acting in the log-archive account and as the caller, and
/// what the steps applied.
struct OffboardRun<'a> {
    ctx: &'a Ctx,
    args: &'a OrgOffboardArgs,
    plan: &'a OffboardPlan,
    la_apply: Ctx,
    applying: Ctx,
    account_results: Mutex<BTreeMap<String, Vec<Change>>>,
    /// The plan's kept accounts, and those whose removal failed.
    kept: Mutex<Vec<KeptAccount>>,
    applied_edit: Mutex<Option<PolicyEdit>>,
}

async fn apply_offboard(ctx: &Ctx, args: &OrgOffboardArgs, plan: OffboardPlan, mut report: OrgReport) -> Result<OrgReport> {
    report.applied = true;
    let run = OffboardRun {
        ctx,
        args,
        plan: &plan,
        la_apply: plan.la.fork(ApplyMode::APPLY, ctx.printer.silent()),
        applying: ctx.fork(ApplyMode::APPLY, ctx.printer.silent()),
        account_results: Mutex::new(BTreeMap::new()),
        kept: Mutex::new(plan.kept.clone()),
        applied_edit: Mutex::new(None),
    };
    let flow_changes: Vec<Change> = report.accounts.iter().flat_map(|a| a.changes.clone()).collect();
    // The watcher goes first: it would make the flow logs again.
    let mut steps: Vec<Step<'_>> = run.watch_step().into_iter().collect();
    let flow_at = steps.len();
    steps.extend([run.flow_log_step(flow_changes), run.policy_step(), run.set_step()]);
    steps.extend(run.management_step());
    let outcome = apply::run(ApplyMode::APPLY, &ctx.printer, Plan::new(steps, OnFailure::Stop), "").await?;
    // Every step but the flow logs' is the organization's.
    let by_account = run.account_results.into_inner().unwrap_or_else(|p| p.into_inner());
    let org_steps: Vec<apply::StepOutcome> = outcome.steps.iter().enumerate().filter(|(i, _)| *i != flow_at).map(|(_, s)| s.clone()).collect();
    report.settle(&org_steps, by_account, None, outcome.tally.interrupted);
    mark_kept(&mut report, &run.kept.into_inner().unwrap_or_else(|p| p.into_inner()));
    match run.applied_edit.into_inner().unwrap_or_else(|p| p.into_inner()) {
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

impl OffboardRun<'_> {
    fn kept_now(&self) -> Vec<KeptAccount> {
        self.kept.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// flowgate's watch StackSet: the scope's instances, then the set when no other remains.
    fn watch_step(&self) -> Option<Step<'_>> {
        let removal = self.plan.watch.as_ref()?;
        Some(Step::new(removal.lines.clone(), async move {
            let preferences = preferences_of(self.args.operations);
            let wait = Duration::from_secs(self.args.wait.wait_timeout);
            let stop = remove(&self.plan.cfn, &self.plan.view, removal, preferences, wait).await.err();
            let (changes, error) = stopped_at(removal.lines.clone(), stop);
            Ok(Done::Report { changes, error })
        }))
    }

    /// Each account's flow logs. An account whose removal fails is kept, and the organization's
    /// steps go on for the others: the failure is the account's, in its entry (and the exit code).
    fn flow_log_step(&self, flow_changes: Vec<Change>) -> Step<'_> {
        Step::new(flow_changes, async move {
            // An account that could not be read for the plan is not changed unseen.
            let plan = self.plan;
            let pending: Vec<_> = plan
                .flow_accounts
                .iter()
                .filter(|(account, _)| !plan.unread.contains(&account.id))
                .map(|(account, role)| disable_account_flow_logs(self.ctx, account, role, &plan.disable))
                .collect();
            run_accounts(pending, self.args.target.account_concurrency, &self.account_results).await;
            let results = self.account_results.lock().unwrap_or_else(|p| p.into_inner());
            let kept = {
                let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
                *kept = org_offboard::with_kept(kept.clone(), org_offboard::kept_accounts(&results));
                kept.clone()
            };
            let leaving = results.iter().filter(|(account, _)| !kept.iter().any(|k| k.account == **account));
            Ok(Done::Report { changes: leaving.flat_map(|(_, changes)| changes.iter().cloned()).collect(), error: None })
        })
    }

    fn policy_step(&self) -> Step<'_> {
        Step::new(vec![self.plan.policy.line.clone()], async move {
            let plan = self.plan;
            let Some(region) = &plan.policy.region else { return Ok(Done::AlreadyDone) };
            let kept = self.kept_now();
            let (leaving, whole) = org_offboard::leaving_without(&plan.in_scope, plan.whole_org, &kept);
            let management = &plan.view.tree.management_account;
            let management_leaves = plan.management_changes.is_some() && !kept.iter().any(|k| k.account == *management);
            let stack_goes = management_leaves && plan.log_archive == *management;
            let who = Leaving { accounts: &leaving, whole_organization: whole, stack_goes, kept: &kept };
            let own = (plan.policy.log_archive_leaves.as_deref(), &plan.policy.verdict);
            let (line, edit) = apply_offboard_policy(&self.la_apply, &self.args.bucket, region, &who, own, &plan.view.tree.org_id).await?;
            *self.applied_edit.lock().unwrap_or_else(|p| p.into_inner()) = Some(edit);
            Ok(Done::Report { changes: vec![line], error: None })
        })
    }

    /// The scope's instances but the kept accounts', then the set once no other instance remains.
    fn set_step(&self) -> Step<'_> {
        let plan = self.plan;
        let set_name = self.args.target.stack_set_name.as_str();
        let planned = set_lines(set_name, &plan.view, plan.set_exists, &plan.instances, &plan.kept).lines;
        Step::new(vec![planned.0, planned.1], async move {
            // The lines again with the accounts kept by the flow-log step.
            let work = set_lines(set_name, &plan.view, plan.set_exists, &plan.instances, &self.kept_now());
            let lines = vec![work.lines.0, work.lines.1];
            let (cfn, view) = (&plan.cfn, &plan.view);
            let preferences = preferences_of(self.args.operations);
            let wait = Duration::from_secs(self.args.wait.wait_timeout);
            if let Err(e) = delete_instances(cfn, view, set_name, work.filter.as_ref(), preferences, wait).await {
                let (changes, error) = stopped_at(lines, Some(("delete-stack-instances", e)));
                return Ok(Done::Report { changes, error });
            }
            let removed = if work.delete_set { delete_set(cfn, view, set_name).await } else { Ok(()) };
            let (changes, error) = stopped_at(lines, removed.err().map(|e| ("delete-stack-set", e)));
            Ok(Done::Report { changes, error })
        })
    }

    /// The management account's stack, unless the account is kept.
    fn management_step(&self) -> Option<Step<'_>> {
        let changes = self.plan.management_changes.clone()?;
        Some(Step::new(changes.clone(), async move {
            let management = &self.plan.view.tree.management_account;
            if let Some(kept) = self.kept_now().iter().find(|k| k.account == *management) {
                return Ok(not_run(changes, &format!("management account {management} is kept: {}", kept.reason)));
            }
            Ok(match stack::delete(&self.applying, &self.plan.delete_args).await {
                Ok(r) => Done::Report { changes: r.changes, error: (!r.failures.is_empty()).then(|| r.failures.join("; ")) },
                Err(e) => Done::Report { changes: Vec::new(), error: Some(error_text(&e)) },
            })
        }))
    }
}
