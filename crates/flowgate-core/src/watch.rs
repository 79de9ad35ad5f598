//! `flowgate watch`: a per-region CloudFormation stack (templates/watch.yaml) whose EventBridge
//! rules start an SSM Automation when a VPC is created, and the Automation creates the flow log
//! flowgate would create. The judgements: the stack's parameters (rendered from the very request
//! `flowlogs enable` sends), what the plan does per region, and whether the events the rules wait
//! for reach EventBridge at all (a CloudTrail trail must log the region's management events).

use schemars::JsonSchema;
use serde::Serialize;

use crate::flowlog_plan::FlowLogRequest;
use crate::report::{Change, ChangeStatus};

/// The watcher's template, deployed as is; only its parameters vary.
pub const TEMPLATE: &str = include_str!("../../../templates/watch.yaml");

/// The watcher's stack, one per region.
pub const STACK_NAME: &str = "flowgate-watch";

/// The parameters templates/watch.yaml declares: a stack named [`STACK_NAME`] with exactly these
/// is flowgate's watcher, and `watch disable` deletes no other stack, whatever its name. (The
/// template's `FlowgateWatch` output says the same to a person; the parameters are what every
/// DescribeStacks returns, the emulator's included.)
pub const PARAMETERS: &[&str] = &[
    "LogDestination",
    "LogFormat",
    "TrafficType",
    "MaxAggregationInterval",
    "FileFormat",
    "HiveCompatiblePartitions",
    "PerHourPartition",
    "FlowLogTags",
];

/// The stack's parameters: every value of the flow log's CreateFlowLogs request, as the
/// Automation document sends it (its `inputs` are these parameters, substituted).
pub fn stack_parameters(request: &FlowLogRequest) -> Vec<(&'static str, String)> {
    let tags: Vec<serde_json::Value> = request.tags.iter().map(|(key, value)| serde_json::json!({ "Key": key, "Value": value })).collect();
    vec![
        ("LogDestination", request.log_destination.clone()),
        ("LogFormat", request.log_format.clone()),
        ("TrafficType", request.traffic_type.to_owned()),
        ("MaxAggregationInterval", request.max_aggregation_interval.to_string()),
        ("FileFormat", request.file_format.to_owned()),
        ("HiveCompatiblePartitions", request.hive_compatible_partitions.to_string()),
        ("PerHourPartition", request.per_hour_partition.to_string()),
        ("FlowLogTags", serde_json::Value::Array(tags).to_string()),
    ]
}

/// A watcher stack as CloudFormation reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedStack {
    pub status: String,
    pub parameters: std::collections::BTreeMap<String, String>,
    pub outputs: std::collections::BTreeMap<String, String>,
}

impl ObservedStack {
    /// Flowgate's watcher: the stack has the parameters of templates/watch.yaml, and no other.
    pub fn is_flowgates(&self) -> bool {
        self.parameters.len() == PARAMETERS.len() && PARAMETERS.iter().all(|p| self.parameters.contains_key(*p))
    }
}

/// What `watch enable` does in one region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum WatchAction {
    Create,
    /// The flow log changed (format, destination, tags...): these parameters are updated.
    Update {
        parameters: Vec<String>,
    },
    Keep,
    /// A stack of that name that is not flowgate's watcher: left alone.
    NotFlowgates,
    /// A stack in a state an update cannot start from (in progress, rolled back, failed).
    Unusable {
        status: String,
    },
}

