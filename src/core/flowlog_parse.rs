//! Streaming parser for VPC flow-log objects as S3 delivers them: gzip text (possibly several gzip
//! members) whose first line is a header naming the fields with dashes, then one record a line,
//! fields separated by spaces, `-` for an absent value (VPC User Guide, "Flow log records" and
//! "Flow logs to Amazon S3").
//!
//! Pure: it reads only from the `Read` it is given. Memory stays constant whatever the object's
//! size (one read buffer, reused; records are visited, never collected), values are parsed from
//! bytes without allocating, and no input makes it panic.
//!
//! - [`summarize`]: one object's counts and totals, an [`ObjectSummary`] that objects merge into.
//! - [`RecordReader`] / [`for_each_record`]: typed [`Record`]s one at a time, for record output
//!   and per-flow analysis.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use flate2::bufread::MultiGzDecoder;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::format::{FieldKind, field_spec, required_fields};

/// The longest header line accepted. Every catalog field named once is about 600 bytes; anything
/// near this limit is not a flow-log header.
pub const MAX_HEADER_LEN: usize = 16 * 1024;
/// The longest record line parsed. A record with every field, ECS ARNs included, is under 2 KiB;
/// longer lines are counted as errors and skipped without being buffered whole.
pub const MAX_LINE_LEN: usize = 64 * 1024;
/// How many line errors a summary keeps with their message by default (all are counted).
pub const DEFAULT_MAX_ERRORS: usize = 10;

/// The decompressed-text buffer: it must hold a whole line of up to `MAX_LINE_LEN`.
const LINE_BUFFER_LEN: usize = 4 * MAX_LINE_LEN;
/// The compressed-input buffer in front of the gzip decoder.
const GZIP_INPUT_BUFFER_LEN: usize = 128 * 1024;
/// How much of the start of an object is checked for binary data.
const SNIFF_LEN: usize = 1024;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseOptions {
    /// Fail when the header lacks a field of [`required_fields()`] (the analytics service's
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

/// Why an object could not be read. Bad records are not errors of the object: they are counted in
/// [`ObjectSummary::parse_errors`] and parsing goes on.
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
    #[error(
        "the gzip stream ends early after {records} records ({compressed_bytes} compressed bytes read): truncated object?"
    )]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Action {
    #[serde(rename = "ACCEPT")]
    Accept,
    #[serde(rename = "REJECT")]
    Reject,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Accept => "ACCEPT",
            Action::Reject => "REJECT",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum LogStatus {
    /// Data is logging normally.
    #[serde(rename = "OK")]
    Ok,
    /// No traffic to or from the interface during the window.
    #[serde(rename = "NODATA")]
    NoData,
    /// Records were skipped during the window (capacity or internal error).
    #[serde(rename = "SKIPDATA")]
    SkipData,
}

impl LogStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LogStatus::Ok => "OK",
            LogStatus::NoData => "NODATA",
            LogStatus::SkipData => "SKIPDATA",
        }
    }
}

/// A field's value typed by its [`FieldKind`]. Serializes as JSON numbers for the numeric kinds
/// and strings for the rest; `Display` writes it back as the log wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum FieldValue<'a> {
    Integer(u64),
    Address(IpAddr),
    Port(u16),
    Protocol(u8),
    Counter(u64),
    UnixTime(u64),
    Action(Action),
    LogStatus(LogStatus),
    TcpFlags(u16),
    /// Ids, names, enumerations and fields the catalog does not know.
    Text(&'a str),
}

impl fmt::Display for FieldValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Integer(n) | FieldValue::Counter(n) | FieldValue::UnixTime(n) => write!(f, "{n}"),
            FieldValue::Address(a) => write!(f, "{a}"),
            FieldValue::Port(p) | FieldValue::TcpFlags(p) => write!(f, "{p}"),
            FieldValue::Protocol(p) => write!(f, "{p}"),
            FieldValue::Action(a) => f.write_str(a.as_str()),
            FieldValue::LogStatus(s) => f.write_str(s.as_str()),
            FieldValue::Text(t) => f.write_str(t),
        }
    }
}

/// The header line: the fields of every record, in order, each with the kind its values parse as
/// (fields the catalog does not know are text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    fields: Vec<String>,
    kinds: Vec<FieldKind>,
}

