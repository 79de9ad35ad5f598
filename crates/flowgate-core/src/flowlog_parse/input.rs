//! The line reader over the caller's bytes: gzip (one or more members) or plain text, whole
//! lines up to a limit, and the difference between a failed download, a truncated object and
//! corrupt gzip.

use std::io::{self, BufRead, Read};

use flate2::bufread::GzDecoder;

use super::MAX_LINE_LEN;
use super::error::ParseError;
use super::lex::byte_mask;

/// The decompressed-text buffer: it must hold a whole line of up to `MAX_LINE_LEN`.
pub(super) const LINE_BUFFER_LEN: usize = 4 * MAX_LINE_LEN;
/// The compressed-input buffer in front of the gzip decoder.
pub(super) const GZIP_INPUT_BUFFER_LEN: usize = 128 * 1024;
pub(super) const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The caller's reader, with the bytes read to sniff the format put back in front and a note of
/// whether an error came from it (a failed download) rather than from the gzip data.
pub(super) struct Source<R> {
    pub(super) inner: R,
    replay: [u8; 2],
    replay_len: usize,
    replay_pos: usize,
    bytes_read: u64,
    failed: bool,
}

impl<R> Source<R> {
    pub(super) fn new(inner: R) -> Source<R> {
        Source { inner, replay: [0; 2], replay_len: 0, replay_pos: 0, bytes_read: 0, failed: false }
    }

    pub(super) fn replay(&mut self, bytes: &[u8]) {
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

pub(super) enum Decoder<R> {
    Plain(Source<R>),
    Gzip(Box<GzipMembers<R>>),
}

/// The gzip members of an object, one after the other (a multi-member object is one text), then
/// optionally zero bytes up to the end: some writers pad a file to a block size, and `gzip -d`
/// takes trailing zeros for padding, not for a cut. Anything else after a member must be another
/// member.
pub(super) struct GzipMembers<R> {
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
    pub(super) fn new(input: io::BufReader<Source<R>>) -> GzipMembers<R> {
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
    pub(super) fn classify(&self, error: io::Error, records: u64) -> ParseError {
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
pub(super) enum Line {
    Text((usize, usize)),
    TooLong,
}

/// Splits a stream into lines in one fixed buffer: constant memory, no copy of a line unless it
/// straddles two reads.
pub(super) struct LineReader<R> {
    pub(super) inner: R,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    pub(super) eof: bool,
    /// The read error that ended the stream, returned once the lines read before it are: a cut
    /// object still yields (and counts) every whole line before the cut.
    pub(super) error: Option<io::Error>,
    /// The number of the line last returned (1-based).
    pub(super) line_number: u64,
}

impl<R: Read> LineReader<R> {
    pub(super) fn new(inner: R) -> LineReader<R> {
        LineReader { inner, buf: vec![0; LINE_BUFFER_LEN].into_boxed_slice(), start: 0, end: 0, eof: false, error: None, line_number: 0 }
    }

    pub(super) fn bytes(&self, (start, end): (usize, usize)) -> &[u8] {
        self.buf.get(start..end).unwrap_or_default()
    }

    /// Reads until at least `n` bytes are buffered or the stream ends.
    pub(super) fn fill(&mut self, n: usize) -> io::Result<()> {
        while self.end - self.start < n.min(self.buf.len()) && !self.eof {
            self.read_more()?;
        }
        Ok(())
    }

    /// What is buffered and not yet returned as a line.
    pub(super) fn buffered(&self) -> &[u8] {
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
    pub(super) fn next_line(&mut self, limit: usize) -> io::Result<Option<Line>> {
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
pub(super) fn find_byte(haystack: &[u8], byte: u8) -> Option<usize> {
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
    use std::io;

    use super::*;
    use crate::flowlog_parse::fixtures::*;
    use crate::flowlog_parse::*;

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
}
