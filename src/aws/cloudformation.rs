//! CloudFormation: the cross-account role stack, deployed through change sets.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{Capability, ChangeSetType, Parameter};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::aws::{aws_error, error_code};
use crate::error::{Error, Result};

pub const ACTIONS: &[&str] = &[
    "cloudformation:DescribeStacks",
    "cloudformation:GetTemplate",
    "cloudformation:CreateChangeSet",
    "cloudformation:DescribeChangeSet",
    "cloudformation:ExecuteChangeSet",
    "cloudformation:DeleteChangeSet",
    "cloudformation:DescribeStackEvents",
    "cloudformation:UpdateStack",
    "cloudformation:DeleteStack",
    "cloudformation:ListStackResources",
];

/// A stack as flowgate needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StackInfo {
    pub status: String,
    pub status_reason: Option<String>,
    pub parameters: BTreeMap<String, String>,
    pub outputs: BTreeMap<String, String>,
}

pub async fn describe_stack(cfn: &Client, name: &str) -> Result<Option<StackInfo>> {
    match cfn.describe_stacks().stack_name(name).send().await {
        Ok(out) => Ok(out.stacks().first().map(|stack| StackInfo {
            status: stack.stack_status().map(|s| s.as_str().to_owned()).unwrap_or_default(),
            status_reason: stack.stack_status_reason().map(str::to_owned),
            parameters: stack
                .parameters()
                .iter()
                .filter_map(|p| Some((p.parameter_key()?.to_owned(), p.parameter_value().unwrap_or_default().to_owned())))
                .collect(),
            outputs: stack
                .outputs()
                .iter()
                .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value().unwrap_or_default().to_owned())))
                .collect(),
        })),
        // "Stack with id NAME does not exist" is how CloudFormation says "no such stack".
        Err(e) if error_code(&e) == Some("ValidationError") && e.message().is_some_and(|m| m.contains("does not exist")) => Ok(None),
        Err(e) => Err(aws_error(e, format!("reading stack {name}"), "cloudformation:DescribeStacks")),
    }
}

pub async fn template_body(cfn: &Client, name: &str) -> Result<Option<String>> {
    let out = cfn
        .get_template()
        .stack_name(name)
        .send()
        .await
        .map_err(|e| aws_error(e, format!("reading the template of stack {name}"), "cloudformation:GetTemplate"))?;
    Ok(out.template_body().map(str::to_owned))
}

/// A resource change of a change set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceChange {
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    pub replacement: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSet {
    pub id: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub changes: Vec<ResourceChange>,
}

pub async fn create_change_set(
    cfn: &Client,
    stack: &str,
    change_set_name: &str,
    create: bool,
    template: &str,
    parameters: &[(&'static str, String)],
) -> Result<String> {
    let parameters = parameters.iter().map(|(k, v)| Parameter::builder().parameter_key(*k).parameter_value(v).build()).collect();
    let out = cfn
        .create_change_set()
        .stack_name(stack)
        .change_set_name(change_set_name)
        .change_set_type(if create { ChangeSetType::Create } else { ChangeSetType::Update })
        .template_body(template)
        .set_parameters(Some(parameters))
        // The template names the role (RoleName), which needs CAPABILITY_NAMED_IAM.
        .capabilities(Capability::CapabilityNamedIam)
        .send()
        .await
        .map_err(|e| aws_error(e, format!("creating a change set for stack {stack}"), "cloudformation:CreateChangeSet"))?;
    out.id().map(str::to_owned).ok_or_else(|| Error::refused(format!("CloudFormation returned no change set id for stack {stack}"), None))
}

fn poll_interval(attempt: u32) -> Duration {
    Duration::from_millis((250u64 << attempt.min(4)).min(5000))
}

/// Waits until the change set is no longer being computed.
pub async fn wait_change_set(cfn: &Client, stack: &str, id: &str, timeout: Duration) -> Result<ChangeSet> {
    let start = std::time::Instant::now();
    let mut attempt = 0;
    loop {
        let out = cfn
            .describe_change_set()
            .change_set_name(id)
            .stack_name(stack)
            .send()
            .await
            .map_err(|e| aws_error(e, format!("reading the change set of stack {stack}"), "cloudformation:DescribeChangeSet"))?;
        let status = out.status().map(|s| s.as_str().to_owned()).unwrap_or_default();
        if !(status.ends_with("_PENDING") || status.ends_with("_IN_PROGRESS")) {
            let changes = out
                .changes()
                .iter()
                .filter_map(|c| c.resource_change())
                .map(|r| ResourceChange {
                    action: r.action().map(|a| a.as_str().to_owned()).unwrap_or_default(),
                    logical_id: r.logical_resource_id().unwrap_or_default().to_owned(),
                    resource_type: r.resource_type().unwrap_or_default().to_owned(),
                    replacement: r.replacement().map(|x| x.as_str().to_owned()),
                })
                .collect();
            return Ok(ChangeSet { id: id.to_owned(), status, status_reason: out.status_reason().map(str::to_owned), changes });
        }
        if start.elapsed() > timeout {
            return Err(Error::refused(
                format!("the change set for stack {stack} was still {status} after {}s", timeout.as_secs()),
                Some("re-run later; the change set is left for inspection".to_owned()),
            ));
        }
        tokio::time::sleep(poll_interval(attempt)).await;
        attempt += 1;
    }
}

pub async fn execute_change_set(cfn: &Client, stack: &str, id: &str) -> Result<()> {
    cfn.execute_change_set()
        .change_set_name(id)
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| aws_error(e, format!("executing the change set of stack {stack}"), "cloudformation:ExecuteChangeSet"))?;
    Ok(())
}

pub async fn delete_change_set(cfn: &Client, stack: &str, id: &str) -> Result<()> {
    cfn.delete_change_set()
        .change_set_name(id)
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| aws_error(e, format!("deleting the change set of stack {stack}"), "cloudformation:DeleteChangeSet"))?;
    Ok(())
}

