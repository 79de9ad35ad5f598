//! The operator policies (`policies/operator/`) held against the actions the adapters call and
//! the actions CloudFormation's resource handlers call for every resource of the template.

use serde_json::Value;

use crate::core::operator_policy::*;

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
    let elsewhere =
        ["s3:GetObject", "s3:ListBucketVersions", "s3:DeleteObjectVersion", "s3:DeleteBucket", "s3:ListAllMyBuckets", "s3:DeleteBucketPolicy"];
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
            // DescribeNetworkInterfaces is verify's (is there traffic?), not enable's.
            needed.extend(ec2.iter().copied().filter(|a| *a != "ec2:DescribeNetworkInterfaces"));
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
    // Listing a stack's resources is for the plan of a deletion only.
    let delete_only = "cloudformation:ListStackResources";
    for action in crate::aws::cloudformation::ACTIONS.iter().filter(|a| **a != delete_only) {
        assert!(deploy.iter().any(|a| a == action), "stack deploy lacks {action}");
    }
    assert!(!deploy.iter().any(|a| a == delete_only), "stack deploy needs no {delete_only}");
    for action in ["iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "ec2:DescribeFlowLogs"] {
        assert!(deploy.iter().any(|a| a == action), "stack deploy lacks {action}");
    }
    // Stack status reads the stack's role as access list does: its policies, and the policies of
    // the buckets they name.
    assert_eq!(
        allowed_actions(policy("stack status")),
        [
            "sts:GetCallerIdentity",
            "cloudformation:DescribeStacks",
            "iam:GetRole",
            "iam:ListRolePolicies",
            "iam:GetRolePolicy",
            "iam:ListAttachedRolePolicies",
            "iam:GetPolicy",
            "iam:GetPolicyVersion",
            "s3:GetBucketLocation",
            "s3:GetBucketPolicy",
        ]
    );
    let delete = allowed_actions(policy("stack delete"));
    for action in ["cloudformation:DeleteStack", "cloudformation:ListStackResources", "iam:DeleteRole"] {
        assert!(delete.iter().any(|a| a == action), "stack delete lacks {action}");
    }
    let offboard = allowed_actions(policy("offboard"));
    assert!(offboard.iter().any(|a| a == delete_only), "offboard plans the stack's deletion: {delete_only}");
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
    // The policy of each bucket the role's policies name (where it is, then what it says).
    for action in ["s3:GetBucketLocation", "s3:GetBucketPolicy"] {
        assert!(list.iter().any(|a| a == action), "access list lacks {action}");
    }
}

#[test]
fn verify_is_read_only_and_covers_its_reads() {
    let allowed = allowed_actions(policy("verify"));
    // iam:SimulatePrincipalPolicy is a Read action (Service Authorization Reference, IAM): it
    // asks what the role may do and changes nothing.
    let reads = ["Get", "List", "Describe", "Simulate"];
    assert!(allowed.iter().all(|a| reads.iter().any(|r| a.split(':').nth(1).unwrap_or("").starts_with(r))), "{allowed:?}");
    for action in [
        "s3:GetObject",
        "s3:ListBucket",
        "ec2:DescribeFlowLogs",
        "ec2:DescribeNetworkInterfaces",
        "iam:GetRolePolicy",
        "iam:SimulatePrincipalPolicy",
        "cloudformation:DescribeStacks",
    ] {
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
        ("access grant/revoke --via stack", &["stack deploy"][..]),
    ] {
        let allowed = allowed_actions(policy(composed));
        for action in union(steps) {
            assert!(allowed.contains(&action), "{composed} lacks {action}");
        }
    }
    assert!(allowed_actions(policy("wizard")).iter().any(|a| a == "s3:ListAllMyBuckets"));
    // A stack-mode revoke reads every policy of the role afterwards to say what still grants.
    let via_stack = allowed_actions(policy("access grant/revoke --via stack"));
    for action in ["iam:ListRolePolicies", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:GetPolicy", "iam:GetPolicyVersion"] {
        assert!(via_stack.iter().any(|a| a == action), "access --via stack lacks {action}");
    }
    let offboard = allowed_actions(policy("offboard"));
    assert!(offboard.iter().any(|a| a == "s3:DeleteBucket") && offboard.iter().any(|a| a == "s3:DeleteObjectVersion"));
}