fn usable(status: &str) -> bool {
    matches!(status, "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "UPDATE_ROLLBACK_COMPLETE")
}

/// The region's action: create the stack, update the parameters that differ, or keep it.
pub fn plan_watch(existing: Option<&ObservedStack>, wanted: &[(&'static str, String)]) -> WatchAction {
    let Some(stack) = existing else { return WatchAction::Create };
    if !stack.is_flowgates() {
        return WatchAction::NotFlowgates;
    }
    if !usable(&stack.status) {
        return WatchAction::Unusable { status: stack.status.clone() };
    }
    let parameters: Vec<String> =
        wanted.iter().filter(|(key, value)| stack.parameters.get(*key) != Some(value)).map(|(key, _)| (*key).to_owned()).collect();
    if parameters.is_empty() { WatchAction::Keep } else { WatchAction::Update { parameters } }
}

/// The plan line of a region's action.
pub fn watch_change(region: &str, action: &WatchAction) -> Change {
    let (verb, status, detail) = match action {
        WatchAction::Create => ("create-stack", ChangeStatus::Planned, "the watcher: EventBridge rules and the flow-log Automation".to_owned()),
        WatchAction::Update { parameters } => ("update-stack", ChangeStatus::Planned, format!("the flow log changed: {}", parameters.join(", "))),
        WatchAction::Keep => ("keep-stack", ChangeStatus::Skipped, "the watcher creates the flow log flowgate would".to_owned()),
        WatchAction::NotFlowgates => (
            "keep-stack",
            ChangeStatus::Blocked,
            format!("a stack named {STACK_NAME} that is not flowgate's watcher: left alone (rename or delete it)"),
        ),
        WatchAction::Unusable { status } => {
            ("update-stack", ChangeStatus::Blocked, format!("the stack is {status}: flowgate watch disable, then enable, deploys it afresh"))
        }
    };
    Change::new(verb, STACK_NAME, status, detail).in_region(region)
}

/// A trail as DescribeTrails, GetTrailStatus and GetEventSelectors report it in one region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct TrailFacts {
    pub name: String,
    pub home_region: String,
    pub multi_region: bool,
    pub organization: bool,
    pub logging: bool,
    /// Some event selector (basic or advanced) records write management events.
    pub management_writes: bool,
}

/// One event selector, reduced to what the watcher needs of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelectorFacts {
    pub management: bool,
    /// Write calls are recorded (ReadWriteType All or WriteOnly; no advanced `readOnly = true`).
    pub writes: bool,
}

/// Whether the selectors record write management events: CreateVpc is one.
pub fn records_management_writes(selectors: &[SelectorFacts]) -> bool {
    selectors.iter().any(|s| s.management && s.writes)
}

/// The trail that brings the region's CreateVpc calls to EventBridge, or what is missing.
///
/// EventBridge receives "AWS API Call via CloudTrail" events only while a trail with logging
/// enabled records them (EventBridge User Guide, "AWS service events delivered via AWS
/// CloudTrail": "a CloudTrail trail with logging enabled is required"). A trail applies to the
/// region when it is the region's own or multi-region; an organization trail applies to every
/// member account (DescribeTrails lists it there as a shadow trail).
pub fn trail_for_region<'a>(region: &str, trails: &'a [TrailFacts]) -> Result<&'a TrailFacts, String> {
    let applying: Vec<&TrailFacts> = trails.iter().filter(|t| t.multi_region || t.home_region == region).collect();
    // A trail recording write management events is surely enough; the guide asks only for a
    // logging trail, so one that records none is taken too, and named with that caveat.
    let logging = applying.iter().find(|t| t.logging && t.management_writes).or_else(|| applying.iter().find(|t| t.logging));
    if let Some(trail) = logging {
        return Ok(trail);
    }
    Err(match applying.as_slice() {
        [] => format!("no CloudTrail trail applies to {region}: CreateVpc calls never reach EventBridge there"),
        some => format!("the trail(s) of {region} ({}) are not logging", some.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ")),
    })
}

/// How a plan names the trail [`trail_for_region`] found.
pub fn trail_description(trail: &TrailFacts) -> String {
    if trail.management_writes {
        trail.name.clone()
    } else {
        format!(
            "{} (it records no write management events; EventBridge's guide asks only for a logging trail, but whether CreateVpc calls reach EventBridge through it is not documented)",
            trail.name
        )
    }
}

