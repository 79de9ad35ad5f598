//! The one apply runner every mutating command goes through: a command observes, plans (a list of
//! steps, each with the changes the plan table shows and the action that applies them), prints
//! the plan, and hands it to [`run`], which owns what every apply must do the same way: the
//! confirmation, the interrupt check before each step (the current step finishes, the rest are
//! "not attempted"), recording a failure with its hint, stopping after a failure when later steps
//! depend on earlier ones, progress, and the tally the exit code is computed from.

use std::future::Future;
use std::io::IsTerminal;
use std::pin::Pin;

use futures::stream::{self, StreamExt};

use crate::core::report::{Change, ChangeStatus, ChangeTally};
use crate::error::{AwsErrorKind, Error, Result, code_hint, general_hint};
use crate::output::Printer;

/// What to do once a plan is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Apply,
    /// `--dry-run`: stop after the plan.
    DryRun,
    /// The plan has nothing to apply.
    NothingToDo,
}

/// How a run applies its plan: `--dry-run` and `--yes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ApplyMode {
    pub dry_run: bool,
    pub yes: bool,
}

impl ApplyMode {
    /// Plan only, never apply (how onboard/offboard plan their sub-steps).
    pub const PLAN_ONLY: ApplyMode = ApplyMode { dry_run: true, yes: false };
    /// Apply without asking (how onboard/offboard apply a plan confirmed once for all).
    pub const APPLY: ApplyMode = ApplyMode { dry_run: false, yes: true };
}

/// Asks for confirmation of a plan with `pending` changes: `--yes` applies, `--dry-run` stops,
/// a terminal is asked, and anything else is refused (exit 2) rather than applied unasked.
pub fn confirm(mode: ApplyMode, pending: usize, question: &str) -> Result<Decision> {
    confirm_with_details(mode, pending, 0, question)
}

/// [`confirm`] for a plan whose changes show `details` lines of their own (a stack deploy is one
/// change, its resources and parameters are lines of it): the refusal names both, so the count
/// matches the table above it.
pub fn confirm_with_details(mode: ApplyMode, pending: usize, details: usize, question: &str) -> Result<Decision> {
    if pending == 0 {
        return Ok(Decision::NothingToDo);
    }
    if mode.dry_run {
        return Ok(Decision::DryRun);
    }
    if mode.yes {
        return Ok(Decision::Apply);
    }
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(Error::input(
            match details {
                0 => format!("the plan has {pending} change(s) and no terminal to confirm them on"),
                _ => format!("the plan has {pending} change(s) ({details} more line(s) of them above) and no terminal to confirm them on"),
            },
            Some("re-run with --yes to apply, or --dry-run to only see the plan".to_owned()),
        ));
    }
    let prompt = crate::interrupt::PromptGuard::new();
    let answer = dialoguer::Confirm::new().with_prompt(question).default(false).interact_opt();
    match answer {
        Ok(Some(true)) => Ok(Decision::Apply),
        Ok(Some(false)) | Ok(None) => Err(Error::refused("not applied: the plan was declined", None)),
        Err(_) => {
            prompt.stopped();
            Err(Error::Interrupted)
        }
    }
}

/// An error as a failed change carries it: the message and what to do about it. Every failed
/// change carries a hint: the error's own, else the remedy for its kind.
pub fn error_text(error: &Error) -> String {
    format!("{error} (hint: {})", failure_hint(error))
}

/// What to do about an error that failed a change: its own hint, else one for its kind.
pub fn failure_hint(error: &Error) -> String {
    if let Some(hint) = error.hint() {
        return hint.to_owned();
    }
    match error {
        // The profile-specific remedy is the command's (Ctx::with_credentials_hint); a change
        // that failed on credentials mid-run gets the general one.
        Error::Aws { kind: AwsErrorKind::Credentials, .. } => {
            "the credentials were refused or have expired: refresh them (aws sso login, new keys) or pass --profile NAME, then re-run".to_owned()
        }
        Error::Aws { code, .. } => code.as_deref().and_then(code_hint).map(str::to_owned).unwrap_or_else(|| general_hint(code.as_deref())),
        Error::Io { .. } => "check the file or terminal the message names, then re-run".to_owned(),
        Error::Input { .. } | Error::Refused { .. } | Error::Interrupted => general_hint(None),
    }
}

