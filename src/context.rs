//! The one place AWS configuration is built: profile, home region, endpoint override, retries and
//! timeouts; per-region clients and the caller's identity, resolved once.

use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_types::os_shim_internal::Env;
use serde::Serialize;
use tokio::sync::OnceCell;

use crate::apply::ApplyMode;
use crate::aws;
use crate::aws::clients::Clients;
use crate::aws::profile::{self, NamedProfile};
use crate::cli::GlobalArgs;
use crate::core::names::partition_of;
use crate::error::{AwsErrorKind, Error, Result};
use crate::output::{IdentityLine, Printer};

/// Who flowgate acts as (STS GetCallerIdentity).
#[derive(Debug, Clone, Serialize)]
pub struct Identity {
    pub account: String,
    pub arn: String,
    pub partition: String,
}

pub struct Ctx {
    /// The run's SDK clients, shared by forks.
    pub clients: Arc<Clients>,
    pub home_region: String,
    pub printer: Printer,
    pub dry_run: bool,
    pub yes: bool,
    /// `--target-account`: the account the caller must be in.
    pub target_account: Option<String>,
    /// The profile read before any call (`--profile` or `AWS_PROFILE`), for the credentials hint.
    profile: Option<Arc<NamedProfile>>,
    identity: OnceCell<Identity>,
}

impl Ctx {
    /// The same account and configuration, applying differently: onboard plans every step with
    /// a dry-run fork and applies with a `--yes` fork. The identity is shared, not re-resolved.
    pub fn fork(&self, mode: ApplyMode, printer: Printer) -> Ctx {
        let identity = OnceCell::new();
        if let Some(known) = self.identity.get() {
            let _ = identity.set(known.clone());
        }
        Ctx {
            clients: Arc::clone(&self.clients),
            home_region: self.home_region.clone(),
            printer,
            dry_run: mode.dry_run,
            yes: mode.yes,
            target_account: self.target_account.clone(),
            profile: self.profile.clone(),
            identity,
        }
    }

    /// The run acting in another account (an organization member, through a role): the same
    /// home region, that account's clients and identity (known from the role, not asked again).
    pub fn in_account(&self, clients: Arc<Clients>, identity: Identity, mode: ApplyMode, printer: Printer) -> Ctx {
        let known = OnceCell::new();
        let _ = known.set(identity);
        Ctx {
            clients,
            home_region: self.home_region.clone(),
            printer,
            dry_run: mode.dry_run,
            yes: mode.yes,
            target_account: None,
            profile: None,
            identity: known,
        }
    }

