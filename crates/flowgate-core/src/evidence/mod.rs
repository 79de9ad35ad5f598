//! Evidence an auditor can file: the facts `verify` observed, shaped for a document (a coverage
//! matrix per region, delivery per region with records per hour, the vendor role's trust and read
//! access), and their renderings as one self-contained HTML page or as CSV (one row per check).
//!
//! `org.rs`: the organization's report (`org verify --report`), the same renderings over an
//! accounts x checks matrix.
//!
//! Everything here is pure: the main crate observes, builds these facts from its observations and
//! writes the rendered text to the file.

mod org;
mod render;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use crate::delivery::{DeliveredObject, RegionDelivery};
use crate::flowlog_parse::ObjectSummary;
use crate::flowlog_plan::{VpcCoverage, VpcState};
use crate::report::{Check, CheckStatus};
use crate::role_policy::{Grant, Readability};
use crate::trust::TrustAssessment;

pub use org::{AccountEvidence, OrgEvidence, RegionSkip, UncheckedAccount, check_columns, failing_first, render_org_csv, render_org_html};
pub use render::{render_csv, render_html};

/// The file format of `--report`, chosen by the file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Html,
    Csv,
}

/// The format of a `--report` path from its extension (case-insensitive): `.html` or `.csv`.
pub fn report_format(path: &str) -> Result<ReportFormat, String> {
    let extension = path.rsplit_once('.').map(|(stem, ext)| (stem, ext.to_ascii_lowercase()));
    match extension {
        Some((stem, ext)) if ext == "html" && !stem.is_empty() && !stem.ends_with('/') => Ok(ReportFormat::Html),
        Some((stem, ext)) if ext == "csv" && !stem.is_empty() && !stem.ends_with('/') => Ok(ReportFormat::Csv),
        _ => Err(format!("'{path}': the report's format follows its extension: name the file FILE.html or FILE.csv")),
    }
}

/// A tag of the bucket, as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct TagPair {
    pub key: String,
    pub value: String,
}

/// One VPC's line of the coverage matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct VpcRow {
    pub vpc_id: String,
    /// The VPC's `Name` tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// compliant, non-compliant, missing or shared.
    pub state: &'static str,
    /// Why it is not compliant, who owns it when shared; empty when compliant.
    pub reason: String,
}

/// One region of the coverage matrix: VPCs, compliant, non-compliant (with reasons), missing,
/// shared from other accounts, idle (covered VPCs without a network interface).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct CoverageRow {
    pub region: String,
    pub status: CheckStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub vpcs: usize,
    pub compliant: usize,
    pub non_compliant: usize,
    pub missing: usize,
    pub shared: usize,
    /// Covered VPCs with no network interface (nothing to deliver); absent when not known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle: Option<usize>,
    pub vpc_details: Vec<VpcRow>,
}

/// One region's matrix row from its VPCs' coverage. `names` maps VPC ids to their `Name` tags;
/// `idle` is how many covered VPCs have no network interface, when it was read.
pub fn coverage_row(
    region: &str,
    error: Option<&str>,
    coverage: &[VpcCoverage],
    names: &BTreeMap<String, String>,
    idle: Option<usize>,
) -> CoverageRow {
    let mut row = CoverageRow {
        region: region.to_owned(),
        status: CheckStatus::Pass,
        error: error.map(str::to_owned),
        vpcs: coverage.len(),
        compliant: 0,
        non_compliant: 0,
        missing: 0,
        shared: 0,
        idle,
        vpc_details: Vec::new(),
    };
    for vpc in coverage {
        let (state, reason) = match &vpc.state {
            VpcState::Compliant { flow_log_id } => {
                row.compliant += 1;
                ("compliant", format!("flow log {flow_log_id}"))
            }
            VpcState::NonCompliant { reasons, .. } => {
                row.non_compliant += 1;
                ("non-compliant", reasons.join("; "))
            }
            VpcState::Missing => {
                row.missing += 1;
                ("missing", "no flow log to the bucket".to_owned())
            }
            VpcState::Shared { owner_id } => {
                row.shared += 1;
                ("shared", format!("shared by account {owner_id}: its owner enables flow logs"))
            }
        };
        row.vpc_details.push(VpcRow { vpc_id: vpc.vpc_id.clone(), name: names.get(&vpc.vpc_id).cloned(), state, reason });
    }
    row.status = if row.error.is_some() || row.non_compliant + row.missing > 0 { CheckStatus::Fail } else { CheckStatus::Pass };
    row
}

