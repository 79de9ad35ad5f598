//! Deterministic synthetic flow-log objects for tests and benchmarks: the header line, then records
//! that look like a VPC's traffic (IPv4 and IPv6, TCP/UDP/ICMP, service and ephemeral ports, the
//! tcp-flags AWS logs, REJECTs, NODATA and SKIPDATA windows) in any subset and order of the
//! catalog's fields. The same spec always writes the same bytes; [`SynthTotals`] says what a
//! parser summarizing the output must find.
//!
//! Pure: writes only to the `Write` it is given; a tiny inline PRNG (splitmix64), no `rand`.

use std::collections::{BTreeMap, HashSet};
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::format::{FieldKind, LogFormat, field_spec, required_fields};

/// What to generate. Shares are probabilities in `0.0..=1.0` (out-of-range values are clamped,
/// NaN counts as 0).
#[derive(Debug, Clone, PartialEq)]
pub struct SynthSpec {
    pub records: u64,
    pub seed: u64,
    /// The header's fields, in order, each named once. Catalog fields get values of their kind;
    /// any other name gets `-`. Default: [`required_fields()`].
    pub fields: Vec<String>,
    pub account_id: String,
    pub region: String,
    /// How many network interfaces the records are spread over (at least 1).
    pub interfaces: u32,
    /// Unix seconds of the first capture window.
    pub start_time: u64,
    /// Seconds the capture windows spread over, from `start_time`.
    pub duration: u64,
    /// Share of OK records that are IPv6 flows.
    pub ipv6_share: f64,
    /// Share of records that are NODATA windows.
    pub nodata_share: f64,
    /// Share of records that are SKIPDATA windows.
    pub skipdata_share: f64,
    /// Share of OK records that are REJECTs.
    pub reject_share: f64,
}

impl Default for SynthSpec {
    fn default() -> Self {
        SynthSpec {
            records: 1000,
            seed: 1,
            fields: required_fields().into_iter().map(str::to_owned).collect(),
            account_id: "123456789010".to_owned(),
            region: "eu-west-1".to_owned(),
            interfaces: 16,
            start_time: 1_700_000_000,
            duration: 300,
            ipv6_share: 0.15,
            nodata_share: 0.02,
            skipdata_share: 0.005,
            reject_share: 0.1,
        }
    }
}

/// What the written records add up to, counted only where the header has the field (so that it
/// is what a parser can see): `accepted` needs `action`, `nodata` needs `log-status`, and so on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SynthTotals {
    pub records: u64,
    pub ok: u64,
    pub nodata: u64,
    pub skipdata: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub packets: u64,
    pub bytes: u64,
    pub first_start: Option<u64>,
    pub last_end: Option<u64>,
    /// Distinct `interface-id` values written.
    pub interfaces: u64,
    /// Records per `tcp-flags` value.
    pub tcp_flags: BTreeMap<u16, u64>,
}

/// Writes the header line, then `spec.records` records, through a buffer. Pass `&mut writer` to
/// keep the writer (a `GzEncoder` still needs `finish()`).
pub fn write_records<W: Write>(spec: &SynthSpec, out: W) -> io::Result<SynthTotals> {
    if spec.fields.is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "the synthetic format names no fields"));
    }
    let columns: Vec<Column> = spec.fields.iter().map(|f| Column::of(f)).collect();
    let has = |c: Column| columns.contains(&c);
    let version = LogFormat::new(&spec.fields).version();
    let az_prefix = az_prefix(&spec.region);
    let shares = Shares::new(spec);
    let interfaces = spec.interfaces.max(1);

    let mut out = io::BufWriter::with_capacity(64 * 1024, out);
    out.write_all(spec.fields.join(" ").as_bytes())?;
    out.write_all(b"\n")?;

    let mut rng = Rng(spec.seed);
    let mut totals = SynthTotals::default();
    let mut seen_interfaces: HashSet<u32> = HashSet::new();
    let mut line: Vec<u8> = Vec::with_capacity(512);
    for index in 0..spec.records {
        let flow = Flow::generate(&mut rng, spec, &shares, interfaces, index);
        line.clear();
        for (i, &column) in columns.iter().enumerate() {
            if i > 0 {
                line.push(b' ');
            }
            flow.write_field(column, &mut line, spec, version, &az_prefix)?;
        }
        line.push(b'\n');
        out.write_all(&line)?;

        totals.records += 1;
        if has(Column::LogStatus) {
            match flow.status {
                Status::Ok => totals.ok += 1,
                Status::NoData => totals.nodata += 1,
                Status::SkipData => totals.skipdata += 1,
            }
        }
        if let Some(traffic) = &flow.traffic {
            if has(Column::Action) {
                if traffic.reject {
                    totals.rejected += 1;
                } else {
                    totals.accepted += 1;
                }
            }
            if has(Column::Packets) {
                totals.packets += traffic.packets;
            }
            if has(Column::Bytes) {
                totals.bytes += traffic.bytes;
            }
            if has(Column::TcpFlags) {
                *totals.tcp_flags.entry(traffic.tcp_flags).or_insert(0) += 1;
            }
        }
        if has(Column::Start) {
            totals.first_start = Some(totals.first_start.map_or(flow.start, |t| t.min(flow.start)));
        }
        if has(Column::End) {
            totals.last_end = Some(totals.last_end.map_or(flow.end, |t| t.max(flow.end)));
        }
        if has(Column::InterfaceId) {
            seen_interfaces.insert(flow.interface);
        }
    }
    out.flush()?;
    totals.interfaces = seen_interfaces.len() as u64;
    Ok(totals)
}

