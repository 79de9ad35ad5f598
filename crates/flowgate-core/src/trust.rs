//! The vendor role's trust policy: who may assume it, and whether every such statement requires
//! the ExternalId (the confused-deputy guard).

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use super::policy_doc;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct TrustAssessment {
    /// AWS principals allowed to sts:AssumeRole.
    pub principals: Vec<String>,
    /// Every statement that lets an AWS principal assume the role requires sts:ExternalId.
    pub requires_external_id: bool,
    /// Statements that let an AWS principal assume the role without an ExternalId condition.
    pub unguarded: Vec<String>,
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

fn has_external_id(condition: &Value) -> bool {
    ["StringEquals", "StringEqualsIgnoreCase"]
        .iter()
        .filter_map(|op| condition.get(op))
        .any(|map| map.as_object().is_some_and(|m| m.keys().any(|k| k.eq_ignore_ascii_case("sts:ExternalId"))))
}

pub fn assess_trust(document: &str) -> Result<TrustAssessment, policy_doc::PolicyDocError> {
    let doc = policy_doc::parse_document(document)?;
    let mut assessment = TrustAssessment { principals: Vec::new(), requires_external_id: true, unguarded: Vec::new() };
    for (index, statement) in policy_doc::statements(&doc)?.iter().enumerate() {
        let allows_assume = statement["Effect"] == "Allow"
            && strings(&statement["Action"]).iter().any(|a| a.eq_ignore_ascii_case("sts:AssumeRole") || a == "sts:*" || a == "*");
        let principals = strings(&statement["Principal"]["AWS"]);
        if !allows_assume || principals.is_empty() {
            continue;
        }
        assessment.principals.extend(principals);
        if !statement.get("Condition").is_some_and(has_external_id) {
            assessment.requires_external_id = false;
            assessment.unguarded.push(policy_doc::sid(statement).map(|s| format!("Sid \"{s}\"")).unwrap_or_else(|| format!("#{index}")));
        }
    }
    if assessment.principals.is_empty() {
        assessment.requires_external_id = false;
    }
    Ok(assessment)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_id_is_required_on_every_aws_principal_statement() {
        let guarded = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x"}}}]}"#;
        let a = assess_trust(guarded).unwrap();
        assert!(a.requires_external_id);
        assert_eq!(a.principals, ["arn:aws:iam::111122223333:root"]);
        let open =
            r#"{"Statement":[{"Sid":"Open","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:root"]},"Action":["sts:AssumeRole"]}]}"#;
        let a = assess_trust(open).unwrap();
        assert!(!a.requires_external_id);
        assert_eq!(a.unguarded, ["Sid \"Open\""]);
        let service_only = r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        assert!(!assess_trust(service_only).unwrap().requires_external_id, "no vendor principal at all");
        assert!(assess_trust("%7B%22Statement%22%3A%5B%5D%7D").is_ok(), "URL-encoded, as IAM returns it");
    }
}
