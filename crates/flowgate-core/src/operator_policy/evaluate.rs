//! Whether an identity policy allows one request (an action on a resource), from the policy text
//! alone, as IAM evaluates the identity policies of one account (IAM User Guide, "Policy
//! evaluation logic"): an explicit Deny wins, then any Allow, else the request is implicitly
//! denied.
//!
//! Conditions are not evaluated. An Allow that carries a Condition is reported as conditional
//! (with the statements it depends on) so that a caller can say which requests rest on one; a Deny
//! is applied whatever its Condition, which can only report less as allowed.
//!
//! Matching follows IAM User Guide, "IAM JSON policy elements: Action" and "...: Resource": action
//! names match without regard to case, with `*` and `?`; resource ARNs match case-sensitively,
//! with wildcards inside the colon-separated segments, and only a `*` that ends its segment may
//! expand beyond the colon ("If the * wildcard is the last character of a resource ARN segment, it
//! can expand to match beyond the colon boundaries"). `role_policy` reads a whole ARN as one
//! string, which over-reports access; here the segment rule is kept, because this judges whether
//! a least-privilege policy suffices, and reading it more broadly than IAM would hide a gap.

use std::fmt;

use serde_json::Value;

/// What a policy says to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// An Allow statement without a Condition matches.
    Allowed,
    /// Only Allow statements with a Condition match (their labels: Sid, or `#index`).
    AllowedIf(Vec<String>),
    /// No statement matches.
    ImplicitDeny,
    /// A Deny statement matches (its label).
    ExplicitDeny(String),
}

impl Decision {
    /// Allowed, with or without a Condition.
    pub fn allows(&self) -> bool {
        matches!(self, Decision::Allowed | Decision::AllowedIf(_))
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Allowed => write!(f, "allowed"),
            Decision::AllowedIf(labels) => write!(f, "allowed if the condition of {} holds", labels.join(", ")),
            Decision::ImplicitDeny => write!(f, "not allowed by any statement"),
            Decision::ExplicitDeny(label) => write!(f, "denied by {label}"),
        }
    }
}

/// What `document` (a policy document: `Statement` an object or an array) says to `action` on
/// `resource` (an ARN, or `*` for an action that has no resource type).
pub fn decide(document: &Value, action: &str, resource: &str) -> Decision {
    let statements: Vec<&Value> = match document.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    };
    let mut unconditional = false;
    let mut conditional = Vec::new();
    for (index, statement) in statements.iter().enumerate() {
        if !covers_action(statement, action) || !covers_resource(statement, resource) {
            continue;
        }
        let label = statement.get("Sid").and_then(Value::as_str).map_or_else(|| format!("#{index}"), |sid| format!("Sid {sid}"));
        match statement.get("Effect").and_then(Value::as_str) {
            Some("Deny") => return Decision::ExplicitDeny(label),
            Some("Allow") if statement.get("Condition").is_some() => conditional.push(label),
            Some("Allow") => unconditional = true,
            _ => {}
        }
    }
    if unconditional {
        Decision::Allowed
    } else if !conditional.is_empty() {
        Decision::AllowedIf(conditional)
    } else {
        Decision::ImplicitDeny
    }
}

/// The strings of a string-or-array element (`None` when the element is absent).
fn strings(element: Option<&Value>) -> Option<Vec<&str>> {
    match element? {
        Value::String(s) => Some(vec![s.as_str()]),
        Value::Array(items) => Some(items.iter().filter_map(Value::as_str).collect()),
        _ => Some(Vec::new()),
    }
}

fn covers_action(statement: &Value, action: &str) -> bool {
    let action = action.to_ascii_lowercase();
    let matches = |patterns: Vec<&str>| patterns.iter().any(|p| action_match(&p.to_ascii_lowercase(), &action));
    match (strings(statement.get("Action")), strings(statement.get("NotAction"))) {
        (Some(patterns), _) => matches(patterns),
        (None, Some(excluded)) => !matches(excluded),
        (None, None) => false,
    }
}

