//! `flowgate schema COMMAND`: the JSON Schema of the document `flowgate COMMAND --output json`
//! prints, generated from the report types themselves; schemas/ holds the same files, checked in
//! (`FLOWGATE_UPDATE_SCHEMAS=1 cargo test --test it schemas::checked_in` writes them).
//!
//! The one module that names every command's report: it is the catalogue of the JSON contract,
//! and [`json_output`] says which entry of it a command line prints.

use std::fmt;

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema};
use serde::Serialize;
use serde_json::Value;

use crate::cli::{AccessCommand, BucketCommand, Cli, Command, FlowLogsCommand, OrgCommand, RecordFormat, SchemaArgs, StackCommand, WatchCommand};
use crate::commands::access::{AccessEditReport, AccessListReport};
use crate::commands::bucket::{BucketCheckReport, BucketCreateReport};
use crate::commands::flowlogs::{FlowLogsReport, StatusReport};
use crate::commands::onboard::OnboardReport;
use crate::commands::org::OrgReport;
use crate::commands::parse::ParseReport;
use crate::commands::permissions::PermissionsReport;
use crate::commands::stack::{StackDeployReport, StackStatusReport};
use crate::commands::verify::VerifyReport;
use crate::commands::watch::{WatchReport, WatchStatusReport};
use crate::core::flowlog_parse::Record;
use crate::error::{Error, ExitStatus, Result};
use crate::output::{ErrorDocument, OutputFormat, Report};

/// A JSON document flowgate prints, and where its schema comes from.
pub struct Document {
    /// What `flowgate schema` takes, and the file's name under schemas/ (`NAME.json`).
    pub name: &'static str,
    /// The command line that prints it (the schema's title).
    pub printed_by: &'static str,
    generate: fn() -> Schema,
}

const fn document<T: JsonSchema>(name: &'static str, printed_by: &'static str) -> Document {
    Document { name, printed_by, generate: schema_of::<T> }
}

/// Every JSON document flowgate prints. Commands that share a report type share its schema, each
/// under its own name, so that automation looks a schema up by the command it runs.
pub const DOCUMENTS: &[Document] = &[
    document::<BucketCreateReport>("bucket-create", "flowgate bucket create --output json"),
    document::<BucketCheckReport>("bucket-check", "flowgate bucket check --output json"),
    document::<FlowLogsReport>("flowlogs-enable", "flowgate flowlogs enable --output json"),
    document::<StatusReport>("flowlogs-status", "flowgate flowlogs status --output json"),
    document::<FlowLogsReport>("flowlogs-disable", "flowgate flowlogs disable --output json"),
    document::<StackDeployReport>("stack-deploy", "flowgate stack deploy --output json"),
    document::<StackStatusReport>("stack-status", "flowgate stack status --output json"),
    document::<StackDeployReport>("stack-delete", "flowgate stack delete --output json"),
    document::<AccessEditReport>("access-grant", "flowgate access grant --output json"),
    document::<AccessEditReport>("access-revoke", "flowgate access revoke --output json"),
    document::<AccessListReport>("access-list", "flowgate access list --output json"),
    document::<VerifyReport>("verify", "flowgate verify --output json"),
    document::<OnboardReport>("onboard", "flowgate onboard --output json"),
    document::<OnboardReport>("wizard", "flowgate wizard --output json"),
    document::<OnboardReport>("offboard", "flowgate offboard --output json"),
    document::<WatchReport>("watch-enable", "flowgate watch enable --output json"),
    document::<WatchStatusReport>("watch-status", "flowgate watch status --output json"),
    document::<WatchReport>("watch-disable", "flowgate watch disable --output json"),
    document::<OrgReport>("org-onboard", "flowgate org onboard --output json"),
    document::<OrgReport>("org-status", "flowgate org status --output json"),
    document::<OrgReport>("org-verify", "flowgate org verify --output json"),
    document::<OrgReport>("org-offboard", "flowgate org offboard --output json"),
    document::<ParseReport>("parse", "flowgate parse --output json"),
    document::<Record>("parse-record", "flowgate parse --records json (one record a line)"),
    document::<PermissionsReport>("permissions", "flowgate permissions --output json"),
    document::<ErrorDocument>("error", "any command with --output json that ends in an error instead of its report"),
];

