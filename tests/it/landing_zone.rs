//! A real landing zone: regions an organization's policy closes. Control Tower's region deny keeps
//! `ec2:DescribeRegions` allowed (it is in the SCP's NotAction list), so a denied region is listed
//! as enabled, and every other call there answers UnauthorizedOperation "... with an explicit deny
//! in a service control policy". moto has no SCPs: the chaos proxy answers the region's calls as
//! AWS does.

use serde_json::Value;

use crate::support::{Env, json_stdout, stderr, stdout};

pub(crate) const DENIED_REGION: &str = "eu-west-1";

/// EC2's answer under the region-deny SCP (the message names the policy type, as AWS's
/// access-denied messages do).
fn scp_denial(action: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>UnauthorizedOperation</Code>\
         <Message>You are not authorized to perform this operation. User: arn:aws:iam::123456789012:user/moto is not authorized \
         to perform: ec2:{action} with an explicit deny in a service control policy</Message></Error></Errors>\
         <RequestID>5f1c4e1e-0000-4000-8000-000000000000</RequestID></Response>"
    )
}

pub(crate) fn deny_region(env: &Env) {
    for action in ["DescribeVpcs", "DescribeFlowLogs", "CreateFlowLogs", "DeleteFlowLogs"] {
        env.proxy.answer_in_region(action, DENIED_REGION, 403, &scp_denial(action));
    }
}

fn run(env: &Env, args: &[&str]) -> std::process::Output {
    env.flowgate().args(args).output().unwrap()
}

fn region_entry<'a>(report: &'a Value, key: &str, region: &str) -> &'a Value {
    report[key].as_array().and_then(|regions| regions.iter().find(|r| r["region"] == region)).unwrap_or_else(|| panic!("no {region} in {report:#}"))
}

#[test]
fn a_region_denied_by_an_scp_is_skipped_and_said_by_every_command() {
    let env = Env::isolated();
    let bucket = "flowgate-lz-denied";
    let regions = "us-east-1,eu-west-1";
    let created = run(&env, &["bucket", "create", "--bucket", bucket, "--yes", "-q"]);
    assert!(created.status.success(), "{}", stderr(&created));
    deny_region(&env);

    let enabled = run(&env, &["flowlogs", "enable", "--bucket", bucket, "--regions", regions, "--yes", "--output", "json"]);
    assert_eq!(enabled.status.code(), Some(0), "a closed region is neither a failure nor partial: {}", stderr(&enabled));
    let report = json_stdout(&enabled);
    let skipped = report["skipped_regions"].as_array().unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(skipped.len(), 1, "{report:#}");
    assert_eq!(skipped[0]["region"], DENIED_REGION);
    assert!(skipped[0]["reason"].as_str().unwrap().contains("explicit deny in a service control policy"), "{report:#}");
    let text = run(&env, &["flowlogs", "enable", "--bucket", bucket, "--regions", regions, "--yes"]);
    assert_eq!(text.status.code(), Some(0), "a re-run converges: {}", stderr(&text));
    let said = format!("{}{}", stdout(&text), stderr(&text));
    assert!(said.contains("eu-west-1: denied by policy (an explicit deny in a service control policy), skipped"), "{said}");
    assert!(env.proxy.mutating_calls().iter().filter(|c| c.contains("CreateFlowLogs")).count() == 1, "{:?}", env.proxy.mutating_calls());

    let status = run(&env, &["flowlogs", "status", "--bucket", bucket, "--regions", regions, "--output", "json"]);
    assert_eq!(status.status.code(), Some(0), "{}", stderr(&status));
    let report = json_stdout(&status);
    assert!(region_entry(&report, "regions", DENIED_REGION)["skipped"].as_str().is_some_and(|s| s.contains("denied by policy")), "{report:#}");

    let verify = run(&env, &["verify", "--bucket", bucket, "--regions", regions, "--output", "json"]);
    let report = json_stdout(&verify);
    assert!(report.to_string().contains("denied by policy"), "an auditor sees the skipped region: {report:#}");

    let offboard = run(&env, &["offboard", "--bucket", bucket, "--regions", regions, "--yes", "--output", "json"]);
    assert_eq!(offboard.status.code(), Some(0), "offboard finishes: {}", stderr(&offboard));
}

