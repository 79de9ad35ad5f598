//! `flowgate access grant | revoke | list`: the vendor role's read access to flow-log buckets,
//! through the role stack (redeployed by `stack deploy`'s change-set path) or, for a role created
//! by hand, by editing its inline policy with the pure editor in `core::role_policy`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Serialize;

use crate::apply::{self, Done, OnFailure, Plan, Step};
use crate::aws::{cloudformation as cfn, iam};
use crate::cli::{AccessEditArgs, AccessListArgs, AccessVia};
use crate::commands::stack::{DeployRequest, StackDeployReport, deploy_stack};
use crate::context::Ctx;
use crate::core::access_plan::{self, AccessEdit};
use crate::core::aws_verdict::{AwsVerdict, DeliveryPath, delivery_object_arn};
use crate::core::limits;
use crate::core::names::{BucketName, partition_of_region};
use crate::core::report::{Change, ChangeStatus, ChangeTally};
use crate::core::role_policy::{
    self, AccessReport, BUCKET_READ_SID, Edit, Finding, FindingKind, Grant, GrantOptions, NamedPolicy, OBJECT_READ_SID, PolicySource, Readability,
};
use crate::core::stack_plan::StackParameters;
use crate::core::trust::TrustAssessment;
use crate::core::vendor_access::trusted_account_ids;
use crate::error::{Error, ExitStatus, Result};
use crate::observe::role::{
    RoleAccess, RolePolicies, Target, audited_role, inline_policies, managed_policies, read_role_policies, resolve_target, role_access,
};
use crate::observe::simulation::{ReadQuestion, Simulate, aws_verdicts};
use crate::output::{Report, render_changes};

/// The default inline policy flowgate creates on a hand-made role.
pub const DEFAULT_POLICY_NAME: &str = "FlowgateStorageRead";

#[derive(Debug, Serialize, JsonSchema)]
pub struct AccessEditReport {
    pub command: &'static str,
    /// stack or role.
    pub via: &'static str,
    /// The stack or role edited.
    pub target: String,
    pub buckets: Vec<String>,
    pub dry_run: bool,
    pub changes: Vec<Change>,
    /// Role mode: each statement added, modified or removed (before/after).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diff: Vec<role_policy::StatementChange>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    /// A revoke that left a bucket readable (or could not tell): what to remove, then run again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Stack mode: the redeploy, as `stack deploy` reports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack: Option<StackDeployReport>,
    /// Once applied (not a dry run), per bucket asked: AWS's policy simulator on the role's reads
    /// beside flowgate's verdict; a disagreement (a revoke AWS still allows, a grant an SCP
    /// denies) fails the run.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub aws_verdicts: BTreeMap<String, AwsVerdict>,
    pub summary: ChangeTally,
}

impl fmt::Display for AccessEditReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The plan (and in role mode the statement diff) was printed before confirmation; the
        // report adds what became of each change.
        if let Some(stack) = &self.stack {
            write!(f, "{stack}")?;
        } else {
            let done: Vec<Change> =
                self.changes.iter().filter(|c| matches!(c.status, ChangeStatus::Applied | ChangeStatus::Failed)).cloned().collect();
            write!(f, "{}", render_changes(&done))?;
        }
        for finding in &self.findings {
            writeln!(f, "note: {finding}")?;
        }
        if let Some(hint) = &self.hint {
            writeln!(f, "hint: {hint}")?;
        }
        for (bucket, verdict) in &self.aws_verdicts {
            writeln!(f, "{bucket}: {}", verdict.words())?;
            if let Some(fix) = verdict.fix() {
                writeln!(f, "  fix: {fix}")?;
            }
        }
        let s = &self.summary;
        // Changes, not plan lines: a redeploy of the stack is one change (see `ChangeTally`).
        if s.steps_planned + s.steps_applied + s.steps_failed == 0 {
            writeln!(f, "nothing to change: {} already as asked", self.buckets.join(", "))
        } else if self.dry_run {
            // The stack's report has said it (and how the plan was made).
            if self.stack.is_some() { Ok(()) } else { writeln!(f, "dry run: nothing applied") }
        } else {
            writeln!(f, "{} change(s) applied, {} failed", s.steps_applied, s.steps_failed)
        }
    }
}

