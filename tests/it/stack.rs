//! `flowgate stack deploy | status | delete` against the emulator, and the template's linting.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::{Env, block_on, json_stdout, stderr, stdout};

const VENDOR: &str = "111122223333";

/// Every (policy name, statement) of the role's inline policies, decoded.
fn role_statements(env: &Env, role: &str) -> Vec<(String, Value)> {
    let iam = env.iam();
    let names = block_on(iam.list_role_policies().role_name(role).send()).unwrap().policy_names().to_vec();
    let mut out = Vec::new();
    for name in names {
        let doc = block_on(iam.get_role_policy().role_name(role).policy_name(&name).send()).unwrap();
        let doc = flowgate::core::policy_doc::parse_document(doc.policy_document()).unwrap();
        for statement in flowgate::core::policy_doc::statements(&doc).unwrap() {
            out.push((name.clone(), statement));
        }
    }
    out
}

/// Whether any of the role's policies lets it s3:GetObject the bucket's objects.
fn grants_get_object(env: &Env, role: &str, bucket: &str) -> bool {
    let object_arn = format!("arn:aws:s3:::{bucket}/*");
    role_statements(env, role).iter().any(|(_, s)| {
        let actions = s["Action"].to_string();
        let resources = match &s["Resource"] {
            Value::Array(items) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            Value::String(r) => vec![r.clone()],
            _ => Vec::new(),
        };
        s["Effect"] == "Allow" && actions.contains("s3:GetObject") && resources.contains(&object_arn)
    })
}

fn deploy(env: &Env, args: &[&str]) -> std::process::Output {
    env.flowgate().args(["stack", "deploy", "--yes", "--output", "json"]).args(args).output().unwrap()
}

