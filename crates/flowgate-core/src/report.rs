//! The vocabulary every report shares: changes (for mutating commands) and checks (for auditing
//! commands), with the exit status they imply.

use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeStatus {
    /// Would be applied (a plan, or `--dry-run`).
    Planned,
    Applied,
    /// Already right: nothing to do.
    Skipped,
    Failed,
    /// Planned, but not attempted because an earlier step failed or the run was interrupted.
    NotAttempted,
    /// Needs a change flowgate will not make without being asked (e.g. `--replace`).
    Blocked,
}

impl fmt::Display for ChangeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChangeStatus::Planned => "planned",
            ChangeStatus::Applied => "applied",
            ChangeStatus::Skipped => "ok",
            ChangeStatus::Failed => "FAILED",
            ChangeStatus::NotAttempted => "not attempted",
            ChangeStatus::Blocked => "BLOCKED",
        })
    }
}

/// One line of a plan or of an apply: what, on which resource, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub action: String,
    pub resource: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub status: ChangeStatus,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Change {
    pub fn new(action: impl Into<String>, resource: impl Into<String>, status: ChangeStatus, detail: impl Into<String>) -> Self {
        Change { action: action.into(), resource: resource.into(), region: None, status, detail: detail.into(), error: None }
    }

    pub fn in_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }
}

/// Counts of a change list, for summaries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ChangeTally {
    pub planned: usize,
    pub applied: usize,
    pub unchanged: usize,
    pub failed: usize,
    pub not_attempted: usize,
    pub blocked: usize,
    /// The user stopped the run (Ctrl-C): the rest of the plan was not attempted.
    #[serde(skip_serializing_if = "is_false")]
    pub interrupted: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

impl ChangeTally {
    pub fn of(changes: &[Change]) -> Self {
        let mut tally = ChangeTally::default();
        for change in changes {
            match change.status {
                ChangeStatus::Planned => tally.planned += 1,
                ChangeStatus::Applied => tally.applied += 1,
                ChangeStatus::Skipped => tally.unchanged += 1,
                ChangeStatus::Failed => tally.failed += 1,
                ChangeStatus::NotAttempted => tally.not_attempted += 1,
                ChangeStatus::Blocked => tally.blocked += 1,
            }
        }
        tally
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckStatus {
    Pass,
    Warn,
    Fail,
}

impl fmt::Display for CheckStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CheckStatus::Pass => "pass",
            CheckStatus::Warn => "warn",
            CheckStatus::Fail => "FAIL",
        })
    }
}

/// One audited property: pass/warn/fail, why, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: String,
    pub status: CheckStatus,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    pub fn pass(name: impl Into<String>, detail: impl Into<String>) -> Self {
        Check { name: name.into(), status: CheckStatus::Pass, detail: detail.into(), fix: None }
    }
    pub fn warn(name: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Check { name: name.into(), status: CheckStatus::Warn, detail: detail.into(), fix: Some(fix.into()) }
    }
    pub fn fail(name: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Check { name: name.into(), status: CheckStatus::Fail, detail: detail.into(), fix: Some(fix.into()) }
    }
}

impl ChangeTally {
    /// The one exit-code rule of an apply: interrupted (130) when the user stopped it, partial (3)
    /// when something failed while other work was applied or already right, failure (1) when
    /// everything failed or a change was blocked.
    pub fn exit_status(&self) -> ExitStatus {
        let succeeded = self.applied + self.unchanged;
        if self.interrupted {
            ExitStatus::Interrupted
        } else if self.failed > 0 {
            if succeeded > 0 { ExitStatus::Partial } else { ExitStatus::Failure }
        } else if self.blocked > 0 {
            ExitStatus::Failure
        } else {
            ExitStatus::Success
        }
    }
}

/// Process exit codes (documented in the README; a contract for automation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExitStatus {
    /// Success, or nothing to do.
    Success,
    /// A check or an operation failed.
    Failure,
    /// Bad usage or invalid input, detected before any AWS call.
    Usage,
    /// Partial success: some regions or resources failed, the rest applied.
    Partial,
    /// Interrupted (SIGINT).
    Interrupted,
}

impl ExitStatus {
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Usage => 2,
            ExitStatus::Partial => 3,
            ExitStatus::Interrupted => 130,
        }
    }
}

/// The worst status of a list of checks (`Pass` for none).
pub fn worst(checks: &[Check]) -> CheckStatus {
    checks.iter().map(|c| c.status).max().unwrap_or(CheckStatus::Pass)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(applied: usize, unchanged: usize, failed: usize, interrupted: bool) -> ChangeTally {
        ChangeTally { applied, unchanged, failed, interrupted, ..ChangeTally::default() }
    }

    /// The one exit-code rule of every apply.
    #[test]
    fn partial_all_failed_and_interrupted() {
        assert_eq!(tally(2, 1, 0, false).exit_status(), ExitStatus::Success);
        assert_eq!(tally(1, 0, 1, false).exit_status(), ExitStatus::Partial);
        assert_eq!(tally(0, 1, 1, false).exit_status(), ExitStatus::Partial);
        assert_eq!(tally(0, 0, 2, false).exit_status(), ExitStatus::Failure);
        assert_eq!(tally(1, 0, 1, true).exit_status(), ExitStatus::Interrupted);
        assert_eq!(ChangeTally { blocked: 1, ..ChangeTally::default() }.exit_status(), ExitStatus::Failure);
    }
}
