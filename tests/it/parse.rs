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

/// Zero padding after the last gzip member is not a cut; a cut object says how many records it
/// read before the cut (a small object is decompressed whole while its header is read: the count
/// used to be 0 there).
#[test]
fn zero_padding_is_whole_and_a_cut_counts_the_records_before_it() {
    let (text, totals) = synthetic(40, 5);
    let env = Env::shared();
    let mut padded = gzip(&text);
    padded.resize(padded.len() + 512, 0);
    let output = env.flowgate().args(["parse", "-", "--output", "json"]).write_stdin(padded).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(json_stdout(&output)["total"]["records"], totals.records);

    let compressed = gzip(&text);
    let cut = compressed[..compressed.len() - 4].to_vec();
    let output = env.flowgate().args(["parse", "-"]).write_stdin(cut).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.contains(&format!("ends early after {} records", totals.records)), "{err}");
}

/// `--top` writes an IPv6 destination bracketed, so its port is not read as one more group.
#[test]
fn top_talkers_bracket_ipv6_endpoints() {
    let header = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status tcp-flags\n";
    let object = format!(
        "{header}2 1 eni-1 2001:db8::2 2001:db8::1 40000 443 6 10 5000 1 2 ACCEPT OK 2\n2 1 eni-1 10.0.0.1 10.0.0.2 40000 80 6 1 100 1 2 ACCEPT OK 2\n"
    );
    let env = Env::shared();
    let output = env.flowgate().args(["parse", "-", "--top", "2"]).write_stdin(object).output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let out = stdout(&output);
    assert!(out.contains("2001:db8::2 -> [2001:db8::1]:443"), "{out}");
    assert!(out.contains("10.0.0.1 -> 10.0.0.2:80"), "{out}");
}

/// Totals that overflow a u64 say so, in text and JSON, instead of showing u64::MAX as a count.
#[test]
fn saturated_totals_say_so() {
    let header = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status tcp-flags\n";
    let max = u64::MAX;
    let object = format!(
        "{header}2 1 eni-1 10.0.0.1 10.0.0.2 40000 443 6 1 {max} 1 2 ACCEPT OK 2\n2 1 eni-1 10.0.0.1 10.0.0.2 40000 443 6 1 {max} 1 2 ACCEPT OK 2\n"
    );
    let env = Env::shared();
    let text = env.flowgate().args(["parse", "-", "--top", "1"]).write_stdin(object.clone()).output().unwrap();
    assert!(text.status.success(), "{}", stderr(&text));
    let out = stdout(&text);
    assert!(!out.contains(&max.to_string()), "u64::MAX is not a count: {out}");
    assert!(out.contains("at least 2^64 (saturated) bytes"), "{out}");
    assert!(out.contains("2 packets"), "{out}");

    let json = env.flowgate().args(["parse", "-", "--top", "1", "--output", "json"]).write_stdin(object).output().unwrap();
    let report = json_stdout(&json);
    assert_eq!(report["total"]["saturated"], serde_json::json!(["bytes"]), "{report}");
    assert_eq!(report["top_talkers"][0]["saturated"], serde_json::json!(["bytes"]), "{report}");
}
