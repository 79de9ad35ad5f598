//! What the two requests flowgate judges carry, key by key: the log delivery service writing flow
//! logs, and a session of the vendor's role reading them. Every key not named here is unknown
//! (a statement conditioned on it "may" apply).
//!
//! Availability of each key: IAM User Guide, "AWS global condition context keys"
//! (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html).

use super::condition::{KeyValue, RequestContext};

/// The service principal that writes flow logs to S3 (VPC User Guide, "flow-logs-s3").
pub const DELIVERY_SERVICE: &str = "delivery.logs.amazonaws.com";

/// Both requests go over TLS: the AWS SDKs call HTTPS endpoints, and AWS's own services deliver
/// into buckets that deny every request without it (Control Tower's log archive bucket policy
/// denies `s3:*` when `aws:SecureTransport` is false, and CloudTrail and Config deliver there).
const SECURE_TRANSPORT: &str = "true";

/// Keys only a service principal's request carries ("This key is present in the request when the
/// call is made by an AWS service principal", `aws:PrincipalServiceName`; `aws:SourceAccount` and
/// `aws:SourceArn` are "included ... only when the call to your resource is being made directly
/// by an AWS service principal"), and keys only a service's forward access session carries
/// (`aws:CalledVia*`: "not present when the principal makes the call directly").
const SERVICE_ONLY: &[&str] =
    &["aws:PrincipalServiceName", "aws:PrincipalServiceNamesList", "aws:SourceAccount", "aws:SourceArn", "aws:SourceOrgID", "aws:SourceOrgPaths"];
const FORWARDED_ONLY: &[&str] = &["aws:CalledVia", "aws:CalledViaFirst", "aws:CalledViaLast"];

/// The log delivery service writing into `account`'s own bucket, for a flow log of `account`.
///
/// Known: `aws:SourceAccount` is the flow log's account, and `aws:SourceArn` an ARN
/// `arn:P:logs:REGION:ACCOUNT:...` (the documented delivery policy conditions on both, with
/// `ArnLike arn:P:logs:REGION:ACCOUNT:*`; which region and resource is not known here);
/// `aws:PrincipalIsAWSService` is true ("set to true when a service uses a service principal to
/// perform a direct action on your resources"). A `PutObject` carries
/// `s3:x-amz-acl = bucket-owner-full-control` (the documented delivery policy requires it).
///
/// Absent:
/// - `aws:PrincipalOrgID`/`aws:PrincipalOrgPaths`: "included in the request context only if the
///   principal is a member of an organization"; a policy keyed on them "prevents all principals
///   outside of the specified organization ... This includes any AWS services ... such as AWS
///   CloudTrail sending log data to your Amazon S3 buckets".
/// - `aws:SourceIp`, `aws:SourceVpc`, `aws:SourceVpcArn`, `aws:SourceVpce`, `aws:VpcSourceIp` and
///   the `aws:Vpce*` keys: "When AWS services make calls to other AWS services on your behalf
///   (service-to-service calls), certain network-specific authorization context is redacted. If
///   your policy uses this condition key with Deny statements, AWS service principals might be
///   unintentionally blocked."
/// - `aws:PrincipalArn`, `aws:PrincipalAccount`, `aws:username`, `aws:PrincipalTag/*`: they
///   describe an IAM principal of an account (role, user, root); a service principal is none.
///   The guide lists `aws:PrincipalAccount` for every request, but what a service principal's
///   request holds there is not the customer's account, and "absent" and "another account" judge
///   the same for every policy that names the customer's accounts.
pub fn delivery_context(partition: &str, account: &str, put_object: bool) -> RequestContext {
    let context = RequestContext::default()
        .known("aws:SourceAccount", account)
        .with(
            "aws:SourceArn",
            KeyValue::PartialArn { partition: partition.to_owned(), service: "logs".to_owned(), region: None, account: account.to_owned() },
        )
        .known("aws:PrincipalIsAWSService", "true")
        .known("aws:PrincipalServiceName", DELIVERY_SERVICE)
        .known("aws:ViaAWSService", "false")
        .known("aws:SecureTransport", SECURE_TRANSPORT)
        .known("aws:ResourceAccount", account)
        .absent(&[
            "aws:PrincipalOrgID",
            "aws:PrincipalOrgPaths",
            "aws:PrincipalArn",
            "aws:PrincipalAccount",
            "aws:username",
            "aws:SourceIp",
            "aws:SourceVpc",
            "aws:SourceVpcArn",
            "aws:SourceVpce",
            "aws:VpcSourceIp",
            "aws:VpceAccount",
            "aws:VpceOrgID",
            "aws:VpceOrgPaths",
        ])
        .absent(FORWARDED_ONLY)
        .absent_family("aws:PrincipalTag/");
    if put_object { context.known("s3:x-amz-acl", "bucket-owner-full-control") } else { context.absent(&["s3:x-amz-acl"]) }
}

/// A session of the vendor's role `role_arn` in `account`, reading a bucket of `account` directly
/// (not through another service).
///
/// Known: `aws:PrincipalArn` is the role's ARN ("For IAM roles, the request context returns the
/// ARN of the role"), `aws:PrincipalAccount` its account, `aws:PrincipalType` `AssumedRole`,
/// `aws:PrincipalIsAWSService` false, `aws:ViaAWSService` false ("false when the principal makes
/// the call directly"). Absent: the service-principal keys, `aws:CalledVia*`, and `aws:username`
/// ("requests that are made using ... IAM roles do not include this key"). Unknown: where the
/// vendor calls from (`aws:SourceIp`, `aws:SourceVpc*`), its organization, the session's tags.
pub fn role_session_context(account: &str, role_arn: &str) -> RequestContext {
    RequestContext::default()
        .known("aws:PrincipalArn", role_arn)
        .known("aws:PrincipalAccount", account)
        .known("aws:PrincipalType", "AssumedRole")
        .known("aws:PrincipalIsAWSService", "false")
        .known("aws:ViaAWSService", "false")
        .known("aws:SecureTransport", SECURE_TRANSPORT)
        .known("aws:ResourceAccount", account)
        .absent(SERVICE_ONLY)
        .absent(FORWARDED_ONLY)
        .absent(&["aws:username"])
}
