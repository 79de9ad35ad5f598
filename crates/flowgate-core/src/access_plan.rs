//! `access grant|revoke` in stack mode: the bucket list to deploy, computed from the stack's
//! `StorageBucketNames` parameter (what CloudFormation grants), and the check that a grant only
//! grants and a revoke only revokes.

use std::collections::BTreeSet;

use super::stack_plan::StackParameters;

/// Which way an access edit goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessEdit {
    Grant,
    Revoke,
}

impl AccessEdit {
    /// The command's name, as reports and messages say it.
    pub fn command(self) -> &'static str {
        match self {
            AccessEdit::Grant => "access grant",
            AccessEdit::Revoke => "access revoke",
        }
    }
}

/// The parameters to deploy for granting (or revoking) `asked` on a stack whose parameters are
/// `current`: every parameter but the bucket list unchanged.
pub fn stack_edit(current: &StackParameters, asked: &BTreeSet<String>, edit: AccessEdit) -> StackParameters {
    let have: BTreeSet<String> = current.storage_buckets.iter().cloned().collect();
    let wanted: BTreeSet<String> =
        if edit == AccessEdit::Grant { have.union(asked).cloned().collect() } else { have.difference(asked).cloned().collect() };
    StackParameters { storage_buckets: wanted.into_iter().collect(), ..current.clone() }
}

/// Why deploying `new` over `old` is not what `access grant` (or `revoke`) of `asked` may do, or
/// `None` when it is: a grant adds only asked buckets and removes none; a revoke removes only
/// asked buckets and adds none; neither changes the vendor account, ExternalId or role name.
pub fn stack_edit_refusal(old: &StackParameters, new: &StackParameters, asked: &BTreeSet<String>, edit: AccessEdit) -> Option<String> {
    let before: BTreeSet<&String> = old.storage_buckets.iter().collect();
    let after: BTreeSet<&String> = new.storage_buckets.iter().collect();
    let added: Vec<&str> = after.difference(&before).map(|b| b.as_str()).collect();
    let removed: Vec<&str> = before.difference(&after).map(|b| b.as_str()).collect();
    let (command, wrong, what) = if edit == AccessEdit::Grant { ("grant", &removed, "revoke") } else { ("revoke", &added, "grant") };
    if !wrong.is_empty() {
        return Some(format!("this access {command} would {what} access to {}", wrong.join(", ")));
    }
    let unasked: Vec<&str> = added.iter().chain(removed.iter()).copied().filter(|b| !asked.contains(*b)).collect();
    if !unasked.is_empty() {
        return Some(format!("this access {command} would also change access to {}, which was not asked", unasked.join(", ")));
    }
    for (name, a, b) in [
        ("VendorAccountId", &old.vendor_account, &new.vendor_account),
        ("ExternalId", &old.external_id, &new.external_id),
        ("RoleName", &old.role_name, &new.role_name),
    ] {
        if a != b {
            return Some(format!("this access {command} would change the stack's {name} parameter"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(buckets: &[&str]) -> StackParameters {
        StackParameters {
            vendor_account: "111122223333".into(),
            external_id: "ext-id-0123456789".into(),
            role_name: "FlowgateCrossAccountRole".into(),
            storage_buckets: buckets.iter().map(|b| (*b).to_owned()).collect(),
            compliance_account: None,
            read_write: false,
        }
    }

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|b| (*b).to_owned()).collect()
    }

    #[test]
    fn edits_start_from_the_parameter_and_change_only_the_asked_buckets() {
        let current = params(&["a-logs", "b-logs"]);
        assert_eq!(stack_edit(&current, &set(&["c-logs"]), AccessEdit::Grant), params(&["a-logs", "b-logs", "c-logs"]));
        assert_eq!(stack_edit(&current, &set(&["a-logs", "z-logs"]), AccessEdit::Revoke), params(&["b-logs"]));
        assert_eq!(stack_edit(&current, &set(&["a-logs"]), AccessEdit::Grant), current);
        for (edit, asked) in [(AccessEdit::Grant, set(&["c-logs"])), (AccessEdit::Revoke, set(&["a-logs"]))] {
            let new = stack_edit(&current, &asked, edit);
            assert_eq!(stack_edit_refusal(&current, &new, &asked, edit), None);
        }
    }

    /// Issue 12 item 2: a plan computed from a stale list (an output saying "stale-logs" while
    /// the parameter says a-logs, b-logs) would revoke on a grant and grant on a revoke.
    #[test]
    fn a_grant_that_revokes_or_a_revoke_that_grants_is_refused() {
        let current = params(&["a-logs", "b-logs"]);
        let from_stale = params(&["stale-logs", "c-logs"]);
        let refusal = stack_edit_refusal(&current, &from_stale, &set(&["c-logs"]), AccessEdit::Grant).unwrap();
        assert_eq!(refusal, "this access grant would revoke access to a-logs, b-logs");
        let refusal = stack_edit_refusal(&current, &params(&["b-logs", "stale-logs"]), &set(&["a-logs"]), AccessEdit::Revoke).unwrap();
        assert_eq!(refusal, "this access revoke would grant access to stale-logs");
        let refusal = stack_edit_refusal(&current, &params(&["a-logs", "b-logs", "c-logs", "d-logs"]), &set(&["c-logs"]), AccessEdit::Grant).unwrap();
        assert!(refusal.contains("d-logs, which was not asked"), "{refusal}");
        let refusal = stack_edit_refusal(&current, &params(&["a-logs"]), &set(&["c-logs"]), AccessEdit::Revoke).unwrap();
        assert!(refusal.contains("b-logs, which was not asked"), "{refusal}");
        let other_role = StackParameters { role_name: "Other".into(), ..current.clone() };
        assert!(stack_edit_refusal(&current, &other_role, &set(&["a-logs"]), AccessEdit::Grant).unwrap().contains("RoleName"));
    }
}