/// splitmix64: tiny, fast, and good enough for synthetic data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    fn range(&mut self, low: u64, high_inclusive: u64) -> u64 {
        low + self.below(high_inclusive - low + 1)
    }

    /// True with probability `p` (`p` already clamped to `0.0..=1.0`).
    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64) * (1.0 / (1u64 << 53) as f64) < p
    }

    fn weighted<T: Copy>(&mut self, choices: &[(T, u32)]) -> T {
        let total: u64 = choices.iter().map(|&(_, w)| u64::from(w)).sum();
        let mut pick = self.below(total);
        for &(value, weight) in choices {
            if pick < u64::from(weight) {
                return value;
            }
            pick -= u64::from(weight);
        }
        choices[choices.len() - 1].0
    }
}

/// The splitmix64 finalizer, also used to derive stable ids from an index.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn clamp_share(share: f64) -> f64 {
    if share.is_nan() { 0.0 } else { share.clamp(0.0, 1.0) }
}

struct Shares {
    ipv6: f64,
    nodata: f64,
    skipdata: f64,
    reject: f64,
}

impl Shares {
    fn new(spec: &SynthSpec) -> Shares {
        let skipdata = clamp_share(spec.skipdata_share);
        Shares {
            ipv6: clamp_share(spec.ipv6_share),
            // NODATA is drawn after SKIPDATA, from what is left.
            nodata: if skipdata < 1.0 { clamp_share(spec.nodata_share / (1.0 - skipdata)) } else { 0.0 },
            skipdata,
            reject: clamp_share(spec.reject_share),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    NoData,
    SkipData,
}

/// The traffic of an OK record.
struct Traffic {
    src: IpAddr,
    dst: IpAddr,
    pkt_src: IpAddr,
    pkt_dst: IpAddr,
    src_port: u16,
    dst_port: u16,
    protocol: u8,
    packets: u64,
    bytes: u64,
    reject: bool,
    tcp_flags: u16,
    ingress: bool,
    traffic_path: u8,
    src_service: Option<&'static str>,
    dst_service: Option<&'static str>,
    bpa: bool,
}

struct Flow {
    interface: u32,
    status: Status,
    start: u64,
    end: u64,
    traffic: Option<Traffic>,
}

/// Server ports with their protocol and weight.
const SERVICES: &[((u16, u8), u32)] = &[
    ((443, 6), 40),
    ((80, 6), 10),
    ((22, 6), 6),
    ((3389, 6), 2),
    ((5432, 6), 4),
    ((3306, 6), 3),
    ((6379, 6), 3),
    ((8080, 6), 4),
    ((53, 17), 12),
    ((123, 17), 3),
    ((0, 1), 5),
];

/// tcp-flags as AWS logs them: the OR of FIN 1, SYN 2, RST 4 and SYN-ACK 18 seen in the window.
const ACCEPTED_TCP_FLAGS: &[(u16, u32)] = &[(19, 30), (3, 22), (18, 12), (2, 10), (1, 8), (0, 8), (4, 5), (6, 2), (22, 2), (23, 1)];
const REJECTED_TCP_FLAGS: &[(u16, u32)] = &[(2, 8), (0, 1), (4, 1)];
const AWS_SERVICES: &[(&str, u32)] = &[("AMAZON", 8), ("S3", 6), ("EC2", 4), ("DYNAMODB", 2), ("CLOUDFRONT", 1), ("ROUTE53", 1), ("API_GATEWAY", 1)];
/// traffic-path for egress: 1 through the VPC, 8 through a gateway endpoint, etc.
const TRAFFIC_PATHS: &[(u8, u32)] = &[(1, 40), (2, 8), (3, 6), (4, 4), (5, 3), (6, 3), (7, 8), (8, 6)];

impl Flow {
    fn generate(rng: &mut Rng, spec: &SynthSpec, shares: &Shares, interfaces: u32, index: u64) -> Flow {
        let interface = rng.below(u64::from(interfaces)) as u32;
        // Windows move forward through the object, as in delivered objects, with some jitter.
        let base = spec.start_time.saturating_add(index.saturating_mul(spec.duration) / spec.records.max(1));
        let start = base.saturating_add(rng.below(10));
        let end = start.saturating_add(rng.range(1, 60));
        let status = if rng.chance(shares.skipdata) {
            Status::SkipData
        } else if rng.chance(shares.nodata) {
            Status::NoData
        } else {
            Status::Ok
        };
        let traffic = (status == Status::Ok).then(|| Traffic::generate(rng, shares, interface));
        Flow { interface, status, start, end, traffic }
    }

    fn write_field(&self, column: Column, line: &mut Vec<u8>, spec: &SynthSpec, version: u8, az_prefix: &str) -> io::Result<()> {
        let eni = self.interface;
        let ecs = eni % 3 == 0;
        match (column, &self.traffic) {
            (Column::Version, _) => push_u64(line, u64::from(version)),
            (Column::AccountId, _) => line.extend_from_slice(spec.account_id.as_bytes()),
            (Column::InterfaceId, _) => push_id(line, "eni-", eni_hash(eni, 1)),
            (Column::Start, _) => push_u64(line, self.start),
            (Column::End, _) => push_u64(line, self.end),
            (Column::LogStatus, _) => line.extend_from_slice(match self.status {
                Status::Ok => b"OK",
                Status::NoData => b"NODATA",
                Status::SkipData => b"SKIPDATA",
            }),
            (Column::VpcId, _) => push_id(line, "vpc-", eni_hash(eni % 2, 2)),
            (Column::SubnetId, _) => push_id(line, "subnet-", eni_hash(eni % 8, 3)),
            // Interfaces of NAT gateways and load balancers have no instance.
            (Column::InstanceId, _) if eni % 5 == 4 => line.push(b'-'),
            (Column::InstanceId, _) => push_id(line, "i-", eni_hash(eni, 4)),
            (Column::Region, _) => line.extend_from_slice(spec.region.as_bytes()),
            (Column::AzId, _) => write!(line, "{az_prefix}-az{}", eni % 3 + 1)?,
            (Column::EcsClusterArn, _) if ecs => write!(line, "arn:aws:ecs:{}:{}:cluster/web-cluster", spec.region, spec.account_id)?,
            (Column::EcsClusterName, _) if ecs => line.extend_from_slice(b"web-cluster"),
            (Column::EcsContainerInstanceArn, _) if ecs => write!(
                line,
                "arn:aws:ecs:{}:{}:container-instance/web-cluster/{:016x}{:016x}",
                spec.region,
                spec.account_id,
                eni_hash(eni, 5),
                eni_hash(eni, 6)
            )?,
            (Column::EcsContainerInstanceId, _) if ecs => write!(line, "{:016x}{:016x}", eni_hash(eni, 5), eni_hash(eni, 6))?,
            (Column::EcsContainerId, _) if ecs => {
                write!(line, "{:016x}{:016x}{:016x}{:016x}", eni_hash(eni, 7), eni_hash(eni, 8), eni_hash(eni, 9), eni_hash(eni, 10))?
            }
            (Column::EcsServiceName, _) if ecs => line.extend_from_slice(b"web"),
            (Column::EcsTaskDefinitionArn, _) if ecs => write!(line, "arn:aws:ecs:{}:{}:task-definition/web:7", spec.region, spec.account_id)?,
            (Column::EcsTaskArn, _) if ecs => {
                write!(line, "arn:aws:ecs:{}:{}:task/web-cluster/{:016x}{:016x}", spec.region, spec.account_id, eni_hash(eni, 11), eni_hash(eni, 12))?
            }
            (Column::EcsTaskId, _) if ecs => write!(line, "{:016x}{:016x}", eni_hash(eni, 11), eni_hash(eni, 12))?,
            (Column::SrcAddr, Some(t)) => push_addr(line, t.src)?,
            (Column::DstAddr, Some(t)) => push_addr(line, t.dst)?,
            (Column::PktSrcAddr, Some(t)) => push_addr(line, t.pkt_src)?,
            (Column::PktDstAddr, Some(t)) => push_addr(line, t.pkt_dst)?,
            (Column::SrcPort, Some(t)) => push_u64(line, u64::from(t.src_port)),
            (Column::DstPort, Some(t)) => push_u64(line, u64::from(t.dst_port)),
            (Column::Protocol, Some(t)) => push_u64(line, u64::from(t.protocol)),
            (Column::Packets, Some(t)) => push_u64(line, t.packets),
            (Column::Bytes, Some(t)) => push_u64(line, t.bytes),
            (Column::Action, Some(t)) => line.extend_from_slice(if t.reject { b"REJECT" } else { b"ACCEPT" }),
            (Column::TcpFlags, Some(t)) => push_u64(line, u64::from(t.tcp_flags)),
            (Column::Type, Some(t)) => line.extend_from_slice(if t.src.is_ipv6() { b"IPv6" } else { b"IPv4" }),
            (Column::PktSrcAwsService, Some(Traffic { src_service: Some(s), .. }))
            | (Column::PktDstAwsService, Some(Traffic { dst_service: Some(s), .. })) => line.extend_from_slice(s.as_bytes()),
            (Column::FlowDirection, Some(t)) => line.extend_from_slice(if t.ingress { b"ingress" } else { b"egress" }),
            // AWS reports the path of egress traffic only.
            (Column::TrafficPath, Some(t)) if !t.ingress => push_u64(line, u64::from(t.traffic_path)),
            (Column::RejectReason, Some(t)) if t.bpa => line.extend_from_slice(b"BPA"),
            (Column::Other(kind), _) => push_other(line, kind, self),
            _ => line.push(b'-'),
        }
        Ok(())
    }
}

impl Traffic {
    fn generate(rng: &mut Rng, shares: &Shares, interface: u32) -> Traffic {
        let v6 = rng.chance(shares.ipv6);
        let reject = rng.chance(shares.reject);
        let (service_port, protocol) = rng.weighted(SERVICES);
        let protocol = if protocol == 1 && v6 { 58 } else { protocol };
        let ingress = rng.chance(0.5);
        let local = local_address(interface, v6);
        let from_aws = rng.chance(0.1);
        let remote = remote_address(rng, v6);
        // Either side may be the client: the local interface serving, or calling out.
        let local_serves = rng.chance(0.5);
        let ephemeral = rng.range(32768, 60999) as u16;
        let (local_port, remote_port) = match (protocol, local_serves) {
            (1 | 58, _) => (0, 0),
            (_, true) => (service_port, ephemeral),
            (_, false) => (ephemeral, service_port),
        };
        let (src, dst, src_port, dst_port) =
            if ingress { (remote, local, remote_port, local_port) } else { (local, remote, local_port, remote_port) };
        // Traffic through a NAT gateway or load balancer shows other packet-level addresses.
        let translated = rng.chance(0.1);
        let pkt_src = if translated && ingress { remote_address(rng, v6) } else { src };
        let pkt_dst = if translated && !ingress { remote_address(rng, v6) } else { dst };
        // Packet counts spread over orders of magnitude, as flows do.
        let magnitude = rng.below(14);
        let packets = if reject { rng.range(1, 3) } else { 1 + rng.below(1 << magnitude) };
        let packet_size = if reject { rng.range(40, 80) } else { rng.range(40, 1500) };
        let tcp_flags = match protocol {
            6 if reject => rng.weighted(REJECTED_TCP_FLAGS),
            6 => rng.weighted(ACCEPTED_TCP_FLAGS),
            _ => 0,
        };
        let service = from_aws.then(|| rng.weighted(AWS_SERVICES));
        Traffic {
            src,
            dst,
            pkt_src,
            pkt_dst,
            src_port,
            dst_port,
            protocol,
            packets,
            bytes: packets * packet_size,
            reject,
            tcp_flags,
            ingress,
            traffic_path: rng.weighted(TRAFFIC_PATHS),
            src_service: if ingress { service } else { None },
            dst_service: if ingress { None } else { service },
            bpa: reject && rng.chance(0.1),
        }
    }
}

/// A stable 64-bit value for interface `index` and purpose `salt`.
fn eni_hash(index: u32, salt: u64) -> u64 {
    mix(u64::from(index) ^ (salt << 40) ^ 0x5eed_f10f)
}

/// An AWS id: prefix and 17 hex digits.
fn push_id(line: &mut Vec<u8>, prefix: &str, hash: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    line.extend_from_slice(prefix.as_bytes());
    // 17 digits of a 64-bit value: the top nibble repeats as the first digit.
    line.push(HEX[(hash >> 60) as usize & 0xf]);
    for shift in (0..16).rev() {
        line.push(HEX[(hash >> (shift * 4)) as usize & 0xf]);
    }
}

fn local_address(interface: u32, v6: bool) -> IpAddr {
    if v6 {
        let i = interface as u16;
        IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0x1234, 0xa100 | (i & 0xff), 0, 0, 0, (interface >> 8) as u16 | 0x10))
    } else {
        let [_, a, b, c] = interface.to_be_bytes();
        IpAddr::V4(Ipv4Addr::new(10, a, b, c.max(4)))
    }
}

