//! The header line that names each record's fields, and the sniffing of a first line that is
//! binary rather than flow-log text.

use std::fmt;

use super::error::{ParseError, excerpt};
use crate::format::{FieldKind, field_spec, required_fields};

/// The header line: the fields of every record, in order, each with the kind its values parse as
/// (fields the catalog does not know are text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub(super) fields: Vec<String>,
    pub(super) kinds: Vec<FieldKind>,
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

    /// The position of `name` among the fields. Look it up once, then use [`Record::value`](super::Record::value).
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

/// The first line's look: `Some(reason)` when it is binary rather than text. `complete` says the
/// line ends in the bytes given, so a UTF-8 sequence cut at their end is an error.
pub(super) fn binary_reason(first_line: &[u8], complete: bool) -> Option<&'static str> {
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

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;
    use crate::flowlog_parse::fixtures::*;
    use crate::flowlog_parse::input::LINE_BUFFER_LEN;
    use crate::flowlog_parse::*;
    use crate::format::DEFAULT_V2_FIELDS;

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
}
