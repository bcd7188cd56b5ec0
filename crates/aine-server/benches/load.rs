//! Load on a real `aine_server::serve` over 127.0.0.1 (client and server share the machine):
//! requests per second of the runs listing and the run page at 100 concurrent clients, and
//! fan-out to 1,000 concurrent Server-Sent Events subscribers of one run.
//!
//! `cargo bench -p aine-server --bench load` prints the table; `cargo test --benches` runs a
//! small version once as a smoke test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "benchmark harness"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aine_runtime::{Config, Quiet, Runtime, SystemClock};
use aine_server::AppState;
use aine_store::{Durability, Store, StoreOptions};
use aine_types::{Decision, PersonId};
use futures_util::StreamExt as _;
use serde_json::json;

const CONFIG: &str = "[people.alice]\n[roles]\nrelease-owner = [\"alice\"]\n";
const WORKFLOW: &str = include_str!("../tests/data/example.workflow.yaml");

struct Sizes {
    runs: usize,
    clients: usize,
    seconds: u64,
    subscribers: usize,
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let sizes = if full {
        Sizes {
            runs: 500,
            clients: 100,
            seconds: 10,
            subscribers: 1000,
        }
    } else {
        Sizes {
            runs: 20,
            clients: 4,
            seconds: 1,
            subscribers: 10,
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(bench(&sizes));
}

async fn bench(sizes: &Sizes) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("aine.toml"), CONFIG).unwrap();
    std::fs::write(dir.path().join("wf.workflow.yaml"), WORKFLOW).unwrap();
    let config = Config::load_dir(dir.path()).unwrap();
    let store = Store::open(
        &config.database,
        &StoreOptions {
            durability: Durability::Normal,
            ..StoreOptions::default()
        },
    )
    .await
    .unwrap();
    let runtime = Runtime::new(
        store,
        Arc::new(aine_runtime::core_registry().unwrap()),
        Arc::new(config),
        Arc::new(SystemClock),
    );
    let alice = PersonId::new("alice").unwrap();
    // Seed: runs waiting at their gate, one in ten approved and finished.
    let workflow = dir.path().join("wf.workflow.yaml");
    let mut waiting = Vec::new();
    for i in 0..sizes.runs {
        let started = runtime
            .start(&workflow, json!({ "name": format!("n{i}") }))
            .await
            .unwrap();
        let run = started.id();
        let summary = runtime.drive_started(started, &Quiet).await.unwrap();
        let gate = summary.waiting.unwrap().gate;
        if i % 10 == 0 {
            runtime
                .decide(&gate, &alice, Decision::Approve, "ok")
                .await
                .unwrap();
            runtime.drive(&run, &Quiet).await.unwrap();
        } else {
            waiting.push((run, gate));
        }
    }
    let token =
        aine_server::auth::create_token(runtime.store(), runtime.config(), &alice, "bench", 0)
            .await
            .unwrap();
    let state = AppState::new(runtime.clone()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(aine_server::serve(state, listener, async {
        let _ = stop_rx.await;
    }));
    let base = format!("http://{addr}");
    let (sample_run, _) = waiting[0];

    println!(
        "aine-server load: {} runs in the database, {} concurrent clients, {} s per row, client and server on one machine ({} CPUs)",
        sizes.runs,
        sizes.clients,
        sizes.seconds,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "{:<44} {:>10} {:>10} {:>10} {:>10}",
        "request", "req/s", "p50 ms", "p99 ms", "errors"
    );
    for (name, path) in [
        (
            "GET /api/v1/runs (50 newest, JSON)",
            "/api/v1/runs?limit=50".to_owned(),
        ),
        ("GET / (runs list page, 200 newest, HTML)", "/".to_owned()),
        (
            "GET /api/v1/runs/{run} (trace, JSON)",
            format!("/api/v1/runs/{sample_run}"),
        ),
        (
            "GET /runs/{run} (run page, HTML)",
            format!("/runs/{sample_run}"),
        ),
    ] {
        let row = hammer(&base, &path, &token, sizes.clients, sizes.seconds).await;
        println!(
            "{:<44} {:>10.0} {:>10.2} {:>10.2} {:>10}",
            name, row.rps, row.p50_ms, row.p99_ms, row.errors
        );
    }

    // SSE fan-out: subscribers of one waiting run; a decision makes the run journal its last
    // events; each subscriber's stream ends after `run_finished`.
    let (run, gate) = waiting[1];
    let after = runtime.store().run(&run).await.unwrap().last_seq;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let connected = Arc::new(AtomicU64::new(0));
    let begin = Instant::now();
    let mut subscribers = Vec::new();
    for _ in 0..sizes.subscribers {
        let client = client.clone();
        let url = format!("{base}/api/v1/runs/{run}/events?after={after}");
        let token = token.clone();
        let connected = connected.clone();
        subscribers.push(tokio::spawn(async move {
            let response = client
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("subscribe");
            assert!(response.status().is_success());
            connected.fetch_add(1, Ordering::SeqCst);
            let mut stream = response.bytes_stream();
            let mut text = String::new();
            while let Some(chunk) = stream.next().await {
                text.push_str(&String::from_utf8_lossy(&chunk.expect("stream")));
            }
            (
                Instant::now(),
                text.matches("\nid: ").count() + usize::from(text.starts_with("id: ")),
            )
        }));
    }
    while connected.load(Ordering::SeqCst) < sizes.subscribers as u64 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let connect_s = begin.elapsed().as_secs_f64();
    // The broadcast receivers are registered before the response headers go out. Decide over
    // HTTP: the server journals the decision and drives the run on, publishing each event.
    let decided_at = Instant::now();
    let response = client
        .post(format!("{base}/api/v1/gates/{gate}/decision"))
        .bearer_auth(&token)
        .json(&json!({ "decision": "approve", "reason": "bench" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::ACCEPTED);
    let mut latencies = Vec::new();
    let mut events = 0;
    for s in subscribers {
        let (done, n) = s.await.unwrap();
        events = n;
        latencies.push(done.duration_since(decided_at).as_secs_f64() * 1000.0);
    }
    latencies.sort_by(f64::total_cmp);
    println!();
    println!(
        "{:<44} {:>10} {:>10} {:>10} {:>10}",
        "SSE fan-out", "subscr.", "p50 ms", "p99 ms", "max ms"
    );
    println!(
        "{:<44} {:>10} {:>10.1} {:>10.1} {:>10.1}",
        format!(
            "connect {} subscribers: {:.2} s",
            sizes.subscribers, connect_s
        ),
        sizes.subscribers,
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(0.0)
    );
    println!("(decision to each subscriber's end of stream; {events} events per subscriber)");
    let _ = stop_tx.send(());
    server.await.unwrap().unwrap();
}

struct Row {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

async fn hammer(base: &str, path: &str, token: &str, clients: usize, seconds: u64) -> Row {
    let client = reqwest::Client::new();
    let url = format!("{base}{path}");
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let errors = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    let begin = Instant::now();
    for _ in 0..clients {
        let client = client.clone();
        let url = url.clone();
        let token = token.to_owned();
        let errors = errors.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let start = Instant::now();
                let ok = match client
                    .get(&url)
                    .bearer_auth(&token)
                    .header("cookie", format!("aine_token={token}"))
                    .send()
                    .await
                {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                if ok {
                    latencies.push(start.elapsed().as_secs_f64() * 1000.0);
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = begin.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    Row {
        rps: all.len() as f64 / elapsed,
        p50_ms: percentile(&all, 0.50),
        p99_ms: percentile(&all, 0.99),
        errors: errors.load(Ordering::Relaxed),
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}