    pub async fn new(global: &GlobalArgs, printer: Printer) -> Result<Ctx> {
        // Standard retry mode: exponential backoff with jitter on throttling, 5xx and transient
        // network errors; every AWS call of every command is retried by this one policy.
        let retry = RetryConfig::standard().with_max_attempts(global.max_attempts);
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(10))
            .operation_attempt_timeout(Duration::from_secs(global.timeout))
            .operation_timeout(Duration::from_secs(global.timeout.saturating_mul(u64::from(global.max_attempts) + 1)))
            .build();
        let profile = match &global.profile {
            Some(name) => {
                Some(Arc::new(profile::read(name, global.profile_on_command_line).await.map_err(|e| Error::input(e.to_string(), Some(e.hint())))?))
            }
            None => None,
        };
        let environment = profile::sdk_environment(std::env::vars(), profile.as_deref(), global.endpoint_url.as_deref());
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).env(Env::from(environment)).retry_config(retry).timeout_config(timeouts);
        if let Some(profile) = &profile {
            loader = loader.profile_name(&profile.name);
        }
        if let Some(region) = &global.region {
            loader = loader.region(Region::new(region.as_str().to_owned()));
        }
        if let Some(endpoint) = &global.endpoint_url {
            loader = loader.endpoint_url(endpoint);
        }
        let sdk = loader.load().await;
        let home_region = sdk.region().map(|r| r.as_ref().to_owned()).ok_or_else(|| {
            Error::input(
                "no AWS region is configured",
                Some("pass --region (e.g. --region us-east-1), set AWS_REGION, or add a region to your profile".to_owned()),
            )
        })?;
        Ok(Ctx {
            clients: Arc::new(Clients::new(sdk, global.endpoint_url.is_some())),
            home_region,
            printer,
            dry_run: global.dry_run,
            yes: global.yes,
            target_account: global.target_account.as_ref().map(|a| a.to_string()),
            profile,
            identity: OnceCell::new(),
        })
    }

    /// A credentials failure gets the hint that fits where the credentials were to come from
    /// (the profile's kind, or the environment's keys).
    pub fn with_credentials_hint(&self, error: Error) -> Error {
        match error {
            Error::Aws { context, kind: AwsErrorKind::Credentials, code, message, hint: None } => {
                let environment_keys = std::env::var_os("AWS_ACCESS_KEY_ID").is_some();
                let hint = profile::credentials_hint(self.profile.as_deref().filter(|p| p.explicit || !environment_keys), environment_keys);
                Error::Aws { context, kind: AwsErrorKind::Credentials, code, message, hint: Some(hint) }
            }
            other => other,
        }
    }

    /// The caller, resolved once per run; with `--target-account`, refused unless it is in that
    /// account (the guard that keeps a pipeline with the wrong profile off the wrong account).
    pub async fn identity(&self) -> Result<&Identity> {
        self.identity
            .get_or_try_init(|| async {
                let (account, arn) = aws::sts::caller_identity(&self.sts()).await?;
                if let Some(message) = target_account_mismatch(self.target_account.as_deref(), &account, &arn) {
                    return Err(Error::input(
                        message,
                        Some(
                            "use the profile or credentials of the target account (--aws-profile/--profile), or correct --target-account".to_owned(),
                        ),
                    ));
                }
                let partition = partition_of(&arn).to_owned();
                Ok(Identity { account, arn, partition })
            })
            .await
    }

    /// Checks `--target-account` before any other call: a run that names one resolves the
    /// caller (STS GetCallerIdentity, a read) first.
    pub async fn check_target_account(&self) -> Result<()> {
        if self.target_account.is_some() {
            self.identity().await?;
        }
        Ok(())
    }

    pub async fn identity_line(&self) -> Result<String> {
        let identity = self.identity().await?;
        Ok(IdentityLine { account: &identity.account, principal: &identity.arn, region: &self.home_region }.to_string())
    }

    pub fn mode(&self) -> ApplyMode {
        ApplyMode { dry_run: self.dry_run, yes: self.yes }
    }

    pub fn cloudformation(&self) -> aws_sdk_cloudformation::Client {
        self.clients.cloudformation()
    }

    pub fn iam(&self) -> aws_sdk_iam::Client {
        self.clients.iam()
    }

    pub fn sts(&self) -> aws_sdk_sts::Client {
        self.clients.sts()
    }

    pub fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        self.clients.s3(region)
    }

    pub fn ec2(&self, region: &str) -> aws_sdk_ec2::Client {
        self.clients.ec2(region)
    }
}

/// The sentence refusing a caller outside `--target-account`, naming both accounts.
pub fn target_account_mismatch(target: Option<&str>, account: &str, arn: &str) -> Option<String> {
    let target = target?;
    (target != account)
        .then(|| format!("--target-account is {target} but the credentials are for account {account} ({arn}): nothing was read or changed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_account_names_both_accounts() {
        assert_eq!(target_account_mismatch(None, "123456789012", "arn"), None);
        assert_eq!(target_account_mismatch(Some("123456789012"), "123456789012", "arn"), None);
        let message = target_account_mismatch(Some("210987654321"), "123456789012", "arn:aws:iam::123456789012:user/ci").unwrap();
        assert!(message.contains("210987654321") && message.contains("123456789012"), "{message}");
    }
}
