//! The report every org command returns (`Serialize` for `--output json`, `Display` in
//! display.rs): the organization, each account with its stack instance and its changes or checks,
//! and what became of the plan once applied.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use super::discover::OrgView;
use crate::apply::{self, Done, error_text};
use crate::aws::stacksets::StackInstance;
use crate::cli::{CallAs, OrgTargetArgs};
use crate::context::Ctx;
use crate::core::aws_verdict::AwsVerdict;
use crate::core::names::BucketName;
use crate::core::org_grant::DeliveryGrant;
use crate::core::org_offboard::PolicyEdit;
use crate::core::org_outcome::{self, Stop};
use crate::core::org_scope::{self, ScopedAccount};
use crate::core::report::{Change, ChangeStatus, ChangeTally, Check, CheckStatus};
use crate::error::{Error, ExitStatus, Result};
use crate::observe::regions::SkippedRegion;
use crate::output::Report;

/// One account of the report: where it sits, its stack instance, and its changes or checks.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AccountEntry {
    #[serde(flatten)]
    pub account: ScopedAccount,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack_instance: Option<StackInstance>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
    /// `org status`/`org verify`: the requested regions the account was not checked in, and why
    /// (not enabled in the account, or closed to it by an organization policy).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped_regions: Vec<SkippedRegion>,
    /// The account's worst check (`org status`/`org verify`); `status` is its Organizations status.
    #[serde(rename = "result", skip_serializing_if = "Option::is_none")]
    pub result: Option<CheckStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// org offboard: why the account keeps its delivery grant and its stack instance (its flow
    /// logs could not be removed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kept: Option<String>,
}

impl AccountEntry {
    pub(super) fn new(account: &ScopedAccount, instances: &[StackInstance], region: &str) -> Self {
        AccountEntry {
            account: account.clone(),
            stack_instance: instances.iter().find(|i| i.account == account.id && i.region == region).cloned(),
            changes: Vec::new(),
            checks: Vec::new(),
            skipped_regions: Vec::new(),
            result: None,
            error: None,
            kept: None,
        }
    }

    pub(super) fn in_scope(&self) -> bool {
        matches!(self.account.decision, org_scope::AccountDecision::InScope { .. })
    }

