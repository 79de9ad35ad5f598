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

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, BufRead, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use flate2::bufread::GzDecoder;
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
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic()) && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
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

/// Which traffic totals overflowed a u64 and stopped at `u64::MAX`: the true total is larger
/// (at least 2^64). Serialized as the list of their names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Saturated {
    pub packets: bool,
    pub bytes: bool,
}

impl Saturated {
    pub fn any(&self) -> bool {
        self.packets || self.bytes
    }

    pub fn names(&self) -> Vec<&'static str> {
        [("packets", self.packets), ("bytes", self.bytes)].into_iter().filter(|(_, on)| *on).map(|(name, _)| name).collect()
    }

    fn merge(&mut self, other: Saturated) {
        self.packets |= other.packets;
        self.bytes |= other.bytes;
    }
}

impl Serialize for Saturated {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.names())
    }
}

/// Adds `n` to a total that stops at `u64::MAX`, noting when it does (rather than wrapping, or
/// showing the limit as if it were the count).
#[inline]
pub fn add_saturating(total: &mut u64, n: u64, saturated: &mut bool) {
    match total.checked_add(n) {
        Some(sum) => *total = sum,
        None => {
            *total = u64::MAX;
            *saturated = true;
        }
    }
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
    /// The totals above that overflowed and stopped at `u64::MAX` (absent when none did).
    #[serde(skip_serializing_if = "is_unsaturated")]
    pub saturated: Saturated,
    /// The earliest `start` (Unix seconds).
    pub first_start: Option<u64>,
    /// The latest `end` (Unix seconds).
    pub last_end: Option<u64>,
    /// The distinct `interface-id` values (serialized as their count).
    #[serde(rename = "distinct_interfaces", serialize_with = "serialize_len")]
    interfaces: HashSet<Box<[u8]>, IdHashBuilder>,
    /// Records per `tcp-flags` value.
    pub tcp_flags: TcpFlagCounts,
    /// Every line that was not a well-formed record.
    pub parse_errors: u64,
    /// The first of them (at most `max_errors` of [`ParseOptions`]), with what is wrong.
    pub errors: Vec<LineError>,
    #[serde(skip)]
    error_limit: usize,
}

fn is_unsaturated(saturated: &Saturated) -> bool {
    !saturated.any()
}

fn serialize_len<S: Serializer>(set: &HashSet<Box<[u8]>, IdHashBuilder>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(set.len() as u64)
}

/// Hashes interface ids for the distinct count. SipHash took about a tenth of the summary's time on
/// 21-byte `eni-` ids; this multiply-rotate hash (FxHash's step) is keyed per set from
/// `RandomState`, so that an object cannot carry precomputed collisions.
#[derive(Debug, Clone, Copy)]
struct IdHashBuilder {
    key: u64,
}

impl Default for IdHashBuilder {
    fn default() -> Self {
        IdHashBuilder { key: RandomState::new().hash_one(0x1d_u64) }
    }
}

impl BuildHasher for IdHashBuilder {
    type Hasher = IdHasher;

    fn build_hasher(&self) -> IdHasher {
        IdHasher(self.key)
    }
}

struct IdHasher(u64);

impl IdHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        let words = bytes.chunks_exact(8);
        let rest = words.remainder();
        for word in words {
            let mut buf = [0u8; 8];
            buf.copy_from_slice(word);
            self.add(u64::from_le_bytes(buf));
        }
        if !rest.is_empty() {
            // Zero padding is told apart by the length `[u8]`'s `Hash` writes first.
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(buf));
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        // The multiply leaves the low bits weak; hashbrown picks buckets with them.
        (self.0 ^ (self.0 >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9).rotate_left(32)
    }
}

/// Records per `tcp-flags` value (serialized as a map of value to count). The one-byte values,
/// which are all that TCP's flags make, are counted in an array: a map lookup per record cost more
/// than the rest of the summary's bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpFlagCounts {
    one_byte: Box<[u64; 256]>,
    wider: BTreeMap<u16, u64>,
}

impl Default for TcpFlagCounts {
    fn default() -> Self {
        TcpFlagCounts { one_byte: Box::new([0; 256]), wider: BTreeMap::new() }
    }
}

impl TcpFlagCounts {
    fn add_count(&mut self, flags: u16, count: u64) {
        let slot = match self.one_byte.get_mut(usize::from(flags)) {
            Some(slot) => slot,
            None => self.wider.entry(flags).or_insert(0),
        };
        *slot = slot.saturating_add(count);
    }

    fn merge(&mut self, other: &TcpFlagCounts) {
        for (flags, count) in other.iter() {
            self.add_count(flags, count);
        }
    }

    /// Each value seen with its count, in ascending order of value.
    pub fn iter(&self) -> impl Iterator<Item = (u16, u64)> + '_ {
        let one_byte = (0u16..).zip(self.one_byte.iter().copied()).filter(|&(_, count)| count > 0);
        one_byte.chain(self.wider.iter().map(|(&flags, &count)| (flags, count)))
    }

    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    pub fn to_map(&self) -> BTreeMap<u16, u64> {
        self.iter().collect()
    }
}

impl Serialize for TcpFlagCounts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
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
            saturated: Saturated::default(),
            first_start: None,
            last_end: None,
            interfaces: HashSet::default(),
            tcp_flags: TcpFlagCounts::default(),
            parse_errors: 0,
            errors: Vec::new(),
            error_limit: max_errors,
        }
    }

    pub fn distinct_interfaces(&self) -> usize {
        self.interfaces.len()
    }

    /// The distinct `interface-id` values, in no particular order.
    pub fn interfaces(&self) -> impl Iterator<Item = &str> + '_ {
        self.interfaces.iter().filter_map(|id| std::str::from_utf8(id).ok())
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
        self.saturated.merge(other.saturated);
        add_saturating(&mut self.packets, other.packets, &mut self.saturated.packets);
        add_saturating(&mut self.bytes, other.bytes, &mut self.saturated.bytes);
        self.first_start = min_option(self.first_start, other.first_start);
        self.last_end = self.last_end.max(other.last_end);
        if self.interfaces.len() < other.interfaces.len() {
            let mine = std::mem::replace(&mut self.interfaces, other.interfaces);
            self.interfaces.extend(mine);
        } else {
            self.interfaces.extend(other.interfaces);
        }
        self.tcp_flags.merge(&other.tcp_flags);
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

/// One well-formed record, borrowed from the reader until its next record.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    header: &'a Header,
    line: &'a [u8],
    spans: &'a [(usize, usize)],
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
        self.line.strip_suffix(b"\r").unwrap_or(self.line)
    }

    /// The typed value of the field at `index` (see [`Header::index`]); `None` when the field is
    /// `-` or there is no such field.
    pub fn value(&self, index: usize) -> Option<FieldValue<'a>> {
        // The line was checked when it was read: parsing a field again cannot fail. Values are
        // typed here, on demand, so that reading a record costs nothing for fields not asked for.
        let &(start, end) = self.spans.get(index)?;
        typed_value(self.header.kind(index)?, self.line.get(start..end)?)
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
/// ```text
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
    /// Per field of the last line read: its number (see [`check_field`]).
    numbers: Vec<u64>,
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
            Decoder::Gzip(Box::new(GzipMembers::new(io::BufReader::with_capacity(GZIP_INPUT_BUFFER_LEN, source))))
        } else {
            Decoder::Plain(source)
        };
        let mut lines = LineReader::new(decoder);

        // Look at the whole first line before taking it as a header, but never read on for it:
        // a huge object without line breaks fails here, not after it has been read through.
        if let Err(e) = lines.fill(MAX_HEADER_LEN + 1) {
            return Err(lines.inner.classify(e, 0));
        }
        let head = lines.buffered();
        if head.is_empty() {
            return Err(match lines.error.take() {
                Some(e) => lines.inner.classify(e, 0),
                None => ParseError::Empty,
            });
        }
        let first_line = head.split(|&b| b == b'\n').next().unwrap_or_default();
        // A line cut by a read error is not complete: its last character may be cut in two.
        let complete = first_line.len() < head.len() || (lines.eof && lines.error.is_none());
        if let Some(reason) = binary_reason(first_line, complete) {
            return Err(if gzip { ParseError::BinaryContent(reason) } else { ParseError::NotText(reason) });
        }
        if first_line.len() > MAX_HEADER_LEN {
            return Err(ParseError::HeaderTooLong { limit: MAX_HEADER_LEN });
        }

        let header_line = match lines.next_line(MAX_HEADER_LEN) {
            Ok(Some(Line::Text(span))) => lines.bytes(span),
            Ok(Some(Line::TooLong)) => return Err(ParseError::HeaderTooLong { limit: MAX_HEADER_LEN }),
            Ok(None) => return Err(ParseError::Empty),
            Err(e) => return Err(lines.inner.classify(e, 0)),
        };
        let header_line = header_line.strip_suffix(b"\r").unwrap_or(header_line);
        let header_text = std::str::from_utf8(header_line)
            .map_err(|_| if gzip { ParseError::BinaryContent("is not UTF-8") } else { ParseError::NotText("is not UTF-8") })?;
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
            numbers: vec![0; header.len()],
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
            match parse_line(bytes, &self.header.kinds, &mut self.spans, &mut self.numbers) {
                Ok(true) => {
                    self.summary.add_record(&self.columns, bytes, &self.spans, &self.numbers);
                    break span;
                }
                Ok(false) => {}
                Err(fault) => {
                    let (header, spans) = (&self.header, &self.spans);
                    self.summary.add_error(line_number, || fault.message(header, bytes, spans));
                }
            }
        };
        Ok(Some(Record { header: &self.header, line: self.lines.bytes(span), spans: &self.spans, line_number: self.lines.line_number }))
    }
}

