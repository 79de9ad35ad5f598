//! The flowgate binary: parse, run, print the report or the error, exit code. With the output
//! module, the only place allowed to print.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::ffi::OsString;
use std::process::ExitCode;

use tracing_subscriber::EnvFilter;

use flowgate::cli::Cli;
use flowgate::error::{AwsErrorKind, Error, ExitStatus};
use flowgate::interrupt;
use flowgate::output::{self, ErrorBody, ErrorDocument, OutputFormat, Printer};

/// Diagnostics on stderr; colour codes only for a terminal that takes them.
fn init_tracing(verbose: u8, color: bool) {
    let default = match verbose {
        // The SDK's own warnings (a credential provider that failed before the one that
        // answered) are noise until asked for: flowgate's error line says what went wrong.
        0 => "flowgate=warn,error",
        1 => "flowgate=debug,warn",
        _ => "flowgate=trace,aws_config=debug,info",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(color).with_target(false).try_init();
}

/// Prints `error:` and `hint:` on stderr and, in JSON mode, the error document on stdout (unless
/// the report was already written: one document, never two).
fn print_error(error: &Error, printer: &Printer) {
    eprintln!("{} {error}", console::style("error:").red().bold().for_stderr());
    let hint = match error {
        // A credentials failure before the profile was read (the commands add the profile's).
        Error::Aws { kind: AwsErrorKind::Credentials, hint: None, .. } => {
            Some(flowgate::aws::profile::credentials_hint(None, std::env::var_os("AWS_ACCESS_KEY_ID").is_some()))
        }
        other => other.hint().map(str::to_owned),
    };
    if let Some(hint) = &hint {
        eprintln!("{} {hint}", console::style("hint:").yellow().bold().for_stderr());
    }
    if let Err(e) = printer.error_document(&ErrorDocument::new(error, hint, printer.shown_plan())) {
        eprintln!("error: {e}");
    }
}

/// Whether the command line asks for JSON output, read from the raw arguments: for the errors
/// clap finds before it hands over a parsed command line. The last `--output` wins, as in clap.
fn json_requested(args: &[OsString]) -> bool {
    let mut json = false;
    let mut args = args.iter().skip(1).map(|a| a.to_str().unwrap_or(""));
    while let Some(arg) = args.next() {
        match arg {
            "--" => break,
            "--output" => json = args.next() == Some("json"),
            other => {
                if let Some(value) = other.strip_prefix("--output=") {
                    json = value == "json";
                }
            }
        }
    }
    json
}

/// A command line clap refused (or help/version it printed): clap's own text on its stream and,
/// when `--output json` was asked for, the error document on stdout as well.
fn command_line_error(error: clap::Error, args: &[OsString]) -> ExitCode {
    use clap::error::ErrorKind;
    let code = error.exit_code();
    let shown = error.print();
    if matches!(error.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        // Asked for: help and version are for people, and exit 0.
        if let Err(e) = shown
            && e.kind() != std::io::ErrorKind::BrokenPipe
        {
            eprintln!("error: writing to stdout: {e}");
            return ExitCode::from(1);
        }
        return ExitCode::SUCCESS;
    }
    if json_requested(args) {
        // clap's text: `error: WHAT` (continued on indented lines), then paragraphs of tips, usage
        // and where to find more, each after a blank line.
        let rendered = error.render().to_string();
        let paragraphs: Vec<String> = rendered
            .split("\n\n")
            .map(|p| p.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" "))
            .filter(|p| !p.is_empty())
            .collect();
        let (message, hint) = match paragraphs.split_first() {
            Some((first, rest)) if first.starts_with("error: ") => {
                (first.trim_start_matches("error: ").to_owned(), (!rest.is_empty()).then(|| rest.join(" ")))
            }
            // Help shown instead of an error: a subcommand or argument is missing.
            _ => ("a subcommand is required".to_owned(), Some("the usage is printed on stderr; see flowgate --help".to_owned())),
        };
        let document = ErrorDocument { error: ErrorBody { message, hint, exit_code: code, kind: "usage", aws_error_code: None, plan: None } };
        let _ = Printer::new(OutputFormat::Json, true).error_document(&document);
    }
    ExitCode::from(u8::try_from(code).unwrap_or(2))
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let cli = match Cli::parse_args(&args) {
        Ok(cli) => cli,
        Err(error) => return command_line_error(error, &args),
    };
    let no_color = cli.global.no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    if no_color {
        console::set_colors_enabled(false);
        console::set_colors_enabled_stderr(false);
    }
    init_tracing(cli.global.verbose, !no_color && std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let printer = Printer::new(cli.global.output, cli.global.quiet);

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            print_error(&Error::io("starting the async runtime", e), &printer);
            return ExitCode::from(1);
        }
    };
    // The command runs as a task so that Ctrl-C is seen even while it blocks in a prompt. The
    // first Ctrl-C during an apply lets the current step finish and the report be printed.
    let command_printer = printer.clone();
    let result = runtime.block_on(async {
        let mut command = tokio::spawn(flowgate::commands::run(cli, command_printer));
        loop {
            tokio::select! {
                result = &mut command => {
                    break result.unwrap_or_else(|e| Err(Error::io("running the command", std::io::Error::other(e))));
                }
                _ = tokio::signal::ctrl_c() => {
                    if interrupt::requested() || interrupt::prompting() {
                        break Err(Error::Interrupted);
                    }
                    interrupt::request();
                    eprintln!("interrupted: finishing the current step, then stopping (Ctrl-C again to stop at once)");
                }
            }
        }
    });
    // Do not wait for in-flight SDK calls after an interrupt.
    runtime.shutdown_background();
    let result = match result {
        Ok(_) if interrupt::requested() => Ok(ExitStatus::Interrupted),
        other => other,
    };
    // A reader that closed stdout (`| head`) has all it wanted: end quietly, as ripgrep does.
    let stdout_gone = |error: &Error| matches!(error, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe);
    let status = match result {
        _ if output::stdout_closed() => ExitStatus::Success,
        Err(error) if stdout_gone(&error) => ExitStatus::Success,
        Ok(status) => status,
        Err(error) => {
            print_error(&error, &printer);
            error.exit_status()
        }
    };
    debug_assert!(status != ExitStatus::Success || status.code() == 0);
    ExitCode::from(u8::try_from(status.code()).unwrap_or(1))
}
