//! Why an object could not be read, and how an error message quotes a piece of the input.

use std::io;

/// Why an object could not be read. Bad records are not errors of the object: they are counted in
/// [`ObjectSummary::parse_errors`](super::ObjectSummary::parse_errors) and parsing goes on.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("the object is empty: no header line, no records")]
    Empty,
    #[error("the object is neither gzip nor flow-log text: its first line {0}")]
    NotText(&'static str),
    #[error("the object is gzip but decompresses to binary data, not flow-log text: its first line {0}")]
    BinaryContent(&'static str),
    #[error("the first line is longer than {limit} bytes: not a flow-log header")]
    HeaderTooLong { limit: usize },
    #[error(
        "no header line: the first line {excerpt} is not a list of field names (objects delivered to S3 start with one, like `version account-id interface-id ...`)"
    )]
    NoHeader { excerpt: String },
    #[error("the header names the field '{0}' twice")]
    DuplicateField(String),
    #[error("the header lacks the required field(s) {}: the flow log's format must include them", .0.join(", "))]
    MissingRequired(Vec<String>),
    #[error("the gzip stream ends early after {records} records ({compressed_bytes} compressed bytes read): truncated object?")]
    Truncated { records: u64, compressed_bytes: u64 },
    #[error("the gzip stream is corrupt after {records} records ({compressed_bytes} compressed bytes read): {detail}")]
    Corrupt { records: u64, compressed_bytes: u64, detail: String },
    #[error("reading the object failed after {records} records: {source}")]
    Read { records: u64, source: io::Error },
}

impl From<ParseError> for io::Error {
    fn from(error: ParseError) -> io::Error {
        match error {
            ParseError::Read { source, .. } => source,
            other => io::Error::new(io::ErrorKind::InvalidData, other),
        }
    }
}

/// A line as an error message shows it: quoted, escaped, cut at 60 characters.
pub(super) fn excerpt(bytes: &[u8]) -> String {
    const MAX: usize = 60;
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX * 4)]);
    let mut cut: String = text.chars().take(MAX).collect();
    if cut.len() < text.len() || bytes.len() > MAX * 4 {
        cut.push_str("...");
    }
    format!("{cut:?}")
}
