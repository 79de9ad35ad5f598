//! `flowgate bucket create | check` against the emulator.

use aws_sdk_s3::types::{
    AccessControlPolicy, BucketCannedAcl, BucketVersioningStatus, DefaultRetention, Grant, Grantee, ObjectLockConfiguration, ObjectLockEnabled,
    ObjectLockRetentionMode, ObjectLockRule, ObjectOwnership, Permission, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Type, VersioningConfiguration,
};
use serde_json::{Value, json};

use crate::support::{Env, block_on, json_stdout, stderr, stdout, unique};

fn change<'a>(report: &'a Value, action: &str) -> &'a Value {
    report["changes"]
        .as_array()
        .and_then(|changes| changes.iter().find(|c| c["action"] == action))
        .unwrap_or_else(|| panic!("no {action} change in {report:#}"))
}

fn policy_of(env: &Env, bucket: &str, region: &str) -> Value {
    let out = block_on(env.s3(region).get_bucket_policy().bucket(bucket).send()).expect("bucket policy");
    serde_json::from_str(out.policy().expect("policy text")).expect("policy JSON")
}

fn location_of(env: &Env, bucket: &str) -> String {
    let out = block_on(env.s3("us-east-1").get_bucket_location().bucket(bucket).send()).expect("location");
    out.location_constraint().map(|c| c.as_str().to_owned()).unwrap_or_default()
}

#[test]
fn creates_in_us_east_1_with_everything_set() {
    let env = Env::shared();
    let bucket = unique("fg-use1");
    let output = env.flowgate().args(["bucket", "create", "--bucket", &bucket, "--yes", "--output", "json"]).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let report = json_stdout(&output);
    assert_eq!(report["region"], "us-east-1");
    assert_eq!(change(&report, "create-bucket")["status"], "applied");
    assert_eq!(change(&report, "put-public-access-block")["status"], "applied");
    assert_eq!(change(&report, "put-bucket-policy")["status"], "applied");

    // us-east-1 buckets have an empty location constraint.
    assert_eq!(location_of(&env, &bucket), "");
    let pab = block_on(env.s3("us-east-1").get_public_access_block().bucket(&bucket).send()).unwrap();
    let pab = pab.public_access_block_configuration().unwrap();
    assert_eq!(
        (pab.block_public_acls(), pab.ignore_public_acls(), pab.block_public_policy(), pab.restrict_public_buckets()),
        (Some(true), Some(true), Some(true), Some(true))
    );
    let policy = policy_of(&env, &bucket, "us-east-1");
    let write = &policy["Statement"][0];
    assert_eq!(write["Principal"]["Service"], "delivery.logs.amazonaws.com");
    assert_eq!(write["Resource"], format!("arn:aws:s3:::{bucket}/AWSLogs/123456789012/*"));
    assert_eq!(write["Condition"]["StringEquals"]["aws:SourceAccount"], "123456789012");
    assert_eq!(write["Condition"]["ArnLike"]["aws:SourceArn"], "arn:aws:logs:*:123456789012:*");
}

