//! `flowgate flowlogs enable | status | disable` against the emulator. Each test has its own
//! emulator: the account's VPCs and flow logs are the state under test.

use aws_sdk_ec2::types::{FlowLogsResourceType, LogDestinationType, ResourceType, Tag, TagSpecification, TrafficType};
use serde_json::Value;

use crate::support::{Env, FaultKind, FaultRule, block_on, json_stdout, stderr, stdout};

const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];
const BUCKET: &str = "flowgate-it-flow-logs";

/// An emulator with the flow-log bucket and two extra VPCs per region (besides the default VPC).
fn account_with_vpcs() -> (Env, Vec<(String, String)>) {
    let env = Env::isolated();
    let out = env.flowgate().args(["bucket", "create", "--bucket", BUCKET, "--yes", "-q"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let mut vpcs = Vec::new();
    for region in REGIONS {
        let ec2 = env.ec2(region);
        for cidr in ["10.1.0.0/16", "10.2.0.0/16"] {
            let vpc = block_on(ec2.create_vpc().cidr_block(cidr).send()).unwrap();
            vpcs.push((region.to_owned(), vpc.vpc().unwrap().vpc_id().unwrap().to_owned()));
        }
    }
    env.proxy.reset_log();
    (env, vpcs)
}

fn flow_logs(env: &Env, region: &str) -> Vec<aws_sdk_ec2::types::FlowLog> {
    block_on(env.ec2(region).describe_flow_logs().send()).unwrap().flow_logs().to_vec()
}

fn regions_arg() -> String {
    REGIONS.join(",")
}

fn enable(env: &Env, extra: &[&str]) -> std::process::Output {
    env.flowgate().args(["flowlogs", "enable", "--bucket", BUCKET, "--regions", &regions_arg(), "--output", "json"]).args(extra).output().unwrap()
}

fn changes_with<'a>(report: &'a Value, action: &str, status: &str) -> Vec<&'a Value> {
    report["changes"].as_array().unwrap().iter().filter(|c| c["action"] == action && c["status"] == status).collect()
}

#[test]
fn enables_every_vpc_in_every_region_then_changes_nothing() {
    let (env, vpcs) = account_with_vpcs();
    let output = enable(&env, &["--yes", "--tag", "team=netsec"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report = json_stdout(&output);
    // Three regions with a default VPC and two more each.
    assert_eq!(changes_with(&report, "create-flow-log", "applied").len(), 9, "{report:#}");
    assert_eq!(report["summary"]["failed"], 0);

    for region in REGIONS {
        let logs = flow_logs(&env, region);
        assert_eq!(logs.len(), 3, "{region}");
        for log in &logs {
            assert_eq!(log.log_destination(), Some(format!("arn:aws:s3:::{BUCKET}").as_str()));
            assert_eq!(
                log.log_format(),
                Some(
                    "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${tcp-flags}"
                )
            );
            assert_eq!(log.traffic_type(), Some(&TrafficType::All));
            assert_eq!(log.max_aggregation_interval(), Some(600));
            let tags: Vec<(&str, &str)> = log.tags().iter().map(|t| (t.key().unwrap(), t.value().unwrap())).collect();
            assert!(tags.contains(&("flowgate:managed", "true")) && tags.contains(&("team", "netsec")), "{tags:?}");
        }
    }
    for (region, vpc) in &vpcs {
        assert!(flow_logs(&env, region).iter().any(|l| l.resource_id() == Some(vpc.as_str())), "{vpc}");
    }
    // The creates were batched: one CreateFlowLogs per region.
    assert_eq!(env.proxy.mutating_calls().iter().filter(|c| c.ends_with("CreateFlowLogs")).count(), 3);

    let status = env.flowgate().args(["flowlogs", "status", "--bucket", BUCKET, "--regions", &regions_arg(), "--output", "json"]).output().unwrap();
    assert!(status.status.success(), "{}", stdout(&status));
    let status = json_stdout(&status);
    assert_eq!(status["status"], "pass");
    assert_eq!(status["totals"]["compliant"], 9);

    env.proxy.reset_log();
    let again = enable(&env, &["--yes", "--tag", "team=netsec"]);
    assert!(again.status.success());
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new(), "second run must not mutate");
    let report = json_stdout(&again);
    assert_eq!(report["summary"]["planned"], 0);
    assert_eq!(changes_with(&report, "keep-flow-log", "skipped").len(), 9);
}

#[test]
fn dry_run_and_status_make_no_mutating_call() {
    let (env, _) = account_with_vpcs();
    let dry = enable(&env, &["--dry-run"]);
    assert!(dry.status.success(), "{}", stderr(&dry));
    assert_eq!(changes_with(&json_stdout(&dry), "create-flow-log", "planned").len(), 9);
    let status = env.flowgate().args(["flowlogs", "status", "--bucket", BUCKET, "--regions", &regions_arg()]).output().unwrap();
    assert_eq!(status.status.code(), Some(1), "missing flow logs fail the status");
    assert!(stdout(&status).contains("missing: no flow log to the bucket"), "{}", stdout(&status));
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new());
    assert!(REGIONS.iter().all(|r| flow_logs(&env, r).is_empty()));
}

