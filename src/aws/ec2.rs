//! EC2: regions, VPCs and flow logs.

use std::collections::BTreeSet;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{
    DestinationFileFormat, DestinationOptionsRequest, Filter, FlowLogsResourceType, LogDestinationType, ResourceType, Tag, TagSpecification,
    TrafficType as SdkTrafficType,
};

use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::aws::{aws_error, error_code};
use crate::core::flowlog_plan::{DesiredFlowLog, DestinationOptions, ExistingFlowLog, FileFormat, RegionInfo, Vpc};
use crate::core::names::Tag as UserTag;
use crate::error::Result;

/// Every IAM action this adapter calls (kept in step with `policies/operator/`). Creating a flow
/// log to S3 also needs the CloudWatch Logs delivery actions, and tagging on create needs
/// ec2:CreateTags.
pub const ACTIONS: &[&str] = &[
    "ec2:DescribeRegions",
    "ec2:DescribeVpcs",
    "ec2:DescribeFlowLogs",
    // verify: whether the covered VPCs have network interfaces (no interface, no traffic).
    "ec2:DescribeNetworkInterfaces",
    "ec2:CreateFlowLogs",
    "ec2:CreateTags",
    "ec2:DeleteFlowLogs",
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
];

/// DescribeFlowLogs and DescribeVpcs accept at most 200 values per filter.
const FILTER_VALUES_LIMIT: usize = 200;

pub async fn describe_regions(ec2: &Client) -> Result<Vec<RegionInfo>> {
    let out =
        ec2.describe_regions().all_regions(true).send().await.map_err(|e| aws_error(e, "listing the account's regions", "ec2:DescribeRegions"))?;
    Ok(out
        .regions()
        .iter()
        .filter_map(|r| Some(RegionInfo { name: r.region_name()?.to_owned(), opt_in_status: r.opt_in_status().map(str::to_owned) }))
        .collect())
}

/// The region's VPCs (only `only` when it is not empty).
pub async fn list_vpcs(ec2: &Client, region: &str, only: &[String]) -> Result<Vec<Vpc>> {
    let mut vpcs = Vec::new();
    let chunks: Vec<&[String]> = if only.is_empty() { vec![&[]] } else { only.chunks(FILTER_VALUES_LIMIT).collect() };
    for chunk in chunks {
        let mut request = ec2.describe_vpcs();
        if !chunk.is_empty() {
            // A vpc-id filter (unlike VpcIds) does not fail on ids that live in other regions.
            request = request.filters(Filter::builder().name("vpc-id").set_values(Some(chunk.to_vec())).build());
        }
        let mut pages = request.into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error(e, format!("listing VPCs in {region}"), "ec2:DescribeVpcs"))?;
            for vpc in page.vpcs() {
                let Some(id) = vpc.vpc_id() else { continue };
                let name = vpc.tags().iter().find(|t| t.key() == Some("Name")).and_then(|t| t.value()).map(str::to_owned);
                vpcs.push(Vpc {
                    id: id.to_owned(),
                    is_default: vpc.is_default().unwrap_or(false),
                    name,
                    owner_id: vpc.owner_id().map(str::to_owned),
                });
            }
        }
    }
    Ok(vpcs)
}

/// The flow logs attached to the given VPCs (filtered server-side by resource id).
pub async fn list_flow_logs(ec2: &Client, region: &str, vpc_ids: &[String]) -> Result<Vec<ExistingFlowLog>> {
    let mut flow_logs = Vec::new();
    for chunk in vpc_ids.chunks(FILTER_VALUES_LIMIT) {
        let filter = Filter::builder().name("resource-id").set_values(Some(chunk.to_vec())).build();
        let mut pages = ec2.describe_flow_logs().filter(filter).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error(e, format!("listing flow logs in {region}"), "ec2:DescribeFlowLogs"))?;
            for f in page.flow_logs() {
                let (Some(id), Some(resource_id)) = (f.flow_log_id(), f.resource_id()) else { continue };
                let destination_type = f.log_destination_type().map(|t| t.as_str().to_owned()).unwrap_or_else(|| "cloud-watch-logs".to_owned());
                let destination = f.log_destination().or(f.log_group_name()).map(str::to_owned);
                let options = f.destination_options().map(|o| DestinationOptions {
                    file_format: match o.file_format() {
                        Some(DestinationFileFormat::Parquet) => FileFormat::Parquet,
                        _ => FileFormat::PlainText,
                    },
                    hive_partitions: o.hive_compatible_partitions().unwrap_or(false),
                    per_hour_partition: o.per_hour_partition().unwrap_or(false),
                });
                flow_logs.push(ExistingFlowLog {
                    id: id.to_owned(),
                    resource_id: resource_id.to_owned(),
                    destination_type,
                    destination,
                    log_format: f.log_format().map(str::to_owned),
                    traffic_type: f.traffic_type().map(|t| t.as_str().to_owned()),
                    status: f.flow_log_status().map(str::to_owned),
                    deliver_status: f.deliver_logs_status().map(str::to_owned),
                    deliver_error: f.deliver_logs_error_message().map(str::to_owned),
                    max_aggregation_interval: f.max_aggregation_interval(),
                    options,
                    tags: f.tags().iter().filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned()))).collect(),
                    created_at: f.creation_time().map(|t| t.secs()),
                });
            }
        }
    }
    Ok(flow_logs)
}

