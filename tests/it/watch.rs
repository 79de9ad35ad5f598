//! `flowgate watch enable | status | disable` against the emulator, and the watcher's rules
//! exercised on it: moto's EventBridge applies event patterns and input transformers (it never
//! starts an Automation, so an SQS queue stands in for the rule's target).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::{Env, block_on, json_stdout, stderr, stdout};

const BUCKET: &str = "flowgate-watch-logs";
const REGION: &str = "us-east-1";

fn watch(env: &Env, command: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["watch", command, "--regions", REGION, "--output", "json"];
    if command != "disable" {
        args.extend(["--bucket", BUCKET]);
    }
    env.flowgate().args(args).args(extra).output().unwrap()
}

/// A multi-region trail that logs management events (what CreateVpc events need).
fn start_trail(env: &Env) {
    block_on(env.s3(REGION).create_bucket().bucket("flowgate-watch-trail").send()).unwrap();
    let cloudtrail = aws_sdk_cloudtrail::Client::new(&env.sdk(REGION));
    block_on(cloudtrail.create_trail().name("org-trail").s3_bucket_name("flowgate-watch-trail").is_multi_region_trail(true).send()).unwrap();
    // AWS gives a new trail the default selector (every management event, reads and writes);
    // moto gives it none: set it as AWS reports it.
    let all_management = aws_sdk_cloudtrail::types::EventSelector::builder()
        .read_write_type(aws_sdk_cloudtrail::types::ReadWriteType::All)
        .include_management_events(true)
        .build();
    block_on(cloudtrail.put_event_selectors().trail_name("org-trail").event_selectors(all_management).send()).unwrap();
    block_on(cloudtrail.start_logging().name("org-trail").send()).unwrap();
}

fn stack(env: &Env) -> Option<aws_sdk_cloudformation::types::Stack> {
    let cfn = aws_sdk_cloudformation::Client::new(&env.sdk(REGION));
    block_on(cfn.describe_stacks().stack_name("flowgate-watch").send()).ok().and_then(|out| out.stacks().first().cloned())
}

fn change<'a>(report: &'a Value, action: &str) -> &'a Value {
    report["changes"].as_array().unwrap().iter().find(|c| c["action"] == action).unwrap_or_else(|| panic!("no {action}: {report:#}"))
}

