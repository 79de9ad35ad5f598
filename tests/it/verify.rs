//! `flowgate verify` against the emulator: objects are generated and uploaded the way AWS
//! delivers them (the emulator never delivers flow logs itself), in every key layout.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::Value;

use flowgate::core::flowlog_synth::{SynthSpec, write_records};
use flowgate::core::layout::{KeyLayout, object_key};
use flowgate::core::names::LogPrefix;

use crate::support::{ACCOUNT, Env, block_on, json_stdout, stderr};

const BUCKET: &str = "flowgate-verify-logs";
const REGIONS: &str = "us-east-1,eu-west-1";

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn onboarded() -> Env {
    Env::onboarded(BUCKET, REGIONS)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn records(fields: Option<Vec<String>>, seed: u64) -> Vec<u8> {
    let mut spec = SynthSpec { records: 500, seed, ..SynthSpec::default() };
    if let Some(fields) = fields {
        spec.fields = fields;
    }
    let mut text = Vec::new();
    write_records(&spec, &mut text).unwrap();
    text
}

#[allow(clippy::too_many_arguments)]
fn upload(env: &Env, region: &str, prefix: Option<&LogPrefix>, hive: bool, per_hour: bool, hash: &str, body: Vec<u8>, kms: bool) -> String {
    upload_as(env, region, &env.flow_log_id(region), prefix, hive, per_hour, hash, body, kms)
}

/// An object as the flow log `flow_log` would write it.
#[allow(clippy::too_many_arguments)]
fn upload_as(
    env: &Env,
    region: &str,
    flow_log: &str,
    prefix: Option<&LogPrefix>,
    hive: bool,
    per_hour: bool,
    hash: &str,
    body: Vec<u8>,
    kms: bool,
) -> String {
    let key = object_key(prefix, ACCOUNT, region, flow_log, now(), KeyLayout { hive, per_hour }, hash);
    let mut put = env.s3("us-east-1").put_object().bucket(BUCKET).key(&key).body(ByteStream::from(body));
    if kms {
        put = put
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_key_id("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab");
    }
    block_on(put.send()).unwrap();
    key
}

fn verify(env: &Env, extra: &[&str]) -> (Option<i32>, Value) {
    let out = env.flowgate().args(["verify", "--bucket", BUCKET, "--regions", REGIONS, "--output", "json"]).args(extra).output().unwrap();
    (out.status.code(), json_stdout(&out))
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("no check {name}: {report:#}"))
}

fn failed(report: &Value) -> Vec<String> {
    report["checks"].as_array().unwrap().iter().filter(|c| c["status"] == "fail").map(|c| format!("{}: {}", c["name"], c["detail"])).collect()
}

#[test]
fn an_onboarded_account_passes_in_default_and_per_hour_layouts() {
    let env = onboarded();
    upload(&env, "us-east-1", None, false, false, "aaaa1111", gzip(&records(None, 1)), false);
    upload(&env, "eu-west-1", None, false, true, "bbbb2222", gzip(&records(None, 2)), false);
    env.proxy.reset_log();
    let (code, report) = verify(&env, &[]);
    assert_eq!(code, Some(0), "{:?}", failed(&report));
    assert_eq!(report["status"], "pass");
    for name in
        ["identity", "bucket encryption", "bucket delivery-policy", "flow logs us-east-1", "delivery eu-west-1", "access trust", "access read"]
    {
        assert_eq!(check(&report, name)["status"], "pass", "{name}");
    }
    assert_eq!(report["objects"].as_array().unwrap().len(), 2);
    assert!(report["objects"].as_array().unwrap().iter().all(|o| o["summary"]["records"].as_u64().unwrap() > 0));
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new(), "verify only reads");
    // Listing is per day prefix, never the whole bucket.
    let lists = env.proxy.requests().iter().filter(|r| r.action == "GET list-type").count();
    assert_eq!(lists, 2 * 2 * 2, "2 regions x 2 days (24 h window) x 2 layouts: {:?}", env.proxy.counts());
}

