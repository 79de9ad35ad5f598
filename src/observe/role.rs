//! The vendor role as IAM and CloudFormation describe it: which role a command works on (the
//! stack's or one made by hand), its trust, every inline and managed policy, and what they and
//! the policies of the buckets they name let it do.

use std::collections::BTreeMap;

use futures::stream::{self, StreamExt};

use crate::aws::s3::{self, BucketPolicyRead};
use crate::aws::{cloudformation as cfn, iam};
use crate::cli::{AccessTargetArgs, AccessVia};
use crate::context::{Ctx, Identity};
use crate::core::names::BucketName;
use crate::core::role_policy::{
    AccessReport, BucketPolicyGrants, Finding, FindingKind, NamedPolicy, PolicySource, bucket_policy_grants, evaluate_with, named_buckets,
};
use crate::core::stack_plan::StackParameters;
use crate::core::trust::{TrustAssessment, assess_trust};
use crate::core::vendor_access::{VendorPermissions, network_discovery, vendor_permissions};
use crate::error::{Error, Result};

/// Where the access lives.
#[derive(Debug, Clone)]
pub enum Target {
    Stack { name: String, info: Box<cfn::StackInfo>, params: StackParameters },
    Role { role: String },
}

/// Resolves `--via`/`--role-name`/`--stack-name` into a target (reads the stack when needed).
pub async fn resolve_target(ctx: &Ctx, target: &AccessTargetArgs) -> Result<Target> {
    check_target_flags(target)?;
    let via = target.via.or(target.role_name.as_ref().map(|_| AccessVia::Role));
    if via == Some(AccessVia::Role) {
        let role = target.role_name.clone().ok_or_else(|| {
            Error::input(
                "--via role needs --role-name",
                Some("name the role created by hand, e.g. --role-name ColorTokensCrossAccountAccessRole".to_owned()),
            )
        })?;
        return Ok(Target::Role { role });
    }
    let info = cfn::describe_stack(&ctx.cloudformation(), &target.stack_name).await?;
    match info {
        Some(info) => {
            let params = StackParameters::from_api(&info.parameters).ok_or_else(|| {
                Error::refused(
                    format!("stack {} is not flowgate's role stack", target.stack_name),
                    Some("pass --stack-name, or --via role --role-name NAME".to_owned()),
                )
            })?;
            Ok(Target::Stack { name: target.stack_name.clone(), info: Box::new(info), params })
        }
        None if via == Some(AccessVia::Stack) => Err(Error::refused(
            format!("stack {} does not exist", target.stack_name),
            Some("deploy it (flowgate stack deploy) or use --via role --role-name NAME".to_owned()),
        )),
        None => Err(Error::input(
            format!("there is no flowgate stack named {}", target.stack_name),
            Some("for a role created by hand pass --via role --role-name NAME; or deploy the stack first (flowgate stack deploy)".to_owned()),
        )),
    }
}

/// Flags that contradict each other, refused before any AWS call: the stack's role is the one
/// its `RoleName` parameter names and its policy is the stack's, so `--role-name` or
/// `--policy-name` with `--via stack` would be silently ignored.
fn check_target_flags(target: &AccessTargetArgs) -> Result<()> {
    if target.via != Some(AccessVia::Stack) {
        return Ok(());
    }
    for (flag, given) in [("--role-name", target.role_name.is_some()), ("--policy-name", target.policy_name.is_some())] {
        if given {
            return Err(Error::input(
                format!("{flag} names a role created by hand and contradicts --via stack"),
                Some(format!("drop {flag} to use the stack's role, or use --via role {flag} ...")),
            ));
        }
    }
    Ok(())
}

/// The role's inline policies: (name, document text).
pub async fn inline_policies(client: &aws_sdk_iam::Client, role: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for name in iam::list_role_policies(client, role).await? {
        if let Some(document) = iam::get_role_policy(client, role, &name).await? {
            out.push((name, document));
        }
    }
    Ok(out)
}