/// What a step's action reports once it ran.
#[derive(Debug)]
pub enum Done {
    /// Every planned change of the step was applied.
    Changed,
    /// AWS already had it (a concurrent run, a retried call): shown as "(already done)".
    AlreadyDone,
    /// The step says what became of each of its changes itself (a region's flow logs, a composed
    /// sub-command), and optionally an error of the step as a whole.
    Report { changes: Vec<Change>, error: Option<String> },
}

type Action<'a> = Pin<Box<dyn Future<Output = Result<Done>> + Send + 'a>>;

/// One step of a plan: the changes the plan table shows, and the action that applies them
/// (none when the step has nothing to apply: already right, or a region that could not be read).
pub struct Step<'a> {
    changes: Vec<Change>,
    action: Option<Action<'a>>,
    /// The changes' "already right" is a prediction that holds only once the steps before it
    /// have applied (a new bucket's default settings): after a failure they are not attempted.
    predicted: bool,
}

impl<'a> Step<'a> {
    pub fn new(changes: Vec<Change>, action: impl Future<Output = Result<Done>> + Send + 'a) -> Self {
        Step { changes, action: Some(Box::pin(action)), predicted: false }
    }

    /// Changes shown in the plan with nothing to apply.
    pub fn shown(changes: Vec<Change>) -> Self {
        Step { changes, action: None, predicted: false }
    }

    /// Changes shown as already right because an earlier step makes them so (a setting a new
    /// bucket has by default): right once that step applied, "not attempted" after a failure.
    pub fn predicted(changes: Vec<Change>) -> Self {
        Step { changes, action: None, predicted: true }
    }

    fn pending(&self) -> bool {
        self.action.is_some() && self.changes.iter().any(|c| c.status == ChangeStatus::Planned)
    }
}

/// What happens to the rest of a plan when a step fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// Later steps depend on earlier ones (a bucket policy needs the bucket): run one at a time
    /// and mark the rest "not attempted" after a failure.
    Stop,
    /// The steps are independent (flow logs per region): run up to `concurrency` at once and
    /// keep going after a failure.
    Continue { concurrency: usize },
}

pub struct Plan<'a> {
    pub steps: Vec<Step<'a>>,
    pub on_failure: OnFailure,
    /// The count the question and the "no terminal" error name; by default the steps to apply.
    pub pending: Option<usize>,
    /// A progress bar over the steps (e.g. "applying"), drawn only on a terminal.
    pub progress: Option<&'static str>,
}

impl<'a> Plan<'a> {
    pub fn new(steps: Vec<Step<'a>>, on_failure: OnFailure) -> Self {
        Plan { steps, on_failure, pending: None, progress: None }
    }

    pub fn pending(&self) -> usize {
        self.pending.unwrap_or_else(|| self.steps.iter().filter(|s| s.pending()).count())
    }

    /// The count a person checks against the plan table: its planned changes (one per line,
    /// except the lines that detail another, such as the resources of a stack deploy: see
    /// `ChangeTally`), or the steps when they are more.
    pub fn shown_pending(&self) -> usize {
        match self.pending() {
            0 => 0,
            steps => {
                let changes = self.steps.iter().flat_map(|s| &s.changes).filter(|c| c.status == ChangeStatus::Planned && c.part_of.is_none());
                changes.count().max(steps)
            }
        }
    }

    /// Every change of the plan, as the plan table shows it.
    pub fn changes(&self) -> Vec<Change> {
        self.steps.iter().flat_map(|s| s.changes.iter().cloned()).collect()
    }
}

/// What became of one step.
#[derive(Debug, Clone)]
pub struct StepOutcome {
    pub changes: Vec<Change>,
    pub error: Option<String>,
}

/// What became of a plan.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub decision: Decision,
    pub steps: Vec<StepOutcome>,
    pub tally: ChangeTally,
}

