//! Whether a resource policy statement's `Principal` (or `NotPrincipal`) names the requester.
//!
//! From the IAM User Guide, "AWS JSON policy elements: Principal"
//! (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html):
//! - `"*"` and `{"AWS": "*"}` name every principal; "you cannot use a wildcard to match part of a
//!   principal name or ARN".
//! - An account (`"123456789012"` or `arn:P:iam::123456789012:root`) "delegates authority to the
//!   account": in an Allow it grants nothing until the account's own policies do; in a Deny it
//!   covers every principal of the account.
//! - A role ARN names the role's sessions; an `assumed-role` ARN names one session, by a session
//!   name flowgate does not know.
//! - A service principal (`{"Service": "delivery.logs.amazonaws.com"}`) names that service.
//!
//! And "NotPrincipal" (same guide): with Deny, every principal but the ones named is denied, and
//! for a role session AWS "might validate the account first, then the role, and then the
//! assumed-role user": the session escapes only when the session itself is named.

use serde_json::{Map, Value};

use super::Applies;
use crate::role_policy::Effect;

/// Who makes the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requester<'a> {
    /// An AWS service principal, e.g. `delivery.logs.amazonaws.com`.
    Service(&'a str),
    /// A session of an IAM role of `account`; `role_arn` is the role's ARN
    /// (`arn:P:iam::ACCOUNT:role/[PATH/]NAME`).
    RoleSession { account: &'a str, role_arn: &'a str },
}

impl Requester<'_> {
    /// `arn:P:sts::ACCOUNT:assumed-role/NAME/`: the prefix of the role's session ARNs (they carry
    /// the role's name, not its path).
    fn session_prefix(&self) -> Option<String> {
        let Requester::RoleSession { account, role_arn } = self else { return None };
        let partition = role_arn.split(':').nth(1)?;
        let name = role_arn.rsplit('/').next()?;
        Some(format!("arn:{partition}:sts::{account}:assumed-role/{name}/"))
    }
}

/// How one principal entry relates to the requester.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Named {
    /// Exactly the requester (or everyone).
    Yes,
    /// The requester's account.
    Account,
    /// A session of the requester's role, by a name flowgate does not know.
    SomeSession,
    No,
}

fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Every entry of a `Principal`/`NotPrincipal` value, judged against the requester.
fn entries(principal: &Value, requester: &Requester<'_>) -> Vec<Named> {
    let object = match principal {
        Value::String(s) if s == "*" => return vec![Named::Yes],
        Value::Object(object) => object,
        _ => return Vec::new(),
    };
    let session_prefix = requester.session_prefix();
    let mut named = Vec::new();
    for (kind, value) in object {
        for entry in strings(value) {
            named.push(match (kind.as_str(), requester) {
                ("AWS", _) if entry == "*" => Named::Yes,
                ("Service", Requester::Service(name)) if entry.eq_ignore_ascii_case(name) => Named::Yes,
                ("AWS", Requester::RoleSession { account, role_arn }) => {
                    let root = role_arn.split(':').nth(1).map(|partition| format!("arn:{partition}:iam::{account}:root"));
                    if entry == *role_arn {
                        Named::Yes
                    } else if entry == *account || Some(entry) == root.as_deref() {
                        Named::Account
                    } else if session_prefix.as_deref().is_some_and(|prefix| entry.starts_with(prefix)) {
                        Named::SomeSession
                    } else {
                        Named::No
                    }
                }
                _ => Named::No,
            });
        }
    }
    named
}

/// Whether the statement's principal element covers the requester.
pub fn principal_applies(statement: &Map<String, Value>, effect: Effect, requester: &Requester<'_>) -> Applies {
    if let Some(principal) = statement.get("Principal") {
        let named = entries(principal, requester);
        if named.contains(&Named::Yes) || (effect == Effect::Deny && named.contains(&Named::Account)) {
            Applies::Yes
        } else if named.contains(&Named::SomeSession) {
            Applies::Maybe(vec!["the Principal names a session of the role by its session name".to_owned()])
        } else {
            Applies::No
        }
    } else if let Some(not_principal) = statement.get("NotPrincipal") {
        let named = entries(not_principal, requester);
        if named.contains(&Named::Yes) && matches!(requester, Requester::Service(_)) || principal_is_everyone(not_principal) {
            Applies::No
        } else if named.contains(&Named::SomeSession) {
            Applies::Maybe(vec!["the NotPrincipal names a session of the role by its session name".to_owned()])
        } else {
            // A role session escapes a NotPrincipal only when the session itself is named.
            Applies::Yes
        }
    } else {
        // A bucket policy statement must name a principal: S3 refuses one without.
        Applies::No
    }
}

