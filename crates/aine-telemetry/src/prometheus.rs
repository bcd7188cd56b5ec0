//! Prometheus metrics of stored runs, in the text exposition format (OpenMetrics 1.0 text,
//! which Prometheus scrapes natively).
//!
//! The OpenTelemetry GenAI client metrics
//! (<https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-metrics/>) are mapped to
//! Prometheus names the way the OpenTelemetry Prometheus exporter maps them: dots become
//! underscores and the unit `s` becomes a `_seconds` suffix, so `gen_ai.client.token.usage` is
//! `gen_ai_client_token_usage` and `gen_ai.client.operation.duration` is
//! `gen_ai_client_operation_duration_seconds`; attributes become labels the same way.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `gen_ai_client_token_usage` | histogram (tokens) | `gen_ai_operation_name`, `gen_ai_provider_name`, `gen_ai_request_model`, `gen_ai_token_type` |
//! | `gen_ai_client_operation_duration_seconds` | histogram | `gen_ai_operation_name`, `gen_ai_provider_name`, `gen_ai_request_model`, `error_type` (empty when it succeeded) |
//! | `aine_runs` | gauge | `workflow`, `status` |
//! | `aine_gate_wait_seconds` | histogram | `workflow`, `step`, `decision` |
//! | `aine_cost_usd_total` | counter (USD) | `workflow`, `model` |
//! | `aine_model_escalations_total` | counter | `workflow`, `step`, `from_model`, `to_model` |
//! | `aine_telemetry_spans_{exported,failed,dropped}_total` | counter | (only with [`ExportStats`]) |
//!
//! Calls refused by a budget were never made: they count in neither GenAI histogram.

use std::collections::HashMap;

use aine_store::RunRecord;
use aine_types::{CallResult, Event, JournalEntry, RunStatus, StepId};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use rust_decimal::prelude::ToPrimitive;

use crate::export::ExportStats;
use crate::spans::CHAT;