impl ObjectSummary {
    #[inline]
    fn add_record(&mut self, columns: &SummaryColumns, line: &[u8], spans: &[(usize, usize)], numbers: &[u64]) {
        self.records = self.records.saturating_add(1);
        // The line has been checked: each column holds a value of its kind, or `-`.
        let text = |index: Option<usize>| {
            let (start, end) = *spans.get(index?)?;
            line.get(start..end).filter(|field| *field != b"-")
        };
        let number = |index: Option<usize>| text(index).and(numbers.get(index?).copied());
        match text(columns.log_status) {
            Some(b"OK") => self.log_status.ok += 1,
            Some(b"NODATA") => self.log_status.nodata += 1,
            Some(b"SKIPDATA") => self.log_status.skipdata += 1,
            _ => {}
        }
        match text(columns.action) {
            Some(b"ACCEPT") => self.actions.accept += 1,
            Some(b"REJECT") => self.actions.reject += 1,
            _ => {}
        }
        if let Some(n) = number(columns.packets) {
            add_saturating(&mut self.packets, n, &mut self.saturated.packets);
        }
        if let Some(n) = number(columns.bytes) {
            add_saturating(&mut self.bytes, n, &mut self.saturated.bytes);
        }
        if let Some(t) = number(columns.start) {
            self.first_start = Some(self.first_start.map_or(t, |s| s.min(t)));
        }
        if let Some(t) = number(columns.end) {
            self.last_end = Some(self.last_end.map_or(t, |e| e.max(t)));
        }
        if let Some(flags) = number(columns.tcp_flags).and_then(|n| u16::try_from(n).ok()) {
            self.tcp_flags.add_count(flags, 1);
        }
        if let Some(id) = text(columns.interface) {
            if !self.interfaces.contains(id) {
                self.interfaces.insert(id.into());
            }
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

// The hot path is marked `#[inline]`: in flowgate's build (many codegen units) it was otherwise
// left as calls from the generic reader into this module, 5% slower than inlined.

/// Checks `line` field by field against `kinds`, leaving each field's span in `spans` and its
/// number (see [`check_field`]) in `numbers`, which holds one slot per kind. `Ok(false)` for a
/// blank line.
#[inline]
fn parse_line(line: &[u8], kinds: &[FieldKind], spans: &mut Vec<(usize, usize)>, numbers: &mut [u64]) -> Result<bool, LineFault> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if spans.len() != kinds.len() {
        spans.resize(kinds.len(), (0, 0));
    }
    if parse_line_fast(line, kinds, spans, numbers).is_some() {
        return Ok(true);
    }
    // The general path: split first, then check each field; it decides every line the fast path
    // leaves to it, and says what is wrong.
    split_fields(line, spans);
    if spans.is_empty() {
        return Ok(false);
    }
    if spans.len() != kinds.len() {
        return Err(LineFault::FieldCount { found: spans.len() });
    }
    for (index, ((&(start, end), &kind), slot)) in spans.iter().zip(kinds).zip(numbers.iter_mut()).enumerate() {
        let field = line.get(start..end).unwrap_or_default();
        match check_field(kind, field) {
            Some(number) => *slot = number,
            None => return Err(LineFault::Field { index, reason: kind_reason(kind) }),
        }
    }
    Ok(true)
}

/// The common case of [`parse_line`] in one pass: each field is read where it starts and its end
/// is where its value stops, so the line is not split first. It takes only lines as AWS writes
/// them (single spaces, no space at either end) and returns `None` for anything else, well-formed
/// or not (a run of spaces, a number of 20 digits, a bad value), which the general path then
/// decides. For every line it accepts, it leaves the spans and numbers the general path would: a
/// property test holds it to that.
#[inline]
fn parse_line_fast(line: &[u8], kinds: &[FieldKind], spans: &mut [(usize, usize)], numbers: &mut [u64]) -> Option<()> {
    let last = kinds.len().checked_sub(1)?;
    let mut start = 0;
    for (index, ((&kind, span), number)) in kinds.iter().zip(spans.iter_mut()).zip(numbers.iter_mut()).enumerate() {
        let rest = line.get(start..)?;
        let (len, value) = if rest.first() == Some(&b'-') && matches!(rest.get(1), None | Some(b' ')) {
            (1, 0)
        } else {
            match kind {
                FieldKind::Integer | FieldKind::Counter | FieldKind::UnixTime => leading_number(rest, u64::MAX)?,
                FieldKind::Port | FieldKind::TcpFlags => leading_number(rest, u64::from(u16::MAX))?,
                FieldKind::Protocol => leading_number(rest, u64::from(u8::MAX))?,
                FieldKind::Address => match leading_ipv4(rest) {
                    Some(len) => (len, 0),
                    None => {
                        let len = find_byte(rest, b' ').unwrap_or(rest.len());
                        parse_ipv6(rest.get(..len)?)?;
                        (len, 0)
                    }
                },
                FieldKind::Action => (leading_word(rest, &[b"ACCEPT", b"REJECT"])?, 0),
                FieldKind::LogStatus => (leading_word(rest, &[b"OK", b"NODATA", b"SKIPDATA"])?, 0),
                FieldKind::Text => {
                    let len = find_byte(rest, b' ').unwrap_or(rest.len());
                    let field = rest.get(..len)?;
                    if len == 0 || !(field.is_ascii() || std::str::from_utf8(field).is_ok()) {
                        return None;
                    }
                    (len, 0)
                }
            }
        };
        let end = start + len;
        *span = (start, end);
        *number = value;
        // The value must fill the field: a space must follow it, or the line end after the last.
        if index == last {
            return (end == line.len()).then_some(());
        }
        if line.get(end) != Some(&b' ') {
            return None;
        }
        start = end + 1;
    }
    None
}

/// The length and value of the decimal number `bytes` starts with, if it is at most `max`. Up to
/// 19 digits, which cannot overflow: a 20th is left where the caller sees it is not a space.
#[inline(always)]
fn leading_number(bytes: &[u8], max: u64) -> Option<(usize, u64)> {
    let mut value: u64 = 0;
    let mut len = 0;
    for &b in bytes.iter().take(19) {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            break;
        }
        value = value * 10 + u64::from(digit);
        len += 1;
    }
    (len > 0 && value <= max).then_some((len, value))
}

/// The length of the IPv4 address `bytes` starts with: dotted-quad as `Ipv4Addr::from_str`
/// accepts it (no leading zeros), up to the first byte that is neither a digit nor a dot.
#[inline]
fn leading_ipv4(bytes: &[u8]) -> Option<usize> {
    let digit = |at: usize| bytes.get(at).map(|b| b.wrapping_sub(b'0')).filter(|&d| d <= 9);
    let mut at = 0;
    for octet in 0..4 {
        // One to three digits, without a leading zero, at most 255.
        let first = digit(at)?;
        at += 1;
        if let Some(second) = digit(at) {
            if first == 0 {
                return None;
            }
            at += 1;
            if let Some(third) = digit(at) {
                if u16::from(first) * 100 + u16::from(second) * 10 + u16::from(third) > 255 {
                    return None;
                }
                at += 1;
            }
        }
        match bytes.get(at) {
            Some(b'.') if octet < 3 => at += 1,
            Some(b'.' | b'0'..=b'9') => return None,
            _ if octet < 3 => return None,
            _ => {}
        }
    }
    Some(at)
}

/// The length of the word of `words` that `bytes` starts with.
#[inline]
fn leading_word(bytes: &[u8], words: &[&[u8]]) -> Option<usize> {
    words.iter().find(|word| bytes.starts_with(word)).map(|word| word.len())
}

/// Finds the fields of `line`, eight bytes at a time. Runs of spaces count as one separator: AWS
/// writes single spaces, hand-edited files may not.
fn split_fields(line: &[u8], spans: &mut Vec<(usize, usize)>) {
    spans.clear();
    let mut start = 0;
    let mut push = |space: usize, spans: &mut Vec<(usize, usize)>| {
        if space > start {
            spans.push((start, space));
        }
        start = space + 1;
    };
    let words = line.chunks_exact(8);
    let rest = words.remainder();
    let mut offset = 0;
    for word in words {
        let mut spaces = byte_mask(word, b' ');
        while spaces != 0 {
            push(offset + (spaces.trailing_zeros() / 8) as usize, spans);
            spaces &= spaces - 1;
        }
        offset += 8;
    }
    for (i, &b) in rest.iter().enumerate() {
        if b == b' ' {
            push(offset + i, spans);
        }
    }
    if line.len() > start {
        spans.push((start, line.len()));
    }
}

/// The high bit of each byte of the (8-byte) `word` that equals `byte`, and no other bit.
fn byte_mask(word: &[u8], byte: u8) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(word);
    let x = u64::from_le_bytes(bytes) ^ (u64::from(byte) * 0x0101_0101_0101_0101);
    // Per byte: (low 7 bits + 0x7f) sets the high bit when they are nonzero, without carrying
    // into the next byte; or'ed with the byte's own high bit, it is set unless the byte is zero.
    !(((x & LOW7).wrapping_add(LOW7)) | x | LOW7)
}

/// The general path's check: whether `field` is `-` or a value of `kind`; `Some` with the value of
/// a numeric kind (0 for the others and for `-`), the number the fast path leaves for the summary.
fn check_field(kind: FieldKind, field: &[u8]) -> Option<u64> {
    if field == b"-" {
        return Some(0);
    }
    // What a value of a kind is, is said once, by `typed_value`: this path is the rare one.
    Some(match typed_value(kind, field)? {
        FieldValue::Integer(n) | FieldValue::Counter(n) | FieldValue::UnixTime(n) => n,
        FieldValue::Port(n) | FieldValue::TcpFlags(n) => u64::from(n),
        FieldValue::Protocol(n) => u64::from(n),
        FieldValue::Address(_) | FieldValue::Action(_) | FieldValue::LogStatus(_) | FieldValue::Text(_) => 0,
    })
}

