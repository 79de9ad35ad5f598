//! A drop-in for the vendor's deployment script (deploy-colortokens-aws-stack.sh): its flags as
//! aliases, the wrong-account guard, the compliance (XCloud) account and read-write mode.
//!
//! Removals (--no-deploy-xcloud, a deploy without --read-write) are asserted on the stack's
//! parameters and on the plan, not on IAM: AWS CloudFormation deletes a resource whose condition
//! turns false on a stack update and re-renders the role's trust policy ("At stack creation or
//! stack update, CloudFormation evaluates all the conditions in your template ... Any resources
//! that are associated with a false condition are ignored", CloudFormation User Guide,
//! https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/conditions-section-structure.html),
//! but the emulator keeps both (moto never deletes such a policy nor rewrites a trust policy on
//! update). The local plan's removal of those resources is unit-tested in the core
//! (stack_template: compliance_and_write_modes_add_and_remove_their_resources).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::support::{ACCESS_KEY, ACCOUNT, Env, SECRET_KEY, block_on, json_stdout, stderr};

const VENDOR: &str = "111122223333";
const XCLOUD: &str = "444455556666";
const ROLE: &str = "FlowgateCrossAccountRole";

/// Every (policy name, document) of the role's inline policies.
fn role_policies(env: &Env) -> BTreeMap<String, Value> {
    let iam = env.iam();
    let names = block_on(iam.list_role_policies().role_name(ROLE).send()).unwrap().policy_names().to_vec();
    names
        .into_iter()
        .map(|name| {
            let doc = block_on(iam.get_role_policy().role_name(ROLE).policy_name(&name).send()).unwrap();
            (name, Value::Object(flowgate::core::policy_doc::parse_document(doc.policy_document()).unwrap()))
        })
        .collect()
}

fn trust_statement(env: &Env) -> Value {
    let role = block_on(env.iam().get_role().role_name(ROLE).send()).unwrap();
    let trust = flowgate::core::policy_doc::parse_document(role.role().unwrap().assume_role_policy_document().unwrap()).unwrap();
    flowgate::core::policy_doc::statements(&trust).unwrap()[0].clone()
}

fn texts(report: &Value, key: &str) -> Vec<String> {
    report[key].as_array().unwrap().iter().map(|c| c["text"].as_str().map(str::to_owned).unwrap_or_else(|| c.to_string())).collect()
}

fn changes_of<'a>(report: &'a Value, action: &str) -> Vec<&'a str> {
    report["changes"].as_array().unwrap().iter().filter(|c| c["action"] == action).map(|c| c["resource"].as_str().unwrap()).collect()
}

fn deploy(env: &Env, args: &[&str]) -> std::process::Output {
    env.flowgate().args(["stack", "deploy", "--yes", "--output", "json"]).args(args).output().unwrap()
}

fn json_of(env: &Env, args: &[&str]) -> Value {
    let output = env.flowgate().args(args).args(["--output", "json"]).output().unwrap();
    json_stdout(&output)
}

