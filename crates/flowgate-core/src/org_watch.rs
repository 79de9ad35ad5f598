//! The organization's watcher: a second service-managed StackSet that deploys the single-account
//! watcher (templates/watch.yaml) to every member in every region in scope, so that a VPC created
//! later, in an account that joins later too, gets the flow log `org onboard` gives the others.
//! Its plan, its check in `org status`, and the organization trail its rules depend on.

use std::collections::BTreeMap;

use crate::org_stackset::{DeployedSet, InstanceSummary, missing_instances, set_differences, stale_instances};
use crate::report::{Change, ChangeStatus, Check};
use crate::watch::{PARAMETERS, TEMPLATE, TrailFacts, trail_description};

/// The watch StackSet's name.
pub const WATCH_SET_NAME: &str = "flowgate-org-watch";

/// The name of the watcher's check in `org status` / `org verify`.
pub const CHECK_NAME: &str = "watch";

/// A StackSet of that name is flowgate's watcher when it deploys the watcher's template, or a
/// template with exactly the watcher's parameters (an older flowgate's), as a watcher stack is
/// known by its parameters.
pub fn is_flowgates_watch_set(set: &DeployedSet<'_>) -> bool {
    set.template_body == TEMPLATE || (set.parameters.len() == PARAMETERS.len() && PARAMETERS.iter().all(|p| set.parameters.contains_key(*p)))
}

/// What this run does to the watch StackSet itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchSetAction {
    Create,
    /// What differs (template, parameters, auto-deployment): every instance is updated.
    Update {
        differences: Vec<String>,
    },
    Keep,
    /// A StackSet of that name that is not flowgate's watcher: left alone, and no instance made.
    NotFlowgates,
}

/// The watch StackSet as planned: the set's action, and per region the members without an
/// instance and those a failed operation left OUTDATED.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchSetPlan {
    pub action: WatchSetAction,
    /// Auto-deployment: on for whole OUs, off when accounts are named.
    pub auto_deploy: bool,
    pub missing: BTreeMap<String, Vec<String>>,
    pub stale: BTreeMap<String, Vec<String>>,
}

impl WatchSetPlan {
    /// The regions where members need an instance.
    pub fn regions_missing(&self) -> impl Iterator<Item = (&String, &Vec<String>)> {
        self.missing.iter().filter(|(_, m)| !m.is_empty())
    }

    pub fn regions_stale(&self) -> impl Iterator<Item = (&String, &Vec<String>)> {
        self.stale.iter().filter(|(_, m)| !m.is_empty())
    }
}

/// What the run deploys: the watcher's template, its parameters (the members' CreateFlowLogs
/// request), auto-deployment.
#[derive(Debug, Clone, Copy)]
pub struct WantedWatchSet<'a> {
    pub template: &'a str,
    pub parameters: &'a [(String, String)],
    pub auto_deploy: bool,
}

