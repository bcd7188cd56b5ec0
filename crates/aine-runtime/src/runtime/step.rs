//! Executing one builtin or model step, once or (with `for_each`) once per element of a list.

use aine_engine::RunState;
use aine_types::{Event, Outcome, RunId, StepId};
use aine_workflow::{StepKind, Workflow};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use serde_json::{Value, json};

use super::{Runtime, template_context};
use crate::builtin::BuiltinContext;
use crate::error::Result;
use crate::journal::Journal;
use crate::ledger::{Books, Ledger};
use crate::model_step::{Checker, ModelRun, StepResult};

/// One attempt of one step, as its builtins see it: the workflow, what its templates see
/// (`inputs`, `steps`, `run`, `step`), and where it stands.
#[derive(Clone, Copy)]
struct StepCall<'a> {
    workflow: &'a Workflow,
    context: &'a Value,
    run: RunId,
    step: &'a StepId,
    attempt: u32,
    /// The element of a `for_each` step this call is for (0-based).
    element: Option<u32>,
}

impl Runtime {
    /// Executes a builtin or model step: once, or once per element of its `for_each` list.
    /// Step failures are outcomes; `Err` only when journaling fails.
    pub(super) async fn execute(
        &self,
        journal: &mut Journal<'_>,
        state: &mut RunState,
        workflow: &Workflow,
        step: &StepId,
        attempt: u32,
    ) -> Result<(Outcome, String)> {
        let run = journal.run;
        let Some(kind) = workflow.step(step).map(|s| &s.kind) else {
            return Ok(failed(
                format!("step `{step}` is not in the stored workflow"),
                "no such step",
            ));
        };
        let mut context = template_context(&run, state);
        context["step"] = json!({ "id": step, "attempt": attempt });
        let once = StepCall {
            workflow,
            context: &context,
            run,
            step,
            attempt,
            element: None,
        };
        let items = match workflow.render_for_each(step, &context) {
            Ok(None) => {
                return self
                    .execute_once(&Ledger::new(journal, state), kind, &once)
                    .await;
            }
            Ok(Some(items)) => items,
            Err(e) => return Ok(failed(e.to_string(), "`for_each`")),
        };
        let of = u32::try_from(items.len()).unwrap_or(u32::MAX);
        // A resumed step runs only the elements whose result is not journaled yet.
        let done = state.finished_elements(step);
        let todo: Vec<(u32, Value)> = (0..of)
            .zip(items)
            .filter(|(index, _)| done.is_none_or(|d| !d.contains_key(index)))
            .collect();
        let concurrency = workflow
            .step(step)
            .map_or(1, |s| usize::try_from(s.concurrency.max(1)).unwrap_or(1));
        {
            let ledger = Ledger::new(journal, state);
            let ledger = &ledger;
            let context = &context;
            let element = |index: u32, item: Value| async move {
                let mut context = context.clone();
                context["item"] = item;
                context["index"] = json!(index);
                let call = StepCall {
                    context: &context,
                    element: Some(index),
                    ..once
                };
                let begin = self.clock.now_ms();
                let (outcome, why) = self.execute_once(ledger, kind, &call).await?;
                let duration_ms = u64::try_from(self.clock.now_ms() - begin).unwrap_or(0);
                let finished = Event::ElementFinished {
                    step: step.clone(),
                    element: index,
                    of,
                    outcome,
                    why,
                    duration_ms,
                };
                let mut books = ledger.lock().await;
                let Books { journal, state, .. } = &mut *books;
                journal.record(state, finished)?;
                // Durable at once: a crash resumes only the elements without it.
                journal.flush().await
            };
            // At most `concurrency` elements in flight, started in element order; their model
            // calls reach the provider together (a local model decodes them as one batch).
            let mut todo = todo.into_iter();
            let mut in_flight = FuturesUnordered::new();
            loop {
                while in_flight.len() < concurrency {
                    let Some((index, item)) = todo.next() else {
                        break;
                    };
                    in_flight.push(element(index, item));
                }
                match in_flight.next().await {
                    Some(finished) => finished?,
                    None => break,
                }
            }
        }
        Ok(for_each_outcome(state, step, of))
    }

