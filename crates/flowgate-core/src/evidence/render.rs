//! The report's two renderings. HTML goes through a minijinja template with HTML autoescaping
//! (every value from AWS, tags, names and policy text included, is escaped); CSV through the csv
//! crate (quoting).

use minijinja::{Environment, context};
use serde::Serialize;

use super::{Evidence, check_region, utc_text};
use crate::delivery::age;
use crate::report::CheckStatus;

const TEMPLATE_NAME: &str = "report.html";
const TEMPLATE: &str = include_str!("../../templates/report.html");
/// The organization's page (see `org.rs`), in the same style.
pub(super) const ORG_TEMPLATE_NAME: &str = "org_report.html";
const ORG_TEMPLATE: &str = include_str!("../../templates/org_report.html");
/// The stylesheet both pages include inline.
const STYLESHEET: &str = include_str!("../../templates/report.css");

/// The chart's drawing area, in SVG user units.
const CHART_WIDTH: f64 = 240.0;
const CHART_HEIGHT: f64 = 60.0;

/// The templates of every report page. Names ending in `.html` are HTML-autoescaped: every
/// value a template shows (from AWS, tags, names, policy text) is escaped.
pub(super) fn environment() -> Result<Environment<'static>, String> {
    let mut env = Environment::new();
    for (name, source) in [("report.css", STYLESHEET), (TEMPLATE_NAME, TEMPLATE), (ORG_TEMPLATE_NAME, ORG_TEMPLATE)] {
        env.add_template(name, source).map_err(|e| format!("the report template {name}: {e}"))?;
    }
    Ok(env)
}

fn label(status: CheckStatus) -> &'static str {
    match status {
        CheckStatus::Pass => "PASS",
        CheckStatus::Warn => "WARN",
        CheckStatus::Fail => "FAIL",
    }
}

pub(super) fn class(status: CheckStatus) -> &'static str {
    match status {
        CheckStatus::Pass => "pass",
        CheckStatus::Warn => "warn",
        CheckStatus::Fail => "fail",
    }
}

pub(super) fn verdict(status: CheckStatus) -> &'static str {
    match status {
        CheckStatus::Pass => "onboarded correctly",
        CheckStatus::Warn => "onboarded, with warnings",
        CheckStatus::Fail => "NOT onboarded correctly",
    }
}

#[derive(Serialize)]
pub(super) struct Status {
    label: &'static str,
    class: &'static str,
}

pub(super) fn status(s: CheckStatus) -> Status {
    Status { label: label(s), class: class(s) }
}

#[derive(Serialize)]
struct Bar {
    x: String,
    y: String,
    width: String,
    height: String,
    title: String,
}

#[derive(Serialize)]
struct Chart {
    width: f64,
    height: f64,
    max: u64,
    bars: Vec<Bar>,
    description: String,
}

/// Bars of records per hour, scaled to the chart (the tallest bar fills it).
fn chart(per_hour: &[u64], now: i64) -> Chart {
    let max = per_hour.iter().copied().max().unwrap_or(0);
    let n = per_hour.len().max(1) as f64;
    let slot = CHART_WIDTH / n;
    let hours = per_hour.len() as i64;
    let bars = per_hour
        .iter()
        .enumerate()
        .map(|(i, &records)| {
            let height = if max == 0 { 0.0 } else { CHART_HEIGHT * records as f64 / max as f64 };
            let hour_start = (now.div_euclid(3600) - (hours - 1 - i as i64)) * 3600;
            Bar {
                x: format!("{:.2}", i as f64 * slot),
                y: format!("{:.2}", CHART_HEIGHT - height),
                width: format!("{:.2}", (slot - 1.0).max(0.5)),
                height: format!("{height:.2}"),
                title: format!("{}: {records} records", utc_text(hour_start)),
            }
        })
        .collect();
    let total: u64 = per_hour.iter().sum();
    Chart {
        width: CHART_WIDTH,
        height: CHART_HEIGHT,
        max,
        bars,
        description: format!("{total} records over {} hour(s), at most {max} in one hour", per_hour.len()),
    }
}