fn remote_address(rng: &mut Rng, v6: bool) -> IpAddr {
    let bits = rng.next();
    if v6 {
        let w = |shift: u32| (bits >> shift) as u16;
        return IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, w(0), w(16), w(32), w(48), 0, (bits % 251) as u16 + 1));
    }
    let [a, b, c, d, ..] = bits.to_le_bytes();
    IpAddr::V4(match a % 4 {
        0 => Ipv4Addr::new(172, 31, b, d.max(1)),
        1 => Ipv4Addr::new(198, 51, 100, d.max(1)),
        2 => Ipv4Addr::new(203, 0, 113, d.max(1)),
        _ => Ipv4Addr::new(52, 94 + (b % 4), c, d.max(1)),
    })
}

fn push_addr(line: &mut Vec<u8>, addr: IpAddr) -> io::Result<()> {
    match addr {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    line.push(b'.');
                }
                push_u64(line, u64::from(octet));
            }
            Ok(())
        }
        IpAddr::V6(v6) => write!(line, "{v6}"),
    }
}

fn push_u64(line: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    line.extend_from_slice(&digits[at..]);
}

/// A catalog field this generator has no specific value for: a plausible value of its kind.
fn push_other(line: &mut Vec<u8>, kind: FieldKind, flow: &Flow) {
    match kind {
        FieldKind::Integer | FieldKind::Counter | FieldKind::Port | FieldKind::Protocol | FieldKind::TcpFlags => {
            push_u64(line, u64::from(flow.interface % 7))
        }
        FieldKind::UnixTime => push_u64(line, flow.start),
        _ => line.push(b'-'),
    }
}

