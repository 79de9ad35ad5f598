//! Test support: the emulator, the chaos proxy, and a flowgate command pointed at them.

pub mod authorization;
pub mod chaos;
pub mod emulator;
pub mod schemas;
pub mod simulator;

use std::ffi::{OsStr, OsString};
use std::process::Output;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::Credentials;

pub use chaos::{ChaosProxy, FaultKind, FaultRule};
pub use emulator::Emulator;

pub const ACCOUNT: &str = "123456789012";
/// The access key every test run uses; a test checks it is never printed.
pub const ACCESS_KEY: &str = "AKIAFLOWGATETESTKEY1";
pub const SECRET_KEY: &str = "flowgate-test-secret-do-not-print";

/// One multi-threaded runtime for the proxies and the SDK clients tests assert with.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("test runtime"))
}

/// A name no other test uses (bucket names are global within an emulator).
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    format!("{prefix}-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// A test's view of AWS: an emulator (shared or its own) behind its own chaos proxy.
pub struct Env {
    pub proxy: ChaosProxy,
    emulator_port: u16,
    _own: Option<Own>,
}

/// The emulator a test has to itself.
enum Own {
    Leased(#[allow(dead_code)] emulator::Lease),
    Started(#[allow(dead_code)] Emulator),
}

impl Env {
    /// Behind a proxy of its own, on the emulator shared by this test binary.
    pub fn shared() -> Env {
        let emulator = Emulator::shared();
        Env { proxy: ChaosProxy::start(emulator.port), emulator_port: emulator.port, _own: None }
    }

    /// On an emulator of its own (for tests that need an account state nobody else touches).
    pub fn isolated() -> Env {
        let emulator = Emulator::lease();
        let port = emulator.port;
        Env { proxy: ChaosProxy::start(port), emulator_port: port, _own: Some(Own::Leased(emulator)) }
    }

    /// On an emulator of its own that holds AWS's managed policies.
    pub fn isolated_with_aws_managed_policies() -> Env {
        let emulator = Emulator::with_aws_managed_policies();
        let port = emulator.port;
        Env { proxy: ChaosProxy::start(port), emulator_port: port, _own: Some(Own::Started(emulator)) }
    }

    pub fn endpoint(&self) -> String {
        self.proxy.endpoint()
    }

    /// The flowgate binary, pointed at the proxy, with a clean AWS environment; what it prints
    /// as JSON is checked against its schema.
    pub fn flowgate(&self) -> Flowgate {
        Flowgate::from_std(self.flowgate_process())
    }

    /// The same, as a process to spawn and signal.
    pub fn flowgate_process(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("flowgate"));
        for var in ["AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "RUST_LOG"] {
            cmd.env_remove(var);
        }
        cmd.env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("NO_COLOR", "1")
            .args(["--endpoint-url", &self.endpoint()]);
        cmd
    }

    /// SDK configuration for assertions, straight to the emulator (not counted by the proxy).
    pub fn sdk(&self, region: &str) -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .endpoint_url(format!("http://127.0.0.1:{}", self.emulator_port))
            .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "tests")))
            .build()
    }

    pub fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.sdk("us-east-1"))
    }

    pub fn ec2(&self, region: &str) -> aws_sdk_ec2::Client {
        aws_sdk_ec2::Client::new(&self.sdk(region))
    }

    pub fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.sdk(region)).force_path_style(true).build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// An onboarded account on its own emulator: `bucket`, flow logs in `regions`, and the stack
    /// granting the bucket.
    pub fn onboarded(bucket: &str, regions: &str) -> Env {
        let env = Env::isolated();
        for args in [
            vec!["bucket", "create", "--bucket", bucket],
            vec!["flowlogs", "enable", "--bucket", bucket, "--regions", regions],
            vec!["stack", "deploy", "--vendor-account", "111122223333", "--storage-access", "--storage-ids", bucket],
        ] {
            let out = env.flowgate().args(&args).args(["--yes", "-q"]).output().unwrap();
            assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        }
        env
    }

    /// The id of flowgate's flow log in `region` (an onboarded account covers the one default VPC
    /// per region): AWS names each delivered object after the flow log that wrote it.
    pub fn flow_log_id(&self, region: &str) -> String {
        let out = block_on(self.ec2(region).describe_flow_logs().send()).unwrap();
        out.flow_logs().iter().find_map(|f| f.flow_log_id()).unwrap_or_else(|| panic!("no flow log in {region}")).to_owned()
    }
}

/// A flowgate command line as tests build and run it (assert_cmd's, for stdin): every run's
/// stdout is checked against the published schema of what the command line prints
/// ([`schemas::check_stdout`]), so that each test of a `--output json` run also tests the contract.
pub struct Flowgate {
    command: assert_cmd::Command,
    /// The arguments so far, the program first, as the schema check parses them.
    args: Vec<OsString>,
}

impl Flowgate {
    pub fn from_std(command: std::process::Command) -> Flowgate {
        let args = std::iter::once(OsString::from("flowgate")).chain(command.get_args().map(OsStr::to_owned)).collect();
        Flowgate { command: assert_cmd::Command::from_std(command), args }
    }

    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Self {
        self.args.push(arg.as_ref().to_owned());
        self.command.arg(arg);
        self
    }

    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for arg in args {
            self.arg(arg);
        }
        self
    }

    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Self {
        self.command.env(key, value);
        self
    }

    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Self {
        self.command.env_remove(key);
        self
    }

    pub fn write_stdin(&mut self, buffer: impl Into<Vec<u8>>) -> &mut Self {
        self.command.write_stdin(buffer);
        self
    }

    /// Runs flowgate to its end; panics when its JSON does not match its schema.
    pub fn output(&mut self) -> std::io::Result<Output> {
        let output = self.command.output()?;
        schemas::check_stdout(&self.args, &output.stdout);
        Ok(output)
    }
}

/// Runs a future on the test runtime.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    runtime().block_on(future)
}

/// Parses stdout as the single JSON document `--output json` promises.
pub fn json_stdout(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

pub fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}