impl Outcome {
    /// Every change, in plan order.
    pub fn changes(&self) -> Vec<Change> {
        self.steps.iter().flat_map(|s| s.changes.iter().cloned()).collect()
    }

    /// Whether anything was applied (the plan was confirmed).
    pub fn applied(&self) -> bool {
        self.decision == Decision::Apply
    }
}

fn mark_planned(changes: &mut [Change], status: ChangeStatus) {
    for change in changes.iter_mut().filter(|c| c.status == ChangeStatus::Planned) {
        change.status = status;
    }
}

/// Applies one step's result to its changes.
fn settle(mut changes: Vec<Change>, result: Result<Done>) -> StepOutcome {
    match result {
        Ok(Done::Changed) => {
            mark_planned(&mut changes, ChangeStatus::Applied);
            StepOutcome { changes, error: None }
        }
        Ok(Done::AlreadyDone) => {
            for change in changes.iter_mut().filter(|c| c.status == ChangeStatus::Planned) {
                change.status = ChangeStatus::Skipped;
                change.detail = format!("{} (already done)", change.detail);
            }
            StepOutcome { changes, error: None }
        }
        Ok(Done::Report { changes, error }) => StepOutcome { changes, error },
        Err(Error::Interrupted) => {
            mark_planned(&mut changes, ChangeStatus::NotAttempted);
            StepOutcome { changes, error: None }
        }
        Err(e) => {
            let text = error_text(&e);
            let mut first = true;
            for change in changes.iter_mut().filter(|c| c.status == ChangeStatus::Planned) {
                change.status = ChangeStatus::Failed;
                if first {
                    change.error = Some(text.clone());
                    first = false;
                }
            }
            StepOutcome { changes, error: None }
        }
    }
}

fn step_failed(outcome: &StepOutcome) -> bool {
    outcome.error.is_some() || outcome.changes.iter().any(|c| c.status == ChangeStatus::Failed)
}

/// Runs one step unless the user asked to stop: then its planned changes are "not attempted".
async fn run_step(step: Step<'_>) -> StepOutcome {
    let Step { mut changes, action, .. } = step;
    match action {
        Some(action) if changes.iter().any(|c| c.status == ChangeStatus::Planned) || changes.is_empty() => {
            if crate::interrupt::requested() {
                mark_planned(&mut changes, ChangeStatus::NotAttempted);
                return StepOutcome { changes, error: None };
            }
            settle(changes, action.await)
        }
        _ => StepOutcome { changes, error: None },
    }
}