fn status_exit_code(env: &Env) -> std::process::Output {
    env.flowgate()
        .args(["flowlogs", "status", "--bucket", BUCKET, "--regions", &regions_arg(), "--exit-code", "--output", "json", "--max-attempts", "1"])
        .output()
        .unwrap()
}

/// A scheduled check: drift (missing flow logs) is 4, converged is 0, an unreadable region is
/// still 1 (a failure outranks drift); the JSON is one document every time.
#[test]
fn status_exit_code_tells_drift_from_converged_and_from_failure() {
    let (env, _) = account_with_vpcs();
    let drift = status_exit_code(&env);
    assert_eq!(drift.status.code(), Some(4), "{}", stderr(&drift));
    let report = json_stdout(&drift);
    assert_eq!((report["would_change"].as_bool(), report["totals"]["missing"].as_u64()), (Some(true), Some(9)), "{report:#}");

    env.proxy.add_fault(FaultRule { service: Some("ec2".into()), region: Some("eu-west-1".into()), fraction: 1.0, kind: FaultKind::ServerError });
    let failed = status_exit_code(&env);
    assert_eq!(failed.status.code(), Some(1), "an unreadable region outranks drift: {}", stderr(&failed));
    assert_eq!(json_stdout(&failed)["would_change"], true);
    env.proxy.clear_faults();

    let applied = enable(&env, &["--yes"]);
    assert!(applied.status.success(), "{}", stderr(&applied));
    let converged = status_exit_code(&env);
    assert_eq!(converged.status.code(), Some(0), "{}", stderr(&converged));
    assert_eq!(json_stdout(&converged)["would_change"], false);
    assert_eq!(env.proxy.mutating_calls().iter().filter(|c| !c.ends_with("CreateFlowLogs")).count(), 0, "status changes nothing");
}

/// A flow log to the bucket in the default format (no tcp-flags), made through the SDK with `tags`.
fn hand_made_flow_log(env: &Env, region: &str, vpc: &str, tags: &[(&str, &str)]) -> String {
    let mut request = env
        .ec2(region)
        .create_flow_logs()
        .resource_ids(vpc)
        .resource_type(FlowLogsResourceType::Vpc)
        .traffic_type(TrafficType::All)
        .log_destination_type(LogDestinationType::S3)
        .log_destination(format!("arn:aws:s3:::{BUCKET}"));
    if !tags.is_empty() {
        let mut spec = TagSpecification::builder().resource_type(ResourceType::VpcFlowLog);
        for (key, value) in tags {
            spec = spec.tags(Tag::builder().key(*key).value(*value).build());
        }
        request = request.tag_specifications(spec.build());
    }
    block_on(request.send()).unwrap().flow_log_ids()[0].clone()
}

fn tags_of(log: &aws_sdk_ec2::types::FlowLog) -> Vec<(String, String)> {
    log.tags().iter().map(|t| (t.key().unwrap_or_default().to_owned(), t.value().unwrap_or_default().to_owned())).collect()
}

fn on_vpc(env: &Env, region: &str, vpc: &str) -> Vec<aws_sdk_ec2::types::FlowLog> {
    flow_logs(env, region).into_iter().filter(|l| l.resource_id() == Some(vpc)).collect()
}

