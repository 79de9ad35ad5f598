//! `org onboard --watch`: the single-account watcher (templates/watch.yaml) deployed to every
//! member, in every region in scope, through a second service-managed StackSet with
//! auto-deployment, so an account that joins later is watched too. Its parameters are the
//! members' CreateFlowLogs request (the flow log `org onboard` gives them), rendered by the same
//! core function `watch enable` uses. Also its check in `org status` and its removal by
//! `org offboard`, which comes first (before the flow logs it would otherwise make again).

use std::time::Duration;

use super::discover::OrgView;
use super::stackset::{InstanceFailure, deployed, failed_without_results, summaries};
use crate::aws::cloudtrail;
use crate::aws::stacksets::{self, OperationPreferences, StackInstance, Targets};
use crate::cli::{DeliveryPolicyForm, OrgOnboardArgs, OrgStatusArgs};
use crate::context::Ctx;
use crate::core::org_scope::AccountFilter;
use crate::core::org_stackset;
use crate::core::org_watch::{self, WATCH_SET_NAME, WantedWatchSet, WatchSetAction, WatchSetPlan};
use crate::core::report::{Change, ChangeStatus, Check};
use crate::core::watch;
use crate::error::{AwsErrorKind, Error, Result};

const DESCRIPTION: &str = "flowgate: the watcher (EventBridge rules on CreateVpc -> the flow-log Automation) in every member account";

/// The watch StackSet as planned: its plan lines, and the work when there is any to do.
pub(super) struct WatchPlan {
    pub lines: Vec<Change>,
    pub work: Option<WatchWork>,
}

/// What the apply deploys.
pub(super) struct WatchWork {
    pub plan: WatchSetPlan,
    pub parameters: Vec<(String, String)>,
    /// The set has no instance yet: the first deployment targets the whole scope.
    pub no_instances: bool,
}

