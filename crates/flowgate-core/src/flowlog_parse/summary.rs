//! Counts and totals over an object's records, and the merging of objects' summaries.

use std::borrow::Cow;
use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashSet};
use std::hash::{BuildHasher, Hasher};

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Serialize, Serializer};

use super::DEFAULT_MAX_ERRORS;
use super::header::Header;
use crate::format::FieldKind;

/// One line the parser could not read as a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct LineError {
    /// The object the line is in, when the caller named it ([`ObjectSummary::with_source`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// 1-based line number in the decompressed object; the header is line 1.
    pub line: u64,
    pub message: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct StatusCounts {
    pub ok: u64,
    pub nodata: u64,
    pub skipdata: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
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

/// As serialized: the names of the totals that overflowed, each at most once.
impl JsonSchema for Saturated {
    fn schema_name() -> Cow<'static, str> {
        "Saturated".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "The traffic totals that overflowed and stopped at 2^64 - 1 (the true total is larger).",
            "type": "array",
            "items": { "enum": ["packets", "bytes"] },
            "uniqueItems": true,
        })
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
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
    #[schemars(with = "u64")]
    interfaces: HashSet<Box<[u8]>, IdHashBuilder>,
    /// Records per `tcp-flags` value.
    pub tcp_flags: TcpFlagCounts,
    /// Every line that was not a well-formed record.
    pub parse_errors: u64,
    /// The first of them (at most `max_errors` of [`ParseOptions`](super::ParseOptions)), with what is wrong.
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

/// As serialized: a map of `tcp-flags` value to count.
impl JsonSchema for TcpFlagCounts {
    fn schema_name() -> Cow<'static, str> {
        "TcpFlagCounts".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        BTreeMap::<u16, u64>::json_schema(generator)
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

    pub(super) fn add_error(&mut self, line: u64, message: impl FnOnce() -> String) {
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

/// Where the summary's fields are in the header, looked up once per object.
#[derive(Debug, Clone, Copy)]
pub(super) struct SummaryColumns {
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
    pub(super) fn new(header: &Header) -> SummaryColumns {
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

impl ObjectSummary {
    #[inline]
    pub(super) fn add_record(&mut self, columns: &SummaryColumns, line: &[u8], spans: &[(usize, usize)], numbers: &[u64]) {
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::flowlog_parse::fixtures::*;
    use crate::flowlog_parse::*;
    use crate::format::DEFAULT_V2_FIELDS;

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
}
