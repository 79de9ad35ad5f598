//! Where output goes: results on stdout (text or one JSON document), progress, prompts and
//! diagnostics on stderr.
//!
//! With `main.rs`, the only module allowed to print (clippy's `print_stdout`/`print_stderr` are
//! denied elsewhere), so that every byte a command writes goes through one place that knows the
//! output format and a closed stdout.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::fmt::{self, Display, Write as _};
use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use clap::ValueEnum;
use schemars::JsonSchema;
use serde::Serialize;

use crate::core::report::{Change, ChangeStatus, Check, CheckStatus};
use crate::error::{Error, ExitStatus, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

/// A command's result: both for people (`Display`) and for machines (`Serialize`).
pub trait Report: Serialize + Display {
    fn exit_status(&self) -> ExitStatus;
}

#[derive(Debug, Clone)]
pub struct Printer {
    pub format: OutputFormat,
    pub quiet: bool,
    /// Plans of sub-steps are not printed (a composed command prints its own combined plan).
    pub silent_plans: bool,
    /// What this printer and its copies have put out, for the error path of `main`.
    shown: Arc<Shown>,
}

/// Shared by a printer and its copies (sub-steps print through copies).
#[derive(Debug, Default)]
struct Shown {
    /// In JSON mode, the plan text a command showed (text mode prints it instead), so that an
    /// error after the plan (`--yes` missing) still carries it in the one JSON document.
    plan: Mutex<String>,
    /// Whether the JSON document (a report) has been written: an error after it adds no second.
    document: AtomicBool,
}

/// Set once stdout is found closed (`flowgate ... | head`): the process then ends quietly, exit 0.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Whether a write found stdout closed by its reader.
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::SeqCst)
}

/// Records that stdout's reader has gone (a write failed with a broken pipe).
pub fn note_stdout_closed() {
    STDOUT_CLOSED.store(true, Ordering::SeqCst);
}

impl Printer {
    pub fn new(format: OutputFormat, quiet: bool) -> Self {
        Printer { format, quiet, silent_plans: false, shown: Arc::default() }
    }

    /// The same printer, without the sub-steps' plans.
    pub fn without_plans(&self) -> Self {
        Printer { silent_plans: true, ..self.clone() }
    }

    /// The same printer for a part of a larger run (an account of an organization): no plans, no
    /// progress bars of its own.
    pub fn silent(&self) -> Self {
        Printer { silent_plans: true, quiet: true, ..self.clone() }
    }

    pub fn is_json(&self) -> bool {
        self.format == OutputFormat::Json
    }

    /// Text for people on stdout (plans). In JSON mode nothing is printed (the report says it
    /// all) but the text is kept: should the command end in an error instead of a report (a plan
    /// that needs `--yes`), the error document carries the plan.
    pub fn text(&self, text: impl Display) -> Result<()> {
        if self.silent_plans {
            return Ok(());
        }
        if self.is_json() {
            let text = console::strip_ansi_codes(&text.to_string()).into_owned();
            self.shown.plan.lock().unwrap_or_else(|p| p.into_inner()).push_str(&text);
            return Ok(());
        }
        write_stdout(&format!("{text}"))
    }

    /// The lines of the plan text kept in JSON mode (see [`Printer::text`]), if any was shown.
    pub fn shown_plan(&self) -> Option<Vec<String>> {
        let plan = self.shown.plan.lock().unwrap_or_else(|p| p.into_inner());
        let lines: Vec<String> = plan.lines().map(str::trim_end).filter(|l| !l.is_empty()).map(str::to_owned).collect();
        (!lines.is_empty()).then_some(lines)
    }

    /// Whether this printer (or a copy) has written the JSON report.
    pub fn document_written(&self) -> bool {
        self.shown.document.load(Ordering::SeqCst)
    }

    /// Prints the one JSON document of a run that ends in an error (JSON mode only).
    pub fn error_document(&self, error: &ErrorDocument) -> Result<()> {
        if !self.is_json() || self.document_written() {
            return Ok(());
        }
        self.shown.document.store(true, Ordering::SeqCst);
        write_json(error)
    }

