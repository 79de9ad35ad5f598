//! A real landing zone: regions an organization's policy closes. Control Tower's region deny keeps
//! `ec2:DescribeRegions` allowed (it is in the SCP's NotAction list), so a denied region is listed
//! as enabled, and every other call there answers UnauthorizedOperation "... with an explicit deny
//! in a service control policy". moto has no SCPs: the chaos proxy answers the region's calls as
//! AWS does.

use serde_json::Value;

use crate::support::{ACCESS_KEY, ACCOUNT, Env, block_on, json_stdout, stderr, stdout, unique};

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

/// The statements AWS writes itself when the bucket's owner creates a flow log to it, as the VPC
/// User Guide shows them ("Amazon S3 bucket permissions for flow logs",
/// https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-permissions.html), for the
/// region the flow log is created in.
fn aws_delivery_statements(bucket: &str, region: &str) -> Vec<Value> {
    let source_arn = format!("arn:aws:logs:{region}:{ACCOUNT}:*");
    vec![
        serde_json::json!({"Sid": "AWSLogDeliveryWrite", "Effect": "Allow", "Principal": {"Service": "delivery.logs.amazonaws.com"},
            "Action": "s3:PutObject", "Resource": format!("arn:aws:s3:::{bucket}/AWSLogs/{ACCOUNT}/*"),
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT, "s3:x-amz-acl": "bucket-owner-full-control"}, "ArnLike": {"aws:SourceArn": source_arn}}}),
        serde_json::json!({"Sid": "AWSLogDeliveryAclCheck", "Effect": "Allow", "Principal": {"Service": "delivery.logs.amazonaws.com"},
            "Action": ["s3:GetBucketAcl", "s3:ListBucket"], "Resource": format!("arn:aws:s3:::{bucket}"),
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}, "ArnLike": {"aws:SourceArn": source_arn}}}),
    ]
}

/// How AWS's write treats the policy already there: the two guides disagree.
#[derive(Clone, Copy)]
enum AwsPolicyWrite {
    /// VPC User Guide, "Amazon S3 bucket permissions for flow logs": "This policy overwrites any
    /// existing policy attached to the bucket."
    Overwrite,
    /// CloudWatch Logs User Guide, "Logs sent to Amazon S3"
    /// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-infrastructure-S3.html):
    /// a policy without the statements gets them appended.
    Append,
}

/// moto never writes a bucket policy for CreateFlowLogs: after each one the bucket's owner
/// (the test's caller, whose account holds the bucket) makes, the proxy writes AWS's statements
/// to the emulator the way `write` says, before flowgate sees the answer. Another account's
/// CreateFlowLogs (an organization's member, through its role) writes nothing: AWS writes only
/// for the owner.
fn aws_writes_the_policy(env: &Env, bucket: &str, write: AwsPolicyWrite) {
    let (s3, bucket) = (env.s3("us-east-1"), bucket.to_owned());
    env.proxy.after_forwarding("CreateFlowLogs", move |request| {
        let (s3, bucket) = (s3.clone(), bucket.clone());
        async move {
            if request.access_key != ACCESS_KEY {
                return;
            }
            let aws = aws_delivery_statements(&bucket, &request.region);
            let statements = match write {
                AwsPolicyWrite::Overwrite => aws,
                AwsPolicyWrite::Append => {
                    let mut there = policy_statements(&s3, &bucket).await;
                    for s in aws {
                        if !there.iter().any(|t| t["Sid"] == s["Sid"]) {
                            there.push(s);
                        }
                    }
                    there
                }
            };
            let policy = serde_json::json!({"Version": "2012-10-17", "Statement": statements}).to_string();
            s3.put_bucket_policy().bucket(&bucket).policy(policy).send().await.expect("AWS's own policy write");
        }
    });
}

