//! One Allow or Deny statement as the evaluator reads it: its effect, and its action and resource
//! lists, matched with IAM wildcards.

use serde_json::{Map, Value};

use super::evaluate::{Effect, Scope, StatementRef};
use super::glob::{Coverage, glob_match, prefix_coverage};
use crate::policy_doc;

/// A list-valued element of a statement: `Action` or `NotAction`, `Resource` or `NotResource`.
pub(crate) enum Listed<'a> {
    Only(Vec<&'a str>),
    AllBut(Vec<&'a str>),
    Missing,
}

impl<'a> Listed<'a> {
    fn of(statement: &'a Map<String, Value>, key: &str, not_key: &str) -> Self {
        if let Some(value) = statement.get(key) {
            Listed::Only(strings(value))
        } else if let Some(value) = statement.get(not_key) {
            Listed::AllBut(strings(value))
        } else {
            Listed::Missing
        }
    }
}

/// A string-or-array value's strings; anything else (invalid in IAM) matches nothing.
pub(crate) fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// An Allow or Deny statement as the evaluator reads it.
pub(crate) struct StatementView<'a> {
    pub(crate) statement: StatementRef,
    pub(crate) effect: Effect,
    pub(crate) actions: Listed<'a>,
    pub(crate) resources: Listed<'a>,
    pub(crate) conditional: bool,
}

pub(crate) fn effect_of(statement: &Value) -> Option<Effect> {
    // IAM accepts exactly these two spellings.
    match statement.get("Effect").and_then(Value::as_str) {
        Some("Allow") => Some(Effect::Allow),
        Some("Deny") => Some(Effect::Deny),
        _ => None,
    }
}

pub(crate) fn view(statement_ref: StatementRef, statement: &Value) -> Option<StatementView<'_>> {
    let effect = effect_of(statement)?;
    let map = statement.as_object()?;
    let conditional = match map.get("Condition") {
        None | Some(Value::Null) => false,
        Some(Value::Object(conditions)) => !conditions.is_empty(),
        Some(_) => true,
    };
    Some(StatementView {
        statement: statement_ref,
        effect,
        actions: Listed::of(map, "Action", "NotAction"),
        resources: Listed::of(map, "Resource", "NotResource"),
        conditional,
    })
}

impl StatementView<'_> {
    /// Whether the statement's actions include `action` (lowercase).
    pub(crate) fn allows(&self, action: &str) -> bool {
        match &self.actions {
            Listed::Only(patterns) => patterns.iter().any(|p| glob_match(&p.to_ascii_lowercase(), action)),
            Listed::AllBut(patterns) => !patterns.iter().any(|p| glob_match(&p.to_ascii_lowercase(), action)),
            Listed::Missing => false,
        }
    }

    /// Whether the statement's resources cover the bucket ARN `arn` itself, and the first pattern
    /// that does.
    pub(crate) fn bucket_scope(&self, arn: &str) -> Option<(Scope, String)> {
        match &self.resources {
            Listed::Only(patterns) => patterns.iter().find(|p| glob_match(p, arn)).map(|p| (Scope::AllObjects, (*p).to_owned())),
            Listed::AllBut(excluded) => {
                (!excluded.iter().any(|p| glob_match(p, arn))).then(|| (Scope::AllObjects, format!("NotResource {}", compact_strings(excluded))))
            }
            Listed::Missing => None,
        }
    }

    /// How much of the objects under `objects` (`arn:P:s3:::B/`) the statement's resources cover,
    /// and the pattern that covers the most.
    pub(crate) fn object_scope(&self, objects: &str) -> Option<(Scope, String)> {
        match &self.resources {
            Listed::Only(patterns) => {
                let (coverage, pattern) = patterns
                    .iter()
                    .map(|p| (prefix_coverage(p, objects), *p))
                    .fold((Coverage::None, ""), |best, next| if next.0 > best.0 { next } else { best });
                match coverage {
                    Coverage::None => None,
                    Coverage::Some => Some((Scope::SomeObjects, pattern.to_owned())),
                    Coverage::All => Some((Scope::AllObjects, pattern.to_owned())),
                }
            }
            Listed::AllBut(excluded) => {
                let description = format!("NotResource {}", compact_strings(excluded));
                match excluded.iter().map(|p| prefix_coverage(p, objects)).max().unwrap_or(Coverage::None) {
                    Coverage::All => None,
                    Coverage::Some => Some((Scope::SomeObjects, description)),
                    Coverage::None => Some((Scope::AllObjects, description)),
                }
            }
            Listed::Missing => None,
        }
    }
}

pub(crate) fn statement_label(statement: &Value, index: usize) -> String {
    match policy_doc::sid(statement) {
        Some(sid) => format!("Sid \"{sid}\""),
        None => format!("#{index}"),
    }
}

pub(crate) fn compact_strings(items: &[&str]) -> String {
    Value::Array(items.iter().map(|s| Value::String((*s).to_owned())).collect()).to_string()
}