#[test]
fn creates_in_eu_west_1_and_check_passes() {
    let env = Env::shared();
    let bucket = unique("fg-euw1");
    let output = env
        .flowgate()
        .args(["bucket", "create", "--bucket", &bucket, "--bucket-region", "eu-west-1", "--prefix", "net/flows", "--yes"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(location_of(&env, &bucket), "eu-west-1");
    let policy = policy_of(&env, &bucket, "eu-west-1");
    assert_eq!(policy["Statement"][0]["Resource"], format!("arn:aws:s3:::{bucket}/net/flows/AWSLogs/123456789012/*"));

    let check = env.flowgate().args(["bucket", "check", "--bucket", &bucket, "--prefix", "net/flows", "--output", "json"]).output().unwrap();
    assert!(check.status.success(), "{}", stdout(&check));
    let report = json_stdout(&check);
    assert_eq!(report["status"], "pass");
    assert!(report["checks"].as_array().unwrap().iter().all(|c| c["status"] == "pass"), "{report:#}");

    // Checked against another prefix, the delivery policy does not match: a fail and exit 1.
    let other = env.flowgate().args(["bucket", "check", "--bucket", &bucket, "--output", "json"]).output().unwrap();
    assert_eq!(other.status.code(), Some(1));
    let report = json_stdout(&other);
    let policy_check = report["checks"].as_array().unwrap().iter().find(|c| c["name"] == "delivery-policy").unwrap();
    assert_eq!(policy_check["status"], "fail");
}

#[test]
fn adopts_an_existing_bucket_in_its_own_region() {
    let env = Env::shared();
    let bucket = unique("fg-adopt");
    let s3 = env.s3("us-west-2");
    block_on(
        s3.create_bucket()
            .bucket(&bucket)
            .create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::UsWest2)
                    .build(),
            )
            .send(),
    )
    .unwrap();

    let output = env.flowgate().args(["bucket", "create", "--bucket", &bucket, "--yes", "--output", "json"]).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let report = json_stdout(&output);
    assert_eq!(report["region"], "us-west-2");
    assert_eq!(change(&report, "create-bucket")["status"], "skipped");
    // Adopted outside the home region (us-east-1) without --bucket-region: the plan says where.
    let adopted = change(&report, "create-bucket")["detail"].as_str().unwrap();
    assert!(adopted.starts_with("adopting bucket in us-west-2 (not the home region us-east-1)"), "{adopted}");
    assert_eq!(change(&report, "put-bucket-policy")["status"], "applied");
    assert!(env.proxy.mutating_calls().iter().all(|c| !c.ends_with("PUT bucket")), "no CreateBucket: {:?}", env.proxy.mutating_calls());

    // Asked for another region, an existing bucket is an error that says where it is.
    let wrong = env.flowgate().args(["bucket", "create", "--bucket", &bucket, "--bucket-region", "eu-west-1", "--yes"]).output().unwrap();
    assert_eq!(wrong.status.code(), Some(1));
    assert!(stderr(&wrong).contains("already exists in us-west-2"), "{}", stderr(&wrong));
    assert!(stderr(&wrong).contains("--bucket-region us-west-2"), "{}", stderr(&wrong));
}

