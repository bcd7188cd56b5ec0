//! Tracing overhead per model step: the same one-model-step workflow driven by the runtime
//! (journal in SQLite, prompt rendering, budget check, contract validation) with no observer,
//! and with the [`TelemetryObserver`] exporting every span over OTLP/HTTP to a real collector on
//! 127.0.0.1 (and to one that is down). The model is an in-process fake that answers at once, so
//! the runtime's own work is all that is measured and tracing is as large a share of it as it
//! can be. Prints p50/p99 per run and the relative overhead at p99; the issue's bar is <= 10%.
//!
//! `cargo bench -p aine-telemetry --bench overhead` (add `-- --quick` for a short run; under
//! `cargo test --benches` it runs once, small, as a smoke test).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "benchmark harness"
)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aine_models::{
    ChatModel, ChatRequest, ChatResponse, ModelConfig, ModelError, ModelPrice, ProviderKind, Usage,
};
use aine_runtime::{Config, ModelEntry, Models, Observer, Quiet, Runtime, SystemClock};
use aine_store::{Durability, Store, StoreOptions};
use aine_telemetry::{Exporter, TelemetryObserver};
use aine_types::{CallResult, Event, JournalEntry, Outcome, RunId, RunStatus, Spend, StepId, Usd};
use opentelemetry_otlp::WithExportConfig;
use serde_json::json;

/// A fake model that answers within the contract at once.
#[derive(Debug)]
struct Instant0;

#[async_trait::async_trait]
impl ChatModel for Instant0 {
    fn name(&self) -> &str {
        "fake/instant"
    }
    fn provider(&self) -> &str {
        "fake"
    }
    fn context_window(&self) -> u64 {
        100_000
    }
    async fn complete(&self, _request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        Ok(ChatResponse {
            text: r#"{"title": "Quarterly plan"}"#.to_owned(),
            usage: Usage {
                input_tokens: 42,
                output_tokens: 8,
                cached_input_tokens: 0,
            },
            response_model: None,
            finish_reason: Some("stop".into()),
        })
    }
}

const WORKFLOW: &str = "workflow: one\nversion: 1\nbudget: { usd: 100.0 }\nsteps:\n  - id: title\n    model:\n      route: [fake/instant]\n      prompt: p.j2\n      output: s.json\n      max_output_tokens: 50\n";
const SCHEMA: &str = r#"{"type":"object","properties":{"title":{"type":"string","maxLength":40}},"required":["title"],"additionalProperties":false}"#;

async fn runtime(dir: &std::path::Path) -> Runtime {
    std::fs::write(dir.join("one.workflow.yaml"), WORKFLOW).unwrap();
    std::fs::write(dir.join("p.j2"), "Give a title for run {{ run.id }}.").unwrap();
    std::fs::write(dir.join("s.json"), SCHEMA).unwrap();
    let mut config = Config::defaults(dir);
    config.durability = Durability::Normal;
    let store = Store::open(
        &config.database,
        &StoreOptions {
            durability: Durability::Normal,
            busy_timeout: Duration::from_secs(60),
            ..StoreOptions::default()
        },
    )
    .await
    .unwrap();
    let price: rust_decimal::Decimal = "1".parse().unwrap();
    let mut entries = BTreeMap::new();
    entries.insert(
        "fake/instant".to_owned(),
        ModelEntry {
            config: ModelConfig::new("fake/instant", ProviderKind::Replay),
            price: Some(ModelPrice::flat(price, price, None)),
        },
    );
    let model: Arc<dyn ChatModel> = Arc::new(Instant0);
    let models = Models::new(entries, Box::new(move |_c: &ModelConfig| Ok(model.clone())));
    Runtime::new(
        store,
        Arc::new(aine_runtime::core_registry().unwrap()),
        Arc::new(config),
        Arc::new(SystemClock),
    )
    .with_models(Arc::new(models))
}

/// `concurrency` runs at once, `rounds` times; the wall time of each run (start + drive).
async fn runs(
    rt: &Runtime,
    path: &std::path::Path,
    concurrency: usize,
    rounds: usize,
    observer: Arc<dyn Observer>,
) -> Vec<Duration> {
    let mut times = Vec::with_capacity(concurrency * rounds);
    for _ in 0..rounds {
        let tasks: Vec<_> = (0..concurrency)
            .map(|_| {
                let rt = rt.clone();
                let path = path.to_path_buf();
                let observer = observer.clone();
                tokio::spawn(async move {
                    let begin = Instant::now();
                    let run = rt.start(&path, json!({})).await.unwrap().id();
                    let summary = rt.drive(&run, observer.as_ref()).await.unwrap();
                    assert_eq!(summary.status, RunStatus::Succeeded);
                    begin.elapsed()
                })
            })
            .collect();
        for t in tasks {
            times.push(t.await.unwrap());
        }
    }
    times
}