impl Header {
    /// Parses a header line (`version account-id ...`). Fails when a token is not a field name
    /// (which is what a record line looks like) or a field is named twice.
    pub fn parse(line: &str) -> Result<Header, ParseError> {
        let line = line.strip_prefix('\u{feff}').unwrap_or(line);
        let mut fields: Vec<String> = Vec::new();
        for token in line.split_ascii_whitespace() {
            if !is_field_name(token) {
                return Err(ParseError::NoHeader { excerpt: excerpt(line.as_bytes()) });
            }
            if fields.iter().any(|f| f == token) {
                return Err(ParseError::DuplicateField(token.to_owned()));
            }
            fields.push(token.to_owned());
        }
        if fields.is_empty() {
            return Err(ParseError::NoHeader { excerpt: excerpt(line.as_bytes()) });
        }
        let kinds = fields.iter().map(|f| field_spec(f).map_or(FieldKind::Text, |s| s.kind)).collect();
        Ok(Header { fields, kinds })
    }

    pub fn fields(&self) -> &[String] {
        &self.fields
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The position of `name` among the fields. Look it up once, then use [`Record::value`].
    pub fn index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f == name)
    }

    pub fn kind(&self, index: usize) -> Option<FieldKind> {
        self.kinds.get(index).copied()
    }

    /// Fields the catalog does not know (a newer AWS field, or a typo): kept, parsed as text.
    pub fn unknown_fields(&self) -> Vec<&str> {
        self.fields.iter().map(String::as_str).filter(|f| field_spec(f).is_none()).collect()
    }

    /// The fields of [`required_fields()`] this header lacks.
    pub fn missing_required(&self) -> Vec<String> {
        required_fields().into_iter().filter(|r| self.index(r).is_none()).map(str::to_owned).collect()
    }
}

impl fmt::Display for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.fields.join(" "))
    }
}

/// AWS's field names are lowercase words joined by dashes; accepting any identifier keeps future
/// fields, while a record line (`2 123456789010 ...`) is refused.
fn is_field_name(token: &str) -> bool {
    let mut bytes = token.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A line as an error message shows it: quoted, escaped, cut at 60 characters.
fn excerpt(bytes: &[u8]) -> String {
    const MAX: usize = 60;
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX * 4)]);
    let mut cut: String = text.chars().take(MAX).collect();
    if cut.len() < text.len() || bytes.len() > MAX * 4 {
        cut.push_str("...");
    }
    format!("{cut:?}")
}

/// One line the parser could not read as a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineError {
    /// The object the line is in, when the caller named it ([`ObjectSummary::with_source`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// 1-based line number in the decompressed object; the header is line 1.
    pub line: u64,
    pub message: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StatusCounts {
    pub ok: u64,
    pub nodata: u64,
    pub skipdata: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ActionCounts {
    pub accept: u64,
    pub reject: u64,
}

/// Counts and totals over the well-formed records of one object, or of several merged. Bad lines
/// are counted in `parse_errors` and are in no other count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectSummary {
    /// How many objects were summarized into this one.
    pub objects: u64,
    /// The distinct header field lists seen, in the order first seen.
    pub formats: Vec<Vec<String>>,
    pub records: u64,
    /// By `log-status`; a record whose status is `-` is in none.
    pub log_status: StatusCounts,
    /// By `action`; a record whose action is `-` (NODATA, SKIPDATA) is in none.
    pub actions: ActionCounts,
    pub packets: u64,
    pub bytes: u64,
    /// The earliest `start` (Unix seconds).
    pub first_start: Option<u64>,
    /// The latest `end` (Unix seconds).
    pub last_end: Option<u64>,
    /// The distinct `interface-id` values (serialized as their count).
    #[serde(rename = "distinct_interfaces", serialize_with = "serialize_len")]
    pub interfaces: HashSet<Box<str>>,
    /// Records per `tcp-flags` value.
    pub tcp_flags: BTreeMap<u16, u64>,
    /// Every line that was not a well-formed record.
    pub parse_errors: u64,
    /// The first of them (at most `max_errors` of [`ParseOptions`]), with what is wrong.
    pub errors: Vec<LineError>,
    #[serde(skip)]
    error_limit: usize,
}

fn serialize_len<S: Serializer>(set: &HashSet<Box<str>>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(set.len() as u64)
}

