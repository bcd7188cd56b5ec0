//! A run's journal as OpenTelemetry spans, following the GenAI semantic conventions
//! (<https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/>).
//!
//! Spans are built from journal entries alone, with the entries' commit times as end times:
//!
//! | span | kind | starts | ends (emitted) | parent |
//! |---|---|---|---|---|
//! | `invoke_workflow {workflow}` | internal | the run id's ULID time | `RunFinished` | none |
//! | `step {step}` | internal | `StepFinished.at - duration_ms` | `StepFinished` | root |
//! | `element {step}[{i}]` | internal | `ElementFinished.at - duration_ms` | `ElementFinished` | its step attempt |
//! | `chat {model}` | client | `ModelCalled.at - latency_ms` | `ModelCalled` | its element, else its step attempt |
//! | `gate {step}` | internal | the gate id's ULID time | `GateDecided` (or a passed `GateEvaluated`) | root |
//!
//! A span is emitted when it ends, so children reach the collector before their parents;
//! backends assemble the tree by id. Ids come from [`crate::ids`], so a run resumed by another
//! process continues the same trace.

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aine_engine::RunState;
use aine_models::Message;
use aine_types::{CallResult, Event, JournalEntry, Outcome, RunId, RunStatus, Spend, StepId};
use aine_workflow::{Budget, StepKind, Workflow};
use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceState};
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use rust_decimal::prelude::ToPrimitive;

use crate::ids;

/// `gen_ai.operation.name` of a model call: every model step is a chat completion.
pub const CHAT: &str = "chat";
/// `gen_ai.operation.name` of a run's root span.
pub const INVOKE_WORKFLOW: &str = "invoke_workflow";

/// What the workflow says about budgets and output limits, for the `aine.budget.*` and
/// `gen_ai.request.max_tokens` attributes.
#[derive(Debug, Clone, Default)]
struct Limits {
    run: Option<Budget>,
    steps: HashMap<StepId, Budget>,
    max_tokens: HashMap<StepId, u64>,
}

impl Limits {
    fn of(workflow: &Workflow) -> Self {
        let mut limits = Limits {
            run: workflow.budget,
            ..Limits::default()
        };
        for step in &workflow.steps {
            if let Some(budget) = step.budget {
                limits.steps.insert(step.id.clone(), budget);
            }
            if let StepKind::Model(m) = &step.kind {
                limits.max_tokens.insert(
                    step.id.clone(),
                    m.max_output_tokens
                        .unwrap_or(aine_runtime::DEFAULT_MAX_OUTPUT_TOKENS),
                );
            }
        }
        limits
    }
}

/// One run's trace being built, entry by entry (see the module docs).
#[derive(Debug)]
pub struct RunTrace {
    run: RunId,
    workflow: Option<String>,
    capture_content: bool,
    limits: Limits,
    run_spend: Spend,
    step_spend: HashMap<StepId, Spend>,
    /// The attempt in progress per step (from `StepStarted`) and that entry's time: the step
    /// span's start. The `StepStarted` entry is flushed before the step's work begins, while
    /// `StepFinished` waits for the next flush, so its `at_ms - duration_ms` can fall after
    /// the step's first call began.
    attempts: HashMap<StepId, (u32, SystemTime)>,
    /// The last call of each step: model and verdict (to tell escalations).
    last_call: HashMap<StepId, (String, String)>,
    /// With content capture: the prompt of each announced call (step, call number) as
    /// `gen_ai.input.messages` JSON, until its `ModelCalled` entry takes it.
    prompts: HashMap<(StepId, u32), String>,
}

impl RunTrace {
    /// A trace of `run` knowing nothing yet; `capture_content` records prompts (see [`RunTrace::on_request`]) and answers on spans.
    pub fn new(run: RunId, capture_content: bool) -> Self {
        Self {
            run,
            workflow: None,
            capture_content,
            limits: Limits::default(),
            run_spend: Spend::default(),
            step_spend: HashMap::new(),
            attempts: HashMap::new(),
            last_call: HashMap::new(),
            prompts: HashMap::new(),
        }
    }