#[test]
fn create_grant_revoke_and_delete() {
    let env = Env::isolated();
    let created = deploy(&env, &["--vendor-account", VENDOR]);
    assert!(created.status.success(), "{}", stderr(&created));
    let report = json_stdout(&created);
    assert_eq!(report["operation"], "create");
    assert_eq!(report["external_id_generated"], true);
    let external_id = report["outputs"]["external_id"].as_str().unwrap().to_owned();
    assert_eq!(external_id.len(), 32);
    assert_eq!(report["outputs"]["role_arn"], "arn:aws:iam::123456789012:role/FlowgateCrossAccountRole");

    // The trust policy names the vendor's account and requires the ExternalId.
    let role = block_on(env.iam().get_role().role_name("FlowgateCrossAccountRole").send()).unwrap();
    let trust = flowgate::core::policy_doc::parse_document(role.role().unwrap().assume_role_policy_document().unwrap()).unwrap();
    let statement = &flowgate::core::policy_doc::statements(&trust).unwrap()[0];
    assert_eq!(statement["Principal"]["AWS"], format!("arn:aws:iam::{VENDOR}:root"));
    assert_eq!(statement["Condition"]["StringEquals"]["sts:ExternalId"], external_id.as_str());
    assert!(!grants_get_object(&env, "FlowgateCrossAccountRole", "flow-bucket-one"));

    // Idempotent: nothing to change, and no mutating call at all.
    env.proxy.reset_log();
    let again = deploy(&env, &[]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(json_stdout(&again)["operation"], "none");
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new());

    // Grant two buckets (a name and an ARN): the role's policies grant GetObject on both.
    let granted = deploy(&env, &["--storage-access", "--storage-ids", "flow-bucket-one,arn:aws:s3:::flow-bucket-two"]);
    assert!(granted.status.success(), "{}", stderr(&granted));
    let report = json_stdout(&granted);
    let words: Vec<&str> = report["parameter_changes"].as_array().unwrap().iter().map(|c| c["text"].as_str().unwrap()).collect();
    assert_eq!(words, ["storage access will be GRANTED for bucket flow-bucket-one", "storage access will be GRANTED for bucket flow-bucket-two"]);
    assert_eq!(report["outputs"]["external_id"], external_id.as_str(), "the ExternalId is kept on update");
    assert!(grants_get_object(&env, "FlowgateCrossAccountRole", "flow-bucket-one"));
    assert!(grants_get_object(&env, "FlowgateCrossAccountRole", "flow-bucket-two"));

    let status = env.flowgate().args(["stack", "status", "--output", "json"]).output().unwrap();
    assert!(status.status.success(), "{}", stderr(&status));
    let status = json_stdout(&status);
    assert_eq!(status["condition"], "ready");
    assert_eq!(status["readable_buckets"], serde_json::json!(["flow-bucket-one", "flow-bucket-two"]));

    // Deploying without --storage-access revokes, loudly.
    let revoked = deploy(&env, &[]);
    assert!(revoked.status.success(), "{}", stderr(&revoked));
    assert!(stderr(&revoked).contains("WARNING: storage access will be REVOKED for bucket flow-bucket-one"), "{}", stderr(&revoked));
    // The emulator may keep the policy resource, rewritten: assert what it grants, not that it is gone.
    assert!(!grants_get_object(&env, "FlowgateCrossAccountRole", "flow-bucket-one"));
    assert!(!grants_get_object(&env, "FlowgateCrossAccountRole", "flow-bucket-two"));
    let discovery: Vec<(String, Value)> =
        role_statements(&env, "FlowgateCrossAccountRole").into_iter().filter(|(n, _)| n == "FlowgateDiscovery").collect();
    assert_eq!(discovery.len(), 1, "discovery is untouched by storage changes");

    let deleted = env.flowgate().args(["stack", "delete", "--yes", "--output", "json"]).output().unwrap();
    assert!(deleted.status.success(), "{}", stderr(&deleted));
    let report = json_stdout(&deleted);
    assert_eq!(report["final_status"], "DELETE_COMPLETE");
    // The plan named every resource the deletion removed (CloudFormation's ListStackResources).
    let removed = changes_of(&report, "delete-resource");
    assert!(removed.contains(&"CrossAccountRole") && removed.contains(&"DiscoveryPolicy"), "{report}");
    assert!(report["changes"].as_array().unwrap().iter().all(|c| c["status"] == "applied"), "{report}");
    let gone = env.flowgate().args(["stack", "status"]).output().unwrap();
    assert_eq!(gone.status.code(), Some(1));
    assert!(stdout(&gone).contains("does not exist"));
    env.proxy.reset_log();
    let again = env.flowgate().args(["stack", "delete", "--yes"]).output().unwrap();
    assert!(again.status.success());
    assert!(stdout(&again).contains("does not exist"), "said, not 'up to date': {}", stdout(&again));
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new());
}

