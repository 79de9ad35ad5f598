//! The organization's evidence (`org verify --report`): the verdict, who checked which
//! organization, an accounts x checks matrix (failing accounts first, each account's checks folded
//! under its row) and the regions each account skipped. Rendered with the account report's
//! stylesheet, HTML escaping and CSV rules (render.rs), so that both documents read alike.

use minijinja::context;
use serde::Serialize;

use super::render::{ORG_TEMPLATE_NAME, Status, cell, class, environment, iso_utc, status, verdict};
use super::{RunInfo, utc_text};
use crate::report::{Check, CheckStatus};

/// A region an account was not checked in, and why (not enabled in the account, closed by an
/// organization policy).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegionSkip {
    pub region: String,
    pub reason: String,
}

/// One checked account: where it sits, its checks and its worst status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountEvidence {
    pub id: String,
    pub name: String,
    pub ou_path: String,
    pub status: CheckStatus,
    pub checks: Vec<Check>,
    pub skipped_regions: Vec<RegionSkip>,
}

/// An account of the organization that was not checked, and why (out of scope, suspended).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UncheckedAccount {
    pub id: String,
    pub name: String,
    pub ou_path: String,
    pub reason: String,
}

/// Everything the organization's report shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrgEvidence {
    pub run: RunInfo,
    pub organization: String,
    pub management_account: String,
    /// The account that ran the check: the management account or a delegated administrator.
    pub administrator: String,
    /// `self` (the management account) or `delegated-admin`.
    pub call_as: String,
    pub principal: String,
    pub stack_set: String,
    pub stack_set_region: String,
    pub bucket: String,
    pub log_archive_account: String,
    pub status: CheckStatus,
    /// What is wrong for the organization as a whole (no StackSet, no central bucket).
    pub organization_findings: Vec<String>,
    pub accounts: Vec<AccountEvidence>,
    pub unchecked: Vec<UncheckedAccount>,
}

/// The accounts as the report lists them: failing first, then warnings, then passes; within each,
/// by OU path, name and id (as the text report orders them).
pub fn failing_first(accounts: &[AccountEvidence]) -> Vec<&AccountEvidence> {
    let mut ordered: Vec<&AccountEvidence> = accounts.iter().collect();
    ordered.sort_by(|a, b| b.status.cmp(&a.status).then_with(|| (&a.ou_path, &a.name, &a.id).cmp(&(&b.ou_path, &b.name, &b.id))));
    ordered
}

/// The matrix's columns: every check name the accounts carry, in the order the names first
/// appear. Nothing here names a check: a check only some accounts have gets its column, and the
/// accounts without it an empty cell.
pub fn check_columns(accounts: &[AccountEvidence]) -> Vec<&str> {
    let mut columns: Vec<&str> = Vec::new();
    for check in accounts.iter().flat_map(|a| &a.checks) {
        if !columns.contains(&check.name.as_str()) {
            columns.push(&check.name);
        }
    }
    columns
}

/// One cell of the matrix: the account's check of that column, if it has one.
#[derive(Serialize)]
struct MatrixCell<'a> {
    check: &'a str,
    status: Option<Status>,
}

#[derive(Serialize)]
struct CheckRow<'a> {
    name: &'a str,
    status: Status,
    detail: &'a str,
    fix: &'a str,
}

#[derive(Serialize)]
struct AccountRow<'a> {
    account: &'a AccountEvidence,
    status: Status,
    cells: Vec<MatrixCell<'a>>,
    checks: Vec<CheckRow<'a>>,
    skipped: String,
    /// The OU path's names, which the page lets wrap at each `/`.
    ou_parts: Vec<&'a str>,
    /// `2 passed, 1 warnings, 1 failed`: the folded details' summary line.
    counts: String,
    /// Whether the details start unfolded (see [`OPEN_FAILING_UP_TO`]).
    open: bool,
}

/// A failing account's details start unfolded while at most this many accounts fail: a reader
/// sees why at once; more failures stay folded so that the page keeps its overview.
pub const OPEN_FAILING_UP_TO: usize = 10;

/// How many accounts pass, warn and fail one check (the matrix's head, for 1,000 rows).
#[derive(Serialize)]
struct ColumnTally<'a> {
    check: &'a str,
    pass: usize,
    warn: usize,
    fail: usize,
}

