//! One well-formed record and its typed values (addresses, numbers, actions, statuses), made
//! only when asked for.

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{Value, json};

use super::header::Header;
use super::lex::typed_value;
use crate::format::{CATALOG, FieldKind};

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

/// A field's value typed by its [`FieldKind`](crate::format::FieldKind). Serializes as JSON numbers for the numeric kinds
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

/// One well-formed record, borrowed from the reader until its next record.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    pub(super) header: &'a Header,
    pub(super) line: &'a [u8],
    pub(super) spans: &'a [(usize, usize)],
    pub(super) line_number: u64,
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

/// As serialized (`parse --records json`, one object a line): each field of the object's header
/// by name, typed by its [`FieldKind`], `null` for `-`; a field the catalog does not know is text.
impl JsonSchema for Record<'_> {
    fn schema_name() -> Cow<'static, str> {
        "FlowLogRecord".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let fields: serde_json::Map<String, Value> = CATALOG.iter().map(|spec| (spec.name.to_owned(), kind_schema(spec.kind))).collect();
        json_schema!({
            "description": "One flow-log record: the fields of its object's header, by name.",
            "type": "object",
            "properties": fields,
            "additionalProperties": { "type": ["string", "null"] },
        })
    }
}

/// The JSON a [`FieldValue`] of `kind` serializes to, or `null` (the field was `-`).
fn kind_schema(kind: FieldKind) -> Value {
    let value = match kind {
        FieldKind::Integer | FieldKind::Counter | FieldKind::UnixTime => json!({ "type": "integer", "minimum": 0 }),
        FieldKind::Port | FieldKind::TcpFlags => json!({ "type": "integer", "minimum": 0, "maximum": u16::MAX }),
        FieldKind::Protocol => json!({ "type": "integer", "minimum": 0, "maximum": u8::MAX }),
        FieldKind::Address => json!({ "type": "string", "anyOf": [{ "format": "ipv4" }, { "format": "ipv6" }] }),
        FieldKind::Action => json!({ "enum": [Action::Accept.as_str(), Action::Reject.as_str()] }),
        FieldKind::LogStatus => json!({ "enum": [LogStatus::Ok.as_str(), LogStatus::NoData.as_str(), LogStatus::SkipData.as_str()] }),
        FieldKind::Text => json!({ "type": "string" }),
    };
    json!({ "anyOf": [value, { "type": "null" }] })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::flowlog_parse::fixtures::*;
    use crate::flowlog_parse::*;
    use crate::format::DEFAULT_V2_FIELDS;

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
}