/// The typed value of `field`, read as `kind`; `None` for `-` or a field that is not of its kind.
fn typed_value(kind: FieldKind, field: &[u8]) -> Option<FieldValue<'_>> {
    if field == b"-" {
        return None;
    }
    Some(match kind {
        FieldKind::Integer => FieldValue::Integer(parse_u64(field)?),
        FieldKind::Address => FieldValue::Address(parse_address(field)?),
        FieldKind::Port => FieldValue::Port(u16::try_from(parse_u64(field)?).ok()?),
        FieldKind::Protocol => FieldValue::Protocol(u8::try_from(parse_u64(field)?).ok()?),
        FieldKind::Counter => FieldValue::Counter(parse_u64(field)?),
        FieldKind::UnixTime => FieldValue::UnixTime(parse_u64(field)?),
        FieldKind::Action => FieldValue::Action(match field {
            b"ACCEPT" => Action::Accept,
            b"REJECT" => Action::Reject,
            _ => return None,
        }),
        FieldKind::LogStatus => FieldValue::LogStatus(match field {
            b"OK" => LogStatus::Ok,
            b"NODATA" => LogStatus::NoData,
            b"SKIPDATA" => LogStatus::SkipData,
            _ => return None,
        }),
        FieldKind::TcpFlags => FieldValue::TcpFlags(u16::try_from(parse_u64(field)?).ok()?),
        FieldKind::Text => FieldValue::Text(std::str::from_utf8(field).ok()?),
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
    // 19 digits cannot overflow: the common case needs no checked arithmetic.
    if digits.len() < 20 {
        let mut value: u64 = 0;
        for &b in digits {
            let digit = b.wrapping_sub(b'0');
            if digit > 9 {
                return None;
            }
            value = value * 10 + u64::from(digit);
        }
        return Some(value);
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
    // IPv4 fails fast on an IPv6 address's first hex letter or colon.
    match parse_ipv4(field) {
        Some(v4) => Some(IpAddr::V4(v4)),
        None => parse_ipv6(field).map(IpAddr::V6),
    }
}

/// Dotted-quad IPv4 as `Ipv4Addr::from_str` accepts it: the whole field, checked by the fast
/// path's [`leading_ipv4`], then its octets read (four runs of at most three digits, at most 255).
fn parse_ipv4(field: &[u8]) -> Option<Ipv4Addr> {
    if leading_ipv4(field)? != field.len() {
        return None;
    }
    let mut octets = [0u8; 4];
    for (octet, digits) in octets.iter_mut().zip(field.split(|&b| b == b'.')) {
        *octet = digits.iter().fold(0u8, |value, &b| value.wrapping_mul(10).wrapping_add(b.wrapping_sub(b'0')));
    }
    Some(Ipv4Addr::from(octets))
}

/// Each byte's value as a hexadecimal digit, 0xff for bytes that are not one.
const HEX_DIGITS: [u8; 256] = {
    let mut values = [0xff; 256];
    let mut i = 0;
    while i < 16 {
        values[b"0123456789abcdef"[i] as usize] = i as u8;
        values[b"0123456789ABCDEF"[i] as usize] = i as u8;
        i += 1;
    }
    values
};

/// IPv6 as `Ipv6Addr::from_str` accepts it, in one pass over bytes, without its slow path for
/// the rare embedded IPv4 form (`::ffff:1.2.3.4`), which is left to std.
#[inline]
fn parse_ipv6(field: &[u8]) -> Option<Ipv6Addr> {
    let mut groups = [0u16; 8];
    let mut count = 0;
    // Where `::` stands, as the number of groups before it.
    let mut gap = None;
    let mut at = 0;
    if field.starts_with(b"::") {
        gap = Some(0);
        at = 2;
        if field.len() == 2 {
            return Some(Ipv6Addr::UNSPECIFIED);
        }
    }
    loop {
        let mut value: u16 = 0;
        let mut digits = 0;
        while let Some(&nibble) = field.get(at).map(|&b| &HEX_DIGITS[usize::from(b)]).filter(|&&n| n < 16) {
            if digits == 4 {
                return None;
            }
            value = value << 4 | u16::from(nibble);
            digits += 1;
            at += 1;
        }
        if digits == 0 || count == groups.len() {
            return None;
        }
        groups[count] = value;
        count += 1;
        match field.get(at..at + 2) {
            None if at == field.len() => break,
            Some(b"::") => {
                if gap.is_some() {
                    return None;
                }
                gap = Some(count);
                at += 2;
                if at == field.len() {
                    break;
                }
            }
            _ if field.get(at) == Some(&b':') && at + 1 < field.len() => at += 1,
            // A dot after a group: the address may end in embedded IPv4 (`::ffff:1.2.3.4`).
            _ if field.get(at) == Some(&b'.') => return std::str::from_utf8(field).ok()?.parse().ok(),
            _ => return None,
        }
    }
    match gap {
        // `::` stands for at least one group of zeros.
        Some(before) if count < groups.len() => {
            let after = count - before;
            let moved_to = groups.len() - after;
            groups.copy_within(before..count, moved_to);
            groups[before..moved_to].fill(0);
        }
        None if count == groups.len() => {}
        _ => return None,
    }
    Some(Ipv6Addr::from(groups))
}

/// The first line's look: `Some(reason)` when it is binary rather than text. `complete` says the
/// line ends in the bytes given, so a UTF-8 sequence cut at their end is an error.
fn binary_reason(first_line: &[u8], complete: bool) -> Option<&'static str> {
    if first_line.contains(&0) {
        return Some("holds NUL bytes");
    }
    match std::str::from_utf8(first_line) {
        Err(e) if e.error_len().is_some() || complete => return Some("is not UTF-8"),
        _ => {}
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
    Gzip(Box<GzipMembers<R>>),
}

/// The gzip members of an object, one after the other (a multi-member object is one text), then
/// optionally zero bytes up to the end: some writers pad a file to a block size, and `gzip -d`
/// takes trailing zeros for padding, not for a cut. Anything else after a member must be another
/// member.
struct GzipMembers<R> {
    /// The current member; `None` only while one member is swapped for the next.
    member: Option<GzDecoder<io::BufReader<Source<R>>>>,
    done: bool,
}

impl<R> GzipMembers<R> {
    fn source(&self) -> Option<&Source<R>> {
        self.member.as_ref().map(|m| m.get_ref().get_ref())
    }
}

impl<R: Read> GzipMembers<R> {
    fn new(input: io::BufReader<Source<R>>) -> GzipMembers<R> {
        GzipMembers { member: Some(GzDecoder::new(input)), done: false }
    }

    /// After a member's trailer: whether the input ends there, once any zero padding is skipped.
    fn at_end_of_members(input: &mut io::BufReader<Source<R>>) -> io::Result<bool> {
        let mut padding = false;
        loop {
            let next = input.fill_buf()?;
            let Some(&first) = next.first() else { return Ok(true) };
            if first != 0 && !padding {
                return Ok(false);
            }
            if next.iter().any(|&b| b != 0) {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "bytes other than zero padding follow the last gzip member"));
            }
            padding = true;
            let len = next.len();
            input.consume(len);
        }
    }
}

impl<R: Read> Read for GzipMembers<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while !self.done && !buf.is_empty() {
            let Some(member) = self.member.as_mut() else { return Ok(0) };
            let n = member.read(buf)?;
            if n > 0 {
                return Ok(n);
            }
            // The member ended, its checksum and length checked.
            if Self::at_end_of_members(member.get_mut())? {
                self.done = true;
            } else if let Some(member) = self.member.take() {
                self.member = Some(GzDecoder::new(member.into_inner()));
            }
        }
        Ok(0)
    }
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
    fn source(&self) -> Option<&Source<R>> {
        match self {
            Decoder::Plain(source) => Some(source),
            Decoder::Gzip(members) => members.source(),
        }
    }

    /// Names a read error: the caller's reader failing, or the gzip data being cut or corrupt.
    fn classify(&self, error: io::Error, records: u64) -> ParseError {
        let source = self.source();
        if source.is_none_or(|s| s.failed) || matches!(self, Decoder::Plain(_)) {
            return ParseError::Read { records, source: error };
        }
        let compressed_bytes = source.map_or(0, |s| s.bytes_read);
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
    /// The read error that ended the stream, returned once the lines read before it are: a cut
    /// object still yields (and counts) every whole line before the cut.
    error: Option<io::Error>,
    /// The number of the line last returned (1-based).
    line_number: u64,
}

impl<R: Read> LineReader<R> {
    fn new(inner: R) -> LineReader<R> {
        LineReader { inner, buf: vec![0; LINE_BUFFER_LEN].into_boxed_slice(), start: 0, end: 0, eof: false, error: None, line_number: 0 }
    }

    fn bytes(&self, (start, end): (usize, usize)) -> &[u8] {
        self.buf.get(start..end).unwrap_or_default()
    }

    /// Reads until at least `n` bytes are buffered or the stream ends.
    fn fill(&mut self, n: usize) -> io::Result<()> {
        while self.end - self.start < n.min(self.buf.len()) && !self.eof {
            self.read_more()?;
        }
        Ok(())
    }

