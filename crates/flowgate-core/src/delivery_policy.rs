//! `bucket check`'s (and `verify`'s) delivery-policy check: whether the bucket policy lets the log
//! delivery service write flow logs. Its Allow statements must grant the delivery path (flowgate's
//! delivery statements, or equivalent ones under any Sid), and no Deny may stop the service: a
//! Deny that names it (or everyone) outright, or under a condition it does not meet, fails the
//! check, as AWS would refuse the write; one under a condition flowgate cannot judge is a warning.
//!
//! What the log delivery service sends: `s3:PutObject` on `[prefix/]AWSLogs/ACCOUNT/...`, and
//! `s3:GetBucketAcl`/`s3:ListBucket` on the bucket (the documented `AWSLogDeliveryAclCheck`
//! statement; VPC User Guide, "flow-logs-s3"). The request context is
//! [`crate::resource_policy::delivery_context`].

use crate::aws_delivery;
use crate::bucket_policy::{self, DeliveryTarget};
use crate::policy_doc::PolicyDocError;
use crate::report::Check;
use crate::resource_policy::{Ask, DELIVERY_SERVICE, Judged, On, Requester, delivery_context, judge_bucket_policy};
use crate::role_policy::{Effect, Scope};

const CHECK: &str = "delivery-policy";

/// The Deny statements that stop (or may stop) the log delivery service.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeliveryDenials {
    /// Deny statements that certainly apply to every write (or to the bucket's ACL check).
    pub certain: Vec<Judged>,
    /// Deny statements that apply only under a condition flowgate cannot judge, or to some keys.
    pub possible: Vec<Judged>,
}

impl DeliveryDenials {
    pub fn is_empty(&self) -> bool {
        self.certain.is_empty() && self.possible.is_empty()
    }
}

/// Every Deny of the bucket policy `text` that applies to the log delivery service writing
/// `target`'s delivery path.
pub fn delivery_denials(text: Option<&str>, target: &DeliveryTarget<'_>) -> Result<DeliveryDenials, PolicyDocError> {
    let requester = Requester::Service(DELIVERY_SERVICE);
    let write = [Ask { action: "s3:PutObject", on: On::Objects { prefix: target.log_path() } }];
    let check = [Ask { action: "s3:GetBucketAcl", on: On::Bucket }, Ask { action: "s3:ListBucket", on: On::Bucket }];
    let mut judged =
        judge_bucket_policy(text, target.bucket, target.partition, &requester, &delivery_context(target.partition, target.account, true), &write)?;
    judged.extend(judge_bucket_policy(
        text,
        target.bucket,
        target.partition,
        &requester,
        &delivery_context(target.partition, target.account, false),
        &check,
    )?);
    let (certain, possible) = judged.into_iter().filter(|j| j.effect == Effect::Deny).partition(Judged::is_certain);
    Ok(DeliveryDenials { certain, possible })
}

/// `statement Sid "X" (s3:PutObject, s3:GetBucketAcl)`, with how much it covers and what it
/// depends on; one entry per statement, whatever resources matched.
fn list_words(judged: &[Judged]) -> String {
    let mut statements: Vec<(&Judged, Vec<&str>, Vec<&str>)> = Vec::new();
    for j in judged {
        let some_keys = (j.scope == Scope::SomeObjects).then_some(j.resource.as_str());
        match statements.iter_mut().find(|(first, _, _)| first.statement == j.statement) {
            Some((_, actions, partial)) => {
                actions.extend(j.actions.iter().map(String::as_str));
                partial.extend(some_keys);
            }
            None => statements.push((j, j.actions.iter().map(String::as_str).collect(), some_keys.into_iter().collect())),
        }
    }
    let words = statements.iter().map(|(j, actions, partial)| {
        let mut words = format!("statement {} ({})", j.statement.label(), actions.join(", "));
        if !partial.is_empty() {
            words.push_str(&format!(" on some keys ({})", partial.join(", ")));
        }
        if !j.depends_on.is_empty() {
            words.push_str(&format!(" if {}", j.depends_on.join(" and ")));
        }
        words
    });
    words.collect::<Vec<_>>().join("; ")
}

/// `AWS's own statements AWSLogDeliveryWrite, AWSLogDeliveryAclCheck (written by AWS when the
/// bucket owner created a flow log; for flow logs in eu-west-1 only)`.
fn aws_grant_words(grant: &aws_delivery::AwsGrant) -> String {
    let regions = match &grant.regions {
        Some(regions) => format!("; for flow logs in {} only", regions.join(", ")),
        None => String::new(),
    };
    format!("AWS's own statements {} (written by AWS when the bucket owner created a flow log{regions})", grant.sids.join(", "))
}

const EXEMPT: &str =
    "exempt AWS services from the Deny (add \"BoolIfExists\": {\"aws:PrincipalIsAWSService\": \"false\"} to its Condition) or remove it";

/// The delivery-policy check of `bucket check`: the delivery statements for `target`'s path are
/// present (with every other path the policy grants the service), and no Deny stops the service.
pub fn delivery_policy_check(policy: Option<&str>, target: &DeliveryTarget<'_>) -> Check {
    let desired = bucket_policy::delivery_statements(target);
    let wanted_path = target.log_path();
    let (missing, denials) = match (bucket_policy::missing_delivery_statements(policy, &desired), delivery_denials(policy, target)) {
        (Ok(missing), Ok(denials)) => (missing, denials),
        (Err(e), _) | (_, Err(e)) => return Check::fail(CHECK, e.to_string(), "fix the bucket policy's JSON"),
    };
    // Every path the delivery service may write to, the wanted one and earlier ones alike.
    let others = match bucket_policy::granted_delivery_paths(policy, target.partition, target.bucket) {
        Ok(paths) => {
            let others: Vec<String> = paths.into_iter().filter(|p| p != &wanted_path).collect();
            if others.is_empty() { String::new() } else { format!("; also grants {} (kept while flow logs deliver there)", others.join(", ")) }
        }
        Err(_) => String::new(),
    };
    if !denials.certain.is_empty() {
        return Check::fail(
            CHECK,
            format!("the bucket policy denies {DELIVERY_SERVICE} writing {wanted_path}: {}", list_words(&denials.certain)),
            EXEMPT,
        );
    }
    // AWS's own statements (written when the bucket owner created a flow log) grant the path as
    // well as flowgate's: delivery works, and `bucket create` adds flowgate's beside them.
    let by_aws = match (missing.is_empty(), aws_delivery::aws_grant(policy, target)) {
        (false, Ok(Some(grant))) => Some(aws_grant_words(&grant)),
        _ => None,
    };
    let maybe = if denials.possible.is_empty() {
        String::new()
    } else {
        format!("; the bucket policy may deny {DELIVERY_SERVICE}: {}", list_words(&denials.possible))
    };
    let present = match &by_aws {
        Some(words) => format!("flow-log delivery granted for {wanted_path} by {words}"),
        None => format!("flow-log delivery statements present for {wanted_path}"),
    };
    match (missing.is_empty() || by_aws.is_some(), maybe.is_empty()) {
        (true, true) => Check::pass(CHECK, format!("{present}{others}")),
        (true, false) => {
            Check::warn(CHECK, format!("{present}{others}{maybe}"), format!("check that {DELIVERY_SERVICE} meets those conditions, or {EXEMPT}"))
        }
        (false, _) => Check::fail(
            CHECK,
            format!("missing {} for {wanted_path}{others}{maybe}", missing.join(", ")),
            "flowgate bucket create (merges them into the policy)",
        ),
    }
}

#[cfg(test)]
mod tests;