impl Report for AccessEditReport {
    fn exit_status(&self) -> ExitStatus {
        let stack_failed = self.stack.as_ref().is_some_and(|s| s.exit_status() != ExitStatus::Success);
        // A revoke that leaves the bucket readable (or cannot tell), and a grant an explicit Deny
        // makes ineffective, did not do what was asked.
        let ineffective = self.findings.iter().any(|f| match self.command {
            "access revoke" => matches!(f.kind, FindingKind::StillReadable | FindingKind::Unreadable),
            _ => f.kind == FindingKind::Denied,
        }) || self.aws_verdicts.values().any(AwsVerdict::disagrees);
        if (stack_failed || ineffective) && !self.summary.interrupted { ExitStatus::Failure } else { self.summary.exit_status() }
    }
}

impl AccessEditReport {
    fn new(edit: AccessEdit, via: &'static str, target: &str, buckets: Vec<String>, dry_run: bool) -> Self {
        AccessEditReport {
            command: edit.command(),
            via,
            target: target.to_owned(),
            buckets,
            dry_run,
            changes: Vec::new(),
            diff: Vec::new(),
            findings: Vec::new(),
            hint: None,
            stack: None,
            aws_verdicts: BTreeMap::new(),
            summary: ChangeTally::default(),
        }
    }
}

/// After a revoke: what still reads the buckets, as the findings name it (the `Action` entries,
/// the resources, the statement), or `None` when nothing does.
fn revoke_hint(buckets: &[String], findings: &[Finding]) -> Option<String> {
    let mut items: Vec<String> = Vec::new();
    for finding in findings.iter().filter(|f| f.kind == FindingKind::StillReadable) {
        let place = match &finding.policy {
            Some(policy) => format!("policy {policy}, statement {}", finding.statement),
            None => format!("statement {}", finding.statement),
        };
        let item = match finding.action_entries.as_slice() {
            [] => format!("{place} (see its note)"),
            entries => format!("{} on {} in {place}", entries.join(", "), finding.resources.join(", ")),
        };
        if !items.contains(&item) {
            items.push(item);
        }
    }
    let unreadable = findings.iter().any(|f| f.kind == FindingKind::Unreadable);
    if items.is_empty() && !unreadable {
        return None;
    }
    let mut hint = String::new();
    if !items.is_empty() {
        hint.push_str(&format!("{} can still be read: remove {} (detach a managed policy, or edit it), ", buckets.join(", "), items.join("; ")));
    }
    if unreadable {
        hint.push_str("check by hand the policies that could not be read, ");
    }
    hint.push_str("then run the revoke again; `flowgate access list` shows every statement that still reads a bucket");
    Some(hint)
}

fn names(buckets: &[BucketName]) -> Vec<String> {
    buckets.iter().map(|b| b.to_string()).collect::<BTreeSet<_>>().into_iter().collect()
}