    /// A progress or status line on stderr, unless `-q` or JSON output.
    pub fn status(&self, line: impl Display) {
        if !self.quiet && !self.is_json() {
            eprintln!("{line}");
        }
    }

    /// Whether animated progress (bars, spinners) may be drawn.
    pub fn progress_enabled(&self) -> bool {
        !self.quiet && !self.is_json() && io::stderr().is_terminal()
    }

    /// A bar over `total` items (regions), drawn on stderr only when progress may be shown.
    pub fn progress(&self, total: usize, what: &str) -> Option<indicatif::ProgressBar> {
        if !self.progress_enabled() {
            return None;
        }
        let bar = indicatif::ProgressBar::with_draw_target(Some(total as u64), indicatif::ProgressDrawTarget::stderr());
        if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {prefix} [{bar:30}] {pos}/{len} {msg}") {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(what.to_owned());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Some(bar)
    }

    pub fn report<R: Report>(&self, report: &R) -> Result<ExitStatus> {
        match self.format {
            OutputFormat::Json => {
                self.shown.document.store(true, Ordering::SeqCst);
                write_json(report)?;
            }
            OutputFormat::Text => write_stdout(&format!("{report}"))?,
        }
        Ok(report.exit_status())
    }
}

/// The one JSON document of a run that ends in an error: `{"error": {...}}`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ErrorDocument {
    pub error: ErrorBody,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ErrorBody {
    /// What went wrong, as the `error:` line on stderr says it.
    pub message: String,
    /// What to do about it, as the `hint:` line says it (null when there is none).
    pub hint: Option<String>,
    /// The process's exit code.
    #[schemars(extend("enum" = [1, 2, 130]))]
    pub exit_code: i32,
    /// `usage` (the command line), `input`, `aws`, `refused`, `interrupted` or `io`.
    #[schemars(extend("enum" = ["usage", "input", "aws", "refused", "interrupted", "io"]))]
    pub kind: &'static str,
    /// For `aws`: the AWS error code, when AWS gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_error_code: Option<String>,
    /// The plan the command showed before it stopped (as text mode prints it, one line each).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<Vec<String>>,
}

impl ErrorDocument {
    /// The document for an error of a command; `hint` replaces the error's own.
    pub fn new(error: &Error, hint: Option<String>, plan: Option<Vec<String>>) -> ErrorDocument {
        let (kind, aws_error_code) = match error {
            Error::Input { .. } => ("input", None),
            Error::Aws { code, .. } => ("aws", code.clone()),
            Error::Refused { .. } => ("refused", None),
            Error::Interrupted => ("interrupted", None),
            Error::Io { .. } => ("io", None),
        };
        ErrorDocument { error: ErrorBody { message: error.to_string(), hint, exit_code: error.exit_status().code(), kind, aws_error_code, plan } }
    }
}

fn write_json<T: Serialize>(value: &T) -> Result<()> {
    let mut json = serde_json::to_string_pretty(value).map_err(|e| Error::io("encoding the report as JSON", io::Error::other(e)))?;
    json.push('\n');
    write_stdout(&json)
}

/// Writes to stdout; a closed pipe (`flowgate ... | head`) is not an error: it is noted, and the
/// run ends quietly with exit 0 (as ripgrep does).
pub fn write_stdout(text: &str) -> Result<()> {
    write_stdout_bytes(text.as_bytes())
}

pub fn write_stdout_bytes(bytes: &[u8]) -> Result<()> {
    if stdout_closed() {
        return Ok(());
    }
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
            note_stdout_closed();
            Ok(())
        }
        Err(e) => Err(Error::io("writing to stdout", e)),
        Ok(()) => Ok(()),
    }
}

fn change_marker(status: ChangeStatus) -> console::StyledObject<&'static str> {
    match status {
        ChangeStatus::Planned => console::style("+").green(),
        ChangeStatus::Applied => console::style("✓").green(),
        ChangeStatus::Skipped => console::style("=").dim(),
        ChangeStatus::Failed => console::style("✗").red().bold(),
        ChangeStatus::NotAttempted => console::style("-").yellow(),
        ChangeStatus::Blocked => console::style("!").red(),
    }
}

