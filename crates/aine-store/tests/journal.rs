//! The journal and its projections, on real SQLite files.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions"
)]

mod common;

use aine_store::{Error, GateStatus, RunFilter, Store};
use aine_types::{Decision, Event, GateId, JournalEntry, RunStatus};
use common::*;
use serde_json::json;

#[tokio::test]
async fn create_append_and_read_back_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&db_path(dir.path())).await;
    let id = run_id(1);

    let first = store
        .create_run(&new_run(id), &[started()], 1_000)
        .await
        .unwrap();
    assert_eq!(
        first,
        vec![JournalEntry {
            seq: 1,
            at_ms: 1_000,
            event: started()
        }]
    );
    let more = store
        .append(
            &id,
            2,
            &[step_started("ingest"), step_finished("ingest")],
            2_000,
        )
        .await
        .unwrap();
    assert_eq!(more.iter().map(|e| e.seq).collect::<Vec<_>>(), [2, 3]);
    assert!(more.iter().all(|e| e.at_ms == 2_000));

    let journal = store.journal(&id).await.unwrap();
    assert_eq!(journal, [first, more].concat());

    let record = store.run(&id).await.unwrap();
    assert_eq!(record.id, id);
    assert_eq!(record.workflow, "requirements");
    assert_eq!(record.workflow_path, "workflows/requirements.workflow.yaml");
    assert_eq!(record.status, RunStatus::Running);
    assert_eq!(record.waiting_gate, None);
    assert_eq!(
        (record.created_at_ms, record.updated_at_ms, record.last_seq),
        (1_000, 2_000, 3)
    );
    assert_eq!(
        store.workflow_source(&id).await.unwrap(),
        new_run(id).workflow_source
    );
}

#[tokio::test]
async fn large_batches_are_journaled_gap_free_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&db_path(dir.path())).await;
    let id = run_id(1);
    store
        .create_run(&new_run(id), &[started()], 1)
        .await
        .unwrap();
    // 150 = 64 + 64 + 16 + 4 + 2 rows: every INSERT size but 32, 8 and 1.
    let batch: Vec<Event> = (0..150).map(|i| step_started(&format!("s{i}"))).collect();
    let appended = store.append(&id, 2, &batch, 2).await.unwrap();
    // Then 7 = 4 + 2 + 1 rows, ending on a single-row INSERT.
    let tail: Vec<Event> = (0..7).map(|i| step_finished(&format!("t{i}"))).collect();
    store.append(&id, 152, &tail, 3).await.unwrap();

    let journal = store.journal(&id).await.unwrap();
    assert_eq!(
        journal.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=158).collect::<Vec<_>>()
    );
    assert_eq!(&journal[1..151], appended.as_slice());
    let events: Vec<Event> = journal.into_iter().map(|e| e.event).collect();
    assert_eq!(events, [vec![started()], batch, tail].concat());
    assert_eq!(store.run(&id).await.unwrap().last_seq, 158);
}

/// Appends `steps` one batch at a time and checks the run's status and waiting gate after each.
async fn check_projection(steps: &[(Vec<Event>, RunStatus, Option<GateId>)]) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&db_path(dir.path())).await;
    let id = run_id(7);
    store
        .create_run(&new_run(id), &[started()], 0)
        .await
        .unwrap();
    let mut next = 2;
    for (i, (events, status, gate)) in steps.iter().enumerate() {
        store
            .append(&id, next, events, 10 * (i as i64 + 1))
            .await
            .unwrap();
        next += events.len() as u64;
        let record = store.run(&id).await.unwrap();
        assert_eq!(
            (record.status, record.waiting_gate),
            (*status, *gate),
            "after batch {i}"
        );
    }
}

#[tokio::test]
async fn events_project_onto_the_run_status() {
    let g = gate_id(1);
    let h = gate_id(2);
    use RunStatus::*;
    check_projection(&[
        (
            vec![step_started("draft"), step_finished("draft")],
            Running,
            None,
        ),
        (vec![gate_opened(g)], Waiting, Some(g)),
        (vec![gate_decided(g, Decision::Approve)], Running, None),
        (vec![step_started("publish")], Running, None),
        (
            vec![step_finished("publish"), finished(Succeeded)],
            Succeeded,
            None,
        ),
    ])
    .await;
    // Several status changes in one batch: the last one wins.
    check_projection(&[
        (
            vec![
                gate_opened(g),
                gate_decided(g, Decision::Approve),
                gate_opened(h),
            ],
            Waiting,
            Some(h),
        ),
        (
            vec![gate_decided(h, Decision::Reject), finished(Rejected)],
            Rejected,
            None,
        ),
    ])
    .await;
    check_projection(&[(vec![step_started("draft"), finished(Failed)], Failed, None)]).await;
}