#[test]
fn hive_layout_with_a_prefix_is_found() {
    let env = onboarded();
    let prefix: LogPrefix = "team/net".parse().unwrap();
    upload(&env, "us-east-1", Some(&prefix), true, false, "cccc3333", gzip(&records(None, 3)), false);
    upload(&env, "eu-west-1", Some(&prefix), true, true, "dddd4444", gzip(&records(None, 4)), false);
    // The emulator cannot create flow logs to a prefix (see MOTO.md): the proxy reports the
    // destination AWS would report for flow logs created with `--prefix team/net`.
    let destination = format!("<logDestination>arn:aws:s3:::{BUCKET}</logDestination>");
    env.proxy.rewrite_response("DescribeFlowLogs", move |body| {
        body.replace(&destination, &format!("<logDestination>arn:aws:s3:::{BUCKET}/team/net/</logDestination>"))
    });
    let (_, report) = verify(&env, &["--prefix", "team/net", "--hive-partitions"]);
    for name in ["flow logs us-east-1", "delivery us-east-1", "delivery eu-west-1", "delivery"] {
        assert_eq!(check(&report, name)["status"], "pass", "{name}: {report:#}");
    }
    assert_eq!(report["objects"].as_array().unwrap().len(), 2);
    assert!(report["objects"].as_array().unwrap().iter().all(|o| o["error"].is_null()));
}

/// A network interface in the default VPC of `region`: traffic can flow there.
fn add_interface(env: &Env, region: &str) {
    let ec2 = env.ec2(region);
    let vpcs = block_on(ec2.describe_vpcs().send()).unwrap();
    let vpc = vpcs.vpcs().iter().find(|v| v.is_default() == Some(true)).and_then(|v| v.vpc_id()).unwrap().to_owned();
    let filter = aws_sdk_ec2::types::Filter::builder().name("vpc-id").values(vpc).build();
    let subnets = block_on(ec2.describe_subnets().filters(filter).send()).unwrap();
    let subnet = subnets.subnets()[0].subnet_id().unwrap().to_owned();
    block_on(ec2.create_network_interface().subnet_id(subnet).send()).unwrap();
}

/// AWS behaviour: no traffic, no objects ("you won't see flow log data until there is active
/// traffic for the network interface, subnet, or VPC", VPC User Guide, "Flow log limitations",
/// https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-limitations.html). The emulator's
/// default VPCs have no network interface: idle regions pass with a note, and the account as a
/// whole must have delivered once the grace period is over.
#[test]
fn idle_regions_pass_but_the_account_must_deliver() {
    let env = onboarded();
    // Flow logs seconds old, nothing delivered: the account's delivery is pending (a warning).
    let (code, report) = verify(&env, &[]);
    assert_eq!(code, Some(0), "{:?}", failed(&report));
    for region in ["us-east-1", "eu-west-1"] {
        let idle = check(&report, &format!("delivery {region}"));
        assert_eq!(idle["status"], "pass", "{idle}");
        assert!(idle["detail"].as_str().unwrap().contains("idle, no traffic to deliver"), "{idle}");
    }
    let account = check(&report, "delivery");
    assert_eq!(account["status"], "warn");
    assert!(account["detail"].as_str().unwrap().contains("pending"), "{account}");
    let (strict, _) = verify(&env, &["--strict"]);
    assert_eq!(strict, Some(1), "--strict fails on warnings");

    // After the grace period, an account that never delivered fails, idle regions or not.
    let (code, report) = verify(&env, &["--delivery-grace", "0"]);
    assert_eq!(code, Some(1));
    let account = check(&report, "delivery");
    assert_eq!(account["status"], "fail");
    assert!(account["detail"].as_str().unwrap().contains("2 of 2 region(s) idle"), "{account}");
    assert_eq!(failed(&report).len(), 1, "{:?}", failed(&report));

    // One region delivering is enough: the idle one passes with its note.
    upload(&env, "us-east-1", None, false, false, "idle0001", gzip(&records(None, 11)), false);
    let (code, report) = verify(&env, &["--delivery-grace", "0"]);
    assert_eq!(code, Some(0), "{:?}", failed(&report));
    assert_eq!(check(&report, "delivery eu-west-1")["status"], "pass");
    assert_eq!(check(&report, "delivery")["status"], "pass");
}

