use serde_json::{Value, json};

use super::*;

const ACCOUNT: &str = "123456789012";
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/Vendor";

fn bucket() -> BucketName {
    "flow-a".parse().unwrap()
}

fn policy(statements: Value) -> String {
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

fn role_reads(statements: Value) -> Vec<Judged> {
    let asks = [Ask { action: "s3:GetObject", on: On::Objects { prefix: String::new() } }, Ask { action: "s3:ListBucket", on: On::Bucket }];
    let requester = Requester::RoleSession { account: ACCOUNT, role_arn: ROLE_ARN };
    judge_bucket_policy(Some(&policy(statements)), &bucket(), "aws", &requester, &role_session_context(ACCOUNT, ROLE_ARN), &asks).unwrap()
}

fn delivery_writes(statements: Value) -> Vec<Judged> {
    let asks = [Ask { action: "s3:PutObject", on: On::Objects { prefix: format!("AWSLogs/{ACCOUNT}/") } }];
    let requester = Requester::Service(DELIVERY_SERVICE);
    judge_bucket_policy(Some(&policy(statements)), &bucket(), "aws", &requester, &delivery_context("aws", ACCOUNT, true), &asks).unwrap()
}

#[test]
fn a_deny_to_the_role_is_judged_with_its_actions_resource_and_certainty() {
    let judged = role_reads(json!([
        {"Sid": "DenyVendor", "Effect": "Deny", "Principal": {"AWS": ROLE_ARN}, "Action": ["s3:GetObject", "s3:ListBucket"],
         "Resource": ["arn:aws:s3:::flow-a", "arn:aws:s3:::flow-a/*"]},
        {"Sid": "OtherRole", "Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::123456789012:role/Other"}, "Action": "s3:*", "Resource": "*"},
        {"Sid": "OffSite", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::flow-a/*",
         "Condition": {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}},
        {"Sid": "ServicesOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:PrincipalIsAWSService": "true"}}}
    ]));
    let summary: Vec<(Option<&str>, Vec<&str>, &str, bool)> = judged
        .iter()
        .map(|j| (j.statement.sid.as_deref(), j.actions.iter().map(String::as_str).collect(), j.resource.as_str(), j.is_certain()))
        .collect();
    assert_eq!(
        summary,
        [
            (Some("DenyVendor"), vec!["s3:GetObject"], "arn:aws:s3:::flow-a/*", true),
            (Some("DenyVendor"), vec!["s3:ListBucket"], "arn:aws:s3:::flow-a", true),
            (Some("OffSite"), vec!["s3:GetObject"], "arn:aws:s3:::flow-a/*", false),
        ]
    );
    assert_eq!(judged[2].depends_on, ["condition aws:SourceIp"]);
    assert_eq!(judged[0].statement.to_string(), "the bucket policy, statement Sid \"DenyVendor\"");
    assert_eq!((judged[0].statement.policy.as_str(), judged[0].statement.source), ("flow-a", crate::role_policy::PolicySource::Bucket));
}

/// The guardrails of the issue: each key the log delivery service never carries, under the
/// operator a guardrail uses, and the documented exemption.
#[test]
fn guardrails_the_delivery_service_does_not_meet_deny_it() {
    let deny = |condition: Value| json!([{"Sid": "Guard", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::flow-a/*", "Condition": condition}]);
    let certain = |condition: Value| delivery_writes(deny(condition)).first().map(Judged::is_certain);
    assert_eq!(certain(json!({"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123"}})), Some(true));
    assert_eq!(certain(json!({"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-abc123"}})), Some(true));
    assert_eq!(certain(json!({"StringNotEquals": {"aws:PrincipalAccount": ACCOUNT}})), Some(true));
    assert_eq!(certain(json!({"StringNotEquals": {"aws:SourceVpc": "vpc-1"}})), Some(true));
    assert_eq!(certain(json!({"StringNotEquals": {"aws:SourceVpce": "vpce-1"}})), Some(true));
    assert_eq!(certain(json!({"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}})), Some(true));
    // Met by the service, or exempting it: no Deny.
    assert_eq!(certain(json!({"Bool": {"aws:SecureTransport": "false"}})), None);
    assert_eq!(certain(json!({"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123"}, "BoolIfExists": {"aws:PrincipalIsAWSService": "false"}})), None);
    assert_eq!(certain(json!({"StringNotEquals": {"aws:SourceAccount": ACCOUNT}})), None);
    assert_eq!(certain(json!({"StringNotEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}})), None);
    assert_eq!(certain(json!({"StringEquals": {"aws:SourceVpc": "vpc-1"}})), None);
    // Not judged: may deny, naming the key.
    let judged = delivery_writes(deny(json!({"ArnNotLike": {"aws:SourceArn": "arn:aws:logs:eu-west-1:123456789012:*"}})));
    assert_eq!((judged[0].is_certain(), judged[0].depends_on.clone()), (false, vec!["condition aws:SourceArn".to_owned()]));
}

#[test]
fn delivery_is_denied_on_its_path_only() {
    let deny = |resource: &str| json!([{"Effect": "Deny", "Principal": {"Service": DELIVERY_SERVICE}, "Action": "s3:Put*", "Resource": resource}]);
    assert!(delivery_writes(deny("arn:aws:s3:::flow-a/*"))[0].is_certain());
    assert!(delivery_writes(deny("arn:aws:s3:::flow-a/AWSLogs/*"))[0].is_certain());
    assert!(delivery_writes(deny("arn:aws:s3:::flow-a/private/*")).is_empty());
    assert!(delivery_writes(deny("arn:aws:s3:::flow-b/*")).is_empty());
    let some = delivery_writes(deny("arn:aws:s3:::flow-a/AWSLogs/123456789012/2027/*"));
    assert_eq!((some[0].scope, some[0].is_certain()), (Scope::SomeObjects, false));
    let not_resource = json!([{"Effect": "Deny", "Principal": "*", "Action": "*", "NotResource": "arn:aws:s3:::flow-a/AWSLogs/*"}]);
    assert!(delivery_writes(not_resource).is_empty());
}

#[test]
fn no_policy_and_broken_policies() {
    let requester = Requester::Service(DELIVERY_SERVICE);
    let context = delivery_context("aws", ACCOUNT, true);
    assert_eq!(judge_bucket_policy(None, &bucket(), "aws", &requester, &context, &[]), Ok(Vec::new()));
    assert!(judge_bucket_policy(Some("{not json"), &bucket(), "aws", &requester, &context, &[]).is_err());
    // Invalid statements are skipped: S3 refuses them.
    assert!(delivery_writes(json!([{"Effect": "deny", "Principal": "*", "Action": "*", "Resource": "*"}, 5])).is_empty());
}
