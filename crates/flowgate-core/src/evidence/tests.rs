use std::collections::BTreeMap;

use super::*;
use crate::flowlog_plan::OtherFlowLog;
use crate::role_policy::{PolicySource, Scope, StatementRef};

const SCRIPT: &str = "<script>alert(\"x\")</script>";

fn vpc(id: &str, state: VpcState) -> VpcCoverage {
    VpcCoverage { vpc_id: id.to_owned(), is_default: false, state, other_flow_logs: Vec::<OtherFlowLog>::new() }
}

fn grant(sid: &str, resource: &str, conditional: bool) -> Grant {
    Grant {
        statement: StatementRef { policy: "vendor-read".to_owned(), source: PolicySource::Inline, sid: Some(sid.to_owned()), index: 0 },
        resource: resource.to_owned(),
        scope: Scope::AllObjects,
        conditional,
        actions: vec!["s3:GetObject".to_owned()],
        depends_on: Vec::new(),
    }
}

fn summary(records: u64, accept: u64, reject: u64, start: u64, end: u64) -> ObjectSummary {
    let mut s = ObjectSummary::default();
    s.records = records;
    s.actions.accept = accept;
    s.actions.reject = reject;
    s.first_start = Some(start);
    s.last_end = Some(end);
    s
}

/// A report with a `<script>` in a bucket tag and a VPC name, one check of each status.
fn evidence() -> Evidence {
    let names = BTreeMap::from([("vpc-1".to_owned(), SCRIPT.to_owned())]);
    let coverage = vec![
        coverage_row("us-east-1", None, &[vpc("vpc-1", VpcState::Compliant { flow_log_id: "fl-1".to_owned() })], &names, Some(0)),
        coverage_row(
            "eu-west-1",
            None,
            &[
                vpc("vpc-2", VpcState::Missing),
                vpc("vpc-3", VpcState::NonCompliant { flow_log_ids: vec!["fl-3".to_owned()], reasons: vec!["format lacks tcp-flags".to_owned()] }),
            ],
            &names,
            None,
        ),
    ];
    let now = 1_800_000_000;
    let objects = vec![DeliveredObject { key: "AWSLogs/1/vpcflowlogs/us-east-1/a.log.gz".to_owned(), last_modified: now - 300, size: 10 }];
    let read = summary(100, 90, 10, now as u64 - 1800, now as u64 - 600);
    Evidence {
        run: RunInfo { generated_at: now, version: "0.1.0".to_owned(), command_line: "flowgate verify --bucket b".to_owned() },
        account: "123456789012".to_owned(),
        principal: "arn:aws:iam::123456789012:user/a".to_owned(),
        bucket: "b".to_owned(),
        since_secs: 86_400,
        status: CheckStatus::Fail,
        checks: vec![
            Check::pass("identity", "account 123456789012"),
            Check::warn("objects us-east-1", "only Parquet objects: not parsed", "use --file-format plain-text"),
            Check::fail("flow logs eu-west-1", format!("vpc-2 missing, name {SCRIPT}"), "=HYPERLINK(\"http://x\")"),
        ],
        facts: EvidenceFacts {
            bucket_tags: vec![TagPair { key: "team".to_owned(), value: SCRIPT.to_owned() }],
            coverage,
            delivery: vec![delivery_row("us-east-1", &objects, &[&read], now, 86_400)],
            access: Some(AccessEvidence {
                role: "VendorRole".to_owned(),
                trusted: vec!["arn:aws:iam::111122223333:root".to_owned()],
                external_id_required: true,
                unguarded: Vec::new(),
                buckets: vec![bucket_read("b", &Readability::Allowed { by: vec![grant("FlowgateRead", "arn:aws:s3:::b/*", false)] })],
            }),
        },
    }
}

