//! `flowgate wizard`: the onboarding for people. It asks for what `onboard` takes, one question
//! at a time (validated as typed), then runs `onboard` itself: the same plan, confirmation, apply
//! and verify. The questions go through a small trait so the flow is tested with scripted answers.

use std::collections::VecDeque;
use std::io::IsTerminal;

use crate::cli::desired_flow_log;
use crate::cli::{OnboardArgs, ScopeArgs, VendorModeArgs, WizardArgs};
use crate::commands::onboard::{OnboardReport, onboard};
use crate::commands::stack::new_external_id;
use crate::context::Ctx;
use crate::core::bucket::{DefaultEncryption, ListedBucket};
use crate::core::flowlog_plan::TrafficType;
use crate::core::names::{AccountId, BucketName, RegionName};
use crate::core::stack_plan::parse_external_id;
use crate::error::{Error, Result};
use crate::observe::regions::{coverage, resolve_regions};

/// The questions the wizard asks; a terminal answers them, or a script in tests.
pub trait Prompter {
    /// A line for the user to read before the next question.
    fn note(&mut self, text: &str);
    fn confirm(&mut self, question: &str, default: bool) -> Result<bool>;
    /// A line of text, re-asked until `validate` accepts it.
    fn input(&mut self, question: &str, default: Option<&str>, validate: &dyn Fn(&str) -> std::result::Result<(), String>) -> Result<String>;
    fn select(&mut self, question: &str, items: &[String], default: usize) -> Result<usize>;
    /// Several of `choices`; each is listed with its note, and once chosen only the names are
    /// echoed (the notes describe the list, not the answer).
    fn multi_select(&mut self, question: &str, choices: &[Choice], defaults: &[bool]) -> Result<Vec<usize>>;
}

/// One entry of a multi-select: what it is, and what the list says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub name: String,
    pub note: String,
}

/// dialoguer on stderr.
pub struct TerminalPrompter;

/// Asks one question with the prompt guard held. Any prompt error (Ctrl-C, closed input) is the
/// user's stop; the wizard's questions all come before onboard changes anything.
fn ask<T, E>(question: impl FnOnce() -> std::result::Result<T, E>) -> Result<T> {
    let prompt = crate::interrupt::PromptGuard::new();
    match question() {
        Ok(answer) => Ok(answer),
        Err(_) => {
            prompt.stopped();
            Err(Error::Interrupted)
        }
    }
}

impl Prompter for TerminalPrompter {
    fn note(&mut self, text: &str) {
        // A note that cannot be written leaves the question itself to be asked.
        let _ = console::Term::stderr().write_line(text);
    }

    fn confirm(&mut self, question: &str, default: bool) -> Result<bool> {
        ask(|| dialoguer::Confirm::new().with_prompt(question).default(default).interact())
    }

    fn input(&mut self, question: &str, default: Option<&str>, validate: &dyn Fn(&str) -> std::result::Result<(), String>) -> Result<String> {
        let mut input = dialoguer::Input::<String>::new().with_prompt(question);
        if let Some(default) = default {
            input = input.default(default.to_owned());
        }
        ask(|| input.validate_with(|text: &String| validate(text.trim())).interact_text()).map(|s| s.trim().to_owned())
    }

    fn select(&mut self, question: &str, items: &[String], default: usize) -> Result<usize> {
        ask(|| dialoguer::Select::new().with_prompt(question).items(items).default(default).interact())
    }

    fn multi_select(&mut self, question: &str, choices: &[Choice], defaults: &[bool]) -> Result<Vec<usize>> {
        use dialoguer::theme::{SimpleTheme, Theme};
        let width = choices.iter().map(|c| c.name.len()).max().unwrap_or(0);
        let items: Vec<String> = choices.iter().map(|c| format!("{:<width$}  {}", c.name, c.note)).collect();
        let with_keys = format!("{question} (space toggles, enter accepts)");
        // Not dialoguer's report, which echoes the items as listed, notes and all.
        let picked = ask(|| dialoguer::MultiSelect::new().with_prompt(with_keys).items(&items).defaults(defaults).report(false).interact())?;
        let names: Vec<&str> = picked.iter().filter_map(|i| choices.get(*i)).map(|c| c.name.as_str()).collect();
        let mut echo = String::new();
        // dialoguer's own look for an answer (MultiSelect::new uses SimpleTheme); writing to a String cannot fail.
        let _ = SimpleTheme.format_multi_select_prompt_selection(&mut echo, question, &names);
        self.note(&echo);
        Ok(picked)
    }
}

