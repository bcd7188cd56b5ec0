//! Project tasks. `cargo xtask bench` runs the runtime benchmarks and prints a table:
//! - wall time of a 10-step builtin workflow run, in process, per durability setting;
//! - time to recover 10,000 suspended runs (load every unfinished journal, fold it through the
//!   engine, compute each run's next action: what `aine resume` does before acting).
//!
//!
//! `cargo xtask bench model-overhead` measures the runtime's overhead per model step against a
//! mock upstream on 127.0.0.1 at 1, 100 and 1,000 concurrent runs, or the levels given with
//! `--levels 1,10`, each with at least 1,000 samples or `--samples N`; with `--upstream-ms D`
//! the mock answers after D ms and runs start spread out (steady load; see `model_overhead`).
//!
//! Journal append throughput is measured by `cargo bench -p aine-store --bench append`.
//!
//! `cargo xtask eval requirements [--tier local|template]` runs the requirements workflow on the
//! bundled AMI meetings and scores its spec against a gold list (see `eval_requirements`).
//!
//! `cargo xtask train detect` fits the embedding detector of `requirements.detect` on the dev
//! meetings and writes `crates/aine-sdlc/data/detect-minilm.json` (see `train_detect`).
//!
//! `cargo xtask faults [--runs 1000] [--in-flight 50] [--fail 0.3] [--seed 7]` drives runs
//! against a mock provider that fails a share of its calls and checks what must hold (see
//! `faults`).

mod eval_requirements;
mod faults;
mod model_overhead;
mod train_detect;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aine_runtime::{Config, Quiet, Runtime, SystemClock};
use aine_store::{Durability, NewRun, Store, StoreOptions};
use aine_types::{Event, Outcome, RunId, StepId};
use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use serde_json::json;

/// Project tasks: benchmarks and evaluations that print a table.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runtime benchmarks: 10-step workflow wall time and recovery of suspended runs, or the
    /// overhead per model step with `model-overhead`.
    Bench {
        #[command(subcommand)]
        which: Option<Bench>,
        /// Fewer runs (5 workflow runs, 500 suspended runs), for a quick look.
        #[arg(long)]
        quick: bool,
    },
    /// Evaluations.
    Eval {
        #[command(subcommand)]
        which: Eval,
    },
    /// Training of bundled models.
    Train {
        #[command(subcommand)]
        which: Train,
    },
    /// Faults under load: many runs against a mock provider failing a share of its calls at
    /// random; checks final states, budgets, billing against the journal, the audit chain.
    Faults {
        /// Runs in all.
        #[arg(long, default_value_t = 1000, value_parser = positive)]
        runs: usize,
        /// Runs in flight at once.
        #[arg(long, default_value_t = 50, value_parser = positive)]
        in_flight: usize,
        /// Share of calls that fail (0 to 1).
        #[arg(long, default_value_t = 0.3)]
        fail: f64,
        /// Seed of the mock's random choices.
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
}

#[derive(Debug, Subcommand)]
enum Bench {
    /// Runtime overhead per model step against a mock upstream on 127.0.0.1, against calling
    /// the mock directly.
    ModelOverhead {
        /// Runs in flight, e.g. `1,100,1000` (the default; `1,10` with --quick).
        #[arg(long, value_delimiter = ',', value_parser = positive)]
        levels: Option<Vec<usize>>,
        /// At least this many latencies per row (default 1,000; 50 with --quick).
        #[arg(long, value_parser = positive)]
        samples: Option<usize>,
        /// The mock answers after this many ms and each round's starts are spread over them
        /// (a steady load); 0, the default, starts each round's runs at once (a burst).
        #[arg(long, default_value_t = 0)]
        upstream_ms: u64,
        /// Levels 1 and 10, 50 samples.
        #[arg(long)]
        quick: bool,
    },
}

#[derive(Debug, Subcommand)]
enum Eval {
    /// The requirements workflow on the bundled AMI meetings, scored against a gold list:
    /// local model tier and template tier.
    Requirements(eval_requirements::Args),
}

#[derive(Debug, Subcommand)]
enum Train {
    /// The embedding detector of `requirements.detect` (needs `aine models pull
    /// local/all-minilm-l6-v2`): writes crates/aine-sdlc/data/detect-minilm.json.
    Detect,
}

/// A number above zero (`--levels`, `--samples`).
fn positive(text: &str) -> std::result::Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("`{text}` is not a positive number")),
    }
}

fn main() -> Result<()> {
    let multi_thread = || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
    };
    match Cli::parse().command {
        Command::Bench {
            which:
                Some(Bench::ModelOverhead {
                    levels,
                    samples,
                    upstream_ms,
                    quick,
                }),
            quick: quick_before,
        } => multi_thread()?.block_on(model_overhead::bench(&model_overhead::Options {
            quick: quick || quick_before,
            levels,
            samples,
            upstream: std::time::Duration::from_millis(upstream_ms),
        })),
        Command::Bench { which: None, quick } => bench(quick),
        Command::Eval {
            which: Eval::Requirements(args),
        } => multi_thread()?.block_on(eval_requirements::run(&args)),
        Command::Train {
            which: Train::Detect,
        } => train_detect::run(),
        Command::Faults {
            runs,
            in_flight,
            fail,
            seed,
        } => {
            if !(0.0..=1.0).contains(&fail) {
                bail!("--fail {fail} is not a share between 0 and 1");
            }
            multi_thread()?.block_on(faults::run(&faults::Options {
                runs,
                in_flight,
                fail,
                seed,
            }))
        }
    }
}

