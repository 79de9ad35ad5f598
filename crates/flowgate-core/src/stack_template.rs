//! A CloudFormation template read locally: parsed (YAML with the short-form tags, or JSON),
//! checked before any AWS call, and compared with the stack's current template and parameters to
//! plan a deploy without asking CloudFormation (a change set is a mutating call: CreateChangeSet
//! on a stack that does not exist creates the stack in REVIEW_IN_PROGRESS).
//!
//! Which resources exist is decided by the template's Conditions. They are evaluated here for the
//! forms that depend only on parameters and pseudo parameters (Fn::Equals, Fn::Not, Fn::And,
//! Fn::Or, Condition references; Ref and Fn::Join as operands); anything else is "unknown", and
//! the plan says "may change" rather than guessing.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// The parameters flowgate passes to the stack (`StackParameters::to_api`): a template given
/// with `--template` must declare every one, or CloudFormation rejects the deploy.
pub const PASSED_PARAMETERS: &[&str] = &["VendorAccountId", "ExternalId", "RoleName", "StorageAccess", "StorageBucketNames"];

/// The short-form intrinsic function tags CloudFormation's YAML accepts (`!Ref`, `!Sub`, ...).
const FUNCTION_TAGS: &[&str] = &[
    "Base64",
    "Cidr",
    "FindInMap",
    "GetAtt",
    "GetAZs",
    "ImportValue",
    "Join",
    "Select",
    "Split",
    "Sub",
    "Transform",
    "And",
    "Equals",
    "If",
    "Not",
    "Or",
    "ToJsonString",
    "Length",
];

/// A parameter as the template declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterDecl {
    pub kind: String,
    pub default: Option<String>,
}

impl ParameterDecl {
    fn is_list(&self) -> bool {
        self.kind == "CommaDelimitedList" || self.kind.starts_with("List<")
    }
}

/// A resource of the template.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateResource {
    pub logical_id: String,
    pub resource_type: String,
    pub condition: Option<String>,
    /// The whole resource definition, intrinsic functions in their long (JSON) form.
    pub definition: Value,
}

/// A parsed template: what the local plan needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub parameters: BTreeMap<String, ParameterDecl>,
    pub conditions: Map<String, Value>,
    /// In the template's order.
    pub resources: Vec<TemplateResource>,
}

/// Parses and checks a template. The error is one sentence saying what is wrong.
pub fn parse_template(text: &str) -> Result<Template, String> {
    let document = to_json(text)?;
    let Value::Object(top) = document else {
        return Err("the template is not a mapping of sections (Parameters, Resources, ...)".to_owned());
    };
    let parameters = match top.get("Parameters") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Object(items)) => items
            .iter()
            .map(|(name, decl)| {
                let kind = decl.get("Type").and_then(Value::as_str).ok_or_else(|| format!("parameter {name} has no Type"))?;
                Ok((name.clone(), ParameterDecl { kind: kind.to_owned(), default: decl.get("Default").and_then(scalar_text) }))
            })
            .collect::<Result<_, String>>()?,
        Some(_) => return Err("its Parameters section is not a mapping".to_owned()),
    };
    let conditions = match top.get("Conditions") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(items)) => items.clone(),
        Some(_) => return Err("its Conditions section is not a mapping".to_owned()),
    };
    let resources = match top.get("Resources") {
        Some(Value::Object(items)) if !items.is_empty() => items
            .iter()
            .map(|(id, definition)| {
                let resource_type =
                    definition.get("Type").and_then(Value::as_str).ok_or_else(|| format!("resource {id} has no Type (e.g. Type: AWS::IAM::Role)"))?;
                let condition = match definition.get("Condition") {
                    None => None,
                    Some(Value::String(name)) if conditions.contains_key(name) => Some(name.clone()),
                    Some(Value::String(name)) => return Err(format!("resource {id} names the condition {name}, which Conditions does not define")),
                    Some(_) => return Err(format!("resource {id} has a Condition that is not a condition name")),
                };
                Ok(TemplateResource { logical_id: id.clone(), resource_type: resource_type.to_owned(), condition, definition: definition.clone() })
            })
            .collect::<Result<_, String>>()?,
        Some(Value::Object(_)) => return Err("its Resources section is empty: a template needs at least one resource".to_owned()),
        Some(_) => return Err("its Resources section is not a mapping of resources".to_owned()),
        None => return Err("it has no Resources section".to_owned()),
    };
    let missing: Vec<&str> = PASSED_PARAMETERS.iter().copied().filter(|p| !parameters.contains_key(*p)).collect();
    if !missing.is_empty() {
        return Err(format!("it does not declare the parameter(s) flowgate passes: {} (declare them under Parameters)", missing.join(", ")));
    }
    let unset: Vec<&str> = parameters
        .iter()
        .filter(|(name, decl)| decl.default.is_none() && !PASSED_PARAMETERS.contains(&name.as_str()))
        .map(|(n, _)| n.as_str())
        .collect();
    if !unset.is_empty() {
        return Err(format!("its parameter(s) {} have no Default and flowgate does not pass them (give them a Default)", unset.join(", ")));
    }
    Ok(Template { parameters, conditions, resources })
}

