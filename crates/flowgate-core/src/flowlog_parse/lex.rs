//! Record lexing: a line checked field by field against the header's kinds, a fast path for
//! lines as AWS writes them and a general path that says what is wrong, and the number and
//! address parsers both use.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::error::excerpt;
use super::header::Header;
use super::input::find_byte;
use super::record::{Action, FieldValue, LogStatus};
use crate::format::FieldKind;

/// What is wrong with a line, cheap to make; the message is built only for the errors kept.
pub(super) enum LineFault {
    FieldCount { found: usize },
    Field { index: usize, reason: &'static str },
}

impl LineFault {
    pub(super) fn message(&self, header: &Header, line: &[u8], spans: &[(usize, usize)]) -> String {
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
pub(super) fn parse_line(line: &[u8], kinds: &[FieldKind], spans: &mut Vec<(usize, usize)>, numbers: &mut [u64]) -> Result<bool, LineFault> {
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
pub(super) fn parse_line_fast(line: &[u8], kinds: &[FieldKind], spans: &mut [(usize, usize)], numbers: &mut [u64]) -> Option<()> {
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
pub(super) fn split_fields(line: &[u8], spans: &mut Vec<(usize, usize)>) {
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
pub(super) fn byte_mask(word: &[u8], byte: u8) -> u64 {
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
pub(super) fn check_field(kind: FieldKind, field: &[u8]) -> Option<u64> {
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
pub(super) fn typed_value(kind: FieldKind, field: &[u8]) -> Option<FieldValue<'_>> {
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
pub(super) fn parse_u64(digits: &[u8]) -> Option<u64> {
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
pub(super) fn parse_ipv4(field: &[u8]) -> Option<Ipv4Addr> {
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
pub(super) fn parse_ipv6(field: &[u8]) -> Option<Ipv6Addr> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flowlog_parse::fixtures::*;
    use crate::format::FieldKind;

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
}
