//! The account's regions, their VPCs and flow logs, and the coverage judgement `flowlogs status`,
//! `verify` and the wizard share.

use std::collections::BTreeMap;

use futures::stream::{self, StreamExt};
use schemars::JsonSchema;
use serde::Serialize;

use crate::apply::error_text;
use crate::aws::ec2;
use crate::cli::ScopeArgs;
use crate::context::Ctx;
use crate::core::access_denied::Denial;
use crate::core::flowlog_plan::{
    DesiredFlowLog, ExistingFlowLog, ReplaceScope, Vpc, VpcCoverage, VpcState, flow_logs_to_bucket, plan_region, select_regions, usable_regions,
};
use crate::core::report::{Change, ChangeStatus};
use crate::error::{AwsErrorKind, Error, Result};

/// The regions to work in: the account's usable regions, narrowed by `--regions`.
pub async fn resolve_regions(ctx: &Ctx, scope: &ScopeArgs) -> Result<Vec<String>> {
    let partition = ctx.identity().await?.partition.clone();
    let all = ec2::describe_regions(&ctx.ec2(&ctx.home_region)).await?;
    let usable = usable_regions(&all, &partition);
    let requested: Vec<String> = scope.regions.iter().map(|r| r.to_string()).collect();
    select_regions(&usable, &all, &requested)
        .map_err(|message| Error::input(message, Some(format!("the enabled regions are: {}", usable.join(", ")))))
}

/// A region's VPCs and their flow logs.
#[derive(Debug, Clone)]
pub struct RegionState {
    pub vpcs: Vec<Vpc>,
    pub flow_logs: Vec<ExistingFlowLog>,
    /// The region's first read was refused by an explicit deny (an organization's region-deny
    /// policy): nothing can be read or changed there, so it is skipped, with this reason.
    pub denied: Option<String>,
}

/// Reads a region's VPCs and flow logs. A region whose first read is refused by an explicit deny
/// is skipped rather than failed: Control Tower's region deny leaves `ec2:DescribeRegions` allowed
/// (it lists the region as enabled) and denies everything else there, so the region is closed to
/// this account, not broken. A refusal after a successful read stays a failure.
pub async fn observe_region(ctx: &Ctx, region: &str, only_vpcs: &[String]) -> Result<RegionState> {
    let account = ctx.identity().await?.account.clone();
    let client = ctx.ec2(region);
    let vpcs = match ec2::list_vpcs(&client, region, only_vpcs).await {
        Ok(vpcs) => vpcs,
        Err(error) => match region_denial(&error) {
            Some(reason) => return Ok(RegionState { vpcs: Vec::new(), flow_logs: Vec::new(), denied: Some(reason) }),
            None => return Err(error),
        },
    };
    // Participants cannot describe the flow logs of a VPC shared with them: ask only about ours.
    let ids: Vec<String> = vpcs.iter().filter(|v| v.shared_from(&account).is_none()).map(|v| v.id.clone()).collect();
    let flow_logs = if ids.is_empty() { Vec::new() } else { ec2::list_flow_logs(&client, region, &ids).await? };
    Ok(RegionState { vpcs, flow_logs, denied: None })
}

/// A region closed to the account by an explicit deny, and why: skipped, and said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct SkippedRegion {
    pub region: String,
    pub reason: String,
}

impl SkippedRegion {
    /// The plan line that says it.
    pub fn change(&self) -> Change {
        Change::new("skip-region", &self.region, ChangeStatus::Skipped, &self.reason).in_region(&self.region)
    }
}

/// The regions of `observed` closed by an explicit deny.
pub fn skipped_regions(observed: &[(String, Result<RegionState>)]) -> Vec<SkippedRegion> {
    observed
        .iter()
        .filter_map(|(region, result)| {
            let reason = result.as_ref().ok()?.denied.clone()?;
            Some(SkippedRegion { region: region.clone(), reason })
        })
        .collect()
}

/// Why a region is closed to the account, when `error` is an explicit deny.
pub fn region_denial(error: &Error) -> Option<String> {
    match error {
        // Only the organization's policies (SCPs, RCPs) close a region to an account; a deny in
        // the caller's own policy, a boundary or a session policy is the caller's to fix.
        Error::Aws { kind: AwsErrorKind::AccessDenied, message, .. } => match Denial::of_message(message) {
            denial @ Denial::Explicit { policy: Some(policy) } if policy.is_organizational() => {
                Some(format!("denied by policy ({}), skipped", denial.describe()))
            }
            _ => None,
        },
        _ => None,
    }
}

/// Observes every region concurrently; results come back sorted by region.
pub async fn observe_regions(ctx: &Ctx, regions: &[String], scope: &ScopeArgs) -> Vec<(String, Result<RegionState>)> {
    let progress = ctx.printer.progress(regions.len(), "reading regions");
    let mut results: Vec<(String, Result<RegionState>)> = stream::iter(regions.iter().cloned())
        .map(|region| {
            let progress = progress.clone();
            async move {
                let result = observe_region(ctx, &region, &scope.vpcs).await;
                if let Some(bar) = &progress {
                    bar.inc(1);
                    bar.set_message(region.clone());
                }
                (region, result)
            }
        })
        .buffer_unordered(usize::from(scope.concurrency))
        .collect()
        .await;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    results.sort_by(|a, b| a.0.cmp(&b.0));
    fail_if_every_region_is_denied(results)
}