impl Default for ObjectSummary {
    fn default() -> Self {
        ObjectSummary::new(DEFAULT_MAX_ERRORS)
    }
}

impl ObjectSummary {
    /// An empty summary (of zero objects) that keeps up to `max_errors` line errors.
    pub fn new(max_errors: usize) -> ObjectSummary {
        ObjectSummary {
            objects: 0,
            formats: Vec::new(),
            records: 0,
            log_status: StatusCounts::default(),
            actions: ActionCounts::default(),
            packets: 0,
            bytes: 0,
            first_start: None,
            last_end: None,
            interfaces: HashSet::new(),
            tcp_flags: BTreeMap::new(),
            parse_errors: 0,
            errors: Vec::new(),
            error_limit: max_errors,
        }
    }

    pub fn distinct_interfaces(&self) -> usize {
        self.interfaces.len()
    }

    /// Names the object its line errors are in, so that they still say where after a merge.
    pub fn with_source(mut self, source: &str) -> ObjectSummary {
        for error in self.errors.iter_mut().filter(|e| e.source.is_none()) {
            error.source = Some(source.to_owned());
        }
        self
    }

    /// Adds `other` in. Counters saturate rather than wrap; the kept errors stay within the larger
    /// of the two limits, earliest merged first.
    pub fn merge(&mut self, other: ObjectSummary) {
        self.objects = self.objects.saturating_add(other.objects);
        for format in other.formats {
            if !self.formats.contains(&format) {
                self.formats.push(format);
            }
        }
        self.records = self.records.saturating_add(other.records);
        self.log_status.ok = self.log_status.ok.saturating_add(other.log_status.ok);
        self.log_status.nodata = self.log_status.nodata.saturating_add(other.log_status.nodata);
        self.log_status.skipdata = self.log_status.skipdata.saturating_add(other.log_status.skipdata);
        self.actions.accept = self.actions.accept.saturating_add(other.actions.accept);
        self.actions.reject = self.actions.reject.saturating_add(other.actions.reject);
        self.packets = self.packets.saturating_add(other.packets);
        self.bytes = self.bytes.saturating_add(other.bytes);
        self.first_start = min_option(self.first_start, other.first_start);
        self.last_end = self.last_end.max(other.last_end);
        if self.interfaces.len() < other.interfaces.len() {
            let mine = std::mem::replace(&mut self.interfaces, other.interfaces);
            self.interfaces.extend(mine);
        } else {
            self.interfaces.extend(other.interfaces);
        }
        for (flags, count) in other.tcp_flags {
            let entry = self.tcp_flags.entry(flags).or_insert(0);
            *entry = entry.saturating_add(count);
        }
        self.parse_errors = self.parse_errors.saturating_add(other.parse_errors);
        self.error_limit = self.error_limit.max(other.error_limit);
        let room = self.error_limit.saturating_sub(self.errors.len());
        self.errors.extend(other.errors.into_iter().take(room));
    }

    fn add_error(&mut self, line: u64, message: impl FnOnce() -> String) {
        self.parse_errors = self.parse_errors.saturating_add(1);
        if self.errors.len() < self.error_limit {
            self.errors.push(LineError { source: None, line, message: message() });
        }
    }
}