#[test]
fn non_compliant_flow_log_is_replaced_only_with_replace_and_keeps_its_tags() {
    let (env, vpcs) = account_with_vpcs();
    let (region, vpc) = &vpcs[0];
    // flowgate's flow log (tagged flowgate:managed=true, and team=x by its user) in the default
    // format: no tcp-flags.
    let old_id = hand_made_flow_log(&env, region, vpc, &[("flowgate:managed", "true"), ("team", "x")]);

    let refused = enable(&env, &["--yes"]);
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    let report = json_stdout(&refused);
    let blocked = changes_with(&report, "replace-flow-log", "blocked");
    assert_eq!(blocked.len(), 1);
    assert_eq!(blocked[0]["resource"], vpc.as_str());
    let detail = blocked[0]["detail"].as_str().unwrap();
    assert!(detail.contains("format lacks tcp-flags") && detail.contains(&format!("re-run with --replace to replace {old_id}")), "{detail}");
    assert!(flow_logs(&env, region).iter().any(|l| l.flow_log_id() == Some(old_id.as_str())), "kept without --replace");
    // The other VPCs were still covered.
    assert_eq!(changes_with(&report, "create-flow-log", "applied").len(), 8);

    env.proxy.reset_log();
    let replaced = enable(&env, &["--yes", "--replace"]);
    assert!(replaced.status.success(), "{} {}", stderr(&replaced), stdout(&replaced));
    let report = json_stdout(&replaced);
    let done = changes_with(&report, "replace-flow-log", "applied");
    assert_eq!(done.len(), 1);
    assert!(done[0]["detail"].as_str().unwrap().contains("the new flow log keeps the tags team=x"), "{done:?}");
    let logs = on_vpc(&env, region, vpc);
    assert_eq!(logs.len(), 1);
    assert_ne!(logs[0].flow_log_id(), Some(old_id.as_str()));
    assert!(logs[0].log_format().unwrap().contains("${tcp-flags}"));
    let tags = tags_of(&logs[0]);
    assert!(tags.contains(&("team".into(), "x".into())) && tags.contains(&("flowgate:managed".into(), "true".into())), "{tags:?}");
    // flowgate tries to create the new flow log before deleting the old one. The emulator
    // refuses a second flow log to the same destination (FlowLogAlreadyExists), so here it falls
    // back to delete-then-create and says that coverage had a short gap.
    let ec2_mutations: Vec<String> = env.proxy.mutating_calls().into_iter().filter(|c| c.starts_with("ec2:")).collect();
    assert_eq!(ec2_mutations, ["ec2:CreateFlowLogs", "ec2:DeleteFlowLogs", "ec2:CreateFlowLogs"]);
    assert!(done[0]["detail"].as_str().unwrap().contains("short gap"), "{done:?}");
}

/// Another team's flow log to the same bucket (tagged owner=netops, not flowgate:managed=true):
/// `--replace` names it and leaves it; only `--replace-unmanaged` replaces it.
#[test]
fn another_teams_flow_log_survives_replace_and_goes_only_with_replace_unmanaged() {
    let (env, vpcs) = account_with_vpcs();
    let (region, vpc) = &vpcs[1];
    let theirs = hand_made_flow_log(&env, region, vpc, &[("owner", "netops")]);

    env.proxy.reset_log();
    let replaced = enable(&env, &["--yes", "--replace"]);
    assert_eq!(replaced.status.code(), Some(1), "left alone: {}", stderr(&replaced));
    let report = json_stdout(&replaced);
    let blocked = changes_with(&report, "replace-flow-log", "blocked");
    assert_eq!(blocked.len(), 1, "{report:#}");
    let detail = blocked[0]["detail"].as_str().unwrap();
    assert!(detail.contains(&format!("{theirs} (NOT flowgate's: no flowgate:managed=true tag, tagged owner=netops)")), "{detail}");
    assert!(detail.contains("re-run with --replace-unmanaged to replace it"), "{detail}");
    assert!(env.proxy.mutating_calls().iter().all(|c| c != "ec2:DeleteFlowLogs"), "{:?}", env.proxy.mutating_calls());
    assert_eq!(on_vpc(&env, region, vpc).iter().filter_map(|l| l.flow_log_id()).collect::<Vec<_>>(), [theirs.as_str()], "it survives");

    let dry = enable(&env, &["--dry-run", "--replace-unmanaged"]);
    let report = json_stdout(&dry);
    let planned = changes_with(&report, "replace-flow-log", "planned");
    assert_eq!(planned.len(), 1, "{report:#}");
    assert!(planned[0]["detail"].as_str().unwrap().contains(&format!("then delete {theirs} (NOT flowgate's")), "{planned:?}");

    let unmanaged = enable(&env, &["--yes", "--replace-unmanaged"]);
    assert!(unmanaged.status.success(), "{} {}", stderr(&unmanaged), stdout(&unmanaged));
    let logs = on_vpc(&env, region, vpc);
    assert_eq!(logs.len(), 1);
    assert_ne!(logs[0].flow_log_id(), Some(theirs.as_str()), "replaced");
    let tags = tags_of(&logs[0]);
    assert!(tags.contains(&("flowgate:managed".into(), "true".into())), "{tags:?}");
    assert!(!tags.iter().any(|(k, _)| k == "owner"), "another team's tag is not carried to flowgate's flow log: {tags:?}");
}

