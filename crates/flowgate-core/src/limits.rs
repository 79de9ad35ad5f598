//! AWS's limits a plan can pass, judged before any call: CloudFormation's parameter size, IAM's
//! size of a role's inline policies, and the tags a resource may hold. The commands refuse a plan
//! that would pass one, naming the limit, the size and what to do: with exit 2 before any AWS
//! call when the input alone passes it, with exit 1 before any mutating call when only what AWS
//! holds makes it pass (a bucket's existing tags, the buckets a stack already grants).

use std::fmt;

use super::names::Tag;
pub use super::role_policy::ROLE_INLINE_POLICY_MAX_CHARS;
use super::stack_template::{Bound, Inputs, Template};

/// CloudFormation quotas, "Parameter value size": 4,096 bytes per parameter value (AWS
/// CloudFormation User Guide, "AWS CloudFormation quotas",
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html).
/// `StorageBucketNames` is the value flowgate fills: 150 bucket names made 6,750 bytes.
pub const STACK_PARAMETER_MAX_BYTES: usize = 4_096;

/// Tags per resource: 50, for an S3 bucket (PutBucketTagging replaces the whole set of at most
/// 50; Amazon S3 User Guide, "Using cost allocation S3 bucket tags") and for an EC2 resource such
/// as a flow log ("Maximum number of tags per resource – 50", "Tag restrictions"). Keys that start
/// with `aws:` are AWS's own and do not count against it.
pub const TAGS_PER_RESOURCE_MAX: usize = 50;

/// A plan that would pass one of AWS's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitBreach {
    /// What would pass it: "the parameter StorageBucketNames".
    pub what: String,
    /// The limit as AWS names it: "CloudFormation's parameter value size".
    pub limit_name: &'static str,
    pub size: usize,
    pub limit: usize,
    /// bytes, characters (without whitespace), tags.
    pub unit: &'static str,
    /// What the size is made of ("StorageReadPolicy 16,900, DiscoveryPolicy 728"); may be empty.
    pub parts: String,
}

impl fmt::Display for LimitBreach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} {}, over {} of {}", self.what, grouped(self.size), self.unit, self.limit_name, grouped(self.limit))?;
        if !self.parts.is_empty() {
            write!(f, " ({})", self.parts)?;
        }
        Ok(())
    }
}

/// `17628` -> `17,628`.
pub fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The first stack parameter whose value is over CloudFormation's size limit.
pub fn stack_parameter_breach<'a>(parameters: impl IntoIterator<Item = (&'a str, &'a str)>) -> Option<LimitBreach> {
    parameters.into_iter().find(|(_, value)| value.len() > STACK_PARAMETER_MAX_BYTES).map(|(name, value)| LimitBreach {
        what: format!("the parameter {name}"),
        limit_name: "CloudFormation's parameter value size",
        size: value.len(),
        limit: STACK_PARAMETER_MAX_BYTES,
        unit: "bytes",
        parts: String::new(),
    })
}

/// The first role whose inline policies, as the template renders them with these values, are
/// over IAM's limit. Documents that cannot be rendered locally are left out of the sum.
pub fn role_policy_breach(bound: &Bound) -> Option<LimitBreach> {
    bound.roles().into_iter().find_map(|role| {
        let policies = bound.role_inline_policies(role);
        let size: usize = policies.iter().filter_map(|p| p.chars).sum();
        (size > ROLE_INLINE_POLICY_MAX_CHARS).then(|| LimitBreach {
            what: format!("the inline policies of role {}", bound.role_name(role).unwrap_or_else(|| role.to_owned())),
            limit_name: "IAM's role policy size (all inline policies of a role together)",
            size,
            limit: ROLE_INLINE_POLICY_MAX_CHARS,
            unit: "characters without whitespace",
            parts: policies.iter().filter_map(|p| Some(format!("{} {}", p.source, grouped(p.chars?)))).collect::<Vec<_>>().join(", "),
        })
    })
}

