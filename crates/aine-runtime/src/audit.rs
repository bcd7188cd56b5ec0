//! Which journal events are recorded in the audit log, and with what (issue: governance).
//!
//! Recorded: run start and end, gate openings and decisions (who, what, when, why), automatic
//! approvals by policy (a gate passed under autonomy `auto`), gates opened by policy (under
//! `auto`, a condition that did not hold, but a reviewed `fallback` or `unsure` output:
//! `gate.opened_by_policy`), spec publications (with the SHA-256 of each published file), budget
//! refusals and escalations. Everything else stays in the journal only.

use aine_store::AuditEntry;
use aine_types::{CallResult, Decision, Event, Outcome};
use aine_workflow::{StepKind, Workflow};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The builtin whose successful output is a spec publication.
pub const PUBLISH_BUILTIN: &str = "spec.publish";

/// The actor of entries that no person caused.
pub const SYSTEM: &str = "system";

/// The audit entries for `event` (the `index`-th of the events being appended).
pub fn entries(event: &Event, index: usize, workflow: &Workflow) -> Vec<AuditEntry> {
    let entry = |kind: &str, actor: &str, payload: Value| AuditEntry {
        kind: kind.to_owned(),
        actor: actor.to_owned(),
        payload,
        event_index: Some(index),
    };
    match event {
        Event::RunStarted {
            workflow: name,
            workflow_version,
            workflow_sha256,
            inputs,
        } => vec![entry(
            "run.started",
            SYSTEM,
            json!({ "workflow": name, "version": workflow_version, "workflow_sha256": workflow_sha256, "inputs": inputs }),
        )],
        Event::RunFinished { status, why } => {
            vec![entry(
                "run.finished",
                SYSTEM,
                json!({ "status": status, "why": why }),
            )]
        }
        Event::GateOpened { step, gate, owner } => vec![entry(
            "gate.opened",
            SYSTEM,
            json!({ "step": step, "gate": gate, "owner": owner }),
        )],
        Event::GateDecided {
            step,
            gate,
            decision,
            by,
            reason,
        } => {
            let mut payload = json!({ "step": step, "gate": gate, "decision": decision.kind(), "reason": reason });
            if let Decision::Edit { output, .. } = decision {
                payload["edited_output_sha256"] = Value::String(sha256_json(output));
            }
            vec![entry("gate.decided", by.as_str(), payload)]
        }
        Event::ModelCalled {
            step,
            model,
            reason,
            result,
            ..
        } => {
            let mut out = Vec::new();
            if reason.starts_with("escalated") {
                out.push(entry(
                    "model.escalated",
                    SYSTEM,
                    json!({ "step": step, "model": model, "reason": reason }),
                ));
            }
            if let CallResult::BudgetRefused { detail } = result {
                out.push(entry(
                    "budget.refused",
                    SYSTEM,
                    json!({ "step": step, "model": model, "detail": detail }),
                ));
            }
            out
        }
        Event::StepFinished {
            step,
            outcome: Outcome::Ok { value },
            ..
        } if is_publish(workflow, step) => vec![entry(
            "spec.published",
            SYSTEM,
            json!({ "step": step, "files": value.get("files").cloned().unwrap_or(Value::Null) }),
        )],
        Event::GateEvaluated {
            step,
            open: true,
            why,
            degraded: Some(degraded),
        } => vec![entry(
            "gate.opened_by_policy",
            SYSTEM,
            json!({ "step": step, "policy": "degraded output is reviewed", "reviewed": degraded, "why": why }),
        )],
        Event::GateEvaluated {
            step,
            open: false,
            why,
            ..
        } => vec![entry(
            "gate.auto_approved",
            SYSTEM,
            json!({ "step": step, "policy": "auto", "why": why }),
        )],
        Event::StepStarted { .. }
        | Event::StepFinished { .. }
        | Event::ElementFinished { .. }
        | Event::GateEvaluated { .. } => Vec::new(),
    }
}

fn is_publish(workflow: &Workflow, step: &aine_types::StepId) -> bool {
    workflow
        .step(step)
        .is_some_and(|s| matches!(&s.kind, StepKind::Builtin(b) if b.name == PUBLISH_BUILTIN))
}

fn sha256_json(value: &Value) -> String {
    let text = serde_json::to_string(value).unwrap_or_default();
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A published file checked against the SHA-256 recorded when it was published.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FileCheck {
    /// Path relative to the project directory.
    pub path: String,
    /// The audit entry of its latest publication.
    pub audit_seq: u64,
    pub expected_sha256: String,
    /// `None` when the file is gone.
    pub actual_sha256: Option<String>,
}

impl FileCheck {
    /// Whether the file on disk is the file that was published.
    pub fn unchanged(&self) -> bool {
        self.actual_sha256.as_deref() == Some(self.expected_sha256.as_str())
    }
}

/// Checks every file of the latest publication of each path (from `spec.published` audit
/// entries) against its recorded SHA-256. Paths resolve against `project_dir`.
pub async fn verify_files(
    store: &aine_store::Store,
    project_dir: &std::path::Path,
) -> crate::Result<Vec<FileCheck>> {
    let mut latest: std::collections::BTreeMap<String, (u64, String)> = Default::default();
    for record in store.audit_log(0, None).await? {
        if record.kind != "spec.published" {
            continue;
        }
        for file in record.payload["files"].as_array().into_iter().flatten() {
            if let (Some(path), Some(sha)) = (file["path"].as_str(), file["sha256"].as_str()) {
                latest.insert(path.to_owned(), (record.seq, sha.to_owned()));
            }
        }
    }
    Ok(latest
        .into_iter()
        .map(|(path, (audit_seq, expected_sha256))| {
            let actual_sha256 = std::fs::read(project_dir.join(&path))
                .ok()
                .map(|bytes| hex::encode(Sha256::digest(&bytes)));
            FileCheck {
                path,
                audit_seq,
                expected_sha256,
                actual_sha256,
            }
        })
        .collect())
}
