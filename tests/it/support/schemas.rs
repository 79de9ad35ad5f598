//! The published JSON contract (schemas/, what `flowgate schema` prints), held on every run: each
//! stdout a test gets from flowgate is validated against the schema of what its command line
//! prints ([`check_stdout`], called by [`super::Flowgate::output`]).
//!
//! The checked-in files are the contract; they are validated here in a strict form: every object
//! that declares its properties may hold no other (`unevaluatedProperties: false`), so that a field
//! a report prints but its schema does not describe fails the test that printed it. The files
//! themselves leave objects open, so that automation validating against them keeps working when
//! a later release adds a field.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

use flowgate::cli::Cli;
use flowgate::commands::schema::{DOCUMENTS, JsonOutput, json_output};

/// The one command that rewrites schemas/ from the report types.
pub const REGENERATE: &str = "FLOWGATE_UPDATE_SCHEMAS=1 cargo test --test it schemas::checked_in";

pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas")
}

/// Every checked-in schema, compiled once for the whole test binary (its tests run concurrently).
fn validators() -> &'static HashMap<&'static str, jsonschema::Validator> {
    static VALIDATORS: OnceLock<HashMap<&'static str, jsonschema::Validator>> = OnceLock::new();
    VALIDATORS.get_or_init(|| DOCUMENTS.iter().map(|document| (document.name, compile(document.name))).collect())
}

fn compile(name: &str) -> jsonschema::Validator {
    let path = dir().join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}; regenerate schemas/: {REGENERATE}", path.display()));
    let schema: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON ({e}); regenerate: {REGENERATE}", path.display()));
    strict_validator(schema)
}

/// `schema`, strict: see [`close_objects`].
pub fn strict_validator(mut schema: Value) -> jsonschema::Validator {
    close_objects(&mut schema, false);
    jsonschema::draft202012::new(&schema).unwrap_or_else(|e| panic!("not a valid JSON Schema: {e}"))
}

/// Adds `unevaluatedProperties: false` to every schema that lists `properties`, but for the
/// alternatives (`oneOf`/`anyOf`/`allOf`) of a schema that lists its own: those are a flattened
/// enum's variants, whose properties the schema around them evaluates (and closes).
fn close_objects(schema: &mut Value, part_of_object: bool) {
    match schema {
        Value::Object(map) => {
            let has_properties = map.contains_key("properties");
            for (key, value) in map.iter_mut() {
                let alternatives = matches!(key.as_str(), "oneOf" | "anyOf" | "allOf");
                match value {
                    Value::Array(items) if alternatives => items.iter_mut().for_each(|item| close_objects(item, has_properties)),
                    other => close_objects(other, false),
                }
            }
            if has_properties && !part_of_object {
                map.insert("unevaluatedProperties".to_owned(), Value::Bool(false));
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| close_objects(item, false)),
        _ => {}
    }
}

/// Panics, naming each violation and where it is, unless `document` is valid against the schema
/// `name`; `context` says where the document came from.
pub fn assert_valid(name: &str, document: &Value, context: &str) {
    let validator = validators().get(name).unwrap_or_else(|| panic!("no schema named {name}"));
    let at = |path: String| if path.is_empty() { "the top".to_owned() } else { path };
    let errors: Vec<String> = validator.iter_errors(document).map(|e| format!("  at {}: {e}", at(e.instance_path().to_string()))).collect();
    assert!(
        errors.is_empty(),
        "{context}: the JSON does not match schemas/{name}.json (if the report type changed on purpose: {REGENERATE}):\n{}\ndocument:\n{}",
        errors.join("\n"),
        serde_json::to_string_pretty(document).unwrap_or_default()
    );
}

/// A document that is only `{"error": {...}}`: what any command prints instead of its report.
fn is_error_document(document: &Value) -> bool {
    document.as_object().is_some_and(|map| map.len() == 1 && map.contains_key("error"))
}

/// Checks what a run of flowgate with `args` (the program name first) printed on `stdout` against
/// the schema its command line promises: its report's, or the error document's. Returns the name
/// of the schema it was checked against, `None` when the command line promises no JSON.
pub fn check_stdout(args: &[OsString], stdout: &[u8]) -> Option<&'static str> {
    if stdout.is_empty() {
        return None;
    }
    let context = format!("flowgate {}", args.iter().skip(1).map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" "));
    let whole = serde_json::from_slice::<Value>(stdout).ok();
    if let Some(document) = whole.as_ref().filter(|d| is_error_document(d)) {
        assert_valid("error", document, &context);
        return Some("error");
    }
    // A command line clap refuses (or help) gets no report: its only JSON is the error document.
    let expected = Cli::parse_args(args).ok().and_then(|cli| json_output(&cli))?;
    match expected {
        JsonOutput::Document(name) => {
            let document = whole.unwrap_or_else(|| panic!("{context}: stdout is not one JSON document:\n{}", String::from_utf8_lossy(stdout)));
            assert_valid(name, &document, &context);
            Some(name)
        }
        JsonOutput::Lines(name) => {
            for line in String::from_utf8_lossy(stdout).lines().filter(|l| !l.is_empty()) {
                let document: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{context}: a line of stdout is not JSON ({e}): {line}"));
                assert_valid(name, &document, &context);
            }
            Some(name)
        }
    }
}