#[test]
fn the_watcher_waits_for_a_trail_deploys_converges_and_is_removed() {
    let env = Env::isolated();
    let out = env.flowgate().args(["bucket", "create", "--bucket", BUCKET, "--yes", "-q"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));

    // No trail: CreateVpc events never reach EventBridge. The plan says so and deploys nothing.
    env.proxy.reset_log();
    let blocked = watch(&env, "enable", &["--yes"]);
    assert_eq!(blocked.status.code(), Some(1), "{}", stderr(&blocked));
    let report = json_stdout(&blocked);
    assert_eq!(change(&report, "check-trail")["status"], "blocked", "{report:#}");
    assert!(change(&report, "check-trail")["detail"].as_str().unwrap().contains("no CloudTrail trail"), "{report:#}");
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new());
    // watch status says the same before anything is deployed: not deployed, and no trail.
    let status = watch(&env, "status", &[]);
    assert_eq!(status.status.code(), Some(1), "{}", stdout(&status));
    let detail = json_stdout(&status)["regions"][0]["detail"].as_str().unwrap().to_owned();
    assert!(detail.starts_with("not deployed") && detail.contains("no CloudTrail trail"), "{detail}");

    start_trail(&env);
    env.proxy.reset_log();
    let dry = watch(&env, "enable", &["--dry-run", "--tag", "team=netsec"]);
    assert!(dry.status.success(), "{}{}", stdout(&dry), stderr(&dry));
    assert_eq!(change(&json_stdout(&dry), "create-stack")["status"], "planned");
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new(), "a dry run makes no mutating call");

    let applied = watch(&env, "enable", &["--yes", "--tag", "team=netsec"]);
    assert!(applied.status.success(), "{}", stderr(&applied));
    assert_eq!(change(&json_stdout(&applied), "create-stack")["status"], "applied");
    let deployed = stack(&env).expect("the watcher stack");
    let parameters: std::collections::BTreeMap<&str, &str> =
        deployed.parameters().iter().map(|p| (p.parameter_key().unwrap(), p.parameter_value().unwrap())).collect();
    assert_eq!(parameters["LogDestination"], format!("arn:aws:s3:::{BUCKET}"));
    assert!(parameters["LogFormat"].ends_with("${log-status} ${tcp-flags}"), "{parameters:?}");
    let tags: Value = serde_json::from_str(parameters["FlowLogTags"]).unwrap();
    assert_eq!(tags, serde_json::json!([{"Key": "flowgate:managed", "Value": "true"}, {"Key": "team", "Value": "netsec"}]));

    env.proxy.reset_log();
    let again = watch(&env, "enable", &["--yes", "--tag", "team=netsec"]);
    assert!(again.status.success(), "{}{}", stdout(&again), stderr(&again));
    assert_eq!(change(&json_stdout(&again), "keep-stack")["status"], "skipped");
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new(), "a second run changes nothing");

    let status = watch(&env, "status", &["--tag", "team=netsec"]);
    assert_eq!(status.status.code(), Some(0), "{}", stdout(&status));
    assert_eq!(json_stdout(&status)["regions"][0]["status"], "pass");
    // Another format than the watcher's: status says the watcher would create another flow log.
    let other = watch(&env, "status", &["--format", "extended"]);
    assert_eq!(other.status.code(), Some(1), "{}", stdout(&other));

    // A dry run of the removal plans the deletion and makes no mutating call.
    env.proxy.reset_log();
    let planned = watch(&env, "disable", &["--dry-run"]);
    assert!(planned.status.success(), "{}", stderr(&planned));
    assert_eq!(change(&json_stdout(&planned), "delete-stack")["status"], "planned");
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new(), "a dry run changed something");
    assert!(stack(&env).is_some_and(|s| s.stack_status().is_some_and(|st| st.as_str() != "DELETE_COMPLETE")));

    let removed = watch(&env, "disable", &["--yes"]);
    assert!(removed.status.success(), "{}", stderr(&removed));
    assert_eq!(change(&json_stdout(&removed), "delete-stack")["status"], "applied");
    assert!(stack(&env).is_none_or(|s| s.stack_status().is_some_and(|st| st.as_str() == "DELETE_COMPLETE")));
}

/// The rules' event patterns and input transformers, copied from the template onto rules whose
/// target is an SQS queue: a recorded CreateVpc event (the record AWS documents for the call,
/// responseElements.vpc) yields exactly the parameters the Automation document declares; an
/// event of another call, or a failed CreateVpc (no vpcId), yields nothing.
#[test]
fn the_rules_turn_a_create_vpc_event_into_the_documents_parameters() {
    let env = Env::isolated();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = Command::new(root.join(".venv/bin/python"))
        .args(["-c", RULE_SCRIPT])
        .env("ENDPOINT", env.endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", REGION)
        .current_dir(root)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}{}", stdout(&output), stderr(&output));
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    let declared: Vec<&str> = result["declared"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(declared, ["VpcId"], "{result:#}");
    assert_eq!(result["CreateVpc"], serde_json::json!([{"VpcId": ["vpc-0a1b2c3d4e5f67890"]}]), "{result:#}");
    assert_eq!(result["CreateDefaultVpc"], serde_json::json!([{"VpcId": ["vpc-0d1e2f3a4b5c67890"]}]), "{result:#}");
    // AWS's documentation shows no CreateDefaultVpc record: whichever way CloudTrail records it,
    // wrapped in CreateDefaultVpcResponse or not, exactly one rule starts the document.
    assert_eq!(result["unwrapped"], serde_json::json!([{"VpcId": ["vpc-0e1f2a3b4c5d67890"]}]), "{result:#}");
    assert_eq!(result["unrelated"], serde_json::json!([]), "another call, or a failed CreateVpc, starts nothing: {result:#}");
}

const RULE_SCRIPT: &str = r#"
import json, os, boto3
from cfnlint.decode import decode

template, errors = decode("templates/watch.yaml")
assert not errors, errors
resources = template["Resources"]
document = json.loads(resources["FlowLogDocument"]["Properties"]["Content"]["Fn::Sub"]
                      .replace("${AutomationRole.Arn}", "arn:aws:iam::123456789012:role/r")
                      .replace("${MaxAggregationInterval}", "600").replace("${HiveCompatiblePartitions}", "false")
                      .replace("${PerHourPartition}", "false").replace("${FlowLogTags}", "[]"))
declared = sorted(document["parameters"])

endpoint = os.environ["ENDPOINT"]
events = boto3.client("events", endpoint_url=endpoint)
sqs = boto3.client("sqs", endpoint_url=endpoint)

def rule_queue(logical_id):
    properties = resources[logical_id]["Properties"]
    queue = sqs.create_queue(QueueName=logical_id)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=logical_id, EventPattern=json.dumps(properties["EventPattern"]), State="ENABLED")
    transformer = properties["Targets"][0]["InputTransformer"]
    events.put_targets(Rule=logical_id, Targets=[{"Id": "queue", "Arn": arn, "InputTransformer": transformer}])
    return queue

