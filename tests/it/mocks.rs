//! Adapter behaviour the emulator cannot produce (moto never answers 403 or 301 to HeadBucket, nor
//! AccessDenied with a named action, nor S3's eventual consistency right after CreateBucket),
//! covered with aws-smithy-mocks.

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::operation::head_bucket::HeadBucketOutput;
use aws_sdk_s3::operation::list_buckets::ListBucketsOutput;
use aws_sdk_s3::operation::put_public_access_block::PutPublicAccessBlockOutput;
use aws_sdk_s3::types::Bucket;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

use flowgate::aws::s3::{AFTER_CREATE_DELAYS, Applied, apply_after_create, bucket_existence, list_buckets_with_encryption};
use flowgate::core::bucket::{BucketAction, BucketExistence};
use flowgate::error::{AwsErrorKind, Error};

fn bucket() -> flowgate::core::names::BucketName {
    "mocked-bucket".parse().unwrap()
}

#[tokio::test]
async fn head_bucket_403_means_not_ours() {
    let rule = mock!(Client::head_bucket).then_http_response(|| HttpResponse::new(StatusCode::try_from(403).unwrap(), SdkBody::empty()));
    let s3 = mock_client!(aws_sdk_s3, [&rule]);
    assert_eq!(bucket_existence(&s3, &bucket(), "123456789012").await.unwrap(), BucketExistence::Forbidden);
}

fn moved_to(region: &'static str) -> impl Fn() -> HttpResponse + Send + Sync + 'static {
    move || {
        let mut response = HttpResponse::new(StatusCode::try_from(301).unwrap(), SdkBody::empty());
        response.headers_mut().insert("x-amz-bucket-region", region);
        response
    }
}

/// AWS behaviour: HeadBucket on a bucket in another region answers 301 with
/// `x-amz-bucket-region` *before* it evaluates `ExpectedBucketOwner` (moto never redirects), so
/// a name owned by another account in another region looks like "ours, elsewhere" from the home
/// region. flowgate asks again in that region with `ExpectedBucketOwner`, where the owner check
/// answers 403. Sources: HeadBucket, https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html;
/// GetBucketLocation ("HeadBucket ... always return[s] the bucket's location through an HTTP
/// response header, whether access to the bucket is authorized or not"),
/// https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLocation.html
#[tokio::test]
async fn head_bucket_301_comes_before_the_expected_owner_check() {
    let redirect = mock!(Client::head_bucket).then_http_response(moved_to("eu-west-1"));
    let in_region = mock!(Client::head_bucket)
        .match_requests(|r| r.bucket() == Some("mocked-bucket") && r.expected_bucket_owner() == Some("123456789012"))
        .then_http_response(|| HttpResponse::new(StatusCode::try_from(403).unwrap(), SdkBody::empty()));
    let s3 = mock_client!(aws_sdk_s3, RuleMode::Sequential, [&redirect, &in_region]);
    assert_eq!(bucket_existence(&s3, &bucket(), "123456789012").await.unwrap(), BucketExistence::Forbidden);
    assert_eq!((redirect.num_calls(), in_region.num_calls()), (1, 1), "the HEAD is repeated in the bucket's region");
}

#[tokio::test]
async fn head_bucket_301_then_ours_in_the_named_region() {
    let redirect = mock!(Client::head_bucket).then_http_response(moved_to("ap-southeast-2"));
    let in_region = mock!(Client::head_bucket)
        .match_requests(|r| r.expected_bucket_owner() == Some("123456789012"))
        .then_output(|| HeadBucketOutput::builder().bucket_region("ap-southeast-2").build());
    let s3 = mock_client!(aws_sdk_s3, RuleMode::Sequential, [&redirect, &in_region]);
    assert_eq!(bucket_existence(&s3, &bucket(), "123456789012").await.unwrap(), BucketExistence::Owned { region: "ap-southeast-2".into() });
    assert_eq!(in_region.num_calls(), 1);
}

fn s3_error(status: u16, code: &str) -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(format!("<Error><Code>{code}</Code><Message>{code} (as S3 answers it)</Message></Error>")),
    )
}

