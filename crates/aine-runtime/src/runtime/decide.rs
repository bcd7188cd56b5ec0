//! Recording a person's decision at a gate.

use aine_store::GateStatus;
use aine_types::{Decision, Event, GateId, PersonId, RunId, StepId};
use aine_workflow::{Autonomy, Contract, StepKind, Workflow};

use super::{Loaded, Observer, Quiet, Runtime};
use crate::error::{Error, Result};

impl Runtime {
    /// The gate's record while it is open.
    ///
    /// Errors: [`Error::GateNotOpen`] saying who decided it (as a decision would be refused),
    /// or the store's error for an unknown gate.
    pub async fn open_gate(&self, gate: &GateId) -> Result<aine_store::GateRecord> {
        let record = self.store.gate(gate).await?;
        if record.status != GateStatus::Open {
            return Err(Error::GateNotOpen {
                gate: *gate,
                detail: match (&record.decided_by, &record.decision) {
                    (Some(by), Some(d)) => format!("already decided: {d} by {by}"),
                    _ => "already decided".to_owned(),
                },
            });
        }
        Ok(record)
    }

    /// Records a person's decision on an open gate. On success the run can be driven on.
    ///
    /// Errors: the person is not configured, is not the gate's owner (nor an admin), the gate
    /// is not open, or an edit breaks the reviewed step's output contract.
    pub async fn decide(
        &self,
        gate: &GateId,
        person: &PersonId,
        decision: Decision,
        reason: &str,
    ) -> Result<RunId> {
        self.decide_observed(gate, person, decision, reason, &Quiet)
            .await
    }

    /// [`Runtime::decide`], telling `observer` about the journaled decision (telemetry ends
    /// the gate's span with it).
    ///
    /// When another writer appended to the run between this reading its journal and appending
    /// the decision: [`Error::GateNotOpen`] saying who decided the gate, or the store's
    /// conflict when the gate is still open.
    pub async fn decide_observed(
        &self,
        gate: &GateId,
        person: &PersonId,
        decision: Decision,
        reason: &str,
        observer: &dyn Observer,
    ) -> Result<RunId> {
        if !self.config.people.contains_key(person) {
            return Err(Error::UnknownPerson {
                person: person.clone(),
                known: self.config.people.keys().cloned().collect(),
            });
        }
        let record = self.open_gate(gate).await?;
        if !self.config.may_decide_for(person, &record.owner_role) {
            let people = self.config.people_in(&record.owner_role).to_vec();
            return Err(Error::NotOwner {
                person: person.clone(),
                gate: *gate,
                role: record.owner_role.clone(),
                people,
            });
        }
        let Loaded {
            workflow,
            mut state,
            mut next_seq,
        } = self.load(&record.run).await?;
        if workflow.gate_autonomy(&record.step) == Some(Autonomy::Suggest)
            && matches!(decision, Decision::Approve)
        {
            return Err(Error::EditRequired {
                gate: *gate,
                step: record.step.clone(),
            });
        }
        if let Decision::Edit { output, .. } = &decision {
            let reviewed =
                reviewed_step(&workflow, &record.step).ok_or_else(|| Error::EditNotAllowed {
                    gate: *gate,
                    step: record.step.clone(),
                })?;
            if let Some(contract) = self.output_contract(&workflow, &reviewed) {
                contract
                    .validate(output)
                    .map_err(|errors| Error::EditBreaksContract {
                        step: reviewed.clone(),
                        errors,
                    })?;
            }
        }
        let event = Event::GateDecided {
            step: record.step.clone(),
            gate: *gate,
            decision,
            by: person.clone(),
            reason: reason.to_owned(),
        };
        let mut journal = self.journal(record.run, &workflow, observer, &mut next_seq);
        journal.record(&mut state, event)?;
        match journal.flush().await {
            // Another writer appended since the journal was read. A decision on this gate
            // closed it: say whose. Anything else (today's engine appends nothing else while a
            // run waits at a gate) stays the store's conflict, which says to reload and retry.
            Err(conflict @ Error::Store(aine_store::Error::Conflict { .. })) => {
                self.open_gate(gate).await?;
                Err(conflict)
            }
            other => other.map(|()| record.run),
        }
    }

    /// The output contract of a builtin or model step.
    fn output_contract<'a>(
        &'a self,
        workflow: &'a Workflow,
        step: &StepId,
    ) -> Option<&'a Contract> {
        match &workflow.step(step)?.kind {
            StepKind::Builtin(b) => self.registry.get(&b.name).map(|b| b.output()),
            StepKind::Model(m) => Some(&m.output),
            StepKind::Gate(_) => None,
        }
    }
}

fn reviewed_step(workflow: &Workflow, gate_step: &StepId) -> Option<StepId> {
    match &workflow.step(gate_step)?.kind {
        StepKind::Gate(g) => g.reviews.clone(),
        _ => None,
    }
}
