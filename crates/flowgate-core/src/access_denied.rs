//! What an AWS "access denied" message says about who denied it. AWS writes the policy type into
//! the message: "User: ARN is not authorized to perform: ACTION on resource: RESOURCE with an
//! explicit deny in a service control policy", or "... because no identity-based policy allows the
//! ACTION action" (IAM User Guide, "Troubleshoot access denied error messages"). Older and
//! cross-account answers say only "You are not authorized to perform this operation.": then the
//! kind is unknown.
//!
//! flowgate uses it to tell a region that an organization's policy closes (Control Tower's region
//! deny: an explicit deny in a service control policy, on every call in the region) from a
//! permission missing from the caller's own policy, which is a fault to report.

use serde::Serialize;

/// The policy type an access-denied message names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyType {
    ServiceControl,
    ResourceControl,
    PermissionsBoundary,
    IdentityBased,
    ResourceBased,
    Session,
    VpcEndpoint,
}

impl PolicyType {
    /// The words AWS uses for each, as they appear in its messages.
    const NAMES: &'static [(&'static str, PolicyType)] = &[
        ("service control policy", PolicyType::ServiceControl),
        ("resource control policy", PolicyType::ResourceControl),
        ("permissions boundary", PolicyType::PermissionsBoundary),
        ("identity-based policy", PolicyType::IdentityBased),
        ("resource-based policy", PolicyType::ResourceBased),
        ("session policy", PolicyType::Session),
        ("vpc endpoint policy", PolicyType::VpcEndpoint),
    ];

    pub fn label(self) -> &'static str {
        Self::NAMES.iter().find(|(_, t)| *t == self).map(|(name, _)| *name).unwrap_or("policy")
    }

    /// Policies set above the account (by the organization), which no one in the account can
    /// change.
    pub fn is_organizational(self) -> bool {
        matches!(self, PolicyType::ServiceControl | PolicyType::ResourceControl)
    }
}

/// Who denied a request, from its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "denial", rename_all = "kebab-case")]
pub enum Denial {
    /// A Deny statement in a policy of this type matched.
    Explicit { policy: Option<PolicyType> },
    /// No policy of this type allows it.
    Implicit { policy: Option<PolicyType> },
    /// The message does not say.
    Unknown,
}

impl Denial {
    pub fn of_message(message: &str) -> Denial {
        let lower = message.to_ascii_lowercase();
        let policy =
            || PolicyType::NAMES.iter().filter_map(|(name, t)| lower.find(name).map(|at| (at, *t))).min_by_key(|(at, _)| *at).map(|(_, t)| t);
        if lower.contains("with an explicit deny") {
            Denial::Explicit { policy: policy() }
        } else if lower.contains("because no ") && lower.contains(" allows ") {
            Denial::Implicit { policy: policy() }
        } else {
            Denial::Unknown
        }
    }

    pub fn is_explicit(self) -> bool {
        matches!(self, Denial::Explicit { .. })
    }

    /// "an explicit deny in a service control policy", as a reason in a report.
    pub fn describe(self) -> String {
        match self {
            Denial::Explicit { policy: Some(p) } => format!("an explicit deny in a {}", p.label()),
            Denial::Explicit { policy: None } => "an explicit deny".to_owned(),
            Denial::Implicit { policy: Some(p) } => format!("no {} allows it", p.label()),
            Denial::Implicit { policy: None } => "no policy allows it".to_owned(),
            Denial::Unknown => "access denied".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_type_is_read_from_awss_words() {
        let scp = "You are not authorized to perform this operation. User: arn:aws:sts::111122223333:assumed-role/ops/s is not authorized \
                   to perform: ec2:DescribeVpcs with an explicit deny in a service control policy";
        assert_eq!(Denial::of_message(scp), Denial::Explicit { policy: Some(PolicyType::ServiceControl) });
        assert!(Denial::of_message(scp).is_explicit());
        assert_eq!(Denial::of_message(scp).describe(), "an explicit deny in a service control policy");

        let boundary = "User: arn:aws:iam::1:user/x is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::b/k \
                        with an explicit deny in a permissions boundary";
        assert_eq!(Denial::of_message(boundary), Denial::Explicit { policy: Some(PolicyType::PermissionsBoundary) });

        let implicit = "User: arn:aws:iam::1:user/x is not authorized to perform: ec2:DescribeVpcs because no identity-based policy \
                        allows the ec2:DescribeVpcs action";
        assert_eq!(Denial::of_message(implicit), Denial::Implicit { policy: Some(PolicyType::IdentityBased) });
        assert!(!Denial::of_message(implicit).is_explicit());

        assert_eq!(Denial::of_message("You are not authorized to perform this operation."), Denial::Unknown);
        assert_eq!(Denial::of_message("User: x is not authorized to perform: y with an explicit deny"), Denial::Explicit { policy: None });
        assert!(PolicyType::ServiceControl.is_organizational() && !PolicyType::IdentityBased.is_organizational());
    }
}
