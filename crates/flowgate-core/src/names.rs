//! Validated names and ids. Everything a user types is parsed here, before any AWS call, so that a
//! malformed value exits 2 with a one-line reason and never reaches an API.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::Serialize;

/// An S3 bucket name that satisfies the general-purpose bucket naming rules
/// (S3 User Guide, "Bucket naming rules").
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct BucketName(String);

const RESERVED_PREFIXES: &[&str] = &["xn--", "sthree-", "amzn-s3-demo-"];
const RESERVED_SUFFIXES: &[&str] = &["-s3alias", "--ol-s3", "--x-s3", ".mrap"];

impl BucketName {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `arn:PARTITION:s3:::NAME`
    pub fn arn(&self, partition: &str) -> String {
        format!("arn:{partition}:s3:::{}", self.0)
    }
}

impl FromStr for BucketName {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        let len = name.chars().count();
        if !(3..=63).contains(&len) {
            return Err(format!("bucket name '{name}' must be 3 to 63 characters long (it has {len})"));
        }
        if let Some(bad) = name.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '.' || *c == '-')) {
            return Err(format!("bucket name '{name}' contains '{bad}': use only lowercase letters, digits, dots and hyphens"));
        }
        let first_last_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if !first_last_ok(name.chars().next()) || !first_last_ok(name.chars().last()) {
            return Err(format!("bucket name '{name}' must begin and end with a letter or digit"));
        }
        if name.contains("..") {
            return Err(format!("bucket name '{name}' must not contain two adjacent dots"));
        }
        if name.contains(".-") || name.contains("-.") {
            return Err(format!("bucket name '{name}' must not have a dot next to a hyphen"));
        }
        if name.parse::<std::net::Ipv4Addr>().is_ok() {
            return Err(format!("bucket name '{name}' must not be formatted as an IP address"));
        }
        if let Some(prefix) = RESERVED_PREFIXES.iter().find(|p| name.starts_with(*p)) {
            return Err(format!("bucket name '{name}' must not start with the reserved prefix '{prefix}'"));
        }
        if let Some(suffix) = RESERVED_SUFFIXES.iter().find(|s| name.ends_with(*s)) {
            return Err(format!("bucket name '{name}' must not end with the reserved suffix '{suffix}'"));
        }
        Ok(BucketName(name.to_owned()))
    }
}

impl fmt::Display for BucketName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A bucket given as a name or as a bucket ARN (`arn:aws:s3:::name`), as `--storage-ids` accepts.
pub fn parse_bucket_or_arn(value: &str) -> Result<BucketName, String> {
    if let Some(rest) = value.strip_prefix("arn:") {
        let mut parts = rest.splitn(5, ':');
        let partition = parts.next().unwrap_or_default();
        let service = parts.next().unwrap_or_default();
        let region = parts.next().unwrap_or_default();
        let account = parts.next().unwrap_or_default();
        let resource = parts.next().unwrap_or_default();
        if !is_partition(partition) || service != "s3" || !region.is_empty() || !account.is_empty() {
            return Err(format!("'{value}' is not a bucket ARN: expected arn:aws:s3:::BUCKET"));
        }
        if resource.contains('/') {
            return Err(format!("'{value}' names objects, not a bucket: drop everything after the bucket name"));
        }
        return resource.parse();
    }
    value.parse()
}

/// An AWS region code such as `eu-west-1` or `us-gov-west-1` (syntax only; whether the account
/// has it enabled is checked against DescribeRegions by the commands that use regions).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct RegionName(String);

impl RegionName {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn partition(&self) -> Partition {
        Partition::of_region(&self.0)
    }
}

impl FromStr for RegionName {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        let parts: Vec<&str> = value.split('-').collect();
        let well_formed = parts.len() >= 3
            // Two letters (us, eu, cn, ...) or, in the European Sovereign Cloud, four (eusc).
            && (2..=4).contains(&parts[0].len())
            && parts[0].chars().all(|c| c.is_ascii_lowercase())
            && parts[1..parts.len() - 1].iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
            && parts.last().is_some_and(|n| !n.is_empty() && n.len() <= 2 && n.chars().all(|c| c.is_ascii_digit()));
        if well_formed {
            Ok(RegionName(value.to_owned()))
        } else {
            Err(format!("'{value}' is not an AWS region code: expected something like us-east-1 or eu-west-2"))
        }
    }
}

