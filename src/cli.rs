//! The command line: clap types only. Values are validated by their parsers here, so malformed
//! input exits 2 before any AWS call.

use clap::{ArgAction, Args, CommandFactory, Parser, Subcommand};

use crate::core::flowlog_plan::{DesiredFlowLog, DestinationOptions, FileFormat, MANAGED_TAG_KEY, ReplaceScope, TrafficType};
use crate::core::format::LogFormat;
use crate::core::names::{AccountId, BucketName, LogPrefix, Partition, RegionName, Tag, parse_bucket_or_arn, parse_vpc_id};
use crate::core::stack_plan::{
    DEFAULT_ROLE_NAME, DEFAULT_STACK_NAME, StorageId, parse_external_id, parse_role_name, parse_stack_name, parse_storage_id,
};
use crate::error::{Error, Result};
use crate::output::OutputFormat;

#[derive(Debug, Parser)]
#[command(
    name = "flowgate",
    version,
    about = "Onboard an AWS account to a flow-log analytics service: bucket, VPC flow logs, cross-account role, access, verification",
    long_about = None,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses the command line, noting which settings it gave itself rather than the environment.
    pub fn parse_args(args: &[std::ffi::OsString]) -> Result<Cli, clap::Error> {
        let matches = Cli::command().try_get_matches_from(args)?;
        let mut cli = <Cli as clap::FromArgMatches>::from_arg_matches(&matches)?;
        cli.global.profile_on_command_line = matches.value_source("profile") == Some(clap::parser::ValueSource::CommandLine);
        cli.check()?;
        Ok(cli)
    }

    /// Contradictions between flags that clap's attributes cannot express (they depend on a
    /// value), refused as usage errors (exit 2) before any AWS call.
    pub fn check(&self) -> Result<(), clap::Error> {
        let contradiction = |message: String| Err(Cli::command().error(clap::error::ErrorKind::ArgumentConflict, message));
        let ecs = |format: &str, ecs: bool| {
            if ecs && format != "extended" {
                return contradiction(format!(
                    "--ecs adds the ECS fields to --format extended only; with --format {format} it would be ignored: \
                     use --format extended --ecs, or name the ecs-* fields in a --format field list"
                ));
            }
            Ok(())
        };
        match &self.command {
            Command::Parse(args) if args.records.is_some() && self.global.output == OutputFormat::Json => contradiction(
                "--records streams the records to stdout, --output json prints one document there: use one of them \
                 (the summary of a --records run is on stderr)"
                    .to_owned(),
            ),
            Command::Flowlogs(FlowLogsCommand::Enable(FlowLogsEnableArgs { spec, .. }))
            | Command::Flowlogs(FlowLogsCommand::Status(FlowLogsStatusArgs { spec, .. }))
            | Command::Verify(VerifyArgs { spec, .. })
            | Command::Watch(WatchCommand::Enable(WatchEnableArgs { spec, .. }) | WatchCommand::Status(WatchEnableArgs { spec, .. })) => {
                ecs(&spec.format, spec.ecs)
            }
            Command::Onboard(args) => ecs(&args.format, args.ecs),
            _ => Ok(()),
        }?;
        // An apply's exit code already says what it did; drift is a plan's answer.
        let plan_exit_code = match &self.command {
            Command::Onboard(args) => args.exit_code,
            Command::Org(org) => matches!(&**org, OrgCommand::Onboard(args) if args.exit_code),
            _ => false,
        };
        if plan_exit_code && !self.global.dry_run {
            return contradiction(
                "--exit-code answers whether a run would change something: it goes with --dry-run (add it), as terraform plan -detailed-exitcode"
                    .to_owned(),
            );
        }

        if let Some(key) = repeated_tag_key(self.command.tags()) {
            return contradiction(format!(
                "--tag {key}=... is given more than once: a resource holds one value per tag key (S3 and EC2 refuse the request); keep one"
            ));
        }
        // AWS's 50 tags per resource, the input alone (a bucket's own tags are counted when read).
        let own = usize::from(self.command.tags_flow_logs());
        let tagged = if own > 0 { "each flow log with these --tag" } else { "the bucket with these --tag" };
        if let Some(breach) = crate::core::limits::tags_breach(tagged, self.command.tags(), own) {
            return Err(Cli::command().error(
                clap::error::ErrorKind::TooManyValues,
                format!("{breach}: pass at most {} --tag", crate::core::limits::TAGS_PER_RESOURCE_MAX - own),
            ));
        }
        Ok(())
    }
}

/// The first tag key given twice.
fn repeated_tag_key(tags: &[Tag]) -> Option<&str> {
    let mut seen = std::collections::BTreeSet::new();
    tags.iter().map(|t| t.key.as_str()).find(|key| !seen.insert(*key))
}

impl Command {
    /// The `--tag`s of the commands that take them.
    pub fn tags(&self) -> &[Tag] {
        match self {
            Command::Bucket(BucketCommand::Create(args)) => &args.tags,
            Command::Flowlogs(FlowLogsCommand::Enable(args)) => &args.tags,
            Command::Watch(WatchCommand::Enable(args)) => &args.tags,
            Command::Onboard(args) => &args.tags,
            Command::Org(org) => match org.as_ref() {
                OrgCommand::Onboard(args) => &args.flowlogs.tags,
                _ => &[],
            },
            _ => &[],
        }
    }

    /// Whether the command's `--tag`s go on flow logs (which also carry flowgate's marker tag).
    pub fn tags_flow_logs(&self) -> bool {
        match self {
            Command::Flowlogs(FlowLogsCommand::Enable(_)) | Command::Watch(WatchCommand::Enable(_)) | Command::Onboard(_) => true,
            Command::Org(org) => matches!(org.as_ref(), OrgCommand::Onboard(_)),
            _ => false,
        }
    }

