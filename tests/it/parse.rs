//! `flowgate parse`: offline analysis of flow-log objects, and its handling of bad objects.

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use flowgate::core::flowlog_synth::{SynthSpec, write_records};

use crate::support::{Env, json_stdout, stderr, stdout};

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn synthetic(records: u64, seed: u64) -> (Vec<u8>, flowgate::core::flowlog_synth::SynthTotals) {
    let spec = SynthSpec { records, seed, ..SynthSpec::default() };
    let mut text = Vec::new();
    let totals = write_records(&spec, &mut text).unwrap();
    (text, totals)
}

#[test]
fn summarizes_generated_objects_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let (a, ta) = synthetic(5_000, 1);
    let (b, tb) = synthetic(3_000, 2);
    std::fs::write(dir.path().join("a.log.gz"), gzip(&a)).unwrap();
    std::fs::write(dir.path().join("b.log"), &b).unwrap();
    let env = Env::shared();
    let output = env
        .flowgate()
        .arg("parse")
        .arg(dir.path().join("a.log.gz"))
        .arg(dir.path().join("b.log"))
        .args(["--output", "json", "--top", "3"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let report = json_stdout(&output);
    assert_eq!(report["total"]["records"], ta.records + tb.records);
    assert_eq!(report["total"]["bytes"], ta.bytes + tb.bytes);
    assert_eq!(report["total"]["actions"]["reject"], ta.rejected + tb.rejected);
    assert_eq!(report["total"]["log_status"]["nodata"], ta.nodata + tb.nodata);
    assert_eq!(report["top_talkers"].as_array().unwrap().len(), 3);
}

#[test]
fn records_stream_as_json_lines_and_csv() {
    let (text, totals) = synthetic(200, 3);
    let env = Env::shared();
    let json = env.flowgate().args(["parse", "-", "--records", "json"]).write_stdin(text.clone()).output().unwrap();
    assert!(json.status.success(), "{}", stderr(&json));
    let lines: Vec<serde_json::Value> = stdout(&json).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len() as u64, totals.records);
    assert!(lines.iter().any(|r| r["log-status"] == "NODATA" && r["srcaddr"].is_null()));
    assert!(stderr(&json).contains("records"), "the summary goes to stderr");

    let csv = env.flowgate().args(["parse", "--records", "csv"]).write_stdin(gzip(&text)).output().unwrap();
    assert!(csv.status.success());
    let out = stdout(&csv);
    assert!(out.starts_with("version,account-id,interface-id,srcaddr"));
    assert_eq!(out.lines().count() as u64, totals.records + 1);
}

#[test]
fn bad_objects_fail_with_one_clear_line_and_exit_1() {
    let (text, _) = synthetic(2_000, 4);
    let compressed = gzip(&text);
    let header_only =
        b"version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status tcp-flags\n".to_vec();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "empty"),
        ("truncated", compressed[..compressed.len() / 2].to_vec(), "truncated"),
        ("not gzip, binary", vec![0u8, 159, 146, 150, 0, 1, 2, 3, 255, 254], "neither gzip nor"),
        ("no tcp-flags", b"version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n2 1 eni-1 - - - - - - - 1 2 - NODATA\n".to_vec(), "tcp-flags"),
        ("wrong field count", [header_only.clone(), b"2 1 eni-1 10.0.0.1\n".to_vec()].concat(), "expected 15 fields"),
    ];
    let env = Env::shared();
    for (name, bytes, expected) in cases {
        let output = env.flowgate().args(["parse", "-"]).write_stdin(bytes).output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{name}: {}", stderr(&output));
        let err = stderr(&output);
        let first = err.lines().next().unwrap_or("");
        assert!(first.starts_with("error: ") || name == "wrong field count", "{name}: {err}");
        assert!((err + &stdout(&output)).contains(expected), "{name}: expected {expected:?}");
    }
    let header = env.flowgate().args(["parse", "-"]).write_stdin(header_only).output().unwrap();
    assert!(header.status.success(), "a header-only object is a valid empty object");
    let missing = env.flowgate().args(["parse", "/nonexistent/object.log.gz"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(2));
}
