//! The named profile (`--profile`, `--aws-profile`, `AWS_PROFILE`), read from the shared config and
//! credentials files before any AWS call, and the environment the SDK resolves its configuration
//! from.
//!
//! A profile named on the command line is used exclusively, as the AWS CLI does ("An explicitly
//! provided profile will negate an EnvProvider", botocore's credential resolver): the SDK's default
//! chain would otherwise take `AWS_ACCESS_KEY_ID` from the environment first and act in whatever
//! account those keys belong to, while the plan names the profile. `AWS_PROFILE` from the
//! environment keeps the chain's own order (environment keys first), as the AWS CLI does.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

use aws_runtime::env_config::file::EnvConfigFiles;
use aws_types::os_shim_internal::{Env, Fs};

/// Where a profile gets its credentials, from the keys it sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// `role_arn` with `source_profile` or `credential_source`: STS AssumeRole.
    AssumeRole { role_arn: String, from: String },
    /// `role_arn` with `web_identity_token_file`: STS AssumeRoleWithWebIdentity.
    WebIdentity { role_arn: String },
    /// `sso_session` or `sso_start_url`: IAM Identity Center.
    Sso,
    /// `credential_process`: a command that prints the keys.
    Process,
    /// `aws_access_key_id` and `aws_secret_access_key` in the file.
    Static,
    /// `login_session`: `aws login`.
    Login,
}

impl CredentialSource {
    /// From a profile's keys, in the order the SDK resolves them: a web identity (when
    /// `web_identity_token_file` is set, whatever else the profile has), a role from another
    /// source, SSO, `aws login`, a process, static keys; `None` when it sets none of them.
    pub fn of(get: impl Fn(&str) -> Option<String>) -> Option<CredentialSource> {
        if let Some(role_arn) = get("role_arn") {
            if get("web_identity_token_file").is_some() {
                return Some(CredentialSource::WebIdentity { role_arn });
            }
            let from = get("source_profile")
                .map(|p| format!("profile {p}"))
                .or_else(|| get("credential_source").map(|s| format!("credential_source {s}")))
                .unwrap_or_else(|| "no source_profile".to_owned());
            return Some(CredentialSource::AssumeRole { role_arn, from });
        }
        if get("sso_session").is_some() || get("sso_start_url").is_some() {
            return Some(CredentialSource::Sso);
        }
        if get("login_session").is_some() {
            return Some(CredentialSource::Login);
        }
        if get("credential_process").is_some() {
            return Some(CredentialSource::Process);
        }
        get("aws_access_key_id").map(|_| CredentialSource::Static)
    }
}

/// A profile that exists, and what it sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedProfile {
    pub name: String,
    /// `None` for a profile from `AWS_PROFILE` that sets no credentials of its own.
    pub source: Option<CredentialSource>,
    pub region: Option<String>,
    /// Named on the command line (used exclusively), not taken from `AWS_PROFILE`.
    pub explicit: bool,
}

/// The shared files a profile is looked up in, as the SDK finds them: `AWS_CONFIG_FILE` or
/// `~/.aws/config`, `AWS_SHARED_CREDENTIALS_FILE` or `~/.aws/credentials`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileFilePaths {
    pub config: PathBuf,
    pub credentials: PathBuf,
}

impl ProfileFilePaths {
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> ProfileFilePaths {
        let home = var("HOME").unwrap_or_else(|| "~".to_owned());
        let path = |name: &str, default: &str| PathBuf::from(var(name).unwrap_or_else(|| format!("{home}/.aws/{default}")));
        ProfileFilePaths { config: path("AWS_CONFIG_FILE", "config"), credentials: path("AWS_SHARED_CREDENTIALS_FILE", "credentials") }
    }
}