/// What to do about a region whose CreateVpc calls reach no rule.
pub const TRAIL_HINT: &str = "create a multi-region trail that logs management events (aws cloudtrail create-trail --is-multi-region-trail, then start-logging), or ask for the organization trail; then re-run";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flowlog_plan::{DesiredFlowLog, DestinationOptions, FileFormat, TrafficType};
    use crate::format::LogFormat;

    fn desired() -> DesiredFlowLog {
        DesiredFlowLog {
            partition: "aws".into(),
            bucket: "acme-flow-logs".parse().unwrap(),
            prefix: Some("team/a".parse().unwrap()),
            format: LogFormat::from_option("extended", true).unwrap(),
            traffic_type: TrafficType::Reject,
            max_aggregation_interval: 60,
            options: DestinationOptions { file_format: FileFormat::Parquet, hive_partitions: true, per_hour_partition: true },
        }
    }

    /// The stack's parameters are the CreateFlowLogs request `flowlogs enable` sends, value by
    /// value, and the template declares exactly these parameters and substitutes each into the
    /// Automation's CreateFlowLogs inputs: the watcher cannot create another flow log.
    #[test]
    fn the_watcher_sends_the_request_flowlogs_enable_sends() {
        let tags = vec![("flowgate:managed".to_owned(), "true".to_owned()), ("team".to_owned(), "net \"sec\"".to_owned())];
        let request = desired().create_request(&tags);
        let parameters: std::collections::BTreeMap<&str, String> = stack_parameters(&request).into_iter().collect();
        assert_eq!(parameters["LogDestination"], "arn:aws:s3:::acme-flow-logs/team/a/");
        assert_eq!(parameters["LogFormat"], request.log_format);
        assert!(parameters["LogFormat"].contains("${ecs-cluster-name}"));
        assert_eq!(parameters["TrafficType"], "REJECT");
        assert_eq!(parameters["MaxAggregationInterval"], "60");
        assert_eq!((parameters["FileFormat"].as_str(), parameters["HiveCompatiblePartitions"].as_str()), ("parquet", "true"));
        assert_eq!(parameters["PerHourPartition"], "true");
        let tags_json: serde_json::Value = serde_json::from_str(&parameters["FlowLogTags"]).unwrap();
        assert_eq!(tags_json, serde_json::json!([{"Key": "flowgate:managed", "Value": "true"}, {"Key": "team", "Value": "net \"sec\""}]));

        // The document as CloudFormation renders it from these parameters: the CreateFlowLogs
        // inputs, field by field.
        let template = crate::stack_template::to_json(TEMPLATE).unwrap();
        let mut declared: Vec<&str> = template["Parameters"].as_object().unwrap().keys().map(String::as_str).collect();
        declared.sort_unstable();
        let passed: Vec<&str> = parameters.keys().copied().collect();
        assert_eq!(passed, declared, "every parameter passed is declared, and no other");
        let mut marker = PARAMETERS.to_vec();
        marker.sort_unstable();
        assert_eq!(marker, declared, "a watcher is known by the template's parameters");
        let content = template["Resources"]["FlowLogDocument"]["Properties"]["Content"]["Fn::Sub"].as_str().unwrap().to_owned();
        let inputs = rendered_inputs(content, &parameters);
        assert_eq!(inputs["ResourceType"], request.resource_type);
        assert_eq!(inputs["LogDestinationType"], request.log_destination_type);
        assert_eq!(inputs["LogDestination"], request.log_destination);
        assert_eq!(inputs["LogFormat"], request.log_format);
        assert_eq!(inputs["TrafficType"], request.traffic_type);
        assert_eq!(inputs["MaxAggregationInterval"], request.max_aggregation_interval);
        assert_eq!(inputs["DestinationOptions"]["FileFormat"], request.file_format);
        assert_eq!(inputs["DestinationOptions"]["HiveCompatiblePartitions"], request.hive_compatible_partitions);
        assert_eq!(inputs["DestinationOptions"]["PerHourPartition"], request.per_hour_partition);
        assert_eq!(inputs["TagSpecifications"], serde_json::json!([{"ResourceType": "vpc-flow-log", "Tags": tags_json}]));
        assert_eq!(inputs["ResourceIds"], serde_json::json!(["{{ VpcId }}"]));
    }

    /// The Automation document's content with the stack's parameters substituted, as `!Sub`
    /// does (the role's ARN stands in for the one attribute it names).
    fn rendered_inputs(content: String, parameters: &std::collections::BTreeMap<&str, String>) -> serde_json::Value {
        // One pass, as Fn::Sub: a substituted value (the format's `${version}`) is not read again.
        let mut rendered = String::new();
        let mut rest = content.as_str();
        while let Some(at) = rest.find("${") {
            let end = at + rest[at..].find('}').unwrap();
            let name = &rest[at + 2..end];
            let value = match name {
                "AutomationRole.Arn" => "arn:aws:iam::123456789012:role/automation",
                _ => parameters.get(name).unwrap_or_else(|| panic!("${{{name}}} is not a stack parameter")).as_str(),
            };
            rendered.push_str(&rest[..at]);
            rendered.push_str(value);
            rest = &rest[end + 1..];
        }
        rendered.push_str(rest);
        let content = rendered;
        let document: serde_json::Value = serde_json::from_str(&content).unwrap();
        assert_eq!(document["mainSteps"][0]["action"], "aws:executeAwsApi");
        assert_eq!(
            (document["mainSteps"][0]["inputs"]["Service"].as_str(), document["mainSteps"][0]["inputs"]["Api"].as_str()),
            (Some("ec2"), Some("CreateFlowLogs"))
        );
        document["mainSteps"][0]["inputs"].clone()
    }

    fn stack(status: &str, parameters: &[(&'static str, String)], ours: bool) -> ObservedStack {
        ObservedStack {
            status: status.into(),
            // Another stack of that name: the vendor role's parameters, say.
            parameters: if ours {
                parameters.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
            } else {
                [("VendorAccountId".to_owned(), "111122223333".to_owned())].into()
            },
            outputs: Default::default(),
        }
    }

    #[test]
    fn a_region_is_created_updated_kept_or_left_alone() {
        let wanted = stack_parameters(&desired().create_request(&[]));
        assert_eq!(plan_watch(None, &wanted), WatchAction::Create);
        assert_eq!(plan_watch(Some(&stack("CREATE_COMPLETE", &wanted, true)), &wanted), WatchAction::Keep);
        let mut older = wanted.clone();
        older[2].1 = "ALL".into();
        assert_eq!(
            plan_watch(Some(&stack("UPDATE_COMPLETE", &older, true)), &wanted),
            WatchAction::Update { parameters: vec!["TrafficType".into()] }
        );
        assert_eq!(plan_watch(Some(&stack("CREATE_COMPLETE", &wanted, false)), &wanted), WatchAction::NotFlowgates);
        assert_eq!(
            plan_watch(Some(&stack("ROLLBACK_COMPLETE", &wanted, true)), &wanted),
            WatchAction::Unusable { status: "ROLLBACK_COMPLETE".into() }
        );
        assert_eq!(watch_change("eu-west-1", &WatchAction::NotFlowgates).status, ChangeStatus::Blocked);
    }

    fn trail(name: &str, home: &str, multi: bool, logging: bool, writes: bool) -> TrailFacts {
        TrailFacts { name: name.into(), home_region: home.into(), multi_region: multi, organization: false, logging, management_writes: writes }
    }

    #[test]
    fn the_region_needs_a_logging_trail_and_one_of_write_management_events_is_preferred() {
        assert!(trail_for_region("eu-west-1", &[]).unwrap_err().contains("no CloudTrail trail applies"));
        let elsewhere = [trail("us-only", "us-east-1", false, true, true)];
        assert!(trail_for_region("eu-west-1", &elsewhere).is_err(), "a single-region trail of another region");
        let stopped = [trail("all", "us-east-1", true, false, true)];
        assert!(trail_for_region("eu-west-1", &stopped).unwrap_err().contains("not logging"));
        // The guide asks only for a logging trail: one recording no write management events is
        // taken, and named with that caveat.
        let reads = [trail("all", "us-east-1", true, true, false)];
        let found = trail_for_region("eu-west-1", &reads).unwrap();
        assert!(trail_description(found).contains("records no write management events"), "{}", trail_description(found));
        let good = [trail("reads", "us-east-1", true, true, false), trail("org", "us-east-1", true, true, true)];
        assert_eq!(trail_for_region("eu-west-1", &good).unwrap().name, "org");
        assert!(records_management_writes(&[SelectorFacts { management: false, writes: true }, SelectorFacts { management: true, writes: true }]));
        assert!(!records_management_writes(&[SelectorFacts { management: true, writes: false }]));
    }
}
