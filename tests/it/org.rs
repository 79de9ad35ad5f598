//! `flowgate org`: a whole AWS Organization on the emulator (management account + members in two
//! OUs, one of them nested), asserted through each member's own credentials.
//!
//! Where the emulator does not behave like AWS, the chaos proxy gives AWS's answer and each test
//! names the behaviour:
//! - CloudFormation `DescribeOrganizationsAccess` is answered by the proxy (moto: HTTP 500); AWS
//!   answers ENABLED once StackSets' trusted access is activated (AWS CloudFormation User Guide,
//!   "Activate trusted access for stack sets with AWS Organizations").
//! - moto finishes StackSet operations at once and always SUCCEEDED, returns no per-account
//!   results for OU targets, ignores OperationInProgressException, never denies AssumeRole and never
//!   suspends an account: those are rewritten or answered by the proxy.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_config::SdkConfig;
use aws_sdk_s3::config::{Credentials, SharedCredentialsProvider};
use serde_json::Value;

use crate::support::{Env, block_on, json_stdout, stderr, stdout};

pub(crate) const VENDOR: &str = "999988887777";
const REGIONS: &str = "us-east-1,eu-west-1";
const OPERATOR_ROLE: &str = "FlowgateOrgOperatorRole";
const VENDOR_ROLE: &str = "FlowgateCrossAccountRole";
/// The emulator's own account: the organization's management account.
const MANAGEMENT: &str = "123456789012";

const ORGANIZATIONS_ACCESS_ENABLED: &str = r#"<DescribeOrganizationsAccessResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeOrganizationsAccessResult><Status>ENABLED</Status></DescribeOrganizationsAccessResult><ResponseMetadata><RequestId>chaos</RequestId></ResponseMetadata></DescribeOrganizationsAccessResponse>"#;

/// An organization on its own emulator: the management account (the emulator's default
/// account) and four members: app1 in Workloads, app2 in Workloads/Prod (two OU levels),
/// log-archive and audit in Security.
pub(crate) struct Org {
    pub(crate) env: Env,
    root: String,
    workloads: String,
    security: String,
    pub(crate) members: BTreeMap<&'static str, String>,
}

impl Org {
    pub(crate) fn new() -> Org {
        let env = Env::isolated();
        // AWS: trusted access is active once activated (moto cannot answer this call).
        env.proxy.answer("DescribeOrganizationsAccess", 200, ORGANIZATIONS_ACCESS_ENABLED);
        let orgs = aws_sdk_organizations::Client::new(&env.sdk("us-east-1"));
        block_on(orgs.create_organization().feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All).send()).unwrap();
        let root = block_on(orgs.list_roots().send()).unwrap().roots()[0].id().unwrap().to_owned();
        let ou = |parent: &str, name: &str| {
            block_on(orgs.create_organizational_unit().parent_id(parent).name(name).send())
                .unwrap()
                .organizational_unit()
                .unwrap()
                .id()
                .unwrap()
                .to_owned()
        };
        let workloads = ou(&root, "Workloads");
        let prod = ou(&workloads, "Prod");
        let security = ou(&root, "Security");
        let mut members = BTreeMap::new();
        for (name, parent) in [("app1", &workloads), ("app2", &prod), ("log-archive", &security), ("audit", &security)] {
            let id = create_account(&env, name);
            block_on(orgs.move_account().account_id(&id).source_parent_id(&root).destination_parent_id(parent).send()).unwrap();
            members.insert(name, id);
        }
        Org { env, root, workloads, security, members }
    }

    /// AWS deletes the instances DeleteStackInstances targets (moto keeps them): after the
    /// offboard plan's own listing of each StackSet (the roles' and the watcher's), its instances
    /// are gone; and DeleteStackSet then succeeds (moto refuses it: its instances are still there).
    pub(crate) fn stack_instances_deleted_after_the_plan(&self) {
        let listed = std::sync::Mutex::new(std::collections::BTreeSet::new());
        self.env.proxy.rewrite_response("ListStackInstances", move |body| {
            // A listing names its set in each instance's StackSetId ("name:uuid"); an empty one
            // names none and stays as it is.
            let Some(set) = body.split("<StackSetId>").nth(1).and_then(|rest| rest.split(':').next()) else { return body.to_owned() };
            if listed.lock().unwrap().insert(set.to_owned()) {
                return body.to_owned();
            }
            r#"<ListStackInstancesResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><ListStackInstancesResult><Summaries/></ListStackInstancesResult><ResponseMetadata><RequestId>chaos</RequestId></ResponseMetadata></ListStackInstancesResponse>"#.to_owned()
        });
        self.env.proxy.answer(
            "DeleteStackSet",
            200,
            r#"<DeleteStackSetResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DeleteStackSetResult/><ResponseMetadata><RequestId>chaos</RequestId></ResponseMetadata></DeleteStackSetResponse>"#,
        );
    }

    fn ous(&self) -> String {
        format!("{},{}", self.workloads, self.security)
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        self.env.flowgate().args(["org"]).args(args).args(["--output", "json"]).output().unwrap()
    }

    fn onboard(&self, bucket: &str, extra: &[&str]) -> std::process::Output {
        self.run(&self.onboard_args(bucket, extra).iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// `org onboard` as another account (a delegated administrator), with its `credentials`.
    fn onboard_as(&self, credentials: &Credentials, bucket: &str, extra: &[&str]) -> std::process::Output {
        let args = self.onboard_args(bucket, extra);
        flowgate_as(&self.env, credentials, &[&["org"][..], &args.iter().map(String::as_str).collect::<Vec<_>>()].concat())
    }

    fn onboard_args(&self, bucket: &str, extra: &[&str]) -> Vec<String> {
        let ous = self.ous();
        let mut args = vec!["onboard", "--bucket", bucket, "--vendor-account", VENDOR, "--ous", &ous];
        // Both regions unless the test names its own (clap would add them up).
        if !extra.contains(&"--regions") {
            args.extend(["--regions", REGIONS]);
        }
        args.extend_from_slice(extra);
        args.into_iter().map(str::to_owned).collect()
    }
}

fn create_account(env: &Env, name: &str) -> String {
    let orgs = aws_sdk_organizations::Client::new(&env.sdk("us-east-1"));
    let status = block_on(orgs.create_account().account_name(name).email(format!("{name}@example.com")).send()).unwrap();
    status.create_account_status().unwrap().account_id().unwrap().to_owned()
}

/// The member's own credentials (AssumeRole into the role Organizations created with it).
fn member_credentials(env: &Env, account: &str) -> Credentials {
    let sts = aws_sdk_sts::Client::new(&env.sdk("us-east-1"));
    let out =
        block_on(sts.assume_role().role_arn(format!("arn:aws:iam::{account}:role/OrganizationAccountAccessRole")).role_session_name("test").send())
            .unwrap();
    let c = out.credentials().unwrap();
    Credentials::new(c.access_key_id(), c.secret_access_key(), Some(c.session_token().to_owned()), None, "member")
}

/// The member's own credentials, straight to the emulator.
fn member_sdk(env: &Env, account: &str, region: &str) -> SdkConfig {
    let credentials = member_credentials(env, account);
    env.sdk(region).to_builder().credentials_provider(SharedCredentialsProvider::new(credentials)).build()
}

/// `flowgate ARGS --output json` run in another account, with its `credentials`.
fn flowgate_as(env: &Env, credentials: &Credentials, args: &[&str]) -> std::process::Output {
    env.flowgate()
        .env("AWS_ACCESS_KEY_ID", credentials.access_key_id())
        .env("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key())
        .env("AWS_SESSION_TOKEN", credentials.session_token().unwrap_or_default())
        .args(args)
        .args(["--output", "json"])
        .output()
        .unwrap()
}

fn role_exists(env: &Env, account: &str, role: &str) -> bool {
    let iam = aws_sdk_iam::Client::new(&member_sdk(env, account, "us-east-1"));
    block_on(iam.get_role().role_name(role).send()).is_ok()
}

/// The member's flow logs to `bucket` in `region`.
fn flow_logs_to(env: &Env, account: &str, region: &str, bucket: &str) -> usize {
    let ec2 = aws_sdk_ec2::Client::new(&member_sdk(env, account, region));
    let out = block_on(ec2.describe_flow_logs().send()).unwrap();
    out.flow_logs().iter().filter(|f| f.log_destination().is_some_and(|d| d.starts_with(&format!("arn:aws:s3:::{bucket}")))).count()
}

fn bucket_policy(env: &Env, owner: &str, bucket: &str) -> String {
    policy_of(env, owner, bucket).unwrap_or_else(|| panic!("bucket {bucket} has no policy"))
}

fn owner_s3(env: &Env, owner: &str) -> aws_sdk_s3::Client {
    let sdk = if owner == MANAGEMENT { env.sdk("us-east-1") } else { member_sdk(env, owner, "us-east-1") };
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build())
}

/// The bucket's policy as its owner reads it; `None` when it has none.
fn policy_of(env: &Env, owner: &str, bucket: &str) -> Option<String> {
    match block_on(owner_s3(env, owner).get_bucket_policy().bucket(bucket).send()) {
        Ok(out) => out.policy().map(str::to_owned),
        Err(e) if format!("{e:?}").contains("NoSuchBucketPolicy") => None,
        Err(e) => panic!("reading the policy of {bucket}: {e:?}"),
    }
}

fn sids_of(policy: Option<&str>) -> Vec<String> {
    let doc: Value = policy.map(|p| serde_json::from_str(p).unwrap()).unwrap_or(Value::Null);
    doc["Statement"].as_array().into_iter().flatten().map(|s| s["Sid"].as_str().unwrap_or("(no Sid)").to_owned()).collect()
}

/// What org offboard's report says it did to the policy is what the bucket's policy says: the
/// statements kept are there and no other, the ones removed are gone, the accounts taken out are
/// named by no organization statement, and the ones still delivering are.
fn assert_report_is_the_policy(report: &Value, policy: Option<&str>) {
    let edit = &report["policy_edit"];
    assert_eq!(edit["applied"], true, "{edit}");
    let strings = |v: &Value| -> Vec<String> {
        v.as_array().unwrap_or_else(|| panic!("{v} in {report}")).iter().map(|s| s.as_str().unwrap().to_owned()).collect()
    };
    let sids = sids_of(policy);
    assert_eq!(sids, strings(&edit["kept_statements"]), "{edit}\n{policy:?}");
    assert_eq!(edit["policy_deleted"], policy.is_none(), "{edit}");
    for removed in strings(&edit["removed_statements"]) {
        assert!(!sids.contains(&removed), "{removed} is still there: {policy:?}");
    }
    let doc: Value = policy.map(|p| serde_json::from_str(p).unwrap()).unwrap_or(Value::Null);
    let org_statements: Vec<String> = doc["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["Sid"].as_str().is_some_and(|sid| sid.starts_with("FlowgateOrg")))
        .map(Value::to_string)
        .collect();
    for account in strings(&edit["accounts_taken_out"]) {
        assert!(org_statements.iter().all(|s| !s.contains(&account)), "{account} is still named: {org_statements:?}");
    }
    for account in strings(&edit["accounts_still_granted"]) {
        assert!(org_statements.iter().any(|s| s.contains(&format!("AWSLogs/{account}/*"))), "{account} lost its grant: {org_statements:?}");
    }
    let line = report["changes"].as_array().unwrap().iter().find(|c| c["action"] == "remove-delivery-statements").unwrap();
    for sid in strings(&edit["removed_statements"]) {
        assert!(line["detail"].as_str().unwrap().contains(&sid), "the line names what goes: {line}");
    }
}

fn account_entry<'a>(report: &'a Value, account: &str) -> &'a Value {
    report["accounts"].as_array().unwrap().iter().find(|a| a["id"] == account).unwrap_or_else(|| panic!("no entry for {account}: {report}"))
}

