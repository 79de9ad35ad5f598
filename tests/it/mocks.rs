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
