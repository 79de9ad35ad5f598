//! A bucket's own policy read for the vendor's role: its statements that allow or deny the role
//! an action of the read or write set, as grants the evaluator weighs with the role's policies.

use super::evaluate::{BucketPolicyGrants, Effect, Grant};
use super::s3_actions::{READ_ACTIONS, Target, WRITE_ACTIONS};
use crate::names::BucketName;
use crate::resource_policy::{Ask, On, Requester, judge_bucket_policy, role_session_context};

/// The statements of `bucket`'s policy `text` (none: no policy) about sessions of the role
/// `role_arn` of `account`; a policy that does not parse is a problem (its denies are unseen).
pub fn bucket_policy_grants(text: Option<&str>, bucket: &BucketName, partition: &str, account: &str, role_arn: &str) -> BucketPolicyGrants {
    let asks: Vec<Ask> = READ_ACTIONS
        .iter()
        .chain(WRITE_ACTIONS)
        .map(|action| Ask {
            action: action.name,
            on: match action.target {
                Target::Objects => On::Objects { prefix: String::new() },
                Target::Bucket => On::Bucket,
            },
        })
        .collect();
    let requester = Requester::RoleSession { account, role_arn };
    let judged = match judge_bucket_policy(text, bucket, partition, &requester, &role_session_context(account, role_arn), &asks) {
        Ok(judged) => judged,
        Err(e) => {
            return BucketPolicyGrants { problem: Some(format!("bucket policy of {bucket}: {e}; its denies are not seen")), ..Default::default() };
        }
    };
    let mut grants = BucketPolicyGrants::default();
    for j in judged {
        let grant = Grant {
            statement: j.statement,
            resource: j.resource,
            scope: j.scope,
            conditional: !j.depends_on.is_empty(),
            actions: j.actions,
            depends_on: j.depends_on,
        };
        match j.effect {
            Effect::Allow => grants.allows.push(grant),
            Effect::Deny => grants.denies.push(grant),
        }
    }
    grants
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::role_policy::evaluate::{Readability, bucket_access_with, can_read_with, evaluate_with};
    use crate::role_policy::fixtures::*;

    const ACCOUNT: &str = "123456789012";
    const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/Vendor";

    fn grants(statements: &[Value]) -> BucketPolicyGrants {
        let text = json!({"Version": "2012-10-17", "Statement": statements}).to_string();
        bucket_policy_grants(Some(&text), &bucket("flow-a"), "aws", ACCOUNT, ROLE_ARN)
    }

    fn role() -> Vec<crate::role_policy::NamedPolicy> {
        vec![inline("FlowgateStorageRead", json!({"Statement": flowgate(&["flow-a"], &["flow-a"])}))]
    }

    /// Issue 23 item 4: a Deny of s3:GetObject to the vendor role in the bucket policy left the
    /// bucket "READABLE", because only the role's identity policies were read.
    #[test]
    fn a_bucket_policy_deny_to_the_role_denies_the_read() {
        let deny = json!({"Sid": "NoVendor", "Effect": "Deny", "Principal": {"AWS": ROLE_ARN}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::flow-a/*"});
        let readability = can_read_with(&role(), &bucket("flow-a"), "aws", &grants(std::slice::from_ref(&deny)));
        let Readability::Denied { by } = &readability else { panic!("{readability:?}") };
        assert_eq!(by[0].statement.to_string(), "the bucket policy, statement Sid \"NoVendor\"");
        // Listing stays allowed: the bucket's read set is still readable, the object reads are not.
        let access = bucket_access_with(&role(), &bucket("flow-a"), "aws", &grants(&[deny]));
        assert_eq!(kind(&access.readability), "allowed");
        assert!(access.denies.iter().any(|d| d.actions == ["s3:GetObject"] && !d.conditional));
        assert_eq!(access.denied_reads, ["s3:GetObject"]);

        let list_deny = json!({"Effect": "Deny", "Principal": "*", "Action": "s3:List*", "Resource": "arn:aws:s3:::flow-a"});
        let access = bucket_access_with(&role(), &bucket("flow-a"), "aws", &grants(&[list_deny]));
        assert_eq!(access.denies[0].statement.label(), "#0");
        assert_eq!(access.denied_reads, ["s3:ListBucket"], "a Deny of a read the role is not granted takes nothing away");
    }

    #[test]
    fn conditions_the_role_may_not_meet_make_it_conditional_and_say_why() {
        let off_site = json!({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::flow-a/*",
            "Condition": {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}});
        let readability = can_read_with(&role(), &bucket("flow-a"), "aws", &grants(&[off_site]));
        let Readability::Conditional { denied_by, .. } = &readability else { panic!("{readability:?}") };
        assert_eq!(denied_by[0].depends_on, ["condition aws:SourceIp"]);
        // Conditions the role's session certainly meets or fails are judged.
        let services_only = json!({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:PrincipalIsAWSService": "true"}}});
        let tls =
            json!({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}});
        assert_eq!(kind(&can_read_with(&role(), &bucket("flow-a"), "aws", &grants(&[services_only, tls]))), "allowed");
        let other_role = json!({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*", "Condition": {"ArnNotEquals": {"aws:PrincipalArn": ROLE_ARN}}});
        assert_eq!(kind(&can_read_with(&role(), &bucket("flow-a"), "aws", &grants(&[other_role]))), "allowed");
    }

    #[test]
    fn a_bucket_policy_allow_to_the_role_grants_and_the_report_names_its_buckets() {
        let allow = json!({"Sid": "VendorReads", "Effect": "Allow", "Principal": {"AWS": ROLE_ARN}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::flow-a/*"});
        assert_eq!(kind(&can_read_with(&[], &bucket("flow-a"), "aws", &grants(std::slice::from_ref(&allow)))), "allowed");
        // The account principal delegates to the role's own policies: no grant by itself.
        let account = json!({"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::flow-a/*"});
        assert_eq!(kind(&can_read_with(&[], &bucket("flow-a"), "aws", &grants(&[account]))), "not-granted");
        let report = evaluate_with(&[], "aws", &[(bucket("flow-a"), grants(&[allow]))].into_iter().collect());
        assert_eq!(report.buckets.len(), 1);
        assert_eq!(kind(&report.buckets[0].readability), "allowed");
        let broken = bucket_policy_grants(Some("{"), &bucket("flow-a"), "aws", ACCOUNT, ROLE_ARN);
        assert!(broken.problem.as_deref().is_some_and(|p| p.starts_with("bucket policy of flow-a:")), "{broken:?}");
    }

    mod properties {
        //! The role's access against generated bucket policies: a Deny that cannot touch the
        //! role never changes what it can read or write; one that names it (or everyone) and
        //! s3:GetObject always leaves the object read denied, conditional, or not granted.

        use super::*;
        use proptest::collection::vec;
        use proptest::prelude::*;

        fn principal() -> impl Strategy<Value = Value> {
            prop::sample::select(vec![
                json!("*"),
                json!({"AWS": ROLE_ARN}),
                json!({"AWS": ACCOUNT}),
                json!({"AWS": "arn:aws:iam::999999999999:root"}),
            ])
        }

        fn any_statement() -> impl Strategy<Value = Value> {
            (
                prop::sample::select(vec!["Allow", "Deny"]),
                principal(),
                prop::sample::select(vec!["s3:*", "s3:GetObject", "s3:List*", "s3:PutObject", "s3:DeleteObject*"]),
                prop::sample::select(vec!["*", "arn:aws:s3:::flow-a/*", "arn:aws:s3:::flow-a", "arn:aws:s3:::flow-a/logs/*"]),
                prop::option::of(prop::sample::select(vec![
                    json!({"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}),
                    json!({"Bool": {"aws:SecureTransport": "false"}}),
                    json!({"StringNotEquals": {"aws:PrincipalAccount": ACCOUNT}}),
                ])),
            )
                .prop_map(|(effect, principal, action, resource, condition)| {
                    let mut s = json!({"Effect": effect, "Principal": principal, "Action": action, "Resource": resource});
                    if let Some(c) = condition {
                        s["Condition"] = c;
                    }
                    s
                })
        }

        fn unrelated_deny() -> impl Strategy<Value = Value> {
            prop_oneof![
                prop::sample::select(vec![
                    json!({"AWS": "arn:aws:iam::999999999999:root"}),
                    json!({"Service": "delivery.logs.amazonaws.com"}),
                    json!({"AWS": "arn:aws:iam::123456789012:role/Other"})
                ])
                .prop_map(|p| json!({"Effect": "Deny", "Principal": p, "Action": "s3:*", "Resource": "*"})),
                prop::sample::select(vec!["ec2:*", "s3:GetBucketPolicy", "s3:PutBucketTagging", "s3:GetObjectAcl"])
                    .prop_map(|a| json!({"Effect": "Deny", "Principal": "*", "Action": a, "Resource": "*"})),
                prop::sample::select(vec!["arn:aws:s3:::other/*", "arn:aws:s3:::other"])
                    .prop_map(|r| json!({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": r})),
                prop::sample::select(vec![
                    json!({"Bool": {"aws:PrincipalIsAWSService": "true"}}),
                    json!({"StringEquals": {"aws:SourceAccount": ACCOUNT}}),
                    json!({"StringEquals": {"aws:PrincipalAccount": "999999999999"}}),
                    json!({"Bool": {"aws:SecureTransport": "false"}}),
                ])
                .prop_map(|c| json!({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*", "Condition": c})),
            ]
        }

        fn matching_deny() -> impl Strategy<Value = Value> {
            (
                prop::sample::select(vec![
                    json!("*"),
                    json!({"AWS": ROLE_ARN}),
                    json!({"AWS": ACCOUNT}),
                    json!({"AWS": "arn:aws:iam::123456789012:root"}),
                ]),
                prop::sample::select(vec!["s3:GetObject", "s3:Get*", "s3:*", "*"]),
                prop::sample::select(vec!["*", "arn:aws:s3:::flow-a/*", "arn:aws:s3:::flow-*/*", "arn:aws:s3:::flow-a/logs/*"]),
                prop::option::of(prop::sample::select(vec![
                    json!({"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}),
                    json!({"StringNotEquals": {"aws:PrincipalOrgID": "o-abc"}}),
                    json!({"StringEquals": {"aws:PrincipalArn": ROLE_ARN}}),
                ])),
            )
                .prop_map(|(principal, action, resource, condition)| {
                    let mut s = json!({"Effect": "Deny", "Principal": principal, "Action": action, "Resource": resource});
                    if let Some(c) = condition {
                        s["Condition"] = c;
                    }
                    s
                })
        }

        /// The role's own policies: flowgate's grant, a wildcard, or nothing.
        fn identity() -> impl Strategy<Value = Vec<crate::role_policy::NamedPolicy>> {
            prop::sample::select(vec![0usize, 1, 2]).prop_map(|which| match which {
                0 => role(),
                1 => vec![inline("Wide", json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))],
                _ => Vec::new(),
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

            #[test]
            fn an_unrelated_deny_never_changes_the_access(policies in identity(), statements in vec(any_statement(), 0..5), extra in unrelated_deny()) {
                let before = bucket_access_with(&policies, &bucket("flow-a"), "aws", &grants(&statements));
                let mut with = statements.clone();
                with.push(extra);
                let after = bucket_access_with(&policies, &bucket("flow-a"), "aws", &grants(&with));
                prop_assert_eq!(after, before);
            }

            #[test]
            fn a_matching_deny_never_leaves_the_object_read_allowed(policies in identity(), statements in vec(any_statement(), 0..5), extra in matching_deny()) {
                let mut with = statements.clone();
                with.push(extra);
                let readability = can_read_with(&policies, &bucket("flow-a"), "aws", &grants(&with));
                prop_assert!(!matches!(readability, Readability::Allowed { .. }), "{:?}", readability);
            }
        }
    }
}
