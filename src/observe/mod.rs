//! What flowgate reads from an account before it plans, where several commands need the same
//! observation: the regions and their flow-log coverage, and the vendor role with its policies.
//! Commands observe through here (or an adapter in `aws`), plan in `core`, and apply through
//! `apply`; they do not import each other's observations.

pub mod regions;
pub mod role;