    pub(super) fn is_management(&self) -> bool {
        matches!(self.account.decision, org_scope::AccountDecision::InScope { placement: org_scope::Placement::Management })
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct VendorAccess {
    pub account: String,
    pub external_id: String,
    pub role_name: String,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Organization {
    pub id: String,
    pub management_account: String,
    pub root_id: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct OrgReport {
    pub command: &'static str,
    pub account: String,
    pub principal: String,
    pub organization: Organization,
    pub call_as: &'static str,
    pub stack_set: String,
    pub stack_set_region: String,
    pub bucket: String,
    pub log_archive_account: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_policy: Option<&'static str>,
    /// org onboard: who the organization's delivery statements let deliver, and what the plan
    /// changes about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_grant: Option<DeliveryGrant>,
    /// org offboard: what goes from the central bucket's policy and what stays.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_edit: Option<PolicyEdit>,
    /// What the vendor needs to register the accounts: its account, the ExternalId every
    /// account's role requires, and the role's name (the same in every account).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<VendorAccess>,
    pub dry_run: bool,
    /// What is done once for the organization: prerequisites, bucket, policy, StackSet, the
    /// management account's stack.
    pub changes: Vec<Change>,
    pub accounts: Vec<AccountEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<CheckStatus>,
    /// org verify: what the vendor role in the central bucket's account may read of the bucket,
    /// by flowgate's evaluator and (`aws_verdict`) by AWS's policy simulator; absent when that
    /// account has no vendor role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_access: Option<Check>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_verdict: Option<AwsVerdict>,
    pub summary: ChangeTally,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rerun: Option<String>,
    /// org status: whether a re-run of org onboard would change something; org onboard: whether
    /// its plan has changes. What `--exit-code` exits 4 for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub would_change: Option<bool>,
    /// `--exit-code`: drift exits 4 unless something failed (or, in org status, could not be read).
    #[serde(skip)]
    pub(super) drift_exit_code: bool,
    /// org status: something could not be read (an account's flow logs): a failure, not drift.
    #[serde(skip)]
    pub(super) unread: bool,
    #[serde(skip)]
    pub(super) applied: bool,
}

impl OrgReport {
    pub(super) fn new(command: &'static str, view: &OrgView, args: &OrgTargetArgs, bucket: &BucketName, log_archive: &str, dry_run: bool) -> Self {
        OrgReport {
            command,
            account: view.identity.account.clone(),
            principal: view.identity.arn.clone(),
            organization: Organization {
                id: view.tree.org_id.clone(),
                management_account: view.tree.management_account.clone(),
                root_id: view.tree.root_id.clone(),
            },
            call_as: match args.call_as {
                CallAs::SelfAccount => "self",
                CallAs::DelegatedAdmin => "delegated-admin",
            },
            stack_set: args.stack_set_name.clone(),
            stack_set_region: view.stack_set_region.clone(),
            bucket: bucket.to_string(),
            log_archive_account: log_archive.to_owned(),
            delivery_policy: None,
            delivery_grant: None,
            policy_edit: None,
            vendor: None,
            dry_run,
            changes: Vec::new(),
            accounts: Vec::new(),
            status: None,
            storage_access: None,
            aws_verdict: None,
            summary: ChangeTally::default(),
            rerun: None,
            would_change: None,
            drift_exit_code: false,
            unread: false,
            applied: false,
        }
    }

    /// The accounts as people read them: by OU path, then name.
    pub(super) fn display_order(&self) -> Vec<&AccountEntry> {
        let mut entries: Vec<&AccountEntry> = self.accounts.iter().collect();
        entries.sort_by(|a, b| (&a.account.ou_path, &a.account.name, &a.account.id).cmp(&(&b.account.ou_path, &b.account.name, &b.account.id)));
        entries
    }

    pub(super) fn all_changes(&self) -> Vec<Change> {
        self.changes.iter().chain(self.accounts.iter().flat_map(|a| a.changes.iter())).cloned().collect()
    }

    /// The report once applied: the organization's steps (a step's own error as a failed
    /// change), each account's changes from the flow-log pass (an account the pass never reached
    /// keeps its planned changes, not attempted), the tally and the re-run line. Every change not
    /// attempted says why.
    pub(super) fn settle(
        &mut self,
        org_steps: &[apply::StepOutcome],
        by_account: BTreeMap<String, Vec<Change>>,
        flow_error: Option<String>,
        interrupted: bool,
    ) {
        self.changes = org_step_changes(org_steps);
        let reason = if interrupted { Some("interrupted".to_owned()) } else { org_outcome::first_failure(&self.changes, &by_account) };
        for entry in self.accounts.iter_mut() {
            if let Some(changes) = by_account.get(&entry.account.id) {
                entry.changes = changes.clone();
            } else {
                let why = flow_error.clone().or_else(|| reason.clone()).unwrap_or_else(|| "the flow-log step did not run".to_owned());
                for change in entry.changes.iter_mut().filter(|c| c.status == ChangeStatus::Planned) {
                    org_outcome::not_attempted(change, &why);
                }
                entry.error = flow_error.clone();
            }
        }
        // The runner marks the steps after a failure (or an interrupt) "not attempted": say why.
        let why = reason.unwrap_or_else(|| "an earlier step failed".to_owned());
        let accounts = self.accounts.iter_mut().flat_map(|a| a.changes.iter_mut());
        org_outcome::explain_not_attempted(self.changes.iter_mut().chain(accounts), &why);
        let mut tally = ChangeTally::of(&self.all_changes());
        tally.interrupted = interrupted;
        self.summary = tally;
        if tally.failed > 0 || tally.not_attempted > 0 || tally.interrupted {
            self.rerun = Some(crate::output::rerun_command_line());
        }
    }
}

/// The organization's steps' changes, a step's own error as a failed change of its own.
fn org_step_changes(org_steps: &[apply::StepOutcome]) -> Vec<Change> {
    let mut changes = Vec::new();
    for step in org_steps {
        changes.extend(step.changes.iter().cloned());
        if let Some(error) = &step.error {
            let mut change = Change::new("step", "organization", ChangeStatus::Failed, "the step did not complete");
            change.error = Some(error.clone());
            changes.push(change);
        }
    }
    changes
}

impl Report for OrgReport {
    /// `org status` and `org verify` as every status and verify command: 0 when every check
    /// passes (or warns), 1 when any fails. onboard and offboard: the apply's rule.
    /// With `--exit-code`, a failing check a re-run of org onboard would fix is drift (4), one
    /// that could not be read stays a failure (1).
    fn exit_status(&self) -> ExitStatus {
        let status = match self.status {
            Some(CheckStatus::Fail) if self.drift_exit_code && !self.unread => ExitStatus::Success,
            Some(CheckStatus::Fail) => ExitStatus::Failure,
            Some(_) => ExitStatus::Success,
            None => self.summary.exit_status(),
        };
        if self.drift_exit_code { status.with_drift(self.would_change == Some(true)) } else { status }
    }
}

/// Prints a plan, unless `-q` asks for results and errors only and nobody needs to read the plan
/// first: with `--yes` the applied report lists every change; a dry run's plan is its result and a
/// question needs its plan, so both are shown.
pub(super) fn show_plan(ctx: &Ctx, plan: impl std::fmt::Display) -> Result<()> {
    // (In JSON mode the printer keeps the plan for an error document and prints nothing.)
    if ctx.printer.quiet && !ctx.printer.is_json() && ctx.yes && !ctx.dry_run {
        return Ok(());
    }
    ctx.printer.text(plan)
}

/// A step that does not run because `reason`: its planned changes, not attempted.
pub(super) fn not_run(changes: Vec<Change>, reason: &str) -> Done {
    Done::Report { changes: org_outcome::unattempted(changes, reason), error: None }
}

/// The changes of a step applied in order, stopped by `failure` at the change with that action
/// (see [`org_outcome::stopped_at`]).
pub(super) fn stopped_at(changes: Vec<Change>, failure: Option<(&str, Error)>) -> (Vec<Change>, Option<String>) {
    let stop = failure.map(|(action, error)| match error {
        Error::Interrupted => (action, Stop::Interrupted),
        error => (action, Stop::Failed(error_text(&error))),
    });
    org_outcome::stopped_at(changes, stop)
}

/// An account's failed change: `detail` what did not happen, the error with its hint.
pub(super) fn account_failure(action: &str, account: &str, detail: &str, error: &Error) -> Change {
    let mut change = Change::new(action, account, ChangeStatus::Failed, detail);
    change.error = Some(error_text(error));
    change
}

/// Whether a step's outcome is without failure.
pub(super) fn step_ok(done: &Done) -> bool {
    match done {
        Done::Report { changes, error } => error.is_none() && changes.iter().all(|c| c.status != ChangeStatus::Failed),
        Done::Changed | Done::AlreadyDone => true,
    }
}
