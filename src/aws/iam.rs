//! IAM: the vendor role's trust and its inline and attached policies.

use aws_sdk_iam::Client;

use crate::aws::{aws_error, error_code};
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
