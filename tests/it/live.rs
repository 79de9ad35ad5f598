//! scripts/test-live, the opt-in end-to-end run against a real account, run here against the
//! emulator on every change so that it cannot rot: same script, same steps, same cleanup pass.

use std::path::Path;

use crate::support::{ACCESS_KEY, Emulator, SECRET_KEY, stderr, stdout};

fn test_live(emulator: &Emulator, extra_env: &[(&str, &str)]) -> std::process::Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cmd = std::process::Command::new(root.join("scripts/test-live"));
    for var in [
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_DEFAULT_REGION",
        "RUST_LOG",
        "FLOWGATE_LIVE_PROFILE",
        "FLOWGATE_LIVE_VENDOR_ACCOUNT",
        "FLOWGATE_LIVE_ACCOUNT",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{}", emulator.port))
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1")
        .env("FLOWGATE_BIN", assert_cmd::cargo::cargo_bin("flowgate"))
        .env("FLOWGATE_LIVE_PYTHON", root.join(".venv/bin/python"))
        // The emulator never turns an API call into a CloudTrail event: the watcher is proven
        // by tests/it/watch.rs there, and by the live run on a real account.
        .env("FLOWGATE_LIVE_WATCH", "0")
        .env("FLOWGATE_LIVE_REGION", "eu-west-1");
    for (key, value) in extra_env {
        cmd.env(key, value);
    }
    cmd.output().unwrap()
}

#[test]
fn the_live_smoke_test_passes_on_the_emulator_and_leaves_nothing() {
    let emulator = Emulator::start();
    let output = test_live(&emulator, &[]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}\n{}", stderr(&output));
    for step in ["bucket-create", "flowlogs-enable", "stack-deploy", "access-revoke", "access-grant", "verify", "offboard"] {
        assert!(out.contains(&format!("test-live: step {step}: ok")), "{step} did not pass:\n{out}");
    }
    // offboard removed the stack, the flow logs and the bucket; the cleanup pass removes the VPC.
    assert!(out.contains("cleanup: nothing left"), "{out}");
    assert!(out.lines().any(|l| l.starts_with("cleanup: vpc vpc-") && l.ends_with(": removed")), "{out}");
    assert!(out.ends_with("test-live: passed\n"), "{out}");
}

#[test]
fn a_failed_step_stops_the_run_and_the_cleanup_still_removes_everything() {
    let emulator = Emulator::start();
    // An invalid vendor account makes stack deploy refuse its input (exit 2) after the bucket and
    // the flow logs exist: the cleanup pass must remove them and the VPC.
    let output = test_live(&emulator, &[("FLOWGATE_LIVE_VENDOR_ACCOUNT", "not-an-account")]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{out}\n{}", stderr(&output));
    assert!(out.contains("test-live: step stack-deploy: FAILED (exit 2)"), "{out}");
    assert!(!out.contains("test-live: step access-revoke"), "the run stops at the failed step:\n{out}");
    assert!(out.lines().any(|l| l.starts_with("cleanup: flow logs of vpc-") && l.contains(": removed fl-")), "{out}");
    assert!(out.lines().any(|l| l.starts_with("cleanup: bucket flowgate-live-") && l.contains(": removed")), "{out}");
    assert!(out.contains("cleanup: nothing left") && out.contains("test-live: FAILED steps: stack-deploy"), "{out}");
}

#[test]
fn without_a_profile_or_an_endpoint_it_refuses_to_run() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = std::process::Command::new(root.join("scripts/test-live"))
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("FLOWGATE_LIVE_PROFILE")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("FLOWGATE_LIVE_PROFILE"), "{}", stderr(&output));
}

#[test]
fn another_account_than_flowgate_live_account_stops_the_run_before_anything_is_created() {
    let emulator = Emulator::start();
    let output = test_live(&emulator, &[("FLOWGATE_LIVE_ACCOUNT", "999999999999")]);
    assert_eq!(output.status.code(), Some(2), "{}\n{}", stdout(&output), stderr(&output));
    assert!(stderr(&output).contains("not FLOWGATE_LIVE_ACCOUNT=999999999999"), "{}", stderr(&output));
    assert!(!stdout(&output).contains("test-live: step"), "{}", stdout(&output));
}

#[test]
fn the_live_profile_is_used_exclusively_over_the_environments_keys() {
    // The profile's keys are another account's (moto answers for the account a key's id names
    // when it has one, so the profile assumes a role there instead): with FLOWGATE_LIVE_ACCOUNT
    // set to that account the run proceeds only if the profile, not the environment, was used.
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::write(
        &config,
        format!(
            "[profile base]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n\n\
             [profile sandbox]\nrole_arn = arn:aws:iam::210987654321:role/live\nsource_profile = base\n"
        ),
    )
    .unwrap();
    let config = config.display().to_string();
    let output = test_live(
        &emulator,
        &[("AWS_CONFIG_FILE", config.as_str()), ("FLOWGATE_LIVE_PROFILE", "sandbox"), ("FLOWGATE_LIVE_ACCOUNT", "210987654321")],
    );
    let out = stdout(&output);
    assert!(out.contains("test-live: run") && out.contains("in account 210987654321"), "{out}\n{}", stderr(&output));
    assert_eq!(output.status.code(), Some(0), "every step under the profile (--target-account 210987654321):\n{out}\n{}", stderr(&output));
}
