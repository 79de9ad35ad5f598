//! `org status` / `org verify` judgements of a member's StackSet instance, and of the vendor
//! role's reads of the central bucket.

use super::report::Check;
use super::role_policy::Readability;

/// A stack instance as StackSets reports it (ListStackInstances).
#[derive(Debug, Clone, Copy)]
pub struct InstanceState<'a> {
    /// CURRENT, OUTDATED or INOPERABLE.
    pub status: &'a str,
    /// SUCCEEDED, RUNNING, PENDING, FAILED, CANCELLED, INOPERABLE, SKIPPED_SUSPENDED_ACCOUNT...
    pub detailed_status: Option<&'a str>,
    pub status_reason: Option<&'a str>,
}

/// Whether the member's roles are deployed as the StackSet says: CURRENT is a pass, an
/// operation still deploying it a warning, anything else (none, OUTDATED after a failed
/// operation, INOPERABLE, a skipped suspended account) a failure with what to do.
pub fn instance_check(instance: Option<InstanceState<'_>>) -> Check {
    let Some(i) = instance else {
        return Check::fail("stack-instance", "no stack instance: the roles are not deployed", "re-run flowgate org onboard");
    };
    let reason = i.status_reason.map(|r| format!(": {r}")).unwrap_or_default();
    let detail = format!("{} ({}){reason}", i.status, i.detailed_status.unwrap_or("-"));
    match (i.status, i.detailed_status) {
        ("CURRENT", None | Some("SUCCEEDED")) => Check::pass("stack-instance", detail),
        (_, Some("RUNNING" | "PENDING")) => Check::warn("stack-instance", detail, "an operation is deploying it: wait, then check again"),
        ("OUTDATED", _) => Check::fail("stack-instance", detail, "re-run flowgate org onboard to update it"),
        _ => Check::fail("stack-instance", detail, "see the StackSet's operations in the CloudFormation console, fix, and re-run"),
    }
}

/// `org verify`: what the vendor role in the central bucket's account (the one role
/// `org onboard --storage-access` lets read it) may read of the bucket, by flowgate's evaluator
/// (the role's policies and the bucket's). Storage access is optional: a role the bucket is not
/// granted to passes, and says how to grant it; a Deny or a condition is a warning.
pub fn storage_access_check(role: &str, account: &str, readability: &Readability) -> Check {
    const NAME: &str = "vendor-storage-access";
    let who = format!("the vendor role {role} in account {account}");
    let first = |grants: &[super::role_policy::Grant]| grants.first().map(|g| g.statement.to_string()).unwrap_or_default();
    match readability {
        Readability::Allowed { by } => Check::pass(NAME, format!("{who} can s3:GetObject the central bucket's objects ({})", first(by))),
        Readability::NotGranted => {
            Check::pass(NAME, format!("{who} does not read the central bucket (flowgate org onboard --storage-access grants it)"))
        }
        Readability::Denied { by } => Check::warn(
            NAME,
            format!("{who} is granted the central bucket but denied s3:GetObject ({})", first(by)),
            "remove the Deny, or flowgate access list in that account to see it",
        ),
        Readability::Conditional { allowed_by, .. } => Check::warn(
            NAME,
            format!("{who} reads the central bucket only under conditions ({})", first(allowed_by)),
            "check the conditions (flowgate access list in that account)",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::CheckStatus;

    fn judge(status: &str, detailed: Option<&str>) -> CheckStatus {
        instance_check(Some(InstanceState { status, detailed_status: detailed, status_reason: None })).status
    }

    #[test]
    fn current_passes_running_warns_and_the_rest_fails() {
        assert_eq!(instance_check(None).status, CheckStatus::Fail);
        assert_eq!(judge("CURRENT", Some("SUCCEEDED")), CheckStatus::Pass);
        assert_eq!(judge("CURRENT", None), CheckStatus::Pass);
        assert_eq!(judge("OUTDATED", Some("RUNNING")), CheckStatus::Warn);
        assert_eq!(judge("OUTDATED", Some("PENDING")), CheckStatus::Warn);
        assert_eq!(judge("OUTDATED", Some("FAILED")), CheckStatus::Fail);
        assert_eq!(judge("OUTDATED", Some("CANCELLED")), CheckStatus::Fail);
        assert_eq!(judge("INOPERABLE", Some("INOPERABLE")), CheckStatus::Fail);
        assert_eq!(judge("OUTDATED", Some("SKIPPED_SUSPENDED_ACCOUNT")), CheckStatus::Fail);
        let reasoned =
            instance_check(Some(InstanceState { status: "OUTDATED", detailed_status: Some("FAILED"), status_reason: Some("Role exists") }));
        assert!(reasoned.detail.contains("Role exists"), "{}", reasoned.detail);
    }

    #[test]
    fn storage_access_is_optional_but_a_deny_is_said() {
        use crate::report::CheckStatus;
        use crate::role_policy::{NamedPolicy, PolicySource, can_read};
        let bucket: crate::names::BucketName = "central".parse().unwrap();
        let policy = |statements: serde_json::Value| {
            vec![NamedPolicy::parse("p", PolicySource::Inline, &serde_json::json!({"Statement": statements}).to_string()).unwrap()]
        };
        let granted = policy(serde_json::json!([{"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::central/*"}]));
        let check = storage_access_check("R", "222233334444", &can_read(&granted, &bucket, "aws"));
        assert_eq!(check.status, CheckStatus::Pass);
        assert!(check.detail.contains("can s3:GetObject") && check.detail.contains("Sid \"Read\""), "{}", check.detail);
        let none = storage_access_check("R", "222233334444", &can_read(&[], &bucket, "aws"));
        assert_eq!(none.status, CheckStatus::Pass);
        assert!(none.detail.contains("--storage-access"));
        let denied = policy(serde_json::json!([
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}
        ]));
        assert_eq!(storage_access_check("R", "222233334444", &can_read(&denied, &bucket, "aws")).status, CheckStatus::Warn);
    }
}