#[test]
fn format_follows_the_extension() {
    assert_eq!(report_format("out.html"), Ok(ReportFormat::Html));
    assert_eq!(report_format("dir/Out.HTML"), Ok(ReportFormat::Html));
    assert_eq!(report_format("a.b.csv"), Ok(ReportFormat::Csv));
    assert_eq!(report_format("x.CsV"), Ok(ReportFormat::Csv));
    for bad in ["out.htm", "out.json", "out", ".html", "dir/.csv", "out.html.txt", ""] {
        let error = report_format(bad).unwrap_err();
        assert!(error.contains("FILE.html or FILE.csv") && !error.contains('\n'), "{bad}: {error}");
    }
}

#[test]
fn coverage_row_counts_and_explains_each_vpc() {
    let names = BTreeMap::from([("vpc-2".to_owned(), "prod".to_owned())]);
    let row = coverage_row(
        "eu-west-1",
        None,
        &[
            vpc("vpc-1", VpcState::Compliant { flow_log_id: "fl-1".to_owned() }),
            vpc("vpc-2", VpcState::NonCompliant { flow_log_ids: vec![], reasons: vec!["a".to_owned(), "b".to_owned()] }),
            vpc("vpc-3", VpcState::Missing),
            vpc("vpc-4", VpcState::Shared { owner_id: "999".to_owned() }),
        ],
        &names,
        Some(1),
    );
    assert_eq!((row.vpcs, row.compliant, row.non_compliant, row.missing, row.shared, row.idle), (4, 1, 1, 1, 1, Some(1)));
    assert_eq!(row.status, CheckStatus::Fail);
    assert_eq!(row.vpc_details[1].name.as_deref(), Some("prod"));
    assert_eq!(row.vpc_details[1].reason, "a; b");
    assert!(row.vpc_details[3].reason.contains("999"));
    let ok = coverage_row("us-east-1", None, &[vpc("vpc-4", VpcState::Shared { owner_id: "9".to_owned() })], &names, None);
    assert_eq!(ok.status, CheckStatus::Pass);
    let failed = coverage_row("us-east-1", Some("AccessDenied"), &[], &names, None);
    assert_eq!(failed.status, CheckStatus::Fail);
}

#[test]
fn records_per_hour_spreads_spans_and_keeps_the_window() {
    let now = 100 * 3600 + 1800; // half past hour 100
    // One span inside hour 99: all to the bar before the last.
    assert_eq!(records_per_hour(&[(99 * 3600 + 10, 99 * 3600 + 70, 7)], now, 3 * 3600), vec![0, 7, 0]);
    // Over hours 98..=100: 10 = 4 + 3 + 3.
    assert_eq!(records_per_hour(&[(98 * 3600, 100 * 3600 + 5, 10)], now, 3 * 3600), vec![4, 3, 3]);
    // Half outside the window: only the hours inside count (hours 97 and 98 of 97..=98, window 98..=100).
    assert_eq!(records_per_hour(&[(97 * 3600, 98 * 3600, 10)], now, 3 * 3600), vec![5, 0, 0]);
    // Entirely outside, and reversed times.
    assert_eq!(records_per_hour(&[(10, 20, 5), (100 * 3600 + 9, 100 * 3600 + 1, 2)], now, 3 * 3600), vec![0, 0, 2]);
    // 24 h gives 24 bars; a week caps the bars.
    assert_eq!(records_per_hour(&[], now, 86_400).len(), 24);
    assert_eq!(records_per_hour(&[], now, 30 * 86_400).len(), 168);
    assert_eq!(records_per_hour(&[], now, 0).len(), 1);
}

