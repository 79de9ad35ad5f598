//! `org status` and `org verify`: per account, the stack instance, the operator role, flow-log
//! coverage and delivery to the central bucket. Read-only.

use std::collections::BTreeMap;

use futures::stream::{self, StreamExt};

use super::discover::{OrgView, flow_log_accounts, log_archive_ctx, observe_org, refuse_named_vpcs, stacksets_client};
use super::flowlogs::{AccountCoverage, account_coverage};
use super::regions::{check_requested, requested};
use super::report::{AccountEntry, OrgReport};
use super::watch::{read_watch_set, watch_check};
use crate::apply::ApplyMode;
use crate::aws::s3;
use crate::aws::stacksets::{self, Caller, StackInstance};
use crate::cli::{FlowLogsStatusArgs, OrgStatusArgs, desired_flow_log};
use crate::context::Ctx;
use crate::core::aws_verdict::{AwsVerdict, DeliveryPath, Simulation, compare, delivery_object_arn, judged};
use crate::core::bucket::BucketExistence;
use crate::core::names::{BucketName, LogPrefix};
use crate::core::org_checks::{self, InstanceState};
use crate::core::org_grant::{self, CentralBucket};
use crate::core::org_regions;
use crate::core::report::{Change, ChangeStatus, Check, CheckStatus, worst};
use crate::core::role_policy::{bucket_policy_grants, can_read_with};
use crate::error::Result;
use crate::observe::regions::SkippedRegion;
use crate::observe::role::read_role_policies_if_exists;
use crate::observe::simulation::{ReadQuestion, Simulate, aws_verdict};

/// `org status` and `org verify`: per account, the stack instance, the operator role, flow-log
/// coverage and delivery to the central bucket; with `vendor` (org verify), the vendor role's
/// reads of the central bucket too, asking AWS's policy simulator unless told not to.
pub async fn inspect(ctx: &Ctx, args: &OrgStatusArgs, command: &'static str, vendor: Option<Simulate>) -> Result<OrgReport> {
    desired_flow_log(&args.spec, "aws")?;
    refuse_named_vpcs(&args.scope)?;
    let view = observe_org(ctx, &args.target).await?;
    let cfn = stacksets_client(ctx, &view.stack_set_region);
    let set = stacksets::describe_stack_set(&cfn, &args.target.stack_set_name, view.caller).await?;
    let instances = if set.is_some() { stacksets::list_stack_instances(&cfn, &args.target.stack_set_name, view.caller).await? } else { Vec::new() };
    let (log_archive, la) = log_archive_ctx(ctx, &args.target, ApplyMode::PLAN_ONLY).await?;
    let policy = match s3::bucket_existence(&la.s3(&la.home_region), &args.spec.bucket, &log_archive).await? {
        BucketExistence::Owned { region } => Some((region.clone(), s3::read_policy(&la.s3(&region), &args.spec.bucket).await?)),
        _ => None,
    };
    let management_stack = management_stack_check(ctx, args, &view).await?;
    let watch_set = read_watch_set(&cfn, &view, args).await?;

    let mut report = OrgReport::new(command, &view, &args.target, &args.spec.bucket, &log_archive, false);
    report.accounts = view.scope.accounts.iter().map(|a| AccountEntry::new(a, &instances, &view.stack_set_region)).collect();
    if set.is_none() {
        report.changes.push(Change::new("stack-set", &args.target.stack_set_name, ChangeStatus::Planned, "not deployed: org onboard creates it"));
    }
    if policy.is_none() {
        report.changes.push(Change::new("bucket", args.spec.bucket.as_str(), ChangeStatus::Planned, format!("not in account {log_archive}")));
    }
    let coverage = read_coverage(ctx, args, &view).await;
    let read: Vec<_> = coverage.values().filter_map(|c| c.as_ref().ok()?.regions.clone()).collect();
    check_requested(ctx, &args.scope, &read).await?;
    let in_play = requested(&args.scope);
    let scoped: Vec<String> = view.scope.in_scope().iter().map(|a| a.id.clone()).collect();
    let spec = &args.spec;
    let delivered =
        delivered_accounts(&la, &spec.bucket, spec.prefix.as_ref(), spec.hive_partitions, policy.as_ref().map(|(r, _)| r.as_str()), &scoped).await;
    let central = CentralBucket {
        partition: &view.identity.partition,
        bucket: &spec.bucket,
        prefix: spec.prefix.as_ref(),
        hive_partitions: spec.hive_partitions,
    };
    let policy_text = policy.as_ref().and_then(|(_, p)| p.as_deref());
    let mut drift = !report.changes.is_empty();
    for entry in report.accounts.iter_mut().filter(|e| e.in_scope()) {
        let id = entry.account.id.clone();
        let unread = matches!(coverage.get(&id), Some(Err(_)));
        let mut checks = vec![
            if entry.is_management() { management_stack.clone() } else { instance_check(entry.stack_instance.as_ref()) },
            flow_log_check(coverage.get(&id), &in_play),
            if org_grant::may_deliver(policy_text, &central, &view.tree.org_id, &id) {
                Check::pass("delivery-policy", "the central bucket's policy lets the account deliver")
            } else {
                Check::fail("delivery-policy", "the central bucket's policy does not name the account", "re-run flowgate org onboard")
            },
            delivery_check(&delivered, &id),
        ];
        // The watch StackSet never reaches the management account (service-managed).
        if !entry.is_management() {
            checks.extend(watch_check(&watch_set, &id, &in_play, args.watch));
        }
        // What could not be read is a failure of this run; every other failing check is
        // something a re-run of org onboard changes (a role, a flow log, a policy statement).
        report.unread |= unread;
        drift |= checks.iter().filter(|c| c.status == CheckStatus::Fail).any(|c| !(unread && c.name == "flow-logs"));
        entry.result = Some(worst(&checks));
        entry.checks = checks;
        entry.skipped_regions = region_skips(coverage.get(&id), &in_play);
    }
    if let Some(simulate) = vendor {
        let role = set.as_ref().and_then(|s| s.parameters.get("RoleName")).map(String::as_str);
        let reads = CentralReads { la: &la, account: &log_archive, partition: &view.identity.partition, policy: policy_text };
        (report.storage_access, report.aws_verdict) = storage_access(&reads, role, args, simulate).await.unzip();
    }
    let mut all: Vec<Check> = report.accounts.iter().flat_map(|a| a.checks.iter().cloned()).collect();
    all.extend(report.storage_access.clone());
    let mut status = worst(&all);
    if !report.changes.is_empty() {
        status = CheckStatus::Fail;
    }
    report.status = Some(status);
    (report.would_change, report.drift_exit_code) = (Some(drift), args.exit_code);
    Ok(report)
}

