//! Faults under load (issue 14, part 8): `cargo xtask faults` drives many runs at once against an
//! OpenAI-compatible mock on 127.0.0.1 that fails a share of its calls at random (seeded): 429
//! with `Retry-After`, 500 and 503, a hang past the client's timeout, a body cut off mid-JSON,
//! an answer that breaks the step's contract. Each run is a one-step workflow whose model step
//! has a route of two models, a token budget and a fallback builtin.
//!
//! Checked, and the run fails when one does not hold: every run ends in a defined state
//! (`succeeded` or `failed`, never running); no run's journaled spend exceeds its budget; every
//! answer the mock billed (a 200 with usage) is journaled exactly once, and nothing is journaled
//! that the mock did not bill (no call paid twice, none lost); every run's journal folds
//! (`Runtime::view`), and the audit chain verifies. Prints the counts.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aine_runtime::{Config, Quiet, Runtime};
use aine_types::{CallResult, Event, RunStatus};
use anyhow::{Context, Result, bail};
use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

/// Options of `cargo xtask faults`.
#[derive(Debug, Clone)]
pub struct Options {
    pub runs: usize,
    pub in_flight: usize,
    /// Share of calls that fail, 0 to 1.
    pub fail: f64,
    pub seed: u64,
}

/// What the mock did, by kind, and the billed answers per run id.
#[derive(Debug, Default)]
struct Served {
    kinds: BTreeMap<&'static str, u64>,
    billed: BTreeMap<String, u64>,
}

struct Mock {
    rng: AtomicU64,
    fail: f64,
    served: Mutex<Served>,
}

/// Tokens the mock bills per answer (prompt + completion).
const TOKENS_PER_ANSWER: u64 = 50;
/// The client's timeout, and how long a hanging answer hangs.
const TIMEOUT_MS: u64 = 1500;
const HANG: Duration = Duration::from_millis(2500);

impl Mock {
    /// A number in [0, 1) from a xorshift64* generator (seeded, shared by every request).
    fn next(&self) -> f64 {
        let mut x = self.rng.load(Ordering::Relaxed);
        loop {
            let mut y = x;
            y ^= y >> 12;
            y ^= y << 25;
            y ^= y >> 27;
            match self
                .rng
                .compare_exchange(x, y, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => {
                    return (y.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64
                        / (1u64 << 53) as f64;
                }
                Err(now) => x = now,
            }
        }
    }

    fn count(&self, kind: &'static str, billed_run: Option<String>) {
        if let Ok(mut s) = self.served.lock() {
            *s.kinds.entry(kind).or_default() += 1;
            if let Some(run) = billed_run {
                *s.billed.entry(run).or_default() += 1;
            }
        }
    }
}

fn answer(content: &str) -> Value {
    json!({
        "id": "chatcmpl-faults",
        "object": "chat.completion",
        "model": "mock",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 42, "completion_tokens": TOKENS_PER_ANSWER - 42, "total_tokens": TOKENS_PER_ANSWER}
    })
}

async fn chat(mock: Arc<Mock>, Json(body): Json<Value>) -> Response {
    // The prompt names the run: "Give a title for run run_…".
    let prompt = body["messages"].to_string();
    let run = prompt
        .find("run_")
        .map(|i| prompt[i..].chars().take(30).collect::<String>());
    if mock.next() < mock.fail {
        let pick = mock.next();
        if pick < 1.0 / 6.0 {
            mock.count("429 with Retry-After", None);
            let mut headers = HeaderMap::new();
            headers.insert(
                "retry-after",
                "1".parse()
                    .unwrap_or(axum::http::HeaderValue::from_static("1")),
            );
            return (StatusCode::TOO_MANY_REQUESTS, headers, "slow down").into_response();
        } else if pick < 2.0 / 6.0 {
            mock.count("500", None);
            return (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response();
        } else if pick < 3.0 / 6.0 {
            mock.count("503", None);
            return (StatusCode::SERVICE_UNAVAILABLE, "later").into_response();
        } else if pick < 4.0 / 6.0 {
            mock.count("hang past the timeout", None);
            tokio::time::sleep(HANG).await;
            return Json(answer("{\"message\":\"too late\"}")).into_response();
        } else if pick < 5.0 / 6.0 {
            mock.count("body cut off", None);
            let full = answer("{\"message\":\"cut\"}").to_string();
            return (
                StatusCode::OK,
                [("content-type", "application/json")],
                full[..full.len() / 2].to_owned(),
            )
                .into_response();
        }
        mock.count("contract broken (billed)", run);
        return Json(answer("{\"title\": 5}")).into_response();
    }
    mock.count("answered (billed)", run);
    Json(answer("{\"message\":\"Quarterly plan\"}")).into_response()
}

fn start_mock(mock: Arc<Mock>) -> Result<SocketAddr> {
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        post(move |body: Json<Value>| chat(mock.clone(), body)),
    );
    crate::model_overhead::serve_on_own_thread("faulty-upstream", app)
}

/// The run's token budget: room for four billed answers (a violation, an escalation, a retry).
const BUDGET_TOKENS: u64 = 4 * TOKENS_PER_ANSWER;

const WORKFLOW: &str = "workflow: faults\nversion: 1\nsteps:\n  - id: title\n    model:\n      route: [mock/a, mock/b]\n      escalate_on: [violation]\n      prompt: p.j2\n      output: s.json\n      max_output_tokens: 8\n    budget: { tokens: 200 }\n    fallback_builtin: core.echo\n    with: { message: \"fallback title\" }\n";
const SCHEMA: &str = r#"{"type":"object","properties":{"message":{"type":"string","maxLength":40}},"required":["message"],"additionalProperties":false}"#;

