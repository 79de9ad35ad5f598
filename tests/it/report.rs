//! `verify --report FILE.html|.csv`: the evidence document, written next to the normal output
//! (also when verify fails), escaped, and checked as a person would see it, in headless Chromium.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Tag, Tagging};
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::Value;

use flowgate::core::flowlog_synth::{SynthSpec, write_records};
use flowgate::core::layout::{KeyLayout, object_key};

use crate::support::{ACCOUNT, Env, block_on, json_stdout, stderr, stdout};

const BUCKET: &str = "flowgate-report-logs";
const REGIONS: &str = "us-east-1,eu-west-1";
const SCRIPT: &str = "<script>alert(1)</script>";
/// The same, as the HTML shows it (minijinja's HTML escaping).
const SCRIPT_ESCAPED: &str = "&lt;script&gt;alert(1)&lt;&#x2f;script&gt;";

fn onboarded() -> Env {
    Env::onboarded(BUCKET, REGIONS)
}

/// A `<script>` in a tag of the bucket and in the `Name` of us-east-1's default VPC.
fn hostile_names(env: &Env) {
    let s3 = env.s3("us-east-1");
    let mut tags: Vec<Tag> = block_on(s3.get_bucket_tagging().bucket(BUCKET).send()).map(|t| t.tag_set().to_vec()).unwrap_or_default();
    tags.push(Tag::builder().key("owner").value(SCRIPT).build().unwrap());
    block_on(s3.put_bucket_tagging().bucket(BUCKET).tagging(Tagging::builder().set_tag_set(Some(tags)).build().unwrap()).send()).unwrap();
    let ec2 = env.ec2("us-east-1");
    let vpcs = block_on(ec2.describe_vpcs().send()).unwrap();
    let vpc = vpcs.vpcs().iter().find(|v| v.is_default() == Some(true)).and_then(|v| v.vpc_id()).unwrap().to_owned();
    let name = aws_sdk_ec2::types::Tag::builder().key("Name").value(SCRIPT).build();
    block_on(ec2.create_tags().resources(vpc).tags(name).send()).unwrap();
}

/// An object as flowgate's flow log in `region` writes it; `hash` ends its name.
fn upload(env: &Env, region: &str, hash: &str, seed: u64) -> String {
    let flow_log = env.flow_log_id(region);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let key = object_key(None, ACCOUNT, region, &flow_log, now, KeyLayout { hive: false, per_hour: false }, hash);
    let mut text = Vec::new();
    // Records of the last two hours, as a real delivery holds: the chart shows them.
    write_records(&SynthSpec { records: 300, seed, start_time: now - 7200, duration: 3600, ..SynthSpec::default() }, &mut text).unwrap();
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(&text).unwrap();
    block_on(env.s3("us-east-1").put_object().bucket(BUCKET).key(&key).body(ByteStream::from(gz.finish().unwrap())).send()).unwrap();
    key
}

fn verify(env: &Env, extra: &[&str]) -> Output {
    env.flowgate().args(["verify", "--bucket", BUCKET, "--regions", REGIONS]).args(extra).output().unwrap()
}

/// verify --output json --report PATH: the JSON (the checks to compare the report with) of the
/// run that wrote the report.
fn verify_with_report(env: &Env, path: &Path) -> (Output, Value) {
    let out = verify(env, &["--output", "json", "--report", path.to_str().unwrap()]);
    assert!(stderr(&out).contains(&format!("report written to {}", path.display())), "{}", stderr(&out));
    let json = json_stdout(&out);
    (out, json)
}

