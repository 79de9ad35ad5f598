//! What org offboard does to the central bucket's policy: the leaving accounts out of the
//! organization's statements, and the log-archive account's own statements when that account
//! leaves and no onboarding of its own keeps them. Planned on the policy as read, applied on the
//! policy as it is then.

use super::discover::OrgView;
use crate::aws::s3;
use crate::cli::OrgOffboardArgs;
use crate::context::Ctx;
use crate::core::bucket::{BucketAction, BucketExistence};
use crate::core::names::BucketName;
use crate::core::org_grant::has_account_statements;
use crate::core::org_offboard::{
    self, KeptAccount, LogArchiveStatements, OffboardEdit, Offboarding, OwnOnboarding, PolicyEdit, policy_edit_report, policy_line,
};
use crate::core::report::{Change, ChangeStatus};
use crate::error::{Error, Result};

/// What offboard plans for the central bucket's policy.
pub(super) struct PolicyPlan {
    /// The bucket's region; `None`: no such bucket in the log-archive account.
    pub region: Option<String>,
    /// The log-archive account, when its own statements go with this offboarding.
    pub log_archive_leaves: Option<String>,
    pub verdict: LogArchiveStatements,
    pub line: Change,
    pub edit: Option<PolicyEdit>,
}

/// Who leaves, as the policy plan sees it.
pub(super) struct Leaving<'a> {
    pub accounts: &'a [String],
    pub whole_organization: bool,
    /// The log-archive account's single-account stack goes with this offboarding (the
    /// management account's, deleted by this run).
    pub stack_goes: bool,
    /// Accounts in scope that stay (see [`org_offboard::kept_accounts`]): `accounts` leaves them
    /// out.
    pub kept: &'a [KeptAccount],
}

impl Leaving<'_> {
    /// Whether the log-archive account's own statements go: they stay with it when it is kept.
    fn verdict(&self, log_archive: &str, own: OwnOnboarding<'_>) -> LogArchiveStatements {
        org_offboard::kept_log_archive(log_archive, self.kept)
            .unwrap_or_else(|| org_offboard::log_archive_statements(log_archive, self.accounts, self.whole_organization, own))
    }

    fn kept_ids(&self) -> Vec<String> {
        self.kept.iter().map(|k| k.account.clone()).collect()
    }
}

/// Reads the central bucket's policy and plans its edit (the log-archive account's role stack is
/// read to know whether an onboarding of its own keeps its statements).
pub(super) async fn plan_offboard_policy(
    la: &Ctx,
    args: &OrgOffboardArgs,
    view: &OrgView,
    log_archive: &str,
    leaving: &Leaving<'_>,
) -> Result<PolicyPlan> {
    let bucket = &args.bucket;
    let region = match s3::bucket_existence(&la.s3(&la.home_region), bucket, log_archive).await? {
        BucketExistence::Owned { region } => region,
        _ => {
            let line =
                Change::new("remove-delivery-statements", bucket.as_str(), ChangeStatus::Skipped, format!("no such bucket in account {log_archive}"));
            let verdict = LogArchiveStatements::Keep { reason: "no bucket".to_owned() };
            return Ok(PolicyPlan { region: None, log_archive_leaves: None, verdict, line, edit: None });
        }
    };
    let existing = s3::read_policy(&la.s3(&region), bucket).await?;
    let whole_org = leaving.whole_organization;
    let leaves = whole_org || leaving.accounts.iter().any(|a| a == log_archive);
    let own = match (leaves, leaving.stack_goes) {
        (false, _) => OwnOnboarding::None,
        (true, true) => OwnOnboarding::Leaving,
        (true, false) => match crate::aws::cloudformation::describe_stack(&la.cloudformation(), &args.stack_name).await? {
            Some(_) => OwnOnboarding::Stays { stack: &args.stack_name },
            None => OwnOnboarding::None,
        },
    };
    let verdict = leaving.verdict(log_archive, own);
    let log_archive_leaves = (verdict == LogArchiveStatements::Remove).then(|| log_archive.to_owned());
    let offboarding = Offboarding { leaving: leaving.accounts, whole_organization: whole_org, log_archive: log_archive_leaves.as_deref() };
    let edit = offboard_edit_of(existing.as_deref(), &offboarding)?;
    let has_own = has_account_statements(existing.as_deref(), log_archive);
    let mut report = policy_edit_report(&edit, has_own, &verdict);
    report.accounts_kept = leaving.kept_ids();
    let line = policy_line(bucket.as_str(), &edit, &report, &view.tree.org_id, log_archive, ChangeStatus::Planned);
    Ok(PolicyPlan { region: Some(region), log_archive_leaves, verdict, line, edit: Some(report) })
}

fn offboard_edit_of(existing: Option<&str>, offboarding: &Offboarding<'_>) -> Result<OffboardEdit> {
    org_offboard::offboard_edit(existing, offboarding).map_err(|e| {
        Error::refused(format!("the central bucket's policy cannot be edited: {e}"), Some("fix the policy by hand, then re-run".to_owned()))
    })
}

/// Applies the policy edit on what the bucket's policy is now, for who leaves now (the accounts
/// kept by the flow-log step stay); returns the line and the edit as applied. `log_archive_leaves`
/// and `verdict`: the plan's, for the log-archive account's own statements.
pub(super) async fn apply_offboard_policy(
    la: &Ctx,
    bucket: &BucketName,
    region: &str,
    leaving: &Leaving<'_>,
    (log_archive_leaves, verdict): (Option<&str>, &LogArchiveStatements),
    org_id: &str,
) -> Result<(Change, PolicyEdit)> {
    let log_archive = la.identity().await?.account.clone();
    let kept_verdict = org_offboard::kept_log_archive(&log_archive, leaving.kept);
    let log_archive_leaves = log_archive_leaves.filter(|_| kept_verdict.is_none());
    let offboarding = Offboarding { leaving: leaving.accounts, whole_organization: leaving.whole_organization, log_archive: log_archive_leaves };
    let client = la.s3(region);
    let existing = s3::read_policy(&client, bucket).await?;
    let edit = offboard_edit_of(existing.as_deref(), &offboarding)?;
    if edit.delete_policy {
        s3::delete_policy(&client, bucket).await?;
    } else if let Some(document) = &edit.document {
        s3::apply_bucket_action(&client, bucket, &BucketAction::PutBucketPolicy { document: document.clone() }).await?;
    }
    let verdict = kept_verdict.as_ref().unwrap_or(verdict);
    let mut report = policy_edit_report(&edit, has_account_statements(existing.as_deref(), &log_archive), verdict);
    report.accounts_kept = leaving.kept_ids();
    report.applied = true;
    let line = policy_line(bucket.as_str(), &edit, &report, org_id, &log_archive, ChangeStatus::Applied);
    Ok((line, report))
}
