//! A bucket policy judged for one requester, statement by statement: which statements allow or
//! deny the asked actions, and whether each certainly applies or only may (naming what flowgate
//! cannot know: a condition key, a session name).
//!
//! A statement applies to a request when its principal names the requester (`principal`), its
//! actions and resources cover the request (the role evaluator's `StatementView`, with IAM
//! wildcards), and its `Condition` holds (`condition`), judged against what the request carries
//! (`context`: the log delivery service's writes and the vendor role's reads).

mod condition;
mod context;
mod principal;

use serde::Serialize;
use serde_json::Value;

pub use condition::{ConditionVerdict, KeyValue, RequestContext, evaluate_condition};
pub use context::{DELIVERY_SERVICE, delivery_context, role_session_context};
pub use principal::{Requester, principal_applies};

use crate::names::BucketName;
use crate::policy_doc::{self, PolicyDocError};
use crate::role_policy::statement::view;
use crate::role_policy::{Effect, PolicySource, Scope, StatementRef};

/// Whether a statement's principal (or condition) covers the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applies {
    Yes,
    No,
    /// Only if what these say holds, which flowgate cannot know.
    Maybe(Vec<String>),
}

/// Where an asked action acts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum On {
    /// The bucket itself (`arn:P:s3:::BUCKET`).
    Bucket,
    /// The objects whose keys start with `prefix` (empty: every object).
    Objects { prefix: String },
}

/// One action the requester would call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    pub action: &'static str,
    pub on: On,
}

/// A statement of the bucket policy that allows or denies some of the asked actions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Judged {
    pub statement: StatementRef,
    pub effect: Effect,
    /// The asked actions it covers through `resource`.
    pub actions: Vec<String>,
    /// The matching `Resource` pattern, or `NotResource [...]`.
    pub resource: String,
    /// All of the asked objects (or the bucket), or only some keys.
    pub scope: Scope,
    /// Empty when the principal and the conditions certainly cover the request; otherwise what
    /// they depend on (`condition aws:SourceIp`, a session name).
    pub depends_on: Vec<String>,
}

impl Judged {
    /// It applies to every asked object (or the bucket), whatever the request.
    pub fn is_certain(&self) -> bool {
        self.depends_on.is_empty() && self.scope == Scope::AllObjects
    }
}

/// The statements of the bucket policy `text` (none: no policy) that allow or deny `asks` to
/// `requester`, with the request carrying `context`. A statement that is not an Allow or Deny
/// (S3 refuses such a policy) is skipped.
pub fn judge_bucket_policy(
    text: Option<&str>,
    bucket: &BucketName,
    partition: &str,
    requester: &Requester<'_>,
    context: &RequestContext,
    asks: &[Ask],
) -> Result<Vec<Judged>, PolicyDocError> {
    let statements = match text {
        Some(text) if !text.trim().is_empty() => policy_doc::statements(&policy_doc::parse_document(text)?)?,
        _ => return Ok(Vec::new()),
    };
    let arn = bucket.arn(partition);
    let mut judged: Vec<Judged> = Vec::new();
    for (index, statement) in statements.iter().enumerate() {
        let statement_ref =
            StatementRef { policy: bucket.to_string(), source: PolicySource::Bucket, sid: policy_doc::sid(statement).map(str::to_owned), index };
        let (Some(view), Some(map)) = (view(statement_ref, statement), statement.as_object()) else { continue };
        let Some(depends_on) = depends_on(map, view.effect, requester, context) else { continue };
        for ask in asks {
            if !view.allows(&ask.action.to_ascii_lowercase()) {
                continue;
            }
            let scope = match &ask.on {
                On::Bucket => view.bucket_scope(&arn),
                On::Objects { prefix } => view.object_scope(&format!("{arn}/{prefix}")),
            };
            let Some((scope, resource)) = scope else { continue };
            let same = |j: &&mut Judged| j.statement == view.statement && j.resource == resource && j.scope == scope;
            match judged.iter_mut().find(same) {
                Some(j) if !j.actions.iter().any(|a| a == ask.action) => j.actions.push(ask.action.to_owned()),
                Some(_) => {}
                None => judged.push(Judged {
                    statement: view.statement.clone(),
                    effect: view.effect,
                    actions: vec![ask.action.to_owned()],
                    resource,
                    scope,
                    depends_on: depends_on.clone(),
                }),
            }
        }
    }
    Ok(judged)
}

/// What the statement's principal and `Condition` depend on for this request: `None` when they
/// exclude it, empty when they certainly include it.
fn depends_on(map: &serde_json::Map<String, Value>, effect: Effect, requester: &Requester<'_>, context: &RequestContext) -> Option<Vec<String>> {
    let mut depends = match principal_applies(map, effect, requester) {
        Applies::No => return None,
        Applies::Yes => Vec::new(),
        Applies::Maybe(why) => why,
    };
    match evaluate_condition(map.get("Condition"), context) {
        ConditionVerdict::Fails => return None,
        ConditionVerdict::Holds => {}
        ConditionVerdict::Unknown(keys) => depends.extend(keys.into_iter().map(|k| format!("condition {k}"))),
    }
    Some(depends)
}

#[cfg(test)]
mod tests;