/// Output schemas: a field is required when it is always printed (an `Option` prints `null`).
fn schema_of<T: JsonSchema>() -> Schema {
    SchemaSettings::draft2020_12().for_serialize().into_generator().into_root_schema_for::<T>()
}

impl Document {
    /// The document's JSON Schema, titled with the command line that prints it: `$schema`,
    /// `title` and `description` first, for a reader of the file.
    pub fn schema(&self) -> Value {
        let mut schema = (self.generate)().to_value();
        unwrap_descriptions(&mut schema);
        let Value::Object(mut rest) = schema else { return schema };
        let mut ordered = serde_json::Map::new();
        ordered.insert("$schema".to_owned(), rest.remove("$schema").unwrap_or(Value::Null));
        ordered.insert("title".to_owned(), Value::from(self.printed_by));
        rest.remove("title");
        if let Some(description) = rest.remove("description") {
            ordered.insert("description".to_owned(), description);
        }
        ordered.extend(rest);
        Value::Object(ordered)
    }

    /// The file's text under schemas/: the schema, pretty-printed, with a final newline.
    pub fn file_text(&self) -> String {
        let mut text = serde_json::to_string_pretty(&self.schema()).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// Descriptions come from doc comments, wrapped at the source's width: each paragraph on one line.
fn unwrap_descriptions(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                match value {
                    Value::String(text) if key == "description" => {
                        *text = text.split("\n\n").map(|paragraph| paragraph.replace('\n', " ")).collect::<Vec<_>>().join("\n\n");
                    }
                    other => unwrap_descriptions(other),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(unwrap_descriptions),
        _ => {}
    }
}

pub fn names() -> Vec<&'static str> {
    DOCUMENTS.iter().map(|d| d.name).collect()
}

/// The document of `command` as typed: `flowlogs-enable` or its words, `flowlogs enable`.
pub fn find(command: &str) -> Option<&'static Document> {
    let name = command.split_whitespace().collect::<Vec<_>>().join("-");
    DOCUMENTS.iter().find(|d| d.name == name)
}

/// A schema (JSON, in text and JSON output alike), or the list of names.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum SchemaReport {
    Schema(Value),
    Names(Vec<&'static str>),
}

impl fmt::Display for SchemaReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchemaReport::Schema(schema) => writeln!(f, "{}", serde_json::to_string_pretty(schema).map_err(|_| fmt::Error)?),
            SchemaReport::Names(names) => names.iter().try_for_each(|name| writeln!(f, "{name}")),
        }
    }
}

impl Report for SchemaReport {
    fn exit_status(&self) -> ExitStatus {
        ExitStatus::Success
    }
}

pub fn schema(args: &SchemaArgs) -> Result<SchemaReport> {
    if args.list || args.command.is_empty() {
        return Ok(SchemaReport::Names(names()));
    }
    let command = args.command.join(" ");
    let document = find(&command).ok_or_else(|| {
        Error::input(format!("'{command}' is not a document flowgate prints as JSON"), Some(format!("use one of: {}", names().join(", "))))
    })?;
    Ok(SchemaReport::Schema(document.schema()))
}