def api_call(name, response_elements):
    # A CloudTrail management event as EventBridge receives it ("AWS API Call via CloudTrail").
    detail = {
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "accountId": "123456789012", "userName": "Mateo"},
        "eventTime": "2024-05-01T12:00:00Z", "eventSource": "ec2.amazonaws.com", "eventName": name,
        "awsRegion": "us-east-1", "sourceIPAddress": "192.0.2.1", "userAgent": "aws-cli/2",
        "requestParameters": {"cidrBlock": "10.0.0.0/16"},
        "responseElements": response_elements,
        "eventType": "AwsApiCall", "managementEvent": True, "eventCategory": "Management",
    }
    events.put_events(Entries=[{"Source": "aws.ec2", "DetailType": "AWS API Call via CloudTrail", "Detail": json.dumps(detail)}])

def received(queue):
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]

vpc_queue, default_queue = rule_queue("VpcCreatedRule"), rule_queue("DefaultVpcCreatedRule")
api_call("CreateVpc", {"requestId": "0e1f2a3b-0000-4000-8000-000000000000", "vpc": {
    "vpcId": "vpc-0a1b2c3d4e5f67890", "state": "pending", "ownerId": "123456789012", "cidrBlock": "10.0.0.0/16",
    "dhcpOptionsId": "dopt-0a1b2c3d", "instanceTenancy": "default", "isDefault": False}})
created = received(vpc_queue)
api_call("CreateDefaultVpc", {"CreateDefaultVpcResponse": {"requestId": "1e1f2a3b-0000-4000-8000-000000000000", "vpc": {
    "vpcId": "vpc-0d1e2f3a4b5c67890", "state": "pending", "isDefault": True}}})
default = received(default_queue)
# The same call recorded unwrapped, as CreateVpc is: the first rule takes it, the second does not.
api_call("CreateDefaultVpc", {"requestId": "2e1f2a3b-0000-4000-8000-000000000000", "vpc": {
    "vpcId": "vpc-0e1f2a3b4c5d67890", "state": "pending", "isDefault": True}})
unwrapped = received(vpc_queue) + received(default_queue)
api_call("CreateSubnet", {"subnet": {"subnetId": "subnet-0a1b2c3d", "vpcId": "vpc-0a1b2c3d4e5f67890"}})
api_call("CreateVpc", None)
unrelated = received(vpc_queue) + received(default_queue)
print(json.dumps({"declared": declared, "CreateVpc": created, "CreateDefaultVpc": default, "unwrapped": unwrapped, "unrelated": unrelated}))
"#;