#[tokio::test]
async fn gates_are_projected_and_listed_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&db_path(dir.path())).await;
    let (a, b) = (run_id(1), run_id(2));
    let (ga, gb) = (gate_id(10), gate_id(5));
    store
        .create_run(&new_run(a), &[started()], 0)
        .await
        .unwrap();
    store
        .create_run(&new_run(b), &[started()], 0)
        .await
        .unwrap();
    store.append(&a, 2, &[gate_opened(ga)], 100).await.unwrap();
    store.append(&b, 2, &[gate_opened(gb)], 200).await.unwrap();

    let open_gates = store.gates(Some(GateStatus::Open)).await.unwrap();
    assert_eq!(
        open_gates.iter().map(|g| g.id).collect::<Vec<_>>(),
        [ga, gb]
    );
    let gate = &open_gates[0];
    assert_eq!(
        (gate.run, gate.step.as_str(), gate.owner_role.as_str()),
        (a, "review", "product-owner")
    );
    assert_eq!((gate.status, gate.opened_at_ms), (GateStatus::Open, 100));
    assert_eq!(
        (
            gate.decided_at_ms,
            &gate.decided_by,
            &gate.decision,
            &gate.reason
        ),
        (None, &None, &None, &None)
    );

    let edit = Decision::Edit {
        output: json!({ "items": [] }),
        changes: Vec::new(),
    };
    store
        .append(&a, 3, &[gate_decided(ga, edit)], 300)
        .await
        .unwrap();
    let decided = store.gate(&ga).await.unwrap();
    assert_eq!(decided.status, GateStatus::Decided);
    assert_eq!(decided.decided_at_ms, Some(300));
    assert_eq!(
        decided.decided_by.as_ref().map(|p| p.as_str()),
        Some("alice")
    );
    assert_eq!(decided.decision.as_deref(), Some("edit"));
    assert_eq!(decided.reason.as_deref(), Some("looks right"));

    let ids =
        |gates: Vec<aine_store::GateRecord>| gates.into_iter().map(|g| g.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.gates(Some(GateStatus::Open)).await.unwrap()),
        [gb]
    );
    assert_eq!(
        ids(store.gates(Some(GateStatus::Decided)).await.unwrap()),
        [ga]
    );
    assert_eq!(ids(store.gates(None).await.unwrap()), [ga, gb]);
    assert!(
        matches!(store.gate(&gate_id(99)).await, Err(Error::UnknownGate(g)) if g == gate_id(99))
    );
}

#[tokio::test]
async fn runs_are_listed_newest_first_and_filtered() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&db_path(dir.path())).await;
    for n in 1..=4 {
        store
            .create_run(&new_run(run_id(n)), &[started()], n as i64 * 100)
            .await
            .unwrap();
    }
    store
        .append(&run_id(2), 2, &[finished(RunStatus::Failed)], 500)
        .await
        .unwrap();
    store
        .append(&run_id(3), 2, &[gate_opened(gate_id(3))], 600)
        .await
        .unwrap();

    let check = async |filter: RunFilter, expected: &[u64]| {
        let ids: Vec<_> = store
            .runs(&filter)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        let expected: Vec<_> = expected.iter().map(|n| run_id(*n)).collect();
        assert_eq!(ids, expected, "{filter:?}");
    };
    check(RunFilter::default(), &[4, 3, 2, 1]).await;
    check(
        RunFilter {
            status: None,
            limit: Some(2),
        },
        &[4, 3],
    )
    .await;
    check(
        RunFilter {
            status: Some(RunStatus::Running),
            limit: None,
        },
        &[4, 1],
    )
    .await;
    check(
        RunFilter {
            status: Some(RunStatus::Running),
            limit: Some(1),
        },
        &[4],
    )
    .await;
    check(
        RunFilter {
            status: Some(RunStatus::Failed),
            limit: None,
        },
        &[2],
    )
    .await;
    check(
        RunFilter {
            status: Some(RunStatus::Waiting),
            limit: None,
        },
        &[3],
    )
    .await;
    check(
        RunFilter {
            status: Some(RunStatus::Succeeded),
            limit: None,
        },
        &[],
    )
    .await;
    check(
        RunFilter {
            status: None,
            limit: Some(0),
        },
        &[],
    )
    .await;
}

