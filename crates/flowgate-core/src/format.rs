//! The flow-log field catalog (VPC User Guide, "Flow log records": available fields, v2 to v8) and
//! the LogFormat string of the CreateFlowLogs API (`${field} ${field} ...`).

use std::fmt;

use serde::Serialize;

/// How a field's values are typed when records are parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FieldKind {
    /// Small integer (version, sublocation numbers).
    Integer,
    /// IPv4 or IPv6 address.
    Address,
    Port,
    /// IANA protocol number.
    Protocol,
    /// Packet or byte counter (u64).
    Counter,
    /// Unix seconds.
    UnixTime,
    /// ACCEPT / REJECT.
    Action,
    /// OK / NODATA / SKIPDATA.
    LogStatus,
    /// Bitwise OR of TCP flags.
    TcpFlags,
    /// Ids, names and enumerations kept as text.
    Text,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    pub name: &'static str,
    /// The flow-log version that introduced the field.
    pub version: u8,
    pub kind: FieldKind,
}

const fn f(name: &'static str, version: u8, kind: FieldKind) -> FieldSpec {
    FieldSpec { name, version, kind }
}

use FieldKind::*;

/// Every field, in AWS's documented order.
pub const CATALOG: &[FieldSpec] = &[
    f("version", 2, Integer),
    f("account-id", 2, Text),
    f("interface-id", 2, Text),
    f("srcaddr", 2, Address),
    f("dstaddr", 2, Address),
    f("srcport", 2, Port),
    f("dstport", 2, Port),
    f("protocol", 2, Protocol),
    f("packets", 2, Counter),
    f("bytes", 2, Counter),
    f("start", 2, UnixTime),
    f("end", 2, UnixTime),
    f("action", 2, Action),
    f("log-status", 2, LogStatus),
    f("vpc-id", 3, Text),
    f("subnet-id", 3, Text),
    f("instance-id", 3, Text),
    f("tcp-flags", 3, TcpFlags),
    f("type", 3, Text),
    f("pkt-srcaddr", 3, Address),
    f("pkt-dstaddr", 3, Address),
    f("region", 4, Text),
    f("az-id", 4, Text),
    f("sublocation-type", 4, Text),
    f("sublocation-id", 4, Text),
    f("pkt-src-aws-service", 5, Text),
    f("pkt-dst-aws-service", 5, Text),
    f("flow-direction", 5, Text),
    f("traffic-path", 5, Integer),
    f("ecs-cluster-arn", 7, Text),
    f("ecs-cluster-name", 7, Text),
    f("ecs-container-instance-arn", 7, Text),
    f("ecs-container-instance-id", 7, Text),
    f("ecs-container-id", 7, Text),
    f("ecs-second-container-id", 7, Text),
    f("ecs-service-name", 7, Text),
    f("ecs-task-definition-arn", 7, Text),
    f("ecs-task-arn", 7, Text),
    f("ecs-task-id", 7, Text),
    f("reject-reason", 8, Text),
];

/// The default format: the version-2 fields in AWS's order.
pub const DEFAULT_V2_FIELDS: &[&str] = &[
    "version",
    "account-id",
    "interface-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log-status",
];

/// What the analytics service requires: every v2 field in the default order, then `tcp-flags`
/// (which connection counting needs).
pub fn required_fields() -> Vec<&'static str> {
    let mut fields = DEFAULT_V2_FIELDS.to_vec();
    fields.push("tcp-flags");
    fields
}

/// The fields the Deepkt guide asks for on top of the required ones.
const EXTENDED_EXTRA: &[&str] = &["type", "flow-direction", "traffic-path", "pkt-srcaddr", "pkt-dstaddr"];

pub fn extended_fields(ecs: bool) -> Vec<&'static str> {
    let mut fields = required_fields();
    fields.extend_from_slice(EXTENDED_EXTRA);
    if ecs {
        fields.extend(CATALOG.iter().filter(|s| s.name.starts_with("ecs-")).map(|s| s.name));
    }
    fields
}

pub fn field_spec(name: &str) -> Option<&'static FieldSpec> {
    CATALOG.iter().find(|s| s.name == name)
}

/// A flow-log record format: an ordered list of fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct LogFormat {
    fields: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FormatError {
    #[error("unknown flow-log field '{0}' (the VPC User Guide lists the available fields)")]
    UnknownField(String),
    #[error("field '{0}' appears twice in the format")]
    Duplicate(String),
    #[error("the format lacks the required field(s) {}", .0.join(", "))]
    MissingRequired(Vec<String>),
    #[error("'{0}' is not a LogFormat token: each field is written ${{field}}")]
    BadToken(String),
    #[error("the format is empty")]
    Empty,
}

impl LogFormat {
    pub fn new<S: AsRef<str>>(fields: &[S]) -> LogFormat {
        LogFormat { fields: fields.iter().map(|f| f.as_ref().to_owned()).collect() }
    }

    pub fn required() -> LogFormat {
        LogFormat::new(&required_fields())
    }

    pub fn default_v2() -> LogFormat {
        LogFormat::new(DEFAULT_V2_FIELDS)
    }