fn bench(quick: bool) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        println!("{:<58} {:>12} {:>14}", "benchmark", "value", "unit");
        let runs = if quick { 5 } else { 50 };
        for (name, durability) in [("full", Durability::Full), ("normal", Durability::Normal)] {
            let (mean, p50, max) = ten_step_workflow(runs, durability).await?;
            row(
                &format!("10-step builtin workflow, sync {name}: mean"),
                ms(mean),
                "ms/run",
            );
            row(
                &format!("10-step builtin workflow, sync {name}: p50"),
                ms(p50),
                "ms/run",
            );
            row(
                &format!("10-step builtin workflow, sync {name}: max"),
                ms(max),
                "ms/run",
            );
        }
        let suspended = if quick { 500 } else { 10_000 };
        let (elapsed, actions) = recover(suspended).await?;
        row(
            &format!("recover {suspended} suspended runs (load + fold + next action)"),
            ms(elapsed),
            "ms",
        );
        row(
            "  of which have a next action to perform",
            actions as f64,
            "runs",
        );
        Ok(())
    })
}

fn row(name: &str, value: f64, unit: &str) {
    println!("{name:<58} {value:>12.2} {unit:>14}");
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

const TEN_STEPS: &str = "workflow: ten\nversion: 1\nsteps:\n";

fn ten_step_source() -> String {
    let mut s = TEN_STEPS.to_owned();
    for i in 0..10 {
        let message = if i == 0 {
            "start".to_owned()
        } else {
            format!("{{{{ steps.s{}.output.message }}}} +{i}", i - 1)
        };
        s.push_str(&format!(
            "  - id: s{i}\n    builtin: core.echo\n    with: {{ message: \"{message}\" }}\n"
        ));
    }
    s
}

async fn runtime(dir: &Path, durability: Durability) -> Result<Runtime> {
    let mut config = Config::defaults(dir);
    config.durability = durability;
    let store = Store::open(
        &config.database,
        &StoreOptions {
            durability,
            ..StoreOptions::default()
        },
    )
    .await?;
    Ok(Runtime::new(
        store,
        Arc::new(aine_runtime::core_registry()?),
        Arc::new(config),
        Arc::new(SystemClock),
    ))
}

/// Starts and drives `runs` runs of a 10-step workflow; returns mean, median and max wall time.
async fn ten_step_workflow(
    runs: usize,
    durability: Durability,
) -> Result<(Duration, Duration, Duration)> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("ten.workflow.yaml");
    std::fs::write(&path, ten_step_source())?;
    let rt = runtime(dir.path(), durability).await?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let started = rt.start(&path, json!({})).await?;
        let run = started.id();
        let summary = rt.drive_started(started, &Quiet).await?;
        times.push(start.elapsed());
        if summary.status != aine_types::RunStatus::Succeeded {
            bail!("run {run} ended {}", summary.status);
        }
    }
    times.sort();
    let mean = times.iter().sum::<Duration>() / runs as u32;
    Ok((mean, times[runs / 2], times[runs - 1]))
}

/// Creates `n` runs of the 10-step workflow suspended after an interrupted 4th step, then times
/// their recovery. Returns the time and the number of runs with an action to perform.
async fn recover(n: usize) -> Result<(Duration, usize)> {
    let dir = tempfile::tempdir()?;
    let rt = runtime(dir.path(), Durability::Normal).await?;
    let source = ten_step_source();
    let mut events = vec![Event::RunStarted {
        workflow: "ten".into(),
        workflow_version: 1,
        workflow_sha256: "bench".into(),
        inputs: json!({}),
    }];
    for i in 0..4 {
        let step = StepId::new(format!("s{i}"))?;
        events.push(Event::StepStarted {
            step: step.clone(),
            attempt: 1,
        });
        if i < 3 {
            events.push(Event::StepFinished {
                step,
                attempt: 1,
                outcome: Outcome::Ok {
                    value: json!({ "message": format!("start +{i}") }),
                },
                why: "builtin `core.echo`".into(),
                duration_ms: 0,
            });
        }
    }
    for i in 0..n {
        let run = RunId::from_ulid(ulid::Ulid::from_parts(i as u64 + 1, i as u128));
        let new_run = NewRun {
            id: run,
            workflow: "ten".into(),
            workflow_path: dir.path().join("ten.workflow.yaml").display().to_string(),
            workflow_source: source.clone(),
        };
        rt.store()
            .create_run(&new_run, &events, i as i64)
            .await
            .context("seeding runs")?;
    }
    let start = Instant::now();
    let recovered = rt.recover_unfinished().await?;
    let elapsed = start.elapsed();
    if recovered.len() != n {
        bail!("recovered {} runs, expected {n}", recovered.len());
    }
    let with_action = recovered
        .iter()
        .filter(|(_, actions)| !actions.is_empty())
        .count();
    Ok((elapsed, with_action))
}