    /// The `--bucket-region` of the commands that take one.
    pub fn bucket_region(&self) -> Option<&RegionName> {
        match self {
            Command::Bucket(BucketCommand::Create(BucketCreateArgs { target, .. }))
            | Command::Bucket(BucketCommand::Check(BucketCheckArgs { target, .. })) => target.bucket_region.as_ref(),
            Command::Onboard(args) => args.bucket_region.as_ref(),
            Command::Org(org) => match org.as_ref() {
                OrgCommand::Onboard(args) => args.bucket_region.as_ref(),
                _ => None,
            },
            _ => None,
        }
    }
}

/// A `--tag`: any valid tag but flowgate's own marker, which says which flow logs flowgate
/// created (and may delete): a user setting it would mark, or unmark, flow logs by hand.
fn parse_user_tag(value: &str) -> Result<Tag, String> {
    let tag: Tag = value.parse()?;
    if tag.key == MANAGED_TAG_KEY {
        return Err(format!("the tag key '{MANAGED_TAG_KEY}' is flowgate's own (it marks the flow logs flowgate created): choose another key"));
    }
    Ok(tag)
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Named profile from ~/.aws/config
    #[arg(long, visible_alias = "aws-profile", global = true, env = "AWS_PROFILE", help_heading = "AWS")]
    pub profile: Option<String>,

    /// `--profile` was given on the command line (not only `AWS_PROFILE`): it is used exclusively.
    #[arg(skip)]
    pub profile_on_command_line: bool,

    /// The account the caller must be in: compared with STS GetCallerIdentity before any other
    /// call; another account stops the run (exit 2) before anything is read or changed
    #[arg(long, global = true, value_name = "ID", help_heading = "AWS")]
    pub target_account: Option<AccountId>,

    /// Home region: STS, IAM, CloudFormation and new buckets [default: from the profile or AWS_REGION]
    #[arg(long, global = true, value_parser = clap::value_parser!(RegionName), help_heading = "AWS")]
    pub region: Option<RegionName>,

    /// Send every AWS call to this endpoint (a local emulator, a VPC endpoint)
    #[arg(long, global = true, env = "AWS_ENDPOINT_URL", value_parser = parse_endpoint, help_heading = "AWS")]
    pub endpoint_url: Option<String>,

    /// Attempts per AWS call, with backoff, before giving up on throttling and server errors
    #[arg(long, global = true, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=20), help_heading = "AWS")]
    pub max_attempts: u32,

    /// Seconds one attempt of an AWS call may take before it is abandoned and retried
    #[arg(long, global = true, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=900), help_heading = "AWS")]
    pub timeout: u64,

    /// Output format: text for people, json for automation (one document on stdout)
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// Apply without asking for confirmation
    #[arg(short = 'y', long, global = true)]
    pub yes: bool,

    /// Read state and print the plan, then stop: change nothing
    #[arg(long, global = true)]
    pub dry_run: bool,

    /// More diagnostics on stderr (-v, -vv); RUST_LOG overrides
    #[arg(short, long, global = true, action = ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Only results and errors: no progress or status lines
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Never colour output (also when NO_COLOR is set)
    #[arg(long, global = true)]
    pub no_color: bool,
}

fn parse_endpoint(value: &str) -> Result<String, String> {
    if value.starts_with("http://") || value.starts_with("https://") {
        Ok(value.trim_end_matches('/').to_owned())
    } else {
        Err(format!("'{value}' is not an http:// or https:// URL"))
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The S3 bucket flow logs are delivered to
    #[command(subcommand)]
    Bucket(BucketCommand),
    /// VPC flow logs to the bucket, in every enabled region and every VPC
    #[command(subcommand)]
    Flowlogs(FlowLogsCommand),
    /// The vendor's cross-account role, deployed as a CloudFormation stack
    #[command(subcommand)]
    Stack(StackCommand),
    /// The guided onboarding, for people (a terminal): the same steps as onboard, asked for one by one
    Wizard(WizardArgs),
    /// The whole onboarding in one step, for automation: bucket, flow logs, role stack, access, verify
    Onboard(OnboardArgs),
    /// Remove what flowgate set up: its flow logs, the role stack (and the bucket with --delete-bucket)
    Offboard(OffboardArgs),
    /// A whole AWS Organization in one plan: roles by a CloudFormation StackSet, flow logs in every
    /// member account to one central bucket
    #[command(subcommand)]
    Org(Box<OrgCommand>),
    /// Keep coverage: per region, a stack whose EventBridge rule and SSM Automation give every
    /// new VPC flowgate's flow log (no code of flowgate's runs in the account)
    #[command(subcommand)]
    Watch(WatchCommand),
    /// Check the whole onboarding from the delivered flow logs: bucket, coverage, delivery, objects, access
    Verify(VerifyArgs),
    /// The vendor role's read access to flow-log buckets: grant, revoke, list
    #[command(subcommand)]
    Access(AccessCommand),
    /// Summarize downloaded flow-log objects (plain or gzip); stream their records as JSON or CSV
    Parse(ParseArgs),
    /// Print the least-privilege IAM policy an operator needs to run COMMAND (JSON; no AWS call)
    Permissions(PermissionsArgs),
    /// Print the JSON Schema of what COMMAND prints with --output json (as in schemas/; no AWS call)
    Schema(SchemaArgs),
    /// Print a shell completion script
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout
    #[command(hide = true)]
    Man,
}

#[derive(Debug, Subcommand)]
pub enum BucketCommand {
    /// Create (or adopt) the flow-log bucket and make it right: public access blocked, delivery policy, no KMS
    Create(BucketCreateArgs),
    /// Report each property of the flow-log bucket as pass/warn/fail (exit 1 on any fail)
    Check(BucketCheckArgs),
}

/// Where flow logs are delivered within the bucket; shared by the commands that need the path.
#[derive(Debug, Clone, Args)]
pub struct BucketTargetArgs {
    /// Bucket name
    #[arg(long, value_name = "NAME")]
    pub bucket: BucketName,

    /// Region the bucket is (or is to be created) in [default: the home region]
    #[arg(long, value_name = "REGION")]
    pub bucket_region: Option<RegionName>,

    /// Key prefix flow logs are delivered under (before AWSLogs/)
    #[arg(long, value_name = "PREFIX")]
    pub prefix: Option<LogPrefix>,

    /// Flow logs use Hive-compatible partitions (AWSLogs/aws-account-id=.../)
    #[arg(long)]
    pub hive_partitions: bool,
}

#[derive(Debug, Clone, Args)]
pub struct BucketCreateArgs {
    #[command(flatten)]
    pub target: BucketTargetArgs,

    /// Expire flow-log objects after N days (a lifecycle rule; other rules are kept)
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(i32).range(1..=36500))]
    pub expire_days: Option<i32>,

    /// Tag the bucket (repeatable); existing tags are kept
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_user_tag)]
    pub tags: Vec<Tag>,

    /// Replace an SSE-KMS default encryption with SSE-S3 (AES256) instead of refusing
    #[arg(long)]
    pub fix_encryption: bool,

    /// Remove delivery paths of an earlier --prefix from the bucket policy once no flow log of the account delivers there (kept otherwise)
    #[arg(long)]
    pub remove_old_paths: bool,
}