/// The template as JSON, YAML short-form tags turned into their long form (`!Ref X` ->
/// `{"Ref": "X"}`, `!GetAtt A.B` -> `{"Fn::GetAtt": ["A", "B"]}`, `!Sub s` -> `{"Fn::Sub": s}`).
pub fn to_json(text: &str) -> Result<Value, String> {
    if text.trim_start().starts_with('{') {
        return serde_json::from_str(text).map_err(|e| format!("it is not valid JSON: {e}"));
    }
    let yaml: serde_norway::Value = serde_norway::from_str(text).map_err(|e| format!("it is not valid YAML or JSON: {e}"))?;
    yaml_to_json(yaml)
}

fn yaml_to_json(yaml: serde_norway::Value) -> Result<Value, String> {
    use serde_norway::Value as Y;
    Ok(match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                // CloudFormation reads numbers as their text; NaN and infinities have no JSON form.
                serde_json::Number::from_f64(n.as_f64().unwrap_or(0.0)).map(Value::Number).unwrap_or_else(|| Value::String(n.to_string()))
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(yaml_to_json).collect::<Result<_, _>>()?),
        Y::Mapping(items) => {
            let mut map = Map::new();
            for (key, value) in items {
                let key = match key {
                    Y::String(s) => s,
                    Y::Bool(b) => b.to_string(),
                    Y::Number(n) => n.to_string(),
                    other => return Err(format!("it has a mapping key that is not a string: {other:?}")),
                };
                map.insert(key, yaml_to_json(value)?);
            }
            Value::Object(map)
        }
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let value = yaml_to_json(tagged.value)?;
            let mut map = Map::new();
            match name {
                "Ref" | "Condition" => {
                    map.insert(name.to_owned(), value);
                }
                "GetAtt" => {
                    let value = match value {
                        Value::String(s) => match s.split_once('.') {
                            Some((resource, attribute)) => Value::Array(vec![resource.into(), attribute.into()]),
                            None => return Err(format!("!GetAtt {s} is not RESOURCE.ATTRIBUTE")),
                        },
                        other => other,
                    };
                    map.insert("Fn::GetAtt".to_owned(), value);
                }
                _ if FUNCTION_TAGS.contains(&name) => {
                    map.insert(format!("Fn::{name}"), value);
                }
                _ => return Err(format!("it uses the tag {tag}, which is not a CloudFormation intrinsic function")),
            }
            Value::Object(map)
        }
    })
}

/// A scalar's text as CloudFormation compares it (`true`, `600`, `aws`).
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// What the conditions are evaluated against: the parameter values passed (a value that is not
/// known yet, such as an ExternalId still to be generated, is left out) and pseudo parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inputs {
    pub parameters: BTreeMap<String, String>,
    /// `AWS::Partition`, `AWS::Region`, `AWS::AccountId`, `AWS::StackName`: whichever are known.
    pub pseudo: BTreeMap<String, String>,
    /// Parameters whose value is decided only when applied (not their Default either).
    pub unknown: BTreeSet<String>,
}

