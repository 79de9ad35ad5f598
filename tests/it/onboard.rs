//! `flowgate onboard` and `flowgate offboard` end to end against the emulator.

use aws_sdk_ec2::types::{FlowLogsResourceType, LogDestinationType, TrafficType};

use crate::support::{Env, block_on, json_stdout, stderr};

const BUCKET: &str = "flowgate-onboard-logs";
const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];

fn with_vpcs() -> Env {
    let env = Env::isolated();
    for region in REGIONS {
        block_on(env.ec2(region).create_vpc().cidr_block("10.7.0.0/16").send()).unwrap();
    }
    env.proxy.reset_log();
    env
}

fn onboard(env: &Env, extra: &[&str]) -> std::process::Output {
    env.flowgate()
        .args([
            "onboard",
            "--bucket",
            BUCKET,
            "--regions",
            &REGIONS.join(","),
            "--vendor-account",
            "111122223333",
            "--storage-access",
            "--output",
            "json",
        ])
        .args(extra)
        .output()
        .unwrap()
}

fn flow_logs(env: &Env) -> Vec<aws_sdk_ec2::types::FlowLog> {
    REGIONS.iter().flat_map(|r| block_on(env.ec2(r).describe_flow_logs().send()).unwrap().flow_logs().to_vec()).collect()
}

#[test]
fn onboard_applies_everything_then_a_second_run_changes_nothing() {
    let env = with_vpcs();
    let dry = onboard(&env, &["--dry-run"]);
    assert!(dry.status.success(), "{}", stderr(&dry));
    let plan = json_stdout(&dry);
    assert_eq!(plan["dry_run"], true);
    assert!(plan["summary"]["planned"].as_u64().unwrap() >= 6 + 3, "{plan:#}");
    assert!(flow_logs(&env).is_empty(), "a dry run creates nothing");
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new(), "a dry run makes no mutating call (no change set either)");

    env.proxy.reset_log();
    let output = onboard(&env, &["--yes"]);
    assert!(output.status.success(), "{}", stderr(&output));
    // The plan shown before confirmation is the local comparison: the only change set is the
    // apply's (a planning change set would be created, deleted, and its empty stack deleted).
    let counts = env.proxy.counts();
    assert_eq!(counts.get("cloudformation:CreateChangeSet"), Some(&1), "{counts:?}");
    assert_eq!((counts.get("cloudformation:DeleteChangeSet"), counts.get("cloudformation:DeleteStack")), (None, None), "{counts:?}");
    let report = json_stdout(&output);
    assert_eq!(report["summary"]["failed"], 0);
    let steps: Vec<&str> = report["steps"].as_array().unwrap().iter().map(|s| s["step"].as_str().unwrap()).collect();
    assert_eq!(steps, ["bucket", "flow logs", "role stack and access"]);
    assert_eq!(flow_logs(&env).len(), 6, "default VPC and one more in each of three regions");
    assert!(report["portal"]["role_arn"].as_str().unwrap().ends_with(":role/FlowgateCrossAccountRole"));
    assert_eq!(report["portal"]["external_id"].as_str().unwrap().len(), 32);
    // Verify ran: everything passes but the first delivery, which is pending.
    let verify = &report["verify"];
    assert_eq!(verify["status"], "warn", "{verify:#}");
    assert!(verify["checks"].as_array().unwrap().iter().all(|c| c["status"] != "fail"));

    env.proxy.reset_log();
    let again = onboard(&env, &["--yes"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(json_stdout(&again)["summary"]["planned"], 0);
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new(), "the second onboard makes no mutating call");
}

/// `onboard --dry-run --exit-code` for a scheduled check: 4 while the account would change, 0
/// once onboarded; one JSON document each time; without --dry-run the flag is refused (2).
#[test]
fn onboard_dry_run_exit_code_says_whether_a_run_would_change_something() {
    let env = with_vpcs();
    let drift = onboard(&env, &["--dry-run", "--exit-code"]);
    assert_eq!(drift.status.code(), Some(4), "{}", stderr(&drift));
    let plan = json_stdout(&drift);
    assert_eq!((plan["would_change"].as_bool(), plan["dry_run"].as_bool()), (Some(true), Some(true)), "{plan:#}");
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new());

    let refused = onboard(&env, &["--exit-code", "--yes"]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("--dry-run"), "{}", stderr(&refused));
    assert_eq!(json_stdout(&refused)["error"]["exit_code"], 2);

    let applied = onboard(&env, &["--yes"]);
    assert!(applied.status.success(), "{}", stderr(&applied));
    let converged = onboard(&env, &["--dry-run", "--exit-code"]);
    assert_eq!(converged.status.code(), Some(0), "{}", stderr(&converged));
    assert_eq!(json_stdout(&converged)["would_change"], false);
}

