//! What a run's driver tells the outside while it works: [`Observer`] and its combinators.

use aine_engine::{Action, RunState};
use aine_models::Message;
use aine_types::{JournalEntry, RunId, StepId};
use aine_workflow::Workflow;

/// Told about progress while a run is driven (the CLI draws a progress bar from it).
pub trait Observer: Send + Sync {
    /// About to perform `action` of `run`.
    fn on_action(&self, _run: &RunId, _action: &Action) {}
    /// `entry` was committed to the journal.
    fn on_journaled(&self, _run: &RunId, _entry: &JournalEntry) {}
    /// About to drive `run` (of `workflow`, whose journal folds to `state`), in this process.
    /// Called once per [`Runtime::drive`], before any action; a resumed run gets it too, so an
    /// observer learns what earlier processes journaled (e.g. spend so far).
    fn on_drive(&self, _run: &RunId, _workflow: &Workflow, _state: &RunState) {}
    /// Whether this observer wants the prompts of model calls ([`Observer::on_model_request`]),
    /// e.g. telemetry with content capture on. Off by default: prompts are redacted for the
    /// observer first, which costs time on the run's path.
    fn wants_prompts(&self) -> bool {
        false
    }
    /// The `call`-th model call of `step` (numbered as its `ModelCalled` event, which is
    /// journaled next) was sent with `messages`, secrets already redacted. Announced once the
    /// call has ended, because calls of a `for_each` step in flight together are numbered in
    /// the order they end. Only called when [`Observer::wants_prompts`] is true; a call
    /// replayed from the journal, or refused before it was sent, is not announced.
    fn on_model_request(&self, _run: &RunId, _step: &StepId, _call: u32, _messages: &[Message]) {}
}

/// Tells two observers everything, `.0` first (e.g. the progress bar and telemetry).
#[derive(Clone, Copy)]
pub struct Tee<'a>(pub &'a dyn Observer, pub &'a dyn Observer);

impl std::fmt::Debug for Tee<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tee")
    }
}

impl Observer for Tee<'_> {
    fn on_action(&self, run: &RunId, action: &Action) {
        self.0.on_action(run, action);
        self.1.on_action(run, action);
    }
    fn on_journaled(&self, run: &RunId, entry: &JournalEntry) {
        self.0.on_journaled(run, entry);
        self.1.on_journaled(run, entry);
    }
    fn on_drive(&self, run: &RunId, workflow: &Workflow, state: &RunState) {
        self.0.on_drive(run, workflow, state);
        self.1.on_drive(run, workflow, state);
    }
    fn wants_prompts(&self) -> bool {
        self.0.wants_prompts() || self.1.wants_prompts()
    }
    fn on_model_request(&self, run: &RunId, step: &StepId, call: u32, messages: &[Message]) {
        for observer in [self.0, self.1] {
            if observer.wants_prompts() {
                observer.on_model_request(run, step, call, messages);
            }
        }
    }
}

/// An observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Observer for Quiet {}
