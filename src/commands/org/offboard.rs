//! `org offboard`: the reverse of onboard, in the order that keeps access until it is not
//! needed: flow logs (through the operator roles), the bucket policy, the instances, the set,
//! and the management account's single-account stack.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use futures::stream::{self, StreamExt};

use super::discover::{OrgView, flow_log_accounts, log_archive_ctx, observe_org, stacksets_client};
use super::display::PlanText;
use super::flowlogs::{disable_account_flow_logs, plan_account_disable, run_accounts};
use super::offboard_policy::{Leaving, PolicyPlan, apply_offboard_policy, plan_offboard_policy};
use super::report::{AccountEntry, OrgReport, account_failure, show_plan, stopped_at};
use super::stackset::{delete_instances, delete_set, preferences_of};
use crate::apply::{self, ApplyMode, Done, OnFailure, Plan, Step, error_text};
use crate::aws::stacksets::{self, Caller, StackInstance};
use crate::cli::{FlowLogsDisableArgs, OrgOffboardArgs, ScopeArgs, StackDeleteArgs, StackNameArgs};
use crate::commands::stack;
use crate::context::Ctx;
use crate::core::org_offboard::{Offboarding, PolicyEdit};
use crate::core::org_scope::ScopedAccount;
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
    /// The run acting in the log-archive account (plan only; the apply forks it).
    la: Ctx,
    whole_org: bool,
    disable: FlowLogsDisableArgs,
    flow_accounts: Vec<(ScopedAccount, String)>,
    /// Accounts whose flow logs could not be read for the plan.
    unread: Vec<String>,
    /// Every account in scope.
    leaving: Vec<String>,
    policy: PolicyPlan,
    instances_line: Change,
    set_line: Change,
    /// The scope has instances to delete.
    any_instances: bool,
    /// Instances outside the scope remain: the set stays.
    others_remain: bool,
    delete_args: StackDeleteArgs,
    /// The management account's stack goes (the caller is that account, in scope).
    management_changes: Option<Vec<Change>>,
}

async fn plan_offboard(ctx: &Ctx, args: &OrgOffboardArgs) -> Result<(OffboardPlan, OrgReport)> {
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
    let every_region = ScopeArgs { regions: Vec::new(), vpcs: Vec::new(), concurrency: args.concurrency };
    let disable = FlowLogsDisableArgs { scope: every_region, bucket: Some(args.bucket.clone()) };
    let flow_accounts = flow_log_accounts(&view);
    let unread = plan_flow_log_removal(ctx, args, &disable, &flow_accounts, &mut report).await;

    // The bucket policy: the leaving accounts' grants (a narrower offboard leaves the others
    // delivering).
    let delete_management = view.scope.management().is_some() && view.caller == Caller::Management;
    let leaving: Vec<String> = view.scope.in_scope().iter().map(|a| a.id.clone()).collect();
    let stack_goes = delete_management && log_archive == view.tree.management_account;
    let who = Leaving { accounts: &leaving, whole_organization: whole_org, stack_goes };
    let policy = plan_offboard_policy(&la, args, &view, &log_archive, &who).await?;
    report.policy_edit = policy.edit.clone();
    let (instances_line, set_line, any_instances, others_remain) = set_lines(&args.target.stack_set_name, &view, set.is_some(), &instances);
    let delete_args = StackDeleteArgs { name: StackNameArgs { stack_name: args.stack_name.clone() }, wait: args.wait.clone() };
    let management_changes = if delete_management {
        Some(stack::delete(&ctx.fork(ApplyMode::PLAN_ONLY, ctx.printer.silent()), &delete_args).await?.changes)
    } else {
        None
    };
    report.changes = vec![policy.line.clone(), instances_line.clone(), set_line.clone()];
    report.changes.extend(management_changes.clone().unwrap_or_default());
    report.summary = ChangeTally::of(&report.all_changes());
    let set_exists = set.is_some();
    let plan = OffboardPlan {
        view,
        cfn,
        set_exists,
        la,
        whole_org,
        disable,
        flow_accounts,
        unread,
        leaving,
        policy,
        instances_line,
        set_line,
        any_instances,
        others_remain,
        delete_args,
        management_changes,
    };
    Ok((plan, report))
}

/// Plans each account's flow-log removal into its report entry; the accounts that could not be
/// read.
async fn plan_flow_log_removal(
    ctx: &Ctx,
    args: &OrgOffboardArgs,
    disable: &FlowLogsDisableArgs,
    flow_accounts: &[(ScopedAccount, String)],
    report: &mut OrgReport,
) -> Vec<String> {
    let pending: Vec<_> = flow_accounts.iter().map(|(account, role)| plan_account_disable(ctx, account, role, disable)).collect();
    let planned: Vec<(String, Result<Vec<Change>>)> = stream::iter(pending).buffered(usize::from(args.target.account_concurrency)).collect().await;
    let mut unread = Vec::new();
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
    unread
}