/// The members' flow log as the watcher's parameters: the request `flowlogs enable` sends in
/// each member (the same spec and tags).
fn watch_parameters(args: &OrgOnboardArgs, partition: &str) -> Result<Vec<(String, String)>> {
    let parameters = crate::commands::watch::stack_parameters(&args.flowlogs.spec, &args.flowlogs.tags, partition)?;
    Ok(parameters.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// The organization trail line; trails that cannot be read are a warning too (the trail is a
/// prerequisite of the events, not of the deployment).
async fn trail_line(ctx: &Ctx) -> Change {
    match cloudtrail::trails(&ctx.clients, &ctx.home_region).await {
        Ok(trails) => org_watch::trail_line(&trails),
        Err(e) => Change::new(
            "check-trail",
            "organization",
            ChangeStatus::Skipped,
            format!("warning: the trails could not be read ({}): members without a trail get no CreateVpc events", crate::apply::error_text(&e)),
        ),
    }
}

/// The watch StackSet's plan in `regions`. Without `--watch` an existing set is left as it is,
/// and said so; a set that cannot be read then (an operator policy rendered before the watcher)
/// is not this run's business.
pub(super) async fn plan_watch(
    ctx: &Ctx,
    args: &OrgOnboardArgs,
    view: &OrgView,
    cfn: &aws_sdk_cloudformation::Client,
    regions: &[String],
) -> Result<WatchPlan> {
    if !args.watch {
        let lines = match stacksets::describe_stack_set(cfn, WATCH_SET_NAME, view.caller).await {
            Ok(Some(set)) => {
                // A watcher that would make another flow log than this run's is named.
                let wanted = watch_parameters(args, &view.identity.partition)?;
                let drift = org_stackset::set_differences(&deployed(&set), watch::TEMPLATE, &wanted, set.auto_deployment.unwrap_or_default());
                vec![org_watch::not_requested_line(org_watch::is_flowgates_watch_set(&deployed(&set)).then_some(drift.as_slice()))]
            }
            Ok(None) => Vec::new(),
            Err(e) if is_access_denied(&e) => Vec::new(),
            Err(e) => return Err(e),
        };
        return Ok(WatchPlan { lines, work: None });
    }
    let existing = stacksets::describe_stack_set(cfn, WATCH_SET_NAME, view.caller).await?;
    let parameters = watch_parameters(args, &view.identity.partition)?;
    let instances = match &existing {
        Some(_) => stacksets::list_stack_instances(cfn, WATCH_SET_NAME, view.caller).await?,
        None => Vec::new(),
    };
    let members: Vec<String> = view.scope.members().iter().map(|m| m.id.clone()).collect();
    let auto_deploy = org_stackset::auto_deploys(&view.scope.account_filter);
    let wanted = WantedWatchSet { template: watch::TEMPLATE, parameters: &parameters, auto_deploy };
    let plan = org_watch::plan_watch_set(existing.as_ref().map(deployed).as_ref(), &wanted, &members, regions, &summaries(&instances));
    let mut lines = vec![trail_line(ctx).await];
    let per_account = args.delivery_policy == DeliveryPolicyForm::PerAccount;
    let management = view.scope.management().map(|m| m.id.as_str());
    lines.extend(org_watch::reach_lines(management, auto_deploy, per_account, args.flowlogs.spec.bucket.as_str()));
    lines.extend(org_watch::watch_set_lines(&plan, regions));
    let work = (plan.action != WatchSetAction::NotFlowgates).then_some(WatchWork { plan, parameters, no_instances: instances.is_empty() });
    Ok(WatchPlan { lines, work })
}

fn is_access_denied(error: &Error) -> bool {
    matches!(error, Error::Aws { kind: AwsErrorKind::AccessDenied, .. })
}

/// The watch StackSet's operations and how they run.
pub(super) struct WatchDeployment<'a> {
    pub cfn: &'a aws_sdk_cloudformation::Client,
    pub view: &'a OrgView,
    pub preferences: OperationPreferences,
    pub wait: Duration,
}

impl WatchDeployment<'_> {
    /// Creates or updates the set, then the missing instances region by region, then deploys the
    /// stale ones again; each account's failure, or the error with the plan line's action.
    pub(super) async fn deploy(&self, work: &WatchWork) -> std::result::Result<Vec<InstanceFailure>, (&'static str, Error)> {
        let view = self.view;
        let auto = org_stackset::auto_deploys(&view.scope.account_filter);
        let mut failures = Vec::new();
        match &work.plan.action {
            WatchSetAction::Create => {
                stacksets::create_stack_set(self.cfn, WATCH_SET_NAME, watch::TEMPLATE, &work.parameters, auto, view.caller, DESCRIPTION)
                    .await
                    .map_err(|e| ("create-stack-set", e))?
            }
            WatchSetAction::Update { .. } => {
                let id = stacksets::update_stack_set(
                    self.cfn,
                    WATCH_SET_NAME,
                    watch::TEMPLATE,
                    &work.parameters,
                    auto,
                    self.preferences,
                    view.caller,
                    stacksets::BUSY_DELAYS,
                )
                .await
                .map_err(|e| ("update-stack-set", e))?;
                failures.extend(self.finished(&id).await.map_err(|e| ("update-stack-set", e))?);
            }
            WatchSetAction::Keep | WatchSetAction::NotFlowgates => {}
        }
        for (region, missing) in work.plan.regions_missing() {
            let only_missing = AccountFilter::Intersection(missing.clone());
            let filter = if work.no_instances { &view.scope.account_filter } else { &only_missing };
            failures.extend(self.create_instances(region, filter).await.map_err(|e| ("create-stack-instances", e))?);
        }
        for (region, stale) in work.plan.regions_stale() {
            failures.extend(self.redeploy(region, stale).await.map_err(|e| ("update-stack-instances", e))?);
        }
        Ok(failures)
    }

    async fn finished(&self, id: &str) -> Result<Vec<InstanceFailure>> {
        let outcome = stacksets::wait_operation(self.cfn, WATCH_SET_NAME, id, self.view.caller, self.wait).await?;
        failed_without_results(&outcome, id)?;
        Ok(outcome.failures)
    }

    /// The instances of one region, through the scope's OUs (at most 50 per call).
    async fn create_instances(&self, region: &str, filter: &AccountFilter) -> Result<Vec<InstanceFailure>> {
        let mut failures = Vec::new();
        for ous in self.view.scope.target_ous.chunks(50) {
            let targets = Targets { ous, filter };
            let id = stacksets::create_stack_instances(
                self.cfn,
                WATCH_SET_NAME,
                &targets,
                region,
                self.preferences,
                self.view.caller,
                stacksets::BUSY_DELAYS,
            )
            .await?;
            failures.extend(self.finished(&id).await?);
        }
        Ok(failures)
    }

    async fn redeploy(&self, region: &str, stale: &[String]) -> Result<Vec<InstanceFailure>> {
        let mut failures = Vec::new();
        for ous in self.view.scope.target_ous.chunks(50) {
            let id = stacksets::update_instances(
                self.cfn,
                WATCH_SET_NAME,
                ous,
                stale,
                region,
                None,
                self.preferences,
                self.view.caller,
                stacksets::BUSY_DELAYS,
            )
            .await?;
            failures.extend(self.finished(&id).await?);
        }
        Ok(failures)
    }
}

