//! Top talkers: the (source, destination, port) flows that moved the most bytes.

use std::collections::HashMap;
use std::net::IpAddr;

use serde::Serialize;

use super::flowlog_parse::{FieldValue, Header, Record};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Talker {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub dst_port: Option<u16>,
    pub bytes: u64,
    pub packets: u64,
    pub records: u64,
}

/// Source, destination and destination port.
type FlowKey = (IpAddr, IpAddr, Option<u16>);
/// Bytes, packets and records.
type FlowTotals = (u64, u64, u64);

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
        // Counts come from the object: saturate rather than overflow on absurd values.
        let entry = self.flows.entry((src, dst, port)).or_default();
        entry.0 = entry.0.saturating_add(counter(columns.bytes));
        entry.1 = entry.1.saturating_add(counter(columns.packets));
        entry.2 = entry.2.saturating_add(1);
    }

    /// The `n` flows with the most bytes, most first (ties in address order, so output is stable).
    pub fn top(&self, n: usize) -> Vec<Talker> {
        let mut all: Vec<Talker> = self
            .flows
            .iter()
            .map(|((src, dst, dst_port), (bytes, packets, records))| Talker {
                src: *src,
                dst: *dst,
                dst_port: *dst_port,
                bytes: *bytes,
                packets: *packets,
                records: *records,
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
    use crate::core::flowlog_parse::{ParseOptions, for_each_record};

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
            Ok::<(), crate::core::flowlog_parse::ParseError>(())
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
            Ok::<(), crate::core::flowlog_parse::ParseError>(())
        })
        .unwrap();
        let top = talkers.top(1);
        assert_eq!((top[0].bytes, top[0].packets, top[0].records), (u64::MAX, u64::MAX, 2));
    }
}