fn min_option(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
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
pub fn for_each_record<R, E>(
    reader: R,
    options: &ParseOptions,
    mut visit: impl FnMut(&Record<'_>) -> Result<(), E>,
) -> Result<ObjectSummary, E>
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

/// A field's value as parsed, without borrowing the line (text is found through the field's span).
#[derive(Debug, Clone, Copy)]
enum Parsed {
    Absent,
    Integer(u64),
    Address(IpAddr),
    Port(u16),
    Protocol(u8),
    Counter(u64),
    UnixTime(u64),
    Action(Action),
    LogStatus(LogStatus),
    TcpFlags(u16),
    Text,
}

/// One well-formed record, borrowed from the reader until its next record.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    header: &'a Header,
    line: &'a [u8],
    spans: &'a [(usize, usize)],
    parsed: &'a [Parsed],
    line_number: u64,
}

impl<'a> Record<'a> {
    /// 1-based line number in the decompressed object; the header is line 1.
    pub fn line_number(&self) -> u64 {
        self.line_number
    }

    pub fn header(&self) -> &'a Header {
        self.header
    }

    /// The line as written, without its line ending.
    pub fn raw(&self) -> &'a [u8] {
        self.line
    }

    /// The typed value of the field at `index` (see [`Header::index`]); `None` when the field is
    /// `-` or there is no such field.
    pub fn value(&self, index: usize) -> Option<FieldValue<'a>> {
        Some(match *self.parsed.get(index)? {
            Parsed::Absent => return None,
            Parsed::Integer(n) => FieldValue::Integer(n),
            Parsed::Address(a) => FieldValue::Address(a),
            Parsed::Port(p) => FieldValue::Port(p),
            Parsed::Protocol(p) => FieldValue::Protocol(p),
            Parsed::Counter(n) => FieldValue::Counter(n),
            Parsed::UnixTime(t) => FieldValue::UnixTime(t),
            Parsed::Action(a) => FieldValue::Action(a),
            Parsed::LogStatus(s) => FieldValue::LogStatus(s),
            Parsed::TcpFlags(f) => FieldValue::TcpFlags(f),
            Parsed::Text => FieldValue::Text(self.text(index)?),
        })
    }

    /// The typed value of the field `name`. For every record of an object, prefer
    /// [`Header::index`] once and [`Record::value`].
    pub fn get(&self, name: &str) -> Option<FieldValue<'a>> {
        self.value(self.header.index(name)?)
    }

    /// The field at `index` as written (`-` included).
    pub fn text(&self, index: usize) -> Option<&'a str> {
        let &(start, end) = self.spans.get(index)?;
        std::str::from_utf8(self.line.get(start..end)?).ok()
    }

    /// Each field's name and typed value, in header order.
    pub fn values(&self) -> impl Iterator<Item = (&'a str, Option<FieldValue<'a>>)> + '_ {
        self.header.fields.iter().enumerate().map(|(i, name)| (name.as_str(), self.value(i)))
    }
}

/// A JSON object of field name to typed value, `null` for `-`.
impl Serialize for Record<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.header.len()))?;
        for (name, value) in self.values() {
            map.serialize_entry(name, &value)?;
        }
        map.end()
    }
}

/// Where the summary's fields are in the header, looked up once per object.
#[derive(Debug, Clone, Copy)]
struct SummaryColumns {
    interface: Option<usize>,
    packets: Option<usize>,
    bytes: Option<usize>,
    start: Option<usize>,
    end: Option<usize>,
    action: Option<usize>,
    log_status: Option<usize>,
    tcp_flags: Option<usize>,
}

impl SummaryColumns {
    fn new(header: &Header) -> SummaryColumns {
        // Only a field of the expected kind is used: the header may name an unknown field alike.
        let find = |name: &str, kind: FieldKind| header.index(name).filter(|&i| header.kind(i) == Some(kind));
        SummaryColumns {
            interface: find("interface-id", FieldKind::Text),
            packets: find("packets", FieldKind::Counter),
            bytes: find("bytes", FieldKind::Counter),
            start: find("start", FieldKind::UnixTime),
            end: find("end", FieldKind::UnixTime),
            action: find("action", FieldKind::Action),
            log_status: find("log-status", FieldKind::LogStatus),
            tcp_flags: find("tcp-flags", FieldKind::TcpFlags),
        }
    }
}

/// Reads one object's records one at a time:
///
/// ```ignore
/// let mut reader = RecordReader::new(object, &ParseOptions::default())?;
/// let srcaddr = reader.header().index("srcaddr");
/// while let Some(record) = reader.next_record()? {
///     let src = srcaddr.and_then(|i| record.value(i));
/// }
/// let summary = reader.into_summary();
/// ```
///
/// Malformed lines are skipped and counted in the summary, which every record read updates.
pub struct RecordReader<R: Read> {
    lines: LineReader<Decoder<R>>,
    header: Header,
    columns: SummaryColumns,
    summary: ObjectSummary,
    spans: Vec<(usize, usize)>,
    parsed: Vec<Parsed>,
}

