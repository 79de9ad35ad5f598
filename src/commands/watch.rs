//! `flowgate watch enable | status | disable`: per region, the watcher stack
//! (templates/watch.yaml) that gives every new VPC flowgate's flow log. Observe each region (the
//! stack, the trails that bring CreateVpc calls to EventBridge), plan in the core
//! (`core::watch`), apply one region per step.

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use futures::stream::{self, StreamExt};
use schemars::JsonSchema;
use serde::Serialize;

use crate::apply::{self, Done, OnFailure, Plan, Step};
use crate::aws::{cloudformation, cloudtrail, ec2};
use crate::cli::{FlowLogSpecArgs, ScopeArgs, WatchDisableArgs, WatchEnableArgs, desired_flow_log};
use crate::context::Ctx;
use crate::core::names::Tag;
use crate::core::report::{Change, ChangeStatus, ChangeTally, CheckStatus};
use crate::core::watch::{self, ObservedStack, STACK_NAME, TEMPLATE, TRAIL_HINT, WatchAction};
use crate::error::{ExitStatus, Result};
use crate::observe::regions::resolve_regions;
use crate::output::{Report, render_changes};

/// How long one region's stack may take to create, update or delete.
const STACK_TIMEOUT: Duration = Duration::from_secs(900);

/// One region as observed: the watcher stack, and the trail that feeds its rules (or what is
/// missing).
#[derive(Debug, Clone)]
struct RegionWatch {
    stack: Option<ObservedStack>,
    trail: std::result::Result<String, String>,
}

async fn observe_region(ctx: &Ctx, region: &str, with_trail: bool) -> Result<RegionWatch> {
    let cfn = ctx.clients.cloudformation_in(region);
    let stack = cloudformation::describe_stack(&cfn, STACK_NAME).await?.map(|info| ObservedStack {
        status: info.status,
        parameters: info.parameters,
        outputs: info.outputs,
    });
    let trail = if with_trail {
        let trails = cloudtrail::trails(&ctx.clients, region).await?;
        watch::trail_for_region(region, &trails).map(watch::trail_description)
    } else {
        Ok(String::new())
    };
    Ok(RegionWatch { stack, trail })
}

async fn observe_named(ctx: &Ctx, region: String, with_trail: bool) -> (String, Result<RegionWatch>) {
    let state = observe_region(ctx, &region, with_trail).await;
    (region, state)
}

/// Every region's observation, `concurrency` at once, in region order. (The futures are made up
/// front, not by the stream's closure: a closure-made future is not provably `Send`.)
async fn observe(ctx: &Ctx, regions: &[String], concurrency: u16, with_trail: bool) -> Vec<(String, Result<RegionWatch>)> {
    let reads: Vec<_> = regions.iter().map(|region| observe_named(ctx, region.clone(), with_trail)).collect();
    stream::iter(reads).buffered(usize::from(concurrency)).collect().await
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct WatchReport {
    pub command: &'static str,
    pub account: String,
    pub stack_name: &'static str,
    pub regions: Vec<String>,
    pub dry_run: bool,
    pub changes: Vec<Change>,
    pub summary: ChangeTally,
    #[serde(skip)]
    applied: bool,
}

impl fmt::Display for WatchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.summary;
        if self.applied {
            write!(f, "{}", render_changes(&self.changes))?;
            write!(f, "{} applied, {} unchanged", s.steps_applied, s.steps_unchanged)?;
        } else if s.steps_planned == 0 {
            write!(f, "nothing to change in {} region(s)", self.regions.len())?;
        } else {
            write!(f, "dry run: {} change(s) planned, nothing applied", s.steps_planned)?;
        }
        if s.steps_failed > 0 {
            write!(f, ", {} FAILED (re-run to converge)", s.steps_failed)?;
        }
        if s.steps_blocked > 0 {
            write!(f, ", {} region(s) left alone (the plan says why)", s.steps_blocked)?;
        }
        writeln!(f)
    }
}

impl Report for WatchReport {
    fn exit_status(&self) -> ExitStatus {
        self.summary.exit_status()
    }
}

/// A region that could not be read, as a failed plan line.
fn unread(region: &str, error: &crate::error::Error) -> Change {
    let mut change = Change::new("read-region", region, ChangeStatus::Failed, "the region could not be read").in_region(region);
    change.error = Some(apply::error_text(error));
    change
}