    /// With content capture on, keeps `messages` (the prompt of the `call`-th call of `step`)
    /// for that call's span, as `gen_ai.input.messages`; without it, does nothing.
    pub fn on_request(&mut self, step: &StepId, call: u32, messages: &[Message]) {
        if !self.capture_content {
            return;
        }
        let messages: Vec<serde_json::Value> = messages
            .iter()
            .map(|m| {
                serde_json::json!({
                    "role": m.role,
                    "parts": [{ "type": "text", "content": m.content }],
                })
            })
            .collect();
        self.prompts.insert(
            (step.clone(), call),
            serde_json::Value::Array(messages).to_string(),
        );
    }

    /// Learns the run's workflow (name, budgets, output limits) and what `state` (the fold of
    /// the journal so far, possibly written by other processes) has spent and called.
    pub fn learn(&mut self, workflow: &Workflow, state: &RunState) {
        self.workflow = Some(workflow.name.clone());
        self.limits = Limits::of(workflow);
        self.run_spend = state.total_spend();
        for step in &workflow.steps {
            if let StepKind::Model(_) = &step.kind {
                self.step_spend
                    .insert(step.id.clone(), state.step_spend(&step.id));
                if let Some(Event::ModelCalled { model, result, .. }) =
                    state.model_calls(&step.id).last()
                {
                    self.last_call
                        .insert(step.id.clone(), (model.clone(), verdict(result).to_owned()));
                }
            }
        }
    }

