//! The SDK clients of one run, built from one configuration: global services (IAM, STS,
//! CloudFormation in the home region) and per-region S3 and EC2 clients, each made once. Adapters
//! take the client they call, or these when they follow a resource across regions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_config::sts::AssumeRoleProvider;
use aws_config::{Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::{self, ProvideCredentials, SharedCredentialsProvider, future};

pub struct Clients {
    sdk: SdkConfig,
    /// An endpoint override (an emulator) needs path-style S3 addressing: virtual-host style
    /// would resolve `bucket.localhost`.
    s3_path_style: bool,
    s3: Mutex<HashMap<String, aws_sdk_s3::Client>>,
    ec2: Mutex<HashMap<String, aws_sdk_ec2::Client>>,
    /// The clients of the roles this run assumed, by role ARN: planned and applied with the same
    /// credentials.
    assumed: Mutex<HashMap<String, Arc<Clients>>>,
}

impl Clients {
    pub fn new(sdk: SdkConfig, s3_path_style: bool) -> Clients {
        Clients { sdk, s3_path_style, s3: Mutex::new(HashMap::new()), ec2: Mutex::new(HashMap::new()), assumed: Mutex::new(HashMap::new()) }
    }

    /// The same configuration acting as `role_arn` (STS AssumeRole). The role is assumed once here,
    /// so that a role that cannot be assumed is one clear error before any other call; the SDK's
    /// identity cache then refreshes the credentials by assuming the role again before they
    /// expire, so a long run never calls with expired credentials.
    pub async fn assumed(&self, role_arn: &str, session_name: &str) -> std::result::Result<Arc<Clients>, provider::error::CredentialsError> {
        if let Some(known) = self.assumed.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(role_arn) {
            return Ok(Arc::clone(known));
        }
        let provider = AssumeRoleProvider::builder(role_arn).session_name(session_name).configure(&self.sdk).build().await;
        let first = provider.provide_credentials().await?;
        let credentials = SharedCredentialsProvider::new(FirstThenRefresh { first: Mutex::new(Some(first)), refresh: provider });
        let sdk = self.sdk.to_builder().credentials_provider(credentials).build();
        let clients = Arc::new(Clients::new(sdk, self.s3_path_style));
        self.assumed.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(role_arn.to_owned(), Arc::clone(&clients));
        Ok(clients)
    }

    pub fn organizations(&self) -> aws_sdk_organizations::Client {
        aws_sdk_organizations::Client::new(&self.sdk)
    }

    pub fn cloudformation(&self) -> aws_sdk_cloudformation::Client {
        aws_sdk_cloudformation::Client::new(&self.sdk)
    }

    /// CloudFormation in `region` (a StackSet lives in the region it was created in).
    pub fn cloudformation_in(&self, region: &str) -> aws_sdk_cloudformation::Client {
        let config = aws_sdk_cloudformation::config::Builder::from(&self.sdk).region(Region::new(region.to_owned())).build();
        aws_sdk_cloudformation::Client::from_conf(config)
    }

    /// CloudTrail in `region`: a trail's status and selectors are read where the trail applies.
    pub fn cloudtrail_in(&self, region: &str) -> aws_sdk_cloudtrail::Client {
        let config = aws_sdk_cloudtrail::config::Builder::from(&self.sdk).region(Region::new(region.to_owned())).build();
        aws_sdk_cloudtrail::Client::from_conf(config)
    }

    pub fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.sdk)
    }

    pub fn sts(&self) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::new(&self.sdk)
    }

    /// An S3 client signing for `region`.
    pub fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        let mut clients = self.s3.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        clients
            .entry(region.to_owned())
            .or_insert_with(|| {
                let config =
                    aws_sdk_s3::config::Builder::from(&self.sdk).region(Region::new(region.to_owned())).force_path_style(self.s3_path_style).build();
                aws_sdk_s3::Client::from_conf(config)
            })
            .clone()
    }

    pub fn ec2(&self, region: &str) -> aws_sdk_ec2::Client {
        let mut clients = self.ec2.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        clients
            .entry(region.to_owned())
            .or_insert_with(|| {
                let config = aws_sdk_ec2::config::Builder::from(&self.sdk).region(Region::new(region.to_owned())).build();
                aws_sdk_ec2::Client::from_conf(config)
            })
            .clone()
    }
}

/// Hands out the credentials of the role while they are good for a while more, and assumes the
/// role again when they are not: one AssumeRole per account for every client of a run, however
/// many regions it works in, and never an expired credential in a long one.
#[derive(Debug)]
struct FirstThenRefresh {
    first: Mutex<Option<Credentials>>,
    refresh: AssumeRoleProvider,
}

/// Credentials with less than this left are refreshed before use.
const REFRESH_MARGIN: std::time::Duration = std::time::Duration::from_secs(300);

impl ProvideCredentials for FirstThenRefresh {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let current = self.first.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        let fresh =
            current.filter(|c| c.expiry().is_none_or(|at| at.duration_since(std::time::SystemTime::now()).is_ok_and(|left| left > REFRESH_MARGIN)));
        match fresh {
            Some(credentials) => future::ProvideCredentials::ready(Ok(credentials)),
            None => future::ProvideCredentials::new(async move {
                let credentials = self.refresh.provide_credentials().await?;
                *self.first.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(credentials.clone());
                Ok(credentials)
            }),
        }
    }
}
