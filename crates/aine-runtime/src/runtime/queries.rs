//! Reading runs back: views, summaries, metrics.

use std::collections::BTreeMap;
use std::path::Path;

use aine_engine::{Action, RunState};
use aine_store::{GateRecord, GateStatus, RunFilter};
use aine_types::{RunId, RunStatus};
use aine_workflow::{StepKind, Workflow};
use serde::Serialize;

use super::{
    Inspected, RunSummary, Runtime, Waiting, fold, plan, started_sha256, template_context,
};
use crate::error::Result;

/// A run in a listing (`aine runs --json`, `GET /api/v1/runs`, the runs page): status, who
/// reviews it, spend and the waiting gate.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunItem {
    /// `run_<ULID>`.
    pub id: String,
    pub workflow: String,
    pub workflow_path: String,
    /// `running`, `waiting`, `succeeded`, `failed` or `rejected`.
    pub status: String,
    /// The roles owning the run's gates (who reviews it).
    pub owners: Vec<String>,
    /// The people holding those roles in aine.toml, or who decided one of its gates.
    pub people: Vec<String>,
    /// The open gate, for waiting runs.
    pub waiting_gate: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    /// Milliseconds since the Unix epoch.
    pub updated_at_ms: i64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// USD spent on model calls, as an exact decimal string.
    pub usd: String,
    /// Steps whose result no model gave cleanly: `draft: fallback`, `draft: unsure` (a run can
    /// succeed with them; a reviewer should know).
    pub degraded: Vec<String>,
}

/// A gate in a listing (`aine review list --json`, `GET /api/v1/gates`, the review queue).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GateItem {
    /// `gate_<ULID>`.
    pub id: String,
    pub run: String,
    /// The gate step's id.
    pub step: String,
    /// The role whose people (or an admin) may decide it.
    pub owner_role: String,
    /// The people holding that role.
    pub people: Vec<String>,
    /// `open` or `decided`.
    pub status: String,
    pub opened_at_ms: i64,
    pub decided_at_ms: Option<i64>,
    pub decided_by: Option<String>,
    /// `approve`, `reject` or `edit`.
    pub decision: Option<String>,
    pub reason: Option<String>,
}

/// A gate with the run it belongs to (`aine review show GATE --json`, `GET /api/v1/gates/GATE`).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GateDetail {
    pub gate: GateItem,
    /// The run's view ([`crate::RunView`]): the output under review is the output of the step
    /// the gate `reviews`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub run: crate::RunView,
}

/// The audit log's state (`aine audit verify --json`, `GET /api/v1/audit`, the audit page).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditStatus {
    /// The chain is intact (and, when files were checked, every published file is unchanged).
    pub ok: bool,
    /// Entries checked, the head hash, the first broken link (aine_store::AuditVerification).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub chain: aine_store::AuditVerification,
    /// Published files checked against their recorded SHA-256 (when asked for).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub files: Vec<crate::audit::FileCheck>,
}

impl Runtime {
    /// Verifies the audit chain and, with `files`, every published file against the SHA-256
    /// recorded when it was published.
    pub async fn audit_status(&self, files: bool) -> Result<AuditStatus> {
        let chain = self.store.verify_audit().await?;
        let files = if files {
            crate::audit::verify_files(&self.store, &self.config.project_dir).await?
        } else {
            Vec::new()
        };
        Ok(AuditStatus {
            ok: chain.broken.is_none() && files.iter().all(|f| f.unchanged()),
            chain,
            files,
        })
    }

    /// A gate as every front-end lists it, with the people holding its owner role.
    pub fn gate_item(&self, g: &GateRecord) -> GateItem {
        GateItem {
            id: g.id.to_string(),
            run: g.run.to_string(),
            step: g.step.to_string(),
            owner_role: g.owner_role.to_string(),
            people: self
                .config
                .people_in(&g.owner_role)
                .iter()
                .map(ToString::to_string)
                .collect(),
            status: g.status.as_str().to_owned(),
            opened_at_ms: g.opened_at_ms,
            decided_at_ms: g.decided_at_ms,
            decided_by: g.decided_by.as_ref().map(ToString::to_string),
            decision: g.decision.clone(),
            reason: g.reason.clone(),
        }
    }

    /// Gates oldest first: those with `status`, or all.
    pub async fn gate_items(&self, status: Option<GateStatus>) -> Result<Vec<GateItem>> {
        let gates = self.store.gates(status).await?;
        Ok(gates.iter().map(|g| self.gate_item(g)).collect())
    }

    /// One gate and the view of its run.
    pub async fn gate_detail(&self, gate: &aine_types::GateId) -> Result<GateDetail> {
        let record = self.store.gate(gate).await?;
        let run = self.view(&record.run).await?;
        Ok(GateDetail {
            gate: self.gate_item(&record),
            run,
        })
    }

