//! Top talkers: the (source, destination, port) flows that moved the most bytes.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use schemars::JsonSchema;
use serde::Serialize;

use super::flowlog_parse::{FieldValue, Header, Record, Saturated, add_saturating};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Talker {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub dst_port: Option<u16>,
    pub bytes: u64,
    pub packets: u64,
    pub records: u64,
    /// `bytes` or `packets` when that total overflowed and stopped at `u64::MAX`.
    #[serde(skip_serializing_if = "is_unsaturated")]
    pub saturated: Saturated,
}

fn is_unsaturated(saturated: &Saturated) -> bool {
    !saturated.any()
}

impl Talker {
    /// The destination as an endpoint: `10.0.0.2:443`, `[2001:db8::1]:443` (an IPv6 address is
    /// bracketed so that its port cannot be read as one more group), `-` for no port.
    pub fn destination(&self) -> String {
        endpoint(self.dst, self.dst_port)
    }
}

/// An address and port written so that they read back unambiguously (RFC 3986's bracketed IPv6).
pub fn endpoint(address: IpAddr, port: Option<u16>) -> String {
    match (address, port) {
        (address, Some(port)) => SocketAddr::new(address, port).to_string(),
        (IpAddr::V4(v4), None) => format!("{v4}:-"),
        (IpAddr::V6(v6), None) => format!("[{v6}]:-"),
    }
}

/// Source, destination and destination port.
type FlowKey = (IpAddr, IpAddr, Option<u16>);

#[derive(Debug, Clone, Copy, Default)]
struct FlowTotals {
    bytes: u64,
    packets: u64,
    records: u64,
    saturated: Saturated,
}

#[derive(Debug, Default)]
pub struct TopTalkers {
    flows: HashMap<FlowKey, FlowTotals>,
}

/// Where a talker's fields are in an object's header, looked up once per object.
#[derive(Debug, Clone, Copy)]
pub struct TalkerColumns {
    src: Option<usize>,
    dst: Option<usize>,
    dst_port: Option<usize>,
    bytes: Option<usize>,
    packets: Option<usize>,
}

impl TalkerColumns {
    pub fn new(header: &Header) -> TalkerColumns {
        TalkerColumns {
            src: header.index("srcaddr"),
            dst: header.index("dstaddr"),
            dst_port: header.index("dstport"),
            bytes: header.index("bytes"),
            packets: header.index("packets"),
        }
    }
}

impl TopTalkers {
    /// Counts a record that has both addresses; others (NODATA, SKIPDATA) are skipped. `columns`
    /// must be those of the record's header.
    pub fn add(&mut self, record: &Record<'_>, columns: &TalkerColumns) {
        let value = |index: Option<usize>| index.and_then(|i| record.value(i));
        let (Some(FieldValue::Address(src)), Some(FieldValue::Address(dst))) = (value(columns.src), value(columns.dst)) else {
            return;
        };
        let port = match value(columns.dst_port) {
            Some(FieldValue::Port(p)) => Some(p),
            _ => None,
        };
        let counter = |index| match value(index) {
            Some(FieldValue::Counter(n)) => n,
            _ => 0,
        };
        // Counts come from the object: saturate (and say so) rather than overflow on absurd values.
        let entry = self.flows.entry((src, dst, port)).or_default();
        add_saturating(&mut entry.bytes, counter(columns.bytes), &mut entry.saturated.bytes);
        add_saturating(&mut entry.packets, counter(columns.packets), &mut entry.saturated.packets);
        entry.records = entry.records.saturating_add(1);
    }