async fn edit_via_stack(ctx: &Ctx, args: &AccessEditArgs, edit: AccessEdit, name: &str, params: &StackParameters) -> Result<AccessEditReport> {
    let identity = ctx.identity().await?.clone();
    // The current grant is the stack's StorageBucketNames parameter (with StorageAccess), which is
    // what CloudFormation renders into the policy; the StorageBuckets output is only a copy that
    // can be stale or absent.
    let asked: BTreeSet<String> = names(&args.buckets).into_iter().collect();
    let desired = access_plan::stack_edit(params, &asked, edit);
    let mut report = AccessEditReport::new(edit, "stack", name, asked.iter().cloned().collect(), ctx.dry_run);
    if edit == AccessEdit::Revoke {
        report.findings = still_readable_outside_stack(ctx, &params.role_name, &args.buckets, &identity.partition).await;
    }
    if desired == *params {
        for bucket in &asked {
            let detail = if edit == AccessEdit::Grant { "already granted by the stack" } else { "not granted by the stack" };
            report.changes.push(Change::new("storage-access", bucket, ChangeStatus::Skipped, detail));
        }
        report.summary = ChangeTally::of(&report.changes);
        return Ok(report);
    }
    if let Some(reason) = access_plan::stack_edit_refusal(params, &desired, &asked, edit) {
        return Err(Error::refused(
            format!("stack {name}: {reason}; nothing was changed"),
            Some("check the stack's StorageBucketNames parameter (flowgate stack status) and run again".to_owned()),
        ));
    }
    let wanted = desired.storage_buckets.clone();
    // The same template the stack runs, every other parameter unchanged: only the bucket list
    // (and, when it empties, StorageAccess) changes, through stack deploy's change-set path.
    let client = ctx.cloudformation();
    let template = cfn::template_body(&client, name).await?.unwrap_or_else(|| crate::core::stack_plan::TEMPLATE.to_owned());
    let request = DeployRequest {
        stack_name: name.to_owned(),
        account: identity.account.clone(),
        partition: identity.partition.clone(),
        vendor_account: Some(params.vendor_account.clone()),
        external_id: Some(params.external_id.clone()),
        role_name: Some(params.role_name.clone()),
        storage_access: !wanted.is_empty(),
        storage_buckets: wanted,
        // Only the buckets change: the compliance account and the write mode stay as they are.
        compliance_account: params.compliance_account.clone(),
        no_compliance: params.compliance_account.is_none(),
        read_write: params.read_write,
        template,
        no_wait: args.wait.no_wait,
        wait_timeout: Duration::from_secs(args.wait.wait_timeout),
    };
    // Who acts where, before the plan, as every other plan says it.
    ctx.printer.text(format_args!("{}\n", ctx.identity_line().await?))?;
    let deployed = deploy_stack(&client, &ctx.printer, ctx.mode(), &request).await?;
    report.changes = deployed.changes.clone();
    report.summary = deployed.summary;
    report.stack = Some(deployed);
    Ok(report)
}

/// Stack mode: whether the revoked buckets stay readable through a policy of the stack's role
/// other than the one the stack manages (its inline `FlowgateStorageRead`, which the redeploy
/// edits).
async fn still_readable_outside_stack(ctx: &Ctx, role: &str, buckets: &[BucketName], partition: &str) -> Vec<Finding> {
    match read_role_policies(ctx, role).await {
        Ok(read) => {
            let others: Vec<NamedPolicy> =
                read.policies.into_iter().filter(|p| !(p.source == PolicySource::Inline && p.name == STACK_POLICY_NAME)).collect();
            let mut findings = role_policy::still_readable(&others, buckets, partition);
            findings.extend(
                read.problems
                    .into_iter()
                    .map(|problem| Finding::new(FindingKind::Unreadable, "", format!("{problem}: whether it grants the bucket is not known"))),
            );
            findings
        }
        Err(e) => vec![Finding::new(
            FindingKind::Unreadable,
            "",
            format!("the policies of role {role} could not be read ({e}): whether another policy grants the bucket is not known"),
        )],
    }
}

/// The inline policy the role stack's template attaches (its `PolicyName`).
const STACK_POLICY_NAME: &str = "FlowgateStorageRead";

/// The inline policy a grant edits.
fn policy_for_grant(explicit: Option<&str>, parsed: &[(String, NamedPolicy)]) -> String {
    if let Some(name) = explicit {
        return name.to_owned();
    }
    let has_sid = |doc: &serde_json::Map<String, serde_json::Value>, wanted: &str| {
        crate::core::policy_doc::statements(doc).unwrap_or_default().iter().any(|s| crate::core::policy_doc::sid(s) == Some(wanted))
    };
    if let Some((name, _)) = parsed.iter().find(|(_, p)| has_sid(&p.document, OBJECT_READ_SID) || has_sid(&p.document, BUCKET_READ_SID)) {
        return name.clone();
    }
    if parsed.len() == 1 {
        return parsed[0].0.clone();
    }
    let mentions_s3 = |doc: &serde_json::Map<String, serde_json::Value>| serde_json::Value::Object(doc.clone()).to_string().contains("s3:");
    parsed.iter().find(|(_, p)| mentions_s3(&p.document)).map(|(n, _)| n.clone()).unwrap_or_else(|| DEFAULT_POLICY_NAME.to_owned())
}

fn editor_error(e: role_policy::RolePolicyError, role: &str, policy: &str) -> Error {
    Error::refused(format!("role {role}, policy {policy}: {e}"), None)
}