/// Everything observable about one run, to show that a failed write changed nothing.
async fn snapshot(
    store: &Store,
    run: &aine_types::RunId,
) -> (Vec<JournalEntry>, aine_store::RunRecord, usize) {
    let gates = store.gates(None).await.unwrap().len();
    (
        store.journal(run).await.unwrap(),
        store.run(run).await.unwrap(),
        gates,
    )
}

#[tokio::test]
async fn a_stale_expected_seq_is_a_conflict_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&db_path(dir.path())).await;
    let id = run_id(1);
    store
        .create_run(&new_run(id), &[started(), step_started("ingest")], 1)
        .await
        .unwrap();
    let before = snapshot(&store, &id).await;

    // Stale (another writer already got seq 2), from the future (a gap), and 0.
    for expected_seq in [2, 4, 0] {
        let result = store
            .append(
                &id,
                expected_seq,
                &[gate_opened(gate_id(1)), step_started("x")],
                9,
            )
            .await;
        assert!(
            matches!(result, Err(Error::Conflict { run, expected_seq: e }) if run == id && e == expected_seq),
            "{expected_seq}: {result:?}"
        );
        let result = store.append(&id, expected_seq, &[], 9).await;
        assert!(matches!(result, Err(Error::Conflict { .. })), "{result:?}");
    }
    assert_eq!(snapshot(&store, &id).await, before);

    // The right seq still works afterwards, and an empty append writes nothing.
    assert_eq!(store.append(&id, 3, &[], 9).await.unwrap(), []);
    assert_eq!(snapshot(&store, &id).await, before);
    store
        .append(&id, 3, &[step_finished("ingest")], 9)
        .await
        .unwrap();
}

#[tokio::test]
async fn two_stores_racing_on_one_run_get_exactly_one_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(dir.path());
    let (one, two) = (open(&path).await, open(&path).await);
    let id = run_id(1);
    one.create_run(&new_run(id), &[started()], 1).await.unwrap();

    let (event_a, event_b) = ([step_started("a")], [step_started("b")]);
    let (a, b) = tokio::join!(
        one.append(&id, 2, &event_a, 2),
        two.append(&id, 2, &event_b, 2)
    );
    let conflicts = [&a, &b]
        .iter()
        .filter(|r| matches!(r, Err(Error::Conflict { .. })))
        .count();
    assert_eq!(conflicts, 1, "{a:?} {b:?}");
    assert!(a.is_ok() || b.is_ok());
    assert_eq!(one.journal(&id).await.unwrap().len(), 2);
}