/// The watch StackSet as `org status` reads it.
pub(super) enum WatchSetView {
    /// There is none: the watcher was never asked for, or it was removed.
    Absent,
    /// A set of that name that is not flowgate's watcher.
    NotFlowgates,
    /// flowgate's watcher: its instances, and what its flow log differs in from the one this
    /// run checks (template, parameters; tags are not compared, as status is not given them).
    Deployed { instances: Vec<StackInstance>, drift: Vec<String> },
    /// It could not be read (an operator policy rendered before the watcher): why.
    Unreadable(String),
}

pub(super) async fn read_watch_set(cfn: &aws_sdk_cloudformation::Client, view: &OrgView, args: &OrgStatusArgs) -> Result<WatchSetView> {
    let set = match stacksets::describe_stack_set(cfn, WATCH_SET_NAME, view.caller).await {
        Ok(None) => return Ok(WatchSetView::Absent),
        Ok(Some(set)) => set,
        Err(e) if is_access_denied(&e) => return Ok(WatchSetView::Unreadable(crate::apply::error_text(&e))),
        Err(e) => return Err(e),
    };
    let deployed_set = deployed(&set);
    if !org_watch::is_flowgates_watch_set(&deployed_set) {
        return Ok(WatchSetView::NotFlowgates);
    }
    let wanted: Vec<(String, String)> = crate::commands::watch::stack_parameters(&args.spec, &[], &view.identity.partition)?
        .into_iter()
        .filter(|(k, _)| *k != "FlowLogTags")
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    let drift = org_stackset::set_differences(&deployed_set, watch::TEMPLATE, &wanted, set.auto_deployment.unwrap_or_default());
    Ok(WatchSetView::Deployed { instances: stacksets::list_stack_instances(cfn, WATCH_SET_NAME, view.caller).await?, drift })
}

/// The watcher check of `account`: its instance in each of `regions` (those asked for, else those
/// the set is deployed to); none when the watcher was never asked for (`expected`: `--watch`).
pub(super) fn watch_check(watch_set: &WatchSetView, account: &str, regions: &[String], expected: bool) -> Option<Check> {
    Some(match watch_set {
        WatchSetView::Absent if expected => {
            Check::fail(org_watch::CHECK_NAME, format!("no watcher: stack set {WATCH_SET_NAME} does not exist"), "flowgate org onboard --watch")
        }
        WatchSetView::Absent => return None,
        WatchSetView::NotFlowgates => Check::warn(
            org_watch::CHECK_NAME,
            format!("stack set {WATCH_SET_NAME} is not flowgate's watcher (its template and parameters)"),
            "rename or delete it, then flowgate org onboard --watch",
        ),
        WatchSetView::Unreadable(reason) => Check::warn(
            org_watch::CHECK_NAME,
            format!("stack set {WATCH_SET_NAME} could not be read: {reason}"),
            "give the caller the policy flowgate permissions org-status prints",
        ),
        WatchSetView::Deployed { drift, .. } if !drift.is_empty() => Check::fail(
            org_watch::CHECK_NAME,
            format!("the watcher makes another flow log than the one checked here: {} differ", drift.join(", ")),
            "flowgate org onboard --watch with this run's flow-log options",
        ),
        WatchSetView::Deployed { instances, .. } => {
            let instances = summaries(instances);
            let regions = if regions.is_empty() { org_watch::watched_regions(&instances) } else { regions.to_vec() };
            org_watch::watch_check(account, &regions, &instances)
        }
    })
}

/// `org offboard`: the watch StackSet, when it is flowgate's, as planned.
pub(super) struct WatchRemoval {
    pub lines: Vec<Change>,
    /// The regions of the scope's instances (none: nothing to delete).
    pub regions: Vec<String>,
    /// The set goes: no instance outside the scope remains.
    pub delete_set: bool,
}