/// What one region delivered in the window: the newest object, how many, and what the objects
/// read hold (records, ACCEPT/REJECT, records per hour).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct DeliveryRow {
    pub region: String,
    /// Objects from flowgate's compliant flow logs in the window.
    pub objects: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newest_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newest_age_secs: Option<i64>,
    /// How many of the objects were read and parsed (the newest, up to --max-objects).
    pub objects_read: usize,
    pub records: u64,
    pub accept: u64,
    pub reject: u64,
    /// Records per hour of the window, oldest hour first, from the objects read (each object's
    /// records spread evenly over the hours between its earliest start and latest end).
    pub records_per_hour: Vec<u64>,
}

/// A region's delivery row: `objects` are the delivered objects (any order), `read` the
/// summaries of those read and parsed; `now` and `since_secs` bound the window.
pub fn delivery_row(region: &str, objects: &[DeliveredObject], read: &[&ObjectSummary], now: i64, since_secs: u64) -> DeliveryRow {
    let newest = objects.iter().max_by(|a, b| a.last_modified.cmp(&b.last_modified).then_with(|| b.key.cmp(&a.key)));
    let spans: Vec<(u64, u64, u64)> = read.iter().filter_map(|s| Some((s.first_start?, s.last_end?, s.records))).collect();
    DeliveryRow {
        region: region.to_owned(),
        objects: objects.len(),
        newest_key: newest.map(|o| o.key.clone()),
        newest_age_secs: newest.map(|o| (now - o.last_modified).max(0)),
        objects_read: read.len(),
        records: read.iter().map(|s| s.records).sum(),
        accept: read.iter().map(|s| s.actions.accept).sum(),
        reject: read.iter().map(|s| s.actions.reject).sum(),
        records_per_hour: records_per_hour(&spans, now.max(0) as u64, since_secs),
    }
}

/// Records per UTC hour over the `since_secs` before `now`, oldest hour first, the last bar being
/// the hour of `now` (at most 7 days of bars). Each span `(first_start, last_end, records)`
/// spreads its records evenly over the hours it touches (the remainder to its first hours); only
/// the hours inside the window are counted.
pub fn records_per_hour(spans: &[(u64, u64, u64)], now: u64, since_secs: u64) -> Vec<u64> {
    const MAX_HOURS: u64 = 7 * 24;
    let hours = since_secs.div_ceil(3600).clamp(1, MAX_HOURS);
    let last_hour = (now / 3600) as i64;
    let first_hour = last_hour + 1 - hours as i64;
    let mut bars = vec![0u64; hours as usize];
    for &(start, end, records) in spans {
        let (a, b) = ((start.min(end) / 3600) as i64, (start.max(end) / 3600) as i64);
        let span = (b - a + 1) as u64;
        let (each, rest) = (records / span, records % span);
        for hour in a.max(first_hour)..=b.min(last_hour) {
            bars[(hour - first_hour) as usize] += each + u64::from(((hour - a) as u64) < rest);
        }
    }
    bars
}

/// How many of the VPCs a region's flow logs cover have no network interface (nothing to
/// deliver), when that was read.
pub fn idle_vpcs(delivery: &RegionDelivery) -> Option<usize> {
    let busy = *delivery.vpcs_with_interfaces.as_ref().ok()?;
    let mut covered: Vec<&str> = delivery.flow_logs.iter().map(|f| f.resource_id.as_str()).collect();
    covered.sort_unstable();
    covered.dedup();
    Some(covered.len().saturating_sub(busy))
}