    /// Folds `entry` in and returns the spans it ends (none, or one).
    pub fn on_entry(&mut self, entry: &JournalEntry) -> Vec<SpanData> {
        let end = time(entry.at_ms);
        match &entry.event {
            Event::RunStarted { workflow, .. } => {
                self.workflow = Some(workflow.clone());
                Vec::new()
            }
            Event::StepStarted { step, attempt } => {
                self.attempts.insert(step.clone(), (*attempt, end));
                Vec::new()
            }
            Event::StepFinished {
                step,
                attempt,
                outcome,
                why,
                duration_ms,
            } => {
                let mut attributes = vec![
                    KeyValue::new("aine.run.id", self.run.to_string()),
                    KeyValue::new("aine.step.id", step.to_string()),
                    KeyValue::new("aine.step.attempt", i64::from(*attempt)),
                    KeyValue::new("aine.outcome", outcome.kind()),
                    KeyValue::new("aine.why", why.clone()),
                ];
                let status = outcome_status(outcome, &mut attributes);
                let start = match self.attempts.get(step) {
                    Some((a, started)) if a == attempt => (*started).min(end),
                    // Started by another process: the best this one knows.
                    _ => end - Duration::from_millis(*duration_ms),
                };
                vec![self.span(
                    ids::step_span_id(&self.run, step, *attempt),
                    ids::root_span_id(&self.run),
                    format!("step {step}"),
                    SpanKind::Internal,
                    start,
                    end,
                    attributes,
                    status,
                )]
            }
            Event::ElementFinished {
                step,
                element,
                of,
                outcome,
                why,
                duration_ms,
            } => {
                let mut attributes = vec![
                    KeyValue::new("aine.run.id", self.run.to_string()),
                    KeyValue::new("aine.step.id", step.to_string()),
                    KeyValue::new("aine.element.index", i64::from(*element)),
                    KeyValue::new("aine.element.count", i64::from(*of)),
                    KeyValue::new("aine.outcome", outcome.kind()),
                    KeyValue::new("aine.why", why.clone()),
                ];
                let status = outcome_status(outcome, &mut attributes);
                let mut start = end - Duration::from_millis(*duration_ms);
                if let Some((_, step_start)) = self.attempts.get(step) {
                    start = start.max(*step_start).min(end);
                }
                vec![self.span(
                    ids::element_span_id(&self.run, step, *element),
                    ids::step_span_id(&self.run, step, self.attempt(step)),
                    format!("element {step}[{element}]"),
                    SpanKind::Internal,
                    start,
                    end,
                    attributes,
                    status,
                )]
            }
            Event::ModelCalled {
                step,
                call,
                element,
                model,
                provider,
                reason,
                result,
                spend,
                latency_ms,
            } => {
                let span = self.call_span(step, *call, model, provider, reason, result, spend);
                // The entry is journaled after the call returns, so `at_ms - latency_ms` is
                // not before the call began; a wall clock stepped back could still put it
                // before its step, so it is kept inside.
                let mut start = end - Duration::from_millis(*latency_ms);
                if let Some((_, step_start)) = self.attempts.get(step) {
                    start = start.max(*step_start).min(end);
                }
                // A call of a `for_each` element belongs to the element's span.
                let parent = match element {
                    Some(element) => ids::element_span_id(&self.run, step, *element),
                    None => ids::step_span_id(&self.run, step, self.attempt(step)),
                };
                vec![self.span(
                    ids::call_span_id(&self.run, step, *call),
                    parent,
                    format!("{CHAT} {model}"),
                    SpanKind::Client,
                    start,
                    end,
                    span.0,
                    span.1,
                )]
            }
            Event::GateEvaluated {
                step, open, why, ..
            } if !open => vec![self.span(
                ids::gate_span_id(&self.run, step, None),
                ids::root_span_id(&self.run),
                format!("gate {step}"),
                SpanKind::Internal,
                end,
                end,
                vec![
                    KeyValue::new("aine.run.id", self.run.to_string()),
                    KeyValue::new("aine.step.id", step.to_string()),
                    KeyValue::new("aine.gate.open", false),
                    KeyValue::new("aine.why", why.clone()),
                ],
                Status::Ok,
            )],
            Event::GateEvaluated { .. } | Event::GateOpened { .. } => Vec::new(),
            Event::GateDecided {
                step,
                gate,
                decision,
                by,
                reason,
            } => {
                let opened = time(i64::try_from(gate.ulid().timestamp_ms()).unwrap_or(i64::MAX));
                let start = opened.min(end);
                let wait_ms = end.duration_since(start).unwrap_or_default().as_millis();
                vec![self.span(
                    ids::gate_span_id(&self.run, step, Some(gate)),
                    ids::root_span_id(&self.run),
                    format!("gate {step}"),
                    SpanKind::Internal,
                    start,
                    end,
                    vec![
                        KeyValue::new("aine.run.id", self.run.to_string()),
                        KeyValue::new("aine.step.id", step.to_string()),
                        KeyValue::new("aine.gate.id", gate.to_string()),
                        KeyValue::new("aine.gate.open", true),
                        KeyValue::new("aine.gate.decision", decision.kind()),
                        KeyValue::new("aine.gate.decided_by", by.to_string()),
                        KeyValue::new("aine.gate.reason", reason.clone()),
                        KeyValue::new(
                            "aine.gate.wait_ms",
                            i64::try_from(wait_ms).unwrap_or(i64::MAX),
                        ),
                    ],
                    Status::Ok,
                )]
            }
            Event::RunFinished { status, why } => {
                let workflow = self.workflow.clone().unwrap_or_default();
                let started = time(i64::try_from(self.run.ulid().timestamp_ms()).unwrap_or(0));
                let mut attributes = vec![
                    KeyValue::new("gen_ai.operation.name", INVOKE_WORKFLOW),
                    KeyValue::new("aine.run.id", self.run.to_string()),
                    KeyValue::new("aine.run.status", status.as_str()),
                    KeyValue::new("aine.why", why.clone()),
                    KeyValue::new("aine.run.cost_usd", usd(&self.run_spend)),
                    KeyValue::new(
                        "aine.run.tokens",
                        i64::try_from(self.run_spend.tokens()).unwrap_or(i64::MAX),
                    ),
                ];
                if !workflow.is_empty() {
                    attributes.push(KeyValue::new("aine.workflow", workflow.clone()));
                }
                let otel_status = match status {
                    RunStatus::Failed => Status::error(why.clone()),
                    _ => Status::Ok,
                };
                let name = if workflow.is_empty() {
                    INVOKE_WORKFLOW.to_owned()
                } else {
                    format!("{INVOKE_WORKFLOW} {workflow}")
                };
                vec![self.span(
                    ids::root_span_id(&self.run),
                    SpanId::INVALID,
                    name,
                    SpanKind::Internal,
                    started.min(end),
                    end,
                    attributes,
                    otel_status,
                )]
            }
        }
    }