/// The central bucket as the log-archive account holds it.
struct CentralReads<'a> {
    /// Acting in the bucket's account.
    la: &'a Ctx,
    account: &'a str,
    partition: &'a str,
    policy: Option<&'a str>,
}

/// org verify: what the vendor role in the central bucket's account (the one role
/// `--storage-access` lets read it) may read of the bucket, by flowgate's evaluator (the role's
/// policies and the bucket's) and by AWS's policy simulator; `None` when that account has no
/// vendor role. A role that cannot be read is a warning: the other checks stand.
async fn storage_access(central: &CentralReads<'_>, role: Option<&str>, args: &OrgStatusArgs, simulate: Simulate) -> Option<(Check, AwsVerdict)> {
    let role = role?;
    let read = match read_role_policies_if_exists(central.la, role).await {
        Ok(read) => read?,
        Err(e) => {
            let detail = format!("the vendor role {role} in account {} could not be read: {e}", central.account);
            let check = Check::warn("vendor-storage-access", detail, e.hint().unwrap_or("check the log-archive role's IAM reads"));
            return Some((check, compare(&[], &Simulation::NotAsked("the role could not be read".to_owned()))));
        }
    };
    let (bucket, partition) = (&args.spec.bucket, central.partition);
    let grants = bucket_policy_grants(central.policy, bucket, partition, central.account, &read.arn);
    let check = org_checks::storage_access_check(role, central.account, &can_read_with(&read.policies, bucket, partition, &grants));
    let path = DeliveryPath {
        prefix: args.spec.prefix.as_ref(),
        hive: args.spec.hive_partitions,
        account: central.account,
        region: &central.la.home_region,
    };
    let object_arn = delivery_object_arn(bucket, partition, &path);
    let question =
        ReadQuestion { role_arn: &read.arn, policies: &read.policies, bucket, partition, object_arn: &object_arn, permissions: "org-verify" };
    let verdict = aws_verdict(&central.la.iam(), &question, simulate).await;
    Some((judged(check, &verdict), verdict))
}

/// The management account's stack (a StackSet never reaches that account).
async fn management_stack_check(ctx: &Ctx, args: &OrgStatusArgs, view: &OrgView) -> Result<Check> {
    Ok(match (view.scope.management(), view.caller) {
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
    })
}

