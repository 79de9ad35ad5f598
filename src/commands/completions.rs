//! Shell completions and the man page, generated from the clap definition.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{Error, ExitStatus, Result};
use crate::output::write_stdout_bytes;

// Both are rendered in memory, then written: clap_complete's writer panics on a write error, and
// a reader that stops early (`flowgate completions bash | head`) must end the run quietly.

pub fn completions(shell: clap_complete::Shell) -> Result<ExitStatus> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "flowgate", &mut script);
    write_stdout_bytes(&script)?;
    Ok(ExitStatus::Success)
}

pub fn man_page() -> Result<ExitStatus> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut page).map_err(|e| Error::io("rendering the man page", e))?;
    write_stdout_bytes(&page)?;
    Ok(ExitStatus::Success)
}
