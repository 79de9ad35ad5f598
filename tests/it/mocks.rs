//! Adapter behaviour the emulator cannot produce (moto never answers 403 or 301 to HeadBucket, nor
//! AccessDenied with a named action), covered with aws-smithy-mocks.

use aws_sdk_s3::Client;
use aws_sdk_s3::operation::head_bucket::HeadBucketOutput;
use aws_smithy_mocks::{mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

use flowgate::aws::s3::bucket_existence;
use flowgate::core::bucket::BucketExistence;
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

#[tokio::test]
async fn head_bucket_301_names_the_region() {
    let rule = mock!(Client::head_bucket).then_http_response(|| {
        let mut response = HttpResponse::new(StatusCode::try_from(301).unwrap(), SdkBody::empty());
        response.headers_mut().insert("x-amz-bucket-region", "ap-southeast-2");
        response
    });
    let s3 = mock_client!(aws_sdk_s3, [&rule]);
    assert_eq!(
        bucket_existence(&s3, &bucket(), "123456789012").await.unwrap(),
        BucketExistence::Owned { region: "ap-southeast-2".into() }
    );
}

#[tokio::test]
async fn head_bucket_region_comes_from_the_response() {
    let rule = mock!(Client::head_bucket).then_output(|| HeadBucketOutput::builder().bucket_region("eu-central-1").build());
    let s3 = mock_client!(aws_sdk_s3, [&rule]);
    assert_eq!(
        bucket_existence(&s3, &bucket(), "123456789012").await.unwrap(),
        BucketExistence::Owned { region: "eu-central-1".into() }
    );
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
    assert!(flowgate::aws::credentials_hint(Some("prod")).contains("aws sso login --profile prod"));
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
            coverage: Vec::new(),
            create: create.iter().map(|s| s.to_string()).collect(),
            replace: replace
                .iter()
                .map(|vpc| Replacement { vpc_id: vpc.to_string(), old_flow_log_ids: vec![format!("fl-old-{vpc}")], reasons: vec!["format lacks tcp-flags".into()] })
                .collect(),
            blocked: Vec::new(),
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
        assert_eq!(delete.num_calls(), 0, "the old flow log must survive a failed create");
    }

    #[tokio::test]
    async fn unsuccessful_items_fail_only_their_vpc() {
        let create = mock!(Client::create_flow_logs)
            .match_requests(|r| r.resource_ids().len() == 3)
            .then_output(|| {
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
        assert_eq!(create.num_calls(), 1, "one batched call");
    }
}
