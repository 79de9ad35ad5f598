//! The published JSON Schemas of `--output json` (schemas/, `flowgate schema`): the checked-in
//! files are what the report types generate, the JSON snapshots match them, and the strict check
//! every run goes through (support/schemas.rs) refuses a field a schema does not describe.

use std::ffi::OsString;
use std::path::Path;

use serde_json::{Value, json};

use flowgate::commands::schema::DOCUMENTS;

use crate::support::schemas::{REGENERATE, assert_valid, check_stdout, dir, strict_validator};
use crate::support::{Flowgate, stderr, stdout};

/// schemas/ holds exactly the generated schemas. With FLOWGATE_UPDATE_SCHEMAS=1 it is rewritten
/// instead (the command in [`REGENERATE`]): after a report type changed, review `git diff schemas/`.
#[test]
fn checked_in_schemas_match_the_report_types() {
    let update = std::env::var_os("FLOWGATE_UPDATE_SCHEMAS").is_some_and(|v| v == "1");
    if update {
        std::fs::create_dir_all(dir()).unwrap();
    }
    let mut stale = Vec::new();
    for document in DOCUMENTS {
        let path = dir().join(format!("{}.json", document.name));
        let generated = document.file_text();
        if std::fs::read_to_string(&path).ok().as_deref() == Some(generated.as_str()) {
            continue;
        }
        if update {
            std::fs::write(&path, generated).unwrap();
        } else {
            stale.push(format!("schemas/{}.json differs from its report type", document.name));
        }
    }
    for entry in std::fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
        if DOCUMENTS.iter().all(|d| d.name != name) {
            if update {
                std::fs::remove_file(&path).unwrap();
            } else {
                stale.push(format!("{} is no document's schema", path.display()));
            }
        }
    }
    assert!(stale.is_empty(), "schemas/ is out of date:\n  {}\nregenerate it: {REGENERATE}", stale.join("\n  "));
}

/// Placeholders the snapshot filters put where the JSON had a number, back as numbers.
fn with_numbers(stdout: &str) -> String {
    stdout.replace("[EPOCH]", "1750000000").replace("\"[DURATION]\"", "0")
}

/// Every JSON document recorded under tests/it/snapshots/ matches the schema of its command line.
#[test]
fn json_snapshots_match_their_schemas() {
    let snapshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/snapshots");
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(&snapshots).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let Some(line) = text.lines().find_map(|l| l.strip_prefix("$ flowgate ")) else { continue };
        if !line.contains("--output json") {
            continue;
        }
        let (_, after) = text.split_once("----- stdout -----\n").unwrap();
        let (printed, _) = after.split_once("\n----- stderr -----").unwrap();
        let args: Vec<OsString> = std::iter::once("flowgate").chain(line.split(' ')).map(OsString::from).collect();
        let schema = check_stdout(&args, with_numbers(printed).as_bytes());
        assert!(schema.is_some(), "{}: no schema was checked for `flowgate {line}`", path.display());
        checked.push(path);
    }
    assert!(checked.len() >= 9, "only {} JSON snapshots found: {checked:?}", checked.len());
}

/// The strict check finds a field no schema describes, at the top and inside a list.
#[test]
fn a_field_the_schema_does_not_describe_is_refused() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/snapshots/it__snapshots__bucket_check_json.snap");
    let text = std::fs::read_to_string(path).unwrap();
    let printed = text.split_once("----- stdout -----\n").unwrap().1.split_once("\n----- stderr -----").unwrap().0;
    let report: Value = serde_json::from_str(printed).unwrap();
    assert_valid("bucket-check", &report, "the recorded bucket check");
    let validator = strict_validator(serde_json::from_str(&DOCUMENTS.iter().find(|d| d.name == "bucket-check").unwrap().file_text()).unwrap());
    let mut extra_at_top = report.clone();
    extra_at_top["undeclared"] = json!(1);
    assert!(!validator.is_valid(&extra_at_top));
    let mut extra_in_a_check = report;
    extra_in_a_check["checks"][0]["undeclared"] = json!("x");
    assert!(!validator.is_valid(&extra_in_a_check));
}

/// A flattened enum's variant (an org account's `decision`) adds its own fields to the object
/// around it: those are described, others are refused.
#[test]
fn a_flattened_variant_closes_with_the_object_around_it() {
    let schema = json!({
        "type": "object",
        "properties": { "id": { "type": "string" } },
        "required": ["id"],
        "oneOf": [
            { "type": "object", "properties": { "decision": { "const": "in-scope" }, "placement": { "type": "string" } } },
            { "type": "object", "properties": { "decision": { "const": "skipped" }, "reason": { "type": "string" } } },
        ],
    });
    let validator = strict_validator(schema);
    assert!(validator.is_valid(&json!({ "id": "1", "decision": "in-scope", "placement": "member" })));
    assert!(validator.is_valid(&json!({ "id": "1", "decision": "skipped", "reason": "SUSPENDED" })));
    assert!(!validator.is_valid(&json!({ "id": "1", "decision": "skipped", "reason": "SUSPENDED", "placement": "member" })));
    assert!(!validator.is_valid(&json!({ "id": "1", "decision": "in-scope", "placement": "member", "undeclared": true })));
}

/// flowgate with no AWS configuration: `schema` makes no AWS call.
fn flowgate() -> Flowgate {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("flowgate"));
    cmd.env("NO_COLOR", "1");
    Flowgate::from_std(cmd)
}

#[test]
fn schema_command_prints_the_checked_in_files() {
    for document in DOCUMENTS {
        let out = flowgate().args(["schema", document.name]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}: {}", document.name, stderr(&out));
        let checked_in = std::fs::read_to_string(dir().join(format!("{}.json", document.name))).unwrap();
        assert_eq!(stdout(&out), checked_in, "flowgate schema {} differs from schemas/ ({REGENERATE})", document.name);
    }
    // The words of a command name it too.
    let words = flowgate().args(["schema", "flowlogs", "enable"]).output().unwrap();
    assert_eq!(stdout(&words), std::fs::read_to_string(dir().join("flowlogs-enable.json")).unwrap());
}

#[test]
fn schema_command_lists_the_names_and_refuses_others() {
    let names: Vec<&str> = DOCUMENTS.iter().map(|d| d.name).collect();
    for args in [&["schema"][..], &["schema", "--list"]] {
        let out = flowgate().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert_eq!(stdout(&out).lines().collect::<Vec<_>>(), names, "{args:?}");
    }
    let json = flowgate().args(["schema", "--list", "--output", "json"]).output().unwrap();
    assert_eq!(serde_json::from_slice::<Vec<String>>(&json.stdout).unwrap(), names);

    let unknown = flowgate().args(["schema", "flowlogs"]).output().unwrap();
    assert_eq!(unknown.status.code(), Some(2));
    let err = stderr(&unknown);
    assert!(err.contains("'flowlogs' is not a document") && err.contains("hint: use one of: bucket-create, "), "{err}");
    assert!(err.contains("flowlogs-enable") && err.contains(", error"), "{err}");
    // As the one error document in JSON mode (checked against schemas/error.json by the harness).
    let json = flowgate().args(["schema", "flowlogs", "--output", "json"]).output().unwrap();
    assert_eq!(json.status.code(), Some(2));
    assert_eq!(serde_json::from_slice::<Value>(&json.stdout).unwrap()["error"]["kind"], "input");
}
