//! Evidence for issue 8: faults through the chaos proxy, bad input, secrets. Figures these tests
//! produce are summarized in docs/reliability.md.

use std::time::{Duration, Instant};

use crate::support::{ACCESS_KEY, Env, FaultKind, FaultRule, SECRET_KEY, block_on, json_stdout, stderr, stdout, unique};

const REGIONS: &str = "us-east-1,eu-west-1,ap-southeast-2";

fn onboard(env: &Env, bucket: &str, extra: &[&str]) -> std::process::Output {
    env.flowgate()
        .args([
            "onboard",
            "--bucket",
            bucket,
            "--regions",
            REGIONS,
            "--vendor-account",
            "111122223333",
            "--storage-access",
            "--yes",
            "--output",
            "json",
        ])
        .args(extra)
        .output()
        .unwrap()
}

/// With a fifth of all requests throttled or failing (seeded), onboarding over three regions
/// reaches the same end state as a clean run, and a clean re-run then changes nothing.
#[test]
fn onboard_under_twenty_percent_faults_converges() {
    let env = Env::isolated();
    env.proxy.set_seed(2026);
    env.proxy.add_fault(FaultRule { service: None, region: None, fraction: 0.10, kind: FaultKind::Throttle });
    env.proxy.add_fault(FaultRule { service: None, region: None, fraction: 0.10, kind: FaultKind::ServerError });
    let output = onboard(&env, "flowgate-chaos-logs", &["--max-attempts", "10"]);
    let faults = env.proxy.faulted();
    let requests = env.proxy.requests().len();
    assert!(output.status.success(), "{}\n{}", stderr(&output), stdout(&output));
    assert!(faults >= 5, "the seed injects faults: {faults} of {requests}");
    eprintln!("reliability: {faults} of {requests} requests faulted (throttling or 5xx), all retried to success");

    // The end state of a clean run: one flow log per VPC, the stack, the bucket policy.
    let flow_logs: usize = REGIONS.split(',').map(|r| block_on(env.ec2(r).describe_flow_logs().send()).unwrap().flow_logs().len()).sum();
    assert_eq!(flow_logs, 3, "one default VPC per region, each with exactly one flow log");
    let report = json_stdout(&output);
    assert_eq!(report["summary"]["failed"], 0);
    assert!(block_on(env.s3("us-east-1").get_bucket_policy().bucket("flowgate-chaos-logs").send()).is_ok());

    env.proxy.clear_faults();
    env.proxy.reset_log();
    let again = onboard(&env, "flowgate-chaos-logs", &[]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new(), "converged: nothing left to do");
}

#[test]
fn slow_answers_time_out_with_the_step_named_and_no_hang() {
    let env = Env::shared();
    env.proxy.add_fault(FaultRule { service: Some("sts".into()), region: None, fraction: 1.0, kind: FaultKind::Slow(Duration::from_secs(10)) });
    let start = Instant::now();
    let output = env.flowgate().args(["bucket", "check", "--bucket", &unique("fg-slow"), "--timeout", "1", "--max-attempts", "2"]).output().unwrap();
    let took = start.elapsed();
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.starts_with("error: identifying the caller (sts:GetCallerIdentity): no answer from AWS in time"), "{err}");
    assert!(err.contains("--timeout"), "{err}");
    // Not a timing assertion on speed: only that it gave up instead of hanging on the 10 s answers.
    assert!(took < Duration::from_secs(9), "gave up after {took:?}");
}

#[test]
fn connection_resets_are_retried_and_a_dead_endpoint_is_reported() {
    let env = Env::shared();
    let bucket = unique("fg-reset");
    env.proxy.set_seed(5);
    env.proxy.add_fault(FaultRule { service: Some("s3".into()), region: None, fraction: 0.3, kind: FaultKind::Reset });
    let output = env.flowgate().args(["bucket", "create", "--bucket", &bucket, "--yes", "--max-attempts", "8"]).output().unwrap();
    assert!(output.status.success(), "resets are retried: {}", stderr(&output));
    assert!(env.proxy.faulted() > 0);

    env.proxy.clear_faults();
    env.proxy.add_fault(FaultRule { service: Some("s3".into()), region: None, fraction: 1.0, kind: FaultKind::Reset });
    let dead = env.flowgate().args(["bucket", "check", "--bucket", &bucket, "--max-attempts", "2"]).output().unwrap();
    assert_eq!(dead.status.code(), Some(1));
    let err = stderr(&dead);
    assert!(err.starts_with(&format!("error: looking up bucket {bucket}")), "{err}");
    assert!(err.contains("hint:"), "{err}");
}

