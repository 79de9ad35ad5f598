//! Validated names and ids. Everything a user types is parsed here, before any AWS call, so that a
//! malformed value exits 2 with a one-line reason and never reaches an API.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// An S3 bucket name that satisfies the general-purpose bucket naming rules
/// (S3 User Guide, "Bucket naming rules").
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
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
}

impl FromStr for RegionName {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        let parts: Vec<&str> = value.split('-').collect();
        let well_formed = parts.len() >= 3
            && parts[0].len() == 2
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

/// Whether `name` has the form of an AWS partition: `aws`, or `aws-` and lowercase words (aws-cn,
/// aws-us-gov, aws-iso, aws-iso-b, aws-eusc, ...). Partitions go into ARNs: nothing else passes.
pub fn is_partition(name: &str) -> bool {
    name == "aws"
        || name
            .strip_prefix("aws-")
            .is_some_and(|rest| rest.split('-').all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())))
}

/// The AWS partition of an ARN (`arn:PARTITION:...`), `aws` when the ARN is not one.
pub fn partition_of(arn: &str) -> &str {
    arn.split(':').nth(1).filter(|p| !p.is_empty()).unwrap_or("aws")
}

/// The partition a region belongs to, from its name.
pub fn partition_of_region(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else {
        "aws"
    }
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
        for bad in ["", "us", "useast1", "US-EAST-1", "us-east", "us-east-1a", "us--1", "mars-north-123"] {
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

    #[test]
    fn partitions() {
        assert_eq!(partition_of("arn:aws-cn:iam::1:user/x"), "aws-cn");
        assert_eq!(partition_of("garbage"), "aws");
        assert_eq!(partition_of_region("us-gov-east-1"), "aws-us-gov");
        assert_eq!(partition_of_region("eu-west-1"), "aws");
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
