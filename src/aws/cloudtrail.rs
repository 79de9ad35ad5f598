//! CloudTrail, read only: whether a trail brings a region's CreateVpc calls to EventBridge (what
//! the watcher's rules wait for).

use aws_sdk_cloudtrail::types::ReadWriteType;

use crate::aws::aws_error;
use crate::aws::clients::Clients;
use crate::core::watch::{SelectorFacts, TrailFacts, records_management_writes};
use crate::error::Result;

pub const ACTIONS: &[&str] = &["cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors"];

/// The trails that apply to `region` (its own, multi-region and organization trails: shadow
/// trails included), each with its logging status and whether it records write management events.
/// A trail's status and selectors are read in its home region, where the trail lives (a shadow
/// trail is its replication elsewhere).
pub async fn trails(clients: &Clients, region: &str) -> Result<Vec<TrailFacts>> {
    let out = clients
        .cloudtrail_in(region)
        .describe_trails()
        .include_shadow_trails(true)
        .send()
        .await
        .map_err(|e| aws_error(e, format!("listing CloudTrail trails in {region}"), "cloudtrail:DescribeTrails"))?;
    let mut facts = Vec::new();
    for trail in out.trail_list() {
        let (Some(name), Some(arn)) = (trail.name(), trail.trail_arn()) else { continue };
        let home = trail.home_region().unwrap_or(region);
        let client = clients.cloudtrail_in(home);
        let status = client
            .get_trail_status()
            .name(arn)
            .send()
            .await
            .map_err(|e| aws_error(e, format!("reading the status of trail {name} in {region}"), "cloudtrail:GetTrailStatus"))?;
        let selectors = client
            .get_event_selectors()
            .trail_name(arn)
            .send()
            .await
            .map_err(|e| aws_error(e, format!("reading the event selectors of trail {name} in {region}"), "cloudtrail:GetEventSelectors"))?;
        facts.push(TrailFacts {
            name: name.to_owned(),
            home_region: home.to_owned(),
            multi_region: trail.is_multi_region_trail().unwrap_or(false),
            organization: trail.is_organization_trail().unwrap_or(false),
            logging: status.is_logging().unwrap_or(false),
            management_writes: records_management_writes(&selector_facts(&selectors)),
        });
    }
    Ok(facts)
}

/// Basic selectors: IncludeManagementEvents (default true) with ReadWriteType All or WriteOnly.
/// Advanced selectors: `eventCategory = Management`, writes unless `readOnly = true`.
fn selector_facts(out: &aws_sdk_cloudtrail::operation::get_event_selectors::GetEventSelectorsOutput) -> Vec<SelectorFacts> {
    let basic = out.event_selectors().iter().map(|s| SelectorFacts {
        management: s.include_management_events().unwrap_or(true),
        writes: !matches!(s.read_write_type(), Some(ReadWriteType::ReadOnly)),
    });
    let advanced = out.advanced_event_selectors().iter().map(|s| {
        let equals = |field: &str, value: &str| s.field_selectors().iter().any(|f| f.field() == field && f.equals().iter().any(|v| v == value));
        SelectorFacts { management: equals("eventCategory", "Management"), writes: !equals("readOnly", "true") }
    });
    basic.chain(advanced).collect()
}