/// The script's full example command line, with its profile from a config file: the stack trusts
/// both vendor accounts (one statement, one ExternalId condition), grants the compliance read set
/// and the two buckets, and a second run changes nothing.
#[test]
fn the_scripts_command_line_deploys_both_accounts_and_the_storage_grant() {
    let env = Env::isolated();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    // The profile carries the credentials and another region than --region: the run only works
    // if the profile is read, and --region wins as in the script.
    std::fs::write(
        &config,
        format!("[profile pipeline]\nregion = eu-west-1\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"),
    )
    .unwrap();
    let script_line = [
        "stack",
        "deploy",
        "--aws-profile",
        "pipeline",
        "--target-account",
        ACCOUNT,
        "--colortokens-account",
        VENDOR,
        "--xcloud-account",
        XCLOUD,
        "--region",
        "us-east-1",
        "--storage-access",
        "--storage-ids",
        "flow-b1,flow-b2",
        "--yes",
        "--output",
        "json",
    ];
    let run = || {
        let mut cmd = env.flowgate_process();
        cmd.env_remove("AWS_ACCESS_KEY_ID").env_remove("AWS_SECRET_ACCESS_KEY").env_remove("AWS_REGION").env("AWS_CONFIG_FILE", &config);
        cmd.args(script_line).output().unwrap()
    };
    let first = run();
    assert!(first.status.success(), "{}", stderr(&first));
    let report = json_stdout(&first);
    assert_eq!(report["operation"], "create");
    assert_eq!(report["outputs"]["compliance_account"], XCLOUD);
    assert_eq!(report["outputs"]["read_write"], false);
    let external_id = report["outputs"]["external_id"].as_str().unwrap().to_owned();
    assert!(texts(&report, "parameter_changes").iter().any(|t| t.contains(&format!("compliance account {XCLOUD} will be TRUSTED"))));

    // One trust statement: both accounts, and the ExternalId condition holds for both.
    let trust = trust_statement(&env);
    let principals: Vec<&str> = trust["Principal"]["AWS"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(principals, [format!("arn:aws:iam::{VENDOR}:root"), format!("arn:aws:iam::{XCLOUD}:root")]);
    assert_eq!(trust["Condition"]["StringEquals"]["sts:ExternalId"], external_id.as_str());

    let policies = role_policies(&env);
    let compliance_file: Value = serde_json::from_str(flowgate::core::stack_plan::COMPLIANCE_POLICY).unwrap();
    assert_eq!(policies["FlowgateComplianceRead"]["Statement"][0]["Action"], compliance_file["Statement"][0]["Action"]);
    assert!(!policies.contains_key("FlowgateSegmentationWrite"), "read-only without --read-write: {policies:?}");
    let storage = policies["FlowgateStorageRead"].to_string();
    assert!(storage.contains("arn:aws:s3:::flow-b1/*") && storage.contains("arn:aws:s3:::flow-b2/*"), "{storage}");

    let status = json_of(&env, &["stack", "status"]);
    assert_eq!(status["trusted_accounts"], serde_json::json!([VENDOR, XCLOUD]));
    assert_eq!(status["permission_sets"], serde_json::json!(["network-discovery", "compliance-read", "storage-read"]));
    assert_eq!(status["can_write"], false);
    assert_eq!(status["readable_buckets"], serde_json::json!(["flow-b1", "flow-b2"]));
    let listed = json_of(&env, &["access", "list"]);
    assert_eq!(listed["trusted_accounts"], serde_json::json!([VENDOR, XCLOUD]));
    assert_eq!(listed["permission_sets"], serde_json::json!(["compliance-read"]));
    assert_eq!(listed["can_write"], false);

    // The same command line again: nothing to change, no mutating call.
    env.proxy.reset_log();
    let again = run();
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(json_stdout(&again)["operation"], "none");
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new());
}

/// --target-account of another account: exit 2 with both ids, one JSON error document, and no
/// call but STS GetCallerIdentity, for every mutating command.
#[test]
fn another_target_account_stops_every_mutating_command_before_any_other_call() {
    let env = Env::shared();
    let other = "210987654321";
    let commands: [&[&str]; 8] = [
        &["stack", "deploy", "--vendor-account", VENDOR, "--read-write", "--yes"],
        &["stack", "delete", "--yes"],
        &["bucket", "create", "--bucket", "vendor-guard-bucket", "--yes"],
        &["flowlogs", "enable", "--bucket", "vendor-guard-bucket", "--yes"],
        &["flowlogs", "disable", "--yes"],
        &["onboard", "--bucket", "vendor-guard-bucket", "--colortokens-account", VENDOR, "--storage-access", "--yes"],
        &["offboard", "--yes"],
        &["access", "grant", "--bucket", "vendor-guard-bucket", "--yes"],
    ];
    for command in commands {
        env.proxy.reset_log();
        let output = env.flowgate().args(command).args(["--target-account", other, "--output", "json"]).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{command:?}: {}", stderr(&output));
        let message = stderr(&output);
        assert!(message.contains(other) && message.contains(ACCOUNT), "{command:?}: {message}");
        let document = json_stdout(&output);
        assert_eq!(document["error"]["exit_code"], 2, "{document}");
        let calls: Vec<String> = env.proxy.requests().iter().map(|r| format!("{}:{}", r.service, r.action)).collect();
        assert_eq!(calls, ["sts:GetCallerIdentity"], "{command:?}");
    }
    // The right account passes the guard (a dry run: nothing changes).
    env.proxy.reset_log();
    let output = env
        .flowgate()
        .args(["stack", "deploy", "--vendor-account", VENDOR, "--stack-name", "vendor-guard", "--dry-run", "--target-account", ACCOUNT])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(env.proxy.requests().first().map(|r| r.action.as_str()), Some("GetCallerIdentity"));
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new());
}