/// The whole report as one self-contained HTML page (inline CSS, no script, nothing fetched).
pub fn render_html(evidence: &Evidence) -> Result<String, String> {
    let env = environment()?;
    let template = env.get_template(TEMPLATE_NAME).map_err(|e| format!("the report template: {e}"))?;
    let count = |s| evidence.checks.iter().filter(|c| c.status == s).count();
    let checks: Vec<_> = evidence
        .checks
        .iter()
        .map(|c| context! { name => c.name, status => status(c.status), detail => c.detail, fix => c.fix.clone().unwrap_or_default() })
        .collect();
    let coverage: Vec<_> = evidence
        .facts
        .coverage
        .iter()
        .map(|r| {
            context! {
                row => r,
                status => status(r.status),
                non_compliant_class => if r.non_compliant > 0 { "fail" } else { "pass" },
                missing_class => if r.missing > 0 { "fail" } else { "pass" },
                idle_text => r.idle.map(|n| n.to_string()).unwrap_or_else(|| "not read".to_owned()),
            }
        })
        .collect();
    let delivery: Vec<_> = evidence
        .facts
        .delivery
        .iter()
        .map(|d| {
            context! {
                row => d,
                age => d.newest_age_secs.map(age).unwrap_or_else(|| "none".to_owned()),
                chart => chart(&d.records_per_hour, evidence.run.generated_at),
            }
        })
        .collect();
    let access = evidence.facts.access.as_ref().map(|a| {
        context! {
            info => a,
            trust_status => status(if a.external_id_required { CheckStatus::Pass } else { CheckStatus::Fail }),
            buckets => a.buckets.iter().map(|b| context! { read => b, status => status(b.status) }).collect::<Vec<_>>(),
        }
    });
    template
        .render(context! {
            evidence => evidence,
            generated => utc_text(evidence.run.generated_at),
            generated_iso => iso_utc(evidence.run.generated_at),
            since => age(evidence.since_secs as i64),
            verdict => context! { status => status(evidence.status), text => verdict(evidence.status) },
            counts => context! { pass => count(CheckStatus::Pass), warn => count(CheckStatus::Warn), fail => count(CheckStatus::Fail) },
            checks => checks,
            coverage => coverage,
            delivery => delivery,
            access => access,
        })
        .map_err(|e| format!("rendering the report: {e}"))
}

/// `2026-11-30T22:47:25Z`, for `<time datetime>`.
pub(super) fn iso_utc(unix: i64) -> String {
    utc_text(unix).replace(' ', "T").replace("TUTC", "Z")
}

/// A spreadsheet reads a cell starting with `=`, `+`, `-`, `@` (or a tab/CR) as a formula; such a
/// value is prefixed with `'` so that it stays text (OWASP, "CSV Injection").
pub(super) fn cell(value: &str) -> String {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}"),
        _ => value.to_owned(),
    }
}

/// One row per check: account, region, check, status, reason, fix.
pub fn render_csv(evidence: &Evidence) -> Result<String, String> {
    let mut regions: Vec<&str> = evidence.facts.coverage.iter().map(|r| r.region.as_str()).collect();
    regions.extend(evidence.facts.delivery.iter().map(|r| r.region.as_str()));
    let mut writer = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| format!("writing the CSV report: {e}");
    writer.write_record(["account", "region", "check", "status", "reason", "fix"]).map_err(err)?;
    for check in &evidence.checks {
        let region = check_region(&check.name, regions.iter().copied()).unwrap_or_default();
        let row = [&evidence.account, &region, &check.name, class(check.status), &check.detail, check.fix.as_deref().unwrap_or("")];
        writer.write_record(row.map(cell)).map_err(err)?;
    }
    let bytes = writer.into_inner().map_err(|e| format!("writing the CSV report: {e}"))?;
    String::from_utf8(bytes).map_err(|e| format!("writing the CSV report: {e}"))
}