#[test]
fn merges_into_an_existing_bucket_policy_without_losing_statements() {
    let env = Env::shared();
    let bucket = unique("fg-merge");
    let s3 = env.s3("us-east-1");
    block_on(s3.create_bucket().bucket(&bucket).send()).unwrap();
    let existing = json!({
        "Version": "2012-10-17",
        "Id": "team-policy",
        "Statement": [
            {"Sid": "AuditorRead", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
             "Action": ["s3:GetObject"], "Resource": format!("arn:aws:s3:::{bucket}/reports/*")},
            {"Sid": "BackupList", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/backup"},
             "Action": "s3:ListBucket", "Resource": format!("arn:aws:s3:::{bucket}"),
             "Condition": {"StringLike": {"s3:prefix": ["backups/*"]}}}
        ]
    });
    block_on(s3.put_bucket_policy().bucket(&bucket).policy(existing.to_string()).send()).unwrap();

    let output = env.flowgate().args(["bucket", "create", "--bucket", &bucket, "--yes", "--output", "json"]).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let report = json_stdout(&output);
    assert!(change(&report, "put-bucket-policy")["detail"].as_str().unwrap().contains("keep 2 existing"));

    let policy = policy_of(&env, &bucket, "us-east-1");
    assert_eq!(policy["Id"], "team-policy");
    let statements = policy["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 4);
    assert_eq!(statements[0], existing["Statement"][0], "existing statements are kept exactly");
    assert_eq!(statements[1], existing["Statement"][1]);
    assert_eq!(statements[2]["Sid"], "FlowgateLogDeliveryWrite");
    assert_eq!(statements[3]["Sid"], "FlowgateLogDeliveryAclCheck");
}

#[test]
fn kms_bucket_is_refused_then_fixed_with_fix_encryption() {
    let env = Env::shared();
    let bucket = unique("fg-kms");
    let s3 = env.s3("us-east-1");
    block_on(s3.create_bucket().bucket(&bucket).send()).unwrap();
    let kms = ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(
                    ServerSideEncryptionByDefault::builder()
                        .sse_algorithm(ServerSideEncryption::AwsKms)
                        .kms_master_key_id("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .build()
        .unwrap();
    block_on(s3.put_bucket_encryption().bucket(&bucket).server_side_encryption_configuration(kms).send()).unwrap();

    let refused = env.flowgate().args(["bucket", "create", "--bucket", &bucket, "--yes"]).output().unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let err = stderr(&refused);
    assert!(err.contains("SSE-KMS") && err.contains("kms:Decrypt"), "{err}");
    assert!(err.contains("hint:") && err.contains("--fix-encryption"), "{err}");
    assert!(env.proxy.mutating_calls().is_empty(), "refusal changed something: {:?}", env.proxy.mutating_calls());

    let check = env.flowgate().args(["bucket", "check", "--bucket", &bucket]).output().unwrap();
    assert_eq!(check.status.code(), Some(1));
    assert!(stdout(&check).contains("FAIL  encryption"), "{}", stdout(&check));

    let fixed = env.flowgate().args(["bucket", "create", "--bucket", &bucket, "--yes", "--fix-encryption"]).output().unwrap();
    assert!(fixed.status.success(), "{}", stderr(&fixed));
    let encryption = block_on(s3.get_bucket_encryption().bucket(&bucket).send()).unwrap();
    let algorithm = encryption.server_side_encryption_configuration().unwrap().rules()[0]
        .apply_server_side_encryption_by_default()
        .unwrap()
        .sse_algorithm()
        .clone();
    assert_eq!(algorithm, ServerSideEncryption::Aes256);
}

#[test]
fn second_run_makes_no_mutating_call() {
    let env = Env::shared();
    let bucket = unique("fg-idem");
    let args = ["bucket", "create", "--bucket", &bucket, "--yes", "--expire-days", "90", "--tag", "team=netsec"];
    let first = env.flowgate().args(args).output().unwrap();
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(env.proxy.mutating_calls().len() >= 5, "{:?}", env.proxy.mutating_calls());

    env.proxy.reset_log();
    let second = env.flowgate().args(args).output().unwrap();
    assert!(second.status.success(), "{}", stderr(&second));
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new());
    assert!(stdout(&second).contains("already right: nothing to change"), "{}", stdout(&second));
}

#[test]
fn dry_run_makes_no_mutating_call() {
    let env = Env::shared();
    let bucket = unique("fg-dry");
    let output = env.flowgate().args(["bucket", "create", "--bucket", &bucket, "--dry-run", "--output", "json"]).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let report = json_stdout(&output);
    assert_eq!(report["dry_run"], true);
    assert_eq!(change(&report, "create-bucket")["status"], "planned");
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new());
    assert!(!env.proxy.requests().is_empty(), "the plan was made from real reads");
    assert!(block_on(env.s3("us-east-1").head_bucket().bucket(&bucket).send()).is_err(), "bucket must not exist");
}

#[test]
fn without_a_terminal_or_yes_nothing_is_applied() {
    let env = Env::shared();
    let bucket = unique("fg-noyes");
    let output = env.flowgate().args(["bucket", "create", "--bucket", &bucket]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--yes"), "{}", stderr(&output));
    assert!(stdout(&output).contains("+ create-bucket"), "the plan is shown: {}", stdout(&output));
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new());
}

#[test]
fn check_of_a_missing_bucket_fails_with_the_fix() {
    let env = Env::shared();
    let bucket = unique("fg-missing");
    let output = env.flowgate().args(["bucket", "check", "--bucket", &bucket, "--output", "json"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let report = json_stdout(&output);
    assert_eq!(report["status"], "fail");
    assert!(report["checks"][0]["fix"].as_str().unwrap().contains("flowgate bucket create"));
}

#[test]
fn throttling_and_server_errors_are_retried_to_the_same_end_state() {
    use crate::support::{FaultKind, FaultRule};
    let env = Env::shared();
    env.proxy.set_seed(7);
    env.proxy.add_fault(FaultRule { service: Some("s3".into()), region: None, fraction: 0.25, kind: FaultKind::Throttle });
    env.proxy.add_fault(FaultRule { service: None, region: None, fraction: 0.10, kind: FaultKind::ServerError });
    let bucket = unique("fg-chaos");
    let output = env.flowgate().args(["bucket", "create", "--bucket", &bucket, "--yes", "--output", "json"]).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(env.proxy.faulted() > 0, "the seed must inject faults: {:?}", env.proxy.counts());
    let policy = policy_of(&env, &bucket, "us-east-1");
    assert_eq!(policy["Statement"].as_array().unwrap().len(), 2);

    // Converged: a clean re-run changes nothing.
    env.proxy.clear_faults();
    env.proxy.reset_log();
    let again = env.flowgate().args(["bucket", "create", "--bucket", &bucket, "--yes"]).output().unwrap();
    assert!(again.status.success());
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new());
}

#[test]
fn throttling_beyond_the_retries_is_a_clear_error() {
    use crate::support::{FaultKind, FaultRule};
    let env = Env::shared();
    env.proxy.add_fault(FaultRule { service: Some("s3".into()), region: None, fraction: 1.0, kind: FaultKind::Throttle });
    let bucket = unique("fg-throttled");
    let output = env.flowgate().args(["bucket", "check", "--bucket", &bucket, "--max-attempts", "2"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.contains(&format!("looking up bucket {bucket}")) && err.contains("throttled by AWS (HTTP 503) after every retry"), "{err}");
    assert!(err.contains("hint:") && err.contains("--max-attempts"), "{err}");
    let heads = env.proxy.requests().iter().filter(|r| r.service == "s3").count();
    assert_eq!(heads, 2, "--max-attempts 2 means two attempts");
}

fn statement_resources(policy: &Value, sid: &str) -> Vec<String> {
    let statement = policy["Statement"].as_array().unwrap().iter().find(|s| s["Sid"] == sid).unwrap_or_else(|| panic!("no {sid} in {policy:#}"));
    match &statement["Resource"] {
        Value::String(r) => vec![r.clone()],
        Value::Array(items) => items.iter().map(|r| r.as_str().unwrap().to_owned()).collect(),
        other => panic!("{other}"),
    }
}

/// issue 12 item 3: `--prefix net` on a bucket whose delivery statement grants `AWSLogs/...` adds
/// the new path; the old one stays while a flow log delivers there, even with
/// `--remove-old-paths`, and goes with the flag once none does.
#[test]
fn a_new_prefix_keeps_the_path_flow_logs_still_deliver_to() {
    use aws_sdk_ec2::types::{FlowLogsResourceType, LogDestinationType, TrafficType};
    let env = Env::isolated();
    let bucket = unique("fg-prefix");
    let first = env.flowgate().args(["bucket", "create", "--bucket", &bucket, "--yes"]).output().unwrap();
    assert!(first.status.success(), "{}", stderr(&first));
    let old_path = format!("arn:aws:s3:::{bucket}/AWSLogs/123456789012/*");
    let new_path = format!("arn:aws:s3:::{bucket}/net/AWSLogs/123456789012/*");

    // A flow log that delivers to the old path (no prefix), in another region than the bucket's.
    let ec2 = env.ec2("eu-west-1");
    let vpc = block_on(ec2.create_vpc().cidr_block("10.42.0.0/16").send()).unwrap();
    let vpc_id = vpc.vpc().and_then(|v| v.vpc_id()).unwrap().to_owned();
    let created = block_on(
        ec2.create_flow_logs()
            .resource_ids(&vpc_id)
            .resource_type(FlowLogsResourceType::Vpc)
            .traffic_type(TrafficType::All)
            .log_destination_type(LogDestinationType::S3)
            .log_destination(format!("arn:aws:s3:::{bucket}"))
            .send(),
    )
    .unwrap();
    let flow_log = created.flow_log_ids()[0].clone();

    for flags in [&[][..], &["--remove-old-paths"][..]] {
        let output = env
            .flowgate()
            .args(["bucket", "create", "--bucket", &bucket, "--prefix", "net", "--yes", "--output", "json"])
            .args(flags)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        let detail = change(&json_stdout(&output), "put-bucket-policy")["detail"].as_str().unwrap().to_owned();
        assert!(
            detail.contains(&format!("keep AWSLogs/123456789012/: flow logs still deliver there ({flow_log} in eu-west-1)")),
            "{flags:?}: {detail}"
        );
        let resources = statement_resources(&policy_of(&env, &bucket, "us-east-1"), "FlowgateLogDeliveryWrite");
        assert_eq!(resources, [old_path.clone(), new_path.clone()], "{flags:?}");
    }

    // bucket check --prefix net passes and reports both paths.
    let check = env.flowgate().args(["bucket", "check", "--bucket", &bucket, "--prefix", "net", "--output", "json"]).output().unwrap();
    assert!(check.status.success(), "{}", stdout(&check));
    let report = json_stdout(&check);
    let policy_check = report["checks"].as_array().unwrap().iter().find(|c| c["name"] == "delivery-policy").unwrap();
    let detail = policy_check["detail"].as_str().unwrap();
    assert!(detail.contains("present for net/AWSLogs/123456789012/") && detail.contains("also grants AWSLogs/123456789012/"), "{detail}");

    // Once no flow log delivers there, the flag removes the old path (and only it).
    block_on(ec2.delete_flow_logs().flow_log_ids(&flow_log).send()).unwrap();
    let kept = env.flowgate().args(["bucket", "create", "--bucket", &bucket, "--prefix", "net", "--yes"]).output().unwrap();
    assert!(kept.status.success() && stdout(&kept).contains("nothing to change"), "{}", stdout(&kept));
    assert!(stdout(&kept).contains("--remove-old-paths removes it"), "{}", stdout(&kept));
    let removed = env
        .flowgate()
        .args(["bucket", "create", "--bucket", &bucket, "--prefix", "net", "--remove-old-paths", "--yes", "--output", "json"])
        .output()
        .unwrap();
    assert!(removed.status.success(), "{}", stderr(&removed));
    let detail = change(&json_stdout(&removed), "put-bucket-policy")["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("remove AWSLogs/123456789012/"), "{detail}");
    let policy = policy_of(&env, &bucket, "us-east-1");
    assert_eq!(statement_resources(&policy, "FlowgateLogDeliveryWrite"), [new_path]);
    assert_eq!(policy["Statement"].as_array().unwrap().len(), 2, "the ACL statement is kept");
}

/// issue 12 item 3: a lifecycle rule filtering `AWSLogs/` does not cover `net/AWSLogs/`: a rule for
/// the new prefix is added, the old one kept.
#[test]
fn expiration_is_judged_by_the_rules_prefix() {
    let env = Env::shared();
    let bucket = unique("fg-expire");
    let first = env.flowgate().args(["bucket", "create", "--bucket", &bucket, "--expire-days", "30", "--yes"]).output().unwrap();
    assert!(first.status.success(), "{}", stderr(&first));
    let check =
        env.flowgate().args(["bucket", "check", "--bucket", &bucket, "--prefix", "net", "--expire-days", "30", "--output", "json"]).output().unwrap();
    let report = json_stdout(&check);
    let lifecycle = report["checks"].as_array().unwrap().iter().find(|c| c["name"] == "lifecycle").unwrap();
    assert_eq!(lifecycle["status"], "warn", "{lifecycle}");

    let output = env
        .flowgate()
        .args(["bucket", "create", "--bucket", &bucket, "--prefix", "net", "--expire-days", "30", "--yes", "--output", "json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(change(&json_stdout(&output), "put-lifecycle-configuration")["status"], "applied");
    let rules = block_on(env.s3("us-east-1").get_bucket_lifecycle_configuration().bucket(&bucket).send()).unwrap();
    let mut prefixes: Vec<String> = rules.rules().iter().filter_map(|r| r.filter().and_then(|f| f.prefix()).map(str::to_owned)).collect();
    prefixes.sort();
    assert_eq!(prefixes, ["AWSLogs/", "net/AWSLogs/"]);

    env.proxy.reset_log();
    let again = env.flowgate().args(["bucket", "create", "--bucket", &bucket, "--prefix", "net", "--expire-days", "30", "--yes"]).output().unwrap();
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new(), "converged");
}

/// Issue 16: one exit-code rule for every apply. A bucket create whose policy step fails after
/// earlier steps applied is partial (3), as a flow-log enable with one failed region is; it used
/// to exit 1. When nothing was applied nor already right it is 1: a flow-log enable whose only
/// region failed. Every failed change carries its hint.
#[test]
fn one_exit_code_rule_partial_is_3_and_all_failed_is_1_with_the_hint() {
    use crate::support::FaultKind;
    let env = Env::shared();
    let failed_change = |report: &Value| {
        report["changes"].as_array().unwrap().iter().find(|c| c["status"] == "failed").cloned().unwrap_or_else(|| panic!("{report:#}"))
    };
    let bucket = unique("fg-partial");
    env.proxy.fault_action("PUT policy", FaultKind::Throttle);
    let partial =
        env.flowgate().args(["bucket", "create", "--bucket", &bucket, "--yes", "--output", "json", "--max-attempts", "1"]).output().unwrap();
    assert_eq!(partial.status.code(), Some(3), "{}", stderr(&partial));
    let report = json_stdout(&partial);
    assert!(report["summary"]["applied"].as_u64().unwrap() > 0, "{report:#}");
    assert_eq!(report["summary"]["failed"], 1, "{report:#}");
    assert!(failed_change(&report)["error"].as_str().unwrap().contains("(hint: re-run later"), "{report:#}");

    // A create that fails applies nothing: the settings a new bucket would have had by default
    // are not attempted rather than "already right", so the run is a failure (1), not partial.
    env.proxy.clear_faults();
    env.proxy.fault_action("PUT bucket", FaultKind::Throttle);
    let never = unique("fg-never");
    let failed = env.flowgate().args(["bucket", "create", "--bucket", &never, "--yes", "--output", "json", "--max-attempts", "1"]).output().unwrap();
    assert_eq!(failed.status.code(), Some(1), "{}\n{}", stderr(&failed), stdout(&failed));
    let report = json_stdout(&failed);
    assert_eq!(report["summary"]["applied"], 0, "{report:#}");
    assert_eq!(report["summary"]["unchanged"], 0, "{report:#}");
    assert!(failed_change(&report)["error"].as_str().unwrap().contains("(hint:"), "{report:#}");

    // The flow logs of the first bucket (it exists): the only region fails, nothing applied.
    env.proxy.clear_faults();
    env.proxy.fault_action("CreateFlowLogs", FaultKind::Throttle);
    let flowlogs = env
        .flowgate()
        .args(["flowlogs", "enable", "--bucket", &bucket, "--regions", "eu-central-1", "--yes", "--output", "json", "--max-attempts", "1"])
        .output()
        .unwrap();
    assert_eq!(flowlogs.status.code(), Some(1), "{}\n{}", stderr(&flowlogs), stdout(&flowlogs));
    assert!(failed_change(&json_stdout(&flowlogs))["error"].as_str().unwrap().contains("(hint:"), "{}", stdout(&flowlogs));
}

/// A bucket with ObjectWriter ownership whose ACL grants the S3 log-delivery group WRITE and
/// another account READ, made through the SDK.
fn bucket_with_acl_grants(env: &Env, bucket: &str) -> Vec<Grant> {
    let s3 = env.s3("us-east-1");
    block_on(s3.create_bucket().bucket(bucket).object_ownership(ObjectOwnership::ObjectWriter).send()).unwrap();
    let acl = block_on(s3.get_bucket_acl().bucket(bucket).send()).unwrap();
    let owner = acl.owner().unwrap().clone();
    let grant = |grantee: Grantee, permission: Permission| Grant::builder().grantee(grantee).permission(permission).build();
    let grants = vec![
        grant(Grantee::builder().r#type(Type::CanonicalUser).id(owner.id().unwrap()).build().unwrap(), Permission::FullControl),
        grant(Grantee::builder().r#type(Type::Group).uri(LOG_DELIVERY).build().unwrap(), Permission::Write),
        grant(Grantee::builder().r#type(Type::CanonicalUser).id(OTHER_ACCOUNT).build().unwrap(), Permission::Read),
    ];
    let policy = AccessControlPolicy::builder().owner(owner).set_grants(Some(grants.clone())).build();
    block_on(s3.put_bucket_acl().bucket(bucket).access_control_policy(policy).send()).unwrap();
    grants
}

const LOG_DELIVERY: &str = "http://acs.amazonaws.com/groups/s3/LogDelivery";
const OTHER_ACCOUNT: &str = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be";

/// Switching to BucketOwnerEnforced disables every ACL grant. The plan names the bucket ACL's
/// grants that would stop working; and since S3 refuses the switch while the bucket ACL grants
/// anyone but the owner (InvalidBucketAclWithObjectOwnership, which moto does not enforce: it
/// switches and silently disables them), flowgate blocks it instead of trying.
#[test]
fn switching_ownership_names_the_acl_grants_that_would_stop_working() {
    let env = Env::shared();
    let bucket = unique("fg-acl");
    bucket_with_acl_grants(&env, &bucket);

    let dry = env.flowgate().args(["bucket", "create", "--bucket", &bucket, "--dry-run", "--output", "json"]).output().unwrap();
    let report = json_stdout(&dry);
    let ownership = change(&report, "put-ownership-controls");
    assert_eq!(ownership["status"], "blocked", "{ownership}");
    let detail = ownership["detail"].as_str().unwrap();
    assert!(detail.contains(&format!("WRITE to the S3 log-delivery group ({LOG_DELIVERY})")), "{detail}");
    assert!(detail.contains(&format!("READ to another account (canonical user {OTHER_ACCOUNT})")), "{detail}");
    assert!(!detail.contains("FULL_CONTROL to"), "the owner's own grant is not listed: {detail}");
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new());

    let applied = env.flowgate().args(["bucket", "create", "--bucket", &bucket, "--yes", "--output", "json"]).output().unwrap();
    assert_eq!(applied.status.code(), Some(1), "blocked: {}", stderr(&applied));
    assert!(env.proxy.mutating_calls().iter().all(|c| c != "s3:PUT ownershipControls"), "{:?}", env.proxy.mutating_calls());
    let acl = block_on(env.s3("us-east-1").get_bucket_acl().bucket(&bucket).send()).unwrap();
    assert_eq!(acl.grants().len(), 3, "every grant kept");

    // Once the ACL is reset to the owner's alone, the switch is planned and applied.
    block_on(env.s3("us-east-1").put_bucket_acl().bucket(&bucket).acl(BucketCannedAcl::Private).send()).unwrap();
    let switched = env.flowgate().args(["bucket", "create", "--bucket", &bucket, "--yes", "--output", "json"]).output().unwrap();
    assert!(switched.status.success(), "{}", stderr(&switched));
    let report = json_stdout(&switched);
    let ownership = change(&report, "put-ownership-controls");
    assert_eq!(ownership["status"], "applied");
    assert!(ownership["detail"].as_str().unwrap().contains("the bucket ACL grants only the owner's FULL_CONTROL"), "{ownership}");
}

fn lifecycle_rules(env: &Env, bucket: &str) -> Vec<aws_sdk_s3::types::LifecycleRule> {
    block_on(env.s3("us-east-1").get_bucket_lifecycle_configuration().bucket(bucket).send()).unwrap().rules().to_vec()
}

/// On a versioned bucket `Expiration.Days` only adds delete markers and the data stays billed:
/// `--expire-days` also expires noncurrent versions and removes expired delete markers (in a rule
/// of its own: S3 refuses ExpiredObjectDeleteMarker beside Days, and moto does too).
#[test]
fn expiry_on_a_versioned_bucket_deletes_noncurrent_versions_and_delete_markers() {
    let env = Env::shared();
    let bucket = unique("fg-versioned");
    let created = env.flowgate().args(["bucket", "create", "--bucket", &bucket, "--yes"]).output().unwrap();
    assert!(created.status.success(), "{}", stderr(&created));
    let versioning = VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build();
    block_on(env.s3("us-east-1").put_bucket_versioning().bucket(&bucket).versioning_configuration(versioning).send()).unwrap();

    let args = ["bucket", "create", "--bucket", &bucket, "--expire-days", "30", "--yes", "--output", "json"];
    let output = env.flowgate().args(args).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let report = json_stdout(&output);
    let lifecycle = change(&report, "put-lifecycle-configuration");
    assert_eq!(lifecycle["status"], "applied");
    let detail = lifecycle["detail"].as_str().unwrap();
    assert!(detail.contains("versioning is Enabled: expiry only adds a delete marker"), "{detail}");
    assert!(detail.contains("noncurrent versions are deleted 30 days later (about 60 days after delivery in all)"), "{detail}");

    let rules = lifecycle_rules(&env, &bucket);
    let expiring = rules.iter().find(|r| r.id() == Some("flowgate-expire-flow-logs")).expect("expiration rule");
    assert_eq!(expiring.expiration().and_then(|e| e.days()), Some(30));
    assert_eq!(expiring.noncurrent_version_expiration().and_then(|n| n.noncurrent_days()), Some(30));
    let markers = rules.iter().find(|r| r.id() == Some("flowgate-expire-flow-logs-delete-markers")).expect("delete-marker rule");
    assert_eq!(markers.expiration().and_then(|e| e.expired_object_delete_marker()), Some(true));
    assert_eq!(markers.filter().and_then(|f| f.prefix()), Some("AWSLogs/"));

    env.proxy.reset_log();
    let again = env.flowgate().args(args).output().unwrap();
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new(), "converged");
}

#[test]
fn expiry_under_object_lock_says_retained_versions_stay() {
    let env = Env::shared();
    let bucket = unique("fg-locked");
    let s3 = env.s3("us-east-1");
    block_on(s3.create_bucket().bucket(&bucket).object_lock_enabled_for_bucket(true).send()).unwrap();
    let retention = DefaultRetention::builder().mode(ObjectLockRetentionMode::Governance).days(30).build();
    let lock = ObjectLockConfiguration::builder()
        .object_lock_enabled(ObjectLockEnabled::Enabled)
        .rule(ObjectLockRule::builder().default_retention(retention).build())
        .build();
    block_on(s3.put_object_lock_configuration().bucket(&bucket).object_lock_configuration(lock).send()).unwrap();

    let dry = env.flowgate().args(["bucket", "create", "--bucket", &bucket, "--expire-days", "7", "--dry-run", "--output", "json"]).output().unwrap();
    let report = json_stdout(&dry);
    let detail = change(&report, "put-lifecycle-configuration")["detail"].as_str().unwrap().to_owned();
    assert!(
        detail.contains(
            "Object Lock is on, default retention GOVERNANCE 30 days: object versions under a retention period or legal hold are not deleted before it ends"
        ),
        "{detail}"
    );
    assert!(detail.contains("versioning is Enabled"), "Object Lock turns versioning on: {detail}");
}

/// AWS behaviour: GetBucketLifecycleConfiguration reports the bucket's
/// `x-amz-transition-default-minimum-object-size`, and a PutBucketLifecycleConfiguration without
/// that header sets the default (all_storage_classes_128K) again. moto keeps no such setting, so
/// the proxy stands in for a bucket set to varies_by_storage_class; the PUT must send it back.
#[test]
fn the_lifecycle_put_keeps_the_transition_default_minimum_object_size() {
    let env = Env::shared();
    let bucket = unique("fg-minsize");
    let created = env.flowgate().args(["bucket", "create", "--bucket", &bucket, "--expire-days", "30", "--yes"]).output().unwrap();
    assert!(created.status.success(), "{}", stderr(&created));
    env.proxy.set_response_header("GET lifecycle", "x-amz-transition-default-minimum-object-size", "varies_by_storage_class");

    env.proxy.reset_log();
    let output = env.flowgate().args(["bucket", "create", "--bucket", &bucket, "--expire-days", "60", "--yes"]).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let puts: Vec<_> = env.proxy.requests().into_iter().filter(|r| r.action == "PUT lifecycle").collect();
    assert_eq!(puts.len(), 1, "{:?}", env.proxy.mutating_calls());
    assert_eq!(puts[0].header("x-amz-transition-default-minimum-object-size"), Some("varies_by_storage_class"));
    let rules = lifecycle_rules(&env, &bucket);
    assert_eq!(rules.iter().find(|r| r.id() == Some("flowgate-expire-flow-logs")).and_then(|r| r.expiration()).and_then(|e| e.days()), Some(60));
}

fn delivery_policy_check(env: &Env, bucket: &str) -> (Option<i32>, Value) {
    let output = env.flowgate().args(["bucket", "check", "--bucket", bucket, "--output", "json"]).output().unwrap();
    let report = json_stdout(&output);
    let check = report["checks"].as_array().unwrap().iter().find(|c| c["name"] == "delivery-policy").cloned().unwrap();
    (output.status.code(), check)
}

/// Issue 23 item 4: a bucket policy with flowgate's delivery statements and a Deny the log
/// delivery service cannot escape (an organization guardrail: the service carries no
/// aws:PrincipalOrgID, so StringNotEquals holds) passed `bucket check`. The bucket is this test's
/// own and no object is read (moto enforces any Deny on object calls, whatever its condition).
#[test]
fn check_fails_when_the_bucket_policy_denies_the_delivery_service() {
    let env = Env::shared();
    let bucket = unique("fg-deny-delivery");
    let created = env.flowgate().args(["bucket", "create", "--bucket", &bucket, "--yes", "-q"]).output().unwrap();
    assert!(created.status.success(), "{}", stderr(&created));
    let (code, check) = delivery_policy_check(&env, &bucket);
    assert_eq!((code, check["status"].as_str()), (Some(0), Some("pass")), "{check}");

    let mut policy = policy_of(&env, &bucket, "us-east-1");
    let guard = json!({"Sid": "OrganizationOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
        "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123def4"}}});
    policy["Statement"].as_array_mut().unwrap().push(guard);
    block_on(env.s3("us-east-1").put_bucket_policy().bucket(&bucket).policy(policy.to_string()).send()).unwrap();
    let (code, check) = delivery_policy_check(&env, &bucket);
    assert_eq!((code, check["status"].as_str()), (Some(1), Some("fail")), "{check}");
    let detail = check["detail"].as_str().unwrap();
    assert!(detail.starts_with("the bucket policy denies delivery.logs.amazonaws.com writing AWSLogs/123456789012/"), "{detail}");
    assert!(detail.contains("statement Sid \"OrganizationOnly\" (s3:PutObject, s3:GetBucketAcl, s3:ListBucket)"), "{detail}");

    // The exemption AWS documents for service principals makes the guardrail harmless.
    policy["Statement"][2]["Condition"]["BoolIfExists"] = json!({"aws:PrincipalIsAWSService": "false"});
    block_on(env.s3("us-east-1").put_bucket_policy().bucket(&bucket).policy(policy.to_string()).send()).unwrap();
    let (code, check) = delivery_policy_check(&env, &bucket);
    assert_eq!((code, check["status"].as_str()), (Some(0), Some("pass")), "{check}");
}