#[test]
fn secrets_are_never_printed_even_at_vv() {
    let env = Env::shared();
    let bucket = unique("fg-secret");
    let mut seen = String::new();
    for args in [
        vec!["-vv", "bucket", "create", "--bucket", bucket.as_str(), "--yes"],
        vec!["-vv", "bucket", "check", "--bucket", bucket.as_str(), "--output", "json"],
        vec!["-vv", "flowlogs", "status", "--bucket", bucket.as_str(), "--regions", "us-east-1"],
    ] {
        let output = env.flowgate().args(&args).output().unwrap();
        seen.push_str(&stdout(&output));
        seen.push_str(&stderr(&output));
    }
    assert!(seen.contains("DEBUG") || seen.contains("TRACE"), "the run was traced");
    assert!(!seen.contains(ACCESS_KEY), "the access key id was printed");
    assert!(!seen.contains(SECRET_KEY), "the secret key was printed");
}

/// Bad input across all commands: each exits 2 (input) or 1 (data) with an `error:` line that
/// says what is wrong, never panics, and never changes anything.
#[test]
fn bad_input_table() {
    let env = Env::shared();
    let header = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status tcp-flags\n";
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, format!("{header}2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1 2 ACCEPT OK 2\n").repeat(200).as_bytes()).unwrap();
    let gzipped = gz.finish().unwrap();
    let long_id = "x".repeat(1225);
    let no = None::<Vec<u8>>;
    // (arguments, standard input, exit code, what stderr's first line must mention)
    type Case<'a> = (Vec<&'a str>, Option<Vec<u8>>, i32, &'a str);
    let cases: Vec<Case> = vec![
        (vec!["bucket", "create", "--bucket=Bad_Name"], no.clone(), 2, "contains 'B'"),
        (vec!["bucket", "create", "--bucket=ab"], no.clone(), 2, "3 to 63"),
        (vec!["bucket", "create", "--bucket=-leading"], no.clone(), 2, "begin and end"),
        (vec!["bucket", "create", "--bucket=192.168.0.1"], no.clone(), 2, "IP address"),
        (vec!["bucket", "create", "--bucket=xn--bucket"], no.clone(), 2, "reserved prefix"),
        (vec!["bucket", "create", "--bucket=logs-s3alias"], no.clone(), 2, "reserved suffix"),
        (vec!["bucket", "create", "--bucket=a..b"], no.clone(), 2, "adjacent dots"),
        (vec!["bucket", "check", "--bucket=UPPER"], no.clone(), 2, "contains 'U'"),
        (vec!["flowlogs", "enable", "--bucket=under_score"], no.clone(), 2, "contains '_'"),
        (vec!["verify", "--bucket=sthree-x"], no.clone(), 2, "reserved prefix"),
        (vec!["stack", "deploy", "--vendor-account", "123"], no.clone(), 2, "12 digits"),
        (vec!["stack", "deploy", "--vendor-account", "abcdefghijkl"], no.clone(), 2, "12 digits"),
        (vec!["onboard", "--bucket", "ok-bucket", "--vendor-account", "1234567890123"], no.clone(), 2, "12 digits"),
        (vec!["stack", "deploy", "--vendor-account", "111122223333", "--external-id", "x"], no.clone(), 2, "2 to 1224"),
        (vec!["stack", "deploy", "--vendor-account", "111122223333", "--external-id", "has space"], no.clone(), 2, "contains ' '"),
        (vec!["stack", "deploy", "--vendor-account", "111122223333", "--external-id", &long_id], no.clone(), 2, "2 to 1224"),
        (vec!["stack", "deploy", "--vendor-account", "111122223333", "--external-id", "bad#id"], no.clone(), 2, "contains '#'"),
        (vec!["flowlogs", "enable", "--bucket", "ok-bucket", "--regions", "moon"], no.clone(), 2, "not an AWS region"),
        (vec!["flowlogs", "status", "--bucket", "ok-bucket", "--regions", "us-east"], no.clone(), 2, "not an AWS region"),
        (vec!["--region", "useast1", "bucket", "check", "--bucket", "ok-bucket"], no.clone(), 2, "not an AWS region"),
        (vec!["stack", "deploy", "--storage-access", "--storage-ids", "Bad_Name"], no.clone(), 2, "contains 'B'"),
        (vec!["stack", "deploy", "--storage-access", "--storage-ids", "arn:aws:s3:::bucket/*"], no.clone(), 2, "names objects"),
        (vec!["access", "grant", "--role-name", "r", "--bucket", "arn:aws:iam::111122223333:role/x"], no.clone(), 2, "not a bucket ARN"),
        (vec!["stack", "deploy", "--storage-ids", "ok-bucket"], no.clone(), 2, "--storage-access"),
        (vec!["flowlogs", "enable", "--bucket", "ok-bucket", "--vpcs", "vpc-xyz"], no.clone(), 2, "not a VPC id"),
        (vec!["flowlogs", "disable", "--vpcs", "subnet-12345678"], no.clone(), 2, "not a VPC id"),
        (vec!["flowlogs", "status", "--bucket", "ok-bucket", "--vpcs", "vpc-1234"], no.clone(), 2, "not a VPC id"),
        (vec!["-v", "-q", "bucket", "check", "--bucket", "ok-bucket"], no.clone(), 2, "cannot be used with"),
        (vec!["offboard", "--force"], no.clone(), 2, "--delete-bucket"),
        (vec!["offboard", "--delete-bucket"], no.clone(), 2, "--bucket"),
        (vec!["bucket", "create"], no.clone(), 2, "--bucket"),
        (vec!["flowlogs", "enable"], no.clone(), 2, "--bucket"),
        (vec!["access", "grant", "--role-name", "r"], no.clone(), 2, "--bucket"),
        (vec!["verify"], no.clone(), 2, "--bucket"),
        (vec!["stack", "deploy", "--vendor-account", "111122223333", "--template", "/nonexistent/t.yaml"], no.clone(), 2, "cannot read the template"),
        (vec!["flowlogs", "enable", "--bucket", "ok-bucket", "--format", "version,bogus"], no.clone(), 2, "unknown flow-log field"),
        (vec!["flowlogs", "enable", "--bucket", "ok-bucket", "--format", "version,srcaddr"], no.clone(), 2, "lacks the required field"),
        (vec!["flowlogs", "enable", "--bucket", "ok-bucket", "--max-aggregation-interval", "30"], no.clone(), 2, "60 or 600"),
        (vec!["flowlogs", "enable", "--bucket", "ok-bucket", "--traffic-type", "SOME"], no.clone(), 2, "ALL, ACCEPT or REJECT"),
        (vec!["flowlogs", "enable", "--bucket", "ok-bucket", "--file-format", "csv"], no.clone(), 2, "plain-text or parquet"),
        (vec!["verify", "--bucket", "ok-bucket", "--since", "2w"], no.clone(), 2, "unit must be"),
        (vec!["verify", "--bucket", "ok-bucket", "--since", "0m"], no.clone(), 2, "between 1 second"),
        (vec!["bucket", "create", "--bucket", "ok-bucket", "--expire-days", "0"], no.clone(), 2, "--expire-days"),
        (vec!["bucket", "create", "--bucket", "ok-bucket", "--tag", "aws:x=1"], no.clone(), 2, "reserves"),
        (vec!["bucket", "create", "--bucket", "ok-bucket", "--tag", "novalue"], no.clone(), 2, "KEY=VALUE"),
        (vec!["bucket", "check", "--bucket", "ok-bucket", "--endpoint-url", "localhost:1"], no.clone(), 2, "not an http"),
        (vec!["bucket", "check", "--bucket", "ok-bucket", "--output", "yaml"], no.clone(), 2, "yaml"),
        (vec!["bucket", "check", "--bucket", "ok-bucket", "--max-attempts", "0"], no.clone(), 2, "--max-attempts"),
        (vec!["parse", "/nonexistent/object.log.gz"], no.clone(), 2, "cannot read"),
        (vec!["parse", "-"], Some(Vec::new()), 1, "empty"),
        (vec!["parse", "-"], Some(gzipped[..gzipped.len() / 2].to_vec()), 1, "truncated"),
        (vec!["parse", "-"], Some(b"\x00\x01\x02\x03binary\xff\xfe".to_vec()), 1, "neither gzip nor"),
        (vec!["parse", "-"], Some(b"PK\x03\x04 a zip file, not a flow log".to_vec()), 1, "-:"),
        (vec!["parse", "-"], Some(b"version account-id srcaddr\n2 1 10.0.0.1\n".to_vec()), 1, "tcp-flags"),
    ];
    assert!(cases.len() >= 40, "{} cases", cases.len());
    for (args, input, code, expected) in &cases {
        let mut cmd = env.flowgate();
        cmd.args(args);
        if let Some(input) = input {
            cmd.write_stdin(input.clone());
        }
        let output = cmd.output().unwrap();
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(*code), "{args:?}: {err}");
        // The error: line (clap lists missing flags on the lines right after it, before Usage:).
        let block: String =
            err.lines().skip_while(|l| !l.starts_with("error:")).take_while(|l| !l.starts_with("Usage:")).collect::<Vec<_>>().join(" ");
        assert!(block.starts_with("error:") && block.contains(expected), "{args:?}: expected {expected:?} in {block:?}\n{err}");
        assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    }
    // Wrong field counts are data errors counted per line (exit 1), not fatal to the object.
    let counts = env.flowgate().args(["parse", "-"]).write_stdin(format!("{header}2 1 eni-1 10.0.0.1\n")).output().unwrap();
    assert_eq!(counts.status.code(), Some(1));
    assert!(stdout(&counts).contains("expected 15 fields"), "{}", stdout(&counts));
    // A header-only object is a valid empty object.
    let empty = env.flowgate().args(["parse", "-"]).write_stdin(header).output().unwrap();
    assert!(empty.status.success());
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new(), "bad input never changes anything");
    eprintln!("reliability: {} bad inputs tried, 0 mutations", cases.len() + 2);
}

