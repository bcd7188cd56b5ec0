//! The runtime against a real SQLite store in a temporary directory.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers"
)]

use std::sync::Arc;

use aine_runtime::{Config, Error, Quiet, Runtime, SystemClock};
use aine_store::{Store, StoreOptions};
use aine_types::{Decision, Event, GateId, PersonId, RunId, RunStatus, StepId};
use serde_json::{Value, json};
use tempfile::TempDir;

const CONFIG: &str =
    "[people.alice]\n[people.bob]\n[people.root]\n[roles]\npo = [\"alice\"]\nadmin = [\"root\"]\n";

async fn setup(workflow: &str) -> (TempDir, Runtime) {
    setup_with_clock(workflow, Arc::new(SystemClock)).await
}

async fn setup_with_clock(
    workflow: &str,
    clock: Arc<dyn aine_runtime::Clock>,
) -> (TempDir, Runtime) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("aine.toml"), CONFIG).unwrap();
    std::fs::write(dir.path().join("wf.workflow.yaml"), workflow).unwrap();
    let config = Config::load_dir(dir.path()).unwrap();
    let store = Store::open(&config.database, &StoreOptions::default())
        .await
        .unwrap();
    let rt = Runtime::new(
        store,
        Arc::new(aine_runtime::core_registry().unwrap()),
        Arc::new(config),
        clock,
    );
    (dir, rt)
}

/// Starts a run of the project's `wf.workflow.yaml` with `inputs` and drives it to its gate.
async fn run_to_gate(dir: &TempDir, rt: &Runtime, inputs: Value) -> (RunId, GateId) {
    let run = rt
        .start(&dir.path().join("wf.workflow.yaml"), inputs)
        .await
        .unwrap()
        .id();
    let gate = rt.drive(&run, &Quiet).await.unwrap().waiting.unwrap().gate;
    (run, gate)
}

fn person(p: &str) -> PersonId {
    PersonId::new(p).unwrap()
}

const GATED: &str = r#"
workflow: w
version: 1
autonomy: auto
owners:
  po: { role: po }
inputs:
  who: { type: string }
steps:
  - id: a
    builtin: core.echo
    with: { message: "hi {{ inputs.who }}" }
  - id: g
    gate: { owner: po, when: "inputs.who != 'skip'" }
  - id: b
    builtin: core.echo
    with: { message: "{{ steps.a.output.message }} / {{ steps.g.outcome }}" }
"#;

async fn output_of(rt: &Runtime, run: &RunId, step: &str) -> Value {
    let view = rt.view(run).await.unwrap();
    view.steps
        .into_iter()
        .find(|s| s.id.as_str() == step)
        .and_then(|s| s.output)
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn a_false_condition_passes_the_gate_without_a_decision() {
    let (dir, rt) = setup(GATED).await;
    let run = rt
        .start(&dir.path().join("wf.workflow.yaml"), json!({"who": "skip"}))
        .await
        .unwrap()
        .id();
    let summary = rt.drive(&run, &Quiet).await.unwrap();
    assert_eq!(summary.status, RunStatus::Succeeded);
    let view = rt.view(&run).await.unwrap();
    assert_eq!(view.steps[1].state, "passed");
    assert!(
        view.steps[1].why.as_deref().unwrap().contains("is false"),
        "{:?}",
        view.steps[1].why
    );
}

#[tokio::test]
async fn an_edit_replaces_the_reviewed_output_for_later_steps() {
    let (dir, rt) = setup(&GATED.replace("when: \"inputs.who != 'skip'\"", "reviews: a")).await;
    let run = rt
        .start(&dir.path().join("wf.workflow.yaml"), json!({"who": "bo"}))
        .await
        .unwrap()
        .id();
    let summary = rt.drive(&run, &Quiet).await.unwrap();
    assert_eq!(summary.status, RunStatus::Waiting);
    let waiting = summary.waiting.unwrap();
    assert_eq!(waiting.people, vec![person("alice")]);
    let err = rt
        .decide(
            &waiting.gate,
            &person("alice"),
            Decision::Edit {
                output: json!({"text": 1}),
                changes: Vec::new(),
            },
            "",
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::EditBreaksContract { .. }), "{err}");
    rt.decide(
        &waiting.gate,
        &person("alice"),
        Decision::Edit {
            output: json!({"message": "edited"}),
            changes: Vec::new(),
        },
        "tone",
    )
    .await
    .unwrap();
    let summary = rt.drive(&run, &Quiet).await.unwrap();
    assert_eq!(summary.status, RunStatus::Succeeded);
    assert_eq!(
        output_of(&rt, &run, "b").await,
        json!({"message": "edited / edit"})
    );
}

