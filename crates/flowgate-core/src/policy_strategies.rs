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