impl fmt::Display for ProfileFilePaths {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} or {}", self.config.display(), self.credentials.display())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProfileError {
    #[error("the config profile ({name}) could not be found in {files}")]
    NotFound { name: String, files: ProfileFilePaths, known: Vec<String> },
    #[error(
        "the config profile ({name}) in {files} has no credentials: none of role_arn, sso_session, sso_start_url, credential_process, aws_access_key_id"
    )]
    NoCredentials { name: String, files: ProfileFilePaths },
    #[error("the config profile ({name}) takes its credentials from source_profile {from}, which {problem} in {files}")]
    BrokenSource { name: String, from: String, problem: &'static str, files: ProfileFilePaths },
    #[error("the config profile ({name}) signs in with `aws login` (login_session), which flowgate cannot use")]
    LoginSession { name: String },
    #[error("the AWS config files {files} could not be read: {reason}")]
    Unreadable { files: ProfileFilePaths, reason: String },
}

impl ProfileError {
    pub fn hint(&self) -> String {
        match self {
            ProfileError::NotFound { known, .. } if known.is_empty() => {
                "create it with `aws configure --profile NAME` (or `aws configure sso`), or leave out --profile".to_owned()
            }
            ProfileError::NotFound { known, .. } => format!("profiles there: {}; check the spelling, or set AWS_CONFIG_FILE", known.join(", ")),
            ProfileError::NoCredentials { name, .. } => {
                format!("give profile {name} a credential source (`aws configure --profile {name}`, or role_arn with source_profile)")
            }
            ProfileError::BrokenSource { from, .. } => {
                format!("give profile {from} credentials (aws configure --profile {from}), or point source_profile at one that has them")
            }
            ProfileError::LoginSession { name } => {
                format!(
                    "use a profile with SSO (aws sso login), a role or keys; or export the session's keys (aws configure export-credentials --profile {name} --format env)"
                )
            }
            ProfileError::Unreadable { .. } => {
                "fix the file (it is INI, as `aws configure` writes it), or point AWS_CONFIG_FILE elsewhere".to_owned()
            }
        }
    }
}

/// Reads `name` from the shared files, as the SDK will: refused (before any call) when it is not
/// there or sets no credentials.
pub async fn read(name: &str, explicit: bool) -> Result<NamedProfile, ProfileError> {
    let files = ProfileFilePaths::from_env(|var| std::env::var(var).ok());
    let set = aws_config::profile::load(&Fs::real(), &Env::real(), &EnvConfigFiles::default(), None)
        .await
        .map_err(|e| ProfileError::Unreadable { files: files.clone(), reason: e.to_string() })?;
    let Some(profile) = set.get_profile(name) else {
        let mut known: Vec<String> = set.profiles().map(str::to_owned).collect();
        known.sort();
        return Err(ProfileError::NotFound { name: name.to_owned(), files, known });
    };
    let get = |key: &str| profile.get(key).map(str::to_owned);
    let source = match CredentialSource::of(get) {
        Some(CredentialSource::Login) => return Err(ProfileError::LoginSession { name: name.to_owned() }),
        Some(source) => Some(source),
        // Named on the command line, the profile is the only source: without credentials of its
        // own nothing would be used. From AWS_PROFILE it may hold only settings (a region), with
        // the credentials from the environment or an instance role, as the SDK's chain allows.
        None if explicit => return Err(ProfileError::NoCredentials { name: name.to_owned(), files }),
        None => None,
    };
    check_source_chain(&set, name, &files)?;
    Ok(NamedProfile { name: name.to_owned(), source, region: get("region"), explicit })
}

/// Follows `source_profile` from `name` to the profile that holds the credentials: each must
/// exist, the chain must end (a profile may name itself only when it holds keys, the SDK's base
/// case), and its end must have credentials. Refused before any call, as the SDK would fail at
/// the first one with only "no usable credentials".
fn check_source_chain(set: &aws_config::profile::ProfileSet, name: &str, files: &ProfileFilePaths) -> Result<(), ProfileError> {
    let mut current = name.to_owned();
    let mut seen = vec![current.clone()];
    loop {
        let Some(profile) = set.get_profile(&current) else { return Ok(()) };
        let (Some(_), Some(next)) = (profile.get("role_arn"), profile.get("source_profile")) else { return Ok(()) };
        let broken = |problem| ProfileError::BrokenSource { name: current.clone(), from: next.to_owned(), problem, files: files.clone() };
        if next == current {
            return if profile.get("aws_access_key_id").is_some() { Ok(()) } else { Err(broken("is the profile itself, without keys")) };
        }
        let Some(source) = set.get_profile(next) else { return Err(broken("is not there")) };
        if seen.iter().any(|s| s == next) {
            return Err(broken("leads back to a profile of the chain"));
        }
        if CredentialSource::of(|key| source.get(key).map(str::to_owned)).is_none() {
            return Err(broken("sets no credentials"));
        }
        seen.push(next.to_owned());
        current = next.to_owned();
    }
}