#[tokio::test]
async fn only_owners_and_admins_decide() {
    let (dir, rt) = setup(GATED).await;
    let (run, gate) = run_to_gate(&dir, &rt, json!({"who": "x"})).await;
    let err = rt
        .decide(&gate, &person("bob"), Decision::Approve, "")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotOwner { .. }), "{err}");
    let err = rt
        .decide(&gate, &person("eve"), Decision::Approve, "")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnknownPerson { .. }), "{err}");
    rt.decide(&gate, &person("root"), Decision::Reject, "admin says no")
        .await
        .unwrap();
    let summary = rt.drive(&run, &Quiet).await.unwrap();
    assert_eq!(summary.status, RunStatus::Rejected);
    assert!(
        summary
            .why
            .unwrap()
            .contains("root rejected at gate `g`: admin says no")
    );
    let err = rt
        .decide(&gate, &person("alice"), Decision::Approve, "")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::GateNotOpen { .. }), "{err}");
}

#[tokio::test]
async fn a_failing_builtin_ends_the_run_failed_with_the_reason() {
    let workflow = "workflow: w\nversion: 1\nsteps:\n  - id: a\n    builtin: file.append\n    with: { path: \".\", line: x }\n  - id: b\n    builtin: core.echo\n    with: { message: never }\n";
    let (dir, rt) = setup(workflow).await;
    let run = rt
        .start(&dir.path().join("wf.workflow.yaml"), json!({}))
        .await
        .unwrap()
        .id();
    let summary = rt.drive(&run, &Quiet).await.unwrap();
    assert_eq!(summary.status, RunStatus::Failed);
    assert!(
        summary
            .why
            .as_deref()
            .unwrap()
            .contains("step `a` ended failed"),
        "{summary:?}"
    );
    let view = rt.view(&run).await.unwrap();
    assert_eq!(view.steps[0].state, "failed");
    assert!(
        view.steps[0]
            .error
            .as_deref()
            .unwrap()
            .contains("cannot append"),
        "{:?}",
        view.steps[0]
    );
    assert_eq!(view.steps[1].state, "pending");
}

#[tokio::test]
async fn resume_retries_an_interrupted_step_with_the_next_attempt() {
    let (dir, rt) = setup(GATED).await;
    let run = rt
        .start(&dir.path().join("wf.workflow.yaml"), json!({"who": "skip"}))
        .await
        .unwrap()
        .id();
    // Simulate a crash after the first step started but before it finished.
    let started = Event::StepStarted {
        step: StepId::new("a").unwrap(),
        attempt: 1,
    };
    rt.store().append(&run, 2, &[started], 0).await.unwrap();
    let summary = rt.resume(&run, &Quiet).await.unwrap();
    assert_eq!(summary.status, RunStatus::Succeeded);
    let view = rt.view(&run).await.unwrap();
    assert_eq!(view.steps[0].attempts, 2);
    assert!(
        view.steps[0]
            .why
            .as_deref()
            .unwrap()
            .contains("after an interrupted attempt")
    );
    let err = rt.resume(&run, &Quiet).await.unwrap_err();
    assert!(matches!(err, Error::RunFinished { .. }), "{err}");
}