impl fmt::Display for RegionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A key prefix under which flow logs are delivered (`--prefix`), stored without surrounding slashes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct LogPrefix(String);

impl LogPrefix {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for LogPrefix {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        let trimmed = value.trim_matches('/');
        if trimmed.is_empty() {
            return Err("the prefix is empty: leave --prefix out to deliver at the top of the bucket".into());
        }
        if trimmed.len() > 512 {
            return Err(format!("prefix '{value}' is longer than 512 characters"));
        }
        // S3's "safe characters" for keys; anything else needs escaping in policies and ARNs.
        if let Some(bad) = trimmed.chars().find(|c| !(c.is_ascii_alphanumeric() || "!-_.*'()/".contains(*c))) {
            return Err(format!("prefix '{value}' contains '{bad}': use letters, digits and ! - _ . * ' ( ) /"));
        }
        if trimmed.contains("//") {
            return Err(format!("prefix '{value}' has an empty folder ('//')"));
        }
        // VPC User Guide: "AWSLogs" is a reserved folder name and cannot be used in the prefix.
        if trimmed.split('/').any(|part| part == "AWSLogs") {
            return Err(format!("prefix '{value}' contains the folder 'AWSLogs', which AWS reserves for the delivery path"));
        }
        Ok(LogPrefix(trimmed.to_owned()))
    }
}

impl fmt::Display for LogPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A resource tag `KEY=VALUE` (`--tag`), with IAM/S3/EC2's common limits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

impl FromStr for Tag {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        let Some((key, val)) = value.split_once('=') else {
            return Err(format!("tag '{value}' must be KEY=VALUE"));
        };
        if key.is_empty() || key.chars().count() > 128 {
            return Err(format!("tag key '{key}' must be 1 to 128 characters"));
        }
        if val.chars().count() > 256 {
            return Err(format!("tag value for '{key}' must be at most 256 characters"));
        }
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err(format!("tag key '{key}' uses the prefix 'aws:', which AWS reserves"));
        }
        let allowed = |c: char| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c);
        if let Some(bad) = key.chars().chain(val.chars()).find(|c| !allowed(*c)) {
            return Err(format!("tag '{value}' contains '{bad}': use letters, digits, spaces and _ . : / = + - @"));
        }
        Ok(Tag { key: key.to_owned(), value: val.to_owned() })
    }
}

/// A 12-digit AWS account id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct AccountId(String);

impl AccountId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for AccountId {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        if value.len() == 12 && value.chars().all(|c| c.is_ascii_digit()) {
            Ok(AccountId(value.to_owned()))
        } else {
            Err(format!("'{value}' is not an AWS account id: expected exactly 12 digits"))
        }
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An AWS partition: a separate copy of AWS with its own ARNs (`arn:PARTITION:...`), endpoints and
/// regions. One table, [`PARTITIONS`], holds them all; names, ARNs and the template's per-partition
/// branches are derived from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "&'static str")]
pub struct Partition(&'static PartitionInfo);

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PartitionInfo {
    /// The partition id as it appears in ARNs.
    pub name: &'static str,
    /// The region prefix (first dash-separated words) every region of the partition starts with.
    pub region_prefix: &'static str,
    /// Condition name used for the partition's branch in templates/cross-account-role.yaml.
    pub template_condition: &'static str,
}

/// AWS's partitions and their region prefixes, from the SDKs' endpoint rules (`partitions.json`
/// of aws-sdk-js-v3 `packages/util-endpoints/src/lib/aws/partitions.json`, regionRegex per
/// partition):
/// aws `^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$`, aws-cn `^cn-\w+-\d+$`, aws-us-gov `^us-gov-\w+-\d+$`,
/// aws-iso `^us-iso-\w+-\d+$`, aws-iso-b `^us-isob-\w+-\d+$`, aws-iso-e `^eu-isoe-\w+-\d+$`,
/// aws-iso-f `^us-isof-\w+-\d+$`, aws-eusc `^eusc-(de)-\w+-\d+$`. A region that matches none is in
/// `aws`, as in the SDKs (new commercial regions appear before any table lists their prefix).
pub const PARTITIONS: &[PartitionInfo] = &[
    PartitionInfo { name: "aws", region_prefix: "", template_condition: "InAws" },
    PartitionInfo { name: "aws-cn", region_prefix: "cn-", template_condition: "InAwsCn" },
    PartitionInfo { name: "aws-us-gov", region_prefix: "us-gov-", template_condition: "InAwsUsGov" },
    PartitionInfo { name: "aws-iso", region_prefix: "us-iso-", template_condition: "InAwsIso" },
    PartitionInfo { name: "aws-iso-b", region_prefix: "us-isob-", template_condition: "InAwsIsoB" },
    PartitionInfo { name: "aws-iso-e", region_prefix: "eu-isoe-", template_condition: "InAwsIsoE" },
    PartitionInfo { name: "aws-iso-f", region_prefix: "us-isof-", template_condition: "InAwsIsoF" },
    PartitionInfo { name: "aws-eusc", region_prefix: "eusc-", template_condition: "InAwsEusc" },
];

impl Partition {
    /// The standard partition, `aws`.
    pub const AWS: Partition = Partition(&PARTITIONS[0]);

    pub fn all() -> impl Iterator<Item = Partition> {
        PARTITIONS.iter().map(Partition)
    }

    pub fn name(self) -> &'static str {
        self.0.name
    }

    pub fn template_condition(self) -> &'static str {
        self.0.template_condition
    }