/// AWS behaviour: right after CreateBucket, bucket configuration calls can answer `NoSuchBucket`
/// (404) or `OperationAborted` (409, "A conflicting conditional operation is currently in
/// progress") for a few seconds: bucket configuration is eventually consistent (moto is
/// immediately consistent). Source: Amazon S3 User Guide, "Amazon S3 data consistency model",
/// https://docs.aws.amazon.com/AmazonS3/latest/userguide/Welcome.html#ConsistencyModel
#[tokio::test]
async fn right_after_create_bucket_no_such_bucket_and_operation_aborted_are_retried() {
    let put = mock!(Client::put_public_access_block)
        .sequence()
        .http_response(|| s3_error(404, "NoSuchBucket"))
        .http_response(|| s3_error(409, "OperationAborted"))
        .output(|| PutPublicAccessBlockOutput::builder().build())
        .build();
    let s3 = mock_client!(aws_sdk_s3, [&put]);
    let delays = [Duration::ZERO; 3];
    let applied = apply_after_create(&s3, &bucket(), &BucketAction::PutPublicAccessBlock, &delays).await.unwrap();
    assert_eq!(applied, Applied::Changed);
    assert_eq!(put.num_calls(), 3);
}

#[tokio::test]
async fn right_after_create_bucket_retries_are_bounded_and_other_errors_are_not_retried() {
    let put = mock!(Client::put_bucket_policy).sequence().http_response(|| s3_error(404, "NoSuchBucket")).repeatedly().build();
    let s3 = mock_client!(aws_sdk_s3, [&put]);
    let action = BucketAction::PutBucketPolicy { document: "{}".into() };
    let err = apply_after_create(&s3, &bucket(), &action, &[Duration::ZERO; 2]).await.unwrap_err();
    assert!(err.to_string().contains("NoSuchBucket"), "{err}");
    assert_eq!(put.num_calls(), 3, "one attempt, then one per delay");

    let denied = mock!(Client::put_bucket_policy).sequence().http_response(|| s3_error(403, "AccessDenied")).repeatedly().build();
    let s3 = mock_client!(aws_sdk_s3, [&denied]);
    assert!(apply_after_create(&s3, &bucket(), &action, &[Duration::ZERO; 2]).await.is_err());
    assert_eq!(denied.num_calls(), 1, "only the settling answers are retried");
    // The production bound stays a few seconds in all.
    assert!(AFTER_CREATE_DELAYS.iter().sum::<Duration>() <= Duration::from_secs(8));
}

/// AWS behaviour: GetBucketLocation outside the bucket's region is not governed by the bucket's
/// policy and may be refused, while HeadBucket names the region in `x-amz-bucket-region` for any
/// caller (moto answers GetBucketLocation from any region). The wizard lists each bucket with
/// its region, or with the reason it is unknown, and never drops one. Source: GetBucketLocation,
/// https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketLocation.html
#[tokio::test]
async fn wizard_bucket_list_reads_regions_from_head_bucket_and_says_why_not() {
    let list = mock!(Client::list_buckets).then_output(|| {
        ListBucketsOutput::builder()
            .buckets(Bucket::builder().name("far-away-logs").build())
            .buckets(Bucket::builder().name("locked-logs").build())
            .buckets(Bucket::builder().name("listed-logs").bucket_region("us-west-2").build())
            .build()
    });
    let head_far = mock!(Client::head_bucket).match_requests(|r| r.bucket() == Some("far-away-logs")).then_http_response(moved_to("eu-west-1"));
    let head_locked = mock!(Client::head_bucket)
        .match_requests(|r| r.bucket() == Some("locked-logs"))
        .then_http_response(|| HttpResponse::new(StatusCode::try_from(403).unwrap(), SdkBody::empty()));
    let location = mock!(Client::get_bucket_location).then_http_response(|| s3_error(403, "AccessDenied"));
    let encryption = mock!(Client::get_bucket_encryption).then_http_response(|| s3_error(404, "ServerSideEncryptionConfigurationNotFoundError"));
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&list, &head_far, &head_locked, &location, &encryption]);

    let buckets = list_buckets_with_encryption(&s3, 100).await.unwrap();
    let names: Vec<&str> = buckets.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["far-away-logs", "listed-logs", "locked-logs"], "no bucket is dropped");
    assert_eq!(buckets[0].region, Ok("eu-west-1".to_owned()));
    assert_eq!(buckets[0].encryption, Ok(flowgate::core::bucket::DefaultEncryption::NotConfigured));
    assert_eq!(buckets[1].region, Ok("us-west-2".to_owned()));
    let Err(why) = &buckets[2].region else { panic!("{:?}", buckets[2]) };
    assert!(why.contains("access denied") && why.contains("s3:GetBucketLocation"), "{why}");
    let item = flowgate::commands::wizard::bucket_item(&buckets[2]);
    assert!(item.starts_with("locked-logs (region unknown: "), "{item}");
}
#[tokio::test]
async fn head_bucket_region_comes_from_the_response() {
    let rule = mock!(Client::head_bucket).then_output(|| HeadBucketOutput::builder().bucket_region("eu-central-1").build());
    let s3 = mock_client!(aws_sdk_s3, [&rule]);
    assert_eq!(bucket_existence(&s3, &bucket(), "123456789012").await.unwrap(), BucketExistence::Owned { region: "eu-central-1".into() });
}

