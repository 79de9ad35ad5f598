//! A statement's `Condition` judged against what flowgate knows of a request: true, false, or
//! unknown (naming the keys it could not judge).
//!
//! The rules, from the IAM User Guide:
//! - "If the key that you specify in a policy condition is not present in the request context,
//!   the values do not match and the condition is *false*. If the policy condition requires that
//!   the key is *not* matched, such as `StringNotLike` or `ArnNotLike`, and the right key is not
//!   present, the condition is *true*. This logic applies to all condition operators except
//!   ...IfExists and Null check." ("IAM JSON policy elements: Condition operators",
//!   https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html)
//! - `...IfExists`: "If the key is not present, evaluate the condition element as true"; `Null`:
//!   `"true"` holds when the key is absent, `"false"` when it is present (same page).
//! - "If your policy statement has multiple condition operators, the condition operators are
//!   evaluated using a logical AND"; so are several keys under one operator; several values of one
//!   key are ORed, and NORed for a negated operator ("Conditions with multiple context keys or
//!   values", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_multi-value-conditions.html).
//! - `ForAllValues:` holds for an absent key (there is no value that fails), `ForAnyValue:` does
//!   not ("Set operators for multivalued context keys", same guide).
//! - ARN operators compare "each of the six colon-delimited components of the ARN ... separately
//!   and each can include ... wildcards" (condition operators page).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::role_policy::glob::glob_match;

/// Three-valued truth: what flowgate can say about a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truth {
    True,
    False,
    Unknown,
}

impl Truth {
    fn of(b: bool) -> Truth {
        if b { Truth::True } else { Truth::False }
    }

    fn not(self) -> Truth {
        match self {
            Truth::True => Truth::False,
            Truth::False => Truth::True,
            Truth::Unknown => Truth::Unknown,
        }
    }

    /// Logical OR over `items` (false when there are none).
    fn any(items: impl IntoIterator<Item = Truth>) -> Truth {
        let mut result = Truth::False;
        for item in items {
            match item {
                Truth::True => return Truth::True,
                Truth::Unknown => result = Truth::Unknown,
                Truth::False => {}
            }
        }
        result
    }

    /// Logical AND over `items` (true when there are none).
    fn all(items: impl IntoIterator<Item = Truth>) -> Truth {
        Truth::any(items.into_iter().map(Truth::not)).not()
    }
}

/// What a request carries for one condition key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyValue {
    /// Not in the request context.
    Absent,
    /// Present with these values (one, for a single-valued key).
    Known(Vec<String>),
    /// Present: an ARN of which partition, service and account are known, the region only when
    /// `Some`, the resource part never (the log delivery service's `aws:SourceArn`).
    PartialArn { partition: String, service: String, region: Option<String>, account: String },
    /// Whether it is present, or its value, is not known to flowgate.
    Unknown,
}

/// The keys flowgate knows for one kind of request; every other key is unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    /// By lower-case name (condition key names are case-insensitive).
    keys: BTreeMap<String, KeyValue>,
    /// Lower-case prefixes of key families absent from the request (`aws:principaltag/`).
    absent_prefixes: Vec<String>,
}

impl RequestContext {
    pub fn with(mut self, key: &str, value: KeyValue) -> Self {
        self.keys.insert(key.to_ascii_lowercase(), value);
        self
    }

    pub fn known(self, key: &str, value: &str) -> Self {
        self.with(key, KeyValue::Known(vec![value.to_owned()]))
    }

    pub fn absent(self, keys: &[&str]) -> Self {
        keys.iter().fold(self, |context, key| context.with(key, KeyValue::Absent))
    }

    pub fn absent_family(mut self, prefix: &str) -> Self {
        self.absent_prefixes.push(prefix.to_ascii_lowercase());
        self
    }

    pub fn value(&self, key: &str) -> KeyValue {
        let lower = key.to_ascii_lowercase();
        if let Some(value) = self.keys.get(&lower) {
            return value.clone();
        }
        if self.absent_prefixes.iter().any(|p| lower.starts_with(p.as_str())) { KeyValue::Absent } else { KeyValue::Unknown }
    }
}