    /// The partition a region belongs to, from its name's prefix (`aws` when none matches).
    pub fn of_region(region: &str) -> Partition {
        Partition::all()
            .filter(|p| !p.0.region_prefix.is_empty() && region.starts_with(p.0.region_prefix))
            // The longest prefix wins, should one ever extend another.
            .max_by_key(|p| p.0.region_prefix.len())
            .unwrap_or(Partition::AWS)
    }

    /// The partition of an ARN (`arn:PARTITION:...`); `None` when it is not an ARN of a known one.
    pub fn of_arn(arn: &str) -> Option<Partition> {
        let rest = arn.strip_prefix("arn:")?;
        rest.split(':').next()?.parse().ok()
    }
}

impl FromStr for Partition {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        Partition::all().find(|p| p.name() == name).ok_or_else(|| {
            let known: Vec<&str> = Partition::all().map(Partition::name).collect();
            format!("'{name}' is not an AWS partition: use one of {}", known.join(", "))
        })
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<Partition> for &'static str {
    fn from(p: Partition) -> &'static str {
        p.name()
    }
}

/// Whether `name` is an AWS partition of [`PARTITIONS`]. Partitions go into ARNs: nothing else passes.
pub fn is_partition(name: &str) -> bool {
    name.parse::<Partition>().is_ok()
}

/// The AWS partition of an ARN (`arn:PARTITION:...`), `aws` when the ARN is not one.
pub fn partition_of(arn: &str) -> &'static str {
    Partition::of_arn(arn).unwrap_or(Partition::AWS).name()
}