/// UpdateStack with a template and parameters: used when a change set reports no resource
/// changes although the parameters differ (the emulator does; the parameters must still apply).
pub async fn update_stack(cfn: &Client, stack: &str, template: &str, parameters: &[(&'static str, String)]) -> Result<()> {
    let parameters = parameters.iter().map(|(k, v)| Parameter::builder().parameter_key(*k).parameter_value(v).build()).collect();
    cfn.update_stack()
        .stack_name(stack)
        .template_body(template)
        .set_parameters(Some(parameters))
        .capabilities(Capability::CapabilityNamedIam)
        .send()
        .await
        .map_err(|e| aws_error(e, format!("updating stack {stack}"), "cloudformation:UpdateStack"))?;
    Ok(())
}

pub async fn delete_stack(cfn: &Client, stack: &str) -> Result<()> {
    cfn.delete_stack().stack_name(stack).send().await.map_err(|e| aws_error(e, format!("deleting stack {stack}"), "cloudformation:DeleteStack"))?;
    Ok(())
}

/// One resource of a stack: what its deletion removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackResource {
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: Option<String>,
}

/// Every resource of the stack (all pages), in CloudFormation's order.
pub async fn stack_resources(cfn: &Client, stack: &str) -> Result<Vec<StackResource>> {
    let mut pages = cfn.list_stack_resources().stack_name(stack).into_paginator().send();
    let mut resources = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_error(e, format!("listing the resources of stack {stack}"), "cloudformation:ListStackResources"))?;
        // A summary always names its resource on AWS; the emulator also lists the resources a
        // false condition left out, with empty names: those are not there to delete.
        // A resource already deleted (after a DELETE_FAILED) is not removed again.
        let present = |r: &&aws_sdk_cloudformation::types::StackResourceSummary| {
            !r.logical_resource_id().unwrap_or_default().is_empty() && r.resource_status().is_none_or(|s| s.as_str() != "DELETE_COMPLETE")
        };
        resources.extend(page.stack_resource_summaries().iter().filter(present).map(|r| StackResource {
            logical_id: r.logical_resource_id().unwrap_or_default().to_owned(),
            resource_type: r.resource_type().unwrap_or_default().to_owned(),
            physical_id: r.physical_resource_id().filter(|id| !id.is_empty()).map(str::to_owned),
        }));
    }
    Ok(resources)
}

/// A stack event, for progress and for the reasons of failed resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackEvent {
    pub id: String,
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: Option<String>,
}

/// The newest events (first page), oldest first.
pub async fn recent_events(cfn: &Client, stack: &str) -> Result<Vec<StackEvent>> {
    let out = cfn
        .describe_stack_events()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| aws_error(e, format!("reading the events of stack {stack}"), "cloudformation:DescribeStackEvents"))?;
    let mut events: Vec<StackEvent> = out
        .stack_events()
        .iter()
        .map(|e| StackEvent {
            id: e.event_id().unwrap_or_default().to_owned(),
            logical_id: e.logical_resource_id().unwrap_or_default().to_owned(),
            resource_type: e.resource_type().unwrap_or_default().to_owned(),
            status: e.resource_status().map(|s| s.as_str().to_owned()).unwrap_or_default(),
            reason: e.resource_status_reason().map(str::to_owned),
        })
        .collect();
    events.reverse();
    Ok(events)
}

/// Waits until the stack leaves every *_IN_PROGRESS status; calls `on_event` for each event not
/// seen before (events that existed before the wait began are in `seen`). Returns the final
/// stack (`None` once deleted) and the events of resources that failed.
pub async fn wait_stack(
    cfn: &Client,
    stack: &str,
    seen: &mut HashSet<String>,
    timeout: Duration,
    on_event: &mut (dyn FnMut(&StackEvent) + Send),
) -> Result<(Option<StackInfo>, Vec<StackEvent>)> {
    let start = std::time::Instant::now();
    let mut failures = Vec::new();
    let mut attempt = 0;
    loop {
        let info = describe_stack(cfn, stack).await?;
        if let Ok(events) = recent_events(cfn, stack).await {
            for event in events {
                if seen.insert(event.id.clone()) {
                    if event.status.ends_with("_FAILED") {
                        failures.push(event.clone());
                    }
                    on_event(&event);
                }
            }
        }
        let in_progress = info.as_ref().is_some_and(|i| i.status.ends_with("_IN_PROGRESS"));
        if !in_progress {
            return Ok((info, failures));
        }
        if start.elapsed() > timeout {
            let status = info.map(|i| i.status).unwrap_or_default();
            return Err(Error::refused(
                format!("stack {stack} was still {status} after {}s", timeout.as_secs()),
                Some("it continues in CloudFormation: check the console, then re-run".to_owned()),
            ));
        }
        tokio::time::sleep(poll_interval(attempt)).await;
        attempt += 1;
    }
}