fn check_names(json: &Value) -> Vec<String> {
    json["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect()
}

/// The header and the rows of a CSV report (also the organization's, tests/it/org.rs).
pub(crate) fn csv_rows(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(str::to_owned).collect();
    // Parsed the way a spreadsheet does: quoted fields may hold commas and quotes.
    let rows = text.lines().skip(1).map(split_csv_line).collect();
    (header, rows)
}

fn split_csv_line(line: &str) -> Vec<String> {
    let (mut fields, mut field, mut quoted, mut chars) = (Vec::new(), String::new(), false, line.chars().peekable());
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// Debian's `chromium`, which scripts/setup-emulator installs.
fn chromium() -> PathBuf {
    for candidate in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(candidate).exists() {
            return PathBuf::from(candidate);
        }
    }
    panic!("headless Chromium is not installed (looked for /usr/bin/chromium): run scripts/setup-emulator, which installs Debian's chromium");
}

/// Runs headless Chromium on `file` with `args`, killed after a minute.
pub(crate) fn run_chromium(file: &Path, args: &[String]) -> Output {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(chromium())
        // Root (CI containers) cannot use Chromium's sandbox.
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--hide-scrollbars"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", file.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("chromium did not finish within a minute");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// Chromium's layout unit is 1/64 px: a table as wide as its column ends on the column's edge.
const LAYOUT_UNIT: f64 = 1.0 / 64.0;

/// How far each table (the table itself or anything in it) reaches past the page column's right
/// edge (the main column and the verdict banner above it), in px, in a window `width` px wide.
/// Measured in Chromium's own layout: a copy of the report (the report itself has no script)
/// gets a small script that writes the edges into the DOM, which --dump-dom prints.
fn table_overflows(report: &Path, width: u32) -> Vec<(String, f64)> {
    const MEASURE: &str = r#"<script>
const right = e => e.getBoundingClientRect().right;
const column = Math.min(right(document.querySelector('main')), right(document.getElementById('verdict')));
const reach = t => Math.max(right(t), ...[...t.querySelectorAll('*')].map(right));
const out = document.createElement('pre');
out.id = 'layout';
out.textContent = [...document.querySelectorAll('table')].map(t => t.id + ' ' + (reach(t) - column)).join('\n');
document.body.appendChild(out);
</script></body>"#;
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("measured.html");
    std::fs::write(&copy, std::fs::read_to_string(report).unwrap().replace("</body>", MEASURE)).unwrap();
    let dom = run_chromium(&copy, &["--dump-dom".to_owned(), format!("--window-size={width},1600")]);
    assert!(dom.status.success(), "chromium --dump-dom: {}", String::from_utf8_lossy(&dom.stderr));
    let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
    let layout = dom.split("<pre id=\"layout\">").nth(1).and_then(|rest| rest.split("</pre>").next()).expect("the measuring script ran");
    let overflows: Vec<(String, f64)> = layout
        .lines()
        .map(|line| {
            let (id, px) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
            (id.to_owned(), px.parse().unwrap_or_else(|_| panic!("{line}")))
        })
        .collect();
    // Each report has its table of checks: the account's, or the organization's matrix.
    assert!(overflows.iter().any(|(id, _)| id == "checks-table" || id == "matrix"), "{layout}");
    overflows
}

/// At a 1200 px wide window every table fits the page column: long object names, keys and fixes
/// wrap inside their cells (the Checks and Delivery tables used to reach past the banner).
pub(crate) fn assert_tables_fit(report: &Path) {
    let overflowing: Vec<(String, f64)> = table_overflows(report, 1200).into_iter().filter(|(_, px)| *px > LAYOUT_UNIT).collect();
    assert!(overflowing.is_empty(), "tables past the page column (px): {overflowing:?}");
}

#[test]
fn a_passing_report_escapes_aws_values_and_reads_right_in_a_browser() {
    let env = onboarded();
    hostile_names(&env);
    upload(&env, "us-east-1", "aaaa1111", 1);
    upload(&env, "eu-west-1", "bbbb2222", 2);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("evidence.html");
    let (out, json) = verify_with_report(&env, &path);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(json["status"], "pass");
    // The normal output is unchanged by --report (but for the objects' ages, in seconds).
    let ageless = |o: &Output| stdout(o).replace(|c: char| c.is_ascii_digit(), "#");
    let other = dir.path().join("text.html");
    assert_eq!(ageless(&verify(&env, &["--report", other.to_str().unwrap()])), ageless(&verify(&env, &[])));
    std::fs::remove_file(other).unwrap();
    let html = std::fs::read_to_string(&path).unwrap();
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left next to the report");

    // Escaped: the tag and the VPC name are shown, never run.
    assert!(!html.to_lowercase().contains("<script"), "an unescaped <script>");
    assert!(html.contains(&format!("owner={SCRIPT_ESCAPED}")), "the bucket tag, escaped");
    assert!(html.contains(&format!("<td class=\"vpc-name\">{SCRIPT_ESCAPED}</td>")), "the VPC name, escaped");
    // The JSON carries the same facts.
    assert!(json["evidence"]["bucket_tags"].as_array().unwrap().iter().any(|t| t["value"] == SCRIPT), "{:#}", json["evidence"]);
    assert_eq!(json["evidence"]["delivery"].as_array().unwrap().len(), 2);
    assert_eq!(json["evidence"]["access"]["external_id_required"], true);

    // As a person sees it: Chromium's DOM after loading the file.
    let dom = run_chromium(&path, &["--dump-dom".to_owned()]);
    assert!(dom.status.success(), "chromium --dump-dom: {}", String::from_utf8_lossy(&dom.stderr));
    let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
    assert!(dom.contains("class=\"verdict pass\""), "the verdict: {dom}");
    assert!(dom.contains(">PASS</span> onboarded correctly:"), "the verdict's text label");
    assert!(!dom.contains("<script"), "the browser built no script element");
    let names = check_names(&json);
    assert_eq!(dom.matches("<tr class=\"check\"").count(), names.len(), "one row per check");
    for name in &names {
        assert!(dom.contains(&format!("<th scope=\"row\">{name}</th>")), "the row of check {name}");
    }
    for region in ["us-east-1", "eu-west-1"] {
        assert!(dom.contains(&format!("<tr data-region=\"{region}\">")), "the matrix row of {region}");
    }
    assert_eq!(dom.matches("data-cell=\"compliant\">1</td>").count(), 2, "one compliant VPC per region");
    assert_eq!(dom.matches("data-cell=\"missing\">0</td>").count(), 2);
    assert_eq!(dom.matches("data-cell=\"idle\">1</td>").count(), 2, "the emulator's default VPCs have no interface");
    assert_eq!(dom.matches("300 records over 24 hour(s)").count(), 4, "each region's chart, described (aria-label, title)");
    assert_eq!(dom.matches("<rect class=\"bar\"").count(), 2 * 24, "a bar per hour of --since, per region");
    assert_tables_fit(&path);

    // And a screenshot: a non-empty PNG.
    let png = dir.path().join("shot.png");
    let shot = run_chromium(&path, &[format!("--screenshot={}", png.display()), "--window-size=1200,1600".to_owned()]);
    assert!(shot.status.success(), "chromium --screenshot: {}", String::from_utf8_lossy(&shot.stderr));
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.len() > 10_000 && bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG of {} bytes", bytes.len());
}

/// The CSV: one row per check with the columns GRC tools import; an AWS value (an object's name
/// with `<script>`) is kept as it is, quoted where needed.
#[test]
fn csv_has_the_columns_and_a_row_per_check() {
    let env = onboarded();
    // (an object name has no `/`: `</script>` would make another folder)
    upload(&env, "us-east-1", "x<script>,\"y", 3);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Evidence.CSV");
    let (out, json) = verify_with_report(&env, &path);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let (header, rows) = csv_rows(&path);
    assert_eq!(header, ["account", "region", "check", "status", "reason", "fix"]);
    let names = check_names(&json);
    assert_eq!(rows.iter().map(|r| r[2].clone()).collect::<Vec<_>>(), names);
    for (row, check) in rows.iter().zip(json["checks"].as_array().unwrap()) {
        assert_eq!(row.len(), 6, "{row:?}");
        assert_eq!(row[0], ACCOUNT);
        assert_eq!(row[3], check["status"].as_str().unwrap());
        assert_eq!(row[4], check["detail"].as_str().unwrap());
        assert_eq!(row[5], check["fix"].as_str().unwrap_or(""));
    }
    let object = rows.iter().find(|r| r[2].starts_with("object ")).expect("the object's check");
    assert!(object[2].ends_with("x<script>,\"y.log.gz"), "{object:?}");
    assert_eq!(object[1], "us-east-1");
    assert!(rows.iter().any(|r| r[2] == "flow logs eu-west-1" && r[1] == "eu-west-1"));
    assert!(rows.iter().any(|r| r[2] == "access read" && r[1].is_empty()));
}

/// Nothing delivered yet, flow logs just created: a warning, and the report says so.
#[test]
fn a_report_with_warnings() {
    let env = onboarded();
    let dir = tempfile::tempdir().unwrap();
    let (html, csv) = (dir.path().join("w.html"), dir.path().join("w.csv"));
    let (out, json) = verify_with_report(&env, &html);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(json["status"], "warn");
    let text = std::fs::read_to_string(&html).unwrap();
    assert!(text.contains("class=\"verdict warn\"") && text.contains(">WARN</span> onboarded, with warnings:"));
    assert!(text.contains("<tr class=\"check\" data-status=\"warn\">\n<th scope=\"row\">delivery</th>"), "{text}");
    verify_with_report(&env, &csv);
    let (_, rows) = csv_rows(&csv);
    let delivery = rows.iter().find(|r| r[2] == "delivery").unwrap();
    assert_eq!(delivery[3], "warn");
    assert!(delivery[4].contains("pending"), "{delivery:?}");
}

/// verify exits 1, and the report is written anyway: it is the evidence of the failure. With
/// --output json, stdout stays one JSON document.
#[test]
fn a_failing_verify_still_writes_its_report() {
    let env = onboarded();
    upload(&env, "us-east-1", "cccc3333", 4);
    let revoked = env.flowgate().args(["access", "revoke", "--bucket", BUCKET, "--yes", "-q"]).output().unwrap();
    assert!(revoked.status.success(), "{}", stderr(&revoked));
    let dir = tempfile::tempdir().unwrap();
    let (html, csv) = (dir.path().join("fail.html"), dir.path().join("fail.csv"));
    let out = verify(&env, &["--report", html.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = std::fs::read_to_string(&html).unwrap();
    assert!(text.contains("class=\"verdict fail\"") && text.contains(">FAIL</span> NOT onboarded correctly:"));
    assert!(text.contains(">not-granted</span>"), "the bucket's read access");
    // The Fix column filled, in the page column too.
    assert!(text.contains("<td><code>flowgate access grant --bucket"), "a fix shown");
    assert_tables_fit(&html);
    let out = verify(&env, &["--report", csv.to_str().unwrap(), "--output", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let json = json_stdout(&out);
    assert_eq!(json["status"], "fail");
    assert_eq!(json["evidence"]["access"]["buckets"][0]["readability"], "not-granted");
    let (_, rows) = csv_rows(&csv);
    let read = rows.iter().find(|r| r[2] == "access read").unwrap();
    assert_eq!(read[3], "fail");
    assert!(read[5].starts_with("flowgate access grant --bucket"), "{read:?}");
}

/// An extension that is neither .html nor .csv: exit 2 with the two formats named, before any
/// AWS call, and no file.
#[test]
fn an_unknown_extension_is_refused_before_any_call() {
    let env = Env::shared();
    let dir = tempfile::tempdir().unwrap();
    for name in ["report.pdf", "report.htm", "report", "report.json"] {
        let path = dir.path().join(name);
        let out = verify(&env, &["--report", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let first = stderr(&out).lines().next().unwrap_or("").to_owned();
        assert!(first.starts_with("error: ") && first.contains("FILE.html or FILE.csv"), "{name}: {first}");
        assert!(!path.exists());
    }
    // A folder that does not exist is known before verify runs, too.
    let missing = dir.path().join("no-such-folder").join("r.html");
    let out = verify(&env, &["--report", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let first = stderr(&out).lines().next().unwrap_or("").to_owned();
    assert!(first.starts_with("error: ") && first.contains("does not exist"), "{first}");
    assert!(env.proxy.requests().is_empty(), "validation must happen before any AWS call: {:?}", env.proxy.requests());
}