#[test]
fn org_policies_cover_their_adapters_and_steps() {
    let union = |commands: &[&str]| -> Vec<String> { commands.iter().flat_map(|c| allowed_actions(policy(c))).collect() };
    let onboard = allowed_actions(policy("org onboard"));
    for action in crate::aws::organizations::ACTIONS.iter().chain(crate::aws::stacksets::ACTIONS) {
        let delete_only = ["cloudformation:DeleteStackInstances", "cloudformation:DeleteStackSet"];
        assert_eq!(onboard.iter().any(|a| a == action), !delete_only.contains(action), "org onboard and {action}");
    }
    // What org onboard runs in the caller's own account.
    for action in union(&["stack deploy", "bucket create", "flowlogs enable"]).iter().chain(&["sts:AssumeRole".to_owned()]) {
        assert!(onboard.contains(action), "org onboard lacks {action}");
    }
    let offboard = allowed_actions(policy("org offboard"));
    for action in union(&["flowlogs disable", "stack delete"])
        .into_iter()
        .chain(["cloudformation:DeleteStackInstances", "cloudformation:DeleteStackSet", "s3:DeleteBucketPolicy", "sts:AssumeRole"].map(str::to_owned))
    {
        assert!(offboard.contains(&action), "org offboard lacks {action}");
    }
    let status = allowed_actions(policy("org status/verify"));
    let reads = ["Get", "List", "Describe", "AssumeRole", "Simulate"];
    assert!(status.iter().all(|a| reads.iter().any(|r| a.split(':').nth(1).unwrap_or("").starts_with(r))), "read-only: {status:?}");
    // org verify reads the vendor role of a central bucket in the caller's account, and asks
    // IAM's policy simulator about it.
    for action in ["iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:GetPolicyVersion", "iam:SimulatePrincipalPolicy"] {
        assert!(status.iter().any(|a| a == action), "org verify lacks {action}");
    }
    // What org status reads in the caller's own account: the management account's stack (its state,
    // not its role: `stack status` also reads the role's policies, org status does not) and flow
    // logs. The calls themselves are held against the policy by the permissions_by_calls test.
    for action in union(&["flowlogs status"]).into_iter().chain(["cloudformation:DescribeStacks".to_owned()]) {
        assert!(status.contains(&action), "org status lacks {action}");
    }
    // StackSets checks a delegated administrator's registration with the caller's credentials
    // (CloudFormation User Guide, "Register a delegated administrator member account"), and each
    // org policy serves both callers.
    for (command, allowed) in [("org onboard", &onboard), ("org status/verify", &status), ("org offboard", &offboard)] {
        assert!(
            allowed.iter().any(|a| a == "organizations:ListDelegatedAdministrators"),
            "{command} lacks organizations:ListDelegatedAdministrators"
        );
    }
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
        crate::aws::cloudtrail::ACTIONS,
    ];
    let org_adapters = [crate::aws::organizations::ACTIONS, crate::aws::stacksets::ACTIONS];
    for action in adapters.iter().chain(&org_adapters).flat_map(|a| a.iter()) {
        assert!(all.iter().any(|a| a == action), "no operator policy grants {action}");
    }
}

/// The resource types `templates/cross-account-role.yaml` declares (`Type: AWS::...` lines).
fn template_resource_types() -> Vec<String> {
    let template = crate::core::stack_plan::TEMPLATE;
    let mut types: Vec<String> = template
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Type: "))
        .filter(|t| t.starts_with("AWS::") && t.matches("::").count() == 2)
        .map(|t| t.trim().to_owned())
        .collect();
    types.sort();
    types.dedup();
    types
}

/// Actions granted on the role the stack manages (`arn:${Partition}:iam::${AccountId}:role/${RoleName}`).
fn actions_on_the_role(document: &str) -> Vec<String> {
    let doc: Value = serde_json::from_str(document).unwrap();
    let role = "arn:${Partition}:iam::${AccountId}:role/${RoleName}";
    let mut actions = Vec::new();
    for statement in doc["Statement"].as_array().unwrap() {
        let on_role = match &statement["Resource"] {
            Value::String(r) => r == role,
            Value::Array(rs) => rs.iter().any(|r| r == role),
            _ => false,
        };
        if on_role && statement["Effect"] == "Allow" && statement.get("Condition").is_none() {
            match &statement["Action"] {
                Value::String(a) => actions.push(a.clone()),
                Value::Array(items) => actions.extend(items.iter().filter_map(Value::as_str).map(str::to_owned)),
                _ => {}
            }
        }
    }
    actions
}