/// Each account's flow-log coverage, read through its role, `--account-concurrency` at a time.
async fn read_coverage(ctx: &Ctx, args: &OrgStatusArgs, view: &OrgView) -> BTreeMap<String, Result<AccountCoverage>> {
    let flow_accounts = flow_log_accounts(view);
    let status_args = FlowLogsStatusArgs { spec: args.spec.clone(), scope: args.scope.clone(), exit_code: false };
    let pending: Vec<_> = flow_accounts.iter().map(|(account, role)| account_coverage(ctx, account, role, &status_args)).collect();
    let coverage: Vec<(String, Result<AccountCoverage>)> =
        stream::iter(pending).buffered(usize::from(args.target.account_concurrency)).collect().await;
    coverage.into_iter().collect()
}

/// The account's flow-log coverage; `requested`: `--regions` (a requested region the account
/// has not enabled is skipped there, and the check says so).
fn flow_log_check(coverage: Option<&Result<AccountCoverage>>, requested: &[String]) -> Check {
    match coverage {
        Some(Ok(covered)) => coverage_check(covered, requested),
        Some(Err(e)) => Check::fail("flow-logs", format!("could not be read: {e}"), e.hint().unwrap_or("check the account's operator role")),
        None => Check::warn("flow-logs", "not managed by this caller", "run flowgate onboard in the management account"),
    }
}

fn coverage_check(coverage: &AccountCoverage, requested: &[String]) -> Check {
    let Some(status) = &coverage.status else {
        return Check::pass("flow-logs", format!("none of the requested regions is enabled in the account ({})", requested.join(", ")));
    };
    let skipped = not_enabled(coverage, requested);
    let t = &status.totals;
    let mut detail =
        format!("{} VPC(s) in {} region(s): {} compliant, {} non-compliant, {} missing", t.vpcs, t.regions, t.compliant, t.non_compliant, t.missing);
    if !skipped.is_empty() {
        detail.push_str(&format!("; skipped, not enabled in the account: {}", skipped.join(", ")));
    }
    // A region the organization's policy closes was not read: a warning, as `verify` judges it.
    let denied: Vec<&str> = status.regions.iter().filter(|r| r.skipped.is_some()).map(|r| r.region.as_str()).collect();
    if !denied.is_empty() {
        detail.push_str(&format!("; not read, denied by the organization's policy: {}", denied.join(", ")));
    }
    match status.status {
        CheckStatus::Pass if denied.is_empty() => Check::pass("flow-logs", detail),
        CheckStatus::Pass => {
            Check::warn("flow-logs", detail, "leave those regions out with --regions, or ask the organization's administrator to open them")
        }
        _ => Check::fail("flow-logs", detail, "re-run flowgate org onboard (add --replace for non-compliant flow logs)"),
    }
}

/// The requested regions the account has not enabled (none known when its regions were not read).
fn not_enabled(coverage: &AccountCoverage, requested: &[String]) -> Vec<String> {
    coverage.regions.as_ref().map(|r| org_regions::skipped_regions(requested, &r.enabled)).unwrap_or_default()
}

/// The requested regions the account was not checked in, and why: those it has not enabled, and
/// those an organization policy closes to it (which `flowlogs status` skips and says).
fn region_skips(coverage: Option<&Result<AccountCoverage>>, requested: &[String]) -> Vec<SkippedRegion> {
    let Some(Ok(coverage)) = coverage else { return Vec::new() };
    let reason = "not enabled in the account (an opt-in region it has not enabled)";
    let not_enabled = not_enabled(coverage, requested).into_iter().map(|region| SkippedRegion { region, reason: reason.to_owned() });
    let denied =
        coverage.status.iter().flat_map(|s| &s.regions).filter_map(|r| Some(SkippedRegion { region: r.region.clone(), reason: r.skipped.clone()? }));
    not_enabled.chain(denied).collect()
}

fn delivery_check(delivered: &Result<Vec<String>>, account: &str) -> Check {
    match delivered {
        Ok(accounts) if accounts.iter().any(|a| a == account) => {
            Check::pass("delivery", "flow-log objects from the account are in the central bucket")
        }
        Ok(_) => Check::warn(
            "delivery",
            "no flow-log object from the account yet",
            "objects arrive about 10 minutes after traffic; a VPC without traffic delivers nothing",
        ),
        Err(e) => Check::warn("delivery", format!("the central bucket could not be listed: {e}"), "check the log-archive role's s3:ListBucket"),
    }
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
