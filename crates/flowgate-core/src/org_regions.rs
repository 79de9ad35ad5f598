//! Each account's regions in an organization's flow-log pass. Opt-in regions are enabled per
//! account: DescribeRegions "Describes the Regions that are enabled for your account" (Amazon EC2
//! API Reference, DescribeRegions), and with `AllRegions` each region's `OptInStatus` is the
//! calling account's. So a member's regions come from that member (read through its operator
//! role), a region not enabled there is skipped for that member only and its plan says so, and
//! `--regions` is refused only when it names a region no account in scope has enabled.

use crate::report::{Change, ChangeStatus};

/// One account's regions, as read through its role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountRegions {
    /// Every region the account's partition lists (enabled or not).
    pub known: Vec<String>,
    /// The regions enabled for the account, in its partition.
    pub enabled: Vec<String>,
}

/// The requested regions one account works in (those it has enabled, in the order asked) and
/// those it skips (the rest).
pub fn narrow(requested: &[String], enabled: &[String]) -> (Vec<String>, Vec<String>) {
    let mut work: Vec<String> = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    for region in requested {
        let list = if enabled.contains(region) { &mut work } else { &mut skipped };
        if !list.contains(region) {
            list.push(region.clone());
        }
    }
    (work, skipped)
}

/// `--regions` against every account read: a requested region that no account has enabled is an
/// input error naming it (unknown to the partition, or enabled in none of them). `accounts` is
/// never empty when called: with no account read, the caller's own regions stand in.
pub fn check_requested(requested: &[String], accounts: &[AccountRegions]) -> Result<(), String> {
    let enabled_anywhere = |region: &String| accounts.iter().any(|a| a.enabled.contains(region));
    let known_anywhere = |region: &String| accounts.iter().any(|a| a.known.contains(region));
    let unknown: Vec<&str> = requested.iter().filter(|r| !known_anywhere(r)).map(String::as_str).collect();
    if !unknown.is_empty() {
        return Err(format!("region(s) {} unknown to the partition of the accounts in scope", unknown.join(", ")));
    }
    let nowhere: Vec<&str> = requested.iter().filter(|r| !enabled_anywhere(r)).map(String::as_str).collect();
    if !nowhere.is_empty() {
        return Err(format!(
            "region(s) {} not enabled in any of the {} account(s) read in scope (opt-in regions are enabled per account)",
            nowhere.join(", "),
            accounts.len()
        ));
    }
    Ok(())
}

/// Every region enabled in at least one of the accounts (sorted): the hint of a refused
/// `--regions`.
pub fn enabled_somewhere(accounts: &[AccountRegions]) -> Vec<String> {
    let mut all: Vec<String> = accounts.iter().flat_map(|a| a.enabled.iter().cloned()).collect();
    all.sort();
    all.dedup();
    all
}

/// The regions of the pass an account does not have enabled: the requested ones, or without
/// `--regions` those enabled in another account read (`in_play`), minus the account's own.
pub fn skipped_regions(in_play: &[String], enabled: &[String]) -> Vec<String> {
    in_play.iter().filter(|r| !enabled.contains(r)).cloned().collect()
}

/// The plan line of a region an account skips.
pub fn skip_line(account: &str, region: &str) -> Change {
    let detail = format!("not enabled in account {account} (an opt-in region it has not enabled): skipped for this account only");
    Change::new("skip-region", region, ChangeStatus::Skipped, detail).in_region(region)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(regions: &[&str]) -> Vec<String> {
        regions.iter().map(|r| r.to_string()).collect()
    }

    fn account(known: &[&str], enabled: &[&str]) -> AccountRegions {
        AccountRegions { known: names(known), enabled: names(enabled) }
    }

    #[test]
    fn an_account_works_in_the_requested_regions_it_has_enabled_and_skips_the_others() {
        let requested = names(&["eu-west-1", "us-east-1", "ap-east-1", "us-east-1"]);
        let (work, skipped) = narrow(&requested, &names(&["us-east-1", "ap-east-1"]));
        assert_eq!(work, ["us-east-1", "ap-east-1"]);
        assert_eq!(skipped, ["eu-west-1"]);
        assert_eq!(narrow(&requested, &[]), (Vec::new(), names(&["eu-west-1", "us-east-1", "ap-east-1"])));
    }

    #[test]
    fn a_requested_region_is_refused_only_when_no_account_has_it_enabled() {
        let all = ["us-east-1", "eu-west-1", "ap-east-1", "af-south-1"];
        let accounts = [account(&all, &["us-east-1", "eu-west-1"]), account(&all, &["us-east-1", "ap-east-1"])];
        assert_eq!(check_requested(&names(&["eu-west-1", "ap-east-1"]), &accounts), Ok(()));
        let refused = check_requested(&names(&["us-east-1", "af-south-1"]), &accounts).unwrap_err();
        assert!(refused.contains("af-south-1 not enabled in any of the 2 account(s)"), "{refused}");
        let unknown = check_requested(&names(&["xx-nowhere-1", "af-south-1"]), &accounts).unwrap_err();
        assert!(unknown.starts_with("region(s) xx-nowhere-1 unknown"), "{unknown}");
        assert_eq!(enabled_somewhere(&accounts), ["ap-east-1", "eu-west-1", "us-east-1"]);
    }

    #[test]
    fn the_regions_an_account_lacks_are_skipped_for_it_and_said_so() {
        let in_play = names(&["ap-east-1", "eu-west-1", "us-east-1"]);
        assert_eq!(skipped_regions(&in_play, &names(&["us-east-1", "eu-west-1"])), ["ap-east-1"]);
        assert!(skipped_regions(&in_play, &in_play).is_empty());
        let line = skip_line("111111111111", "ap-east-1");
        assert_eq!((line.action.as_str(), line.status, line.region.as_deref()), ("skip-region", ChangeStatus::Skipped, Some("ap-east-1")));
        assert!(line.detail.contains("not enabled in account 111111111111"), "{}", line.detail);
    }
}