impl<R: Read> RecordReader<R> {
    /// Detects gzip or plain text and reads the header line.
    pub fn new(reader: R, options: &ParseOptions) -> Result<RecordReader<R>, ParseError> {
        let mut source = Source::new(reader);
        let mut magic = [0u8; 2];
        let mut have = 0;
        while have < magic.len() {
            match source.inner.read(&mut magic[have..]) {
                Ok(0) => break,
                Ok(n) => have += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => return Err(ParseError::Read { records: 0, source }),
            }
        }
        source.replay(&magic[..have]);
        let gzip = magic[..have] == GZIP_MAGIC;
        let decoder = if gzip {
            Decoder::Gzip(MultiGzDecoder::new(io::BufReader::with_capacity(GZIP_INPUT_BUFFER_LEN, source)))
        } else {
            Decoder::Plain(source)
        };
        let mut lines = LineReader::new(decoder);

        let head = match lines.fill(SNIFF_LEN) {
            Ok(head) => head,
            Err(e) => return Err(lines.inner.classify(e, 0)),
        };
        if head.is_empty() {
            return Err(ParseError::Empty);
        }
        let first_line = head.split(|&b| b == b'\n').next().unwrap_or_default();
        let complete = first_line.len() < head.len() || head.len() < SNIFF_LEN;
        if let Some(reason) = binary_reason(first_line, complete) {
            return Err(if gzip { ParseError::BinaryContent(reason) } else { ParseError::NotText(reason) });
        }

        let header_line = match lines.next_line(MAX_HEADER_LEN) {
            Ok(Some(Line::Text(span))) => lines.bytes(span),
            Ok(Some(Line::TooLong)) => return Err(ParseError::HeaderTooLong { limit: MAX_HEADER_LEN }),
            Ok(None) => return Err(ParseError::Empty),
            Err(e) => return Err(lines.inner.classify(e, 0)),
        };
        let header_line = header_line.strip_suffix(b"\r").unwrap_or(header_line);
        let header_text = std::str::from_utf8(header_line).map_err(|_| {
            if gzip { ParseError::BinaryContent("is not UTF-8") } else { ParseError::NotText("is not UTF-8") }
        })?;
        let header = Header::parse(header_text)?;
        if options.require_fields {
            let missing = header.missing_required();
            if !missing.is_empty() {
                return Err(ParseError::MissingRequired(missing));
            }
        }

        let mut summary = ObjectSummary::new(options.max_errors);
        summary.objects = 1;
        summary.formats.push(header.fields.clone());
        Ok(RecordReader {
            columns: SummaryColumns::new(&header),
            spans: Vec::with_capacity(header.len()),
            parsed: Vec::with_capacity(header.len()),
            lines,
            header,
            summary,
        })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Whether the object was gzip (otherwise plain text).
    pub fn is_gzip(&self) -> bool {
        matches!(self.lines.inner, Decoder::Gzip(_))
    }

    /// The summary of the records read so far.
    pub fn summary(&self) -> &ObjectSummary {
        &self.summary
    }

    pub fn into_summary(self) -> ObjectSummary {
        self.summary
    }

    /// The next well-formed record, or `None` at the end of the object. Blank lines are skipped;
    /// malformed ones are counted in the summary and skipped.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, ParseError> {
        let span = loop {
            let line = match self.lines.next_line(MAX_LINE_LEN) {
                Ok(Some(line)) => line,
                Ok(None) => return Ok(None),
                Err(e) => return Err(self.lines.inner.classify(e, self.summary.records)),
            };
            let line_number = self.lines.line_number;
            let span = match line {
                Line::Text(span) => span,
                Line::TooLong => {
                    self.summary.add_error(line_number, || format!("the line is longer than {MAX_LINE_LEN} bytes"));
                    continue;
                }
            };
            let bytes = self.lines.bytes(span);
            match parse_line(bytes, &self.header.kinds, &mut self.spans, &mut self.parsed) {
                Ok(true) => {
                    self.summary.add_record(&self.columns, bytes, &self.spans, &self.parsed);
                    break span;
                }
                Ok(false) => {}
                Err(fault) => {
                    let (header, spans) = (&self.header, &self.spans);
                    self.summary.add_error(line_number, || fault.message(header, bytes, spans));
                }
            }
        };
        Ok(Some(Record {
            header: &self.header,
            line: self.lines.bytes(span),
            spans: &self.spans,
            parsed: &self.parsed,
            line_number: self.lines.line_number,
        }))
    }
}