impl Inputs {
    pub fn new(parameters: &[(&str, String)], partition: &str, region: Option<&str>, account: &str, stack: &str) -> Inputs {
        let mut pseudo = BTreeMap::new();
        pseudo.insert("AWS::Partition".to_owned(), partition.to_owned());
        pseudo.insert("AWS::AccountId".to_owned(), account.to_owned());
        pseudo.insert("AWS::StackName".to_owned(), stack.to_owned());
        if let Some(region) = region {
            pseudo.insert("AWS::Region".to_owned(), region.to_owned());
        }
        Inputs { parameters: parameters.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect(), pseudo, unknown: BTreeSet::new() }
    }

    /// The same, with this parameter's value not known yet.
    pub fn without(mut self, parameter: &str) -> Inputs {
        self.parameters.remove(parameter);
        self.unknown.insert(parameter.to_owned());
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Operand {
    Text(String),
    List(Vec<String>),
}

/// A template with the values it is deployed with.
pub struct Bound<'a> {
    template: &'a Template,
    inputs: &'a Inputs,
}

impl<'a> Bound<'a> {
    pub fn new(template: &'a Template, inputs: &'a Inputs) -> Self {
        Bound { template, inputs }
    }

    pub fn template(&self) -> &'a Template {
        self.template
    }