/// A `Condition` element's verdict for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConditionVerdict {
    /// No condition, or every condition holds.
    Holds,
    /// Some condition is false: the statement does not apply.
    Fails,
    /// Whether it holds depends on what flowgate cannot know: these keys (or operators).
    Unknown(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOperator {
    ForAllValues,
    ForAnyValue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    String { ignore_case: bool, like: bool },
    Numeric(Comparison),
    Date,
    Bool,
    Binary,
    IpAddress,
    Arn,
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comparison {
    Equals,
    LessThan,
    LessThanEquals,
    GreaterThan,
    GreaterThanEquals,
}

/// A condition operator: `[ForAllValues:|ForAnyValue:]Base[IfExists]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Operator {
    set: Option<SetOperator>,
    family: Family,
    negated: bool,
    if_exists: bool,
}

impl Operator {
    fn parse(name: &str) -> Option<Operator> {
        let (set, rest) = if let Some(rest) = name.strip_prefix("ForAllValues:") {
            (Some(SetOperator::ForAllValues), rest)
        } else if let Some(rest) = name.strip_prefix("ForAnyValue:") {
            (Some(SetOperator::ForAnyValue), rest)
        } else {
            (None, name)
        };
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (rest, false),
        };
        let (family, negated) = base_operator(base)?;
        if family == Family::Null && (if_exists || set.is_some()) {
            return None;
        }
        Some(Operator { set, family, negated, if_exists })
    }
}

fn base_operator(base: &str) -> Option<(Family, bool)> {
    let string = |ignore_case, like| Family::String { ignore_case, like };
    let comparison = |suffix: &str| match suffix {
        "Equals" => Some((Comparison::Equals, false)),
        "NotEquals" => Some((Comparison::Equals, true)),
        "LessThan" => Some((Comparison::LessThan, false)),
        "LessThanEquals" => Some((Comparison::LessThanEquals, false)),
        "GreaterThan" => Some((Comparison::GreaterThan, false)),
        "GreaterThanEquals" => Some((Comparison::GreaterThanEquals, false)),
        _ => None,
    };
    Some(match base {
        "StringEquals" => (string(false, false), false),
        "StringNotEquals" => (string(false, false), true),
        "StringEqualsIgnoreCase" => (string(true, false), false),
        "StringNotEqualsIgnoreCase" => (string(true, false), true),
        "StringLike" => (string(false, true), false),
        "StringNotLike" => (string(false, true), true),
        "Bool" => (Family::Bool, false),
        "BinaryEquals" => (Family::Binary, false),
        "IpAddress" => (Family::IpAddress, false),
        "NotIpAddress" => (Family::IpAddress, true),
        "ArnEquals" | "ArnLike" => (Family::Arn, false),
        "ArnNotEquals" | "ArnNotLike" => (Family::Arn, true),
        "Null" => (Family::Null, false),
        _ => {
            if let Some((cmp, negated)) = base.strip_prefix("Numeric").and_then(comparison) {
                (Family::Numeric(cmp), negated)
            } else if let Some((_, negated)) = base.strip_prefix("Date").and_then(comparison) {
                (Family::Date, negated)
            } else {
                return None;
            }
        }
    })
}

/// The strings of a condition value: a string, a boolean or a number, or an array of them.
fn policy_values(value: &Value) -> Option<Vec<String>> {
    let one = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    match value {
        Value::Array(items) => items.iter().map(one).collect(),
        other => one(other).map(|v| vec![v]),
    }
}

/// Judges a statement's `Condition` element (absent: holds).
pub fn evaluate_condition(condition: Option<&Value>, context: &RequestContext) -> ConditionVerdict {
    let operators = match condition {
        None | Some(Value::Null) => return ConditionVerdict::Holds,
        Some(Value::Object(operators)) => operators,
        Some(_) => return ConditionVerdict::Unknown(vec!["the Condition element".to_owned()]),
    };
    let mut unknown = Vec::new();
    for (name, keys) in operators {
        let (Some(operator), Value::Object(keys)) = (Operator::parse(name), keys) else {
            unknown.push(format!("operator {name}"));
            continue;
        };
        for (key, value) in keys {
            let truth = match policy_values(value) {
                Some(values) => key_truth(operator, &context.value(key), &values),
                None => Truth::Unknown,
            };
            match truth {
                Truth::False => return ConditionVerdict::Fails,
                Truth::Unknown => unknown.push(key.clone()),
                Truth::True => {}
            }
        }
    }
    if unknown.is_empty() { ConditionVerdict::Holds } else { ConditionVerdict::Unknown(unknown) }
}