// Long (~100 lines): the grant and revoke judgements over every policy of the role, then one step per edited policy.
async fn edit_via_role(ctx: &Ctx, args: &AccessEditArgs, way: AccessEdit, role: &str) -> Result<AccessEditReport> {
    let identity = ctx.identity().await?.clone();
    let client = ctx.iam();
    if iam::get_role(&client, role).await?.is_none() {
        return Err(Error::refused(format!("role {role} does not exist"), Some("check --role-name (IAM console, Roles)".to_owned())));
    }
    let texts = inline_policies(&client, role).await?;
    let parsed: Vec<(String, NamedPolicy)> = texts
        .iter()
        .map(|(name, text)| {
            NamedPolicy::parse(name.clone(), PolicySource::Inline, text).map(|p| (name.clone(), p)).map_err(|e| editor_error(e, role, name))
        })
        .collect::<Result<_>>()?;
    let asked = names(&args.buckets);
    let mut report = AccessEditReport::new(way, "role", role, asked.clone(), ctx.dry_run);

    // Managed policies are never edited, but they decide whether the bucket stays readable after
    // a revoke, or whether a Deny blocks a grant.
    let (managed, unreadable) = managed_policies(&client, role).await;
    report.findings.extend(unreadable);

    // (policy name, edit) for every policy that changes.
    let mut edits: Vec<(String, Edit)> = Vec::new();
    if way == AccessEdit::Grant {
        let policy = policy_for_grant(args.target.policy_name.as_deref(), &parsed);
        let current = parsed.iter().find(|(n, _)| n == &policy).map(|(_, p)| p.document.clone()).unwrap_or_default();
        let other_inline_chars: usize =
            parsed.iter().filter(|(n, _)| n != &policy).map(|(_, p)| serde_json::Value::Object(p.document.clone()).to_string().len()).sum();
        let options = GrantOptions { narrow_wildcard: args.narrow_wildcard, other_inline_chars };
        let edit = role_policy::grant(&current, &args.buckets, &identity.partition, &options).map_err(|e| editor_error(e, role, &policy))?;
        // The editor sees one document; a Deny anywhere in the role's policies blocks the grant.
        report.findings.extend(edit.findings.iter().filter(|f| f.kind != FindingKind::Denied).cloned());
        let mut after: Vec<NamedPolicy> = parsed.iter().filter(|(n, _)| n != &policy).map(|(_, p)| p.clone()).collect();
        after.push(NamedPolicy { name: policy.clone(), source: PolicySource::Inline, document: edit.document.clone() });
        after.extend(managed.iter().cloned());
        report.findings.extend(role_policy::grant_denied(&after, &args.buckets, &identity.partition));
        edits.push((policy, edit));
    } else {
        let mut after = Vec::new();
        for (name, policy) in &parsed {
            let edit = role_policy::revoke(&policy.document, &args.buckets, &identity.partition).map_err(|e| editor_error(e, role, name))?;
            if !edit.delete_policy {
                after.push(NamedPolicy { name: name.clone(), source: PolicySource::Inline, document: edit.document.clone() });
            }
            edits.push((name.clone(), edit));
        }
        // A split repeats part of a statement: the role's inline policies share IAM's size limit.
        let chars: usize = after.iter().map(|p| serde_json::Value::Object(p.document.clone()).to_string().chars().count()).sum();
        if chars > role_policy::ROLE_INLINE_POLICY_MAX_CHARS {
            return Err(editor_error(
                role_policy::RolePolicyError::TooLarge { chars, limit: role_policy::ROLE_INLINE_POLICY_MAX_CHARS },
                role,
                "(all inline policies)",
            ));
        }
        // Whether the bucket stays readable is judged over every policy of the role as it will be.
        after.extend(managed.iter().cloned());
        report.findings.extend(role_policy::still_readable(&after, &args.buckets, &identity.partition));
    }
    let mut steps: Vec<Step> = Vec::new();
    for (policy, edit) in edits {
        if !edit.changed {
            continue;
        }
        let (action, detail) = if edit.delete_policy {
            ("delete-role-policy", "no statement left: delete the inline policy".to_owned())
        } else {
            ("put-role-policy", format!("{} statement change(s)", edit.changes.len()))
        };
        let change = Change::new(action, format!("{role}/{policy}"), ChangeStatus::Planned, detail);
        report.changes.push(change.clone());
        report.diff.extend(edit.changes.clone());
        let client = &client;
        steps.push(Step::new(vec![change], async move {
            if edit.delete_policy {
                iam::delete_role_policy(client, role, &policy).await?;
            } else {
                iam::put_role_policy(client, role, &policy, &edit.document_text()).await?;
            }
            Ok(Done::Changed)
        }));
    }
    if steps.is_empty() {
        for bucket in &asked {
            let detail = if way == AccessEdit::Grant { "already granted" } else { "not granted by the role's inline policies" };
            let change = Change::new("storage-access", bucket, ChangeStatus::Skipped, detail);
            report.changes.push(change.clone());
            steps.push(Step::shown(vec![change]));
        }
    }
    ctx.printer.text(format_args!("{}\nPlan for role {role}:\n{}", ctx.identity_line().await?, render_changes(&report.changes)))?;
    for change in &report.diff {
        ctx.printer.text(format_args!("{change}\n"))?;
    }
    // Each inline policy is its own document: one failing does not stop the others.
    let plan = Plan::new(steps, OnFailure::Continue { concurrency: 1 });
    let pending = plan.pending();
    let outcome = apply::run(ctx.mode(), &ctx.printer, plan, &format!("Apply {pending} policy change(s) to role {role}?")).await?;
    report.changes = outcome.changes();
    report.summary = outcome.tally;
    Ok(report)
}

