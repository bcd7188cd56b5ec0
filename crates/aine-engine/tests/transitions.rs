//! Data-driven tests: feed events, compare the rendered state and next actions.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions"
)]

mod common;

use aine_engine::{EngineError, RunState};
use aine_types::{Decision, Event, Outcome, RunStatus};
use common::*;
use serde_json::json;

/// Applies `events` to a fresh run of `plan_spec` and compares the rendering with `expected`.
/// Every event must be accepted.
fn check(plan_spec: &str, events: &[Event], expected: &str) {
    let mut state = RunState::new(plan(plan_spec));
    for e in events {
        state
            .apply(e)
            .unwrap_or_else(|err| panic!("{} refused: {err}", e.kind()));
        state.check_invariants().unwrap();
    }
    assert_eq!(render(&state), expected.trim_start());
}

/// Applies `events` (all accepted) then `bad`, which must be refused with `expected` and leave
/// the state unchanged.
fn check_refused(plan_spec: &str, events: &[Event], bad: Event, expected: EngineError) {
    let mut state = RunState::fold(plan(plan_spec), events).unwrap();
    let before = state.clone();
    assert_eq!(state.apply(&bad), Err(expected));
    assert_eq!(state, before);
}

#[test]
fn a_new_run_waits_for_run_started() {
    check("a b", &[], "phase: not_started\na: pending\nb: pending\n");
    check(
        "a b",
        &[started()],
        "phase: running\na: pending\nb: pending\n-> run a #1\n",
    );
}

#[test]
fn tasks_run_in_order_and_the_run_succeeds() {
    check(
        "a b",
        &[
            started(),
            start("a", 1),
            finish("a", 1, ok(json!(1))),
            start("b", 1),
            finish("b", 1, ok(json!(2))),
        ],
        "
phase: running
a: ok #1 1
b: ok #1 2
-> finish succeeded
",
    );
    check(
        "a",
        &[
            started(),
            start("a", 1),
            finish("a", 1, ok(json!(1))),
            finished(RunStatus::Succeeded),
        ],
        "phase: finished succeeded\na: ok #1 1\n",
    );
}

#[test]
fn an_interrupted_attempt_is_retried_with_the_next_attempt_number() {
    check(
        "a b",
        &[started(), start("a", 1)],
        "phase: running\na: running #1\nb: pending\n-> run a #2 (resumed)\n",
    );
    check(
        "a b",
        &[
            started(),
            start("a", 1),
            start("a", 2),
            finish("a", 2, ok(json!("x"))),
        ],
        "phase: running\na: ok #2 \"x\"\nb: pending\n-> run b #1\n",
    );
}

#[test]
fn unsure_continues_but_failed_and_violation_end_the_run() {
    let unsure = Outcome::Unsure {
        reason: "r".into(),
        partial: None,
    };
    check(
        "a b",
        &[started(), start("a", 1), finish("a", 1, unsure)],
        "phase: running\na: unsure #1\nb: pending\n-> run b #1\n",
    );
    let failed = Outcome::Failed { error: "e".into() };
    check(
        "a b",
        &[started(), start("a", 1), finish("a", 1, failed)],
        "phase: running\na: failed #1\nb: pending\n-> finish failed\n",
    );
    let violation = Outcome::Violation {
        errors: vec!["x".into()],
    };
    check(
        "a b",
        &[
            started(),
            start("a", 1),
            finish("a", 1, violation),
            finished(RunStatus::Failed),
        ],
        "phase: finished failed\na: violation #1\nb: pending\n",
    );
}

#[test]
fn a_closed_gate_is_passed() {
    check(
        "a ?g b",
        &[
            started(),
            start("a", 1),
            finish("a", 1, ok(json!(1))),
            evaluated("g", false),
        ],
        "phase: running\na: ok #1 1\ng: gate passed\nb: pending\n-> run b #1\n",
    );
}

#[test]
fn an_open_gate_suspends_until_decided() {
    let base = [
        started(),
        start("a", 1),
        finish("a", 1, ok(json!(1))),
        evaluated("g", true),
    ];
    check(
        "a ?g b",
        &base,
        "phase: running\na: ok #1 1\ng: gate due\nb: pending\n-> open g\n",
    );
    let mut events = base.to_vec();
    events.push(opened("g", 7));
    check(
        "a ?g b",
        &events,
        "phase: waiting g7\na: ok #1 1\ng: gate open g7\nb: pending\n-> await g g7 by po\n",
    );
    let mut approved = events.clone();
    approved.push(decided("g", 7, Decision::Approve));
    check(
        "a ?g b",
        &approved,
        "phase: running\na: ok #1 1\ng: gate g7 approve\nb: pending\n-> run b #1\n",
    );
    let mut rejected = events.clone();
    rejected.push(decided("g", 7, Decision::Reject));
    rejected.push(finished(RunStatus::Rejected));
    check(
        "a ?g b",
        &rejected,
        "phase: finished rejected\na: ok #1 1\ng: gate g7 reject\nb: pending\n",
    );
    let mut edited = events;
    edited.push(decided(
        "g",
        7,
        Decision::Edit {
            output: json!({"v": 2}),
            changes: Vec::new(),
        },
    ));
    check(
        "a ?g b",
        &edited,
        "phase: running\na: ok #1 {\"v\":2} edited by alice\ng: gate g7 edit\nb: pending\n-> run b #1\n",
    );
}