/// The plan lines of the scope's instances and of the set: (instances, set, any instance in
/// scope, instances outside the scope remain).
fn set_lines(set_name: &str, view: &OrgView, set_exists: bool, instances: &[StackInstance]) -> (Change, Change, bool, bool) {
    let members = view.scope.members();
    let in_scope = instances.iter().filter(|i| members.iter().any(|m| m.id == i.account)).count();
    let instances_line = if in_scope == 0 {
        Change::new("delete-stack-instances", set_name, ChangeStatus::Skipped, "no instance in scope")
    } else {
        let detail = format!("{in_scope} account(s): the vendor role and the operator role go with them");
        Change::new("delete-stack-instances", set_name, ChangeStatus::Planned, detail)
    };
    let others_remain = instances.len() > in_scope;
    let set_line = match (set_exists, others_remain) {
        (false, _) => Change::new("delete-stack-set", set_name, ChangeStatus::Skipped, "does not exist"),
        (true, true) => Change::new("delete-stack-set", set_name, ChangeStatus::Skipped, "kept: instances outside the scope remain"),
        (true, false) => Change::new("delete-stack-set", set_name, ChangeStatus::Planned, "once its instances are gone"),
    };
    (instances_line, set_line, in_scope > 0, others_remain)
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
        applied_edit: Mutex::new(None),
    };
    let flow_changes: Vec<Change> = report.accounts.iter().flat_map(|a| a.changes.clone()).collect();
    let mut steps = vec![run.flow_log_step(flow_changes), run.policy_step(), run.set_step()];
    steps.extend(run.management_step());
    let outcome = apply::run(ApplyMode::APPLY, &ctx.printer, Plan::new(steps, OnFailure::Stop), "").await?;
    // Every step but the first (the flow logs) is the organization's.
    let by_account = run.account_results.into_inner().unwrap_or_else(|p| p.into_inner());
    report.settle(outcome.steps.get(1..).unwrap_or_default(), by_account, None, outcome.tally.interrupted);
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
            Ok(run_accounts(pending, self.args.target.account_concurrency, &self.account_results).await)
        })
    }

    fn policy_step(&self) -> Step<'_> {
        Step::new(vec![self.plan.policy.line.clone()], async move {
            let plan = self.plan;
            let Some(region) = &plan.policy.region else { return Ok(Done::AlreadyDone) };
            let log_archive = plan.policy.log_archive_leaves.as_deref();
            let offboarding = Offboarding { leaving: &plan.leaving, whole_organization: plan.whole_org, log_archive };
            let (line, edit) =
                apply_offboard_policy(&self.la_apply, &self.args.bucket, region, &offboarding, &plan.policy.verdict, &plan.view.tree.org_id).await?;
            *self.applied_edit.lock().unwrap_or_else(|p| p.into_inner()) = Some(edit);
            Ok(Done::Report { changes: vec![line], error: None })
        })
    }

    /// The scope's instances, then the set once no other instance remains.
    fn set_step(&self) -> Step<'_> {
        let plan = self.plan;
        let lines = vec![plan.instances_line.clone(), plan.set_line.clone()];
        Step::new(lines.clone(), async move {
            let (cfn, view, set_name) = (&plan.cfn, &plan.view, self.args.target.stack_set_name.as_str());
            let preferences = preferences_of(self.args.operations);
            let wait = Duration::from_secs(self.args.wait.wait_timeout);
            if let Err(e) = delete_instances(cfn, view, set_name, plan.any_instances, preferences, wait).await {
                let (changes, error) = stopped_at(lines, Some(("delete-stack-instances", e)));
                return Ok(Done::Report { changes, error });
            }
            let removed = if plan.set_exists && !plan.others_remain { delete_set(cfn, view, set_name).await } else { Ok(()) };
            let (changes, error) = stopped_at(lines, removed.err().map(|e| ("delete-stack-set", e)));
            Ok(Done::Report { changes, error })
        })
    }

    fn management_step(&self) -> Option<Step<'_>> {
        let changes = self.plan.management_changes.clone()?;
        Some(Step::new(changes, async move {
            Ok(match stack::delete(&self.applying, &self.plan.delete_args).await {
                Ok(r) => Done::Report { changes: r.changes, error: (!r.failures.is_empty()).then(|| r.failures.join("; ")) },
                Err(e) => Done::Report { changes: Vec::new(), error: Some(error_text(&e)) },
            })
        }))
    }
}