/// Writes issued together share the writer's transactions (group commit); each still succeeds or
/// fails on its own, and a failed one writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_through_one_store_commit_or_fail_each_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&db_path(dir.path())).await;
    let runs: Vec<_> = (1..=64).map(run_id).collect();
    let created = futures_join_all(runs.iter().map(|id| {
        let store = store.clone();
        let id = *id;
        tokio::spawn(async move { store.create_run(&new_run(id), &[started()], 1).await })
    }))
    .await;
    assert!(created.iter().all(Result::is_ok), "{created:?}");

    // Per run, at once: two appends racing for seq 2, and a decision on a gate that is not open.
    let mut tasks = Vec::new();
    for (n, id) in runs.iter().enumerate() {
        for (step, events) in [
            ("a", vec![step_started("a")]),
            ("b", vec![step_started("b")]),
            (
                "gate",
                vec![gate_decided(gate_id(1000 + n as u64), Decision::Approve)],
            ),
        ] {
            let store = store.clone();
            let id = *id;
            tasks.push(tokio::spawn(async move {
                (step, store.append(&id, 2, &events, 2).await)
            }));
        }
    }
    let results = futures_join_all(tasks).await;
    // Exactly one of "a" and "b" wins each run; the decision fails on its unknown gate, or on a
    // conflict when it comes after the winner.
    for (step, result) in &results {
        match (step, result) {
            (&("a" | "b"), Ok(_)) => {}
            (_, Err(Error::Conflict { .. })) => {}
            (&"gate", Err(Error::UnknownGate(_))) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(results.iter().filter(|(_, r)| r.is_ok()).count(), 64);
    for id in &runs {
        let journal = store.journal(id).await.unwrap();
        assert_eq!(journal.len(), 2, "{id}: {journal:?}");
        assert!(matches!(journal[1].event, Event::StepStarted { .. }));
        assert_eq!(store.run(id).await.unwrap().last_seq, 2);
    }
    assert!(store.gates(None).await.unwrap().is_empty());
}

async fn futures_join_all<T: std::fmt::Debug>(
    tasks: impl IntoIterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

#[tokio::test]
async fn unknown_runs_and_gates_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&db_path(dir.path())).await;
    let missing = run_id(404);
    let unknown = |r: Result<_, Error>| matches!(r, Err(Error::UnknownRun(id)) if id == missing);
    assert!(unknown(store.journal(&missing).await.map(|_| ())));
    assert!(unknown(store.run(&missing).await.map(|_| ())));
    assert!(unknown(store.workflow_source(&missing).await.map(|_| ())));
    assert!(unknown(
        store.append(&missing, 1, &[started()], 1).await.map(|_| ())
    ));
    assert!(unknown(store.append(&missing, 1, &[], 1).await.map(|_| ())));

    // A run created without events has an empty journal, not an unknown one.
    let id = run_id(1);
    assert_eq!(store.create_run(&new_run(id), &[], 5).await.unwrap(), []);
    assert_eq!(store.journal(&id).await.unwrap(), []);
    assert_eq!(store.run(&id).await.unwrap().last_seq, 0);
    store.append(&id, 1, &[started()], 6).await.unwrap();

    // Deciding a gate that was never opened, or that belongs to another run.
    let before = snapshot(&store, &id).await;
    let g = gate_id(1);
    let result = store
        .append(&id, 2, &[gate_decided(g, Decision::Approve)], 7)
        .await;
    assert!(
        matches!(result, Err(Error::UnknownGate(x)) if x == g),
        "{result:?}"
    );
    let other = run_id(2);
    store
        .create_run(&new_run(other), &[started(), gate_opened(g)], 8)
        .await
        .unwrap();
    let result = store
        .append(&id, 2, &[gate_decided(g, Decision::Approve)], 9)
        .await;
    assert!(
        matches!(result, Err(Error::UnknownGate(x)) if x == g),
        "{result:?}"
    );
    assert_eq!(snapshot(&store, &id).await.0, before.0);
    assert_eq!(snapshot(&store, &id).await.1, before.1);
}

#[tokio::test]
async fn a_gate_is_decided_once_and_a_run_created_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&db_path(dir.path())).await;
    let id = run_id(1);
    let g = gate_id(1);
    store
        .create_run(&new_run(id), &[started(), gate_opened(g)], 1)
        .await
        .unwrap();
    store
        .append(&id, 3, &[gate_decided(g, Decision::Approve)], 2)
        .await
        .unwrap();
    let before = snapshot(&store, &id).await;

    let result = store
        .append(&id, 4, &[gate_decided(g, Decision::Reject)], 3)
        .await;
    assert!(
        matches!(result, Err(Error::GateNotOpen(x)) if x == g),
        "{result:?}"
    );
    let result = store.create_run(&new_run(id), &[started()], 4).await;
    assert!(
        matches!(result, Err(Error::DuplicateRun(x)) if x == id),
        "{result:?}"
    );
    assert_eq!(snapshot(&store, &id).await, before);
    assert_eq!(
        store.gate(&g).await.unwrap().decision.as_deref(),
        Some("approve")
    );
}