/// The watch StackSet's plan against `existing` (`None`: there is none yet) and its instances.
pub fn plan_watch_set(
    existing: Option<&DeployedSet<'_>>,
    wanted: &WantedWatchSet<'_>,
    members: &[String],
    regions: &[String],
    instances: &[InstanceSummary<'_>],
) -> WatchSetPlan {
    let action = match existing {
        None => WatchSetAction::Create,
        Some(set) if !is_flowgates_watch_set(set) => WatchSetAction::NotFlowgates,
        Some(set) => {
            let differences = set_differences(set, wanted.template, wanted.parameters, wanted.auto_deploy);
            if differences.is_empty() { WatchSetAction::Keep } else { WatchSetAction::Update { differences } }
        }
    };
    if action == WatchSetAction::NotFlowgates {
        return WatchSetPlan { action, auto_deploy: wanted.auto_deploy, missing: BTreeMap::new(), stale: BTreeMap::new() };
    }
    let missing = regions.iter().map(|r| (r.clone(), missing_instances(members, instances, r))).collect();
    // A set's update deploys every instance again anyway.
    let updates = matches!(action, WatchSetAction::Update { .. });
    let stale = regions.iter().map(|r| (r.clone(), if updates { Vec::new() } else { stale_instances(members, instances, r) })).collect();
    WatchSetPlan { action, auto_deploy: wanted.auto_deploy, missing, stale }
}

/// The plan lines of the watch StackSet, in the order they apply.
pub fn watch_set_lines(plan: &WatchSetPlan, regions: &[String]) -> Vec<Change> {
    let name = WATCH_SET_NAME;
    let set_line = match &plan.action {
        WatchSetAction::Create => Change::new(
            "create-stack-set",
            name,
            ChangeStatus::Planned,
            format!(
                "service-managed, auto-deployment {}: the watcher (EventBridge rules on CreateVpc -> the flow-log Automation) in {}, in {} region(s)",
                if plan.auto_deploy { "on" } else { "off (named accounts)" },
                if plan.auto_deploy { "every member of the OUs in scope, and those that join them later" } else { "the named member accounts" },
                regions.len()
            ),
        ),
        WatchSetAction::Update { differences } => {
            Change::new("update-stack-set", name, ChangeStatus::Planned, format!("{} changed: every instance is updated", differences.join(", ")))
        }
        WatchSetAction::Keep => Change::new("update-stack-set", name, ChangeStatus::Skipped, "the watcher's template and flow log are current"),
        WatchSetAction::NotFlowgates => {
            let detail = format!("a stack set named {name} that is not flowgate's watcher: left alone (rename or delete it)");
            return vec![Change::new("keep-stack-set", name, ChangeStatus::Blocked, detail)];
        }
    };
    let mut lines = vec![set_line];
    for region in regions {
        let missing = plan.missing.get(region).map(Vec::as_slice).unwrap_or_default();
        lines.push(
            if missing.is_empty() {
                Change::new("create-stack-instances", name, ChangeStatus::Skipped, format!("every member in scope is watched in {region}"))
            } else {
                let detail = format!("the watcher in {} member account(s) in {region}: {}", missing.len(), missing.join(", "));
                Change::new("create-stack-instances", name, ChangeStatus::Planned, detail)
            }
            .in_region(region),
        );
    }
    for (region, stale) in plan.regions_stale() {
        let detail = format!("{} watcher(s) left OUTDATED by a failed operation, deployed again: {}", stale.len(), stale.join(", "));
        lines.push(Change::new("update-stack-instances", name, ChangeStatus::Planned, detail).in_region(region));
    }
    lines
}

/// The line of a run without `--watch` that finds the watch StackSet: it stays as it is. `drift`:
/// what flowgate's watcher differs in from this run's flow log (`None`: not flowgate's set).
pub fn not_requested_line(drift: Option<&[String]>) -> Change {
    let detail = match drift {
        Some(drift) if !drift.is_empty() => format!(
            "warning: the watcher is not asked for (--watch): left as it is, and it makes another flow log than this run ({} differ): add --watch to update it",
            drift.join(", ")
        ),
        _ => "the watcher is not asked for (--watch): left as it is".to_owned(),
    };
    Change::new("keep-stack-set", WATCH_SET_NAME, ChangeStatus::Skipped, detail)
}

/// The organization trail that brings every member's CreateVpc calls to EventBridge: an
/// organization trail, multi-region, logging (EventBridge User Guide, "AWS service events
/// delivered via AWS CloudTrail": a trail with logging enabled is required; an organization trail
/// is created in every member account). One recording write management events is preferred; one
/// that records none is taken, as `watch enable` takes it, and named with that caveat.
pub fn organization_trail(trails: &[TrailFacts]) -> Option<&TrailFacts> {
    let candidates = || trails.iter().filter(|t| t.organization && t.multi_region && t.logging);
    candidates().find(|t| t.management_writes).or_else(|| candidates().next())
}

/// The plan line of the organization trail: a warning when there is none, never a block (a
/// member may have a trail of its own).
pub fn trail_line(trails: &[TrailFacts]) -> Change {
    match organization_trail(trails) {
        Some(trail) => Change::new(
            "check-trail",
            "organization",
            ChangeStatus::Skipped,
            format!("organization trail {} brings the members' CreateVpc calls to EventBridge", trail_description(trail)),
        ),
        None => Change::new(
            "check-trail",
            "organization",
            ChangeStatus::Skipped,
            "warning: no logging multi-region organization trail found: members without a trail of their own get no CreateVpc events, and their watcher never fires (aws cloudtrail create-trail --is-organization-trail --is-multi-region-trail, then start-logging)",
        ),
    }
}

/// The plan line for what the watch StackSet cannot reach or cannot make work: service-managed
/// StackSets never deploy to the management account (CloudFormation API Reference,
/// DeploymentTargets), and with per-account delivery grants an account that joins later is
/// watched but not yet allowed to deliver to the bucket (the flow log's creation fails until
/// `org onboard` names it in the bucket policy).
pub fn reach_lines(management_in_scope: Option<&str>, auto_deploy: bool, per_account_grants: bool, bucket: &str) -> Vec<Change> {
    let mut lines = Vec::new();
    if let Some(account) = management_in_scope {
        let detail = format!(
            "warning: StackSets never deploy to the management account: watch it with flowgate watch enable --bucket {bucket} and this run's flow-log options (--regions, --format, --prefix, ...), run in that account"
        );
        lines.push(Change::new("watch-management-account", account, ChangeStatus::Skipped, detail));
    }
    if auto_deploy && per_account_grants {
        let detail = "warning: an account that joins later is watched, but the per-account bucket policy does not name it: its flow logs fail until org onboard runs again (--delivery-policy org grants the whole organization)";
        lines.push(Change::new("watch-new-accounts", WATCH_SET_NAME, ChangeStatus::Skipped, detail));
    }
    lines
}

/// The watcher of `account` in `org status`, when flowgate's watch StackSet exists: its instance
/// in each of `regions` (the regions the set is deployed to). Without the set there is no check:
/// the watcher was never asked for.
pub fn watch_check(account: &str, regions: &[String], instances: &[InstanceSummary<'_>]) -> Check {
    if regions.is_empty() {
        return Check::fail(CHECK_NAME, format!("stack set {WATCH_SET_NAME} has no instance"), "re-run flowgate org onboard --watch");
    }
    let mut wrong = Vec::new();
    let mut deploying = Vec::new();
    for region in regions {
        match instances.iter().find(|i| i.account == account && i.region == region) {
            None => wrong.push(format!("none in {region}")),
            Some(i) => match (i.status, i.detailed_status) {
                ("CURRENT", None | Some("SUCCEEDED")) => {}
                (_, Some("RUNNING" | "PENDING")) => deploying.push(region.as_str()),
                (status, detailed) => wrong.push(format!("{status} ({}) in {region}", detailed.unwrap_or("-"))),
            },
        }
    }
    if !wrong.is_empty() {
        return Check::fail(CHECK_NAME, format!("the watcher is not deployed: {}", wrong.join(", ")), "re-run flowgate org onboard --watch");
    }
    if !deploying.is_empty() {
        return Check::warn(CHECK_NAME, format!("an operation is deploying the watcher in {}", deploying.join(", ")), "wait, then check again");
    }
    Check::pass(CHECK_NAME, format!("the watcher is deployed in {} region(s): {}", regions.len(), regions.join(", ")))
}

/// The regions the watch StackSet is deployed to: those of its instances.
pub fn watched_regions(instances: &[InstanceSummary<'_>]) -> Vec<String> {
    let mut regions: Vec<String> = instances.iter().map(|i| i.region.to_owned()).collect();
    regions.sort();
    regions.dedup();
    regions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance<'a>(account: &'a str, region: &'a str, status: &'a str, detailed: Option<&'a str>) -> InstanceSummary<'a> {
        InstanceSummary { account, region, status, detailed_status: detailed }
    }

    fn watcher_parameters() -> Vec<(String, String)> {
        PARAMETERS.iter().map(|p| ((*p).to_owned(), format!("value of {p}"))).collect()
    }

    #[test]
    fn the_watch_set_is_created_with_an_instance_per_member_and_region_then_kept() {
        let parameters = watcher_parameters();
        let wanted = WantedWatchSet { template: TEMPLATE, parameters: &parameters, auto_deploy: true };
        let members = vec!["111111111111".to_owned(), "222222222222".to_owned()];
        let regions = vec!["eu-west-1".to_owned(), "us-east-1".to_owned()];
        let plan = plan_watch_set(None, &wanted, &members, &regions, &[]);
        assert_eq!(plan.action, WatchSetAction::Create);
        assert_eq!(plan.regions_missing().count(), 2);
        let lines = watch_set_lines(&plan, &regions);
        assert_eq!(lines.iter().filter(|l| l.status == ChangeStatus::Planned).count(), 3, "{lines:?}");

        let deployed: BTreeMap<String, String> = parameters.iter().cloned().collect();
        let set = DeployedSet { template_body: TEMPLATE, parameters: &deployed, auto_deployment: None };
        let all: Vec<InstanceSummary<'_>> =
            members.iter().flat_map(|m| regions.iter().map(move |r| instance(m, r, "CURRENT", Some("SUCCEEDED")))).collect();
        let again = plan_watch_set(Some(&set), &wanted, &members, &regions, &all);
        assert_eq!(again.action, WatchSetAction::Keep);
        assert!(watch_set_lines(&again, &regions).iter().all(|l| l.status == ChangeStatus::Skipped), "a second run changes nothing");

        // One member lost its instance in one region; another's failed: those only.
        let partial = [all[0], instance("222222222222", "eu-west-1", "OUTDATED", Some("FAILED")), all[3]];
        let repair = plan_watch_set(Some(&set), &wanted, &members, &regions, &partial);
        assert_eq!(repair.missing["us-east-1"], ["111111111111"]);
        assert_eq!(repair.stale["eu-west-1"], ["222222222222"]);
    }

    #[test]
    fn a_changed_flow_log_updates_the_set_and_another_set_is_left_alone() {
        let parameters = watcher_parameters();
        let wanted = WantedWatchSet { template: TEMPLATE, parameters: &parameters, auto_deploy: true };
        let mut older: BTreeMap<String, String> = parameters.iter().cloned().collect();
        older.insert("TrafficType".into(), "ALL".into());
        let set = DeployedSet { template_body: TEMPLATE, parameters: &older, auto_deployment: Some(true) };
        let plan = plan_watch_set(Some(&set), &wanted, &[], &[], &[]);
        assert_eq!(plan.action, WatchSetAction::Update { differences: vec!["parameter(s) TrafficType".into()] });

        let foreign: BTreeMap<String, String> = [("Something".to_owned(), "x".to_owned())].into();
        let other = DeployedSet { template_body: "Resources: {}", parameters: &foreign, auto_deployment: None };
        assert!(!is_flowgates_watch_set(&other));
        let plan = plan_watch_set(Some(&other), &wanted, &["111111111111".into()], &["us-east-1".into()], &[]);
        assert_eq!(plan.action, WatchSetAction::NotFlowgates);
        let lines = watch_set_lines(&plan, &["us-east-1".into()]);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].status, ChangeStatus::Blocked);
        // An older template with the watcher's parameters is still flowgate's.
        assert!(is_flowgates_watch_set(&DeployedSet { template_body: "older", parameters: &older, auto_deployment: None }));
    }

    #[test]
    fn the_check_passes_only_where_every_region_is_current() {
        use crate::report::CheckStatus;
        let regions = vec!["eu-west-1".to_owned(), "us-east-1".to_owned()];
        let current = [instance("1", "eu-west-1", "CURRENT", Some("SUCCEEDED")), instance("1", "us-east-1", "CURRENT", None)];
        assert_eq!(watch_check("1", &regions, &current).status, CheckStatus::Pass);
        let missing = &current[..1];
        let check = watch_check("1", &regions, missing);
        assert_eq!(check.status, CheckStatus::Fail);
        assert!(check.detail.contains("none in us-east-1"), "{}", check.detail);
        let failed = [current[0], instance("1", "us-east-1", "OUTDATED", Some("FAILED"))];
        assert_eq!(watch_check("1", &regions, &failed).status, CheckStatus::Fail);
        let running = [current[0], instance("1", "us-east-1", "OUTDATED", Some("RUNNING"))];
        assert_eq!(watch_check("1", &regions, &running).status, CheckStatus::Warn);
        assert_eq!(watch_check("1", &[], &[]).status, CheckStatus::Fail, "a set without instances watches no one");
        assert_eq!(watched_regions(&current), regions);
    }

    #[test]
    fn a_logging_multi_region_organization_trail_counts_and_one_of_writes_is_preferred() {
        let trail = |name: &str, organization, multi_region, logging, management_writes| TrailFacts {
            name: name.into(),
            home_region: "us-east-1".into(),
            multi_region,
            organization,
            logging,
            management_writes,
        };
        assert!(trail_line(&[]).detail.starts_with("warning"));
        for partial in [trail("t", false, true, true, true), trail("t", true, false, true, true), trail("t", true, true, false, true)] {
            assert!(organization_trail(std::slice::from_ref(&partial)).is_none(), "{partial:?}");
            assert!(trail_line(std::slice::from_ref(&partial)).detail.starts_with("warning"));
        }
        let reads = trail("reads", true, true, true, false);
        let line = trail_line(std::slice::from_ref(&reads));
        assert!(line.detail.contains("organization trail reads (it records no write management events"), "{}", line.detail);
        let both = [reads, trail("writes", true, true, true, true)];
        assert_eq!(organization_trail(&both).unwrap().name, "writes");
        let line = trail_line(&both);
        assert_eq!(line.status, ChangeStatus::Skipped);
        assert_eq!(line.detail, "organization trail writes brings the members' CreateVpc calls to EventBridge");
    }

    #[test]
    fn a_watcher_left_alone_is_named_when_it_makes_another_flow_log() {
        assert!(!not_requested_line(Some(&[])).detail.contains("warning"));
        assert!(!not_requested_line(None).detail.contains("warning"), "not flowgate's: nothing to compare");
        let line = not_requested_line(Some(&["parameter(s) MaxAggregationInterval".to_owned()]));
        assert!(line.detail.starts_with("warning") && line.detail.contains("MaxAggregationInterval differ"), "{}", line.detail);
        assert_eq!(line.status, ChangeStatus::Skipped);
    }

    #[test]
    fn the_plan_names_the_management_account_and_late_joiners_it_cannot_cover() {
        assert!(reach_lines(None, false, true, "b").is_empty(), "an account list without auto-deployment: nobody joins later");
        assert!(reach_lines(None, true, false, "b").is_empty(), "the organization-wide grant covers accounts that join later");
        let lines = reach_lines(Some("111111111111"), true, true, "central");
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].resource, "111111111111");
        assert!(lines[0].detail.contains("flowgate watch enable --bucket central"), "{}", lines[0].detail);
        assert!(lines[1].detail.contains("--delivery-policy org"), "{}", lines[1].detail);
        assert!(lines.iter().all(|l| l.status == ChangeStatus::Skipped && l.detail.starts_with("warning")));
    }
}