/// CloudFormation calls its resource handlers with the caller's credentials when the stack
/// has no service role (CloudFormation User Guide, "CloudFormation service role": "If you
/// don't specify a service role, CloudFormation uses your credentials"), and the handlers of
/// AWS::IAM::Role and AWS::IAM::Policy call more than CreateRole/DeleteRole: deleting a role
/// lists and removes its inline and managed policies first (resource provider schema,
/// handlers.delete: iam:ListRolePolicies, iam:ListAttachedRolePolicies, iam:DetachRolePolicy,
/// iam:DeleteRolePolicy). Without them `stack delete` and `offboard` end in DELETE_FAILED and
/// a failed create cannot roll back (ROLLBACK_FAILED).
#[test]
fn stack_commands_allow_the_cloudformation_handler_permissions_of_every_template_resource() {
    let handlers: Value = serde_json::from_str(HANDLER_PERMISSIONS).unwrap();
    let not_granted = handlers["NotGranted"].as_object().unwrap();
    let types = template_resource_types();
    assert_eq!(types, ["AWS::IAM::Policy", "AWS::IAM::Role"], "the template's resource types");
    // A stack create rolls back with the delete handlers, an update with the update ones.
    let deploying = ["create", "read", "update", "delete"];
    for (command, operations) in [
        ("stack deploy", &deploying[..]),
        ("access grant/revoke --via stack", &deploying[..]),
        ("onboard", &deploying[..]),
        ("wizard", &deploying[..]),
        ("stack delete", &["delete"][..]),
        ("offboard", &["delete"][..]),
    ] {
        let document = policy(command);
        let granted = actions_on_the_role(document);
        for resource_type in &types {
            let schema = handlers["ResourceTypes"][resource_type].as_object();
            let schema =
                schema.unwrap_or_else(|| panic!("{resource_type}: no handler permissions in policies/cloudformation/handler-permissions.json"));
            for operation in operations {
                for action in schema.get(*operation).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
                    if not_granted.contains_key(action) {
                        continue;
                    }
                    assert!(granted.iter().any(|a| a == action), "{command} lacks {action} ({resource_type} {operation} handler) on the role");
                }
            }
        }
        let all = allowed_actions(document);
        for (action, reason) in not_granted {
            assert!(reason.as_str().is_some_and(|r| !r.is_empty()), "{action}: say why it is not granted");
            assert!(!all.iter().any(|a| a == action), "{command} grants {action}, which the template never needs");
        }
    }
}

#[test]
fn policies_hard_code_no_names_and_use_only_known_placeholders() {
    let known = [
        "${Partition}",
        "${AccountId}",
        "${RoleName}",
        "${StackName}",
        "${FlowLogBucket}",
        "${StackSetName}",
        "${LogArchiveRole}",
        "${LogArchiveAccount}",
    ];
    for (command, document) in OPERATOR_POLICIES {
        for hard_coded in ["arn:aws:", "FlowgateCrossAccountRole", "flowgate-cross-account"] {
            assert!(!document.contains(hard_coded), "{command} hard-codes {hard_coded}");
        }
        let mut rest = *document;
        while let Some(at) = rest.find("${") {
            let end = rest[at..].find('}').map_or(rest.len(), |e| at + e + 1);
            assert!(known.contains(&&rest[at..end]), "{command}: unknown placeholder {}", &rest[at..end]);
            rest = &rest[end..];
        }
    }
}

fn names(partition: &str) -> PolicyNames {
    PolicyNames {
        partition: partition.parse().unwrap(),
        account: None,
        role_name: "VendorRole".into(),
        stack_name: "vendor-stack".into(),
        bucket: Some("acme-flow-logs".parse().unwrap()),
        stack_set_name: "org-roles".into(),
        log_archive_role: "LogArchiveAdmin".into(),
        log_archive_account: Some("210987654321".into()),
    }
}

