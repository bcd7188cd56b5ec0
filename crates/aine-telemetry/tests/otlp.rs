//! Traces reach a real OTLP/HTTP collector (an axum server on 127.0.0.1 decoding
//! `ExportTraceServiceRequest`), with the right names, parents and GenAI attributes, across a
//! gate decided "in another process"; a collector that is down or slow changes neither a run's
//! result nor its timing beyond a bound.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers"
)]

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aine_runtime::{Observer, Quiet, Runtime};
use aine_telemetry::{Exporter, TelemetryObserver, ids};
use aine_types::{Decision, Event, PersonId, RunId, RunStatus, StepId};
use common::{Collector, WORKFLOW, collector, dead_endpoint, setup};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use serde_json::json;
use tempfile::TempDir;

fn observer(endpoint: &str, capture_content: bool) -> Arc<TelemetryObserver> {
    Arc::new(TelemetryObserver::new(
        Exporter::otlp(Some(endpoint)).unwrap(),
        capture_content,
    ))
}

/// Flushes `observer` off the async threads (the exporter's flush blocks).
async fn shutdown(observer: Arc<TelemetryObserver>, bound: Duration) -> Duration {
    tokio::task::spawn_blocking(move || {
        let begin = Instant::now();
        observer.shutdown(bound);
        begin.elapsed()
    })
    .await
    .unwrap()
}

/// Starts a run of [`WORKFLOW`] and drives it to its gate, then approves the gate and drives it
/// to the end, each half with its own observer (as two `aine` processes would).
async fn run_in_two_processes(
    dir: &TempDir,
    rt: &Runtime,
    first: &dyn Observer,
    second: &dyn Observer,
) -> RunId {
    let run = rt
        .start(&dir.path().join("wf.workflow.yaml"), json!({}))
        .await
        .unwrap()
        .id();
    let waiting = rt.drive(&run, first).await.unwrap();
    assert_eq!(waiting.status, RunStatus::Waiting);
    let gate = waiting.waiting.unwrap().gate;
    rt.decide_observed(
        &gate,
        &PersonId::new("alice").unwrap(),
        Decision::Approve,
        "fine",
        second,
    )
    .await
    .unwrap();
    let done = rt.drive(&run, second).await.unwrap();
    assert_eq!(done.status, RunStatus::Succeeded);
    run
}

fn attr<'a>(span: &'a Span, key: &str) -> Option<&'a Any> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

fn string(span: &Span, key: &str) -> String {
    match attr(span, key) {
        Some(Any::StringValue(s)) => s.clone(),
        other => panic!("{key} on `{}` is {other:?}", span.name),
    }
}

fn int(span: &Span, key: &str) -> i64 {
    match attr(span, key) {
        Some(Any::IntValue(n)) => *n,
        other => panic!("{key} on `{}` is {other:?}", span.name),
    }
}

fn double(span: &Span, key: &str) -> f64 {
    match attr(span, key) {
        Some(Any::DoubleValue(n)) => *n,
        other => panic!("{key} on `{}` is {other:?}", span.name),
    }
}

fn by_name<'a>(spans: &'a [Span], name: &str) -> &'a Span {
    let found: Vec<&Span> = spans.iter().filter(|s| s.name == name).collect();
    assert_eq!(found.len(), 1, "one `{name}` in {:?}", names(spans));
    found[0]
}

