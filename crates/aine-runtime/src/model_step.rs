//! Executing a model step: walk its route, check budgets before each call, retry provider
//! errors with backoff, escalate on `unsure` or `violation`, journal every call as it happens,
//! and replay calls journaled before a crash instead of paying for them again.
//!
//! An answer is a violation when it is not JSON, breaks the step's contract, or (for a step
//! with a `check_builtin`) when the check builtin finds errors in the contract-valid answer.

use std::sync::Arc;
use std::time::Duration;

use aine_models::{ChatRequest, Message, RetryPolicy, Role};
use aine_types::{CallResult, Event, Outcome, Spend, StepId, Usd};
use aine_workflow::{Budget, Escalation, ModelStep, Workflow};
use serde_json::{Value, json};

use crate::builtin::{Builtin, BuiltinContext, CheckOutput};
use crate::clock::Clock;
use crate::ledger::{Books, Ledger};
use crate::models::Models;

/// How a retryable provider error is retried on the same model before the route falls back to
/// the next: 3 attempts in all, equal-jitter backoff from 500 ms doubling up to 8 s when the
/// provider sends no `Retry-After`, a `Retry-After` honoured up to 30 s (a longer one falls
/// back at once). Waits go through the runtime's [`Clock`]; replayed calls do not wait.
pub const RETRY_POLICY: RetryPolicy = RetryPolicy {
    max_attempts: 3,
    initial_backoff: Duration::from_millis(500),
    max_backoff: Duration::from_secs(8),
    max_retry_after: Duration::from_secs(30),
};
/// Output tokens asked for when the step sets no `max_output_tokens`.
pub const DEFAULT_MAX_OUTPUT_TOKENS: u64 = 1024;

/// What the model step came to.
pub(crate) enum StepResult {
    /// A model answered within its contract (or said it was unsure, or broke it, without a
    /// further model to escalate to).
    Outcome(Outcome, String),
    /// No model produced an answer (budget, provider errors, nothing configured): run the
    /// fallback builtin if the step has one. `rejected` is the last answer that satisfied the
    /// contract but not the step's check builtin, which the fallback may salvage from.
    NoAnswer {
        why: String,
        rejected: Option<Value>,
    },
}

/// One call's verdict on an answer.
enum Verdict {
    Ok(Value),
    Unsure(String),
    /// `checked` is the answer when it satisfied the contract and only the check builtin
    /// found `errors` in it.
    Violation {
        errors: Vec<String>,
        checked: Option<Value>,
    },
}

impl Verdict {
    fn violation(errors: Vec<String>) -> Self {
        Verdict::Violation {
            errors,
            checked: None,
        }
    }
}

impl Verdict {
    /// How the verdict reads in a step's `why`.
    fn describe(&self) -> String {
        match self {
            Verdict::Ok(_) => "a valid answer".to_owned(),
            Verdict::Unsure(reason) => format!("unsure ({reason})"),
            Verdict::Violation { errors, .. } => {
                format!("a contract violation ({})", brief(errors))
            }
        }
    }
}

/// At most the first two errors, each at most 200 characters, and how many more there are.
fn brief(errors: &[String]) -> String {
    const SHOWN: usize = 2;
    const CHARS: usize = 200;
    let mut parts: Vec<String> = errors
        .iter()
        .take(SHOWN)
        .map(|e| match e.char_indices().nth(CHARS) {
            Some((cut, _)) => format!("{}…", &e[..cut]),
            None => e.clone(),
        })
        .collect();
    if errors.len() > SHOWN {
        parts.push(format!("and {} more", errors.len() - SHOWN));
    }
    parts.join("; ")
}

/// A model step's check builtin, bound to the step's rendered `with`.
pub(crate) struct Checker {
    pub builtin: Arc<Builtin>,
    /// The rendered `with`; the answer is added as `answer`.
    pub with: serde_json::Map<String, Value>,
    pub ctx: BuiltinContext,
}