/// Credentials from the environment, which an explicitly named profile replaces: keys, a web
/// identity, a container's credentials endpoint.
const ENVIRONMENT_CREDENTIALS: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
];

/// The environment the SDK resolves configuration from: the process's, less the environment's
/// credentials (and region, when the profile sets one) under an explicitly named profile, plus
/// `AWS_ENDPOINT_URL` for `--endpoint-url`. The endpoint goes through the environment because the
/// SDK builds the STS client of a profile's AssumeRole (and SSO's clients) from the environment
/// and the profile alone: an endpoint set only on the loader would not reach them, and a
/// `role_arn` profile would call the public STS endpoint while every other call went to the
/// endpoint given.
pub fn sdk_environment(
    process: impl IntoIterator<Item = (String, String)>,
    profile: Option<&NamedProfile>,
    endpoint_url: Option<&str>,
) -> HashMap<String, String> {
    let mut env: HashMap<String, String> = process.into_iter().collect();
    if let Some(profile) = profile.filter(|p| p.explicit) {
        for var in ENVIRONMENT_CREDENTIALS {
            env.remove(*var);
        }
        if profile.region.is_some() {
            env.remove("AWS_REGION");
            env.remove("AWS_DEFAULT_REGION");
        }
        env.insert("AWS_PROFILE".to_owned(), profile.name.clone());
    }
    if let Some(endpoint) = endpoint_url {
        env.insert("AWS_ENDPOINT_URL".to_owned(), endpoint.to_owned());
    }
    env
}