fn counts_text(checks: &[Check]) -> String {
    let count = |s| checks.iter().filter(|c| c.status == s).count();
    format!("{} passed, {} warnings, {} failed", count(CheckStatus::Pass), count(CheckStatus::Warn), count(CheckStatus::Fail))
}

fn account_row<'a>(account: &'a AccountEvidence, columns: &[&'a str], open_failing: bool) -> AccountRow<'a> {
    let cells = columns
        .iter()
        .map(|column| MatrixCell { check: column, status: account.checks.iter().find(|c| c.name == *column).map(|c| status(c.status)) })
        .collect();
    let checks = account
        .checks
        .iter()
        .map(|c| CheckRow { name: &c.name, status: status(c.status), detail: &c.detail, fix: c.fix.as_deref().unwrap_or("") })
        .collect();
    let skipped = account.skipped_regions.iter().map(|s| s.region.as_str()).collect::<Vec<_>>().join(", ");
    AccountRow {
        account,
        status: status(account.status),
        cells,
        checks,
        skipped,
        ou_parts: account.ou_path.split('/').collect(),
        counts: counts_text(&account.checks),
        open: open_failing && account.status == CheckStatus::Fail,
    }
}

fn column_tallies<'a>(accounts: &[AccountEvidence], columns: &[&'a str]) -> Vec<ColumnTally<'a>> {
    columns
        .iter()
        .map(|column| {
            let of = |s| accounts.iter().filter(|a| a.checks.iter().any(|c| c.name == *column && c.status == s)).count();
            ColumnTally { check: column, pass: of(CheckStatus::Pass), warn: of(CheckStatus::Warn), fail: of(CheckStatus::Fail) }
        })
        .collect()
}

/// The organization's report as one self-contained HTML page (the account report's inline
/// stylesheet, no script, nothing fetched).
pub fn render_org_html(evidence: &OrgEvidence) -> Result<String, String> {
    let env = environment()?;
    let template = env.get_template(ORG_TEMPLATE_NAME).map_err(|e| format!("the report template: {e}"))?;
    let columns = check_columns(&evidence.accounts);
    let count = |s| evidence.accounts.iter().filter(|a| a.status == s).count();
    let open_failing = count(CheckStatus::Fail) <= OPEN_FAILING_UP_TO;
    let rows: Vec<AccountRow<'_>> = failing_first(&evidence.accounts).into_iter().map(|a| account_row(a, &columns, open_failing)).collect();
    template
        .render(context! {
            evidence => evidence,
            generated => utc_text(evidence.run.generated_at),
            generated_iso => iso_utc(evidence.run.generated_at),
            verdict => context! { status => status(evidence.status), text => verdict(evidence.status) },
            counts => context! { pass => count(CheckStatus::Pass), warn => count(CheckStatus::Warn), fail => count(CheckStatus::Fail) },
            administrator_role => if evidence.call_as == "delegated-admin" { "delegated administrator" } else { "management account" },
            columns => column_tallies(&evidence.accounts, &columns),
            rows => rows,
            skipped_accounts => evidence.accounts.iter().filter(|a| !a.skipped_regions.is_empty()).count(),
        })
        .map_err(|e| format!("rendering the report: {e}"))
}

/// One row per account and check, in the page's order (failing accounts first): account, name,
/// OU path, check, status, reason, fix; a formula-looking cell made text as in the account CSV.
pub fn render_org_csv(evidence: &OrgEvidence) -> Result<String, String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| format!("writing the CSV report: {e}");
    writer.write_record(["account", "name", "ou_path", "check", "status", "reason", "fix"]).map_err(err)?;
    for account in failing_first(&evidence.accounts) {
        for check in &account.checks {
            let row =
                [&account.id, &account.name, &account.ou_path, &check.name, class(check.status), &check.detail, check.fix.as_deref().unwrap_or("")];
            writer.write_record(row.map(cell)).map_err(err)?;
        }
    }
    let bytes = writer.into_inner().map_err(|e| format!("writing the CSV report: {e}"))?;
    String::from_utf8(bytes).map_err(|e| format!("writing the CSV report: {e}"))
}

#[cfg(test)]
mod tests;
