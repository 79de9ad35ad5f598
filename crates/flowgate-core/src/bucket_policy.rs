//! The bucket policy AWS documents for flow-log delivery to S3 (VPC User Guide, "flow-logs-s3"),
//! rendered from `policies/flowlog-delivery-bucket-policy.json` and merged into whatever policy the
//! bucket already has, statement by statement.

use serde_json::{Map, Value};

use super::names::{BucketName, LogPrefix};
use super::policy_doc::{self, PolicyDocError};

pub const DELIVERY_POLICY_TEMPLATE: &str = include_str!("../../../policies/flowlog-delivery-bucket-policy.json");
/// The template's two Sids (a test keeps them equal to the file's).
pub const WRITE_SID: &str = "FlowgateLogDeliveryWrite";
pub const ACL_SID: &str = "FlowgateLogDeliveryAclCheck";

/// Where and for whom flow logs are delivered; determines the policy's resources and conditions.
#[derive(Debug, Clone)]
pub struct DeliveryTarget<'a> {
    pub partition: &'a str,
    pub bucket: &'a BucketName,
    pub prefix: Option<&'a LogPrefix>,
    pub account: &'a str,
    pub hive_partitions: bool,
}

impl DeliveryTarget<'_> {
    /// The key path flow logs are written under: `[prefix/]AWSLogs/ACCOUNT/` (or the
    /// hive-compatible `AWSLogs/aws-account-id=ACCOUNT/`). Granting this whole path once keeps the
    /// policy from growing with each flow log (bucket policies are limited to 20 KB).
    pub fn log_path(&self) -> String {
        let prefix = self.prefix.map(|p| format!("{p}/")).unwrap_or_default();
        if self.hive_partitions { format!("{prefix}AWSLogs/aws-account-id={}/", self.account) } else { format!("{prefix}AWSLogs/{}/", self.account) }
    }
}

/// The statements flowgate wants in the bucket policy.
pub fn delivery_statements(target: &DeliveryTarget<'_>) -> Vec<Value> {
    // Every substituted value is validated (partition from an ARN, bucket and prefix by their
    // parsers, account digits), so none can break out of its JSON string.
    let rendered = DELIVERY_POLICY_TEMPLATE
        .replace("${Partition}", target.partition)
        .replace("${BucketName}", target.bucket.as_str())
        .replace("${LogPath}", &target.log_path())
        .replace("${AccountId}", target.account);
    policy_doc::parse_document(&rendered).and_then(|doc| policy_doc::statements(&doc)).unwrap_or_default()
}

/// Whether `statement` is one of flowgate's single-account delivery statements for `account`:
/// one of the template's Sids, with `aws:SourceAccount` naming that account and no other.
pub fn is_account_statement(statement: &Value, account: &str) -> bool {
    if !matches!(policy_doc::sid(statement), Some(WRITE_SID | ACL_SID)) {
        return false;
    }
    let Some(Value::Object(keys)) = statement.get("Condition").and_then(|c| c.get("StringEquals")) else { return false };
    let named: Vec<&str> = keys
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("aws:SourceAccount"))
        .flat_map(|(_, v)| match v {
            Value::String(s) => vec![s.as_str()],
            Value::Array(items) => items.iter().map(|i| i.as_str().unwrap_or_default()).collect(),
            _ => vec![""],
        })
        .collect();
    !named.is_empty() && named.iter().all(|a| *a == account)
}

/// The result of merging the delivery statements into an existing policy.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PolicyMerge {
    /// The full document to put; `None` when nothing needs to change.
    pub document: Option<String>,
    /// Sids of statements that were absent and are added.
    pub added: Vec<String>,
    /// Sids of flowgate's own statements whose conditions or actions were out of date and are
    /// rewritten in place (their resources are kept, see `kept_resources`).
    pub updated: Vec<String>,
    /// How many statements of the existing policy are kept as they were.
    pub kept: usize,
    /// Resources added to one of flowgate's statements that granted other resources (a new
    /// delivery path next to the old ones).
    pub added_resources: Vec<String>,
    /// Resources of flowgate's statements that the desired statements do not name and that are
    /// kept (an earlier `--prefix`).
    pub kept_resources: Vec<String>,
    /// Resources of flowgate's statements that are removed because `retire` allowed it.
    pub removed_resources: Vec<String>,
}