impl Checker {
    /// The errors the check builtin finds in a contract-valid `answer`, each prefixed with the
    /// check's name. A check that cannot run on the answer (its input contract rejects it)
    /// reports that as the error: an answer that cannot be checked is not accepted.
    fn errors(&self, answer: &Value) -> Vec<String> {
        let name = self.builtin.name();
        let mut input = self.with.clone();
        input.insert(aine_workflow::CHECK_ANSWER.to_owned(), answer.clone());
        // Checks are small deterministic functions (milliseconds): called in place rather than
        // on a blocking thread.
        match self.builtin.call(Value::Object(input), &self.ctx) {
            Ok(output) => match serde_json::from_value::<CheckOutput>(output) {
                Ok(out) => out
                    .errors
                    .into_iter()
                    .map(|e| format!("check `{name}`: {e}"))
                    .collect(),
                Err(e) => vec![format!("check `{name}` returned no error list: {e}")],
            },
            Err(e) => vec![format!("check `{name}` could not judge the answer: {e}")],
        }
    }
}

/// The instruction every model step's answer is held to; `{"unsure": …}` is always admitted.
fn system_message(schema: &Value) -> String {
    format!(
        "Answer with exactly one JSON object that satisfies this JSON Schema, and nothing else:\n{schema}\n\
         If you cannot answer reliably from the input, answer {{\"unsure\": {{\"reason\": \"<why>\"}}}} instead."
    )
}

/// The output schema sent to the provider: the contract, or the explicit `unsure` answer.
pub(crate) fn schema_with_unsure(schema: &Value) -> Value {
    json!({
        "anyOf": [
            schema,
            {
                "type": "object",
                "properties": {
                    "unsure": {
                        "type": "object",
                        "properties": { "reason": { "type": "string", "maxLength": 300 } },
                        "required": ["reason"],
                        "additionalProperties": false
                    }
                },
                "required": ["unsure"],
                "additionalProperties": false
            }
        ]
    })
}

fn verdict(step: &ModelStep, check: Option<&Checker>, text: &str) -> Verdict {
    let value = match aine_models::extract_json(text) {
        Ok(value) => value,
        Err(e) => return Verdict::violation(vec![format!("the answer is not JSON: {e}")]),
    };
    if let Some(reason) = value
        .as_object()
        .filter(|o| o.len() == 1)
        .and_then(|o| o.get("unsure"))
    {
        let reason = reason
            .get("reason")
            .and_then(Value::as_str)
            .unwrap_or("no reason given")
            .to_owned();
        return Verdict::Unsure(reason);
    }
    if let Err(errors) = step.output.validate(&value) {
        return Verdict::violation(errors);
    }
    match check.map(|c| c.errors(&value)) {
        Some(errors) if !errors.is_empty() => Verdict::Violation {
            errors,
            checked: Some(value),
        },
        _ => Verdict::Ok(value),
    }
}

/// The answer of the last verdict when only the check builtin refused it.
fn rejected(last: &Option<(Verdict, String)>) -> Option<Value> {
    match last {
        Some((Verdict::Violation { checked, .. }, _)) => checked.clone(),
        _ => None,
    }
}

/// Whether spending `worst` more keeps `spent` within `budget`; `None` when it does, else why not.
fn over_budget(scope: &str, budget: Option<&Budget>, spent: Spend, worst: Spend) -> Option<String> {
    let budget = budget?;
    if let Some(limit) = budget.tokens
        && spent.tokens() + worst.tokens() > limit
    {
        return Some(format!(
            "{scope} token budget {limit}: spent {}, this call could use {}",
            spent.tokens(),
            worst.tokens()
        ));
    }
    if let Some(limit) = budget.usd
        && spent.usd + worst.usd > limit
    {
        return Some(format!(
            "{scope} budget {limit}: spent {}, this call could cost {}",
            spent.usd, worst.usd
        ));
    }
    None
}