/// A region whose VPCs have network interfaces but no object after the grace period is a
/// warning (a failure with --strict), not a failed account.
#[test]
fn a_busy_region_without_objects_warns() {
    let env = onboarded();
    add_interface(&env, "eu-west-1");
    upload(&env, "us-east-1", None, false, false, "busy0001", gzip(&records(None, 12)), false);
    let (code, report) = verify(&env, &[]);
    assert_eq!(code, Some(0), "{:?}", failed(&report));
    let pending = check(&report, "delivery eu-west-1");
    assert_eq!(pending["status"], "warn");
    assert!(pending["detail"].as_str().unwrap().contains("pending"), "{pending}");

    let (code, report) = verify(&env, &["--delivery-grace", "0"]);
    assert_eq!(code, Some(0), "{:?}", failed(&report));
    let busy = check(&report, "delivery eu-west-1");
    assert_eq!(busy["status"], "warn");
    assert!(busy["detail"].as_str().unwrap().contains("1 of the 1 covered VPC(s) have network interfaces"), "{busy}");
    assert!(busy["fix"].as_str().unwrap().contains("--wait"), "{busy}");
    assert_eq!(check(&report, "delivery")["status"], "pass");
    let (strict, _) = verify(&env, &["--delivery-grace", "0", "--strict"]);
    assert_eq!(strict, Some(1));
}

/// AWS behaviour: every delivered object's name carries the id of the flow log that wrote it
/// (`ACCOUNT_vpcflowlogs_REGION_FLOWLOGID_...`, VPC User Guide, "Publish flow logs to Amazon S3",
/// https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3.html), and another flow log (the
/// one `--replace` just deleted, a subnet-level one) can write under the same prefix. Its objects
/// are neither parsed nor counted as flowgate's delivery.
#[test]
fn objects_of_other_flow_logs_are_ignored() {
    let env = onboarded();
    add_interface(&env, "us-east-1");
    let v2_fields: Vec<String> = flowgate::core::format::DEFAULT_V2_FIELDS.iter().map(|f| f.to_string()).collect();
    // The replaced flow log's last object (default format, no tcp-flags) and a subnet-level flow
    // log's object in the required format.
    let replaced = upload_as(&env, "us-east-1", "fl-0replaced0000000a", None, false, false, "old00001", gzip(&records(Some(v2_fields), 13)), false);
    let subnet = upload_as(&env, "us-east-1", "fl-0subnet00000000b", None, false, false, "sub00002", gzip(&records(None, 14)), false);
    let ours = upload(&env, "eu-west-1", None, false, false, "ours0003", gzip(&records(None, 15)), false);

    let (code, report) = verify(&env, &["--delivery-grace", "0"]);
    assert_eq!(code, Some(0), "{:?}", failed(&report));
    let keys: Vec<&str> = report["objects"].as_array().unwrap().iter().map(|o| o["key"].as_str().unwrap()).collect();
    assert_eq!(keys, [ours.as_str()], "only flowgate's flow logs' objects are parsed");
    assert!(!keys.contains(&replaced.as_str()) && !keys.contains(&subnet.as_str()));
    let region = check(&report, "delivery us-east-1");
    assert_eq!(region["status"], "warn", "another flow log's objects are no delivery of flowgate's: {region}");
    assert!(region["detail"].as_str().unwrap().contains("2 object(s) of other flow logs ignored"), "{region}");
}

/// AWS behaviour: DescribeFlowLogs reports each flow log's delivery, `DeliverLogsStatus`
/// SUCCESS or FAILED with `DeliverLogsErrorMessage` (EC2 API reference, "FlowLog",
/// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_FlowLog.html). The emulator always
/// says SUCCESS: the proxy rewrites one flow log's answer to AWS's FAILED.
#[test]
fn a_failed_delivery_fails_with_awss_message() {
    let env = onboarded();
    upload(&env, "us-east-1", None, false, false, "fail0001", gzip(&records(None, 16)), false);
    upload(&env, "eu-west-1", None, false, false, "fail0002", gzip(&records(None, 17)), false);
    let failing = env.flow_log_id("eu-west-1");
    let id = failing.clone();
    env.proxy.rewrite_response("DescribeFlowLogs", move |body| {
        let Some(at) = body.find(&format!("<flowLogId>{id}</flowLogId>")) else { return body.to_owned() };
        let Some(start) = body[..at].rfind("<deliverLogsStatus>SUCCESS</deliverLogsStatus>") else { return body.to_owned() };
        let end = start + "<deliverLogsStatus>SUCCESS</deliverLogsStatus>".len();
        format!(
            "{}<deliverLogsErrorMessage>Access error</deliverLogsErrorMessage><deliverLogsStatus>FAILED</deliverLogsStatus>{}",
            &body[..start],
            &body[end..]
        )
    });
    let (code, report) = verify(&env, &[]);
    assert_eq!(code, Some(1));
    let delivery = check(&report, "delivery eu-west-1");
    assert_eq!(delivery["status"], "fail", "an object in the bucket does not outweigh AWS's FAILED: {delivery}");
    assert!(delivery["detail"].as_str().unwrap().contains(&format!("{failing} (")), "{delivery}");
    assert!(delivery["detail"].as_str().unwrap().contains("Access error"), "{delivery}");
    assert_eq!(check(&report, "delivery us-east-1")["status"], "pass");
}