/// az-id prefixes: `eu-west-1` -> `euw1`, `ap-southeast-2` -> `apse2`.
fn az_prefix(region: &str) -> String {
    let mut parts = region.split('-');
    let (Some(area), Some(direction), Some(number)) = (parts.next(), parts.next(), parts.next()) else {
        return region.to_owned();
    };
    let direction = match direction {
        "northeast" => "ne",
        "northwest" => "nw",
        "southeast" => "se",
        "southwest" => "sw",
        "central" => "c",
        other => other.get(..1).unwrap_or(other),
    };
    format!("{area}{direction}{number}")
}

/// A header field, resolved once so that records are written without comparing names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Version,
    AccountId,
    InterfaceId,
    SrcAddr,
    DstAddr,
    SrcPort,
    DstPort,
    Protocol,
    Packets,
    Bytes,
    Start,
    End,
    Action,
    LogStatus,
    VpcId,
    SubnetId,
    InstanceId,
    TcpFlags,
    Type,
    PktSrcAddr,
    PktDstAddr,
    Region,
    AzId,
    PktSrcAwsService,
    PktDstAwsService,
    FlowDirection,
    TrafficPath,
    EcsClusterArn,
    EcsClusterName,
    EcsContainerInstanceArn,
    EcsContainerInstanceId,
    EcsContainerId,
    EcsServiceName,
    EcsTaskDefinitionArn,
    EcsTaskArn,
    EcsTaskId,
    RejectReason,
    /// Any other field: a catalog field without a specific generator (sublocations, the second
    /// ECS container) or a name the catalog does not know (text).
    Other(FieldKind),
}

