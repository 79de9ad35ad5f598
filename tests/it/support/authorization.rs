//! What IAM authorizes for each request the chaos proxy recorded: the IAM action and the resource
//! ARN it acts on, as the Service Authorization Reference lists them per action ("Actions,
//! resources, and condition keys for ..."): S3 buckets and objects from the path, EC2 VPCs and flow
//! logs from the parameters, IAM roles from RoleName (or PolicySourceArn, the principal
//! SimulatePrincipalPolicy simulates), CloudFormation stacks and StackSets from their names, the
//! role an AssumeRole names; `*` for an action without a resource type.
//!
//! Only what the request itself names: what AWS authorizes besides (CloudFormation's resource
//! handlers, tagging on create, ...) is listed by the test that needs it
//! (`permissions_by_calls.rs`). Requests use the aws partition and path-style S3 (the emulator's).

use std::fmt;

use super::chaos::RequestRecord;

/// One action on one resource, as IAM evaluates it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Authorization {
    pub action: String,
    pub resource: String,
}

impl Authorization {
    pub fn new(action: impl Into<String>, resource: impl Into<String>) -> Self {
        Authorization { action: action.into(), resource: resource.into() }
    }
}

impl fmt::Display for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {}", self.action, self.resource)
    }
}

impl RequestRecord {
    /// What IAM authorizes for this request, made by a caller in `account` (whose account the
    /// ARNs of CloudFormation, EC2 and IAM resources name).
    pub fn authorizations(&self, account: &str) -> Vec<Authorization> {
        let service = self.service.as_str();
        let action = |name: &str| format!("{service}:{name}");
        let params = self.params();
        let one = |resource: String| vec![Authorization::new(action(&self.action), resource)];
        match service {
            "s3" => s3_authorizations(self),
            "ec2" => {
                ec2_resources(&self.action, &params, &self.region, account).into_iter().map(|r| Authorization::new(action(&self.action), r)).collect()
            }
            "iam" => match (param(&params, "RoleName"), param(&params, "PolicyArn"), param(&params, "PolicySourceArn")) {
                (Some(role), _, _) => one(format!("arn:aws:iam::{account}:role/{role}")),
                (None, Some(policy), _) => one(policy.to_owned()),
                // SimulatePrincipalPolicy: the user, group or role whose policies it simulates
                // (its resource types: group, role, user).
                (None, None, Some(principal)) => one(principal.to_owned()),
                (None, None, None) => one("*".to_owned()),
            },
            "sts" => one(param(&params, "RoleArn").unwrap_or("*").to_owned()),
            "cloudformation" => one(cloudformation_resource(&params, &self.region, account)),
            _ => one("*".to_owned()),
        }
    }

    /// The form parameters of a query-protocol request (EC2, IAM, STS, CloudFormation), decoded.
    pub fn params(&self) -> Vec<(String, String)> {
        self.body.split('&').filter_map(|pair| pair.split_once('=')).map(|(k, v)| (percent_decode(k), percent_decode(&v.replace('+', " ")))).collect()
    }
}

pub fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// The values of a list parameter (`ResourceId.1`, `ResourceId.2`, ...).
pub fn list_param<'a>(params: &'a [(String, String)], prefix: &str) -> Vec<&'a str> {
    params
        .iter()
        .filter(|(k, _)| k.strip_prefix(prefix).and_then(|rest| rest.strip_prefix('.')).is_some_and(|n| n.chars().all(|c| c.is_ascii_digit())))
        .map(|(_, v)| v.as_str())
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// EC2's resource types of the flow-log actions (vpc, vpc-flow-log; CreateTags: the tagged
/// resource); every other action flowgate calls (Describe*) has none.
fn ec2_resources(action: &str, params: &[(String, String)], region: &str, account: &str) -> Vec<String> {
    let arn = |kind: &str, id: &str| format!("arn:aws:ec2:{region}:{account}:{kind}/{id}");
    let of_id = |id: &str| {
        let kind = match id.split('-').next() {
            Some("fl") => "vpc-flow-log",
            Some("vpc") => "vpc",
            Some("subnet") => "subnet",
            Some("eni") => "network-interface",
            _ => return "*".to_owned(),
        };
        arn(kind, id)
    };
    match action {
        "CreateFlowLogs" => {
            let mut resources: Vec<String> = list_param(params, "ResourceId").into_iter().map(of_id).collect();
            // The flow log it creates.
            resources.push(arn("vpc-flow-log", "*"));
            resources
        }
        "DeleteFlowLogs" => list_param(params, "FlowLogId").into_iter().map(of_id).collect(),
        "CreateTags" | "DeleteTags" => list_param(params, "ResourceId").into_iter().map(of_id).collect(),
        _ => vec!["*".to_owned()],
    }
}

