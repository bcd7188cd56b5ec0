//! Crash safety: run a multi-step workflow in a child `aine` process, SIGKILL it at random
//! points, resume, and check against the journal that
//! - no journaled event is ever lost (every snapshot of the journal is a prefix of later ones);
//! - no step whose completion was journaled is executed again (side effects counted in a file
//!   appended by the `file.append` builtin);
//! - every run ends in a defined state (here: `succeeded`).
//!
//! 200 trials by default; set `AINE_CRASH_TRIALS` for a soak run (e.g. 5000).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers"
)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aine_store::{Store, StoreOptions};
use aine_types::{Event, JournalEntry, RunId};
use rand::Rng;

const WORKFLOW: &str = r#"
workflow: crashy
version: 1
owners:
  po: { role: po }
steps:
  - id: s1
    builtin: file.append
    with: { path: effects.log, line: "{{ run.id }} s1 {{ step.attempt }}" }
  - id: w1
    builtin: time.sleep
    with: { ms: 3 }
  - id: s2
    builtin: file.append
    with: { path: effects.log, line: "{{ run.id }} s2 {{ step.attempt }}" }
  - id: w2
    builtin: time.sleep
    with: { ms: 3 }
  - id: s3
    builtin: file.append
    with: { path: effects.log, line: "{{ run.id }} s3 {{ step.attempt }}" }
  - id: review
    gate: { owner: po }
  - id: s4
    builtin: file.append
    with: { path: effects.log, line: "{{ run.id }} s4 {{ step.attempt }}" }
"#;

const CONFIG: &str = "[people.alice]\n[roles]\npo = [\"alice\"]\n";