#[derive(Debug, Clone, Args)]
pub struct BucketCheckArgs {
    #[command(flatten)]
    pub target: BucketTargetArgs,

    /// Also check that flow logs expire after this many days
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(i32).range(1..=36500))]
    pub expire_days: Option<i32>,
}

#[derive(Debug, Subcommand)]
pub enum FlowLogsCommand {
    /// Create the required flow log for every VPC that lacks one (and replace non-compliant ones with --replace)
    Enable(FlowLogsEnableArgs),
    /// Coverage per region and VPC: compliant, non-compliant (with the reason), missing; exit 1 unless all compliant
    Status(FlowLogsStatusArgs),
    /// Delete the flow logs flowgate created (tagged flowgate:managed=true); nothing else is touched
    Disable(FlowLogsDisableArgs),
}

/// Which regions and VPCs a flow-log command works on.
#[derive(Debug, Clone, Args)]
pub struct ScopeArgs {
    /// Only these regions, comma-separated [default: every enabled region of the partition]
    #[arg(long, value_delimiter = ',', value_name = "REGION,...")]
    pub regions: Vec<RegionName>,

    /// Only these VPCs, comma-separated
    #[arg(long, value_delimiter = ',', value_name = "VPC-ID,...", value_parser = parse_vpc_id)]
    pub vpcs: Vec<String>,

    /// Regions worked on at once
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=32))]
    pub concurrency: u16,
}

fn parse_aggregation_interval(value: &str) -> Result<i32, String> {
    match value {
        "60" => Ok(60),
        "600" => Ok(600),
        _ => Err(format!("'{value}' is not an aggregation interval: use 60 or 600 (seconds)")),
    }
}

/// The flow log every VPC should have.
#[derive(Debug, Clone, Args)]
pub struct FlowLogSpecArgs {
    /// The flow-log bucket
    #[arg(long, value_name = "NAME")]
    pub bucket: BucketName,

    /// Key prefix flow logs are delivered under (before AWSLogs/)
    #[arg(long, value_name = "PREFIX")]
    pub prefix: Option<LogPrefix>,

    /// Record format: required (v2 fields + tcp-flags), extended (adds type, flow-direction,
    /// traffic-path, pkt-srcaddr, pkt-dstaddr), or a comma-separated field list that includes the required fields
    #[arg(long, default_value = "required", value_name = "required|extended|FIELD,...")]
    pub format: String,

    /// With --format extended: add the ECS fields
    #[arg(long)]
    pub ecs: bool,

    /// Traffic to log
    #[arg(long, default_value = "ALL", value_name = "ALL|ACCEPT|REJECT")]
    pub traffic_type: TrafficType,

    /// Maximum aggregation interval in seconds
    #[arg(long, default_value = "600", value_name = "60|600", value_parser = parse_aggregation_interval)]
    pub max_aggregation_interval: i32,

    /// Object format in S3
    #[arg(long, default_value = "plain-text", value_name = "plain-text|parquet")]
    pub file_format: FileFormat,

    /// Hive-compatible S3 prefixes (aws-account-id=.../aws-region=.../year=...)
    #[arg(long)]
    pub hive_partitions: bool,

    /// Partition objects per hour instead of per day
    #[arg(long)]
    pub per_hour_partition: bool,
}

#[derive(Debug, Clone, Args)]
pub struct FlowLogsEnableArgs {
    #[command(flatten)]
    pub spec: FlowLogSpecArgs,

    #[command(flatten)]
    pub scope: ScopeArgs,

    /// Replace flowgate's non-compliant flow logs to the bucket (tagged flowgate:managed=true):
    /// create the correct one, then delete the old
    #[arg(long)]
    pub replace: bool,

    /// Also replace (delete) non-compliant flow logs to the bucket that are NOT flowgate's (not
    /// tagged flowgate:managed=true: another team's, or made by hand); implies --replace
    #[arg(long)]
    pub replace_unmanaged: bool,

    /// Tag the flow logs flowgate creates (repeatable); flowgate:managed=true is always added
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_user_tag)]
    pub tags: Vec<Tag>,
}