fn percentile(times: &mut [Duration], q: f64) -> f64 {
    times.sort();
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "an index into a short list"
    )]
    let i = ((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1;
    times[i].as_secs_f64() * 1000.0
}

/// A real OTLP/HTTP endpoint on 127.0.0.1 that accepts and discards every export.
async fn collector() -> String {
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(|_body: axum::body::Bytes| async { axum::http::StatusCode::OK }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn dead_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

/// The journal of one run of a one-model-step workflow, with a fresh run id.
fn journal() -> (RunId, Vec<JournalEntry>) {
    let run = RunId::from_ulid(ulid::Ulid::new());
    let step: StepId = "title".parse().unwrap();
    let at = i64::try_from(run.ulid().timestamp_ms()).unwrap();
    let events = [
        Event::RunStarted {
            workflow: "one".into(),
            workflow_version: 1,
            workflow_sha256: String::new(),
            inputs: json!({}),
        },
        Event::StepStarted {
            step: step.clone(),
            attempt: 1,
        },
        Event::ModelCalled {
            step: step.clone(),
            call: 1,
            element: None,
            model: "fake/instant".into(),
            provider: "fake".into(),
            reason: "first model of the route".into(),
            result: CallResult::Answered {
                text: r#"{"title": "Quarterly plan"}"#.into(),
                response_model: Some("fake-instant-2026-01".into()),
                finish_reason: Some("stop".into()),
                verdict: "ok".into(),
                detail: None,
            },
            spend: Spend {
                input_tokens: 42,
                output_tokens: 8,
                usd: Usd("0.00005".parse().unwrap()),
            },
            latency_ms: 1,
        },
        Event::StepFinished {
            step,
            attempt: 1,
            outcome: Outcome::Ok {
                value: json!({"title": "Quarterly plan"}),
            },
            why: "answered".into(),
            duration_ms: 2,
        },
        Event::RunFinished {
            status: RunStatus::Succeeded,
            why: "all steps finished".into(),
        },
    ];
    let entries = events
        .into_iter()
        .zip(1u64..)
        .map(|(event, seq)| JournalEntry {
            seq,
            at_ms: at + i64::try_from(seq).unwrap(),
            event,
        })
        .collect();
    (run, entries)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo test --benches` passes no `--bench`: run once, small.
    let smoke = !args.iter().any(|a| a == "--bench");
    let quick = smoke || args.iter().any(|a| a == "--quick");
    let (levels, samples): (&[usize], usize) = if smoke {
        (&[1], 20)
    } else if quick {
        (&[1, 10], 300)
    } else {
        (&[1, 10, 100], 2000)
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let runtime = runtime(dir.path()).await;
        let path = dir.path().join("one.workflow.yaml");
        let live = Arc::new(TelemetryObserver::new(
            Exporter::otlp(Some(&collector().await)).unwrap(),
            false,
        ));
        let down = Arc::new(TelemetryObserver::new(
            Exporter::otlp(Some(&dead_endpoint())).unwrap(),
            false,
        ));
        let variants: [(&str, Arc<dyn Observer>); 3] = [
            ("off", Arc::new(Quiet)),
            ("otlp", live.clone()),
            ("otlp-down", down.clone()),
        ];
        // Warm up SQLite, the price table and the HTTP connection.
        for (_, observer) in &variants {
            runs(&runtime, &path, 4, 2, observer.clone()).await;
        }
        println!(
            "{:>5} {:>10} {:>9} {:>9} {:>12}",
            "conc", "telemetry", "p50 ms", "p99 ms", "p99 vs off"
        );
        for &c in levels {
            let rounds = samples.div_ceil(c);
            // Interleave the variants round by round so drift hits them alike.
            let mut times: Vec<Vec<Duration>> = vec![Vec::new(); variants.len()];
            for _ in 0..rounds {
                for (i, (_, observer)) in variants.iter().enumerate() {
                    times[i].extend(runs(&runtime, &path, c, 1, observer.clone()).await);
                }
            }
            let off_p99 = percentile(&mut times[0], 0.99);
            for (i, (name, _)) in variants.iter().enumerate() {
                let p50 = percentile(&mut times[i], 0.50);
                let p99 = percentile(&mut times[i], 0.99);
                println!(
                    "{c:>5} {name:>10} {p50:>9.3} {p99:>9.3} {:>+11.1}%",
                    (p99 / off_p99 - 1.0) * 100.0
                );
            }
        }
        // The observer's own work per run, without the run: the journal entries of a
        // one-model-step run fed to `on_journaled` (span building and the queue push; export
        // runs on its own thread), averaged over many runs.
        let n = if smoke { 100 } else { 20_000 };
        let journals: Vec<(RunId, Vec<JournalEntry>)> = (0..n).map(|_| journal()).collect();
        // Room for every span, so each one takes the full path (no cheap drops).
        let roomy = TelemetryObserver::new(
            Exporter::with_max_queue(
                opentelemetry_otlp::SpanExporter::builder()
                    .with_http()
                    .with_endpoint(format!("{}/v1/traces", collector().await))
                    .build()
                    .unwrap(),
                opentelemetry_sdk::Resource::builder().build(),
                4 * n,
            ),
            false,
        );
        let begin = Instant::now();
        for (run, entries) in &journals {
            for entry in entries {
                roomy.on_journaled(run, entry);
            }
        }
        assert_eq!(roomy.stats().dropped(), 0);
        #[expect(clippy::cast_precision_loss, reason = "a count of runs")]
        let per_run = begin.elapsed().as_secs_f64() * 1e6 / n as f64;
        println!("observer work per run (5 journal entries, 3 spans): {per_run:.1} us");
        let (live, down) = (live.clone(), down.clone());
        tokio::task::spawn_blocking(move || {
            live.shutdown(Duration::from_secs(5));
            down.shutdown(Duration::from_millis(100));
            println!(
                "spans: exported {} (live collector); lost {} (collector down: failed {}, dropped {})",
                live.stats().exported(),
                down.stats().failed() + down.stats().dropped(),
                down.stats().failed(),
                down.stats().dropped()
            );
        })
        .await
        .unwrap();
    });
    println!("(milliseconds per run of a one-model-step workflow, SQLite synchronous=normal)");
}
