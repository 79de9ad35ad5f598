use serde_json::{Value, json};

use super::*;
use crate::bucket_policy::{self, DeliveryTarget};
use crate::names::{BucketName, LogPrefix};

const ACCOUNT: &str = "123456789012";

fn bucket() -> BucketName {
    "flow-a".parse().unwrap()
}

fn target<'a>(bucket: &'a BucketName, prefix: Option<&'a LogPrefix>) -> DeliveryTarget<'a> {
    DeliveryTarget { partition: "aws", bucket, prefix, account: ACCOUNT, hive_partitions: false }
}

fn policy(statements: &[Value]) -> String {
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

fn deny_insecure() -> Value {
    json!({"Sid": "DenyInsecure", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::flow-a/*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
}

#[test]
fn aws_statements_are_known_by_sid_and_principal() {
    let b = bucket();
    let [write, acl] = <[Value; 2]>::try_from(aws_statements(&target(&b, None), "us-east-1")).unwrap();
    assert!(is_aws_statement(&write) && is_aws_statement(&acl));
    let mut dated = write.clone();
    dated["Sid"] = json!("AWSLogDeliveryWrite20150319");
    assert!(is_aws_statement(&dated), "AWS's dated Sid");
    let mut listed = acl.clone();
    listed["Principal"] = json!({"Service": ["delivery.logs.amazonaws.com"]});
    assert!(is_aws_statement(&listed));
    for (key, value) in [
        ("Sid", json!("AWSLogDeliveryWrite-copy")),
        ("Sid", json!("MyLogDeliveryWrite")),
        ("Sid", json!(bucket_policy::WRITE_SID)),
        ("Effect", json!("Deny")),
        ("Principal", json!({"Service": "cloudtrail.amazonaws.com"})),
        ("Principal", json!("*")),
    ] {
        let mut other = write.clone();
        other[key] = value.clone();
        assert!(!is_aws_statement(&other), "{key} {value}");
    }
    let flowgate = bucket_policy::delivery_statements(&target(&b, None));
    assert!(flowgate.iter().all(|s| !is_aws_statement(s)), "flowgate's are flowgate's");
    let text = policy(&[deny_insecure(), write, flowgate[0].clone(), dated]);
    assert_eq!(aws_sids(Some(&text)).unwrap(), ["AWSLogDeliveryWrite", "AWSLogDeliveryWrite20150319"]);
    assert!(aws_sids(None).unwrap().is_empty());
}

#[test]
fn aws_statements_grant_the_account_s_path_in_their_region() {
    let b = bucket();
    let text = policy(&aws_statements(&target(&b, None), "eu-west-1"));
    let grant = aws_grant(Some(&text), &target(&b, None)).unwrap().expect("a grant");
    assert_eq!(grant.sids, [AWS_WRITE_SID, AWS_ACL_SID]);
    assert_eq!(grant.regions, Some(vec!["eu-west-1".to_owned()]));
    let every = policy(&aws_statements(&target(&b, None), "*"));
    assert_eq!(aws_grant(Some(&every), &target(&b, None)).unwrap().unwrap().regions, None);

    // Another account's path, another prefix, or the write without the ACL check: no grant.
    let other = DeliveryTarget { account: "210987654321", ..target(&b, None) };
    assert_eq!(aws_grant(Some(&text), &other).unwrap(), None);
    let prefix: LogPrefix = "net".parse().unwrap();
    assert_eq!(aws_grant(Some(&text), &target(&b, Some(&prefix))).unwrap(), None);
    let statements = aws_statements(&target(&b, None), "eu-west-1");
    assert_eq!(aws_grant(Some(&policy(&statements[..1])), &target(&b, None)).unwrap(), None);
    // The same statements under a Sid of someone else's are no AWS grant (they are judged as theirs).
    let mut renamed = statements.clone();
    renamed[0]["Sid"] = json!("TeamWrite");
    assert_eq!(aws_grant(Some(&policy(&renamed)), &target(&b, None)).unwrap(), None);
    // The documented `my-s3-arn/*` form grants every prefix.
    let mut whole = statements;
    whole[0]["Resource"] = json!("arn:aws:s3:::flow-a/*");
    assert!(aws_grant(Some(&policy(&whole)), &target(&b, Some(&prefix))).unwrap().is_some());
}

/// The VPC User Guide's account of AWS's write: the policy becomes AWS's two statements.
#[test]
fn after_an_overwrite_everything_else_is_put_back_and_aws_s_kept() {
    let b = bucket();
    let mut before_statements = vec![deny_insecure()];
    before_statements.extend(bucket_policy::delivery_statements(&target(&b, None)));
    let before = json!({"Version": "2012-10-17", "Id": "team", "Statement": before_statements}).to_string();
    let aws = aws_statements(&target(&b, None), "us-east-1");
    let after = policy(&aws);
    let restore = restore_after_aws_write(Some(&before), Some(&after)).unwrap();
    assert_eq!(restore.restored, ["DenyInsecure", bucket_policy::WRITE_SID, bucket_policy::ACL_SID, "the policy's Id"]);
    assert_eq!(restore.aws_added, [AWS_WRITE_SID, AWS_ACL_SID]);
    let document = restore.document.expect("a policy to put");
    assert_eq!(restore.size_bytes, document.len());
    let doc: Value = serde_json::from_str(&document).unwrap();
    assert_eq!(doc["Id"], "team");
    let mut wanted = before_statements.clone();
    wanted.extend(aws.iter().cloned());
    assert_eq!(doc["Statement"], Value::Array(wanted));
    // Read again after the put: nothing more to do.
    let again = restore_after_aws_write(Some(&before), Some(&document)).unwrap();
    assert_eq!((again.document, again.restored.len()), (None, 0));
}

/// The CloudWatch Logs guide's account: AWS's statements appended to the policy there.
#[test]
fn after_an_append_nothing_is_missing_and_nothing_is_put() {
    let b = bucket();
    let before = policy(&[
        deny_insecure(),
        json!({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::flow-a/*"}),
    ]);
    let mut appended: Value = serde_json::from_str(&before).unwrap();
    for s in aws_statements(&target(&b, None), "us-east-1") {
        appended["Statement"].as_array_mut().unwrap().push(s);
    }
    let restore = restore_after_aws_write(Some(&before), Some(&appended.to_string())).unwrap();
    assert_eq!(restore.document, None);
    assert!(restore.restored.is_empty());
    assert_eq!(restore.aws_added, [AWS_WRITE_SID, AWS_ACL_SID]);
    // Nothing there before: AWS's policy is all there is, and stays.
    let only = restore_after_aws_write(None, Some(&policy(&aws_statements(&target(&b, None), "us-east-1")))).unwrap();
    assert_eq!((only.document, only.aws_added.len()), (None, 2));
}

/// AWS rewriting its own statement (another region) is not a loss: the Sid is there once.
#[test]
fn a_statement_rewritten_in_place_is_not_put_back_twice() {
    let b = bucket();
    let old = aws_statements(&target(&b, None), "us-east-1");
    let new = aws_statements(&target(&b, None), "eu-west-1");
    let sidless = json!({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::flow-a"});
    let before = policy(&[sidless.clone(), old[0].clone(), old[1].clone()]);
    let restore = restore_after_aws_write(Some(&before), Some(&policy(&new))).unwrap();
    assert_eq!(restore.restored, ["statement #1"]);
    assert!(restore.aws_added.is_empty(), "rewritten, not added: {:?}", restore.aws_added);
    let doc: Value = serde_json::from_str(restore.document.as_deref().unwrap()).unwrap();
    assert_eq!(doc["Statement"], json!([sidless, new[0], new[1]]));
    assert!(restore_after_aws_write(Some("{not json"), None).is_err());
}

mod properties {
    //! AWS's write, both ways its guides describe it, against generated policies: whatever was
    //! there before is there afterwards (the user's statements, flowgate's, AWS's earlier ones),
    //! AWS's new statements are kept, no Sid is there twice, and a second pass changes nothing.

    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn statement() -> impl Strategy<Value = Value> {
        let b = bucket();
        let flowgate = bucket_policy::delivery_statements(&target(&b, None));
        let aws_old = aws_statements(&target(&b, None), "ap-south-1");
        let sidless = (prop::sample::select(vec!["s3:GetObject", "s3:ListBucket"]), prop::sample::select(vec!["111122223333", "444455556666"]))
            .prop_map(|(action, account)| json!({"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{account}:root")}, "Action": action, "Resource": "*"}));
        prop_oneof![
            crate::policy_strategies::unrelated_allow(vec!["Reports", "Backup", "Deny"]),
            sidless,
            prop::sample::select(flowgate),
            prop::sample::select(aws_old),
        ]
    }

    /// A policy (statements with distinct Sids, as S3 requires), maybe with an `Id`.
    fn policy_before() -> impl Strategy<Value = Option<Value>> {
        prop::option::of((vec(statement(), 0..6), any::<bool>()).prop_map(|(statements, id)| {
            let mut seen = Vec::new();
            let statements: Vec<Value> = statements
                .into_iter()
                .filter(|s| {
                    policy_doc::sid(s).is_none_or(|sid| {
                        !seen.contains(&sid.to_owned()) && {
                            seen.push(sid.to_owned());
                            true
                        }
                    })
                })
                .collect();
            let mut doc = json!({"Version": "2012-10-17", "Statement": statements});
            if id {
                doc["Id"] = json!("team");
            }
            doc
        }))
    }

    /// AWS's append: each of its statements replaces the one with its Sid, or is added.
    fn appended(before: Option<&Value>, aws: &[Value]) -> Value {
        let mut doc = before.cloned().unwrap_or_else(|| json!({"Version": "2012-10-17", "Statement": []}));
        let statements = doc["Statement"].as_array_mut().unwrap();
        for s in aws {
            match statements.iter().position(|x| policy_doc::sid(x) == policy_doc::sid(s)) {
                Some(i) => statements[i] = s.clone(),
                None => statements.push(s.clone()),
            }
        }
        doc
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn both_of_aws_s_writes_lose_nothing(before in policy_before(), overwrite in any::<bool>(), region in prop::sample::select(vec!["us-east-1", "ap-south-1"])) {
            let b = bucket();
            let aws = aws_statements(&target(&b, None), region);
            let before_text = before.as_ref().map(Value::to_string);
            let after = if overwrite { json!({"Version": "2012-10-17", "Statement": aws}) } else { appended(before.as_ref(), &aws) };
            let restore = restore_after_aws_write(before_text.as_deref(), Some(&after.to_string())).unwrap();
            if !overwrite {
                prop_assert_eq!(&restore.document, &None, "an append leaves nothing to put back");
            }
            let result: Value = restore.document.as_deref().map(|d| serde_json::from_str(d).unwrap()).unwrap_or_else(|| after.clone());
            let statements = result["Statement"].as_array().unwrap();
            // AWS's statements as written, and every statement of before (by Sid, or by meaning).
            for s in &aws {
                prop_assert!(statements.contains(s), "AWS's {} lost", s);
            }
            for s in before.iter().flat_map(|d| d["Statement"].as_array().unwrap()) {
                let kept = statements.iter().any(|x| same_statement(x, s));
                prop_assert!(kept, "{} lost", s);
            }
            let mut sids: Vec<&str> = statements.iter().filter_map(policy_doc::sid).collect();
            let count = sids.len();
            sids.sort();
            sids.dedup();
            prop_assert_eq!(sids.len(), count, "a Sid twice: {}", result);
            if let Some(id) = before.as_ref().and_then(|d| d.get("Id")) {
                prop_assert_eq!(&result["Id"], id);
            }
            // The overwrite put back comes to what the append gives (in that order when anything
            // was put back; a policy that lost nothing is left in AWS's order).
            let sorted = |v: &Value| { let mut all: Vec<String> = v.as_array().unwrap().iter().map(Value::to_string).collect(); all.sort(); all };
            let append = appended(before.as_ref(), &aws);
            if restore.document.is_some() {
                prop_assert_eq!(&result["Statement"], &append["Statement"]);
            }
            prop_assert_eq!(sorted(&result["Statement"]), sorted(&append["Statement"]));
            let again = restore_after_aws_write(before_text.as_deref(), Some(&result.to_string())).unwrap();
            prop_assert_eq!(again.document, None);
        }
    }
}
