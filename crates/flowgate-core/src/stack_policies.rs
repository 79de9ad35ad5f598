//! The inline policies a role stack's template gives its role, rendered from the template with
//! the deploy's values as CloudFormation renders them, so that their size can be judged against
//! IAM's limit before any call (`crate::limits`).
//!
//! Both kinds of inline policy count (IAM sums every inline policy of a role): a Role's own
//! `Policies`, and an `AWS::IAM::Policy` (or `AWS::IAM::RolePolicy`) attached to it, which
//! CloudFormation writes with PutRolePolicy. The intrinsic functions rendered are the ones whose
//! result depends only on parameters, pseudo parameters and conditions (`Ref`, `Fn::If`,
//! `Fn::Join`, `Fn::Split`, `Fn::Sub`, `Fn::Select`); a document that uses anything else
//! (`Fn::GetAtt`, `Fn::ImportValue`, a value not known yet) is "not renderable" and left out of
//! the sum, which then only errs towards allowing the deploy.

use serde_json::{Map, Value};

use super::stack_template::{Bound, Operand, TemplateResource};

/// Nested intrinsic functions deeper than this are not rendered (CloudFormation's own templates
/// stay far below; the bound keeps a hostile template from exhausting the stack).
const MAX_DEPTH: usize = 64;

/// One inline policy the deploy gives the role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlinePolicy {
    /// Where the template declares it: the logical id of an `AWS::IAM::Policy`, or
    /// `Role.Policies[0]` for a Role's own.
    pub source: String,
    /// Its size as IAM counts it (characters of the JSON document without whitespace); `None`
    /// when the document cannot be rendered locally.
    pub chars: Option<usize>,
}

/// IAM's count of a policy document: its characters without whitespace ("IAM doesn't count white
/// space when calculating the size of a policy", IAM User Guide, "IAM and AWS STS quotas").
pub fn policy_chars(document: &Value) -> usize {
    document.to_string().chars().filter(|c| !c.is_whitespace()).count()
}

/// A rendered value: JSON, or `AWS::NoValue` (its key or list member is dropped).
enum Rendered {
    Value(Value),
    NoValue,
}