#[test]
fn every_command_renders_with_the_names_given() {
    for (slug, _) in PERMISSION_COMMANDS {
        let rendered = render(slug, &names("aws-eusc")).unwrap();
        let text = rendered.to_string();
        assert!(!text.contains("${") && !text.contains("arn:aws:"), "{slug}: {text}");
        assert!(!text.contains("arn:") || text.contains("arn:aws-eusc:"), "{slug}: {text}");
        assert_eq!(render(&slug.replace('-', " "), &names("aws-eusc")).unwrap(), rendered, "{slug} typed as words");
    }
    let delete = render("stack-delete", &names("aws")).unwrap().to_string();
    assert!(delete.contains("arn:aws:iam::*:role/VendorRole") && delete.contains("stack/vendor-stack/*"), "{delete}");
    let with_account = PolicyNames { account: Some("123456789012".into()), ..names("aws-cn") };
    assert!(render("verify", &with_account).unwrap().to_string().contains("arn:aws-cn:iam::123456789012:role/VendorRole"));
    assert!(render("verify", &with_account).unwrap().to_string().contains("arn:aws-cn:s3:::acme-flow-logs/*"));
}

#[test]
fn rendering_refuses_unknown_commands_and_a_missing_bucket() {
    assert_eq!(render("deploy", &names("aws")), Err(RenderError::UnknownCommand("deploy".into())));
    assert_eq!(render("parse", &names("aws")), Err(RenderError::UnknownCommand("parse".into())));
    let no_bucket = PolicyNames { bucket: None, ..names("aws") };
    assert_eq!(render("bucket-create", &no_bucket), Err(RenderError::NeedsBucket("bucket-create".into())));
    assert!(render("stack-deploy", &no_bucket).is_ok(), "stack deploy names no bucket");
}

#[test]
fn bucket_check_policy_is_read_only() {
    let allowed = allowed_actions(policy("bucket check"));
    assert!(allowed.iter().all(|a| a.contains(":Get") || a.contains(":List")), "{allowed:?}");
}

/// The org commands may assume the log-archive role (by default OrganizationAccountAccessRole,
/// an administrator) only in the log-archive account, and not at all when the central bucket is
/// the caller's.
#[test]
fn org_policies_assume_the_log_archive_role_only_in_that_account() {
    for command in ["org-onboard", "org-status", "org-offboard"] {
        let scoped = render(command, &names("aws")).unwrap().to_string();
        assert!(scoped.contains("arn:aws:iam::210987654321:role/LogArchiveAdmin"), "{command}: {scoped}");
        assert!(!scoped.contains("iam::*:role/LogArchiveAdmin"), "{command}: {scoped}");
        let own = render(command, &PolicyNames { log_archive_account: None, ..names("aws") }).unwrap().to_string();
        assert!(!own.contains("LogArchiveAdmin"), "{command}: {own}");
        assert!(own.contains("role/FlowgateOrgOperatorRole"), "{command}: {own}");
    }
}

/// The watcher's policies: the CloudTrail reads of the prerequisite and the stack calls of its
/// deploy, and what CloudFormation does with the caller's credentials for the template's
/// resource types (its roles, Automation document, EventBridge rules); status only reads.
#[test]
fn watch_policies_cover_the_watcher() {
    let enable = allowed_actions(policy("watch enable"));
    let stack_calls =
        ["cloudformation:DescribeStacks", "cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet", "cloudformation:UpdateStack"];
    let handlers = ["iam:CreateRole", "iam:PutRolePolicy", "iam:PassRole", "ssm:CreateDocument", "events:PutRule", "events:PutTargets"];
    for action in crate::aws::cloudtrail::ACTIONS.iter().chain(&stack_calls).chain(&handlers) {
        assert!(enable.iter().any(|a| a == action), "watch enable lacks {action}");
    }
    let status = allowed_actions(policy("watch status"));
    assert!(status.iter().all(|a| a.contains(":Describe") || a.contains(":Get")), "status is read-only: {status:?}");
    let disable = allowed_actions(policy("watch disable"));
    for action in ["cloudformation:DeleteStack", "iam:DeleteRole", "ssm:DeleteDocument", "events:DeleteRule", "events:RemoveTargets"] {
        assert!(disable.iter().any(|a| a == action), "watch disable lacks {action}");
    }
}