/// A bucket policy is not seen at once by the log delivery service: CreateFlowLogs right after
/// the policy was written can answer an `Unsuccessful` item "Access Denied for LogDestination:
/// BUCKET. Please check LogDestination permission." flowgate tries that VPC again (bounded)
/// instead of reporting a failure that a re-run a minute later would not see.
#[test]
fn a_destination_not_yet_writable_is_tried_again() {
    let env = Env::isolated();
    let bucket = "flowgate-lz-settle";
    let created = run(&env, &["bucket", "create", "--bucket", bucket, "--yes", "-q"]);
    assert!(created.status.success(), "{}", stderr(&created));
    let vpc = crate::support::block_on(env.ec2("us-east-1").describe_vpcs().send()).unwrap().vpcs()[0].vpc_id().unwrap().to_owned();
    let refused = format!(
        "<CreateFlowLogsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>7a62c49f-0000-4000-8000-000000000000</requestId>\
         <flowLogIdSet/><unsuccessful><item><error><code>400</code><message>Access Denied for LogDestination: {bucket}. \
         Please check LogDestination permission.</message></error><resourceId>{vpc}</resourceId></item></unsuccessful></CreateFlowLogsResponse>"
    );
    env.proxy.answer_when("CreateFlowLogs", None, Some(1), 200, &refused);
    env.proxy.reset_log();
    let enabled = run(&env, &["flowlogs", "enable", "--bucket", bucket, "--regions", "us-east-1", "--yes", "--output", "json"]);
    assert_eq!(enabled.status.code(), Some(0), "{}", stderr(&enabled));
    assert_eq!(json_stdout(&enabled)["summary"]["applied"], 1, "{}", stdout(&enabled));
    assert_eq!(env.proxy.counts().get("ec2:CreateFlowLogs"), Some(&2), "refused once, then created");
    assert!(env.flow_log_id("us-east-1").starts_with("fl-"), "the VPC has its flow log");
}

/// Only an organization's policy closes a region: a deny in the caller's own permissions
/// boundary is the caller's to fix (a failure), and an SCP that refuses every selected region is
/// denying EC2 itself, not closing regions (a failure too, never "nothing to do").
#[test]
fn a_deny_that_is_not_a_region_deny_stays_a_failure() {
    let env = Env::isolated();
    let bucket = "flowgate-lz-boundary";
    let created = run(&env, &["bucket", "create", "--bucket", bucket, "--yes", "-q"]);
    assert!(created.status.success(), "{}", stderr(&created));
    let boundary = scp_denial("DescribeVpcs").replace("a service control policy", "a permissions boundary");
    env.proxy.answer_in_region("DescribeVpcs", DENIED_REGION, 403, &boundary);
    let out = run(&env, &["flowlogs", "enable", "--bucket", bucket, "--regions", "us-east-1,eu-west-1", "--yes", "--output", "json"]);
    assert_eq!(out.status.code(), Some(3), "the other region applies, this one failed: {}", stderr(&out));
    assert!(json_stdout(&out)["skipped_regions"].as_array().unwrap().is_empty());

    let env = Env::isolated();
    let created = run(&env, &["bucket", "create", "--bucket", bucket, "--yes", "-q"]);
    assert!(created.status.success(), "{}", stderr(&created));
    for region in ["us-east-1", DENIED_REGION] {
        env.proxy.answer_in_region("DescribeVpcs", region, 403, &scp_denial("DescribeVpcs"));
    }
    let out = run(&env, &["flowlogs", "enable", "--bucket", bucket, "--regions", "us-east-1,eu-west-1", "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(format!("{}{}", stdout(&out), stderr(&out)).contains("every selected region is refused"), "{}", stdout(&out));
}