/// The hint for a credentials failure, matching where the credentials were to come from.
pub fn credentials_hint(profile: Option<&NamedProfile>, environment_keys: bool) -> String {
    let Some(profile) = profile else {
        return if environment_keys {
            "the keys in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) were refused or have expired: refresh them, or pass --profile NAME".to_owned()
        } else {
            "configure credentials: aws sso login --profile NAME and pass --profile NAME, or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY".to_owned()
        };
    };
    let name = &profile.name;
    let Some(source) = &profile.source else {
        return credentials_hint(None, environment_keys);
    };
    match source {
        CredentialSource::AssumeRole { role_arn, from } => format!(
            "profile {name} assumes {role_arn} with the credentials of {from}: check those work (aws sts get-caller-identity) and that the role's trust policy allows them"
        ),
        CredentialSource::WebIdentity { role_arn } => {
            format!("profile {name} assumes {role_arn} with a web identity token: check that its web_identity_token_file exists and is current")
        }
        CredentialSource::Sso => format!("log in again: aws sso login --profile {name}"),
        CredentialSource::Process => {
            format!("profile {name} runs credential_process for its keys: run that command yourself and fix what it reports")
        }
        CredentialSource::Static => {
            format!("the keys of profile {name} were refused or have expired: replace them (aws configure --profile {name})")
        }
        CredentialSource::Login => format!("profile {name} uses aws login, which flowgate cannot use: choose another profile"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(keys: &[(&str, &str)]) -> Option<CredentialSource> {
        let map: HashMap<String, String> = keys.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        CredentialSource::of(|key| map.get(key).cloned())
    }

    #[test]
    fn a_profile_is_judged_by_the_keys_it_sets() {
        let role = "arn:aws:iam::210987654321:role/ops";
        assert_eq!(
            source(&[("role_arn", role), ("source_profile", "base")]),
            Some(CredentialSource::AssumeRole { role_arn: role.into(), from: "profile base".into() })
        );
        assert_eq!(source(&[("role_arn", role), ("web_identity_token_file", "/t")]), Some(CredentialSource::WebIdentity { role_arn: role.into() }));
        // The SDK takes a web identity first, whatever else the profile names.
        assert_eq!(
            source(&[("role_arn", role), ("web_identity_token_file", "/t"), ("source_profile", "base")]),
            Some(CredentialSource::WebIdentity { role_arn: role.into() })
        );
        assert_eq!(source(&[("login_session", "x"), ("aws_access_key_id", "AKIA")]), Some(CredentialSource::Login));
        assert_eq!(source(&[("sso_session", "corp"), ("sso_account_id", "1")]), Some(CredentialSource::Sso));
        assert_eq!(source(&[("credential_process", "/bin/keys")]), Some(CredentialSource::Process));
        assert_eq!(source(&[("aws_access_key_id", "AKIA"), ("aws_secret_access_key", "s")]), Some(CredentialSource::Static));
        assert_eq!(source(&[("region", "eu-west-1")]), None);
    }

    fn profile(explicit: bool, region: Option<&str>) -> NamedProfile {
        NamedProfile { name: "app2".into(), source: Some(CredentialSource::Static), region: region.map(str::to_owned), explicit }
    }

    fn process() -> Vec<(String, String)> {
        [("AWS_ACCESS_KEY_ID", "AKIAENV"), ("AWS_SECRET_ACCESS_KEY", "s"), ("AWS_REGION", "us-east-1"), ("HOME", "/root")]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn an_explicit_profile_replaces_the_environments_credentials_and_region() {
        let env = sdk_environment(process(), Some(&profile(true, Some("eu-west-1"))), None);
        assert!(!env.contains_key("AWS_ACCESS_KEY_ID") && !env.contains_key("AWS_SECRET_ACCESS_KEY"), "{env:?}");
        assert!(!env.contains_key("AWS_REGION"), "the profile's region is used: {env:?}");
        assert_eq!(env.get("AWS_PROFILE").map(String::as_str), Some("app2"));
        assert_eq!(env.get("HOME").map(String::as_str), Some("/root"));
        // Without a region of its own, the environment's region stays.
        assert!(sdk_environment(process(), Some(&profile(true, None)), None).contains_key("AWS_REGION"));
    }

    #[test]
    fn aws_profile_from_the_environment_keeps_the_chains_order() {
        let env = sdk_environment(process(), Some(&profile(false, Some("eu-west-1"))), None);
        assert_eq!(env.get("AWS_ACCESS_KEY_ID").map(String::as_str), Some("AKIAENV"));
        assert_eq!(env.get("AWS_REGION").map(String::as_str), Some("us-east-1"));
    }

    #[test]
    fn the_endpoint_reaches_every_client_through_the_environment() {
        let env = sdk_environment(process(), None, Some("http://127.0.0.1:5000"));
        assert_eq!(env.get("AWS_ENDPOINT_URL").map(String::as_str), Some("http://127.0.0.1:5000"));
        assert!(!sdk_environment(process(), None, None).contains_key("AWS_ENDPOINT_URL"));
    }

    #[test]
    fn the_files_are_found_as_the_sdk_finds_them() {
        let vars: HashMap<&str, &str> = [("HOME", "/home/ops"), ("AWS_CONFIG_FILE", "/etc/aws/config")].into();
        let files = ProfileFilePaths::from_env(|v| vars.get(v).map(|s| (*s).to_owned()));
        assert_eq!(files.to_string(), "/etc/aws/config or /home/ops/.aws/credentials");
    }

    #[test]
    fn the_credentials_hint_matches_the_profiles_kind() {
        let mut named = profile(true, None);
        named.source = Some(CredentialSource::Sso);
        assert!(credentials_hint(Some(&named), true).contains("aws sso login --profile app2"));
        named.source = Some(CredentialSource::AssumeRole { role_arn: "arn:aws:iam::2:role/r".into(), from: "profile base".into() });
        let hint = credentials_hint(Some(&named), true);
        assert!(hint.contains("arn:aws:iam::2:role/r") && !hint.contains("sso"), "{hint}");
        named.source = Some(CredentialSource::Process);
        assert!(credentials_hint(Some(&named), false).contains("credential_process"));
        assert!(credentials_hint(None, true).contains("AWS_ACCESS_KEY_ID"));
    }
}