impl Column {
    fn of(name: &str) -> Column {
        match name {
            "version" => Column::Version,
            "account-id" => Column::AccountId,
            "interface-id" => Column::InterfaceId,
            "srcaddr" => Column::SrcAddr,
            "dstaddr" => Column::DstAddr,
            "srcport" => Column::SrcPort,
            "dstport" => Column::DstPort,
            "protocol" => Column::Protocol,
            "packets" => Column::Packets,
            "bytes" => Column::Bytes,
            "start" => Column::Start,
            "end" => Column::End,
            "action" => Column::Action,
            "log-status" => Column::LogStatus,
            "vpc-id" => Column::VpcId,
            "subnet-id" => Column::SubnetId,
            "instance-id" => Column::InstanceId,
            "tcp-flags" => Column::TcpFlags,
            "type" => Column::Type,
            "pkt-srcaddr" => Column::PktSrcAddr,
            "pkt-dstaddr" => Column::PktDstAddr,
            "region" => Column::Region,
            "az-id" => Column::AzId,
            "pkt-src-aws-service" => Column::PktSrcAwsService,
            "pkt-dst-aws-service" => Column::PktDstAwsService,
            "flow-direction" => Column::FlowDirection,
            "traffic-path" => Column::TrafficPath,
            "ecs-cluster-arn" => Column::EcsClusterArn,
            "ecs-cluster-name" => Column::EcsClusterName,
            "ecs-container-instance-arn" => Column::EcsContainerInstanceArn,
            "ecs-container-instance-id" => Column::EcsContainerInstanceId,
            "ecs-container-id" => Column::EcsContainerId,
            "ecs-service-name" => Column::EcsServiceName,
            "ecs-task-definition-arn" => Column::EcsTaskDefinitionArn,
            "ecs-task-arn" => Column::EcsTaskArn,
            "ecs-task-id" => Column::EcsTaskId,
            "reject-reason" => Column::RejectReason,
            other => Column::Other(field_spec(other).map_or(FieldKind::Text, |s| s.kind)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use flate2::Compression;
    use flate2::read::MultiGzDecoder;
    use flate2::write::GzEncoder;
    use proptest::prelude::*;

    use super::*;
    use crate::flowlog_parse::{ObjectSummary, ParseOptions, summarize};
    use crate::format::{CATALOG, extended_fields};

    fn generate(spec: &SynthSpec) -> (Vec<u8>, SynthTotals) {
        let mut out = Vec::new();
        let totals = write_records(spec, &mut out).unwrap();
        (out, totals)
    }

    fn lenient() -> ParseOptions {
        ParseOptions { require_fields: false, ..ParseOptions::default() }
    }

    fn assert_summary_matches(summary: &ObjectSummary, totals: &SynthTotals) {
        assert_eq!(summary.parse_errors, 0, "{:?}", summary.errors);
        assert_eq!(summary.records, totals.records);
        assert_eq!((summary.log_status.ok, summary.log_status.nodata, summary.log_status.skipdata), (totals.ok, totals.nodata, totals.skipdata));
        assert_eq!((summary.actions.accept, summary.actions.reject), (totals.accepted, totals.rejected));
        assert_eq!((summary.packets, summary.bytes), (totals.packets, totals.bytes));
        assert_eq!((summary.first_start, summary.last_end), (totals.first_start, totals.last_end));
        assert_eq!(summary.distinct_interfaces() as u64, totals.interfaces);
        assert_eq!(summary.tcp_flags.to_map(), totals.tcp_flags);
    }

    fn all_catalog_fields() -> Vec<String> {
        CATALOG.iter().map(|s| s.name.to_owned()).collect()
    }

    #[test]
    fn the_parser_finds_what_was_generated() {
        let spec = SynthSpec { records: 5000, ..SynthSpec::default() };
        let (text, totals) = generate(&spec);
        assert_summary_matches(&summarize(text.as_slice(), &ParseOptions::default()).unwrap(), &totals);
        assert_eq!(totals.records, 5000);
        assert_eq!(totals.ok + totals.nodata + totals.skipdata, 5000);
        assert_eq!(totals.accepted + totals.rejected, totals.ok);
        assert_eq!(totals.interfaces, 16);
    }

    #[test]
    fn every_catalog_field_and_the_extended_formats_parse_cleanly() {
        let formats = [
            all_catalog_fields(),
            extended_fields(true).into_iter().map(str::to_owned).collect(),
            all_catalog_fields().into_iter().rev().collect(),
            vec!["srcaddr".to_owned(), "version".to_owned()],
            vec!["log-status".to_owned()],
        ];
        for fields in formats {
            let spec = SynthSpec { records: 3000, seed: 7, fields: fields.clone(), ..SynthSpec::default() };
            let (text, totals) = generate(&spec);
            let summary = summarize(text.as_slice(), &lenient()).unwrap();
            assert_summary_matches(&summary, &totals);
            assert_eq!(summary.formats, vec![fields]);
        }
    }

    #[test]
    fn output_is_deterministic() {
        let spec = SynthSpec { records: 500, fields: all_catalog_fields(), ..SynthSpec::default() };
        assert_eq!(generate(&spec), generate(&spec));
        let other_seed = SynthSpec { seed: 2, ..spec.clone() };
        assert_ne!(generate(&spec).0, generate(&other_seed).0);
    }

    #[test]
    fn header_line_names_the_fields() {
        let (text, _) = generate(&SynthSpec { records: 3, ..SynthSpec::default() });
        let text = String::from_utf8(text).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], required_fields().join(" "));
        assert_eq!(lines.len(), 4);
        // v2 fields plus tcp-flags write version 3.
        assert!(lines[1..].iter().all(|l| l.starts_with("3 123456789010 eni-")), "{lines:?}");
    }

    #[test]
    fn records_mix_what_real_logs_have() {
        let fields = all_catalog_fields();
        let spec = SynthSpec { records: 20_000, fields: fields.clone(), ..SynthSpec::default() };
        let (text, totals) = generate(&spec);
        let text = String::from_utf8(text).unwrap();
        let column = |name: &str| fields.iter().position(|f| f == name).unwrap();
        let mut values: BTreeMap<&str, HashSet<&str>> = BTreeMap::new();
        for line in text.lines().skip(1) {
            let record: Vec<&str> = line.split(' ').collect();
            assert_eq!(record.len(), fields.len(), "{line}");
            for name in
                ["protocol", "type", "flow-direction", "traffic-path", "pkt-src-aws-service", "log-status", "action", "reject-reason", "dstport"]
            {
                values.entry(name).or_default().insert(record[column(name)]);
            }
            assert_eq!(record[column("version")], "8");
            assert!(record[column("az-id")].starts_with("euw1-az"));
        }
        for protocol in ["6", "17", "1", "58", "-"] {
            assert!(values["protocol"].contains(protocol), "{protocol}");
        }
        for flags in [0, 1, 2, 3, 4, 18, 19] {
            assert!(totals.tcp_flags.contains_key(&flags), "{flags}: {:?}", totals.tcp_flags);
        }
        assert_eq!(values["type"], HashSet::from(["IPv4", "IPv6", "-"]));
        assert_eq!(values["flow-direction"], HashSet::from(["ingress", "egress", "-"]));
        assert_eq!(values["log-status"], HashSet::from(["OK", "NODATA", "SKIPDATA"]));
        assert_eq!(values["reject-reason"], HashSet::from(["BPA", "-"]));
        assert!(values["traffic-path"].contains("8") && values["traffic-path"].contains("1"));
        assert!(values["pkt-src-aws-service"].contains("AMAZON"));
        assert!(values["dstport"].contains("443") && values["dstport"].contains("22"));
        let share = |n: u64| n as f64 / totals.records as f64;
        assert!((0.01..0.03).contains(&share(totals.nodata)), "{totals:?}");
        assert!((0.002..0.01).contains(&share(totals.skipdata)), "{totals:?}");
        assert!((0.08..0.12).contains(&(totals.rejected as f64 / totals.ok as f64)), "{totals:?}");
    }

    #[test]
    fn shares_steer_the_mix() {
        let only_v4 = SynthSpec { records: 2000, ipv6_share: 0.0, fields: vec!["srcaddr".into(), "dstaddr".into()], ..SynthSpec::default() };
        let (text, _) = generate(&only_v4);
        assert!(!String::from_utf8(text).unwrap().lines().skip(1).any(|l| l.contains(':')));

        let all_nodata = SynthSpec { records: 100, nodata_share: 1.0, skipdata_share: 0.0, ..SynthSpec::default() };
        let (_, totals) = generate(&all_nodata);
        assert_eq!((totals.nodata, totals.ok, totals.packets), (100, 0, 0));
        assert!(totals.tcp_flags.is_empty());

        let all_rejected = SynthSpec { records: 100, reject_share: 2.0, nodata_share: f64::NAN, skipdata_share: -1.0, ..SynthSpec::default() };
        let (_, totals) = generate(&all_rejected);
        assert_eq!((totals.rejected, totals.accepted, totals.ok), (100, 0, 100));
    }

    #[test]
    fn totals_count_only_what_the_header_shows() {
        let spec = SynthSpec { records: 100, fields: vec!["version".into(), "srcaddr".into(), "made-up-field".into()], ..SynthSpec::default() };
        let (text, totals) = generate(&spec);
        assert_eq!(totals, SynthTotals { records: 100, ..SynthTotals::default() });
        assert!(String::from_utf8(text).unwrap().lines().skip(1).all(|l| l.ends_with(" -")));
    }

    #[test]
    fn gzip_output_round_trips() {
        let spec = SynthSpec { records: 2000, interfaces: 1000, ..SynthSpec::default() };
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        let totals = write_records(&spec, &mut encoder).unwrap();
        let compressed = encoder.finish().unwrap();
        assert_summary_matches(&summarize(compressed.as_slice(), &ParseOptions::default()).unwrap(), &totals);
        let mut text = Vec::new();
        MultiGzDecoder::new(compressed.as_slice()).read_to_end(&mut text).unwrap();
        assert_eq!(text, generate(&spec).0);
    }

    #[test]
    fn degenerate_specs() {
        assert_eq!(write_records(&SynthSpec { fields: vec![], ..SynthSpec::default() }, io::sink()).unwrap_err().kind(), io::ErrorKind::InvalidInput);
        let (text, totals) = generate(&SynthSpec { records: 0, ..SynthSpec::default() });
        assert_eq!(totals.records, 0);
        assert_eq!(summarize(text.as_slice(), &ParseOptions::default()).unwrap().records, 0);
        let spec = SynthSpec { records: 50, interfaces: 0, duration: 0, start_time: u64::MAX - 5, ..SynthSpec::default() };
        let (text, totals) = generate(&spec);
        assert_eq!(totals.interfaces, 1);
        assert_summary_matches(&summarize(text.as_slice(), &ParseOptions::default()).unwrap(), &totals);
    }

    #[test]
    fn az_prefixes() {
        assert_eq!(az_prefix("eu-west-1"), "euw1");
        assert_eq!(az_prefix("us-east-1"), "use1");
        assert_eq!(az_prefix("ap-southeast-2"), "apse2");
        assert_eq!(az_prefix("eu-central-1"), "euc1");
        assert_eq!(az_prefix("local"), "local");
    }

    fn field_subset() -> impl Strategy<Value = Vec<String>> {
        let names: Vec<String> = all_catalog_fields();
        let len = names.len();
        prop::sample::subsequence(names, 1..=len).prop_shuffle()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn any_subset_and_order_of_catalog_fields_parses_to_the_totals(
            fields in field_subset(),
            seed in any::<u64>(),
            records in 0u64..300,
            ipv6_share in 0.0f64..=1.0,
        ) {
            let spec = SynthSpec { records, seed, fields, ipv6_share, interfaces: 5, ..SynthSpec::default() };
            let (text, totals) = generate(&spec);
            let summary = summarize(text.as_slice(), &lenient()).unwrap();
            prop_assert_eq!(summary.parse_errors, 0, "{:?}", summary.errors);
            assert_summary_matches(&summary, &totals);
        }
    }
}
