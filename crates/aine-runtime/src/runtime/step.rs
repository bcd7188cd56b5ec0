//! Executing one builtin or model step.

use aine_engine::RunState;
use aine_types::{Outcome, RunId, StepId};
use aine_workflow::{StepKind, Workflow};
use serde_json::{Value, json};

use super::{Runtime, template_context};
use crate::builtin::BuiltinContext;
use crate::error::Result;
use crate::journal::Journal;
use crate::model_step::{Checker, ModelRun, StepResult};

/// One attempt of one step, as its builtins see it: the workflow, what its templates see
/// (`inputs`, `steps`, `run`, `step`), and where it stands.
struct StepCall<'a> {
    workflow: &'a Workflow,
    context: &'a Value,
    run: RunId,
    step: &'a StepId,
    attempt: u32,
}

impl Runtime {
    /// Executes a builtin or model step. Step failures are outcomes; `Err` only when journaling
    /// a model call fails.
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
        let call = StepCall {
            workflow,
            context: &context,
            run,
            step,
            attempt,
        };
        match kind {
            StepKind::Builtin(b) => Ok(self.run_builtin(&b.name, &call).await),
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
                        crate::packing::pack(workflow, step, &context, limit, &count)
                    }
                    None => workflow
                        .render_prompt(step, &context)
                        .map(|prompt| crate::packing::Packed { prompt, note: None })
                        .map_err(|e| format!("cannot render the prompt: {e}")),
                };
                let (prompt, packing_note) = match packed {
                    Ok(p) => (p.prompt, p.note),
                    Err(message) => return Ok(failed(message, "model step")),
                };
                let check = match &m.check_builtin {
                    None => None,
                    Some(name) => match self.checker(name, &call) {
                        Ok(check) => Some(check),
                        Err(message) => return Ok(failed(message, "model step")),
                    },
                };
                let model_run = ModelRun {
                    models: &self.models,
                    workflow,
                    step,
                    model_step: m,
                    prompt,
                    check: check.as_ref(),
                };
                let (outcome, why) = match model_run.execute(journal, state).await? {
                    StepResult::Outcome(outcome, why) => (outcome, why),
                    StepResult::NoAnswer(why) => match &m.fallback_builtin {
                        Some(fallback) => {
                            journal.flush().await?;
                            let (outcome, how) = self.run_builtin(fallback, &call).await;
                            (outcome, format!("{how} as fallback: {why}"))
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

    /// Renders the step's `with` and calls builtin `name` on a blocking thread.
    async fn run_builtin(&self, name: &str, call: &StepCall<'_>) -> (Outcome, String) {
        let why = format!("builtin `{name}`");
        let Some(builtin) = self.registry.get(name).cloned() else {
            return failed(
                format!("builtin `{name}` is not available in this aine"),
                &why,
            );
        };
        let input = match call.workflow.render_with(call.step, call.context) {
            Ok(input) => input,
            Err(e) => return failed(format!("cannot render `with`: {e}"), &why),
        };
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
