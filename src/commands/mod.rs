//! One module per command: observe (aws) -> plan (core) -> show -> apply (aws) -> report.

pub mod access;
pub mod bucket;
pub mod completions;
pub mod flowlogs;
pub mod offboard;
pub mod onboard;
pub mod org;
pub mod parse;
pub mod permissions;
pub mod schema;
pub mod stack;
pub mod verify;
pub mod verify_report;
pub mod watch;
pub mod wizard;

use crate::cli::{AccessCommand, BucketCommand, Cli, Command, FlowLogsCommand, OrgCommand, StackCommand, WatchCommand};
use crate::context::Ctx;
use crate::core::access_plan::AccessEdit;
use crate::core::names::{Partition, RegionName};
use crate::error::{Error, ExitStatus, Result};
use crate::observe::simulation::Simulate;
use crate::output::Printer;

/// Runs the parsed command line and prints its report; returns the exit status.
pub async fn run(cli: Cli, printer: Printer) -> Result<ExitStatus> {
    // Commands that need no AWS configuration.
    let command = match cli.command {
        Command::Completions { shell } => return completions::completions(shell),
        Command::Man => return completions::man_page(),
        Command::Parse(args) => return run_parse(args, &printer),
        Command::Permissions(args) => return printer.report(&permissions::permissions(&args, cli.global.region.as_ref())?),
        Command::Schema(args) => return printer.report(&schema::schema(&args)?),
        aws => aws,
    };
    let ctx = Ctx::new(&cli.global, printer).await?;
    check_bucket_partition(command.bucket_region(), &ctx.home_region)?;
    run_in_account(&ctx, command).await.map_err(|error| ctx.with_credentials_hint(error))
}

async fn run_in_account(ctx: &Ctx, command: Command) -> Result<ExitStatus> {
    ctx.check_target_account().await?;
    let out = &ctx.printer;
    match command {
        Command::Bucket(BucketCommand::Create(args)) => out.report(&bucket::create(ctx, &args).await?),
        Command::Bucket(BucketCommand::Check(args)) => out.report(&bucket::check(ctx, &args).await?),
        Command::Flowlogs(FlowLogsCommand::Enable(args)) => out.report(&flowlogs::enable(ctx, &args).await?),
        Command::Flowlogs(FlowLogsCommand::Status(args)) => out.report(&flowlogs::status(ctx, &args).await?),
        Command::Flowlogs(FlowLogsCommand::Disable(args)) => out.report(&flowlogs::disable(ctx, &args).await?),
        Command::Stack(StackCommand::Deploy(args)) => out.report(&stack::deploy(ctx, &args).await?),
        Command::Stack(StackCommand::Status(args)) => out.report(&stack::status(ctx, &args).await?),
        Command::Stack(StackCommand::Delete(args)) => out.report(&stack::delete(ctx, &args).await?),
        Command::Access(AccessCommand::Grant(args)) => out.report(&access::edit(ctx, &args, AccessEdit::Grant).await?),
        Command::Access(AccessCommand::Revoke(args)) => out.report(&access::edit(ctx, &args, AccessEdit::Revoke).await?),
        Command::Access(AccessCommand::List(args)) => out.report(&access::list(ctx, &args).await?),
        Command::Verify(args) => {
            let report = verify::verify(ctx, &args).await?;
            // Written before stdout is: a failure to write it is the one error document.
            if let Some(path) = &args.report {
                verify_report::write_report(&report, path)?;
            }
            out.report(&report)
        }
        Command::Watch(WatchCommand::Enable(args)) => out.report(&watch::enable(ctx, &args).await?),
        Command::Watch(WatchCommand::Status(args)) => out.report(&watch::status(ctx, &args).await?),
        Command::Watch(WatchCommand::Disable(args)) => out.report(&watch::disable(ctx, &args).await?),
        Command::Onboard(args) => out.report(&onboard::onboard(ctx, &args).await?),
        Command::Wizard(args) => out.report(&wizard::wizard(ctx, &args).await?),
        Command::Offboard(args) => out.report(&offboard::offboard(ctx, &args).await?),
        Command::Org(org_command) => match *org_command {
            OrgCommand::Onboard(args) => out.report(&org::onboard(ctx, &args).await?),
            OrgCommand::Status(args) => out.report(&org::inspect(ctx, &args, "org status", None).await?),
            OrgCommand::Verify(args) => {
                let simulate = Simulate::from_flag(args.simulate.no_simulate);
                let report = org::inspect(ctx, &args.status, "org verify", Some(simulate)).await?;
                // As verify's: written before stdout is, also when a check fails.
                if let Some(path) = &args.report {
                    org::write_report(&report, path)?;
                }
                out.report(&report)
            }
            OrgCommand::Offboard(args) => out.report(&org::offboard(ctx, &args).await?),
        },
        // Returned above, before any AWS configuration is loaded.
        Command::Completions { .. } | Command::Man | Command::Parse(_) | Command::Permissions(_) | Command::Schema(_) => Ok(ExitStatus::Success),
    }
}

/// A bucket in another partition than the home region cannot be reached by this run's
/// credentials (each partition has its own accounts and endpoints): refused before any call.
fn check_bucket_partition(bucket_region: Option<&RegionName>, home_region: &str) -> Result<()> {
    let Some(bucket_region) = bucket_region else { return Ok(()) };
    let (bucket_partition, home_partition) = (bucket_region.partition(), Partition::of_region(home_region));
    if bucket_partition == home_partition {
        return Ok(());
    }
    Err(Error::input(
        format!(
            "--bucket-region {bucket_region} is in the {bucket_partition} partition, the home region {home_region} in {home_partition}: \
             an account and its credentials belong to one partition"
        ),
        Some(format!("choose a bucket region in {home_partition}, or run with --region and a profile of a {bucket_partition} account")),
    ))
}

fn run_parse(mut args: crate::cli::ParseArgs, printer: &Printer) -> Result<ExitStatus> {
    args.files = parse::files_arg(&args.files);
    let (report, streamed) = match parse::parse(&args, printer.is_json()) {
        // The reader of the records went away (`| head`): it has what it wanted, and a summary of
        // the records read so far would describe nothing it asked for.
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => {
            crate::output::note_stdout_closed();
            return Ok(ExitStatus::Success);
        }
        other => other?,
    };
    for object in &report.objects {
        if let Some(error) = &object.error {
            crate::output::write_stderr(format_args!("error: {}: {error}\n", object.source));
        }
    }
    if streamed {
        // stdout carries the records: the summary goes to stderr.
        crate::output::write_stderr(&report);
        Ok(crate::output::Report::exit_status(&report))
    } else {
        printer.report(&report)
    }
}