#[test]
fn offboard_removes_only_what_flowgate_made() {
    let env = with_vpcs();
    let onboarded = onboard(&env, &["--yes"]);
    assert!(onboarded.status.success(), "{}", stderr(&onboarded));
    // Another team's flow log, made by hand.
    let vpc = block_on(env.ec2("eu-west-1").describe_vpcs().send()).unwrap().vpcs()[0].vpc_id().unwrap().to_owned();
    let theirs = block_on(
        env.ec2("eu-west-1")
            .create_flow_logs()
            .resource_ids(&vpc)
            .resource_type(FlowLogsResourceType::Vpc)
            .traffic_type(TrafficType::Reject)
            .log_destination_type(LogDestinationType::CloudWatchLogs)
            .log_group_name("other-team")
            .deliver_logs_permission_arn("arn:aws:iam::123456789012:role/flow-logs")
            .send(),
    )
    .unwrap()
    .flow_log_ids()[0]
        .clone();
    block_on(env.s3("us-east-1").put_object().bucket(BUCKET).key("AWSLogs/123456789012/vpcflowlogs/x.log.gz").body(b"x".to_vec().into()).send())
        .unwrap();

    // A bucket with objects is deleted only with --force.
    let refused =
        env.flowgate().args(["offboard", "--regions", &REGIONS.join(","), "--bucket", BUCKET, "--delete-bucket", "--yes"]).output().unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("holds 1 object(s)") && stderr(&refused).contains("--force"), "{}", stderr(&refused));
    assert_eq!(flow_logs(&env).len(), 7, "refused before anything was deleted");

    let output = env.flowgate().args(["offboard", "--regions", &REGIONS.join(","), "--yes", "--output", "json"]).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let remaining = flow_logs(&env);
    assert_eq!(remaining.len(), 1);
    assert_eq!(remaining[0].flow_log_id(), Some(theirs.as_str()));
    let stack = env.flowgate().args(["stack", "status", "--output", "json"]).output().unwrap();
    assert_eq!(json_stdout(&stack)["exists"], false);
    assert!(block_on(env.s3("us-east-1").head_bucket().bucket(BUCKET).send()).is_ok(), "the bucket and its logs are kept");

    let forced = env
        .flowgate()
        .args(["offboard", "--regions", &REGIONS.join(","), "--bucket", BUCKET, "--delete-bucket", "--force", "--yes"])
        .output()
        .unwrap();
    assert!(forced.status.success(), "{}", stderr(&forced));
    assert!(block_on(env.s3("us-east-1").head_bucket().bucket(BUCKET).send()).is_err(), "deleted with --force");

    env.proxy.reset_log();
    let again = env.flowgate().args(["offboard", "--regions", &REGIONS.join(","), "--yes"]).output().unwrap();
    assert!(again.status.success());
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new());
}

/// A flow log whose removal failed still delivers to the bucket: offboard keeps the bucket (a
/// deleted bucket's name can be taken by anyone, and the flow log would deliver to them), says
/// why, still removes the vendor's role, and exits 3; a re-run converges.
#[test]
fn offboard_keeps_the_bucket_while_a_flow_log_still_delivers_to_it() {
    let env = with_vpcs();
    let onboarded = onboard(&env, &["--yes"]);
    assert!(onboarded.status.success(), "{}", stderr(&onboarded));
    env.proxy.fault_action("DeleteFlowLogs", crate::support::FaultKind::ServerError);
    let args = ["offboard", "--regions", &REGIONS.join(","), "--bucket", BUCKET, "--delete-bucket", "--force", "--max-attempts", "1", "--yes"];
    let output = env.flowgate().args(args).args(["--output", "json"]).output().unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let report = json_stdout(&output);
    let bucket_step = report["steps"].as_array().unwrap().iter().find(|s| s["step"] == "bucket").unwrap();
    assert_eq!(bucket_step["changes"][0]["status"], "not-attempted", "{report:#}");
    assert!(bucket_step["changes"][0]["detail"].as_str().unwrap().contains("a flow log that delivers to it could not be removed"), "{report:#}");
    assert!(block_on(env.s3("us-east-1").head_bucket().bucket(BUCKET).send()).is_ok(), "the bucket is kept");
    assert!(!flow_logs(&env).is_empty(), "the flow logs are still there");
    let stack = env.flowgate().args(["stack", "status", "--output", "json"]).output().unwrap();
    assert_eq!(json_stdout(&stack)["exists"], false, "the vendor's role went all the same");

    env.proxy.clear_faults();
    let again = env.flowgate().args(args).output().unwrap();
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(block_on(env.s3("us-east-1").head_bucket().bucket(BUCKET).send()).is_err(), "deleted once nothing delivers to it");
}