/// Before any call: the least inline policy that grants `buckets` (flowgate's two statements,
/// in a document of their own, as a grant writes them on a role that has none) passes IAM's size
/// of a role's inline policies. Every mode writes at least that much (the stack's template a bit
/// more, and a role's other policies add theirs, judged once read), so the input alone is too big
/// (exit 2), whichever role it is for.
fn check_grant_size(buckets: &[BucketName], partition: &str) -> Result<()> {
    let fits = |n: usize| {
        !matches!(
            role_policy::grant(&Default::default(), &buckets[..n], partition, &GrantOptions::default()),
            Err(role_policy::RolePolicyError::TooLarge { .. })
        )
    };
    let chars = match role_policy::grant(&Default::default(), buckets, partition, &GrantOptions::default()) {
        Err(role_policy::RolePolicyError::TooLarge { chars, .. }) => chars,
        _ => return Ok(()),
    };
    // The grant grows with every bucket: the largest prefix that fits, by bisection.
    let (mut low, mut high) = (0, buckets.len());
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        if fits(middle) { low = middle } else { high = middle }
    }
    Err(Error::input(
        format!(
            "granting {} bucket(s) takes at least {} characters of inline policy, over IAM's role policy size of {} (all inline policies of a role together, whitespace not counted)",
            buckets.len(),
            limits::grouped(chars),
            limits::grouped(role_policy::ROLE_INLINE_POLICY_MAX_CHARS)
        ),
        Some(format!(
            "one role can be granted at most {low} of these buckets: grant them to several roles (a role stack each: flowgate stack deploy --stack-name NAME --role-name NAME), or have the flow logs deliver to fewer buckets; a wildcard such as 'flowlogs-*' is not granted"
        )),
    ))
}

fn narrow_wildcard_in_stack_mode() -> Error {
    Error::input("--narrow-wildcard edits a hand-made role's policy", Some("use it with --via role --role-name NAME".to_owned()))
}