/// Scripted answers, in order (tests). `None` for an input takes its default.
#[derive(Debug, Default)]
pub struct ScriptedPrompter {
    pub answers: VecDeque<Answer>,
    pub asked: Vec<String>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum Answer {
    Yes,
    No,
    Text(Option<String>),
    Pick(usize),
    Picks(Vec<usize>),
    /// Ctrl-C.
    Interrupt,
}

impl ScriptedPrompter {
    fn next(&mut self, question: &str) -> Result<Answer> {
        self.asked.push(question.to_owned());
        match self.answers.pop_front() {
            Some(Answer::Interrupt) | None => Err(Error::Interrupted),
            Some(answer) => Ok(answer),
        }
    }
}

impl Prompter for ScriptedPrompter {
    fn note(&mut self, text: &str) {
        self.notes.push(text.to_owned());
    }

    fn confirm(&mut self, question: &str, _default: bool) -> Result<bool> {
        Ok(matches!(self.next(question)?, Answer::Yes))
    }

    fn input(&mut self, question: &str, default: Option<&str>, validate: &dyn Fn(&str) -> std::result::Result<(), String>) -> Result<String> {
        loop {
            let text = match self.next(question)? {
                Answer::Text(Some(text)) => text,
                _ => default.unwrap_or_default().to_owned(),
            };
            // A rejected answer is asked again, as on a terminal.
            if validate(&text).is_ok() {
                return Ok(text);
            }
        }
    }

    fn select(&mut self, question: &str, _items: &[String], default: usize) -> Result<usize> {
        Ok(match self.next(question)? {
            Answer::Pick(i) => i,
            _ => default,
        })
    }