fn principal_is_everyone(principal: &Value) -> bool {
    match principal {
        Value::String(s) => s == "*",
        Value::Object(object) => object.get("AWS").is_some_and(|v| strings(v).contains(&"*")),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ROLE: Requester<'static> = Requester::RoleSession { account: "123456789012", role_arn: "arn:aws:iam::123456789012:role/team/Vendor" };
    const DELIVERY: Requester<'static> = Requester::Service("delivery.logs.amazonaws.com");

    fn applies(statement: Value, effect: Effect, requester: &Requester<'_>) -> Applies {
        principal_applies(statement.as_object().unwrap(), effect, requester)
    }

    #[test]
    fn principal_cases() {
        let maybe = |a: &Applies| matches!(a, Applies::Maybe(_));
        let cases: Vec<(Value, Effect, Requester<'static>, &str)> = vec![
            (json!({"Principal": "*"}), Effect::Deny, DELIVERY, "yes"),
            (json!({"Principal": {"AWS": "*"}}), Effect::Deny, DELIVERY, "yes"),
            (json!({"Principal": {"Service": "DELIVERY.logs.amazonaws.com"}}), Effect::Deny, DELIVERY, "yes"),
            (json!({"Principal": {"Service": "cloudtrail.amazonaws.com"}}), Effect::Deny, DELIVERY, "no"),
            (json!({"Principal": {"AWS": "123456789012"}}), Effect::Deny, DELIVERY, "no"),
            (json!({"Principal": {"AWS": "arn:aws:iam::123456789012:role/team/Vendor"}}), Effect::Allow, ROLE, "yes"),
            (json!({"Principal": {"AWS": "arn:aws:iam::123456789012:role/Vendor"}}), Effect::Allow, ROLE, "no"),
            (json!({"Principal": {"AWS": "123456789012"}}), Effect::Deny, ROLE, "yes"),
            (json!({"Principal": {"AWS": "arn:aws:iam::123456789012:root"}}), Effect::Deny, ROLE, "yes"),
            (json!({"Principal": {"AWS": "arn:aws:iam::123456789012:root"}}), Effect::Allow, ROLE, "no"),
            (json!({"Principal": {"AWS": "arn:aws:sts::123456789012:assumed-role/Vendor/s1"}}), Effect::Deny, ROLE, "maybe"),
            (json!({"Principal": {"AWS": ["arn:aws:iam::999999999999:root"]}}), Effect::Deny, ROLE, "no"),
            (json!({"NotPrincipal": {"Service": "delivery.logs.amazonaws.com"}}), Effect::Deny, DELIVERY, "no"),
            (json!({"NotPrincipal": {"AWS": "arn:aws:iam::123456789012:root"}}), Effect::Deny, DELIVERY, "yes"),
            (
                json!({"NotPrincipal": {"AWS": ["arn:aws:iam::123456789012:role/team/Vendor", "arn:aws:iam::123456789012:root"]}}),
                Effect::Deny,
                ROLE,
                "yes",
            ),
            (json!({"NotPrincipal": {"AWS": "arn:aws:sts::123456789012:assumed-role/Vendor/s1"}}), Effect::Deny, ROLE, "maybe"),
            (json!({"NotPrincipal": "*"}), Effect::Deny, ROLE, "no"),
            (json!({}), Effect::Deny, ROLE, "no"),
        ];
        for (statement, effect, requester, expected) in cases {
            let got = applies(statement.clone(), effect, &requester);
            let word = match &got {
                Applies::Yes => "yes",
                Applies::No => "no",
                a if maybe(a) => "maybe",
                _ => unreachable!(),
            };
            assert_eq!(word, expected, "{statement} {effect:?} {requester:?}");
        }
    }
}
