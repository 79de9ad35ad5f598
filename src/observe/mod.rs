//! What flowgate reads from an account before it plans, where several commands need the same
//! observation: the regions and their flow-log coverage, the vendor role with its policies, and
//! what IAM's policy simulator says the role may read.
//! Commands observe through here (or an adapter in `aws`), plan in `core`, and apply through
//! `apply`; they do not import each other's observations.

pub mod regions;
pub mod role;
pub mod simulation;
