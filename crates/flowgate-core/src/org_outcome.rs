//! What became of an organization's plan once applied, said change by change: a change not
//! attempted says why, a step stopped at one of its changes marks the ones after it, and the
//! first failure of a run is the reason given for what was not attempted after it.

use std::collections::BTreeMap;

use crate::report::{Change, ChangeStatus};

/// How a change not attempted says why: "DETAIL (not attempted: REASON)".
pub const NOT_ATTEMPTED: &str = "not attempted: ";

/// Marks a change "not attempted", with the reason.
pub fn not_attempted(change: &mut Change, reason: &str) {
    change.status = ChangeStatus::NotAttempted;
    change.detail = format!("{} ({NOT_ATTEMPTED}{reason})", change.detail);
}

/// `changes` with every planned one not attempted because `reason`.
pub fn unattempted(mut changes: Vec<Change>, reason: &str) -> Vec<Change> {
    for change in changes.iter_mut().filter(|c| c.status == ChangeStatus::Planned) {
        not_attempted(change, reason);
    }
    changes
}

/// Why a step stopped at one of its changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The user asked to stop: the change and the rest are not attempted.
    Interrupted,
    /// The change failed with this error (its text, hint included).
    Failed(String),
}

/// The changes of a step applied in order, stopped at the change with `action`: the changes
/// before it applied, it failed with the error, the ones after it not attempted because of it
/// (an interrupt leaves it and the rest not attempted); and the step's own error when no planned
/// change is left to carry it. No stop: every planned change applied.
pub fn stopped_at(mut changes: Vec<Change>, stop: Option<(&str, Stop)>) -> (Vec<Change>, Option<String>) {
    let Some((action, stop)) = stop else {
        for change in changes.iter_mut().filter(|c| c.status == ChangeStatus::Planned) {
            change.status = ChangeStatus::Applied;
        }
        return (changes, None);
    };
    let at = changes.iter().position(|c| c.action == action).unwrap_or(0);
    let mut failed: Option<String> = None;
    let mut unplaced = Some(stop);
    for (i, change) in changes.iter_mut().enumerate().filter(|(_, c)| c.status == ChangeStatus::Planned) {
        if i < at {
            change.status = ChangeStatus::Applied;
        } else if let Some(reason) = &failed {
            not_attempted(change, reason);
        } else if let Some(stop) = unplaced.take() {
            match stop {
                Stop::Interrupted => {
                    failed = Some("interrupted".to_owned());
                    not_attempted(change, "interrupted");
                }
                Stop::Failed(error) => {
                    failed = Some(format!("{} failed", change.action));
                    change.status = ChangeStatus::Failed;
                    change.error = Some(error);
                }
            }
        }
    }
    // No planned change left to carry the error: the step's own.
    let own = match unplaced {
        Some(Stop::Failed(error)) => Some(error),
        _ => None,
    };
    (changes, own)
}

/// The first failure of an applied run, as a reason for what was not attempted after it: an
/// account's flow logs first (offboard removes them before anything else), then the
/// organization's changes in order.
pub fn first_failure(org_changes: &[Change], by_account: &BTreeMap<String, Vec<Change>>) -> Option<String> {
    let account = by_account.iter().find_map(|(account, changes)| {
        changes.iter().find(|c| c.status == ChangeStatus::Failed).map(|c| format!("{} in account {account} failed", c.action))
    });
    account.or_else(|| org_changes.iter().find(|c| c.status == ChangeStatus::Failed).map(|c| format!("{} failed", c.action)))
}

