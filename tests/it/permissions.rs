//! `flowgate permissions COMMAND`: the operator policy rendered for the names given, printed
//! without any AWS call or configuration, linted as an administrator would get it.

use std::path::Path;

use crate::support::{Flowgate, stderr, stdout};

/// flowgate with no AWS configuration at all: no credentials, no region, no endpoint.
fn flowgate() -> Flowgate {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("flowgate"));
    for var in ["AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
        cmd.env_remove(var);
    }
    cmd.env("AWS_CONFIG_FILE", "/dev/null").env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null").env("NO_COLOR", "1");
    Flowgate::from_std(cmd)
}

fn actions(policy: &serde_json::Value) -> Vec<String> {
    let mut all = Vec::new();
    for statement in policy["Statement"].as_array().unwrap() {
        match &statement["Action"] {
            serde_json::Value::String(a) => all.push(a.clone()),
            serde_json::Value::Array(items) => all.extend(items.iter().map(|a| a.as_str().unwrap().to_owned())),
            _ => {}
        }
    }
    all
}

/// CloudFormation deletes an AWS::IAM::Role with the caller's credentials (no service role) and
/// its delete handler lists and removes the role's policies first (resource provider schema
/// handlers.delete; CloudFormation User Guide, "CloudFormation service role"): the printed
/// stack-delete policy must allow that on the named role, in the named stack.
#[test]
fn prints_the_stack_delete_policy_for_the_names_given_without_aws() {
    let output = flowgate()
        .args(["permissions", "stack-delete", "--role-name", "VendorRole", "--stack-name", "vendor-stack", "--account", "123456789012"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let policy: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let granted = actions(&policy);
    for action in [
        "cloudformation:DeleteStack",
        "iam:DeleteRole",
        "iam:ListRolePolicies",
        "iam:ListAttachedRolePolicies",
        "iam:DetachRolePolicy",
        "iam:DeleteRolePolicy",
    ] {
        assert!(granted.iter().any(|a| a == action), "{action} missing: {policy}");
    }
    let text = policy.to_string();
    assert!(text.contains("arn:aws:iam::123456789012:role/VendorRole"), "{text}");
    assert!(text.contains("arn:aws:cloudformation:*:123456789012:stack/vendor-stack/*"), "{text}");
    assert!(!text.contains("${") && !text.contains("FlowgateCrossAccountRole"), "{text}");

    // The same document with --output json, and the command typed as words.
    let json = flowgate()
        .args([
            "--output",
            "json",
            "permissions",
            "stack",
            "delete",
            "--role-name",
            "VendorRole",
            "--stack-name",
            "vendor-stack",
            "--account",
            "123456789012",
        ])
        .output()
        .unwrap();
    assert_eq!(json.status.code(), Some(0), "{}", stderr(&json));
    assert_eq!(serde_json::from_str::<serde_json::Value>(&stdout(&json)).unwrap(), policy);
}

#[test]
fn the_partition_comes_from_the_flag_or_the_region() {
    let by_region = flowgate().args(["--region", "eusc-de-east-1", "permissions", "verify", "--bucket", "acme-logs"]).output().unwrap();
    assert_eq!(by_region.status.code(), Some(0), "{}", stderr(&by_region));
    assert!(stdout(&by_region).contains("arn:aws-eusc:s3:::acme-logs/*"), "{}", stdout(&by_region));
    assert!(!stdout(&by_region).contains("arn:aws:"), "{}", stdout(&by_region));
    let by_flag = flowgate().args(["permissions", "offboard", "--bucket", "acme-logs", "--partition", "aws-us-gov"]).output().unwrap();
    assert!(stdout(&by_flag).contains("arn:aws-us-gov:iam::*:role/FlowgateCrossAccountRole"), "{}", stdout(&by_flag));
}

#[test]
fn bad_input_exits_2_with_what_to_do() {
    let unknown = flowgate().args(["permissions", "deploy"]).output().unwrap();
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("'deploy' is not a flowgate command") && stderr(&unknown).contains("stack-deploy, stack-status"),
        "{}",
        stderr(&unknown)
    );
    assert!(stdout(&unknown).is_empty() || stdout(&unknown).trim_start().starts_with('{'));

    let no_bucket = flowgate().args(["permissions", "bucket-create"]).output().unwrap();
    assert_eq!(no_bucket.status.code(), Some(2));
    assert!(stderr(&no_bucket).contains("pass --bucket NAME"), "{}", stderr(&no_bucket));

    for bad in [
        &["--role-name", "bad/role"][..],
        &["--stack-name", "bad_stack"],
        &["--bucket", "Bad_Bucket"],
        &["--partition", "azure"],
        &["--account", "12"],
    ] {
        let output = flowgate().args(["permissions", "stack-deploy"]).args(bad).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{bad:?}: {}", stderr(&output));
    }
}

/// Every command's printed policy passes parliament with no finding above LOW but the accepted
/// ones (scripts/lint-policies.py lists them with their reasons).
#[test]
fn every_printed_policy_passes_parliament() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join(".venv-security/bin/python");
    assert!(python.exists(), "{} is missing: run scripts/setup-emulator --with-security-tools", python.display());
    let output = std::process::Command::new(python)
        .arg("scripts/lint-policies.py")
        .env("FLOWGATE", assert_cmd::cargo::cargo_bin("flowgate"))
        .current_dir(root)
        .output()
        .unwrap();
    assert!(output.status.success(), "parliament:\n{}{}", stdout(&output), stderr(&output));
    let listed = flowgate().args(["permissions", "--list"]).output().unwrap();
    let commands: Vec<String> = stdout(&listed).lines().map(str::to_owned).collect();
    assert!(commands.len() >= 15 && commands.contains(&"offboard".to_owned()), "{commands:?}");
    for command in &commands {
        assert!(stdout(&output).contains(&format!("linted permissions:{command}: ")), "{command} was not linted:\n{}", stdout(&output));
    }
    assert!(stdout(&output).contains("0 finding(s) above LOW"), "{}", stdout(&output));
}

/// The permissions table (docs/permissions.md) names every command and how to print its policy:
/// the printed policy is the source of truth, not a copy in the documentation.
#[test]
fn the_permissions_doc_shows_how_to_print_every_commands_policy() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/permissions.md")).unwrap();
    let listed = flowgate().args(["permissions", "--list"]).output().unwrap();
    for command in stdout(&listed).lines() {
        assert!(doc.contains(&format!("`flowgate permissions {command}")), "docs/permissions.md lacks `flowgate permissions {command}`");
    }
}
