//! Shell completions and the man page, generated from the clap definition.

use std::io;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{Error, ExitStatus, Result};

pub fn completions(shell: clap_complete::Shell) -> Result<ExitStatus> {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "flowgate", &mut io::stdout());
    Ok(ExitStatus::Success)
}

pub fn man_page() -> Result<ExitStatus> {
    clap_mangen::Man::new(Cli::command()).render(&mut io::stdout()).map_err(|e| Error::io("writing the man page", e))?;
    Ok(ExitStatus::Success)
}