impl Bound<'_> {
    /// The logical ids of the template's IAM roles.
    pub fn roles(&self) -> Vec<&str> {
        self.template().resources.iter().filter(|r| r.resource_type == "AWS::IAM::Role").map(|r| r.logical_id.as_str()).collect()
    }

    /// The name the deploy gives the role `role` (a logical id), when it renders locally.
    pub fn role_name(&self, role: &str) -> Option<String> {
        let resource = self.template().resources.iter().find(|r| r.logical_id == role)?;
        match self.render(&resource.definition["Properties"]["RoleName"], 0)? {
            Rendered::Value(Value::String(name)) => Some(name),
            _ => None,
        }
    }

    /// The inline policies the deploy gives the role `role` (a logical id): its own `Policies`
    /// and every policy resource attached to it that exists with these values (one whose
    /// condition cannot be evaluated is left out).
    pub fn role_inline_policies(&self, role: &str) -> Vec<InlinePolicy> {
        let Some(role_resource) = self.template().resources.iter().find(|r| r.logical_id == role) else {
            return Vec::new();
        };
        let role_name = self.role_name(role);
        let mut policies = Vec::new();
        if let Some(own) = role_resource.definition["Properties"]["Policies"].as_array() {
            for (index, policy) in own.iter().enumerate() {
                policies.push(InlinePolicy { source: format!("{role}.Policies[{index}]"), chars: self.document_chars(&policy["PolicyDocument"]) });
            }
        }
        for resource in &self.template().resources {
            if self.exists(resource) == Some(true) && self.attaches_to(resource, role, role_name.as_deref()) {
                policies.push(InlinePolicy {
                    source: resource.logical_id.clone(),
                    chars: self.document_chars(&resource.definition["Properties"]["PolicyDocument"]),
                });
            }
        }
        policies
    }

    /// Whether a policy resource is attached to the role: `Roles: [!Ref Role]` (or the role's
    /// name), or an `AWS::IAM::RolePolicy`'s `RoleName`.
    fn attaches_to(&self, resource: &TemplateResource, role: &str, role_name: Option<&str>) -> bool {
        let names_role = |entry: &Value| {
            entry.get("Ref").and_then(Value::as_str) == Some(role)
                || matches!((self.render(entry, 0), role_name), (Some(Rendered::Value(Value::String(name))), Some(wanted)) if name == wanted)
        };
        let properties = &resource.definition["Properties"];
        match resource.resource_type.as_str() {
            "AWS::IAM::Policy" => properties["Roles"].as_array().is_some_and(|roles| roles.iter().any(names_role)),
            "AWS::IAM::RolePolicy" => names_role(&properties["RoleName"]),
            _ => false,
        }
    }

    fn document_chars(&self, document: &Value) -> Option<usize> {
        match self.render(document, 0)? {
            Rendered::Value(value @ Value::Object(_)) => Some(policy_chars(&value)),
            _ => None,
        }
    }

    fn render(&self, expr: &Value, depth: usize) -> Option<Rendered> {
        if depth > MAX_DEPTH {
            return None;
        }
        match expr {
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    if let Rendered::Value(value) = self.render(item, depth + 1)? {
                        out.push(value);
                    }
                }
                Some(Rendered::Value(Value::Array(out)))
            }
            Value::Object(map) => match map.iter().next() {
                Some((key, args)) if map.len() == 1 && (key == "Ref" || key.starts_with("Fn::")) => self.function(key, args, depth),
                _ => {
                    let mut out = Map::new();
                    for (key, value) in map {
                        if let Rendered::Value(value) = self.render(value, depth + 1)? {
                            out.insert(key.clone(), value);
                        }
                    }
                    Some(Rendered::Value(Value::Object(out)))
                }
            },
            scalar => Some(Rendered::Value(scalar.clone())),
        }
    }

    fn function(&self, name: &str, args: &Value, depth: usize) -> Option<Rendered> {
        let list = || args.as_array().map(Vec::as_slice).unwrap_or_default();
        let text = |expr: &Value| match self.render(expr, depth + 1)? {
            Rendered::Value(Value::String(s)) => Some(s),
            _ => None,
        };
        let strings = |expr: &Value| match self.render(expr, depth + 1)? {
            Rendered::Value(Value::Array(items)) => items.into_iter().map(|i| i.as_str().map(str::to_owned)).collect::<Option<Vec<String>>>(),
            _ => None,
        };
        let value = match (name, list()) {
            ("Ref", _) => return self.reference(args.as_str()?),
            ("Fn::If", [condition, yes, no]) => {
                let chosen = if self.condition(condition.as_str()?)? { yes } else { no };
                return self.render(chosen, depth + 1);
            }
            ("Fn::Join", [delimiter, items]) => Value::String(strings(items)?.join(delimiter.as_str()?)),
            ("Fn::Split", [delimiter, source]) => {
                Value::Array(text(source)?.split(delimiter.as_str()?).map(|s| Value::String(s.to_owned())).collect())
            }
            ("Fn::Select", [index, items]) => {
                let index = match index {
                    Value::Number(n) => usize::try_from(n.as_u64()?).ok()?,
                    other => text(other)?.parse().ok()?,
                };
                Value::String(strings(items)?.into_iter().nth(index)?)
            }
            ("Fn::Sub", _) => Value::String(self.substitute(args, depth)?),
            _ => return None,
        };
        Some(Rendered::Value(value))
    }

    fn reference(&self, name: &str) -> Option<Rendered> {
        if name == "AWS::NoValue" {
            return Some(Rendered::NoValue);
        }
        if let Some(value) = self.pseudo(name) {
            return Some(Rendered::Value(Value::String(value.to_owned())));
        }
        // Another pseudo parameter, a resource's id, a value not known yet: not renderable.
        Some(Rendered::Value(match self.parameter(name)? {
            Operand::Text(text) => Value::String(text),
            Operand::List(items) => Value::Array(items.into_iter().map(Value::String).collect()),
        }))
    }

    /// `Fn::Sub`: `${Name}` from its own variables, else a parameter or pseudo parameter;
    /// `${!Literal}` stays `${Literal}`; `${Resource.Attribute}` is not renderable.
    fn substitute(&self, args: &Value, depth: usize) -> Option<String> {
        let (text, variables) = match args {
            Value::String(text) => (text.as_str(), None),
            Value::Array(items) => match items.as_slice() {
                [Value::String(text), Value::Object(variables)] => (text.as_str(), Some(variables)),
                _ => return None,
            },
            _ => return None,
        };
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}')?;
            let name = &after[..end];
            let value = if let Some(literal) = name.strip_prefix('!') {
                Rendered::Value(Value::String(format!("${{{literal}}}")))
            } else if let Some(expr) = variables.and_then(|v| v.get(name)) {
                self.render(expr, depth + 1)?
            } else if name.contains('.') {
                return None;
            } else {
                self.reference(name)?
            };
            match value {
                Rendered::Value(Value::String(s)) => out.push_str(&s),
                _ => return None,
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack_plan::TEMPLATE;
    use crate::stack_template::{Inputs, parse_template};

    fn inputs(buckets: &[&str], partition: &str, compliance: bool) -> Inputs {
        let params = vec![
            ("VendorAccountId", "111122223333".to_owned()),
            ("ExternalId", "ext-1234567890abcdef".to_owned()),
            ("RoleName", "FlowgateCrossAccountRole".to_owned()),
            ("StorageAccess", (!buckets.is_empty()).to_string()),
            ("StorageBucketNames", buckets.join(",")),
            ("ComplianceAccountId", if compliance { "444455556666".to_owned() } else { String::new() }),
            ("ReadWrite", "false".to_owned()),
        ];
        Inputs::new(&params, partition, Some("us-east-1"), "123456789012", "flowgate-cross-account")
    }

    /// The storage policy as CloudFormation renders it from the shipped template: one object ARN
    /// and one bucket ARN per bucket, in the partition's literal branch.
    #[test]
    fn the_storage_policy_renders_as_cloudformation_renders_it() {
        let template = parse_template(TEMPLATE).unwrap();
        let values = inputs(&["b-one", "b-two"], "aws-us-gov", false);
        let bound = Bound::new(&template, &values);
        let storage = template.resources.iter().find(|r| r.logical_id == "StorageReadPolicy").unwrap();
        let Some(Rendered::Value(document)) = bound.render(&storage.definition["Properties"]["PolicyDocument"], 0) else {
            panic!("the storage policy renders")
        };
        assert_eq!(document["Statement"][0]["Resource"], serde_json::json!(["arn:aws-us-gov:s3:::b-one/*", "arn:aws-us-gov:s3:::b-two/*"]));
        assert_eq!(document["Statement"][1]["Resource"], serde_json::json!(["arn:aws-us-gov:s3:::b-one", "arn:aws-us-gov:s3:::b-two"]));
        assert_eq!(document["Statement"][1]["Action"], serde_json::json!(["s3:ListBucket", "s3:GetBucketLocation"]));
    }

    #[test]
    fn the_roles_inline_policies_follow_the_conditions() {
        let template = parse_template(TEMPLATE).unwrap();
        let none = inputs(&[], "aws", false);
        let bound = Bound::new(&template, &none);
        assert_eq!(bound.roles(), ["CrossAccountRole"]);
        assert_eq!(bound.role_name("CrossAccountRole").as_deref(), Some("FlowgateCrossAccountRole"));
        let sources = |bound: &Bound| bound.role_inline_policies("CrossAccountRole").into_iter().map(|p| p.source).collect::<Vec<_>>();
        assert_eq!(sources(&bound), ["DiscoveryPolicy"]);
        let all = inputs(&["b-one"], "aws", true);
        let bound = Bound::new(&template, &all);
        assert_eq!(sources(&bound), ["DiscoveryPolicy", "StorageReadPolicy", "CompliancePolicy"]);
        assert!(bound.role_inline_policies("CrossAccountRole").iter().all(|p| p.chars.is_some()), "every shipped policy renders");
        // The discovery policy is the shipped file, whitespace not counted.
        let discovery: Value = serde_json::from_str(crate::stack_plan::DISCOVERY_POLICY).unwrap();
        assert_eq!(bound.role_inline_policies("CrossAccountRole")[0].chars, Some(policy_chars(&discovery)));
        assert!(bound.role_inline_policies("NoSuchRole").is_empty());
    }

    /// Each added bucket costs its two ARNs (`"arn:aws:s3:::NAME/*",` and `"arn:aws:s3:::NAME",`).
    #[test]
    fn a_bucket_costs_its_two_arns() {
        let template = parse_template(TEMPLATE).unwrap();
        let size = |buckets: &[&str]| {
            let values = inputs(buckets, "aws", false);
            Bound::new(&template, &values).role_inline_policies("CrossAccountRole").iter().filter_map(|p| p.chars).sum::<usize>()
        };
        let one = size(&["abc"]);
        assert_eq!(size(&["abc", "xyz"]) - one, r#","arn:aws:s3:::xyz/*","arn:aws:s3:::xyz""#.len());
    }

    #[test]
    fn what_cannot_be_rendered_locally_is_not_guessed() {
        let values = inputs(&[], "aws", false);
        let text = TEMPLATE.replace("Resource: \"*\"\n\n  # Per-bucket", "Resource: !GetAtt CrossAccountRole.Arn\n\n  # Per-bucket");
        let template = parse_template(&text).unwrap();
        let bound = Bound::new(&template, &values);
        assert_eq!(bound.role_inline_policies("CrossAccountRole")[0].chars, None);
        // Fn::Sub forms.
        let sub = serde_json::json!({"Fn::Sub": ["${A}-${!Literal}-${AWS::Partition}", {"A": {"Fn::Select": [1, ["x", "y"]]}}]});
        let Some(Rendered::Value(value)) = bound.render(&sub, 0) else { panic!("renders") };
        assert_eq!(value, "y-${Literal}-aws");
        assert!(bound.render(&serde_json::json!({"Fn::Sub": "${Role.Arn}"}), 0).is_none());
        let no_value = serde_json::json!({"a": {"Ref": "AWS::NoValue"}, "b": [1, {"Ref": "AWS::NoValue"}]});
        let Some(Rendered::Value(value)) = bound.render(&no_value, 0) else { panic!("renders") };
        assert_eq!(value, serde_json::json!({"b": [1]}));
    }
}