    /// Executes the step's builtin or model once (for one element of a `for_each` step, with
    /// `item` and `index` in `call.context`).
    async fn execute_once(
        &self,
        ledger: &Ledger<'_, '_>,
        kind: &StepKind,
        call: &StepCall<'_>,
    ) -> Result<(Outcome, String)> {
        let (workflow, step, context) = (call.workflow, call.step, call.context);
        match kind {
            StepKind::Builtin(b) => Ok(self.run_builtin(&b.name, call, None).await),
            StepKind::Model(m) => {
                let packed = match m.context_budget_tokens {
                    Some(limit) => {
                        // Counted by the first model of the route: the local model's own
                        // tokenizer, a conservative estimate for remote models.
                        let counter = m.route.first().and_then(|n| self.models.get(n).ok());
                        let count = |text: &str| match &counter {
                            Some(model) => model.count_tokens(text),
                            None => aine_models::estimate_tokens(text),
                        };
                        crate::packing::pack(workflow, step, context, limit, &count)
                    }
                    None => workflow
                        .render_prompt(step, context)
                        .map(|prompt| crate::packing::Packed { prompt, note: None })
                        .map_err(|e| format!("cannot render the prompt: {e}")),
                };
                let (prompt, packing_note) = match packed {
                    Ok(p) => (p.prompt, p.note),
                    Err(message) => return Ok(failed(message, "model step")),
                };
                let check = match &m.check_builtin {
                    None => None,
                    Some(name) => match self.checker(name, call) {
                        Ok(check) => Some(check),
                        Err(message) => return Ok(failed(message, "model step")),
                    },
                };
                let model_run = ModelRun {
                    models: &self.models,
                    workflow,
                    step,
                    element: call.element,
                    model_step: m,
                    prompt,
                    check: check.as_ref(),
                    clock: self.clock.as_ref(),
                };
                let (outcome, why) = match model_run.execute(ledger).await? {
                    StepResult::Outcome(outcome, why) => (outcome, why),
                    StepResult::NoAnswer { why, rejected } => match &m.fallback_builtin {
                        Some(fallback) => {
                            ledger.lock().await.journal.flush().await?;
                            // A fallback that declares `rejected_answer` may salvage from the
                            // last answer only the check refused.
                            let extra = rejected
                                .filter(|_| {
                                    self.registry
                                        .accepts(fallback, aine_workflow::FALLBACK_REJECTED)
                                })
                                .map(|answer| (aine_workflow::FALLBACK_REJECTED, answer));
                            match self.run_builtin(fallback, call, extra).await {
                                (Outcome::Ok { value }, how) => (
                                    Outcome::Fallback {
                                        value,
                                        reason: why.clone(),
                                    },
                                    format!("{how} as fallback: {why}"),
                                ),
                                (outcome, how) => (outcome, format!("{how} as fallback: {why}")),
                            }
                        }
                        None => failed(
                            why,
                            "no model answered and the step has no fallback_builtin",
                        ),
                    },
                };
                Ok(match packing_note {
                    Some(note) => (outcome, format!("{why}; {note}")),
                    None => (outcome, why),
                })
            }
            StepKind::Gate(_) => Ok(failed("a gate is not executed".to_owned(), "gate")),
        }
    }

    /// Check builtin `name` of model step `step`, bound to the step's rendered `with`.
    /// Errors (the step's failure): the builtin is not registered as a check, or `with` does
    /// not render to an object.
    fn checker(&self, name: &str, call: &StepCall<'_>) -> std::result::Result<Checker, String> {
        let builtin = match self.registry.get(name) {
            Some(b) if self.registry.is_check(name) => b.clone(),
            _ => {
                return Err(format!(
                    "check builtin `{name}` is not available in this aine"
                ));
            }
        };
        let with = match call.workflow.render_with(call.step, call.context) {
            Ok(Value::Object(with)) => with,
            Ok(other) => {
                return Err(format!(
                    "`with` of check builtin `{name}` must be an object, found {other}"
                ));
            }
            Err(e) => {
                return Err(format!(
                    "cannot render `with` for check builtin `{name}`: {e}"
                ));
            }
        };
        Ok(Checker {
            builtin,
            with,
            ctx: self.builtin_context(call),
        })
    }

    /// What a builtin of the step knows about where it runs.
    fn builtin_context(&self, call: &StepCall<'_>) -> BuiltinContext {
        BuiltinContext {
            run: call.run,
            step: call.step.clone(),
            attempt: call.attempt,
            files: self.config.files.clone(),
        }
    }

