//! Journal throughput on a real SQLite file in a temporary directory; prints a table.
//!
//! `cargo bench -p aine-store --bench append` measures 10,000 events appended in batches and one
//! by one (with `synchronous` FULL and NORMAL), and the bulk load of 10,000 unfinished runs. Without `--bench` (as under
//! `cargo test --benches`) it runs the same code on 100 events as a smoke test.

use std::path::Path;
use std::time::{Duration, Instant};

use aine_store::{Durability, NewRun, Store, StoreOptions};
use aine_types::{Event, Outcome, RunId, StepId};
use serde_json::json;
use ulid::Ulid;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let full = std::env::args().any(|arg| arg == "--bench");
    let events = if full { 10_000 } else { 100 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let dir = tempfile::tempdir()?;
        println!(
            "{:<44} {:>10} {:>12} {:>14}",
            "case", "events", "time", "events/s"
        );
        for (name, durability) in [("full", Durability::Full), ("normal", Durability::Normal)] {
            for batch in [100, 10, 1] {
                let path = dir.path().join(format!("batch-{batch}-{name}.db"));
                let elapsed = append(&path, events, batch, durability).await?;
                report(
                    &format!("append, {batch} events per call, sync {name}"),
                    events,
                    elapsed,
                );
            }
        }
        let runs = events;
        let elapsed = unfinished(&dir.path().join("unfinished.db"), runs, 5).await?;
        report(
            &format!("unfinished_journals, {runs} runs x 5 events"),
            runs * 5,
            elapsed,
        );
        Ok(())
    })
}

fn report(case: &str, events: usize, elapsed: Duration) {
    let rate = events as f64 / elapsed.as_secs_f64();
    println!(
        "{case:<44} {events:>10} {:>10.1}ms {rate:>14.0}",
        elapsed.as_secs_f64() * 1e3
    );
}

fn run_id(n: u64) -> RunId {
    RunId::from_ulid(Ulid::from_parts(n, u128::from(n)))
}

fn new_run(id: RunId) -> NewRun {
    NewRun {
        id,
        workflow: "requirements".to_owned(),
        workflow_path: "requirements.workflow.yaml".to_owned(),
        workflow_source: "workflow: requirements\nversion: 1\n".to_owned(),
    }
}

/// A typical small event: a builtin step's result.
fn event(i: usize) -> Result<Event, aine_types::IdError> {
    Ok(Event::StepFinished {
        step: StepId::new(format!("step-{i}"))?,
        attempt: 1,
        outcome: Outcome::Ok {
            value: json!({ "items": i, "why": "a short builtin output" }),
        },
        why: "builtin".to_owned(),
        duration_ms: 3,
    })
}

/// Appends `total` events to one run, `batch` per `append` call; the time of the appends only.
async fn append(
    path: &Path,
    total: usize,
    batch: usize,
    durability: Durability,
) -> Result<Duration, Box<dyn std::error::Error>> {
    let options = StoreOptions {
        durability,
        ..StoreOptions::default()
    };
    let store = Store::open(path, &options).await?;
    let id = run_id(1);
    store.create_run(&new_run(id), &[], 0).await?;
    let events = (0..total).map(event).collect::<Result<Vec<_>, _>>()?;
    let start = Instant::now();
    let mut next = 1;
    for chunk in events.chunks(batch) {
        next += store.append(&id, next, chunk, 1).await?.len() as u64;
    }
    let elapsed = start.elapsed();
    store.close().await;
    Ok(elapsed)
}

/// Creates `runs` unfinished runs of `per_run` events each; the time of `unfinished_journals`.
async fn unfinished(
    path: &Path,
    runs: usize,
    per_run: usize,
) -> Result<Duration, Box<dyn std::error::Error>> {
    let store = Store::open(path, &StoreOptions::default()).await?;
    let events = (0..per_run).map(event).collect::<Result<Vec<_>, _>>()?;
    for n in 0..runs {
        store
            .create_run(&new_run(run_id(n as u64 + 1)), &events, n as i64)
            .await?;
    }
    let start = Instant::now();
    let loaded = store.unfinished_journals().await?;
    let elapsed = start.elapsed();
    assert_eq!(loaded.len(), runs);
    store.close().await;
    Ok(elapsed)
}