    fn multi_select(&mut self, question: &str, _choices: &[Choice], defaults: &[bool]) -> Result<Vec<usize>> {
        Ok(match self.next(question)? {
            Answer::Picks(picks) => picks,
            _ => defaults.iter().enumerate().filter(|(_, d)| **d).map(|(i, _)| i).collect(),
        })
    }
}

/// What the wizard knows about the account before asking.
#[derive(Debug, Clone)]
pub struct AccountFacts {
    pub account: String,
    pub principal: String,
    pub region: String,
    /// The account's buckets, each with its region and default encryption or why they are unknown.
    pub buckets: Vec<ListedBucket>,
    /// Whether the role stack exists (its vendor account and ExternalId are then kept).
    pub stack_exists: bool,
}

/// The region choices, with their VPC count and current coverage: (region, vpcs, compliant).
pub type RegionFacts = Vec<(String, usize, usize)>;

fn valid<T: std::str::FromStr<Err = String>>(text: &str) -> std::result::Result<(), String> {
    text.parse::<T>().map(|_| ())
}

/// A bucket as the wizard lists it: its region, or why it is not known (a bucket is never left
/// out of the list for an error), and a warning for SSE-KMS.
pub fn bucket_item(bucket: &ListedBucket) -> String {
    let region = match &bucket.region {
        Ok(region) => region.clone(),
        Err(why) => format!("region unknown: {why}"),
    };
    let warning = match &bucket.encryption {
        Ok(encryption) if encryption.is_kms() => "  WARNING: SSE-KMS, the vendor cannot read it".to_owned(),
        Ok(_) => String::new(),
        Err(why) if bucket.region.is_ok() => format!("  (default encryption unknown: {why})"),
        Err(_) => String::new(),
    };
    format!("{} ({region}){warning}", bucket.name)
}

/// Steps 1 and 2: who you are, and the bucket. Returns `None` when the user stops.
pub fn ask_bucket(p: &mut dyn Prompter, facts: &AccountFacts) -> Result<Option<BucketName>> {
    if !p.confirm(&format!("Onboard account {} as {} (home region {})?", facts.account, facts.principal, facts.region), true)? {
        return Ok(None);
    }
    let choices = vec!["Create a new bucket for the flow logs".to_owned(), "Use an existing bucket".to_owned()];
    let use_existing = !facts.buckets.is_empty() && p.select("Flow-log bucket", &choices, 0)? == 1;
    let name = if use_existing {
        let items: Vec<String> = facts.buckets.iter().map(bucket_item).collect();
        let picked = p.select("Which bucket?", &items, 0)?;
        facts.buckets.get(picked).map(|b| b.name.clone()).unwrap_or_default()
    } else {
        let suggested = format!("flowgate-flow-logs-{}-{}", facts.account, facts.region);
        p.input("Bucket name", Some(&suggested), &valid::<BucketName>)?
    };
    name.parse::<BucketName>().map(Some).map_err(|e| Error::input(e, None))
}

/// Step 2, continued: a bucket `bucket create` would refuse for its default encryption (SSE-KMS,
/// by the same judgement) is named as such as soon as it is chosen. The wizard offers to switch
/// it to SSE-S3 (onboard's `fix_encryption`, which the plan then names) or stops, nothing changed.
/// Returns whether to switch.
pub fn ask_encryption(p: &mut dyn Prompter, bucket: &BucketName, encryption: &DefaultEncryption) -> Result<bool> {
    let Some(refusal) = encryption.kms_refusal(bucket.as_str()) else {
        return Ok(false);
    };
    p.note(&refusal.to_string());
    if p.confirm(&format!("Switch the default encryption of {bucket} to SSE-S3 (AES256)? Objects already written keep theirs"), false)? {
        return Ok(true);
    }
    Err(Error::refused(
        format!("stopped: bucket {bucket} keeps SSE-KMS, which the vendor cannot read; nothing was changed"),
        Some(format!("run flowgate wizard again and choose another bucket (or a new one), or answer yes to switching {bucket} to SSE-S3")),
    ))
}

/// Steps 3 and 4: regions, vendor, storage access, waiting. Fills `OnboardArgs`.
pub fn ask_rest(p: &mut dyn Prompter, facts: &AccountFacts, bucket: BucketName, regions: &RegionFacts, stack_name: &str) -> Result<OnboardArgs> {
    let choices: Vec<Choice> = regions
        .iter()
        .map(|(r, vpcs, compliant)| Choice { name: r.clone(), note: format!("{vpcs} VPC(s), {compliant} already compliant") })
        .collect();
    let picked = p.multi_select("Regions to enable flow logs in", &choices, &vec![true; regions.len()])?;
    if picked.is_empty() {
        return Err(Error::input("no region selected", Some("select at least one region".to_owned())));
    }
    let chosen: Vec<RegionName> = picked.iter().filter_map(|i| regions.get(*i)).filter_map(|(r, _, _)| r.parse().ok()).collect();

    let (vendor_account, external_id) = if facts.stack_exists && p.confirm("The role stack exists: keep its vendor account and ExternalId?", true)? {
        (None, None)
    } else {
        let vendor = p.input("The vendor's AWS account id (12 digits)", None, &valid::<AccountId>)?;
        let external = if p.confirm("Generate a strong random ExternalId?", true)? {
            new_external_id()
        } else {
            p.input("ExternalId (2-1224 of letters, digits and _+=,.@:/-)", None, &|t| parse_external_id(t).map(|_| ()))?
        };
        (vendor.parse::<AccountId>().ok(), Some(external))
    };
    let storage_access = p.confirm(&format!("Let the vendor read the flow logs in {bucket}?"), true)?;
    let vendor_modes = ask_vendor_modes(p, facts)?;
    let wait = p.confirm("After applying, wait for the first delivery (about 10 minutes)?", false)?.then_some(15 * 60);
    Ok(OnboardArgs {
        bucket,
        bucket_region: None,
        prefix: None,
        regions: chosen,
        vendor_account,
        vendor_modes,
        external_id,
        role_name: None,
        stack_name: stack_name.to_owned(),
        storage_access,
        storage_ids: Vec::new(),
        format: "required".to_owned(),
        ecs: false,
        traffic_type: TrafficType::All,
        replace: false,
        replace_unmanaged: false,
        expire_days: None,
        fix_encryption: false,
        tags: Vec::new(),
        wait,
        concurrency: 8,
        exit_code: false,
        watch: false,
    })
}

/// The vendor's optional products: a compliance account and the read-write (segmentation
/// enforcement) mode, both off unless chosen. On an existing stack, "no" to the compliance
/// question keeps what the stack has; read-write is asked every time, since a deploy without it
/// removes it.
fn ask_vendor_modes(p: &mut dyn Prompter, facts: &AccountFacts) -> Result<VendorModeArgs> {
    let question = if facts.stack_exists {
        "Trust a (new) compliance account of the vendor (its compliance product), with the same ExternalId?"
    } else {
        "Also trust the vendor's compliance account (its compliance product), with the same ExternalId?"
    };
    let compliance_account = if p.confirm(question, false)? {
        p.input("The vendor's compliance account id (12 digits)", None, &valid::<AccountId>)?.parse::<AccountId>().ok()
    } else {
        None
    };
    let read_write = p.confirm("Let the vendor manage security-group rules (read-write: segmentation enforcement)?", false)?;
    Ok(VendorModeArgs { compliance_account, no_compliance: false, read_write })
}

/// The equivalent non-interactive command line, for automation.
pub fn command_line(args: &OnboardArgs) -> String {
    let mut line = format!("flowgate onboard --bucket {}", args.bucket);
    if !args.regions.is_empty() {
        line.push_str(&format!(" --regions {}", args.regions.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")));
    }
    if let Some(vendor) = &args.vendor_account {
        line.push_str(&format!(" --vendor-account {vendor}"));
    }
    if let Some(external) = &args.external_id {
        line.push_str(&format!(" --external-id {external}"));
    }
    if args.storage_access {
        line.push_str(" --storage-access");
    }
    if args.fix_encryption {
        line.push_str(" --fix-encryption");
    }
    if let Some(compliance) = &args.vendor_modes.compliance_account {
        line.push_str(&format!(" --compliance-account {compliance}"));
    }
    if args.vendor_modes.read_write {
        line.push_str(" --read-write");
    }
    if args.stack_name != crate::core::stack_plan::DEFAULT_STACK_NAME {
        line.push_str(&format!(" --stack-name {}", args.stack_name));
    }
    if args.watch {
        line.push_str(" --watch");
    }
    line.push_str(" --yes");
    line
}

pub async fn wizard(ctx: &Ctx, args: &WizardArgs) -> Result<OnboardReport> {
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(Error::input(
            "the wizard needs a terminal to ask its questions",
            Some("for automation use flowgate onboard --bucket NAME --vendor-account ID --storage-access --yes".to_owned()),
        ));
    }
    let identity = ctx.identity().await?.clone();
    ctx.printer.status("reading the account (buckets, role stack)...");
    let buckets = match crate::aws::s3::list_buckets_with_encryption(&ctx.s3(&ctx.home_region), 100).await {
        Ok(buckets) => buckets,
        Err(e) => {
            // Not a reason to stop: a new bucket, or a name typed in, still works.
            ctx.printer.status(format_args!("could not list the account's buckets ({e}): name a new or existing bucket instead"));
            Vec::new()
        }
    };
    let stack_exists = crate::aws::cloudformation::describe_stack(&ctx.cloudformation(), &args.stack_name).await?.is_some();
    let facts =
        AccountFacts { account: identity.account.clone(), principal: identity.arn.clone(), region: ctx.home_region.clone(), buckets, stack_exists };

    let mut prompter = TerminalPrompter;
    let facts_for_bucket = facts.clone();
    let bucket = tokio::task::block_in_place(|| ask_bucket(&mut prompter, &facts_for_bucket))?;
    let Some(bucket) = bucket else {
        return Err(Error::refused("stopped: nothing was applied", None));
    };
    // The bucket as `bucket create` reads it (a name typed in may be an existing bucket too).
    let observed = crate::aws::s3::observe_bucket(&ctx.clients, &ctx.home_region, &bucket, &identity.account).await?;
    let fix_encryption = tokio::task::block_in_place(|| ask_encryption(&mut prompter, &bucket, &observed.encryption))?;

    ctx.printer.status("reading regions and their flow logs...");
    let scope = ScopeArgs { regions: args.regions.clone(), vpcs: Vec::new(), concurrency: 8 };
    let regions = resolve_regions(ctx, &scope).await?;
    let spec = crate::cli::FlowLogSpecArgs {
        bucket: bucket.clone(),
        prefix: None,
        format: "required".to_owned(),
        ecs: false,
        traffic_type: TrafficType::All,
        max_aggregation_interval: 600,
        file_format: crate::core::flowlog_plan::FileFormat::PlainText,
        hive_partitions: false,
        per_hour_partition: false,
    };
    let desired = desired_flow_log(&spec, &identity.partition)?;
    let (covered, _) = coverage(ctx, &desired, &regions, &scope).await?;
    let region_facts: RegionFacts = covered.iter().map(|c| (c.region.clone(), c.vpcs, c.compliant)).collect();
    let asked = tokio::task::block_in_place(|| ask_rest(&mut prompter, &facts, bucket, &region_facts, &args.stack_name))?;
    let onboard_args = OnboardArgs { fix_encryption, watch: args.watch, ..asked };

    // The same plan, confirmation, apply and verify as `onboard`.
    let mut report = onboard(ctx, &onboard_args).await?;
    report.equivalent_command = Some(command_line(&onboard_args));
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(buckets: Vec<ListedBucket>, stack_exists: bool) -> AccountFacts {
        AccountFacts {
            account: "123456789012".into(),
            principal: "arn:aws:iam::123456789012:user/admin".into(),
            region: "eu-west-1".into(),
            buckets,
            stack_exists,
        }
    }

    fn script(answers: Vec<Answer>) -> ScriptedPrompter {
        ScriptedPrompter { answers: answers.into(), ..ScriptedPrompter::default() }
    }

    #[test]
    fn new_bucket_with_the_suggested_name_and_a_generated_external_id() {
        let mut p = script(vec![Answer::Yes, Answer::Text(None)]);
        let bucket = ask_bucket(&mut p, &facts(Vec::new(), false)).unwrap().unwrap();
        assert_eq!(bucket.as_str(), "flowgate-flow-logs-123456789012-eu-west-1");

        let regions = vec![("eu-west-1".to_owned(), 2, 0), ("us-east-1".to_owned(), 3, 1)];
        // Regions: the default (all); vendor: a bad id first (asked again), then a good one.
        let mut p = script(vec![
            Answer::Picks(vec![0, 1]),
            Answer::Text(Some("12345".into())),
            Answer::Text(Some("111122223333".into())),
            Answer::Yes,
            Answer::Yes,
            Answer::No,
            Answer::No,
            Answer::No,
        ]);
        let args = ask_rest(&mut p, &facts(Vec::new(), false), bucket, &regions, "flowgate-cross-account").unwrap();
        assert!(args.vendor_modes.compliance_account.is_none() && !args.vendor_modes.read_write, "both off by default");
        assert_eq!(args.regions.len(), 2);
        assert_eq!(args.vendor_account.as_ref().map(|a| a.as_str()), Some("111122223333"));
        assert_eq!(args.external_id.as_ref().map(String::len), Some(32));
        assert!(args.storage_access && args.wait.is_none());
        assert_eq!(p.asked.iter().filter(|q| q.contains("vendor's AWS account id")).count(), 2, "the invalid id was asked again");
        let line = command_line(&args);
        assert!(line.starts_with("flowgate onboard --bucket flowgate-flow-logs-123456789012-eu-west-1 --regions eu-west-1,us-east-1 --vendor-account 111122223333 --external-id "));
        assert!(line.ends_with(" --storage-access --yes"));
    }

    #[test]
    fn an_existing_bucket_is_picked_from_the_list() {
        let listed = |name: &str, region: &str, encryption: DefaultEncryption| ListedBucket {
            name: name.into(),
            region: Ok(region.into()),
            encryption: Ok(encryption),
        };
        let buckets = vec![
            listed("kms-bucket", "us-east-1", DefaultEncryption::from_algorithm("aws:kms", None)),
            listed("plain-bucket", "eu-west-1", DefaultEncryption::SseS3),
        ];
        assert!(bucket_item(&buckets[0]).contains("WARNING: SSE-KMS") && !bucket_item(&buckets[1]).contains("WARNING"));
        let mut p = script(vec![Answer::Yes, Answer::Pick(1), Answer::Pick(1)]);
        assert_eq!(ask_bucket(&mut p, &facts(buckets, false)).unwrap().unwrap().as_str(), "plain-bucket");
    }

    #[test]
    fn an_existing_stack_keeps_its_vendor_and_external_id() {
        let regions = vec![("eu-west-1".to_owned(), 1, 1)];
        let mut p = script(vec![Answer::Picks(vec![0]), Answer::Yes, Answer::No, Answer::No, Answer::No, Answer::No]);
        let args = ask_rest(&mut p, &facts(Vec::new(), true), "b-bucket".parse().unwrap(), &regions, "s").unwrap();
        assert!(args.vendor_account.is_none() && args.external_id.is_none());
        assert!(!args.storage_access);
    }

    /// The vendor's optional products: a compliance account (its id validated) and read-write.
    #[test]
    fn compliance_account_and_read_write_when_chosen() {
        let regions = vec![("eu-west-1".to_owned(), 1, 1)];
        let mut p = script(vec![
            Answer::Picks(vec![0]),
            Answer::Yes,
            Answer::Yes,
            Answer::Yes,
            Answer::Text(Some("4444".into())),
            Answer::Text(Some("444455556666".into())),
            Answer::Yes,
            Answer::No,
        ]);
        let args = ask_rest(&mut p, &facts(Vec::new(), true), "b-bucket".parse().unwrap(), &regions, "s").unwrap();
        assert_eq!(args.vendor_modes.compliance_account.as_ref().map(|a| a.as_str()), Some("444455556666"));
        assert!(args.vendor_modes.read_write && !args.vendor_modes.no_compliance);
        assert!(p.asked.iter().any(|q| q.contains("read-write")), "{:?}", p.asked);
        let line = command_line(&args);
        assert!(line.contains(" --storage-access --compliance-account 444455556666 --read-write "), "{line}");
    }

    /// A KMS bucket is named as such once chosen, in `bucket create`'s words; yes switches it
    /// (and the command line carries onboard's --fix-encryption), no stops with what to do in
    /// the wizard's own terms.
    #[test]
    fn a_kms_bucket_is_named_then_switched_or_the_wizard_stops() {
        let bucket: BucketName = "kms-bucket".parse().unwrap();
        let kms = DefaultEncryption::from_algorithm("aws:kms", Some("alias/logs".into()));
        let mut p = script(vec![Answer::Yes]);
        assert!(ask_encryption(&mut p, &bucket, &kms).unwrap());
        let judgement = kms.kms_refusal("kms-bucket").map(|r| r.to_string());
        assert_eq!(p.notes.first(), judgement.as_ref(), "bucket create's judgement, word for word");
        assert!(p.notes[0].contains("SSE-KMS") && p.notes[0].contains("alias/logs"), "{:?}", p.notes);
        assert!(p.asked[0].starts_with("Switch the default encryption of kms-bucket to SSE-S3"), "{:?}", p.asked);

        let mut p = script(vec![Answer::No]);
        let err = ask_encryption(&mut p, &bucket, &kms).unwrap_err();
        assert!(matches!(err, Error::Refused { .. }), "{err:?}");
        let text = format!("{err} / {}", err.hint().unwrap_or_default());
        assert!(text.contains("nothing was changed") && text.contains("run flowgate wizard again"), "{text}");
        assert!(!text.contains("--"), "no flag the wizard lacks: {text}");

        for accepted in [DefaultEncryption::SseS3, DefaultEncryption::NotConfigured, DefaultEncryption::from_algorithm("AES256", None)] {
            let mut p = script(Vec::new());
            assert!(!ask_encryption(&mut p, &bucket, &accepted).unwrap());
            assert!(p.asked.is_empty() && p.notes.is_empty(), "nothing said about {accepted:?}");
        }

        let regions = vec![("eu-west-1".to_owned(), 1, 1)];
        let mut p = script(vec![Answer::Picks(vec![0]), Answer::Yes, Answer::Yes, Answer::No, Answer::No, Answer::No]);
        let args = OnboardArgs { fix_encryption: true, ..ask_rest(&mut p, &facts(Vec::new(), true), bucket, &regions, "s").unwrap() };
        assert!(command_line(&args).contains(" --storage-access --fix-encryption"), "{}", command_line(&args));
    }

    #[test]
    fn declining_or_interrupting_applies_nothing() {
        let mut p = script(vec![Answer::No]);
        assert!(ask_bucket(&mut p, &facts(Vec::new(), false)).unwrap().is_none());
        let mut p = script(vec![Answer::Yes, Answer::Interrupt]);
        assert!(matches!(ask_bucket(&mut p, &facts(Vec::new(), false)), Err(Error::Interrupted)));
        let mut p = script(vec![Answer::Picks(Vec::new())]);
        let err = ask_rest(&mut p, &facts(Vec::new(), false), "b-bucket".parse().unwrap(), &vec![("eu-west-1".into(), 1, 0)], "s").unwrap_err();
        assert!(matches!(err, Error::Input { .. }));
    }
}