#[tokio::test]
async fn inputs_are_checked_against_the_workflow() {
    let (dir, rt) = setup(GATED).await;
    let path = dir.path().join("wf.workflow.yaml");
    for (inputs, expected) in [
        (json!({}), "missing required input `who`"),
        (json!({"who": 3}), "input `who`"),
        (json!({"who": "x", "extra": 1}), "unknown input `extra`"),
    ] {
        let err = rt.start(&path, inputs).await.unwrap_err();
        assert!(err.to_string().contains(expected), "{err}");
    }
    assert!(
        rt.store()
            .runs(&Default::default())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn two_deciders_racing_on_one_gate_get_one_decision() {
    let (dir, rt) = setup(GATED).await;
    let (run, gate) = run_to_gate(&dir, &rt, json!({"who": "x"})).await;
    let (alice, root) = (person("alice"), person("root"));
    let (a, b) = tokio::join!(
        rt.decide(&gate, &alice, Decision::Approve, "a"),
        rt.decide(&gate, &root, Decision::Reject, "b"),
    );
    assert_eq!(
        usize::from(a.is_ok()) + usize::from(b.is_ok()),
        1,
        "{a:?} {b:?}"
    );
    let journal = rt.store().journal(&run).await.unwrap();
    let decisions = journal
        .iter()
        .filter(|e| matches!(e.event, Event::GateDecided { .. }))
        .count();
    assert_eq!(decisions, 1);
}

#[tokio::test]
async fn autonomy_decides_whether_a_gate_opens_and_how_it_may_be_decided() {
    // `review`: the gate opens even though its condition is false.
    let review = GATED.replace("autonomy: auto", "autonomy: review");
    let (dir, rt) = setup(&review).await;
    let run = rt
        .start(&dir.path().join("wf.workflow.yaml"), json!({"who": "skip"}))
        .await
        .unwrap()
        .id();
    let summary = rt.drive(&run, &Quiet).await.unwrap();
    assert_eq!(summary.status, RunStatus::Waiting);
    assert!(summary.waiting.unwrap().why.contains("autonomy `review`"));

    // `suggest` (set on the stage): approve is refused, an edit is accepted.
    let suggest = GATED.replace(
        "gate: { owner: po,",
        "gate: { owner: po, autonomy: suggest, reviews: a,",
    );
    let (dir, rt) = setup(&suggest).await;
    let (run, gate) = run_to_gate(&dir, &rt, json!({"who": "skip"})).await;
    let err = rt
        .decide(&gate, &person("alice"), Decision::Approve, "")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::EditRequired { .. }), "{err}");
    rt.decide(
        &gate,
        &person("alice"),
        Decision::Edit {
            output: json!({"message": "by hand"}),
            changes: Vec::new(),
        },
        "",
    )
    .await
    .unwrap();
    assert_eq!(
        rt.drive(&run, &Quiet).await.unwrap().status,
        RunStatus::Succeeded
    );

    // `auto` with a false condition: approved by the system, recorded in the audit log.
    let (dir, rt) = setup(GATED).await;
    let run = rt
        .start(&dir.path().join("wf.workflow.yaml"), json!({"who": "skip"}))
        .await
        .unwrap()
        .id();
    assert_eq!(
        rt.drive(&run, &Quiet).await.unwrap().status,
        RunStatus::Succeeded
    );
    let log = rt.store().audit_log(0, None).await.unwrap();
    let auto = log
        .iter()
        .find(|e| e.kind == "gate.auto_approved")
        .expect("an automatic approval entry");
    assert_eq!(auto.actor, "system");
    assert_eq!(auto.payload["policy"], "auto");
    assert_eq!(rt.store().verify_audit().await.unwrap().broken, None);
}

/// A clock that moves 1 ms each time it is read: entries journaled by one commit share their
/// time, entries of different commits do not.
#[derive(Debug, Default)]
struct Ticking(std::sync::atomic::AtomicI64);

impl aine_runtime::Clock for Ticking {
    fn now_ms(&self) -> i64 {
        1_800_000_000_000 + self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }
}

#[tokio::test]
async fn a_prepared_run_is_created_by_its_first_commit_with_its_first_step() {
    let (dir, rt) = setup(GATED).await;
    let rt = Runtime::new(
        rt.store().clone(),
        Arc::new(aine_runtime::core_registry().unwrap()),
        Arc::new(rt.config().clone()),
        Arc::new(Ticking::default()),
    );
    let path = dir.path().join("wf.workflow.yaml");
    let prepared = rt.prepare(&path, json!({"who": "skip"})).unwrap();
    let run = prepared.id();
    assert!(rt.store().run(&run).await.is_err(), "nothing written yet");
    let summary = rt.drive_started(prepared, &Quiet).await.unwrap();
    assert_eq!(summary.status, RunStatus::Succeeded);
    let journal = rt.store().journal(&run).await.unwrap();
    assert!(matches!(journal[0].event, Event::RunStarted { .. }));
    assert!(matches!(journal[1].event, Event::StepStarted { .. }));
    assert_eq!(journal[0].seq, 1);
    assert_eq!(journal[0].at_ms, journal[1].at_ms, "one commit");
    assert!(journal[2].at_ms > journal[1].at_ms, "the step ran after it");
    // The audit chain covers the run's start like any other event.
    let audit = rt.store().verify_audit().await.unwrap();
    assert!(audit.broken.is_none(), "{audit:?}");
    assert!(audit.entries >= 1);

    // `start` writes the run before returning: its start is a commit of its own.
    let started = rt.start(&path, json!({"who": "skip"})).await.unwrap();
    let run = started.id();
    assert!(rt.store().run(&run).await.is_ok());
    rt.drive_started(started, &Quiet).await.unwrap();
    let journal = rt.store().journal(&run).await.unwrap();
    assert!(journal[1].at_ms > journal[0].at_ms);
    // A bad input is refused before anything is written.
    let err = rt.prepare(&path, json!({"who": 3})).unwrap_err();
    assert!(matches!(err, Error::Inputs(_)), "{err}");
}