    /// A pseudo parameter's value (`AWS::Partition`, ...), when known.
    pub(crate) fn pseudo(&self, name: &str) -> Option<&'a str> {
        self.inputs.pseudo.get(name).map(String::as_str)
    }

    /// A parameter's effective value (passed, else its Default); `None` when not known.
    pub(crate) fn parameter(&self, name: &str) -> Option<Operand> {
        let decl = self.template.parameters.get(name)?;
        if self.inputs.unknown.contains(name) {
            return None;
        }
        let value = self.inputs.parameters.get(name).cloned().or_else(|| decl.default.clone())?;
        // A list parameter is split on commas; CloudFormation passes "" as the list [""].
        Some(if decl.is_list() { Operand::List(value.split(',').map(str::to_owned).collect()) } else { Operand::Text(value) })
    }

    /// The effective value of a parameter, as text (lists joined with commas), for comparison.
    pub fn parameter_text(&self, name: &str) -> Option<String> {
        match self.parameter(name)? {
            Operand::Text(t) => Some(t),
            Operand::List(items) => Some(items.join(",")),
        }
    }

    fn operand(&self, expr: &Value) -> Option<Operand> {
        if let Some(text) = scalar_text(expr) {
            return Some(Operand::Text(text));
        }
        match expr {
            Value::Array(items) => items.iter().map(|i| self.text(i)).collect::<Option<Vec<_>>>().map(Operand::List),
            Value::Object(map) if map.len() == 1 => {
                if let Some(name) = map.get("Ref").and_then(Value::as_str) {
                    return match self.inputs.pseudo.get(name) {
                        Some(value) => Some(Operand::Text(value.clone())),
                        None if name.starts_with("AWS::") => None,
                        None => self.parameter(name),
                    };
                }
                let args = map.get("Fn::Join")?.as_array()?;
                let delimiter = scalar_text(args.first()?)?;
                let items = match self.operand(args.get(1)?)? {
                    Operand::List(items) => items,
                    Operand::Text(_) => return None,
                };
                Some(Operand::Text(items.join(&delimiter)))
            }
            _ => None,
        }
    }

    fn text(&self, expr: &Value) -> Option<String> {
        match self.operand(expr)? {
            Operand::Text(t) => Some(t),
            Operand::List(_) => None,
        }
    }

    /// A named condition: `Some(true/false)`, or `None` when it cannot be evaluated locally.
    pub fn condition(&self, name: &str) -> Option<bool> {
        self.condition_at(name, 0)
    }

    fn condition_at(&self, name: &str, depth: usize) -> Option<bool> {
        // Conditions may reference each other; CloudFormation rejects cycles, and so does the
        // depth bound here (unknown rather than a stack overflow).
        if depth > 32 {
            return None;
        }
        self.expression(self.template.conditions.get(name)?, depth + 1)
    }

    fn expression(&self, expr: &Value, depth: usize) -> Option<bool> {
        let Value::Object(map) = expr else {
            return None;
        };
        let (function, args) = map.iter().next().filter(|_| map.len() == 1)?;
        let list = || args.as_array().map(Vec::as_slice).unwrap_or_default();
        match function.as_str() {
            "Condition" => self.condition_at(args.as_str()?, depth),
            "Fn::Equals" => match list() {
                [a, b] => Some(self.operand(a)? == self.operand(b)?),
                _ => None,
            },
            "Fn::Not" => match list() {
                [inner] => self.expression(inner, depth).map(|v| !v),
                _ => None,
            },
            // Three-valued: one known false decides an And, one known true an Or.
            "Fn::And" => {
                let values: Vec<Option<bool>> = list().iter().map(|c| self.expression(c, depth)).collect();
                if values.contains(&Some(false)) {
                    Some(false)
                } else if values.iter().all(|v| *v == Some(true)) && !values.is_empty() {
                    Some(true)
                } else {
                    None
                }
            }
            "Fn::Or" => {
                let values: Vec<Option<bool>> = list().iter().map(|c| self.expression(c, depth)).collect();
                if values.contains(&Some(true)) {
                    Some(true)
                } else if values.iter().all(|v| *v == Some(false)) && !values.is_empty() {
                    Some(false)
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// Whether the resource exists with these values (`None`: cannot be told locally).
    pub fn exists(&self, resource: &TemplateResource) -> Option<bool> {
        match &resource.condition {
            None => Some(true),
            Some(name) => self.condition(name),
        }
    }
}

/// The parameters an expression depends on: `Ref`s, `${Name}` in `Fn::Sub`, and through the
/// conditions it names (`Condition`, `Fn::If`), theirs.
fn referenced_parameters(template: &Template, expr: &Value, out: &mut BTreeSet<String>, seen: &mut BTreeSet<String>) {
    match expr {
        Value::Array(items) => {
            for item in items {
                referenced_parameters(template, item, out, seen);
            }
        }
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("Ref", Value::String(name)) => {
                        out.insert(name.clone());
                    }
                    ("Condition", Value::String(name)) => condition_parameters(template, name, out, seen),
                    ("Fn::If", Value::Array(args)) => {
                        if let Some(name) = args.first().and_then(Value::as_str) {
                            condition_parameters(template, name, out, seen);
                        }
                        for arg in args.iter().skip(1) {
                            referenced_parameters(template, arg, out, seen);
                        }
                    }
                    ("Fn::Sub", sub) => {
                        let (text, vars) = match sub {
                            Value::String(text) => (text.as_str(), None),
                            Value::Array(args) => (args.first().and_then(Value::as_str).unwrap_or(""), args.get(1)),
                            _ => ("", None),
                        };
                        let local: BTreeSet<&str> =
                            vars.and_then(Value::as_object).map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default();
                        for name in sub_variables(text) {
                            if !local.contains(name) {
                                out.insert(name.to_owned());
                            }
                        }
                        if let Some(vars) = vars {
                            referenced_parameters(template, vars, out, seen);
                        }
                    }
                    (_, value) => referenced_parameters(template, value, out, seen),
                }
            }
        }
        _ => {}
    }
}

fn condition_parameters(template: &Template, name: &str, out: &mut BTreeSet<String>, seen: &mut BTreeSet<String>) {
    if seen.insert(name.to_owned()) {
        if let Some(body) = template.conditions.get(name) {
            referenced_parameters(template, body, out, seen);
        }
    }
}

/// The `${Name}` variables of an `Fn::Sub` string (not `${!Literal}`, not `${Res.Attr}`).
fn sub_variables(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        rest = &rest[start + 2..];
        let Some(end) = rest.find('}') else { break };
        let name = &rest[..end];
        if !name.starts_with('!') && !name.contains('.') {
            names.push(name);
        }
        rest = &rest[end + 1..];
    }
    names
}

/// What a deploy does to one resource, judged locally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePlan {
    /// add, remove, modify, may-change, or keep (present and unchanged) / absent (stays absent).
    pub action: &'static str,
    pub logical_id: String,
    pub resource_type: String,
    pub detail: String,
}

