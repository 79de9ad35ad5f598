//! Property-test strategies shared by the editors of a bucket policy: statements that are not
//! flowgate's, which every editor must keep byte for byte.

use proptest::prelude::*;
use serde_json::{Value, json};

/// An Allow to another account with one of `sids` (`""`: no Sid), an S3 action and a resource on
/// the central bucket or `*`.
pub fn unrelated_allow(sids: Vec<&'static str>) -> impl Strategy<Value = Value> {
    (
        prop::sample::select(sids),
        prop::sample::select(vec!["s3:GetObject", "s3:PutObject", "s3:*"]),
        prop::sample::select(vec!["arn:aws:s3:::central-logs/AWSLogs/*", "arn:aws:s3:::central-logs", "*"]),
    )
        .prop_map(|(sid, action, resource)| {
            let mut s = json!({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": action, "Resource": resource});
            if !sid.is_empty() {
                s["Sid"] = json!(sid);
            }
            s
        })
}

/// One of the statements AWS writes itself when the bucket owner creates a flow log (see
/// `aws_delivery`), for the central bucket, with or without AWS's dated Sid suffix.
pub fn aws_statement() -> impl Strategy<Value = Value> {
    (
        any::<bool>(),
        any::<bool>(),
        prop::sample::select(vec!["us-east-1", "eu-west-1", "*"]),
        prop::sample::select(vec!["210987654321", "300000000000"]),
    )
        .prop_map(|(acl, dated, region, account)| {
            let bucket: crate::names::BucketName = "central-logs".parse().expect("a bucket name");
            let target = crate::bucket_policy::DeliveryTarget { partition: "aws", bucket: &bucket, prefix: None, account, hive_partitions: false };
            let mut statement = crate::aws_delivery::aws_statements(&target, region)[usize::from(acl)].clone();
            if dated {
                statement["Sid"] = json!(format!("{}20150319", statement["Sid"].as_str().unwrap_or_default()));
            }
            statement
        })
}