/// A region-deny policy leaves the account's own regions open. When every region is refused,
/// the policy is denying the caller EC2 altogether (an allow-list SCP without ec2:DescribeVpcs
/// reads the same): that is a failure to report, not regions to skip.
fn fail_if_every_region_is_denied(results: Vec<(String, Result<RegionState>)>) -> Vec<(String, Result<RegionState>)> {
    let every_region_denied = !results.is_empty() && results.iter().all(|(_, r)| r.as_ref().is_ok_and(|s| s.denied.is_some()));
    if !every_region_denied {
        return results;
    }
    results
        .into_iter()
        .map(|(region, result)| {
            let reason = result.ok().and_then(|s| s.denied).unwrap_or_default();
            let error = Error::refused(
                format!("{region}: every selected region is refused ({})", reason.trim_end_matches(", skipped")),
                Some("a region-deny policy leaves some regions open: check the organization's SCPs for ec2:DescribeVpcs".to_owned()),
            );
            (region, Err(error))
        })
        .collect()
}

/// VPCs named with --vpcs that no region has: an input error once every region answered.
pub fn check_named_vpcs(scope: &ScopeArgs, observed: &[(String, Result<RegionState>)]) -> Result<()> {
    if scope.vpcs.is_empty() || observed.iter().any(|(_, r)| r.is_err()) {
        return Ok(());
    }
    let found: Vec<&str> = observed.iter().filter_map(|(_, r)| r.as_ref().ok()).flat_map(|s| s.vpcs.iter().map(|v| v.id.as_str())).collect();
    let missing: Vec<&str> = scope.vpcs.iter().map(String::as_str).filter(|v| !found.contains(v)).collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::input(
            format!("VPC(s) {} not found in the selected regions", missing.join(", ")),
            Some("check the ids (aws ec2 describe-vpcs) and --regions".to_owned()),
        ))
    }
}

/// Coverage of one region, as `flowlogs status` and `verify` report it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RegionCoverage {
    pub region: String,
    /// When the oldest flow log to the bucket was created (Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oldest_flow_log_created: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Closed to the account by an explicit deny (a region-deny policy): not read, not judged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    pub vpcs: usize,
    pub compliant: usize,
    pub non_compliant: usize,
    pub missing: usize,
    /// VPCs shared from another account: their owner enables flow logs.
    pub shared: usize,
    pub coverage: Vec<VpcCoverage>,
    /// The flow logs to the bucket on the region's own VPCs (verify judges their delivery).
    #[serde(skip)]
    pub to_bucket: Vec<ExistingFlowLog>,
    /// The VPCs' `Name` tags by VPC id (verify's report shows them).
    #[serde(skip)]
    pub vpc_names: BTreeMap<String, String>,
}

impl RegionCoverage {
    /// The ids of the region's compliant flow logs: only their objects are judged.
    pub fn compliant_flow_log_ids(&self) -> Vec<String> {
        self.coverage
            .iter()
            .filter_map(|v| match &v.state {
                VpcState::Compliant { flow_log_id } => Some(flow_log_id.clone()),
                _ => None,
            })
            .collect()
    }
}

#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct CoverageTotals {
    pub regions: usize,
    pub failed_regions: usize,
    /// Regions closed by an explicit deny, skipped (each region's `skipped` says why).
    pub skipped_regions: usize,
    pub vpcs: usize,
    pub compliant: usize,
    pub non_compliant: usize,
    pub missing: usize,
    pub shared: usize,
}

/// Coverage of every selected region: the one judgement `status` and `verify` share.
pub async fn coverage(ctx: &Ctx, desired: &DesiredFlowLog, regions: &[String], scope: &ScopeArgs) -> Result<(Vec<RegionCoverage>, CoverageTotals)> {
    let account = ctx.identity().await?.account.clone();
    let observed = observe_regions(ctx, regions, scope).await;
    check_named_vpcs(scope, &observed)?;
    let mut totals = CoverageTotals { regions: regions.len(), ..CoverageTotals::default() };
    let mut out = Vec::new();
    for (region, result) in observed {
        let entry = match result {
            Ok(state) => {
                let plan = plan_region(&region, &account, desired, &state.vpcs, &state.flow_logs, ReplaceScope::Nothing);
                let count = |pred: fn(&VpcState) -> bool| plan.coverage.iter().filter(|c| pred(&c.state)).count();
                totals.skipped_regions += usize::from(state.denied.is_some());
                RegionCoverage {
                    region,
                    oldest_flow_log_created: plan.oldest_to_bucket,
                    error: None,
                    skipped: state.denied.clone(),
                    vpcs: plan.coverage.len(),
                    compliant: count(|s| matches!(s, VpcState::Compliant { .. })),
                    non_compliant: count(|s| matches!(s, VpcState::NonCompliant { .. })),
                    missing: count(|s| matches!(s, VpcState::Missing)),
                    shared: count(|s| matches!(s, VpcState::Shared { .. })),
                    to_bucket: flow_logs_to_bucket(desired, &account, &state.vpcs, &state.flow_logs).into_iter().cloned().collect(),
                    vpc_names: state.vpcs.iter().filter_map(|v| Some((v.id.clone(), v.name.clone()?))).collect(),
                    coverage: plan.coverage,
                }
            }
            Err(e) => {
                totals.failed_regions += 1;
                RegionCoverage {
                    region,
                    oldest_flow_log_created: None,
                    error: Some(error_text(&e)),
                    skipped: None,
                    vpcs: 0,
                    compliant: 0,
                    non_compliant: 0,
                    missing: 0,
                    shared: 0,
                    coverage: Vec::new(),
                    to_bucket: Vec::new(),
                    vpc_names: BTreeMap::new(),
                }
            }
        };
        totals.vpcs += entry.vpcs;
        totals.compliant += entry.compliant;
        totals.non_compliant += entry.non_compliant;
        totals.missing += entry.missing;
        totals.shared += entry.shared;
        out.push(entry);
    }
    Ok((out, totals))
}