pub(super) async fn plan_removal(cfn: &aws_sdk_cloudformation::Client, view: &OrgView) -> Result<Option<WatchRemoval>> {
    let set = match stacksets::describe_stack_set(cfn, WATCH_SET_NAME, view.caller).await {
        Ok(None) => return Ok(None),
        Ok(Some(set)) => set,
        Err(e) if is_access_denied(&e) => {
            let detail = format!("warning: could not be read ({}): a watcher, if there is one, is left", crate::apply::error_text(&e));
            return Ok(Some(WatchRemoval {
                lines: vec![Change::new("keep-stack-set", WATCH_SET_NAME, ChangeStatus::Skipped, detail)],
                regions: Vec::new(),
                delete_set: false,
            }));
        }
        Err(e) => return Err(e),
    };
    if !org_watch::is_flowgates_watch_set(&deployed(&set)) {
        let line =
            Change::new("keep-stack-set", WATCH_SET_NAME, ChangeStatus::Skipped, "not flowgate's watcher (its template and parameters): left alone");
        return Ok(Some(WatchRemoval { lines: vec![line], regions: Vec::new(), delete_set: false }));
    }
    let instances = stacksets::list_stack_instances(cfn, WATCH_SET_NAME, view.caller).await?;
    let members = view.scope.members();
    let in_scope: Vec<&StackInstance> = instances.iter().filter(|i| members.iter().any(|m| m.id == i.account)).collect();
    let mut regions: Vec<String> = in_scope.iter().map(|i| i.region.clone()).collect();
    regions.sort();
    regions.dedup();
    let instances_line = if in_scope.is_empty() {
        Change::new("delete-stack-instances", WATCH_SET_NAME, ChangeStatus::Skipped, "no watcher in scope")
    } else {
        let detail = format!("the watcher of {} instance(s) in {}, first: it would make flow logs again", in_scope.len(), regions.join(", "));
        Change::new("delete-stack-instances", WATCH_SET_NAME, ChangeStatus::Planned, detail)
    };
    let delete_set = instances.len() == in_scope.len();
    let set_line = if delete_set {
        Change::new("delete-stack-set", WATCH_SET_NAME, ChangeStatus::Planned, "once its instances are gone")
    } else {
        Change::new("delete-stack-set", WATCH_SET_NAME, ChangeStatus::Skipped, "kept: instances outside the scope remain")
    };
    Ok(Some(WatchRemoval { lines: vec![instances_line, set_line], regions, delete_set }))
}

/// Deletes the scope's watcher instances region by region, then the set when it goes.
pub(super) async fn remove(
    cfn: &aws_sdk_cloudformation::Client,
    view: &OrgView,
    removal: &WatchRemoval,
    preferences: OperationPreferences,
    wait: Duration,
) -> std::result::Result<(), (&'static str, Error)> {
    for region in &removal.regions {
        for ous in view.scope.target_ous.chunks(50) {
            let targets = Targets { ous, filter: &view.scope.account_filter };
            let id = stacksets::delete_stack_instances(cfn, WATCH_SET_NAME, &targets, region, preferences, view.caller, stacksets::BUSY_DELAYS)
                .await
                .map_err(|e| ("delete-stack-instances", e))?;
            let outcome = stacksets::wait_operation(cfn, WATCH_SET_NAME, &id, view.caller, wait).await.map_err(|e| ("delete-stack-instances", e))?;
            failed_without_results(&outcome, &id).map_err(|e| ("delete-stack-instances", e))?;
            if let Some((account, _, status, reason)) = outcome.failures.first() {
                return Err((
                    "delete-stack-instances",
                    Error::refused(format!("deleting the watcher in account {account}: {status} {reason}"), None),
                ));
            }
        }
    }
    if removal.delete_set {
        let left = stacksets::list_stack_instances(cfn, WATCH_SET_NAME, view.caller).await.map_err(|e| ("delete-stack-set", e))?;
        if !left.is_empty() {
            let error = Error::refused(
                format!("stack set {WATCH_SET_NAME} still has {} instance(s): it is kept", left.len()),
                Some("see flowgate org status; then re-run".to_owned()),
            );
            return Err(("delete-stack-set", error));
        }
        stacksets::delete_stack_set(cfn, WATCH_SET_NAME, view.caller, stacksets::BUSY_DELAYS).await.map_err(|e| ("delete-stack-set", e))?;
    }
    Ok(())
}
