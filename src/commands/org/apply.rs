//! The onboard plan applied, in order: the bucket policy names every account before any of them
//! creates a flow log to it; the roles exist before flow logs are made through them. Each step
//! records whether what later steps need is in place (the prerequisites, the bucket and its
//! policy, each member's roles), and a later step that cannot run says why.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::discover::{flow_log_accounts, stacksets_client};
use super::flowlogs::{EnablePass, run_accounts};
use super::plan::{OnboardPlan, delivery_target, merged_policy};
use super::report::{OrgReport, not_run, step_ok, stopped_at};
use super::stackset::{InstanceWork, SetDeployment, collision_fix, preferences_of};
use super::watch::WatchDeployment;
use crate::apply::{self, ApplyMode, Done, OnFailure, Plan, Step, error_text};
use crate::aws::organizations;
use crate::aws::s3;
use crate::aws::stacksets;
use crate::cli::DeliveryPolicyForm;
use crate::cli::OrgOnboardArgs;
use crate::commands::{bucket, stack};
use crate::context::Ctx;
use crate::core::bucket::{BucketAction, BucketExistence};
use crate::core::org_grant;
use crate::core::org_outcome::unattempted;
use crate::core::org_scope::ScopedAccount;
use crate::core::report::{Change, ChangeStatus};
use crate::error::{Error, Result};

/// The onboard run: the plan, the runs acting in the log-archive account and as the caller, and
/// what each step leaves for the next.
struct OnboardRun<'a> {
    ctx: &'a Ctx,
    args: &'a OrgOnboardArgs,
    plan: &'a OnboardPlan,
    deployment: SetDeployment<'a>,
    la_apply: Ctx,
    applying: Ctx,
    prerequisites_ok: AtomicBool,
    /// The bucket and its delivery policy are in place.
    bucket_ok: AtomicBool,
    /// Accounts whose roles did not deploy (`*`: none did).
    roles_failed: Mutex<Vec<String>>,
    /// Each account's flow-log changes, as the flow-log step applied them.
    account_results: Mutex<BTreeMap<String, Vec<Change>>>,
    /// Each account's changes as the plan showed them.
    plan_changes: BTreeMap<String, Vec<Change>>,
    flow_accounts: Vec<(ScopedAccount, String)>,
}

/// Applies `plan` (confirmed) and settles `report` with what became of each change.
pub(super) async fn apply_onboard(ctx: &Ctx, args: &OrgOnboardArgs, plan: OnboardPlan, mut report: OrgReport) -> Result<OrgReport> {
    report.applied = true;
    let deployment = SetDeployment {
        cfn: &plan.cfn,
        view: &plan.view,
        name: &args.target.stack_set_name,
        template: &plan.template,
        parameters: &plan.set.parameters,
        preferences: preferences_of(args.operations),
        wait: Duration::from_secs(args.wait.wait_timeout),
    };
    let run = OnboardRun {
        ctx,
        args,
        plan: &plan,
        deployment,
        la_apply: plan.central.la_plan.fork(ApplyMode::APPLY, ctx.printer.silent()),
        applying: ctx.fork(ApplyMode::APPLY, ctx.printer.silent()),
        prerequisites_ok: AtomicBool::new(true),
        bucket_ok: AtomicBool::new(true),
        roles_failed: Mutex::new(Vec::new()),
        account_results: Mutex::new(BTreeMap::new()),
        plan_changes: report.accounts.iter().map(|a| (a.account.id.clone(), a.changes.clone())).collect(),
        flow_accounts: flow_log_accounts(&plan.view),
    };
    let mut steps = vec![run.prerequisites_step(), run.bucket_step(), run.policy_step(), run.set_step()];
    steps.extend(run.management_step());
    steps.push(run.watch_step());
    let flow_changes: Vec<Change> = report.accounts.iter().flat_map(|a| a.changes.clone()).collect();
    steps.push(run.flow_log_step(flow_changes));
    let outcome = apply::run(ApplyMode::APPLY, &ctx.printer, Plan::new(steps, OnFailure::Continue { concurrency: 1 }), "").await?;

    // The report: organization-level outcomes (every step but the last, the flow logs), and
    // each account's flow-log changes.
    let (org_steps, flow_step) = outcome.steps.split_at(outcome.steps.len().saturating_sub(1));
    let flow_error = flow_step.first().and_then(|s| s.error.clone());
    let by_account = run.account_results.into_inner().unwrap_or_else(|p| p.into_inner());
    report.settle(org_steps, by_account, flow_error, outcome.tally.interrupted);
    // Re-read the instances so that the report shows what the StackSet did.
    let view = &plan.view;
    if let Ok(now) = stacksets::list_stack_instances(&plan.cfn, &args.target.stack_set_name, view.caller).await {
        for entry in report.accounts.iter_mut() {
            entry.stack_instance = now.iter().find(|i| i.account == entry.account.id && i.region == view.stack_set_region).cloned();
        }
    }
    Ok(report)
}

