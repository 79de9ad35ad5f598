//! `org verify --report FILE`: the organization's verify report as a document an auditor files
//! (the core's `evidence::org` renders it), written the way verify's is: atomically, in the format
//! of the extension, also when a check fails.

use std::path::Path;

use super::display::decision_text;
use super::report::{AccountEntry, OrgReport};
use crate::commands::verify_report::write_document;
use crate::core::evidence::{AccountEvidence, OrgEvidence, RegionSkip, ReportFormat, RunInfo, UncheckedAccount, render_org_csv, render_org_html};
use crate::core::report::{Check, worst};
use crate::error::Result;

/// Renders `report` in the format of `path`'s extension and writes it there; says where on stderr.
pub fn write_report(report: &OrgReport, path: &Path) -> Result<()> {
    write_document(path, |format, run| {
        let evidence = org_evidence(report, run);
        match format {
            ReportFormat::Html => render_org_html(&evidence),
            ReportFormat::Csv => render_org_csv(&evidence),
        }
    })
}

/// What the document shows: the organization, who checked it, each checked account with its
/// checks and skipped regions, and the accounts not checked with why.
fn org_evidence(report: &OrgReport, run: RunInfo) -> OrgEvidence {
    let (checked, unchecked): (Vec<&AccountEntry>, Vec<&AccountEntry>) = report.accounts.iter().partition(|a| !a.checks.is_empty());
    let mut all: Vec<Check> = checked.iter().flat_map(|a| a.checks.iter().cloned()).collect();
    all.extend(report.storage_access.clone());
    let mut organization_findings: Vec<String> = report.changes.iter().map(|c| format!("{} {}: {}", c.action, c.resource, c.detail)).collect();
    let mut accounts: Vec<AccountEvidence> = checked.into_iter().map(account_evidence).collect();
    // The vendor role's reads of the central bucket are one check for the organization: they are
    // shown on the log-archive account's row (the bucket's owner), or as a finding when that
    // account was not checked.
    if let Some(check) = &report.storage_access {
        match accounts.iter_mut().find(|a| a.id == report.log_archive_account) {
            Some(owner) => {
                owner.checks.push(check.clone());
                owner.status = worst(&owner.checks);
            }
            None => organization_findings.push(format!("{} ({}): {}", check.name, check.status, check.detail)),
        }
    }
    OrgEvidence {
        run,
        organization: report.organization.id.clone(),
        management_account: report.organization.management_account.clone(),
        administrator: report.account.clone(),
        call_as: report.call_as.to_owned(),
        principal: report.principal.clone(),
        stack_set: report.stack_set.clone(),
        stack_set_region: report.stack_set_region.clone(),
        bucket: report.bucket.clone(),
        log_archive_account: report.log_archive_account.clone(),
        status: report.status.unwrap_or_else(|| worst(&all)),
        organization_findings,
        accounts,
        unchecked: unchecked
            .into_iter()
            .map(|a| UncheckedAccount {
                id: a.account.id.clone(),
                name: a.account.name.clone(),
                ou_path: a.account.ou_path.clone(),
                reason: decision_text(a),
            })
            .collect(),
    }
}

fn account_evidence(entry: &AccountEntry) -> AccountEvidence {
    AccountEvidence {
        id: entry.account.id.clone(),
        name: entry.account.name.clone(),
        ou_path: entry.account.ou_path.clone(),
        status: entry.result.unwrap_or_else(|| worst(&entry.checks)),
        checks: entry.checks.clone(),
        skipped_regions: entry.skipped_regions.iter().map(|s| RegionSkip { region: s.region.clone(), reason: s.reason.clone() }).collect(),
    }
}