/// The role's attached managed policies, and an `Unreadable` finding for each one that could not
/// be read (the edit goes ahead; the exit code says access is not known).
pub async fn managed_policies(client: &aws_sdk_iam::Client, role: &str) -> (Vec<NamedPolicy>, Vec<Finding>) {
    let unreadable = |policy: &str, why: String| Finding {
        policy: Some(policy.to_owned()),
        ..Finding::new(
            FindingKind::Unreadable,
            "",
            format!("{policy} could not be read ({why}): whether it grants or denies the bucket is not known"),
        )
    };
    let attached = match iam::list_attached_policies(client, role).await {
        Ok(attached) => attached,
        Err(e) => return (Vec::new(), vec![unreadable(&format!("the managed policies of role {role}"), e.to_string())]),
    };
    let mut policies = Vec::new();
    let mut findings = Vec::new();
    for (name, arn) in attached {
        let parsed = match iam::managed_policy_document(client, &arn).await {
            Ok(text) => NamedPolicy::parse(name.clone(), PolicySource::Managed, &text).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match parsed {
            Ok(policy) => policies.push(policy),
            Err(why) => findings.push(unreadable(&format!("managed policy {name}"), why)),
        }
    }
    (policies, findings)
}

/// Everything IAM says about the role: its trust and every inline and managed policy.
#[derive(Debug, Clone)]
pub struct RolePolicies {
    pub role: String,
    pub arn: String,
    pub trust: TrustAssessment,
    pub policies: Vec<NamedPolicy>,
    pub problems: Vec<String>,
}

pub async fn read_role_policies(ctx: &Ctx, role: &str) -> Result<RolePolicies> {
    read_role_policies_if_exists(ctx, role).await?.ok_or_else(|| {
        Error::refused(format!("role {role} does not exist"), Some("check --role-name or the stack (flowgate stack status)".to_owned()))
    })
}

/// Everything IAM says about the role; `None` when it does not exist (GetRole NoSuchEntity).
pub async fn read_role_policies_if_exists(ctx: &Ctx, role: &str) -> Result<Option<RolePolicies>> {
    let client = ctx.iam();
    let Some(info) = iam::get_role(&client, role).await? else { return Ok(None) };
    let trust = assess_trust(&info.trust_policy).map_err(|e| Error::refused(format!("role {role}: unreadable trust policy: {e}"), None))?;
    let mut policies = Vec::new();
    let mut problems = Vec::new();
    for (name, text) in inline_policies(&client, role).await? {
        match NamedPolicy::parse(name.clone(), PolicySource::Inline, &text) {
            Ok(p) => policies.push(p),
            Err(e) => problems.push(format!("inline policy {name}: {e}")),
        }
    }
    for (name, arn) in iam::list_attached_policies(&client, role).await? {
        let text = iam::managed_policy_document(&client, &arn).await?;
        match NamedPolicy::parse(name.clone(), PolicySource::Managed, &text) {
            Ok(p) => policies.push(p),
            Err(e) => problems.push(format!("managed policy {name}: {e}")),
        }
    }
    Ok(Some(RolePolicies { role: role.to_owned(), arn: info.arn, trust, policies, problems }))
}

/// How many buckets' policies are read at once.
const BUCKET_POLICY_READS: usize = 8;

/// What `bucket`'s own policy allows or denies the role `role_arn`; a policy that cannot be read
/// is a problem of the report.
async fn bucket_grants(ctx: &Ctx, bucket: &BucketName, identity: &Identity, role_arn: &str) -> BucketPolicyGrants {
    match s3::bucket_policy_of(&ctx.clients, &ctx.home_region, bucket, &identity.account).await {
        Ok(BucketPolicyRead::Owned(text)) => bucket_policy_grants(text.as_deref(), bucket, &identity.partition, &identity.account, role_arn),
        // No bucket, no policy to deny anything.
        Ok(BucketPolicyRead::Missing) => BucketPolicyGrants::default(),
        Err(e) => BucketPolicyGrants {
            problem: Some(format!("bucket policy of {bucket} not read ({e}): its denies are not seen")),
            ..BucketPolicyGrants::default()
        },
    }
}

/// What the role can do, as `access list` and `stack status` report it: its policies, and the
/// policy of every bucket they name (and of `also`), judged together by the core's evaluator.
#[derive(Debug, Clone)]
pub struct RoleAccess {
    pub read: RolePolicies,
    /// Per bucket: reads, S3 writes, denies (the role's and the bucket policy's).
    pub access: AccessReport,
    /// Compliance reads and security-group writes.
    pub vendor: VendorPermissions,
    /// Every action of the network-discovery set is allowed.
    pub network_discovery: bool,
}

/// The role's access (`None` when the role does not exist), reading the policy of each bucket
/// its policies name and of `also`; a bucket policy that cannot be read is a problem in the
/// report, not an error.
pub async fn role_access(ctx: &Ctx, role: &str, also: &[BucketName]) -> Result<Option<RoleAccess>> {
    let Some(read) = read_role_policies_if_exists(ctx, role).await? else { return Ok(None) };
    let identity = ctx.identity().await?.clone();
    let mut buckets = named_buckets(&read.policies, &identity.partition);
    buckets.extend(also.iter().cloned());
    buckets.sort();
    buckets.dedup();
    // The futures are made up front: a stream closure over borrowed values is not `Send` for
    // every lifetime, which the spawned command needs.
    let reads: Vec<_> = buckets.iter().map(|bucket| bucket_grants(ctx, bucket, &identity, &read.arn)).collect();
    let grants: Vec<BucketPolicyGrants> = stream::iter(reads).buffered(BUCKET_POLICY_READS).collect().await;
    let bucket_policies: BTreeMap<BucketName, BucketPolicyGrants> = buckets.into_iter().zip(grants).collect();
    let mut access = evaluate_with(&read.policies, &identity.partition, &bucket_policies);
    access.problems.extend(read.problems.clone());
    let documents: Vec<_> = read.policies.iter().map(|p| &p.document).collect();
    let (vendor, network_discovery) = (vendor_permissions(&documents), network_discovery(&documents));
    Ok(Some(RoleAccess { read, access, vendor, network_discovery }))
}

/// The role whose access a command audits: the stack's role or the one named.
pub async fn audited_role(ctx: &Ctx, target: &AccessTargetArgs) -> Result<String> {
    match resolve_target(ctx, target).await? {
        Target::Stack { params, .. } => Ok(params.role_name),
        Target::Role { role } => Ok(role),
    }
}