/// AWS behaviour: once AWS cannot write to the bucket (its policy no longer lets
/// delivery.logs.amazonaws.com write, or its ownership changed), DescribeFlowLogs reports
/// `DeliverLogsStatus` FAILED with `DeliverLogsErrorMessage` "Access error" (EC2 API reference,
/// "FlowLog") for flow logs that delivered before. The emulator always says SUCCESS: the proxy
/// rewrites every flow log's answer to FAILED. The flow logs are young and the VPCs have no
/// network interface, which used to make the account's check say "pending: nothing delivered yet"
/// and call the regions idle; and the coverage check offered `--replace`, which fixes nothing.
#[test]
fn a_delivery_that_failed_after_delivering_is_neither_pending_nor_idle() {
    let env = onboarded();
    upload(&env, "us-east-1", None, false, false, "gone0001", gzip(&records(None, 21)), false);
    upload(&env, "eu-west-1", None, false, false, "gone0002", gzip(&records(None, 22)), false);
    env.proxy.rewrite_response("DescribeFlowLogs", |body| {
        body.replace(
            "<deliverLogsStatus>SUCCESS</deliverLogsStatus>",
            "<deliverLogsErrorMessage>Access error</deliverLogsErrorMessage><deliverLogsStatus>FAILED</deliverLogsStatus>",
        )
    });
    env.proxy.reset_log();
    let (code, report) = verify(&env, &[]);
    assert_eq!(code, Some(1));
    let account = check(&report, "delivery");
    let detail = account["detail"].as_str().unwrap();
    assert_eq!(account["status"], "fail", "{account}");
    assert!(detail.contains("AWS reports delivery FAILED in") && detail.contains("Access error"), "{account}");
    assert!(detail.contains("2 object(s) in the window were delivered before it failed"), "{account}");
    assert!(!detail.contains("pending") && !detail.contains("idle"), "{account}");
    let fix = account["fix"].as_str().unwrap();
    assert!(fix.contains("bucket policy") && fix.contains(&format!("flowgate bucket create --bucket {BUCKET}")), "{fix}");
    for name in ["delivery", "delivery eu-west-1", "flow logs eu-west-1", "flow logs us-east-1"] {
        let fix = check(&report, name)["fix"].as_str().unwrap_or_default().to_owned();
        assert!(fix.contains("bucket policy") && !fix.contains("--replace"), "{name}: {fix}");
    }
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new(), "verify only reads");
}

#[test]
fn bad_objects_fail_each_while_the_others_are_checked() {
    let env = onboarded();
    let good = upload(&env, "us-east-1", None, false, false, "good0001", gzip(&records(None, 5)), false);
    let kms = upload(&env, "us-east-1", None, false, false, "kms00002", gzip(&records(None, 6)), true);
    let v2_fields: Vec<String> = flowgate::core::format::DEFAULT_V2_FIELDS.iter().map(|f| f.to_string()).collect();
    let no_tcp_flags = upload(&env, "eu-west-1", None, false, false, "noflags3", gzip(&records(Some(v2_fields), 7)), false);
    let compressed = gzip(&records(None, 8));
    let truncated = upload(&env, "eu-west-1", None, false, false, "trunc004", compressed[..compressed.len() / 2].to_vec(), false);

    let (code, report) = verify(&env, &["--max-objects", "5"]);
    assert_eq!(code, Some(1));
    let object = |key: &str| {
        let region = if key.contains("us-east-1") { "us-east-1" } else { "eu-west-1" };
        let short = key.rsplit('/').next().unwrap().split_once(&format!("_vpcflowlogs_{region}_")).unwrap().1.to_owned();
        check(&report, &format!("object {region} {short}")).clone()
    };
    assert_eq!(object(&good)["status"], "pass");
    let kms_check = object(&kms);
    assert_eq!(kms_check["status"], "fail");
    assert!(kms_check["detail"].as_str().unwrap().contains("aws:kms"), "{kms_check}");
    let flags = object(&no_tcp_flags);
    assert_eq!(flags["status"], "fail");
    assert!(flags["detail"].as_str().unwrap().contains("tcp-flags"), "{flags}");
    let trunc = object(&truncated);
    assert_eq!(trunc["status"], "fail");
    assert!(trunc["detail"].as_str().unwrap().contains("truncated"), "{trunc}");
}