impl FlowLogsEnableArgs {
    /// Which non-compliant flow logs `--replace` / `--replace-unmanaged` allow to replace.
    pub fn replace_scope(&self) -> ReplaceScope {
        match (self.replace, self.replace_unmanaged) {
            (_, true) => ReplaceScope::AlsoUnmanaged,
            (true, false) => ReplaceScope::Flowgates,
            (false, false) => ReplaceScope::Nothing,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct FlowLogsStatusArgs {
    #[command(flatten)]
    pub spec: FlowLogSpecArgs,

    #[command(flatten)]
    pub scope: ScopeArgs,

    /// Exit 4 when a run would change something (drift), 0 when nothing would; a failure keeps
    /// its own code (1, 3): for scheduled checks, as `git diff --exit-code`
    #[arg(long)]
    pub exit_code: bool,
}

#[derive(Debug, Clone, Args)]
pub struct FlowLogsDisableArgs {
    #[command(flatten)]
    pub scope: ScopeArgs,

    /// Only flow logs to this bucket
    #[arg(long, value_name = "NAME")]
    pub bucket: Option<BucketName>,
}

#[derive(Debug, Subcommand)]
pub enum WatchCommand {
    /// Deploy (or update) the watcher in every region: after checking that a CloudTrail trail
    /// brings the region's CreateVpc calls to EventBridge
    Enable(WatchEnableArgs),
    /// Per region: the watcher's stack, whether it creates the flow log asked for, and its trail;
    /// exit 1 unless every region is watched
    Status(WatchEnableArgs),
    /// Delete flowgate's watcher stacks (the stack named flowgate-watch with flowgate's marker); nothing else
    Disable(WatchDisableArgs),
}

/// The flow log the watcher creates (as `flowlogs enable` would) and where it watches.
#[derive(Debug, Clone, Args)]
pub struct WatchEnableArgs {
    #[command(flatten)]
    pub spec: FlowLogSpecArgs,

    /// Only these regions, comma-separated [default: every enabled region of the partition]
    #[arg(long, value_delimiter = ',', value_name = "REGION,...")]
    pub regions: Vec<RegionName>,

    /// Tag the flow logs the watcher creates (repeatable); flowgate:managed=true is always added
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_user_tag)]
    pub tags: Vec<Tag>,

    /// Regions worked on at once
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=32))]
    pub concurrency: u16,
}

#[derive(Debug, Clone, Args)]
pub struct WatchDisableArgs {
    /// Only these regions, comma-separated [default: every enabled region of the partition]
    #[arg(long, value_delimiter = ',', value_name = "REGION,...")]
    pub regions: Vec<RegionName>,

    /// Regions worked on at once
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=32))]
    pub concurrency: u16,
}

impl WatchEnableArgs {
    /// Regions, as the flow-log commands select them (no VPCs: the watcher waits for new ones).
    pub fn scope(&self) -> ScopeArgs {
        ScopeArgs { regions: self.regions.clone(), vpcs: Vec::new(), concurrency: self.concurrency }
    }
}

#[derive(Debug, Clone, Args)]
pub struct WizardArgs {
    /// Offer only these regions (comma-separated) [default: every enabled region]
    #[arg(long, value_delimiter = ',', value_name = "REGION,...")]
    pub regions: Vec<RegionName>,

    /// The role stack's name
    #[arg(long, default_value = DEFAULT_STACK_NAME, value_parser = parse_stack_name)]
    pub stack_name: String,

    /// Also keep coverage: the watcher in every region chosen (see flowgate watch enable)
    #[arg(long)]
    pub watch: bool,
}

#[derive(Debug, Clone, Args)]
pub struct OnboardArgs {
    /// The flow-log bucket (created, or adopted when it exists)
    #[arg(long, value_name = "NAME")]
    pub bucket: BucketName,

    /// Region of a new bucket [default: the home region]
    #[arg(long, value_name = "REGION")]
    pub bucket_region: Option<RegionName>,

    /// Key prefix flow logs are delivered under
    #[arg(long, value_name = "PREFIX")]
    pub prefix: Option<LogPrefix>,

    /// Only these regions, comma-separated [default: every enabled region]
    #[arg(long, value_delimiter = ',', value_name = "REGION,...")]
    pub regions: Vec<RegionName>,

    /// The vendor's 12-digit AWS account id (required unless the stack exists)
    #[arg(long, visible_alias = "colortokens-account", value_name = "ID")]
    pub vendor_account: Option<AccountId>,

    #[command(flatten)]
    pub vendor_modes: VendorModeArgs,

    /// ExternalId [default: kept from the stack, or generated]
    #[arg(long, value_name = "ID", value_parser = parse_external_id)]
    pub external_id: Option<String>,

    /// Role name [default: kept from the stack, or FlowgateCrossAccountRole]
    #[arg(long, value_parser = parse_role_name)]
    pub role_name: Option<String>,

    /// The role stack's name
    #[arg(long, default_value = DEFAULT_STACK_NAME, value_parser = parse_stack_name)]
    pub stack_name: String,

    /// Grant the vendor read access to the flow-log bucket (or to --storage-ids)
    #[arg(long)]
    pub storage_access: bool,

    /// Buckets to grant instead of the flow-log bucket, comma-separated
    #[arg(long, value_delimiter = ',', value_name = "ID,...", value_parser = parse_storage_id, requires = "storage_access")]
    pub storage_ids: Vec<StorageId>,

    /// Record format: required, extended, or a field list (see flowlogs enable)
    #[arg(long, default_value = "required")]
    pub format: String,

    /// With --format extended: add the ECS fields
    #[arg(long)]
    pub ecs: bool,

    /// Traffic to log
    #[arg(long, default_value = "ALL", value_name = "ALL|ACCEPT|REJECT")]
    pub traffic_type: TrafficType,

    /// Replace flowgate's non-compliant flow logs to the bucket
    #[arg(long)]
    pub replace: bool,

    /// Also replace (delete) non-compliant flow logs to the bucket that are NOT flowgate's;
    /// implies --replace
    #[arg(long)]
    pub replace_unmanaged: bool,

