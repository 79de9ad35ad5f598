//! `flowgate org onboard | status | verify | offboard`: a whole AWS Organization as one plan.
//! AWS's own multi-account engine deploys the roles (one service-managed StackSet with
//! auto-deployment, in one region: IAM is global); flowgate's flow-log engine, the one
//! `flowlogs enable` runs, is fanned out over the accounts through the operator role the StackSet
//! deploys. The management account, which a service-managed StackSet never reaches, gets the
//! single-account stack. The central bucket's policy names every account in scope before any of
//! them creates a flow log to it.
//!
//! The steps, each in a room of its own (the judgements they make are in the core's `org_*`):
//! - `discover`: the caller, the organization's tree, the scope; the run acting in an account
//! - `plan`: the onboard plan (prerequisites, bucket and delivery policy, StackSet, management
//!   stack, storage override, flow logs per account)
//! - `apply`: the onboard plan applied, step by step
//! - `stackset`: the StackSet's parameters and operations
//! - `flowlogs`: the per-account flow-log pass through the operator roles
//! - `regions`: each account's regions (opt-in regions are enabled per account)
//! - `inspect`: `org status` and `org verify`
//! - `offboard`, `offboard_policy`: `org offboard`, and its edit of the central bucket's policy
//! - `report`, `display`: the report every org command returns, and how people read it
//! - `report_file`: `org verify --report`, the report as a document an auditor files

mod apply;
mod discover;
mod display;
mod flowlogs;
mod inspect;
mod offboard;
mod offboard_policy;
mod plan;
mod regions;
mod report;
mod report_file;
mod stackset;
mod watch;

pub use inspect::inspect;
pub use offboard::offboard;
pub use report::{AccountEntry, OrgReport, Organization, VendorAccess};
pub use report_file::write_report;

use crate::apply::Decision;
use crate::cli::OrgOnboardArgs;
use crate::context::Ctx;
use crate::error::Result;
use display::PlanText;

/// `org onboard`: discovery and the plan (read-only), one confirmation, then the plan applied.
pub async fn onboard(ctx: &Ctx, args: &OrgOnboardArgs) -> Result<OrgReport> {
    plan::check_input(args)?;
    let (plan, mut report) = plan::plan_onboard(ctx, args).await?;
    (report.would_change, report.drift_exit_code) = (Some(report.summary.planned > 0), args.exit_code);
    let org_id = &plan.view.tree.org_id;
    report::show_plan(ctx, format_args!("{}\nPlan for organization {org_id}:\n{}", ctx.identity_line().await?, PlanText(&report)))?;
    let pending = report.summary.planned;
    let question = format!("Apply {pending} change(s) to organization {org_id}?");
    if crate::apply::confirm(ctx.mode(), pending, &question)? != Decision::Apply {
        return Ok(report);
    }
    apply::apply_onboard(ctx, args, plan, report).await
}