/// --read-write adds the write policy (security groups and rules of the account only); a deploy
/// without it removes it, with a warning in the plan; each second run changes nothing.
#[test]
fn read_write_is_added_and_removed_by_a_deploy_without_it() {
    let env = Env::isolated();
    let added = deploy(&env, &["--vendor-account", VENDOR, "--read-write"]);
    assert!(added.status.success(), "{}", stderr(&added));
    let report = json_stdout(&added);
    assert_eq!(changes_of(&report, "add-resource"), ["CrossAccountRole", "DiscoveryPolicy", "SegmentationWritePolicy"]);
    let write = &role_policies(&env)["FlowgateSegmentationWrite"];
    let file = flowgate::core::stack_plan::SEGMENTATION_WRITE_POLICY.replace("${Partition}", "aws").replace("${AccountId}", ACCOUNT);
    assert_eq!(write["Statement"], serde_json::from_str::<Value>(&file).unwrap()["Statement"]);
    // ModifySecurityGroupRules takes rule ids: the role can list them.
    assert!(
        write["Statement"].as_array().unwrap().iter().any(|s| s["Action"] == "ec2:DescribeSecurityGroupRules" && s["Resource"] == "*"),
        "{write}"
    );
    assert_eq!(json_of(&env, &["stack", "status"])["can_write"], true);
    let listed = json_of(&env, &["access", "list"]);
    assert_eq!(listed["can_write"], true);
    assert_eq!(listed["write_actions"].as_array().unwrap().len(), 8);

    env.proxy.reset_log();
    let again = deploy(&env, &["--read-write"]);
    assert_eq!(json_stdout(&again)["operation"], "none", "{}", stderr(&again));
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new());

    // access grant through the stack changes the bucket list only: the write mode stays.
    let granted = env.flowgate().args(["access", "grant", "--bucket", "vendor-rw-bucket", "--yes", "--output", "json"]).output().unwrap();
    assert!(granted.status.success(), "{}", stderr(&granted));
    let status = json_of(&env, &["stack", "status"]);
    assert_eq!((status["can_write"].clone(), status["readable_buckets"].clone()), (Value::Bool(true), serde_json::json!(["vendor-rw-bucket"])));

    // The script's meaning: no --read-write is read-only, so the write policy goes, loudly.
    let removed = deploy(&env, &["--storage-access", "--storage-ids", "vendor-rw-bucket"]);
    assert!(removed.status.success(), "{}", stderr(&removed));
    assert!(stderr(&removed).contains("security-group rule management will be REVOKED"), "{}", stderr(&removed));
    let report = json_stdout(&removed);
    assert_eq!(changes_of(&report, "remove-resource"), ["SegmentationWritePolicy"]);
    let loud: Vec<&Value> = report["parameter_changes"].as_array().unwrap().iter().filter(|c| c["parameter"] == "ReadWrite").collect();
    assert_eq!(loud.len(), 1);
    assert_eq!(loud[0]["loud"], true);
    // stack status reads the role: the emulator keeps the write policy CloudFormation deletes on
    // AWS (see the module comment), so it is deleted here as AWS would, and status follows.
    block_on(env.iam().delete_role_policy().role_name(ROLE).policy_name("FlowgateSegmentationWrite").send()).unwrap();
    let status = json_of(&env, &["stack", "status"]);
    assert_eq!((status["can_write"].clone(), status["parameters"]["read_write"].clone()), (Value::Bool(false), Value::Bool(false)));

    env.proxy.reset_log();
    let again = deploy(&env, &["--storage-access", "--storage-ids", "vendor-rw-bucket"]);
    assert_eq!(json_stdout(&again)["operation"], "none", "{}", stderr(&again));
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new());
}