/// What a deploy of `template` with `inputs` would pass: CloudFormation's parameter size, IAM's
/// role policy size, or both. (CloudFormation would refuse the first at CreateChangeSet; IAM the
/// second only while the stack applies, which then rolls back.)
pub fn stack_breaches(template: &Template, inputs: &Inputs) -> Vec<LimitBreach> {
    stack_parameter_breach(inputs.parameters.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .into_iter()
        .chain(role_policy_breach(&Bound::new(template, inputs)))
        .collect()
}

/// How many of `buckets`, in order, one deploy can grant within both limits; `inputs_with` makes
/// the deploy's inputs for a list of buckets. (The sizes grow with every bucket added.)
pub fn buckets_that_fit(template: &Template, buckets: &[String], inputs_with: impl Fn(&[String]) -> Inputs) -> usize {
    let fits = |n: usize| stack_breaches(template, &inputs_with(&buckets[..n])).is_empty();
    let (mut low, mut high) = (0, buckets.len());
    if fits(high) {
        return high;
    }
    // Invariant: the first `low` fit (0 always does, or nothing can be granted), `high` do not.
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        if fits(middle) { low = middle } else { high = middle }
    }
    low
}

/// Tags a resource would hold over AWS's limit: `tags` (keys `aws:` are AWS's and do not count),
/// plus `own` tags flowgate adds itself (its `flowgate:managed` marker on flow logs).
pub fn tags_breach(what: impl Into<String>, tags: &[Tag], own: usize) -> Option<LimitBreach> {
    let counted = tags.iter().filter(|t| !t.key.to_ascii_lowercase().starts_with("aws:")).count() + own;
    (counted > TAGS_PER_RESOURCE_MAX).then(|| LimitBreach {
        what: what.into(),
        limit_name: "AWS's tags per resource",
        size: counted,
        limit: TAGS_PER_RESOURCE_MAX,
        unit: "tags",
        parts: if own > 0 { format!("{own} of them flowgate's own marker") } else { String::new() },
    })
}

/// S3's bucket policy size (see `org_delivery`, where the per-account statements grow with
/// every account).
pub use super::org_delivery::BUCKET_POLICY_LIMIT_BYTES;

/// A bucket policy `document` past S3's size limit, with what its bytes are: flowgate's
/// statements, the ones AWS writes itself when the bucket owner creates a flow log (see
/// `aws_delivery`), and the others. AWS's count like any other: PutBucketPolicy refuses the whole
/// document (`PolicyTooLarge`), whoever wrote which statement.
pub fn bucket_policy_breach(what: impl Into<String>, document: &str) -> Option<LimitBreach> {
    (document.len() > BUCKET_POLICY_LIMIT_BYTES).then(|| LimitBreach {
        what: what.into(),
        limit_name: "S3's bucket policy size",
        size: document.len(),
        limit: BUCKET_POLICY_LIMIT_BYTES,
        unit: "bytes",
        parts: bucket_policy_parts(document),
    })
}