    fn attempt(&self, step: &StepId) -> u32 {
        self.attempts.get(step).map_or(1, |(attempt, _)| *attempt)
    }

    /// The attributes and status of a model call's span; folds its spend in.
    #[expect(
        clippy::too_many_arguments,
        reason = "the fields of one ModelCalled event"
    )]
    fn call_span(
        &mut self,
        step: &StepId,
        call: u32,
        model: &str,
        provider: &str,
        reason: &str,
        result: &CallResult,
        spend: &Spend,
    ) -> (Vec<KeyValue>, Status) {
        self.run_spend += *spend;
        let step_spend = {
            let s = self.step_spend.entry(step.clone()).or_default();
            *s += *spend;
            *s
        };
        let mut a = vec![
            KeyValue::new("gen_ai.operation.name", CHAT),
            KeyValue::new("gen_ai.provider.name", provider.to_owned()),
            KeyValue::new("gen_ai.request.model", model.to_owned()),
            KeyValue::new("gen_ai.usage.input_tokens", tokens(spend.input_tokens)),
            KeyValue::new("gen_ai.usage.output_tokens", tokens(spend.output_tokens)),
            KeyValue::new("gen_ai.usage.cost", usd(spend)),
            KeyValue::new("aine.run.id", self.run.to_string()),
            KeyValue::new("aine.step.id", step.to_string()),
            KeyValue::new("aine.call", i64::from(call)),
            KeyValue::new("aine.call.reason", reason.to_owned()),
            KeyValue::new("aine.outcome", verdict(result).to_owned()),
        ];
        if let Some(prompt) = self.prompts.remove(&(step.clone(), call)) {
            a.push(KeyValue::new("gen_ai.input.messages", prompt));
        }
        if let Some(max) = self.limits.max_tokens.get(step) {
            a.push(KeyValue::new("gen_ai.request.max_tokens", tokens(*max)));
        }
        if let Some((previous, verdict)) = self.last_call.get(step)
            && (verdict == "unsure" || verdict == "violation")
            && previous != model
        {
            a.push(KeyValue::new("aine.escalation.from", previous.clone()));
            a.push(KeyValue::new("aine.escalation.reason", reason.to_owned()));
        }
        let status = match result {
            CallResult::Answered {
                text,
                response_model,
                finish_reason,
                detail,
                ..
            } => {
                if let Some(answered_by) = response_model {
                    a.push(KeyValue::new("gen_ai.response.model", answered_by.clone()));
                }
                if let Some(finish) = finish_reason {
                    a.push(KeyValue::new(
                        "gen_ai.response.finish_reasons",
                        Value::Array(Array::String(vec![StringValue::from(finish.clone())])),
                    ));
                }
                if let Some(detail) = detail {
                    a.push(KeyValue::new("aine.outcome.detail", detail.clone()));
                }
                if self.capture_content {
                    let messages = serde_json::json!([{
                        "role": "assistant",
                        "parts": [{ "type": "text", "content": text }],
                        "finish_reason": finish_reason.as_deref().unwrap_or("stop"),
                    }]);
                    a.push(KeyValue::new(
                        "gen_ai.output.messages",
                        messages.to_string(),
                    ));
                }
                Status::Unset
            }
            CallResult::ProviderError { kind, message, .. } => {
                a.push(KeyValue::new("error.type", kind.clone()));
                Status::error(message.clone())
            }
            CallResult::BudgetRefused { detail } => {
                a.push(KeyValue::new("error.type", "budget_refused"));
                Status::error(detail.clone())
            }
        };
        remaining(
            &mut a,
            "aine.budget.run",
            self.limits.run.as_ref(),
            self.run_spend,
        );
        remaining(
            &mut a,
            "aine.budget.step",
            self.limits.steps.get(step),
            step_spend,
        );
        self.last_call
            .insert(step.clone(), (model.to_owned(), verdict(result).to_owned()));
        (a, status)
    }

    #[expect(clippy::too_many_arguments, reason = "every field of a span")]
    fn span(
        &self,
        span_id: SpanId,
        parent: SpanId,
        name: String,
        kind: SpanKind,
        start: SystemTime,
        end: SystemTime,
        attributes: Vec<KeyValue>,
        status: Status,
    ) -> SpanData {
        SpanData {
            span_context: SpanContext::new(
                ids::trace_id(&self.run),
                span_id,
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: parent,
            parent_span_is_remote: false,
            span_kind: kind,
            name: Cow::Owned(name),
            start_time: start,
            end_time: end,
            attributes,
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status,
            instrumentation_scope: scope(),
        }
    }
}