#[tokio::test]
async fn unfinished_journals_holds_running_and_waiting_runs_with_whole_journals() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&db_path(dir.path())).await;
    let running = [
        started(),
        step_started("a"),
        step_finished("a"),
        step_started("b"),
    ];
    store
        .create_run(&new_run(run_id(1)), &running, 10)
        .await
        .unwrap();
    store
        .create_run(
            &new_run(run_id(2)),
            &[started(), finished(RunStatus::Succeeded)],
            20,
        )
        .await
        .unwrap();
    store
        .create_run(
            &new_run(run_id(3)),
            &[started(), gate_opened(gate_id(3))],
            30,
        )
        .await
        .unwrap();
    store
        .create_run(
            &new_run(run_id(4)),
            &[started(), finished(RunStatus::Failed)],
            40,
        )
        .await
        .unwrap();
    store
        .create_run(&new_run(run_id(5)), &[], 50)
        .await
        .unwrap();
    store
        .append(&run_id(1), 5, &[step_finished("b")], 60)
        .await
        .unwrap();
    // Decided and finished: no longer unfinished.
    store
        .create_run(
            &new_run(run_id(6)),
            &[started(), gate_opened(gate_id(6))],
            70,
        )
        .await
        .unwrap();
    store
        .append(
            &run_id(6),
            3,
            &[
                gate_decided(gate_id(6), Decision::Reject),
                finished(RunStatus::Rejected),
            ],
            80,
        )
        .await
        .unwrap();

    let unfinished = store.unfinished_journals().await.unwrap();
    let ids: Vec<_> = unfinished.iter().map(|(run, _)| run.id).collect();
    assert_eq!(ids, [run_id(1), run_id(3), run_id(5)]);
    for (record, journal) in &unfinished {
        assert_eq!(record, &store.run(&record.id).await.unwrap());
        assert_eq!(journal, &store.journal(&record.id).await.unwrap());
        assert_eq!(journal.len() as u64, record.last_seq);
    }
    assert_eq!(unfinished[0].1.len(), 5);
    assert_eq!(unfinished[1].0.status, RunStatus::Waiting);
    assert!(unfinished[2].1.is_empty());
}

/// SQLite's automatic checkpoint is off on the writer (it ran inside commits, on the caller's
/// time); the checkpointer thread must keep the write-ahead log from growing with every commit,
/// even under writes that never pause (its checkpoints beside them then never copy the whole
/// log, and SQLite only starts a log over after one that did).
#[tokio::test]
async fn the_write_ahead_log_is_checkpointed_off_the_callers_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(dir.path());
    let options = aine_store::StoreOptions {
        durability: aine_store::Durability::Normal,
        ..aine_store::StoreOptions::default()
    };
    let store = Store::open(&path, &options).await.unwrap();
    let id = run_id(1);
    store
        .create_run(&new_run(id), &[started()], 1)
        .await
        .unwrap();
    let commits: u64 = 8_000;
    for seq in 2..=commits {
        store
            .append(&id, seq, &[step_started(&format!("s{seq}"))], 2)
            .await
            .unwrap();
    }
    let wal = std::fs::metadata(path.with_extension("db-wal"))
        .unwrap()
        .len();
    // Each commit appends three or four 4 KiB pages to the log: without checkpoints it holds
    // them all (108 MB measured for these 8,000). Checkpointed, its high-water mark depends on
    // how soon the checkpointer thread gets a core: 16 to 28 MB measured with three copies of
    // this test binary running at once. A log that kept every commit would hold at least
    // three pages each; this one must stay under 40% of that.
    let unchecked = commits * 3 * 4096;
    assert!(
        wal < unchecked * 4 / 10,
        "the WAL holds {wal} bytes after {commits} commits (unchecked: >= {unchecked})"
    );
    assert_eq!(store.journal(&id).await.unwrap().len() as u64, commits);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_close_the_database_file_alone_holds_every_commit() {
    // SQLite keeps recent commits in the `-wal` file; a closed store must have moved them into
    // the database file, so that copying that one file (a backup) loses nothing. Repeated
    // because the readers' concurrent closing left a log behind about one time in four.
    let dir = tempfile::tempdir().unwrap();
    for n in 1..=40 {
        let path = dir.path().join(format!("a{n}.db"));
        let store = open(&path).await;
        store
            .create_run(&new_run(run_id(n)), &[started()], 1_000)
            .await
            .unwrap();
        let _ = store.runs(&RunFilter::default()).await.unwrap();
        store.close().await;
        let copy = dir.path().join(format!("copy{n}.db"));
        std::fs::copy(&path, &copy).unwrap();
        let copied = open(&copy).await;
        assert_eq!(
            copied.journal(&run_id(n)).await.unwrap().len(),
            1,
            "copy {n} lacks the run"
        );
        copied.close().await;
    }
}
