//! `flowgate wizard` driven in a pseudo-terminal against the emulator: answers typed, the plan
//! shown, applied, the summary printed. And without a terminal it refuses.

use std::process::Command;

use aws_sdk_ec2::types::{FlowLogsResourceType, LogDestinationType, ResourceType, TagSpecification, TrafficType};
use aws_sdk_s3::types::{ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule};
use rexpect::session::{PtySession, spawn_command};

use crate::support::{Env, block_on, stderr};

pub(crate) fn wizard_command(env: &Env, regions: &str) -> Command {
    let mut cmd = env.flowgate_process();
    cmd.env("TERM", "xterm").args(["wizard", "--regions", regions]);
    cmd
}

/// Answers a yes/no question with one key, once the prompt waits for it: a key sent before the
/// prompt switches the terminal to raw mode would be flushed away.
pub(crate) fn key(session: &mut PtySession, question: &str, answer: &str) {
    session.exp_string(question).unwrap();
    session.exp_regex(r"\[[yY]/[nN]\]").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    session.send(answer).unwrap();
    session.flush().unwrap();
}

/// Answers a text or list question with a line, once the prompt is shown.
pub(crate) fn line(session: &mut PtySession, question: &str, answer: &str) {
    session.exp_string(question).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    session.send_line(answer).unwrap();
}

/// Picks the item `index` (from 0) of a list question: arrow down, then Enter.
fn pick(session: &mut PtySession, question: &str, index: usize) {
    session.exp_string(question).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    for _ in 0..index {
        session.send("\x1b[B").unwrap();
        session.flush().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    session.send_line("").unwrap();
}

/// The questions after the regions, answered as a first onboarding does.
pub(crate) fn vendor_answers(session: &mut PtySession) {
    line(session, "account id (12 digits)", "111122223333");
    key(session, "Generate a strong random ExternalId?", "y");
    key(session, "Let the vendor read the flow logs", "y");
    key(session, "Also trust the vendor's compliance account", "n");
    key(session, "Let the vendor manage security-group rules", "n");
    key(session, "wait for the first delivery", "n");
}

#[test]
fn wizard_onboards_an_account_in_a_terminal() {
    let env = Env::isolated();
    let mut session = spawn_command(wizard_command(&env, "us-east-1,eu-west-1"), Some(60_000)).expect("spawn the wizard in a pty");
    key(&mut session, "Onboard account 123456789012", "y");
    // No bucket yet: straight to the name, with the suggested default.
    line(&mut session, "Bucket name", "");
    line(&mut session, "Regions to enable flow logs in", "");
    // Once chosen, the regions are echoed by name: the list's notes (VPC counts) were for choosing.
    let (_, echo) = session.exp_regex(r"Regions to enable flow logs in[^\r\n]*").unwrap();
    assert!(echo.ends_with(": eu-west-1, us-east-1"), "{echo:?}");
    line(&mut session, "account id (12 digits)", "111122223333");
    key(&mut session, "Generate a strong random ExternalId?", "y");
    key(&mut session, "Let the vendor read the flow logs", "y");
    // The vendor's optional products, off unless chosen.
    key(&mut session, "Also trust the vendor's compliance account", "n");
    key(&mut session, "Let the vendor manage security-group rules", "n");
    key(&mut session, "wait for the first delivery", "n");
    session.exp_string("Plan for onboarding").unwrap();
    key(&mut session, "Apply", "y");
    session.exp_string("For the vendor's portal").unwrap();
    session.exp_string("The same onboarding, for automation").unwrap();
    session.exp_string("flowgate onboard --bucket flowgate-flow-logs-123456789012-us-east-1 --regions").unwrap();
    session.exp_eof().unwrap();

    // It was applied for real.
    let flow_logs: usize =
        ["us-east-1", "eu-west-1"].iter().map(|r| block_on(env.ec2(r).describe_flow_logs().send()).unwrap().flow_logs().len()).sum();
    assert_eq!(flow_logs, 2);
    let status = env.flowgate().args(["stack", "status"]).output().unwrap();
    assert!(status.status.success(), "the stack exists");
}

#[test]
fn without_a_terminal_the_wizard_points_at_onboard() {
    let env = Env::shared();
    let output = env.flowgate().arg("wizard").output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("needs a terminal") && stderr(&output).contains("flowgate onboard"), "{}", stderr(&output));
    assert!(env.proxy.requests().is_empty(), "nothing read or changed");
}