    /// Expire flow-log objects after N days
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(i32).range(1..=36500))]
    pub expire_days: Option<i32>,

    /// Replace an SSE-KMS default encryption of the bucket with SSE-S3 (AES256) instead of refusing (as bucket create --fix-encryption)
    #[arg(long)]
    pub fix_encryption: bool,

    /// Tag the bucket and the flow logs (repeatable)
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_user_tag)]
    pub tags: Vec<Tag>,

    /// After applying, poll until the first delivery (up to DURATION, 15m without a value)
    #[arg(long, value_name = "DURATION", num_args = 0..=1, default_missing_value = "15m", value_parser = crate::core::layout::parse_duration)]
    pub wait: Option<u64>,

    /// Regions worked on at once
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=32))]
    pub concurrency: u16,

    /// With --dry-run: exit 4 when a run would change something (drift), 0 when nothing would; a failure keeps
    /// its own code (1, 3): for scheduled checks, as `git diff --exit-code`
    #[arg(long)]
    pub exit_code: bool,

    /// Also keep coverage: deploy the watcher in every region (see flowgate watch enable), so
    /// that a VPC created later gets its flow log too
    #[arg(long)]
    pub watch: bool,
}

#[derive(Debug, Clone, Args)]
pub struct OffboardArgs {
    /// The role stack to delete
    #[arg(long, default_value = DEFAULT_STACK_NAME, value_parser = parse_stack_name)]
    pub stack_name: String,

    /// Only flowgate's flow logs to this bucket (and the bucket --delete-bucket deletes)
    #[arg(long, value_name = "NAME")]
    pub bucket: Option<BucketName>,

    /// Also delete the bucket: only an empty one, or with --force after showing its object count
    #[arg(long, requires = "bucket")]
    pub delete_bucket: bool,

    /// With --delete-bucket: delete the flow logs in it too
    #[arg(long, requires = "delete_bucket")]
    pub force: bool,

    /// Also delete flowgate's watcher stacks, first (before the flow logs, so that none is
    /// created meanwhile)
    #[arg(long)]
    pub watch: bool,

    #[command(flatten)]
    pub scope: ScopeArgs,
}

#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub spec: FlowLogSpecArgs,

    #[command(flatten)]
    pub scope: ScopeArgs,

    /// How far back delivered objects count
    #[arg(long, default_value = "24h", value_name = "DURATION", value_parser = crate::core::layout::parse_duration)]
    pub since: u64,

    /// Newest objects read and parsed per region
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=100))]
    pub max_objects: u16,

    /// The vendor role to check [default: the role of the flowgate stack]
    #[arg(long, value_parser = parse_role_name)]
    pub role_name: Option<String>,

    /// The flowgate role stack
    #[arg(long, default_value = DEFAULT_STACK_NAME, value_parser = parse_stack_name)]
    pub stack_name: String,

    /// Poll until the first delivery (up to DURATION, 15m when given without a value); delivery
    /// starts about 10 minutes after flow logs are enabled
    #[arg(long, value_name = "DURATION", num_args = 0..=1, default_missing_value = "15m", value_parser = crate::core::layout::parse_duration)]
    pub wait: Option<u64>,

    /// A missing delivery is only "pending" while flowgate's flow logs to the bucket in the region
    /// are younger than this (0: no grace)
    #[arg(long, default_value = "15m", value_name = "DURATION", value_parser = crate::core::layout::parse_grace)]
    pub delivery_grace: u64,

    /// Warnings fail too (exit 1)
    #[arg(long)]
    pub strict: bool,

    /// Also write the evidence to FILE: FILE.html (one self-contained page) or FILE.csv (one row
    /// per check); written even when a check fails
    #[arg(long, value_name = "FILE", value_parser = parse_report_path)]
    pub report: Option<std::path::PathBuf>,

    #[command(flatten)]
    pub simulate: SimulateArgs,
}

/// A `--report` path: its extension chooses the format, so anything but .html or .csv is refused
/// before any AWS call.
fn parse_report_path(value: &str) -> Result<std::path::PathBuf, String> {
    crate::core::evidence::report_format(value)?;
    let path = std::path::PathBuf::from(value);
    // A missing folder is known before verify runs: say so now, not after the checks.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.is_dir()) {
        return Err(format!("'{value}': the folder {} does not exist: create it or write the report elsewhere", dir.display()));
    }
    Ok(path)
}

#[derive(Debug, Subcommand)]
pub enum AccessCommand {
    /// Let the vendor role read these buckets (s3:GetObject on objects, ListBucket/GetBucketLocation)
    Grant(AccessEditArgs),
    /// Take the vendor role's read access to these buckets away; nothing else in its policies changes
    Revoke(AccessEditArgs),
    /// What the vendor role can read, evaluated from all its policies and the buckets' (for auditors)
    List(AccessListArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AccessVia {
    /// Through the flowgate role stack (its StorageBucketNames parameter)
    Stack,
    /// By editing an inline policy of a role created by hand
    Role,
}

fn parse_policy_name(value: &str) -> Result<String, String> {
    let ok = (1..=128).contains(&value.len()) && value.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if ok { Ok(value.to_owned()) } else { Err(format!("'{value}' is not an IAM policy name: 1-128 of letters, digits and _+=,.@-")) }
}

/// Which role's access: the stack's, or a role created by hand.
#[derive(Debug, Clone, Args)]
pub struct AccessTargetArgs {
    /// stack (default when the flowgate stack exists) or role (with --role-name)
    #[arg(long, value_enum)]
    pub via: Option<AccessVia>,

    /// The role stack's name
    #[arg(long, default_value = DEFAULT_STACK_NAME, value_parser = parse_stack_name)]
    pub stack_name: String,

    /// A role created by hand (e.g. ColorTokensCrossAccountAccessRole); implies --via role
    #[arg(long, value_parser = parse_role_name)]
    pub role_name: Option<String>,

    /// The inline policy to edit [default: the one holding flowgate's statements, the role's only
    /// inline policy, or its S3 one; else FlowgateStorageRead]
    #[arg(long, value_parser = parse_policy_name)]
    pub policy_name: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct AccessEditArgs {
    #[command(flatten)]
    pub target: AccessTargetArgs,

    /// A bucket name or ARN (repeatable)
    #[arg(long = "bucket", required = true, value_name = "NAME|ARN", value_parser = parse_bucket_or_arn)]
    pub buckets: Vec<BucketName>,

    /// (role mode) Replace the manual guide's wildcard S3 statement with the granted buckets
    #[arg(long)]
    pub narrow_wildcard: bool,

    #[command(flatten)]
    pub wait: StackWaitArgs,

    #[command(flatten)]
    pub simulate: SimulateArgs,
}

#[derive(Debug, Clone, Args)]
pub struct AccessListArgs {
    #[command(flatten)]
    pub target: AccessTargetArgs,

    /// Exit 1 when a wildcard grants every bucket (or a bucket pattern)
    #[arg(long)]
    pub strict: bool,

    #[command(flatten)]
    pub simulate: SimulateArgs,
}

/// AWS's verdict beside flowgate's on the vendor role's reads.
#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// Do not ask IAM's policy simulator (iam:SimulatePrincipalPolicy) whether AWS agrees with
    /// flowgate's verdict on the vendor role's reads: flowgate's own verdict alone
    #[arg(long)]
    pub no_simulate: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RecordFormat {
    Json,
    Csv,
}

#[derive(Debug, Clone, Args)]
pub struct ParseArgs {
    /// Flow-log objects (.log or .log.gz); - or nothing for standard input
    #[arg(value_name = "FILE")]
    pub files: Vec<std::path::PathBuf>,

    /// Stream the parsed records to stdout (JSON lines, or CSV with the header's fields); the
    /// summary then goes to stderr
    #[arg(long, value_enum)]
    pub records: Option<RecordFormat>,

    /// The N flows (source -> destination:port) with the most bytes
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(usize))]
    pub top: Option<usize>,

    /// Accept objects whose header lacks the required fields (any flow-log format)
    #[arg(long)]
    pub any_format: bool,
}

#[derive(Debug, Clone, Args)]
pub struct SchemaArgs {
    /// The command: verify, flowlogs-enable, org-onboard, ... (or its words: flowlogs enable), or
    /// error for the error document; --list or nothing shows them all
    #[arg(value_name = "COMMAND", num_args = 1..=2)]
    pub command: Vec<String>,