/// Every change "not attempted" that does not yet say why (the runner marks the steps after a
/// failure or an interrupt without a reason) says `why`.
pub fn explain_not_attempted<'c>(changes: impl Iterator<Item = &'c mut Change>, why: &str) {
    for change in changes.filter(|c| c.status == ChangeStatus::NotAttempted && !c.detail.contains(NOT_ATTEMPTED)) {
        change.detail = format!("{} ({NOT_ATTEMPTED}{why})", change.detail);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(action: &str) -> Change {
        Change::new(action, "r", ChangeStatus::Planned, action)
    }

    fn statuses(changes: &[Change]) -> Vec<ChangeStatus> {
        changes.iter().map(|c| c.status).collect()
    }

    #[test]
    fn a_step_without_a_stop_applies_every_planned_change() {
        let skipped = Change::new("s", "r", ChangeStatus::Skipped, "already");
        let (changes, error) = stopped_at(vec![planned("a"), skipped], None);
        assert_eq!(statuses(&changes), [ChangeStatus::Applied, ChangeStatus::Skipped]);
        assert_eq!(error, None);
    }

    #[test]
    fn a_failure_applies_what_came_before_and_leaves_the_rest_not_attempted_with_the_reason() {
        let (changes, error) = stopped_at(vec![planned("a"), planned("b"), planned("c")], Some(("b", Stop::Failed("denied".into()))));
        assert_eq!(statuses(&changes), [ChangeStatus::Applied, ChangeStatus::Failed, ChangeStatus::NotAttempted]);
        assert_eq!(changes[1].error.as_deref(), Some("denied"));
        assert_eq!(changes[2].detail, "c (not attempted: b failed)");
        assert_eq!(error, None, "the failed change carries the error");
    }

    #[test]
    fn an_interrupt_leaves_the_change_and_the_rest_not_attempted() {
        let (changes, error) = stopped_at(vec![planned("a"), planned("b")], Some(("a", Stop::Interrupted)));
        assert_eq!(statuses(&changes), [ChangeStatus::NotAttempted, ChangeStatus::NotAttempted]);
        assert!(changes.iter().all(|c| c.detail.ends_with("(not attempted: interrupted)")));
        assert_eq!(error, None);
    }

    #[test]
    fn an_error_without_a_planned_change_to_carry_it_is_the_steps_own() {
        let skipped = Change::new("a", "r", ChangeStatus::Skipped, "already");
        let (changes, error) = stopped_at(vec![skipped], Some(("a", Stop::Failed("boom".into()))));
        assert_eq!(statuses(&changes), [ChangeStatus::Skipped]);
        assert_eq!(error.as_deref(), Some("boom"));
        let (_, error) = stopped_at(Vec::new(), Some(("a", Stop::Interrupted)));
        assert_eq!(error, None, "an interrupt is not an error");
    }

    #[test]
    fn the_first_failure_is_an_accounts_before_the_organizations() {
        let mut failed = planned("delete-flow-log");
        failed.status = ChangeStatus::Failed;
        let mut org_failed = planned("remove-delivery-statements");
        org_failed.status = ChangeStatus::Failed;
        let by_account: BTreeMap<String, Vec<Change>> = [("111111111111".to_owned(), vec![failed])].into_iter().collect();
        assert_eq!(first_failure(std::slice::from_ref(&org_failed), &by_account).as_deref(), Some("delete-flow-log in account 111111111111 failed"));
        assert_eq!(first_failure(&[org_failed], &BTreeMap::new()).as_deref(), Some("remove-delivery-statements failed"));
        assert_eq!(first_failure(&[planned("a")], &BTreeMap::new()), None);
    }

    #[test]
    fn only_changes_not_attempted_without_a_reason_are_explained() {
        let mut bare = planned("a");
        bare.status = ChangeStatus::NotAttempted;
        let mut explained = planned("b");
        not_attempted(&mut explained, "interrupted");
        let mut changes = [bare, explained, planned("c")];
        explain_not_attempted(changes.iter_mut(), "x failed");
        assert_eq!(changes[0].detail, "a (not attempted: x failed)");
        assert_eq!(changes[1].detail, "b (not attempted: interrupted)");
        assert_eq!(changes[2].detail, "c");
        assert_eq!(unattempted(vec![planned("d")], "why")[0].detail, "d (not attempted: why)");
    }
}
