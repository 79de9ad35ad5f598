//! `flowgate access grant | revoke | list` against the emulator, in role mode (a role made by
//! hand, edited in place) and stack mode (through the role stack).

use serde_json::{Value, json};

use crate::support::{Env, block_on, json_stdout, stderr, stdout};

const ROLE: &str = "ColorTokensCrossAccountAccessRole";
const POLICY: &str = "ColorTokensAccess";

fn unrelated_statements() -> Vec<Value> {
    vec![
        json!({"Sid": "Discovery", "Effect": "Allow", "Action": ["ec2:DescribeVpcs", "ec2:DescribeFlowLogs"], "Resource": "*"}),
        json!({"Sid": "DenyInsecure", "Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}),
        json!({"Sid": "OtherTeam", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::other-team-logs/*"}),
    ]
}

fn hand_made_role(env: &Env, statements: Vec<Value>) {
    let iam = env.iam();
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"sts:ExternalId": "abc-123"}}}]});
    block_on(iam.create_role().role_name(ROLE).assume_role_policy_document(trust.to_string()).send()).unwrap();
    let doc = json!({"Version": "2012-10-17", "Statement": statements});
    block_on(iam.put_role_policy().role_name(ROLE).policy_name(POLICY).policy_document(doc.to_string()).send()).unwrap();
}

fn inline_statements(env: &Env) -> Option<Vec<Value>> {
    let out = block_on(env.iam().get_role_policy().role_name(ROLE).policy_name(POLICY).send()).ok()?;
    let doc = flowgate::core::policy_doc::parse_document(out.policy_document()).unwrap();
    Some(flowgate::core::policy_doc::statements(&doc).unwrap())
}

fn access(env: &Env, args: &[&str]) -> std::process::Output {
    env.flowgate().arg("access").args(args).args(["--role-name", ROLE, "--yes", "--output", "json"]).output().unwrap()
}

#[test]
fn role_mode_grant_and_revoke_keep_every_other_statement() {
    let env = Env::isolated();
    hand_made_role(&env, unrelated_statements());
    let unrelated = unrelated_statements();
    let assert_unrelated_kept = |step: &str| {
        let statements = inline_statements(&env).unwrap();
        assert_eq!(&statements[..3], &unrelated[..], "{step}: unrelated statements changed");
    };

    let granted = access(&env, &["grant", "--bucket", "flow-logs-a", "--bucket", "arn:aws:s3:::flow-logs-b"]);
    assert!(granted.status.success(), "{}", stderr(&granted));
    assert_eq!(json_stdout(&granted)["summary"]["applied"], 1);
    assert_unrelated_kept("grant");
    let statements = inline_statements(&env).unwrap();
    let object_read = statements.iter().find(|s| s["Sid"] == "FlowgateS3ObjectRead").unwrap();
    assert_eq!(object_read["Resource"], json!(["arn:aws:s3:::flow-logs-a/*", "arn:aws:s3:::flow-logs-b/*"]));

    env.proxy.reset_log();
    let again = access(&env, &["grant", "--bucket", "flow-logs-a"]);
    assert!(again.status.success());
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new(), "a second grant makes no call");

    let listed = env.flowgate().args(["access", "list", "--role-name", ROLE, "--output", "json"]).output().unwrap();
    assert!(listed.status.success(), "{}", stderr(&listed));
    let listed = json_stdout(&listed);
    assert_eq!(listed["trust"]["requires_external_id"], true);
    let buckets: Vec<&str> = listed["buckets"].as_array().unwrap().iter().map(|b| b["bucket"].as_str().unwrap()).collect();
    assert!(buckets.contains(&"flow-logs-a") && buckets.contains(&"flow-logs-b") && buckets.contains(&"other-team-logs"), "{buckets:?}");

    let revoked = access(&env, &["revoke", "--bucket", "flow-logs-a"]);
    assert!(revoked.status.success(), "{}", stderr(&revoked));
    assert_unrelated_kept("revoke");
    let statements = inline_statements(&env).unwrap();
    let object_read = statements.iter().find(|s| s["Sid"] == "FlowgateS3ObjectRead").unwrap();
    assert_eq!(object_read["Resource"], json!(["arn:aws:s3:::flow-logs-b/*"]), "only that bucket's ARNs go");

    env.proxy.reset_log();
    let again = access(&env, &["revoke", "--bucket", "flow-logs-a"]);
    assert!(again.status.success());
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new(), "a second revoke makes no call");

    // Revoking the last flowgate bucket drops flowgate's statements, and only those.
    let last = access(&env, &["revoke", "--bucket", "flow-logs-b"]);
    assert!(last.status.success(), "{}", stderr(&last));
    assert_eq!(inline_statements(&env).unwrap(), unrelated);
}

#[test]
fn role_mode_deletes_a_policy_left_empty_and_dry_run_changes_nothing() {
    let env = Env::isolated();
    hand_made_role(&env, vec![json!({"Sid": "Only", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::flow-logs-a/*"})]);
    let dry =
        env.flowgate().args(["access", "revoke", "--role-name", ROLE, "--bucket", "flow-logs-a", "--dry-run", "--output", "json"]).output().unwrap();
    assert!(dry.status.success(), "{}", stderr(&dry));
    let report = json_stdout(&dry);
    assert_eq!(report["changes"][0]["action"], "delete-role-policy");
    assert!(report["diff"][0]["before"].is_object(), "{report:#}");
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new());
    assert!(inline_statements(&env).is_some());

    let revoked = access(&env, &["revoke", "--bucket", "flow-logs-a"]);
    assert!(revoked.status.success(), "{}", stderr(&revoked));
    assert!(inline_statements(&env).is_none(), "the empty inline policy is deleted");
}

#[test]
fn wildcard_statement_is_reported_and_narrowed_only_when_asked() {
    let env = Env::isolated();
    hand_made_role(&env, vec![json!({"Sid": "VendorS3", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"})]);
    let listed = env.flowgate().args(["access", "list", "--role-name", ROLE, "--strict", "--output", "json"]).output().unwrap();
    assert_eq!(listed.status.code(), Some(1), "--strict fails on a wildcard grant");
    assert_eq!(json_stdout(&listed)["wildcard_allows"][0]["all_buckets"], true);

    let granted = access(&env, &["grant", "--bucket", "flow-logs-a"]);
    assert!(granted.status.success(), "{}", stderr(&granted));
    let report = json_stdout(&granted);
    assert!(report["findings"].as_array().unwrap().iter().any(|f| f["kind"] == "broader-than-needed"), "{report:#}");
    assert_eq!(inline_statements(&env).unwrap()[0]["Resource"], "*", "left as it was without --narrow-wildcard");

    let narrowed = access(&env, &["grant", "--bucket", "flow-logs-a", "--narrow-wildcard"]);
    assert!(narrowed.status.success(), "{}", stderr(&narrowed));
    let statements = inline_statements(&env).unwrap();
    assert_eq!(statements[0]["Sid"], "VendorS3");
    assert_ne!(statements[0]["Resource"], "*");
    let strict = env.flowgate().args(["access", "list", "--role-name", ROLE, "--strict"]).output().unwrap();
    assert!(strict.status.success(), "no wildcard left: {}", stderr(&strict));
}

#[test]
fn stack_mode_grants_two_revokes_one_and_list_agrees() {
    let env = Env::isolated();
    let created = env.flowgate().args(["stack", "deploy", "--vendor-account", "111122223333", "--yes", "-q"]).output().unwrap();
    assert!(created.status.success(), "{}", stderr(&created));

    // A stack-mode dry run says who acts where, and says "nothing applied" once.
    let dry = env.flowgate().args(["access", "grant", "--bucket", "flow-logs-a", "--dry-run"]).output().unwrap();
    let text = format!("{}{}", stdout(&dry), stderr(&dry));
    assert!(dry.status.success(), "{text}");
    assert!(text.contains("account 123456789012 as arn:aws:sts::123456789012:"), "{text}");
    assert_eq!(text.matches("dry run: nothing applied").count(), 1, "{text}");

    let grant =
        env.flowgate().args(["access", "grant", "--bucket", "flow-logs-a", "--bucket", "flow-logs-b", "--yes", "--output", "json"]).output().unwrap();
    assert!(grant.status.success(), "{}", stderr(&grant));
    assert_eq!(json_stdout(&grant)["via"], "stack");

    let revoke = env.flowgate().args(["access", "revoke", "--bucket", "flow-logs-a", "--yes", "--output", "json"]).output().unwrap();
    assert!(revoke.status.success(), "{}", stderr(&revoke));
    let report = json_stdout(&revoke);
    let words: Vec<&str> = report["stack"]["parameter_changes"].as_array().unwrap().iter().map(|c| c["text"].as_str().unwrap()).collect();
    assert_eq!(words, ["storage access will be REVOKED for bucket flow-logs-a"]);
    // One redeploy is one change, whatever resource and parameter lines detail it.
    assert_eq!(report["summary"]["steps_applied"], 1, "{report:#}");
    assert!(report["summary"]["applied"].as_u64().unwrap() > 1, "the lines are still counted as lines: {report:#}");
    let text = env.flowgate().args(["access", "revoke", "--bucket", "flow-logs-b", "--yes"]).output().unwrap();
    assert!(text.status.success(), "{}", stderr(&text));
    assert!(String::from_utf8_lossy(&text.stdout).contains("1 change(s) applied, 0 failed"), "{}", String::from_utf8_lossy(&text.stdout));
    let regrant = env.flowgate().args(["access", "grant", "--bucket", "flow-logs-b", "--yes", "-q"]).output().unwrap();
    assert!(regrant.status.success(), "{}", stderr(&regrant));

    let listed = env.flowgate().args(["access", "list", "--output", "json"]).output().unwrap();
    assert!(listed.status.success(), "{}", stderr(&listed));
    let listed = json_stdout(&listed);
    let readable: Vec<&str> = listed["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["readability"]["readability"] == "allowed")
        .map(|b| b["bucket"].as_str().unwrap())
        .collect();
    assert_eq!(readable, ["flow-logs-b"], "{listed:#}");

    env.proxy.reset_log();
    let again = env.flowgate().args(["access", "revoke", "--bucket", "flow-logs-a", "--yes"]).output().unwrap();
    assert!(again.status.success());
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new(), "revoking a bucket not granted plans nothing");
}

#[test]
fn access_input_errors() {
    let env = Env::isolated();
    let no_stack = env.flowgate().args(["access", "grant", "--bucket", "flow-logs-a", "--yes"]).output().unwrap();
    assert_eq!(no_stack.status.code(), Some(2));
    assert!(stderr(&no_stack).contains("--via role --role-name"), "{}", stderr(&no_stack));
    for args in [
        vec!["access", "grant", "--role-name", ROLE],
        vec!["access", "grant", "--role-name", ROLE, "--bucket", "Bad_Name"],
        vec!["access", "grant", "--via", "role", "--bucket", "flow-logs-a"],
        vec!["access", "revoke", "--role-name", "bad role", "--bucket", "flow-logs-a"],
    ] {
        let output = env.flowgate().args(&args).arg("--yes").output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
    }
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new());
}

/// Issue 12 item 1: with write and tagging grants on the bucket beside its read grant, a revoke
/// planned "no statement left: delete the inline policy" and deleted all three.
#[test]
fn revoke_takes_only_read_access_and_keeps_write_and_tagging_grants() {
    let env = Env::isolated();
    let write = json!({"Sid": "WriteReports", "Effect": "Allow", "Action": ["s3:PutObject", "s3:DeleteObject"], "Resource": ["arn:aws:s3:::logs-a/reports/*"]});
    let read = json!({"Sid": "ReadA", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::logs-a/*"]});
    let tag = json!({"Sid": "TagBucket", "Effect": "Allow", "Action": ["s3:PutBucketTagging"], "Resource": ["arn:aws:s3:::logs-a"]});
    hand_made_role(&env, vec![write.clone(), read, tag.clone()]);
    let revoked = access(&env, &["revoke", "--bucket", "logs-a"]);
    assert!(revoked.status.success(), "{}", stderr(&revoked));
    let report = json_stdout(&revoked);
    assert_eq!(report["changes"][0]["action"], "put-role-policy", "{report:#}");
    assert_eq!(inline_statements(&env).unwrap(), [write, tag], "only the read statement goes");
}

/// Issue 12 item 1: a revoke reported only inline wildcards; a managed policy that keeps the bucket
/// readable (AWS's AmazonS3ReadOnlyAccess, which moto loads with MOTO_IAM_LOAD_MANAGED_POLICIES)
/// is named, and the exit code is 1.
#[test]
fn revoke_names_a_managed_policy_that_keeps_the_bucket_readable() {
    let env = Env::isolated_with_aws_managed_policies();
    hand_made_role(&env, vec![json!({"Sid": "ReadA", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::logs-a/*"})]);
    block_on(env.iam().attach_role_policy().role_name(ROLE).policy_arn("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess").send()).unwrap();
    let revoked = access(&env, &["revoke", "--bucket", "logs-a"]);
    assert_eq!(revoked.status.code(), Some(1), "{}", stderr(&revoked));
    let report = json_stdout(&revoked);
    assert_eq!(report["summary"]["applied"], 1, "the inline grant is still revoked: {report:#}");
    let findings = report["findings"].as_array().unwrap();
    assert!(
        findings.iter().any(|f| f["kind"] == "still-readable" && f["policy"] == "AmazonS3ReadOnlyAccess" && f["bucket"] == "logs-a"),
        "{report:#}"
    );
    assert!(inline_statements(&env).is_none());
}

/// Issue 12 item 1: a grant made ineffective by an explicit Deny (here in a customer managed
/// policy, which the single-document editor never saw) exits 1, like the revoke analogue.
#[test]
fn grant_blocked_by_a_deny_in_another_policy_exits_1() {
    let env = Env::isolated();
    hand_made_role(&env, unrelated_statements());
    let iam = env.iam();
    let deny = json!({"Version": "2012-10-17", "Statement": [{"Sid": "NoLogs", "Effect": "Deny", "Action": "s3:*", "Resource": ["arn:aws:s3:::logs-a", "arn:aws:s3:::logs-a/*"]}]});
    let created = block_on(iam.create_policy().policy_name("DenyLogsA").policy_document(deny.to_string()).send()).unwrap();
    let arn = created.policy().and_then(|p| p.arn()).unwrap().to_owned();
    block_on(iam.attach_role_policy().role_name(ROLE).policy_arn(arn).send()).unwrap();
    let granted = access(&env, &["grant", "--bucket", "logs-a"]);
    assert_eq!(granted.status.code(), Some(1), "{}", stderr(&granted));
    let report = json_stdout(&granted);
    let denied: Vec<&Value> = report["findings"].as_array().unwrap().iter().filter(|f| f["kind"] == "denied").collect();
    assert_eq!(denied.len(), 1, "{report:#}");
    assert_eq!(denied[0]["policy"], "DenyLogsA");
    assert!(denied[0]["message"].as_str().unwrap().contains("s3:GetObject, s3:ListBucket, s3:GetBucketLocation"), "{report:#}");
}

/// Issue 12 item 2: the current grant comes from the StorageBucketNames parameter, not from the
/// StorageBuckets output. The stack is made here with an output that says something else
/// ("stale-logs"), as a stale or hand-edited output would: planning from it, a grant revoked the
/// granted buckets and a revoke of a granted bucket planned nothing.
#[test]
fn stack_mode_plans_from_the_bucket_parameter_not_the_output() {
    let env = Env::isolated();
    let template = flowgate::core::stack_plan::TEMPLATE
        .replace(r#"Value: !If [GrantStorage, !Join [",", !Ref StorageBucketNames], ""]"#, r#"Value: "stale-logs""#);
    assert_ne!(template, flowgate::core::stack_plan::TEMPLATE, "the template's StorageBuckets output changed: update this test");
    let cfn = aws_sdk_cloudformation::Client::new(&env.sdk("us-east-1"));
    let parameter = |key: &str, value: &str| aws_sdk_cloudformation::types::Parameter::builder().parameter_key(key).parameter_value(value).build();
    block_on(
        cfn.create_stack()
            .stack_name("flowgate-cross-account")
            .template_body(template)
            .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityNamedIam)
            .parameters(parameter("VendorAccountId", "111122223333"))
            .parameters(parameter("ExternalId", "stale-output-external-id"))
            .parameters(parameter("StorageAccess", "true"))
            .parameters(parameter("StorageBucketNames", "flow-logs-a,flow-logs-b"))
            .send(),
    )
    .unwrap();
    let stack_value = |key: &str, outputs: bool| -> String {
        let out = block_on(cfn.describe_stacks().stack_name("flowgate-cross-account").send()).unwrap();
        let stack = &out.stacks()[0];
        if outputs {
            stack.outputs().iter().find(|o| o.output_key() == Some(key)).and_then(|o| o.output_value()).unwrap_or_default().to_owned()
        } else {
            stack.parameters().iter().find(|p| p.parameter_key() == Some(key)).and_then(|p| p.parameter_value()).unwrap_or_default().to_owned()
        }
    };
    assert_eq!(stack_value("StorageBuckets", true), "stale-logs", "the setup gives a stale output");
    let words = |report: &Value| -> Vec<String> {
        report["stack"]["parameter_changes"].as_array().unwrap().iter().map(|c| c["text"].as_str().unwrap().to_owned()).collect()
    };

    let grant = env.flowgate().args(["access", "grant", "--bucket", "flow-logs-c", "--yes", "--output", "json"]).output().unwrap();
    assert!(grant.status.success(), "{}", stderr(&grant));
    assert_eq!(words(&json_stdout(&grant)), ["storage access will be GRANTED for bucket flow-logs-c"]);
    let buckets = flowgate::core::stack_plan::parse_bucket_list(&stack_value("StorageBucketNames", false));
    assert_eq!(buckets, ["flow-logs-a", "flow-logs-b", "flow-logs-c"]);

    let revoke = env.flowgate().args(["access", "revoke", "--bucket", "flow-logs-a", "--yes", "--output", "json"]).output().unwrap();
    assert!(revoke.status.success(), "{}", stderr(&revoke));
    assert_eq!(words(&json_stdout(&revoke)), ["storage access will be REVOKED for bucket flow-logs-a"]);
    let buckets = flowgate::core::stack_plan::parse_bucket_list(&stack_value("StorageBucketNames", false));
    assert_eq!(buckets, ["flow-logs-b", "flow-logs-c"]);
}

/// Issue 12 item 5: contradictory flags exit 2 before any AWS call.
#[test]
fn contradictory_access_flags_exit_2_before_any_call() {
    let env = Env::isolated();
    for args in [
        vec!["access", "grant", "--via", "stack", "--role-name", ROLE, "--bucket", "flow-logs-a"],
        vec!["access", "revoke", "--via", "stack", "--role-name", ROLE, "--bucket", "flow-logs-a"],
        vec!["access", "list", "--via", "stack", "--role-name", ROLE],
        vec!["access", "grant", "--via", "stack", "--policy-name", POLICY, "--bucket", "flow-logs-a"],
        vec!["access", "revoke", "--role-name", ROLE, "--bucket", "flow-logs-a", "--narrow-wildcard"],
        vec!["access", "grant", "--via", "stack", "--bucket", "flow-logs-a", "--narrow-wildcard"],
    ] {
        env.proxy.reset_log();
        let output = env.flowgate().args(&args).arg("--yes").output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
        assert!(stderr(&output).contains("hint:"), "{args:?}: {}", stderr(&output));
        assert_eq!(env.proxy.requests(), Vec::new(), "{args:?}: no AWS call");
    }
}

/// Issue 12 item 1, stack mode: a revoke through the stack also names a policy outside the stack
/// (here AWS's AmazonS3ReadOnlyAccess attached to the stack's role) that keeps the bucket readable.
#[test]
fn stack_mode_revoke_names_a_managed_policy_that_keeps_the_bucket_readable() {
    let env = Env::isolated_with_aws_managed_policies();
    let created = env
        .flowgate()
        .args(["stack", "deploy", "--vendor-account", "111122223333", "--storage-access", "--storage-ids", "flow-logs-a", "--yes", "-q"])
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", stderr(&created));
    let role = flowgate::core::stack_plan::DEFAULT_ROLE_NAME;
    block_on(env.iam().attach_role_policy().role_name(role).policy_arn("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess").send()).unwrap();
    let revoke = env.flowgate().args(["access", "revoke", "--bucket", "flow-logs-a", "--yes", "--output", "json"]).output().unwrap();
    assert_eq!(revoke.status.code(), Some(1), "{}", stderr(&revoke));
    let report = json_stdout(&revoke);
    assert_eq!(report["via"], "stack");
    let findings = report["findings"].as_array().unwrap();
    assert!(findings.iter().any(|f| f["kind"] == "still-readable" && f["policy"] == "AmazonS3ReadOnlyAccess"), "{report:#}");
    assert!(findings.iter().all(|f| f["policy"] != "FlowgateStorageRead"), "the stack's own policy is the one being edited: {report:#}");
}

fn listed_bucket<'a>(listed: &'a Value, bucket: &str) -> &'a Value {
    listed["buckets"].as_array().unwrap().iter().find(|b| b["bucket"] == bucket).unwrap_or_else(|| panic!("{bucket} not listed: {listed:#}"))
}

fn list_json(env: &Env) -> Value {
    let listed = env.flowgate().args(["access", "list", "--role-name", ROLE, "--output", "json"]).output().unwrap();
    assert!(listed.status.success(), "{}", stderr(&listed));
    json_stdout(&listed)
}

/// Issue 22 item 3, as reported: after `access revoke --via role` the role kept
/// s3:GetObjectVersion and s3:ListBucketVersions on the bucket (exit 0), and `access list` said
/// "not readable". Item 7: a role with s3:PutObject on the bucket was "can write: no (read-only)".
#[test]
fn revoke_takes_every_read_action_and_list_agrees() {
    let env = Env::isolated();
    let reads = json!({"Sid": "VendorRead", "Effect": "Allow",
        "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucketVersions", "s3:ListBucket"],
        "Resource": ["arn:aws:s3:::logs-a", "arn:aws:s3:::logs-a/*"]});
    let write = json!({"Sid": "Upload", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::logs-a/incoming/*"});
    hand_made_role(&env, vec![reads, write.clone()]);

    let before = list_json(&env);
    let bucket = listed_bucket(&before, "logs-a");
    assert_eq!(bucket["readability"]["readability"], "allowed", "{before:#}");
    let actions: Vec<&str> =
        bucket["readability"]["by"].as_array().unwrap().iter().flat_map(|g| g["actions"].as_array().unwrap()).filter_map(Value::as_str).collect();
    assert_eq!(actions, ["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:ListBucketVersions"], "{before:#}");
    assert_eq!(bucket["s3_writes"], json!(["s3:PutObject"]), "{before:#}");
    assert_eq!(before["can_write"], false, "security-group rules, not S3");
    let text = env.flowgate().args(["access", "list", "--role-name", ROLE]).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(text.contains("security-group rules: read-only") && text.contains("S3 writes: s3:PutObject"), "{text}");
    assert!(text.contains("s3:GetObject, s3:GetObjectVersion, s3:ListBucket, s3:ListBucketVersions through inline policy"), "{text}");

    let revoked = env
        .flowgate()
        .args(["access", "revoke", "--via", "role", "--role-name", ROLE, "--bucket", "logs-a", "--yes", "--output", "json"])
        .output()
        .unwrap();
    assert!(revoked.status.success(), "{}", stderr(&revoked));
    let report = json_stdout(&revoked);
    assert!(report.get("findings").is_none() && report.get("hint").is_none(), "{report:#}");
    // GetRolePolicy: the read statement is gone, the write kept byte for byte.
    let statements = inline_statements(&env).unwrap();
    assert_eq!(statements, [write], "no read action remains");
    let after = list_json(&env);
    let bucket = listed_bucket(&after, "logs-a");
    assert_eq!(bucket["readability"]["readability"], "not-granted", "{after:#}");
    assert_eq!(bucket["s3_writes"], json!(["s3:PutObject"]), "a revoke never takes a write: {after:#}");
}

/// Issue 22 item 3: what a revoke cannot take (an `s3:*` statement, which also writes) keeps the
/// bucket readable: the revoke names the statement and the entry, says what to remove, exits 1,
/// and `access list` agrees.
#[test]
fn revoke_names_an_s3_star_statement_that_keeps_the_bucket_readable() {
    let env = Env::isolated();
    let all = json!({"Sid": "Everything", "Effect": "Allow", "Action": "s3:*", "Resource": ["arn:aws:s3:::logs-a", "arn:aws:s3:::logs-a/*"]});
    let read = json!({"Sid": "ReadA", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucketVersions"], "Resource": ["arn:aws:s3:::logs-a", "arn:aws:s3:::logs-a/*"]});
    hand_made_role(&env, vec![all.clone(), read]);
    let revoked = env
        .flowgate()
        .args(["access", "revoke", "--via", "role", "--role-name", ROLE, "--bucket", "logs-a", "--yes", "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(revoked.status.code(), Some(1), "{}", stderr(&revoked));
    let report = json_stdout(&revoked);
    assert_eq!(report["summary"]["applied"], 1, "the read statement is still revoked: {report:#}");
    let finding = &report["findings"][0];
    assert_eq!(
        (finding["kind"].as_str(), finding["policy"].as_str(), finding["statement"].as_str()),
        (Some("still-readable"), Some(POLICY), Some("Sid \"Everything\"")),
        "{report:#}"
    );
    assert_eq!(finding["action_entries"], json!(["s3:*"]), "{report:#}");
    assert_eq!(finding["actions"].as_array().unwrap().len(), 11, "every read of the read set: {report:#}");
    let hint = report["hint"].as_str().unwrap_or_default();
    assert!(
        hint.contains(&format!("remove s3:* on arn:aws:s3:::logs-a/*, arn:aws:s3:::logs-a in policy {POLICY}, statement Sid \"Everything\"")),
        "{hint}"
    );
    assert_eq!(inline_statements(&env).unwrap(), [all], "the s3:* statement is someone else's: kept as it was");

    let text = env.flowgate().args(["access", "revoke", "--role-name", ROLE, "--bucket", "logs-a", "--yes"]).output().unwrap();
    assert_eq!(text.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("hint: logs-a can still be read: remove s3:*"),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );
    let listed = list_json(&env);
    let bucket = listed_bucket(&listed, "logs-a");
    assert_eq!(bucket["readability"]["readability"], "allowed", "{listed:#}");
    assert_eq!(bucket["readability"]["by"][0]["statement"]["sid"], "Everything");
}

/// Issue 22 item 7: narrowing `s3:List*` to the granted buckets silently ended
/// s3:ListAllMyBuckets (it works only on "*"). It now keeps the wildcard in a statement of its
/// own, and the finding names it.
#[test]
fn narrow_wildcard_keeps_the_account_level_reads_and_names_them() {
    let env = Env::isolated();
    hand_made_role(&env, vec![json!({"Sid": "VendorS3", "Effect": "Allow", "Action": ["s3:GetObject", "s3:List*"], "Resource": "*"})]);
    let narrowed = access(&env, &["grant", "--bucket", "flow-logs-a", "--narrow-wildcard"]);
    assert!(narrowed.status.success(), "{}", stderr(&narrowed));
    let report = json_stdout(&narrowed);
    let finding = report["findings"].as_array().unwrap().iter().find(|f| f["kind"] == "narrowed").unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(finding["actions"], json!(["s3:GetObject", "s3:List*"]));
    assert_eq!(finding["account_level"]["kept_in"], "Sid \"VendorS3AccountLevel\"");
    assert!(finding["account_level"]["kept"].as_array().unwrap().contains(&json!("s3:ListAllMyBuckets")), "{report:#}");
    let statements = inline_statements(&env).unwrap();
    assert_eq!(statements[0]["Resource"], json!(["arn:aws:s3:::flow-logs-a", "arn:aws:s3:::flow-logs-a/*"]));
    let split = statements.iter().find(|s| s["Sid"] == "VendorS3AccountLevel").unwrap_or_else(|| panic!("{statements:?}"));
    assert_eq!(split["Resource"], "*");
    assert!(split["Action"].as_array().unwrap().contains(&json!("s3:ListAllMyBuckets")));
    let listed = list_json(&env);
    assert!(listed["wildcard_allows"].as_array().unwrap().is_empty(), "no read is left on the wildcard: {listed:#}");
}

/// Issue 23 item 4: `access list` read only the role's identity policies, so a bucket whose own
/// policy denies the role s3:GetObject was listed as readable with nothing said. It now reads the
/// policy of each bucket it reports on. (The bucket is this test's own: moto enforces the Deny on
/// every object call, and no object is read here.)
#[test]
fn list_reads_each_buckets_policy_and_names_its_deny() {
    let env = Env::isolated();
    let bucket = "vendor-denied-bucket";
    let mut statements = unrelated_statements();
    statements.extend([
        json!({"Sid": "FlowgateS3ObjectRead", "Effect": "Allow", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{bucket}/*")}),
        json!({"Sid": "FlowgateS3BucketRead", "Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": format!("arn:aws:s3:::{bucket}")}),
    ]);
    hand_made_role(&env, statements);
    let s3 = env.s3("us-east-1");
    block_on(s3.create_bucket().bucket(bucket).send()).unwrap();
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "NoVendorReads", "Effect": "Deny", "Principal": {"AWS": format!("arn:aws:iam::123456789012:role/{ROLE}")}, "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{bucket}/*")},
        {"Sid": "OfficeOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:ListBucket", "Resource": format!("arn:aws:s3:::{bucket}"), "Condition": {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}
    ]});
    block_on(s3.put_bucket_policy().bucket(bucket).policy(policy.to_string()).send()).unwrap();

    let listed = list_json(&env);
    let entry = listed_bucket(&listed, bucket);
    assert_eq!(entry["denied_reads"], json!(["s3:GetObject"]), "{entry:#}");
    let by_bucket_policy: Vec<&Value> = entry["denies"].as_array().unwrap().iter().filter(|d| d["statement"]["source"] == "bucket").collect();
    assert_eq!(by_bucket_policy.len(), 2, "{entry:#}");
    assert_eq!(by_bucket_policy[0]["statement"]["sid"], "NoVendorReads");
    assert_eq!(by_bucket_policy[1]["depends_on"], json!(["condition aws:SourceIp"]));
    assert_eq!(entry["readability"]["readability"], "conditional", "listing may be denied off the office network: {entry:#}");
    assert!(listed["problems"].as_array().unwrap().is_empty(), "{listed:#}");

    let text = env.flowgate().args(["access", "list", "--role-name", ROLE]).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(text.contains("s3:GetObject denied by the bucket policy, statement Sid \"NoVendorReads\""), "{text}");
    assert!(text.contains("may be denied by the bucket policy, statement Sid \"OfficeOnly\" if condition aws:SourceIp"), "{text}");
}

/// The unrelated statements without the conditional Deny (aws:SecureTransport), about which
/// flowgate's evaluator does not decide: the simulator's answer is then compared.
fn unconditional_statements() -> Vec<Value> {
    unrelated_statements().into_iter().filter(|s| s.get("Condition").is_none()).collect()
}

/// Issue 25 item 1: `access list` asks IAM's policy simulator (IAM API Reference,
/// "SimulatePrincipalPolicy", "EvaluationResult") about each bucket. A permissions boundary that
/// does not allow the reads the role's policies grant (`implicitDeny` with
/// `PermissionsBoundaryDecisionDetail.AllowedByPermissionsBoundary` false) is a disagreement:
/// the bucket names both verdicts and the boundary, and the list exits 1.
#[test]
fn access_list_fails_where_a_permissions_boundary_denies_what_the_policies_grant() {
    use crate::support::simulator::{Evaluation, simulator_answers};
    let env = Env::isolated();
    hand_made_role(&env, unconditional_statements());
    let granted = access(&env, &["grant", "--bucket", "flow-logs-a", "--no-simulate"]);
    assert!(granted.status.success(), "{}", stderr(&granted));
    assert!(json_stdout(&granted)["aws_verdicts"]["flow-logs-a"]["not_asked"] == "--no-simulate");

    let bounded = |action| Evaluation { allowed_by_permissions_boundary: Some(false), ..Evaluation::plain(action, "implicitDeny") };
    simulator_answers(&env, &[bounded("s3:GetObject"), bounded("s3:ListBucket")]);
    let listed = env.flowgate().args(["access", "list", "--role-name", ROLE, "--output", "json"]).output().unwrap();
    assert_eq!(listed.status.code(), Some(1), "{}", stderr(&listed));
    let report = json_stdout(&listed);
    let verdict = &listed_bucket(&report, "flow-logs-a")["aws_verdict"];
    assert_eq!((verdict["agrees"].clone(), verdict["decided_by"].clone()), (json!(false), json!("permissions-boundary")), "{verdict}");
    assert_eq!(verdict["decision"], "denied");
    assert_eq!(
        verdict["actions"].as_array().unwrap().iter().map(|a| a["flowgate"].clone()).collect::<Vec<_>>(),
        [json!("allowed"), json!("allowed")]
    );
    let text = env.flowgate().args(["access", "list", "--role-name", ROLE]).output().unwrap();
    let text = stdout(&text);
    assert!(
        text.contains("AWS's policy simulator DISAGREES: flowgate finds s3:GetObject allowed by the role's policies, AWS denies (implicitDeny)"),
        "{text}"
    );
    assert!(text.contains("decided by the role's permissions boundary"), "{text}");
}

/// After a revoke IAM's policy simulator is asked again (IAM API Reference,
/// "SimulatePrincipalPolicy"): `implicitDeny`, no statement allowing the reads, agrees with
/// flowgate; `allowed`, AWS still granting what flowgate took away, fails the revoke (exit 1)
/// once asked again after IAM's propagation pauses (IAM User Guide, "Changes that I make are not
/// always immediately visible"). A grant AWS allows agrees.
#[test]
fn a_revoke_aws_still_allows_exits_1() {
    use crate::support::simulator::{Evaluation, simulations, simulator_answers};
    let env = Env::isolated();
    hand_made_role(&env, unconditional_statements());
    simulator_answers(&env, &[Evaluation::plain("s3:GetObject", "allowed"), Evaluation::plain("s3:ListBucket", "allowed")]);
    let granted = access(&env, &["grant", "--bucket", "flow-logs-a"]);
    assert_eq!(granted.status.code(), Some(0), "{}", stderr(&granted));
    let verdict = &json_stdout(&granted)["aws_verdicts"]["flow-logs-a"];
    assert_eq!(verdict["agrees"], true, "{verdict}\n{}", stderr(&granted));

    simulator_answers(&env, &[Evaluation::plain("s3:GetObject", "implicitDeny"), Evaluation::plain("s3:ListBucket", "implicitDeny")]);
    let revoked = access(&env, &["revoke", "--bucket", "flow-logs-a"]);
    assert_eq!(revoked.status.code(), Some(0), "{}", stderr(&revoked));
    let verdict = &json_stdout(&revoked)["aws_verdicts"]["flow-logs-a"];
    assert_eq!((verdict["agrees"].clone(), verdict["decision"].clone()), (json!(true), json!("denied")), "{verdict}");

    let regranted = access(&env, &["grant", "--bucket", "flow-logs-a", "--no-simulate"]);
    assert!(regranted.status.success(), "{}", stderr(&regranted));
    simulator_answers(&env, &[Evaluation::plain("s3:GetObject", "allowed"), Evaluation::plain("s3:ListBucket", "allowed")]);
    env.proxy.reset_log();
    let out = env.flowgate().args(["access", "revoke", "--bucket", "flow-logs-a", "--role-name", ROLE, "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}\n{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("flow-logs-a: AWS's policy simulator DISAGREES: flowgate finds s3:GetObject denied by the role's policies, AWS allows"),
        "{text}"
    );
    assert_eq!(simulations(&env), 2 * 4, "both reads, asked once and again after each of 3 pauses");
}
