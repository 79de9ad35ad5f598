//! What a vendor role's own policies grant beyond reading flow logs: the compliance read set and
//! the segmentation write set (`--read-write`), judged from the policy documents, so that a role
//! created by hand is reported as truly as the stack's. Resources and conditions are not judged
//! here (the write set is scoped to security groups by flowgate's template; a hand-made role may
//! scope it otherwise): an action counts when an Allow statement names it and no unconditional
//! Deny does.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::policy_doc::{parse_document, statements};
use crate::stack_plan::{COMPLIANCE_POLICY, DISCOVERY_POLICY, SEGMENTATION_WRITE_POLICY};

/// The permission sets found in a role's policies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VendorPermissions {
    /// Every action of the compliance read set is allowed.
    pub compliance_read: bool,
    /// The write actions of the segmentation set that are allowed.
    pub write_actions: Vec<String>,
}

impl VendorPermissions {
    /// Whether the role can change security-group rules at all.
    pub fn can_write(&self) -> bool {
        !self.write_actions.is_empty()
    }

    /// The names of the permission sets found, as `stack status` names them.
    pub fn set_names(&self) -> Vec<&'static str> {
        let mut sets = Vec::new();
        if self.compliance_read {
            sets.push("compliance-read");
        }
        if self.can_write() {
            sets.push("segmentation-write");
        }
        sets
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

/// IAM action matching: case-insensitive, `*` any run and `?` one character.
fn action_matches(pattern: &str, action: &str) -> bool {
    fn go(p: &[u8], a: &[u8]) -> bool {
        match (p.first(), a.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], a) || (!a.is_empty() && go(p, &a[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &a[1..]),
            (Some(x), Some(y)) if x.eq_ignore_ascii_case(y) => go(&p[1..], &a[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), action.as_bytes())
}

/// The actions of a shipped policy file (they parse: a unit test checks it).
fn file_actions(text: &str) -> Vec<String> {
    let Ok(doc) = parse_document(text) else { return Vec::new() };
    statements(&doc).unwrap_or_default().iter().flat_map(|s| strings(s.get("Action"))).collect()
}

/// Whether `action` is allowed by an Allow statement and not denied by an unconditional Deny.
fn allowed(documents: &[&Map<String, Value>], action: &str) -> bool {
    let mut allow = false;
    for doc in documents {
        for statement in statements(doc).unwrap_or_default() {
            let names = strings(statement.get("Action")).iter().any(|p| action_matches(p, action));
            let effect = statement.get("Effect").and_then(Value::as_str).unwrap_or("");
            if effect == "Deny" && names && statement.get("Condition").is_none() {
                return false;
            }
            allow |= effect == "Allow" && names;
        }
    }
    allow
}

/// Whether every action of the network-discovery set (the template's discovery policy) is
/// allowed: what `stack status` calls `network-discovery`.
pub fn network_discovery(documents: &[&Map<String, Value>]) -> bool {
    let discovery = file_actions(DISCOVERY_POLICY);
    !discovery.is_empty() && discovery.iter().all(|a| allowed(documents, a))
}

pub fn vendor_permissions(documents: &[&Map<String, Value>]) -> VendorPermissions {
    let compliance = file_actions(COMPLIANCE_POLICY);
    VendorPermissions {
        compliance_read: !compliance.is_empty() && compliance.iter().all(|a| allowed(documents, a)),
        // The write policy's own read (DescribeSecurityGroupRules) is no write.
        write_actions: file_actions(SEGMENTATION_WRITE_POLICY)
            .into_iter()
            .filter(|a| !a.starts_with("ec2:Describe") && allowed(documents, a))
            .collect(),
    }
}

/// The account ids of trusted principals (`arn:...:iam::ID:root`, `arn:...:iam::ID:role/x`, or a
/// bare id), in order, without repeats; principals that name no account are left out.
pub fn trusted_account_ids(principals: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for principal in principals {
        let id = if principal.len() == 12 && principal.chars().all(|c| c.is_ascii_digit()) {
            Some(principal.clone())
        } else {
            principal.split(':').nth(4).filter(|id| id.len() == 12 && id.chars().all(|c| c.is_ascii_digit())).map(str::to_owned)
        };
        if let Some(id) = id.filter(|id| !out.contains(id)) {
            out.push(id);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Map<String, Value> {
        parse_document(text).unwrap()
    }

    #[test]
    fn the_shipped_sets_are_found_in_the_shipped_files() {
        let compliance = doc(COMPLIANCE_POLICY);
        let write = doc(SEGMENTATION_WRITE_POLICY);
        let read_only = vendor_permissions(&[&compliance]);
        assert!(read_only.compliance_read && !read_only.can_write(), "{read_only:?}");
        let both = vendor_permissions(&[&compliance, &write]);
        assert!(both.compliance_read && both.write_actions.len() == 8, "{both:?}");
        assert_eq!(vendor_permissions(&[]), VendorPermissions::default());
    }

    #[test]
    fn wildcards_count_and_an_unconditional_deny_wins() {
        let star = doc(r#"{"Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}]}"#);
        assert_eq!(vendor_permissions(&[&star]).write_actions.len(), 8);
        let partial = doc(r#"{"Statement": [{"Effect": "Allow", "Action": ["ec2:Authorize*"], "Resource": "*"}]}"#);
        assert_eq!(vendor_permissions(&[&partial]).write_actions, ["ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress"]);
        let deny = doc(r#"{"Statement": [{"Effect": "Deny", "Action": "ec2:AuthorizeSecurityGroup?ngress", "Resource": "*"}]}"#);
        assert_eq!(vendor_permissions(&[&partial, &deny]).write_actions, ["ec2:AuthorizeSecurityGroupEgress"]);
        let discovery = doc(crate::stack_plan::DISCOVERY_POLICY);
        assert!(!vendor_permissions(&[&discovery]).compliance_read, "discovery alone is not the compliance set");
        assert!(network_discovery(&[&discovery]) && !network_discovery(&[&star]) && !network_discovery(&[]));
        let everything = doc(r#"{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}"#);
        assert!(network_discovery(&[&everything]));
    }

    #[test]
    fn account_ids_of_principals() {
        let principals = ["arn:aws:iam::111122223333:root", "444455556666", "arn:aws:iam::111122223333:role/x", "*"].map(String::from);
        assert_eq!(trusted_account_ids(&principals), ["111122223333", "444455556666"]);
    }
}
