//! `--dry-run` promises "change nothing": for every command that changes anything, a dry run
//! reads the account, prints the plan and makes no mutating AWS call (the chaos proxy counts
//! calls by action). The account is set up first so that every command has something to plan.

use serde_json::json;

use crate::support::{Env, block_on, stderr, stdout};

const VENDOR: &str = "111122223333";
const BUCKET: &str = "flowgate-dry-run-logs";
const HAND_ROLE: &str = "HandMadeVendorRole";

#[test]
fn no_dry_run_of_any_command_makes_a_mutating_call() {
    let env = Env::isolated();
    // The account: a flow-log bucket, flowgate's flow logs in us-east-1, the role stack granting
    // the bucket, and a role made by hand that reads another bucket.
    let setup: &[&[&str]] = &[
        &["bucket", "create", "--bucket", BUCKET],
        &["flowlogs", "enable", "--bucket", BUCKET, "--regions", "us-east-1"],
        &["stack", "deploy", "--vendor-account", VENDOR, "--storage-access", "--storage-ids", BUCKET],
    ];
    for args in setup {
        let out = env.flowgate().args(*args).args(["--yes", "-q"]).output().unwrap();
        assert!(out.status.success(), "setup {args:?}: {}", stderr(&out));
    }
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{VENDOR}:root")},
        "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"sts:ExternalId": "hand-made-external-id"}}}]});
    let iam = env.iam();
    block_on(iam.create_role().role_name(HAND_ROLE).assume_role_policy_document(trust.to_string()).send()).unwrap();
    let read = json!({"Version": "2012-10-17", "Statement": [{"Sid": "FlowgateS3ObjectRead", "Effect": "Allow", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::hand-read-logs/*"}]});
    block_on(iam.put_role_policy().role_name(HAND_ROLE).policy_name("VendorRead").policy_document(read.to_string()).send()).unwrap();

    let runs: &[&[&str]] = &[
        &["bucket", "create", "--bucket", "flowgate-dry-run-new"],
        &["bucket", "create", "--bucket", BUCKET, "--expire-days", "30"],
        &["flowlogs", "enable", "--bucket", BUCKET, "--regions", "us-east-1,eu-west-1"],
        &["flowlogs", "disable", "--regions", "us-east-1"],
        // A first deploy of another stack (CreateChangeSet would create it), and an update that
        // revokes the storage access of this one.
        &["stack", "deploy", "--stack-name", "flowgate-dry-run-other", "--vendor-account", VENDOR, "--storage-access", "--storage-ids", BUCKET],
        &["stack", "deploy"],
        &["stack", "delete"],
        &["access", "grant", "--bucket", "flowgate-dry-run-more"],
        &["access", "revoke", "--bucket", BUCKET],
        &["access", "grant", "--via", "role", "--role-name", HAND_ROLE, "--bucket", "flowgate-dry-run-more"],
        &["access", "revoke", "--via", "role", "--role-name", HAND_ROLE, "--bucket", "hand-read-logs"],
        &[
            "onboard",
            "--bucket",
            "flowgate-dry-run-fresh",
            "--regions",
            "eu-west-1",
            "--vendor-account",
            VENDOR,
            "--stack-name",
            "flowgate-dry-run-onboard",
            "--storage-access",
        ],
        &["offboard", "--regions", "us-east-1", "--bucket", BUCKET, "--delete-bucket", "--force"],
    ];
    let mut offenders = Vec::new();
    for args in runs {
        env.proxy.reset_log();
        let out = env.flowgate().args(*args).args(["--dry-run", "--output", "json"]).output().unwrap();
        assert!(out.status.success(), "{args:?} --dry-run: exit {:?}\n{}\n{}", out.status.code(), stdout(&out), stderr(&out));
        assert!(!env.proxy.requests().is_empty(), "{args:?}: the dry run reads the account");
        let mutating = env.proxy.mutating_calls();
        if !mutating.is_empty() {
            offenders.push(format!("{}: {mutating:?}", args.join(" ")));
        }
    }
    assert!(offenders.is_empty(), "dry runs that made mutating calls:\n{}", offenders.join("\n"));
}
