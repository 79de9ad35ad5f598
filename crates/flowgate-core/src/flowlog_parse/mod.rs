//! Streaming parser for VPC flow-log objects as S3 delivers them: gzip text (possibly several gzip
//! members) whose first line is a header naming the fields with dashes, then one record a line,
//! fields separated by spaces, `-` for an absent value (VPC User Guide, "Flow log records" and
//! "Flow logs to Amazon S3").
//!
//! Pure: it reads only from the `Read` it is given. Memory stays constant whatever the object's
//! size (one read buffer, reused; records are visited, never collected), values are parsed from
//! bytes without allocating, and no input makes it panic.
//!
//! A line as AWS writes it is checked in one pass, each field read where it starts and ended
//! where its value stops; any other line (runs of spaces, 20-digit numbers, anything malformed)
//! goes to a general path that splits first, then checks, and says what is wrong. A property test
//! holds the two to the same answer. Typed values are made only when a [`Record`] is asked for one.
//!
//! - [`summarize`]: one object's counts and totals, an [`ObjectSummary`] that objects merge into.
//! - [`RecordReader`] / [`for_each_record`]: typed [`Record`]s one at a time, for record output
//!   and per-flow analysis.
//!
//! The files: `input` (gzip or plain bytes to lines), `header` (the field list, binary sniffing),
//! `lex` (a line checked against the header: fast path, general path, number and address
//! parsers), `record` (typed values), `summary` (counts and totals), `reader` (the record reader
//! tying them together), `error`.

mod error;
mod header;
mod input;
mod lex;
mod reader;
mod record;
mod summary;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod properties;

use std::io::Read;

pub use error::ParseError;
pub use header::Header;
pub use reader::RecordReader;
pub use record::{Action, FieldValue, LogStatus, Record};
pub use summary::{ActionCounts, LineError, ObjectSummary, Saturated, StatusCounts, TcpFlagCounts, add_saturating};

/// The longest header line accepted. Every catalog field named once is about 600 bytes; anything
/// near this limit is not a flow-log header.
pub const MAX_HEADER_LEN: usize = 16 * 1024;
/// The longest record line parsed. A record with every field, ECS ARNs included, is under 2 KiB;
/// longer lines are counted as errors and skipped without being buffered whole.
pub const MAX_LINE_LEN: usize = 64 * 1024;
/// How many line errors a summary keeps with their message by default (all are counted).
pub const DEFAULT_MAX_ERRORS: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseOptions {
    /// Fail when the header lacks a field of [`required_fields()`](crate::format::required_fields) (the analytics service's
    /// format). Off for looking at arbitrary flow-log files.
    pub require_fields: bool,
    /// How many line errors the summary keeps with their message; all are counted.
    pub max_errors: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions { require_fields: true, max_errors: DEFAULT_MAX_ERRORS }
    }
}

/// Summarizes one object (gzip or plain text) in a single streaming pass.
pub fn summarize<R: Read>(reader: R, options: &ParseOptions) -> Result<ObjectSummary, ParseError> {
    let mut records = RecordReader::new(reader, options)?;
    while records.next_record()?.is_some() {}
    Ok(records.into_summary())
}

/// Calls `visit` with each well-formed record of one object, then returns the object's summary.
/// `visit` stops the walk by returning an error; any error type that a [`ParseError`] converts
/// into works (`anyhow::Error`, `io::Error`).
pub fn for_each_record<R, E>(reader: R, options: &ParseOptions, mut visit: impl FnMut(&Record<'_>) -> Result<(), E>) -> Result<ObjectSummary, E>
where
    R: Read,
    E: From<ParseError>,
{
    let mut records = RecordReader::new(reader, options)?;
    while let Some(record) = records.next_record()? {
        visit(&record)?;
    }
    Ok(records.into_summary())
}
