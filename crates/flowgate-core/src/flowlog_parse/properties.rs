//! Property tests of the parser: the fast path agrees with the general path, parsers agree with
//! std's, no input panics, and a summary matches the records generated.

use std::collections::{BTreeMap, HashSet};
use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::fixtures::*;
use super::input::GZIP_MAGIC;
use super::lex::{check_field, parse_ipv4, parse_ipv6, parse_line_fast, parse_u64, split_fields};
use super::*;
use crate::format::{DEFAULT_V2_FIELDS, FieldKind};

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
        let src = if self.v6 { format!("2001:db8::{:x}:{:x}", self.addr >> 16, self.addr & 0xffff) } else { Ipv4Addr::from(self.addr).to_string() };
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
