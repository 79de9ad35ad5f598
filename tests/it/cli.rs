//! The command line itself: validation before any AWS call, help, completions, exit codes.

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{Env, json_stdout, stderr, stdout, unique};

/// Parses stdout as exactly one JSON document (trailing text, or a second document, fails) and
/// checks an error document's shape and that its `exit_code` is the process's.
fn one_json_document(args: &[&str], output: &std::process::Output) -> serde_json::Value {
    let code = output.status.code();
    let err = stderr(output);
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    assert!(!output.stdout.is_empty(), "{args:?} (exit {code:?}) printed nothing on stdout; stderr: {err}");
    let document = json_stdout(output);
    if let Some(error) = document.get("error") {
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "{args:?}: {document}");
        assert!(error.get("hint").is_some(), "{args:?}: the hint is always there (null when none): {document}");
        assert_eq!(error["exit_code"].as_i64().map(|c| c as i32), code, "{args:?}: {document}");
        assert!(error["kind"].as_str().is_some(), "{args:?}: {document}");
    }
    document
}

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
        // Contradictions: --ecs only extends --format extended; flowgate:managed is flowgate's own tag.
        &["flowlogs", "enable", "--bucket", "ok-name", "--ecs"],
        &["flowlogs", "status", "--bucket", "ok-name", "--format", "required", "--ecs"],
        &["verify", "--bucket", "ok-name", "--format", "extended,ecs-cluster-name", "--ecs"],
        &["onboard", "--bucket", "ok-name", "--ecs"],
        &["bucket", "create", "--bucket", "ok-name", "--tag", "flowgate:managed=true"],
        &["flowlogs", "enable", "--bucket", "ok-name", "--tag", "flowgate:managed=false"],
        &["onboard", "--bucket", "ok-name", "--tag", "flowgate:managed=true"],
    ];
    for args in cases {
        let output = env.flowgate().args(*args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
        assert!(stderr(&output).starts_with("error: "), "{args:?}: {}", stderr(&output));
    }
    assert!(env.proxy.requests().is_empty());
}

/// Input that is wrong by itself, refused before any AWS call: a bucket region in another
/// partition than the home region (an account and its credentials belong to one partition), and a
/// tag key given twice (S3's PutBucketTagging and EC2's TagSpecifications refuse duplicate keys).
#[test]
fn contradictions_in_the_input_exit_2_without_calling_aws() {
    let env = Env::shared();
    let bucket = unique("partition");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["bucket", "create", "--bucket", &bucket, "--bucket-region", "cn-north-1", "--yes"], "in the aws-cn partition"),
        (vec!["bucket", "check", "--bucket", &bucket, "--bucket-region", "us-gov-west-1"], "in the aws-us-gov partition"),
        (vec!["onboard", "--bucket", &bucket, "--bucket-region", "cn-north-1", "--vendor-account", "111122223333", "--yes"], "aws-cn"),
        (vec!["bucket", "create", "--bucket", &bucket, "--tag", "team=a", "--tag", "team=b", "--yes"], "--tag team=... is given more than once"),
        (vec!["flowlogs", "enable", "--bucket", &bucket, "--tag", "cc=1", "--tag", "cc=1", "--yes"], "--tag cc=... is given more than once"),
        (vec!["onboard", "--bucket", &bucket, "--vendor-account", "111122223333", "--tag", "x=1", "--tag", "x=2"], "given more than once"),
    ];
    for (args, expected) in cases {
        let out = env.flowgate().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(expected), "{args:?}: {}", stderr(&out));
    }
    assert!(env.proxy.requests().is_empty(), "no AWS call: {:?}", env.proxy.counts());
    // The same partition is fine (a home region in aws-cn with a bucket in aws-cn).
    let out = env
        .flowgate()
        .args(["--region", "cn-north-1", "bucket", "create", "--bucket", &bucket, "--bucket-region", "cn-northwest-1", "--dry-run"])
        .output()
        .unwrap();
    assert!(!stderr(&out).contains("partition"), "{}", stderr(&out));
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

