//! The vocabulary every report shares: changes (for mutating commands) and checks (for auditing
//! commands), with the exit status they imply.

use std::fmt;

use schemars::JsonSchema;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Change {
    pub action: String,
    pub resource: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub status: ChangeStatus,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The change this line details (the `create-stack`/`update-stack`/`delete-stack` whose
    /// resources and parameters it names): one AWS change that applies or fails as a whole, so
    /// the line is not counted on its own in the `steps_*` counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part_of: Option<String>,
}

impl Change {
    pub fn new(action: impl Into<String>, resource: impl Into<String>, status: ChangeStatus, detail: impl Into<String>) -> Self {
        Change { action: action.into(), resource: resource.into(), region: None, status, detail: detail.into(), error: None, part_of: None }
    }

    pub fn in_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// The same line, as a detail of the change `action` (see [`Change::part_of`]).
    pub fn part_of(mut self, action: impl Into<String>) -> Self {
        self.part_of = Some(action.into());
        self
    }
}

/// Counts of a change list, for summaries.
///
/// The rule: a summary counts the changes AWS makes, one per step of the plan (a bucket setting,
/// a flow log, a role policy, a stack deploy); the lines that only detail a step (the resources
/// and parameters a stack deploy changes, [`Change::part_of`]) are not counted on their own.
/// Those counts are the `steps_*` fields, which the summaries people read print. The older
/// fields count every line of the plan, details included (kept for automation that reads them,
/// and what the exit code is computed from, as before).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ChangeTally {
    pub planned: usize,
    pub applied: usize,
    pub unchanged: usize,
    pub failed: usize,
    pub not_attempted: usize,
    pub blocked: usize,
    pub steps_planned: usize,
    pub steps_applied: usize,
    pub steps_unchanged: usize,
    pub steps_failed: usize,
    pub steps_not_attempted: usize,
    pub steps_blocked: usize,
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
            let step = change.part_of.is_none();
            let (line, steps) = match change.status {
                ChangeStatus::Planned => (&mut tally.planned, &mut tally.steps_planned),
                ChangeStatus::Applied => (&mut tally.applied, &mut tally.steps_applied),
                ChangeStatus::Skipped => (&mut tally.unchanged, &mut tally.steps_unchanged),
                ChangeStatus::Failed => (&mut tally.failed, &mut tally.steps_failed),
                ChangeStatus::NotAttempted => (&mut tally.not_attempted, &mut tally.steps_not_attempted),
                ChangeStatus::Blocked => (&mut tally.blocked, &mut tally.steps_blocked),
            };
            *line += 1;
            if step {
                *steps += 1;
            }
        }
        tally
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
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

/// Process exit codes (documented in docs/automation.md, "Exit codes"; a contract for automation).
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
    /// `--exit-code`: the run found drift (a run of the apply would change something) and
    /// nothing failed, as `git diff --exit-code` and `terraform plan -detailed-exitcode` say it.
    Drift,
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
            ExitStatus::Drift => 4,
            ExitStatus::Interrupted => 130,
        }
    }

    /// The status of a check run with `--exit-code`: drift replaces success only, so a failure
    /// (1), a usage error (2), a partial apply (3) or an interrupt (130) outranks it.
    pub fn with_drift(self, would_change: bool) -> ExitStatus {
        match self {
            ExitStatus::Success if would_change => ExitStatus::Drift,
            other => other,
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

    /// A stack deploy is one change however many resource and parameter lines detail it: an
    /// onboard that creates the bucket (3 settings), 2 flow logs and the stack (4 resource lines,
    /// 2 parameter lines) made 6 changes, not 12.
    #[test]
    fn steps_count_changes_and_lines_count_lines() {
        let applied = |action: &str| Change::new(action, "r", ChangeStatus::Applied, "");
        let mut changes: Vec<Change> = ["create-bucket", "put-public-access-block", "put-bucket-policy", "create-flow-log", "create-flow-log"]
            .into_iter()
            .map(applied)
            .collect();
        changes.push(applied("create-stack"));
        changes.extend(
            ["add-resource", "add-resource", "add-resource", "skip-resource", "parameter", "parameter"].map(|a| applied(a).part_of("create-stack")),
        );
        changes.push(Change::new("put-bucket-tagging", "b", ChangeStatus::Skipped, "already set"));
        let tally = ChangeTally::of(&changes);
        assert_eq!((tally.steps_applied, tally.applied), (6, 12));
        assert_eq!((tally.steps_unchanged, tally.unchanged), (1, 1));
        // A failed deploy is one failure.
        let failed: Vec<Change> = std::iter::once(Change::new("update-stack", "s", ChangeStatus::Failed, ""))
            .chain((0..3).map(|_| Change::new("modify-resource", "r", ChangeStatus::Failed, "").part_of("update-stack")))
            .collect();
        let tally = ChangeTally::of(&failed);
        assert_eq!((tally.steps_failed, tally.failed), (1, 4));
        assert_eq!(tally.exit_status(), ExitStatus::Failure);
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

    /// `--exit-code`: drift is 4, distinct from every other code, and never hides a failure.
    #[test]
    fn drift_replaces_success_only() {
        assert_eq!(ExitStatus::Success.with_drift(false), ExitStatus::Success);
        assert_eq!(ExitStatus::Success.with_drift(true).code(), 4);
        for outranks in [ExitStatus::Failure, ExitStatus::Usage, ExitStatus::Partial, ExitStatus::Interrupted] {
            assert_eq!(outranks.with_drift(true), outranks);
        }
        let codes: Vec<i32> =
            [ExitStatus::Success, ExitStatus::Failure, ExitStatus::Usage, ExitStatus::Partial, ExitStatus::Drift, ExitStatus::Interrupted]
                .map(ExitStatus::code)
                .to_vec();
        let mut unique = codes.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(codes, unique, "every status has a code of its own");
    }
}
