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
