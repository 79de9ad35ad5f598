//! The SDK clients of one run, built from one configuration: global services (IAM, STS,
//! CloudFormation in the home region) and per-region S3 and EC2 clients, each made once. Adapters
//! take the client they call, or these when they follow a resource across regions.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_config::{Region, SdkConfig};

pub struct Clients {
    sdk: SdkConfig,
    /// An endpoint override (an emulator) needs path-style S3 addressing: virtual-host style
    /// would resolve `bucket.localhost`.
    s3_path_style: bool,
    s3: Mutex<HashMap<String, aws_sdk_s3::Client>>,
    ec2: Mutex<HashMap<String, aws_sdk_ec2::Client>>,
}

impl Clients {
    pub fn new(sdk: SdkConfig, s3_path_style: bool) -> Clients {
        Clients { sdk, s3_path_style, s3: Mutex::new(HashMap::new()), ec2: Mutex::new(HashMap::new()) }
    }

    pub fn cloudformation(&self) -> aws_sdk_cloudformation::Client {
        aws_sdk_cloudformation::Client::new(&self.sdk)
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
