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

/// Whether a question is on screen (a stop then applies nothing and is immediate).
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