/// The partition a region belongs to, from its name.
pub fn partition_of_region(region: &str) -> &'static str {
    Partition::of_region(region).name()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_bucket_names() {
        for name in ["abc", "flow-logs-123456789012", "a.b.c", "0aa", &"a".repeat(63), "logs.example.com"] {
            assert!(name.parse::<BucketName>().is_ok(), "{name} should be valid");
        }
    }

    #[test]
    fn invalid_bucket_names_have_reasons() {
        let cases = [
            ("ab", "3 to 63"),
            (&"a".repeat(64) as &str, "3 to 63"),
            ("Bad_Name", "contains 'B'"),
            ("under_score", "contains '_'"),
            ("-start", "begin and end"),
            ("end-", "begin and end"),
            ("a..b", "adjacent dots"),
            ("192.168.5.4", "IP address"),
            ("xn--bucket", "reserved prefix"),
            ("sthree-bucket", "reserved prefix"),
            ("amzn-s3-demo-bucket", "reserved prefix"),
            ("bucket-s3alias", "reserved suffix"),
            ("bucket--ol-s3", "reserved suffix"),
            ("bucket--x-s3", "reserved suffix"),
            ("bucket.mrap", "reserved suffix"),
            ("a.-b", "dot next to a hyphen"),
            ("café-logs", "contains 'é'"),
        ];
        for (name, reason) in cases {
            let err = name.parse::<BucketName>().expect_err(name);
            assert!(err.contains(reason), "{name}: {err}");
            assert!(!err.contains('\n'));
        }
    }

    #[test]
    fn bucket_or_arn() {
        assert_eq!(parse_bucket_or_arn("arn:aws:s3:::my-bucket").unwrap().as_str(), "my-bucket");
        assert_eq!(parse_bucket_or_arn("my-bucket").unwrap().as_str(), "my-bucket");
        assert!(parse_bucket_or_arn("arn:aws:s3:::my-bucket/*").is_err());
        assert!(parse_bucket_or_arn("arn:aws:iam::123456789012:role/x").is_err());
        assert!(parse_bucket_or_arn("arn:aws:s3:::").is_err());
        for partition in ["aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-eusc"] {
            assert_eq!(parse_bucket_or_arn(&format!("arn:{partition}:s3:::my-bucket")).unwrap().as_str(), "my-bucket", "{partition}");
        }
        for partition in ["", "AWS", "aws-", "aws--cn", "azure", "aws-c n", "aws-cn/x"] {
            assert!(parse_bucket_or_arn(&format!("arn:{partition}:s3:::my-bucket")).is_err(), "{partition}");
        }
    }

    #[test]
    fn regions() {
        for ok in ["us-east-1", "eu-west-2", "us-gov-west-1", "cn-north-1", "ap-southeast-5", "eu-isoe-west-1"] {
            assert!(ok.parse::<RegionName>().is_ok(), "{ok}");
        }
        for bad in ["", "us", "useast1", "US-EAST-1", "us-east", "us-east-1a", "us--1", "mars-north-123", "europe-west-1"] {
            assert!(bad.parse::<RegionName>().is_err(), "{bad}");
        }
    }

    #[test]
    fn prefixes() {
        assert_eq!("/flow/logs/".parse::<LogPrefix>().unwrap().as_str(), "flow/logs");
        assert!("a//b".parse::<LogPrefix>().is_err());
        assert!("x/AWSLogs".parse::<LogPrefix>().is_err());
        assert!("a b".parse::<LogPrefix>().is_err());
        assert!("/".parse::<LogPrefix>().is_err());
        assert!("quote\"".parse::<LogPrefix>().is_err());
    }

    #[test]
    fn tags() {
        let tag: Tag = "team=net sec".parse().unwrap();
        assert_eq!((tag.key.as_str(), tag.value.as_str()), ("team", "net sec"));
        assert_eq!("k=".parse::<Tag>().unwrap().value, "");
        assert!("novalue".parse::<Tag>().is_err());
        assert!("=v".parse::<Tag>().is_err());
        assert!("aws:x=1".parse::<Tag>().is_err());
    }

    #[test]
    fn account_ids() {
        assert!("123456789012".parse::<AccountId>().is_ok());
        for bad in ["12345678901", "1234567890123", "12345678901a", ""] {
            assert!(bad.parse::<AccountId>().is_err());
        }
    }

    /// AWS's partitions and their regions as the SDKs' endpoint rules list them (regionRegex per
    /// partition in partitions.json, e.g. aws-sdk-js-v3 packages/util-endpoints/src/lib/aws/):
    /// each region parses as a RegionName and lands in its partition, the `partition` field of
    /// every ARN made for it (AWS General Reference, "Amazon Resource Names (ARNs)",
    /// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html: "A partition is a
    /// group of AWS Regions. Each AWS account is scoped to one partition"). Before, eusc-de-east-1
    /// was rejected and us-isof-*, eu-isoe-* were put in `aws`.
    #[test]
    fn every_region_lands_in_its_partition() {
        let cases = [
            ("us-east-1", "aws"),
            ("eu-west-1", "aws"),
            ("il-central-1", "aws"),
            ("mx-central-1", "aws"),
            ("ap-southeast-7", "aws"),
            ("cn-north-1", "aws-cn"),
            ("cn-northwest-1", "aws-cn"),
            ("us-gov-west-1", "aws-us-gov"),
            ("us-gov-east-1", "aws-us-gov"),
            ("us-iso-east-1", "aws-iso"),
            ("us-iso-west-1", "aws-iso"),
            ("us-isob-east-1", "aws-iso-b"),
            ("us-isob-west-1", "aws-iso-b"),
            ("eu-isoe-west-1", "aws-iso-e"),
            ("us-isof-south-1", "aws-iso-f"),
            ("us-isof-east-1", "aws-iso-f"),
            ("eusc-de-east-1", "aws-eusc"),
        ];
        for (region, partition) in cases {
            let parsed: RegionName = region.parse().unwrap_or_else(|e| panic!("{region}: {e}"));
            assert_eq!(parsed.partition().name(), partition, "{region}");
            assert_eq!(partition_of_region(region), partition, "{region}");
        }
    }

    /// CloudFormation's Fn::Join takes only a literal delimiter (CloudFormation User Guide,
    /// "Fn::Join": "For the Fn::Join delimiter, you can't use any functions"), so the template
    /// spells out one branch per partition: every partition of the table needs its condition,
    /// its place in KnownPartition and its two literal ARN expansions, or storage access is
    /// silently not granted there.
    #[test]
    fn template_has_a_branch_for_every_partition() {
        let template = include_str!("../../../templates/cross-account-role.yaml");
        let known = template.lines().find(|l| l.trim_start().starts_with("KnownPartition:")).unwrap_or_default();
        for p in Partition::all() {
            let condition = p.template_condition();
            assert!(template.contains(&format!("  {condition}: !Equals [!Ref AWS::Partition, {p}]\n")), "{p}: no condition {condition}");
            assert!(known.contains(&format!("{{Condition: {condition}}}")), "{p}: not in KnownPartition");
            for suffix in ["/*", ""] {
                let branch =
                    format!("!Sub [\"arn:{p}:s3:::${{Names}}{suffix}\", {{Names: !Join [\"{suffix},arn:{p}:s3:::\", !Ref StorageBucketNames]}}]");
                assert!(template.contains(&branch), "{p}: no branch {branch}");
            }
            if p != Partition::AWS {
                assert!(template.contains(&format!("- {condition}\n")), "{p}: branch not selected by {condition}");
            }
        }
    }

    #[test]
    fn partitions_by_name_and_arn() {
        assert_eq!(Partition::all().count(), 8);
        for p in Partition::all() {
            assert_eq!(p.name().parse::<Partition>(), Ok(p));
            assert_eq!(Partition::of_arn(&format!("arn:{p}:s3:::b")), Some(p));
            assert!(is_partition(p.name()));
        }
        assert_eq!(partition_of("arn:aws-cn:iam::1:user/x"), "aws-cn");
        assert_eq!(partition_of("arn:aws-eusc:iam::1:user/x"), "aws-eusc");
        assert_eq!(partition_of("garbage"), "aws");
        for bad in ["", "AWS", "aws-", "aws-foo", "azure"] {
            let err = bad.parse::<Partition>().unwrap_err();
            assert!(err.contains("aws-iso-f") && !err.contains('\n'), "{err}");
        }
    }
}

/// A VPC id: `vpc-` and 8 or 17 lowercase hex digits.
pub fn parse_vpc_id(value: &str) -> Result<String, String> {
    let hex = value.strip_prefix("vpc-").unwrap_or("");
    if (hex.len() == 8 || hex.len() == 17) && hex.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)) {
        Ok(value.to_owned())
    } else {
        Err(format!("'{value}' is not a VPC id: expected vpc- and 8 or 17 hex digits, e.g. vpc-0a1b2c3d4e5f67890"))
    }
}

#[cfg(test)]
mod vpc_tests {
    #[test]
    fn vpc_ids() {
        assert!(super::parse_vpc_id("vpc-12345678").is_ok());
        assert!(super::parse_vpc_id("vpc-0a1b2c3d4e5f67890").is_ok());
        for bad in ["vpc-1234567", "vpc-ABCDEF12", "subnet-12345678", "vpc-", "12345678", "vpc-1234567g"] {
            assert!(super::parse_vpc_id(bad).is_err(), "{bad}");
        }
    }
}