#[tokio::test]
async fn access_denied_names_the_missing_permission() {
    let rule = mock!(Client::put_bucket_policy).then_http_response(|| {
        HttpResponse::new(
            StatusCode::try_from(403).unwrap(),
            SdkBody::from(
                "<Error><Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/ops is not authorized to perform: s3:PutBucketPolicy on resource: \"arn:aws:s3:::mocked-bucket\"</Message></Error>",
            ),
        )
    });
    let s3 = mock_client!(aws_sdk_s3, [&rule]);
    let err = s3.put_bucket_policy().bucket("mocked-bucket").policy("{}").send().await.unwrap_err();
    let err = flowgate::aws::aws_error(err, "writing the bucket policy of mocked-bucket", "s3:PutBucketPolicy");
    let Error::Aws { kind, hint, .. } = &err else { panic!("{err:?}") };
    assert_eq!(*kind, AwsErrorKind::AccessDenied);
    assert!(hint.as_deref().unwrap().contains("s3:PutBucketPolicy"), "{hint:?}");
    assert!(err.to_string().starts_with("writing the bucket policy of mocked-bucket: access denied"), "{err}");
}

#[tokio::test]
async fn expired_credentials_are_a_credentials_error() {
    let rule = mock!(Client::get_bucket_policy).then_http_response(|| {
        HttpResponse::new(
            StatusCode::try_from(400).unwrap(),
            SdkBody::from("<Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message></Error>"),
        )
    });
    let s3 = mock_client!(aws_sdk_s3, [&rule]);
    let err = s3.get_bucket_policy().bucket("mocked-bucket").send().await.unwrap_err();
    let err = flowgate::aws::aws_error(err, "reading", "s3:GetBucketPolicy");
    assert!(matches!(err, Error::Aws { kind: AwsErrorKind::Credentials, .. }), "{err:?}");
    // The hint is the profile's (unit-tested in aws::profile); an error without one gets it there.
    assert_eq!(err.hint(), None);
}

mod flowlogs {
    //! Replacement order and per-VPC failures: the emulator refuses a second flow log to the same
    //! destination and never reports partial `Unsuccessful` items, so these use aws-smithy-mocks.

    use aws_sdk_ec2::Client;
    use aws_sdk_ec2::operation::create_flow_logs::CreateFlowLogsOutput;
    use aws_sdk_ec2::operation::delete_flow_logs::DeleteFlowLogsOutput;
    use aws_sdk_ec2::types::{UnsuccessfulItem, UnsuccessfulItemError};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use flowgate::commands::flowlogs::apply_region;
    use flowgate::core::flowlog_plan::{DesiredFlowLog, DestinationOptions, RegionPlan, Replacement, TrafficType, region_changes};
    use flowgate::core::format::LogFormat;
    use flowgate::core::report::ChangeStatus;

    fn desired() -> DesiredFlowLog {
        DesiredFlowLog {
            partition: "aws".into(),
            bucket: "flow-bucket".parse().unwrap(),
            prefix: Some("net".parse().unwrap()),
            format: LogFormat::required(),
            traffic_type: TrafficType::All,
            max_aggregation_interval: 600,
            options: DestinationOptions::default(),
        }
    }