/// Ctrl-C (SIGINT) while flow logs are applied region by region: the region being applied
/// finishes, the others are reported "not attempted", the exit code is 130, and a re-run converges.
#[test]
fn sigint_during_a_multi_region_apply_reports_what_was_applied() {
    let env = Env::isolated();
    let bucket = "flowgate-sigint-logs";
    let created = env.flowgate().args(["bucket", "create", "--bucket", bucket, "--yes", "-q"]).output().unwrap();
    assert!(created.status.success(), "{}", stderr(&created));
    env.proxy.reset_log();
    env.proxy.set_latency(Duration::from_millis(400));
    let child = env
        .flowgate_process()
        .args(["flowlogs", "enable", "--bucket", bucket, "--regions", REGIONS, "--concurrency", "1", "--yes", "--output", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !env.proxy.requests().iter().any(|r| r.action == "CreateFlowLogs") {
        assert!(Instant::now() < deadline, "no CreateFlowLogs seen");
        std::thread::sleep(Duration::from_millis(20));
    }
    let kill = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", stderr(&output));
    assert!(stderr(&output).contains("interrupted: finishing the current step"), "{}", stderr(&output));
    let report = json_stdout(&output);
    let statuses: Vec<&str> = report["changes"].as_array().unwrap().iter().map(|c| c["status"].as_str().unwrap()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == "applied").count(), 1, "the region in progress finished: {statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == "not-attempted").count(), 2, "{statuses:?}");

    env.proxy.set_latency(Duration::ZERO);
    let again = env.flowgate().args(["flowlogs", "enable", "--bucket", bucket, "--regions", REGIONS, "--yes", "--output", "json"]).output().unwrap();
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(json_stdout(&again)["summary"]["applied"], 2, "the re-run does the rest");
}

/// checkov on the template and parliament on every shipped policy (rendered with sample values;
/// accepted exceptions are listed with their reason in scripts/lint-policies.py).
#[test]
fn security_linters_pass_on_templates_and_policies() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let tool = |name: &str| {
        let path = root.join(".venv-security/bin").join(name);
        assert!(path.exists(), "{} is missing: run scripts/setup-emulator --with-security-tools (scripts/test does)", path.display());
        path
    };
    let checkov = std::process::Command::new(tool("checkov"))
        .args(["-f", "templates/cross-account-role.yaml", "--skip-download", "--quiet", "--compact"])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(checkov.status.success(), "checkov:\n{}{}", stdout(&checkov), stderr(&checkov));
    assert!(stdout(&checkov).contains("Failed checks: 0"), "{}", stdout(&checkov));

    // The organization's StackSet template: the vendor template with the operator role spliced in.
    let dir = tempfile::tempdir().unwrap();
    let member = dir.path().join("org-member-roles.yaml");
    std::fs::write(&member, flowgate::core::org_template::org_member_template(flowgate::core::stack_plan::TEMPLATE).unwrap()).unwrap();
    let checkov =
        std::process::Command::new(tool("checkov")).arg("-f").arg(&member).args(["--skip-download", "--quiet", "--compact"]).output().unwrap();
    assert!(
        checkov.status.success() && stdout(&checkov).contains("Failed checks: 0"),
        "checkov (org member template):\n{}{}",
        stdout(&checkov),
        stderr(&checkov)
    );

    let parliament = std::process::Command::new(tool("python")).arg("scripts/lint-policies.py").current_dir(root).output().unwrap();
    assert!(parliament.status.success(), "parliament:\n{}{}", stdout(&parliament), stderr(&parliament));
    assert!(stdout(&parliament).contains("0 finding(s) above LOW"));
}

/// Runs flowgate with `args` and, once the proxy holds the request set up with `hold`, sends it
/// SIGINT, waits until flowgate says it will stop after the current step, and lets the request
/// through: the interrupt lands inside a known step, whatever the machine's speed.
pub(crate) fn interrupt_while_held(env: &Env, args: &[&str]) -> (Option<i32>, String, String) {
    use std::io::{BufRead, Read};
    let mut child = env.flowgate_process().args(args).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        out.read_to_string(&mut text).unwrap();
        text
    });
    let held = env.proxy.wait_until_held(Duration::from_secs(60));
    if !held {
        let _ = child.kill();
    }
    assert!(held, "the request to hold never came: {:?}", env.proxy.counts());
    let kill = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("interrupted: finishing the current step") {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap() == 0 {
            break;
        }
        seen.push_str(&line);
    }
    env.proxy.release();
    err.read_to_string(&mut seen).unwrap();
    let status = child.wait().unwrap();
    (status.code(), reader.join().unwrap(), seen)
}