#[test]
fn ctrl_c_at_a_prompt_exits_130_with_nothing_applied() {
    let env = Env::isolated();
    let mut session = spawn_command(wizard_command(&env, "us-east-1"), Some(30_000)).expect("spawn the wizard in a pty");
    session.exp_string("Onboard account 123456789012").unwrap();
    session.exp_regex(r"\[[yY]/[nN]\]").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    session.send_control('c').unwrap();
    let said = session.exp_eof().unwrap();
    let status = session.process().wait().unwrap();
    assert!(matches!(status, rexpect::process::WaitStatus::Exited(_, 130)), "{status:?}");
    // Nothing ran: no step to finish, and it says that nothing was changed.
    assert!(said.contains("nothing was changed") && !said.contains("finishing the current step"), "{said}");
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new(), "nothing applied");
}

/// A flow log tagged flowgate:managed=true is flowgate's, also when it delivers to another bucket
/// (an earlier onboarding's): the wizard's plan says so, as `flowlogs disable` and `offboard`
/// would delete it.
#[test]
fn the_wizard_names_a_flowgate_tagged_flow_log_to_another_bucket_as_flowgates() {
    let env = Env::isolated();
    let earlier = "flowgate-earlier-bucket";
    block_on(env.s3("us-east-1").create_bucket().bucket(earlier).send()).unwrap();
    let ec2 = env.ec2("us-east-1");
    let vpcs = block_on(ec2.describe_vpcs().send()).unwrap();
    let vpc = vpcs.vpcs().iter().find(|v| v.is_default() == Some(true)).and_then(|v| v.vpc_id()).unwrap().to_owned();
    let tag = aws_sdk_ec2::types::Tag::builder().key("flowgate:managed").value("true").build();
    let created = block_on(
        ec2.create_flow_logs()
            .resource_ids(&vpc)
            .resource_type(FlowLogsResourceType::Vpc)
            .traffic_type(TrafficType::All)
            .log_destination_type(LogDestinationType::S3)
            .log_destination(format!("arn:aws:s3:::{earlier}"))
            .tag_specifications(TagSpecification::builder().resource_type(ResourceType::VpcFlowLog).tags(tag).build())
            .send(),
    )
    .unwrap();
    let flow_log = created.flow_log_ids()[0].clone();

    let mut session = spawn_command(wizard_command(&env, "us-east-1"), Some(60_000)).expect("spawn the wizard in a pty");
    key(&mut session, "Onboard account 123456789012", "y");
    // The account has a bucket now: the first choice, a new one.
    line(&mut session, "Flow-log bucket", "");
    line(&mut session, "Bucket name", "");
    line(&mut session, "Regions to enable flow logs in", "");
    vendor_answers(&mut session);
    session.exp_string("Plan for onboarding").unwrap();
    let (plan, _) = session.exp_regex(r"Apply \d+ change").unwrap();
    let other = plan.lines().find(|l| l.contains(&flow_log)).unwrap_or_else(|| panic!("no line for {flow_log}: {plan}"));
    assert!(other.contains("other-flow-log") && other.contains("flowgate's (tagged flowgate:managed=true)"), "{other}");
    assert!(!other.contains("not flowgate's"), "{other}");
    assert!(other.contains(&format!("flowgate flowlogs disable --bucket {earlier}")), "{other}");
    key(&mut session, "", "n");
    session.exp_eof().unwrap();
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new(), "declined: nothing applied");
}