/// One key of one operator against the request's value.
fn key_truth(operator: Operator, value: &KeyValue, policy: &[String]) -> Truth {
    if operator.family == Family::Null {
        let absent = match value {
            KeyValue::Absent => true,
            KeyValue::Known(_) | KeyValue::PartialArn { .. } => false,
            KeyValue::Unknown => return Truth::Unknown,
        };
        return Truth::any(policy.iter().map(|p| Truth::of(p.eq_ignore_ascii_case(if absent { "true" } else { "false" }))));
    }
    let satisfied = |one: &dyn Fn(&str) -> Truth| {
        let positive = Truth::any(policy.iter().map(|p| one(p)));
        if operator.negated { positive.not() } else { positive }
    };
    match value {
        KeyValue::Unknown => Truth::Unknown,
        KeyValue::Absent if operator.if_exists => Truth::True,
        KeyValue::Absent => match operator.set {
            Some(SetOperator::ForAllValues) => Truth::True,
            Some(SetOperator::ForAnyValue) => Truth::False,
            None => Truth::of(operator.negated),
        },
        KeyValue::Known(values) => {
            let each = values.iter().map(|v| satisfied(&|p: &str| value_matches(operator.family, p, v)));
            match operator.set {
                Some(SetOperator::ForAllValues) => Truth::all(each),
                _ => Truth::any(each),
            }
        }
        KeyValue::PartialArn { partition, service, region, account } => {
            let parts = [Some("arn"), Some(partition.as_str()), Some(service.as_str()), region.as_deref(), Some(account.as_str()), None];
            satisfied(&|p: &str| partial_arn_matches(operator.family, p, &parts))
        }
    }
}

/// Whether the request's value `v` matches the policy value `p`, in the positive sense.
fn value_matches(family: Family, p: &str, v: &str) -> Truth {
    if p.contains("${") {
        // A policy variable: its value is another key of the request, not substituted here.
        return Truth::Unknown;
    }
    match family {
        Family::String { like: true, .. } => Truth::of(glob_match(p, v)),
        Family::String { ignore_case: true, .. } => Truth::of(p.eq_ignore_ascii_case(v)),
        Family::String { .. } | Family::Binary => Truth::of(p == v),
        Family::Bool => Truth::of(p.eq_ignore_ascii_case(v)),
        Family::Arn => {
            let (ps, vs): (Vec<&str>, Vec<&str>) = (p.splitn(6, ':').collect(), v.splitn(6, ':').collect());
            Truth::of(ps.len() == 6 && vs.len() == 6 && ps.iter().zip(&vs).all(|(p, v)| glob_match(p, v)))
        }
        Family::Numeric(cmp) => match (p.parse::<f64>(), v.parse::<f64>()) {
            (Ok(p), Ok(v)) => Truth::of(match cmp {
                Comparison::Equals => v == p,
                Comparison::LessThan => v < p,
                Comparison::LessThanEquals => v <= p,
                Comparison::GreaterThan => v > p,
                Comparison::GreaterThanEquals => v >= p,
            }),
            _ => Truth::Unknown,
        },
        Family::Date | Family::IpAddress | Family::Null => Truth::Unknown,
    }
}