/// A region's trail as a plan line: the watcher is deployed only where its events arrive.
fn trail_change(region: &str, trail: &std::result::Result<String, String>) -> Change {
    match trail {
        Ok(name) => Change::new("check-trail", region, ChangeStatus::Skipped, format!("trail {name} brings CreateVpc calls to EventBridge")),
        Err(missing) => Change::new("check-trail", region, ChangeStatus::Blocked, format!("{missing}: the watcher would never fire ({TRAIL_HINT})")),
    }
    .in_region(region)
}

/// Creates the stack through a change set, or updates its parameters; waits for the result.
async fn deploy_region(ctx: &Ctx, region: String, create: bool, parameters: Vec<(&'static str, String)>) -> Result<Done> {
    let cfn = ctx.clients.cloudformation_in(&region);
    if create {
        let name = format!("flowgate-watch-{}", std::process::id());
        let id = cloudformation::create_change_set(&cfn, STACK_NAME, &name, true, TEMPLATE, &parameters).await?;
        cloudformation::wait_change_set(&cfn, STACK_NAME, &id, STACK_TIMEOUT).await?;
        cloudformation::execute_change_set(&cfn, STACK_NAME, &id).await?;
    } else {
        cloudformation::update_stack(&cfn, STACK_NAME, TEMPLATE, &parameters).await?;
    }
    settle_stack(&cfn, &region, false).await
}

/// Waits for the stack; a failed status is the step's error.
async fn settle_stack(cfn: &aws_sdk_cloudformation::Client, region: &str, deleting: bool) -> Result<Done> {
    let (info, failures) = cloudformation::wait_stack(cfn, STACK_NAME, &mut HashSet::new(), STACK_TIMEOUT, &mut |_| {}).await?;
    let status = info.map(|i| i.status).unwrap_or_else(|| "DELETE_COMPLETE".to_owned());
    let done = if deleting { status == "DELETE_COMPLETE" } else { matches!(status.as_str(), "CREATE_COMPLETE" | "UPDATE_COMPLETE") };
    if done {
        return Ok(Done::Changed);
    }
    let reasons: Vec<String> = failures.iter().filter_map(|e| Some(format!("{}: {}", e.logical_id, e.reason.clone()?))).collect();
    Err(crate::error::Error::refused(
        format!(
            "stack {STACK_NAME} in {region} is {status}{}",
            if reasons.is_empty() { String::new() } else { format!(" ({})", reasons.join("; ")) }
        ),
        Some("see the stack's events in the CloudFormation console; flowgate watch disable, then enable, deploys it afresh".to_owned()),
    ))
}

/// The watcher's stack parameters for the flow log `spec` and `tags` describe: the CreateFlowLogs
/// request `flowlogs enable` sends, as the core renders it for the stack (also the organization's
/// watch StackSet's).
pub fn stack_parameters(spec: &FlowLogSpecArgs, tags: &[Tag], partition: &str) -> Result<Vec<(&'static str, String)>> {
    let desired = desired_flow_log(spec, partition)?;
    Ok(watch::stack_parameters(&desired.create_request(&ec2::creation_tags(tags))))
}

/// `onboard` without `--watch`: where flowgate's watcher makes another flow log than the one this
/// run creates, as warning lines (its update needs `--watch`). What cannot be read is not named.
pub async fn differing_lines(ctx: &Ctx, args: &WatchEnableArgs) -> Vec<Change> {
    let Ok(identity) = ctx.identity().await.cloned() else { return Vec::new() };
    let Ok(parameters) = stack_parameters(&args.spec, &args.tags, &identity.partition) else { return Vec::new() };
    let mut lines = Vec::new();
    for (region, stack) in flowgates_watchers(ctx, &args.scope()).await {
        if let WatchAction::Update { parameters: differ } = watch::plan_watch(Some(&stack), &parameters) {
            let detail =
                format!("warning: flowgate's watcher makes another flow log than this run ({} differ): add --watch to update it", differ.join(", "));
            lines.push(Change::new("keep-stack", STACK_NAME, ChangeStatus::Skipped, detail).in_region(&region));
        }
    }
    lines
}

/// flowgate's watcher stacks in the scope's regions, for the notices of `onboard` and `offboard`
/// without `--watch`: what cannot be read is left out.
async fn flowgates_watchers(ctx: &Ctx, scope: &ScopeArgs) -> Vec<(String, ObservedStack)> {
    let Ok(regions) = resolve_regions(ctx, scope).await else { return Vec::new() };
    observe(ctx, &regions, scope.concurrency, false)
        .await
        .into_iter()
        .filter_map(|(region, state)| match state {
            Ok(RegionWatch { stack: Some(stack), .. }) if stack.is_flowgates() => Some((region, stack)),
            _ => None,
        })
        .collect()
}

/// `watch enable`: per region, the trail check, then create, update or keep the watcher.
pub async fn enable(ctx: &Ctx, args: &WatchEnableArgs) -> Result<WatchReport> {
    desired_flow_log(&args.spec, "aws")?;
    let identity = ctx.identity().await?.clone();
    let parameters = stack_parameters(&args.spec, &args.tags, &identity.partition)?;
    let regions = resolve_regions(ctx, &args.scope()).await?;
    let observed = observe(ctx, &regions, args.concurrency, true).await;
    let mut steps = Vec::new();
    for (region, result) in observed {
        let state = match result {
            Ok(state) => state,
            Err(e) => {
                steps.push(Step::shown(vec![unread(&region, &e)]));
                continue;
            }
        };
        let trail = trail_change(&region, &state.trail);
        let action = if state.trail.is_err() { None } else { Some(watch::plan_watch(state.stack.as_ref(), &parameters)) };
        let mut changes = vec![trail];
        changes.extend(action.as_ref().map(|a| watch::watch_change(&region, a)));
        steps.push(match action {
            Some(WatchAction::Create) => Step::new(changes, deploy_region(ctx, region, true, parameters.clone())),
            Some(WatchAction::Update { .. }) => Step::new(changes, deploy_region(ctx, region, false, parameters.clone())),
            _ => Step::shown(changes),
        });
    }
    run(ctx, "watch enable", &identity.account, regions, steps, args.concurrency, "Deploy the watcher").await
}

/// Shows the plan, applies it, and reports.
async fn run(
    ctx: &Ctx,
    command: &'static str,
    account: &str,
    regions: Vec<String>,
    steps: Vec<Step<'_>>,
    concurrency: u16,
    question: &str,
) -> Result<WatchReport> {
    let plan = Plan::new(steps, OnFailure::Continue { concurrency: usize::from(concurrency) });
    ctx.printer.text(format_args!(
        "{}\nPlan for the watcher {STACK_NAME} in {} region(s):\n{}",
        ctx.identity_line().await?,
        regions.len(),
        render_changes(&plan.changes())
    ))?;
    let pending = plan.shown_pending();
    let outcome = apply::run(ctx.mode(), &ctx.printer, plan, &format!("{question} ({pending} change(s))?")).await?;
    Ok(WatchReport {
        command,
        account: account.to_owned(),
        stack_name: STACK_NAME,
        regions,
        dry_run: ctx.dry_run,
        changes: outcome.changes(),
        summary: outcome.tally,
        applied: outcome.applied(),
    })
}

/// `watch disable`: deletes flowgate's watcher stacks (the marker output), nothing else.
pub async fn disable(ctx: &Ctx, args: &WatchDisableArgs) -> Result<WatchReport> {
    let identity = ctx.identity().await?.clone();
    let scope = ScopeArgs { regions: args.regions.clone(), vpcs: Vec::new(), concurrency: args.concurrency };
    let regions = resolve_regions(ctx, &scope).await?;
    let steps = disable_steps(ctx, &regions, args.concurrency).await;
    run(ctx, "watch disable", &identity.account, regions, steps, args.concurrency, "Delete the watcher").await
}

/// `offboard` without `--watch`: where flowgate's watcher stays, as warning lines (it gives a VPC
/// created later flowgate's flow log). A region that cannot be read is not named: this is a
/// notice, and `watch status` reads it fully.
pub async fn kept_lines(ctx: &Ctx, scope: &ScopeArgs) -> Vec<Change> {
    let detail = "warning: flowgate's watcher stays, and gives a VPC created later flowgate's flow log (offboard --watch removes it)";
    let watchers = flowgates_watchers(ctx, scope).await;
    watchers.into_iter().map(|(region, _)| Change::new("keep-stack", STACK_NAME, ChangeStatus::Skipped, detail).in_region(&region)).collect()
}

/// The steps that delete the watcher in `regions` (also offboard's first step).
pub async fn disable_steps<'a>(ctx: &'a Ctx, regions: &[String], concurrency: u16) -> Vec<Step<'a>> {
    let mut steps = Vec::new();
    for (region, result) in observe(ctx, regions, concurrency, false).await {
        match result {
            Err(e) => steps.push(Step::shown(vec![unread(&region, &e)])),
            Ok(RegionWatch { stack: None, .. }) => {}
            Ok(RegionWatch { stack: Some(stack), .. }) if !stack.is_flowgates() => steps.push(Step::shown(vec![
                Change::new(
                    "keep-stack",
                    STACK_NAME,
                    ChangeStatus::Skipped,
                    "not flowgate's watcher (not the parameters of templates/watch.yaml): left alone",
                )
                .in_region(&region),
            ])),
            Ok(RegionWatch { .. }) => {
                let change =
                    Change::new("delete-stack", STACK_NAME, ChangeStatus::Planned, "the watcher: its rules, Automation and roles").in_region(&region);
                steps.push(Step::new(vec![change], async move {
                    let cfn = ctx.clients.cloudformation_in(&region);
                    cloudformation::delete_stack(&cfn, STACK_NAME).await?;
                    settle_stack(&cfn, &region, true).await
                }));
            }
        }
    }
    steps
}

