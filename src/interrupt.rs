//! Ctrl-C during an apply: the first one lets the current step finish, marks the rest "not
//! attempted", prints the report and exits 130, so the user knows exactly what was applied; a
//! second one, or one while a question is on screen (nothing applied yet), stops at once.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);
static PROMPTS: AtomicUsize = AtomicUsize::new(0);

/// Records that the user asked to stop.
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Whether the user asked to stop: apply loops check it before each step.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Whether a question is on screen, or the user stopped at one (a stop then applies nothing and
/// is immediate). Every question flowgate asks comes before the changes it is about (the
/// wizard's questions, a plan's one confirmation), so a stop there has changed nothing.
pub fn prompting() -> bool {
    PROMPTS.load(Ordering::SeqCst) > 0
}

/// Held while a question is asked.
pub struct PromptGuard;

impl PromptGuard {
    pub fn new() -> Self {
        PROMPTS.fetch_add(1, Ordering::SeqCst);
        PromptGuard
    }

    /// Ends the question with the user's stop (Ctrl-C, closed input): the question stays "on
    /// screen" until the process ends. The terminal's Ctrl-C reaches the prompt as a key, which
    /// re-raises SIGINT (console's `read_key`) just before the prompt returns its error; `main`
    /// may see that signal after the prompt has returned, and must still know it came at a
    /// question, not during an apply.
    pub fn stopped(self) {
        std::mem::forget(self);
    }
}

impl Default for PromptGuard {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for PromptGuard {
    fn drop(&mut self) {
        PROMPTS.fetch_sub(1, Ordering::SeqCst);
    }
}
