//! The org report as people read it: the accounts table of a plan, the checks table of
//! `org status`/`org verify`, every change by account, the tally and the re-run line.

use std::fmt;

use super::report::{AccountEntry, OrgReport};
use crate::core::org_scope::{AccountDecision, Placement};
use crate::core::report::{Change, ChangeStatus, Check, CheckStatus};
use crate::output::render_changes;

/// The plan as shown before the confirmation: the accounts and every change.
pub(super) struct PlanText<'a>(pub &'a OrgReport);

impl fmt::Display for PlanText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let report = self.0;
        report.accounts_table(f)?;
        report.changes_text(f, false)
    }
}

pub(super) fn decision_text(entry: &AccountEntry) -> String {
    match &entry.account.decision {
        AccountDecision::InScope { placement: Placement::Management } => "in scope (management: stack)".to_owned(),
        AccountDecision::InScope { .. } => "in scope".to_owned(),
        AccountDecision::OutOfScope { reason } => format!("out: {reason}"),
        AccountDecision::Skipped { reason } => format!("skipped: {reason}"),
    }
}

/// The account's stack instance as the accounts table shows it.
fn instance_text(entry: &AccountEntry) -> String {
    match (&entry.stack_instance, entry.is_management()) {
        (_, true) => "n/a (never reached by a StackSet)".to_owned(),
        (Some(i), _) => match &i.detailed_status {
            Some(detail) => format!("{} ({detail})", i.status),
            None => i.status.clone(),
        },
        (None, _) if entry.in_scope() => "none".to_owned(),
        (None, _) => "-".to_owned(),
    }
}

impl OrgReport {
    fn headline(&self, f: &mut fmt::Formatter<'_>, in_scope: usize) -> fmt::Result {
        writeln!(
            f,
            "organization {} (management account {}): {} account(s), {in_scope} in scope",
            self.organization.id,
            self.organization.management_account,
            self.accounts.len()
        )
    }

    fn accounts_table(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.headline(f, self.accounts.iter().filter(|a| a.in_scope()).count())?;
        let name_width = self.accounts.iter().map(|a| a.account.name.len()).max().unwrap_or(4).clamp(4, 24);
        let ou_width = self.accounts.iter().map(|a| a.account.ou_path.len()).max().unwrap_or(2).clamp(2, 32);
        let decisions: Vec<String> = self.accounts.iter().map(decision_text).collect();
        let decision_width = decisions.iter().map(|d| d.len()).max().unwrap_or(8);
        writeln!(f, "  {:<12}  {:<name_width$}  {:<ou_width$}  {:<decision_width$}  stack instance", "account", "name", "ou", "decision")?;
        for entry in self.display_order() {
            let a = &entry.account;
            let decision = decision_text(entry);
            let instance = instance_text(entry);
            let name: String = a.name.chars().take(name_width).collect();
            let ou: String = a.ou_path.chars().take(ou_width).collect();
            writeln!(f, "  {:<12}  {name:<name_width$}  {ou:<ou_width$}  {decision:<decision_width$}  {instance}", a.id)?;
        }
        Ok(())
    }

    /// `org status` / `org verify`: accounts x checks, then what is not a pass, with its fix.
    fn checks_table(&self, f: &mut fmt::Formatter<'_>, status: CheckStatus) -> fmt::Result {
        let checked: Vec<&AccountEntry> = self.display_order().into_iter().filter(|a| !a.checks.is_empty()).collect();
        self.headline(f, checked.len())?;
        let names: Vec<String> = checked.first().map(|a| a.checks.iter().map(|c| c.name.clone()).collect()).unwrap_or_default();
        let name_width = checked.iter().map(|a| a.account.name.len()).max().unwrap_or(4).clamp(4, 24);
        write!(f, "  {:<12}  {:<name_width$}", "account", "name")?;
        for name in &names {
            write!(f, "  {name:<w$}", w = name.len().max(4))?;
        }
        writeln!(f)?;
        for entry in &checked {
            let name: String = entry.account.name.chars().take(name_width).collect();
            let mut line = format!("  {:<12}  {name:<name_width$}", entry.account.id);
            for (check, column) in entry.checks.iter().zip(&names) {
                let shown = match check.status {
                    CheckStatus::Fail => "FAIL".to_owned(),
                    other => other.to_string(),
                };
                line.push_str(&format!("  {shown:<w$}", w = column.len().max(4)));
            }
            writeln!(f, "{}", line.trim_end())?;
        }
        for entry in self.display_order() {
            if let AccountDecision::Skipped { reason } = &entry.account.decision {
                writeln!(f, "  {:<12}  {}  skipped: {reason}", entry.account.id, entry.account.name)?;
            }
        }
        findings_text(f, &checked)?;
        if let Some(check) = &self.storage_access {
            writeln!(f, "{} {}: {}", check.status, check.name, check.detail)?;
            if let Some(fix) = &check.fix {
                writeln!(f, "  fix: {fix}")?;
            }
        }
        if !self.changes.is_empty() {
            write!(f, "organization:\n{}", render_changes(&self.changes))?;
        }
        writeln!(f, "{status}: {} account(s) checked", checked.len())
    }

