//! The record reader: detects gzip or plain text, reads the header, then checks one line at a
//! time and keeps the summary up to date.

use std::io::{self, Read};

use super::error::ParseError;
use super::header::{Header, binary_reason};
use super::input::{Decoder, GZIP_INPUT_BUFFER_LEN, GZIP_MAGIC, GzipMembers, Line, LineReader, Source};
use super::lex::parse_line;
use super::record::Record;
use super::summary::{ObjectSummary, SummaryColumns};
use super::{MAX_HEADER_LEN, MAX_LINE_LEN, ParseOptions};

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

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;
    use crate::flowlog_parse::fixtures::*;
    use crate::flowlog_parse::*;
    use crate::format::DEFAULT_V2_FIELDS;

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
}
