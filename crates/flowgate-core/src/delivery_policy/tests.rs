use serde_json::{Value, json};

use super::*;
use crate::names::BucketName;
use crate::report::CheckStatus;

const ACCOUNT: &str = "123456789012";

fn bucket() -> BucketName {
    "flow-a".parse().unwrap()
}

fn target(bucket: &BucketName) -> DeliveryTarget<'_> {
    DeliveryTarget { partition: "aws", bucket, prefix: None, account: ACCOUNT, hive_partitions: false }
}

/// flowgate's delivery statements, then `extra`.
fn policy(extra: &[Value]) -> String {
    let b = bucket();
    let mut statements = bucket_policy::delivery_statements(&target(&b));
    statements.extend(extra.iter().cloned());
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

fn check(extra: &[Value]) -> Check {
    let b = bucket();
    delivery_policy_check(Some(&policy(extra)), &target(&b))
}

#[test]
fn the_delivery_statements_alone_pass() {
    let c = check(&[]);
    assert_eq!((c.status, c.detail.as_str()), (CheckStatus::Pass, "flow-log delivery statements present for AWSLogs/123456789012/"));
    let b = bucket();
    assert_eq!(delivery_policy_check(None, &target(&b)).status, CheckStatus::Fail);
}

/// Issue 23 item 4: an explicit Deny of s3:PutObject to the delivery service, outright or by a
/// guardrail it does not meet, passed because only the Allow statements were looked at.
#[test]
fn a_deny_the_service_cannot_escape_fails_the_check() {
    let outright = json!({"Sid": "NoDelivery", "Effect": "Deny", "Principal": {"Service": "delivery.logs.amazonaws.com"}, "Action": "s3:PutObject", "Resource": "arn:aws:s3:::flow-a/*"});
    let c = check(&[outright]);
    assert_eq!(c.status, CheckStatus::Fail);
    assert_eq!(
        c.detail,
        "the bucket policy denies delivery.logs.amazonaws.com writing AWSLogs/123456789012/: statement Sid \"NoDelivery\" (s3:PutObject)"
    );
    assert!(c.fix.as_deref().is_some_and(|f| f.contains("aws:PrincipalIsAWSService")), "{c:?}");

    let org_guard = json!({"Sid": "OrgOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": ["arn:aws:s3:::flow-a", "arn:aws:s3:::flow-a/*"],
        "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123"}}});
    let c = check(std::slice::from_ref(&org_guard));
    assert_eq!(c.status, CheckStatus::Fail, "{c:?}");
    assert!(c.detail.contains("Sid \"OrgOnly\" (s3:PutObject, s3:GetBucketAcl, s3:ListBucket)"), "{}", c.detail);

    // The documented exemption makes the same guardrail harmless.
    let mut exempted = org_guard;
    exempted["Condition"]["BoolIfExists"] = json!({"aws:PrincipalIsAWSService": "false"});
    assert_eq!(check(&[exempted]).status, CheckStatus::Pass);

    let vpc_guard = json!({"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::flow-a/*",
        "Condition": {"StringNotEqualsIfExists": {"aws:SourceVpc": "vpc-111bbb22"}}});
    let c = check(&[vpc_guard]);
    assert_eq!(c.status, CheckStatus::Fail);
    assert!(c.detail.contains("statement #2 (s3:PutObject)"), "{}", c.detail);

    let acl_check = json!({"Effect": "Deny", "Principal": "*", "Action": "s3:GetBucketAcl", "Resource": "arn:aws:s3:::flow-a"});
    assert_eq!(check(&[acl_check]).status, CheckStatus::Fail);
}