/// A custom `--format` with the same fields in another order: compliant (the objects' header
/// names the fields), yet the plan says so and `--replace` applies the order.
#[test]
fn a_reordered_format_is_said_and_applied_with_replace() {
    let (env, vpcs) = account_with_vpcs();
    let (region, vpc) = &vpcs[0];
    let one = ["--regions", region.as_str(), "--vpcs", vpc.as_str(), "--output", "json"];
    let first = env.flowgate().args(["flowlogs", "enable", "--bucket", BUCKET, "--yes"]).args(one).output().unwrap();
    assert!(first.status.success(), "{}", stderr(&first));
    let reordered = "version,account-id,interface-id,dstaddr,srcaddr,srcport,dstport,protocol,packets,bytes,start,end,action,log-status,tcp-flags";

    env.proxy.reset_log();
    let asked = env.flowgate().args(["flowlogs", "enable", "--bucket", BUCKET, "--format", reordered, "--yes"]).args(one).output().unwrap();
    assert!(asked.status.success(), "compliant, nothing blocked: {}", stderr(&asked));
    let keep = json_stdout(&asked);
    let keep = changes_with(&keep, "keep-flow-log", "skipped");
    assert!(keep[0]["detail"].as_str().unwrap().contains("same fields, other order: --replace applies the order"), "{keep:?}");
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new());

    let replaced =
        env.flowgate().args(["flowlogs", "enable", "--bucket", BUCKET, "--format", reordered, "--replace", "--yes"]).args(one).output().unwrap();
    assert!(replaced.status.success(), "{}", stderr(&replaced));
    let logs = on_vpc(&env, region, vpc);
    assert_eq!(logs.len(), 1);
    let wanted: Vec<String> = reordered.split(',').map(|f| format!("${{{f}}}")).collect();
    assert_eq!(logs[0].log_format(), Some(wanted.join(" ").as_str()));
}

