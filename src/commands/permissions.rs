//! `flowgate permissions COMMAND`: the least-privilege operator policy of a command, rendered for
//! the given names, so that an administrator can create the operator's role from flowgate's own
//! output. No AWS call: everything comes from the embedded policies.

use std::fmt;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::cli::PermissionsArgs;
use crate::core::names::{Partition, RegionName};
use crate::core::operator_policy::{self, PERMISSION_COMMANDS, PolicyNames, RenderError};
use crate::error::{Error, ExitStatus, Result};
use crate::output::Report;

/// The rendered policy document itself (the same JSON in text and JSON output, ready for
/// `aws iam create-policy --policy-document file://...`), or the list of commands.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum PermissionsReport {
    Policy(#[schemars(with = "crate::core::policy_doc::DocumentShape")] Value),
    Commands(Vec<&'static str>),
}

impl fmt::Display for PermissionsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PermissionsReport::Policy(policy) => {
                let text = serde_json::to_string_pretty(policy).map_err(|_| fmt::Error)?;
                writeln!(f, "{text}")
            }
            PermissionsReport::Commands(commands) => commands.iter().try_for_each(|c| writeln!(f, "{c}")),
        }
    }
}

impl Report for PermissionsReport {
    fn exit_status(&self) -> ExitStatus {
        ExitStatus::Success
    }
}

pub fn command_names() -> Vec<&'static str> {
    PERMISSION_COMMANDS.iter().map(|(slug, _)| *slug).collect()
}

/// The partition the policy's ARNs name: `--partition`, else the partition of `--region`, else aws.
pub fn partition(args: &PermissionsArgs, region: Option<&RegionName>) -> Partition {
    args.partition.or_else(|| region.map(RegionName::partition)).unwrap_or(Partition::AWS)
}

pub fn permissions(args: &PermissionsArgs, region: Option<&RegionName>) -> Result<PermissionsReport> {
    if args.list {
        return Ok(PermissionsReport::Commands(command_names()));
    }
    let command = args.command.join(" ");
    let names = PolicyNames {
        partition: partition(args, region),
        account: args.account.as_ref().map(|a| a.as_str().to_owned()),
        role_name: args.role_name.clone(),
        stack_name: args.stack_name.clone(),
        bucket: args.bucket.clone(),
        stack_set_name: args.stack_set_name.clone(),
        log_archive_role: args.log_archive_role.clone(),
        log_archive_account: args.log_archive_account.as_ref().map(|a| a.to_string()),
    };
    match operator_policy::render(&command, &names) {
        Ok(policy) => Ok(PermissionsReport::Policy(policy)),
        Err(RenderError::UnknownCommand(typed)) => Err(Error::input(
            format!("'{typed}' is not a flowgate command with an operator policy"),
            Some(format!("use one of: {}", command_names().join(", "))),
        )),
        Err(RenderError::NeedsBucket(slug)) => Err(Error::input(
            format!("the {slug} policy is scoped to the flow-log bucket"),
            Some(format!("pass --bucket NAME (flowgate permissions {slug} --bucket NAME)")),
        )),
        Err(invalid @ RenderError::Invalid(..)) => Err(Error::io("rendering the policy", std::io::Error::other(invalid.to_string()))),
    }
}