    /// List the documents that have a schema
    #[arg(long, conflicts_with = "command")]
    pub list: bool,
}

#[derive(Debug, Clone, Args)]
pub struct PermissionsArgs {
    /// The command: bucket-create, flowlogs-enable, stack-deploy, stack-delete, onboard, offboard,
    /// ... (or its words: stack delete); --list shows them all
    #[arg(value_name = "COMMAND", num_args = 1..=2, required_unless_present = "list")]
    pub command: Vec<String>,

    /// List the commands that have an operator policy
    #[arg(long, conflicts_with = "command")]
    pub list: bool,

    /// The flow-log bucket (required by the commands that use one)
    #[arg(long, value_name = "NAME")]
    pub bucket: Option<BucketName>,

    /// The vendor role the stack creates or the access commands edit
    #[arg(long, default_value = DEFAULT_ROLE_NAME, value_parser = parse_role_name)]
    pub role_name: String,

    /// The role stack's name
    #[arg(long, default_value = DEFAULT_STACK_NAME, value_parser = parse_stack_name)]
    pub stack_name: String,

    /// The StackSet of the org commands
    #[arg(long, default_value = DEFAULT_STACK_SET_NAME, value_parser = crate::core::org_stackset::parse_roles_set_name)]
    pub stack_set_name: String,

    /// The role the org commands assume in --log-archive-account
    #[arg(long, default_value = "OrganizationAccountAccessRole", value_parser = parse_role_name)]
    pub log_archive_role: String,

    /// The org commands' log-archive account: the policy may assume --log-archive-role there
    /// only [default: none, the central bucket is in the caller's account]
    #[arg(long, value_name = "ID")]
    pub log_archive_account: Option<AccountId>,

    /// The account's 12-digit id [default: * (IAM and CloudFormation act only in the caller's own account)]
    #[arg(long, value_name = "ID")]
    pub account: Option<AccountId>,

    /// The partition in the ARNs [default: the partition of --region, else aws]
    #[arg(long, value_name = "PARTITION")]
    pub partition: Option<Partition>,
}

#[derive(Debug, Subcommand)]
pub enum StackCommand {
    /// Create or update the cross-account role stack (planned locally, applied through a change set)
    Deploy(StackDeployArgs),
    /// The stack's state, parameters, outputs and what its role can do (read from the role's policies)
    Status(StackNameArgs),
    /// Delete the stack (the vendor loses access)
    Delete(StackDeleteArgs),
}

#[derive(Debug, Clone, Args)]
pub struct StackNameArgs {
    /// The stack's name
    #[arg(long, default_value = DEFAULT_STACK_NAME, value_parser = parse_stack_name)]
    pub stack_name: String,
}

#[derive(Debug, Clone, Args)]
pub struct StackWaitArgs {
    /// Do not wait for a stack operation already in progress (or for this one to finish)
    #[arg(long)]
    pub no_wait: bool,

    /// Seconds to wait for CloudFormation before giving up waiting (the operation goes on)
    #[arg(long, default_value_t = 1800, value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub wait_timeout: u64,
}

/// The vendor's optional products, with its deployment script's flag names as aliases.
#[derive(Debug, Clone, Default, Args)]
pub struct VendorModeArgs {
    /// A second vendor account (its compliance product) trusted with the same ExternalId and given
    /// read-only compliance privileges [default: kept on update]
    #[arg(long, visible_alias = "xcloud-account", value_name = "ID")]
    pub compliance_account: Option<AccountId>,

    /// No compliance account: removes its trust and privileges when the stack has them (it wins
    /// over --compliance-account, as in the vendor's script, and the plan says so)
    #[arg(long, visible_alias = "no-deploy-xcloud")]
    pub no_compliance: bool,

    /// Let the vendor manage the account's security-group rules (segmentation enforcement).
    /// Deploying WITHOUT it removes that permission.
    #[arg(long)]
    pub read_write: bool,
}

#[derive(Debug, Clone, Args)]
pub struct StackDeployArgs {
    #[command(flatten)]
    pub name: StackNameArgs,