    fn plan(create: &[&str], replace: &[&str]) -> RegionPlan {
        RegionPlan {
            region: "eu-west-1".into(),
            oldest_to_bucket: None,
            coverage: Vec::new(),
            create: create.iter().map(|s| s.to_string()).collect(),
            replace: replace
                .iter()
                .map(|vpc| Replacement {
                    vpc_id: vpc.to_string(),
                    old_flow_log_ids: vec![format!("fl-old-{vpc}")],
                    reasons: vec!["format lacks tcp-flags".into()],
                    ..Replacement::default()
                })
                .collect(),
            left_alone: Vec::new(),
        }
    }

    fn changes_for(plan: &RegionPlan) -> Vec<flowgate::core::report::Change> {
        let mut changes = region_changes(plan);
        for vpc in &plan.create {
            changes.push(flowgate::core::report::Change::new("create-flow-log", vpc, ChangeStatus::Planned, "").in_region("eu-west-1"));
        }
        for r in &plan.replace {
            changes.push(flowgate::core::report::Change::new("replace-flow-log", &r.vpc_id, ChangeStatus::Planned, "").in_region("eu-west-1"));
        }
        changes
    }

    /// AWS behaviour: in a participant account DescribeVpcs lists VPCs shared through AWS RAM
    /// with the owner's `OwnerId` (VPC User Guide, "Share your VPC with other accounts",
    /// https://docs.aws.amazon.com/vpc/latest/userguide/vpc-sharing.html); the adapter keeps it
    /// so that the planner can leave the VPC to its owner.
    #[tokio::test]
    async fn describe_vpcs_keeps_the_owner_of_a_shared_vpc() {
        use aws_sdk_ec2::operation::describe_vpcs::DescribeVpcsOutput;
        use aws_sdk_ec2::types::Vpc;
        let rule = mock!(Client::describe_vpcs).then_output(|| {
            DescribeVpcsOutput::builder()
                .vpcs(Vpc::builder().vpc_id("vpc-own").owner_id("123456789012").build())
                .vpcs(Vpc::builder().vpc_id("vpc-shared").owner_id("999988887777").build())
                .build()
        });
        let ec2 = mock_client!(aws_sdk_ec2, [&rule]);
        let vpcs = flowgate::aws::ec2::list_vpcs(&ec2, "eu-west-1", &[]).await.unwrap();
        let shared: Vec<(&str, Option<&str>)> = vpcs.iter().map(|v| (v.id.as_str(), v.shared_from("123456789012"))).collect();
        assert_eq!(shared, [("vpc-own", None), ("vpc-shared", Some("999988887777"))]);
    }

    /// Which covered VPCs have a network interface (no interface, no traffic, no object):
    /// DescribeNetworkInterfaces filtered by vpc-id, paging stopped once every VPC was seen.
    #[tokio::test]
    async fn network_interfaces_are_counted_per_vpc_and_paging_stops_early() {
        use aws_sdk_ec2::operation::describe_network_interfaces::DescribeNetworkInterfacesOutput;
        use aws_sdk_ec2::types::NetworkInterface;
        let eni = |vpc: &str| NetworkInterface::builder().vpc_id(vpc).build();
        let rule = mock!(Client::describe_network_interfaces)
            .match_requests(|r| r.filters().iter().any(|f| f.name() == Some("vpc-id") && f.values() == ["vpc-a", "vpc-b"]))
            .sequence()
            .output(move || DescribeNetworkInterfacesOutput::builder().network_interfaces(eni("vpc-a")).next_token("page-2").build())
            .output(move || DescribeNetworkInterfacesOutput::builder().network_interfaces(eni("vpc-b")).next_token("page-3").build())
            .output(move || DescribeNetworkInterfacesOutput::builder().network_interfaces(eni("vpc-a")).build())
            .build();
        let ec2 = mock_client!(aws_sdk_ec2, RuleMode::Sequential, [&rule]);
        let busy = flowgate::aws::ec2::vpcs_with_interfaces(&ec2, "eu-west-1", &["vpc-a".into(), "vpc-b".into()]).await.unwrap();
        assert_eq!(busy.into_iter().collect::<Vec<_>>(), ["vpc-a", "vpc-b"]);
        assert_eq!(rule.num_calls(), 2, "both VPCs seen after two pages: the third is not asked for");
    }

