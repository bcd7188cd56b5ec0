//! Property tests: random event sequences never drive the engine into an illegal state, and
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions"
)]
//! following the engine's own actions always ends the run.

mod common;

use aine_engine::{Action, RunState};
use aine_types::{Decision, Event, Outcome};
use common::*;
use proptest::prelude::*;
use serde_json::json;

const STEPS: [&str; 4] = ["a", "g", "b", "h"];

fn arb_outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        4 => Just(ok(json!(1))),
        1 => Just(Outcome::Unsure { reason: "r".into(), partial: None }),
        1 => Just(Outcome::Violation { errors: vec!["e".into()] }),
        1 => Just(Outcome::Failed { error: "e".into() }),
    ]
}

fn arb_decision() -> impl Strategy<Value = Decision> {
    prop_oneof![
        Just(Decision::Approve),
        Just(Decision::Reject),
        Just(Decision::Edit {
            output: json!({"e": 1}),
            changes: Vec::new(),
        }),
    ]
}

fn arb_status() -> impl Strategy<Value = aine_types::RunStatus> {
    prop::sample::select(aine_types::RunStatus::ALL.to_vec())
}

fn arb_event() -> impl Strategy<Value = Event> {
    let id = prop::sample::select(STEPS.to_vec());
    prop_oneof![
        1 => Just(started()),
        3 => (id.clone(), 1u32..4).prop_map(|(s, a)| start(s, a)),
        3 => (id.clone(), 1u32..4, arb_outcome()).prop_map(|(s, a, o)| finish(s, a, o)),
        2 => (id.clone(), 1u32..4, 0i64..100).prop_map(|(s, c, usd)| called(s, c, usd)),
        2 => (id.clone(), any::<bool>()).prop_map(|(s, open)| evaluated(s, open)),
        2 => (id.clone(), 1u64..3).prop_map(|(s, g)| opened(s, g)),
        2 => (id, 1u64..3, arb_decision()).prop_map(|(s, g, d)| decided(s, g, d)),
        1 => arb_status().prop_map(finished),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Any sequence of events, mixing random ones with the one the engine asks for (`None`):
    /// accepted ones keep every invariant, refused ones change nothing.
    #[test]
    fn random_events_never_reach_an_illegal_state(
        events in prop::collection::vec(prop_oneof![2 => Just(None), 3 => arb_event().prop_map(Some)], 0..60)
    ) {
        let mut state = RunState::new(plan("a ?g b ?h"));
        for event in &events {
            let Some(event) = event.clone().or_else(|| legal_next(&state)) else { continue };
            let before = state.clone();
            match state.apply(&event) {
                Ok(_) => prop_assert_eq!(state.check_invariants(), Ok(())),
                Err(_) => prop_assert_eq!(&state, &before),
            }
        }
    }

    /// Performing the engine's own actions, with random outcomes and decisions, always reaches a
    /// terminal status, and every event the engine asked for is accepted.
    #[test]
    fn following_the_actions_always_finishes(
        outcomes in prop::collection::vec(arb_outcome(), 8),
        decisions in prop::collection::vec(arb_decision(), 8),
        opens in prop::collection::vec(any::<bool>(), 8),
        crashes in prop::collection::vec(any::<bool>(), 8),
    ) {
        let mut state = RunState::new(plan("a ?g b ?h c"));
        let mut actions = state.apply(&started()).unwrap();
        let mut i = 0usize;
        for _ in 0..100 {
            let Some(action) = actions.first().cloned() else { break };
            let event = match action {
                Action::RunStep { step, attempt, .. } => {
                    let s = state.apply(&Event::StepStarted { step: step.clone(), attempt }).unwrap();
                    prop_assert!(!s.is_empty());
                    i += 1;
                    if crashes[i % 8] && attempt < 3 {
                        actions = s; // the process "died" before finishing: resume asks again
                        continue;
                    }
                    Event::StepFinished { step, attempt, outcome: outcomes[i % 8].clone(), why: "t".into(), duration_ms: 0 }
                }
                Action::EvaluateGate { step } => { i += 1; Event::GateEvaluated { step, open: opens[i % 8], why: "c".into(), degraded: None } }
                Action::OpenGate { step, .. } => Event::GateOpened { step, gate: gate(i as u64 + 1), owner: aine_types::RoleName::new("po").unwrap() },
                Action::AwaitDecision { step, gate, .. } => {
                    i += 1;
                    Event::GateDecided { step, gate, decision: decisions[i % 8].clone(), by: aine_types::PersonId::new("p").unwrap(), reason: "r".into() }
                }
                Action::FinishRun { status, why } => Event::RunFinished { status, why },
            };
            actions = state.apply(&event).unwrap();
            prop_assert_eq!(state.check_invariants(), Ok(()));
        }
        prop_assert!(state.status().is_some_and(|s| s.is_terminal()), "ended {:?}", state.phase());
    }
}

/// The event that performs the engine's next action successfully (`None` when there is none).
fn legal_next(state: &RunState) -> Option<Event> {
    Some(match state.next_actions().into_iter().next() {
        None if state.status().is_none() => started(),
        None => return None,
        Some(Action::RunStep { step, attempt, .. }) => match state.step(&step) {
            Some(aine_engine::StepState::Running { attempt: a }) if *a + 1 == attempt => {
                Event::StepFinished {
                    step,
                    attempt: *a,
                    outcome: ok(json!(1)),
                    why: "t".into(),
                    duration_ms: 0,
                }
            }
            _ => Event::StepStarted { step, attempt },
        },
        Some(Action::EvaluateGate { step }) => Event::GateEvaluated {
            step,
            open: true,
            why: "c".into(),
            degraded: None,
        },
        Some(Action::OpenGate { step, .. }) => opened(step.as_str(), 1),
        Some(Action::AwaitDecision { step, gate, .. }) => Event::GateDecided {
            step,
            gate,
            decision: Decision::Approve,
            by: aine_types::PersonId::new("p").unwrap(),
            reason: "r".into(),
        },
        Some(Action::FinishRun { status, why }) => Event::RunFinished { status, why },
    })
}
