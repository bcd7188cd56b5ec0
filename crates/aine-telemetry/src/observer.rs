//! The runtime [`Observer`] that turns journal entries into spans as they are committed.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use aine_engine::RunState;
use aine_models::Message;
use aine_runtime::Observer;
use aine_types::{Event, JournalEntry, RunId, StepId};
use aine_workflow::Workflow;

use crate::export::{ExportStats, Exporter};
use crate::spans::RunTrace;

/// Builds each observed run's spans ([`RunTrace`]) and hands them to an [`Exporter`].
///
/// Work on the run's path is building a few attributes and a non-blocking queue push per
/// journal entry; encoding and HTTP happen on the exporter's thread.
#[derive(Debug)]
pub struct TelemetryObserver {
    runs: Mutex<HashMap<RunId, RunTrace>>,
    exporter: Exporter,
    capture_content: bool,
}

impl TelemetryObserver {
    /// Spans go to `exporter`; `capture_content` records prompts and answers on model call
    /// spans (`gen_ai.input.messages`, `gen_ai.output.messages`).
    pub fn new(exporter: Exporter, capture_content: bool) -> Self {
        Self {
            runs: Mutex::new(HashMap::new()),
            exporter,
            capture_content,
        }
    }

    /// What became of the spans so far.
    pub fn stats(&self) -> &ExportStats {
        self.exporter.stats()
    }

    /// Exports what is queued, waiting at most `bound`. Call once, before the process exits.
    pub fn shutdown(&self, bound: Duration) {
        self.exporter.shutdown(bound);
    }

    fn with_run<T>(&self, run: &RunId, f: impl FnOnce(&mut RunTrace) -> T) -> T {
        let mut runs = self.runs.lock().unwrap_or_else(PoisonError::into_inner);
        let trace = runs
            .entry(*run)
            .or_insert_with(|| RunTrace::new(*run, self.capture_content));
        f(trace)
    }
}

impl Observer for TelemetryObserver {
    fn on_drive(&self, run: &RunId, workflow: &Workflow, state: &RunState) {
        self.with_run(run, |trace| trace.learn(workflow, state));
    }

    fn wants_prompts(&self) -> bool {
        self.capture_content
    }

    fn on_model_request(&self, run: &RunId, step: &StepId, call: u32, messages: &[Message]) {
        self.with_run(run, |trace| trace.on_request(step, call, messages));
    }

    fn on_journaled(&self, run: &RunId, entry: &JournalEntry) {
        let spans = self.with_run(run, |trace| trace.on_entry(entry));
        if matches!(entry.event, Event::RunFinished { .. }) {
            self.runs
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(run);
        }
        if !spans.is_empty() {
            self.exporter.submit(spans);
        }
    }
}
