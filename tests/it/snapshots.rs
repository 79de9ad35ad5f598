//! Snapshot tests of what people read: each command's plan, apply, second run, dry run, errors and
//! JSON, recorded whole (exit code, stdout and stderr) under tests/it/snapshots/. A change to any
//! text a user sees shows up as a snapshot diff to review (`cargo insta review`, or
//! `INSTA_UPDATE=always` then `git diff`).
//!
//! Run-dependent values (ports, resource ids, ExternalIds, change-set names, timestamps, ages and
//! durations) are replaced by placeholders by the filters below, so every run records the same text.
//! Each scenario has its own emulator: region and VPC counts are the account's, not other tests'.

use std::io::Write;
use std::process::Output;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_s3::primitives::ByteStream;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::json;

use flowgate::core::flowlog_synth::{SynthSpec, write_records};
use flowgate::core::layout::{KeyLayout, object_key};

use crate::support::{ACCOUNT, Env, block_on, stderr, unique};

/// (pattern, replacement) pairs, applied in order to the whole recorded text.
const FILTERS: &[(&str, &str)] = &[
    // The emulator's (and the chaos proxy's) port.
    (r"(127\.0\.0\.1|localhost):\d+", "$1:[PORT]"),
    // Names from `unique()`: prefix, process id, counter.
    (r"\b(snap-[a-z]+)-\d+-\d+\b", "$1-[N]"),
    // Change-set names: flowgate-<unix seconds>-<random hex>.
    (r"\bflowgate-\d{9,11}-[0-9a-f]{8}\b", "flowgate-[CHANGESET]"),
    // Ids the emulator makes up (vpc-, fl-, ...) and change-set/stack ids (UUIDs).
    // (not only at a word boundary: object keys have `_fl-...`).
    (r"(^|[^A-Za-z])(vpc|fl|eni|subnet|igw|sg|rtb|acl|dopt)-[0-9a-f]{8,17}", "${1}${2}-[ID]"),
    (r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", "[UUID]"),
    // Physical ids CloudFormation makes up for resources without a name (stack-Logi-RANDOM).
    (r"\b([a-z]{1,5}-[A-Z][a-z]{3})-[A-Z0-9]{12}\b", "$1-[ID]"),
    // Generated ExternalIds: 32 characters of flowgate's alphabet (letters and digits).
    (r"\b[A-Za-z0-9]{32}\b", "[EXTERNAL_ID]"),
    // Timestamps: RFC 3339, Unix seconds, and the date/time parts of flow-log object keys.
    (r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?", "[TIMESTAMP]"),
    // (from mid-2025 on: the synthetic records' fixed 1700000000 stays as it is).
    (r"\b(17[5-9]\d{7}|1[89]\d{8})\b", "[EPOCH]"),
    (r"\d{8}T\d{4}Z", "[KEYTIME]"),
    (r"\b\d{4}/\d{2}/\d{2}\b", "[DATE]"),
    (r"\b(year|month|day|hour)=\d{2,4}\b", "$1=[N]"),
    // Ages ("newest 4 s old", "1 s age") and how long something took.
    (r"\b\d+ (s|min|h) (old|age)\b", "[AGE] $2"),
    (r#""(age_secs|newest_age_secs|elapsed_ms|duration_ms|elapsed_secs)": \d+"#, r#""$1": "[DURATION]""#),
    (r"\b\d+(\.\d+)? ?(ms|µs)\b", "[DURATION]"),
];

/// Runs flowgate with `args` (the endpoint is added by `Env`) and stdin, and returns the text
/// recorded in a snapshot: the command line, the exit code, stdout and stderr.
fn record(env: &Env, args: &[&str], stdin: Option<Vec<u8>>) -> (String, Output) {
    let mut cmd = env.flowgate();
    cmd.args(args);
    if let Some(bytes) = stdin {
        cmd.write_stdin(bytes);
    }
    let output = cmd.output().expect("flowgate runs");
    // Regions are worked on concurrently, but every report is sorted before it is printed (by
    // region, then resource), so the text is recorded as printed, unsorted.
    let tidy = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    let exit = output.status.code().map_or_else(|| "signal".to_owned(), |c| c.to_string());
    let text = format!(
        "$ flowgate {}\nexit: {exit}\n----- stdout -----\n{}\n----- stderr -----\n{}",
        args.join(" "),
        tidy(&output.stdout),
        tidy(&output.stderr)
    );
    (text, output)
}

fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(true);
    for (pattern, replacement) in FILTERS {
        settings.add_filter(pattern, *replacement);
    }
    settings
}

/// Snapshots one run of flowgate under `name` and returns its output for further checks.
fn snapshot_with(name: &str, env: &Env, args: &[&str], stdin: Option<Vec<u8>>) -> Output {
    let (text, output) = record(env, args, stdin);
    settings().bind(|| insta::assert_snapshot!(name, text));
    output
}

fn snapshot(name: &str, env: &Env, args: &[&str]) -> Output {
    snapshot_with(name, env, args, None)
}

/// Runs a setup step (not snapshotted) that must succeed.
fn setup(env: &Env, args: &[&str]) {
    let out = env.flowgate().args(args).args(["--yes", "-q"]).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn synthetic(records: u64, seed: u64) -> Vec<u8> {
    let spec = SynthSpec { records, seed, ..SynthSpec::default() };
    let mut text = Vec::new();
    write_records(&spec, &mut text).unwrap();
    text
}

const BUCKET: &str = "flowgate-snap-logs";
const VENDOR: &str = "111122223333";

#[test]
fn bucket_create_and_check() {
    let env = Env::isolated();
    let create = ["bucket", "create", "--bucket", BUCKET];
    snapshot("bucket_create_dry_run", &env, &[&create[..], &["--dry-run"]].concat());
    snapshot("bucket_create_apply", &env, &[&create[..], &["--yes"]].concat());
    snapshot("bucket_create_second_run", &env, &[&create[..], &["--yes"]].concat());
    snapshot("bucket_create_second_run_json", &env, &[&create[..], &["--yes", "--output", "json"]].concat());
    snapshot("bucket_check", &env, &["bucket", "check", "--bucket", BUCKET]);
    snapshot("bucket_check_json", &env, &["bucket", "check", "--bucket", BUCKET, "--output", "json"]);
}

#[test]
fn errors() {
    let env = Env::shared();
    snapshot("error_bad_bucket_name", &env, &["bucket", "create", "--bucket", "Bad_Bucket", "--yes"]);
    snapshot("error_bad_bucket_name_json", &env, &["bucket", "create", "--bucket", "Bad_Bucket", "--yes", "--output", "json"]);
    let bucket = unique("snap-plan");
    let out = snapshot("error_plan_without_yes_json", &env, &["bucket", "create", "--bucket", &bucket, "--output", "json"]);
    assert_eq!(out.status.code(), Some(2), "a plan without --yes exits 2");
}

#[test]
fn flowlogs_enable_status_disable() {
    let env = Env::isolated();
    setup(&env, &["bucket", "create", "--bucket", BUCKET]);
    let regions = "us-east-1,eu-west-1";
    let enable = ["flowlogs", "enable", "--bucket", BUCKET, "--regions", regions];
    snapshot("flowlogs_enable_dry_run", &env, &[&enable[..], &["--dry-run"]].concat());
    snapshot("flowlogs_enable_apply", &env, &[&enable[..], &["--yes"]].concat());
    snapshot("flowlogs_enable_second_run", &env, &[&enable[..], &["--yes"]].concat());
    snapshot("flowlogs_status", &env, &["flowlogs", "status", "--bucket", BUCKET, "--regions", regions]);
    snapshot("flowlogs_status_json", &env, &["flowlogs", "status", "--bucket", BUCKET, "--regions", regions, "--output", "json"]);
    let disable = ["flowlogs", "disable", "--bucket", BUCKET, "--regions", regions];
    snapshot("flowlogs_disable_dry_run", &env, &[&disable[..], &["--dry-run"]].concat());
    snapshot("flowlogs_disable_apply", &env, &[&disable[..], &["--yes"]].concat());
    snapshot("flowlogs_disable_second_run", &env, &[&disable[..], &["--yes"]].concat());
}

#[test]
fn stack_deploy_status_delete() {
    let env = Env::isolated();
    let deploy = ["stack", "deploy", "--vendor-account", VENDOR];
    snapshot("stack_deploy_dry_run", &env, &[&deploy[..], &["--dry-run"]].concat());
    snapshot("stack_deploy_apply", &env, &[&deploy[..], &["--yes"]].concat());
    snapshot("stack_deploy_second_run", &env, &[&deploy[..], &["--yes"]].concat());
    snapshot("stack_status", &env, &["stack", "status"]);
    snapshot("stack_status_json", &env, &["stack", "status", "--output", "json"]);
    snapshot("stack_delete_dry_run", &env, &["stack", "delete", "--dry-run"]);
    snapshot("stack_delete_apply", &env, &["stack", "delete", "--yes"]);
}

const ROLE: &str = "ColorTokensCrossAccountAccessRole";

#[test]
fn access_grant_revoke_in_role_mode() {
    let env = Env::isolated();
    let iam = env.iam();
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"sts:ExternalId": "abc-123"}}}]});
    block_on(iam.create_role().role_name(ROLE).assume_role_policy_document(trust.to_string()).send()).unwrap();
    let doc =
        json!({"Version": "2012-10-17", "Statement": [{"Sid": "Discovery", "Effect": "Allow", "Action": ["ec2:DescribeVpcs"], "Resource": "*"}]});
    block_on(iam.put_role_policy().role_name(ROLE).policy_name("ColorTokensAccess").policy_document(doc.to_string()).send()).unwrap();

    let grant = ["access", "grant", "--bucket", "flow-logs-a", "--role-name", ROLE];
    snapshot("access_grant_dry_run", &env, &[&grant[..], &["--dry-run"]].concat());
    snapshot("access_grant_apply", &env, &[&grant[..], &["--yes"]].concat());
    snapshot("access_grant_second_run", &env, &[&grant[..], &["--yes"]].concat());
    let revoke = ["access", "revoke", "--bucket", "flow-logs-a", "--role-name", ROLE];
    snapshot("access_revoke_dry_run", &env, &[&revoke[..], &["--dry-run"]].concat());
    snapshot("access_revoke_apply", &env, &[&revoke[..], &["--yes"]].concat());
    snapshot("access_revoke_second_run", &env, &[&revoke[..], &["--yes"]].concat());
}