#[tokio::test]
async fn a_view_takes_its_status_from_the_journal_it_lists() {
    let (dir, rt) = setup(GATED).await;
    let path = dir.path().join("wf.workflow.yaml");
    let run = rt.start(&path, json!({"who": "ann"})).await.unwrap().id();
    rt.drive(&run, &Quiet).await.unwrap();
    // The runs row as read just before the journal, by a reader racing the writer: the run
    // was waiting then, and the gate was decided and the run finished before the journal read.
    let mut record = rt.store().run(&run).await.unwrap();
    assert_eq!(record.status, RunStatus::Waiting);
    let gate = record.waiting_gate.unwrap();
    rt.decide(&gate, &person("alice"), Decision::Approve, "ok")
        .await
        .unwrap();
    rt.drive(&run, &Quiet).await.unwrap();
    let journal = rt.store().journal(&run).await.unwrap();
    let workflow = rt.load_workflow(&path).unwrap();
    let view = aine_runtime::run_view(&record, &workflow, &journal);
    assert_eq!(view.status, RunStatus::Succeeded);
    assert!(view.why.is_some());
    // Waiting, as the journal says, whatever the row says.
    record.status = RunStatus::Running;
    let view = aine_runtime::run_view(&record, &workflow, &journal[..journal.len() - 4]);
    assert!(matches!(
        journal[journal.len() - 5].event,
        Event::GateOpened { .. }
    ));
    assert_eq!(view.status, RunStatus::Waiting);
}

/// Issue 18, bug 1: recovery cached a run's plan by the workflow's *path*, so after the file was
/// edited, a later run was folded against an earlier run's plan (and failed to fold, or got the
/// wrong next actions). Each run is folded against the workflow it started with.
#[tokio::test]
async fn recovery_folds_each_run_against_the_workflow_it_started_with() {
    let (dir, rt) = setup(GATED).await;
    let path = dir.path().join("wf.workflow.yaml");
    let first = rt.start(&path, json!({"who": "x"})).await.unwrap().id();
    rt.drive(&first, &Quiet).await.unwrap();
    // The file is edited: a step before the gate.
    let edited = GATED.replace(
        "  - id: g\n",
        "  - id: extra\n    builtin: core.echo\n    with: { message: more }\n  - id: g\n",
    );
    std::fs::write(&path, edited).unwrap();
    let second = rt.start(&path, json!({"who": "y"})).await.unwrap().id();
    rt.drive(&second, &Quiet).await.unwrap();

    let recovered = rt.recover_unfinished().await.unwrap();
    assert_eq!(recovered.len(), 2, "{recovered:?}");
    for (run, actions) in recovered {
        assert!(
            matches!(
                actions.as_slice(),
                [aine_engine::Action::AwaitDecision { step, .. }] if step.as_str() == "g"
            ),
            "{run}: {actions:?}"
        );
    }
}

/// A clock that, once armed, appends an event to a run's journal the next time the runtime
/// reads the time: another writer committing between a decision's read of the journal and its
/// own append.
#[derive(Debug, Default)]
struct InterruptingClock {
    store: std::sync::OnceLock<Store>,
    armed: std::sync::Mutex<Option<(RunId, Event)>>,
}

impl aine_runtime::Clock for InterruptingClock {
    fn now_ms(&self) -> i64 {
        let armed = self.armed.lock().unwrap().take();
        if let Some((run, event)) = armed {
            let store = self.store.get().unwrap();
            tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current().block_on(async {
                    let next = store.run(&run).await.unwrap().last_seq + 1;
                    store
                        .append(&run, next, &[event], SystemClock.now_ms())
                        .await
                        .unwrap();
                });
            });
        }
        SystemClock.now_ms()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_that_meets_another_writer_says_what_happened() {
    let clock = Arc::new(InterruptingClock::default());
    let reviewed = GATED.replace("when: \"inputs.who != 'skip'\"", "reviews: a");
    let (dir, rt) = setup_with_clock(&reviewed, clock.clone()).await;
    clock.store.set(rt.store().clone()).unwrap();

    // root decides the gate while alice's decision is being recorded: alice hears who won.
    let (run, gate) = run_to_gate(&dir, &rt, json!({"who": "x"})).await;
    *clock.armed.lock().unwrap() = Some((
        run,
        Event::GateDecided {
            step: StepId::new("g").unwrap(),
            gate,
            decision: Decision::Reject,
            by: person("root"),
            reason: "first".to_owned(),
        },
    ));
    let err = rt
        .decide(&gate, &person("alice"), Decision::Approve, "second")
        .await
        .unwrap_err();
    assert!(clock.armed.lock().unwrap().is_none(), "the clock fired");
    assert!(
        matches!(&err, Error::GateNotOpen { detail, .. } if detail == "already decided: reject by root"),
        "{err}"
    );

    // Another writer appended something else: the gate is still open, and nobody decided it.
    let (run, gate) = run_to_gate(&dir, &rt, json!({"who": "x"})).await;
    *clock.armed.lock().unwrap() = Some((
        run,
        Event::RunFinished {
            status: RunStatus::Failed,
            why: "stopped by an operator".to_owned(),
        },
    ));
    let err = rt
        .decide(&gate, &person("alice"), Decision::Approve, "fine")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Store(aine_store::Error::Conflict { .. })),
        "{err}"
    );
}