#[test]
fn illegal_events_are_refused_and_change_nothing() {
    check_refused("a", &[], start("a", 1), EngineError::NotStarted);
    check_refused("a", &[started()], started(), EngineError::AlreadyStarted);
    check_refused(
        "a",
        &[started()],
        start("zz", 1),
        EngineError::UnknownStep(step("zz")),
    );
    check_refused(
        "a b",
        &[started()],
        start("b", 1),
        EngineError::NotCurrentStep {
            event: "step_started",
            expected: "`a`".into(),
            got: step("b"),
        },
    );
    check_refused(
        "a",
        &[started()],
        start("a", 2),
        EngineError::WrongAttempt {
            step: step("a"),
            expected: 1,
            got: 2,
        },
    );
    check_refused(
        "a",
        &[started(), start("a", 1)],
        finish("a", 3, ok(json!(1))),
        EngineError::WrongAttempt {
            step: step("a"),
            expected: 1,
            got: 3,
        },
    );
    check_refused(
        "a",
        &[started()],
        finished(RunStatus::Succeeded),
        EngineError::WrongFinish {
            expected: "nothing (steps remain)".into(),
            got: RunStatus::Succeeded,
        },
    );
    let waiting = [started(), evaluated("g", true), opened("g", 1)];
    check_refused(
        "?g a",
        &waiting,
        start("a", 1),
        EngineError::Waiting { gate: gate(1) },
    );
    check_refused(
        "?g a",
        &waiting,
        decided("g", 2, Decision::Approve),
        EngineError::GateNotOpen(gate(2)),
    );
    // An edit needs a reviewed task step before the gate.
    check_refused(
        "?g a",
        &waiting,
        decided(
            "g",
            1,
            Decision::Edit {
                output: json!(1),
                changes: Vec::new(),
            },
        ),
        EngineError::WrongStepState {
            event: "gate_decided",
            step: step("g"),
        },
    );
    let done = [
        started(),
        start("a", 1),
        finish("a", 1, ok(json!(1))),
        finished(RunStatus::Succeeded),
    ];
    check_refused(
        "a",
        &done,
        start("a", 2),
        EngineError::Finished(RunStatus::Succeeded),
    );
    check_refused(
        "a",
        &done,
        decided("a", 1, Decision::Approve),
        EngineError::Finished(RunStatus::Succeeded),
    );
}

#[test]
fn model_calls_accumulate_spend_and_are_kept_for_replay() {
    let events = [
        started(),
        start("a", 1),
        called("a", 1, 3),
        start("a", 2),
        called("a", 2, 4),
    ];
    let state = RunState::fold(plan("a b"), &events).unwrap();
    assert_eq!(state.model_calls(&step("a")).len(), 2);
    assert_eq!(state.step_spend(&step("a")).tokens(), 30);
    assert_eq!(state.total_spend().usd.to_string(), "$0.07");
    check_refused(
        "a b",
        &events,
        called("a", 2, 1),
        EngineError::WrongCall {
            step: step("a"),
            expected: 3,
            got: 2,
        },
    );
    check_refused(
        "a b",
        &[started()],
        called("a", 1, 1),
        EngineError::WrongStepState {
            event: "model_called",
            step: step("a"),
        },
    );
}

#[test]
fn the_elements_of_a_running_step_finish_once_each_and_survive_an_interrupted_attempt() {
    let element = |i: u32| Event::ElementFinished {
        step: step("a"),
        element: i,
        of: 2,
        outcome: Outcome::Ok { value: json!(i) },
        why: "done".into(),
        duration_ms: 1,
    };
    let events = [started(), start("a", 1), element(0), start("a", 2)];
    let state = RunState::fold(plan("a"), &events).unwrap();
    let done = state.finished_elements(&step("a")).unwrap();
    assert_eq!(done.keys().copied().collect::<Vec<_>>(), [0]);
    check_refused(
        "a",
        &events,
        element(0),
        EngineError::ElementRepeated {
            step: step("a"),
            element: 0,
        },
    );
    // Only while the step runs.
    check_refused(
        "a b",
        &[
            started(),
            start("a", 1),
            finish("a", 1, Outcome::Ok { value: json!(1) }),
        ],
        element(1),
        EngineError::NotCurrentStep {
            event: "element_finished",
            expected: "`b`".into(),
            got: step("a"),
        },
    );
}