/// One statement that grants or denies the vendor role s3:GetObject on a bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct StatementLine {
    /// allows or denies.
    pub effect: &'static str,
    /// `inline policy P, statement Sid "X"`.
    pub statement: String,
    pub resource: String,
    pub conditional: bool,
}

/// Whether the vendor role can read one bucket, and through which statements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct BucketRead {
    pub bucket: String,
    /// allowed, conditional, denied or not-granted.
    pub readability: &'static str,
    pub status: CheckStatus,
    pub statements: Vec<StatementLine>,
}

/// A bucket's read access line from the evaluator's answer.
pub fn bucket_read(bucket: &str, readability: &Readability) -> BucketRead {
    let lines = |effect: &'static str, grants: &[Grant]| -> Vec<StatementLine> {
        grants
            .iter()
            .map(|g| StatementLine { effect, statement: g.statement.to_string(), resource: g.resource.clone(), conditional: g.conditional })
            .collect()
    };
    let (readability, status, statements) = match readability {
        Readability::Allowed { by } => ("allowed", CheckStatus::Pass, lines("allows", by)),
        Readability::Conditional { allowed_by, denied_by } => {
            let mut all = lines("allows", allowed_by);
            all.extend(lines("denies", denied_by));
            ("conditional", CheckStatus::Warn, all)
        }
        Readability::Denied { by } => ("denied", CheckStatus::Fail, lines("denies", by)),
        Readability::NotGranted => ("not-granted", CheckStatus::Fail, Vec::new()),
    };
    BucketRead { bucket: bucket.to_owned(), readability, status, statements }
}

/// The vendor role as an auditor sees it: who may assume it, whether only with the ExternalId,
/// and what it can read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct AccessEvidence {
    pub role: String,
    /// The AWS principals (accounts, roles) allowed to assume the role.
    pub trusted: Vec<String>,
    pub external_id_required: bool,
    /// Statements that let a principal assume the role without an ExternalId.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unguarded: Vec<String>,
    pub buckets: Vec<BucketRead>,
}

pub fn access_evidence(role: &str, trust: &TrustAssessment, buckets: Vec<BucketRead>) -> AccessEvidence {
    AccessEvidence {
        role: role.to_owned(),
        trusted: trust.principals.clone(),
        external_id_required: trust.requires_external_id,
        unguarded: trust.unguarded.clone(),
        buckets,
    }
}

/// The facts behind verify's checks that a report shows (and `--output json` carries under
/// `evidence`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct EvidenceFacts {
    pub bucket_tags: Vec<TagPair>,
    pub coverage: Vec<CoverageRow>,
    pub delivery: Vec<DeliveryRow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<AccessEvidence>,
}

/// About the run, for the report's header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunInfo {
    /// Unix seconds.
    pub generated_at: i64,
    pub version: String,
    /// The command line as typed (arguments joined by spaces, quoted where needed).
    pub command_line: String,
}

/// Everything a report shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    pub run: RunInfo,
    pub account: String,
    pub principal: String,
    pub bucket: String,
    pub since_secs: u64,
    pub status: CheckStatus,
    pub checks: Vec<Check>,
    pub facts: EvidenceFacts,
}

/// The region a check is about: the first word of its name that is one of `regions`.
pub fn check_region<'a>(name: &str, regions: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let regions: Vec<&str> = regions.into_iter().collect();
    name.split_whitespace().find(|word| regions.contains(word)).map(str::to_owned)
}

/// `2026-11-30 22:47:25 UTC`.
pub fn utc_text(unix: i64) -> String {
    let day = crate::layout::day_from_unix_days(unix.div_euclid(86_400));
    let secs = unix.rem_euclid(86_400);
    format!("{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC", day.year, day.month, day.day, secs / 3600, secs / 60 % 60, secs % 60)
}

#[cfg(test)]
mod tests;
