//! flowgate: onboards an AWS account to a flow-log analytics service.
//!
//! `core` holds the pure judgement (planners, policy editing, validation); `aws` the thin adapters
//! around SDK calls; `commands` ties them together per subcommand.

pub mod aws;
pub mod cli;
pub mod commands;
pub mod context;
pub mod core;
pub mod error;
pub mod interrupt;
pub mod output;