impl ObjectSummary {
    fn add_record(&mut self, columns: &SummaryColumns, line: &[u8], spans: &[(usize, usize)], parsed: &[Parsed]) {
        self.records = self.records.saturating_add(1);
        let at = |index: Option<usize>| index.and_then(|i| parsed.get(i)).copied().unwrap_or(Parsed::Absent);
        match at(columns.log_status) {
            Parsed::LogStatus(LogStatus::Ok) => self.log_status.ok += 1,
            Parsed::LogStatus(LogStatus::NoData) => self.log_status.nodata += 1,
            Parsed::LogStatus(LogStatus::SkipData) => self.log_status.skipdata += 1,
            _ => {}
        }
        match at(columns.action) {
            Parsed::Action(Action::Accept) => self.actions.accept += 1,
            Parsed::Action(Action::Reject) => self.actions.reject += 1,
            _ => {}
        }
        if let Parsed::Counter(n) = at(columns.packets) {
            self.packets = self.packets.saturating_add(n);
        }
        if let Parsed::Counter(n) = at(columns.bytes) {
            self.bytes = self.bytes.saturating_add(n);
        }
        if let Parsed::UnixTime(t) = at(columns.start) {
            self.first_start = Some(self.first_start.map_or(t, |s| s.min(t)));
        }
        if let Parsed::UnixTime(t) = at(columns.end) {
            self.last_end = Some(self.last_end.map_or(t, |e| e.max(t)));
        }
        if let Parsed::TcpFlags(flags) = at(columns.tcp_flags) {
            let count = self.tcp_flags.entry(flags).or_insert(0);
            *count = count.saturating_add(1);
        }
        if let (Parsed::Text, Some(&(start, end))) = (at(columns.interface), columns.interface.and_then(|i| spans.get(i)))
            && let Some(Ok(id)) = line.get(start..end).map(std::str::from_utf8)
            && !self.interfaces.contains(id)
        {
            self.interfaces.insert(id.into());
        }
    }
}

/// What is wrong with a line, cheap to make; the message is built only for the errors kept.
enum LineFault {
    FieldCount { found: usize },
    Field { index: usize, reason: &'static str },
}

impl LineFault {
    fn message(&self, header: &Header, line: &[u8], spans: &[(usize, usize)]) -> String {
        match *self {
            LineFault::FieldCount { found } => {
                format!("expected {} fields as the header names, found {found}", header.len())
            }
            LineFault::Field { index, reason } => {
                let name = header.fields.get(index).map_or("?", String::as_str);
                let value = spans.get(index).and_then(|&(s, e)| line.get(s..e)).unwrap_or_default();
                format!("field '{name}' {reason}: {}", excerpt(value))
            }
        }
    }
}

/// Splits `line` at spaces and types each field by its kind. `Ok(false)` for a blank line.
fn parse_line(
    line: &[u8],
    kinds: &[FieldKind],
    spans: &mut Vec<(usize, usize)>,
    parsed: &mut Vec<Parsed>,
) -> Result<bool, LineFault> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    spans.clear();
    parsed.clear();
    let mut start = 0;
    // Runs of spaces count as one separator: AWS writes single spaces, hand-edited files may not.
    for (i, &b) in line.iter().enumerate() {
        if b == b' ' {
            if i > start {
                spans.push((start, i));
            }
            start = i + 1;
        }
    }
    if line.len() > start {
        spans.push((start, line.len()));
    }
    if spans.is_empty() {
        return Ok(false);
    }
    if spans.len() != kinds.len() {
        return Err(LineFault::FieldCount { found: spans.len() });
    }
    for (index, (&(start, end), &kind)) in spans.iter().zip(kinds).enumerate() {
        let field = line.get(start..end).unwrap_or_default();
        match parse_field(kind, field) {
            Some(value) => parsed.push(value),
            None => return Err(LineFault::Field { index, reason: kind_reason(kind) }),
        }
    }
    Ok(true)
}

