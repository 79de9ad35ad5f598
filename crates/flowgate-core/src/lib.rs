//! The pure core: planners, policy editing, validation. No AWS SDK types, no I/O, no async; every
//! judgement flowgate makes about an account lives here and is tested without a server.

pub mod access_denied;
pub mod access_plan;
pub mod aws_delivery;
pub mod aws_verdict;
pub mod bucket;
pub mod bucket_policy;
pub mod delivery;
pub mod delivery_policy;
pub mod evidence;
pub mod flowlog_parse;
pub mod flowlog_plan;
pub mod flowlog_synth;
pub mod format;
pub mod layout;
pub mod limits;
pub mod names;
pub mod operator_policy;
pub mod org_checks;
pub mod org_delivery;
pub mod org_grant;
pub mod org_offboard;
pub mod org_outcome;
pub mod org_regions;
pub mod org_scope;
pub mod org_stackset;
pub mod org_template;
pub mod policy_doc;
#[cfg(test)]
mod policy_strategies;
pub mod report;
pub mod resource_policy;
pub mod role_policy;
pub mod stack_plan;
pub mod stack_policies;
pub mod stack_template;
pub mod talkers;
pub mod trust;
pub mod vendor_access;
pub mod verify_checks;
pub mod watch;