    /// What is buffered and not yet returned as a line.
    fn buffered(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or_default()
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
                Err(e) => {
                    self.eof = true;
                    self.error = Some(e);
                    return Ok(());
                }
            }
        }
    }

    /// The next line without its `\n`. A line longer than `limit` is skipped to its end and
    /// reported as [`Line::TooLong`], never buffered whole.
    fn next_line(&mut self, limit: usize) -> io::Result<Option<Line>> {
        let mut too_long = false;
        loop {
            if let Some(pos) = memchr::memchr(b'\n', &self.buf[self.start..self.end]) {
                let span = (self.start, self.start + pos);
                self.start += pos + 1;
                self.line_number += 1;
                return Ok(Some(if too_long || pos > limit { Line::TooLong } else { Line::Text(span) }));
            }
            let pending = self.end - self.start;
            if self.eof {
                if let Some(error) = self.error.take() {
                    // The rest of a line cut by the error is not a record.
                    self.start = self.end;
                    return Err(error);
                }
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

/// The index of the first `byte`, eight bytes at a time.
#[inline]
fn find_byte(haystack: &[u8], byte: u8) -> Option<usize> {
    let words = haystack.chunks_exact(8);
    let rest = words.remainder();
    let mut offset = 0;
    for word in words {
        let found = byte_mask(word, byte);
        if found != 0 {
            return Some(offset + (found.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    rest.iter().position(|&b| b == byte).map(|p| offset + p)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;
    use proptest::prelude::*;

    use super::*;
    use crate::format::DEFAULT_V2_FIELDS;

    // The VPC User Guide's "Flow log record examples" (default format).
    const DOC_ACCEPT: &str = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK";
    const DOC_REJECT: &str = "2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK";
    const DOC_NODATA: &str = "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA";
    const DOC_SKIPDATA: &str = "2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1431280876 1431280934 - SKIPDATA";
    const DOC_IPV6: &str = "2 123456789010 eni-1235b8ca123456789 2001:db8:1234:a100:8d6e:3477:df66:f105 2001:db8:1234:a102:3304:8879:34cf:4071 34892 22 6 54 8855 1477913708 1477913820 ACCEPT OK";

    /// The example's custom format for a TCP flag sequence (v3 fields).
    const TCP_SEQUENCE_FORMAT: &str = "version vpc-id subnet-id instance-id interface-id account-id type srcaddr dstaddr srcport dstport pkt-srcaddr pkt-dstaddr protocol bytes packets start end action tcp-flags log-status";
    const TCP_SEQUENCE: &[&str] = &[
        "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789012 IPv4 52.213.180.42 10.0.0.62 43416 5001 52.213.180.42 10.0.0.62 6 568 8 1566848875 1566848933 ACCEPT 2 OK",
        "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789012 IPv4 10.0.0.62 52.213.180.42 5001 43416 10.0.0.62 52.213.180.42 6 376 7 1566848875 1566848933 ACCEPT 18 OK",
        "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789012 IPv4 52.213.180.42 10.0.0.62 43418 5001 52.213.180.42 10.0.0.62 6 100701 70 1566848875 1566848933 ACCEPT 2 OK",
        "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789012 IPv4 10.0.0.62 52.213.180.42 5001 43418 10.0.0.62 52.213.180.42 6 632 12 1566848875 1566848933 ACCEPT 18 OK",
        "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789012 IPv4 10.0.0.62 52.213.180.42 5001 43418 10.0.0.62 52.213.180.42 6 63388 1219 1566848933 1566849113 ACCEPT 1 OK",
        "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789012 IPv4 52.213.180.42 10.0.0.62 43418 5001 52.213.180.42 10.0.0.62 6 23294588 15774 1566848933 1566849113 ACCEPT 1 OK",
        "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789012 IPv4 52.213.180.42 10.0.0.62 43638 5001 52.213.180.42 10.0.0.62 6 1260 17 1566849113 1566849126 ACCEPT 3 OK",
        "3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789012 IPv4 10.0.0.62 52.213.180.42 5001 43638 10.0.0.62 52.213.180.42 6 967 14 1566849113 1566849129 ACCEPT 19 OK",
    ];

    /// The example's v5 format: traffic through a NAT gateway to an AWS service.
    const V5_FORMAT: &str = "version srcaddr dstaddr srcport dstport protocol start end type packets bytes account-id vpc-id subnet-id instance-id interface-id region az-id sublocation-type sublocation-id action tcp-flags pkt-srcaddr pkt-dstaddr pkt-src-aws-service pkt-dst-aws-service traffic-path flow-direction log-status";
    const V5_RECORDS: &[&str] = &[
        "5 52.95.128.179 10.0.0.71 80 34210 6 1616729292 1616729349 IPv4 14 15044 123456789012 vpc-abcdefab012345678 subnet-0123456789abcdef i-0c50d5961bcb2d47b eni-1235b8ca123456789 ap-southeast-2 apse2-az3 - - ACCEPT 19 52.95.128.179 10.0.0.71 S3 - - ingress OK",
        "5 10.0.0.71 52.95.128.179 34210 80 6 1616729292 1616729349 IPv4 7 471 123456789012 vpc-abcdefab012345678 subnet-0123456789abcdef i-0c50d5961bcb2d47b eni-1235b8ca123456789 ap-southeast-2 apse2-az3 - - ACCEPT 3 10.0.0.71 52.95.128.179 - S3 8 egress OK",
        "5 10.0.0.71 203.0.113.25 44512 443 6 1616729292 1616729349 IPv4 2 120 123456789012 vpc-abcdefab012345678 subnet-0123456789abcdef i-0c50d5961bcb2d47b eni-1235b8ca123456789 ap-southeast-2 apse2-az3 - - REJECT 2 10.0.0.71 203.0.113.25 - AMAZON 1 egress OK",
    ];

    fn lenient() -> ParseOptions {
        ParseOptions { require_fields: false, ..ParseOptions::default() }
    }

    fn object(header: &str, records: &[&str]) -> Vec<u8> {
        let mut text = format!("{header}\n");
        for record in records {
            text.push_str(record);
            text.push('\n');
        }
        text.into_bytes()
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    fn required_header() -> String {
        required_fields().join(" ")
    }

    /// Collects each record's fields as `Display` text (`-` for absent).
    fn rows(input: &[u8], options: &ParseOptions) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        for_each_record(input, options, |record| {
            rows.push(record.values().map(|(_, v)| v.map_or("-".to_owned(), |v| v.to_string())).collect());
            Ok::<_, ParseError>(())
        })
        .unwrap();
        rows
    }

    #[test]
    fn documented_default_format_records() {
        let input = object(&DEFAULT_V2_FIELDS.join(" "), &[DOC_ACCEPT, DOC_REJECT, DOC_NODATA, DOC_SKIPDATA, DOC_IPV6]);
        let summary = summarize(input.as_slice(), &lenient()).unwrap();
        assert_eq!(summary.records, 5);
        assert_eq!(summary.log_status, StatusCounts { ok: 3, nodata: 1, skipdata: 1 });
        assert_eq!(summary.actions, ActionCounts { accept: 2, reject: 1 });
        assert_eq!(summary.packets, 20 + 20 + 54);
        assert_eq!(summary.bytes, 4249 + 4249 + 8855);
        assert_eq!(summary.first_start, Some(1418530010));
        assert_eq!(summary.last_end, Some(1477913820));
        assert_eq!(summary.distinct_interfaces(), 2);
        assert!(summary.tcp_flags.is_empty());
        assert_eq!((summary.parse_errors, summary.errors.len()), (0, 0));
        assert_eq!(summary.formats, vec![DEFAULT_V2_FIELDS.iter().map(|f| f.to_string()).collect::<Vec<_>>()]);
        assert_eq!(summary.objects, 1);
    }

    #[test]
    fn records_are_typed_by_field_kind() {
        let input = object(&DEFAULT_V2_FIELDS.join(" "), &[DOC_ACCEPT, DOC_NODATA, DOC_IPV6]);
        let mut reader = RecordReader::new(input.as_slice(), &lenient()).unwrap();
        assert!(!reader.is_gzip());
        let srcaddr = reader.header().index("srcaddr").unwrap();

        let record = reader.next_record().unwrap().unwrap();
        assert_eq!(record.line_number(), 2);
        assert_eq!(record.get("version"), Some(FieldValue::Integer(2)));
        assert_eq!(record.get("account-id"), Some(FieldValue::Text("123456789010")));
        assert_eq!(record.get("interface-id"), Some(FieldValue::Text("eni-1235b8ca123456789")));
        assert_eq!(record.value(srcaddr), Some(FieldValue::Address("172.31.16.139".parse().unwrap())));
        assert_eq!(record.get("srcport"), Some(FieldValue::Port(20641)));
        assert_eq!(record.get("dstport"), Some(FieldValue::Port(22)));
        assert_eq!(record.get("protocol"), Some(FieldValue::Protocol(6)));
        assert_eq!(record.get("packets"), Some(FieldValue::Counter(20)));
        assert_eq!(record.get("bytes"), Some(FieldValue::Counter(4249)));
        assert_eq!(record.get("start"), Some(FieldValue::UnixTime(1418530010)));
        assert_eq!(record.get("end"), Some(FieldValue::UnixTime(1418530070)));
        assert_eq!(record.get("action"), Some(FieldValue::Action(Action::Accept)));
        assert_eq!(record.get("log-status"), Some(FieldValue::LogStatus(LogStatus::Ok)));
        assert_eq!(record.get("tcp-flags"), None, "not in the header");
        assert_eq!(record.raw(), DOC_ACCEPT.as_bytes());
        assert_eq!(record.text(3), Some("172.31.16.139"));

        let record = reader.next_record().unwrap().unwrap();
        assert_eq!(record.get("log-status"), Some(FieldValue::LogStatus(LogStatus::NoData)));
        for absent in ["srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes", "action"] {
            assert_eq!(record.get(absent), None, "{absent}");
        }
        assert_eq!(record.text(3), Some("-"));
        assert_eq!(record.get("start"), Some(FieldValue::UnixTime(1431280876)));

        let record = reader.next_record().unwrap().unwrap();
        assert_eq!(record.value(srcaddr), Some(FieldValue::Address("2001:db8:1234:a100:8d6e:3477:df66:f105".parse().unwrap())));
        assert!(reader.next_record().unwrap().is_none());
        assert!(reader.next_record().unwrap().is_none(), "stays at the end");
        assert_eq!(reader.summary().records, 3);
    }

    #[test]
    fn records_display_as_written_and_serialize_typed() {
        let input = object(&DEFAULT_V2_FIELDS.join(" "), &[DOC_ACCEPT, DOC_NODATA, DOC_IPV6]);
        let written: Vec<String> = rows(&input, &lenient()).iter().map(|r| r.join(" ")).collect();
        assert_eq!(written, [DOC_ACCEPT, DOC_NODATA, DOC_IPV6]);

        let mut json = Vec::new();
        for_each_record(input.as_slice(), &lenient(), |record| {
            json.push(serde_json::to_value(record).unwrap());
            Ok::<_, ParseError>(())
        })
        .unwrap();
        assert_eq!(
            json[0],
            serde_json::json!({
                "version": 2, "account-id": "123456789010", "interface-id": "eni-1235b8ca123456789",
                "srcaddr": "172.31.16.139", "dstaddr": "172.31.16.21", "srcport": 20641, "dstport": 22,
                "protocol": 6, "packets": 20, "bytes": 4249, "start": 1418530010, "end": 1418530070,
                "action": "ACCEPT", "log-status": "OK"
            })
        );
        assert_eq!(json[1]["srcaddr"], serde_json::Value::Null);
        assert_eq!(json[1]["log-status"], "NODATA");
        assert_eq!(json[2]["dstaddr"], "2001:db8:1234:a102:3304:8879:34cf:4071");
    }

    #[test]
    fn tcp_flag_sequence_custom_format() {
        let input = object(TCP_SEQUENCE_FORMAT, TCP_SEQUENCE);
        let summary = summarize(input.as_slice(), &ParseOptions::default()).unwrap();
        assert_eq!(summary.records, 8);
        assert_eq!(summary.tcp_flags.to_map(), BTreeMap::from([(1, 2), (2, 2), (3, 1), (18, 2), (19, 1)]));
        assert_eq!(summary.actions.accept, 8);
        assert_eq!(summary.packets, 8 + 7 + 70 + 12 + 1219 + 15774 + 17 + 14);
        assert_eq!(summary.bytes, 568 + 376 + 100701 + 632 + 63388 + 23294588 + 1260 + 967);
        assert_eq!((summary.first_start, summary.last_end), (Some(1566848875), Some(1566849129)));
        assert_eq!(summary.parse_errors, 0);

        let rows = rows(&input, &ParseOptions::default());
        let format: Vec<&str> = TCP_SEQUENCE_FORMAT.split(' ').collect();
        let column = |name: &str| format.iter().position(|f| *f == name).unwrap();
        assert_eq!(rows[0][column("type")], "IPv4");
        assert_eq!(rows[0][column("pkt-srcaddr")], "52.213.180.42");
        assert_eq!(rows[1][column("tcp-flags")], "18");
        assert_eq!(rows[0][column("instance-id")], "i-01234567890123456");
    }

    #[test]
    fn v5_fields_parse() {
        let input = object(V5_FORMAT, V5_RECORDS);
        let mut values = Vec::new();
        let summary = for_each_record(input.as_slice(), &ParseOptions::default(), |record| {
            let typed = (record.get("traffic-path"), record.get("pkt-dstaddr"));
            assert!(matches!(typed.0, None | Some(FieldValue::Integer(1..=8))), "{typed:?}");
            assert!(matches!(typed.1, Some(FieldValue::Address(_))), "{typed:?}");
            let fields = ["flow-direction", "traffic-path", "pkt-src-aws-service", "pkt-dst-aws-service", "region", "type"];
            values.push(fields.map(|f| record.get(f).map_or("-".to_owned(), |v| v.to_string())).join(" "));
            Ok::<_, ParseError>(())
        })
        .unwrap();
        assert_eq!(summary.records, 3);
        assert_eq!(summary.actions, ActionCounts { accept: 2, reject: 1 });
        assert_eq!(summary.tcp_flags.to_map(), BTreeMap::from([(2, 1), (3, 1), (19, 1)]));
        assert_eq!(values, ["ingress - S3 - ap-southeast-2 IPv4", "egress 8 - S3 ap-southeast-2 IPv4", "egress 1 - AMAZON ap-southeast-2 IPv4",]);
    }

    #[test]
    fn gzip_and_plain_give_the_same_summary() {
        let plain = object(TCP_SEQUENCE_FORMAT, TCP_SEQUENCE);
        let compressed = gzip(&plain);
        let from_plain = summarize(plain.as_slice(), &ParseOptions::default()).unwrap();
        let from_gzip = summarize(compressed.as_slice(), &ParseOptions::default()).unwrap();
        assert_eq!(from_plain, from_gzip);
        assert!(RecordReader::new(compressed.as_slice(), &ParseOptions::default()).unwrap().is_gzip());
    }

    #[test]
    fn multi_member_gzip_is_read_whole() {
        let plain = object(TCP_SEQUENCE_FORMAT, TCP_SEQUENCE);
        // Split mid-line: members are byte streams, lines may straddle them.
        let cut = plain.len() / 2 + 7;
        let mut members = gzip(&plain[..cut]);
        members.extend(gzip(&plain[cut..]));
        members.extend(gzip(b""));
        let summary = summarize(members.as_slice(), &ParseOptions::default()).unwrap();
        assert_eq!(summary, summarize(plain.as_slice(), &ParseOptions::default()).unwrap());
    }

    /// A reader handing out one byte per call, as a slow network body may.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match (self.0.split_first(), buf.first_mut()) {
                (Some((&byte, rest)), Some(slot)) => {
                    *slot = byte;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    #[test]
    fn short_reads_still_detect_gzip() {
        let plain = object(TCP_SEQUENCE_FORMAT, TCP_SEQUENCE);
        let compressed = gzip(&plain);
        let expected = summarize(plain.as_slice(), &ParseOptions::default()).unwrap();
        assert_eq!(summarize(Trickle(&compressed), &ParseOptions::default()).unwrap(), expected);
        assert_eq!(summarize(Trickle(&plain), &ParseOptions::default()).unwrap(), expected);
    }

    /// 2000 records of the required format, about 200 KB of text.
    fn large_object() -> Vec<u8> {
        let lines: Vec<String> = (0..2000)
            .map(|i| {
                format!(
                    "3 123456789010 eni-{i:017x} 10.0.{}.{} 10.1.0.1 {} 443 6 {} {} 1700000000 1700000060 ACCEPT OK 19",
                    i % 200,
                    i % 250,
                    1024 + i,
                    i % 50 + 1,
                    i * 7 + 40
                )
            })
            .collect();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        object(&required_header(), &refs)
    }

    #[test]
    fn truncated_gzip_is_an_error_that_says_how_far_it_got() {
        let compressed = gzip(&large_object());
        let half = &compressed[..compressed.len() / 2];
        match summarize(half, &ParseOptions::default()) {
            Err(ParseError::Truncated { records, compressed_bytes }) => {
                assert!(records > 0 && records < 2000, "{records}");
                assert_eq!(compressed_bytes, half.len() as u64);
            }
            other => panic!("expected Truncated, got {other:?}"),
        }
        let message = summarize(half, &ParseOptions::default()).unwrap_err().to_string();
        assert!(message.starts_with("the gzip stream ends early after "), "{message}");
        assert!(message.contains("truncated object?"), "{message}");

        // Cut inside the gzip header, and after only the magic.
        assert!(matches!(summarize(&compressed[..5], &ParseOptions::default()), Err(ParseError::Truncated { records: 0, .. })));
        assert!(matches!(summarize(&compressed[..2], &ParseOptions::default()), Err(ParseError::Truncated { records: 0, .. })));
        // Cut in the 8-byte trailer: every record is there, the object still is not whole.
        let trailer_cut = &compressed[..compressed.len() - 3];
        assert!(matches!(summarize(trailer_cut, &ParseOptions::default()), Err(ParseError::Truncated { .. })));
    }

    /// Zero bytes after the last member are padding (`gzip -d` says "trailing zero bytes
    /// ignored"), not a cut: the object is whole.
    #[test]
    fn zero_padding_after_the_last_member_is_not_truncation() {
        let plain = object(TCP_SEQUENCE_FORMAT, TCP_SEQUENCE);
        let expected = summarize(plain.as_slice(), &ParseOptions::default()).unwrap();
        for padding in [1, 7, 8, 10, 512, 300_000] {
            let mut padded = gzip(&plain);
            padded.resize(padded.len() + padding, 0);
            assert_eq!(summarize(padded.as_slice(), &ParseOptions::default()).unwrap(), expected, "{padding} zero bytes");
            assert_eq!(summarize(Trickle(&padded), &ParseOptions::default()).unwrap(), expected, "{padding} zero bytes, one at a time");
        }
        let cut = plain.len() / 3;
        let mut members = gzip(&plain[..cut]);
        members.extend(gzip(&plain[cut..]));
        members.resize(members.len() + 4096, 0);
        assert_eq!(summarize(members.as_slice(), &ParseOptions::default()).unwrap(), expected, "two members, then padding");

        // Anything else after a member is not padding, and not another member: corrupt, with
        // every record before it counted.
        for tail in [&b"garbage"[..], &b"\0\0\0\0x"[..], &b"\x1f\x8b\x08"[..]] {
            let mut bad = gzip(&plain);
            bad.extend_from_slice(tail);
            match summarize(bad.as_slice(), &ParseOptions::default()) {
                Err(ParseError::Corrupt { records, .. } | ParseError::Truncated { records, .. }) => {
                    assert_eq!(records, TCP_SEQUENCE.len() as u64, "{tail:?}")
                }
                other => panic!("{tail:?}: expected corrupt or truncated, got {other:?}"),
            }
        }
    }

    /// A cut object reports the records read before the cut, also when the whole object was
    /// decompressed while the header was being read.
    #[test]
    fn a_cut_small_object_counts_the_records_before_the_cut() {
        let plain = object(TCP_SEQUENCE_FORMAT, TCP_SEQUENCE);
        let compressed = gzip(&plain);
        // Cut in the trailer: every record is there.
        let error = summarize(&compressed[..compressed.len() - 3], &ParseOptions::default()).unwrap_err();
        assert!(matches!(error, ParseError::Truncated { records, .. } if records == TCP_SEQUENCE.len() as u64), "{error:?}");
        assert!(error.to_string().starts_with(&format!("the gzip stream ends early after {} records", TCP_SEQUENCE.len())), "{error}");
        // A bad checksum is found after the last record too.
        let mut bad_crc = compressed.clone();
        let at = bad_crc.len() - 8;
        bad_crc[at] ^= 0xff;
        let error = summarize(bad_crc.as_slice(), &ParseOptions::default()).unwrap_err();
        assert!(matches!(error, ParseError::Corrupt { records, .. } if records == TCP_SEQUENCE.len() as u64), "{error:?}");
        // A plain-text download that fails counts its whole lines; the cut line is not a record.
        let error = summarize(Failing(&plain[..plain.len() - 10]), &ParseOptions::default()).unwrap_err();
        assert!(matches!(error, ParseError::Read { records, .. } if records == TCP_SEQUENCE.len() as u64 - 1), "{error:?}");
    }

    #[test]
    fn corrupt_gzip_is_an_error() {
        let mut bad_crc = gzip(&large_object());
        let crc_at = bad_crc.len() - 8;
        bad_crc[crc_at] ^= 0xff;
        let error = summarize(bad_crc.as_slice(), &ParseOptions::default()).unwrap_err();
        // The checksum is checked at the end: every record was read, the object is still bad.
        assert!(matches!(error, ParseError::Corrupt { records: 2000, .. }), "{error:?}");
        assert!(error.to_string().starts_with("the gzip stream is corrupt after 2000 records ("), "{error}");
        assert!(error.to_string().ends_with("checksum"), "{error}");

        let compressed = gzip(&object(TCP_SEQUENCE_FORMAT, TCP_SEQUENCE));

        let mut bad_body = compressed.clone();
        for byte in &mut bad_body[12..30] {
            *byte = 0xff;
        }
        assert!(matches!(summarize(bad_body.as_slice(), &ParseOptions::default()), Err(ParseError::Corrupt { .. } | ParseError::Truncated { .. })));

        let mut bad_header = compressed;
        bad_header[2] = 99; // compression method other than deflate
        assert!(matches!(summarize(bad_header.as_slice(), &ParseOptions::default()), Err(ParseError::Corrupt { records: 0, .. })));
    }

    /// A reader that fails after handing out some bytes, as a dropped download does.
    struct Failing<'a>(&'a [u8]);

    impl Read for Failing<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(io::Error::new(io::ErrorKind::ConnectionReset, "connection reset"));
            }
            let n = self.0.len().min(buf.len()).min(100);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_failing_reader_is_a_read_error_not_a_gzip_one() {
        let plain = object(TCP_SEQUENCE_FORMAT, TCP_SEQUENCE);
        let compressed = gzip(&plain);
        for input in [&compressed[..compressed.len() / 2], &plain[..plain.len() / 2], &[][..]] {
            let error = summarize(Failing(input), &ParseOptions::default()).unwrap_err();
            assert!(matches!(&error, ParseError::Read { source, .. } if source.kind() == io::ErrorKind::ConnectionReset), "{error:?}");
            assert!(error.to_string().starts_with("reading the object failed after "), "{error}");
        }
    }

    #[test]
    fn binary_garbage_is_not_text() {
        let garbage: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        let error = summarize(garbage.as_slice(), &lenient()).unwrap_err();
        assert!(matches!(error, ParseError::NotText(_)), "{error:?}");
        assert!(error.to_string().starts_with("the object is neither gzip nor flow-log text"), "{error}");
        assert!(matches!(summarize(&b"version\0account-id\n"[..], &lenient()), Err(ParseError::NotText("holds NUL bytes"))));
        assert!(matches!(summarize(&b"\xff\xfeversion\n"[..], &lenient()), Err(ParseError::NotText("is not UTF-8"))));
        assert!(matches!(summarize(&b"version \x1b[31m\n"[..], &lenient()), Err(ParseError::NotText(_))));
        assert!(matches!(summarize(&b"PK\x03\x04\x14\x00"[..], &lenient()), Err(ParseError::NotText(_))));
        assert!(matches!(summarize(gzip(&garbage).as_slice(), &lenient()), Err(ParseError::BinaryContent(_))));
    }

    #[test]
    fn empty_objects() {
        assert!(matches!(summarize(&b""[..], &lenient()), Err(ParseError::Empty)));
        assert!(matches!(summarize(gzip(b"").as_slice(), &lenient()), Err(ParseError::Empty)));
        assert_eq!(ParseError::Empty.to_string(), "the object is empty: no header line, no records");
    }

    #[test]
    fn header_only_is_zero_records() {
        for input in [format!("{}\n", required_header()), required_header(), format!("{}\r\n\n\n", required_header())] {
            let summary = summarize(input.as_bytes(), &ParseOptions::default()).unwrap();
            assert_eq!(summary.records, 0);
            assert_eq!(summary.parse_errors, 0);
            assert_eq!(summary.formats[0].len(), 15);
            assert_eq!((summary.first_start, summary.last_end), (None, None));
        }
    }

    #[test]
    fn missing_required_fields_fail_only_when_required() {
        let input = object(&DEFAULT_V2_FIELDS.join(" "), &[DOC_ACCEPT]);
        let error = summarize(input.as_slice(), &ParseOptions::default()).unwrap_err();
        assert!(matches!(&error, ParseError::MissingRequired(missing) if missing == &["tcp-flags"]));
        assert_eq!(error.to_string(), "the header lacks the required field(s) tcp-flags: the flow log's format must include them");
        assert_eq!(summarize(input.as_slice(), &lenient()).unwrap().records, 1);

        let header = Header::parse("version srcaddr").unwrap();
        assert_eq!(header.missing_required().len(), 13);
        assert_eq!(Header::parse(&required_header()).unwrap().missing_required(), Vec::<String>::new());
    }

    #[test]
    fn bad_headers() {
        let no_header = summarize(DOC_ACCEPT.as_bytes(), &lenient()).unwrap_err();
        assert!(matches!(no_header, ParseError::NoHeader { .. }));
        assert!(no_header.to_string().starts_with("no header line: the first line \"2 123456789010 "), "{no_header}");
        assert!(matches!(summarize(&b"\nversion\n"[..], &lenient()), Err(ParseError::NoHeader { .. })));
        assert!(matches!(summarize(&b"${version} ${srcaddr}\n"[..], &lenient()), Err(ParseError::NoHeader { .. })));
        assert!(matches!(
            summarize(&b"version srcaddr version\n"[..], &lenient()),
            Err(ParseError::DuplicateField(f)) if f == "version"
        ));
        let long = "field ".repeat(MAX_HEADER_LEN / 4);
        assert!(matches!(summarize(long.as_bytes(), &lenient()), Err(ParseError::HeaderTooLong { limit: MAX_HEADER_LEN })));
        let long_then_records = format!("{long}\n{DOC_ACCEPT}\n");
        assert!(matches!(summarize(long_then_records.as_bytes(), &lenient()), Err(ParseError::HeaderTooLong { .. })));
        // An endless line is refused after reading about the limit, not read to its end.
        let mut endless = io::repeat(b'a').take(u64::MAX);
        assert!(matches!(summarize(&mut endless, &lenient()), Err(ParseError::HeaderTooLong { .. })));
        assert!(endless.limit() >= u64::MAX - LINE_BUFFER_LEN as u64);
        // A byte-order mark and CRLF do not make a header unreadable.
        let with_bom = format!("\u{feff}{}\r\n{}\r\n", DEFAULT_V2_FIELDS.join(" "), DOC_ACCEPT);
        assert_eq!(summarize(with_bom.as_bytes(), &lenient()).unwrap().records, 1);
    }

    #[test]
    fn unknown_header_fields_are_kept_as_text() {
        let input = format!("{} future-field\n{DOC_ACCEPT} some-value\n{DOC_REJECT} -\n", DEFAULT_V2_FIELDS.join(" "));
        let reader = RecordReader::new(input.as_bytes(), &lenient()).unwrap();
        assert_eq!(reader.header().unknown_fields(), ["future-field"]);
        assert_eq!(reader.header().kind(14), Some(FieldKind::Text));
        let mut seen = Vec::new();
        let summary = for_each_record(input.as_bytes(), &lenient(), |record| {
            seen.push(record.get("future-field").map(|v| v.to_string()));
            Ok::<_, ParseError>(())
        })
        .unwrap();
        assert_eq!(seen, [Some("some-value".to_owned()), None]);
        assert_eq!(summary.parse_errors, 0);
    }

    #[test]
    fn bad_lines_are_counted_with_line_numbers_and_parsing_goes_on() {
        let short = "2 123456789010 eni-1235b8ca123456789 172.31.16.139";
        let long = format!("{DOC_ACCEPT} extra");
        let bad_port = DOC_ACCEPT.replace(" 20641 ", " 70000 ");
        let bad_addr = DOC_ACCEPT.replace("172.31.16.139", "172.31.16");
        let bad_action = DOC_ACCEPT.replace("ACCEPT", "ALLOW");
        let bad_status = DOC_ACCEPT.replace(" OK", " FINE");
        let bad_counter = DOC_ACCEPT.replace(" 4249 ", " -5 ");
        let input = object(
            &DEFAULT_V2_FIELDS.join(" "),
            &[DOC_ACCEPT, short, &long, "", DOC_REJECT, &bad_port, &bad_addr, &bad_action, &bad_status, &bad_counter, DOC_NODATA],
        );
        let summary = summarize(input.as_slice(), &lenient()).unwrap();
        assert_eq!(summary.records, 3);
        assert_eq!(summary.parse_errors, 7);
        let lines: Vec<u64> = summary.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [3, 4, 7, 8, 9, 10, 11], "the blank line 5 is skipped, not an error");
        let messages: Vec<&str> = summary.errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "expected 14 fields as the header names, found 4",
                "expected 14 fields as the header names, found 15",
                "field 'srcport' is not a port number (0-65535): \"70000\"",
                "field 'srcaddr' is not an IPv4 or IPv6 address: \"172.31.16\"",
                "field 'action' is not ACCEPT or REJECT: \"ALLOW\"",
                "field 'log-status' is not OK, NODATA or SKIPDATA: \"FINE\"",
                "field 'bytes' is not a count (a non-negative integer): \"-5\"",
            ]
        );
        // Only the good records are in the totals.
        assert_eq!(summary.packets, 40);
        assert_eq!(summary.actions, ActionCounts { accept: 1, reject: 1 });
    }

    #[test]
    fn only_the_first_errors_are_kept_but_all_are_counted() {
        let bad: Vec<String> = (0..25).map(|i| format!("garbage {i}")).collect();
        let refs: Vec<&str> = bad.iter().map(String::as_str).collect();
        let input = object(&required_header(), &refs);
        let summary = summarize(input.as_slice(), &ParseOptions::default()).unwrap();
        assert_eq!((summary.parse_errors, summary.errors.len()), (25, DEFAULT_MAX_ERRORS));
        assert_eq!(summary.errors[0].line, 2);
        let none_kept = summarize(input.as_slice(), &ParseOptions { max_errors: 0, ..ParseOptions::default() }).unwrap();
        assert_eq!((none_kept.parse_errors, none_kept.errors.len()), (25, 0));
    }

    #[test]
    fn overlong_lines_are_skipped_not_buffered() {
        let huge = "x".repeat(MAX_LINE_LEN * 3 + 17);
        let input = object(&DEFAULT_V2_FIELDS.join(" "), &[DOC_ACCEPT, &huge, DOC_REJECT, &huge]);
        let summary = summarize(input.as_slice(), &lenient()).unwrap();
        assert_eq!(summary.records, 2);
        assert_eq!(summary.errors.iter().map(|e| e.line).collect::<Vec<_>>(), [3, 5]);
        assert_eq!(summary.errors[0].message, format!("the line is longer than {MAX_LINE_LEN} bytes"));
        // The same without a final newline, and gzipped.
        let unterminated = &input[..input.len() - 1];
        assert_eq!(summarize(gzip(unterminated).as_slice(), &lenient()).unwrap(), summary);
    }

    #[test]
    fn line_endings_and_spacing() {
        let input = format!("{}\r\n{DOC_ACCEPT}\r\n\r\n  {}  \n{DOC_NODATA}", DEFAULT_V2_FIELDS.join(" "), DOC_REJECT.replace(' ', "   "));
        let summary = summarize(input.as_bytes(), &lenient()).unwrap();
        assert_eq!((summary.records, summary.parse_errors), (3, 0));
        assert_eq!(summary.log_status.nodata, 1);
    }

    #[test]
    fn a_visitor_error_stops_the_walk() {
        let input = object(TCP_SEQUENCE_FORMAT, TCP_SEQUENCE);
        let mut visited = 0;
        let result = for_each_record(input.as_slice(), &ParseOptions::default(), |_| {
            visited += 1;
            if visited == 3 { Err(io::Error::other("stdout closed")) } else { Ok(()) }
        });
        assert_eq!(result.unwrap_err().to_string(), "stdout closed");
        assert_eq!(visited, 3);
        let parse_failure: Result<_, io::Error> = for_each_record(&b""[..], &lenient(), |_| Ok(()));
        assert_eq!(parse_failure.unwrap_err().kind(), io::ErrorKind::InvalidData);
    }

    /// Totals that overflow stop at u64::MAX and say so; a count that is u64::MAX is not
    /// saturation.
    #[test]
    fn saturated_totals_say_so() {
        let header = "srcaddr dstaddr packets bytes";
        let max = u64::MAX;
        let one = summarize(object(header, &[&format!("10.0.0.1 10.0.0.2 1 {max}")]).as_slice(), &lenient()).unwrap();
        assert_eq!(one.bytes, max);
        assert!(!one.saturated.any());
        assert!(serde_json::to_value(&one).unwrap().get("saturated").is_none(), "absent when nothing saturated");

        let two = summarize(object(header, &[&format!("10.0.0.1 10.0.0.2 1 {max}"), "10.0.0.1 10.0.0.2 1 1"]).as_slice(), &lenient()).unwrap();
        assert_eq!((two.bytes, two.packets), (max, 2));
        assert_eq!(two.saturated, Saturated { packets: false, bytes: true });
        assert_eq!(serde_json::to_value(&two).unwrap()["saturated"], serde_json::json!(["bytes"]));

        let mut merged = one.clone();
        merged.merge(one.clone());
        assert!(merged.saturated.bytes && !merged.saturated.packets, "merging two maximal objects overflows");
        let mut carried = ObjectSummary::default();
        carried.merge(two);
        assert!(carried.saturated.bytes, "a merge keeps an object's saturation");
    }

    #[test]
    fn summaries_merge() {
        let first = summarize(object(&DEFAULT_V2_FIELDS.join(" "), &[DOC_ACCEPT, DOC_SKIPDATA, "bad"]).as_slice(), &lenient())
            .unwrap()
            .with_source("a.log.gz");
        let second = summarize(object(TCP_SEQUENCE_FORMAT, &[TCP_SEQUENCE[0], "worse"]).as_slice(), &lenient()).unwrap().with_source("b.log.gz");
        let mut merged = ObjectSummary::default();
        merged.merge(first.clone());
        merged.merge(second.clone());
        assert_eq!(merged.objects, 2);
        assert_eq!(merged.formats.len(), 2);
        assert_eq!(merged.records, 3);
        assert_eq!(merged.log_status, StatusCounts { ok: 2, nodata: 0, skipdata: 1 });
        assert_eq!(merged.packets, 20 + 8);
        assert_eq!(merged.first_start, Some(1418530010));
        assert_eq!(merged.last_end, Some(1566848933));
        assert_eq!(merged.distinct_interfaces(), 2, "eni-1235b8ca123456789 is in both");
        assert_eq!(merged.tcp_flags.to_map(), BTreeMap::from([(2, 1)]));
        assert_eq!(merged.parse_errors, 2);
        let sources: Vec<_> = merged.errors.iter().map(|e| (e.source.as_deref(), e.line)).collect();
        assert_eq!(sources, [(Some("a.log.gz"), 4), (Some("b.log.gz"), 3)]);

        let mut again = first.clone();
        again.merge(first.clone());
        assert_eq!(again.records, 4);
        assert_eq!(again.formats.len(), 1);
        assert_eq!(again.distinct_interfaces(), 2);

        let mut capped = ObjectSummary::new(1);
        capped.merge(ObjectSummary { error_limit: 1, ..second });
        capped.merge(ObjectSummary { error_limit: 1, ..first });
        assert_eq!((capped.parse_errors, capped.errors.len()), (2, 1));
    }

    #[test]
    fn summary_json_shape() {
        let input = object(TCP_SEQUENCE_FORMAT, &[TCP_SEQUENCE[0], TCP_SEQUENCE[1], "bad"]);
        let summary = summarize(input.as_slice(), &ParseOptions::default()).unwrap();
        let json = serde_json::to_value(&summary).unwrap();
        assert_eq!(json["records"], 2);
        assert_eq!(json["distinct_interfaces"], 1);
        assert_eq!(json["tcp_flags"], serde_json::json!({"2": 1, "18": 1}));
        assert_eq!(json["log_status"], serde_json::json!({"ok": 2, "nodata": 0, "skipdata": 0}));
        assert_eq!(json["actions"], serde_json::json!({"accept": 2, "reject": 0}));
        assert_eq!(json["errors"], serde_json::json!([{"line": 4, "message": "expected 21 fields as the header names, found 1"}]));
        assert_eq!(json["first_start"], 1566848875);
        assert!(json.get("error_limit").is_none());
    }

    #[test]
    fn ipv4_parsing_matches_std() {
        for text in [
            "0.0.0.0",
            "255.255.255.255",
            "10.0.0.1",
            "256.1.1.1",
            "1.2.3",
            "1.2.3.4.5",
            "01.2.3.4",
            "1..2.3",
            "1.2.3.",
            ".1.2.3",
            "1.2.3.4a",
            "",
            "1234.1.1.1",
            "+1.2.3.4",
            "0.00.0.0",
        ] {
            assert_eq!(parse_ipv4(text.as_bytes()), text.parse::<Ipv4Addr>().ok(), "{text}");
        }
    }

    #[test]
    fn ipv6_parsing_matches_std() {
        for text in [
            "::",
            "::1",
            "1::",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8::",
            "::1:2:3:4:5:6:7:8",
            "1::2::3",
            ":1::2",
            "1::2:",
            "1:2:3:4:5:6:7",
            "1:2:3:4:5:6:7:8:9",
            "12345::",
            "ABCD:ef01::",
            "g::",
            "::ffff:1.2.3.4",
            "1:2:3:4:5:6:1.2.3.4",
            "::1.2.3",
            "2001:db8:1234:a100:8d6e:3477:df66:f105",
            "2001:db8::8a2e:370:7334",
            ":",
            ":::",
            "1:",
            "fe80::1%eth0",
            "0000:0000:0000:0000:0000:0000:0000:0001",
            "00000::",
            "1:2:3:4::5:6:7:8",
            "1:2:3::4:5:6:7",
        ] {
            assert_eq!(parse_ipv6(text.as_bytes()), text.parse::<Ipv6Addr>().ok(), "{text}");
        }
    }

    #[test]
    fn number_parsing() {
        for n in [0u64, 7, 42, 1234567, 12345678, 99999999, 100000000, 1418530010, 1234567890123456789, 9999999999999999999] {
            assert_eq!(parse_u64(n.to_string().as_bytes()), Some(n), "{n}");
        }
        for bad in [&b"1234567/"[..], b"1234567:", b"/2345678", b"12345678a", b"1234 678", b"12345\xb8678"] {
            assert_eq!(parse_u64(bad), None, "{bad:?}");
        }
        assert_eq!(parse_u64(b"00000000001"), Some(1));
        assert_eq!(parse_u64(b"0"), Some(0));
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        for bad in [&b""[..], b"-1", b"+1", b"1 ", b"1e3", b"0x10"] {
            assert_eq!(parse_u64(bad), None);
        }
        assert!(check_field(FieldKind::Port, b"65536").is_none());
        assert_eq!(check_field(FieldKind::Port, b"65535"), Some(65535));
        assert!(check_field(FieldKind::Protocol, b"256").is_none());
        assert_eq!(check_field(FieldKind::TcpFlags, b"511"), Some(511));
        assert!(check_field(FieldKind::TcpFlags, b"65536").is_none());
        assert_eq!(check_field(FieldKind::Address, b"-"), Some(0));
        assert!(check_field(FieldKind::Text, b"\xff").is_none());
        assert_eq!(check_field(FieldKind::Text, "\u{e9}t\u{e9}".as_bytes()), Some(0));
        assert!(check_field(FieldKind::Action, b"ACCEPTED").is_none());
        assert!(check_field(FieldKind::LogStatus, b"ok").is_none());
        assert_eq!(typed_value(FieldKind::TcpFlags, b"511"), Some(FieldValue::TcpFlags(511)));
        assert_eq!(typed_value(FieldKind::Address, b"-"), None);
        assert!(typed_value(FieldKind::Port, b"65536").is_none());
    }

    #[test]
    fn field_splitting_matches_a_naive_split() {
        let mut spans = Vec::new();
        for line in [
            "",
            " ",
            "a",
            "a b",
            "  a  b  ",
            "12345678 12345678",
            "1234567 9",
            "a\tb c",
            DOC_ACCEPT,
            DOC_IPV6,
            "x                 y",
            "\u{a0} \u{2000}",
        ] {
            split_fields(line.as_bytes(), &mut spans);
            let found: Vec<&str> = spans.iter().map(|&(s, e)| &line[s..e]).collect();
            let expected: Vec<&str> = line.split(' ').filter(|f| !f.is_empty()).collect();
            assert_eq!(found, expected, "{line:?}");
        }
        for byte in 0..=255u8 {
            let word = [byte, b' ', byte ^ 0x80, 0x20 | 0x80, 0, 0xff, b' ' + 1, b' ' - 1];
            let expected = word.iter().enumerate().filter(|(_, b)| **b == b' ').fold(0u64, |m, (i, _)| m | 0x80 << (i * 8));
            assert_eq!(byte_mask(&word, b' '), expected, "{word:?}");
        }
    }

    #[test]
    fn newline_search() {
        let mut haystack = vec![b'a'; 100];
        assert_eq!(find_byte(&haystack, b'\n'), None);
        for at in [0, 1, 7, 8, 9, 63, 64, 95, 99] {
            haystack[at] = b'\n';
            assert_eq!(find_byte(&haystack, b'\n'), Some(at));
            haystack[at] = 0x8a; // '\n' with the high bit set must not match
            assert_eq!(find_byte(&haystack, b'\n'), None);
            haystack[at] = b'a';
        }
        assert_eq!(find_byte(b"\x0b\x09\n", b'\n'), Some(2));
    }

    // Properties.

    /// One generated record of the required format and what it adds to a summary.
    #[derive(Debug, Clone)]
    struct Flow {
        status: LogStatus,
        interface: u8,
        v6: bool,
        addr: u32,
        ports: (u16, u16),
        protocol: u8,
        packets: u64,
        bytes: u64,
        start: u64,
        duration: u64,
        reject: bool,
        flags: u16,
    }

    impl Flow {
        fn line(&self) -> String {
            let times = format!("{} {}", self.start, self.start + self.duration);
            let eni = format!("eni-{:017x}", self.interface);
            if self.status != LogStatus::Ok {
                return format!("3 123456789010 {eni} - - - - - - - {times} - {} -", self.status.as_str());
            }
            let src =
                if self.v6 { format!("2001:db8::{:x}:{:x}", self.addr >> 16, self.addr & 0xffff) } else { Ipv4Addr::from(self.addr).to_string() };
            let action = if self.reject { "REJECT" } else { "ACCEPT" };
            format!(
                "3 123456789010 {eni} {src} 10.0.0.1 {} {} {} {} {} {times} {action} OK {}",
                self.ports.0, self.ports.1, self.protocol, self.packets, self.bytes, self.flags
            )
        }
    }

    fn flow() -> impl Strategy<Value = Flow> {
        let status = prop_oneof![8 => Just(LogStatus::Ok), 1 => Just(LogStatus::NoData), 1 => Just(LogStatus::SkipData)];
        (
            status,
            0u8..6,
            any::<bool>(),
            any::<u32>(),
            any::<(u16, u16)>(),
            prop_oneof![Just(6u8), Just(17), Just(1)],
            0u64..1 << 40,
            0u64..1 << 50,
            1_400_000_000u64..1_800_000_000,
            0u64..600,
            any::<bool>(),
            prop_oneof![Just(0u16), Just(1), Just(2), Just(3), Just(4), Just(18), Just(19), 0u16..512],
        )
            .prop_map(|(status, interface, v6, addr, ports, protocol, packets, bytes, start, duration, reject, flags)| Flow {
                status,
                interface,
                v6,
                addr,
                ports,
                protocol,
                packets,
                bytes,
                start,
                duration,
                reject,
                flags,
            })
    }

    fn arbitrary_bytes() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(any::<u8>(), 0..2048)
    }

    /// Bytes that look like a flow-log object in parts: a valid header, then fragments of good
    /// records, bad values and noise.
    fn plausible_object() -> impl Strategy<Value = Vec<u8>> {
        let fragment = prop_oneof![
            Just(DOC_ACCEPT.as_bytes().to_vec()),
            Just(b"-".to_vec()),
            Just(b" ".to_vec()),
            Just(b"\n".to_vec()),
            Just(b"\r\n".to_vec()),
            Just(b"4294967296".to_vec()),
            Just(b"::ffff:1.2.3.4".to_vec()),
            "[0-9a-zA-Z.:-]{0,12}".prop_map(String::into_bytes),
            prop::collection::vec(any::<u8>(), 0..8),
        ];
        prop::collection::vec(fragment, 0..64).prop_map(|parts| {
            let mut bytes = format!("{} extra\n", DEFAULT_V2_FIELDS.join(" ")).into_bytes();
            for part in parts {
                bytes.extend(part);
            }
            bytes
        })
    }

    /// A header with a field of every kind, an unknown field last.
    const EVERY_KIND_HEADER: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes \
        start end action log-status tcp-flags vpc-id flow-direction pkt-srcaddr x-unknown";

    /// A value of `kind`, or `-`, as a record may hold it.
    fn valid_token(kind: FieldKind) -> BoxedStrategy<String> {
        let value = match kind {
            FieldKind::Integer | FieldKind::Counter | FieldKind::UnixTime => {
                // Mostly under 20 digits, as AWS writes them; the rest only the general path takes.
                prop_oneof![
                    8 => (0..10u64.pow(19)).prop_map(|n| n.to_string()),
                    2 => (0..1000u64).prop_map(|n| n.to_string()),
                    1 => "0{1,6}[0-9]{1,12}",
                    1 => Just(u64::MAX.to_string()),
                ]
                .boxed()
            }
            FieldKind::Port | FieldKind::TcpFlags => prop_oneof![(0..=u16::MAX).prop_map(|n| n.to_string()), Just("65535".to_owned())].boxed(),
            FieldKind::Protocol => prop_oneof![(0..=u8::MAX).prop_map(|n| n.to_string()), Just("255".to_owned())].boxed(),
            FieldKind::Address => prop_oneof![
                any::<u32>().prop_map(|n| Ipv4Addr::from(n).to_string()),
                any::<u128>().prop_map(|n| Ipv6Addr::from(n).to_string()),
                any::<u32>().prop_map(|n| Ipv4Addr::from(n).to_ipv6_mapped().to_string()),
                Just("::".to_owned()),
            ]
            .boxed(),
            FieldKind::Action => "ACCEPT|REJECT".boxed(),
            FieldKind::LogStatus => "OK|NODATA|SKIPDATA".boxed(),
            FieldKind::Text => "[a-z0-9:/\t\u{e9}\u{20ac}-]{1,22}".boxed(),
        };
        prop_oneof![12 => value, 1 => Just("-".to_owned())].boxed()
    }

    /// Something close to a value of `kind` that is not one (or, for numbers of 20 digits and
    /// more, one that only the general path takes).
    fn near_token(kind: FieldKind) -> BoxedStrategy<Vec<u8>> {
        let near: BoxedStrategy<String> = match kind {
            FieldKind::Integer | FieldKind::Counter | FieldKind::UnixTime | FieldKind::Port | FieldKind::Protocol | FieldKind::TcpFlags => {
                "256|65536|18446744073709551616|0{8,20}[0-9]{1,5}|[0-9]{0,3}[-a+.]|[-a+.][0-9]{1,3}|--".boxed()
            }
            FieldKind::Address => {
                "01\\.2\\.3\\.4|1\\.2\\.3(\\.4){0,2}|256\\.1\\.1\\.1|1\\.2\\.3\\.4[x:]|[0-9a-fA-F:.]{0,20}|::ffff:1\\.2\\.3\\.04".boxed()
            }
            FieldKind::Action => "ACCEPTED|accept|ACCEP|REJECT-".boxed(),
            FieldKind::LogStatus => "OKAY|ok|NODAT|SKIPDATA-".boxed(),
            FieldKind::Text => Just(String::new()).boxed(),
        };
        prop_oneof![3 => near.prop_map(String::into_bytes), 1 => Just(vec![0xff]), 1 => prop::collection::vec(any::<u8>(), 0..4)].boxed()
    }

    /// A line for [`EVERY_KIND_HEADER`]: a record, or a record with one thing wrong or unusual (a
    /// field's value, a separator, the number of fields).
    fn near_record() -> impl Strategy<Value = Vec<u8>> {
        let kinds = Header::parse(EVERY_KIND_HEADER).unwrap().kinds;
        let valid: Vec<BoxedStrategy<String>> = kinds.iter().map(|&kind| valid_token(kind)).collect();
        let near: Vec<BoxedStrategy<Vec<u8>>> = kinds.iter().map(|&kind| near_token(kind)).collect();
        let separator = prop_oneof![Just(&b"  "[..]), Just(&b" "[..]), Just(&b""[..]), Just(&b"\t"[..])];
        (valid, near, any::<prop::sample::Index>(), 0..5u8, separator).prop_map(move |(valid, near, at, change, separator)| {
            let mut fields: Vec<Vec<u8>> = valid.into_iter().map(String::into_bytes).collect();
            let at = at.index(fields.len());
            match change {
                1 => fields[at] = near[at].clone(),
                3 => fields.truncate(at),
                4 => fields.push(b"7".to_vec()),
                _ => {}
            }
            // Before each field and after the last: none at the ends, one space between fields.
            let mut separators = vec![&b" "[..]; fields.len() + 1];
            separators[0] = b"";
            separators[fields.len()] = b"";
            if change == 2 {
                separators[at] = separator;
            }
            let mut line = Vec::new();
            for (field, separator) in fields.iter().zip(&separators) {
                line.extend(*separator);
                line.extend(field);
            }
            line.extend(separators[fields.len()]);
            line
        })
    }

    /// The general path of `parse_line` alone: split, then check each field.
    type Checked = (Vec<(usize, usize)>, Vec<u64>);

    fn general_path(line: &[u8], kinds: &[FieldKind]) -> Option<Checked> {
        let mut spans = Vec::new();
        split_fields(line, &mut spans);
        if spans.len() != kinds.len() {
            return None;
        }
        let numbers = spans.iter().zip(kinds).map(|(&(s, e), &kind)| check_field(kind, &line[s..e])).collect::<Option<Vec<u64>>>()?;
        Some((spans, numbers))
    }

    #[test]
    fn the_fast_path_takes_the_lines_aws_writes() {
        let kinds = Header::parse(&required_header()).unwrap().kinds;
        let mut spans = vec![(0, 0); kinds.len()];
        let mut numbers = vec![0; kinds.len()];
        let synth = crate::flowlog_synth::SynthSpec { records: 500, seed: 9, ..Default::default() };
        let mut text = Vec::new();
        crate::flowlog_synth::write_records(&synth, &mut text).unwrap();
        let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').skip(1).filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 500);
        for line in lines.into_iter().chain([DOC_ACCEPT.as_bytes(), DOC_IPV6.as_bytes()]) {
            let fields = std::str::from_utf8(line).unwrap().split(' ').count();
            if fields != kinds.len() {
                continue; // the documentation's v2 examples have no tcp-flags
            }
            assert!(parse_line_fast(line, &kinds, &mut spans, &mut numbers).is_some(), "{}", String::from_utf8_lossy(line));
            assert_eq!(Some((spans.clone(), numbers.clone())), general_path(line, &kinds));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]
        #[test]
        fn the_fast_path_agrees_with_the_general_path(line in near_record()) {
            let kinds = Header::parse(EVERY_KIND_HEADER).unwrap().kinds;
            let mut spans = vec![(0, 0); kinds.len()];
            let mut numbers = vec![0; kinds.len()];
            let general = general_path(&line, &kinds);
            if parse_line_fast(&line, &kinds, &mut spans, &mut numbers).is_some() {
                prop_assert_eq!(Some((spans, numbers)), general, "{}", String::from_utf8_lossy(&line));
            } else if let Some(accepted) = &general {
                // Left to the general path: only lines AWS does not write that way.
                let single_spaced = !line.starts_with(b" ") && !line.ends_with(b" ") && !line.windows(2).any(|w| w == b"  ");
                let long_number = accepted.0.iter().zip(&kinds).any(|(&(s, e), kind)| {
                    !matches!(kind, FieldKind::Address | FieldKind::Action | FieldKind::LogStatus | FieldKind::Text) && e - s > 19
                });
                prop_assert!(!single_spaced || long_number, "{}", String::from_utf8_lossy(&line));
            }
        }
    }

    proptest! {
        #[test]
        fn address_parsing_matches_std(
            text in "[0-9a-fA-F:.]{0,42}",
            groups in ":{0,2}([0-9a-fA-F]{1,5}:{1,2}){0,9}[0-9a-fA-F]{0,5}",
            v6 in any::<u128>(),
            v4 in any::<u32>(),
        ) {
            prop_assert_eq!(parse_ipv6(text.as_bytes()), text.parse::<Ipv6Addr>().ok(), "{}", text);
            prop_assert_eq!(parse_ipv6(groups.as_bytes()), groups.parse::<Ipv6Addr>().ok(), "{}", groups);
            prop_assert_eq!(parse_ipv4(text.as_bytes()), text.parse::<Ipv4Addr>().ok(), "{}", text);
            let v6 = Ipv6Addr::from(v6);
            prop_assert_eq!(parse_ipv6(v6.to_string().as_bytes()), Some(v6));
            let v4 = Ipv4Addr::from(v4);
            prop_assert_eq!(parse_ipv4(v4.to_string().as_bytes()), Some(v4));
        }

        #[test]
        fn number_parsing_matches_std(text in "[0-9]{1,22}|[0-9/:a ]{1,12}", n in any::<u64>()) {
            prop_assert_eq!(parse_u64(text.as_bytes()), text.parse::<u64>().ok(), "{}", text);
            prop_assert_eq!(parse_u64(n.to_string().as_bytes()), Some(n));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in arbitrary_bytes()) {
            let _ = summarize(bytes.as_slice(), &lenient());
            let _ = summarize(gzip(&bytes).as_slice(), &lenient());
            let mut with_magic = GZIP_MAGIC.to_vec();
            with_magic.extend(&bytes);
            let _ = summarize(with_magic.as_slice(), &ParseOptions::default());
        }

        #[test]
        fn plausible_objects_never_panic(bytes in plausible_object(), cut in any::<prop::sample::Index>()) {
            let summary = summarize(bytes.as_slice(), &lenient());
            let compressed = gzip(&bytes);
            let from_gzip = summarize(compressed.as_slice(), &lenient());
            prop_assert_eq!(summary.as_ref().ok(), from_gzip.as_ref().ok());
            let cut = cut.index(compressed.len());
            if let Ok(partial) = summarize(&compressed[..cut], &lenient()) {
                prop_assert!(partial.records <= summary.map(|s| s.records).unwrap_or(0));
            }
            let mut lines = 0u64;
            let _ = for_each_record(bytes.as_slice(), &lenient(), |record| {
                lines = lines.max(record.line_number());
                let _ = serde_json::to_string(record);
                Ok::<_, ParseError>(())
            });
        }

        #[test]
        fn summary_matches_the_generated_records(flows in prop::collection::vec(flow(), 0..200), gzipped in any::<bool>()) {
            let lines: Vec<String> = flows.iter().map(Flow::line).collect();
            let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
            let mut input = object(&required_header(), &refs);
            if gzipped {
                input = gzip(&input);
            }
            let summary = summarize(input.as_slice(), &ParseOptions::default()).unwrap();
            let ok: Vec<&Flow> = flows.iter().filter(|f| f.status == LogStatus::Ok).collect();
            prop_assert_eq!(summary.records, flows.len() as u64);
            prop_assert_eq!(summary.parse_errors, 0);
            prop_assert_eq!(summary.log_status.ok, ok.len() as u64);
            prop_assert_eq!(summary.log_status.nodata, flows.iter().filter(|f| f.status == LogStatus::NoData).count() as u64);
            prop_assert_eq!(summary.log_status.skipdata, flows.iter().filter(|f| f.status == LogStatus::SkipData).count() as u64);
            prop_assert_eq!(summary.actions.reject, ok.iter().filter(|f| f.reject).count() as u64);
            prop_assert_eq!(summary.actions.accept, ok.iter().filter(|f| !f.reject).count() as u64);
            prop_assert_eq!(summary.packets, ok.iter().map(|f| f.packets).sum::<u64>());
            prop_assert_eq!(summary.bytes, ok.iter().map(|f| f.bytes).sum::<u64>());
            prop_assert_eq!(summary.first_start, flows.iter().map(|f| f.start).min());
            prop_assert_eq!(summary.last_end, flows.iter().map(|f| f.start + f.duration).max());
            let interfaces: HashSet<u8> = flows.iter().map(|f| f.interface).collect();
            prop_assert_eq!(summary.distinct_interfaces(), interfaces.len());
            let mut flags = BTreeMap::new();
            for flow in &ok {
                *flags.entry(flow.flags).or_insert(0u64) += 1;
            }
            prop_assert_eq!(summary.tcp_flags.to_map(), flags);
        }
    }
}