    pub fn fields(&self) -> &[String] {
        &self.fields
    }

    /// The CreateFlowLogs `LogFormat` parameter: `${version} ${account-id} ...`.
    pub fn to_api(&self) -> String {
        self.fields.iter().map(|f| format!("${{{f}}}")).collect::<Vec<_>>().join(" ")
    }

    /// Parses a LogFormat as DescribeFlowLogs returns it. Unknown fields are kept (AWS adds
    /// fields over time); only the syntax is checked.
    pub fn parse_api(text: &str) -> Result<LogFormat, FormatError> {
        let mut fields = Vec::new();
        for token in text.split_whitespace() {
            let name = token
                .strip_prefix("${")
                .and_then(|t| t.strip_suffix('}'))
                .filter(|n| !n.is_empty())
                .ok_or_else(|| FormatError::BadToken(token.to_owned()))?;
            fields.push(name.to_owned());
        }
        if fields.is_empty() {
            return Err(FormatError::Empty);
        }
        Ok(LogFormat { fields })
    }

    /// The `--format` option: `required`, `extended`, or a comma-separated field list that must
    /// name catalog fields, each once, and include every required field.
    pub fn from_option(value: &str, ecs: bool) -> Result<LogFormat, FormatError> {
        match value {
            "required" => return Ok(LogFormat::required()),
            "extended" => return Ok(LogFormat::new(&extended_fields(ecs))),
            _ => {}
        }
        let mut fields: Vec<String> = Vec::new();
        for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let name = name.trim_start_matches("${").trim_end_matches('}');
            if field_spec(name).is_none() {
                return Err(FormatError::UnknownField(name.to_owned()));
            }
            if fields.iter().any(|f| f == name) {
                return Err(FormatError::Duplicate(name.to_owned()));
            }
            fields.push(name.to_owned());
        }
        if fields.is_empty() {
            return Err(FormatError::Empty);
        }
        let format = LogFormat { fields };
        let missing = format.missing(&required_fields());
        if !missing.is_empty() {
            return Err(FormatError::MissingRequired(missing));
        }
        Ok(format)
    }

    /// The fields of `wanted` this format lacks.
    pub fn missing<S: AsRef<str>>(&self, wanted: &[S]) -> Vec<String> {
        wanted.iter().map(AsRef::as_ref).filter(|w| !self.fields.iter().any(|f| f == w)).map(str::to_owned).collect()
    }

    /// The value a record's `version` column holds: the highest version among the fields.
    pub fn version(&self) -> u8 {
        self.fields.iter().filter_map(|f| field_spec(f)).map(|s| s.version).max().unwrap_or(2)
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.fields.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_format_is_v2_then_tcp_flags() {
        let format = LogFormat::required();
        assert_eq!(
            format.to_api(),
            "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${tcp-flags}"
        );
        assert_eq!(format.version(), 3, "v2 + tcp-flags writes version 3");
        assert_eq!(LogFormat::default_v2().version(), 2);
    }

    #[test]
    fn api_round_trip() {
        let format = LogFormat::required();
        assert_eq!(LogFormat::parse_api(&format.to_api()).unwrap(), format);
        assert_eq!(LogFormat::parse_api("${version}  ${future-field}").unwrap().fields(), ["version", "future-field"]);
        assert_eq!(LogFormat::parse_api("version srcaddr"), Err(FormatError::BadToken("version".into())));
        assert_eq!(LogFormat::parse_api(""), Err(FormatError::Empty));
        assert_eq!(LogFormat::parse_api("${}"), Err(FormatError::BadToken("${}".into())));
    }

    #[test]
    fn option_values() {
        assert_eq!(LogFormat::from_option("required", false).unwrap(), LogFormat::required());
        let extended = LogFormat::from_option("extended", false).unwrap();
        assert!(extended.fields().iter().any(|f| f == "flow-direction"));
        assert!(!extended.fields().iter().any(|f| f.starts_with("ecs-")));
        assert_eq!(extended.version(), 5);
        let with_ecs = LogFormat::from_option("extended", true).unwrap();
        assert_eq!(with_ecs.fields().iter().filter(|f| f.starts_with("ecs-")).count(), 10);

        let custom = format!("{},vpc-id,reject-reason", required_fields().join(","));
        let format = LogFormat::from_option(&custom, false).unwrap();
        assert_eq!(format.version(), 8);
        assert_eq!(LogFormat::from_option("version,bogus", false), Err(FormatError::UnknownField("bogus".into())));
        assert_eq!(LogFormat::from_option(&format!("{custom},vpc-id"), false), Err(FormatError::Duplicate("vpc-id".into())));
        assert_eq!(LogFormat::from_option(&DEFAULT_V2_FIELDS.join(","), false), Err(FormatError::MissingRequired(vec!["tcp-flags".into()])));
    }

    #[test]
    fn catalog_has_unique_names_and_every_documented_version() {
        let mut names: Vec<&str> = CATALOG.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CATALOG.len());
        for version in [2, 3, 4, 5, 7, 8] {
            assert!(CATALOG.iter().any(|s| s.version == version), "v{version}");
        }
    }
}