    /// The vendor's 12-digit AWS account id (required to create the stack; kept on update)
    #[arg(long, visible_alias = "colortokens-account", value_name = "ID")]
    pub vendor_account: Option<AccountId>,

    /// ExternalId the vendor must present [default: kept on update; on create, a strong random one]
    #[arg(long, value_name = "ID", value_parser = parse_external_id)]
    pub external_id: Option<String>,

    /// Name of the role [default: kept on update; FlowgateCrossAccountRole on create]
    #[arg(long, value_parser = parse_role_name)]
    pub role_name: Option<String>,

    /// Grant the vendor read access to the flow-log buckets (--storage-ids, or the buckets the
    /// account's flow logs deliver to). Deploying WITHOUT it revokes storage access.
    #[arg(long)]
    pub storage_access: bool,

    /// Buckets (names or ARNs) to grant read access to, comma-separated
    #[arg(long, value_delimiter = ',', value_name = "ID,...", value_parser = parse_storage_id, requires = "storage_access")]
    pub storage_ids: Vec<StorageId>,

    /// Deploy this template instead of the one shipped in the binary (YAML or JSON; checked
    /// locally before any AWS call)
    #[arg(long, value_name = "FILE")]
    pub template: Option<std::path::PathBuf>,

    #[command(flatten)]
    pub vendor_modes: VendorModeArgs,

    /// Show CloudFormation's own change set as the plan (CreateChangeSet: a mutating call that
    /// needs write permissions, also with --dry-run) instead of the local comparison
    #[arg(long)]
    pub change_set_preview: bool,

    #[command(flatten)]
    pub wait: StackWaitArgs,
}

#[derive(Debug, Clone, Args)]
pub struct StackDeleteArgs {
    #[command(flatten)]
    pub name: StackNameArgs,

    #[command(flatten)]
    pub wait: StackWaitArgs,
}

/// The StackSet `org onboard` creates.
pub const DEFAULT_STACK_SET_NAME: &str = "flowgate-org-roles";

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Onboard every account in scope: trusted access, the central bucket and its delivery
    /// policy, the roles StackSet, the management account's stack, flow logs in every member
    Onboard(Box<OrgOnboardArgs>),
    /// What is deployed where, and what a re-run of org onboard would change (read-only; exit 1
    /// on any fail)
    Status(OrgStatusArgs),
    /// Per account: the stack instance, flow-log coverage (read through the operator role), the
    /// central bucket's policy and delivery to it; and the vendor role's reads of the central
    /// bucket (with AWS's policy simulator); judged pass/warn/fail (exit 1 on any fail)
    Verify(OrgVerifyArgs),
    /// The reverse of org onboard, planned first: stack instances and the StackSet, flowgate's
    /// flow logs in every account, the organization's delivery statements
    Offboard(OrgOffboardArgs),
}

/// Who calls StackSets: the management account or a registered delegated administrator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CallAs {
    #[value(name = "self")]
    SelfAccount,
    DelegatedAdmin,
}

/// How the central bucket's policy lets the accounts deliver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DeliveryPolicyForm {
    /// Per-account paths with aws:SourceAccount/aws:SourceArn lists (what AWS documents for flow
    /// logs; one entry per account, checked against the 20 KB policy limit)
    PerAccount,
    /// One statement for the whole organization, conditioned on aws:SourceOrgID (a global
    /// condition key; AWS's flow-log guide documents the per-account form)
    Org,
}

fn parse_ou_id(value: &str) -> std::result::Result<String, String> {
    crate::core::org_scope::parse_ou_ids(value).map_err(|e| e.to_string()).and_then(|ids| match ids.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(format!("'{value}' is not one OU id")),
    })
}

/// Which accounts of the organization, and how flowgate reaches them.
#[derive(Debug, Clone, Args)]
pub struct OrgTargetArgs {
    /// Call StackSets as the management account (self) or as a registered delegated administrator
    #[arg(long, value_enum, default_value = "self")]
    pub call_as: CallAs,

    /// Only the accounts under these OUs (any depth), comma-separated [default: the whole root]
    #[arg(long, value_delimiter = ',', value_name = "OU-ID,...", value_parser = parse_ou_id)]
    pub ous: Vec<String>,

    /// Only these accounts (of those under --ous), comma-separated
    #[arg(long, value_delimiter = ',', value_name = "ID,...")]
    pub include_accounts: Vec<AccountId>,

    /// Leave these accounts out, comma-separated
    #[arg(long, value_delimiter = ',', value_name = "ID,...")]
    pub exclude_accounts: Vec<AccountId>,

    /// The StackSet that deploys the roles to the member accounts
    #[arg(long, default_value = DEFAULT_STACK_SET_NAME, value_parser = crate::core::org_stackset::parse_roles_set_name)]
    pub stack_set_name: String,

    /// The one region the StackSet's instances live in (IAM is global: a second region would
    /// create the same named roles again) [default: the home region]
    #[arg(long, value_name = "REGION")]
    pub stack_set_region: Option<RegionName>,

    /// The account the central bucket lives in [default: the caller's]
    #[arg(long, value_name = "ID")]
    pub log_archive_account: Option<AccountId>,

    /// The role flowgate assumes in --log-archive-account
    #[arg(long, default_value = "OrganizationAccountAccessRole", value_parser = parse_role_name)]
    pub log_archive_role: String,

    /// Accounts worked on at once (each with --concurrency regions at once)
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub account_concurrency: u16,
}

/// How each StackSet operation proceeds across the accounts.
#[derive(Debug, Clone, Copy, Args)]
pub struct OperationArgs {
    /// Per StackSet operation: the percentage of accounts that may fail before it stops
    #[arg(long, default_value_t = 25, value_parser = clap::value_parser!(i32).range(0..=100))]
    pub failure_tolerance_percentage: i32,

    /// Per StackSet operation: the percentage of accounts worked on at once
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(i32).range(1..=100))]
    pub max_concurrent_percentage: i32,
}

