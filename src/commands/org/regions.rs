//! Each account's regions, read through its role: opt-in regions are enabled per account (see the
//! core's `org_regions`), so `--regions` means, in each account, the requested regions enabled
//! there; the others are skipped for that account only, and `--regions` is refused (exit 2) only
//! for a region no account in scope has enabled.

use crate::aws::ec2;
use crate::cli::ScopeArgs;
use crate::context::Ctx;
use crate::core::flowlog_plan::usable_regions;
use crate::core::org_regions::{self, AccountRegions};
use crate::error::{Error, Result};

/// One account's part of `--regions`.
pub(super) struct AccountScope {
    /// The scope in the account: the requested regions it has enabled (every region it has
    /// enabled without `--regions`); `None`: none of the requested ones.
    pub scope: Option<ScopeArgs>,
    /// The account's regions, read with `--regions` (without, the engine reads them itself).
    pub regions: Option<AccountRegions>,
}

/// The account's regions for `scope` (DescribeRegions through the account's own credentials, only
/// when `--regions` asks for some).
pub(super) async fn account_scope(member: &Ctx, scope: &ScopeArgs) -> Result<AccountScope> {
    if scope.regions.is_empty() {
        return Ok(AccountScope { scope: Some(scope.clone()), regions: None });
    }
    let partition = member.identity().await?.partition.clone();
    let all = ec2::describe_regions(&member.ec2(&member.home_region)).await?;
    let regions = AccountRegions { known: all.iter().map(|r| r.name.clone()).collect(), enabled: usable_regions(&all, &partition) };
    let (work, _) = org_regions::narrow(&requested(scope), &regions.enabled);
    let narrowed = scope.regions.iter().filter(|r| work.iter().any(|w| w == r.as_str())).cloned().collect::<Vec<_>>();
    let scope = (!narrowed.is_empty()).then(|| ScopeArgs { regions: narrowed, ..scope.clone() });
    Ok(AccountScope { scope, regions: Some(regions) })
}

pub(super) fn requested(scope: &ScopeArgs) -> Vec<String> {
    scope.regions.iter().map(|r| r.to_string()).collect()
}

/// `--regions` checked against the accounts read (exit 2 for a region none of them has
/// enabled); with no account read (the first run, before the StackSet has deployed the roles),
/// against the caller's own regions.
pub(super) async fn check_requested(ctx: &Ctx, scope: &ScopeArgs, read: &[AccountRegions]) -> Result<()> {
    if scope.regions.is_empty() {
        return Ok(());
    }
    if read.is_empty() {
        return crate::observe::regions::resolve_regions(ctx, scope).await.map(|_| ());
    }
    org_regions::check_requested(&requested(scope), read).map_err(|message| {
        let enabled = org_regions::enabled_somewhere(read);
        Error::input(message, Some(format!("the regions enabled in the accounts read: {}", enabled.join(", "))))
    })
}