/// `flowgate's statements 19,402, AWS's own delivery statements 688, other statements 230`
/// (each statement as compact JSON; empty for a document that is not a policy).
pub fn bucket_policy_parts(document: &str) -> String {
    let Ok(statements) = super::policy_doc::parse_document(document).and_then(|doc| super::policy_doc::statements(&doc)) else {
        return String::new();
    };
    let (mut flowgate, mut aws, mut other) = (0, 0, 0);
    for statement in &statements {
        let size = statement.to_string().len();
        match super::policy_doc::sid(statement) {
            _ if super::aws_delivery::is_aws_statement(statement) => aws += size,
            Some(sid) if sid.starts_with("Flowgate") => flowgate += size,
            _ => other += size,
        }
    }
    let parts = [("flowgate's statements", flowgate), ("AWS's own delivery statements", aws), ("other statements", other)];
    parts.iter().filter(|(_, n)| *n > 0).map(|(what, n)| format!("{what} {}", grouped(*n))).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack_plan::{StackParameters, TEMPLATE};
    use crate::stack_template::parse_template;

    fn inputs(buckets: &[String]) -> Inputs {
        let params = StackParameters {
            vendor_account: "111122223333".into(),
            external_id: "x".repeat(32),
            role_name: "FlowgateCrossAccountRole".into(),
            storage_buckets: buckets.to_vec(),
            compliance_account: None,
            read_write: false,
        };
        Inputs::new(&params.to_api(), "aws", Some("us-east-1"), "123456789012", "flowgate-cross-account")
    }

    /// `n` bucket names of `len` characters each.
    fn buckets(n: usize, len: usize) -> Vec<String> {
        (0..n).map(|i| format!("{i:0>len$}")).collect()
    }

    fn role_size(template: &Template, buckets: &[String]) -> usize {
        let inputs = inputs(buckets);
        Bound::new(template, &inputs).role_inline_policies("CrossAccountRole").iter().filter_map(|p| p.chars).sum()
    }

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(
            (grouped(0), grouped(999), grouped(1000), grouped(17_628), grouped(1_234_567)),
            ("0".into(), "999".into(), "1,000".into(), "17,628".into(), "1,234,567".into())
        );
    }

    /// CloudFormation's 4,096 bytes: at the limit accepted, one byte over refused.
    #[test]
    fn a_parameter_at_the_limit_passes_and_one_byte_more_does_not() {
        let at = "b".repeat(STACK_PARAMETER_MAX_BYTES);
        assert_eq!(stack_parameter_breach([("StorageBucketNames", at.as_str())]), None);
        let over = "b".repeat(STACK_PARAMETER_MAX_BYTES + 1);
        let breach = stack_parameter_breach([("RoleName", "r"), ("StorageBucketNames", over.as_str())]).unwrap();
        assert_eq!((breach.size, breach.limit), (4_097, 4_096));
        assert_eq!(breach.to_string(), "the parameter StorageBucketNames: 4,097 bytes, over CloudFormation's parameter value size of 4,096");
        // As reported: 150 storage ids of 44 characters joined are 6,749 bytes.
        let many = buckets(150, 44).join(",");
        assert_eq!(stack_parameter_breach([("StorageBucketNames", many.as_str())]).unwrap().size, 6_749);
    }

    /// IAM's 10,240 characters over the role's inline policies: the largest grant that fits is
    /// accepted, one bucket more is refused; the sizes are the template's own rendering.
    #[test]
    fn the_role_policy_at_the_limit_passes_and_one_bucket_more_does_not() {
        let template = parse_template(TEMPLATE).unwrap();
        // 63-character names (the longest): the parameter stays under its limit, the policy does not.
        let names = buckets(80, 63);
        let fit = buckets_that_fit(&template, &names, inputs);
        assert!(fit > 40 && fit < 80, "{fit}");
        assert!(role_size(&template, &names[..fit]) <= ROLE_INLINE_POLICY_MAX_CHARS);
        assert_eq!(stack_breaches(&template, &inputs(&names[..fit])), [], "just under: accepted");
        let over = stack_breaches(&template, &inputs(&names[..fit + 1])).pop().expect("one more: refused");
        assert!(over.size > ROLE_INLINE_POLICY_MAX_CHARS && over.size == role_size(&template, &names[..fit + 1]), "{over}");
        assert!(
            over.what.contains("CrossAccountRole") && over.parts.contains("StorageReadPolicy") && over.parts.contains("DiscoveryPolicy"),
            "{over}"
        );
        assert_eq!(buckets_that_fit(&template, &names[..fit], inputs), fit, "all of them fit");
    }

    /// As reported: 150 storage ids passed both limits unseen (6,750 bytes of parameter, 17,628
    /// characters of storage policy).
    #[test]
    fn the_reported_grant_is_refused() {
        let template = parse_template(TEMPLATE).unwrap();
        let names = buckets(150, 44);
        let breaches = stack_breaches(&template, &inputs(&names));
        let limits: Vec<usize> = breaches.iter().map(|b| b.limit).collect();
        assert_eq!(limits, [STACK_PARAMETER_MAX_BYTES, ROLE_INLINE_POLICY_MAX_CHARS], "both are named: {breaches:?}");
        assert!(breaches[1].size > 17_000, "{}", breaches[1]);
        assert!(buckets_that_fit(&template, &names, inputs) < 90);
    }

    /// S3's 20 KB counts AWS's own delivery statements too (written when the bucket owner
    /// created a flow log): a policy they push over the limit is refused, and they are named.
    #[test]
    fn aws_s_own_statements_count_in_the_bucket_policy_size() {
        let bucket: crate::names::BucketName = "central-logs".parse().unwrap();
        let ids: Vec<String> = (0..200).map(|i| format!("{:012}", 100_000_000_000u64 + i)).collect();
        let target = crate::org_delivery::OrgDeliveryTarget {
            partition: "aws",
            bucket: &bucket,
            prefix: None,
            hive_partitions: false,
            form: crate::org_delivery::DeliveryForm::PerAccount,
        };
        let aws_target =
            crate::bucket_policy::DeliveryTarget { partition: "aws", bucket: &bucket, prefix: None, account: &ids[0], hive_partitions: false };
        let aws = crate::aws_delivery::aws_statements(&aws_target, "us-east-1");
        let aws_bytes: usize = aws.iter().map(|s| s.to_string().len()).sum();
        // The most accounts whose org statements fit alone, then AWS's beside them.
        let policy = |n: usize, with_aws: bool| {
            let mut statements = crate::org_delivery::org_delivery_statements(&target, &ids[..n]);
            if with_aws {
                statements.extend(aws.iter().cloned());
            }
            serde_json::json!({"Version": "2012-10-17", "Statement": statements}).to_string()
        };
        let fit = (1..ids.len()).take_while(|n| policy(*n, false).len() <= BUCKET_POLICY_LIMIT_BYTES).last().unwrap();
        let alone = policy(fit, false);
        assert_eq!(bucket_policy_breach("the central bucket's policy", &alone), None);
        let with_aws = policy(fit, true);
        assert!(alone.len() + aws_bytes > BUCKET_POLICY_LIMIT_BYTES, "AWS's statements are what passes the limit");
        let breach = bucket_policy_breach("the central bucket's policy", &with_aws).expect("AWS's statements count");
        assert_eq!(breach.size, with_aws.len());
        assert!(breach.parts.contains(&format!("AWS's own delivery statements {}", grouped(aws_bytes))), "{breach}");
        assert!(
            breach.to_string().starts_with("the central bucket's policy: ") && breach.to_string().contains("over S3's bucket policy size of 20,480"),
            "{breach}"
        );
    }

    #[test]
    fn fifty_tags_fit_and_fifty_one_do_not() {
        let tags = |n: usize| (0..n).map(|i| Tag { key: format!("k{i}"), value: "v".into() }).collect::<Vec<_>>();
        assert_eq!(tags_breach("bucket b", &tags(50), 0), None);
        let breach = tags_breach("bucket b", &tags(51), 0).unwrap();
        assert_eq!(breach.to_string(), "bucket b: 51 tags, over AWS's tags per resource of 50");
        // Flow logs carry flowgate's marker: 49 of the user's fit, 50 do not.
        assert_eq!(tags_breach("each flow log", &tags(49), 1), None);
        assert!(tags_breach("each flow log", &tags(50), 1).unwrap().to_string().contains("1 of them flowgate's own marker"));
        // AWS's own tags do not count.
        let mut with_aws = tags(50);
        with_aws.push(Tag { key: "aws:cloudformation:stack-name".into(), value: "s".into() });
        assert_eq!(tags_breach("bucket b", &with_aws, 0), None);
    }
}