async fn setup(dir: &std::path::Path, addr: SocketAddr) -> Result<Runtime> {
    std::fs::write(dir.join("faults.workflow.yaml"), WORKFLOW)?;
    std::fs::write(dir.join("p.j2"), "Give a title for run {{ run.id }}.")?;
    std::fs::write(dir.join("s.json"), SCHEMA)?;
    let mut toml = String::new();
    for name in ["mock/a", "mock/b"] {
        toml.push_str(&format!(
            "[models.\"{name}\"]\nprovider = \"openai_compatible\"\nmodel = \"mock\"\nbase_url = \"http://{addr}/v1\"\nstructured_output = \"json_object\"\ntimeout_ms = {TIMEOUT_MS}\nprice = {{ input = \"1\", output = \"1\" }}\n"
        ));
    }
    let config = Config::parse(&dir.join("aine.toml"), dir, &toml)?;
    crate::model_overhead::runtime_for(config).await
}

/// Runs the fault test and prints its counts; an error when an invariant does not hold.
pub async fn run(options: &Options) -> Result<()> {
    let mock = Arc::new(Mock {
        rng: AtomicU64::new(options.seed.max(1)),
        fail: options.fail,
        served: Mutex::new(Served::default()),
    });
    let addr = start_mock(mock.clone())?;
    let dir = tempfile::tempdir()?;
    let rt = setup(dir.path(), addr).await?;
    let path = dir.path().join("faults.workflow.yaml");
    let started = Instant::now();
    let gate = Arc::new(tokio::sync::Semaphore::new(options.in_flight.max(1)));
    let tasks: Vec<_> = (0..options.runs)
        .map(|_| {
            let rt = rt.clone();
            let path = path.clone();
            let gate = gate.clone();
            tokio::spawn(async move {
                let _permit = gate.acquire_owned().await?;
                let started = rt.prepare(&path, json!({}))?;
                let run = started.id();
                let summary = rt.drive_started(started, &Quiet).await?;
                anyhow::Ok((run, summary.status))
            })
        })
        .collect();
    let mut statuses: BTreeMap<String, u64> = BTreeMap::new();
    let mut runs = Vec::with_capacity(options.runs);
    for t in tasks {
        let (run, status) = t.await?.context("a run")?;
        *statuses.entry(status.to_string()).or_default() += 1;
        if !matches!(status, RunStatus::Succeeded | RunStatus::Failed) {
            bail!("run {run} ended {status}, not a final state");
        }
        runs.push(run);
    }
    let wall = started.elapsed();

    // The journal against what the mock billed.
    // Every run has finished: the mock's counts are final; take them out of the lock.
    let served = std::mem::take(
        &mut *mock
            .served
            .lock()
            .map_err(|_| anyhow::anyhow!("the mock's counts are poisoned"))?,
    );
    let mut journaled_billed = 0u64;
    let mut max_tokens = 0u64;
    let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
    let mut retries = 0u64;
    for run in &runs {
        let view = rt
            .view(run)
            .await
            .with_context(|| format!("run {run} folds"))?;
        let journal = rt.store().journal(run).await?;
        let mut billed = 0u64;
        let mut tokens = 0u64;
        for entry in &journal {
            if let Event::ModelCalled {
                result,
                spend,
                reason,
                ..
            } = &entry.event
            {
                tokens += spend.input_tokens + spend.output_tokens;
                if matches!(result, CallResult::Answered { .. }) && spend.input_tokens > 0 {
                    billed += 1;
                }
                if reason.starts_with("retry") {
                    retries += 1;
                }
            }
        }
        let by_mock = served.billed.get(&run.to_string()).copied().unwrap_or(0);
        if billed != by_mock {
            bail!("run {run}: the mock billed {by_mock} answers, the journal holds {billed}");
        }
        if tokens > BUDGET_TOKENS {
            bail!("run {run} spent {tokens} tokens, over its budget of {BUDGET_TOKENS}");
        }
        journaled_billed += billed;
        max_tokens = max_tokens.max(tokens);
        for step in &view.steps {
            *outcomes.entry(step.state.clone()).or_default() += 1;
        }
    }
    let audit = rt.store().verify_audit().await?;
    if let Some(broken) = &audit.broken {
        bail!("the audit chain is broken: {broken:?}");
    }

    println!(
        "# Faults under load: {} runs, {} in flight, {:.0} % of calls failing (seed {})\n",
        options.runs,
        options.in_flight,
        options.fail * 100.0,
        options.seed
    );
    println!("| what | count |\n|---|---:|");
    for (kind, n) in &served.kinds {
        println!("| mock: {kind} | {n} |");
    }
    println!("| journal: retries on the same model | {retries} |");
    for (state, n) in &outcomes {
        println!("| step ended `{state}` | {n} |");
    }
    for (status, n) in &statuses {
        println!("| run ended `{status}` | {n} |");
    }
    println!(
        "| billed answers: mock / journal | {} / {journaled_billed} |",
        served.billed.values().sum::<u64>()
    );
    println!("| most tokens spent by one run (budget {BUDGET_TOKENS}) | {max_tokens} |");
    println!("| audit entries verified | {} |", audit.entries);
    println!("| wall time | {:.1} s |", wall.as_secs_f64());
    println!(
        "\nEvery run ended in a final state, within its budget, each billed answer journaled once; journals fold and the audit chain verifies."
    );
    Ok(())
}