#[test]
fn revoked_access_fails_the_access_check() {
    let env = onboarded();
    upload(&env, "us-east-1", None, false, false, "eeee5555", gzip(&records(None, 9)), false);
    upload(&env, "eu-west-1", None, false, false, "ffff6666", gzip(&records(None, 10)), false);
    let revoked = env.flowgate().args(["access", "revoke", "--bucket", BUCKET, "--yes", "-q"]).output().unwrap();
    assert!(revoked.status.success(), "{}", stderr(&revoked));
    let (code, report) = verify(&env, &[]);
    assert_eq!(code, Some(1));
    assert_eq!(failed(&report).len(), 1, "{:?}", failed(&report));
    let access = check(&report, "access read");
    assert_eq!(access["status"], "fail");
    assert!(access["fix"].as_str().unwrap().contains("flowgate access grant --bucket"));
}

/// Issue 23 item 4: a Deny of s3:GetObject to the vendor role in the bucket policy passed verify's
/// access check, which read only the role's own policies. The emulator enforces any Deny of a
/// bucket policy on every object call (whatever its principal), so the proxy answers
/// GetBucketPolicy with the policy AWS would hold (the delivery statements and the Deny) instead
/// of putting it: AWS applies the Deny to the vendor's role only, and verify still reads the
/// delivered objects as the operator.
#[test]
fn a_bucket_policy_deny_to_the_role_fails_the_access_check() {
    let env = onboarded();
    upload(&env, "us-east-1", None, false, false, "dddd7777", gzip(&records(None, 11)), false);
    upload(&env, "eu-west-1", None, false, false, "dddd8888", gzip(&records(None, 12)), false);
    let stored = block_on(env.s3("us-east-1").get_bucket_policy().bucket(BUCKET).send()).unwrap();
    let mut policy: Value = serde_json::from_str(stored.policy().unwrap()).unwrap();
    policy["Statement"].as_array_mut().unwrap().push(serde_json::json!({
        "Sid": "NoVendorReads", "Effect": "Deny", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:role/FlowgateCrossAccountRole")},
        "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{BUCKET}/*")}));
    env.proxy.answer("GET policy", 200, &policy.to_string());
    let (code, report) = verify(&env, &[]);
    assert_eq!(code, Some(1));
    assert_eq!(failed(&report).len(), 1, "only the access check: {:?}", failed(&report));
    let access = check(&report, "access read");
    assert_eq!(access["status"], "fail");
    let detail = access["detail"].as_str().unwrap();
    assert!(detail.contains("is denied s3:GetObject on the bucket (the bucket policy, statement Sid \"NoVendorReads\")"), "{detail}");
    assert_eq!(check(&report, "bucket delivery-policy")["status"], "pass");
}

const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/FlowgateCrossAccountRole";

/// An onboarded account with an object delivered in each region: verify passes but for what the
/// simulator says.
fn delivered() -> Env {
    let env = onboarded();
    upload(&env, "us-east-1", None, false, false, "abab1111", gzip(&records(None, 21)), false);
    upload(&env, "eu-west-1", None, false, false, "abab2222", gzip(&records(None, 22)), false);
    env
}