fn parse_field(kind: FieldKind, field: &[u8]) -> Option<Parsed> {
    if field == b"-" {
        return Some(Parsed::Absent);
    }
    Some(match kind {
        FieldKind::Integer => Parsed::Integer(parse_u64(field)?),
        FieldKind::Address => Parsed::Address(parse_address(field)?),
        FieldKind::Port => Parsed::Port(u16::try_from(parse_u64(field)?).ok()?),
        FieldKind::Protocol => Parsed::Protocol(u8::try_from(parse_u64(field)?).ok()?),
        FieldKind::Counter => Parsed::Counter(parse_u64(field)?),
        FieldKind::UnixTime => Parsed::UnixTime(parse_u64(field)?),
        FieldKind::Action => Parsed::Action(match field {
            b"ACCEPT" => Action::Accept,
            b"REJECT" => Action::Reject,
            _ => return None,
        }),
        FieldKind::LogStatus => Parsed::LogStatus(match field {
            b"OK" => LogStatus::Ok,
            b"NODATA" => LogStatus::NoData,
            b"SKIPDATA" => LogStatus::SkipData,
            _ => return None,
        }),
        FieldKind::TcpFlags => Parsed::TcpFlags(u16::try_from(parse_u64(field)?).ok()?),
        FieldKind::Text => {
            std::str::from_utf8(field).ok()?;
            Parsed::Text
        }
    })
}

fn kind_reason(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Integer => "is not a non-negative integer",
        FieldKind::Address => "is not an IPv4 or IPv6 address",
        FieldKind::Port => "is not a port number (0-65535)",
        FieldKind::Protocol => "is not a protocol number (0-255)",
        FieldKind::Counter => "is not a count (a non-negative integer)",
        FieldKind::UnixTime => "is not a Unix time in seconds",
        FieldKind::Action => "is not ACCEPT or REJECT",
        FieldKind::LogStatus => "is not OK, NODATA or SKIPDATA",
        FieldKind::TcpFlags => "is not a tcp-flags value (0-65535)",
        FieldKind::Text => "is not UTF-8 text",
    }
}

/// Decimal digits only (no sign, no spaces), at most `u64::MAX`.
fn parse_u64(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for &b in digits {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(digit))?;
    }
    Some(value)
}

fn parse_address(field: &[u8]) -> Option<IpAddr> {
    if field.contains(&b':') {
        std::str::from_utf8(field).ok()?.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
    } else {
        parse_ipv4(field).map(IpAddr::V4)
    }
}

/// Dotted-quad IPv4 as `Ipv4Addr::from_str` accepts it (no leading zeros), without the UTF-8 step.
fn parse_ipv4(field: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = field.split(|&b| b == b'.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || (part.len() > 1 && part[0] == b'0') {
            return None;
        }
        *octet = u8::try_from(parse_u64(part)?).ok()?;
    }
    parts.next().is_none().then_some(Ipv4Addr::from(octets))
}

/// The first line's look: `Some(reason)` when it is binary rather than text. `complete` says the
/// line ends in the bytes given, so a UTF-8 sequence cut at their end is an error.
fn binary_reason(first_line: &[u8], complete: bool) -> Option<&'static str> {
    if first_line.contains(&0) {
        return Some("holds NUL bytes");
    }
    if let Err(e) = std::str::from_utf8(first_line)
        && (e.error_len().is_some() || complete)
    {
        return Some("is not UTF-8");
    }
    if first_line.iter().any(|&b| b.is_ascii_control() && !matches!(b, b'\t' | b'\r')) {
        return Some("holds control characters");
    }
    None
}

/// The caller's reader, with the bytes read to sniff the format put back in front and a note of
/// whether an error came from it (a failed download) rather than from the gzip data.
struct Source<R> {
    inner: R,
    replay: [u8; 2],
    replay_len: usize,
    replay_pos: usize,
    bytes_read: u64,
    failed: bool,
}

impl<R> Source<R> {
    fn new(inner: R) -> Source<R> {
        Source { inner, replay: [0; 2], replay_len: 0, replay_pos: 0, bytes_read: 0, failed: false }
    }

    fn replay(&mut self, bytes: &[u8]) {
        let len = bytes.len().min(self.replay.len());
        self.replay[..len].copy_from_slice(&bytes[..len]);
        self.replay_len = len;
        self.replay_pos = 0;
    }
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let replay = self.replay.get(self.replay_pos..self.replay_len).unwrap_or_default();
        let n = if !replay.is_empty() {
            let n = replay.len().min(buf.len());
            buf[..n].copy_from_slice(&replay[..n]);
            self.replay_pos += n;
            n
        } else {
            match self.inner.read(buf) {
                Ok(n) => n,
                Err(e) => {
                    self.failed |= e.kind() != io::ErrorKind::Interrupted;
                    return Err(e);
                }
            }
        };
        self.bytes_read = self.bytes_read.saturating_add(n as u64);
        Ok(n)
    }
}

