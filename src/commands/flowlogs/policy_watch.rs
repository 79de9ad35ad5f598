//! The bucket policy around `flowlogs enable`'s flow-log step. When the account that creates a
//! flow log owns the bucket and may `s3:GetBucketPolicy`/`s3:PutBucketPolicy`, AWS writes its
//! own delivery statements into the bucket policy; the VPC User Guide says that write overwrites
//! the policy there (core `aws_delivery` has both guides' accounts). So the policy is read before
//! the first flow log is created and again after the last, and what AWS's write removed is put
//! back, AWS's own statements kept: one planned step after the flow logs, `restore-bucket-policy`.

use schemars::JsonSchema;
use serde::Serialize;

use crate::apply::{self, StepOutcome, error_text};
use crate::aws::s3;
use crate::context::Ctx;
use crate::core::aws_delivery::{self, PolicyRestore};
use crate::core::bucket::{BucketAction, BucketExistence};
use crate::core::limits;
use crate::core::names::BucketName;
use crate::core::report::{Change, ChangeStatus, ChangeTally};
use crate::error::{AwsErrorKind, Error, Result};

pub const ACTION: &str = "restore-bucket-policy";

/// The bucket whose policy is read again after the flow-log step, and the plan's line for it.
#[derive(Debug, Clone)]
pub struct PolicyWatch {
    pub bucket: BucketName,
    pub line: Change,
}

impl PolicyWatch {
    pub fn planned(bucket: &BucketName) -> PolicyWatch {
        let detail = "after the flow logs, put back what AWS's own policy write removed (for its owner's flow logs AWS \
                      writes AWSLogDelivery* statements; the VPC User Guide says over the existing policy)";
        PolicyWatch { bucket: bucket.clone(), line: Change::new(ACTION, bucket.as_str(), ChangeStatus::Planned, detail) }
    }
}

/// The policy before the first flow log is created: the bucket's region and its policy (`None`:
/// not this account's bucket, where AWS writes nothing).
pub type Snapshot = Result<Option<(String, Option<String>)>>;

pub async fn read(ctx: &Ctx, bucket: &BucketName) -> Snapshot {
    let account = ctx.identity().await?.account.clone();
    match s3::bucket_existence(&ctx.s3(&ctx.home_region), bucket, &account).await? {
        BucketExistence::Owned { region } => {
            let policy = s3::read_policy(&ctx.s3(&region), bucket).await?;
            Ok(Some((region, policy)))
        }
        BucketExistence::Missing | BucketExistence::Forbidden => Ok(None),
    }
}

/// What the step found: the statements put back and AWS's own statements it added (by label).
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct Restored {
    pub restored_statements: Vec<String>,
    pub aws_statements: Vec<String>,
}

/// Adds the step's line to `outcome` (as planned when nothing was applied) and, once flow logs
/// were created, puts back what AWS's write removed. `before`: the policy as read before the
/// first create (`None`: no create was attempted). After Ctrl-C too: the write was part of a
/// create that finished, and a policy left overwritten would stop the user's other grants.
pub async fn settle(ctx: &Ctx, watch: &PolicyWatch, before: Option<&Snapshot>, outcome: &mut apply::Outcome) -> Restored {
    let changes = outcome.changes();
    let created = changes.iter().any(|c| matches!(c.action.as_str(), "create-flow-log" | "replace-flow-log") && c.status == ChangeStatus::Applied);
    let short = changes.iter().any(|c| matches!(c.status, ChangeStatus::Failed | ChangeStatus::NotAttempted));
    let (line, restored) = match (outcome.applied(), created, before) {
        (false, _, _) => (watch.line.clone(), Restored::default()),
        // The step needed a flow log created: not done, rather than "already right".
        (true, false, _) if short => {
            (with(&watch.line, ChangeStatus::NotAttempted, "no flow log was created, so AWS wrote no policy"), Restored::default())
        }
        (true, false, _) | (true, true, None) => {
            (with(&watch.line, ChangeStatus::Skipped, "no flow log was created: AWS wrote no policy"), Restored::default())
        }
        (true, true, Some(snapshot)) => after_flow_logs(ctx, watch, snapshot).await,
    };
    let interrupted = outcome.tally.interrupted;
    outcome.steps.push(StepOutcome { changes: vec![line], error: None });
    outcome.tally = ChangeTally::of(&outcome.changes());
    outcome.tally.interrupted = interrupted;
    restored
}

