//! Deterministic trace and span ids.
//!
//! A run is one trace whose id is the run's ULID (both are 128 bits), and every span id is
//! derived from the run id and what the span stands for (the root, a step attempt, a model
//! call, a gate). So a run suspended at a gate, or killed and resumed by another process,
//! continues the same trace with correct parent links: no span context has to be stored or
//! handed between processes.

use aine_types::{GateId, RunId, StepId};
use opentelemetry::trace::{SpanId, TraceId};
use sha2::{Digest, Sha256};

/// The trace of `run`: the 16 bytes of its ULID (never zero: a ULID holds its timestamp).
pub fn trace_id(run: &RunId) -> TraceId {
    TraceId::from_bytes(run.ulid().to_bytes())
}

/// The root span (`invoke_workflow {workflow}`) of `run`.
pub fn root_span_id(run: &RunId) -> SpanId {
    span_id(run, &["root"])
}

/// The span of attempt `attempt` (1-based) of `step`.
pub fn step_span_id(run: &RunId, step: &StepId, attempt: u32) -> SpanId {
    span_id(run, &["step", step.as_str(), &attempt.to_string()])
}

/// The span of model call `call` (1-based, as journaled in `ModelCalled.call`) of `step`.
pub fn call_span_id(run: &RunId, step: &StepId, call: u32) -> SpanId {
    span_id(run, &["call", step.as_str(), &call.to_string()])
}

/// The span of element `element` (0-based) of `for_each` step `step`.
pub fn element_span_id(run: &RunId, step: &StepId, element: u32) -> SpanId {
    span_id(run, &["element", step.as_str(), &element.to_string()])
}

/// The span of gate step `step` (its evaluation, and the wait for a decision if it opened).
pub fn gate_span_id(run: &RunId, step: &StepId, gate: Option<&GateId>) -> SpanId {
    match gate {
        Some(gate) => span_id(run, &["gate", step.as_str(), &gate.to_string()]),
        None => span_id(run, &["gate", step.as_str()]),
    }
}

/// The first 8 bytes of SHA-256 over the run id and `parts` (each NUL-terminated), never
/// the invalid all-zero id.
fn span_id(run: &RunId, parts: &[&str]) -> SpanId {
    let mut hasher = Sha256::new();
    hasher.update(run.ulid().to_bytes());
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let digest = hasher.finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    if bytes == [0; 8] {
        bytes[7] = 1;
    }
    SpanId::from_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        let run: RunId = "run_01JD0000000000000000000000".parse().unwrap();
        let step: StepId = "draft".parse().unwrap();
        assert_eq!(trace_id(&run).to_bytes(), run.ulid().to_bytes());
        assert_eq!(step_span_id(&run, &step, 1), step_span_id(&run, &step, 1));
        let ids = [
            root_span_id(&run),
            step_span_id(&run, &step, 1),
            step_span_id(&run, &step, 2),
            call_span_id(&run, &step, 1),
            element_span_id(&run, &step, 0),
            element_span_id(&run, &step, 1),
            gate_span_id(&run, &step, None),
        ];
        for (i, a) in ids.iter().enumerate() {
            assert_ne!(*a, SpanId::INVALID);
            for b in &ids[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}