#[test]
fn denies_the_service_meets_or_that_cover_other_things_pass() {
    let tls = json!({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::flow-a/*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}});
    let other_prefix = json!({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::flow-a/private/*"});
    let other_principal = json!({"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "s3:*", "Resource": "*"});
    let not_principal =
        json!({"Effect": "Deny", "NotPrincipal": {"Service": "delivery.logs.amazonaws.com"}, "Action": "s3:PutObject", "Resource": "*"});
    let deletes = json!({"Effect": "Deny", "Principal": "*", "Action": ["s3:DeleteObject", "s3:PutBucketPolicy"], "Resource": "*"});
    let c = check(&[tls, other_prefix, other_principal, not_principal, deletes]);
    assert_eq!(c.status, CheckStatus::Pass, "{c:?}");
}

#[test]
fn a_deny_under_a_condition_flowgate_cannot_judge_is_a_warning() {
    let region = json!({"Sid": "OneRegion", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::flow-a/*",
        "Condition": {"ArnNotLike": {"aws:SourceArn": "arn:aws:logs:eu-west-1:123456789012:*"}}});
    let c = check(std::slice::from_ref(&region));
    assert_eq!(c.status, CheckStatus::Warn, "{c:?}");
    assert!(
        c.detail.ends_with(
            "; the bucket policy may deny delivery.logs.amazonaws.com: statement Sid \"OneRegion\" (s3:PutObject) if condition aws:SourceArn"
        ),
        "{}",
        c.detail
    );
    // Without the delivery statements it is a failure, which names both.
    let b = bucket();
    let only = json!({"Version": "2012-10-17", "Statement": [region]}).to_string();
    let c = delivery_policy_check(Some(&only), &target(&b));
    assert_eq!(c.status, CheckStatus::Fail);
    assert!(c.detail.starts_with("missing FlowgateLogDeliveryWrite, FlowgateLogDeliveryAclCheck") && c.detail.contains("may deny"), "{}", c.detail);
    let some_keys =
        json!({"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::flow-a/AWSLogs/123456789012/2027/*"});
    let c = check(&[some_keys]);
    assert_eq!(c.status, CheckStatus::Warn);
    assert!(c.detail.contains("on some keys (arn:aws:s3:::flow-a/AWSLogs/123456789012/2027/*)"), "{}", c.detail);
}

/// Issue 24 item 4: the bucket owner's CreateFlowLogs makes AWS write its own delivery
/// statements (VPC User Guide, "Amazon S3 bucket permissions for flow logs": the policy is
/// overwritten with them). They grant delivery as flowgate's do: the check passes, naming them.
#[test]
fn aws_s_own_statements_are_a_delivery_grant() {
    let b = bucket();
    let aws = crate::aws_delivery::aws_statements(&target(&b), "eu-west-1");
    let only_aws = json!({"Version": "2012-10-17", "Statement": aws}).to_string();
    let c = delivery_policy_check(Some(&only_aws), &target(&b));
    assert_eq!(c.status, CheckStatus::Pass, "{c:?}");
    assert_eq!(
        c.detail,
        "flow-log delivery granted for AWSLogs/123456789012/ by AWS's own statements AWSLogDeliveryWrite, AWSLogDeliveryAclCheck \
         (written by AWS when the bucket owner created a flow log; for flow logs in eu-west-1 only)"
    );
    // For another account's path they grant nothing.
    let other = DeliveryTarget { account: "210987654321", ..target(&b) };
    assert_eq!(delivery_policy_check(Some(&only_aws), &other).status, CheckStatus::Fail);
    // A Deny the service cannot escape still fails the check.
    let mut denied = aws.clone();
    denied.push(json!({"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::flow-a/*"}));
    let text = json!({"Version": "2012-10-17", "Statement": denied}).to_string();
    assert_eq!(delivery_policy_check(Some(&text), &target(&b)).status, CheckStatus::Fail);
}

mod properties {
    //! The delivery judgement against generated policies: a Deny that cannot touch the delivery
    //! service never changes the check; one that names the service (or everyone) and one of its
    //! actions always makes it fail or warn, naming the statement.

    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    /// Statements that may or may not be about delivery: allows and denies of assorted
    /// principals, actions, resources and conditions.
    fn any_statement() -> impl Strategy<Value = Value> {
        (
            prop::sample::select(vec!["Allow", "Deny"]),
            prop::sample::select(vec![json!("*"), json!({"Service": DELIVERY_SERVICE}), json!({"AWS": "arn:aws:iam::999999999999:root"})]),
            prop::sample::select(vec!["s3:*", "s3:PutObject", "s3:GetObject", "s3:GetBucketAcl", "*"]),
            prop::sample::select(vec!["*", "arn:aws:s3:::flow-a/*", "arn:aws:s3:::flow-a", "arn:aws:s3:::flow-a/AWSLogs/*", "arn:aws:s3:::other/*"]),
            prop::option::of(condition()),
        )
            .prop_map(|(effect, principal, action, resource, condition)| {
                let mut statement = json!({"Effect": effect, "Principal": principal, "Action": action, "Resource": resource});
                if let Some(condition) = condition {
                    statement["Condition"] = condition;
                }
                statement
            })
    }

    /// Conditions that hold for the service, that fail for it, or that flowgate cannot judge.
    fn condition() -> impl Strategy<Value = Value> {
        prop::sample::select(vec![
            json!({"StringNotEquals": {"aws:PrincipalOrgID": "o-abc"}}),
            json!({"Bool": {"aws:SecureTransport": "false"}}),
            json!({"BoolIfExists": {"aws:PrincipalIsAWSService": "false"}}),
            json!({"StringNotEqualsIfExists": {"aws:SourceVpce": "vpce-1"}}),
            json!({"ArnNotLike": {"aws:SourceArn": "arn:aws:logs:us-east-1:123456789012:*"}}),
            json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
            json!({"StringEquals": {"aws:SourceAccount": "999999999999"}}),
        ])
    }

    /// Denies that cannot apply to the delivery service's writes: another principal, actions it
    /// never calls, resources it never writes, or a condition it does not meet.
    fn unrelated_deny() -> impl Strategy<Value = Value> {
        let statement = |principal: Value, action: &str, resource: &str, condition: Option<Value>| {
            let mut s = json!({"Effect": "Deny", "Principal": principal, "Action": action, "Resource": resource});
            if let Some(c) = condition {
                s["Condition"] = c;
            }
            s
        };
        prop_oneof![
            prop::sample::select(vec![
                json!({"AWS": "arn:aws:iam::999999999999:root"}),
                json!({"Service": "cloudtrail.amazonaws.com"}),
                json!({"AWS": ACCOUNT})
            ])
            .prop_map(move |p| statement(p, "s3:*", "*", None)),
            prop::sample::select(vec!["s3:DeleteObject", "s3:GetObject*", "s3:PutBucketPolicy", "ec2:*", "s3:PutBucketTagging"])
                .prop_map(move |a| statement(json!("*"), a, "*", None)),
            prop::sample::select(vec!["arn:aws:s3:::other/*", "arn:aws:s3:::flow-a/private/*", "arn:aws:s3:::flow-a/AWSLogs/999999999999/*"])
                .prop_map(move |r| statement(json!("*"), "s3:PutObject", r, None)),
            prop::sample::select(vec![
                json!({"BoolIfExists": {"aws:PrincipalIsAWSService": "false"}}),
                json!({"StringEquals": {"aws:SourceAccount": "999999999999"}}),
                json!({"Bool": {"aws:SecureTransport": "false"}}),
                json!({"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}),
            ])
            .prop_map(move |c| statement(json!("*"), "s3:*", "*", Some(c))),
        ]
    }

    /// Denies that name the service (or everyone) and an action it calls on what it writes,
    /// unconditionally or under a condition it meets or flowgate cannot judge.
    fn matching_deny() -> impl Strategy<Value = Value> {
        (
            prop::sample::select(vec![json!("*"), json!({"AWS": "*"}), json!({"Service": DELIVERY_SERVICE})]),
            prop::sample::select(vec![
                ("s3:PutObject", "arn:aws:s3:::flow-a/*"),
                ("s3:Put*", "arn:aws:s3:::flow-a/AWSLogs/*"),
                ("s3:*", "*"),
                ("*", "arn:aws:s3:::flow-a/AWSLogs/123456789012/2027/*"),
                ("s3:GetBucketAcl", "arn:aws:s3:::flow-a"),
                ("s3:List*", "arn:aws:s3:::*"),
            ]),
            prop::option::of(prop::sample::select(vec![
                json!({"StringNotEquals": {"aws:PrincipalOrgID": "o-abc"}}),
                json!({"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}),
                json!({"ArnNotLike": {"aws:SourceArn": "arn:aws:logs:eu-west-1:123456789012:*"}}),
                json!({"StringLike": {"aws:UserAgent": "*curl*"}}),
            ])),
        )
            .prop_map(|(principal, (action, resource), condition)| {
                let mut s = json!({"Sid": "Matching", "Effect": "Deny", "Principal": principal, "Action": action, "Resource": resource});
                if let Some(c) = condition {
                    s["Condition"] = c;
                }
                s
            })
    }

    fn judged(statements: &[Value]) -> Check {
        let b = bucket();
        let text = json!({"Version": "2012-10-17", "Statement": statements}).to_string();
        delivery_policy_check(Some(&text), &target(&b))
    }

    fn base() -> impl Strategy<Value = Vec<Value>> {
        (any::<bool>(), vec(any_statement(), 0..5)).prop_map(|(delivery, others)| {
            let b = bucket();
            let mut statements = if delivery { bucket_policy::delivery_statements(&target(&b)) } else { Vec::new() };
            statements.extend(others);
            statements
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn an_unrelated_deny_never_changes_the_verdict(statements in base(), extra in unrelated_deny()) {
            let before = judged(&statements);
            let mut with = statements.clone();
            with.push(extra);
            prop_assert_eq!(judged(&with), before);
        }

        #[test]
        fn a_matching_deny_always_fails_or_warns_and_is_named(statements in base(), extra in matching_deny()) {
            let mut with = statements.clone();
            with.push(extra);
            let check = judged(&with);
            prop_assert!(check.status != CheckStatus::Pass, "{:?}", check);
            let certain_before = judged(&statements).status == CheckStatus::Fail && judged(&statements).detail.starts_with("the bucket policy denies");
            prop_assert!(certain_before || check.detail.contains("Sid \"Matching\""), "{:?}", check);
        }
    }
}