fn put_kms_encryption(env: &Env, bucket: &str) {
    let s3 = env.s3("us-east-1");
    block_on(s3.create_bucket().bucket(bucket).send()).unwrap();
    let by_default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::AwsKms)
        .kms_master_key_id("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")
        .build()
        .unwrap();
    let kms = ServerSideEncryptionConfiguration::builder()
        .rules(ServerSideEncryptionRule::builder().apply_server_side_encryption_by_default(by_default).build())
        .build()
        .unwrap();
    block_on(s3.put_bucket_encryption().bucket(bucket).server_side_encryption_configuration(kms).send()).unwrap();
}

/// Chooses the account's one existing bucket (SSE-KMS): the wizard says so at once, then asks to
/// switch it to SSE-S3.
fn choose_the_kms_bucket(session: &mut PtySession) {
    key(session, "Onboard account 123456789012", "y");
    pick(session, "Flow-log bucket", 1);
    line(session, "Which bucket?", "");
    session.exp_string("encrypts new objects with SSE-KMS").unwrap();
    session.exp_string("cannot read KMS-encrypted flow logs").unwrap();
}

/// A bucket with SSE-KMS default encryption (which the vendor cannot read), chosen in the wizard:
/// "no" stops there, nothing changed, with what to do in the wizard's terms (no flag of onboard's);
/// "yes" puts the switch to SSE-S3 in the plan, applies it, and the command line carries it.
#[test]
fn a_kms_bucket_chosen_in_the_wizard_is_switched_to_sse_s3_or_the_wizard_stops() {
    let env = Env::isolated();
    let bucket = "flowgate-kms-bucket";
    put_kms_encryption(&env, bucket);

    let mut session = spawn_command(wizard_command(&env, "us-east-1"), Some(60_000)).expect("spawn the wizard in a pty");
    choose_the_kms_bucket(&mut session);
    key(&mut session, "Switch the default encryption of flowgate-kms-bucket to SSE-S3", "n");
    let said = session.exp_eof().unwrap();
    assert!(matches!(session.process().wait().unwrap(), rexpect::process::WaitStatus::Exited(_, 1)));
    assert!(said.contains("keeps SSE-KMS") && said.contains("nothing was changed") && said.contains("run flowgate wizard again"), "{said}");
    assert!(!said.contains("--fix-encryption"), "a flag the wizard lacks: {said}");
    assert!(!said.contains("Regions to enable"), "stopped at the bucket: {said}");
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new(), "nothing changed");

    let mut session = spawn_command(wizard_command(&env, "us-east-1"), Some(90_000)).expect("spawn the wizard in a pty");
    choose_the_kms_bucket(&mut session);
    key(&mut session, "Switch the default encryption of flowgate-kms-bucket to SSE-S3", "y");
    line(&mut session, "Regions to enable flow logs in", "");
    vendor_answers(&mut session);
    session.exp_string("Plan for onboarding").unwrap();
    let (plan, _) = session.exp_regex(r"Apply \d+ change").unwrap();
    let switch = plan.lines().find(|l| l.contains("put-bucket-encryption")).unwrap_or_else(|| panic!("no encryption change: {plan}"));
    assert!(switch.contains("replace default encryption aws:kms with SSE-S3 (AES256)"), "{switch}");
    key(&mut session, "", "y");
    session.exp_string("The same onboarding, for automation").unwrap();
    let (_, command) = session.exp_regex(r"flowgate onboard --bucket flowgate-kms-bucket [^\r\n]*").unwrap();
    assert!(command.contains(" --fix-encryption"), "{command}");
    session.exp_eof().unwrap();
    let encryption = block_on(env.s3("us-east-1").get_bucket_encryption().bucket(bucket).send()).unwrap();
    let rule = &encryption.server_side_encryption_configuration().unwrap().rules()[0];
    assert_eq!(rule.apply_server_side_encryption_by_default().unwrap().sse_algorithm(), &ServerSideEncryption::Aes256);
}