impl OnboardRun<'_> {
    /// Trusted access first: a delegated administrator is registered for a service that has it.
    fn prerequisites_step(&self) -> Step<'_> {
        let prerequisites = &self.plan.prerequisites;
        Step::new(prerequisites.changes.clone(), async move {
            let done = async {
                if !prerequisites.trusted {
                    stacksets::activate_organizations_access(&stacksets_client(self.ctx, &self.plan.view.stack_set_region)).await?;
                }
                if let Some(admin) = &prerequisites.register_admin {
                    organizations::register_stacksets_delegated_admin(&self.ctx.clients.organizations(), admin).await?;
                }
                Ok::<_, Error>(())
            }
            .await;
            self.prerequisites_ok.store(done.is_ok(), Ordering::SeqCst);
            done.map(|()| Done::Changed)
        })
    }

    fn bucket_step(&self) -> Step<'_> {
        Step::new(self.plan.central.bucket_changes.clone(), async move {
            let done = match bucket::create(&self.la_apply, &self.plan.central.bucket_args).await {
                Ok(r) => Done::Report { changes: r.changes, error: None },
                Err(e) => Done::Report { changes: Vec::new(), error: Some(error_text(&e)) },
            };
            self.bucket_ok.store(step_ok(&done), Ordering::SeqCst);
            Ok(done)
        })
    }

    /// The delivery statements merged again into the policy as it is now (another run may have
    /// changed it since the plan).
    fn policy_step(&self) -> Step<'_> {
        let lines = vec![self.plan.central.policy_line.clone()];
        let unapplied = lines.clone();
        Step::new(lines, async move {
            if !self.bucket_ok.load(Ordering::SeqCst) {
                return Ok(not_run(unapplied, "the bucket step failed"));
            }
            let result = self.put_delivery_statements().await;
            if result.is_err() {
                self.bucket_ok.store(false, Ordering::SeqCst);
            }
            result
        })
    }

    async fn put_delivery_statements(&self) -> Result<Done> {
        let (la, args, central) = (&self.la_apply, self.args, &self.plan.central);
        let spec = &args.flowlogs.spec;
        let region = match s3::bucket_existence(&la.s3(&la.home_region), &spec.bucket, &la.identity().await?.account).await? {
            BucketExistence::Owned { region } => region,
            _ => return Err(Error::refused(format!("bucket {} is not there", spec.bucket), None)),
        };
        let client = la.s3(&region);
        let existing = s3::read_policy(&client, &spec.bucket).await?;
        let per_account = args.delivery_policy == DeliveryPolicyForm::PerAccount;
        let grant = org_grant::delivery_accounts(existing.as_deref(), per_account, &central.scoped_ids, &central.active_ids);
        let view = &self.plan.view;
        let target = delivery_target(&view.identity.partition, spec, args.delivery_policy, &view.tree.org_id);
        let merge = merged_policy(existing.as_deref(), &target, &grant)?;
        match merge.document {
            None => Ok(Done::AlreadyDone),
            Some(document) => {
                s3::apply_after_create(&client, &spec.bucket, &BucketAction::PutBucketPolicy { document }, s3::AFTER_CREATE_DELAYS).await?;
                Ok(Done::Changed)
            }
        }
    }

    /// The StackSet, its instances, and the log-archive instance's storage override.
    fn set_step(&self) -> Step<'_> {
        let mut lines = self.plan.set.lines();
        let storage = self.plan.storage.as_ref().and_then(|(line, grant)| {
            lines.push(line.clone());
            grant.as_ref()
        });
        let applied_lines = lines.clone();
        Step::new(lines, async move {
            if !self.prerequisites_ok.load(Ordering::SeqCst) {
                self.roles_failed.lock().unwrap_or_else(|p| p.into_inner()).push("*".to_owned());
                return Ok(not_run(applied_lines, "the prerequisites failed"));
            }
            let set = &self.plan.set;
            let work = InstanceWork { exists: set.exists, missing: &set.missing, stale: &set.stale, no_instances: set.instances.is_empty() };
            let (mut failures, mut stop) = match self.deployment.deploy(&work).await {
                Ok(failures) => (failures, None),
                Err(phase) => (Vec::new(), Some(phase)),
            };
            if let (None, Some(grant)) = (&stop, storage) {
                match self.deployment.grant_storage(grant).await {
                    Ok(more) => failures.extend(more),
                    Err(e) => stop = Some(("grant-storage-access", e)),
                }
            }
            {
                let mut failed = self.roles_failed.lock().unwrap_or_else(|p| p.into_inner());
                // The roles did not deploy (a failed storage grant leaves them deployed).
                if stop.as_ref().is_some_and(|(action, _)| *action != "grant-storage-access") {
                    failed.push("*".to_owned());
                }
                failed.extend(failures.iter().map(|f| f.0.clone()));
            }
            let (mut changes, error) = stopped_at(applied_lines, stop);
            for (account, region, status, reason) in &failures {
                let mut change = Change::new("stack-instance", account, ChangeStatus::Failed, format!("{status} in {region}"));
                change.error = Some(match collision_fix(account, reason, &self.plan.set.parameters, &self.args.stack_name) {
                    Some(fix) => format!("{reason} (hint: {fix})"),
                    None => reason.clone(),
                });
                changes.push(change);
            }
            Ok(Done::Report { changes, error })
        })
    }

    /// The management account's single-account stack, when this run deploys it.
    fn management_step(&self) -> Option<Step<'_>> {
        let stack_args = self.plan.management.deploy.as_ref()?;
        Some(Step::new(self.plan.management.changes.clone(), async move {
            Ok(match stack::deploy(&self.applying, stack_args).await {
                Ok(r) => Done::Report { changes: r.changes, error: (!r.failures.is_empty()).then(|| r.failures.join("; ")) },
                Err(e) => Done::Report { changes: Vec::new(), error: Some(error_text(&e)) },
            })
        }))
    }

    /// The watch StackSet (`--watch`): after the roles' StackSet, whose trusted access it needs.
    fn watch_step(&self) -> Step<'_> {
        let lines = self.plan.watch.lines.clone();
        Step::new(lines.clone(), async move {
            let Some(work) = &self.plan.watch.work else { return Ok(Done::Report { changes: stopped_at(lines, None).0, error: None }) };
            if !self.prerequisites_ok.load(Ordering::SeqCst) {
                return Ok(not_run(lines, "the prerequisites failed"));
            }
            let deployment = WatchDeployment {
                cfn: &self.plan.cfn,
                view: &self.plan.view,
                preferences: preferences_of(self.args.operations),
                wait: Duration::from_secs(self.args.wait.wait_timeout),
            };
            let (failures, stop) = match deployment.deploy(work).await {
                Ok(failures) => (failures, None),
                Err(phase) => (Vec::new(), Some(phase)),
            };
            let (mut changes, error) = stopped_at(lines, stop);
            for (account, region, status, reason) in failures {
                let mut change = Change::new("stack-instance", &account, ChangeStatus::Failed, format!("the watcher: {status} in {region}"));
                change.error = Some(reason);
                changes.push(change);
            }
            Ok(Done::Report { changes, error })
        })
    }

    /// Each account's flow logs, once the bucket policy names them.
    fn flow_log_step(&self, flow_changes: Vec<Change>) -> Step<'_> {
        Step::new(flow_changes, async move {
            if !self.bucket_ok.load(Ordering::SeqCst) {
                // No account creates a flow log to a bucket whose policy does not name it.
                let mut recorded = self.account_results.lock().unwrap_or_else(|p| p.into_inner());
                for (account, changes) in self.plan_changes.iter().filter(|(_, c)| !c.is_empty()) {
                    recorded.insert(account.clone(), unattempted(changes.clone(), "the bucket policy is not in place"));
                }
                return Ok(Done::Report { changes: recorded.values().flatten().cloned().collect(), error: None });
            }
            let failed_roles = self.roles_failed.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let pass = EnablePass {
                ctx: self.ctx,
                args: self.args,
                caller: &self.plan.view.identity.account,
                failed_roles: &failed_roles,
                plans: &self.plan.flow_plans,
                deploying: &self.plan.set.deploying,
                plan_changes: &self.plan_changes,
                skip_lines: &self.plan.skip_lines,
                in_play: &self.plan.in_play,
            };
            // The futures are made up front: a future made by a stream's closure is not provably
            // `Send` inside the runner's boxed step.
            let pending: Vec<_> = self.flow_accounts.iter().map(|(account, role)| pass.apply_account(account, role)).collect();
            Ok(run_accounts(pending, self.args.target.account_concurrency, &self.account_results).await)
        })
    }
}
