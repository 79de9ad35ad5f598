//! flowgate's integration tests: one test binary (each file in tests/ would link its own large
//! binary), one module per capability. Emulator tests run the real binary against moto.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod support;

mod access;
mod bucket;
mod cli;
mod credentials;
mod dry_run;
mod flowlogs;
mod landing_zone;
mod limits;
mod live;
mod mocks;
mod onboard;
mod org;
mod parse;
mod permissions;
mod permissions_by_calls;
mod reliability;
mod report;
mod schemas;
mod snapshots;
mod stack;
mod vendor;
mod verify;
mod watch;
mod wizard;