#[test]
fn the_watcher_template_passes_cfn_lint_and_checkov() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lint = Command::new(root.join(".venv/bin/cfn-lint"))
        .args(["--include-checks", "I", "--", "templates/watch.yaml"])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(lint.status.success() && lint.stdout.is_empty(), "cfn-lint:\n{}{}", stdout(&lint), stderr(&lint));
    let checkov = root.join(".venv-security/bin/checkov");
    assert!(checkov.exists(), "{} is missing: run scripts/setup-emulator --with-security-tools", checkov.display());
    let out =
        Command::new(checkov).args(["-f", "templates/watch.yaml", "--skip-download", "--quiet", "--compact"]).current_dir(root).output().unwrap();
    assert!(out.status.success() && stdout(&out).contains("Failed checks: 0"), "checkov:\n{}{}", stdout(&out), stderr(&out));
}

/// `onboard --watch` deploys the watcher with the flow log it creates; `offboard --watch` removes
/// it first, before the flow logs (a watcher left running would give a new VPC a flow log again).
#[test]
fn onboard_and_offboard_take_the_watcher_along() {
    let env = Env::isolated();
    start_trail(&env);
    let onboard = env
        .flowgate()
        .args([
            "onboard",
            "--bucket",
            BUCKET,
            "--regions",
            REGION,
            "--vendor-account",
            "111122223333",
            "--storage-access",
            "--watch",
            "--yes",
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    assert!(onboard.status.success(), "{}{}", stdout(&onboard), stderr(&onboard));
    let report = json_stdout(&onboard);
    let steps: Vec<&str> = report["steps"].as_array().unwrap().iter().map(|s| s["step"].as_str().unwrap()).collect();
    assert_eq!(steps, ["bucket", "flow logs", "role stack and access", "watcher"]);
    assert!(stack(&env).is_some(), "the watcher is deployed");

    // onboard without --watch names a watcher that would make another flow log than its own.
    let args = ["onboard", "--bucket", BUCKET, "--regions", REGION, "--vendor-account", "111122223333", "--storage-access"];
    let other = env.flowgate().args(args).args(["--tag", "team=netsec", "--dry-run", "--output", "json"]).output().unwrap();
    assert!(other.status.success(), "{}{}", stdout(&other), stderr(&other));
    let report = json_stdout(&other);
    let last = report["steps"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["step"], "watcher", "{report:#}");
    assert!(last["changes"][0]["detail"].as_str().unwrap().contains("FlowLogTags differ"), "{report:#}");
    let same = env.flowgate().args(args).args(["--dry-run", "--output", "json"]).output().unwrap();
    let report = json_stdout(&same);
    assert!(report["steps"].as_array().unwrap().iter().all(|s| s["step"] != "watcher"), "the same flow log: nothing said {report:#}");

    // Without --watch the watcher stays, and the plan says where (the last step, shown only).
    let keeping = env.flowgate().args(["offboard", "--bucket", BUCKET, "--regions", REGION, "--dry-run", "--output", "json"]).output().unwrap();
    assert!(keeping.status.success(), "{}{}", stdout(&keeping), stderr(&keeping));
    let report = json_stdout(&keeping);
    let last = report["steps"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["step"], "watcher", "{report:#}");
    assert_eq!(last["changes"][0]["action"], "keep-stack", "{report:#}");
    assert_eq!(last["changes"][0]["region"], REGION, "{report:#}");
    assert!(last["changes"][0]["detail"].as_str().unwrap().contains("offboard --watch removes it"), "{report:#}");

    let offboard =
        env.flowgate().args(["offboard", "--bucket", BUCKET, "--regions", REGION, "--watch", "--yes", "--output", "json"]).output().unwrap();
    assert!(offboard.status.success(), "{}{}", stdout(&offboard), stderr(&offboard));
    let report = json_stdout(&offboard);
    assert_eq!(report["steps"][0]["step"], "watcher", "{report:#}");
    assert_eq!(report["steps"][0]["changes"][0]["action"], "delete-stack", "{report:#}");
    assert_eq!(report["steps"][0]["changes"][0]["status"], "applied", "{report:#}");
    assert!(stack(&env).is_none_or(|s| s.stack_status().is_some_and(|st| st.as_str() == "DELETE_COMPLETE")));
}
