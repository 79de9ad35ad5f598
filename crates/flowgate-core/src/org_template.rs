//! The template the organization StackSet deploys in every member account: the vendor role
//! template plus flowgate's own operator role (`templates/org-operator-role.yaml`), so that
//! flowgate can manage flow logs in accounts that have no `OrganizationAccountAccessRole`
//! (invited accounts do not).

use super::stack_template;

pub const ORG_OPERATOR_FRAGMENT: &str = include_str!("../../../templates/org-operator-role.yaml");
pub const OPERATOR_ROLE_NAME: &str = "FlowgateOrgOperatorRole";

/// The sections the fragment adds to, in the order they appear in a template.
const SECTIONS: [&str; 3] = ["Parameters", "Resources", "Outputs"];

/// A line that starts a top-level key (`Name:` at column 0), with its key.
fn top_level_key(line: &str) -> Option<&str> {
    if line.starts_with([' ', '\t', '#']) || line.trim().is_empty() {
        return None;
    }
    line.split_once(':').map(|(key, _)| key.trim())
}

/// The lines of `text` under top-level key `key` (up to the next top-level key), and the index of
/// the key's line.
fn section<'t>(lines: &[&'t str], key: &str) -> Option<(usize, Vec<&'t str>)> {
    let at = lines.iter().position(|l| top_level_key(l) == Some(key) && l.trim_end().ends_with(':'))?;
    let body = lines[at + 1..].iter().take_while(|l| top_level_key(l).is_none()).copied().collect();
    Some((at, body))
}

/// The names of a section's entries: its lines at exactly two spaces of indentation.
fn entry_names<'t>(body: &[&'t str]) -> Vec<&'t str> {
    body.iter()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   ") && !l.trim_start().starts_with('#'))
        .filter_map(|l| l.trim().split_once(':').map(|(name, _)| name))
        .collect()
}

