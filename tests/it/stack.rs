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
    assert_eq!(json_stdout(&deleted)["final_status"], "DELETE_COMPLETE");
    let gone = env.flowgate().args(["stack", "status"]).output().unwrap();
    assert_eq!(gone.status.code(), Some(1));
    assert!(stdout(&gone).contains("does not exist"));
    env.proxy.reset_log();
    let again = env.flowgate().args(["stack", "delete", "--yes"]).output().unwrap();
    assert!(again.status.success());
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new());
}

#[test]
fn dry_run_shows_the_change_set_and_leaves_nothing_behind() {
    let env = Env::isolated();
    let output = env
        .flowgate()
        .args(["stack", "deploy", "--vendor-account", VENDOR, "--external-id", "Team:flow-logs/2026", "--dry-run", "--output", "json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let report = json_stdout(&output);
    assert_eq!(report["dry_run"], true);
    let adds: Vec<&str> =
        report["changes"].as_array().unwrap().iter().filter(|c| c["action"] == "add-resource").map(|c| c["resource"].as_str().unwrap()).collect();
    assert!(adds.contains(&"CrossAccountRole"), "{report:#}");
    // The only mutations were the change set and its deletion: no stack resources.
    // The only mutations were the change set and its removal, with the empty stack CloudFormation
    // made for it (REVIEW_IN_PROGRESS): no stack, no role is left behind.
    let mutations = env.proxy.mutating_calls();
    assert_eq!(mutations, ["cloudformation:CreateChangeSet", "cloudformation:DeleteChangeSet", "cloudformation:DeleteStack"]);
    assert!(block_on(env.iam().get_role().role_name("FlowgateCrossAccountRole").send()).is_err());
    let status = env.flowgate().args(["stack", "status", "--output", "json"]).output().unwrap();
    assert_eq!(json_stdout(&status)["exists"], false, "no stub stack left");
    // And a real deploy after the dry run works.
    let deployed = env.flowgate().args(["stack", "deploy", "--vendor-account", VENDOR, "--yes", "-q"]).output().unwrap();
    assert!(deployed.status.success(), "{}", stderr(&deployed));
}

#[test]
fn invalid_stack_input_exits_2_before_any_call() {
    let env = Env::isolated();
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
    ];
    for args in cases {
        let output = env.flowgate().args(["stack", "deploy", "--yes"]).args(*args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
        let err = stderr(&output);
        assert!(err.starts_with("error: "), "{args:?}: {err}");
    }
    assert!(env.proxy.requests().is_empty(), "{:?}", env.proxy.requests());

    let first = env.flowgate().args(["stack", "deploy", "--yes"]).output().unwrap();
    assert_eq!(first.status.code(), Some(2));
    assert!(stderr(&first).contains("--vendor-account is required"), "{}", stderr(&first));
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
