//! flowgate: onboards an AWS account to a flow-log analytics service.
//!
//! Layers, each using only those below it (see `layering` for the test that holds the rule):
//! `commands` (one module per subcommand: observe -> plan -> `apply::run` -> report) over
//! `observe` (what several commands read from an account) and `apply` (the one runner), over
//! `context` (configuration, clients, identity), over `aws` (thin SDK adapters), over `core` (the
//! pure judgement, a crate of its own).

pub mod apply;
pub mod aws;
/// The pure core, a crate of its own so that it cannot reach an AWS SDK or the network.
pub use flowgate_core as core;
pub mod cli;
pub mod commands;
pub mod context;
pub mod error;
pub mod interrupt;
pub mod observe;
pub mod output;

#[cfg(test)]
mod layering;