    /// Renders the step's `with` (plus `extra`, a key the runtime supplies) and calls builtin
    /// `name` on a blocking thread.
    async fn run_builtin(
        &self,
        name: &str,
        call: &StepCall<'_>,
        extra: Option<(&str, Value)>,
    ) -> (Outcome, String) {
        let why = format!("builtin `{name}`");
        let Some(builtin) = self.registry.get(name).cloned() else {
            return failed(
                format!("builtin `{name}` is not available in this aine"),
                &why,
            );
        };
        let mut input = match call.workflow.render_with(call.step, call.context) {
            Ok(input) => input,
            Err(e) => return failed(format!("cannot render `with`: {e}"), &why),
        };
        if let (Some((key, value)), Some(object)) = (extra, input.as_object_mut()) {
            object.insert(key.to_owned(), value);
        }
        let ctx = self.builtin_context(call);
        match tokio::task::spawn_blocking(move || builtin.call(input, &ctx)).await {
            Ok(Ok(value)) => (Outcome::Ok { value }, why),
            Ok(Err(e)) => failed(e.to_string(), &why),
            Err(e) => failed(format!("the builtin stopped unexpectedly: {e}"), &why),
        }
    }
}

pub(super) fn failed(error: String, why: &str) -> (Outcome, String) {
    (Outcome::Failed { error }, why.to_owned())
}

/// The outcome of a `for_each` step whose `of` elements have all finished (DESIGN.md, "A
/// workflow file"): its output is the list of the elements' outputs in element order (`null`
/// for an element without one), its outcome the worst of theirs, and `why` counts them.
fn for_each_outcome(state: &RunState, step: &StepId, of: u32) -> (Outcome, String) {
    let empty = std::collections::BTreeMap::new();
    let done = state.finished_elements(step).unwrap_or(&empty);
    let elements: Vec<(u32, &Outcome, &str)> = (0..of)
        .filter_map(|i| done.get(&i).map(|d| (i, &d.outcome, d.why.as_str())))
        .collect();
    let outputs = Value::Array(
        elements
            .iter()
            .map(|(_, outcome, _)| outcome.output().cloned().unwrap_or(Value::Null))
            .collect(),
    );
    // (severity, kind, count), best first.
    let mut counts: Vec<(u8, &str, usize)> = Vec::new();
    for (_, outcome, _) in &elements {
        match counts.iter_mut().find(|(_, k, _)| *k == outcome.kind()) {
            Some((_, _, n)) => *n += 1,
            None => counts.push((outcome.severity(), outcome.kind(), 1)),
        }
    }
    counts.sort_unstable();
    let tally: Vec<String> = counts.iter().map(|(_, k, n)| format!("{n} {k}")).collect();
    let why = format!(
        "for_each over {of} element{}{}",
        if of == 1 { "" } else { "s" },
        if tally.is_empty() {
            String::new()
        } else {
            format!(": {}", tally.join(", "))
        }
    );
    let worst = elements.iter().max_by_key(|(_, o, _)| o.severity());
    // What each element that did not end `ok` said, for the step's reason or errors.
    let notes = |kind: &str| -> Vec<String> {
        elements
            .iter()
            .filter(|(_, o, _)| o.kind() == kind)
            .map(|(i, o, why)| match o {
                Outcome::Unsure { reason, .. } => format!("element {i}: {reason}"),
                Outcome::Fallback { reason, .. } => format!("element {i}: {reason}"),
                Outcome::Violation { errors } => format!("element {i}: {}", errors.join("; ")),
                Outcome::Failed { error } => format!("element {i}: {error}"),
                Outcome::Ok { .. } => format!("element {i}: {why}"),
            })
            .collect()
    };
    let outcome = match worst.map(|(_, o, _)| *o) {
        None | Some(Outcome::Ok { .. }) => Outcome::Ok { value: outputs },
        Some(Outcome::Unsure { .. }) => Outcome::Unsure {
            reason: notes("unsure").join("; "),
            partial: Some(outputs),
        },
        Some(Outcome::Fallback { .. }) => Outcome::Fallback {
            value: outputs,
            reason: notes("fallback").join("; "),
        },
        Some(Outcome::Violation { .. }) => Outcome::Violation {
            errors: notes("violation"),
        },
        Some(Outcome::Failed { .. }) => Outcome::Failed {
            error: notes("failed").join("; "),
        },
    };
    (outcome, why)
}
