//! One module per command: observe (aws) -> plan (core) -> show -> apply (aws) -> report.

pub mod access;
pub mod bucket;
pub mod completions;
pub mod flowlogs;
pub mod offboard;
pub mod onboard;
pub mod parse;
pub mod permissions;
pub mod stack;
pub mod verify;
pub mod wizard;

use std::io::IsTerminal;

use crate::cli::{AccessCommand, BucketCommand, Cli, Command, FlowLogsCommand, StackCommand};
use crate::context::Ctx;
use crate::error::{Error, ExitStatus, Result};
use crate::output::Printer;

/// Runs the parsed command line and prints its report; returns the exit status.
pub async fn run(cli: Cli, printer: Printer) -> Result<ExitStatus> {
    // Commands that need no AWS configuration.
    let command = match cli.command {
        Command::Completions { shell } => return completions::completions(shell),
        Command::Man => return completions::man_page(),
        Command::Parse(args) => return run_parse(args, &printer),
        Command::Permissions(args) => return printer.report(&permissions::permissions(&args, cli.global.region.as_ref())?),
        aws => aws,
    };
    let ctx = Ctx::new(&cli.global, printer).await?;
    ctx.check_target_account().await?;
    let out = &ctx.printer;
    match command {
        Command::Bucket(BucketCommand::Create(args)) => out.report(&bucket::create(&ctx, &args).await?),
        Command::Bucket(BucketCommand::Check(args)) => out.report(&bucket::check(&ctx, &args).await?),
        Command::Flowlogs(FlowLogsCommand::Enable(args)) => out.report(&flowlogs::enable(&ctx, &args).await?),
        Command::Flowlogs(FlowLogsCommand::Status(args)) => out.report(&flowlogs::status(&ctx, &args).await?),
        Command::Flowlogs(FlowLogsCommand::Disable(args)) => out.report(&flowlogs::disable(&ctx, &args).await?),
        Command::Stack(StackCommand::Deploy(args)) => out.report(&stack::deploy(&ctx, &args).await?),
        Command::Stack(StackCommand::Status(args)) => out.report(&stack::status(&ctx, &args).await?),
        Command::Stack(StackCommand::Delete(args)) => out.report(&stack::delete(&ctx, &args).await?),
        Command::Access(AccessCommand::Grant(args)) => out.report(&access::edit(&ctx, &args, true).await?),
        Command::Access(AccessCommand::Revoke(args)) => out.report(&access::edit(&ctx, &args, false).await?),
        Command::Access(AccessCommand::List(args)) => out.report(&access::list(&ctx, &args).await?),
        Command::Verify(args) => out.report(&verify::verify(&ctx, &args).await?),
        Command::Onboard(args) => out.report(&onboard::onboard(&ctx, &args).await?),
        Command::Wizard(args) => out.report(&wizard::wizard(&ctx, &args).await?),
        Command::Offboard(args) => out.report(&offboard::offboard(&ctx, &args).await?),
        // Returned above, before any AWS configuration is loaded.
        Command::Completions { .. } | Command::Man | Command::Parse(_) | Command::Permissions(_) => Ok(ExitStatus::Success),
    }
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

/// What to do once a plan is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Apply,
    /// `--dry-run`: stop after the plan.
    DryRun,
    /// The plan has nothing to apply.
    NothingToDo,
}

/// How a run applies its plan: `--dry-run` and `--yes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ApplyMode {
    pub dry_run: bool,
    pub yes: bool,
}

/// Asks for confirmation of a plan with `pending` changes: `--yes` applies, `--dry-run` stops,
/// a terminal is asked, and anything else is refused (exit 2) rather than applied unasked.
pub fn confirm(ctx: &Ctx, pending: usize, question: &str) -> Result<Decision> {
    confirm_mode(ApplyMode { dry_run: ctx.dry_run, yes: ctx.yes }, pending, question)
}

pub fn confirm_mode(mode: ApplyMode, pending: usize, question: &str) -> Result<Decision> {
    if pending == 0 {
        return Ok(Decision::NothingToDo);
    }
    if mode.dry_run {
        return Ok(Decision::DryRun);
    }
    if mode.yes {
        return Ok(Decision::Apply);
    }
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(Error::input(
            format!("the plan has {pending} change(s) and no terminal to confirm them on"),
            Some("re-run with --yes to apply, or --dry-run to only see the plan".to_owned()),
        ));
    }
    let _prompt = crate::interrupt::PromptGuard::new();
    let answer = dialoguer::Confirm::new().with_prompt(question).default(false).interact_opt();
    match answer {
        Ok(Some(true)) => Ok(Decision::Apply),
        Ok(Some(false)) | Ok(None) => Err(Error::refused("not applied: the plan was declined", None)),
        Err(_) => Err(Error::Interrupted),
    }
}