fn names(spans: &[Span]) -> Vec<&str> {
    spans.iter().map(|s| s.name.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_with_an_escalation_is_one_trace_across_two_processes() {
    let (endpoint, received) = collector(Collector::Healthy).await;
    let (dir, rt) = setup(WORKFLOW).await;
    let first = observer(&endpoint, true);
    let second = observer(&endpoint, true);
    let run = run_in_two_processes(&dir, &rt, first.as_ref(), second.as_ref()).await;
    shutdown(first.clone(), Duration::from_secs(5)).await;
    shutdown(second.clone(), Duration::from_secs(5)).await;
    assert_eq!(first.stats().exported() + second.stats().exported(), 6);
    assert_eq!(first.stats().failed() + first.stats().dropped(), 0);

    let spans = received.spans();
    let mut sorted = names(&spans);
    sorted.sort_unstable();
    // A gate is not executed: it has a `gate` span, not a `step` span.
    assert_eq!(
        sorted,
        [
            "chat t/big",
            "chat t/small",
            "gate review",
            "invoke_workflow titles",
            "step draft",
            "step echo",
        ]
    );
    // One trace, the run's ULID.
    let trace = run.ulid().to_bytes().to_vec();
    assert!(spans.iter().all(|s| s.trace_id == trace));
    let id = |s: &Span| s.span_id.clone();
    let root = by_name(&spans, "invoke_workflow titles");
    let draft = by_name(&spans, "step draft");
    let echo = by_name(&spans, "step echo");
    let gate = by_name(&spans, "gate review");
    let small = by_name(&spans, "chat t/small");
    let big = by_name(&spans, "chat t/big");
    // Parent links: the root was emitted by the second process, `draft` and the calls by the
    // first; they meet because ids derive from the run.
    assert!(root.parent_span_id.is_empty());
    assert_eq!(
        id(root),
        ids::root_span_id(&run).to_bytes().to_vec(),
        "root id is derived from the run id"
    );
    for child in [draft, echo, gate] {
        assert_eq!(child.parent_span_id, id(root), "{}", child.name);
    }
    for call in [small, big] {
        assert_eq!(call.parent_span_id, id(draft), "{}", call.name);
        assert_eq!(call.kind, SpanKind::Client as i32);
    }
    // Times: children inside their parents.
    assert!(root.start_time_unix_nano <= draft.start_time_unix_nano);
    assert!(draft.start_time_unix_nano <= small.start_time_unix_nano);
    assert!(big.end_time_unix_nano <= draft.end_time_unix_nano);
    assert!(echo.end_time_unix_nano <= root.end_time_unix_nano);
    assert!(gate.start_time_unix_nano <= gate.end_time_unix_nano);

    // GenAI attributes on the calls.
    for (span, model) in [(small, "t/small"), (big, "t/big")] {
        assert_eq!(string(span, "gen_ai.operation.name"), "chat");
        assert_eq!(string(span, "gen_ai.provider.name"), "scripted");
        assert_eq!(string(span, "gen_ai.request.model"), model);
        // The model the provider says answered, not the route's name for it.
        assert_eq!(
            string(span, "gen_ai.response.model"),
            format!("{model}-2026-06")
        );
        // Content capture is on: the prompt is there, system instructions first.
        let prompt: serde_json::Value =
            serde_json::from_str(&string(span, "gen_ai.input.messages")).unwrap();
        assert_eq!(prompt[0]["role"], "system");
        assert_eq!(prompt[1]["role"], "user");
        assert_eq!(prompt[1]["parts"][0]["content"], "Give a title.");
        assert_eq!(int(span, "gen_ai.request.max_tokens"), 50);
        assert_eq!(int(span, "gen_ai.usage.input_tokens"), 100);
        assert_eq!(int(span, "gen_ai.usage.output_tokens"), 20);
        assert!((double(span, "gen_ai.usage.cost") - 0.00012).abs() < 1e-12);
        match attr(span, "gen_ai.response.finish_reasons") {
            Some(Any::ArrayValue(a)) => assert_eq!(a.values.len(), 1),
            other => panic!("finish reasons: {other:?}"),
        }
    }
    assert_eq!(string(small, "aine.outcome"), "unsure");
    assert_eq!(string(small, "aine.outcome.detail"), "too vague");
    assert!(attr(small, "aine.escalation.reason").is_none());
    assert_eq!(string(big, "aine.outcome"), "ok");
    assert_eq!(string(big, "aine.escalation.from"), "t/small");
    assert!(
        string(big, "aine.escalation.reason").starts_with("escalated after unsure (too vague)")
    );
    // Budget remaining after each call: run 1.0 USD and 10000 tokens, step 0.5 USD.
    assert!((double(small, "aine.budget.run.remaining_usd") - (1.0 - 0.00012)).abs() < 1e-9);
    assert!((double(big, "aine.budget.step.remaining_usd") - (0.5 - 0.00024)).abs() < 1e-9);
    assert_eq!(int(big, "aine.budget.run.remaining_tokens"), 10000 - 240);
    // Content capture is on: the answer is there.
    assert!(string(big, "gen_ai.output.messages").contains("Hello"));

    assert_eq!(string(draft, "aine.outcome"), "ok");
    assert_eq!(string(gate, "aine.gate.decision"), "approve");
    assert_eq!(string(gate, "aine.gate.decided_by"), "alice");
    assert_eq!(string(root, "gen_ai.operation.name"), "invoke_workflow");
    assert_eq!(string(root, "aine.run.status"), "succeeded");
    assert!((double(root, "aine.run.cost_usd") - 0.00024).abs() < 1e-12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_stay_off_spans_unless_content_capture_is_on() {
    let (endpoint, received) = collector(Collector::Healthy).await;
    let (dir, rt) = setup(WORKFLOW).await;
    let obs = observer(&endpoint, false);
    run_in_two_processes(&dir, &rt, obs.as_ref(), obs.as_ref()).await;
    shutdown(obs, Duration::from_secs(5)).await;
    let spans = received.spans();
    assert_eq!(spans.len(), 6);
    for span in &spans {
        for kv in &span.attributes {
            assert!(!kv.key.contains("messages"), "{} on {}", kv.key, span.name);
            assert!(
                !format!("{:?}", kv.value).contains("Hello"),
                "{} on {}",
                kv.key,
                span.name
            );
        }
    }
}

/// What a run came to, for comparing runs: status and every journaled event without times.
async fn outcome(rt: &Runtime, run: &RunId) -> (RunStatus, Vec<String>) {
    let summary = rt.summary(run).await.unwrap();
    let events = rt
        .store()
        .journal(run)
        .await
        .unwrap()
        .into_iter()
        .map(|e| match e.event {
            Event::ModelCalled {
                step,
                model,
                result,
                spend,
                ..
            } => format!("{step} {model} {result:?} {spend:?}"),
            Event::StepFinished { step, outcome, .. } => format!("{step} {outcome:?}"),
            other => other.kind().to_owned(),
        })
        .collect();
    (summary.status, events)
}

/// Runs [`WORKFLOW`] to its end with `obs` and returns how long driving took and the outcome.
async fn timed_run(obs: &dyn Observer) -> (Duration, (RunStatus, Vec<String>)) {
    let (dir, rt) = setup(WORKFLOW).await;
    let begin = Instant::now();
    let run = run_in_two_processes(&dir, &rt, obs, obs).await;
    let took = begin.elapsed();
    (took, outcome(&rt, &run).await)
}

/// The bound on what a broken collector may add to a run: the run's path only pushes to a
/// bounded queue, so this is generous for a loaded 2-core CI machine.
const SLOWDOWN_BOUND: Duration = Duration::from_millis(500);
/// How long the process may wait for the exporter at exit, beyond the bound it asked for.
const SHUTDOWN_SLACK: Duration = Duration::from_millis(500);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_that_is_down_or_slow_changes_neither_results_nor_timing() {
    let (baseline_time, baseline) = timed_run(&Quiet).await;
    let (slow_endpoint, _received) = collector(Collector::Slow(Duration::from_secs(30))).await;
    for endpoint in [dead_endpoint(), slow_endpoint] {
        let obs = observer(&endpoint, false);
        let (took, result) = timed_run(obs.as_ref()).await;
        assert_eq!(result, baseline, "{endpoint}");
        assert!(
            took < baseline_time + SLOWDOWN_BOUND,
            "{endpoint}: {took:?} against {baseline_time:?} without telemetry"
        );
        let bound = Duration::from_millis(300);
        let waited = shutdown(obs.clone(), bound).await;
        assert!(
            waited < bound + SHUTDOWN_SLACK,
            "{endpoint}: waited {waited:?}"
        );
        let stats = obs.stats();
        assert_eq!(stats.exported(), 0, "{endpoint}");
        assert_eq!(
            stats.failed() + stats.dropped(),
            6,
            "{endpoint}: every span is accounted for as lost"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_drops_spans_and_counts_them() {
    let (endpoint, _received) = collector(Collector::Slow(Duration::from_secs(30))).await;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("{endpoint}/v1/traces"))
        .build()
        .unwrap();
    let obs = Arc::new(TelemetryObserver::new(
        Exporter::with_max_queue(exporter, opentelemetry_sdk::Resource::builder().build(), 2),
        false,
    ));
    let (_, result) = timed_run(obs.as_ref()).await;
    assert_eq!(result.0, RunStatus::Succeeded);
    // 6 spans, room for 2: the other 4 are dropped (the first export takes 30 s).
    assert_eq!(obs.stats().dropped(), 4);
    shutdown(obs.clone(), Duration::from_millis(100)).await;
    let stats = obs.stats();
    assert_eq!(stats.exported() + stats.failed() + stats.dropped(), 6);
}

#[test]
fn spans_of_a_whole_journal_match_the_observed_ones() {
    // `spans::trace` over a stored journal gives the same tree as the live observer: checked
    // on a synthetic journal so it needs no runtime.
    let run: RunId = "run_01JD0000000000000000000000".parse().unwrap();
    let step: StepId = "draft".parse().unwrap();
    let at = i64::try_from(run.ulid().timestamp_ms()).unwrap();
    // Entries are stamped when they are flushed. `StepStarted` is flushed before the step's
    // work; the call (8 ms) is flushed before the next one would be paid for; `StepFinished`
    // (a 15 ms step) waits for the end of the run, 7 ms later. So `at_ms - duration_ms` of the
    // step (+12) is after the call began (+10): the step span must start at `StepStarted`.
    let journal: Vec<aine_types::JournalEntry> = [
        (
            0,
            Event::RunStarted {
                workflow: "w".into(),
                workflow_version: 1,
                workflow_sha256: String::new(),
                inputs: json!({}),
            },
        ),
        (
            2,
            Event::StepStarted {
                step: step.clone(),
                attempt: 1,
            },
        ),
        (
            18,
            Event::ModelCalled {
                step: step.clone(),
                call: 1,
                element: None,
                model: "t/small".into(),
                provider: "scripted".into(),
                reason: "first in route".into(),
                result: aine_types::CallResult::Answered {
                    text: "{}".into(),
                    response_model: None,
                    finish_reason: None,
                    verdict: "ok".into(),
                    detail: None,
                },
                spend: aine_types::Spend::default(),
                latency_ms: 8,
            },
        ),
        (
            24,
            Event::StepFinished {
                step: step.clone(),
                attempt: 1,
                outcome: aine_types::Outcome::Failed {
                    error: "boom".into(),
                },
                why: "builtin".into(),
                duration_ms: 12,
            },
        ),
        (
            24,
            Event::RunFinished {
                status: RunStatus::Failed,
                why: "draft failed".into(),
            },
        ),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (after_ms, event))| aine_types::JournalEntry {
        seq: i as u64 + 1,
        at_ms: at + after_ms,
        event,
    })
    .collect();
    let spans = aine_telemetry::spans::trace(run, None, &journal, false);
    let by: HashMap<&str, &opentelemetry_sdk::trace::SpanData> =
        spans.iter().map(|s| (s.name.as_ref(), s)).collect();
    assert_eq!(by.len(), 3);
    let root = by["invoke_workflow w"];
    let draft = by["step draft"];
    let call = by["chat t/small"];
    assert_eq!(draft.parent_span_id, root.span_context.span_id());
    assert_eq!(call.parent_span_id, draft.span_context.span_id());
    let ms = |t: std::time::SystemTime| {
        i64::try_from(t.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()).unwrap() - at
    };
    assert_eq!(
        (ms(draft.start_time), ms(draft.end_time)),
        (2, 24),
        "from StepStarted to StepFinished"
    );
    assert_eq!((ms(call.start_time), ms(call.end_time)), (10, 18));
    assert!(root.start_time <= draft.start_time && draft.end_time <= root.end_time);
    assert!(matches!(
        draft.status,
        opentelemetry::trace::Status::Error { .. }
    ));
    assert!(matches!(
        root.status,
        opentelemetry::trace::Status::Error { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_trace_reaches_a_grpc_collector() {
    let (endpoint, received) = common::grpc_collector().await;
    let (dir, rt) = setup(WORKFLOW).await;
    let obs = Arc::new(TelemetryObserver::new(
        Exporter::otlp_grpc(Some(&endpoint)).unwrap(),
        false,
    ));
    let run = run_in_two_processes(&dir, &rt, obs.as_ref(), obs.as_ref()).await;
    shutdown(obs.clone(), Duration::from_secs(5)).await;
    assert_eq!(obs.stats().exported(), 6, "{:?}", obs.stats());
    let spans = received.spans();
    let mut names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "chat t/big",
            "chat t/small",
            "gate review",
            "invoke_workflow titles",
            "step draft",
            "step echo"
        ]
    );
    let root = by_name(&spans, "invoke_workflow titles");
    assert_eq!(root.span_id, ids::root_span_id(&run).to_bytes().to_vec());
    let big = by_name(&spans, "chat t/big");
    assert_eq!(big.parent_span_id, by_name(&spans, "step draft").span_id);
    assert_eq!(int(big, "gen_ai.usage.input_tokens"), 100);
}

#[test]
fn the_protocol_comes_from_the_standard_variables_then_aine_toml() {
    use aine_runtime::config::{OtlpProtocol, Telemetry};
    let grpc = Telemetry {
        protocol: Some(OtlpProtocol::Grpc),
        ..Telemetry::default()
    };
    assert_eq!(
        aine_telemetry::protocol(&Telemetry::default()).unwrap(),
        OtlpProtocol::HttpProtobuf
    );
    assert_eq!(aine_telemetry::protocol(&grpc).unwrap(), OtlpProtocol::Grpc);
    let toml: Telemetry = toml::from_str("protocol = \"grpc\"").unwrap();
    assert_eq!(toml, grpc);
    let err = toml::from_str::<Telemetry>("protocol = \"http/json\"").unwrap_err();
    assert!(err.to_string().contains("unknown variant"), "{err}");
}