/// A change list as an aligned table, one change a line (and its error under it).
pub fn render_changes(changes: &[Change]) -> String {
    let action_width = changes.iter().map(|c| c.action.len()).max().unwrap_or(0);
    let resource_of = |c: &Change| match &c.region {
        Some(region) => format!("{} ({region})", c.resource),
        None => c.resource.clone(),
    };
    let resource_width = changes.iter().map(|c| resource_of(c).len()).max().unwrap_or(0);
    let mut out = String::new();
    for change in changes {
        let _ = writeln!(
            out,
            "  {} {:<aw$}  {:<rw$}  {}{}",
            change_marker(change.status),
            change.action,
            resource_of(change),
            change.detail,
            match change.status {
                ChangeStatus::Planned | ChangeStatus::Skipped => String::new(),
                other => format!(" [{other}]"),
            },
            aw = action_width,
            rw = resource_width,
        );
        if let Some(error) = &change.error {
            let _ = writeln!(out, "      error: {error}");
        }
    }
    out
}

/// A check list as an aligned table, with the fix under each one that is not a pass.
pub fn render_checks(checks: &[Check]) -> String {
    let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for check in checks {
        let status = match check.status {
            CheckStatus::Pass => console::style("pass").green(),
            CheckStatus::Warn => console::style("warn").yellow(),
            CheckStatus::Fail => console::style("FAIL").red().bold(),
        };
        let _ = writeln!(out, "  {status}  {:<width$}  {}", check.name, check.detail);
        if let (Some(fix), true) = (&check.fix, check.status != CheckStatus::Pass) {
            let _ = writeln!(out, "        {:<width$}  fix: {fix}", "");
        }
    }
    out
}

/// A one-line account banner shown at the top of every plan.
pub struct IdentityLine<'a> {
    pub account: &'a str,
    pub principal: &'a str,
    pub region: &'a str,
}

impl Display for IdentityLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "account {} as {} (home region {})", self.account, self.principal, self.region)
    }
}

/// A warning people must see before they confirm (a revocation, a suspicious value): on stderr
/// whatever the output format, so that stdout keeps one JSON document.
pub fn warn(text: impl Display) {
    eprintln!("{} {text}", console::style("WARNING:").red().bold().for_stderr());
}

/// Text on stderr whatever the output mode: a per-input error of a command that keeps going, or a
/// summary while stdout carries streamed records.
pub fn write_stderr(text: impl Display) {
    eprint!("{text}");
}

/// The command line this process was started with, as one line a shell reads back the same:
/// every argument after the program name, global flags included wherever they stood
/// (`flowgate --profile p onboard ...`), quoted where a shell would split or expand it.
pub fn rerun_command_line() -> String {
    command_line_of(std::env::args_os().skip(1).map(|a| a.to_string_lossy().into_owned()))
}

fn command_line_of(args: impl IntoIterator<Item = String>) -> String {
    let mut line = String::from("flowgate");
    for arg in args {
        line.push(' ');
        line.push_str(&shell_quoted(&arg));
    }
    line
}

fn shell_quoted(arg: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./:=,@%+".contains(c);
    if !arg.is_empty() && arg.chars().all(plain) {
        return arg.to_owned();
    }
    format!("'{}'", arg.replace('\'', r"'\''"))
}

#[cfg(test)]
mod command_line_tests {
    use super::command_line_of;

    #[test]
    fn global_flags_before_the_subcommand_are_kept_and_odd_arguments_quoted() {
        let args = ["--profile", "p", "onboard", "--bucket", "b", "--tag", "team=net ops", "--external-id", "it's", ""];
        assert_eq!(
            command_line_of(args.map(str::to_owned)),
            r"flowgate --profile p onboard --bucket b --tag 'team=net ops' --external-id 'it'\''s' ''"
        );
    }
}
