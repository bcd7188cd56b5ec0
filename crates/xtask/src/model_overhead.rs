//! Runtime overhead of a model step (issue 3's benchmark): a one-step workflow whose model is an
//! OpenAI-compatible mock on 127.0.0.1, driven by the runtime with journaling on, against the
//! same provider client calling the same mock directly. At each concurrency level the same
//! number of runs (or direct calls) are in flight at once; per-run latency percentiles of both
//! are printed, and the overhead is their difference at p50 and p99.
//!
//! What "runtime" includes, as `aine run` does it: `Runtime::prepare` (read and validate the
//! workflow and inputs) and `Runtime::drive_started` (the run created with its step's start in
//! one commit, prompt rendered, worst-case budget check, the call, contract validation; model
//! call, step finished and run finished journaled together): two journal commits per run.
//!
//! Tracing overhead (issue 7's bar): the `normal` rows are measured without and with
//! aine-telemetry exporting every span over OTLP/HTTP, in alternating rounds on the same store
//! so that both see the same machine; the table's last column compares their p99.
//!
//! Two shapes of load:
//! - **Burst** (the default): a round starts all `c` runs (or calls) at the same instant and
//!   the mock answers at once. Latency is then mostly queueing for the 2 cores, so the p99
//!   overhead is at least `c x (CPU per run - CPU per direct call) / cores`: the `direct cpu`
//!   and `aine cpu` columns (process CPU time per call or run, in µs, the in-process mock
//!   included on both sides) give that bound.
//! - **Steady** (`--upstream-ms D`): the mock answers after `D` ms, like a model, and a round's
//!   `c` runs start `D / c` apart, so that about `c` are in flight at any time (Little's law)
//!   instead of all arriving at once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aine_models::{ChatModel, ChatRequest, Message};
use aine_runtime::{Config, Observer, Quiet, Runtime, SystemClock};
use aine_store::{Durability, Store, StoreOptions};
use aine_types::RunStatus;
use anyhow::{Context, Result, bail};
use axum::Json;
use axum::routing::post;
use serde_json::{Value, json};

/// The mock's answer after `delay`: a contract-valid JSON document with usage, like OpenAI's
/// chat completions.
async fn chat(delay: Duration, Json(_body): Json<Value>) -> Json<Value> {
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    Json(json!({
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "model": "mock",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": "{\"title\":\"Quarterly plan\"}"},
            "finish_reason": "stop"
        }],
        "usage": {"prompt_tokens": 42, "completion_tokens": 8, "total_tokens": 50}
    }))
}

/// Starts the mock, answering chat completions after `delay`, on its own thread and tokio
/// runtime (so its work is not scheduled on the runtime under test) and returns its address.
fn start_mock(delay: Duration) -> Result<SocketAddr> {
    let app = axum::Router::new()
        .route(
            "/v1/chat/completions",
            post(move |body: Json<Value>| chat(delay, body)),
        )
        // Also an OTLP/HTTP collector that accepts every span export (telemetry rows).
        .route(
            "/v1/traces",
            post(|_body: axum::body::Bytes| async { axum::http::StatusCode::OK }),
        );
    serve_on_own_thread("mock-upstream", app)
}

/// Serves `app` on 127.0.0.1 (a free port) from a thread with a tokio runtime of its own, so its
/// work is not scheduled on the runtime under test; returns its address.
pub fn serve_on_own_thread(name: &str, app: axum::Router) -> Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                let _ = axum::serve(listener, app).await;
            });
        })?;
    Ok(addr)
}

const WORKFLOW: &str = "workflow: one\nversion: 1\nsteps:\n  - id: title\n    model:\n      route: [mock/chat]\n      prompt: p.j2\n      output: s.json\n      max_output_tokens: 50\n";
const SCHEMA: &str = r#"{"type":"object","properties":{"title":{"type":"string","maxLength":40}},"required":["title"],"additionalProperties":false}"#;

/// One series' summary: latency percentiles in milliseconds, and the process's CPU time per
/// run (or call) in microseconds.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub p50: f64,
    pub p99: f64,
    pub cpu_us: f64,
}

/// The latencies of one series and the CPU time its rounds took.
#[derive(Debug, Clone, Default)]
struct Series {
    times: Vec<Duration>,
    cpu: Duration,
}

impl Series {
    /// Runs one round (`round` returns its latencies) and adds its latencies and CPU time.
    async fn round(&mut self, round: impl Future<Output = Result<Vec<Duration>>>) -> Result<()> {
        let before = cpu_time();
        self.times.extend(round.await?);
        self.cpu += cpu_time().saturating_sub(before);
        Ok(())
    }

    fn summary(mut self) -> Summary {
        self.times.sort();
        let at = |q: f64| {
            let i = ((self.times.len() as f64 * q).ceil() as usize)
                .saturating_sub(1)
                .min(self.times.len().saturating_sub(1));
            self.times.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e3)
        };
        Summary {
            p50: at(0.50),
            p99: at(0.99),
            cpu_us: self.cpu.as_secs_f64() * 1e6 / self.times.len().max(1) as f64,
        }
    }
}

