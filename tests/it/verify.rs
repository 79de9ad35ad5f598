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

/// An onboarded account: bucket, flow logs in two regions, the stack granting the bucket.
fn onboarded() -> Env {
    let env = Env::isolated();
    for args in [
        vec!["bucket", "create", "--bucket", BUCKET],
        vec!["flowlogs", "enable", "--bucket", BUCKET, "--regions", REGIONS],
        vec!["stack", "deploy", "--vendor-account", "111122223333", "--storage-access", "--storage-ids", BUCKET],
    ] {
        let out = env.flowgate().args(&args).args(["--yes", "-q"]).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    }
    env
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
    let key = object_key(prefix, ACCOUNT, region, "fl-0123456789abcdef0", now(), KeyLayout { hive, per_hour }, hash);
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
    let (_, report) = verify(&env, &["--prefix", "team/net", "--hive-partitions"]);
    // The emulator cannot create flow logs to a prefix (see MOTO.md), so coverage fails here; the
    // delivery and object checks are what this test is about.
    for name in ["delivery us-east-1", "delivery eu-west-1"] {
        assert_eq!(check(&report, name)["status"], "pass", "{name}: {report:#}");
    }
    assert_eq!(report["objects"].as_array().unwrap().len(), 2);
    assert!(report["objects"].as_array().unwrap().iter().all(|o| o["error"].is_null()));
}

#[test]
fn no_delivered_objects_fail_with_the_reason() {
    let env = onboarded();
    // Flow logs seconds old: the delivery is pending (a warning), not failed.
    let (code, report) = verify(&env, &[]);
    assert_eq!(code, Some(0), "{:?}", failed(&report));
    let pending = check(&report, "delivery us-east-1");
    assert_eq!(pending["status"], "warn");
    assert!(pending["detail"].as_str().unwrap().contains("pending"), "{pending}");
    let (strict, _) = verify(&env, &["--strict"]);
    assert_eq!(strict, Some(1), "--strict fails on warnings");

    let (code, report) = verify(&env, &["--delivery-grace", "0"]);
    assert_eq!(code, Some(1));
    let delivery = check(&report, "delivery us-east-1");
    assert_eq!(delivery["status"], "fail");
    assert!(delivery["detail"].as_str().unwrap().contains("no flow-log object delivered"));
    assert!(delivery["fix"].as_str().unwrap().contains("--wait"));
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