/// The `Resource` of a statement as a list (a single string, an array, or none).
pub fn resources(statement: &Value) -> Vec<String> {
    match statement.get("Resource") {
        Some(Value::String(r)) => vec![r.clone()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

fn with_resources(statement: &Value, resources: &[String]) -> Value {
    let mut statement = statement.clone();
    if let Value::Object(map) = &mut statement {
        let value = match resources {
            [one] => Value::String(one.clone()),
            many => Value::Array(many.iter().cloned().map(Value::String).collect()),
        };
        map.insert("Resource".into(), value);
    }
    statement
}

fn without_resource(statement: &Value) -> Value {
    let mut canon = policy_doc::canonical_statement(statement);
    if let Value::Object(map) = &mut canon {
        map.remove("Resource");
    }
    canon
}

/// Whether `statement` grants what `wanted` grants: the same statement (any Sid) whose resources
/// include all of `wanted`'s (a delivery statement that also grants an earlier path covers the
/// new one).
pub fn covers(statement: &Value, wanted: &Value) -> bool {
    if without_resource(statement) != without_resource(wanted) {
        return false;
    }
    let have = resources(statement);
    resources(wanted).iter().all(|r| have.contains(r))
}

/// flowgate's statement `slot` brought up to `wanted`: `wanted`'s actions, principal and
/// conditions, its resources, and every resource `slot` granted besides them unless `retire`
/// allows removing it. Returns the statement and the (added, kept, removed) resources.
fn merge_statement(slot: &Value, wanted: &Value, retire: &dyn Fn(&str) -> bool) -> (Value, Vec<String>, Vec<String>, Vec<String>) {
    let wanted_resources = resources(wanted);
    let (mut merged, mut added, mut kept, mut removed) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for resource in resources(slot) {
        if wanted_resources.contains(&resource) {
            merged.push(resource);
        } else if retire(&resource) {
            removed.push(resource);
        } else {
            kept.push(resource.clone());
            merged.push(resource);
        }
    }
    for resource in wanted_resources {
        if !merged.contains(&resource) {
            merged.push(resource.clone());
            added.push(resource);
        }
    }
    (with_resources(wanted, &merged), added, kept, removed)
}

/// Adds each desired statement unless one that covers it (any Sid) is already there. A statement
/// carrying one of flowgate's Sids is brought up to date in place, and keeps every resource it
/// granted besides the desired ones (flow logs may still deliver to an earlier prefix) unless
/// `retire(resource)` says it may go. Every other statement, and every other top-level key, is
/// kept as it was.
pub fn merge_delivery_statements(existing: Option<&str>, desired: &[Value], retire: &dyn Fn(&str) -> bool) -> Result<PolicyMerge, PolicyDocError> {
    let mut doc = match existing {
        Some(text) if !text.trim().is_empty() => policy_doc::parse_document(text)?,
        _ => {
            let mut doc = Map::new();
            doc.insert("Version".into(), Value::String("2012-10-17".into()));
            doc
        }
    };
    let mut statements = policy_doc::statements(&doc)?;
    let kept_before = statements.len();
    let mut merge = PolicyMerge::default();
    let mut rewritten = 0;
    for wanted in desired {
        let wanted_sid = policy_doc::sid(wanted).unwrap_or_default().to_owned();
        let slot = statements.iter().position(|s| policy_doc::sid(s) == Some(wanted_sid.as_str()));
        let covered_elsewhere = statements.iter().enumerate().any(|(i, s)| Some(i) != slot && covers(s, wanted));
        match slot {
            Some(i) => {
                let (statement, added, kept, removed) = merge_statement(&statements[i], wanted, retire);
                merge.kept_resources.extend(kept);
                if policy_doc::canonical_statement(&statement) == policy_doc::canonical_statement(&statements[i]) {
                    continue;
                }
                if covered_elsewhere && removed.is_empty() {
                    // Another statement already grants it: leave flowgate's as it is.
                    continue;
                }
                if without_resource(&statement) != without_resource(&statements[i]) {
                    merge.updated.push(wanted_sid);
                }
                merge.added_resources.extend(added);
                merge.removed_resources.extend(removed);
                statements[i] = statement;
                rewritten += 1;
            }
            None if covered_elsewhere => {}
            None => {
                statements.push(wanted.clone());
                merge.added.push(wanted_sid);
            }
        }
    }
    merge.kept = kept_before - rewritten;
    if merge.added.is_empty() && rewritten == 0 {
        return Ok(merge);
    }
    doc.insert("Statement".into(), Value::Array(statements));
    merge.document = Some(serde_json::to_string(&Value::Object(doc)).map_err(|e| PolicyDocError::NotJson(e.to_string()))?);
    Ok(merge)
}

/// Sids of the delivery statements that the existing policy lacks (for `bucket check`).
pub fn missing_delivery_statements(existing: Option<&str>, desired: &[Value]) -> Result<Vec<String>, PolicyDocError> {
    let statements = match existing {
        Some(text) if !text.trim().is_empty() => policy_doc::statements(&policy_doc::parse_document(text)?)?,
        _ => Vec::new(),
    };
    Ok(desired
        .iter()
        .filter(|wanted| !statements.iter().any(|s| covers(s, wanted)))
        .map(|wanted| policy_doc::sid(wanted).unwrap_or_default().to_owned())
        .collect())
}

/// The key path a delivery resource `arn:PARTITION:s3:::BUCKET/PATH*` grants (`PATH`), if it is
/// an object resource of `bucket`.
pub fn resource_path(resource: &str, partition: &str, bucket: &BucketName) -> Option<String> {
    let path = resource.strip_prefix(&format!("arn:{partition}:s3:::{bucket}/"))?;
    Some(path.strip_suffix('*').unwrap_or(path).to_owned())
}

/// Every key path the policy lets the log delivery service write to in `bucket`, whatever the
/// statement's Sid (for `bucket check`): the object resources of Allow statements whose principal
/// is `delivery.logs.amazonaws.com` and whose actions include `s3:PutObject`.
pub fn granted_delivery_paths(existing: Option<&str>, partition: &str, bucket: &BucketName) -> Result<Vec<String>, PolicyDocError> {
    let statements = match existing {
        Some(text) if !text.trim().is_empty() => policy_doc::statements(&policy_doc::parse_document(text)?)?,
        _ => Vec::new(),
    };
    let mut paths = Vec::new();
    for statement in &statements {
        let canon = policy_doc::canonical_statement(statement);
        let has = |key: &str, value: &str| canon.get(key).and_then(Value::as_array).is_some_and(|items| items.iter().any(|v| v == value));
        let to_delivery = canon
            .get("Principal")
            .and_then(|p| p.get("Service"))
            .and_then(Value::as_array)
            .is_some_and(|services| services.iter().any(|s| s == "delivery.logs.amazonaws.com"));
        if has("Effect", "Allow") && to_delivery && has("Action", "s3:putobject") {
            for resource in resources(statement) {
                if let Some(path) = resource_path(&resource, partition, bucket) {
                    if !paths.contains(&path) {
                        paths.push(path);
                    }
                }
            }
        }
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn target<'a>(bucket: &'a BucketName, prefix: Option<&'a LogPrefix>) -> DeliveryTarget<'a> {
        DeliveryTarget { partition: "aws", bucket, prefix, account: "123456789012", hive_partitions: false }
    }

    #[test]
    fn renders_documented_statements() {
        let bucket: BucketName = "flow-bucket".parse().unwrap();
        let statements = delivery_statements(&target(&bucket, None));
        assert_eq!(statements.len(), 2);
        assert_eq!(statements[0]["Resource"], "arn:aws:s3:::flow-bucket/AWSLogs/123456789012/*");
        assert_eq!(statements[0]["Condition"]["StringEquals"]["aws:SourceAccount"], "123456789012");
        assert_eq!(statements[0]["Condition"]["ArnLike"]["aws:SourceArn"], "arn:aws:logs:*:123456789012:*");
        assert_eq!(statements[1]["Resource"], "arn:aws:s3:::flow-bucket");
        assert!(!DELIVERY_POLICY_TEMPLATE.contains("\"*\""), "no wildcard action or resource");
    }

    #[test]
    fn the_sids_are_the_template_s_and_a_statement_is_one_account_s() {
        let bucket: BucketName = "flow-bucket".parse().unwrap();
        let statements = delivery_statements(&target(&bucket, None));
        assert_eq!(statements.iter().map(|s| policy_doc::sid(s).unwrap()).collect::<Vec<_>>(), [WRITE_SID, ACL_SID]);
        assert!(statements.iter().all(|s| is_account_statement(s, "123456789012")));
        assert!(!is_account_statement(&statements[0], "210987654321"));
        let mut renamed = statements[0].clone();
        renamed["Sid"] = json!("AWSLogDeliveryWrite");
        assert!(!is_account_statement(&renamed, "123456789012"), "not flowgate's Sid");
        let mut two = statements[1].clone();
        two["Condition"]["StringEquals"]["aws:SourceAccount"] = json!(["123456789012", "210987654321"]);
        assert!(!is_account_statement(&two, "123456789012"), "names another account too");
        let mut bare = statements[1].clone();
        bare["Condition"] = json!({});
        assert!(!is_account_statement(&bare, "123456789012"));
    }

    #[test]
    fn prefix_and_hive_paths() {
        let bucket: BucketName = "b-1".parse().unwrap();
        let prefix: LogPrefix = "team/net".parse().unwrap();
        let with_prefix = target(&bucket, Some(&prefix));
        assert_eq!(with_prefix.log_path(), "team/net/AWSLogs/123456789012/");
        let hive = DeliveryTarget { hive_partitions: true, ..with_prefix };
        assert_eq!(delivery_statements(&hive)[0]["Resource"], "arn:aws:s3:::b-1/team/net/AWSLogs/aws-account-id=123456789012/*");
    }

    #[test]
    fn merge_keeps_every_existing_statement_and_key() {
        let bucket: BucketName = "b-1".parse().unwrap();
        let desired = delivery_statements(&target(&bucket, None));
        let existing = json!({
            "Version": "2012-10-17",
            "Id": "keep-me",
            "Statement": [{"Sid": "Other", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b-1/shared/*"}]
        })
        .to_string();
        let merge = merge_delivery_statements(Some(&existing), &desired, &|_| false).unwrap();
        assert_eq!(merge.added, ["FlowgateLogDeliveryWrite", "FlowgateLogDeliveryAclCheck"]);
        assert_eq!(merge.kept, 1);
        let doc: Value = serde_json::from_str(merge.document.as_deref().unwrap()).unwrap();
        assert_eq!(doc["Id"], "keep-me");
        assert_eq!(doc["Statement"][0]["Sid"], "Other");
        assert_eq!(doc["Statement"].as_array().unwrap().len(), 3);

        // Merging again changes nothing.
        let again = merge_delivery_statements(merge.document.as_deref(), &desired, &|_| false).unwrap();
        assert_eq!(again.document, None);
        assert!(missing_delivery_statements(merge.document.as_deref(), &desired).unwrap().is_empty());
    }

    #[test]
    fn equivalent_statement_under_another_sid_counts_as_present() {
        let bucket: BucketName = "b-1".parse().unwrap();
        let desired = delivery_statements(&target(&bucket, None));
        let mut theirs = desired.clone();
        theirs[0]["Sid"] = json!("AWSLogDeliveryWrite");
        theirs[1]["Sid"] = json!("AWSLogDeliveryAclCheck");
        let existing = json!({"Version": "2012-10-17", "Statement": theirs}).to_string();
        assert_eq!(merge_delivery_statements(Some(&existing), &desired, &|_| false).unwrap().document, None);
    }

    #[test]
    fn a_new_prefix_adds_its_path_and_keeps_the_old_one() {
        let bucket: BucketName = "b-1".parse().unwrap();
        let old_prefix: LogPrefix = "old".parse().unwrap();
        let old = delivery_statements(&target(&bucket, Some(&old_prefix)));
        let desired = delivery_statements(&target(&bucket, None));
        let existing = json!({"Version": "2012-10-17", "Statement": [json!({"Sid": "First"}), old[0].clone(), old[1].clone()]}).to_string();
        let merge = merge_delivery_statements(Some(&existing), &desired, &|_| false).unwrap();
        assert!(merge.updated.is_empty() && merge.added.is_empty(), "{merge:?}");
        assert_eq!(merge.added_resources, ["arn:aws:s3:::b-1/AWSLogs/123456789012/*"]);
        assert_eq!(merge.kept_resources, ["arn:aws:s3:::b-1/old/AWSLogs/123456789012/*"]);
        let doc: Value = serde_json::from_str(merge.document.as_deref().unwrap()).unwrap();
        assert_eq!(doc["Statement"][0]["Sid"], "First");
        assert_eq!(
            doc["Statement"][1]["Resource"],
            json!(["arn:aws:s3:::b-1/old/AWSLogs/123456789012/*", "arn:aws:s3:::b-1/AWSLogs/123456789012/*"])
        );
        assert!(missing_delivery_statements(merge.document.as_deref(), &desired).unwrap().is_empty());
        let paths = granted_delivery_paths(merge.document.as_deref(), "aws", &bucket).unwrap();
        assert_eq!(paths, ["old/AWSLogs/123456789012/", "AWSLogs/123456789012/"]);

        // Converged: nothing more to do, the old path still reported as kept.
        let again = merge_delivery_statements(merge.document.as_deref(), &desired, &|_| false).unwrap();
        assert_eq!(again.document, None);
        assert_eq!(again.kept_resources, merge.kept_resources);

        // Retiring it (the flag, and no flow log delivers there) removes it, and only it.
        let retired = merge_delivery_statements(merge.document.as_deref(), &desired, &|r| r.contains("/old/")).unwrap();
        assert_eq!(retired.removed_resources, ["arn:aws:s3:::b-1/old/AWSLogs/123456789012/*"]);
        let doc: Value = serde_json::from_str(retired.document.as_deref().unwrap()).unwrap();
        assert_eq!(doc["Statement"][1], desired[0]);
    }

    #[test]
    fn stale_conditions_are_updated_in_place_keeping_the_resources() {
        let bucket: BucketName = "b-1".parse().unwrap();
        let desired = delivery_statements(&target(&bucket, None));
        let mut stale = desired[0].clone();
        stale["Condition"] = json!({"StringEquals": {"aws:SourceAccount": "123456789012"}});
        let existing = json!({"Version": "2012-10-17", "Statement": [stale, desired[1].clone()]}).to_string();
        let merge = merge_delivery_statements(Some(&existing), &desired, &|_| false).unwrap();
        assert_eq!(merge.updated, ["FlowgateLogDeliveryWrite"]);
        let doc: Value = serde_json::from_str(merge.document.as_deref().unwrap()).unwrap();
        assert_eq!(doc["Statement"][0], desired[0]);
    }

    #[test]
    fn single_object_statement_is_kept() {
        let bucket: BucketName = "b-1".parse().unwrap();
        let desired = delivery_statements(&target(&bucket, None));
        let existing = r#"{"Version":"2012-10-17","Statement":{"Sid":"Solo","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b-1/pub/*"}}"#;
        let merge = merge_delivery_statements(Some(existing), &desired, &|_| false).unwrap();
        let doc: Value = serde_json::from_str(merge.document.as_deref().unwrap()).unwrap();
        assert_eq!(doc["Statement"][0]["Sid"], "Solo");
        assert_eq!(doc["Statement"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn garbage_policy_is_an_error_not_a_replacement() {
        assert!(merge_delivery_statements(Some("{not json"), &[], &|_| false).is_err());
    }

    mod properties {
        //! The delivery-policy editor against generated policies: nothing of the user's is lost,
        //! and adding a path never removes one unless `retire` (the flag, and no flow log
        //! delivering there) allows it.

        use super::*;
        use proptest::collection::vec;
        use proptest::prelude::*;

        const PREFIXES: [Option<&str>; 4] = [None, Some("net"), Some("team/net"), Some("old")];

        fn path_resource(prefix: Option<&str>) -> String {
            let root = prefix.map(|p| format!("{p}/")).unwrap_or_default();
            format!("arn:aws:s3:::b-1/{root}AWSLogs/123456789012/*")
        }

        /// Statements that are not flowgate's: other principals, actions and resources, some of
        /// them delivery statements of their own under another Sid.
        fn other_statement() -> impl Strategy<Value = Value> {
            let delivery = (0..PREFIXES.len(), 0..3u8).prop_map(|(p, n)| {
                let mut statement = delivery_statements(&DeliveryTarget {
                    partition: "aws",
                    bucket: &"b-1".parse().unwrap(),
                    prefix: PREFIXES[p].map(|p| p.parse().unwrap()).as_ref(),
                    account: "123456789012",
                    hive_partitions: false,
                })[0]
                    .clone();
                statement["Sid"] = json!(format!("AWSLogDeliveryWrite{n}"));
                statement
            });
            let other = (
                prop::sample::select(vec!["Reports", "Backup", "Deny", ""]),
                prop::sample::select(vec!["s3:GetObject", "s3:ListBucket", "s3:PutObject", "s3:*"]),
                prop::sample::select(vec!["arn:aws:s3:::b-1/reports/*", "arn:aws:s3:::b-1", "arn:aws:s3:::b-1/AWSLogs/*", "*"]),
                any::<bool>(),
            )
                .prop_map(|(sid, action, resource, deny)| {
                    let mut statement = json!({
                        "Effect": if deny { "Deny" } else { "Allow" },
                        "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                        "Action": action,
                        "Resource": resource,
                    });
                    if !sid.is_empty() {
                        statement["Sid"] = json!(sid);
                    }
                    statement
                });
            prop_oneof![delivery, other]
        }

        /// A policy: other statements, maybe flowgate's write statement granting some earlier
        /// paths, maybe its ACL statement, maybe an `Id`.
        fn policy() -> impl Strategy<Value = Value> {
            (
                vec(other_statement(), 0..4),
                prop::option::of(prop::sample::subsequence(PREFIXES.to_vec(), 1..=3)),
                any::<bool>(),
                any::<bool>(),
                0..5usize,
            )
                .prop_map(|(others, flowgate_paths, acl, id, at)| {
                    let desired = delivery_statements(&DeliveryTarget {
                        partition: "aws",
                        bucket: &"b-1".parse().unwrap(),
                        prefix: None,
                        account: "123456789012",
                        hive_partitions: false,
                    });
                    let mut statements = others;
                    if let Some(paths) = flowgate_paths {
                        let resources: Vec<String> = paths.into_iter().map(path_resource).collect();
                        statements.insert(at.min(statements.len()), with_resources(&desired[0], &resources));
                    }
                    if acl {
                        statements.push(desired[1].clone());
                    }
                    let mut doc = json!({"Version": "2012-10-17", "Statement": statements});
                    if id {
                        doc["Id"] = json!("team-policy");
                    }
                    doc
                })
        }

        fn flowgate_resources(doc: &Value) -> Vec<String> {
            doc["Statement"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|s| policy_doc::sid(s).is_some_and(|sid| sid.starts_with("Flowgate")))
                .flat_map(resources)
                .collect()
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

            /// Every statement that is not flowgate's is kept byte for byte and in order, every
            /// other top-level key is kept, every resource flowgate's statements granted is kept
            /// unless `retire` allowed removing it (and only those are removed), the desired
            /// statements are then present, and a second merge changes nothing.
            #[test]
            fn merging_loses_nothing(doc in policy(), wanted in 0..PREFIXES.len(), retiring in vec(any::<bool>(), PREFIXES.len())) {
                let bucket: BucketName = "b-1".parse().unwrap();
                let prefix: Option<LogPrefix> = PREFIXES[wanted].map(|p| p.parse().unwrap());
                let desired = delivery_statements(&target(&bucket, prefix.as_ref()));
                let retired: Vec<String> = PREFIXES.iter().zip(&retiring).filter(|(_, r)| **r).map(|(p, _)| path_resource(*p)).collect();
                let retire = |r: &str| retired.iter().any(|x| x == r);
                let text = doc.to_string();
                let merge = merge_delivery_statements(Some(&text), &desired, &retire).unwrap();
                let after: Value = match &merge.document {
                    Some(d) => serde_json::from_str(d).unwrap(),
                    None => doc.clone(),
                };

                for (key, value) in doc.as_object().unwrap() {
                    if key != "Statement" {
                        prop_assert_eq!(&after[key], value);
                    }
                }
                let theirs = |d: &Value| -> Vec<Value> {
                    d["Statement"].as_array().unwrap().iter().filter(|s| !policy_doc::sid(s).is_some_and(|sid| sid.starts_with("Flowgate"))).cloned().collect()
                };
                let before_theirs = theirs(&doc);
                let after_theirs = theirs(&after);
                prop_assert_eq!(&after_theirs[..before_theirs.len()], &before_theirs[..]);

                let before_ours = flowgate_resources(&doc);
                let after_ours = flowgate_resources(&after);
                for resource in &before_ours {
                    prop_assert!(after_ours.contains(resource) || retire(resource), "{} lost", resource);
                }
                for resource in &merge.removed_resources {
                    prop_assert!(retire(resource) && before_ours.contains(resource));
                }
                if retired.is_empty() {
                    prop_assert!(merge.removed_resources.is_empty());
                }
                prop_assert!(missing_delivery_statements(Some(&after.to_string()), &desired).unwrap().is_empty());
                let again = merge_delivery_statements(Some(&after.to_string()), &desired, &retire).unwrap();
                prop_assert_eq!(again.document, None);
            }
        }
    }
}