#[test]
fn verify_passing_then_failing() {
    let env = Env::isolated();
    let regions = "us-east-1,eu-west-1";
    setup(&env, &["bucket", "create", "--bucket", BUCKET]);
    setup(&env, &["flowlogs", "enable", "--bucket", BUCKET, "--regions", regions]);
    setup(&env, &["stack", "deploy", "--vendor-account", VENDOR, "--storage-access", "--storage-ids", BUCKET]);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    for (region, hash, seed) in [("us-east-1", "aaaa1111", 1), ("eu-west-1", "bbbb2222", 2)] {
        let flow_logs = block_on(env.ec2(region).describe_flow_logs().send()).unwrap();
        let flow_log = flow_logs.flow_logs()[0].flow_log_id().unwrap().to_owned();
        let key = object_key(None, ACCOUNT, region, &flow_log, now, KeyLayout { hive: false, per_hour: false }, hash);
        block_on(env.s3("us-east-1").put_object().bucket(BUCKET).key(&key).body(ByteStream::from(gzip(&synthetic(200, seed)))).send()).unwrap();
    }
    let verify = ["verify", "--bucket", BUCKET, "--regions", regions];
    snapshot("verify_pass", &env, &verify);
    snapshot("verify_pass_json", &env, &[&verify[..], &["--output", "json"]].concat());
    setup(&env, &["access", "revoke", "--bucket", BUCKET]);
    snapshot("verify_fail", &env, &verify);
    snapshot("verify_fail_json", &env, &[&verify[..], &["--output", "json"]].concat());
}

#[test]
fn onboard_and_offboard_dry_runs() {
    let env = Env::isolated();
    let onboard = ["onboard", "--bucket", BUCKET, "--regions", "us-east-1,eu-west-1", "--vendor-account", VENDOR, "--storage-access"];
    snapshot("onboard_dry_run", &env, &[&onboard[..], &["--dry-run"]].concat());
    setup(&env, &onboard);
    snapshot("offboard_dry_run", &env, &["offboard", "--regions", "us-east-1,eu-west-1", "--bucket", BUCKET, "--delete-bucket", "--dry-run"]);
}

#[test]
fn permissions_and_parse() {
    let env = Env::shared();
    snapshot(
        "permissions_stack_delete",
        &env,
        &["permissions", "stack-delete", "--role-name", "VendorRole", "--stack-name", "vendor-stack", "--account", ACCOUNT],
    );
    let object = gzip(&synthetic(500, 7));
    snapshot_with("parse_text", &env, &["parse", "-", "--top", "3"], Some(object.clone()));
    snapshot_with("parse_json", &env, &["parse", "-", "--top", "3", "--output", "json"], Some(object));
}