/// Issue 25 item 1: AWS's verdict beside flowgate's. IAM's policy simulator answers
/// SimulatePrincipalPolicy (IAM API Reference, "SimulatePrincipalPolicy", "EvaluationResult"):
/// `allowed` for both reads, as the stack's grant allows them, is said in the access check; an
/// `explicitDeny` of s3:GetObject by a service control policy while the role's policies allow it
/// (`OrganizationsDecisionDetail.AllowedByOrganizations` false) fails the check, naming both
/// verdicts, the matched statement and the SCP.
#[test]
fn verify_says_whether_awss_policy_simulator_agrees() {
    use crate::support::simulator::{Evaluation, simulator_answers};
    let env = delivered();
    let matched = [("FlowgateStorageRead", "role")];
    let allowed = |action| Evaluation { matched: &matched, ..Evaluation::plain(action, "allowed") };
    simulator_answers(&env, &[allowed("s3:GetObject"), allowed("s3:ListBucket")]);
    let (code, report) = verify(&env, &[]);
    assert_eq!(code, Some(0), "{:?}", failed(&report));
    let detail = check(&report, "access read")["detail"].as_str().unwrap().to_owned();
    assert!(detail.ends_with("; AWS's policy simulator agrees: allowed"), "{detail}");
    assert_eq!(report["aws_verdict"]["agrees"], true);
    assert_eq!(report["aws_verdict"]["matched_statements"][0]["source_policy_id"], "FlowgateStorageRead");
    let asked: Vec<String> = env.proxy.requests().into_iter().filter(|r| r.action == "SimulatePrincipalPolicy").map(|r| r.body).collect();
    assert_eq!(asked.len(), 2, "one request per action");
    let get = asked.iter().find(|b| b.contains("s3%3AGetObject")).expect("s3:GetObject asked");
    assert!(get.contains(&format!("PolicySourceArn={}", ROLE_ARN.replace(':', "%3A").replace('/', "%2F"))), "{get}");
    assert!(get.contains("ResourceOwner=arn%3Aaws%3Aiam%3A%3A123456789012%3Aroot"), "{get}");
    assert!(get.contains("AWSLogs%2F123456789012%2Fvpcflowlogs%2F"), "an object under the delivery path: {get}");
    assert!(!get.contains("ResourcePolicy="), "IAM takes a resource policy only with an IAM user as caller: {get}");

    let scp = Evaluation { matched: &matched, allowed_by_organizations: Some(false), ..Evaluation::plain("s3:GetObject", "explicitDeny") };
    simulator_answers(&env, &[scp, allowed("s3:ListBucket")]);
    let (code, report) = verify(&env, &[]);
    assert_eq!(code, Some(1));
    assert_eq!(failed(&report).len(), 1, "only the access check: {:?}", failed(&report));
    let access = check(&report, "access read");
    let detail = access["detail"].as_str().unwrap();
    assert!(detail.contains("role FlowgateCrossAccountRole can s3:GetObject the bucket's objects"), "flowgate's verdict stays: {detail}");
    assert!(
        detail.contains("AWS's policy simulator DISAGREES: flowgate finds s3:GetObject allowed by the role's policies, AWS denies (explicitDeny)"),
        "{detail}"
    );
    assert!(detail.contains("decided by a service control policy of the organization; matched FlowgateStorageRead (role)"), "{detail}");
    assert!(access["fix"].as_str().unwrap().contains("SCP"), "{access}");
    assert_eq!(report["aws_verdict"]["decided_by"], "service-control-policy");
    assert_eq!(report["aws_verdict"]["agrees"], false);
}

/// The simulator that cannot be asked: IAM answers AccessDenied when the caller may not call
/// iam:SimulatePrincipalPolicy (IAM API Reference, "SimulatePrincipalPolicy", Errors); a warning
/// says why and verify's verdict and exit code are flowgate's alone, as with --no-simulate, which
/// does not ask at all.
#[test]
fn a_simulator_that_cannot_be_asked_is_a_warning_and_no_simulate_does_not_ask() {
    use crate::support::simulator::{simulations, simulator_denied};
    let env = delivered();
    env.proxy.reset_log();
    let out = env.flowgate().args(["verify", "--bucket", BUCKET, "--regions", REGIONS, "--no-simulate", "--output", "json"]).output().unwrap();
    assert_eq!(simulations(&env), 0, "--no-simulate asks nothing: {:?}", env.proxy.counts());
    let quiet = json_stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{:?}", failed(&quiet));
    assert_eq!(quiet["aws_verdict"]["not_asked"], "--no-simulate");
    assert!(!stderr(&out).contains("WARNING"), "{}", stderr(&out));

    simulator_denied(&env);
    let out = env.flowgate().args(["verify", "--bucket", BUCKET, "--regions", REGIONS, "--output", "json"]).output().unwrap();
    let report = json_stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{:?}", failed(&report));
    assert_eq!(simulations(&env), 1, "the first AccessDenied ends the asking");
    assert_eq!(report["status"], quiet["status"]);
    assert_eq!(check(&report, "access read")["status"], "pass");
    let warning = stderr(&out);
    assert!(warning.contains("WARNING: AWS's policy simulator could not be asked about"), "{warning}");
    assert!(warning.contains("access denied") && warning.contains("flowgate permissions verify"), "{warning}");
    assert!(report["aws_verdict"]["not_asked"].as_str().unwrap().contains("access denied"), "{report}");
}
