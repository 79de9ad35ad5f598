//! IAM: the vendor role's trust and its inline and attached policies, and IAM's policy simulator
//! on what the role may do.

use aws_sdk_iam::Client;
use aws_sdk_iam::config::retry::RetryConfig;
use aws_sdk_iam::types::EvaluationResult;

use crate::aws::{aws_error, error_code};
use crate::core::aws_verdict::{MatchedStatement, SimulatedDecision, SimulatedResult};
use crate::error::{Error, Result};

pub const ACTIONS: &[&str] = &[
    "iam:GetRole",
    "iam:ListRolePolicies",
    "iam:GetRolePolicy",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "iam:SimulatePrincipalPolicy",
];

/// A role's ARN and trust policy (as IAM returns it: URL-encoded JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleInfo {
    pub arn: String,
    pub trust_policy: String,
}

pub async fn get_role(iam: &Client, role: &str) -> Result<Option<RoleInfo>> {
    match iam.get_role().role_name(role).send().await {
        Ok(out) => {
            let Some(r) = out.role() else { return Ok(None) };
            Ok(Some(RoleInfo { arn: r.arn().to_owned(), trust_policy: r.assume_role_policy_document().unwrap_or_default().to_owned() }))
        }
        Err(e) if error_code(&e) == Some("NoSuchEntity") => Ok(None),
        Err(e) => Err(aws_error(e, format!("reading role {role}"), "iam:GetRole")),
    }
}

pub async fn list_role_policies(iam: &Client, role: &str) -> Result<Vec<String>> {
    let mut names = Vec::new();
    let mut pages = iam.list_role_policies().role_name(role).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_error(e, format!("listing the inline policies of role {role}"), "iam:ListRolePolicies"))?;
        names.extend(page.policy_names().iter().cloned());
    }
    Ok(names)
}

/// An inline policy's document (URL-encoded JSON), or `None` when the role has no such policy.
pub async fn get_role_policy(iam: &Client, role: &str, policy: &str) -> Result<Option<String>> {
    match iam.get_role_policy().role_name(role).policy_name(policy).send().await {
        Ok(out) => Ok(Some(out.policy_document().to_owned())),
        Err(e) if error_code(&e) == Some("NoSuchEntity") => Ok(None),
        Err(e) => Err(aws_error(e, format!("reading policy {policy} of role {role}"), "iam:GetRolePolicy")),
    }
}

pub async fn put_role_policy(iam: &Client, role: &str, policy: &str, document: &str) -> Result<()> {
    iam.put_role_policy()
        .role_name(role)
        .policy_name(policy)
        .policy_document(document)
        .send()
        .await
        .map_err(|e| aws_error(e, format!("writing policy {policy} of role {role}"), "iam:PutRolePolicy"))?;
    Ok(())
}

pub async fn delete_role_policy(iam: &Client, role: &str, policy: &str) -> Result<()> {
    match iam.delete_role_policy().role_name(role).policy_name(policy).send().await {
        Ok(_) => Ok(()),
        Err(e) if error_code(&e) == Some("NoSuchEntity") => Ok(()),
        Err(e) => Err(aws_error(e, format!("deleting policy {policy} of role {role}"), "iam:DeleteRolePolicy")),
    }
}

/// (name, ARN) of every managed policy attached to the role.
pub async fn list_attached_policies(iam: &Client, role: &str) -> Result<Vec<(String, String)>> {
    let mut attached = Vec::new();
    let mut pages = iam.list_attached_role_policies().role_name(role).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_error(e, format!("listing the managed policies of role {role}"), "iam:ListAttachedRolePolicies"))?;
        for p in page.attached_policies() {
            if let (Some(name), Some(arn)) = (p.policy_name(), p.policy_arn()) {
                attached.push((name.to_owned(), arn.to_owned()));
            }
        }
    }
    Ok(attached)
}

/// The default version's document of a managed policy.
pub async fn managed_policy_document(iam: &Client, arn: &str) -> Result<String> {
    let policy = iam.get_policy().policy_arn(arn).send().await.map_err(|e| aws_error(e, format!("reading managed policy {arn}"), "iam:GetPolicy"))?;
    let version = policy
        .policy()
        .and_then(|p| p.default_version_id())
        .ok_or_else(|| Error::refused(format!("managed policy {arn} has no default version"), None))?
        .to_owned();
    let out = iam
        .get_policy_version()
        .policy_arn(arn)
        .version_id(&version)
        .send()
        .await
        .map_err(|e| aws_error(e, format!("reading version {version} of managed policy {arn}"), "iam:GetPolicyVersion"))?;
    out.policy_version()
        .and_then(|v| v.document())
        .map(str::to_owned)
        .ok_or_else(|| Error::refused(format!("managed policy {arn} version {version} has no document"), None))
}

/// How many pages of one simulation are read: one question (one action on one resource) fits in
/// the first; the bound keeps a misbehaving marker from looping.
const SIMULATION_PAGES: usize = 10;

/// IAM's policy simulator on one question: may `role_arn` do `action` on `resource`, owned by
/// `resource_owner` (`arn:P:iam::ACCOUNT:root`)? SimulatePrincipalPolicy (IAM API Reference)
/// weighs the role's policies, its permissions boundary and the organization's SCPs. No
/// `ResourcePolicy`: for a role the API takes one only with a `CallerArn` naming an IAM user.
///
/// One attempt, not the run's --max-attempts: the answer is a second opinion, and when it fails
/// the command says so and keeps flowgate's own verdict; retrying an HTTP 500 would add seconds
/// of backoff to that run.
pub async fn simulate_principal_policy(
    iam: &Client,
    role_arn: &str,
    action: &str,
    resource: &str,
    resource_owner: &str,
) -> Result<Vec<SimulatedResult>> {
    let mut results = Vec::new();
    let mut marker: Option<String> = None;
    for _ in 0..SIMULATION_PAGES {
        let page = iam
            .simulate_principal_policy()
            .policy_source_arn(role_arn)
            .action_names(action)
            .resource_arns(resource)
            .resource_owner(resource_owner)
            .set_marker(marker.take())
            .customize()
            .config_override(aws_sdk_iam::config::Builder::default().retry_config(RetryConfig::standard().with_max_attempts(1)))
            .send()
            .await
            .map_err(|e| aws_error(e, format!("asking IAM's policy simulator about {role_arn}"), "iam:SimulatePrincipalPolicy"))?;
        results.extend(page.evaluation_results().iter().filter_map(simulated_result));
        match page.marker() {
            Some(next) if page.is_truncated() => marker = Some(next.to_owned()),
            _ => break,
        }
    }
    Ok(results)
}

/// An `EvaluationResult` as the core reads it; `None` for a decision the API does not document.
fn simulated_result(result: &EvaluationResult) -> Option<SimulatedResult> {
    Some(SimulatedResult {
        action: result.eval_action_name().to_owned(),
        resource: result.eval_resource_name().map(str::to_owned),
        decision: SimulatedDecision::parse(result.eval_decision().as_str())?,
        matched_statements: result
            .matched_statements()
            .iter()
            .map(|s| MatchedStatement {
                source_policy_id: s.source_policy_id().unwrap_or_default().to_owned(),
                source_policy_type: s.source_policy_type().map(|t| t.as_str().to_owned()).unwrap_or_default(),
            })
            .collect(),
        allowed_by_organizations: result.organizations_decision_detail().map(|d| d.allowed_by_organizations()),
        allowed_by_permissions_boundary: result.permissions_boundary_decision_detail().map(|d| d.allowed_by_permissions_boundary()),
    })
}