/// A compliance account is kept by a deploy that does not mention it, and --no-deploy-xcloud
/// removes its trust and policy (also when the script passes --xcloud-account with it).
#[test]
fn no_deploy_xcloud_removes_the_compliance_trust_and_policy() {
    let env = Env::isolated();
    let created = deploy(&env, &["--vendor-account", VENDOR, "--compliance-account", XCLOUD]);
    assert!(created.status.success(), "{}", stderr(&created));
    assert!(role_policies(&env).contains_key("FlowgateComplianceRead"));

    env.proxy.reset_log();
    let kept = deploy(&env, &[]);
    assert_eq!(json_stdout(&kept)["operation"], "none", "omitted: kept, as the vendor account is; {}", stderr(&kept));
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new());

    let removed = deploy(&env, &["--xcloud-account", XCLOUD, "--no-deploy-xcloud"]);
    assert!(removed.status.success(), "{}", stderr(&removed));
    assert!(stderr(&removed).contains(&format!("compliance account {XCLOUD} will be REMOVED")), "{}", stderr(&removed));
    // Both flags: the script's meaning (removed), said as a contradiction, never "pass it to keep it".
    assert!(stderr(&removed).contains(&format!("{XCLOUD} and --no-compliance (--no-deploy-xcloud) contradict")), "{}", stderr(&removed));
    assert!(!stderr(&removed).contains("pass --compliance-account/--xcloud-account to keep it"), "{}", stderr(&removed));
    let report = json_stdout(&removed);
    assert_eq!(changes_of(&report, "remove-resource"), ["CompliancePolicy"]);
    assert_eq!(changes_of(&report, "modify-resource"), ["CrossAccountRole"], "the trust policy loses the account");
    // The parameters: stack status's trusted_accounts and permission_sets read the role, whose
    // trust policy and compliance policy the emulator keeps (see the module comment).
    let status = json_of(&env, &["stack", "status"]);
    assert_eq!(status["parameters"]["compliance_account"], Value::Null);
    assert_eq!(status["parameters"]["vendor_account"], VENDOR);

    env.proxy.reset_log();
    let again = deploy(&env, &["--no-deploy-xcloud"]);
    assert_eq!(json_stdout(&again)["operation"], "none", "{}", stderr(&again));
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new());
}

/// The template's inline copies of the two new policies are the reviewed files.
#[test]
fn template_vendor_policies_are_the_policy_files() {
    let script = r#"
import json
from cfnlint.decode import decode
template, errors = decode("templates/cross-account-role.yaml")
assert not errors, errors
def plain(v):
    if isinstance(v, dict) and list(v) == ["Fn::Sub"]:
        return v["Fn::Sub"].replace("${AWS::Partition}", "${Partition}").replace("${AWS::AccountId}", "${AccountId}")
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    return v
r = template["Resources"]
print(json.dumps([plain(r["CompliancePolicy"]["Properties"]["PolicyDocument"]), plain(r["SegmentationWritePolicy"]["Properties"]["PolicyDocument"])]))
"#;
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    let output = std::process::Command::new(python).args(["-c", script]).current_dir(env!("CARGO_MANIFEST_DIR")).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let in_template: Value = serde_json::from_slice(&output.stdout).unwrap();
    let files: Value = serde_json::json!([
        serde_json::from_str::<Value>(flowgate::core::stack_plan::COMPLIANCE_POLICY).unwrap(),
        serde_json::from_str::<Value>(flowgate::core::stack_plan::SEGMENTATION_WRITE_POLICY).unwrap(),
    ]);
    assert_eq!(in_template, files);
}