/// CPU time of this whole process (every thread, the mock's included) so far.
fn cpu_time() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

/// One concurrency level's result.
#[derive(Debug, Clone)]
pub struct Level {
    pub concurrency: usize,
    pub direct: Summary,
    /// One per observer given to [`measure`], in its order.
    pub runtime: Vec<Summary>,
}

/// A project directory with the workflow, and a runtime whose `mock/chat` model is the mock.
pub async fn setup(
    dir: &std::path::Path,
    addr: SocketAddr,
    durability: Durability,
) -> Result<Runtime> {
    std::fs::write(dir.join("one.workflow.yaml"), WORKFLOW)?;
    std::fs::write(dir.join("p.j2"), "Give a title for run {{ run.id }}.")?;
    std::fs::write(dir.join("s.json"), SCHEMA)?;
    let toml = format!(
        "[models.\"mock/chat\"]\nprovider = \"openai_compatible\"\nmodel = \"mock\"\nbase_url = \"http://{addr}/v1\"\nstructured_output = \"json_schema\"\nprice = {{ input = \"1\", output = \"1\" }}\n"
    );
    let mut config = Config::parse(&dir.join("aine.toml"), dir, &toml)?;
    config.durability = durability;
    runtime_for(config).await
}

/// A runtime over `config` for many concurrent runs: the core builtins, the configured models,
/// and a store whose writers queue (1,000 runs share one writer) rather than time out.
pub async fn runtime_for(config: Config) -> Result<Runtime> {
    let store = Store::open(
        &config.database,
        &StoreOptions {
            durability: config.durability,
            busy_timeout: Duration::from_secs(120),
            ..StoreOptions::default()
        },
    )
    .await?;
    let models = aine_runtime::configured_models(&config, Box::new(aine_models::build));
    Ok(Runtime::new(
        store,
        Arc::new(aine_runtime::core_registry()?),
        Arc::new(config),
        Arc::new(SystemClock),
    )
    .with_models(Arc::new(models)))
}

/// `n` direct calls through the same provider client, the `i`-th starting `i x stagger` after
/// the first (all at once when `stagger` is zero).
async fn direct(model: Arc<dyn ChatModel>, n: usize, stagger: Duration) -> Result<Vec<Duration>> {
    let request = Arc::new(ChatRequest {
        messages: vec![Message::user("Give a title for run run_01.")],
        output_schema: serde_json::from_str(SCHEMA).ok(),
        max_output_tokens: 50,
        temperature: 0.0,
    });
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let model = model.clone();
            let request = request.clone();
            tokio::spawn(async move {
                wait_turn(i, stagger).await;
                let start = Instant::now();
                model.complete(&request).await.map(|_| start.elapsed())
            })
        })
        .collect();
    let mut times = Vec::with_capacity(n);
    for t in tasks {
        times.push(t.await?.context("direct call")?);
    }
    Ok(times)
}

/// Sleeps until the `i`-th task's start, `i x stagger` from now.
async fn wait_turn(i: usize, stagger: Duration) {
    if !stagger.is_zero() {
        tokio::time::sleep(stagger * u32::try_from(i).unwrap_or(u32::MAX)).await;
    }
}

/// `n` runs started and driven, the `i`-th starting `i x stagger` after the first.
async fn runs(
    rt: &Runtime,
    path: &std::path::Path,
    n: usize,
    stagger: Duration,
    observer: Arc<dyn Observer>,
) -> Result<Vec<Duration>> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let rt = rt.clone();
            let path = path.to_path_buf();
            let observer = observer.clone();
            tokio::spawn(async move {
                wait_turn(i, stagger).await;
                let start = Instant::now();
                let started = rt.prepare(&path, json!({}))?;
                let run = started.id();
                let summary = rt.drive_started(started, observer.as_ref()).await?;
                anyhow::Ok((start.elapsed(), summary.status, run))
            })
        })
        .collect();
    let mut times = Vec::with_capacity(n);
    for t in tasks {
        let (elapsed, status, run) = t.await??;
        if status != RunStatus::Succeeded {
            bail!("run {run} ended {status}");
        }
        times.push(elapsed);
    }
    Ok(times)
}