    #[tokio::test]
    async fn replacement_creates_the_new_flow_log_before_deleting_the_old() {
        let create = mock!(Client::create_flow_logs)
            .match_requests(|r| r.resource_ids() == ["vpc-aaaaaaaa"] && r.log_destination() == Some("arn:aws:s3:::flow-bucket/net/"))
            .then_output(|| CreateFlowLogsOutput::builder().flow_log_ids("fl-new").build());
        let delete = mock!(Client::delete_flow_logs)
            .match_requests(|r| r.flow_log_ids() == ["fl-old-vpc-aaaaaaaa"])
            .then_output(|| DeleteFlowLogsOutput::builder().build());
        // Sequential: a delete before the create would not match the first rule and fail.
        let ec2 = mock_client!(aws_sdk_ec2, RuleMode::Sequential, [&create, &delete]);
        let plan = plan(&[], &["vpc-aaaaaaaa"]);
        let changes = apply_region(&ec2, &desired(), &plan, changes_for(&plan), &[]).await;
        let change = changes.iter().find(|c| c.action == "replace-flow-log").unwrap();
        assert_eq!(change.status, ChangeStatus::Applied, "{change:?}");
        assert!(!change.detail.contains("gap"), "no coverage gap when create succeeds first");
        assert_eq!((create.num_calls(), delete.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn a_failed_create_never_deletes_the_old_flow_log() {
        let create = mock!(Client::create_flow_logs).then_output(|| {
            CreateFlowLogsOutput::builder()
                .unsuccessful(
                    UnsuccessfulItem::builder()
                        .resource_id("vpc-aaaaaaaa")
                        .error(UnsuccessfulItemError::builder().code("FlowLogsLimitExceeded").message("limit").build())
                        .build(),
                )
                .build()
        });
        let delete = mock!(Client::delete_flow_logs).then_output(|| DeleteFlowLogsOutput::builder().build());
        let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, [&create, &delete]);
        let plan = plan(&[], &["vpc-aaaaaaaa"]);
        let changes = apply_region(&ec2, &desired(), &plan, changes_for(&plan), &[]).await;
        let change = changes.iter().find(|c| c.action == "replace-flow-log").unwrap();
        assert_eq!(change.status, ChangeStatus::Failed);
        assert!(change.error.as_deref().unwrap().contains("FlowLogsLimitExceeded"));
        assert!(change.error.as_deref().unwrap().contains("(hint: "), "{change:?}");
        assert_eq!(delete.num_calls(), 0, "the old flow log must survive a failed create");
    }

    /// EC2 refuses a second flow log to the same destination (FlowLogAlreadyExists). When a flow
    /// log that is not flowgate's stays on the VPC (no --replace-unmanaged), deleting flowgate's
    /// own would not make room: nothing is deleted, and the error names the flag.
    #[tokio::test]
    async fn a_refused_create_deletes_nothing_while_a_flow_log_not_flowgates_stays() {
        use flowgate::core::flowlog_plan::UnmanagedFlowLog;
        let create = mock!(Client::create_flow_logs).then_output(|| {
            CreateFlowLogsOutput::builder()
                .unsuccessful(
                    UnsuccessfulItem::builder()
                        .resource_id("vpc-aaaaaaaa")
                        .error(UnsuccessfulItemError::builder().code("FlowLogAlreadyExists").message("duplicate").build())
                        .build(),
                )
                .build()
        });
        let delete = mock!(Client::delete_flow_logs).then_output(|| DeleteFlowLogsOutput::builder().build());
        let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, [&create, &delete]);
        let mut plan = plan(&[], &["vpc-aaaaaaaa"]);
        plan.replace[0].left_alone = vec![UnmanagedFlowLog { id: "fl-netops".into(), tags: vec![("owner".into(), "netops".into())] }];
        let changes = apply_region(&ec2, &desired(), &plan, changes_for(&plan), &[]).await;
        let change = changes.iter().find(|c| c.action == "replace-flow-log").unwrap();
        assert_eq!(change.status, ChangeStatus::Failed);
        let error = change.error.as_deref().unwrap();
        assert!(error.contains("fl-netops (not flowgate's) still delivers there") && error.contains("--replace-unmanaged"), "{error}");
        assert_eq!((create.num_calls(), delete.num_calls()), (1, 0), "flowgate's flow log is kept too");
    }

    #[tokio::test]
    async fn unsuccessful_items_fail_only_their_vpc() {
        let create = mock!(Client::create_flow_logs).match_requests(|r| r.resource_ids().len() == 3).then_output(|| {
            CreateFlowLogsOutput::builder()
                .flow_log_ids("fl-1")
                .flow_log_ids("fl-3")
                .unsuccessful(
                    UnsuccessfulItem::builder()
                        .resource_id("vpc-bbbbbbbb")
                        .error(UnsuccessfulItemError::builder().code("InvalidVpcID.NotFound").message("gone").build())
                        .build(),
                )
                .build()
        });
        let ec2 = mock_client!(aws_sdk_ec2, [&create]);
        let plan = plan(&["vpc-aaaaaaaa", "vpc-bbbbbbbb", "vpc-cccccccc"], &[]);
        let changes = apply_region(&ec2, &desired(), &plan, changes_for(&plan), &[]).await;
        let status = |vpc: &str| changes.iter().find(|c| c.resource == vpc && c.action == "create-flow-log").unwrap().status;
        assert_eq!(status("vpc-aaaaaaaa"), ChangeStatus::Applied);
        assert_eq!(status("vpc-bbbbbbbb"), ChangeStatus::Failed);
        assert_eq!(status("vpc-cccccccc"), ChangeStatus::Applied);
        // The failed item says what to do, not only AWS's code.
        let failed = changes.iter().find(|c| c.resource == "vpc-bbbbbbbb").and_then(|c| c.error.clone()).unwrap();
        assert!(failed.starts_with("InvalidVpcID.NotFound: gone (hint: the resource was deleted meanwhile"), "{failed}");
        assert_eq!(create.num_calls(), 1, "one batched call");
    }
}

mod stack {
    //! Stack states the emulator cannot produce (it is synchronous, never rolls back and never
    //! says "no changes"): ROLLBACK_COMPLETE recovery, an empty change set, a failed update with
    //! resource status reasons, and a stack in progress.

