//! Thin adapters around the AWS operations flowgate calls, and the translation of SDK errors into
//! messages a person can act on. Each adapter module lists the IAM actions it calls in `ACTIONS`
//! (checked against `policies/operator/`).

pub mod clients;
pub mod cloudformation;
pub mod cloudtrail;
pub mod ec2;
pub mod iam;
pub mod organizations;
pub mod profile;
pub mod s3;
pub mod stacksets;
pub mod sts;

#[cfg(test)]
mod operator_policy_coverage;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::error::{AwsErrorKind, Error};

const ACCESS_DENIED: &[&str] =
    &["AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess", "AuthorizationError", "Forbidden"];
const BAD_CREDENTIALS: &[&str] = &[
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AuthFailure",
    "InvalidToken",
    "RequestExpired",
];
const THROTTLED: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "SlowDown",
    "TooManyRequestsException",
    "RequestThrottled",
    "RequestThrottledException",
];

/// The AWS error code of a service error (`None` for transport errors and code-less responses).
pub fn error_code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    err.as_service_error().and_then(|e| e.code())
}

/// The HTTP status of the response, when there was one.
pub fn http_status<E>(err: &SdkError<E, HttpResponse>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

/// Extracts the action from AWS's "... is not authorized to perform: ec2:CreateFlowLogs ..." text.
pub fn denied_action(message: &str) -> Option<&str> {
    let rest = &message[message.find("perform: ")? + "perform: ".len()..];
    let action = rest.split(|c: char| c.is_whitespace() || c == ',' || c == '"').next()?;
    action.contains(':').then_some(action)
}

/// Turns an SDK error into flowgate's error: what failed (`context`), AWS's code and message, and
/// a hint that says what to do. `permission` is the IAM action the call needs.
pub fn aws_error<E>(err: SdkError<E, HttpResponse>, context: impl Into<String>, permission: &str) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let context = context.into();
    let status = http_status(&err);
    let code = error_code(&err).map(str::to_owned);
    let aws_message = err.as_service_error().and_then(|e| e.message()).map(str::to_owned);
    let detail = DisplayErrorContext(&err).to_string();
    let root = root_cause(&err);

    let (kind, message, hint) = match &err {
        SdkError::ServiceError(_) => {
            let code_str = code.as_deref().unwrap_or("");
            let text = aws_message.clone().unwrap_or_else(|| match status {
                Some(s) => format!("HTTP {s} with no error message"),
                None => "no error message".to_owned(),
            });
            if ACCESS_DENIED.contains(&code_str) || (code.is_none() && status == Some(403)) {
                let needed = aws_message.as_deref().and_then(denied_action).unwrap_or(permission).to_owned();
                (
                    AwsErrorKind::AccessDenied,
                    format!("access denied ({text})"),
                    Some(format!("the caller needs {needed}; policies/operator/ lists the permissions of each command")),
                )
            } else if BAD_CREDENTIALS.contains(&code_str) {
                (AwsErrorKind::Credentials, format!("{code_str}: {text}"), None)
            } else if THROTTLED.contains(&code_str) || (code.is_none() && status == Some(503)) {
                // A HEAD answer has no body: S3's "503 Slow Down" arrives without a code.
                let label = if code_str.is_empty() { "HTTP 503" } else { code_str };
                (
                    AwsErrorKind::Throttled,
                    format!("throttled by AWS ({label}) after every retry"),
                    Some("re-run later, or raise --max-attempts; flowgate converges from where it stopped".to_owned()),
                )
            } else if code_str == "OptInRequired" {
                (
                    AwsErrorKind::RegionDisabled,
                    format!("{code_str}: {text}"),
                    Some("enable the region for the account, or leave it out with --regions".to_owned()),
                )
            } else {
                let label = if code_str.is_empty() { String::new() } else { format!("{code_str}: ") };
                (AwsErrorKind::Other, format!("{label}{text}"), crate::error::code_hint(code_str).map(str::to_owned))
            }
        }
        SdkError::TimeoutError(_) => (
            AwsErrorKind::Timeout,
            "no answer from AWS in time".to_owned(),
            Some("check the network or --endpoint-url, or raise --timeout".to_owned()),
        ),
        SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_) if detail.to_ascii_lowercase().contains("credential") => {
            (AwsErrorKind::Credentials, "no usable AWS credentials".to_owned(), None)
        }
        SdkError::DispatchFailure(failure) if failure.is_timeout() => (
            AwsErrorKind::Timeout,
            "no answer from AWS in time".to_owned(),
            Some("check the network or --endpoint-url, or raise --timeout".to_owned()),
        ),
        SdkError::DispatchFailure(_) => (
            AwsErrorKind::Unreachable,
            format!("could not reach AWS ({root})"),
            Some("check the network, proxy settings and --endpoint-url".to_owned()),
        ),
        _ => (AwsErrorKind::Other, root, None),
    };
    Error::Aws { context, kind, code, message, hint }
}

/// The innermost error of a source chain, e.g. "Connection refused (os error 111)".
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current = err;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_denied_action() {
        let msg = "User: arn:aws:iam::123456789012:user/x is not authorized to perform: ec2:CreateFlowLogs on resource: arn:aws:ec2:...";
        assert_eq!(denied_action(msg), Some("ec2:CreateFlowLogs"));
        assert_eq!(denied_action("Access Denied"), None);
    }
}