#[test]
fn delivery_row_sums_what_was_read() {
    let now = 1_000_000;
    let objects = vec![
        DeliveredObject { key: "old".to_owned(), last_modified: now - 900, size: 1 },
        DeliveredObject { key: "new".to_owned(), last_modified: now - 60, size: 1 },
    ];
    let (a, b) = (summary(10, 6, 4, 999_000, 999_100), summary(5, 5, 0, 999_500, 999_600));
    let row = delivery_row("us-east-1", &objects, &[&a, &b], now, 3600);
    assert_eq!((row.objects, row.objects_read, row.records, row.accept, row.reject), (2, 2, 15, 11, 4));
    assert_eq!((row.newest_key.as_deref(), row.newest_age_secs), (Some("new"), Some(60)));
    assert_eq!(row.records_per_hour.iter().sum::<u64>(), 15);
    let empty = delivery_row("us-east-1", &[], &[], now, 3600);
    assert_eq!((empty.newest_key, empty.records), (None, 0));
}

#[test]
fn bucket_read_names_the_statements() {
    let read = bucket_read(
        "b",
        &Readability::Conditional { allowed_by: vec![grant("A", "arn:aws:s3:::b/*", true)], denied_by: vec![grant("D", "*", true)] },
    );
    assert_eq!((read.readability, read.status), ("conditional", CheckStatus::Warn));
    assert_eq!(read.statements.iter().map(|s| s.effect).collect::<Vec<_>>(), ["allows", "denies"]);
    assert!(read.statements[0].statement.contains("Sid \"A\""));
    let denied = bucket_read("b", &Readability::Denied { by: vec![grant("D", "*", false)] });
    assert_eq!((denied.readability, denied.status), ("denied", CheckStatus::Fail));
    assert_eq!(bucket_read("b", &Readability::NotGranted).statements.len(), 0);
}

#[test]
fn small_helpers() {
    assert_eq!(check_region("object eu-west-1 x.log.gz", ["us-east-1", "eu-west-1"]).as_deref(), Some("eu-west-1"));
    assert_eq!(check_region("bucket encryption", ["us-east-1"]), None);
    assert_eq!(utc_text(0), "1970-01-01 00:00:00 UTC");
    assert_eq!(utc_text(1_800_000_000), "2027-01-15 08:00:00 UTC");
}

#[test]
fn html_escapes_every_value_from_aws() {
    let html = render_html(&evidence()).unwrap();
    assert!(!html.to_lowercase().contains("<script"), "an unescaped <script> in:\n{html}");
    let escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;&#x2f;script&gt;";
    assert!(html.contains(&format!("team={escaped}")), "the bucket tag, escaped");
    assert!(html.contains(&format!("<td class=\"vpc-name\">{escaped}</td>")), "the VPC name, escaped");
}

#[test]
fn html_is_self_contained_and_complete() {
    let e = evidence();
    let html = render_html(&e).unwrap();
    let lower = html.to_lowercase();
    for external in ["<script", "<link", "src=", "href=", "@import", "url(", "http://", "https://"] {
        // The SVG namespace is an identifier, never fetched.
        let count =
            lower.matches(external).count() - lower.matches("xmlns=\"http://www.w3.org/2000/svg\"").count() * usize::from(external == "http://");
        assert_eq!(count, 0, "{external} in the report");
    }
    assert!(html.contains("<span class=\"status fail\">FAIL</span> NOT onboarded correctly: 1 passed, 1 warnings, 1 failed"));
    assert_eq!(html.matches("<tr class=\"check\"").count(), e.checks.len());
    for check in &e.checks {
        assert!(html.contains(&format!("<th scope=\"row\">{}</th>", check.name)), "{}", check.name);
    }
    // The matrix: a cell per count, a failing cell marked by class and shown as text.
    assert!(html.contains("<td class=\"num cell-fail\" data-cell=\"missing\">1</td>"));
    assert!(html.contains("<td class=\"num\" data-cell=\"idle\">not read</td>"));
    assert!(html.contains("<th scope=\"col\">Non-compliant</th>"));
    assert!(html.contains("format lacks tcp-flags"));
    // Delivery: 100 records in the hour 30 to 10 minutes before the run, ACCEPT/REJECT, 24 bars.
    assert_eq!(html.matches("<rect class=\"bar\"").count(), 24);
    assert!(html.contains("100 records over 24 hour(s)"));
    assert!(html.contains("<td class=\"num\">90</td>") && html.contains("<td class=\"num\">10</td>"));
    // Access: trust and the granting statement.
    assert!(html.contains("arn:aws:iam::111122223333:root"));
    assert!(html.contains("allows: inline policy vendor-read, statement Sid &quot;FlowgateRead&quot;"));
    assert!(html.contains("flowgate verify --bucket b"));
    assert!(html.contains("<time datetime=\"2027-01-15T08:00:00Z\">2027-01-15 08:00:00 UTC</time>"));
}

