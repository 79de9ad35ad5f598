//! The least-privilege IAM policies an operator needs to run each command (`policies/operator/`),
//! embedded so that tests can hold them against the actions the adapters call.

use serde_json::Value;

use super::policy_doc;

/// (command, policy document) for every command that calls AWS.
pub const OPERATOR_POLICIES: &[(&str, &str)] = &[
    ("bucket create", include_str!("../../policies/operator/bucket-create.json")),
    ("bucket check", include_str!("../../policies/operator/bucket-check.json")),
    ("flowlogs enable", include_str!("../../policies/operator/flowlogs-enable.json")),
    ("flowlogs status", include_str!("../../policies/operator/flowlogs-status.json")),
    ("flowlogs disable", include_str!("../../policies/operator/flowlogs-disable.json")),
    ("stack deploy", include_str!("../../policies/operator/stack-deploy.json")),
    ("stack status", include_str!("../../policies/operator/stack-status.json")),
    ("stack delete", include_str!("../../policies/operator/stack-delete.json")),
    // `access grant|revoke --via stack` needs the `stack deploy` policy.
    ("access grant/revoke --via role", include_str!("../../policies/operator/access-role.json")),
    ("access list", include_str!("../../policies/operator/access-list.json")),
    ("verify", include_str!("../../policies/operator/verify.json")),
    ("onboard", include_str!("../../policies/operator/onboard.json")),
    ("wizard", include_str!("../../policies/operator/wizard.json")),
    ("offboard", include_str!("../../policies/operator/offboard.json")),
];