pub async fn edit(ctx: &Ctx, args: &AccessEditArgs, edit: AccessEdit) -> Result<AccessEditReport> {
    // Narrowing replaces a wildcard with the buckets that stay readable; a revoke names the ones
    // that go, so it cannot know which stay: refused rather than guessed.
    if args.narrow_wildcard && edit == AccessEdit::Revoke {
        return Err(Error::input(
            "--narrow-wildcard narrows a wildcard to the buckets granted; a revoke names the buckets taken away",
            Some(
                "narrow first with `flowgate access grant --narrow-wildcard --bucket B...` naming the buckets that stay readable, then revoke"
                    .to_owned(),
            ),
        ));
    }
    if args.narrow_wildcard && args.target.via == Some(AccessVia::Stack) {
        return Err(narrow_wildcard_in_stack_mode());
    }
    if edit == AccessEdit::Grant {
        check_grant_size(&args.buckets, partition_of_region(&ctx.home_region))?;
    }
    let (mut report, role, permissions) = match resolve_target(ctx, &args.target).await? {
        Target::Stack { name, params, .. } => {
            if args.narrow_wildcard {
                return Err(narrow_wildcard_in_stack_mode());
            }
            (edit_via_stack(ctx, args, edit, &name, &params).await?, params.role_name, "-stack")
        }
        Target::Role { role } => (edit_via_role(ctx, args, edit, &role).await?, role, ""),
    };
    if edit == AccessEdit::Revoke {
        report.hint = revoke_hint(&report.buckets, &report.findings);
    }
    let stack_failed = report.stack.as_ref().is_some_and(|s| s.exit_status() != ExitStatus::Success);
    let settled = !report.dry_run && !report.summary.interrupted && report.summary.failed == 0 && !stack_failed;
    if settled {
        let permissions = format!("{}{permissions}", report.command.replace(' ', "-"));
        let changed = report.summary.steps_applied > 0;
        report.aws_verdicts =
            verdicts_after(ctx, &role, &args.buckets, &permissions, Simulate::from_flag(args.simulate.no_simulate), changed).await?;
    }
    Ok(report)
}

/// IAM is eventually consistent: a policy just written may not yet be the one the simulator
/// reads (IAM User Guide, "Changes that I make are not always immediately visible"). After a
/// change, a disagreement is asked again after each of these pauses before it counts.
const SETTLE_DELAYS: [Duration; 3] = [Duration::from_secs(1), Duration::from_secs(2), Duration::from_secs(4)];

/// AWS's verdict on the role's reads of `buckets` as the edit left them, beside flowgate's on the
/// role's policies read again. Policies that cannot be read again are a warning: the edit stands.
async fn verdicts_after(
    ctx: &Ctx,
    role: &str,
    buckets: &[BucketName],
    permissions: &str,
    simulate: Simulate,
    changed: bool,
) -> Result<BTreeMap<String, AwsVerdict>> {
    let buckets: Vec<BucketName> = buckets.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect();
    let mut pauses = SETTLE_DELAYS.iter().filter(|_| changed);
    loop {
        let read = match read_role_policies(ctx, role).await {
            Ok(read) => read,
            Err(e) => {
                crate::output::warn(format!("the policies of role {role} could not be read again ({e}): AWS's policy simulator was not asked"));
                return Ok(BTreeMap::new());
            }
        };
        let verdicts = simulated_reads(ctx, &read, &buckets, permissions, simulate).await?;
        match pauses.next() {
            Some(pause) if verdicts.iter().any(AwsVerdict::disagrees) => tokio::time::sleep(*pause).await,
            _ => return Ok(buckets.iter().map(|b| b.to_string()).zip(verdicts).collect()),
        }
    }
}