/// A stack (`stack/NAME/*`: the id AWS appends is unknown to the request) or a StackSet
/// (`stackset/NAME:*`), in the caller's account; `*` for the actions on neither.
fn cloudformation_resource(params: &[(String, String)], region: &str, account: &str) -> String {
    match (param(params, "StackName"), param(params, "StackSetName")) {
        (Some(arn), _) if arn.starts_with("arn:") => arn.to_owned(),
        (Some(name), _) => format!("arn:aws:cloudformation:{region}:{account}:stack/{name}/*"),
        (None, Some(name)) => format!("arn:aws:cloudformation:{region}:{account}:stackset/{name}:*"),
        (None, None) => "*".to_owned(),
    }
}

/// S3 (REST, path style): the action from the method and sub-resource, on the bucket or object.
fn s3_authorizations(record: &RequestRecord) -> Vec<Authorization> {
    let path = record.path.trim_start_matches('/');
    let (bucket, key) = match path.split_once('/') {
        Some((bucket, key)) if !key.is_empty() => (bucket, Some(percent_decode(key))),
        _ => (path.trim_end_matches('/'), None),
    };
    let query: Vec<&str> = record.query.split('&').map(|kv| kv.split('=').next().unwrap_or("")).filter(|k| !k.is_empty()).collect();
    let has = |k: &str| query.contains(&k);
    let method = record.method.as_str();
    let bucket_arn = format!("arn:aws:s3:::{bucket}");
    let on_bucket = |action: &str| vec![Authorization::new(format!("s3:{action}"), bucket_arn.clone())];
    if bucket.is_empty() {
        let action = if method == "GET" { "s3:ListAllMyBuckets" } else { "s3:unmapped" };
        return vec![Authorization::new(action, "*")];
    }
    if let Some(key) = key {
        let action = s3_object_action(method, &has);
        return vec![Authorization::new(format!("s3:{action}"), format!("{bucket_arn}/{key}"))];
    }
    if method == "POST" && has("delete") {
        return deleted_objects(&record.body, &bucket_arn);
    }
    // (sub-resource, read, write, delete): deleting a configuration is authorized as writing it.
    const CONFIGURATIONS: &[(&str, &str, &str, &str)] = &[
        ("policy", "GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy"),
        ("publicAccessBlock", "GetBucketPublicAccessBlock", "PutBucketPublicAccessBlock", "PutBucketPublicAccessBlock"),
        ("ownershipControls", "GetBucketOwnershipControls", "PutBucketOwnershipControls", "PutBucketOwnershipControls"),
        ("encryption", "GetEncryptionConfiguration", "PutEncryptionConfiguration", "PutEncryptionConfiguration"),
        ("lifecycle", "GetLifecycleConfiguration", "PutLifecycleConfiguration", "PutLifecycleConfiguration"),
        ("tagging", "GetBucketTagging", "PutBucketTagging", "PutBucketTagging"),
        ("acl", "GetBucketAcl", "PutBucketAcl", "PutBucketAcl"),
        ("versioning", "GetBucketVersioning", "PutBucketVersioning", "PutBucketVersioning"),
        ("policyStatus", "GetBucketPolicyStatus", "unmapped", "unmapped"),
        ("location", "GetBucketLocation", "unmapped", "unmapped"),
        ("versions", "ListBucketVersions", "unmapped", "unmapped"),
        ("uploads", "ListBucketMultipartUploads", "unmapped", "unmapped"),
    ];
    if let Some(&(_, read, write, delete)) = CONFIGURATIONS.iter().find(|(sub, ..)| has(sub)) {
        return on_bucket(match method {
            "GET" | "HEAD" => read,
            "PUT" => write,
            "DELETE" => delete,
            _ => "unmapped",
        });
    }
    on_bucket(match method {
        // HeadBucket and ListObjects(V2) are authorized as s3:ListBucket.
        "GET" | "HEAD" => "ListBucket",
        "PUT" => "CreateBucket",
        "DELETE" => "DeleteBucket",
        _ => "unmapped",
    })
}

fn s3_object_action(method: &str, has: &dyn Fn(&str) -> bool) -> &'static str {
    let versioned = has("versionId");
    match method {
        "GET" if has("tagging") => "GetObjectTagging",
        "GET" | "HEAD" if versioned => "GetObjectVersion",
        "GET" | "HEAD" => "GetObject",
        "PUT" if has("tagging") => "PutObjectTagging",
        "PUT" | "POST" => "PutObject",
        "DELETE" if versioned => "DeleteObjectVersion",
        "DELETE" => "DeleteObject",
        _ => "unmapped",
    }
}

/// DeleteObjects is authorized per object it names: s3:DeleteObjectVersion for one with a
/// VersionId, else s3:DeleteObject.
fn deleted_objects(body: &str, bucket_arn: &str) -> Vec<Authorization> {
    let between = |text: &str, tag: &str| -> Option<String> {
        let start = text.find(&format!("<{tag}>"))? + tag.len() + 2;
        let end = text[start..].find(&format!("</{tag}>"))? + start;
        Some(text[start..end].replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'"))
    };
    body.split("<Object>")
        .skip(1)
        .filter_map(|object| {
            let key = between(object, "Key")?;
            let action = if between(object, "VersionId").is_some() { "s3:DeleteObjectVersion" } else { "s3:DeleteObject" };
            Some(Authorization::new(action, format!("{bucket_arn}/{key}")))
        })
        .collect()
}