impl ResourcePlan {
    /// Whether the deploy changes (or may change) this resource.
    pub fn changes(&self) -> bool {
        matches!(self.action, "add" | "remove" | "modify" | "may-change")
    }
}

/// The resources a deploy adds, removes and modifies: `old` is the stack as it is (`None` for a
/// new stack), `new` the template and values being deployed.
pub fn plan_resources(old: Option<&Bound>, new: &Bound) -> Vec<ResourcePlan> {
    let mut plans = Vec::new();
    let changed: BTreeSet<String> = match old {
        None => BTreeSet::new(),
        Some(old) => {
            let names: BTreeSet<&String> = old.template.parameters.keys().chain(new.template.parameters.keys()).collect();
            names.into_iter().filter(|n| old.parameter_text(n) != new.parameter_text(n)).cloned().collect()
        }
    };
    let why = |resource: &TemplateResource, state: Option<bool>| -> String {
        match (&resource.condition, state) {
            (Some(c), Some(true)) => format!(" (condition {c} is true)"),
            (Some(c), Some(false)) => format!(" (condition {c} is false)"),
            (Some(c), None) => format!(": condition {c} cannot be evaluated locally"),
            (None, _) => String::new(),
        }
    };
    for resource in &new.template.resources {
        let before_resource = old.and_then(|o| o.template.resources.iter().find(|r| r.logical_id == resource.logical_id));
        let before = match (old, before_resource) {
            (Some(o), Some(r)) => o.exists(r),
            _ => Some(false),
        };
        let after = new.exists(resource);
        let plan = |action: &'static str, detail: String| ResourcePlan {
            action,
            logical_id: resource.logical_id.clone(),
            resource_type: resource.resource_type.clone(),
            detail,
        };
        plans.push(match (before, after) {
            (Some(false), Some(false)) => plan("absent", format!("not created{}", why(resource, after))),
            (Some(false), Some(true)) => plan("add", format!("created{}", why(resource, after))),
            (Some(true), Some(false)) => plan("remove", format!("deleted{}", why(resource, after))),
            (Some(true), Some(true)) => {
                let mut uses = BTreeSet::new();
                referenced_parameters(new.template, &resource.definition, &mut uses, &mut BTreeSet::new());
                let touched: Vec<&str> = uses.iter().filter(|p| changed.contains(*p)).map(String::as_str).collect();
                let same_definition = before_resource.is_some_and(|r| r.definition == resource.definition);
                if !same_definition {
                    plan("modify", "the template changes its definition".to_owned())
                } else if !touched.is_empty() {
                    plan("modify", format!("uses the changed parameter(s) {}", touched.join(", ")))
                } else {
                    plan("keep", "unchanged".to_owned())
                }
            }
            (_, None) => plan("may-change", format!("may be created, kept or deleted{}", why(resource, after))),
            (None, Some(true)) => plan("may-change", format!("exists after the deploy; may be created or modified{}", why(resource, before))),
            (None, Some(false)) => plan("may-change", format!("absent after the deploy; may be deleted{}", why(resource, before))),
        });
    }
    if let Some(old) = old {
        for resource in old.template.resources.iter().filter(|r| !new.template.resources.iter().any(|n| n.logical_id == r.logical_id)) {
            let (action, detail) = match old.exists(resource) {
                Some(false) => continue,
                Some(true) => ("remove", "deleted: the new template no longer declares it".to_owned()),
                None => ("may-change", "may be deleted: the new template no longer declares it".to_owned()),
            };
            plans.push(ResourcePlan { action, logical_id: resource.logical_id.clone(), resource_type: resource.resource_type.clone(), detail });
        }
    }
    plans
}