fn with(line: &Change, status: ChangeStatus, detail: impl Into<String>) -> Change {
    let mut line = line.clone();
    line.status = status;
    line.detail = detail.into();
    line
}

/// The line once the flow logs exist: the policy read again and, if AWS's write removed anything,
/// put back.
async fn after_flow_logs(ctx: &Ctx, watch: &PolicyWatch, snapshot: &Snapshot) -> (Change, Restored) {
    let skipped = |detail: &str| (with(&watch.line, ChangeStatus::Skipped, detail), Restored::default());
    let (region, before) = match snapshot {
        Ok(Some((region, before))) => (region, before),
        Ok(None) => return skipped("the bucket is not this account's: AWS writes its policy only for its owner's flow logs"),
        // AWS's write needs s3:GetBucketPolicy as much as this read does.
        Err(Error::Aws { kind: AwsErrorKind::AccessDenied, .. }) => {
            return skipped("this account may not read the bucket policy (s3:GetBucketPolicy), so AWS writes none for its flow logs either");
        }
        Err(e) => {
            let mut line = with(&watch.line, ChangeStatus::Failed, "the bucket policy could not be read before the flow logs were created");
            line.error = Some(error_text(e));
            return (line, Restored::default());
        }
    };
    match put_back(ctx, &watch.bucket, region, before.as_deref()).await {
        Ok(restore) => {
            let restored = Restored { restored_statements: restore.restored.clone(), aws_statements: restore.aws_added.clone() };
            let status = if restore.document.is_some() { ChangeStatus::Applied } else { ChangeStatus::Skipped };
            (with(&watch.line, status, restored_words(&restore)).in_region(region), restored)
        }
        Err(e) => {
            let mut line = with(&watch.line, ChangeStatus::Failed, "the bucket policy could not be put back after AWS's write");
            line.error = Some(error_text(&e));
            (line.in_region(region), Restored::default())
        }
    }
}

/// Reads the policy again and puts back what is missing from `before`.
async fn put_back(ctx: &Ctx, bucket: &BucketName, region: &str, before: Option<&str>) -> Result<PolicyRestore> {
    let s3 = ctx.s3(region);
    let after = s3::read_policy(&s3, bucket).await?;
    let restore = aws_delivery::restore_after_aws_write(before, after.as_deref()).map_err(|e| {
        Error::refused(
            format!("the bucket policy of {bucket} cannot be read after the flow logs were created: {e}"),
            Some("check it with flowgate bucket check, fix it, then re-run flowgate bucket create".to_owned()),
        )
    })?;
    let Some(document) = &restore.document else { return Ok(restore) };
    if let Some(breach) = limits::bucket_policy_breach(format!("the policy of {bucket} with what AWS's write removed put back"), document) {
        return Err(Error::refused(
            breach.to_string(),
            Some("remove statements the bucket no longer needs, then re-run flowgate bucket create".to_owned()),
        ));
    }
    s3::apply_bucket_action(&s3, bucket, &BucketAction::PutBucketPolicy { document: document.clone() }).await?;
    Ok(restore)
}

fn restored_words(restore: &PolicyRestore) -> String {
    let aws =
        if restore.aws_added.is_empty() { String::new() } else { format!("; AWS's own delivery statements kept: {}", restore.aws_added.join(", ")) };
    match restore.restored.as_slice() {
        [] => format!("nothing removed by AWS's write{aws}"),
        restored => format!("put back {} statement(s) AWS's write removed: {}{aws}", restored.len(), restored.join(", ")),
    }
}