fn covers_resource(statement: &Value, resource: &str) -> bool {
    let matches = |patterns: Vec<&str>| patterns.iter().any(|p| arn_match(p, resource));
    match (strings(statement.get("Resource")), strings(statement.get("NotResource"))) {
        (Some(patterns), _) => matches(patterns),
        (None, Some(excluded)) => !matches(excluded),
        (None, None) => false,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// `*`: any run of characters; `crosses` whether it may take a colon too.
    Any {
        crosses: bool,
    },
    /// `?`: one character (not a colon, in an ARN).
    One,
    Literal(char),
}

/// An action pattern (already in one case): wildcards take any character.
fn action_match(pattern: &str, action: &str) -> bool {
    let tokens: Vec<Token> = pattern
        .chars()
        .map(|c| match c {
            '*' => Token::Any { crosses: true },
            '?' => Token::One,
            c => Token::Literal(c),
        })
        .collect();
    wildcard_match(&tokens, action, false)
}

/// A resource pattern: wildcards stay in their segment, except a `*` that ends it.
pub fn arn_match(pattern: &str, resource: &str) -> bool {
    let chars: Vec<char> = pattern.chars().collect();
    let tokens: Vec<Token> = chars
        .iter()
        .enumerate()
        .map(|(i, &c)| match c {
            '*' => Token::Any { crosses: matches!(chars.get(i + 1), None | Some(':')) },
            '?' => Token::One,
            c => Token::Literal(c),
        })
        .collect();
    wildcard_match(&tokens, resource, true)
}

/// Whether `tokens` match all of `text`: the set of pattern positions reachable after each
/// character (position `tokens.len()` = the whole pattern matched).
fn wildcard_match(tokens: &[Token], text: &str, colon_bounds: bool) -> bool {
    let skip_stars = |states: &mut Vec<bool>| {
        for (i, token) in tokens.iter().enumerate() {
            if states[i] && matches!(token, Token::Any { .. }) {
                states[i + 1] = true;
            }
        }
    };
    let mut states = vec![false; tokens.len() + 1];
    states[0] = true;
    skip_stars(&mut states);
    for c in text.chars() {
        let bounded = colon_bounds && c == ':';
        let mut next = vec![false; tokens.len() + 1];
        for (i, token) in tokens.iter().enumerate().filter(|(i, _)| states[*i]) {
            match *token {
                Token::Any { crosses } if crosses || !bounded => next[i] = true,
                Token::One if !bounded => next[i + 1] = true,
                Token::Literal(p) if p == c => next[i + 1] = true,
                _ => {}
            }
        }
        skip_stars(&mut next);
        if !next.contains(&true) {
            return false;
        }
        states = next;
    }
    states[tokens.len()]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn resources_match_within_segments() {
        for (pattern, resource, expected) in [
            ("*", "arn:aws:s3:::b", true),
            ("*", "*", true),
            ("arn:aws:s3:::b", "*", false),
            ("arn:aws:s3:::b", "arn:aws:s3:::b", true),
            ("arn:aws:s3:::b", "arn:aws:s3:::B", false),
            ("arn:aws:s3:::b/*", "arn:aws:s3:::b/AWSLogs/1/x.log.gz", true),
            ("arn:aws:s3:::b/*", "arn:aws:s3:::b", false),
            ("arn:aws:cloudformation:*:*:stack/s/*", "arn:aws:cloudformation:us-east-1:123456789012:stack/s/*", true),
            ("arn:aws:cloudformation:*:123456789012:stack/s/*", "arn:aws:cloudformation:eu-west-1:210987654321:stack/s/*", false),
            ("arn:aws:cloudformation:*:123456789012:stack/s/*", "arn:aws:cloudformation:us-east-1:123456789012:stack/other/*", false),
            ("arn:aws:cloudformation:*:1:stackset/s:*", "arn:aws:cloudformation:us-east-1:1:stackset/s:8a2f", true),
            ("arn:aws:iam::*:role/R", "arn:aws:iam::123456789012:role/R", true),
            ("arn:aws:iam::*:role/R", "arn:aws:iam::123456789012:role/RR", false),
            // A `*` inside a segment stays in it; one that ends its segment may go on.
            ("arn:aws:iam::1*2:role/R", "arn:aws:iam::1:x:2:role/R", false),
            ("arn:aws:iam::1*:role/R", "arn:aws:iam::1:x:role/R", true),
            ("arn:aws:iam::1?2:role/R", "arn:aws:iam::1:2:role/R", false),
            ("arn:aws:iam::1?3:role/R", "arn:aws:iam::123:role/R", true),
        ] {
            assert_eq!(arn_match(pattern, resource), expected, "{pattern} vs {resource}");
        }
    }

    #[test]
    fn actions_match_without_regard_to_case() {
        assert!(action_match("s3:get*", "s3:getobject"));
        assert!(action_match("s3:get?bject", "s3:getobject"));
        assert!(!action_match("s3:get", "s3:getobject"));
        let policy = json!({"Statement": {"Effect": "Allow", "Action": "S3:GetObject", "Resource": "*"}});
        assert_eq!(decide(&policy, "s3:getObject", "arn:aws:s3:::b/k"), Decision::Allowed);
    }

    #[test]
    fn deny_wins_conditions_are_noted_and_nothing_else_allows() {
        let policy = json!({"Statement": [
            {"Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]},
            {"Sid": "Tagged", "Effect": "Allow", "Action": "ec2:DeleteFlowLogs", "Resource": "*",
             "Condition": {"StringEquals": {"aws:ResourceTag/flowgate:managed": "true"}}},
            {"Sid": "NotSecrets", "Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/secret/*"},
            {"Effect": "Allow", "NotAction": ["iam:*", "s3:*", "ec2:*"], "Resource": "*"},
            {"Effect": "Allow", "Action": "iam:GetRole", "NotResource": "arn:aws:iam::*:role/Admin"}
        ]});
        let cases = [
            ("s3:GetObject", "arn:aws:s3:::b/AWSLogs/x", Decision::Allowed),
            ("s3:GetObject", "arn:aws:s3:::b/secret/x", Decision::ExplicitDeny("Sid NotSecrets".into())),
            ("s3:GetObject", "arn:aws:s3:::c/x", Decision::ImplicitDeny),
            ("s3:PutObject", "arn:aws:s3:::b/x", Decision::ImplicitDeny),
            ("ec2:DeleteFlowLogs", "arn:aws:ec2:us-east-1:1:vpc-flow-log/fl-1", Decision::AllowedIf(vec!["Sid Tagged".into()])),
            ("sts:GetCallerIdentity", "*", Decision::Allowed),
            ("iam:PassRole", "*", Decision::ImplicitDeny),
            ("iam:GetRole", "arn:aws:iam::1:role/Vendor", Decision::Allowed),
            ("iam:GetRole", "arn:aws:iam::1:role/Admin", Decision::ImplicitDeny),
        ];
        for (action, resource, expected) in cases {
            let decision = decide(&policy, action, resource);
            assert_eq!(decision.allows(), matches!(expected, Decision::Allowed | Decision::AllowedIf(_)));
            assert_eq!(decision, expected, "{action} on {resource}");
        }
        assert_eq!(decide(&json!({}), "s3:GetObject", "*"), Decision::ImplicitDeny);
    }
}