/// Measures every level in `levels` (each repeated until at least `min_samples` latencies are
/// collected): direct calls, then runs with each of `observers` attached, in alternating rounds.
/// The mock answers after `upstream`; a non-zero `upstream` also spreads each round's starts
/// over it (see the module docs).
pub async fn measure(
    levels: &[usize],
    min_samples: usize,
    upstream: Duration,
    durability: Durability,
    observers: &[Arc<dyn Observer>],
) -> Result<Vec<Level>> {
    let addr = start_mock(upstream)?;
    let dir = tempfile::tempdir()?;
    let rt = setup(dir.path(), addr, durability).await?;
    let path = dir.path().join("one.workflow.yaml");
    let model = rt.models().get("mock/chat").context("building mock/chat")?;
    // Warm up connections, the price table and SQLite.
    direct(model.clone(), 8, Duration::ZERO).await?;
    for observer in observers {
        runs(&rt, &path, 8, Duration::ZERO, observer.clone()).await?;
    }
    let mut out = Vec::new();
    for &c in levels {
        let stagger = upstream / u32::try_from(c).unwrap_or(u32::MAX);
        let rounds = min_samples.div_ceil(c).max(1);
        let mut d = Series::default();
        let mut r = vec![Series::default(); observers.len()];
        for _ in 0..rounds {
            d.round(direct(model.clone(), c, stagger)).await?;
            for (observer, series) in observers.iter().zip(&mut r) {
                series
                    .round(runs(&rt, &path, c, stagger, observer.clone()))
                    .await?;
            }
        }
        out.push(Level {
            concurrency: c,
            direct: d.summary(),
            runtime: r.into_iter().map(Series::summary).collect(),
        });
    }
    Ok(out)
}

/// Observers of runs, each with the name of its rows.
type Named = Vec<(&'static str, Arc<dyn Observer>)>;

/// What `cargo xtask bench model-overhead` measures.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--quick`: levels 1 and 10, 50 samples.
    pub quick: bool,
    /// `--levels 1,100,1000`: runs in flight.
    pub levels: Option<Vec<usize>>,
    /// `--samples N`: at least N latencies per row (default 1,000).
    pub samples: Option<usize>,
    /// `--upstream-ms D`: the mock answers after D ms and starts are spread (steady load).
    pub upstream: Duration,
}

/// Prints the table of `cargo xtask bench model-overhead`.
pub async fn bench(options: &Options) -> Result<()> {
    let levels: &[usize] = match &options.levels {
        Some(levels) => levels,
        None if options.quick => &[1, 10],
        None => &[1, 100, 1000],
    };
    let samples = options
        .samples
        .unwrap_or(if options.quick { 50 } else { 1000 });
    let upstream = options.upstream;
    println!(
        "{:<12} {:>5} {:>11} {:>11} {:>11} {:>11} {:>12} {:>12} {:>13} {:>11} {:>11}",
        "sync",
        "conc",
        "direct p50",
        "direct p99",
        "aine p50",
        "aine p99",
        "overhead p50",
        "overhead p99",
        "tracing p99",
        "direct cpu",
        "aine cpu"
    );
    // `normal+otlp`: the `normal` runs with aine-telemetry exporting every span over OTLP/HTTP
    // to a collector on 127.0.0.1 (issue 7's bar: tracing adds at most 10% at p99).
    let collector = start_mock(Duration::ZERO)?;
    let telemetry = Arc::new(aine_telemetry::TelemetryObserver::new(
        aine_telemetry::Exporter::otlp(Some(&format!("http://{collector}")))?,
        false,
    ));
    let variants: [(Durability, Named); 2] = [
        (
            Durability::Normal,
            vec![
                ("normal", Arc::new(Quiet)),
                ("normal+otlp", telemetry.clone()),
            ],
        ),
        (Durability::Full, vec![("full", Arc::new(Quiet))]),
    ];
    for (durability, observers) in variants {
        let arcs: Vec<Arc<dyn Observer>> = observers.iter().map(|(_, o)| o.clone()).collect();
        for level in measure(levels, samples, upstream, durability, &arcs).await? {
            let plain = level.runtime.first().map_or(0.0, |p| p.p99);
            for (i, ((name, _), runtime)) in observers.iter().zip(&level.runtime).enumerate() {
                let tracing = if i == 0 {
                    String::new()
                } else {
                    format!("{:+.1}%", (runtime.p99 / plain - 1.0) * 100.0)
                };
                println!(
                    "{:<12} {:>5} {:>11.3} {:>11.3} {:>11.3} {:>11.3} {:>12.3} {:>12.3} {:>13} {:>11.1} {:>11.1}",
                    name,
                    level.concurrency,
                    level.direct.p50,
                    level.direct.p99,
                    runtime.p50,
                    runtime.p99,
                    runtime.p50 - level.direct.p50,
                    runtime.p99 - level.direct.p99,
                    tracing,
                    level.direct.cpu_us,
                    runtime.cpu_us,
                );
            }
        }
    }
    let load = if upstream.is_zero() {
        "burst: each round starts all its runs at once, the mock answers at once".to_owned()
    } else {
        format!(
            "steady: the mock answers after {} ms, each round's starts spread over it",
            upstream.as_millis()
        )
    };
    println!(
        "(milliseconds per run of a one-model-step workflow; {load}; each row >= {samples} \
         samples; tracing p99: normal+otlp against normal, measured in alternating rounds; \
         cpu: process CPU time per call or run in µs, the in-process mock included)"
    );
    tokio::task::spawn_blocking(move || telemetry.shutdown(aine_telemetry::SHUTDOWN_BOUND)).await?;
    Ok(())
}