#[derive(Debug, Clone, Args)]
pub struct OrgStatusArgs {
    #[command(flatten)]
    pub target: OrgTargetArgs,

    /// The management account's role stack
    #[arg(long, default_value = DEFAULT_STACK_NAME, value_parser = parse_stack_name)]
    pub stack_name: String,

    #[command(flatten)]
    pub spec: FlowLogSpecArgs,

    #[command(flatten)]
    pub scope: ScopeArgs,

    /// Exit 4 when a run would change something (drift), 0 when nothing would; a failure keeps
    /// its own code (1, 3): for scheduled checks, as `git diff --exit-code`
    #[arg(long)]
    pub exit_code: bool,

    /// Expect the watcher (org onboard --watch): a member without it fails its watch check, also
    /// when the watch StackSet is gone
    #[arg(long)]
    pub watch: bool,
}

/// `org verify`: `org status`'s reads, the vendor role's reads of the central bucket, and the
/// evidence file.
#[derive(Debug, Clone, Args)]
pub struct OrgVerifyArgs {
    #[command(flatten)]
    pub status: OrgStatusArgs,

    #[command(flatten)]
    pub simulate: SimulateArgs,

    /// Also write the evidence to FILE: FILE.html (one self-contained page, an accounts x checks
    /// matrix) or FILE.csv (one row per account and check); written even when a check fails
    #[arg(long, value_name = "FILE", value_parser = parse_report_path)]
    pub report: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct OrgOnboardArgs {
    #[command(flatten)]
    pub target: OrgTargetArgs,

    #[command(flatten)]
    pub flowlogs: FlowLogsEnableArgs,

    /// Region of a new central bucket [default: the home region]
    #[arg(long, value_name = "REGION")]
    pub bucket_region: Option<RegionName>,

    /// How the bucket policy lets the accounts deliver
    #[arg(long, value_enum, default_value = "per-account")]
    pub delivery_policy: DeliveryPolicyForm,

    /// The vendor's 12-digit AWS account id (required to create the StackSet; kept on update)
    #[arg(long, visible_alias = "colortokens-account", value_name = "ID")]
    pub vendor_account: Option<AccountId>,

    /// ExternalId the vendor must present in every account [default: kept from the StackSet; on
    /// create, a strong random one]
    #[arg(long, value_name = "ID", value_parser = parse_external_id)]
    pub external_id: Option<String>,

    /// Name of the vendor role in every account [default: kept, or FlowgateCrossAccountRole]
    #[arg(long, value_parser = parse_role_name)]
    pub role_name: Option<String>,

    /// Grant the vendor read access to the central bucket (in the log-archive account's vendor
    /// role only; member accounts' roles never read storage)
    #[arg(long)]
    pub storage_access: bool,

    #[command(flatten)]
    pub vendor_modes: VendorModeArgs,

    /// Register this account as StackSets' delegated administrator (from the management account)
    #[arg(long, value_name = "ID")]
    pub register_delegated_admin: Option<AccountId>,

    /// Make the operator roles trust this account when the StackSet has them trust another
    /// administrator (the management account or a delegated administrator): that one can no
    /// longer reach the members through them, and every instance is updated
    #[arg(long)]
    pub take_over_administration: bool,

    /// Also deploy the watcher to every member, in every region in scope, through a second
    /// StackSet (flowgate-org-watch; auto-deployment on for whole OUs): a VPC created later, in an
    /// account that joins an OU in scope later too, gets the same flow log
    #[arg(long)]
    pub watch: bool,

    #[command(flatten)]
    pub operations: OperationArgs,

    /// The management account's role stack (the StackSet never reaches that account)
    #[arg(long, default_value = DEFAULT_STACK_NAME, value_parser = parse_stack_name)]
    pub stack_name: String,

    #[command(flatten)]
    pub wait: StackWaitArgs,

    /// With --dry-run: exit 4 when a run would change something (drift), 0 when nothing would; a failure keeps
    /// its own code (1, 3): for scheduled checks, as `git diff --exit-code`
    #[arg(long)]
    pub exit_code: bool,
}

#[derive(Debug, Clone, Args)]
pub struct OrgOffboardArgs {
    #[command(flatten)]
    pub target: OrgTargetArgs,

    /// The central bucket whose organization delivery statements are removed (the bucket and its
    /// objects are kept)
    #[arg(long, value_name = "NAME")]
    pub bucket: BucketName,

    /// Offboard every account of the organization (without it, name the scope with --ous,
    /// --include-accounts or --exclude-accounts)
    #[arg(long)]
    pub whole_organization: bool,

    /// Regions worked on at once in each account (flowgate's flow logs go from every region and
    /// VPC: the operator roles that remove them go next)
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=32))]
    pub concurrency: u16,

    /// The management account's role stack
    #[arg(long, default_value = DEFAULT_STACK_NAME, value_parser = parse_stack_name)]
    pub stack_name: String,

    #[command(flatten)]
    pub operations: OperationArgs,

    #[command(flatten)]
    pub wait: StackWaitArgs,
}

/// Validates the flow-log options (before any AWS call) into the desired flow log.
pub fn desired_flow_log(spec: &FlowLogSpecArgs, partition: &str) -> Result<DesiredFlowLog> {
    let format = LogFormat::from_option(&spec.format, spec.ecs).map_err(|e| {
        Error::input(
            format!("invalid --format: {e}"),
            Some("use --format required, --format extended, or a comma-separated list of flow-log fields including the required ones".to_owned()),
        )
    })?;
    Ok(DesiredFlowLog {
        partition: partition.to_owned(),
        bucket: spec.bucket.clone(),
        prefix: spec.prefix.clone(),
        format,
        traffic_type: spec.traffic_type,
        max_aggregation_interval: spec.max_aggregation_interval,
        options: DestinationOptions {
            file_format: spec.file_format,
            hive_partitions: spec.hive_partitions,
            per_hour_partition: spec.per_hour_partition,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}