async fn policy_statements(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<Value> {
    let text = s3.get_bucket_policy().bucket(bucket).send().await.ok().and_then(|o| o.policy().map(str::to_owned)).unwrap_or_default();
    serde_json::from_str::<Value>(&text).ok().and_then(|d| d["Statement"].as_array().cloned()).unwrap_or_default()
}

fn sids(env: &Env, bucket: &str) -> Vec<String> {
    block_on(policy_statements(&env.s3("us-east-1"), bucket)).iter().filter_map(|s| s["Sid"].as_str().map(str::to_owned)).collect()
}

/// A bucket made by `bucket create` (flowgate's delivery statements) with a statement of the
/// user's besides.
fn bucket_with_a_user_statement(env: &Env, bucket: &str) {
    let created = run(env, &["bucket", "create", "--bucket", bucket, "--yes", "-q"]);
    assert!(created.status.success(), "{}", stderr(&created));
    let s3 = env.s3("us-east-1");
    let mut statements = block_on(policy_statements(&s3, bucket));
    statements.insert(
        0,
        serde_json::json!({"Sid": "PartnerRead", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{bucket}/reports/*")}),
    );
    let policy = serde_json::json!({"Version": "2012-10-17", "Statement": statements}).to_string();
    block_on(s3.put_bucket_policy().bucket(bucket).policy(policy).send()).unwrap();
}

fn policy_puts(env: &Env) -> usize {
    env.proxy.mutating_calls().iter().filter(|c| *c == "s3:PUT policy").count()
}

/// Issue 24 item 4, the VPC User Guide's account: the bucket owner's CreateFlowLogs leaves only
/// AWS's two statements. flowgate puts back its own and the user's, keeps AWS's, says so, and a
/// second run has nothing to do.
#[test]
fn aws_s_policy_overwrite_on_the_owner_s_flow_log_is_put_back() {
    let env = Env::isolated();
    let bucket = "flowgate-lz-overwrite";
    bucket_with_a_user_statement(&env, bucket);
    aws_writes_the_policy(&env, bucket, AwsPolicyWrite::Overwrite);
    env.proxy.reset_log();

    let enabled = run(&env, &["flowlogs", "enable", "--bucket", bucket, "--regions", "us-east-1", "--yes", "--output", "json"]);
    assert_eq!(enabled.status.code(), Some(0), "{}", stderr(&enabled));
    let report = json_stdout(&enabled);
    assert_eq!(
        report["restored_statements"],
        serde_json::json!(["PartnerRead", "FlowgateLogDeliveryWrite", "FlowgateLogDeliveryAclCheck"]),
        "{report:#}"
    );
    assert_eq!(report["aws_statements"], serde_json::json!(["AWSLogDeliveryWrite", "AWSLogDeliveryAclCheck"]), "{report:#}");
    let step = report["changes"].as_array().unwrap().iter().find(|c| c["action"] == "restore-bucket-policy").expect("the step");
    assert_eq!(step["status"], "applied", "{step:#}");
    assert_eq!(
        sids(&env, bucket),
        ["PartnerRead", "FlowgateLogDeliveryWrite", "FlowgateLogDeliveryAclCheck", "AWSLogDeliveryWrite", "AWSLogDeliveryAclCheck"]
    );
    assert_eq!(policy_puts(&env), 1, "one put: the restore");

    // The second run: no flow log to create, so no AWS write and nothing to put back.
    env.proxy.reset_log();
    let again = run(&env, &["flowlogs", "enable", "--bucket", bucket, "--regions", "us-east-1", "--yes", "--output", "json"]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let report = json_stdout(&again);
    assert_eq!((report["summary"]["planned"].as_u64(), report["summary"]["applied"].as_u64()), (Some(0), Some(0)), "{report:#}");
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new());
    let check = run(&env, &["bucket", "check", "--bucket", bucket, "--output", "json"]);
    let delivery = json_stdout(&check)["checks"].as_array().unwrap().iter().find(|c| c["name"] == "delivery-policy").cloned().unwrap();
    assert_eq!(delivery["status"], "pass", "{delivery:#}");
}

/// The same AWS write during `onboard`: the bucket step wrote the policy, the flow-log step's
/// CreateFlowLogs overwrote it, and onboard's report says what it put back.
#[test]
fn onboard_puts_back_what_aws_s_policy_overwrite_removed() {
    let env = Env::isolated();
    let bucket = "flowgate-lz-onboard-overwrite";
    aws_writes_the_policy(&env, bucket, AwsPolicyWrite::Overwrite);
    let onboard = |extra: &[&str]| {
        let args =
            ["onboard", "--bucket", bucket, "--regions", "us-east-1", "--vendor-account", "111122223333", "--storage-access", "--output", "json"];
        env.flowgate().args(args).args(extra).output().unwrap()
    };
    let dry = onboard(&["--dry-run"]);
    let plan = json_stdout(&dry);
    let flow_step = &plan["steps"][1]["changes"];
    assert!(flow_step.as_array().unwrap().iter().any(|c| c["action"] == "restore-bucket-policy" && c["status"] == "planned"), "{plan:#}");

    let done = onboard(&["--yes"]);
    assert!(done.status.success(), "{}{}", stderr(&done), stdout(&done));
    let report = json_stdout(&done);
    assert_eq!(report["restored_statements"], serde_json::json!(["FlowgateLogDeliveryWrite", "FlowgateLogDeliveryAclCheck"]), "{report:#}");
    assert_eq!(sids(&env, bucket), ["FlowgateLogDeliveryWrite", "FlowgateLogDeliveryAclCheck", "AWSLogDeliveryWrite", "AWSLogDeliveryAclCheck"]);

    env.proxy.reset_log();
    let again = onboard(&["--yes"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(json_stdout(&again)["summary"]["planned"], 0);
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new(), "the second onboard makes no mutating call");
}

/// The CloudWatch Logs guide's account: AWS's statements appended to the policy there. Nothing
/// is missing, nothing is put, AWS's statements stay and the report names them.
#[test]
fn aws_s_policy_append_on_the_owner_s_flow_log_is_kept_as_it_is() {
    let env = Env::isolated();
    let bucket = "flowgate-lz-append";
    bucket_with_a_user_statement(&env, bucket);
    aws_writes_the_policy(&env, bucket, AwsPolicyWrite::Append);
    env.proxy.reset_log();

    let enabled = run(&env, &["flowlogs", "enable", "--bucket", bucket, "--regions", "us-east-1", "--yes"]);
    assert_eq!(enabled.status.code(), Some(0), "{}", stderr(&enabled));
    let said = stdout(&enabled);
    assert!(
        said.contains("bucket policy: AWS's own delivery statements added by its write, kept: AWSLogDeliveryWrite, AWSLogDeliveryAclCheck"),
        "{said}"
    );
    assert!(!said.contains("put back:"), "{said}");
    assert_eq!(
        sids(&env, bucket),
        ["PartnerRead", "FlowgateLogDeliveryWrite", "FlowgateLogDeliveryAclCheck", "AWSLogDeliveryWrite", "AWSLogDeliveryAclCheck"]
    );
    assert_eq!(policy_puts(&env), 0, "nothing to put back");

    env.proxy.reset_log();
    let again = run(&env, &["flowlogs", "enable", "--bucket", bucket, "--regions", "us-east-1", "--yes", "--output", "json"]);
    assert_eq!(json_stdout(&again)["summary"]["planned"], 0);
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new());
    // `bucket create` again keeps AWS's statements and names them.
    let plan = run(&env, &["bucket", "create", "--bucket", bucket, "--dry-run", "--output", "json"]);
    let plan = json_stdout(&plan);
    let line = plan["changes"].as_array().unwrap().iter().find(|c| c["action"] == "put-bucket-policy").cloned().unwrap();
    assert_eq!(line["status"], "skipped", "{line:#}");
}

/// The same AWS write in an organization whose central bucket is the caller's (the management
/// account, the default log-archive account): its own flow logs, made as the caller, make AWS
/// overwrite the central policy, and with it every member's delivery grant. `org onboard` puts the
/// organization's statements back; the members' flow logs (made through their roles) write
/// nothing.
#[test]
fn org_onboard_puts_back_the_central_policy_after_aws_s_overwrite() {
    let org = crate::org::Org::new();
    let bucket = unique("org-aws-write");
    aws_writes_the_policy(&org.env, &bucket, AwsPolicyWrite::Overwrite);
    let onboard = || {
        let args = ["org", "onboard", "--bucket", &bucket, "--vendor-account", "111122223333", "--regions", "us-east-1", "--yes", "--output", "json"];
        org.env.flowgate().args(args).output().unwrap()
    };
    let out = onboard();
    let report = json_stdout(&out);
    assert_only_the_emulator_s_collision(&out, &report);
    let management = report["accounts"].as_array().unwrap().iter().find(|a| a["id"] == ACCOUNT).expect("the management account");
    let step = management["changes"].as_array().unwrap().iter().find(|c| c["action"] == "restore-bucket-policy").cloned();
    let step = step.unwrap_or_else(|| panic!("no restore step: {management:#}"));
    assert_eq!(step["status"], "applied", "{step:#}");
    assert!(step["detail"].as_str().unwrap().contains("FlowgateOrgLogDeliveryWrite"), "{step:#}");
    let sids = sids(&org.env, &bucket);
    for sid in ["FlowgateOrgLogDeliveryWrite", "FlowgateOrgLogDeliveryAclCheck", "AWSLogDeliveryWrite", "AWSLogDeliveryAclCheck"] {
        assert!(sids.iter().any(|s| s == sid), "{sid} missing: {sids:?}");
    }
    let members: Vec<&str> = report["accounts"].as_array().unwrap().iter().filter(|a| a["id"] != ACCOUNT).filter_map(|a| a["id"].as_str()).collect();
    let policy = block_on(policy_statements(&org.env.s3("us-east-1"), &bucket));
    for member in members {
        assert!(policy.iter().any(|s| s.to_string().contains(&format!("AWSLogs/{member}/*"))), "{member} lost its grant");
    }

    org.env.proxy.reset_log();
    let again = onboard();
    assert_only_the_emulator_s_collision(&again, &json_stdout(&again));
    assert_eq!(policy_puts(&org.env), 0, "nothing to put back: {:?}", org.env.proxy.mutating_calls());
}

/// moto deploys a StackSet that targets the root to the management account too (AWS never does,
/// MOTO.md), so the management account's own role stack collides with that instance's role:
/// the one failure the run may have, the emulator's.
fn assert_only_the_emulator_s_collision(out: &std::process::Output, report: &Value) {
    let failed: Vec<&Value> = report["changes"].as_array().unwrap().iter().filter(|c| c["status"] == "failed" && c["part_of"].is_null()).collect();
    let collision = |c: &&Value| c["action"] == "create-stack" && c["error"].as_str().is_some_and(|e| e.contains("EntityAlreadyExists"));
    assert!(failed.iter().all(collision), "{}\n{}", stdout(out), stderr(out));
    assert!(matches!(out.status.code(), Some(0 | 3)), "{}", stderr(out));
    for account in report["accounts"].as_array().unwrap() {
        assert!(account["changes"].as_array().unwrap().iter().all(|c| c["status"] != "failed"), "{account:#}");
    }
}