/// A stack of flowgate's name made from another template (here a topic and a role) is not
/// flowgate's: stack delete and offboard refuse it, as stack deploy does, and stack status says so.
#[test]
fn a_stack_that_is_not_flowgates_is_never_deleted() {
    let env = Env::isolated();
    let template = r#"{"Resources": {
        "Alerts": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "team-alerts"}},
        "TeamRole": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "team-legacy-role",
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}}}}"#;
    let cfn = aws_sdk_cloudformation::Client::new(&env.sdk("us-east-1"));
    for name in ["flowgate-cross-account", "team-legacy"] {
        let role = format!("{name}-role");
        let body = template.replace("team-legacy-role", &role).replace("team-alerts", &format!("{name}-alerts"));
        block_on(cfn.create_stack().stack_name(name).template_body(body).send()).unwrap();
    }

    env.proxy.reset_log();
    let out = env.flowgate().args(["stack", "delete", "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("stack flowgate-cross-account is not flowgate's role stack"), "{}", stderr(&out));
    let out = env.flowgate().args(["offboard", "--stack-name", "team-legacy", "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("stack team-legacy is not flowgate's role stack"), "{}", stderr(&out));
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new(), "nothing deleted");
    for name in ["flowgate-cross-account", "team-legacy"] {
        let stacks = block_on(cfn.describe_stacks().stack_name(name).send()).unwrap();
        assert_eq!(stacks.stacks()[0].stack_status().map(|s| s.as_str()), Some("CREATE_COMPLETE"), "{name}");
    }

    // flowgate's parameters on another template (a queue): still not flowgate's to delete.
    let body = r#"{"Parameters": {"VendorAccountId": {"Type": "String"}, "ExternalId": {"Type": "String"}},
        "Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "team-queue"}}}}"#;
    let parameter = |k: &str, v: &str| aws_sdk_cloudformation::types::Parameter::builder().parameter_key(k).parameter_value(v).build();
    block_on(
        cfn.create_stack()
            .stack_name("other-stack")
            .template_body(body)
            .parameters(parameter("VendorAccountId", "111122223333"))
            .parameters(parameter("ExternalId", "some-external-id-0123456789"))
            .send(),
    )
    .unwrap();
    let out = env.flowgate().args(["stack", "delete", "--stack-name", "other-stack", "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("holds resources flowgate's template does not declare: Q (AWS::SQS::Queue)"), "{}", stderr(&out));
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new(), "nothing deleted");

    let status = env.flowgate().args(["stack", "status", "--output", "json"]).output().unwrap();
    assert_eq!(status.status.code(), Some(1), "{}", stderr(&status));
    assert_eq!(json_stdout(&status)["condition"], "not-flowgates");
    let text = env.flowgate().args(["stack", "status"]).output().unwrap();
    assert!(stdout(&text).contains("not flowgate's role stack"), "{}", stdout(&text));
}

fn changes_of<'a>(report: &'a Value, action: &str) -> Vec<&'a str> {
    report["changes"].as_array().unwrap().iter().filter(|c| c["action"] == action).map(|c| c["resource"].as_str().unwrap()).collect()
}

#[test]
fn change_set_preview_shows_the_change_set_and_leaves_nothing_behind() {
    let env = Env::isolated();
    let output = env
        .flowgate()
        .args([
            "stack",
            "deploy",
            "--vendor-account",
            VENDOR,
            "--external-id",
            "Team:flow-logs/2026",
            "--change-set-preview",
            "--dry-run",
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let report = json_stdout(&output);
    assert_eq!((report["dry_run"].as_bool(), report["plan_source"].as_str()), (Some(true), Some("change-set")));
    assert!(changes_of(&report, "add-resource").contains(&"CrossAccountRole"), "{report:#}");
    // CloudFormation's preview is asked for explicitly: its mutations are the change set and its
    // removal, with the empty stack CloudFormation made for it (REVIEW_IN_PROGRESS): no stack,
    // no role is left behind.
    let mutations = env.proxy.mutating_calls();
    assert_eq!(mutations, ["cloudformation:CreateChangeSet", "cloudformation:DeleteChangeSet", "cloudformation:DeleteStack"]);
    assert!(block_on(env.iam().get_role().role_name("FlowgateCrossAccountRole").send()).is_err());
    let status = env.flowgate().args(["stack", "status", "--output", "json"]).output().unwrap();
    assert_eq!(json_stdout(&status)["exists"], false, "no stub stack left");
    // And a real deploy after the dry run works.
    let deployed = env.flowgate().args(["stack", "deploy", "--vendor-account", VENDOR, "--yes", "-q"]).output().unwrap();
    assert!(deployed.status.success(), "{}", stderr(&deployed));
}

/// Issue 13 item 5: a dry run plans from a local comparison of the template and parameters, with
/// no mutating call ("CreateChangeSet ... for a stack that doesn't exist": CloudFormation creates
/// the stack in REVIEW_IN_PROGRESS, a write that needs permissions and leaves events;
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html,
/// parameter ChangeSetType). Issue 12 item 6: it shows no ExternalId the apply would replace.
#[test]
fn dry_run_plans_locally_without_a_mutating_call() {
    let env = Env::isolated();
    let dry = env
        .flowgate()
        .args([
            "stack",
            "deploy",
            "--vendor-account",
            VENDOR,
            "--storage-access",
            "--storage-ids",
            "flow-bucket-one",
            "--dry-run",
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    assert!(dry.status.success(), "{}", stderr(&dry));
    let report = json_stdout(&dry);
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new(), "a dry run makes no mutating call");
    assert_eq!(report["plan_source"], "local");
    assert_eq!(changes_of(&report, "create-stack"), ["flowgate-cross-account"]);
    assert_eq!(changes_of(&report, "add-resource"), ["CrossAccountRole", "DiscoveryPolicy", "StorageReadPolicy"], "{report:#}");
    // Item 6: the ExternalId is announced, not shown: the apply generates the one it uses.
    assert_eq!(report["external_id_generated"], true);
    let words: Vec<&str> = report["parameter_changes"].as_array().unwrap().iter().map(|c| c["text"].as_str().unwrap()).collect();
    assert!(words.iter().any(|w| w.contains("ExternalId will be generated when applied")), "{words:?}");
    assert!(!stderr(&dry).contains("generated a new ExternalId"), "{}", stderr(&dry));
    assert!(!stdout(&dry).contains("external_id\":\""), "no value in the report");

    // Without storage access the storage-read policy is not created: the template's
    // GrantStorage condition is false.
    let plain = env.flowgate().args(["stack", "deploy", "--vendor-account", VENDOR, "--dry-run", "--output", "json"]).output().unwrap();
    let report = json_stdout(&plain);
    assert_eq!(changes_of(&report, "add-resource"), ["CrossAccountRole", "DiscoveryPolicy"]);
    assert_eq!(
        changes_of(&report, "skip-resource"),
        ["StorageReadPolicy", "CompliancePolicy", "SegmentationWritePolicy"],
        "the compliance and write policies are off by default"
    );

    // An update: granting adds the policy, more buckets modify it, deploying without
    // --storage-access removes it. Each as a dry run, with no mutating call.
    let created = deploy(&env, &["--vendor-account", VENDOR]);
    assert!(created.status.success(), "{}", stderr(&created));
    let external_id = json_stdout(&created)["outputs"]["external_id"].as_str().unwrap().to_owned();
    env.proxy.reset_log();
    let dry_deploy = |args: &[&str]| {
        let out = env.flowgate().args(["stack", "deploy", "--dry-run", "--output", "json"]).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        json_stdout(&out)
    };
    let grant = dry_deploy(&["--storage-access", "--storage-ids", "flow-bucket-one"]);
    assert_eq!(changes_of(&grant, "add-resource"), ["StorageReadPolicy"], "{grant:#}");
    assert!(changes_of(&grant, "modify-resource").is_empty(), "{grant:#}");
    let rotate = dry_deploy(&["--external-id", "a-new-external-id-2026"]);
    assert_eq!(changes_of(&rotate, "modify-resource"), ["CrossAccountRole"], "a new ExternalId changes the trust policy: {rotate:#}");
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new());

    let granted = deploy(&env, &["--storage-access", "--storage-ids", "flow-bucket-one"]);
    assert!(granted.status.success(), "{}", stderr(&granted));
    assert_eq!(json_stdout(&granted)["outputs"]["external_id"], external_id.as_str());
    env.proxy.reset_log();
    let more = dry_deploy(&["--storage-access", "--storage-ids", "flow-bucket-one,flow-bucket-two"]);
    assert_eq!(changes_of(&more, "modify-resource"), ["StorageReadPolicy"], "{more:#}");
    let revoke = env.flowgate().args(["stack", "deploy", "--dry-run", "--output", "json"]).output().unwrap();
    assert!(stderr(&revoke).contains("WARNING: storage access will be REVOKED for bucket flow-bucket-one"), "{}", stderr(&revoke));
    assert_eq!(changes_of(&json_stdout(&revoke), "remove-resource"), ["StorageReadPolicy"]);
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new());
}

/// Issue 12 item 5: when CreateChangeSet fails for a stack that did not exist, the empty stack
/// CloudFormation made for it (REVIEW_IN_PROGRESS, API_CreateChangeSet.html above) is deleted.
/// The proxy lets the emulator create it, then answers 500 (and the SDK retries).
#[test]
fn a_failed_create_change_set_leaves_no_empty_stack() {
    let env = Env::isolated();
    env.proxy.fail_after_forwarding("CreateChangeSet");
    // The SDK retries the 500 (five attempts by default): each attempt reaches the emulator.
    let failed = env.flowgate().args(["stack", "deploy", "--vendor-account", VENDOR, "--yes"]).output().unwrap();
    assert_eq!(failed.status.code(), Some(1), "{}", stderr(&failed));
    env.proxy.clear_faults();
    assert!(env.proxy.mutating_calls().contains(&"cloudformation:DeleteStack".to_owned()), "{:?}", env.proxy.mutating_calls());
    let status = env.flowgate().args(["stack", "status", "--output", "json"]).output().unwrap();
    assert_eq!(json_stdout(&status)["exists"], false, "no REVIEW_IN_PROGRESS stub left: {}", stdout(&status));
    let deployed = deploy(&env, &["--vendor-account", VENDOR]);
    assert!(deployed.status.success(), "{}", stderr(&deployed));
}

/// Issue 12 item 5: a role trusting the caller's own account, or a short ExternalId, is warned
/// about and deployed only with a deliberate --yes.
#[test]
fn own_account_vendor_or_short_external_id_needs_yes() {
    let env = Env::isolated();
    let cases: &[(&[&str], &str)] = &[
        (&["--vendor-account", crate::support::ACCOUNT], "is this account itself"),
        (&["--vendor-account", VENDOR, "--external-id", "team-2026"], "the ExternalId has 9 characters"),
    ];
    for (args, warning) in cases {
        let refused = env.flowgate().args(["stack", "deploy"]).args(*args).output().unwrap();
        assert_eq!(refused.status.code(), Some(2), "{args:?}: {}", stderr(&refused));
        assert!(stderr(&refused).contains("WARNING:") && stderr(&refused).contains(warning), "{}", stderr(&refused));
        assert!(stderr(&refused).contains("--yes"), "{}", stderr(&refused));
        assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new(), "{args:?}");
    }
    let deliberate = deploy(&env, &["--vendor-account", VENDOR, "--external-id", "team-2026"]);
    assert!(deliberate.status.success(), "{}", stderr(&deliberate));
    assert!(stderr(&deliberate).contains("the ExternalId has 9 characters"));
    assert_eq!(json_stdout(&deliberate)["warnings"].as_array().unwrap().len(), 1);
    // onboard plans through the same stack step: the same warning, the same deliberate --yes.
    env.proxy.reset_log();
    let onboard = env
        .flowgate()
        .args(["onboard", "--bucket", "flowgate-warned-logs", "--regions", "us-east-1", "--vendor-account", crate::support::ACCOUNT])
        .args(["--stack-name", "flowgate-warned"])
        .output()
        .unwrap();
    assert_eq!(onboard.status.code(), Some(2), "{}", stderr(&onboard));
    assert!(stderr(&onboard).contains("is this account itself") && stderr(&onboard).contains("deliberate --yes"), "{}", stderr(&onboard));
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new());
    // Kept on the next deploy, it is not judged again.
    let again = env
        .flowgate()
        .args(["stack", "deploy", "--storage-access", "--storage-ids", "flow-bucket-one", "--output", "json", "--yes"])
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(json_stdout(&again)["warnings"].as_array().unwrap().is_empty());
}