/// Which of `vpc_ids` have at least one network interface (DescribeNetworkInterfaces filtered by
/// vpc-id). A VPC without one has no traffic, and AWS delivers no flow-log object for it.
/// Paging stops as soon as every VPC of a chunk has been seen.
pub async fn vpcs_with_interfaces(ec2: &Client, region: &str, vpc_ids: &[String]) -> Result<BTreeSet<String>> {
    let mut busy = BTreeSet::new();
    for chunk in vpc_ids.chunks(FILTER_VALUES_LIMIT) {
        let filter = Filter::builder().name("vpc-id").set_values(Some(chunk.to_vec())).build();
        let mut pages = ec2.describe_network_interfaces().filters(filter).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error(e, format!("listing network interfaces in {region}"), "ec2:DescribeNetworkInterfaces"))?;
            busy.extend(page.network_interfaces().iter().filter_map(|i| i.vpc_id()).map(str::to_owned));
            if chunk.iter().all(|vpc| busy.contains(vpc)) {
                break;
            }
        }
    }
    Ok(busy)
}

/// Every flow log of the region (unfiltered): for discovering the buckets flow logs deliver to.
pub async fn list_all_flow_log_buckets(ec2: &Client, region: &str) -> Result<Vec<String>> {
    Ok(list_s3_destinations(ec2, region).await?.into_iter().map(|d| d.bucket).collect())
}

/// A flow log of the region that delivers to S3, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Destination {
    pub flow_log_id: String,
    pub bucket: String,
    pub prefix: Option<String>,
}

/// Every flow log of the region (unfiltered) that delivers to S3, with its bucket and prefix.
pub async fn list_s3_destinations(ec2: &Client, region: &str) -> Result<Vec<S3Destination>> {
    let mut destinations = Vec::new();
    let mut pages = ec2.describe_flow_logs().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_error(e, format!("listing flow logs in {region}"), "ec2:DescribeFlowLogs"))?;
        for f in page.flow_logs() {
            let flow_log = ExistingFlowLog {
                destination_type: f.log_destination_type().map(|t| t.as_str().to_owned()).unwrap_or_default(),
                destination: f.log_destination().map(str::to_owned),
                ..ExistingFlowLog::default()
            };
            if let Some((bucket, prefix)) = flow_log.s3_destination() {
                destinations.push(S3Destination { flow_log_id: f.flow_log_id().unwrap_or_default().to_owned(), bucket, prefix });
            }
        }
    }
    Ok(destinations)
}

/// A per-resource failure reported in `Unsuccessful`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemFailure {
    pub id: String,
    pub code: String,
    pub message: String,
}

impl ItemFailure {
    /// The failure as a failed change carries it: AWS's code and message, and what to do.
    pub fn text(&self) -> String {
        let hint = crate::error::code_hint(&self.code).map(str::to_owned).unwrap_or_else(|| crate::error::general_hint(Some(&self.code)));
        format!("{}: {} (hint: {hint})", self.code, self.message)
    }
}

fn item_failures(items: &[aws_sdk_ec2::types::UnsuccessfulItem]) -> Vec<ItemFailure> {
    items
        .iter()
        .map(|item| ItemFailure {
            id: item.resource_id().unwrap_or_default().to_owned(),
            code: item.error().and_then(|e| e.code()).unwrap_or("Unknown").to_owned(),
            message: item.error().and_then(|e| e.message()).unwrap_or("no message").to_owned(),
        })
        .collect()
}