/// Every action an operator policy allows.
pub fn allowed_actions(document: &str) -> Vec<String> {
    let Ok(doc) = policy_doc::parse_document(document) else { return Vec::new() };
    let statements = policy_doc::statements(&doc).unwrap_or_default();
    let mut actions = Vec::new();
    for statement in statements.iter().filter(|s| s["Effect"] == "Allow") {
        match &statement["Action"] {
            Value::String(a) => actions.push(a.clone()),
            Value::Array(items) => actions.extend(items.iter().filter_map(Value::as_str).map(str::to_owned)),
            _ => {}
        }
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(command: &str) -> &'static str {
        OPERATOR_POLICIES.iter().find(|(c, _)| *c == command).map(|(_, p)| *p).unwrap()
    }

    #[test]
    fn every_operator_policy_parses_and_has_no_wildcard_action() {
        for (command, document) in OPERATOR_POLICIES {
            let actions = allowed_actions(document);
            assert!(!actions.is_empty(), "{command}");
            assert!(actions.iter().all(|a| !a.contains('*')), "{command}: {actions:?}");
        }
    }

    #[test]
    fn bucket_create_policy_covers_every_action_the_adapters_call() {
        let allowed = allowed_actions(policy("bucket create"));
        // The S3 adapter also reads objects (verify), deletes buckets (offboard) and lists
        // buckets (wizard): those are in those commands' policies, not in bucket create's.
        let elsewhere = ["s3:GetObject", "s3:ListBucketVersions", "s3:DeleteObjectVersion", "s3:DeleteBucket", "s3:ListAllMyBuckets"];
        for action in crate::aws::s3::ACTIONS.iter().filter(|a| !elsewhere.contains(a)).chain(crate::aws::sts::ACTIONS) {
            assert!(allowed.iter().any(|a| a == action), "bucket create lacks {action}");
        }
        for action in elsewhere {
            assert!(!allowed.iter().any(|a| a == action), "bucket create needs no {action}");
        }
        // A policy granting an earlier --prefix: whether the account's flow logs still deliver
        // there is read in every region (onboard and wizard run bucket create: covered below).
        for action in ["ec2:DescribeRegions", "ec2:DescribeFlowLogs"] {
            assert!(allowed.iter().any(|a| a == action), "bucket create lacks {action}");
        }
    }

    /// The actions each flow-log command calls, from the adapters' lists.
    fn needs(command: &str) -> Vec<&'static str> {
        let ec2 = crate::aws::ec2::ACTIONS;
        let reads = ["sts:GetCallerIdentity", "ec2:DescribeRegions", "ec2:DescribeVpcs", "ec2:DescribeFlowLogs"];
        let mut needed: Vec<&'static str> = reads.to_vec();
        match command {
            "flowlogs enable" => {
                needed.extend(ec2.iter().copied());
                needed.extend(["s3:ListBucket", "s3:GetBucketLocation"]);
            }
            "flowlogs disable" => needed.extend(["ec2:DeleteFlowLogs", "logs:DeleteLogDelivery"]),
            _ => {}
        }
        needed
    }

    #[test]
    fn flow_log_policies_cover_every_action_their_command_calls() {
        for command in ["flowlogs enable", "flowlogs status", "flowlogs disable"] {
            let allowed = allowed_actions(policy(command));
            for action in needs(command) {
                assert!(allowed.iter().any(|a| a == action), "{command} lacks {action}");
            }
        }
        let status = allowed_actions(policy("flowlogs status"));
        assert!(status.iter().all(|a| a.contains(":Describe") || a.contains(":Get")), "status is read-only: {status:?}");
    }

    #[test]
    fn stack_policies_cover_the_cloudformation_adapter() {
        let deploy = allowed_actions(policy("stack deploy"));
        for action in crate::aws::cloudformation::ACTIONS {
            assert!(deploy.iter().any(|a| a == action), "stack deploy lacks {action}");
        }
        for action in ["iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "ec2:DescribeFlowLogs"] {
            assert!(deploy.iter().any(|a| a == action), "stack deploy lacks {action}");
        }
        assert_eq!(allowed_actions(policy("stack status")), ["sts:GetCallerIdentity", "cloudformation:DescribeStacks"]);
        let delete = allowed_actions(policy("stack delete"));
        assert!(delete.iter().any(|a| a == "cloudformation:DeleteStack") && delete.iter().any(|a| a == "iam:DeleteRole"));
    }

    #[test]
    fn access_policies_cover_the_iam_adapter() {
        let edit = allowed_actions(policy("access grant/revoke --via role"));
        let list = allowed_actions(policy("access list"));
        for action in crate::aws::iam::ACTIONS {
            let covered = edit.iter().chain(list.iter()).any(|a| a == action);
            assert!(covered, "no access policy grants {action}");
        }
        assert!(list.iter().all(|a| !a.contains(":Put") && !a.contains(":Delete")), "list is read-only: {list:?}");
    }

    #[test]
    fn verify_is_read_only_and_covers_its_reads() {
        let allowed = allowed_actions(policy("verify"));
        let reads = ["Get", "List", "Describe"];
        assert!(allowed.iter().all(|a| reads.iter().any(|r| a.split(':').nth(1).unwrap_or("").starts_with(r))), "{allowed:?}");
        for action in ["s3:GetObject", "s3:ListBucket", "ec2:DescribeFlowLogs", "iam:GetRolePolicy", "cloudformation:DescribeStacks"] {
            assert!(allowed.iter().any(|a| a == action), "verify lacks {action}");
        }
    }

    #[test]
    fn composed_commands_cover_their_steps() {
        let union = |commands: &[&str]| -> Vec<String> { commands.iter().flat_map(|c| allowed_actions(policy(c))).collect() };
        for (composed, steps) in [
            ("onboard", &["bucket create", "flowlogs enable", "stack deploy", "verify"][..]),
            ("wizard", &["bucket create", "flowlogs enable", "stack deploy", "verify"][..]),
            ("offboard", &["flowlogs disable", "stack delete"][..]),
        ] {
            let allowed = allowed_actions(policy(composed));
            for action in union(steps) {
                assert!(allowed.contains(&action), "{composed} lacks {action}");
            }
        }
        assert!(allowed_actions(policy("wizard")).iter().any(|a| a == "s3:ListAllMyBuckets"));
        let offboard = allowed_actions(policy("offboard"));
        assert!(offboard.iter().any(|a| a == "s3:DeleteBucket") && offboard.iter().any(|a| a == "s3:DeleteObjectVersion"));
    }

    #[test]
    fn every_adapter_action_is_in_some_operator_policy() {
        let all: Vec<String> = OPERATOR_POLICIES.iter().flat_map(|(_, p)| allowed_actions(p)).collect();
        let adapters = [
            crate::aws::s3::ACTIONS,
            crate::aws::ec2::ACTIONS,
            crate::aws::iam::ACTIONS,
            crate::aws::cloudformation::ACTIONS,
            crate::aws::sts::ACTIONS,
        ];
        for action in adapters.iter().flat_map(|a| a.iter()) {
            assert!(all.iter().any(|a| a == action), "no operator policy grants {action}");
        }
    }

    #[test]
    fn bucket_check_policy_is_read_only() {
        let allowed = allowed_actions(policy("bucket check"));
        assert!(allowed.iter().all(|a| a.contains(":Get") || a.contains(":List")), "{allowed:?}");
    }
}