/// One region of `watch status`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RegionStatus {
    pub region: String,
    pub status: CheckStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trail: Option<String>,
    pub detail: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct WatchStatusReport {
    pub command: &'static str,
    pub account: String,
    pub status: CheckStatus,
    pub regions: Vec<RegionStatus>,
}

impl fmt::Display for WatchStatusReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "the watcher {STACK_NAME} (account {}):", self.account)?;
        for region in &self.regions {
            writeln!(f, "  {:<16} {:<5} {}", region.region, region.status.to_string(), region.detail)?;
        }
        let watched = self.regions.iter().filter(|r| r.status == CheckStatus::Pass).count();
        writeln!(f, "{}: {watched} of {} region(s) watched", self.status, self.regions.len())
    }
}

impl Report for WatchStatusReport {
    fn exit_status(&self) -> ExitStatus {
        if self.status == CheckStatus::Pass { ExitStatus::Success } else { ExitStatus::Failure }
    }
}

/// `watch status`: per region, whether the watcher is deployed, creates the flow log asked for,
/// and is fed by a trail. Read-only.
pub async fn status(ctx: &Ctx, args: &WatchEnableArgs) -> Result<WatchStatusReport> {
    desired_flow_log(&args.spec, "aws")?;
    let identity = ctx.identity().await?.clone();
    let parameters = stack_parameters(&args.spec, &args.tags, &identity.partition)?;
    let regions = resolve_regions(ctx, &args.scope()).await?;
    let mut rows = Vec::new();
    for (region, result) in observe(ctx, &regions, args.concurrency, true).await {
        let row = match result {
            Err(e) => RegionStatus { region, status: CheckStatus::Fail, stack_status: None, trail: None, detail: format!("could not be read: {e}") },
            Ok(state) => region_status(region, &state, &parameters),
        };
        rows.push(row);
    }
    let status = crate::core::report::worst(
        &rows
            .iter()
            .map(|r| crate::core::report::Check { name: r.region.clone(), status: r.status, detail: String::new(), fix: None })
            .collect::<Vec<_>>(),
    );
    Ok(WatchStatusReport { command: "watch status", account: identity.account, status, regions: rows })
}

fn region_status(region: String, state: &RegionWatch, parameters: &[(&'static str, String)]) -> RegionStatus {
    let stack_status = state.stack.as_ref().map(|s| s.status.clone());
    let (status, detail) = match (watch::plan_watch(state.stack.as_ref(), parameters), &state.trail) {
        (WatchAction::Keep, Ok(_)) => (CheckStatus::Pass, "watched: a new VPC gets the flow log asked for".to_owned()),
        (WatchAction::Keep, Err(missing)) => (CheckStatus::Fail, format!("deployed, but {missing} ({TRAIL_HINT})")),
        (action, trail) => {
            let mut detail = watch::watch_change(&region, &action).detail.replace("the watcher:", "not deployed: the watcher:");
            // What `watch enable` would block on is said now, not after the watcher is deployed.
            if let Err(missing) = trail {
                detail = format!("{detail}; and {missing} ({TRAIL_HINT})");
            }
            (CheckStatus::Fail, detail)
        }
    };
    RegionStatus { region, status, stack_status, trail: state.trail.clone().ok(), detail }
}