/// Creates the desired flow log for `vpc_ids` in one call (at most CREATE_BATCH_LIMIT ids);
/// returns the per-VPC failures (every other VPC got its flow log).
pub async fn create_flow_logs(
    ec2: &Client,
    region: &str,
    desired: &DesiredFlowLog,
    vpc_ids: &[String],
    tags: &[(String, String)],
    client_token: &str,
) -> Result<Vec<ItemFailure>> {
    // The one request the core renders (the watcher's Automation sends the same).
    let request = desired.create_request(tags);
    let options = DestinationOptionsRequest::builder()
        .file_format(DestinationFileFormat::from(request.file_format))
        .hive_compatible_partitions(request.hive_compatible_partitions)
        .per_hour_partition(request.per_hour_partition)
        .build();
    let tag_spec = TagSpecification::builder()
        .resource_type(ResourceType::VpcFlowLog)
        .set_tags(Some(request.tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()))
        .build();
    let out = ec2
        .create_flow_logs()
        .set_resource_ids(Some(vpc_ids.to_vec()))
        .resource_type(FlowLogsResourceType::from(request.resource_type))
        .traffic_type(SdkTrafficType::from(request.traffic_type))
        .log_destination_type(LogDestinationType::from(request.log_destination_type))
        .log_destination(request.log_destination)
        .log_format(request.log_format)
        .max_aggregation_interval(request.max_aggregation_interval)
        .destination_options(options)
        .tag_specifications(tag_spec)
        // The same token on the SDK's retries makes a retried create return the first result
        // instead of duplicating it.
        .client_token(client_token)
        .send()
        .await;
    // A duplicate may come back as a per-resource `Unsuccessful` item or, for the whole call, as
    // an error (the emulator does the latter): report both as per-VPC failures.
    let out = match out {
        Ok(out) => out,
        Err(e) if error_code(&e) == Some("FlowLogAlreadyExists") => {
            let message = e.as_service_error().and_then(|s| s.message()).unwrap_or("flow log already exists").to_owned();
            return Ok(vpc_ids
                .iter()
                .map(|id| ItemFailure { id: id.clone(), code: "FlowLogAlreadyExists".to_owned(), message: message.clone() })
                .collect());
        }
        Err(e) => return Err(aws_error(e, format!("creating flow logs in {region}"), "ec2:CreateFlowLogs")),
    };
    Ok(item_failures(out.unsuccessful()))
}

/// Deletes flow logs by id; returns the per-flow-log failures.
pub async fn delete_flow_logs(ec2: &Client, region: &str, ids: &[String]) -> Result<Vec<ItemFailure>> {
    let out = ec2
        .delete_flow_logs()
        .set_flow_log_ids(Some(ids.to_vec()))
        .send()
        .await
        .map_err(|e| aws_error(e, format!("deleting flow logs {} in {region}", ids.join(", ")), "ec2:DeleteFlowLogs"))?;
    Ok(item_failures(out.unsuccessful()))
}

/// The tags flowgate puts on every flow log it creates: its marker plus the user's.
pub fn creation_tags(user: &[UserTag]) -> Vec<(String, String)> {
    let mut tags = vec![(crate::core::flowlog_plan::MANAGED_TAG_KEY.to_owned(), crate::core::flowlog_plan::MANAGED_TAG_VALUE.to_owned())];
    tags.extend(user.iter().filter(|t| t.key != crate::core::flowlog_plan::MANAGED_TAG_KEY).map(|t| (t.key.clone(), t.value.clone())));
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `Unsuccessful` item of CreateFlowLogs/DeleteFlowLogs fails one change: it says what to
    /// do, for a code with a known remedy and for one without.
    #[test]
    fn an_unsuccessful_item_carries_a_hint() {
        let failure = |code: &str| ItemFailure { id: "vpc-1".into(), code: code.into(), message: "nope".into() };
        let tag = failure("InvalidTag").text();
        assert!(tag.starts_with("InvalidTag: nope (hint: AWS refused a tag"), "{tag}");
        let other = failure("SomethingNew").text();
        assert!(other.contains("(hint: AWS refused it with SomethingNew"), "{other}");
    }
}