#[test]
fn csv_has_one_row_per_check() {
    let e = evidence();
    let text = render_csv(&e).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), ["account", "region", "check", "status", "reason", "fix"]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), e.checks.len());
    assert_eq!(&rows[0].iter().collect::<Vec<_>>(), &["123456789012", "", "identity", "pass", "account 123456789012", ""]);
    assert_eq!(&rows[1][1], "us-east-1");
    assert_eq!(&rows[1][3], "warn");
    assert_eq!(&rows[2][1], "eu-west-1");
    assert_eq!(&rows[2][3], "fail");
    // Text stays text: the <script> as it is, a formula made inert.
    assert_eq!(&rows[2][4], &format!("vpc-2 missing, name {SCRIPT}"));
    assert_eq!(&rows[2][5], "'=HYPERLINK(\"http://x\")");
}

#[test]
fn idle_counts_covered_vpcs_without_interfaces() {
    use crate::flowlog_plan::ExistingFlowLog;
    let flow_log = |id: &str, vpc: &str| ExistingFlowLog { id: id.to_owned(), resource_id: vpc.to_owned(), ..ExistingFlowLog::default() };
    let delivery = |interfaces| RegionDelivery {
        region: "us-east-1".to_owned(),
        flow_logs: vec![flow_log("fl-1", "vpc-1"), flow_log("fl-2", "vpc-1"), flow_log("fl-3", "vpc-2")],
        vpcs_with_interfaces: interfaces,
        objects: Vec::new(),
        ignored: 0,
        before_failure: 0,
    };
    assert_eq!(idle_vpcs(&delivery(Ok(1))), Some(1));
    assert_eq!(idle_vpcs(&delivery(Ok(0))), Some(2));
    assert_eq!(idle_vpcs(&delivery(Err("denied".to_owned()))), None);
}

proptest::proptest! {
    /// Whatever AWS returns in a tag, a VPC name or a check's text: the HTML shows it escaped in
    /// its cell (never as markup), and the CSV gives it back as it was (a formula-looking cell gains one leading `'`).
    #[test]
    fn any_value_is_escaped_in_html_and_kept_in_csv(value in "\\PC{0,40}", tag in "[<>&\"'a-z =+@-]{0,20}") {
        let mut e = evidence();
        e.facts.bucket_tags = vec![TagPair { key: "k".to_owned(), value: tag.clone() }];
        e.facts.coverage[0].vpc_details[0].name = Some(value.clone());
        e.checks[0].detail = value.clone();
        let html = render_html(&e).unwrap();
        // Shown escaped where it belongs (HTML escaping of &, <, >, ", ' and /).
        let escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#x27;").replace('/', "&#x2f;");
        let name_cell = format!("<td class=\"vpc-name\">{}</td>", escape(&value));
        let tag_cell = format!("<code class=\"tag\">k={}</code>", escape(&tag));
        proptest::prop_assert!(html.contains(&name_cell), "{}", name_cell);
        proptest::prop_assert!(html.contains(&tag_cell), "{}", tag_cell);
        let text = render_csv(&e).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let first = reader.records().next().unwrap().unwrap();
        let expected = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{value}") } else { value.clone() };
        proptest::prop_assert_eq!(&first[4], expected.as_str());
    }
}