    use std::time::Duration;

    use aws_sdk_cloudformation::Client;
    use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
    use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
    use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
    use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
    use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
    use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
    use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
    use aws_sdk_cloudformation::operation::get_template::GetTemplateOutput;
    use aws_sdk_cloudformation::types::{
        Change, ChangeAction, ChangeSetStatus, ExecutionStatus, Output, Parameter, ResourceChange, ResourceStatus, Stack, StackEvent, StackStatus,
    };
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use flowgate::apply::ApplyMode;
    use flowgate::commands::stack::{DeployRequest, deploy_stack};
    use flowgate::core::report::ChangeStatus;
    use flowgate::error::Error;
    use flowgate::output::{OutputFormat, Printer};

    const NOT_FOUND: &str = "<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id flowgate-cross-account does not exist</Message></Error><RequestId>x</RequestId></ErrorResponse>";

    fn stack(status: StackStatus, buckets: &str) -> DescribeStacksOutput {
        let param = |k: &str, v: &str| Parameter::builder().parameter_key(k).parameter_value(v).build();
        DescribeStacksOutput::builder()
            .stacks(
                Stack::builder()
                    .stack_name("flowgate-cross-account")
                    .stack_status(status)
                    .parameters(param("VendorAccountId", "111122223333"))
                    .parameters(param("ExternalId", "old-external-id"))
                    .parameters(param("RoleName", "FlowgateCrossAccountRole"))
                    .parameters(param("StorageAccess", if buckets.is_empty() { "false" } else { "true" }))
                    .parameters(param("StorageBucketNames", buckets))
                    .outputs(Output::builder().output_key("RoleArn").output_value("arn:aws:iam::123456789012:role/FlowgateCrossAccountRole").build())
                    .build(),
            )
            .build()
    }