#[test]
fn other_destinations_are_untouched_and_disable_removes_only_flowgates() {
    let (env, vpcs) = account_with_vpcs();
    let (region, vpc) = &vpcs[1];
    let cloudwatch = block_on(
        env.ec2(region)
            .create_flow_logs()
            .resource_ids(vpc)
            .resource_type(FlowLogsResourceType::Vpc)
            .traffic_type(TrafficType::Reject)
            .log_destination_type(LogDestinationType::CloudWatchLogs)
            .log_group_name("other-team-flow-logs")
            .deliver_logs_permission_arn("arn:aws:iam::123456789012:role/flow-logs")
            .send(),
    )
    .unwrap();
    let cloudwatch_id = cloudwatch.flow_log_ids()[0].clone();

    let output = enable(&env, &["--yes"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report = json_stdout(&output);
    let other = changes_with(&report, "other-flow-log", "skipped");
    assert_eq!(other.len(), 1);
    assert!(other[0]["detail"].as_str().unwrap().contains(&cloudwatch_id));
    assert_eq!(flow_logs(&env, region).iter().filter(|l| l.resource_id() == Some(vpc.as_str())).count(), 2);

    // Disable in one region only first: the others keep theirs.
    let one = env.flowgate().args(["flowlogs", "disable", "--regions", region, "--yes", "--output", "json"]).output().unwrap();
    assert!(one.status.success(), "{}", stderr(&one));
    assert_eq!(changes_with(&json_stdout(&one), "delete-flow-log", "applied").len(), 3);
    let remaining = flow_logs(&env, region);
    assert_eq!(remaining.len(), 1);
    assert_eq!(remaining[0].flow_log_id(), Some(cloudwatch_id.as_str()));
    let elsewhere: usize = REGIONS.iter().filter(|r| *r != region).map(|r| flow_logs(&env, r).len()).sum();
    assert_eq!(elsewhere, 6);

    let all = env.flowgate().args(["flowlogs", "disable", "--regions", &regions_arg(), "--yes"]).output().unwrap();
    assert!(all.status.success(), "{}", stderr(&all));
    assert_eq!(REGIONS.iter().map(|r| flow_logs(&env, r).len()).sum::<usize>(), 1, "only the CloudWatch flow log survives");

    env.proxy.reset_log();
    let again = env.flowgate().args(["flowlogs", "disable", "--regions", &regions_arg(), "--yes"]).output().unwrap();
    assert!(again.status.success());
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new());
}

#[test]
fn a_failing_region_is_reported_while_the_others_apply() {
    let (env, _) = account_with_vpcs();
    env.proxy.add_fault(FaultRule { service: Some("ec2".into()), region: Some("eu-west-1".into()), fraction: 1.0, kind: FaultKind::ServerError });
    let output = enable(&env, &["--yes", "--max-attempts", "2"]);
    assert_eq!(output.status.code(), Some(3), "partial success: {}", stderr(&output));
    let report = json_stdout(&output);
    let failed = changes_with(&report, "read-region", "failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["region"], "eu-west-1");
    assert!(failed[0]["error"].as_str().unwrap().contains("InternalError"), "{failed:?}");
    assert_eq!(changes_with(&report, "create-flow-log", "applied").len(), 6);

    // Without the fault, a re-run converges: only eu-west-1 is left to do.
    env.proxy.clear_faults();
    let again = enable(&env, &["--yes"]);
    assert!(again.status.success(), "{}", stderr(&again));
    let report = json_stdout(&again);
    let created = changes_with(&report, "create-flow-log", "applied");
    assert_eq!(created.len(), 3);
    assert!(created.iter().all(|c| c["region"] == "eu-west-1"));
}

#[test]
fn region_and_vpc_selection_is_validated() {
    let (env, vpcs) = account_with_vpcs();
    let unknown = env.flowgate().args(["flowlogs", "enable", "--bucket", BUCKET, "--regions", "xx-north-9", "--yes"]).output().unwrap();
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("region xx-north-9 is unknown"), "{}", stderr(&unknown));
    let malformed = env.flowgate().args(["flowlogs", "enable", "--bucket", BUCKET, "--vpcs", "vpc-xyz"]).output().unwrap();
    assert_eq!(malformed.status.code(), Some(2));
    let absent = env
        .flowgate()
        .args(["flowlogs", "enable", "--bucket", BUCKET, "--regions", "us-east-1", "--vpcs", "vpc-0123456789abcdef0", "--yes"])
        .output()
        .unwrap();
    assert_eq!(absent.status.code(), Some(2));
    assert!(stderr(&absent).contains("vpc-0123456789abcdef0 not found"), "{}", stderr(&absent));
    let bad_format = env.flowgate().args(["flowlogs", "enable", "--bucket", BUCKET, "--format", "version,srcaddr"]).output().unwrap();
    assert_eq!(bad_format.status.code(), Some(2));
    assert!(stderr(&bad_format).contains("lacks the required field"), "{}", stderr(&bad_format));
    let no_bucket =
        env.flowgate().args(["flowlogs", "enable", "--bucket", "no-such-bucket-here", "--regions", "us-east-1", "--yes"]).output().unwrap();
    assert_eq!(no_bucket.status.code(), Some(1));
    assert!(stderr(&no_bucket).contains("flowgate bucket create"), "{}", stderr(&no_bucket));
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new());

    // --vpcs narrows the work to the named VPCs.
    let (region, vpc) = &vpcs[0];
    let one = env.flowgate().args(["flowlogs", "enable", "--bucket", BUCKET, "--vpcs", vpc, "--yes", "--output", "json"]).output().unwrap();
    assert!(one.status.success(), "{}", stderr(&one));
    let created = changes_with(&json_stdout(&one), "create-flow-log", "applied").len();
    assert_eq!(created, 1);
    assert_eq!(flow_logs(&env, region).len(), 1);
}