/// Drives one model step (or one element of a `for_each` model step). Each call is recorded
/// through the run's [`Ledger`] (journaled and folded into its state); the state is read for
/// spend and for calls journaled before a crash.
pub(crate) struct ModelRun<'a> {
    pub models: &'a Models,
    pub workflow: &'a Workflow,
    pub step: &'a StepId,
    /// The element of a `for_each` step this run is for: its calls carry it, and only its
    /// journaled calls are replayed.
    pub element: Option<u32>,
    pub model_step: &'a ModelStep,
    pub prompt: String,
    /// The step's check builtin, when it names one.
    pub check: Option<&'a Checker>,
    /// The runtime's clock: call latencies and retry waits.
    pub clock: &'a dyn Clock,
}

impl ModelRun<'_> {
    pub(crate) async fn execute(&self, ledger: &Ledger<'_, '_>) -> crate::Result<StepResult> {
        let m = self.model_step;
        let schema = schema_with_unsure(m.output.schema());
        let max_output = m.max_output_tokens.unwrap_or(DEFAULT_MAX_OUTPUT_TOKENS);
        let request = ChatRequest {
            messages: vec![
                Message {
                    role: Role::System,
                    content: system_message(m.output.schema()),
                },
                Message {
                    role: Role::User,
                    content: self.prompt.clone(),
                },
            ],
            output_schema: Some(schema),
            max_output_tokens: u32::try_from(max_output).unwrap_or(u32::MAX),
            temperature: 0.0,
        };
        // Calls journaled before a crash are replayed in order instead of being made again.
        let recorded: Vec<Event> = ledger
            .lock()
            .await
            .state
            .model_calls(self.step)
            .iter()
            .filter(|e| matches!(e, Event::ModelCalled { element, .. } if *element == self.element))
            .cloned()
            .collect();
        let mut next_call = 0usize;
        let mut reason = "first model of the route".to_owned();
        let mut last: Option<(Verdict, String)> = None;
        let mut failures: Vec<String> = Vec::new();
        for (position, name) in m.route.iter().enumerate() {
            let mut retry = 0u32;
            loop {
                // A fresh call comes with its verdict; a replayed one is judged again below.
                let (result, judged) = match recorded.get(next_call) {
                    Some(Event::ModelCalled { result, .. }) => (result.clone(), None),
                    _ => self.call(ledger, name, &request, &reason).await?,
                };
                next_call += 1;
                match result {
                    CallResult::BudgetRefused { detail } => {
                        return Ok(StepResult::NoAnswer {
                            why: format!("budget: {detail}"),
                            rejected: rejected(&last),
                        });
                    }
                    CallResult::ProviderError {
                        kind,
                        message,
                        retryable,
                        retry_after_ms,
                    } => {
                        let wait = RETRY_POLICY.delay(
                            retry + 1,
                            retryable,
                            retry_after_ms.map(Duration::from_millis),
                            rand::random::<f64>(),
                        );
                        if let Some(wait) = wait {
                            retry += 1;
                            // Replayed calls need no wait: they already happened.
                            if next_call > recorded.len() {
                                self.clock.sleep(wait).await;
                            }
                            reason = format!("retry {retry} on `{name}` after {kind}");
                            continue;
                        }
                        failures.push(format!("`{name}`: {kind}: {message}"));
                        reason = format!("fallback after `{name}` failed ({kind})");
                        break;
                    }
                    CallResult::Answered { text, .. } => {
                        let v = judged.unwrap_or_else(|| verdict(m, self.check, &text));
                        let escalate = match &v {
                            Verdict::Ok(value) => {
                                return Ok(StepResult::Outcome(
                                    Outcome::Ok {
                                        value: value.clone(),
                                    },
                                    format!("answered by `{name}` ({reason})"),
                                ));
                            }
                            Verdict::Unsure(_) => m.escalate_on.contains(&Escalation::Unsure),
                            Verdict::Violation { .. } => {
                                m.escalate_on.contains(&Escalation::Violation)
                            }
                        };
                        let has_next = position + 1 < m.route.len();
                        if escalate && (has_next || m.fallback_builtin.is_some()) {
                            failures.push(format!("`{name}`: {}", v.describe()));
                        }
                        if escalate && has_next {
                            reason = match &v {
                                Verdict::Violation { errors, .. } => format!(
                                    "escalated after a contract violation from `{name}`: {}",
                                    brief(errors)
                                ),
                                _ => format!("escalated after {} from `{name}`", v.describe()),
                            };
                        }
                        last = Some((v, name.clone()));
                        // With nobody left to escalate to, the fallback drafts (below).
                        if escalate && (has_next || m.fallback_builtin.is_some()) {
                            break;
                        }
                        return Ok(self.settle(last));
                    }
                }
            }
        }
        // The route is exhausted without an answer within the contract. With a fallback
        // builtin, that is "no model usable": the fallback drafts instead of the run failing.
        match last {
            Some(_) if m.fallback_builtin.is_some() => Ok(StepResult::NoAnswer {
                why: format!(
                    "no model in the route gave a usable answer: {}",
                    failures.join("; ")
                ),
                rejected: rejected(&last),
            }),
            Some(_) => Ok(self.settle(last)),
            None => Ok(StepResult::NoAnswer {
                why: format!("no model in the route answered: {}", failures.join("; ")),
                rejected: None,
            }),
        }
    }

    /// The step's outcome from the last answer, when no model is left to escalate to.
    fn settle(&self, last: Option<(Verdict, String)>) -> StepResult {
        match last {
            Some((Verdict::Ok(value), name)) => {
                StepResult::Outcome(Outcome::Ok { value }, format!("answered by `{name}`"))
            }
            Some((Verdict::Unsure(reason), name)) => StepResult::Outcome(
                Outcome::Unsure {
                    reason: reason.clone(),
                    partial: None,
                },
                format!("`{name}` was unsure and no model was left to escalate to"),
            ),
            Some((Verdict::Violation { errors, .. }, name)) => StepResult::Outcome(
                Outcome::Violation { errors },
                format!("`{name}` broke the contract and no model was left to escalate to"),
            ),
            None => StepResult::NoAnswer {
                why: "no model answered".to_owned(),
                rejected: None,
            },
        }
    }

    /// Makes one call (after the budget check) and journals it. Returns what was journaled,
    /// and the verdict on the answer when there was one. The ledger is locked for the budget
    /// check and for journaling, not while the model answers, so other elements of a
    /// `for_each` step can call at the same time.
    async fn call(
        &self,
        ledger: &Ledger<'_, '_>,
        name: &str,
        request: &ChatRequest,
        reason: &str,
    ) -> crate::Result<(CallResult, Option<Verdict>)> {
        let entry = self.models.entry(name);
        let model = self.models.get(name);
        let mut judged = None;
        // Whether the request was sent (the observer sees its prompt).
        let mut announce = false;
        let (provider, result, spend, latency_ms) = match model {
            Err(e) => (
                entry
                    .map(|e| e.config.provider_name().to_owned())
                    .unwrap_or_else(|| "unknown".to_owned()),
                CallResult::ProviderError {
                    kind: e.kind().to_owned(),
                    message: e.to_string(),
                    retryable: false,
                    retry_after_ms: None,
                },
                Spend::default(),
                0,
            ),
            Ok(model) => {
                let provider = model.provider().to_owned();
                let prompt_tokens: u64 = request
                    .messages
                    .iter()
                    .map(|m| model.count_tokens(&m.content))
                    .sum();
                let max_out = u64::from(request.max_output_tokens);
                let price = entry.and_then(|e| e.price.as_ref());
                let worst = Spend {
                    input_tokens: prompt_tokens,
                    output_tokens: max_out,
                    usd: price
                        .map(|p| Usd(p.worst_case(prompt_tokens, max_out)))
                        .unwrap_or(Usd::ZERO),
                };
                // Held from the budget check until the call's worst case is reserved.
                let mut books = ledger.lock().await;
                let refusal = self.refusal(&books, price.is_some(), worst);
                if let Some(detail) = refusal {
                    drop(books);
                    (
                        provider,
                        CallResult::BudgetRefused { detail },
                        Spend::default(),
                        0,
                    )
                } else if prompt_tokens + max_out > model.context_window() {
                    drop(books);
                    (
                        provider,
                        CallResult::ProviderError {
                            kind: "context_window".to_owned(),
                            message: format!(
                                "the prompt ({prompt_tokens} tokens) plus {max_out} output tokens exceed the context window of {} tokens",
                                model.context_window()
                            ),
                            retryable: false,
                            retry_after_ms: None,
                        },
                        Spend::default(),
                        0,
                    )
                } else {
                    // Every earlier call is durable before this one is paid for.
                    books.journal.flush().await?;
                    books.reserve(worst);
                    drop(books);
                    announce = true;
                    let started = self.clock.now_ms();
                    let answer = model.complete(request).await;
                    let latency_ms = u64::try_from(self.clock.now_ms() - started).unwrap_or(0);
                    ledger.lock().await.release(worst);
                    match answer {
                        Ok(response) => {
                            let u = response.usage;
                            let spend = Spend {
                                input_tokens: u.input_tokens,
                                output_tokens: u.output_tokens,
                                usd: price
                                    .map(|p| Usd(aine_models::cost(p, &u)))
                                    .unwrap_or(Usd::ZERO),
                            };
                            let v = verdict(self.model_step, self.check, &response.text);
                            let (verdict_name, detail) = match &v {
                                Verdict::Ok(_) => ("ok", None),
                                Verdict::Unsure(r) => ("unsure", Some(r.clone())),
                                Verdict::Violation { errors, .. } => {
                                    ("violation", Some(errors.join("; ")))
                                }
                            };
                            judged = Some(v);
                            (
                                provider,
                                CallResult::Answered {
                                    text: response.text,
                                    response_model: response.response_model,
                                    finish_reason: response.finish_reason,
                                    verdict: verdict_name.to_owned(),
                                    detail,
                                },
                                spend,
                                latency_ms,
                            )
                        }
                        Err(e) => (
                            provider,
                            CallResult::ProviderError {
                                kind: e.kind().to_owned(),
                                message: e.to_string(),
                                retryable: e.is_retryable(),
                                retry_after_ms: e
                                    .retry_after()
                                    .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                            },
                            Spend::default(),
                            latency_ms,
                        ),
                    }
                }
            }
        };
        let mut books = ledger.lock().await;
        // Numbered across the step (all its elements) in the order they are journaled, as the
        // engine expects.
        let call_no =
            u32::try_from(books.state.model_calls(self.step).len() + 1).unwrap_or(u32::MAX);
        if announce {
            books.journal.announce_request(self.step, call_no, request);
        }
        let event = Event::ModelCalled {
            step: self.step.clone(),
            call: call_no,
            element: self.element,
            model: name.to_owned(),
            provider,
            reason: reason.to_owned(),
            result: result.clone(),
            spend,
            latency_ms,
        };
        let Books { journal, state, .. } = &mut *books;
        journal.record(state, event)?;
        Ok((result, judged))
    }

    /// Why a call whose worst case is `worst` may not be made, if it may not: a cap would be
    /// passed by what is spent, what the calls in flight could still cost, and `worst`.
    fn refusal(&self, books: &Books<'_, '_>, priced: bool, worst: Spend) -> Option<String> {
        let step_budget = self
            .workflow
            .step(self.step)
            .and_then(|s| s.budget.as_ref());
        let run_budget = self.workflow.budget.as_ref();
        let wants_usd = step_budget.is_some_and(|b| b.usd.is_some())
            || run_budget.is_some_and(|b| b.usd.is_some());
        if wants_usd && !priced {
            return Some("no price is known for this model, so a USD budget cannot be kept; add one under [models] in aine.toml".to_owned());
        }
        let with_reserved = |mut spent: Spend| {
            spent += books.reserved();
            spent
        };
        let state = &books.state;
        over_budget(
            "step",
            step_budget,
            with_reserved(state.step_spend(self.step)),
            worst,
        )
        .or_else(|| over_budget("run", run_budget, with_reserved(state.total_spend()), worst))
    }
}
