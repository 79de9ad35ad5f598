//! flowgate's error type and the exit codes automation scripts against.

use std::fmt;

pub use crate::core::report::ExitStatus;

/// What kind of AWS failure, so that the hint can say what to do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsErrorKind {
    AccessDenied,
    Credentials,
    Throttled,
    Unreachable,
    Timeout,
    RegionDisabled,
    Other,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Invalid input or usage: exit 2, before any change was made.
    #[error("{message}")]
    Input { message: String, hint: Option<String> },
    /// An AWS call failed (after the SDK's retries).
    #[error("{context}: {message}")]
    Aws { context: String, kind: AwsErrorKind, code: Option<String>, message: String, hint: Option<String> },
    /// The account is in a state flowgate will not change without being asked (exit 1).
    #[error("{message}")]
    Refused { message: String, hint: Option<String> },
    #[error("interrupted")]
    Interrupted,
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn input(message: impl Into<String>, hint: impl Into<Option<String>>) -> Self {
        Error::Input { message: message.into(), hint: hint.into() }
    }

    pub fn refused(message: impl Into<String>, hint: impl Into<Option<String>>) -> Self {
        Error::Refused { message: message.into(), hint: hint.into() }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io { context: context.into(), source }
    }

    pub fn hint(&self) -> Option<&str> {
        match self {
            Error::Input { hint, .. } | Error::Aws { hint, .. } | Error::Refused { hint, .. } => hint.as_deref(),
            // A stop at a question (the wizard's, a plan's confirmation) comes before any change.
            Error::Interrupted if crate::interrupt::prompting() => Some("stopped at a question: nothing was changed"),
            Error::Interrupted => Some("nothing more was applied; re-run the same command to converge"),
            Error::Io { .. } => None,
        }
    }

    pub fn exit_status(&self) -> ExitStatus {
        match self {
            Error::Input { .. } => ExitStatus::Usage,
            Error::Interrupted => ExitStatus::Interrupted,
            Error::Aws { .. } | Error::Refused { .. } | Error::Io { .. } => ExitStatus::Failure,
        }
    }

    /// Adds the step the error happened in, for errors raised deep inside a command.
    pub fn context(self, step: impl fmt::Display) -> Self {
        match self {
            Error::Aws { context, kind, code, message, hint } => Error::Aws { context: format!("{step}: {context}"), kind, code, message, hint },
            other => other,
        }
    }
}

/// What to do about an AWS error code flowgate's changes meet, whole calls and per-item failures
/// (CreateFlowLogs' `Unsuccessful`) alike; `None` for a code without a known remedy (the caller
/// then gives the general one, [`general_hint`]).
pub fn code_hint(code: &str) -> Option<&'static str> {
    Some(match code {
        // S3 PutBucketTagging and EC2 tag specifications: a tag AWS does not accept, or more than
        // the 50 a resource may hold (tag restrictions, e.g. "Tag restrictions" in the AWS
        // Tagging guide; S3 bucket tags: 50 per bucket).
        "InvalidTag" | "InvalidTagKey.Malformed" => {
            "AWS refused a tag: a resource holds at most 50 tags (keys 1-128, values 0-256 characters, no 'aws:' prefix); fix or drop the --tag, or remove tags the resource no longer needs, then re-run"
        }
        "TagLimitExceeded" => "the resource would hold more than 50 tags: remove tags it no longer needs, or pass fewer --tag, then re-run",
        "FlowLogAlreadyExists" => {
            "a flow log of the same resource to the same destination exists already: flowgate flowlogs status shows it; re-run to converge"
        }
        "FlowLogsLimitExceeded" => {
            "the resource has as many flow logs as AWS allows: delete one it no longer needs (flowgate flowlogs status lists them), then re-run"
        }
        "InvalidVpcID.NotFound" | "InvalidFlowLogId.NotFound" => "the resource was deleted meanwhile: re-run, which plans from what exists now",
        "InvalidParameter" | "InvalidParameterValue" | "InvalidParameterCombination" => {
            "AWS refused a value flowgate sent (its message names it): check the flag that sets it (--format, --prefix, --tag), then re-run"
        }
        "NoSuchBucket" => "the bucket was deleted meanwhile: create it again (flowgate bucket create --bucket NAME), then re-run",
        "OperationAborted" | "ConcurrentModification" => "another change to the same resource was in progress: re-run, which converges",
        "LimitExceeded" => "an IAM quota was reached (its message says which): reduce what the role holds (fewer buckets per role), then re-run",
        "MalformedPolicy" | "MalformedPolicyDocument" => {
            "AWS refused the policy document flowgate wrote (its message says why): check the bucket names and --prefix, then re-run"
        }
        "Unknown" => "AWS gave no reason for this item: re-run (it converges); if it fails again, try it alone (--vpcs) and look at CloudTrail",
        _ => return None,
    })
}

/// The remedy of last resort for a failed change whose error names none: a failure that carries
/// no hint leaves the operator with nothing to do.
pub fn general_hint(code: Option<&str>) -> String {
    match code.filter(|c| !c.is_empty()) {
        Some(code) => {
            format!("AWS refused it with {code}: fix what its message names, then re-run (it converges from where it stopped)")
        }
        None => "fix what the message names, then re-run (it converges from where it stopped)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code a failed change of flowgate's can carry gets a remedy that says what to do.
    #[test]
    fn the_codes_of_failed_changes_have_hints() {
        for code in ["InvalidTag", "TagLimitExceeded", "FlowLogAlreadyExists", "InvalidParameterValue", "NoSuchBucket", "LimitExceeded", "Unknown"] {
            let hint = code_hint(code).unwrap_or_else(|| panic!("{code} has no hint"));
            assert!(hint.contains("re-run") || hint.contains("then"), "{code}: {hint}");
        }
        assert!(code_hint("InvalidTag").unwrap().contains("50 tags"));
        assert_eq!(code_hint("SomethingNew"), None);
        assert!(general_hint(Some("SomethingNew")).contains("SomethingNew"));
        assert!(general_hint(None).contains("re-run"));
    }
}