fn statuses(changes: &serde_json::Value) -> Vec<String> {
    changes.as_array().unwrap().iter().map(|c| c["status"].as_str().unwrap().to_owned()).collect()
}

fn stack_exists(env: &Env) -> bool {
    let cfn = aws_sdk_cloudformation::Client::new(&env.sdk("us-east-1"));
    match block_on(cfn.describe_stacks().stack_name(flowgate::core::stack_plan::DEFAULT_STACK_NAME).send()) {
        Ok(out) => out.stacks().iter().any(|s| s.stack_status().is_some_and(|st| st.as_str() != "DELETE_COMPLETE")),
        Err(_) => false,
    }
}

/// Issue 16: Ctrl-C while offboard deletes the flow logs (its first step): they finish, the role
/// stack and the bucket are not attempted (no DeleteStack, no bucket DELETE), exit 130, and the
/// JSON report says so. Before the runner, offboard went on to delete the stack and the bucket.
#[test]
fn sigint_during_offboard_stops_before_the_stack_and_the_bucket() {
    let env = Env::isolated();
    let bucket = "flowgate-offboard-sigint";
    for args in [
        vec!["bucket", "create", "--bucket", bucket],
        vec!["flowlogs", "enable", "--bucket", bucket, "--regions", "us-east-1"],
        vec!["stack", "deploy", "--vendor-account", "111122223333"],
    ] {
        let setup = env.flowgate().args(&args).args(["--yes", "-q"]).output().unwrap();
        assert!(setup.status.success(), "{args:?}: {}", stderr(&setup));
    }
    assert!(stack_exists(&env));
    env.proxy.reset_log();
    env.proxy.hold("DeleteFlowLogs", 1);
    let (code, out, err) =
        interrupt_while_held(&env, &["offboard", "--bucket", bucket, "--regions", "us-east-1", "--delete-bucket", "--yes", "--output", "json"]);
    assert_eq!(code, Some(130), "{err}\n{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(statuses(&steps[0]["changes"]), ["applied"], "the flow logs in progress finished: {report:#}");
    // The stack step: the stack and each resource its deletion removes, none attempted.
    assert!(statuses(&steps[1]["changes"]).len() > 1, "{report:#}");
    assert!(statuses(&steps[1]["changes"]).iter().all(|s| s == "not-attempted"), "{report:#}");
    assert_eq!(statuses(&steps[2]["changes"]), ["not-attempted"], "{report:#}");
    assert_eq!(report["summary"]["interrupted"], true, "{report:#}");
    assert!(report["rerun"].as_str().unwrap().contains("offboard"), "{report:#}");
    assert_eq!(env.proxy.mutating_calls(), ["ec2:DeleteFlowLogs"], "nothing after the interrupted step");
    assert!(stack_exists(&env), "the stack was not deleted");
    assert!(block_on(env.s3("us-east-1").head_bucket().bucket(bucket).send()).is_ok(), "the bucket was not deleted");
}

/// Issue 16: Ctrl-C while `access revoke` edits the first of two inline policies (one a bucket):
/// that edit finishes, the second is not attempted, exit 130. Before the runner, access never
/// checked for an interrupt and edited both.
#[test]
fn sigint_during_access_revoke_over_two_buckets_stops_after_the_first() {
    let env = Env::isolated();
    let role = "SigintRevokeRole";
    let iam = env.iam();
    let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:AssumeRole"}]});
    block_on(iam.create_role().role_name(role).assume_role_policy_document(trust.to_string()).send()).unwrap();
    for (policy, bucket) in [("ReadA", "sigint-logs-a"), ("ReadB", "sigint-logs-b")] {
        let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "Discovery", "Effect": "Allow", "Action": "ec2:DescribeVpcs", "Resource": "*"},
            {"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{bucket}/*")},
        ]});
        block_on(iam.put_role_policy().role_name(role).policy_name(policy).policy_document(doc.to_string()).send()).unwrap();
    }
    env.proxy.reset_log();
    env.proxy.hold("PutRolePolicy", 1);
    let (code, out, err) = interrupt_while_held(
        &env,
        &["access", "revoke", "--bucket", "sigint-logs-a", "--bucket", "sigint-logs-b", "--role-name", role, "--yes", "--output", "json"],
    );
    assert_eq!(code, Some(130), "{err}\n{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(statuses(&report["changes"]), ["applied", "not-attempted"], "{report:#}");
    assert_eq!(report["summary"]["interrupted"], true, "{report:#}");
    assert_eq!(env.proxy.mutating_calls(), ["iam:PutRolePolicy"], "the second policy was not edited");
    let still_granting: Vec<bool> = ["ReadA", "ReadB"]
        .iter()
        .map(|p| block_on(iam.get_role_policy().role_name(role).policy_name(*p).send()).unwrap().policy_document().contains("s3%3AGetObject"))
        .collect();
    assert_eq!(still_granting.iter().filter(|g| **g).count(), 1, "exactly one policy still grants its bucket: {still_granting:?}");
}

/// Issue 16: Ctrl-C during `stack delete` exits 130. Signalled while the stack is read (before
/// the delete step), nothing is deleted (before the runner, stack delete never checked and
/// deleted the stack); signalled while DeleteStack is in flight, that step finishes.
#[test]
fn sigint_during_stack_delete_exits_130() {
    let env = Env::isolated();
    let deployed = env.flowgate().args(["stack", "deploy", "--vendor-account", "111122223333", "--yes", "-q"]).output().unwrap();
    assert!(deployed.status.success(), "{}", stderr(&deployed));

    env.proxy.reset_log();
    env.proxy.hold("DescribeStacks", 1);
    let (code, out, err) = interrupt_while_held(&env, &["stack", "delete", "--yes", "--output", "json"]);
    assert_eq!(code, Some(130), "{err}\n{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    // The stack and each resource its deletion removes: none attempted.
    let before = statuses(&report["changes"]);
    assert!(before.len() > 1 && before.iter().all(|s| s == "not-attempted"), "{report:#}");
    assert_eq!(report["summary"]["interrupted"], true, "{report:#}");
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new());
    assert!(stack_exists(&env), "interrupted before the step: the stack stays");

    env.proxy.hold("DeleteStack", 1);
    let (code, out, err) = interrupt_while_held(&env, &["stack", "delete", "--yes", "--output", "json"]);
    assert_eq!(code, Some(130), "{err}\n{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let after = statuses(&report["changes"]);
    assert!(after.len() > 1 && after.iter().all(|s| s == "applied"), "the step in flight finished: {report:#}");
    assert!(!stack_exists(&env));
}
