//! Which account flowgate acts in: a profile named on the command line is used exclusively (the
//! environment's keys do not win over it, as the AWS CLI's `--profile` negates its environment
//! provider), an unknown profile stops the run before any call, `--endpoint-url` reaches the
//! profile's own STS client, and a credentials failure's hint fits the profile's kind.

use std::io::Write;

use crate::support::{Env, stderr, stdout};

/// The emulator's accounts: the environment's keys act in the default one; the role of the
/// `app2` profile is in another (moto's AssumeRole answers as the account in the role's ARN).
const ENVIRONMENT_ACCOUNT: &str = "123456789012";
const PROFILE_ACCOUNT: &str = "210987654321";

fn config_file(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file
}

/// `base` holds static keys; `app2` assumes a role in another account from `base`, as a vendor
/// script's `--aws-profile` does in a CI job; `broken` runs a credential process that fails.
fn profiles() -> tempfile::NamedTempFile {
    config_file(&format!(
        "[profile base]\naws_access_key_id = AKIABASEPROFILEKEY01\naws_secret_access_key = base-secret\n\n\
         [profile app2]\nrole_arn = arn:aws:iam::{PROFILE_ACCOUNT}:role/ops\nsource_profile = base\nregion = eu-west-1\n\n\
         [profile broken]\ncredential_process = /bin/false\n"
    ))
}

#[test]
fn a_profile_on_the_command_line_wins_over_the_environments_keys() {
    let env = Env::shared();
    let config = profiles();
    // The environment's keys are set (Env::flowgate sets them) and the endpoint is the flag, not
    // AWS_ENDPOINT_URL: the profile's AssumeRole must reach the emulator through the flag.
    let out = env
        .flowgate()
        .env("AWS_CONFIG_FILE", config.path())
        .args(["--aws-profile", "app2", "stack", "deploy", "--vendor-account", "111122223333", "--dry-run"])
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(out.status.success(), "{text}");
    assert!(text.contains(&format!("account {PROFILE_ACCOUNT} as arn:aws:sts::{PROFILE_ACCOUNT}:assumed-role/ops/")), "{text}");
    assert!(text.contains("(home region eu-west-1)"), "the profile's region, not AWS_REGION: {text}");
    assert!(!text.contains(ENVIRONMENT_ACCOUNT), "{text}");
    assert_eq!(env.proxy.counts().get("sts:AssumeRole"), Some(&1), "the profile's STS call went through --endpoint-url");
}

#[test]
fn aws_profile_in_the_environment_keeps_the_credential_chains_order() {
    // The AWS CLI's rule: environment keys come before a profile that only AWS_PROFILE names.
    let env = Env::shared();
    let config = profiles();
    let out = env
        .flowgate()
        .env("AWS_CONFIG_FILE", config.path())
        .env("AWS_PROFILE", "app2")
        .args(["stack", "deploy", "--vendor-account", "111122223333", "--dry-run"])
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(out.status.success(), "{text}");
    assert!(text.contains(&format!("account {ENVIRONMENT_ACCOUNT} as")), "{text}");
}

#[test]
fn an_unknown_profile_is_refused_before_any_call() {
    let env = Env::shared();
    let config = profiles();
    let out = env.flowgate().env("AWS_CONFIG_FILE", config.path()).args(["--profile", "typo-prof", "stack", "status"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let text = stderr(&out);
    assert!(text.contains("the config profile (typo-prof) could not be found in"), "{text}");
    assert!(text.contains(&config.path().display().to_string()), "names the file read: {text}");
    assert!(text.contains("app2, base, broken"), "lists the profiles there: {text}");
    assert!(env.proxy.requests().is_empty(), "no AWS call: {:?}", env.proxy.counts());

    // The same from AWS_PROFILE, and in JSON: one document, kind input.
    let out = env
        .flowgate()
        .env("AWS_CONFIG_FILE", config.path())
        .env("AWS_PROFILE", "nope")
        .args(["stack", "status", "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let document = crate::support::json_stdout(&out);
    assert_eq!(document["error"]["kind"], "input", "{document}");
    assert!(env.proxy.requests().is_empty());
}

#[test]
fn a_profile_without_credentials_is_refused_before_any_call() {
    let env = Env::shared();
    let config = config_file(
        "[profile regional]\nregion = eu-west-1\n\n\
         [profile orphan]\nrole_arn = arn:aws:iam::210987654321:role/ops\nsource_profile = regional\n\n\
         [profile missing-source]\nrole_arn = arn:aws:iam::210987654321:role/ops\nsource_profile = nowhere\n\n\
         [profile loop-a]\nrole_arn = arn:aws:iam::210987654321:role/a\nsource_profile = loop-b\n\n\
         [profile loop-b]\nrole_arn = arn:aws:iam::210987654321:role/b\nsource_profile = loop-a\n\n\
         [profile signin]\nlogin_session = arn:aws:iam::210987654321:user/x\n",
    );
    let cases = [
        ("regional", "has no credentials"),
        ("orphan", "source_profile regional, which sets no credentials"),
        ("missing-source", "source_profile nowhere, which is not there"),
        ("loop-a", "leads back to a profile of the chain"),
        ("signin", "`aws login` (login_session), which flowgate cannot use"),
    ];
    for (profile, expected) in cases {
        let out = env.flowgate().env("AWS_CONFIG_FILE", config.path()).args(["--profile", profile, "stack", "status"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{profile}: {}", stderr(&out));
        assert!(stderr(&out).contains(expected), "{profile}: {}", stderr(&out));
    }
    assert!(env.proxy.requests().is_empty());

    // From AWS_PROFILE, a profile of settings only is the SDK's ordinary case: the credentials come
    // from the environment (or an instance role), the region from the profile's file.
    let out = env.flowgate().env("AWS_CONFIG_FILE", config.path()).env("AWS_PROFILE", "regional").args(["stack", "status"]).output().unwrap();
    assert!(!stderr(&out).contains("has no credentials"), "{}", stderr(&out));
    assert!(stdout(&out).contains("does not exist"), "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn a_credentials_failure_hints_at_the_profiles_own_source_without_colour_codes() {
    let env = Env::shared();
    let config = profiles();
    let out = env
        .flowgate()
        .env("AWS_CONFIG_FILE", config.path())
        .env_remove("NO_COLOR")
        .args(["--profile", "broken", "-v", "stack", "status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stderr(&out);
    assert!(text.contains("hint: profile broken runs credential_process"), "{text}");
    assert!(!text.contains("sso login"), "not an SSO profile: {text}");
    assert!(!text.contains('\u{1b}'), "stderr is not a terminal: no ANSI codes: {text:?}");
}