/// The resources of a stack (logical id, type) that `template` does not declare: a stack that
/// holds any of them was not made from that template, so it is not the template's to delete.
pub fn undeclared_resources<'a>(template: &Template, resources: &'a [(String, String)]) -> Vec<&'a (String, String)> {
    resources
        .iter()
        .filter(|(logical_id, resource_type)| {
            !template.resources.iter().any(|declared| &declared.logical_id == logical_id && &declared.resource_type == resource_type)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack_plan::TEMPLATE;

    fn inputs(storage: &[&str], partition: &str) -> Inputs {
        let params = vec![
            ("VendorAccountId", "111122223333".to_owned()),
            ("ExternalId", "ext-1234567890abcdef".to_owned()),
            ("RoleName", "FlowgateCrossAccountRole".to_owned()),
            ("StorageAccess", (!storage.is_empty()).to_string()),
            ("StorageBucketNames", storage.join(",")),
        ];
        Inputs::new(&params, partition, Some("us-east-1"), "123456789012", "flowgate-cross-account")
    }

    fn actions(plans: &[ResourcePlan]) -> Vec<(String, &'static str)> {
        plans.iter().map(|p| (p.logical_id.clone(), p.action)).collect()
    }

    #[test]
    fn the_shipped_template_parses_with_its_short_form_tags() {
        let t = parse_template(TEMPLATE).unwrap();
        let ids: Vec<&str> = t.resources.iter().map(|r| r.logical_id.as_str()).collect();
        assert_eq!(ids, ["CrossAccountRole", "DiscoveryPolicy", "StorageReadPolicy", "CompliancePolicy", "SegmentationWritePolicy"]);
        assert_eq!(t.resources[2].condition.as_deref(), Some("GrantStorage"));
        assert_eq!(t.conditions["StorageRequested"], serde_json::json!({"Fn::Equals": [{"Ref": "StorageAccess"}, "true"]}));
        let role = &t.resources[0].definition;
        assert_eq!(role["Properties"]["RoleName"], serde_json::json!({"Ref": "RoleName"}));
        assert_eq!(t.parameters["StorageBucketNames"], ParameterDecl { kind: "CommaDelimitedList".into(), default: Some(String::new()) });
    }

    #[test]
    fn conditions_follow_the_parameters_and_the_partition() {
        let t = parse_template(TEMPLATE).unwrap();
        let none = inputs(&[], "aws");
        let two = inputs(&["b1", "b2"], "aws");
        // A partition the template has no branch for (every partition AWS has today has one).
        let elsewhere = inputs(&["b1"], "aws-future");
        assert_eq!(Bound::new(&t, &none).condition("GrantStorage"), Some(false));
        assert_eq!(Bound::new(&t, &two).condition("HasStorageBuckets"), Some(true));
        assert_eq!(Bound::new(&t, &two).condition("GrantStorage"), Some(true));
        assert_eq!(Bound::new(&t, &elsewhere).condition("KnownPartition"), Some(false));
        assert_eq!(Bound::new(&t, &elsewhere).condition("GrantStorage"), Some(false));
        // StorageAccess=true with an empty list: HasStorageBuckets guards the expansion.
        let mut empty = inputs(&[], "aws");
        empty.parameters.insert("StorageAccess".into(), "true".into());
        assert_eq!(Bound::new(&t, &empty).condition("GrantStorage"), Some(false));
    }

    #[test]
    fn a_new_stack_adds_what_its_conditions_switch_on() {
        let t = parse_template(TEMPLATE).unwrap();
        let none = inputs(&[], "aws");
        let plans = plan_resources(None, &Bound::new(&t, &none));
        assert_eq!(
            actions(&plans),
            [
                ("CrossAccountRole".into(), "add"),
                ("DiscoveryPolicy".into(), "add"),
                ("StorageReadPolicy".into(), "absent"),
                ("CompliancePolicy".into(), "absent"),
                ("SegmentationWritePolicy".into(), "absent")
            ]
        );
        assert!(plans[2].detail.contains("GrantStorage is false"), "{plans:?}");
        let granted = inputs(&["b1"], "aws");
        let plans = plan_resources(None, &Bound::new(&t, &granted));
        assert_eq!(plans[2].action, "add");
    }

    /// The vendor modes: a compliance account adds its policy and changes the role's trust;
    /// dropping it (--no-deploy-xcloud) removes both; --read-write adds the write policy and a
    /// deploy without it removes it. (The emulator never removes a conditional policy nor changes
    /// a trust policy on update, so this plan is where the removal is checked.)
    #[test]
    fn compliance_and_write_modes_add_and_remove_their_resources() {
        let t = parse_template(TEMPLATE).unwrap();
        let plain = inputs(&[], "aws");
        let mut full = inputs(&[], "aws");
        full.parameters.insert("ComplianceAccountId".into(), "444455556666".into());
        full.parameters.insert("ReadWrite".into(), "true".into());
        assert_eq!(Bound::new(&t, &full).condition("HasComplianceAccount"), Some(true));
        assert_eq!(Bound::new(&t, &full).condition("GrantWrite"), Some(true));
        assert_eq!(Bound::new(&t, &plain).condition("HasComplianceAccount"), Some(false), "the default \"\" trusts no second account");
        let add = plan_resources(Some(&Bound::new(&t, &plain)), &Bound::new(&t, &full));
        assert_eq!(
            actions(&add),
            [
                ("CrossAccountRole".into(), "modify"),
                ("DiscoveryPolicy".into(), "keep"),
                ("StorageReadPolicy".into(), "absent"),
                ("CompliancePolicy".into(), "add"),
                ("SegmentationWritePolicy".into(), "add")
            ]
        );
        assert!(add[0].detail.contains("ComplianceAccountId"), "{add:?}");
        let remove = plan_resources(Some(&Bound::new(&t, &full)), &Bound::new(&t, &plain));
        assert_eq!(
            actions(&remove),
            [
                ("CrossAccountRole".into(), "modify"),
                ("DiscoveryPolicy".into(), "keep"),
                ("StorageReadPolicy".into(), "absent"),
                ("CompliancePolicy".into(), "remove"),
                ("SegmentationWritePolicy".into(), "remove")
            ]
        );
    }

    #[test]
    fn an_update_names_what_it_adds_removes_and_modifies() {
        let t = parse_template(TEMPLATE).unwrap();
        let (none, one, two) = (inputs(&[], "aws"), inputs(&["b1"], "aws"), inputs(&["b1", "b2"], "aws"));
        let grant = plan_resources(Some(&Bound::new(&t, &none)), &Bound::new(&t, &one));
        assert_eq!(
            actions(&grant),
            [
                ("CrossAccountRole".into(), "keep"),
                ("DiscoveryPolicy".into(), "keep"),
                ("StorageReadPolicy".into(), "add"),
                ("CompliancePolicy".into(), "absent"),
                ("SegmentationWritePolicy".into(), "absent")
            ]
        );
        let more = plan_resources(Some(&Bound::new(&t, &one)), &Bound::new(&t, &two));
        assert_eq!(more[2].action, "modify");
        assert!(more[2].detail.contains("StorageBucketNames"), "{more:?}");
        let revoke = plan_resources(Some(&Bound::new(&t, &two)), &Bound::new(&t, &none));
        assert_eq!(revoke[2].action, "remove");
        // A new ExternalId changes the role's trust policy, nothing else.
        let mut other = inputs(&[], "aws");
        other.parameters.insert("ExternalId".into(), "another-external-id-123".into());
        let rotated = plan_resources(Some(&Bound::new(&t, &none)), &Bound::new(&t, &other));
        assert_eq!(actions(&rotated)[..2], [("CrossAccountRole".into(), "modify"), ("DiscoveryPolicy".into(), "keep")]);
        assert!(plan_resources(Some(&Bound::new(&t, &one)), &Bound::new(&t, &one)).iter().all(|p| !p.changes()));
    }

    #[test]
    fn what_cannot_be_evaluated_may_change() {
        let text = TEMPLATE
            .replace("StorageRequested: !Equals [!Ref StorageAccess, \"true\"]", "StorageRequested: !Equals [!Select [0, !GetAZs ''], \"x\"]");
        let t = parse_template(&text).unwrap();
        let one = inputs(&["b1"], "aws");
        let plans = plan_resources(None, &Bound::new(&t, &one));
        assert_eq!(plans[2].action, "may-change");
        assert!(plans[2].detail.contains("cannot be evaluated locally"), "{plans:?}");
        // A value not known yet (an ExternalId still to be generated) is unknown, not its Default.
        let text = TEMPLATE.replace("StorageRequested: !Equals [!Ref StorageAccess, \"true\"]", "StorageRequested: !Equals [!Ref ExternalId, \"x\"]");
        let t = parse_template(&text).unwrap();
        let pending = one.clone().without("ExternalId");
        assert_eq!(Bound::new(&t, &pending).condition("GrantStorage"), None);
        assert_eq!(Bound::new(&t, &one).condition("GrantStorage"), Some(false));
    }

    #[test]
    fn a_json_template_gets_the_same_treatment() {
        let json = r#"{"Parameters": {"VendorAccountId": {"Type": "String"}, "ExternalId": {"Type": "String"},
            "RoleName": {"Type": "String"}, "StorageAccess": {"Type": "String", "Default": "false"},
            "StorageBucketNames": {"Type": "CommaDelimitedList", "Default": ""}},
          "Conditions": {"Grant": {"Fn::And": [{"Fn::Equals": [{"Ref": "StorageAccess"}, "true"]}, {"Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "StorageBucketNames"}]}, ""]}]}]}},
          "Resources": {"Role": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": {"Ref": "RoleName"}}},
                        "Read": {"Type": "AWS::IAM::Policy", "Condition": "Grant", "Properties": {}}}}"#;
        let t = parse_template(json).unwrap();
        let one = inputs(&["b1"], "aws");
        assert_eq!(actions(&plan_resources(None, &Bound::new(&t, &one))), [("Role".into(), "add"), ("Read".into(), "add")]);
        let none = inputs(&[], "aws");
        assert_eq!(plan_resources(None, &Bound::new(&t, &none))[1].action, "absent");
    }

    #[test]
    fn bad_templates_are_refused_with_a_reason() {
        let cases = [
            ("Resources: [unclosed", "not valid YAML"),
            ("{\"Resources\": ", "not valid JSON"),
            ("just a string", "not a mapping"),
            ("Parameters: {}\n", "no Resources section"),
            ("Resources: {}\n", "Resources section is empty"),
            ("Resources:\n  R:\n    Properties: {}\n", "resource R has no Type"),
            ("Resources:\n  R:\n    Type: AWS::SNS::Topic\n", "does not declare the parameter(s) flowgate passes: VendorAccountId"),
            ("Resources:\n  R:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !Bogus x\n", "tag !Bogus"),
            ("Resources:\n  R:\n    Type: AWS::SNS::Topic\n    Condition: Nowhere\n", "Nowhere, which Conditions does not define"),
        ];
        for (text, expected) in cases {
            let err = parse_template(text).unwrap_err();
            assert!(err.contains(expected), "{text:?}: {err}");
        }
        let extra = TEMPLATE.replace("Parameters:\n", "Parameters:\n  Extra:\n    Type: String\n");
        assert!(parse_template(&extra).unwrap_err().contains("Extra have no Default"));
    }

    #[test]
    fn sub_variables_skip_literals_and_attributes() {
        assert_eq!(
            sub_variables("arn:${AWS::Partition}:iam::${VendorAccountId}:root ${!Literal} ${Role.Arn}"),
            ["AWS::Partition", "VendorAccountId"]
        );
    }

    #[test]
    fn a_stack_holding_resources_the_template_does_not_declare_is_not_its() {
        let template = parse_template(crate::stack_plan::TEMPLATE).unwrap();
        let ours = vec![("CrossAccountRole".to_owned(), "AWS::IAM::Role".to_owned()), ("DiscoveryPolicy".to_owned(), "AWS::IAM::Policy".to_owned())];
        assert!(undeclared_resources(&template, &ours).is_empty());
        let mut theirs = ours.clone();
        theirs.push(("Q".to_owned(), "AWS::SQS::Queue".to_owned()));
        // Same logical id, another type: not the template's either.
        theirs.push(("DiscoveryPolicy".to_owned(), "AWS::IAM::ManagedPolicy".to_owned()));
        let foreign: Vec<&str> = undeclared_resources(&template, &theirs).iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(foreign, ["Q", "DiscoveryPolicy"]);
    }
}
