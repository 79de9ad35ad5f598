//! `org status` / `org verify` judgements of a member's StackSet instance.

use super::report::Check;

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
}
