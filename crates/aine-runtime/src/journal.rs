//! A run's journal writer: events are folded, queued, then appended in one transaction.

use aine_engine::RunState;
use aine_models::{ChatRequest, Message};
use aine_store::{NewRun, Store};
use aine_types::{Event, RunId, StepId};
use aine_workflow::Workflow;

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::observer::Observer;
use crate::redact::Redactor;
use crate::runtime::Unsaved;

/// Commits events of one run: checks each against the engine, appends it, tells the observer.
pub(crate) struct Journal<'a> {
    store: &'a Store,
    workflow: &'a Workflow,
    clock: &'a dyn Clock,
    observer: &'a dyn Observer,
    redactor: &'a Redactor,
    pub(crate) run: RunId,
    next_seq: &'a mut u64,
    /// Recorded, not yet journaled: see [`Journal::record`].
    pending: Vec<Event>,
    /// The audit entries of `pending`, `event_index` into it.
    pending_audit: Vec<aine_store::AuditEntry>,
    /// The run's row, while the run is not in the store yet: the next flush creates it.
    create: Option<NewRun>,
}

impl<'a> Journal<'a> {
    /// A journal for `run`, whose next event gets sequence number `*next_seq`.
    pub(crate) fn new(
        store: &'a Store,
        workflow: &'a Workflow,
        clock: &'a dyn Clock,
        observer: &'a dyn Observer,
        redactor: &'a Redactor,
        run: RunId,
        next_seq: &'a mut u64,
    ) -> Self {
        Self {
            store,
            workflow,
            clock,
            observer,
            redactor,
            run,
            next_seq,
            pending: Vec::new(),
            pending_audit: Vec::new(),
            create: None,
        }
    }

    /// Queues a prepared run's creation (its row and `RunStarted`, already folded into the
    /// state) ahead of everything else: the next flush writes them with what follows.
    pub(crate) fn create(&mut self, unsaved: Unsaved) {
        let offset = self.pending.len();
        self.pending_audit
            .extend(unsaved.audit.into_iter().map(|mut entry| {
                entry.event_index = entry.event_index.map(|i| i + offset);
                entry
            }));
        self.pending.push(unsaved.event);
        self.create = Some(unsaved.new_run);
    }

    /// Folds `event` (redacted first) into `state` and queues it for the journal.
    ///
    /// Queued events are journaled together by [`Journal::flush`], in one append. Invariant:
    /// callers flush before anything outside the run can see the run's progress (a builtin or
    /// a model call: "a journaled answer is never requested again" needs every earlier call
    /// durable before the next one) and before a drive returns, so a crash only ever loses
    /// events that resuming computes again: a step's result, a gate evaluation, a run's end.
    pub(crate) fn record(&mut self, state: &mut RunState, event: Event) -> Result<()> {
        // Secrets never reach the journal; the run continues from what was journaled.
        let event = self.redactor.redact_event(event);
        // Check legality first; the state is only used further if the flush succeeds.
        state.apply(&event).map_err(|e| Error::Engine {
            run: self.run,
            source: e,
        })?;
        self.pending_audit.extend(crate::audit::entries(
            &event,
            self.pending.len(),
            self.workflow,
        ));
        self.pending.push(event);
        Ok(())
    }

    /// Tells the observer, if it wants prompts, that `request` was sent as the `call`-th model
    /// call of `step` (see [`Observer::on_model_request`]); secrets are redacted from the
    /// messages first.
    pub(crate) fn announce_request(&self, step: &StepId, call: u32, request: &ChatRequest) {
        if !self.observer.wants_prompts() {
            return;
        }
        let messages: Vec<Message> = request
            .messages
            .iter()
            .map(|m| Message {
                role: m.role,
                content: self.redactor.redact_str(&m.content),
            })
            .collect();
        self.observer
            .on_model_request(&self.run, step, call, &messages);
    }

    /// Journals the queued events in one append (one transaction) and tells the observer.
    pub(crate) async fn flush(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let now = self.clock.now_ms();
        let entries = match &self.create {
            Some(new_run) => {
                self.store
                    .create_run_audited(new_run, &self.pending, &self.pending_audit, now)
                    .await?
            }
            None => {
                self.store
                    .append_audited(
                        &self.run,
                        *self.next_seq,
                        &self.pending,
                        &self.pending_audit,
                        now,
                    )
                    .await?
            }
        };
        self.create = None;
        self.pending.clear();
        self.pending_audit.clear();
        *self.next_seq += entries.len() as u64;
        for entry in &entries {
            self.observer.on_journaled(&self.run, entry);
        }
        Ok(())
    }
}
