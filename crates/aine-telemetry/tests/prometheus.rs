//! `prometheus::render` over real stored runs: the text parses as Prometheus text format (with
//! `prometheus-parse`) and carries the GenAI histograms, runs by status, gate waits, cost by
//! workflow and model, and escalations by route step.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers"
)]

mod common;

use aine_runtime::Quiet;
use aine_telemetry::{ExportStats, prometheus};
use aine_types::{Decision, PersonId, RunStatus};
use common::{WORKFLOW, setup};
use prometheus_parse::{Sample, Scrape, Value};
use serde_json::json;

/// Parses `text`, checking that every sample line became a sample.
fn parse(text: &str) -> Scrape {
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    let sample_lines = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .count();
    let histogram_lines: usize = scrape
        .samples
        .iter()
        .map(|s| match &s.value {
            // One `_bucket` line per bucket (`_sum` and `_count` are samples of their own).
            Value::Histogram(buckets) => buckets.len(),
            _ => 1,
        })
        .sum();
    assert_eq!(histogram_lines, sample_lines, "unparsed lines in:\n{text}");
    scrape
}

/// A counter's value. OpenMetrics (what `prometheus-client` writes, and Prometheus scrapes)
/// names a counter family without `_total` in `# TYPE`; `prometheus-parse`, a Prometheus 0.0.4
/// text parser, then reads the `_total` samples as untyped.
fn counter(value: &Value) -> f64 {
    match value {
        Value::Counter(n) | Value::Untyped(n) => *n,
        other => panic!("not a counter: {other:?}"),
    }
}

/// The samples of `metric` whose labels include every pair of `labels`.
fn samples<'a>(scrape: &'a Scrape, metric: &str, labels: &[(&str, &str)]) -> Vec<&'a Sample> {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .collect()
}

fn one<'a>(scrape: &'a Scrape, metric: &str, labels: &[(&str, &str)]) -> &'a Value {
    let found = samples(scrape, metric, labels);
    assert_eq!(found.len(), 1, "{metric} {labels:?}: {found:?}");
    &found[0].value
}

fn histogram_count(value: &Value) -> f64 {
    match value {
        Value::Histogram(buckets) => buckets.iter().map(|b| b.count).fold(0.0, f64::max),
        other => panic!("not a histogram: {other:?}"),
    }
}

#[tokio::test]
async fn metrics_of_stored_runs_parse_as_prometheus_text() {
    let (dir, rt) = setup(WORKFLOW).await;
    // One finished run (escalation, approved gate) and one waiting at its gate.
    let run = rt
        .start(&dir.path().join("wf.workflow.yaml"), json!({}))
        .await
        .unwrap()
        .id();
    let waiting = rt.drive(&run, &Quiet).await.unwrap();
    rt.decide(
        &waiting.waiting.unwrap().gate,
        &PersonId::new("alice").unwrap(),
        Decision::Approve,
        "ok",
    )
    .await
    .unwrap();
    assert_eq!(
        rt.drive(&run, &Quiet).await.unwrap().status,
        RunStatus::Succeeded
    );
    let second = rt
        .start(&dir.path().join("wf.workflow.yaml"), json!({}))
        .await
        .unwrap()
        .id();
    // The scripted models are used up: the second run's model step fails.
    let status = rt.drive(&second, &Quiet).await.unwrap().status;

    let runs = rt.store().journals_since(0).await.unwrap();
    let stats = ExportStats::default();
    let text = prometheus::render(&runs, Some(&stats));
    let scrape = parse(&text);

    let w = ("workflow", "titles");
    match one(&scrape, "aine_runs", &[w, ("status", "succeeded")]) {
        Value::Gauge(n) => assert_eq!(*n, 1.0),
        other => panic!("{other:?}"),
    }
    match one(&scrape, "aine_runs", &[w, ("status", status.as_str())]) {
        Value::Gauge(n) => assert_eq!(*n, 1.0),
        other => panic!("{other:?}"),
    }
    match one(&scrape, "aine_runs", &[w, ("status", "rejected")]) {
        Value::Gauge(n) => assert_eq!(*n, 0.0),
        other => panic!("{other:?}"),
    }
    let big = [
        ("gen_ai_operation_name", "chat"),
        ("gen_ai_provider_name", "scripted"),
        ("gen_ai_request_model", "t/big"),
    ];
    let input = [big.as_slice(), &[("gen_ai_token_type", "input")]].concat();
    assert_eq!(
        histogram_count(one(&scrape, "gen_ai_client_token_usage", &input)),
        1.0
    );
    let ok = [big.as_slice(), &[("error_type", "")]].concat();
    assert_eq!(
        histogram_count(one(
            &scrape,
            "gen_ai_client_operation_duration_seconds",
            &ok
        )),
        1.0
    );
    let usd = counter(one(
        &scrape,
        "aine_cost_usd_total",
        &[w, ("model", "t/big")],
    ));
    assert!((usd - 0.00012).abs() < 1e-12, "{usd}");
    let escalations = counter(one(
        &scrape,
        "aine_model_escalations_total",
        &[
            w,
            ("step", "draft"),
            ("from_model", "t/small"),
            ("to_model", "t/big"),
        ],
    ));
    assert_eq!(escalations, 1.0);
    assert_eq!(
        histogram_count(one(
            &scrape,
            "aine_gate_wait_seconds",
            &[w, ("step", "review"), ("decision", "approve")]
        )),
        1.0
    );
    assert_eq!(
        counter(one(&scrape, "aine_telemetry_spans_dropped_total", &[])),
        0.0
    );
    // Every metric has help text.
    for name in [
        "gen_ai_client_token_usage",
        "gen_ai_client_operation_duration_seconds",
        "aine_runs",
        "aine_gate_wait_seconds",
        "aine_cost_usd",
        "aine_model_escalations",
    ] {
        assert!(
            scrape.docs.contains_key(name),
            "no HELP for {name}:\n{text}"
        );
    }
}

#[test]
fn no_runs_give_valid_empty_metrics() {
    let text = prometheus::render(&[], None);
    let scrape = parse(&text);
    assert!(scrape.samples.is_empty(), "{text}");
    assert!(text.ends_with("# EOF\n"), "{text}");
}
