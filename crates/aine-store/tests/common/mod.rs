//! Builders shared by the store's tests: deterministic ids, runs and events.

#![allow(dead_code, reason = "each test binary uses a different subset")]
#![allow(clippy::unwrap_used, reason = "test helpers")]

use std::path::{Path, PathBuf};

use aine_store::{NewRun, Store, StoreOptions};
use aine_types::{Decision, Event, GateId, Outcome, PersonId, RoleName, RunId, RunStatus, StepId};
use serde_json::json;
use ulid::Ulid;

pub fn run_id(n: u64) -> RunId {
    RunId::from_ulid(Ulid::from_parts(n, u128::from(n)))
}

pub fn gate_id(n: u64) -> GateId {
    GateId::from_ulid(Ulid::from_parts(n, u128::from(n)))
}

pub fn new_run(id: RunId) -> NewRun {
    NewRun {
        id,
        workflow: "requirements".to_owned(),
        workflow_path: "workflows/requirements.workflow.yaml".to_owned(),
        workflow_source: format!("workflow: requirements\nversion: 1\n# {id}\n"),
    }
}

pub fn started() -> Event {
    Event::RunStarted {
        workflow: "requirements".to_owned(),
        workflow_version: 1,
        workflow_sha256: "ab".repeat(32),
        inputs: json!({ "sources": ["notes/kickoff.md"] }),
    }
}

pub fn step(name: &str) -> StepId {
    StepId::new(name).unwrap()
}

pub fn step_started(name: &str) -> Event {
    Event::StepStarted {
        step: step(name),
        attempt: 1,
    }
}

pub fn step_finished(name: &str) -> Event {
    Event::StepFinished {
        step: step(name),
        attempt: 1,
        outcome: Outcome::Ok {
            value: json!({ "items": [1, 2, 3], "note": "ünïcode ✓" }),
        },
        why: "builtin \"spec.lint\" said: a\\b\n\tok".to_owned(),
        duration_ms: 12,
    }
}

pub fn gate_opened(gate: GateId) -> Event {
    Event::GateOpened {
        step: step("review"),
        gate,
        owner: RoleName::new("product-owner").unwrap(),
    }
}

pub fn gate_decided(gate: GateId, decision: Decision) -> Event {
    Event::GateDecided {
        step: step("review"),
        gate,
        decision,
        by: PersonId::new("alice").unwrap(),
        reason: "looks right".to_owned(),
    }
}

pub fn finished(status: RunStatus) -> Event {
    Event::RunFinished {
        status,
        why: "done".to_owned(),
    }
}

/// A database path inside `dir`, in a folder that does not exist yet.
pub fn db_path(dir: &Path) -> PathBuf {
    dir.join(".aine").join("aine.db")
}

pub async fn open(path: &Path) -> Store {
    Store::open(path, &StoreOptions::default()).await.unwrap()
}