/// Every span of a whole journal at once (e.g. to export a finished run after the fact).
pub fn trace(
    run: RunId,
    workflow: Option<&Workflow>,
    journal: &[JournalEntry],
    capture_content: bool,
) -> Vec<SpanData> {
    let mut trace = RunTrace::new(run, capture_content);
    if let Some(workflow) = workflow {
        // Budgets and output limits from the workflow; spend is folded from the journal.
        trace.workflow = Some(workflow.name.clone());
        trace.limits = Limits::of(workflow);
    }
    journal.iter().flat_map(|e| trace.on_entry(e)).collect()
}

/// `aine.outcome` of a call: the verdict, `provider_error` or `budget_refused`.
fn verdict(result: &CallResult) -> &str {
    match result {
        CallResult::Answered { verdict, .. } => verdict,
        CallResult::ProviderError { .. } => "provider_error",
        CallResult::BudgetRefused { .. } => "budget_refused",
    }
}

/// `{prefix}.remaining_usd` / `{prefix}.remaining_tokens` after `spent`, for each cap `budget` sets.
fn remaining(a: &mut Vec<KeyValue>, prefix: &str, budget: Option<&Budget>, spent: Spend) {
    let Some(budget) = budget else { return };
    if let Some(limit) = budget.usd {
        a.push(KeyValue::new(
            format!("{prefix}.remaining_usd"),
            (limit.0 - spent.usd.0).to_f64().unwrap_or(0.0),
        ));
    }
    if let Some(limit) = budget.tokens {
        let left = i128::from(limit) - i128::from(spent.tokens());
        a.push(KeyValue::new(
            format!("{prefix}.remaining_tokens"),
            i64::try_from(left).unwrap_or(i64::MAX),
        ));
    }
}

fn usd(spend: &Spend) -> f64 {
    spend.usd.0.to_f64().unwrap_or(0.0)
}

fn tokens(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn time(ms: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

fn scope() -> InstrumentationScope {
    InstrumentationScope::builder("aine")
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}

/// The span status of a step or element that ended with `outcome`; an `unsure` or `fallback`
/// reason becomes the `aine.outcome.reason` attribute.
fn outcome_status(outcome: &Outcome, attributes: &mut Vec<KeyValue>) -> Status {
    match outcome {
        Outcome::Ok { .. } => Status::Ok,
        Outcome::Unsure { reason, .. } | Outcome::Fallback { reason, .. } => {
            attributes.push(KeyValue::new("aine.outcome.reason", reason.clone()));
            Status::Unset
        }
        Outcome::Violation { errors } => Status::error(errors.join("; ")),
        Outcome::Failed { error } => Status::error(error.clone()),
    }
}
