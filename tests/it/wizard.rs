//! `flowgate wizard` driven in a pseudo-terminal against the emulator: answers typed, the plan
//! shown, applied, the summary printed. And without a terminal it refuses.

use std::process::Command;

use rexpect::session::{PtySession, spawn_command};

use crate::support::{Env, block_on, stderr};

fn wizard_command(env: &Env, regions: &str) -> Command {
    let mut cmd = env.flowgate_process();
    cmd.env("TERM", "xterm").args(["wizard", "--regions", regions]);
    cmd
}

/// Answers a yes/no question with one key, once the prompt waits for it: a key sent before the
/// prompt switches the terminal to raw mode would be flushed away.
fn key(session: &mut PtySession, question: &str, answer: &str) {
    session.exp_string(question).unwrap();
    session.exp_regex(r"\[[yY]/[nN]\]").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    session.send(answer).unwrap();
    session.flush().unwrap();
}

/// Answers a text or list question with a line, once the prompt is shown.
fn line(session: &mut PtySession, question: &str, answer: &str) {
    session.exp_string(question).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    session.send_line(answer).unwrap();
}

#[test]
fn wizard_onboards_an_account_in_a_terminal() {
    let env = Env::isolated();
    let mut session = spawn_command(wizard_command(&env, "us-east-1,eu-west-1"), Some(60_000)).expect("spawn the wizard in a pty");
    key(&mut session, "Onboard account 123456789012", "y");
    // No bucket yet: straight to the name, with the suggested default.
    line(&mut session, "Bucket name", "");
    line(&mut session, "Regions to enable flow logs in", "");
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
    let status = session.process().wait().unwrap();
    assert!(matches!(status, rexpect::process::WaitStatus::Exited(_, 130)), "{status:?}");
    assert_eq!(env.proxy.mutating_calls(), Vec::<String>::new(), "nothing applied");
}