/// AWS's policy simulator on the role's reads of each bucket, beside flowgate's verdict on the
/// role's policies as `read` holds them. The object asked about is under the delivery path of the
/// account's flow logs in the home region, without a prefix (the one a bucket has by default).
async fn simulated_reads(ctx: &Ctx, read: &RolePolicies, buckets: &[BucketName], permissions: &str, simulate: Simulate) -> Result<Vec<AwsVerdict>> {
    let identity = ctx.identity().await?.clone();
    let partition = identity.partition.as_str();
    let objects: Vec<String> = buckets
        .iter()
        .map(|bucket| {
            let path = DeliveryPath { prefix: None, hive: false, account: &identity.account, region: &ctx.home_region };
            delivery_object_arn(bucket, partition, &path)
        })
        .collect();
    let questions: Vec<ReadQuestion<'_>> = buckets
        .iter()
        .zip(&objects)
        .map(|(bucket, object_arn)| ReadQuestion { role_arn: &read.arn, policies: &read.policies, bucket, partition, object_arn, permissions })
        .collect();
    Ok(aws_verdicts(&ctx.iam(), &questions, simulate).await)
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct AccessListReport {
    pub command: &'static str,
    pub role: String,
    pub role_arn: String,
    pub trust: TrustAssessment,
    pub policies: Vec<String>,
    /// The account ids among the trusted principals (the vendor's, and a compliance account).
    pub trusted_accounts: Vec<String>,
    /// The vendor permission sets the role's policies grant beyond storage: compliance-read,
    /// segmentation-write (judged from the actions; see `vendor_permissions`).
    pub permission_sets: Vec<&'static str>,
    /// Whether the role may change security-group rules (the vendor's read-write mode), and with
    /// which actions. This is not about S3: each bucket's `s3_writes` lists the S3 writes the
    /// role's policies allow on it.
    pub can_write: bool,
    pub write_actions: Vec<String>,
    #[serde(flatten)]
    pub access: AccessReport,
    #[serde(skip)]
    strict: bool,
}

impl fmt::Display for AccessListReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "role {} ({})", self.role, self.role_arn)?;
        let guard = if self.trust.requires_external_id { "requires the ExternalId" } else { "does NOT require an ExternalId" };
        writeln!(
            f,
            "  trusted by {}: {guard}",
            if self.trust.principals.is_empty() { "no AWS principal".to_owned() } else { self.trust.principals.join(", ") }
        )?;
        writeln!(f, "  policies: {}", self.policies.join(", "))?;
        writeln!(f, "  trusted accounts: {}", if self.trusted_accounts.is_empty() { "none".to_owned() } else { self.trusted_accounts.join(", ") })?;
        if !self.permission_sets.is_empty() {
            writeln!(f, "  permission sets: {}", self.permission_sets.join(", "))?;
        }
        let rules = if self.can_write {
            format!("WRITE, the vendor's read-write mode ({})", self.write_actions.join(", "))
        } else {
            "read-only (no write action of the vendor's read-write mode)".to_owned()
        };
        writeln!(f, "  security-group rules: {rules}")?;
        if self.access.buckets.is_empty() {
            writeln!(f, "  no bucket is named in an S3 statement")?;
        }
        for bucket in &self.access.buckets {
            let (what, by) = match &bucket.readability {
                Readability::Allowed { by } => ("READABLE", grants_words(by)),
                Readability::Denied { by } => ("denied", denies_words(by)),
                Readability::Conditional { allowed_by, denied_by } => {
                    ("conditional", format!("{}{}", grants_words(allowed_by), may_deny_words(denied_by)))
                }
                Readability::NotGranted => ("not readable", String::new()),
            };
            writeln!(f, "  {:<40} {what:<12} {by}", bucket.bucket.to_string())?;
            if !bucket.denied_reads.is_empty() {
                let taken: Vec<Grant> = bucket
                    .denies
                    .iter()
                    .filter(|d| !d.conditional)
                    .map(|d| Grant { actions: d.actions.iter().filter(|a| bucket.denied_reads.contains(a)).cloned().collect(), ..d.clone() })
                    .filter(|d| !d.actions.is_empty())
                    .collect();
                writeln!(f, "  {:<40} {}", "", denies_words(&taken))?;
            }
            writeln!(f, "  {:<40} S3 writes: {}", "", s3_writes_words(&bucket.s3_writes, &bucket.s3_conditional_writes))?;
            if let Some(verdict) = &bucket.aws_verdict {
                writeln!(f, "  {:<40} {}", "", verdict.words())?;
                if let Some(fix) = verdict.fix() {
                    writeln!(f, "  {:<40} fix: {fix}", "")?;
                }
            }
        }
        for wildcard in &self.access.wildcard_allows {
            let scope = if wildcard.all_buckets { "ALL BUCKETS" } else { "a bucket pattern" };
            writeln!(f, "  wildcard: {} grants {scope} ({}): {}", wildcard.statement, wildcard.resource, wildcard.actions.join(", "))?;
        }
        for problem in &self.access.problems {
            writeln!(f, "  problem: {problem}")?;
        }
        Ok(())
    }
}

