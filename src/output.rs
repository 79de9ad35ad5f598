//! Where output goes: results on stdout (text or one JSON document), progress, prompts and
//! diagnostics on stderr.

use std::fmt::{self, Display, Write as _};
use std::io::{self, IsTerminal, Write};

use clap::ValueEnum;
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
}

impl Printer {
    pub fn new(format: OutputFormat, quiet: bool) -> Self {
        Printer { format, quiet, silent_plans: false }
    }

    /// The same printer, without the sub-steps' plans.
    pub fn without_plans(&self) -> Self {
        Printer { silent_plans: true, ..self.clone() }
    }

    pub fn is_json(&self) -> bool {
        self.format == OutputFormat::Json
    }

    /// Text for people on stdout (plans); nothing in JSON mode, where the report says it all.
    pub fn text(&self, text: impl Display) -> Result<()> {
        if self.is_json() || self.silent_plans {
            return Ok(());
        }
        write_stdout(&format!("{text}"))
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
        let text = match self.format {
            OutputFormat::Json => {
                let mut json = serde_json::to_string_pretty(report).map_err(|e| Error::io("encoding the report as JSON", io::Error::other(e)))?;
                json.push('\n');
                json
            }
            OutputFormat::Text => format!("{report}"),
        };
        write_stdout(&text)?;
        Ok(report.exit_status())
    }
}

/// Writes to stdout; a closed pipe (`flowgate ... | head`) is not an error.
fn write_stdout(text: &str) -> Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(Error::io("writing to stdout", e)),
        _ => Ok(()),
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
