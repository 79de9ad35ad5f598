//! flowgate: onboards an AWS account to a flow-log analytics service.
//!
//! `core` holds the pure judgement (planners, policy editing, validation); `aws` the thin adapters
//! around SDK calls; `commands` ties them together per subcommand.

pub mod apply;
pub mod aws;
/// The pure core, a crate of its own so that it cannot reach an AWS SDK or the network.
pub use flowgate_core as core;
pub mod cli;
pub mod commands;
pub mod context;
pub mod error;
pub mod interrupt;
pub mod output;