/// The `Content-Type` to serve [`render`]'s output with (OpenMetrics 1.0 text).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// `gen_ai.client.token.usage` bucket boundaries (tokens), from the GenAI semantic conventions.
const TOKEN_BUCKETS: [f64; 14] = [
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0,
    16777216.0, 67108864.0,
];
/// `gen_ai.client.operation.duration` bucket boundaries (seconds), from the same conventions.
const DURATION_BUCKETS: [f64; 14] = [
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
/// Gate wait bucket boundaries (seconds): a minute, 5 and 15 minutes, 1 and 4 hours, 1, 3 and
/// 7 days.
const GATE_WAIT_BUCKETS: [f64; 8] = [
    60.0, 300.0, 900.0, 3600.0, 14400.0, 86400.0, 259200.0, 604800.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    gen_ai_operation_name: String,
    gen_ai_provider_name: String,
    gen_ai_request_model: String,
    gen_ai_token_type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DurationLabels {
    gen_ai_operation_name: String,
    gen_ai_provider_name: String,
    gen_ai_request_model: String,
    error_type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    workflow: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GateLabels {
    workflow: String,
    step: String,
    decision: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CostLabels {
    workflow: String,
    model: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EscalationLabels {
    workflow: String,
    step: String,
    from_model: String,
    to_model: String,
}

type Buckets = fn() -> Histogram;

/// The metrics of `runs` (each stored run with its whole journal, e.g. from
/// `aine_store::Store::journals_since`) and, if given, of this process's span export, as
/// Prometheus text. Serve it with [`CONTENT_TYPE`]. Pure: same input, same text.
pub fn render(runs: &[(RunRecord, Vec<JournalEntry>)], export: Option<&ExportStats>) -> String {
    let tokens = Family::<TokenLabels, Histogram, Buckets>::new_with_constructor(|| {
        Histogram::new(TOKEN_BUCKETS)
    });
    let duration = Family::<DurationLabels, Histogram, Buckets>::new_with_constructor(|| {
        Histogram::new(DURATION_BUCKETS)
    });
    let gate_wait = Family::<GateLabels, Histogram, Buckets>::new_with_constructor(|| {
        Histogram::new(GATE_WAIT_BUCKETS)
    });
    let statuses = Family::<RunLabels, Gauge>::default();
    let cost = Family::<CostLabels, Counter<f64, std::sync::atomic::AtomicU64>>::default();
    let escalations = Family::<EscalationLabels, Counter>::default();

    for (record, journal) in runs {
        let workflow = record.workflow.clone();
        statuses
            .get_or_create(&RunLabels {
                workflow: workflow.clone(),
                status: record.status.as_str().to_owned(),
            })
            .inc();
        let mut last_call: HashMap<&StepId, (&str, &str)> = HashMap::new();
        let mut opened: HashMap<&StepId, i64> = HashMap::new();
        for entry in journal {
            match &entry.event {
                Event::ModelCalled {
                    step,
                    model,
                    provider,
                    result,
                    spend,
                    latency_ms,
                    ..
                } => {
                    let verdict = match result {
                        CallResult::Answered { verdict, .. } => verdict.as_str(),
                        CallResult::ProviderError { .. } => "provider_error",
                        CallResult::BudgetRefused { .. } => "budget_refused",
                    };
                    if let Some((from, previous)) = last_call.get(step)
                        && (*previous == "unsure" || *previous == "violation")
                        && *from != model.as_str()
                    {
                        escalations
                            .get_or_create(&EscalationLabels {
                                workflow: workflow.clone(),
                                step: step.to_string(),
                                from_model: (*from).to_owned(),
                                to_model: model.clone(),
                            })
                            .inc();
                    }
                    last_call.insert(step, (model.as_str(), verdict));
                    let error_type = match result {
                        CallResult::BudgetRefused { .. } => continue,
                        CallResult::ProviderError { kind, .. } => kind.clone(),
                        CallResult::Answered { .. } => String::new(),
                    };
                    #[expect(clippy::cast_precision_loss, reason = "milliseconds as seconds")]
                    let seconds = *latency_ms as f64 / 1000.0;
                    duration
                        .get_or_create(&DurationLabels {
                            gen_ai_operation_name: CHAT.to_owned(),
                            gen_ai_provider_name: provider.clone(),
                            gen_ai_request_model: model.clone(),
                            error_type: error_type.clone(),
                        })
                        .observe(seconds);
                    if error_type.is_empty() {
                        for (kind, n) in [
                            ("input", spend.input_tokens),
                            ("output", spend.output_tokens),
                        ] {
                            #[expect(clippy::cast_precision_loss, reason = "token counts")]
                            tokens
                                .get_or_create(&TokenLabels {
                                    gen_ai_operation_name: CHAT.to_owned(),
                                    gen_ai_provider_name: provider.clone(),
                                    gen_ai_request_model: model.clone(),
                                    gen_ai_token_type: kind.to_owned(),
                                })
                                .observe(n as f64);
                        }
                    }
                    cost.get_or_create(&CostLabels {
                        workflow: workflow.clone(),
                        model: model.clone(),
                    })
                    .inc_by(spend.usd.0.to_f64().unwrap_or(0.0));
                }
                Event::GateOpened { step, .. } => {
                    opened.insert(step, entry.at_ms);
                }
                Event::GateDecided { step, decision, .. } => {
                    if let Some(at) = opened.remove(step) {
                        #[expect(clippy::cast_precision_loss, reason = "milliseconds as seconds")]
                        let waited = (entry.at_ms - at).max(0) as f64 / 1000.0;
                        gate_wait
                            .get_or_create(&GateLabels {
                                workflow: workflow.clone(),
                                step: step.to_string(),
                                decision: decision.kind().to_owned(),
                            })
                            .observe(waited);
                    }
                }
                _ => {}
            }
        }
    }
    // Every status of every workflow seen is reported, 0 included, so rates and alerts work.
    let workflows: std::collections::BTreeSet<&str> =
        runs.iter().map(|(r, _)| r.workflow.as_str()).collect();
    for workflow in workflows {
        for status in RunStatus::ALL {
            let _ = statuses.get_or_create(&RunLabels {
                workflow: workflow.to_owned(),
                status: status.as_str().to_owned(),
            });
        }
    }

    let mut registry = Registry::default();
    registry.register(
        "gen_ai_client_token_usage",
        "Tokens used per model call (OpenTelemetry gen_ai.client.token.usage)",
        tokens,
    );
    registry.register_with_unit(
        "gen_ai_client_operation_duration",
        "Duration of model calls (OpenTelemetry gen_ai.client.operation.duration)",
        Unit::Seconds,
        duration,
    );
    registry.register("aine_runs", "Runs by workflow and status", statuses);
    registry.register_with_unit(
        "aine_gate_wait",
        "Time from a gate opening to its decision",
        Unit::Seconds,
        gate_wait,
    );
    registry.register_with_unit(
        "aine_cost",
        "Cost of model calls by workflow and model",
        Unit::Other("usd".to_owned()),
        cost,
    );
    registry.register(
        "aine_model_escalations",
        "Escalations to the next model of a route after an unsure answer or a contract violation",
        escalations,
    );
    if let Some(stats) = export {
        for (name, help, n) in [
            (
                "aine_telemetry_spans_exported",
                "Spans the OTLP collector accepted",
                stats.exported(),
            ),
            (
                "aine_telemetry_spans_failed",
                "Spans lost to failed OTLP exports",
                stats.failed(),
            ),
            (
                "aine_telemetry_spans_dropped",
                "Spans dropped because the export queue was full",
                stats.dropped(),
            ),
        ] {
            let counter = Counter::<u64>::default();
            counter.inc_by(n);
            registry.register(name, help, counter);
        }
    }
    let mut out = String::new();
    match encode(&mut out, &registry) {
        Ok(()) => out,
        // Writing to a String cannot fail; an empty exposition is still valid.
        Err(_) => String::new(),
    }
}
