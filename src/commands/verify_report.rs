//! `verify --report FILE` and `org verify --report FILE`: the verify report as a document an
//! auditor files (HTML or CSV, chosen by the extension), written atomically next to where it goes,
//! also when verify fails (the report is then the evidence of the failure). The organization's
//! document is built in `org/report_file.rs` and written here, the one way reports are written.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::commands::verify::VerifyReport;
use crate::core::evidence::{Evidence, ReportFormat, RunInfo, render_csv, render_html, report_format};
use crate::error::{Error, Result};
use crate::output::{rerun_command_line, write_stderr};

/// Renders `report` in the format of `path`'s extension and writes it there; says where on stderr.
pub fn write_report(report: &VerifyReport, path: &Path) -> Result<()> {
    write_document(path, |format, run| {
        let evidence = Evidence {
            run,
            account: report.account.clone(),
            principal: report.principal.clone(),
            bucket: report.bucket.clone(),
            since_secs: report.since_secs,
            status: report.status,
            checks: report.checks.clone(),
            facts: report.evidence.clone(),
        };
        match format {
            ReportFormat::Html => render_html(&evidence),
            ReportFormat::Csv => render_csv(&evidence),
        }
    })
}

/// Writes the document `render` makes in the format of `path`'s extension (given this run's
/// time, version and command line) to `path`, atomically; says where on stderr.
pub fn write_document(path: &Path, render: impl FnOnce(ReportFormat, RunInfo) -> std::result::Result<String, String>) -> Result<()> {
    let shown = path.display().to_string();
    let format = report_format(&shown).map_err(|e| Error::input(e, None))?;
    let run = RunInfo {
        generated_at: SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        command_line: rerun_command_line(),
    };
    let text = render(format, run).map_err(|e| Error::io(format!("writing the report {shown}"), std::io::Error::other(e)))?;
    write_atomically(path, text.as_bytes()).map_err(|e| Error::io(format!("writing the report {shown}"), e))?;
    write_stderr(format!("report written to {shown}\n"));
    Ok(())
}

/// Writes to a new file in the same directory, then renames it over `path`: a reader never sees
/// half a report, and a failed write leaves any previous report as it was.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "report".to_owned());
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::write_atomically;

    #[test]
    fn replaces_the_file_and_leaves_no_temp() {
        let dir = std::env::temp_dir().join(format!("flowgate-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("r.html");
        std::fs::write(&path, "old").unwrap();
        write_atomically(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "no temp file left");
        assert!(write_atomically(&dir.join("missing-dir").join("r.csv"), b"x").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
