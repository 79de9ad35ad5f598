//! The command line itself: validation before any AWS call, help, completions, exit codes.

use crate::support::{Env, stderr};

/// Invalid bucket names: each exits 2 with a one-line reason and makes no AWS call.
#[test]
fn invalid_bucket_names_exit_2_without_calling_aws() {
    let env = Env::shared();
    let long = "a".repeat(64);
    let cases: &[(&str, &str)] = &[
        ("ab", "3 to 63 characters"),
        (&long, "3 to 63 characters"),
        ("Bad_Name", "contains 'B'"),
        ("has_underscore", "contains '_'"),
        ("UPPER", "contains 'U'"),
        ("-leading-hyphen", "begin and end"),
        ("trailing-hyphen-", "begin and end"),
        (".leading-dot", "begin and end"),
        ("double..dot", "adjacent dots"),
        ("dot.-hyphen", "dot next to a hyphen"),
        ("10.0.0.1", "IP address"),
        ("xn--punycode", "reserved prefix 'xn--'"),
        ("sthree-bucket", "reserved prefix 'sthree-'"),
        ("amzn-s3-demo-bucket", "reserved prefix 'amzn-s3-demo-'"),
        ("alias-s3alias", "reserved suffix '-s3alias'"),
        ("object--ol-s3", "reserved suffix '--ol-s3'"),
        ("express--x-s3", "reserved suffix '--x-s3'"),
        ("access.mrap", "reserved suffix '.mrap'"),
        ("space bucket", "contains ' '"),
        ("", "3 to 63 characters"),
    ];
    assert!(cases.len() >= 15);
    for (name, reason) in cases {
        for sub in ["create", "check"] {
            let output = env.flowgate().args(["bucket", sub, &format!("--bucket={name}")]).output().unwrap();
            let err = stderr(&output);
            assert_eq!(output.status.code(), Some(2), "{name:?}: {err}");
            let first = err.lines().next().unwrap_or("");
            assert!(first.starts_with("error: ") && first.contains(reason), "{name:?}: {first}");
        }
    }
    assert!(env.proxy.requests().is_empty(), "validation must happen before any AWS call: {:?}", env.proxy.requests());
}

#[test]
fn other_invalid_values_exit_2() {
    let env = Env::shared();
    let cases: &[&[&str]] = &[
        &["bucket", "create", "--bucket", "ok-name", "--bucket-region", "moon-1"],
        &["bucket", "create", "--bucket", "ok-name", "--prefix", "x/AWSLogs/y"],
        &["bucket", "create", "--bucket", "ok-name", "--expire-days", "0"],
        &["bucket", "create", "--bucket", "ok-name", "--tag", "novalue"],
        &["bucket", "create", "--bucket", "ok-name", "--tag", "aws:reserved=x"],
        &["bucket", "create"],
        &["bucket", "create", "--bucket", "ok-name", "--output", "yaml"],
        &["--region", "nowhere", "bucket", "check", "--bucket", "ok-name"],
        &["bucket", "check", "--bucket", "ok-name", "--verbose", "--quiet"],
    ];
    for args in cases {
        let output = env.flowgate().args(*args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
        assert!(stderr(&output).starts_with("error: "), "{args:?}: {}", stderr(&output));
    }
    assert!(env.proxy.requests().is_empty());
}

#[test]
fn endpoint_must_be_a_url() {
    let env = Env::shared();
    let output = env.flowgate().args(["bucket", "check", "--bucket", "ok-name", "--endpoint-url", "localhost:1"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn unreachable_endpoint_is_a_clear_error() {
    let env = Env::shared();
    // Port 9 (discard) on loopback: nothing listens there.
    let output = env
        .flowgate()
        .args(["bucket", "check", "--bucket", "ok-name", "--endpoint-url", "http://127.0.0.1:9", "--max-attempts", "1"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.starts_with("error: identifying the caller"), "{err}");
    assert!(err.contains("hint:") && err.contains("--endpoint-url"), "{err}");
}

#[test]
fn help_and_completions_and_man_page() {
    let env = Env::shared();
    let help = env.flowgate().args(["bucket", "create", "--help"]).output().unwrap();
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--bucket",
        "--bucket-region",
        "--expire-days",
        "--tag",
        "--fix-encryption",
        "--dry-run",
        "--yes",
        "--output",
        "--profile",
        "--endpoint-url",
        "--no-color",
    ] {
        assert!(text.contains(flag), "help lacks {flag}");
    }
    for shell in ["bash", "zsh", "fish"] {
        let out = env.flowgate().args(["completions", shell]).output().unwrap();
        assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("flowgate"), "{shell}");
    }
    let man = env.flowgate().arg("man").output().unwrap();
    assert!(man.status.success() && String::from_utf8_lossy(&man.stdout).contains(".TH flowgate"));
    assert!(env.proxy.requests().is_empty());
}