/// The changes of a report that did not go as planned, for assertion messages.
fn trouble(output: &std::process::Output) -> String {
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    let all = report["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(report["accounts"].as_array().into_iter().flatten().flat_map(|a| a["changes"].as_array().into_iter().flatten()));
    let bad: Vec<String> = all.filter(|c| c["status"] != "applied" && c["status"] != "unchanged").map(|c| c.to_string()).collect();
    format!("{}\n{}", bad.join("\n"), stderr(output))
}

fn statuses(entry: &Value) -> Vec<String> {
    entry["changes"].as_array().map(|c| c.iter().map(|c| format!("{}:{}", c["action"], c["status"])).collect()).unwrap_or_default()
}

#[test]
fn org_onboard_converges_picks_up_a_new_member_verifies_and_offboards() {
    let org = Org::new();
    let bucket = crate::support::unique("org-central");
    let log_archive = org.members["log-archive"].clone();
    let extra = ["--log-archive-account", log_archive.as_str(), "--storage-access", "--yes"];

    // The plan makes no mutating call.
    let plan = org.onboard(&bucket, &["--log-archive-account", &log_archive, "--dry-run"]);
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    assert!(org.env.proxy.mutating_calls().is_empty(), "a dry run changed something: {:?}", org.env.proxy.mutating_calls());
    let report = json_stdout(&plan);
    assert_eq!(report["accounts"].as_array().unwrap().len(), 5, "{report}");
    assert_eq!(account_entry(&report, "123456789012")["decision"], "out-of-scope", "the management account is directly under the root");

    // Apply: roles by the StackSet, flow logs in every member, the bucket in the log-archive account.
    let out = org.onboard(&bucket, &extra);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stdout(&out), stderr(&out));
    let report = json_stdout(&out);
    let policy = bucket_policy(&org.env, &log_archive, &bucket);
    for (name, account) in &org.members {
        assert!(role_exists(&org.env, account, OPERATOR_ROLE), "{name}: no operator role");
        assert!(role_exists(&org.env, account, VENDOR_ROLE), "{name}: no vendor role");
        for region in REGIONS.split(',') {
            assert_eq!(
                flow_logs_to(&org.env, account, region, &bucket),
                1,
                "{name} {region}: {}",
                statuses(account_entry(&report, account)).join(" ")
            );
        }
        assert!(policy.contains(&format!("AWSLogs/{account}/*")), "{name} cannot deliver: {policy}");
    }
    // The creation request asked for auto-deployment and service-managed permissions (moto
    // drops AutoDeployment from DescribeStackSet, so the request is where it shows).
    let create = org.env.proxy.requests().into_iter().find(|r| r.action == "CreateStackSet").expect("CreateStackSet was called");
    assert!(create.body.contains("PermissionModel=SERVICE_MANAGED"), "{}", create.body);
    assert!(create.body.contains("AutoDeployment.Enabled=true") && create.body.contains("RetainStacksOnAccountRemoval=false"), "{}", create.body);
    let instances = org.env.proxy.requests().into_iter().find(|r| r.action == "CreateStackInstances").expect("CreateStackInstances was called");
    assert!(
        instances.body.contains("FailureTolerancePercentage=25") && instances.body.contains("RegionConcurrencyType=PARALLEL"),
        "{}",
        instances.body
    );
    assert!(
        instances.body.contains("Regions.member.1=us-east-1") && !instances.body.contains("Regions.member.2"),
        "one region only: {}",
        instances.body
    );

    // The vendor reads the central bucket through the log-archive account's role only: a
    // parameter override of that one instance (moto records overrides without redeploying).
    let grant = org.env.proxy.requests().into_iter().find(|r| r.action == "UpdateStackInstances").expect("the storage grant");
    assert!(grant.body.contains("ParameterKey=StorageAccess") && grant.body.contains(&bucket), "{}", grant.body);
    assert!(grant.body.contains("AccountFilterType=INTERSECTION") && grant.body.contains(&log_archive), "{}", grant.body);
    let set = org.env.proxy.requests().into_iter().find(|r| r.action == "CreateStackSet").unwrap();
    assert!(
        set.body.contains("Parameters.member.4.ParameterKey=StorageAccess") && set.body.contains("Parameters.member.4.ParameterValue=false"),
        "member accounts' vendor roles read no storage: {}",
        set.body
    );

    // AWS records the override on the instance (DescribeStackInstance's ParameterOverrides);
    // moto applies UpdateStackInstances only to top-level Accounts, which service-managed sets
    // do not use, so the proxy answers as AWS would from here on.
    let overrides = format!(
        "<ParameterOverrides><member><ParameterKey>StorageAccess</ParameterKey><ParameterValue>true</ParameterValue></member><member><ParameterKey>StorageBucketNames</ParameterKey><ParameterValue>{bucket}</ParameterValue></member></ParameterOverrides>"
    );
    let archive = log_archive.clone();
    org.env.proxy.rewrite_response("DescribeStackInstance", move |body| {
        if body.contains(&format!("<Account>{archive}</Account>")) { body.replace("<ParameterOverrides/>", &overrides) } else { body.to_owned() }
    });

    // A second run changes nothing and makes no mutating call.
    org.env.proxy.reset_log();
    let again = org.onboard(&bucket, &extra);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(org.env.proxy.mutating_calls().is_empty(), "the second run changed something: {:?}", org.env.proxy.mutating_calls());
    assert_eq!(json_stdout(&again)["summary"]["applied"], 0);

    // An account created at the root is out of scope; moved into Workloads, a re-run picks it up.
    // (AWS's auto-deployment would have deployed its roles as it joined; moto ignores
    // auto-deployment, so the re-run's CreateStackInstances for the missing member does it.)
    let newcomer = create_account(&org.env, "newcomer");
    let orgs = aws_sdk_organizations::Client::new(&org.env.sdk("us-east-1"));
    block_on(orgs.move_account().account_id(&newcomer).source_parent_id(&org.root).destination_parent_id(&org.workloads).send()).unwrap();
    org.env.proxy.reset_log();
    let joined = org.onboard(&bucket, &extra);
    assert_eq!(joined.status.code(), Some(0), "{}", stderr(&joined));
    assert!(role_exists(&org.env, &newcomer, OPERATOR_ROLE));
    assert_eq!(flow_logs_to(&org.env, &newcomer, "us-east-1", &bucket), 1);
    assert!(bucket_policy(&org.env, &log_archive, &bucket).contains(&format!("AWSLogs/{newcomer}/*")));
    let instances = org.env.proxy.requests().into_iter().find(|r| r.action == "CreateStackInstances").expect("the newcomer's instance");
    assert!(
        instances.body.contains("AccountFilterType=INTERSECTION") && instances.body.contains(&newcomer),
        "only the missing member is targeted: {}",
        instances.body
    );

    // verify: one entry per account with checks; nothing delivered yet is a warning, not a failure.
    let verify = org.run(&["verify", "--bucket", &bucket, "--regions", REGIONS, "--ous", &org.ous(), "--log-archive-account", &log_archive]);
    assert_eq!(verify.status.code(), Some(0), "{}", stdout(&verify));
    let report = json_stdout(&verify);
    let app2 = account_entry(&report, &org.members["app2"]);
    let checks: BTreeMap<String, String> = app2["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_owned(), c["status"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(checks["stack-instance"], "pass", "{app2}");
    assert_eq!(checks["flow-logs"], "pass", "{app2}");
    assert_eq!(checks["delivery-policy"], "pass", "{app2}");
    assert_eq!(checks["delivery"], "warn", "{app2}");
    // moto applies no storage override: the log-archive account's vendor role reads nothing yet.
    assert_eq!(report["storage_access"]["status"], "pass", "{report}");
    vendor_storage_disagreement(&org, &bucket, &log_archive);

    // The offboard plan changes nothing.
    org.env.proxy.reset_log();
    let plan = org.run(&["offboard", "--bucket", &bucket, "--ous", &org.ous(), "--log-archive-account", &log_archive, "--dry-run"]);
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    assert!(org.env.proxy.mutating_calls().is_empty(), "{:?}", org.env.proxy.mutating_calls());
    assert!(flow_logs_to(&org.env, &newcomer, "us-east-1", &bucket) == 1);

    // Offboard: flow logs go through the operator roles, then the organization's statements and
    // the log-archive account's own (it leaves, and onboarded on its own nowhere), then the
    // instances.
    let mut listed = 0;
    org.stack_instances_deleted_after_the_plan();
    let out = org.run(&["offboard", "--bucket", &bucket, "--ous", &org.ous(), "--log-archive-account", &log_archive, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", trouble(&out));
    for account in org.members.values().chain([&newcomer]) {
        assert_eq!(flow_logs_to(&org.env, account, "us-east-1", &bucket), 0);
        listed += 1;
    }
    assert_eq!(listed, 5);
    let report = json_stdout(&out);
    let policy = policy_of(&org.env, &log_archive, &bucket);
    assert!(policy.is_none(), "flowgate's statements were the whole policy: {policy:?}");
    assert_report_is_the_policy(&report, policy.as_deref());
    assert_eq!(report["policy_edit"]["log_archive_statements"], "removed", "{report}");
    let delete = org.env.proxy.requests().into_iter().find(|r| r.action == "DeleteStackInstances").expect("DeleteStackInstances");
    assert!(delete.body.contains("RetainStacks=false") && delete.body.contains(&org.workloads), "{}", delete.body);
    assert!(org.env.proxy.requests().iter().any(|r| r.action == "DeleteStackSet"));
}

/// org verify asks IAM's policy simulator (IAM API Reference, "SimulatePrincipalPolicy",
/// "EvaluationResult") about the vendor role of the central bucket's account, in that account.
/// AWS applies the storage override to that role (moto does not: the grant is written to the
/// role here); an SCP denying s3:GetObject while the role's policies allow it
/// (`OrganizationsDecisionDetail.AllowedByOrganizations` false) fails the storage check, naming it.
fn vendor_storage_disagreement(org: &Org, bucket: &str, log_archive: &str) {
    use crate::support::simulator::{Evaluation, simulator_answers};
    let iam = aws_sdk_iam::Client::new(&member_sdk(&org.env, log_archive, "us-east-1"));
    let read = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "CentralObjects", "Effect": "Allow", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{bucket}/*")}]});
    let put = iam.put_role_policy().role_name(VENDOR_ROLE).policy_name("CentralBucketRead").policy_document(read.to_string());
    block_on(put.send()).unwrap();
    let scp = Evaluation {
        matched: &[("CentralBucketRead", "role")],
        allowed_by_organizations: Some(false),
        ..Evaluation::plain("s3:GetObject", "explicitDeny")
    };
    simulator_answers(&org.env, &[scp, Evaluation::plain("s3:ListBucket", "implicitDeny")]);
    org.env.proxy.reset_log();
    let verify = org.run(&["verify", "--bucket", bucket, "--regions", REGIONS, "--ous", &org.ous(), "--log-archive-account", log_archive]);
    assert_eq!(verify.status.code(), Some(1), "{}", stdout(&verify));
    let report = json_stdout(&verify);
    let storage = &report["storage_access"];
    assert_eq!(storage["status"], "fail", "{storage}");
    let detail = storage["detail"].as_str().unwrap();
    let role = format!("the vendor role {VENDOR_ROLE} in account {log_archive} can s3:GetObject the central bucket's objects");
    assert!(detail.contains(&role), "{detail}");
    assert!(detail.contains("DISAGREES") && detail.contains("decided by a service control policy"), "{detail}");
    assert_eq!(report["aws_verdict"]["decided_by"], "service-control-policy");
    let asked = org.env.proxy.requests().into_iter().find(|r| r.action == "SimulatePrincipalPolicy").expect("the simulator was asked");
    assert!(asked.body.contains(&format!("iam%3A%3A{log_archive}%3Arole%2F{VENDOR_ROLE}")), "{}", asked.body);
    org.env.proxy.forget_answers("SimulatePrincipalPolicy");
    block_on(iam.delete_role_policy().role_name(VENDOR_ROLE).policy_name("CentralBucketRead").send()).unwrap();
}

#[test]
fn bad_scope_is_an_input_error_before_any_change() {
    let org = Org::new();
    let out = org.run(&["onboard", "--bucket", "org-bad-scope", "--vendor-account", VENDOR, "--ous", "ou-zzzz-nonexist1", "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let report = json_stdout(&out);
    assert!(report.to_string().contains("ou-zzzz-nonexist1"), "{report}");
    assert!(org.env.proxy.mutating_calls().is_empty());

    // The management account calling as a delegated administrator.
    let out = org.run(&["onboard", "--bucket", "org-bad-scope", "--vendor-account", VENDOR, "--call-as", "delegated-admin", "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(org.env.proxy.mutating_calls().is_empty());

    // VPC ids belong to one account.
    org.env.proxy.reset_log();
    let out = org.run(&["onboard", "--bucket", "org-bad-scope", "--vendor-account", VENDOR, "--vpcs", "vpc-0123456789abcdef0", "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(org.env.proxy.requests().is_empty(), "an input error is found before any AWS call");

    // Not an OU id at all: refused by the parser.
    let out = org.run(&["onboard", "--bucket", "org-bad-scope", "--vendor-account", VENDOR, "--ous", "Workloads"]);
    assert_eq!(out.status.code(), Some(2));
}

/// AWS never deploys a service-managed StackSet to the management account (moto does, when the
/// root is targeted): the plan deploys that account's stack by the single-account path instead.
#[test]
fn the_management_account_gets_the_single_account_stack_in_the_plan() {
    let org = Org::new();
    let out = org.run(&["onboard", "--bucket", "org-mgmt-plan", "--vendor-account", VENDOR, "--regions", "us-east-1", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json_stdout(&out);
    let management = account_entry(&report, "123456789012");
    assert_eq!(management["decision"], "in-scope");
    assert_eq!(management["placement"], "management");
    let changes = report["changes"].as_array().unwrap();
    assert!(changes.iter().any(|c| c["action"] == "create-stack" || c["resource"] == "flowgate-cross-account"), "no single-account stack: {report}");
    let instances = changes.iter().find(|c| c["action"] == "create-stack-instances").unwrap();
    assert!(!instances["detail"].as_str().unwrap().contains("123456789012"), "the StackSet never targets the management account: {instances}");
    assert!(org.env.proxy.mutating_calls().is_empty());
}

/// AWS: one operation per stack set at a time; another one in progress answers
/// OperationInProgressException ("Another Operation on StackSet ... is in progress", AWS
/// CloudFormation API Reference, CreateStackInstances errors). flowgate waits and retries.
#[test]
fn an_operation_in_progress_is_waited_for() {
    let org = Org::new();
    let busy = r#"<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>OperationInProgressException</Code><Message>Another Operation on StackSet arn:aws:cloudformation:us-east-1:123456789012:stackset/flowgate-org-roles is in progress</Message></Error><RequestId>chaos</RequestId></ErrorResponse>"#;
    org.env.proxy.answer_when("CreateStackInstances", None, Some(1), 400, busy);
    let out = org.onboard("org-busy", &["--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stdout(&out), stderr(&out));
    assert_eq!(org.env.proxy.counts().get("cloudformation:CreateStackInstances"), Some(&2));
    assert!(role_exists(&org.env, &org.members["app1"], OPERATOR_ROLE));
}

/// AWS: an operation is RUNNING for minutes before it ends (moto ends it at once); flowgate
/// polls DescribeStackSetOperation until it ends, then reads each account's result. One member's
/// instance FAILED (ListStackSetOperationResults, e.g. a role of that name already exists there):
/// the account is reported with AWS's reason, its flow logs are not attempted, the others are
/// onboarded, and the run exits 3.
#[test]
fn a_running_operation_is_waited_for_and_a_failed_account_is_partial() {
    let org = Org::new();
    let polls = Arc::new(AtomicUsize::new(0));
    let seen = polls.clone();
    org.env.proxy.rewrite_response("DescribeStackSetOperation", move |body| {
        if seen.fetch_add(1, Ordering::SeqCst) < 2 { body.replace("<Status>SUCCEEDED</Status>", "<Status>RUNNING</Status>") } else { body.to_owned() }
    });
    let failed = org.members["audit"].clone();
    let results = format!(
        r#"<ListStackSetOperationResultsResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><ListStackSetOperationResultsResult><Summaries><member><Account>{failed}</Account><Region>us-east-1</Region><Status>FAILED</Status><StatusReason>Role FlowgateCrossAccountRole already exists</StatusReason></member></Summaries></ListStackSetOperationResultsResult><ResponseMetadata><RequestId>chaos</RequestId></ResponseMetadata></ListStackSetOperationResultsResponse>"#
    );
    org.env.proxy.answer("ListStackSetOperationResults", 200, &results);
    let out = org.onboard("org-partial", &["--yes"]);
    assert_eq!(out.status.code(), Some(3), "{}\n{}", stdout(&out), stderr(&out));
    assert!(polls.load(Ordering::SeqCst) >= 3, "the RUNNING operation was not polled until it ended");
    let report = json_stdout(&out);
    let failure = report["changes"].as_array().unwrap().iter().find(|c| c["action"] == "stack-instance").expect("the failed instance is reported");
    assert_eq!(failure["resource"], failed.as_str());
    assert!(failure["error"].as_str().unwrap().contains("already exists"), "{failure}");
    assert_eq!(statuses(account_entry(&report, &failed)), ["\"enable-flow-logs\":\"not-attempted\""]);
    assert_eq!(flow_logs_to(&org.env, &failed, "us-east-1", "org-partial"), 0);
    assert_eq!(flow_logs_to(&org.env, &org.members["app1"], "us-east-1", "org-partial"), 1);
}

/// AWS: AssumeRole is denied when the role's trust does not admit the caller (an account whose
/// operator role was changed by hand; moto never denies). That account's failure is in the
/// report with a hint, the others are onboarded (here: a region added), and the run exits 3.
#[test]
fn access_denied_on_one_member_is_reported_and_the_others_proceed() {
    let org = Org::new();
    let first = org.onboard("org-denied", &["--regions", "us-east-1", "--yes"]);
    assert_eq!(first.status.code(), Some(0), "{}", trouble(&first));
    let denied = org.members["app1"].clone();
    org.env.proxy.answer_when("AssumeRole", Some(&operator_arn(&denied)), None, 403, &access_denied(&denied));
    let out = org.onboard("org-denied", &["--yes"]);
    assert_eq!(out.status.code(), Some(3), "{}", trouble(&out));
    let report = json_stdout(&out);
    let entry = account_entry(&report, &denied);
    let change = &entry["changes"][0];
    assert_eq!(change["status"], "failed", "{entry}");
    assert!(change["error"].as_str().unwrap().contains("access denied") && change["error"].as_str().unwrap().contains("org status"), "{entry}");
    assert_eq!(flow_logs_to(&org.env, &org.members["app2"], "eu-west-1", "org-denied"), 1);
    assert_eq!(flow_logs_to(&org.env, &denied, "eu-west-1", "org-denied"), 0);
}

/// AWS: IAM is eventually consistent ("changes ... are not immediately visible", IAM User Guide,
/// troubleshooting: changes I make are not always immediately visible): a role the StackSet has
/// just created may refuse AssumeRole for a few seconds. flowgate retries such a denial for a
/// role it has just deployed.
#[test]
fn a_just_deployed_role_that_is_denied_at_first_is_retried() {
    let org = Org::new();
    let slow = org.members["audit"].clone();
    // Denied at the plan and once more when applying; then IAM has caught up.
    org.env.proxy.answer_when("AssumeRole", Some(&operator_arn(&slow)), Some(2), 403, &access_denied(&slow));
    let out = org.onboard("org-eventual", &["--regions", "us-east-1", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", trouble(&out));
    assert_eq!(flow_logs_to(&org.env, &slow, "us-east-1", "org-eventual"), 1);
}

fn operator_arn(account: &str) -> String {
    format!("arn:aws:iam::{account}:role/{OPERATOR_ROLE}")
}

fn access_denied(account: &str) -> String {
    format!(
        r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/moto is not authorized to perform: sts:AssumeRole on resource: {}</Message></Error><RequestId>chaos</RequestId></ErrorResponse>"#,
        operator_arn(account)
    )
}

/// AWS: an operation that fails in an account leaves its instance OUTDATED (detailed status
/// FAILED) until an operation deploys it again; moto never fails one. A re-run deploys exactly
/// those instances again (UpdateStackInstances for those accounts), and the auto-deployment of a
/// scope that names its accounts is off (AWS deploys to every account joining a target OU,
/// whatever the filter).
#[test]
fn an_outdated_instance_is_deployed_again_and_named_accounts_turn_auto_deployment_off() {
    let org = Org::new();
    let include = format!("{},{}", org.members["app1"], org.members["audit"]);
    let first = org.onboard("org-repair", &["--regions", "us-east-1", "--include-accounts", &include, "--yes"]);
    assert_eq!(first.status.code(), Some(0), "{}", trouble(&first));
    let create = org.env.proxy.requests().into_iter().find(|r| r.action == "CreateStackSet").unwrap();
    assert!(create.body.contains("AutoDeployment.Enabled=false"), "{}", create.body);
    let report = json_stdout(&first);
    assert_eq!(account_entry(&report, &org.members["app2"])["decision"], "out-of-scope");

    let broken = org.members["audit"].clone();
    let id = broken.clone();
    org.env.proxy.rewrite_response("ListStackInstances", move |body| {
        // The audit account's summary: OUTDATED after a failed operation.
        let Some(at) = body.find(&format!("<Account>{id}</Account>")) else { return body.to_owned() };
        let end = body[at..].find("</member>").map_or(body.len(), |e| at + e);
        let member = body[at..end]
            .replace("<Status>CURRENT</Status>", "<Status>OUTDATED</Status>")
            .replace("<DetailedStatus>SUCCEEDED</DetailedStatus>", "<DetailedStatus>FAILED</DetailedStatus>");
        format!("{}{member}{}", &body[..at], &body[end..])
    });
    org.env.proxy.reset_log();
    let plan = org.onboard("org-repair", &["--regions", "us-east-1", "--include-accounts", &include, "--dry-run"]);
    let report = json_stdout(&plan);
    let repair = report["changes"].as_array().unwrap().iter().find(|c| c["action"] == "update-stack-instances").expect("the repair is planned");
    assert!(repair["detail"].as_str().unwrap().contains(&broken), "{repair}");
    let out = org.onboard("org-repair", &["--regions", "us-east-1", "--include-accounts", &include, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", trouble(&out));
    let update = org.env.proxy.requests().into_iter().find(|r| r.action == "UpdateStackInstances").expect("UpdateStackInstances");
    assert!(update.body.contains(&broken) && !update.body.contains(&org.members["app1"]), "only the OUTDATED account: {}", update.body);
    assert!(!update.body.contains("ParameterOverrides.member"), "deployed again as it is: {}", update.body);
}

/// AWS: a suspended account stays in ListAccounts with Status/State SUSPENDED (moto never
/// suspends). It is skipped and said so; nothing is created in it.
#[test]
fn a_suspended_account_is_skipped_and_said_so() {
    let org = Org::new();
    let suspended = org.members["audit"].clone();
    let id = suspended.clone();
    org.env.proxy.rewrite_response("ListAccountsForParent", move |body| {
        let mut doc: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        if let Some(accounts) = doc["Accounts"].as_array_mut() {
            for account in accounts.iter_mut().filter(|a| a["Id"] == id.as_str()) {
                account["Status"] = "SUSPENDED".into();
                account["State"] = "SUSPENDED".into();
            }
        }
        doc.to_string()
    });
    let out = org.onboard("org-suspended", &["--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stdout(&out), stderr(&out));
    let report = json_stdout(&out);
    let entry = account_entry(&report, &suspended);
    assert_eq!(entry["decision"], "skipped", "{entry}");
    assert_eq!(entry["reason"], "suspended", "{entry}");
    assert_eq!(flow_logs_to(&org.env, &suspended, "us-east-1", "org-suspended"), 0);
    assert!(!bucket_policy(&org.env, "123456789012", "org-suspended").contains(&suspended));
    // The StackSet still targets the OU: AWS skips the suspended account
    // (SKIPPED_SUSPENDED_ACCOUNT), and an account that comes back gets its instance.
    assert_eq!(flow_logs_to(&org.env, &org.members["log-archive"], "us-east-1", "org-suspended"), 1);
    let _ = &org.security;
}

/// Ctrl-C while the first account's flow log is being created (accounts one at a time): that
/// account finishes, the others are "not attempted", exit 130, and the report says to re-run.
#[test]
fn sigint_during_the_flow_log_pass_stops_before_the_next_account() {
    let org = Org::new();
    org.env.proxy.hold("CreateFlowLogs", 1);
    let ous = org.ous();
    let args = [
        "org",
        "onboard",
        "--bucket",
        "org-sigint",
        "--vendor-account",
        VENDOR,
        "--regions",
        "us-east-1",
        "--ous",
        &ous,
        "--account-concurrency",
        "1",
        "--yes",
        "--output",
        "json",
    ];
    let (code, out, err) = crate::reliability::interrupt_while_held(&org.env, &args);
    assert_eq!(code, Some(130), "{err}\n{out}");
    let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(report["summary"]["interrupted"], true, "{report:#}");
    assert!(report["rerun"].as_str().unwrap().contains("org onboard"), "{report:#}");
    let members: Vec<&Value> = report["accounts"].as_array().unwrap().iter().filter(|a| a["placement"] == "member").collect();
    let applied = members.iter().filter(|a| statuses(a).iter().any(|s| s.contains("applied"))).count();
    let stopped = members.iter().filter(|a| statuses(a).iter().all(|s| s.contains("not-attempted"))).count();
    assert_eq!((applied, stopped), (1, 3), "{report:#}");
    assert_eq!(org.env.proxy.counts().get("ec2:CreateFlowLogs"), Some(&1), "no account after the interrupt");
}

/// S3 refuses a bucket policy over 20 KB ("Bucket policies are limited to 20 KB in size", Amazon
/// S3 User Guide, bucket policies). Per-account delivery for ~140 accounts would pass it: flowgate
/// refuses before any change and offers the organization form. (The extra accounts are added to
/// the Organizations answer by the proxy: building 135 accounts in the emulator is slow.)
#[test]
fn a_delivery_policy_past_20_kb_is_refused_with_the_org_form_offered() {
    let org = Org::new();
    org.env.proxy.rewrite_response("ListAccountsForParent", move |body| {
        let mut doc: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        // The Workloads OU's answer (the one with app1).
        let for_workloads = doc["Accounts"].as_array().is_some_and(|a| a.iter().any(|x| x["Name"] == "app1"));
        if let (true, Some(accounts)) = (for_workloads, doc["Accounts"].as_array_mut()) {
            if accounts.len() < 100 {
                for n in 0..135u64 {
                    let id = format!("{:012}", 400_000_000_000u64 + n);
                    accounts.push(serde_json::json!({"Id": id, "Arn": format!("arn:aws:organizations::123456789012:account/o-x/{id}"),
                        "Name": format!("extra{n}"), "Email": format!("extra{n}@example.com"), "Status": "ACTIVE", "State": "ACTIVE"}));
                }
            }
        }
        doc.to_string()
    });
    let out = org.onboard("org-too-many", &["--dry-run"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stderr(&out) + &stdout(&out);
    assert!(text.contains("20480") && text.contains("--delivery-policy org"), "{text}");
    assert!(org.env.proxy.mutating_calls().is_empty());
}

fn change<'a>(report: &'a Value, action: &str) -> &'a Value {
    report["changes"].as_array().unwrap().iter().find(|c| c["action"] == action).unwrap_or_else(|| panic!("no {action}: {report}"))
}

/// `--delivery-policy org`: one statement for the organization, conditioned on aws:SourceOrgID.
/// It lets every account of the organization deliver, whatever the scope, and the plan says so
/// (in text and JSON). Going back to per-account statements names every account the rewrite
/// grants outside the scope (the management account, which the organization form let deliver)
/// and what it loses.
#[test]
fn the_org_form_grants_the_organization_in_one_statement() {
    let org = Org::new();
    let plan = org.onboard("org-form", &["--delivery-policy", "org", "--regions", "us-east-1", "--dry-run"]);
    let report = json_stdout(&plan);
    let org_id = report["organization"]["id"].as_str().unwrap().to_owned();
    let grant = &report["delivery_grant"];
    assert_eq!(grant["whole_organization"], true, "{report}");
    assert_eq!(grant["outside_scope"], serde_json::json!([MANAGEMENT]), "{grant}");
    let line = change(&report, "put-delivery-statements");
    let detail = line["detail"].as_str().unwrap();
    assert!(detail.contains(&format!("every account of organization {org_id}")) && detail.contains(MANAGEMENT), "{line}");
    let ous = org.ous();
    let text = org
        .env
        .flowgate()
        .args(["org", "onboard", "--bucket", "org-form", "--vendor-account", VENDOR, "--ous", &ous, "--regions", "us-east-1"])
        .args(["--delivery-policy", "org", "--dry-run"])
        .output()
        .unwrap();
    assert!(stdout(&text).contains(&format!("every account of organization {org_id}")), "{}", stdout(&text));

    let out = org.onboard("org-form", &["--delivery-policy", "org", "--regions", "us-east-1", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", trouble(&out));
    let policy = bucket_policy(&org.env, MANAGEMENT, "org-form");
    assert!(policy.contains("aws:SourceOrgID") && policy.contains(&org_id), "{policy}");
    assert!(policy.contains("arn:aws:s3:::org-form/AWSLogs/*"), "{policy}");
    assert!(!policy.contains(&org.members["app1"]), "no per-account entries: {policy}");
    assert_eq!(flow_logs_to(&org.env, &org.members["audit"], "us-east-1", "org-form"), 1);

    // Back to per-account.
    let plan = json_stdout(&org.onboard("org-form", &["--regions", "us-east-1", "--dry-run"]));
    let grant = &plan["delivery_grant"];
    assert_eq!((grant["form"].as_str(), grant["whole_organization"].as_bool()), (Some("per-account"), Some(false)), "{grant}");
    assert_eq!(grant["future_accounts_lost"], true, "{grant}");
    assert_eq!(grant["outside_scope"], serde_json::json!([MANAGEMENT]), "{grant}");
    let line = change(&plan, "put-delivery-statements");
    let detail = line["detail"].as_str().unwrap();
    let named = format!("kept from the organization form, outside the scope: 1 account(s): {MANAGEMENT}");
    assert!(detail.contains(&named) && detail.contains("join the organization later"), "{line}");
    let out = org.onboard("org-form", &["--regions", "us-east-1", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", trouble(&out));
    let applied = json_stdout(&out);
    let detail = change(&applied, "put-delivery-statements")["detail"].as_str().unwrap().to_owned();
    let policy: Value = serde_json::from_str(&bucket_policy(&org.env, MANAGEMENT, "org-form")).unwrap();
    let write = policy["Statement"].as_array().unwrap().iter().find(|s| s["Sid"] == "FlowgateOrgLogDeliveryWrite").unwrap();
    let granted: Vec<&str> =
        write["Condition"]["StringEquals"]["aws:SourceAccount"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert!(granted.contains(&MANAGEMENT), "{write}");
    let outside: Vec<&&str> = granted.iter().filter(|a| !org.members.values().any(|m| m == **a)).collect();
    assert_eq!(outside, [&MANAGEMENT]);
    assert!(detail.contains(&named), "the management account is granted outside the scope unnamed: {detail}");
}

/// A member that already holds a role named as the StackSet's (moto fails the whole
/// CreateStackInstances with EntityAlreadyExists; AWS fails that account's stack): the StackSet is
/// reported created, the instances failed with the error, and what needed them (the storage
/// grant, each member's flow logs) not attempted, each saying why. No change fails without its
/// error.
#[test]
fn steps_after_a_role_collision_are_not_attempted_with_the_reason() {
    let org = Org::new();
    let app1 = org.members["app1"].clone();
    let archive = org.members["log-archive"].clone();
    let trust =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}"#;
    let iam = aws_sdk_iam::Client::new(&member_sdk(&org.env, &app1, "us-east-1"));
    block_on(iam.create_role().role_name(VENDOR_ROLE).assume_role_policy_document(trust).send()).unwrap();
    let out = org.onboard("org-collision", &["--regions", "us-east-1", "--log-archive-account", &archive, "--storage-access", "--yes"]);
    assert_eq!(out.status.code(), Some(3), "{}", trouble(&out));
    let report = json_stdout(&out);
    assert_eq!(change(&report, "create-stack-set")["status"], "applied", "{report:#}");
    let instances = change(&report, "create-stack-instances");
    assert_eq!(instances["status"], "failed", "{instances}");
    assert!(instances["error"].as_str().is_some_and(|e| e.contains("EntityAlreadyExists") || e.contains("already exists")), "{instances}");
    let storage = change(&report, "grant-storage-access");
    assert_eq!(storage["status"], "not-attempted", "{storage}");
    assert!(storage["detail"].as_str().unwrap().contains("not attempted: create-stack-instances failed"), "{storage}");
    let all = report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .chain(report["accounts"].as_array().unwrap().iter().flat_map(|a| a["changes"].as_array().into_iter().flatten()));
    for c in all {
        if c["status"] == "failed" {
            assert!(c["error"].is_string(), "failed without its error: {c}");
        }
        if c["status"] == "not-attempted" {
            assert!(c["detail"].as_str().unwrap().contains("not attempted: "), "not attempted without a reason: {c}");
        }
    }
    for member in org.members.values() {
        let entry = account_entry(&report, member);
        assert_eq!(statuses(entry), ["\"enable-flow-logs\":\"not-attempted\""], "{entry}");
        assert!(entry["changes"][0]["detail"].as_str().unwrap().contains("its stack instance did not deploy"), "{entry}");
    }
}

/// Offboarding the OU the log-archive account is in: its entries leave the organization's
/// statements and its own single-account statements (which bucket create wrote for org onboard)
/// go too; the user's statement stays byte for byte; the report is what the bucket says. When the
/// account onboarded on its own as well (its role stack stands), its own statements stay, and
/// verify says it may still deliver, as the bucket does.
#[test]
fn offboarding_the_log_archive_account_removes_its_own_statements_unless_it_onboarded_on_its_own() {
    let org = Org::new();
    let archive = org.members["log-archive"].clone();
    for (bucket, onboarded_on_its_own) in [("org-archive-leaves", false), ("org-archive-stays", true)] {
        let out = org.onboard(bucket, &["--regions", "us-east-1", "--log-archive-account", &archive, "--yes"]);
        assert_eq!(out.status.code(), Some(0), "{}", trouble(&out));
        // A statement of the user's, between flowgate's.
        let mut doc: Value = serde_json::from_str(&bucket_policy(&org.env, &archive, bucket)).unwrap();
        let theirs = serde_json::json!({"Sid": "Reports", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{bucket}/reports/*")});
        doc["Statement"].as_array_mut().unwrap().insert(1, theirs.clone());
        block_on(owner_s3(&org.env, &archive).put_bucket_policy().bucket(bucket).policy(doc.to_string()).send()).unwrap();
        if onboarded_on_its_own {
            let cfn = aws_sdk_cloudformation::Client::new(&member_sdk(&org.env, &archive, "us-east-1"));
            let template = r#"{"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}"#;
            block_on(cfn.create_stack().stack_name("flowgate-cross-account").template_body(template).send()).unwrap();
        }

        let out = org.run(&["offboard", "--bucket", bucket, "--ous", &org.security, "--log-archive-account", &archive, "--yes"]);
        assert_eq!(out.status.code(), Some(0), "{}", trouble(&out));
        let report = json_stdout(&out);
        let after = bucket_policy(&org.env, &archive, bucket);
        assert_report_is_the_policy(&report, Some(&after));
        assert!(after.contains(&theirs.to_string()), "the user's statement changed: {after}");
        let sids = sids_of(Some(&after));
        let own = report["policy_edit"]["log_archive_statements"].as_str().unwrap().to_owned();
        if onboarded_on_its_own {
            assert!(own.starts_with("kept:") && own.contains("flowgate-cross-account"), "{own}");
            assert!(sids.contains(&"FlowgateLogDeliveryWrite".to_owned()), "{after}");
        } else {
            assert_eq!(own, "removed");
            assert!(!sids.iter().any(|s| s.starts_with("FlowgateLogDelivery")), "{after}");
        }
        for stays in ["app1", "app2"] {
            assert!(after.contains(&format!("AWSLogs/{}/*", org.members[stays])), "{stays} lost its grant: {after}");
        }
        // verify judges the policy as the bucket does: the account may deliver exactly when its
        // own statements stayed.
        let verify = org.run(&["verify", "--bucket", bucket, "--regions", "us-east-1", "--ous", &org.security, "--log-archive-account", &archive]);
        assert_eq!(verify.status.code(), Some(1), "its flow logs are gone: {}", stdout(&verify));
        let entry = account_entry(&json_stdout(&verify), &archive).clone();
        let policy_check = entry["checks"].as_array().unwrap().iter().find(|c| c["name"] == "delivery-policy").unwrap().clone();
        assert_eq!(policy_check["status"], if onboarded_on_its_own { "pass" } else { "fail" }, "{entry}");
    }
}

/// `--whole-organization`: every statement flowgate wrote goes, the management account's own
/// included (the central bucket is there, and the account leaves with its stack). AWS: a caller
/// without cloudformation:DeleteStackInstances is denied (moto never denies): the StackSet's
/// deletion and the management account's stack are then not attempted, each saying why, and the
/// failed change carries its error.
#[test]
fn offboarding_the_whole_organization_removes_every_statement_of_flowgate() {
    let org = Org::new();
    let out = org.onboard("org-whole", &["--regions", "us-east-1", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", trouble(&out));
    let denied = r#"<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/moto is not authorized to perform: cloudformation:DeleteStackInstances</Message></Error><RequestId>chaos</RequestId></ErrorResponse>"#;
    org.env.proxy.answer("DeleteStackInstances", 403, denied);
    let out = org.run(&["offboard", "--bucket", "org-whole", "--whole-organization", "--yes"]);
    assert_eq!(out.status.code(), Some(3), "{}", trouble(&out));
    let report = json_stdout(&out);
    let policy = policy_of(&org.env, MANAGEMENT, "org-whole");
    assert!(policy.is_none(), "{policy:?}");
    assert_report_is_the_policy(&report, policy.as_deref());
    assert_eq!(report["policy_edit"]["log_archive_statements"], "removed", "{report:#}");
    let instances = change(&report, "delete-stack-instances");
    assert_eq!(instances["status"], "failed", "{instances}");
    assert!(instances["error"].as_str().is_some_and(|e| e.contains("not authorized")), "{instances}");
    let set = change(&report, "delete-stack-set");
    assert_eq!(set["status"], "not-attempted", "{set}");
    assert!(set["detail"].as_str().unwrap().contains("not attempted: delete-stack-instances failed"), "{set}");
    for c in report["changes"].as_array().unwrap() {
        assert!(c["status"] != "failed" || c["error"].is_string(), "failed without its error: {c}");
        assert!(c["status"] != "not-attempted" || c["detail"].as_str().unwrap().contains("not attempted: "), "no reason: {c}");
    }
}

/// AWS: DeleteFlowLogs is denied in an account whose operator role lost the permission (moto
/// never denies). That account's removal fails with its error and the account is kept: its
/// statement stays in the bucket policy, its stack instance is left out of the deletion
/// (`AccountFilterType=DIFFERENCE`, its operator role is how a re-run reaches its flow logs), and
/// the StackSet stays with it. The other accounts leave; the report names the kept account and
/// why; exit 3.
#[test]
fn a_failed_flow_log_removal_keeps_that_account_and_the_others_leave() {
    let org = Org::new();
    let out = org.onboard("org-stuck", &["--regions", "us-east-1", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", trouble(&out));
    let denied = r#"<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>chaos</RequestID></Response>"#;
    org.env.proxy.answer_when("DeleteFlowLogs", None, Some(1), 403, denied);
    org.env.proxy.reset_log();
    let out = org.run(&["offboard", "--bucket", "org-stuck", "--ous", &org.ous(), "--account-concurrency", "1", "--yes"]);
    assert_eq!(out.status.code(), Some(3), "{}", trouble(&out));
    let report = json_stdout(&out);
    let stuck = report["accounts"].as_array().unwrap().iter().find(|a| statuses(a).iter().any(|s| s.contains("failed"))).expect("the denied account");
    let stuck_id = stuck["id"].as_str().unwrap().to_owned();
    assert!(stuck["kept"].as_str().is_some_and(|k| k.contains("delete-flow-log failed")), "{stuck}");
    assert_eq!(flow_logs_to(&org.env, &stuck_id, "us-east-1", "org-stuck"), 1);

    let policy = bucket_policy(&org.env, MANAGEMENT, "org-stuck");
    assert_report_is_the_policy(&report, Some(&policy));
    assert!(policy.contains(&format!("AWSLogs/{stuck_id}/*")), "the kept account lost its grant: {policy}");
    for (name, account) in org.members.iter().filter(|(_, a)| **a != stuck_id) {
        assert!(!policy.contains(account.as_str()), "{name} still delivers: {policy}");
        assert_eq!(flow_logs_to(&org.env, account, "us-east-1", "org-stuck"), 0, "{name}");
    }
    assert_eq!(report["policy_edit"]["accounts_kept"], serde_json::json!([stuck_id]), "{report:#}");
    assert!(change(&report, "remove-delivery-statements")["detail"].as_str().unwrap().contains("kept, their flow logs not removed"), "{report:#}");
    let delete = org.env.proxy.requests().into_iter().find(|r| r.action == "DeleteStackInstances").expect("DeleteStackInstances");
    assert!(delete.body.contains("AccountFilterType=DIFFERENCE") && delete.body.contains(&stuck_id), "{}", delete.body);
    let set = change(&report, "delete-stack-set");
    assert_eq!(set["status"], "skipped", "{set}");
    assert!(set["detail"].as_str().unwrap().contains(&stuck_id), "{set}");
    assert!(!org.env.proxy.requests().iter().any(|r| r.action == "DeleteStackSet"));
}

/// The issue's case. AWS: AssumeRole is denied when the operator role's trust no longer admits
/// the caller (moto never denies). org offboard cannot read that member's flow logs, so it keeps
/// the member whole: the plan says so, its statement stays in the bucket policy, its stack
/// instance and the StackSet stay (read back from CloudFormation), exit 3. Once the role answers
/// again, a re-run takes it out.
#[test]
fn a_member_whose_role_refuses_is_kept_by_offboard_until_a_rerun_takes_it_out() {
    let org = Org::new();
    let out = org.onboard("org-keep", &["--regions", "us-east-1", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", trouble(&out));
    let kept = org.members["app1"].clone();
    org.env.proxy.answer_when("AssumeRole", Some(&operator_arn(&kept)), None, 403, &access_denied(&kept));
    let offboard = |extra: &str| org.run(&["offboard", "--bucket", "org-keep", "--ous", &org.ous(), extra]);

    // The plan names the kept account and why, in its entry and in the lines it changes.
    let plan = json_stdout(&offboard("--dry-run"));
    assert!(account_entry(&plan, &kept)["kept"].as_str().is_some_and(|k| k.contains("read-account failed")), "{plan:#}");
    for action in ["remove-delivery-statements", "delete-stack-instances", "delete-stack-set"] {
        assert!(change(&plan, action)["detail"].as_str().unwrap().contains(&kept), "{action} does not name {kept}: {plan:#}");
    }
    assert_eq!(plan["policy_edit"]["accounts_kept"], serde_json::json!([kept]), "{plan:#}");

    org.env.proxy.reset_log();
    let out = offboard("--yes");
    assert_eq!(out.status.code(), Some(3), "{}", trouble(&out));
    let report = json_stdout(&out);
    let policy = bucket_policy(&org.env, MANAGEMENT, "org-keep");
    assert!(policy.contains(&format!("AWSLogs/{kept}/*")), "the kept member lost its grant: {policy}");
    assert!(!policy.contains(&org.members["app2"]), "{policy}");
    assert_eq!(flow_logs_to(&org.env, &kept, "us-east-1", "org-keep"), 1);
    assert_eq!(flow_logs_to(&org.env, &org.members["app2"], "us-east-1", "org-keep"), 0);
    assert!(account_entry(&report, &kept)["kept"].is_string(), "{report:#}");
    let delete = org.env.proxy.requests().into_iter().find(|r| r.action == "DeleteStackInstances").expect("DeleteStackInstances");
    assert!(delete.body.contains("AccountFilterType=DIFFERENCE") && delete.body.contains(&kept), "{}", delete.body);
    assert!(!org.env.proxy.requests().iter().any(|r| r.action == "DeleteStackSet"));
    // Its instance (so its operator role) and the StackSet are there.
    let cfn = aws_sdk_cloudformation::Client::new(&org.env.sdk("us-east-1"));
    let instance = block_on(
        cfn.describe_stack_instance().stack_set_name("flowgate-org-roles").stack_instance_account(&kept).stack_instance_region("us-east-1").send(),
    );
    assert!(instance.is_ok(), "{instance:?}");
    assert!(block_on(cfn.describe_stack_set().stack_set_name("flowgate-org-roles").send()).is_ok());

    // The role answers again: a re-run takes the member out. (AWS deletes the instances
    // DeleteStackInstances targets, moto keeps them: after the plan's own listing, none is left,
    // and DeleteStackSet succeeds.)
    org.env.proxy.forget_answers("AssumeRole");
    org.stack_instances_deleted_after_the_plan();
    org.env.proxy.reset_log();
    let out = offboard("--yes");
    assert_eq!(out.status.code(), Some(0), "{}", trouble(&out));
    assert!(!bucket_policy(&org.env, MANAGEMENT, "org-keep").contains(&kept));
    assert_eq!(flow_logs_to(&org.env, &kept, "us-east-1", "org-keep"), 0);
    let delete = org.env.proxy.requests().into_iter().find(|r| r.action == "DeleteStackInstances").expect("DeleteStackInstances");
    assert!(!delete.body.contains("AccountFilterType"), "the whole scope this time: {}", delete.body);
    assert!(org.env.proxy.requests().iter().any(|r| r.action == "DeleteStackSet"));
}

/// `body` (a DescribeRegions answer) with `region`'s OptInStatus set to `status`.
fn opt_in(body: &str, region: &str, status: &str) -> String {
    let Some(at) = body.find(&format!("<regionName>{region}</regionName>")) else { return body.to_owned() };
    let start = body[..at].rfind("<item>").unwrap_or(at);
    let end = body[at..].find("</item>").map_or(body.len(), |e| at + e);
    let item = &body[start..end];
    let Some(from) = item.find("<optInStatus>") else { return body.to_owned() };
    let to = item[from..].find("</optInStatus>").map_or(item.len(), |e| from + e);
    let item = format!("{}<optInStatus>{status}{}", &item[..from], &item[to..]);
    format!("{}{item}{}", &body[..start], &body[end..])
}

fn skipped_regions(entry: &Value) -> Vec<String> {
    let changes = entry["changes"].as_array().into_iter().flatten();
    changes.filter(|c| c["action"] == "skip-region").map(|c| c["region"].as_str().unwrap().to_owned()).collect()
}

/// AWS: opt-in regions are enabled per account. DescribeRegions "Describes the Regions that are
/// enabled for your account" (Amazon EC2 API Reference, DescribeRegions), each region's
/// OptInStatus the caller's own; moto answers every account alike. The proxy answers app1's own
/// DescribeRegions (signed with the credentials AssumeRole issued for its operator role) with
/// eu-west-1 not enabled and ap-east-1 opted in (moto: not-opted-in, for the management account
/// and every other member). Each member works in the requested regions it has enabled and skips
/// the others, its plan says which; nothing fails. `--regions` naming a region no account in scope
/// has enabled is exit 2 before any change.
#[test]
fn each_member_works_in_the_requested_regions_it_has_enabled() {
    let org = Org::new();
    let app1 = org.members["app1"].clone();
    let app2 = org.members["app2"].clone();
    org.env.proxy.rewrite_response_for("DescribeRegions", &operator_arn(&app1), |body| {
        opt_in(&opt_in(body, "eu-west-1", "not-opted-in"), "ap-east-1", "opted-in")
    });
    // A member without a region the others have: skipped there, not failed.
    let plan = org.onboard("org-opt-in", &["--regions", "us-east-1,eu-west-1", "--dry-run"]);
    assert_eq!(plan.status.code(), Some(0), "{}", trouble(&plan));
    let plan = json_stdout(&plan);
    assert_eq!(skipped_regions(account_entry(&plan, &app1)), ["eu-west-1"], "{plan:#}");
    assert!(skipped_regions(account_entry(&plan, &app2)).is_empty(), "{plan:#}");
    // A region only one member has enabled (the caller has not): that member works there.
    let regions = ["--regions", "us-east-1,eu-west-1,ap-east-1"];
    let plan = json_stdout(&org.onboard("org-opt-in", &[&regions[..], &["--dry-run"]].concat()));
    assert_eq!(skipped_regions(account_entry(&plan, &app1)), ["eu-west-1"], "{plan:#}");
    assert_eq!(skipped_regions(account_entry(&plan, &app2)), ["ap-east-1"], "{plan:#}");

    let out = org.onboard("org-opt-in", &[&regions[..], &["--yes"]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", trouble(&out));
    let report = json_stdout(&out);
    assert_eq!(skipped_regions(account_entry(&report, &app1)), ["eu-west-1"], "{report:#}");
    for (region, expected) in [("us-east-1", 1), ("ap-east-1", 1), ("eu-west-1", 0)] {
        assert_eq!(flow_logs_to(&org.env, &app1, region, "org-opt-in"), expected, "app1 in {region}");
    }
    for (region, expected) in [("us-east-1", 1), ("eu-west-1", 1), ("ap-east-1", 0)] {
        assert_eq!(flow_logs_to(&org.env, &app2, region, "org-opt-in"), expected, "app2 in {region}");
    }

    // org status reads each member in its own regions too: app2 is not failed for ap-east-1.
    let status = org.run(&["status", "--bucket", "org-opt-in", "--ous", &org.ous(), regions[0], regions[1]]);
    let status = json_stdout(&status);
    let flow_check = |account: &str| {
        let entry = account_entry(&status, account);
        entry["checks"].as_array().unwrap().iter().find(|c| c["name"] == "flow-logs").unwrap().clone()
    };
    let app2_check = flow_check(&app2);
    assert_eq!(app2_check["status"], "pass", "{app2_check}");
    assert!(app2_check["detail"].as_str().unwrap().contains("skipped, not enabled in the account: ap-east-1"), "{app2_check}");
    // And listed with the reason, for the report (org verify --report).
    let skipped = &account_entry(&status, &app2)["skipped_regions"];
    assert_eq!(skipped.as_array().map(Vec::len), Some(1), "{skipped}");
    assert_eq!(skipped[0]["region"], "ap-east-1");
    assert!(skipped[0]["reason"].as_str().unwrap().starts_with("not enabled in the account"), "{skipped}");

    // me-south-1 (moto: not-opted-in): enabled in no account in scope.
    org.env.proxy.reset_log();
    let out = org.onboard("org-opt-in-none", &["--regions", "us-east-1,me-south-1", "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(json_stdout(&out).to_string().contains("me-south-1 not enabled in any"), "{}", stdout(&out));
    assert!(org.env.proxy.mutating_calls().is_empty(), "{:?}", org.env.proxy.mutating_calls());
}

/// Every status and verify command: 0 when every check passes (or warns), 1 when any fails.
/// `-q` (results and errors only) drops the plan of a run that applies with --yes; a dry run's
/// plan is its result and stays. `org offboard` offers no --regions or --vpcs.
#[test]
fn org_status_exits_1_on_a_failed_check_quiet_drops_the_plan_and_offboard_offers_no_regions() {
    let org = Org::new();
    let ous = org.ous();
    let status = |command: &str| org.run(&[command, "--bucket", "org-quiet", "--regions", "us-east-1", "--ous", &ous]);
    for command in ["status", "verify"] {
        let out = status(command);
        assert_eq!(out.status.code(), Some(1), "nothing is onboarded: {}", stdout(&out));
        assert_eq!(json_stdout(&out)["status"], "fail");
    }
    let onboard = ["org", "onboard", "--bucket", "org-quiet", "--vendor-account", VENDOR, "--regions", "us-east-1", "--ous", &ous];
    let out = org.env.flowgate().arg("-q").args(onboard).arg("--yes").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(!text.contains("Plan for organization") && !text.contains("stack instance"), "{text}");
    assert!(text.contains("applied") && text.contains("create-stack-set"), "the applied report stays: {text}");
    let out = status("status");
    assert_eq!(out.status.code(), Some(0), "every check passes or warns: {}", stdout(&out));
    let dry = org.env.flowgate().arg("-q").args(["org", "offboard", "--bucket", "org-quiet", "--ous", &ous, "--dry-run"]).output().unwrap();
    assert!(stdout(&dry).contains("Plan to offboard organization"), "{}", stdout(&dry));

    let help = org.env.flowgate().args(["org", "offboard", "--help"]).output().unwrap();
    let help = stdout(&help);
    assert!(!help.contains("--regions") && !help.contains("--vpcs") && help.contains("--concurrency"), "{help}");
    org.env.proxy.reset_log();
    let out = org.run(&["offboard", "--bucket", "org-quiet", "--ous", &ous, "--regions", "us-east-1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(org.env.proxy.requests().is_empty(), "refused before any AWS call");
}

/// A scheduled check of an organization: `org status --exit-code` and `org onboard --dry-run
/// --exit-code` are 4 while a run would change something and 0 once onboarded; an account whose
/// flow logs cannot be read is a failure (1), which outranks drift. One JSON document each time.
#[test]
fn org_exit_code_tells_drift_from_converged_and_a_failure_outranks_it() {
    let org = Org::new();
    let ous = org.ous();
    let status = || org.run(&["status", "--bucket", "org-drift", "--regions", "us-east-1", "--ous", &ous, "--exit-code", "--max-attempts", "1"]);
    let plan = || org.onboard("org-drift", &["--regions", "us-east-1", "--dry-run", "--exit-code"]);
    for (what, out) in [("status", status()), ("onboard --dry-run", plan())] {
        assert_eq!(out.status.code(), Some(4), "{what}: nothing is onboarded: {}", trouble(&out));
        assert_eq!(json_stdout(&out)["would_change"], true, "{what}");
    }
    assert!(org.env.proxy.mutating_calls().is_empty(), "{:?}", org.env.proxy.mutating_calls());

    let out = org.onboard("org-drift", &["--regions", "us-east-1", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", trouble(&out));
    for (what, out) in [("status", status()), ("onboard --dry-run", plan())] {
        assert_eq!(out.status.code(), Some(0), "{what}: converged: {}", trouble(&out));
        assert_eq!(json_stdout(&out)["would_change"], false, "{what}");
    }

    // AWS: a member whose operator role refuses AssumeRole cannot be read (moto never refuses).
    org.env.proxy.answer_when("AssumeRole", Some(&operator_arn(&org.members["app1"])), None, 403, &access_denied(&org.members["app1"]));
    let out = status();
    assert_eq!(out.status.code(), Some(1), "an unreadable account is a failure, not drift: {}", trouble(&out));
    assert_eq!(json_stdout(&out)["status"], "fail");
}

/// What people read from the org commands, recorded whole (see `snapshots.rs`): the plan, the
/// apply, a second run, verify and the offboard plan. Run-dependent values (ports, account, OU,
/// organization and VPC ids, the ExternalId, the policy's size) become placeholders.
#[test]
fn snapshots_of_the_org_commands() {
    const FILTERS: &[(&str, &str)] = &[
        (r"(127\.0\.0\.1|localhost):\d+", "$1:[PORT]"),
        (r"\bo-[a-z0-9]{10,32}\b", "o-[ORG]"),
        (r"\bou-[a-z0-9]{4,32}-[a-z0-9]{8,32}\b", "ou-[OU]"),
        (r"\br-[a-z0-9]{4,32}\b", "r-[ROOT]"),
        (r"\b\d{12}\b", "[ACCOUNT]"),
        (r"(^|[^A-Za-z])(vpc|fl)-[0-9a-f]{8,17}", "${1}${2}-[ID]"),
        (r"\b[A-Za-z0-9]{32}\b", "[EXTERNAL_ID]"),
        (r"\b\d+ of 20480 bytes", "[N] of 20480 bytes"),
        (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z", "[TIMESTAMP]"),
    ];
    let org = Org::new();
    let ous = org.ous();
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(true);
    for (pattern, replacement) in FILTERS {
        settings.add_filter(pattern, *replacement);
    }
    let record = |name: &str, args: &[&str]| {
        let out = org.env.flowgate().args(args).output().unwrap();
        let text = format!(
            "$ flowgate {}\nexit: {}\n----- stdout -----\n{}\n----- stderr -----\n{}",
            args.join(" "),
            out.status.code().map_or("signal".to_owned(), |c| c.to_string()),
            stdout(&out),
            stderr(&out)
        );
        settings.bind(|| insta::assert_snapshot!(name, text));
    };
    let onboard = ["org", "onboard", "--bucket", "snap-org-central", "--vendor-account", VENDOR, "--regions", "us-east-1", "--ous", &ous];
    record("org_onboard_dry_run", &[&onboard[..], &["--dry-run"]].concat());
    record("org_onboard_apply", &[&onboard[..], &["--yes"]].concat());
    record("org_onboard_second_run", &[&onboard[..], &["--yes"]].concat());
    record("org_verify", &["org", "verify", "--bucket", "snap-org-central", "--regions", "us-east-1", "--ous", &ous]);
    record("org_offboard_dry_run", &["org", "offboard", "--bucket", "snap-org-central", "--ous", &ous, "--dry-run"]);
    record("org_offboard_without_scope", &["org", "offboard", "--bucket", "snap-org-central", "--dry-run"]);
}

/// Offboarding one OU: its accounts' flow logs go and their entries leave the central bucket's
/// policy; the other OU's accounts keep both, and the StackSet stays for them.
#[test]
fn offboarding_one_ou_takes_only_its_accounts_out() {
    let org = Org::new();
    let out = org.onboard("org-narrow", &["--regions", "us-east-1", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", trouble(&out));
    let out = org.run(&["offboard", "--bucket", "org-narrow", "--ous", &org.security, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", trouble(&out));
    let policy = bucket_policy(&org.env, "123456789012", "org-narrow");
    for gone in ["audit", "log-archive"] {
        let account = &org.members[gone];
        assert!(!policy.contains(account.as_str()), "{gone} still delivers: {policy}");
        assert_eq!(flow_logs_to(&org.env, account, "us-east-1", "org-narrow"), 0, "{gone}");
    }
    for kept in ["app1", "app2"] {
        let account = &org.members[kept];
        assert!(policy.contains(&format!("AWSLogs/{account}/*")), "{kept} lost its grant: {policy}");
        assert_eq!(flow_logs_to(&org.env, account, "us-east-1", "org-narrow"), 1, "{kept}");
    }
    let report = json_stdout(&out);
    let set = report["changes"].as_array().unwrap().iter().find(|c| c["action"] == "delete-stack-set").unwrap();
    assert_eq!(set["status"], "skipped", "{set}");
    assert!(!org.env.proxy.requests().iter().any(|r| r.action == "DeleteStackSet"));
    // Only the Security OU's instances are deleted (the emulator keeps them either way).
    let delete = org.env.proxy.requests().into_iter().find(|r| r.action == "DeleteStackInstances").expect("DeleteStackInstances");
    assert!(delete.body.contains(&org.security) && !delete.body.contains(&org.workloads), "{}", delete.body);
}

/// EC2's answer in a region an organization's region-deny SCP closes (see landing_zone.rs: AWS
/// names the policy type in the message; moto has no SCPs).
fn scp_denial(action: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>UnauthorizedOperation</Code>\
         <Message>You are not authorized to perform this operation. User: arn:aws:iam::123456789012:user/moto is not authorized \
         to perform: ec2:{action} with an explicit deny in a service control policy</Message></Error></Errors>\
         <RequestID>chaos</RequestID></Response>"
    )
}

/// Deletes the member's flow logs to `bucket` in `region` through its own credentials.
fn delete_flow_logs_to(env: &Env, account: &str, region: &str, bucket: &str) {
    let ec2 = aws_sdk_ec2::Client::new(&member_sdk(env, account, region));
    let out = block_on(ec2.describe_flow_logs().send()).unwrap();
    let ids: Vec<String> = out
        .flow_logs()
        .iter()
        .filter(|f| f.log_destination().is_some_and(|d| d.starts_with(&format!("arn:aws:s3:::{bucket}"))))
        .filter_map(|f| f.flow_log_id().map(str::to_owned))
        .collect();
    assert!(!ids.is_empty(), "no flow log of {account} in {region}");
    block_on(ec2.delete_flow_logs().set_flow_log_ids(Some(ids)).send()).unwrap();
}

/// The matrix rows' (account, status) in page order.
fn matrix_rows(html: &str) -> Vec<(String, String)> {
    html.split("<tr class=\"account\" data-account=\"")
        .skip(1)
        .map(|rest| {
            let (account, rest) = rest.split_once('"').unwrap();
            let status = rest.split("data-status=\"").nth(1).and_then(|s| s.split('"').next()).unwrap();
            (account.to_owned(), status.to_owned())
        })
        .collect()
}

/// `org verify --report FILE.html|.csv`: the organization's evidence, written also when verify
/// fails. A bad extension or a missing folder is exit 2 before any AWS call. Before onboarding:
/// every check fails and the page says what the organization lacks. After it, with one member's
/// flow log removed and eu-west-1 closed by a region-deny SCP (AWS's answer given by the proxy):
/// the failing account first, a column per check the JSON has, each account's checks under its
/// row, the closed region listed per account with AWS's reason; the CSV a row per account and check.
#[test]
fn org_verify_writes_the_organization_report() {
    const SCRIPT: &str = "<script>alert(1)</script>";
    let org = Org::new();
    let ous = org.ous();
    let bucket = crate::support::unique("org-report");
    // An account outside the target OUs, with a name a browser would run: listed, escaped.
    let orgs = aws_sdk_organizations::Client::new(&org.env.sdk("us-east-1"));
    block_on(orgs.create_account().account_name(SCRIPT).email("hostile@example.com").send()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let verify = |report: &str| org.run(&["verify", "--bucket", &bucket, "--regions", REGIONS, "--ous", &ous, "--report", report]);

    org.env.proxy.reset_log();
    for (bad, said) in
        [(path("report.pdf"), "FILE.html or FILE.csv"), (path("report"), "FILE.html or FILE.csv"), (path("no-such-folder/r.html"), "does not exist")]
    {
        let out = verify(&bad);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
        assert!(json_stdout(&out)["error"]["message"].as_str().unwrap().contains(said), "{bad}: {}", stdout(&out));
        assert!(!std::path::Path::new(&bad).exists());
    }
    assert!(org.env.proxy.requests().is_empty(), "validation must happen before any AWS call: {:?}", org.env.proxy.requests());

    // Nothing onboarded: exit 1, and the report is the evidence of it.
    let out = verify(&path("before.html"));
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stderr(&out).contains("report written to"), "{}", stderr(&out));
    let before = std::fs::read_to_string(path("before.html")).unwrap();
    assert!(before.contains("class=\"verdict fail\"") && before.contains("NOT onboarded correctly"), "{before}");
    assert!(before.contains("id=\"organization-findings\"") && before.contains("stack-set flowgate-org-roles: not deployed"), "{before}");

    let onboarded = org.onboard(&bucket, &["--yes"]);
    assert_eq!(onboarded.status.code(), Some(0), "{}", trouble(&onboarded));
    let app1 = org.members["app1"].clone();
    delete_flow_logs_to(&org.env, &app1, "us-east-1", &bucket);
    for action in ["DescribeVpcs", "DescribeFlowLogs"] {
        org.env.proxy.answer_in_region(action, "eu-west-1", 403, &scp_denial(action));
    }
    let out = verify(&path("after.html"));
    assert_eq!(out.status.code(), Some(1), "app1 has no flow log: {}", stdout(&out));
    let report = json_stdout(&out);
    let html = std::fs::read_to_string(path("after.html")).unwrap();
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2, "no temporary file left next to the reports");
    assert!(!html.to_lowercase().contains("<script"), "an unescaped <script>");
    assert!(html.contains("<td>&lt;script&gt;alert(1)&lt;&#x2f;script&gt;</td>"), "the out-of-scope account's name, escaped");
    assert!(html.contains(&format!("<dd id=\"organization\" class=\"mono\">{}</dd>", report["organization"]["id"].as_str().unwrap())));
    assert!(html.contains(&format!("<dd id=\"administrator\"><span class=\"mono\">{MANAGEMENT}</span> (management account)")));

    // Failing first, then by OU: the row order is the statuses' order, app1 on top.
    let checked: Vec<&Value> = report["accounts"].as_array().unwrap().iter().filter(|a| a["checks"].is_array()).collect();
    let rows = matrix_rows(&html);
    assert_eq!(rows.len(), checked.len(), "a row per checked account");
    assert_eq!(rows[0], (app1.clone(), "fail".to_owned()), "{rows:?}");
    let rank = |s: &str| ["fail", "warn", "pass"].iter().position(|r| *r == s).unwrap();
    assert!(rows.windows(2).all(|w| rank(&w[0].1) <= rank(&w[1].1)), "{rows:?}");
    // A column per check name of the JSON, a cell per account and column, the checks folded under.
    let names: Vec<&str> = checked[0]["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    for name in &names {
        assert!(html.contains(&format!("<th scope=\"col\">{name}</th>")), "the column of {name}");
        assert_eq!(html.matches(&format!("data-check=\"{name}\">")).count(), checked.len() + 1, "{name}: its cells and its count");
    }
    assert_eq!(html.matches("<tr class=\"account-details\">").count(), checked.len());
    assert!(html.contains("<td class=\"mark cell-fail\" data-check=\"flow-logs\">FAIL</td>"));
    // eu-west-1, closed by the SCP, is listed for each account with AWS's reason.
    for account in &checked {
        let skipped = account["skipped_regions"].as_array().unwrap_or_else(|| panic!("{account}"));
        assert_eq!(skipped[0]["region"], "eu-west-1", "{account}");
    }
    assert_eq!(
        html.matches("<li><span class=\"mono\">eu-west-1</span>: denied by policy (an explicit deny in a service control policy)").count(),
        checked.len()
    );
    assert!(html.contains("account(s) of the organization were not checked") && html.contains(MANAGEMENT));
    // As a person sees it: Chromium's DOM keeps every account's checks inside its folded row
    // (a table in <details> in a cell), the one failing account's unfolded, and every table fits
    // the page column at 1200 px.
    let dom = crate::report::run_chromium(std::path::Path::new(&path("after.html")), &["--dump-dom".to_owned()]);
    assert!(dom.status.success(), "chromium --dump-dom: {}", stderr(&dom));
    let dom = stdout(&dom);
    assert!(dom.contains("class=\"verdict fail\"") && !dom.contains("<script"), "{dom}");
    assert_eq!(dom.matches("<td colspan=").count(), checked.len());
    assert_eq!(dom.matches("<table class=\"account-checks\">").count(), checked.len());
    assert!(dom.contains(&format!("<details open=\"\"><summary>Details of {app1}:")), "the failing account's details, unfolded");
    crate::report::assert_tables_fit(std::path::Path::new(&path("after.html")));

    // The same run as CSV: a row per account and check, the JSON's values.
    let out = verify(&path("after.csv"));
    assert_eq!(out.status.code(), Some(1));
    let (header, records) = crate::report::csv_rows(std::path::Path::new(&path("after.csv")));
    assert_eq!(header, ["account", "name", "ou_path", "check", "status", "reason", "fix"]);
    assert_eq!(records.len(), checked.iter().map(|a| a["checks"].as_array().unwrap().len()).sum::<usize>());
    assert_eq!(records[0][0], app1);
    for record in &records {
        let account = checked.iter().find(|a| a["id"] == record[0].as_str()).unwrap();
        let check = account["checks"].as_array().unwrap().iter().find(|c| c["name"] == record[3].as_str()).unwrap();
        assert_eq!((record[1].as_str(), record[2].as_str()), (account["name"].as_str().unwrap(), account["ou_path"].as_str().unwrap()));
        assert_eq!((record[4].as_str(), record[5].as_str()), (check["status"].as_str().unwrap(), check["detail"].as_str().unwrap()));
        assert_eq!(record[6], check["fix"].as_str().unwrap_or(""));
    }
}

/// The StackSet's parameter value, as the management account reads it.
fn set_parameter(env: &Env, name: &str) -> String {
    let cfn = aws_sdk_cloudformation::Client::new(&env.sdk("us-east-1"));
    let set = block_on(cfn.describe_stack_set().stack_set_name("flowgate-org-roles").send()).unwrap();
    let parameters = set.stack_set().unwrap().parameters();
    parameters.iter().find(|p| p.parameter_key() == Some(name)).and_then(|p| p.parameter_value()).unwrap_or_default().to_owned()
}

/// Two administrators of one StackSet. AWS creates a service-managed StackSet in the management
/// account, also when a delegated administrator creates it, and a delegated administrator's calls
/// (`CallAs=DELEGATED_ADMIN`) act on it there (CloudFormation API Reference, CreateStackSet
/// `CallAs`; User Guide, "Register a delegated administrator"); it reads the organization too.
/// moto keeps StackSets and the organization per calling account, so the proxy sends the
/// delegated administrator's CloudFormation and Organizations calls as the management account's.
/// The operator roles trust the StackSet's `AdministratorAccountId`: a run from the other
/// administrator is refused before any change, naming `--take-over-administration`; with it, the
/// plan names the trust's change and the parameter changes; the first administrator is then
/// refused in turn.
#[test]
fn a_second_administrator_does_not_take_the_operator_roles_over_silently() {
    let org = Org::new();
    let (admin, archive) = (org.members["audit"].clone(), org.members["log-archive"].clone());
    let extra = ["--regions", "us-east-1", "--log-archive-account", archive.as_str()];
    let first = org.onboard("org-two-admins", &[&extra[..], &["--yes"]].concat());
    assert_eq!(first.status.code(), Some(0), "{}", trouble(&first));
    assert_eq!(set_parameter(&org.env, "AdministratorAccountId"), MANAGEMENT);

    let credentials = member_credentials(&org.env, &admin);
    for service in ["cloudformation", "organizations"] {
        org.env.proxy.act_in_account(credentials.access_key_id(), service, MANAGEMENT);
    }
    let as_admin = |more: &[&str]| org.onboard_as(&credentials, "org-two-admins", &[&extra[..], &["--call-as", "delegated-admin"], more].concat());
    org.env.proxy.reset_log();
    for refused in [as_admin(&["--yes"]), as_admin(&["--dry-run"])] {
        assert_eq!(refused.status.code(), Some(2), "{}\n{}", stdout(&refused), stderr(&refused));
        let text = format!("{}{}", stdout(&refused), stderr(&refused));
        assert!(text.contains("--take-over-administration") && text.contains(MANAGEMENT) && text.contains(&admin), "{text}");
    }
    assert!(org.env.proxy.mutating_calls().is_empty(), "{:?}", org.env.proxy.mutating_calls());
    assert_eq!(set_parameter(&org.env, "AdministratorAccountId"), MANAGEMENT, "the trust was taken over silently");

    // Asked to take it over: the plan says so, a dry run changes nothing, the apply does.
    let plan = as_admin(&["--take-over-administration", "--dry-run"]);
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    let line = change(&json_stdout(&plan), "update-stack-set").clone();
    assert_eq!(line["status"], "planned", "{line}");
    let detail = line["detail"].as_str().unwrap();
    assert!(detail.contains(&format!("operator roles trust {MANAGEMENT} -> {admin}")) && detail.contains("every instance is updated"), "{line}");
    assert!(org.env.proxy.mutating_calls().is_empty(), "{:?}", org.env.proxy.mutating_calls());
    let out = as_admin(&["--take-over-administration", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", trouble(&out));
    assert_eq!(set_parameter(&org.env, "AdministratorAccountId"), admin);
    let update = org.env.proxy.requests().into_iter().find(|r| r.action == "UpdateStackSet").expect("UpdateStackSet");
    assert!(update.body.contains("CallAs=DELEGATED_ADMIN"), "{}", update.body);

    // The management account does not take it back silently either.
    let back = org.onboard("org-two-admins", &[&extra[..], &["--yes"]].concat());
    assert_eq!(back.status.code(), Some(2), "{}", stdout(&back));
    assert_eq!(set_parameter(&org.env, "AdministratorAccountId"), admin);
}

/// The summary of `account`'s instance as AWS lists it after a failed deployment: OUTDATED,
/// detailed status FAILED, with the failure's reason.
fn failed_instance_summary(account: &str, reason: &str) -> String {
    format!(
        "<member><StackSetId>flowgate-org-roles:chaos</StackSetId><Region>us-east-1</Region><Account>{account}</Account><Status>OUTDATED</Status><StatusReason>{reason}</StatusReason><StackInstanceStatus><DetailedStatus>FAILED</DetailedStatus></StackInstanceStatus></member>"
    )
}

/// An account onboarded on its own before (`flowgate stack deploy` in it) holds the vendor role
/// the StackSet deploys, under the same name. CloudFormation cannot create a named IAM role that
/// exists (IAM CreateRole: EntityAlreadyExists), so AWS fails that account's stack: its result in
/// ListStackSetOperationResults is FAILED with "... already exists", and its instance stays
/// OUTDATED with that reason; AssumeRole into its operator role is denied (the role was never
/// made). moto fails the whole CreateStackInstances call instead, so the proxy gives AWS's
/// answers for that account. The run names the account and the command that resolves it
/// (exit 3); a re-run's plan names them before any change; after `flowgate stack delete` there,
/// a re-run onboards the account with the vendor role under the same ARN.
#[test]
fn an_account_onboarded_on_its_own_is_named_with_the_command_that_resolves_it() {
    let org = Org::new();
    let app1 = org.members["app1"].clone();
    let own = member_credentials(&org.env, &app1);
    let orgs = aws_sdk_organizations::Client::new(&org.env.sdk("us-east-1"));
    let move_app1 = |from: &str, to: &str| {
        block_on(orgs.move_account().account_id(&app1).source_parent_id(from).destination_parent_id(to).send()).unwrap();
    };
    // app1 onboarded on its own, outside the OUs; the organization onboarded; then app1 joins.
    move_app1(&org.workloads, &org.root);
    let deployed = flowgate_as(&org.env, &own, &["stack", "deploy", "--vendor-account", VENDOR, "--yes"]);
    assert_eq!(deployed.status.code(), Some(0), "{}", stderr(&deployed));
    let iam = aws_sdk_iam::Client::new(&member_sdk(&org.env, &app1, "us-east-1"));
    let role_arn = block_on(iam.get_role().role_name(VENDOR_ROLE).send()).unwrap().role().unwrap().arn().to_owned();
    let first = org.onboard("org-own", &["--regions", "us-east-1", "--yes"]);
    assert_eq!(first.status.code(), Some(0), "{}", trouble(&first));
    move_app1(&org.root, &org.workloads);

    let cfn = aws_sdk_cloudformation::Client::new(&member_sdk(&org.env, &app1, "us-east-1"));
    let stack_id = block_on(cfn.describe_stacks().stack_name("flowgate-cross-account").send()).unwrap().stacks()[0].stack_id().unwrap().to_owned();
    let reason = format!("{VENDOR_ROLE} already exists in stack {stack_id}");
    org.env.proxy.answer_when("AssumeRole", Some(&operator_arn(&app1)), None, 403, &access_denied(&app1));
    org.env.proxy.answer_when("CreateStackInstances", None, Some(1), 200, r#"<CreateStackInstancesResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><CreateStackInstancesResult><OperationId>op-own-role</OperationId></CreateStackInstancesResult><ResponseMetadata><RequestId>chaos</RequestId></ResponseMetadata></CreateStackInstancesResponse>"#);
    org.env.proxy.answer_when("DescribeStackSetOperation", Some("op-own-role"), None, 200, r#"<DescribeStackSetOperationResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStackSetOperationResult><StackSetOperation><OperationId>op-own-role</OperationId><Action>CREATE</Action><Status>FAILED</Status></StackSetOperation></DescribeStackSetOperationResult><ResponseMetadata><RequestId>chaos</RequestId></ResponseMetadata></DescribeStackSetOperationResponse>"#);
    let results = format!(
        r#"<ListStackSetOperationResultsResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><ListStackSetOperationResultsResult><Summaries><member><Account>{app1}</Account><Region>us-east-1</Region><Status>FAILED</Status><StatusReason>{reason}</StatusReason></member></Summaries></ListStackSetOperationResultsResult><ResponseMetadata><RequestId>chaos</RequestId></ResponseMetadata></ListStackSetOperationResultsResponse>"#
    );
    org.env.proxy.answer_when("ListStackSetOperationResults", Some("op-own-role"), None, 200, &results);
    // From the failed operation on, AWS lists the instance (moto never recorded it).
    let failed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (listed, summary) = (failed.clone(), failed_instance_summary(&app1, &reason));
    org.env.proxy.rewrite_response("ListStackInstances", move |body| {
        if listed.load(Ordering::SeqCst) { body.replacen("<Summaries>", &format!("<Summaries>{summary}"), 1) } else { body.to_owned() }
    });
    let fix = "`flowgate stack delete --stack-name flowgate-cross-account`";

    let out = org.onboard("org-own", &["--regions", "us-east-1", "--yes"]);
    assert_eq!(out.status.code(), Some(3), "{}", trouble(&out));
    let report = json_stdout(&out);
    let failure = report["changes"].as_array().unwrap().iter().find(|c| c["action"] == "stack-instance").expect("the failed instance");
    assert_eq!(failure["resource"], app1.as_str());
    let error = failure["error"].as_str().unwrap();
    assert!(error.contains("already exists") && error.contains(fix) && error.contains(&app1), "{failure}");
    assert_eq!(statuses(account_entry(&report, &app1)), ["\"enable-flow-logs\":\"not-attempted\""]);
    failed.store(true, Ordering::SeqCst);

    // The next plan names the account and the command before any change, and plans the
    // account's flow logs for once its roles are deployed.
    org.env.proxy.reset_log();
    let plan = org.onboard("org-own", &["--regions", "us-east-1", "--dry-run"]);
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    let report = json_stdout(&plan);
    let repair = change(&report, "update-stack-instances");
    let detail = repair["detail"].as_str().unwrap();
    assert!(detail.contains(&app1) && detail.contains(fix), "{repair}");
    assert_eq!(statuses(account_entry(&report, &app1)), ["\"enable-flow-logs\":\"planned\""]);
    assert!(org.env.proxy.mutating_calls().is_empty(), "{:?}", org.env.proxy.mutating_calls());

    // The command, in app1; then a re-run converges. (moto never recorded app1's failed
    // instance: it creates it, where AWS deploys the OUTDATED one again.)
    let deleted = flowgate_as(&org.env, &own, &["stack", "delete", "--stack-name", "flowgate-cross-account", "--yes"]);
    assert_eq!(deleted.status.code(), Some(0), "{}", stderr(&deleted));
    failed.store(false, Ordering::SeqCst);
    org.env.proxy.forget_answers("AssumeRole");
    let out = org.onboard("org-own", &["--regions", "us-east-1", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", trouble(&out));
    assert_eq!(block_on(iam.get_role().role_name(VENDOR_ROLE).send()).unwrap().role().unwrap().arn(), role_arn);
    assert!(role_exists(&org.env, &app1, OPERATOR_ROLE));
    assert_eq!(flow_logs_to(&org.env, &app1, "us-east-1", "org-own"), 1);
}

/// A region the organization's policy closes (Control Tower's region deny: every call there but
/// DescribeRegions answers UnauthorizedOperation "... with an explicit deny in a service control
/// policy"; moto has no SCPs, the proxy answers as AWS does) is skipped in every member and said:
/// onboard converges at exit 0 with a skip-region line per account, and `org verify`, like
/// `verify`, counts the region as a warning (it was not read), not as a pass.
#[test]
fn a_region_an_scp_closes_is_skipped_in_every_member_and_a_warning_in_org_verify() {
    use crate::landing_zone::{DENIED_REGION, deny_region};
    let org = Org::new();
    deny_region(&org.env);
    // The watcher is not planned in a region closed in every member: its instances could only fail.
    let plan = org.onboard("org-scp", &["--watch", "--dry-run"]);
    assert_eq!(plan.status.code(), Some(0), "{}", trouble(&plan));
    let report = json_stdout(&plan);
    let watched: Vec<&str> = report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["resource"] == "flowgate-org-watch" && c["action"] == "create-stack-instances")
        .filter_map(|c| c["region"].as_str())
        .collect();
    assert_eq!(watched, ["us-east-1"], "{report}");
    let out = org.onboard("org-scp", &["--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", trouble(&out));
    let report = json_stdout(&out);
    for account in org.members.values() {
        let entry = account_entry(&report, account);
        assert_eq!(skipped_regions(entry), [DENIED_REGION], "{entry}");
        assert!(entry.to_string().contains("explicit deny in a service control policy"), "{entry}");
        assert_eq!(flow_logs_to(&org.env, account, "us-east-1", "org-scp"), 1);
    }
    let verify = org.run(&["verify", "--bucket", "org-scp", "--regions", REGIONS, "--ous", &org.ous()]);
    assert_eq!(verify.status.code(), Some(0), "a warning is not a failure: {}", stdout(&verify));
    let report = json_stdout(&verify);
    for account in org.members.values() {
        let entry = account_entry(&report, account);
        let check = entry["checks"].as_array().unwrap().iter().find(|c| c["name"] == "flow-logs").unwrap();
        assert_eq!(check["status"], "warn", "{entry}");
        assert!(check["detail"].as_str().unwrap().contains(DENIED_REGION), "{check}");
    }
}

/// `org onboard --watch` deploys the watcher through a second service-managed StackSet, one
/// instance per member and region; a re-run changes nothing; `org status` checks each member's
/// watcher; `org offboard` deletes the watch set first, before any flow log.
#[test]
fn org_onboard_watch_deploys_the_watcher_set_and_offboard_removes_it_first() {
    let org = Org::new();
    let bucket = crate::support::unique("org-watch");
    let log_archive = org.members["log-archive"].clone();
    let base = ["--log-archive-account", log_archive.as_str(), "--watch"];

    // The plan names the set and its instances, warns of the missing org trail, changes nothing.
    let plan = org.onboard(&bucket, &[&base[..], &["--dry-run"]].concat());
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    assert!(org.env.proxy.mutating_calls().is_empty(), "a dry run changed something: {:?}", org.env.proxy.mutating_calls());
    let report = json_stdout(&plan);
    let lines: Vec<&Value> = report["changes"].as_array().unwrap().iter().filter(|c| c["resource"] == "flowgate-org-watch").collect();
    assert!(lines.iter().any(|c| c["action"] == "create-stack-set" && c["status"] == "planned"), "{report}");
    assert_eq!(lines.iter().filter(|c| c["action"] == "create-stack-instances" && c["status"] == "planned").count(), 2, "{report}");
    let trail = report["changes"].as_array().unwrap().iter().find(|c| c["action"] == "check-trail").expect("the trail line");
    assert!(trail["detail"].as_str().unwrap().starts_with("warning: no logging multi-region organization trail"), "{trail}");
    // Whole OUs with per-account grants: an account that joins later is watched but not granted.
    let late = report["changes"].as_array().unwrap().iter().find(|c| c["action"] == "watch-new-accounts").expect("the late-joiner line");
    assert!(late["detail"].as_str().unwrap().contains("--delivery-policy org"), "{late}");

    let out = org.onboard(&bucket, &[&base[..], &["--yes"]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", trouble(&out));
    let create =
        org.env.proxy.requests().into_iter().find(|r| r.action == "CreateStackSet" && r.body.contains("flowgate-org-watch")).expect("the watch set");
    assert!(create.body.contains("PermissionModel=SERVICE_MANAGED"), "{}", create.body);
    assert!(create.body.contains("AutoDeployment.Enabled=true") && create.body.contains("RetainStacksOnAccountRemoval=false"), "{}", create.body);
    assert!(create.body.contains("ParameterKey=LogDestination") && create.body.contains(&bucket), "{}", create.body);
    let cfn = aws_sdk_cloudformation::Client::new(&org.env.sdk("us-east-1"));
    let instances = block_on(cfn.list_stack_instances().stack_set_name("flowgate-org-watch").send()).unwrap();
    let placed: std::collections::BTreeSet<(String, String)> =
        instances.summaries().iter().map(|s| (s.account().unwrap().to_owned(), s.region().unwrap().to_owned())).collect();
    for account in org.members.values() {
        for region in REGIONS.split(',') {
            assert!(placed.contains(&(account.clone(), region.to_owned())), "no watcher in {account} {region}: {placed:?}");
        }
    }

    // A second run: 0 changes.
    let again = org.onboard(&bucket, &[&base[..], &["--yes"]].concat());
    assert_eq!(again.status.code(), Some(0), "{}", trouble(&again));
    assert_eq!(json_stdout(&again)["summary"]["applied"], 0, "{}", stdout(&again));

    // Without --watch the set is left alone, and said so.
    org.env.proxy.reset_log();
    let without = org.onboard(&bucket, &["--log-archive-account", &log_archive, "--dry-run"]);
    let report = json_stdout(&without);
    assert!(
        report["changes"].as_array().unwrap().iter().any(|c| c["action"] == "keep-stack-set" && c["resource"] == "flowgate-org-watch"),
        "{report}"
    );
    // ... and named when it would make another flow log than the run's.
    let other = org.onboard(&bucket, &["--log-archive-account", &log_archive, "--max-aggregation-interval", "60", "--dry-run"]);
    let report = json_stdout(&other);
    let kept = report["changes"].as_array().unwrap().iter().find(|c| c["action"] == "keep-stack-set").cloned().expect("the kept set's line");
    assert!(kept["detail"].as_str().unwrap().contains("MaxAggregationInterval differ"), "{kept}");

    let status = org.run(&["status", "--bucket", &bucket, "--regions", REGIONS, "--ous", &org.ous(), "--log-archive-account", &log_archive]);
    let report = json_stdout(&status);
    for account in org.members.values() {
        let entry = account_entry(&report, account);
        let watch = entry["checks"].as_array().unwrap().iter().find(|c| c["name"] == "watch").expect("the watch check");
        assert_eq!(watch["status"], "pass", "{entry}");
    }

    // The watcher's flow log drifts from the one status checks (another aggregation interval):
    // every member's watch check fails; a region asked for that the set lacks fails too.
    let status_args = ["status", "--bucket", bucket.as_str(), "--ous", &org.ous(), "--log-archive-account", &log_archive];
    let longer = org.run(&[&status_args[..], &["--regions", REGIONS, "--max-aggregation-interval", "60"]].concat());
    let report = json_stdout(&longer);
    for account in org.members.values() {
        let watch = account_entry(&report, account)["checks"].as_array().unwrap().iter().find(|c| c["name"] == "watch").cloned().unwrap();
        assert_eq!(watch["status"], "fail", "{watch}");
        assert!(watch["detail"].as_str().unwrap().contains("MaxAggregationInterval"), "{watch}");
    }
    let wider = org.run(&[&status_args[..], &["--regions", "us-east-1,eu-west-1,eu-central-1"]].concat());
    let report = json_stdout(&wider);
    let watch = account_entry(&report, &log_archive)["checks"].as_array().unwrap().iter().find(|c| c["name"] == "watch").cloned().unwrap();
    assert_eq!(watch["status"], "fail", "{watch}");
    assert!(watch["detail"].as_str().unwrap().contains("none in eu-central-1"), "{watch}");

    // An operator policy rendered before the watcher cannot read the watch set: org status says
    // so in the check (a warning), org onboard without --watch does not mention it; neither fails.
    let denied = r#"<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/moto is not authorized to perform: cloudformation:DescribeStackSet on resource: flowgate-org-watch</Message></Error><RequestId>chaos</RequestId></ErrorResponse>"#;
    org.env.proxy.answer_when("DescribeStackSet", Some("flowgate-org-watch"), None, 403, denied);
    let status = org.run(&["status", "--bucket", &bucket, "--regions", REGIONS, "--ous", &org.ous(), "--log-archive-account", &log_archive]);
    assert_eq!(status.status.code(), Some(0), "{}", trouble(&status));
    let report = json_stdout(&status);
    for account in org.members.values() {
        let entry = account_entry(&report, account);
        let watch = entry["checks"].as_array().unwrap().iter().find(|c| c["name"] == "watch").expect("the watch check");
        assert_eq!(watch["status"], "warn", "{entry}");
        assert!(watch["detail"].as_str().unwrap().contains("could not be read"), "{entry}");
    }
    let without = org.onboard(&bucket, &["--log-archive-account", &log_archive, "--dry-run"]);
    assert_eq!(without.status.code(), Some(0), "{}", trouble(&without));
    assert!(!stdout(&without).contains("flowgate-org-watch"), "{}", stdout(&without));
    org.env.proxy.forget_answers("DescribeStackSet");

    // Offboard: AWS deletes the instances (moto keeps them): after the plan's listing, the watch
    // set's are gone, as the roles set's.
    org.stack_instances_deleted_after_the_plan();
    org.env.proxy.reset_log();
    let out = org.run(&["offboard", "--bucket", &bucket, "--ous", &org.ous(), "--log-archive-account", &log_archive, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", trouble(&out));
    let calls: Vec<(String, String)> = org.env.proxy.requests().into_iter().filter(|r| r.mutating).map(|r| (r.action, r.body)).collect();
    let first_watch_delete =
        calls.iter().position(|(a, b)| a == "DeleteStackInstances" && b.contains("flowgate-org-watch")).expect("the watcher's instances deleted");
    let set_deleted = calls.iter().position(|(a, b)| a == "DeleteStackSet" && b.contains("flowgate-org-watch")).expect("the watch set deleted");
    let first_flow_log = calls.iter().position(|(a, _)| a == "DeleteFlowLogs").expect("flow logs deleted");
    assert!(first_watch_delete < set_deleted && set_deleted < first_flow_log, "{calls:?}");
}

/// The roles' StackSet is flowgate's only when its template holds flowgate's operator role: a set
/// of another team named with --stack-set-name is neither updated by org onboard nor deleted by
/// org offboard (exit 1, no change); the watcher's set is refused as that name (exit 2, no call);
/// `org status --watch` fails a member without the watcher.
#[test]
fn a_stack_set_that_is_not_flowgates_is_left_alone_and_a_missing_watcher_is_named() {
    let org = Org::new();
    let cfn = aws_sdk_cloudformation::Client::new(&org.env.sdk("us-east-1"));
    let theirs = "Resources:\n  TeamTopic:\n    Type: AWS::SNS::Topic\n";
    block_on(cfn.create_stack_set().stack_set_name("team-x-set").template_body(theirs).send()).unwrap();
    org.env.proxy.reset_log();
    let named = ["--stack-set-name", "team-x-set"];
    let onboard = org.onboard("org-theirs", &[&named[..], &["--yes"]].concat());
    assert_eq!(onboard.status.code(), Some(1), "{}", trouble(&onboard));
    assert!(json_stdout(&onboard)["error"]["message"].as_str().unwrap().contains("team-x-set is not flowgate's"), "{}", stdout(&onboard));
    let offboard = org.run(&[&["offboard", "--bucket", "org-theirs", "--ous", &org.ous()][..], &named, &["--yes"]].concat());
    assert_eq!(offboard.status.code(), Some(1), "{}", trouble(&offboard));
    assert!(org.env.proxy.mutating_calls().is_empty(), "{:?}", org.env.proxy.mutating_calls());
    let set = block_on(cfn.describe_stack_set().stack_set_name("team-x-set").send()).unwrap();
    assert_eq!(set.stack_set().and_then(|s| s.template_body()), Some(theirs));

    org.env.proxy.reset_log();
    let watch_name = org.onboard("org-theirs", &["--stack-set-name", "flowgate-org-watch", "--dry-run"]);
    assert_eq!(watch_name.status.code(), Some(2), "{}", trouble(&watch_name));
    assert!(json_stdout(&watch_name)["error"]["message"].as_str().unwrap().contains("the watcher's StackSet"), "{}", stdout(&watch_name));
    assert!(org.env.proxy.requests().is_empty(), "an input error made a call");

    let out = org.onboard("org-theirs", &["--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", trouble(&out));
    let status = org.run(&["status", "--bucket", "org-theirs", "--ous", &org.ous(), "--regions", REGIONS, "--watch"]);
    let report = json_stdout(&status);
    for account in org.members.values() {
        let watch = account_entry(&report, account)["checks"].as_array().unwrap().iter().find(|c| c["name"] == "watch").cloned().unwrap();
        assert_eq!(watch["status"], "fail", "{watch}");
        assert!(watch["detail"].as_str().unwrap().contains("does not exist"), "{watch}");
    }
}