/// Another team's flow log that delivers to the bucket keeps it: offboard --delete-bucket names
/// the flow log and deletes everything else of flowgate's.
#[test]
fn offboard_keeps_the_bucket_another_teams_flow_log_delivers_to() {
    let env = with_vpcs();
    let onboarded = onboard(&env, &["--yes"]);
    assert!(onboarded.status.success(), "{}", stderr(&onboarded));
    // A VPC made after onboarding, with the other team's flow log to the same bucket.
    let vpc = block_on(env.ec2("eu-west-1").create_vpc().cidr_block("10.77.0.0/16").send()).unwrap().vpc().unwrap().vpc_id().unwrap().to_owned();
    let theirs = block_on(
        env.ec2("eu-west-1")
            .create_flow_logs()
            .resource_ids(&vpc)
            .resource_type(FlowLogsResourceType::Vpc)
            .traffic_type(TrafficType::Reject)
            .log_destination_type(LogDestinationType::S3)
            .log_destination(format!("arn:aws:s3:::{BUCKET}"))
            .send(),
    )
    .unwrap()
    .flow_log_ids()[0]
        .clone();
    let args = ["offboard", "--regions", &REGIONS.join(","), "--bucket", BUCKET, "--delete-bucket", "--force", "--yes", "--output", "json"];
    let output = env.flowgate().args(args).output().unwrap();
    let report = json_stdout(&output);
    let bucket_step = report["steps"].as_array().unwrap().iter().find(|s| s["step"] == "bucket").unwrap();
    assert_eq!(bucket_step["changes"][0]["status"], "blocked", "{report:#}");
    assert!(bucket_step["changes"][0]["detail"].as_str().unwrap().contains(&theirs), "names the flow log: {report:#}");
    assert!(block_on(env.s3("us-east-1").head_bucket().bucket(BUCKET).send()).is_ok(), "the bucket is kept");
    assert_eq!(flow_logs(&env).len(), 1, "only their flow log is left");
    assert_ne!(output.status.code(), Some(0), "the bucket asked for is not deleted: {}", stderr(&output));
}

#[test]
fn offboard_deletes_a_versioned_bucket_with_every_version() {
    use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
    let env = Env::isolated();
    let bucket = "flowgate-versioned-logs";
    let s3 = env.s3("us-east-1");
    let created = env.flowgate().args(["bucket", "create", "--bucket", bucket, "--yes"]).output().unwrap();
    assert!(created.status.success(), "{}", stderr(&created));
    let enabled = VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build();
    block_on(s3.put_bucket_versioning().bucket(bucket).versioning_configuration(enabled).send()).unwrap();
    // Two versions of one object, then the object deleted: no current object is left, but its
    // versions and a delete marker are, and they keep DeleteBucket from succeeding.
    let key = "AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/11/24/a.log.gz";
    for body in [b"one".to_vec(), b"two".to_vec()] {
        block_on(s3.put_object().bucket(bucket).key(key).body(body.into()).send()).unwrap();
    }
    block_on(s3.delete_object().bucket(bucket).key(key).send()).unwrap();
    assert_eq!(block_on(s3.list_objects_v2().bucket(bucket).send()).unwrap().key_count(), Some(0));

    // The earlier versions are data: without --force the bucket is kept.
    let refused = env.flowgate().args(["offboard", "--regions", "us-east-1", "--bucket", bucket, "--delete-bucket", "--yes"]).output().unwrap();
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("holds 3 object(s)"), "{}", stderr(&refused));
    assert!(block_on(s3.head_bucket().bucket(bucket).send()).is_ok());

    let forced = env
        .flowgate()
        .args(["offboard", "--regions", "us-east-1", "--bucket", bucket, "--delete-bucket", "--force", "--yes", "--output", "json"])
        .output()
        .unwrap();
    assert!(forced.status.success(), "{}", stderr(&forced));
    let report = json_stdout(&forced);
    let bucket_step = report["steps"].as_array().unwrap().iter().find(|s| s["step"] == "bucket").unwrap().clone();
    assert_eq!(bucket_step["changes"][0]["status"], "applied", "{bucket_step:#}");
    assert!(bucket_step["changes"][0]["detail"].as_str().unwrap().contains("3 object(s)"), "{bucket_step:#}");
    assert!(block_on(s3.head_bucket().bucket(bucket).send()).is_err(), "deleted with every version");
}