/// `--output json` prints exactly one JSON document on stdout on every exit: the report, or an
/// error document `{"error": {"message", "hint", "exit_code", "kind", ...}}`. Each subcommand's
/// failure paths, clap's own usage errors included, with the exit code each must have.
#[test]
fn json_output_is_one_document_on_every_failure() {
    let env = Env::shared();
    let missing_bucket = unique("flowgate-nobucket");
    let missing = missing_bucket.as_str();
    let cases: &[(&[&str], i32, &str)] = &[
        // The cases.
        (&["bucket", "create", "--bucket", "BAD"], 2, "usage"),
        (&["access", "list", "--role-name", "NoSuchRole"], 1, "refused"),
        (&["parse", "/nonexistent/object.log.gz"], 2, "input"),
        // clap's own usage errors: unknown flag, missing argument, missing subcommand, bad value.
        (&["bucket", "create", "--bucket", "ok-name", "--bogus"], 2, "usage"),
        (&["bucket", "create"], 2, "usage"),
        (&["bucket"], 2, "usage"),
        (&[], 2, "usage"),
        (&["no-such-command"], 2, "usage"),
        (&["bucket", "check", "--bucket", "ok-name", "--expire-days", "0"], 2, "usage"),
        (&["--region", "nowhere", "bucket", "check", "--bucket", "ok-name"], 2, "usage"),
        (&["bucket", "check", "--bucket", "ok-name", "--verbose", "--quiet"], 2, "usage"),
        (&["completions", "no-such-shell"], 2, "usage"),
        (&["man", "extra"], 2, "usage"),
        (&["permissions", "no-such-command"], 2, "input"),
        (&["permissions", "bucket-create"], 2, "input"),
        // Contradictions (exit 2, before any AWS call).
        (&["parse", "-", "--records", "json"], 2, "usage"),
        (&["parse", "-", "--records", "csv"], 2, "usage"),
        (&["flowlogs", "status", "--bucket", missing, "--ecs"], 2, "usage"),
        (&["verify", "--bucket", missing, "--format", "extended,ecs-cluster-name", "--ecs"], 2, "usage"),
        (&["onboard", "--bucket", missing, "--ecs"], 2, "usage"),
        (&["flowlogs", "enable", "--bucket", missing, "--tag", "flowgate:managed=false"], 2, "usage"),
        (&["bucket", "create", "--bucket", missing, "--tag", "flowgate:managed=true"], 2, "usage"),
        (&["onboard", "--bucket", missing, "--tag", "flowgate:managed=true"], 2, "usage"),
        // Failures found by AWS, or reported by a command's own report.
        (&["bucket", "check", "--bucket", missing], 1, "report"),
        (&["flowlogs", "status", "--bucket", missing, "--regions", "us-east-1"], 1, "report"),
        (&["flowlogs", "enable", "--bucket", "ok-name", "--format", "nonsense"], 2, "input"),
        (&["flowlogs", "disable", "--regions", "moon-1"], 2, "usage"),
        (&["stack", "deploy", "--stack-name", "flowgate-json-none"], 2, "input"),
        (&["stack", "status", "--stack-name", "flowgate-json-none"], 1, "report"),
        (&["stack", "delete", "--stack-name", "bad name"], 2, "usage"),
        (&["access", "grant", "--role-name", "NoSuchRole", "--bucket", missing], 1, "refused"),
        (&["access", "revoke", "--role-name", "NoSuchRole", "--bucket", missing], 1, "refused"),
        (&["verify", "--bucket", missing, "--regions", "us-east-1"], 1, "report"),
        (&["wizard"], 2, "input"),
        (&["offboard", "--delete-bucket"], 2, "usage"),
        (&["parse", "-"], 1, "report"),
        (&["bucket", "check", "--bucket", "ok-name", "--endpoint-url", "http://127.0.0.1:9", "--max-attempts", "1"], 1, "aws"),
    ];
    let mut wrong = Vec::new();
    for (args, code, kind) in cases {
        for form in [&["--output", "json"][..], &["--output=json"][..]] {
            let output = env.flowgate().args(form).args(*args).write_stdin(Vec::new()).output().unwrap();
            let document = one_json_document(args, &output);
            let found = document.get("error").map_or("report", |e| e["kind"].as_str().unwrap_or("?"));
            if output.status.code() != Some(*code) || found != *kind {
                wrong.push(format!("{args:?}: expected exit {code} ({kind}), got {:?} ({found}): {document}", output.status.code()));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(env.proxy.mutating_calls().is_empty(), "failures, usage errors and plans without --yes change nothing: {:?}", env.proxy.mutating_calls());
}

/// A plan that needs `--yes` and has no terminal to ask on: text mode prints the plan and exits
/// 2; JSON mode prints one error document that carries the plan, and nothing is applied.
#[test]
fn json_error_for_a_plan_without_yes_carries_the_plan() {
    let env = Env::shared();
    let bucket = unique("flowgate-json-plan");
    let text = env.flowgate().args(["bucket", "create", "--bucket", &bucket]).output().unwrap();
    assert_eq!(text.status.code(), Some(2), "{}", stderr(&text));
    assert!(stdout(&text).contains(&bucket), "text mode prints the plan: {}", stdout(&text));

    let args = ["--output", "json", "bucket", "create", "--bucket", &bucket];
    let output = env.flowgate().args(args).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let document = one_json_document(&args, &output);
    let error = &document["error"];
    assert!(error["message"].as_str().unwrap().contains("no terminal"), "{document}");
    assert!(error["hint"].as_str().unwrap().contains("--yes"), "{document}");
    let plan: Vec<&str> = error["plan"].as_array().expect("the plan is in the document").iter().map(|l| l.as_str().unwrap()).collect();
    assert!(plan.iter().any(|l| l.contains(&bucket)), "{plan:?}");
    let text_out = stdout(&text);
    let text_plan: Vec<&str> = text_out.lines().map(str::trim_end).filter(|l| !l.is_empty()).collect();
    assert_eq!(plan, text_plan, "the JSON plan is the text plan, line for line");
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new());
}

/// Ctrl-C twice: the run stops at once with exit 130, and in JSON mode still prints one document.
#[test]
fn json_output_on_interrupt_is_one_error_document() {
    let env = Env::shared();
    env.proxy.set_latency(Duration::from_millis(1500));
    let child = env
        .flowgate_process()
        .args([
            "--output",
            "json",
            "flowlogs",
            "status",
            "--bucket",
            "ok-name",
            "--regions",
            "us-east-1,eu-west-1,ap-southeast-2",
            "--concurrency",
            "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while env.proxy.requests().is_empty() {
        assert!(Instant::now() < deadline, "no AWS call seen");
        std::thread::sleep(Duration::from_millis(20));
    }
    for _ in 0..2 {
        let kill = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
        assert!(kill.success());
        std::thread::sleep(Duration::from_millis(200));
    }
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", stderr(&output));
    let document = one_json_document(&["flowlogs", "status"], &output);
    assert_eq!(document["error"]["kind"], "interrupted", "{document}");
}

/// A reader that closes stdout early (`| head`) ends every output-producing command quietly:
/// exit 0, nothing on stderr, no panic, as ripgrep does.
#[test]
fn closed_stdout_ends_quietly_with_exit_0() {
    let env = Env::shared();
    let dir = tempfile::tempdir().unwrap();
    // Large enough that the records outgrow any pipe buffer: the writer must meet the closed end.
    let spec = flowgate::core::flowlog_synth::SynthSpec { records: 40_000, seed: 9, ..Default::default() };
    let mut text = Vec::new();
    flowgate::core::flowlog_synth::write_records(&spec, &mut text).unwrap();
    let object = dir.path().join("object.log");
    std::fs::write(&object, &text).unwrap();
    let object = object.to_str().unwrap();
    // (command, whether it writes more than a pipe holds: then also read a little before closing).
    let cases: &[(&[&str], bool)] = &[
        (&["completions", "bash"], true),
        (&["completions", "zsh"], false),
        (&["completions", "fish"], false),
        (&["man"], false),
        (&["parse", object, "--records", "json"], true),
        (&["parse", object, "--records", "csv"], true),
        (&["parse", object, "--records", "csv", "--top", "3"], true),
        (&["parse", object], false),
        (&["parse", object, "--top", "5"], false),
        (&["parse", object, "--output", "json"], false),
        (&["--help"], false),
        // A report (here a failing check: exit 1 when it is read) to a reader that has gone.
        (&["-q", "bucket", "check", "--bucket", "flowgate-closed-stdout-none"], false),
    ];
    for (args, large) in cases {
        for read_first in if *large { &[0usize, 100][..] } else { &[0][..] } {
            let read_first = *read_first;
            let mut child = env.flowgate_process().args(*args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
            let mut out = child.stdout.take().unwrap();
            if read_first > 0 {
                let mut buf = vec![0u8; read_first];
                out.read_exact(&mut buf).unwrap();
            }
            drop(out);
            let output = child.wait_with_output().unwrap();
            let err = stderr(&output);
            assert_eq!(output.status.code(), Some(0), "{args:?} (read {read_first}): {err}");
            assert!(err.is_empty(), "{args:?} (read {read_first}): stderr must stay empty: {err}");
        }
    }
}