    fn request(buckets: &[&str]) -> DeployRequest {
        DeployRequest {
            stack_name: "flowgate-cross-account".into(),
            account: "123456789012".into(),
            partition: "aws".into(),
            vendor_account: None,
            external_id: None,
            role_name: None,
            storage_access: !buckets.is_empty(),
            storage_buckets: buckets.iter().map(|b| b.to_string()).collect(),
            compliance_account: None,
            no_compliance: false,
            read_write: false,
            template: flowgate::core::stack_plan::TEMPLATE.to_owned(),
            no_wait: false,
            wait_timeout: Duration::from_secs(30),
        }
    }

    fn quiet() -> Printer {
        Printer::new(OutputFormat::Json, true)
    }

    const APPLY: ApplyMode = ApplyMode { dry_run: false, yes: true };

    fn change_set(status: ChangeSetStatus, reason: Option<&str>) -> DescribeChangeSetOutput {
        let mut out = DescribeChangeSetOutput::builder()
            .change_set_id("arn:aws:cloudformation:us-east-1:123456789012:changeSet/cs/1")
            .status(status)
            .execution_status(ExecutionStatus::Available)
            .changes(
                Change::builder()
                    .resource_change(
                        ResourceChange::builder()
                            .action(ChangeAction::Add)
                            .logical_resource_id("StorageReadPolicy")
                            .resource_type("AWS::IAM::Policy")
                            .build(),
                    )
                    .build(),
            );
        if let Some(reason) = reason {
            out = out.status_reason(reason);
        }
        out.build()
    }

    #[tokio::test]
    async fn rollback_complete_is_deleted_and_created_again_keeping_the_external_id() {
        let describe = mock!(Client::describe_stacks)
            .sequence()
            .output(|| stack(StackStatus::RollbackComplete, ""))
            .http_status(400, Some(NOT_FOUND.into()))
            .output(|| stack(StackStatus::CreateComplete, ""))
            .repeatedly()
            .build();
        let events = mock!(Client::describe_stack_events).then_output(|| DescribeStackEventsOutput::builder().build());
        let delete = mock!(Client::delete_stack).then_output(|| DeleteStackOutput::builder().build());
        let create = mock!(Client::create_change_set)
            .match_requests(|r| {
                r.change_set_type() == Some(&aws_sdk_cloudformation::types::ChangeSetType::Create)
                    && r.parameters().iter().any(|p| p.parameter_key() == Some("ExternalId") && p.parameter_value() == Some("old-external-id"))
            })
            .then_output(|| CreateChangeSetOutput::builder().id("cs-1").build());
        let describe_set = mock!(Client::describe_change_set).then_output(|| change_set(ChangeSetStatus::CreateComplete, None));
        let execute = mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
        let cfn = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, [&describe, &events, &delete, &create, &describe_set, &execute]);

        let report = deploy_stack(&cfn, &quiet(), APPLY, &request(&[])).await.unwrap();
        assert_eq!(report.operation, "recreate");
        assert_eq!((delete.num_calls(), create.num_calls(), execute.num_calls()), (1, 1, 1));
        assert_eq!(report.final_status.as_deref(), Some("CREATE_COMPLETE"));
        assert_eq!(report.outputs.unwrap().external_id, "old-external-id");
        assert!(report.changes.iter().any(|c| c.action == "delete-stack" && c.detail.contains("ROLLBACK_COMPLETE")));
    }

    #[tokio::test]
    async fn an_empty_change_set_is_up_to_date_and_deleted() {
        let describe = mock!(Client::describe_stacks).then_output(|| stack(StackStatus::UpdateComplete, "flow-bucket"));
        // A different template body: flowgate must ask CloudFormation, which finds no change.
        let template = mock!(Client::get_template).then_output(|| GetTemplateOutput::builder().template_body("{}").build());
        let create = mock!(Client::create_change_set).then_output(|| CreateChangeSetOutput::builder().id("cs-2").build());
        let describe_set = mock!(Client::describe_change_set).then_output(|| {
            change_set(
                ChangeSetStatus::Failed,
                Some("The submitted information didn't contain changes. Submit different information to create a change set."),
            )
        });
        let delete_set = mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
        let execute = mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
        let events = mock!(Client::describe_stack_events).then_output(|| DescribeStackEventsOutput::builder().build());
        let cfn =
            mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, [&describe, &template, &create, &describe_set, &delete_set, &execute, &events]);