/// Whether the policy value `p` matches an ARN known only in part (`None`: any value), in the
/// positive sense: each of its six components on its own.
fn partial_arn_matches(family: Family, p: &str, parts: &[Option<&str>; 6]) -> Truth {
    if p.contains("${") {
        return Truth::Unknown;
    }
    let all_stars = |s: &str| !s.is_empty() && s.chars().all(|c| c == '*');
    match family {
        Family::Arn => {
            let ps: Vec<&str> = p.splitn(6, ':').collect();
            if ps.len() != 6 {
                return Truth::False;
            }
            Truth::all(ps.iter().zip(parts).map(|(p, part)| match part {
                Some(known) => Truth::of(glob_match(p, known)),
                None if all_stars(p) => Truth::True,
                None => Truth::Unknown,
            }))
        }
        Family::String { like: true, .. } if all_stars(p) => Truth::True,
        _ => Truth::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn context() -> RequestContext {
        RequestContext::default()
            .known("aws:SourceAccount", "123456789012")
            .known("aws:PrincipalIsAWSService", "true")
            .absent(&["aws:PrincipalOrgID", "aws:SourceVpc"])
            .absent_family("aws:PrincipalTag/")
            .with(
                "aws:SourceArn",
                KeyValue::PartialArn { partition: "aws".into(), service: "logs".into(), region: None, account: "123456789012".into() },
            )
    }

    fn verdict(condition: Value) -> ConditionVerdict {
        evaluate_condition(Some(&condition), &context())
    }

    // Over 80 lines: a table of cases, one row each.
    #[test]
    fn condition_cases() {
        use ConditionVerdict::*;
        let unknown = |k: &str| Unknown(vec![k.to_owned()]);
        let cases: Vec<(&str, Value, ConditionVerdict)> = vec![
            ("equals", json!({"StringEquals": {"aws:SourceAccount": "123456789012"}}), Holds),
            ("key name case", json!({"StringEquals": {"AWS:sourceaccount": "123456789012"}}), Holds),
            ("other account", json!({"StringEquals": {"aws:SourceAccount": "999999999999"}}), Fails),
            ("one of several", json!({"StringEquals": {"aws:SourceAccount": ["1", "123456789012"]}}), Holds),
            ("not equals: NOR", json!({"StringNotEquals": {"aws:SourceAccount": ["1", "123456789012"]}}), Fails),
            ("absent equals", json!({"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}), Fails),
            ("absent not equals", json!({"StringNotEquals": {"aws:PrincipalOrgID": "o-abc"}}), Holds),
            ("absent not equals if exists", json!({"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-abc"}}), Holds),
            ("absent equals if exists", json!({"StringEqualsIfExists": {"aws:SourceVpc": "vpc-1"}}), Holds),
            ("absent not like", json!({"StringNotLike": {"aws:SourceVpc": "vpc-*"}}), Holds),
            ("absent tag family", json!({"StringEquals": {"aws:PrincipalTag/team": "net"}}), Fails),
            ("absent for all", json!({"ForAllValues:StringEquals": {"aws:SourceVpc": "vpc-1"}}), Holds),
            ("absent for any", json!({"ForAnyValue:StringEquals": {"aws:SourceVpc": "vpc-1"}}), Fails),
            ("not in the context", json!({"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": "o-1/*"}}), unknown("aws:PrincipalOrgPaths")),
            ("null true on absent", json!({"Null": {"aws:SourceVpc": "true"}}), Holds),
            ("null false on present", json!({"Null": {"aws:SourceAccount": "false"}}), Holds),
            ("null true on present", json!({"Null": {"aws:SourceAccount": "true"}}), Fails),
            ("bool", json!({"Bool": {"aws:PrincipalIsAWSService": "false"}}), Fails),
            ("bool json value", json!({"Bool": {"aws:PrincipalIsAWSService": true}}), Holds),
            ("unknown key", json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}), unknown("aws:SourceIp")),
            ("arn like any region", json!({"ArnLike": {"aws:SourceArn": "arn:aws:logs:*:123456789012:*"}}), Holds),
            ("arn like other account", json!({"ArnLike": {"aws:SourceArn": "arn:aws:logs:*:999999999999:*"}}), Fails),
            ("arn like one region", json!({"ArnLike": {"aws:SourceArn": "arn:aws:logs:eu-west-1:123456789012:*"}}), unknown("aws:SourceArn")),
            ("arn not like other service", json!({"ArnNotLike": {"aws:SourceArn": "arn:aws:s3:::*"}}), Holds),
            ("string like star", json!({"StringLike": {"aws:SourceArn": "*"}}), Holds),
            ("unknown operator", json!({"StringSortOf": {"aws:SourceAccount": "1"}}), unknown("operator StringSortOf")),
            ("policy variable", json!({"StringEquals": {"aws:SourceAccount": "${aws:PrincipalAccount}"}}), unknown("aws:SourceAccount")),
            ("and: a false wins", json!({"StringEquals": {"aws:SourceAccount": "1"}, "IpAddress": {"aws:SourceIp": "1.2.3.4"}}), Fails),
            (
                "documented exemption",
                json!({"StringNotEqualsIfExists": {"aws:SourceVpc": "vpc-111bbb22"}, "BoolIfExists": {"aws:PrincipalIsAWSService": "false"}}),
                Fails,
            ),
        ];
        for (name, condition, expected) in cases {
            assert_eq!(verdict(condition), expected, "{name}");
        }
        assert_eq!(evaluate_condition(None, &context()), Holds);
        assert_eq!(evaluate_condition(Some(&json!({})), &context()), Holds);
    }

    #[test]
    fn numeric_and_for_all_values_on_known_values() {
        let context = RequestContext::default().known("s3:max-keys", "10").with("aws:TagKeys", KeyValue::Known(vec!["a".into(), "b".into()]));
        let judge = |c: Value| evaluate_condition(Some(&c), &context);
        assert_eq!(judge(json!({"NumericLessThanEquals": {"s3:max-keys": "10"}})), ConditionVerdict::Holds);
        assert_eq!(judge(json!({"NumericGreaterThan": {"s3:max-keys": 10}})), ConditionVerdict::Fails);
        assert_eq!(judge(json!({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b", "c"]}})), ConditionVerdict::Holds);
        assert_eq!(judge(json!({"ForAllValues:StringEquals": {"aws:TagKeys": ["a"]}})), ConditionVerdict::Fails);
        assert_eq!(judge(json!({"ForAnyValue:StringEquals": {"aws:TagKeys": ["b"]}})), ConditionVerdict::Holds);
    }
}