/// `s3:GetObject, s3:ListBucket through inline policy P, statement Sid "X"; ...`: the actions
/// each statement allows (or denies), one statement after the other.
fn grants_words(grants: &[Grant]) -> String {
    let mut by_statement: Vec<(String, Vec<&str>)> = Vec::new();
    for grant in grants {
        let statement = grant.statement.to_string();
        let index = match by_statement.iter().position(|(s, _)| *s == statement) {
            Some(index) => index,
            None => {
                by_statement.push((statement, Vec::new()));
                by_statement.len() - 1
            }
        };
        let actions = &mut by_statement[index].1;
        actions.extend(grant.actions.iter().map(String::as_str).filter(|a| !actions.contains(a)).collect::<Vec<_>>());
    }
    by_statement.iter().map(|(statement, actions)| format!("{} through {statement}", actions.join(", "))).collect::<Vec<_>>().join("; ")
}

/// `s3:GetObject denied by the bucket policy, statement Sid "X"; ...`: each statement that
/// denies, after the actions it denies.
fn denies_words(grants: &[Grant]) -> String {
    let mut by_statement: Vec<(String, Vec<&str>)> = Vec::new();
    for grant in grants {
        let statement = grant.statement.to_string();
        match by_statement.iter_mut().find(|(s, _)| *s == statement) {
            Some((_, actions)) => actions.extend(grant.actions.iter().map(String::as_str).filter(|a| !actions.contains(a)).collect::<Vec<_>>()),
            None => by_statement.push((statement, grant.actions.iter().map(String::as_str).collect())),
        }
    }
    by_statement.iter().map(|(statement, actions)| format!("{} denied by {statement}", actions.join(", "))).collect::<Vec<_>>().join("; ")
}

/// `; may be denied by the bucket policy, statement Sid "X" if condition aws:SourceIp`, for the
/// bucket policy's denies whose conditions flowgate cannot judge.
fn may_deny_words(denies: &[Grant]) -> String {
    denies
        .iter()
        .filter(|d| !d.depends_on.is_empty())
        .map(|d| format!("; may be denied by {} if {}", d.statement, d.depends_on.join(" and ")))
        .collect::<Vec<_>>()
        .concat()
}

fn s3_writes_words(writes: &[String], conditional: &[String]) -> String {
    match (writes.is_empty(), conditional.is_empty()) {
        (true, true) => "none".to_owned(),
        (false, true) => writes.join(", "),
        (true, false) => format!("only under a condition: {}", conditional.join(", ")),
        (false, false) => format!("{}; under a condition: {}", writes.join(", "), conditional.join(", ")),
    }
}

impl Report for AccessListReport {
    fn exit_status(&self) -> ExitStatus {
        // AWS's simulator disagreeing with flowgate on a bucket: the list is not what the vendor gets.
        let disagrees = self.access.buckets.iter().any(|b| b.aws_verdict.as_ref().is_some_and(AwsVerdict::disagrees));
        if disagrees || (self.strict && !self.access.wildcard_allows.is_empty()) { ExitStatus::Failure } else { ExitStatus::Success }
    }
}

pub async fn list(ctx: &Ctx, args: &AccessListArgs) -> Result<AccessListReport> {
    let role = audited_role(ctx, &args.target).await?;
    let RoleAccess { read, mut access, vendor, .. } = role_access(ctx, &role, &[]).await?.ok_or_else(|| {
        Error::refused(format!("role {role} does not exist"), Some("check --role-name or the stack (flowgate stack status)".to_owned()))
    })?;
    let buckets: Vec<BucketName> = access.buckets.iter().map(|b| b.bucket.clone()).collect();
    let simulate = Simulate::from_flag(args.simulate.no_simulate);
    let verdicts = simulated_reads(ctx, &read, &buckets, "access-list", simulate).await?;
    for (bucket, verdict) in access.buckets.iter_mut().zip(verdicts) {
        bucket.aws_verdict = Some(verdict);
    }
    Ok(AccessListReport {
        command: "access list",
        role: read.role,
        role_arn: read.arn,
        trusted_accounts: trusted_account_ids(&read.trust.principals),
        permission_sets: vendor.set_names(),
        can_write: vendor.can_write(),
        write_actions: vendor.write_actions,
        trust: read.trust,
        policies: read.policies.iter().map(|p| p.name.clone()).collect(),
        access,
        strict: args.strict,
    })
}