        let report = deploy_stack(&cfn, &quiet(), APPLY, &request(&["flow-bucket"])).await.unwrap();
        assert_eq!(report.operation, "none");
        assert_eq!(delete_set.num_calls(), 1, "the empty change set is deleted");
        assert_eq!(execute.num_calls(), 0);
    }

    #[tokio::test]
    async fn a_failed_update_reports_the_resources_status_reasons() {
        let describe = mock!(Client::describe_stacks)
            .sequence()
            .output(|| stack(StackStatus::UpdateComplete, ""))
            .output(|| stack(StackStatus::UpdateRollbackComplete, ""))
            .repeatedly()
            .build();
        let events = mock!(Client::describe_stack_events)
            .sequence()
            .output(|| DescribeStackEventsOutput::builder().build())
            .output(|| {
                DescribeStackEventsOutput::builder()
                    .stack_events(
                        StackEvent::builder()
                            .event_id("e-2")
                            .logical_resource_id("StorageReadPolicy")
                            .resource_type("AWS::IAM::Policy")
                            .resource_status(ResourceStatus::UpdateFailed)
                            .resource_status_reason("User: arn:aws:iam::123456789012:user/ops is not authorized to perform: iam:PutRolePolicy")
                            .build(),
                    )
                    .build()
            })
            .repeatedly()
            .build();
        let create = mock!(Client::create_change_set).then_output(|| CreateChangeSetOutput::builder().id("cs-3").build());
        let describe_set = mock!(Client::describe_change_set).then_output(|| change_set(ChangeSetStatus::CreateComplete, None));
        let execute = mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
        let template =
            mock!(Client::get_template).then_output(|| GetTemplateOutput::builder().template_body(flowgate::core::stack_plan::TEMPLATE).build());
        let cfn = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, [&describe, &events, &create, &describe_set, &execute, &template]);

        let report = deploy_stack(&cfn, &quiet(), APPLY, &request(&["flow-bucket"])).await.unwrap();
        assert_eq!(report.final_status.as_deref(), Some("UPDATE_ROLLBACK_COMPLETE"));
        assert_eq!(report.failures.len(), 1);
        assert!(report.failures[0].contains("StorageReadPolicy") && report.failures[0].contains("iam:PutRolePolicy"), "{:?}", report.failures);
        assert_eq!(flowgate::output::Report::exit_status(&report), flowgate::error::ExitStatus::Failure);
        // The failed deploy's first line says why and what to do.
        let first = report.changes.iter().find(|c| c.status == ChangeStatus::Failed).unwrap();
        let error = first.error.as_deref().unwrap_or_default();
        assert!(error.contains("UPDATE_ROLLBACK_COMPLETE") && error.contains("iam:PutRolePolicy") && error.contains("(hint: "), "{first:?}");
    }

    #[tokio::test]
    async fn a_stack_in_progress_is_waited_for_or_refused_with_no_wait() {
        let describe = mock!(Client::describe_stacks).then_output(|| stack(StackStatus::UpdateInProgress, ""));
        let cfn = mock_client!(aws_sdk_cloudformation, [&describe]);
        let mut no_wait = request(&[]);
        no_wait.no_wait = true;
        let err = deploy_stack(&cfn, &quiet(), APPLY, &no_wait).await.unwrap_err();
        assert!(matches!(err, Error::Refused { .. }) && err.to_string().contains("UPDATE_IN_PROGRESS"), "{err}");

        // Waited for: in progress, then complete and up to date (same parameters and template).
        let describe = mock!(Client::describe_stacks)
            .sequence()
            .output(|| stack(StackStatus::UpdateInProgress, ""))
            .output(|| stack(StackStatus::UpdateComplete, ""))
            .repeatedly()
            .build();
        let events = mock!(Client::describe_stack_events).then_output(|| DescribeStackEventsOutput::builder().build());
        let template =
            mock!(Client::get_template).then_output(|| GetTemplateOutput::builder().template_body(flowgate::core::stack_plan::TEMPLATE).build());
        let cfn = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, [&describe, &events, &template]);
        let report = deploy_stack(&cfn, &quiet(), APPLY, &request(&[])).await.unwrap();
        assert_eq!(report.operation, "none");
        assert!(describe.num_calls() >= 2);
    }
}
