use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use flowgate::cli::Cli;
use flowgate::error::{AwsErrorKind, Error, ExitStatus};
use flowgate::interrupt;
use flowgate::output::Printer;

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "flowgate=debug,warn",
        _ => "flowgate=trace,aws_config=debug,info",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).try_init();
}

fn print_error(error: &Error, profile: Option<&str>) {
    eprintln!("{} {error}", console::style("error:").red().bold());
    let hint = match error {
        Error::Aws { kind: AwsErrorKind::Credentials, .. } => Some(flowgate::aws::credentials_hint(profile)),
        other => other.hint().map(str::to_owned),
    };
    if let Some(hint) = hint {
        eprintln!("{} {hint}", console::style("hint:").yellow().bold());
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let no_color = cli.global.no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    if no_color {
        console::set_colors_enabled(false);
        console::set_colors_enabled_stderr(false);
    }
    init_tracing(cli.global.verbose);
    let printer = Printer::new(cli.global.output, cli.global.quiet);
    let profile = cli.global.profile.clone();

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    // The command runs as a task so that Ctrl-C is seen even while it blocks in a prompt. The
    // first Ctrl-C during an apply lets the current step finish and the report be printed.
    let result = runtime.block_on(async {
        let mut command = tokio::spawn(flowgate::commands::run(cli, printer));
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
    let result = match result {
        Ok(_) if interrupt::requested() => Ok(ExitStatus::Interrupted),
        other => other,
    };
    let status = match result {
        Ok(status) => status,
        Err(error) => {
            print_error(&error, profile.as_deref());
            error.exit_status()
        }
    };
    // Do not wait for in-flight SDK calls after an interrupt.
    runtime.shutdown_background();
    debug_assert!(status != ExitStatus::Success || status.code() == 0);
    ExitCode::from(u8::try_from(status.code()).unwrap_or(1))
}