/// Issue 12 item 5: every input is checked before the first call, the template included
/// (parsed locally: YAML with CloudFormation's short-form tags, or JSON).
#[test]
fn invalid_stack_input_exits_2_before_any_call() {
    let env = Env::isolated();
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let shipped = flowgate::core::stack_plan::TEMPLATE;
    let unparsable = file("unparsable.yaml", "Resources: [unclosed\n  - {\n");
    let no_resources = file("no-resources.yaml", &shipped[..shipped.find("Resources:").unwrap()]);
    let missing_parameter = file("missing-parameter.yaml", &shipped.replace("  StorageAccess:\n", "  StorageAccessFlag:\n"));
    let bad_json = file("bad.json", "{\"Resources\": {\"R\": {\"Properties\": {}}}}");
    let cases: &[&[&str]] = &[
        &["--vendor-account", "12345"],
        &["--vendor-account", VENDOR, "--external-id", "x"],
        &["--vendor-account", VENDOR, "--external-id", "has spaces in it"],
        &["--vendor-account", VENDOR, "--storage-ids", "flow-bucket-one"],
        &["--vendor-account", VENDOR, "--storage-access", "--storage-ids", "Bad_Bucket"],
        &["--vendor-account", VENDOR, "--storage-access", "--storage-ids", "arn:aws:s3:::flow-bucket/*"],
        &["--vendor-account", VENDOR, "--stack-name", "9lives"],
        &["--vendor-account", VENDOR, "--role-name", "has space"],
        &["--vendor-account", VENDOR, "--template", "/nonexistent/template.yaml"],
        &["--vendor-account", VENDOR, "--template", &unparsable],
        &["--vendor-account", VENDOR, "--template", &no_resources],
        &["--vendor-account", VENDOR, "--template", &missing_parameter],
        &["--vendor-account", VENDOR, "--template", &bad_json],
        // us-east-1 is in the aws partition: a bucket of aws-cn can never be granted there.
        &["--vendor-account", VENDOR, "--storage-access", "--storage-ids", "flow-bucket-one,arn:aws-cn:s3:::flow-bucket-cn"],
    ];
    for args in cases {
        let output = env.flowgate().args(["stack", "deploy", "--yes"]).args(*args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
        let err = stderr(&output);
        assert!(err.starts_with("error: "), "{args:?}: {err}");
    }
    assert!(env.proxy.requests().is_empty(), "{:?}", env.proxy.requests());
    let output = env.flowgate().args(["stack", "deploy", "--yes", "--vendor-account", VENDOR, "--template", &missing_parameter]).output().unwrap();
    assert!(stderr(&output).contains("does not declare the parameter(s) flowgate passes: StorageAccess"), "{}", stderr(&output));
    let output = env
        .flowgate()
        .args([
            "onboard",
            "--bucket",
            "flow-bucket-one",
            "--vendor-account",
            VENDOR,
            "--storage-access",
            "--storage-ids",
            "arn:aws-cn:s3:::flow-bucket-cn",
            "--yes",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("another partition"), "{}", stderr(&output));
    assert!(env.proxy.requests().is_empty(), "{:?}", env.proxy.requests());

    let first = env.flowgate().args(["stack", "deploy", "--yes"]).output().unwrap();
    assert_eq!(first.status.code(), Some(2));
    assert!(stderr(&first).contains("--vendor-account is required"), "{}", stderr(&first));
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new());
}

/// A template given with --template, in JSON, gets the same local plan: its conditions decide
/// which resources exist.
#[test]
fn a_json_template_is_planned_from_its_conditions() {
    let env = Env::isolated();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("role.json");
    let template = serde_json::json!({
        "Parameters": {
            "VendorAccountId": {"Type": "String"}, "ExternalId": {"Type": "String"}, "RoleName": {"Type": "String"},
            "StorageAccess": {"Type": "String", "Default": "false"}, "StorageBucketNames": {"Type": "CommaDelimitedList", "Default": ""}
        },
        "Conditions": {"NoStorage": {"Fn::Not": [{"Fn::Equals": [{"Ref": "StorageAccess"}, "true"]}]}},
        "Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": {"Ref": "RoleName"}, "AssumeRolePolicyDocument": {
                "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${VendorAccountId}:root"}},
                "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}}}]}}},
            "Marker": {"Type": "AWS::SNS::Topic", "Condition": "NoStorage"}
        }
    });
    std::fs::write(&path, serde_json::to_string_pretty(&template).unwrap()).unwrap();
    let dry = env
        .flowgate()
        .args(["stack", "deploy", "--vendor-account", VENDOR, "--template", path.to_str().unwrap(), "--dry-run", "--output", "json"])
        .output()
        .unwrap();
    assert!(dry.status.success(), "{}", stderr(&dry));
    assert_eq!(changes_of(&json_stdout(&dry), "add-resource"), ["Role", "Marker"]);
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new());
}