    pub(super) fn changes_text(&self, f: &mut fmt::Formatter<'_>, applied: bool) -> fmt::Result {
        let show = |c: &&Change| !applied || c.status != ChangeStatus::Skipped;
        let org: Vec<Change> = self.changes.iter().filter(show).cloned().collect();
        if !org.is_empty() {
            write!(f, "organization:\n{}", render_changes(&org))?;
        }
        for entry in self.display_order() {
            let changes: Vec<Change> = entry.changes.iter().filter(show).cloned().collect();
            if !changes.is_empty() {
                write!(f, "account {} ({}):\n{}", entry.account.id, entry.account.name, render_changes(&changes))?;
            }
            if let Some(error) = &entry.error {
                writeln!(f, "account {} ({}): ERROR: {error}", entry.account.id, entry.account.name)?;
            }
            if let Some(reason) = &entry.kept {
                writeln!(f, "account {} ({}): kept, with its delivery grant and stack instance: {reason}", entry.account.id, entry.account.name)?;
            }
        }
        Ok(())
    }
}

/// What is not a pass, once per finding with the accounts it concerns, and its fix.
fn findings_text(f: &mut fmt::Formatter<'_>, checked: &[&AccountEntry]) -> fmt::Result {
    let mut findings: Vec<(&Check, Vec<&str>)> = Vec::new();
    for entry in checked {
        for check in entry.checks.iter().filter(|c| c.status != CheckStatus::Pass) {
            match findings
                .iter_mut()
                .find(|(c, _)| c.name == check.name && c.status == check.status && c.detail == check.detail && c.fix == check.fix)
            {
                Some((_, accounts)) => accounts.push(&entry.account.id),
                None => findings.push((check, vec![&entry.account.id])),
            }
        }
    }
    for (check, accounts) in findings {
        writeln!(f, "{} {}: {} ({})", check.status, check.name, check.detail, accounts.join(", "))?;
        if let Some(fix) = &check.fix {
            writeln!(f, "  fix: {fix}")?;
        }
    }
    Ok(())
}

impl fmt::Display for OrgReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(status) = self.status {
            return self.checks_table(f, status);
        }
        if self.applied {
            self.changes_text(f, true)?;
        }
        let s = &self.summary;
        if self.applied {
            write!(f, "{} applied, {} unchanged", s.applied, s.unchanged)?;
        } else if s.planned == 0 {
            write!(f, "nothing to change")?;
        } else {
            write!(f, "dry run: {} change(s) planned, nothing applied", s.planned)?;
        }
        if s.failed > 0 {
            write!(f, ", {} FAILED (re-run to converge)", s.failed)?;
        }
        if s.not_attempted > 0 {
            write!(f, ", {} not attempted", s.not_attempted)?;
        }
        writeln!(f)?;
        if let (Some(vendor), true) = (&self.vendor, self.applied) {
            writeln!(
                f,
                "for the vendor: role {} in every account in scope, trusting account {} with ExternalId {}",
                vendor.role_name, vendor.account, vendor.external_id
            )?;
        }
        if let Some(rerun) = &self.rerun {
            writeln!(f, "re-run to converge: {rerun}")?;
        }
        Ok(())
    }
}