/// `vendor_template` with the fragment's Parameters, Resources and Outputs entries inserted right
/// after the template's own `Parameters:`, `Resources:` and `Outputs:` lines. A text splice keeps
/// the vendor template's comments, tags and order as they are. Errors when the template lacks one
/// of the sections, when a name of the fragment is already the template's, or when the result
/// does not pass the template check.
pub fn org_member_template(vendor_template: &str) -> Result<String, String> {
    let fragment: Vec<&str> = ORG_OPERATOR_FRAGMENT.lines().collect();
    let mut lines: Vec<String> = vendor_template.lines().map(str::to_owned).collect();
    for key in SECTIONS {
        let (_, extra) = section(&fragment, key).ok_or_else(|| format!("the org operator fragment has no {key} section"))?;
        let current: Vec<&str> = lines.iter().map(String::as_str).collect();
        let (at, body) =
            section(&current, key).ok_or_else(|| format!("the vendor template has no top-level {key}: section to add the org operator role to"))?;
        let theirs = entry_names(&body);
        if let Some(name) = entry_names(&extra).into_iter().find(|n| theirs.contains(n)) {
            return Err(format!("the vendor template already has a {key} entry named {name}, which the org operator role needs"));
        }
        let mut insert: Vec<String> = extra.iter().map(|l| (*l).to_owned()).collect();
        while insert.last().is_some_and(|l| l.trim().is_empty()) {
            insert.pop();
        }
        insert.push(String::new());
        lines.splice(at + 1..at + 1, insert);
    }
    let mut text = lines.join("\n");
    text.push('\n');
    stack_template::parse_template(&text).map_err(|e| format!("the org member template does not pass the template check: {e}"))?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operator_policy::{OPERATOR_POLICIES, allowed_actions};
    use serde_json::Value;
    use std::collections::BTreeSet;

    const VENDOR: &str = include_str!("../../../templates/cross-account-role.yaml");

    fn operator_policy(command: &str) -> &'static str {
        OPERATOR_POLICIES.iter().find(|(c, _)| *c == command).map(|(_, d)| *d).unwrap()
    }

    fn definition<'a>(template: &'a stack_template::Template, id: &str) -> &'a Value {
        &template.resources.iter().find(|r| r.logical_id == id).unwrap().definition
    }

    #[test]
    fn the_member_template_is_the_vendor_template_plus_the_operator_role() {
        let vendor = stack_template::parse_template(VENDOR).unwrap();
        let text = org_member_template(VENDOR).unwrap();
        let member = stack_template::parse_template(&text).unwrap();
        for (name, decl) in &vendor.parameters {
            assert_eq!(member.parameters.get(name), Some(decl), "{name} lost or changed");
        }
        for name in ["AdministratorAccountId", "OrganizationId", "OperatorRoleName"] {
            assert!(member.parameters.contains_key(name), "{name} missing");
        }
        assert_eq!(member.parameters["OperatorRoleName"].default.as_deref(), Some(OPERATOR_ROLE_NAME));
        assert_eq!(member.parameters.len(), vendor.parameters.len() + 3);
        for resource in &vendor.resources {
            assert_eq!(definition(&member, &resource.logical_id), &resource.definition, "{} changed", resource.logical_id);
        }
        assert_eq!(member.resources.len(), vendor.resources.len() + 2);
        assert_eq!(definition(&member, OPERATOR_ROLE_NAME)["Type"], "AWS::IAM::Role");
        assert_eq!(member.conditions, vendor.conditions);
        // The vendor's outputs are all there, and the operator role's.
        for output in ["RoleArn", "ExternalId", "AccountId", "StorageBuckets", "ComplianceAccountId", "ReadWrite", "OperatorRoleArn"] {
            assert!(text.lines().any(|l| l == format!("  {output}:")), "output {output} missing");
        }
        // Every vendor line is kept, in order.
        let mut rest = text.lines();
        for line in VENDOR.lines() {
            assert!(rest.any(|l| l == line), "vendor line lost or moved: {line}");
        }
    }

    #[test]
    fn the_operator_policy_is_exactly_enable_and_disable_without_the_bucket() {
        let member = stack_template::parse_template(&org_member_template(VENDOR).unwrap()).unwrap();
        let document = &definition(&member, "FlowgateOrgOperatorPolicy")["Properties"]["PolicyDocument"];
        assert_eq!(definition(&member, "FlowgateOrgOperatorPolicy")["Properties"]["Roles"][0]["Ref"], OPERATOR_ROLE_NAME);
        let granted: BTreeSet<String> = allowed_actions(&document.to_string()).into_iter().collect();
        let mut wanted: BTreeSet<String> =
            allowed_actions(operator_policy("flowlogs enable")).into_iter().chain(allowed_actions(operator_policy("flowlogs disable"))).collect();
        wanted.remove("s3:ListBucket");
        wanted.remove("s3:GetBucketLocation");
        wanted.remove("s3:GetBucketPolicy");
        assert_eq!(granted, wanted);
        assert!(!granted.iter().any(|a| a.starts_with("s3:")));
        // disable's tag condition is there.
        let statements = document["Statement"].as_array().unwrap();
        let tagged = statements.iter().find(|s| s["Sid"] == "DeleteOnlyFlowgateFlowLogs").unwrap();
        assert_eq!(tagged["Condition"]["StringEquals"]["aws:ResourceTag/flowgate:managed"], "true");
    }

    #[test]
    fn the_trust_requires_the_administrator_in_the_organization() {
        let member = stack_template::parse_template(&org_member_template(VENDOR).unwrap()).unwrap();
        let role = definition(&member, OPERATOR_ROLE_NAME);
        assert_eq!(role["Properties"]["RoleName"]["Ref"], "OperatorRoleName");
        let statements = role["Properties"]["AssumeRolePolicyDocument"]["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 1);
        let trust = &statements[0];
        assert_eq!(trust["Effect"], "Allow");
        assert_eq!(trust["Action"], "sts:AssumeRole");
        assert_eq!(trust["Principal"]["AWS"]["Fn::Sub"], "arn:${AWS::Partition}:iam::${AdministratorAccountId}:root");
        assert_eq!(trust["Condition"]["StringEquals"]["aws:PrincipalOrgID"]["Ref"], "OrganizationId");
    }

    #[test]
    fn a_missing_section_or_a_name_collision_is_an_error() {
        let no_outputs = VENDOR.split("\nOutputs:").next().unwrap();
        assert!(org_member_template(no_outputs).unwrap_err().contains("Outputs"));
        let colliding = VENDOR
            .replace("  CrossAccountRole:\n", "  FlowgateOrgOperatorRole:\n")
            .replace("!Ref CrossAccountRole", "!Ref FlowgateOrgOperatorRole")
            .replace("CrossAccountRole.Arn", "FlowgateOrgOperatorRole.Arn");
        let err = org_member_template(&colliding).unwrap_err();
        assert!(err.contains("FlowgateOrgOperatorRole") && err.contains("Resources"), "{err}");
        let colliding_parameter = VENDOR.replace("  RoleName:\n", "  OperatorRoleName:\n").replace("!Ref RoleName", "!Ref OperatorRoleName");
        assert!(org_member_template(&colliding_parameter).unwrap_err().contains("OperatorRoleName"));
    }
}