/// Confirms `plan` (`question` when a terminal asks) and applies it; see the module comment.
pub async fn run(mode: ApplyMode, printer: &Printer, plan: Plan<'_>, question: &str) -> Result<Outcome> {
    let details = plan.steps.iter().flat_map(|s| &s.changes).filter(|c| c.part_of.is_some() && c.status == ChangeStatus::Planned).count();
    let decision = confirm_with_details(mode, plan.shown_pending(), details, question)?;
    if decision != Decision::Apply {
        let steps: Vec<StepOutcome> = plan.steps.into_iter().map(|s| StepOutcome { changes: s.changes, error: None }).collect();
        return Ok(finish(decision, steps));
    }
    let Plan { steps, on_failure, progress, .. } = plan;
    let bar = progress.and_then(|what| printer.progress(steps.len(), what));
    let outcomes = match on_failure {
        OnFailure::Stop => {
            let mut outcomes = Vec::with_capacity(steps.len());
            let mut failed = false;
            for step in steps {
                let outcome = if failed {
                    let predicted = step.predicted;
                    let mut changes = step.changes;
                    mark_planned(&mut changes, ChangeStatus::NotAttempted);
                    if predicted {
                        for change in changes.iter_mut().filter(|c| c.status == ChangeStatus::Skipped) {
                            change.status = ChangeStatus::NotAttempted;
                        }
                    }
                    StepOutcome { changes, error: None }
                } else {
                    run_step(step).await
                };
                failed = failed || step_failed(&outcome);
                if let Some(bar) = &bar {
                    bar.inc(1);
                }
                outcomes.push(outcome);
            }
            outcomes
        }
        OnFailure::Continue { concurrency } => {
            // Completion order differs from plan order: each outcome keeps its index. (The
            // futures are made up front, not by a stream's closure: a closure-made future is not
            // provably `Send` once a composed command boxes this one.)
            let pending: Vec<_> = steps.into_iter().enumerate().map(|(i, step)| indexed_step(i, step, bar.clone())).collect();
            let mut indexed: Vec<(usize, StepOutcome)> = stream::iter(pending).buffer_unordered(concurrency.max(1)).collect().await;
            indexed.sort_by_key(|(i, _)| *i);
            indexed.into_iter().map(|(_, o)| o).collect()
        }
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(finish(decision, outcomes))
}

async fn indexed_step(index: usize, step: Step<'_>, bar: Option<indicatif::ProgressBar>) -> (usize, StepOutcome) {
    let outcome = run_step(step).await;
    if let Some(bar) = &bar {
        bar.inc(1);
        if let Some(region) = outcome.changes.first().and_then(|c| c.region.clone()) {
            bar.set_message(region);
        }
    }
    (index, outcome)
}

fn finish(decision: Decision, steps: Vec<StepOutcome>) -> Outcome {
    let all: Vec<Change> = steps.iter().flat_map(|s| s.changes.iter().cloned()).collect();
    let mut tally = ChangeTally::of(&all);
    tally.interrupted = decision == Decision::Apply && crate::interrupt::requested();
    Outcome { decision, steps, tally }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(resource: &str) -> Change {
        Change::new("do", resource, ChangeStatus::Planned, "it")
    }

    fn statuses(outcome: &Outcome) -> Vec<ChangeStatus> {
        outcome.changes().iter().map(|c| c.status).collect()
    }

    #[tokio::test]
    async fn a_failure_stops_dependent_steps_and_carries_its_hint() {
        let printer = Printer::new(crate::output::OutputFormat::Json, true);
        let steps = vec![
            Step::new(vec![planned("a")], async { Ok(Done::Changed) }),
            Step::new(vec![planned("b")], async { Err(Error::refused("no", Some("do this".to_owned()))) }),
            Step::new(vec![planned("c")], async { Ok(Done::Changed) }),
        ];
        let outcome = run(ApplyMode::APPLY, &printer, Plan::new(steps, OnFailure::Stop), "?").await.unwrap();
        assert_eq!(statuses(&outcome), [ChangeStatus::Applied, ChangeStatus::Failed, ChangeStatus::NotAttempted]);
        assert_eq!(outcome.changes()[1].error.as_deref(), Some("no (hint: do this)"));
        assert_eq!(outcome.tally.exit_status(), crate::error::ExitStatus::Partial);
    }

    /// A failed change always says what to do: an error without a hint of its own gets the
    /// remedy for its code, or the general one.
    #[test]
    fn an_error_without_a_hint_is_completed() {
        let aws = |code: Option<&str>, hint: Option<&str>| Error::Aws {
            context: "tagging bucket b".into(),
            kind: AwsErrorKind::Other,
            code: code.map(str::to_owned),
            message: "refused".into(),
            hint: hint.map(str::to_owned),
        };
        assert!(error_text(&aws(Some("InvalidTag"), None)).contains("(hint: AWS refused a tag"), "the code's remedy");
        assert!(error_text(&aws(Some("Whatever"), None)).contains("(hint: AWS refused it with Whatever"), "the general remedy");
        assert!(error_text(&aws(None, None)).contains("(hint: fix what the message names"));
        assert!(error_text(&aws(Some("InvalidTag"), Some("own"))).ends_with("(hint: own)"), "an error's own hint wins");
        assert!(error_text(&Error::refused("no", None)).contains("(hint: "));
        let io = Error::io("reading x", std::io::Error::other("gone"));
        assert!(error_text(&io).contains("(hint: check the file"));
    }

    #[tokio::test]
    async fn independent_steps_continue_after_a_failure_and_keep_plan_order() {
        let printer = Printer::new(crate::output::OutputFormat::Json, true);
        let steps = vec![
            Step::new(vec![planned("a")], async { Err(Error::refused("no", None)) }),
            Step::shown(vec![Change::new("keep", "b", ChangeStatus::Skipped, "ok")]),
            Step::new(vec![planned("c")], async { Ok(Done::AlreadyDone) }),
        ];
        let outcome = run(ApplyMode::APPLY, &printer, Plan::new(steps, OnFailure::Continue { concurrency: 3 }), "?").await.unwrap();
        assert_eq!(statuses(&outcome), [ChangeStatus::Failed, ChangeStatus::Skipped, ChangeStatus::Skipped]);
        assert_eq!(outcome.changes()[2].detail, "it (already done)");
        assert_eq!(outcome.tally.exit_status(), crate::error::ExitStatus::Partial);
    }

    #[tokio::test]
    async fn a_prediction_after_a_failure_is_not_attempted_and_an_observation_stays_right() {
        let printer = Printer::new(crate::output::OutputFormat::Json, true);
        let right = |r: &str| Change::new("keep", r, ChangeStatus::Skipped, "ok");
        let steps = vec![
            Step::shown(vec![right("observed")]),
            Step::new(vec![planned("create")], async { Err(Error::refused("no", None)) }),
            Step::predicted(vec![right("default")]),
            Step::shown(vec![right("observed-later")]),
        ];
        let outcome = run(ApplyMode::APPLY, &printer, Plan::new(steps, OnFailure::Stop), "?").await.unwrap();
        assert_eq!(statuses(&outcome), [ChangeStatus::Skipped, ChangeStatus::Failed, ChangeStatus::NotAttempted, ChangeStatus::Skipped]);

        // Nothing was applied and the only other line was a prediction: a failure (1), not partial.
        let steps = vec![Step::new(vec![planned("create")], async { Err(Error::refused("no", None)) }), Step::predicted(vec![right("default")])];
        let outcome = run(ApplyMode::APPLY, &printer, Plan::new(steps, OnFailure::Stop), "?").await.unwrap();
        assert_eq!(outcome.tally.exit_status(), crate::error::ExitStatus::Failure);

        // When the create succeeds, the prediction holds.
        let steps = vec![Step::new(vec![planned("create")], async { Ok(Done::Changed) }), Step::predicted(vec![right("default")])];
        let outcome = run(ApplyMode::APPLY, &printer, Plan::new(steps, OnFailure::Stop), "?").await.unwrap();
        assert_eq!(statuses(&outcome), [ChangeStatus::Applied, ChangeStatus::Skipped]);
    }

    #[test]
    fn the_count_a_plan_names_is_the_changes_it_shows() {
        // One step that shows six planned changes (a bucket's settings): six, not one.
        let six = (0..6).map(|i| planned(&format!("r{i}"))).collect();
        let plan = Plan::new(vec![Step::new(six, async { Ok(Done::Changed) })], OnFailure::Stop);
        assert_eq!((plan.pending(), plan.shown_pending()), (1, 6));
        // A stack deploy: one change, whatever resource lines detail it.
        let mut deploy = vec![planned("stack")];
        deploy.extend((0..5).map(|i| planned(&format!("r{i}")).part_of("do")));
        let plan = Plan::new(vec![Step::new(deploy, async { Ok(Done::Changed) })], OnFailure::Stop);
        assert_eq!((plan.pending(), plan.shown_pending()), (1, 1));
        // Nothing to apply stays nothing, whatever is shown.
        let plan = Plan::new(vec![Step::shown(vec![planned("shown-only")])], OnFailure::Stop);
        assert_eq!(plan.shown_pending(), 0);
    }

    #[tokio::test]
    async fn a_dry_run_applies_nothing() {
        let printer = Printer::new(crate::output::OutputFormat::Json, true);
        let steps = vec![Step::new(vec![planned("a")], async { panic!("a dry run applied a step") })];
        let outcome = run(ApplyMode::PLAN_ONLY, &printer, Plan::new(steps, OnFailure::Stop), "?").await.unwrap();
        assert_eq!(outcome.decision, Decision::DryRun);
        assert_eq!(statuses(&outcome), [ChangeStatus::Planned]);
    }
}
