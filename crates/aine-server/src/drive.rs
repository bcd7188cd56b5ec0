//! Runs started or decided over HTTP are driven in the background (a request returns `202` at
//! once), on a [`tokio_util::task::TaskTracker`] that `serve` awaits at shutdown. Each journaled
//! event is published to the run's event stream and, when telemetry is on, becomes spans.

use aine_runtime::{Observer, Tee};
use aine_types::{JournalEntry, RunId};

use crate::AppState;
use crate::events::EventHub;

/// Publishes every journaled event of a drive to the hub.
struct Publish<'a>(&'a EventHub);

impl Observer for Publish<'_> {
    fn on_journaled(&self, run: &RunId, entry: &JournalEntry) {
        self.0.publish(run, entry);
    }
}

/// Drives `run` until it finishes or waits at a gate, in the background.
pub(crate) fn spawn(state: &AppState, run: RunId) {
    let state = state.clone();
    state.tasks().clone().spawn(async move {
        let publish = Publish(state.hub());
        let observer = Tee(&publish, state.traces());
        // What was journaled just before (the run's start, or a gate decision) goes out first,
        // so subscribers need not read it from the store.
        if let Ok(journal) = state.runtime().store().journal(&run).await
            && let Some(last) = journal.last()
        {
            state.hub().publish(&run, last);
        }
        if let Err(err) = state.runtime().drive(&run, &observer).await {
            tracing::error!(target: "aine_server", %run, "driving the run failed: {err:#}");
        }
    });
}