enum Decoder<R> {
    Plain(Source<R>),
    Gzip(MultiGzDecoder<io::BufReader<Source<R>>>),
}

impl<R: Read> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Plain(source) => source.read(buf),
            Decoder::Gzip(decoder) => decoder.read(buf),
        }
    }
}

impl<R> Decoder<R> {
    fn source(&self) -> &Source<R> {
        match self {
            Decoder::Plain(source) => source,
            Decoder::Gzip(decoder) => decoder.get_ref().get_ref(),
        }
    }

    /// Names a read error: the caller's reader failing, or the gzip data being cut or corrupt.
    fn classify(&self, error: io::Error, records: u64) -> ParseError {
        let source = self.source();
        if source.failed || matches!(self, Decoder::Plain(_)) {
            return ParseError::Read { records, source: error };
        }
        let compressed_bytes = source.bytes_read;
        if error.kind() == io::ErrorKind::UnexpectedEof {
            ParseError::Truncated { records, compressed_bytes }
        } else {
            ParseError::Corrupt { records, compressed_bytes, detail: error.to_string() }
        }
    }
}

/// A line found by [`LineReader::next_line`]: its span in the buffer, or the note that it was
/// longer than the limit (and has been skipped).
#[derive(Debug, Clone, Copy)]
enum Line {
    Text((usize, usize)),
    TooLong,
}

/// Splits a stream into lines in one fixed buffer: constant memory, no copy of a line unless it
/// straddles two reads.
struct LineReader<R> {
    inner: R,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    eof: bool,
    /// The number of the line last returned (1-based).
    line_number: u64,
}

impl<R: Read> LineReader<R> {
    fn new(inner: R) -> LineReader<R> {
        LineReader { inner, buf: vec![0; LINE_BUFFER_LEN].into_boxed_slice(), start: 0, end: 0, eof: false, line_number: 0 }
    }

    fn bytes(&self, (start, end): (usize, usize)) -> &[u8] {
        self.buf.get(start..end).unwrap_or_default()
    }

    /// Reads until at least `n` bytes are buffered or the stream ends; returns what is buffered.
    fn fill(&mut self, n: usize) -> io::Result<&[u8]> {
        while self.end - self.start < n.min(self.buf.len()) && !self.eof {
            self.read_more()?;
        }
        Ok(&self.buf[self.start..self.end])
    }

    fn read_more(&mut self) -> io::Result<()> {
        if self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The next line without its `\n`. A line longer than `limit` is skipped to its end and
    /// reported as [`Line::TooLong`], never buffered whole.
    fn next_line(&mut self, limit: usize) -> io::Result<Option<Line>> {
        let mut too_long = false;
        loop {
            if let Some(pos) = find_newline(&self.buf[self.start..self.end]) {
                let span = (self.start, self.start + pos);
                self.start += pos + 1;
                self.line_number += 1;
                return Ok(Some(if too_long || pos > limit { Line::TooLong } else { Line::Text(span) }));
            }
            let pending = self.end - self.start;
            if self.eof {
                if pending == 0 && !too_long {
                    return Ok(None);
                }
                let span = (self.start, self.end);
                self.start = self.end;
                self.line_number += 1;
                return Ok(Some(if too_long || pending > limit { Line::TooLong } else { Line::Text(span) }));
            }
            if pending > limit {
                too_long = true;
                self.start = 0;
                self.end = 0;
            } else if self.start > 0 {
                // Only the start of one line is left: move it to the front so the read is a full one.
                self.buf.copy_within(self.start..self.end, 0);
                self.end = pending;
                self.start = 0;
            }
            self.read_more()?;
        }
    }
}

/// The index of the first `\n`, eight bytes at a time.
fn find_newline(haystack: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const NEWLINES: u64 = LO * b'\n' as u64;
    let (words, rest) = haystack.as_chunks::<8>();
    for (i, word) in words.iter().enumerate() {
        let x = u64::from_le_bytes(*word) ^ NEWLINES;
        // Nonzero exactly when a byte of `x` is zero; the lowest set bit marks the first such byte.
        let found = x.wrapping_sub(LO) & !x & HI;
        if found != 0 {
            return Some(i * 8 + (found.trailing_zeros() / 8) as usize);
        }
    }
    rest.iter().position(|&b| b == b'\n').map(|p| words.len() * 8 + p)
}

#[cfg(test)]
mod tests {
}