fn aine(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aine"));
    cmd.current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// Runs `cmd`, SIGKILLing it after `kill_after` if it has not exited. Returns whether it was killed.
fn run_maybe_killed(mut cmd: Command, kill_after: Option<Duration>) -> bool {
    let mut child: Child = cmd.spawn().expect("aine starts");
    let Some(after) = kill_after else {
        child.wait().expect("aine exits");
        return false;
    };
    let deadline = Instant::now() + after;
    loop {
        if child.try_wait().expect("wait works").is_some() {
            return false;
        }
        if Instant::now() >= deadline {
            child.kill().expect("SIGKILL is delivered"); // std's kill sends SIGKILL on Unix
            child.wait().expect("aine exits");
            return true;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

async fn journal(db: &Path) -> Option<(RunId, Vec<JournalEntry>)> {
    if !db.exists() {
        return None;
    }
    let store = Store::open(db, &StoreOptions::default()).await.ok()?;
    let run = store
        .runs(&aine_store::RunFilter::default())
        .await
        .ok()?
        .into_iter()
        .next()?;
    let journal = store.journal(&run.id).await.expect("journal loads");
    Some((run.id, journal))
}

/// Checks the side effects against the journal; returns a description of the first problem.
fn check_effects(run: &RunId, journal: &[JournalEntry], effects: &str) -> Result<(), String> {
    // attempts executed per step, from the file
    let mut executed: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for line in effects.lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        if parts.len() != 3 || parts[0] != run.to_string() {
            return Err(format!("unexpected effect line {line:?}"));
        }
        executed
            .entry(parts[1].to_owned())
            .or_default()
            .push(parts[2].parse().map_err(|e| format!("{e}"))?);
    }
    let mut started: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    let mut finished: BTreeMap<String, u32> = BTreeMap::new();
    for e in journal {
        match &e.event {
            Event::StepStarted { step, attempt } => {
                started.entry(step.to_string()).or_default().push(*attempt)
            }
            Event::StepFinished { step, attempt, .. }
                if finished.insert(step.to_string(), *attempt).is_some() =>
            {
                return Err(format!("step {step} finished twice in the journal"));
            }
            _ => {}
        }
    }
    for (step, attempts) in &executed {
        let mut sorted = attempts.clone();
        sorted.dedup();
        if sorted.len() != attempts.len() {
            return Err(format!("step {step} executed attempt twice: {attempts:?}"));
        }
        let journaled = started.get(step).cloned().unwrap_or_default();
        if let Some(a) = attempts.iter().find(|a| !journaled.contains(a)) {
            return Err(format!(
                "step {step} attempt {a} executed without a journaled start"
            ));
        }
        if let Some(done) = finished.get(step)
            && let Some(a) = attempts.iter().find(|a| *a > done)
        {
            {
                return Err(format!(
                    "step {step} executed again (attempt {a}) after attempt {done} finished"
                ));
            }
        }
    }
    for (step, done) in &finished {
        if step.starts_with('s') && !executed.get(step).is_some_and(|a| a.contains(done)) {
            return Err(format!(
                "step {step} finished attempt {done} without its side effect"
            ));
        }
    }
    Ok(())
}

fn check_prefix(before: &[JournalEntry], after: &[JournalEntry]) -> Result<(), String> {
    if after.len() < before.len() || after[..before.len()] != *before {
        return Err(format!(
            "journal lost events: had {} events, now {} (or they changed)",
            before.len(),
            after.len()
        ));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_points_then_resume_keeps_every_invariant() {
    let trials: usize = std::env::var("AINE_CRASH_TRIALS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(200);
    let mut rng = rand::rng();

    // Measure one uninterrupted run to spread the kill points over its whole duration.
    let probe = common::project(CONFIG, WORKFLOW);
    let t0 = Instant::now();
    run_maybe_killed(aine(probe.path(), &["run", "wf.workflow.yaml"]), None);
    let full = t0.elapsed().max(Duration::from_millis(5));

    let mut killed = 0usize;
    let mut resumed_mid_step = 0usize;
    for trial in 0..trials {
        let dir = common::project(CONFIG, WORKFLOW);
        let db = dir.path().join(".aine/aine.db");
        let mut snapshots: Vec<Vec<JournalEntry>> = Vec::new();
        let kill_at = full.mul_f64(rng.random_range(0.0..1.2));
        if run_maybe_killed(
            aine(dir.path(), &["run", "wf.workflow.yaml"]),
            Some(kill_at),
        ) {
            killed += 1;
        }
        let Some((run, j)) = journal(&db).await else {
            continue; // killed before the run was created: nothing to resume
        };
        snapshots.push(j);
        let run_text = run.to_string();
        // Drive to the end: resume (sometimes killed again), decide the gate when it is open.
        for round in 0..20 {
            let (_, j) = journal(&db).await.unwrap();
            let status = match j.last().map(|e| &e.event) {
                Some(Event::RunFinished { status, .. }) => Some(*status),
                _ => None,
            };
            if status.is_some() {
                break;
            }
            let waiting = matches!(j.last().map(|e| &e.event), Some(Event::GateOpened { .. }));
            if matches!(j.last().map(|e| &e.event), Some(Event::StepStarted { .. })) {
                resumed_mid_step += 1;
            }
            let kill = (round < 3 && rng.random_bool(0.5))
                .then(|| full.mul_f64(rng.random_range(0.0..1.0)));
            let cmd = if waiting {
                let gate = match &j.last().unwrap().event {
                    Event::GateOpened { gate, .. } => gate.to_string(),
                    _ => unreachable!(),
                };
                aine(
                    dir.path(),
                    &[
                        "review", "approve", &gate, "--as", "alice", "--reason", "ok",
                    ],
                )
            } else {
                aine(dir.path(), &["resume", &run_text])
            };
            if run_maybe_killed(cmd, kill) {
                killed += 1;
            }
            let (_, j) = journal(&db).await.unwrap();
            snapshots.push(j);
        }
        let (_, last) = journal(&db).await.unwrap();
        for snapshot in &snapshots {
            if let Err(e) = check_prefix(snapshot, &last) {
                panic!("trial {trial}: {e}");
            }
        }
        match last.last().map(|e| &e.event) {
            Some(Event::RunFinished { status, .. }) => {
                assert_eq!(
                    *status,
                    aine_types::RunStatus::Succeeded,
                    "trial {trial}: {last:#?}"
                )
            }
            other => panic!("trial {trial}: run did not finish, last event {other:?}"),
        }
        let effects = std::fs::read_to_string(dir.path().join("effects.log")).unwrap_or_default();
        if let Err(e) = check_effects(&run, &last, &effects) {
            panic!("trial {trial}: {e}\neffects:\n{effects}\njournal: {last:#?}");
        }
    }
    eprintln!("{trials} trials, {killed} kills, {resumed_mid_step} resumes of an interrupted step");
    assert!(
        killed >= trials / 2,
        "too few kills ({killed}) for the test to mean anything"
    );
    assert!(resumed_mid_step > 0, "no kill landed inside a step");
}