const OWNER: &str = "999988887777";

/// DescribeVpcs's answer with `vpc`'s OwnerId set to `owner` (ownerId is the first element of
/// each VPC's item, before its vpcId).
fn with_vpc_owner(body: &str, vpc: &str, owner: &str) -> String {
    let Some(at) = body.find(&format!("<vpcId>{vpc}</vpcId>")) else { return body.to_owned() };
    let Some(start) = body[..at].rfind("<ownerId>") else { return body.to_owned() };
    let value = start + "<ownerId>".len();
    let Some(len) = body[value..].find("</ownerId>") else { return body.to_owned() };
    format!("{}{owner}{}", &body[..value], &body[value + len..])
}

/// AWS behaviour: a VPC shared with this account through AWS RAM is listed by DescribeVpcs with
/// its owner's OwnerId, and only the owner can create flow logs for it ("VPC owners can create
/// flow log subscriptions for the VPC"; participants only for the network interfaces they own:
/// VPC User Guide, "Share your VPC with other accounts",
/// https://docs.aws.amazon.com/vpc/latest/userguide/vpc-sharing.html). moto always reports the
/// caller as the owner, so the proxy rewrites one VPC's OwnerId on its way back.
#[test]
fn a_vpc_shared_from_another_account_is_reported_never_planned_never_missing() {
    let (env, vpcs) = account_with_vpcs();
    let (region, shared) = vpcs[0].clone();
    let vpc = shared.clone();
    env.proxy.rewrite_response("DescribeVpcs", move |body| with_vpc_owner(body, &vpc, OWNER));

    let output = enable(&env, &["--yes"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = json_stdout(&output);
    let reported = changes_with(&report, "shared-vpc", "skipped");
    assert_eq!(reported.len(), 1, "{report:#}");
    assert_eq!(reported[0]["resource"], shared.as_str());
    assert_eq!(reported[0]["detail"], format!("shared from {OWNER}: its owner enables flow logs"));
    assert_eq!(changes_with(&report, "create-flow-log", "applied").len(), 8, "every other VPC is covered");
    assert!(flow_logs(&env, &region).iter().all(|l| l.resource_id() != Some(shared.as_str())), "no flow log on the shared VPC");

    let status = env.flowgate().args(["flowlogs", "status", "--bucket", BUCKET, "--regions", &regions_arg(), "--output", "json"]).output().unwrap();
    assert_eq!(status.status.code(), Some(0), "the shared VPC is never missing: {}", stdout(&status));
    let status = json_stdout(&status);
    assert_eq!((status["totals"]["shared"].as_u64(), status["totals"]["missing"].as_u64()), (Some(1), Some(0)), "{status:#}");
    let text = env.flowgate().args(["flowlogs", "status", "--bucket", BUCKET, "--regions", &region]).output().unwrap();
    assert!(stdout(&text).contains(&format!("{shared}  shared from {OWNER}: its owner enables flow logs")), "{}", stdout(&text));

    // verify judges coverage the same way: the shared VPC is no missing one.
    let verify = env.flowgate().args(["verify", "--bucket", BUCKET, "--regions", &region, "--output", "json"]).output().unwrap();
    let verify = json_stdout(&verify);
    let name = format!("flow logs {region}");
    let coverage = verify["checks"].as_array().unwrap().iter().find(|c| c["name"] == name.as_str()).unwrap();
    assert_eq!(coverage["status"], "pass", "{coverage}");
    assert!(coverage["detail"].as_str().unwrap().contains("1 shared from other accounts"), "{coverage}");

    env.proxy.reset_log();
    let again = enable(&env, &["--yes"]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new(), "nothing left to do");
}