    /// The `n` flows with the most bytes, most first (ties in address order, so output is stable).
    pub fn top(&self, n: usize) -> Vec<Talker> {
        let mut all: Vec<Talker> = self
            .flows
            .iter()
            .map(|(&(src, dst, dst_port), totals)| Talker {
                src,
                dst,
                dst_port,
                bytes: totals.bytes,
                packets: totals.packets,
                records: totals.records,
                saturated: totals.saturated,
            })
            .collect();
        all.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| (a.src, a.dst, a.dst_port).cmp(&(b.src, b.dst, b.dst_port))));
        all.truncate(n);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flowlog_parse::{ParseOptions, for_each_record};

    #[test]
    fn sums_bytes_per_flow_and_skips_nodata() {
        let text = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status tcp-flags\n\
            2 1 eni-1 10.0.0.1 10.0.0.2 40000 443 6 10 1000 1 2 ACCEPT OK 2\n\
            2 1 eni-1 10.0.0.1 10.0.0.2 40001 443 6 5 500 1 2 ACCEPT OK 18\n\
            2 1 eni-1 10.0.0.3 10.0.0.2 40000 22 6 1 4000 1 2 REJECT OK 2\n\
            2 1 eni-1 - - - - - - - 1 2 - NODATA -\n";
        let mut talkers = TopTalkers::default();
        for_each_record(text.as_bytes(), &ParseOptions::default(), |r| {
            talkers.add(r, &TalkerColumns::new(r.header()));
            Ok::<(), crate::flowlog_parse::ParseError>(())
        })
        .unwrap();
        let top = talkers.top(5);
        assert_eq!(top.len(), 2);
        assert_eq!((top[0].bytes, top[0].dst_port), (4000, Some(22)));
        assert_eq!((top[1].bytes, top[1].packets, top[1].records), (1500, 15, 2));
        assert_eq!(talkers.top(1).len(), 1);
    }

    #[test]
    fn totals_saturate_on_absurd_counts() {
        let text = "srcaddr dstaddr dstport packets bytes\n\
            10.0.0.1 10.0.0.2 443 18446744073709551615 18446744073709551615\n\
            10.0.0.1 10.0.0.2 443 18446744073709551615 18446744073709551615\n";
        let mut talkers = TopTalkers::default();
        let lenient = ParseOptions { require_fields: false, ..ParseOptions::default() };
        for_each_record(text.as_bytes(), &lenient, |r| {
            talkers.add(r, &TalkerColumns::new(r.header()));
            Ok::<(), crate::flowlog_parse::ParseError>(())
        })
        .unwrap();
        let top = talkers.top(1);
        assert_eq!((top[0].bytes, top[0].packets, top[0].records), (u64::MAX, u64::MAX, 2));
        assert!(top[0].saturated.bytes && top[0].saturated.packets, "the totals say they saturated");
        assert_eq!(serde_json::to_value(&top[0]).unwrap()["saturated"], serde_json::json!(["packets", "bytes"]));
    }

    #[test]
    fn a_single_maximal_count_is_not_saturation() {
        let text = "srcaddr dstaddr dstport packets bytes\n10.0.0.1 10.0.0.2 443 1 18446744073709551615\n";
        let mut talkers = TopTalkers::default();
        let lenient = ParseOptions { require_fields: false, ..ParseOptions::default() };
        for_each_record(text.as_bytes(), &lenient, |r| {
            talkers.add(r, &TalkerColumns::new(r.header()));
            Ok::<(), crate::flowlog_parse::ParseError>(())
        })
        .unwrap();
        let top = talkers.top(1);
        assert_eq!(top[0].bytes, u64::MAX);
        assert!(!top[0].saturated.any());
        assert!(serde_json::to_value(&top[0]).unwrap().get("saturated").is_none());
    }

    #[test]
    fn ipv6_endpoints_are_bracketed() {
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        let v4: IpAddr = "10.0.0.2".parse().unwrap();
        assert_eq!(endpoint(v6, Some(443)), "[2001:db8::1]:443");
        assert_eq!(endpoint(v6, None), "[2001:db8::1]:-");
        assert_eq!(endpoint(v4, Some(443)), "10.0.0.2:443");
        assert_eq!(endpoint(v4, None), "10.0.0.2:-");
    }
}