fn venv_tool(name: &str) -> std::path::PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin").join(name);
    assert!(path.exists(), "{} is missing: run scripts/setup-emulator", path.display());
    path
}

#[test]
fn template_passes_cfn_lint_without_warnings() {
    let output = Command::new(venv_tool("cfn-lint"))
        .args(["--include-checks", "I", "--", "templates/cross-account-role.yaml"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(output.status.success() && output.stdout.is_empty(), "cfn-lint:\n{}{}", stdout(&output), stderr(&output));
}

#[test]
fn template_discovery_policy_is_the_policy_file() {
    // cfn-lint's decoder reads the template's YAML tags (!Ref, !Sub...).
    let script = r#"
import json, sys
from cfnlint.decode import decode
template, errors = decode("templates/cross-account-role.yaml")
assert not errors, errors
doc = template["Resources"]["DiscoveryPolicy"]["Properties"]["PolicyDocument"]
print(json.dumps(doc))
"#;
    let output = Command::new(venv_tool("python")).args(["-c", script]).current_dir(env!("CARGO_MANIFEST_DIR")).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let in_template: Value = serde_json::from_slice(&output.stdout).unwrap();
    let file: Value = serde_json::from_str(flowgate::core::stack_plan::DISCOVERY_POLICY).unwrap();
    assert_eq!(in_template, file);
}

fn status_json(env: &Env) -> (Option<i32>, Value) {
    let output = env.flowgate().args(["stack", "status", "--output", "json"]).output().unwrap();
    (output.status.code(), json_stdout(&output))
}

/// Issue 23 item 5: `stack status` reported what the role can do from the stack's parameters, so
/// a role given `s3:*` and `ec2:*` by hand was "can_write: false". It now reads the role's
/// policies (and the buckets' policies) as `access list` does.
#[test]
fn status_reads_what_the_role_can_do_not_the_parameters() {
    let env = Env::isolated();
    let bucket = "status-reads-role";
    block_on(env.s3("us-east-1").create_bucket().bucket(bucket).send()).unwrap();
    let deployed = deploy(&env, &["--vendor-account", VENDOR, "--storage-access", "--storage-ids", bucket]);
    assert!(deployed.status.success(), "{}", stderr(&deployed));
    let (code, status) = status_json(&env);
    assert_eq!(code, Some(0));
    assert_eq!(status["role_found"], true);
    assert_eq!(status["trusted_accounts"], serde_json::json!([VENDOR]));
    assert_eq!(status["permission_sets"], serde_json::json!(["network-discovery", "storage-read"]));
    assert_eq!(status["readable_buckets"], serde_json::json!([bucket]));
    assert_eq!((status["can_write"].clone(), status["s3_writes"].clone()), (Value::Bool(false), serde_json::json!([])));

    let everything = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:*", "ec2:*"], "Resource": "*"}]});
    let iam = env.iam();
    block_on(iam.put_role_policy().role_name("FlowgateCrossAccountRole").policy_name("AddedByHand").policy_document(everything.to_string()).send())
        .unwrap();
    let (_, status) = status_json(&env);
    assert_eq!(status["parameters"]["read_write"], false, "the parameters still say read-only");
    assert_eq!(status["can_write"], true, "{status:#}");
    assert_eq!(status["security_group_writes"].as_array().unwrap().len(), 8, "{status:#}");
    let writes = &status["s3_writes"][0];
    assert_eq!(writes["bucket"], bucket);
    assert!(writes["actions"].as_array().unwrap().iter().any(|a| a == "s3:PutObject"), "{status:#}");
    assert_eq!(status["permission_sets"], serde_json::json!(["network-discovery", "segmentation-write", "storage-read"]));
    let text = env.flowgate().args(["stack", "status"]).output().unwrap();
    assert!(stdout(&text).contains("security-group rules: YES, read-write mode"), "{}", stdout(&text));
    assert!(stdout(&text).contains(&format!("S3 writes       {bucket}: s3:PutObject")), "{}", stdout(&text));
}

/// AWS behaviour the emulator cannot produce: a failed create ends in ROLLBACK_COMPLETE, with
/// every resource CloudFormation made deleted (moto leaves a failed stack in
/// CREATE_IN_PROGRESS). The stack's role is gone, and a role of that name, if any, is not the
/// stack's: status reports no trust and no access, and reads no IAM at all.
#[test]
fn a_rolled_back_stack_has_no_role_and_no_access() {
    let env = Env::isolated();
    let deployed = deploy(&env, &["--vendor-account", VENDOR, "--read-write"]);
    assert!(deployed.status.success(), "{}", stderr(&deployed));
    env.proxy.rewrite_response("DescribeStacks", |body| body.replace("CREATE_COMPLETE", "ROLLBACK_COMPLETE"));
    env.proxy.reset_log();
    let (code, status) = status_json(&env);
    assert_eq!(code, Some(1));
    assert_eq!(status["condition"], "rollback-complete");
    assert_eq!(status["role_found"], false);
    assert_eq!(
        (&status["trusted_accounts"], &status["permission_sets"], &status["readable_buckets"], &status["can_write"]),
        (&serde_json::json!([]), &serde_json::json!([]), &serde_json::json!([]), &Value::Bool(false))
    );
    assert!(env.proxy.requests().iter().all(|r| r.service != "iam"), "no role is read: {:?}", env.proxy.requests());
    let text = env.flowgate().args(["stack", "status"]).output().unwrap();
    assert!(stdout(&text).contains("not found: it trusts no one and grants nothing"), "{}", stdout(&text));
}

/// A role deleted by hand (GetRole answers NoSuchEntity) trusts no one and grants nothing,
/// whatever the stack's parameters say.
#[test]
fn a_role_deleted_by_hand_has_no_trust_and_no_access() {
    let env = Env::isolated();
    let deployed = deploy(&env, &["--vendor-account", VENDOR, "--read-write", "--storage-access", "--storage-ids", "gone-role-bucket"]);
    assert!(deployed.status.success(), "{}", stderr(&deployed));
    let iam = env.iam();
    let role = "FlowgateCrossAccountRole";
    for name in block_on(iam.list_role_policies().role_name(role).send()).unwrap().policy_names() {
        block_on(iam.delete_role_policy().role_name(role).policy_name(name).send()).unwrap();
    }
    block_on(iam.delete_role().role_name(role).send()).unwrap();
    let (code, status) = status_json(&env);
    assert_eq!(code, Some(0), "the stack itself is still ready: {status:#}");
    assert_eq!((status["role_found"].clone(), status["can_write"].clone()), (Value::Bool(false), Value::Bool(false)));
    assert_eq!(status["parameters"]["read_write"], true);
    assert_eq!((&status["trusted_accounts"], &status["readable_buckets"]), (&serde_json::json!([]), &serde_json::json!([])));
}