/// What a command line prints on stdout as JSON when it ends with its report (an error ends with
/// the `error` document instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonOutput {
    /// One document, the named schema's.
    Document(&'static str),
    /// One document of the named schema on each line (`parse --records json`).
    Lines(&'static str),
}

/// The schema of what `cli` prints on stdout (`None`: no JSON, or a JSON Schema itself).
pub fn json_output(cli: &Cli) -> Option<JsonOutput> {
    if let Command::Parse(args) = &cli.command {
        match args.records {
            Some(RecordFormat::Json) => return Some(JsonOutput::Lines("parse-record")),
            Some(RecordFormat::Csv) => return None,
            None => {}
        }
    }
    if cli.global.output != OutputFormat::Json {
        return None;
    }
    report_name(&cli.command).map(JsonOutput::Document)
}

/// The document each command reports (no wildcard: a new command decides here).
fn report_name(command: &Command) -> Option<&'static str> {
    Some(match command {
        Command::Bucket(BucketCommand::Create(_)) => "bucket-create",
        Command::Bucket(BucketCommand::Check(_)) => "bucket-check",
        Command::Flowlogs(FlowLogsCommand::Enable(_)) => "flowlogs-enable",
        Command::Flowlogs(FlowLogsCommand::Status(_)) => "flowlogs-status",
        Command::Flowlogs(FlowLogsCommand::Disable(_)) => "flowlogs-disable",
        Command::Stack(StackCommand::Deploy(_)) => "stack-deploy",
        Command::Stack(StackCommand::Status(_)) => "stack-status",
        Command::Stack(StackCommand::Delete(_)) => "stack-delete",
        Command::Access(AccessCommand::Grant(_)) => "access-grant",
        Command::Access(AccessCommand::Revoke(_)) => "access-revoke",
        Command::Access(AccessCommand::List(_)) => "access-list",
        Command::Verify(_) => "verify",
        Command::Onboard(_) => "onboard",
        Command::Wizard(_) => "wizard",
        Command::Offboard(_) => "offboard",
        Command::Org(org) => match org.as_ref() {
            OrgCommand::Onboard(_) => "org-onboard",
            OrgCommand::Status(_) => "org-status",
            OrgCommand::Verify(_) => "org-verify",
            OrgCommand::Offboard(_) => "org-offboard",
        },
        Command::Watch(WatchCommand::Enable(_)) => "watch-enable",
        Command::Watch(WatchCommand::Status(_)) => "watch-status",
        Command::Watch(WatchCommand::Disable(_)) => "watch-disable",
        Command::Parse(_) => "parse",
        Command::Permissions(_) => "permissions",
        Command::Schema(_) | Command::Completions { .. } | Command::Man => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found_by_their_words() {
        let mut seen = names();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), DOCUMENTS.len());
        assert_eq!(find("flowlogs enable").map(|d| d.name), Some("flowlogs-enable"));
        assert_eq!(find("org-verify").map(|d| d.name), Some("org-verify"));
        assert!(find("flowlogs").is_none());
    }

    /// Every document a command line names has a schema, and every schema but the error
    /// document's is printed by some command line.
    #[test]
    fn every_reported_document_has_a_schema() {
        let lines = [
            "bucket create --bucket bkt",
            "bucket check --bucket bkt",
            "flowlogs enable --bucket bkt",
            "flowlogs status --bucket bkt",
            "flowlogs disable",
            "stack deploy --vendor-account 111122223333",
            "stack status",
            "stack delete",
            "access grant --bucket bkt",
            "access revoke --bucket bkt",
            "access list",
            "verify --bucket bkt",
            "onboard --bucket bkt --vendor-account 111122223333",
            "wizard",
            "offboard",
            "watch enable --bucket bkt",
            "watch status --bucket bkt",
            "watch disable",
            "org onboard --bucket bkt --vendor-account 111122223333",
            "org status --bucket bkt",
            "org verify --bucket bkt",
            "org offboard --bucket bkt",
            "parse f",
            "permissions verify",
        ];
        let mut printed = vec!["error", "parse-record"];
        for line in lines {
            let args: Vec<std::ffi::OsString> = format!("flowgate --output json {line}").split(' ').map(Into::into).collect();
            let cli = Cli::parse_args(&args).unwrap_or_else(|e| panic!("{line}: {e}"));
            let Some(JsonOutput::Document(name)) = json_output(&cli) else { panic!("{line}: no document") };
            assert!(find(name).is_some(), "{line}: {name} has no schema");
            printed.push(name);
        }
        let records = Cli::parse_args(&["flowgate", "parse", "--records", "json", "f"].map(Into::into)).unwrap();
        assert_eq!(json_output(&records), Some(JsonOutput::Lines("parse-record")));
        printed.sort_unstable();
        let mut all = names();
        all.sort_unstable();
        assert_eq!(printed, all);
    }
}