    /// Runs newest first (at most `limit`, only those with `status` when given), each with who
    /// reviews it and what it spent: the one listing every front-end shows.
    pub async fn run_items(&self, status: Option<RunStatus>, limit: u32) -> Result<Vec<RunItem>> {
        let records = self
            .store
            .runs(&RunFilter {
                status,
                limit: Some(limit),
            })
            .await?;
        let ids: Vec<RunId> = records.iter().map(|r| r.id).collect();
        let spend = self.store.spend_by_run(&ids).await?;
        let mut degraded = self.store.degraded_steps(&ids).await?;
        let mut owners: BTreeMap<RunId, Vec<String>> = BTreeMap::new();
        let mut people: BTreeMap<RunId, Vec<String>> = BTreeMap::new();
        for gate in self.store.gates_of_runs(&ids).await? {
            let roles = owners.entry(gate.run).or_default();
            if !roles.iter().any(|r| r == gate.owner_role.as_str()) {
                roles.push(gate.owner_role.to_string());
            }
            let names = people.entry(gate.run).or_default();
            let holders = self.config.people_in(&gate.owner_role).iter();
            for p in gate.decided_by.iter().chain(holders) {
                if !names.iter().any(|n| n == p.as_str()) {
                    names.push(p.to_string());
                }
            }
        }
        Ok(records
            .into_iter()
            .map(|r| {
                let s = spend.get(&r.id).copied().unwrap_or_default();
                RunItem {
                    id: r.id.to_string(),
                    owners: owners.remove(&r.id).unwrap_or_default(),
                    people: people.remove(&r.id).unwrap_or_default(),
                    workflow: r.workflow,
                    workflow_path: r.workflow_path,
                    status: r.status.as_str().to_owned(),
                    waiting_gate: r.waiting_gate.map(|g| g.to_string()),
                    created_at_ms: r.created_at_ms,
                    updated_at_ms: r.updated_at_ms,
                    input_tokens: s.input_tokens,
                    output_tokens: s.output_tokens,
                    usd: s.usd.0.normalize().to_string(),
                    degraded: degraded
                        .remove(&r.id)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(step, outcome)| format!("{step}: {outcome}"))
                        .collect(),
                }
            })
            .collect())
    }

    /// The run as `aine show` presents it.
    pub async fn view(&self, run: &RunId) -> Result<crate::RunView> {
        let record = self.store.run(run).await?;
        let workflow = self.stored_workflow(run, &record.workflow_path).await?;
        let journal = self.store.journal(run).await?;
        Ok(crate::run_view(&record, &workflow, &journal))
    }

    /// The run's workflow (as stored when the run started), its view, and what its templates
    /// see now (see [`template_context`]), from one read of the journal. Used by traceability,
    /// which re-renders a step's `with` to learn exactly what the step was given.
    pub async fn inspect(&self, run: &RunId) -> Result<Inspected> {
        let record = self.store.run(run).await?;
        let workflow = self.stored_workflow(run, &record.workflow_path).await?;
        let journal = self.store.journal(run).await?;
        let view = crate::run_view(&record, &workflow, &journal);
        let state = fold(run, plan(&workflow), &journal)?;
        let context = template_context(run, &state);
        Ok(Inspected {
            workflow,
            view,
            context,
        })
    }

    /// Outcome metrics over the runs created at or after `since_ms` (milliseconds since the
    /// Unix epoch). An empty database gives empty metrics, not an error.
    pub async fn metrics(&self, since_ms: i64) -> Result<crate::metrics::Metrics> {
        let runs = self.store.journals_since(since_ms).await?;
        let mut publish_steps = std::collections::BTreeSet::new();
        let mut parsed = std::collections::BTreeSet::new();
        // Each version of a workflow file (path and SHA-256) is parsed once.
        for (record, journal) in &runs {
            if !parsed.insert((record.workflow_path.clone(), started_sha256(journal))) {
                continue;
            }
            let source = self.store.workflow_source(&record.id).await?;
            // A workflow whose prompt or schema files are gone cannot be parsed again; its
            // runs still count, but nothing in them counts as published.
            if let Ok(workflow) =
                aine_workflow::parse(Path::new(&record.workflow_path), &source, &self.catalog())
            {
                for step in &workflow.steps {
                    if matches!(&step.kind, StepKind::Builtin(b) if b.name == crate::audit::PUBLISH_BUILTIN)
                    {
                        publish_steps.insert((workflow.name.clone(), step.id.to_string()));
                    }
                }
            }
        }
        Ok(crate::metrics::compute(&runs, &|workflow, step| {
            publish_steps.contains(&(workflow.to_owned(), step.to_owned()))
        }))
    }

    /// Where `run` stands now, without driving it.
    pub async fn summary(&self, run: &RunId) -> Result<RunSummary> {
        let loaded = self.load(run).await?;
        Ok(self.summarize(run, &loaded.workflow, &loaded.state))
    }

    pub(super) fn summarize(
        &self,
        run: &RunId,
        workflow: &Workflow,
        state: &RunState,
    ) -> RunSummary {
        let waiting = state.next_actions().into_iter().find_map(|a| match a {
            Action::AwaitDecision { step, gate, owner } => {
                let why = match state.step(&step) {
                    Some(aine_engine::StepState::GateOpen { why, .. }) => why.clone(),
                    _ => String::new(),
                };
                Some(Waiting {
                    gate,
                    people: self.config.people_in(&owner).to_vec(),
                    role: owner,
                    step,
                    why,
                })
            }
            _ => None,
        });
        let why = match state.phase() {
            aine_engine::Phase::Finished { why, .. } => Some(why.clone()),
            _ => None,
        };
        RunSummary {
            run: *run,
            workflow: workflow.name.clone(),
            status: state.status().unwrap_or(RunStatus::Running),
            why,
            waiting,
        }
    }
}
