//! Traceability of a requirements run: for every spec item (requirement, user story, open
//! question), the source sentences it cites with their text, the step and model attempts that
//! produced it, the gate decisions made on it and the lint findings about it.
//!
//! Everything is read back from the run's journal (through [`aine_runtime::Runtime::inspect`]),
//! never from the published files, which a person could have changed: the spec is what the run's
//! `spec.publish` step was given, re-rendered from the step's `with` exactly as the runtime
//! rendered it. Before the run reaches that step (e.g. while it waits at its review gate) the same
//! rendering shows what *would* be published, and [`SpecTrace::published`] is `false`.
//!
//! Pure: no I/O, no clock.

use std::collections::{BTreeMap, HashMap};

use aine_runtime::{CallView, GateView, Inspected, StepView};
use aine_spec::{Draft, Sentence, SourceRef};
use aine_types::{ChangeKind, GateId, PersonId, RunId, StepId};
use aine_workflow::StepKind;
use serde::Serialize;
use serde_json::Value;

use crate::publish::{PublishInput, PublishedFinding};

/// The builtin whose input is the spec of a run.
const PUBLISH_BUILTIN: &str = "spec.publish";

/// Why a run cannot be traced.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error(
        "run {run} (workflow `{workflow}`) has no `spec.publish` step, so it produces no spec to trace; trace a run of the requirements workflow"
    )]
    NoPublishStep { run: RunId, workflow: String },
    #[error(
        "run {run} has no spec yet: step `{step}` cannot be rendered ({message}); the run has not drafted its spec (see `aine show {run}`)"
    )]
    NotDrafted {
        run: RunId,
        step: StepId,
        message: String,
    },
    #[error("run {run}: the input of step `{step}` is not a spec: {message}")]
    BadSpec {
        run: RunId,
        step: StepId,
        message: String,
    },
    #[error(
        "run {run} has no spec item `{item}`; its items are {known} (see `aine trace --matrix --run {run}`)"
    )]
    UnknownItem {
        run: RunId,
        item: String,
        known: String,
    },
    /// A reviewer took the item out at a gate; `detail` says how, where, by whom and why.
    #[error("run {run}: {item} is not in the spec: {detail}")]
    Removed {
        run: RunId,
        item: String,
        detail: String,
    },
}

/// The traceability matrix of one run's spec.
#[derive(Debug, Clone, Serialize)]
pub struct SpecTrace {
    pub run: RunId,
    pub workflow: String,
    /// Whether the run's `spec.publish` step has finished `ok`.
    pub published: bool,
    /// The step that publishes the spec.
    pub publish_step: StepId,
    /// Who approved the spec at its review gate, if a person did.
    pub approved_by: Option<String>,
    pub items: Vec<ItemTrace>,
    /// Items a reviewer removed (rejected, or moved to the open questions) at a gate, with that
    /// decision; they are not in the spec.
    pub removed: Vec<RemovedItem>,
}

/// An item a reviewer took out of the spec.
#[derive(Debug, Clone, Serialize)]
pub struct RemovedItem {
    pub id: String,
    pub decision: ItemDecision,
}

/// One spec item and everything it traces to.
#[derive(Debug, Clone, Serialize)]
pub struct ItemTrace {
    /// `REQ-001`, `US-001`, `Q-001`, ...
    pub id: String,
    /// `requirement`, `user_story` or `open_question`.
    pub kind: &'static str,
    /// The item's text as it is in the spec.
    pub text: String,
    /// The cited source refs, in the item's order; `sentence` is `None` for a ref the run's
    /// sources do not contain (a broken trace link).
    pub sources: Vec<TracedSource>,
    /// Where the item came from.
    pub produced_by: Producer,
    /// Gate decisions on the step that produced the item, in journal order.
    pub decisions: Vec<ItemDecision>,
    /// Lint findings about this item.
    pub findings: Vec<PublishedFinding>,
}

/// A cited source ref and the sentence behind it.
#[derive(Debug, Clone, Serialize)]
pub struct TracedSource {
    /// The ref id as the item cites it.
    pub id: String,
    /// The sentence's position in its source, `None` when the ref does not exist.
    pub source: Option<SourceRef>,
    /// The sentence's text (transcript markers removed), `None` when the ref does not exist.
    pub text: Option<String>,
}

/// The step (and model attempts) an item came from.
#[derive(Debug, Clone, Serialize)]
pub struct Producer {
    /// The step whose output first holds the item; `None` when a person added the item in an
    /// `edit` at a gate (see [`ItemDecision::change`]). For an item a `for_each` step wrote
    /// (one topic's draft, merged later), that step, with the element in `element`.
    pub step: Option<StepId>,
    /// The `for_each` element (0-based) whose output holds the item's text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub element: Option<u32>,
    /// `model`, `builtin NAME`.
    pub kind: Option<String>,
    /// Why the step (or its element) produced what it did (e.g. the model that answered, or the
    /// fallback).
    pub why: Option<String>,
    /// The step's (or its element's) model attempts, with model, reason, result, tokens, USD
    /// and latency.
    pub attempts: Vec<CallView>,
}

/// A gate decision as it concerns one item.
#[derive(Debug, Clone, Serialize)]
pub struct ItemDecision {
    pub gate: GateId,
    pub step: StepId,
    /// `approve`, `reject` or `edit`.
    pub decision: String,
    pub by: Option<PersonId>,
    pub reason: Option<String>,
    /// For an `edit`: what the reviewer did to this item (`accepted`, `rejected`, `edited`,
    /// `added`, `moved_to_questions`) when the edit was made item by item; else, compared with
    /// the reviewed output, `added`, `changed`, `removed` or `unchanged`.
    pub change: Option<&'static str>,
    /// The reviewer's reason for this item (item-by-item reviews only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_reason: Option<String>,
    /// For an item moved to the open questions: the question it became; for an open question a
    /// reviewer made from an item: that item.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub related: Option<String>,
}

impl ItemDecision {
    /// The decision of `gate` (at `step`) as it concerns one item.
    fn of(
        step: &StepView,
        gate: &GateView,
        change: Option<&'static str>,
        item_reason: Option<String>,
        related: Option<String>,
    ) -> Self {
        ItemDecision {
            gate: gate.gate,
            step: step.id.clone(),
            decision: gate.decision.clone().unwrap_or_default(),
            by: gate.decided_by.clone(),
            reason: gate.reason.clone(),
            change,
            item_reason,
            related,
        }
    }
}

/// One row of the flat matrix (`aine trace --matrix --csv`): an item and one source it cites.
#[derive(Debug, Clone, Serialize)]
pub struct MatrixRow<'a> {
    pub item: &'a str,
    pub kind: &'a str,
    pub source: &'a str,
    pub file: Option<&'a str>,
    pub speaker: Option<&'a str>,
    pub turn: Option<u32>,
    pub start: Option<u64>,
    pub end: Option<u64>,
    pub sentence: Option<&'a str>,
    pub step: Option<&'a str>,
    pub models: String,
    pub decisions: String,
}

impl SpecTrace {
    /// The item with this id (ids compare case-insensitively).
    pub fn item(&self, id: &str) -> Result<&ItemTrace, TraceError> {
        if let Some(item) = self.items.iter().find(|i| i.id.eq_ignore_ascii_case(id)) {
            return Ok(item);
        }
        if let Some(RemovedItem { id, decision: d }) =
            self.removed.iter().find(|r| r.id.eq_ignore_ascii_case(id))
        {
            let how = match (&d.related, d.change) {
                (Some(q), _) => format!("moved to the open questions (as {q})"),
                (None, Some(change)) => change.replace('_', " "),
                (None, None) => "removed".to_owned(),
            };
            return Err(TraceError::Removed {
                run: self.run,
                item: id.clone(),
                detail: format!(
                    "{how} at gate {} by {} ({})",
                    d.gate,
                    d.by.as_ref().map_or("system", PersonId::as_str),
                    d.item_reason.as_deref().unwrap_or("no reason given")
                ),
            });
        }
        Err(TraceError::UnknownItem {
            run: self.run,
            item: id.to_owned(),
            known: known_ids(&self.items),
        })
    }

    /// One row per (item, cited source); an item citing nothing gets one row with no source.
    pub fn rows(&self) -> Vec<MatrixRow<'_>> {
        let mut rows = Vec::new();
        for item in &self.items {
            let step = item.produced_by.step.as_ref().map(StepId::as_str);
            let models = item
                .produced_by
                .attempts
                .iter()
                .map(|a| format!("{} ({})", a.model, a.result))
                .collect::<Vec<_>>()
                .join("; ");
            let decisions = item
                .decisions
                .iter()
                .map(|d| {
                    let by = d.by.as_ref().map_or("system", PersonId::as_str);
                    match d.change {
                        Some(change) => format!("{} by {by} ({change})", d.decision),
                        None => format!("{} by {by}", d.decision),
                    }
                })
                .collect::<Vec<_>>()
                .join("; ");
            if item.sources.is_empty() {
                rows.push(matrix_row(item, None, step, &models, &decisions));
            }
            for s in &item.sources {
                rows.push(matrix_row(item, Some(s), step, &models, &decisions));
            }
        }
        rows
    }
}

fn matrix_row<'a>(
    item: &'a ItemTrace,
    source: Option<&'a TracedSource>,
    step: Option<&'a str>,
    models: &str,
    decisions: &str,
) -> MatrixRow<'a> {
    let at = source.and_then(|s| s.source.as_ref());
    MatrixRow {
        item: &item.id,
        kind: item.kind,
        source: source.map_or("", |s| s.id.as_str()),
        file: at.map(|r| r.file.as_str()),
        speaker: at.and_then(|r| r.speaker.as_deref()),
        turn: at.and_then(|r| r.turn),
        start: at.map(|r| r.start),
        end: at.map(|r| r.end),
        sentence: source.and_then(|s| s.text.as_deref()),
        step,
        models: models.to_owned(),
        decisions: decisions.to_owned(),
    }
}

/// The spec of a run as its `spec.publish` step is (or, before the run reaches it, would be)
/// given it: the draft after any gate edit, the source sentences, the lint findings. Also the
/// publish step's id.
///
/// Errors: the workflow has no `spec.publish` step; the step's input cannot be rendered yet (the
/// run has not drafted); it is not a spec.
pub fn spec_input(run: &Inspected) -> Result<(StepId, PublishInput), TraceError> {
    let id = run.view.run;
    let publish = run
        .workflow
        .steps
        .iter()
        .find(|s| matches!(&s.kind, StepKind::Builtin(b) if b.name == PUBLISH_BUILTIN))
        .ok_or_else(|| TraceError::NoPublishStep {
            run: id,
            workflow: run.workflow.name.clone(),
        })?;
    // Before the run's gates are decided their entries are missing from the context; render
    // as if they were still pending, so a waiting run shows what it would publish.
    let mut context = run.context.clone();
    if let Some(steps) = context.get_mut("steps").and_then(Value::as_object_mut) {
        for step in &run.workflow.steps {
            if matches!(step.kind, StepKind::Gate(_)) && !steps.contains_key(step.id.as_str()) {
                steps.insert(
                    step.id.to_string(),
                    serde_json::json!({ "outcome": "pending", "decided_by": null }),
                );
            }
        }
    }
    let input = run
        .workflow
        .render_with(&publish.id, &context)
        .map_err(|e| TraceError::NotDrafted {
            run: id,
            step: publish.id.clone(),
            message: e.to_string(),
        })?;
    let input: PublishInput = serde_json::from_value(input).map_err(|e| TraceError::BadSpec {
        run: id,
        step: publish.id.clone(),
        message: e.to_string(),
    })?;
    Ok((publish.id.clone(), input))
}

/// Traces every item of the spec of the run read back in `run`.
///
/// # Errors
/// [`TraceError::NoPublishStep`] for a workflow without `spec.publish`,
/// [`TraceError::NotDrafted`] when the run has not produced a draft yet, and
/// [`TraceError::BadSpec`] when the rendered input is not a spec.
pub fn trace(run: &Inspected) -> Result<SpecTrace, TraceError> {
    let id = run.view.run;
    let (publish, input) = spec_input(run)?;
    let published = run
        .view
        .steps
        .iter()
        .any(|s| s.id == publish && s.state == "ok");
    let sentences: HashMap<&str, &Sentence> = input
        .sentences
        .iter()
        .map(|s| (s.source.id.as_str(), s))
        .collect();

    let producers = Producers::new(&run.view.steps);
    let mut items = Vec::new();
    for (kind, item_id, text, sources) in items_of(&input.draft) {
        let sources = sources
            .iter()
            .map(|r| {
                let sentence = sentences.get(r.as_str());
                TracedSource {
                    id: r.clone(),
                    source: sentence.map(|s| s.source.clone()),
                    text: sentence.map(|s| s.text.clone()),
                }
            })
            .collect();
        let findings = input
            .findings
            .iter()
            .filter(|f| f.item.as_deref() == Some(item_id))
            .cloned()
            .collect();
        items.push(ItemTrace {
            id: item_id.to_owned(),
            kind,
            text: text.to_owned(),
            sources,
            produced_by: producers.producer(item_id, text),
            decisions: producers.decisions(item_id),
            findings,
        });
    }
    Ok(SpecTrace {
        run: id,
        workflow: run.workflow.name.clone(),
        published,
        publish_step: publish,
        approved_by: input.approved_by.filter(|a| !a.is_empty()),
        removed: producers.removed(&items),
        items,
    })
}

/// Every item of a draft as (kind, id, text, cited refs).
fn items_of(draft: &Draft) -> Vec<(&'static str, &str, &str, &[String])> {
    let requirements = draft.requirements.iter().map(|r| {
        (
            "requirement",
            r.id.as_str(),
            r.text.as_str(),
            &r.sources[..],
        )
    });
    let stories = draft
        .user_stories
        .iter()
        .map(|s| ("user_story", s.id.as_str(), s.text.as_str(), &s.sources[..]));
    let questions = draft.open_questions.iter().map(|q| {
        (
            "open_question",
            q.id.as_str(),
            q.text.as_str(),
            &q.sources[..],
        )
    });
    requirements.chain(stories).chain(questions).collect()
}

/// Items (by id) in each step's output, and the gates that review each step.
struct Producers<'a> {
    steps: &'a [StepView],
    /// Per step index: item id -> the item's JSON as that step output it.
    items: Vec<BTreeMap<String, &'a Value>>,
}

impl<'a> Producers<'a> {
    fn new(steps: &'a [StepView]) -> Self {
        let items = steps
            .iter()
            .map(|s| s.output.as_ref().map(item_map).unwrap_or_default())
            .collect();
        Self { steps, items }
    }

    /// The first non-gate step whose output holds `item`.
    fn holder(&self, item: &str) -> Option<&'a StepView> {
        self.steps
            .iter()
            .zip(&self.items)
            .find(|(s, items)| s.gate.is_none() && items.contains_key(item))
            .map(|(s, _)| s)
    }

    /// Where `item` (with `text`) came from: the element of an earlier `for_each` step whose
    /// output holds an item with the same text as the first step holding the id wrote it
    /// (ids are per element there; a later edit may have changed the text), else that step.
    fn producer(&self, item: &str, text: &str) -> Producer {
        let holder = self.holder(item);
        let at = holder.and_then(|h| self.steps.iter().position(|s| s.id == h.id));
        let until = at.unwrap_or(self.steps.len());
        let text = at
            .and_then(|i| self.items.get(i))
            .and_then(|items| items.get(item))
            .and_then(|i| i.get("text"))
            .and_then(Value::as_str)
            .unwrap_or(text);
        for step in &self.steps[..until] {
            let Some(Value::Array(elements)) = &step.output else {
                continue;
            };
            let found = elements.iter().position(|output| {
                item_map(output)
                    .values()
                    .any(|i| i.get("text").and_then(Value::as_str) == Some(text))
            });
            if let Some(index) = found.and_then(|i| u32::try_from(i).ok()) {
                return Producer {
                    step: Some(step.id.clone()),
                    element: Some(index),
                    kind: Some(step.kind.clone()),
                    why: step
                        .elements
                        .iter()
                        .find(|e| e.element == index)
                        .map(|e| e.why.clone()),
                    attempts: step
                        .calls
                        .iter()
                        .filter(|c| c.element == Some(index))
                        .cloned()
                        .collect(),
                };
            }
        }
        match holder {
            Some(step) => Producer {
                step: Some(step.id.clone()),
                element: None,
                kind: Some(step.kind.clone()),
                why: step.why.clone(),
                attempts: step.calls.clone(),
            },
            None => Producer {
                step: None,
                element: None,
                kind: None,
                why: Some("added by a person in an edit at a gate".to_owned()),
                attempts: Vec::new(),
            },
        }
    }

    /// Decisions of gates that review the step holding `item` (or, for an item nobody's step
    /// produced, every edit that introduced it).
    /// Items a reviewer rejected or moved to the open questions that are not in `items`, each
    /// with its decision.
    fn removed(&self, items: &[ItemTrace]) -> Vec<RemovedItem> {
        let mut out: Vec<RemovedItem> = Vec::new();
        for step in self.steps {
            let Some(gate) = &step.gate else { continue };
            for c in &gate.changes {
                let gone = matches!(
                    c.change,
                    ChangeKind::Rejected | ChangeKind::MovedToQuestions
                );
                if gone && !items.iter().any(|i| i.id == c.item) {
                    out.retain(|r| r.id != c.item);
                    out.push(RemovedItem {
                        id: c.item.clone(),
                        decision: ItemDecision::of(
                            step,
                            gate,
                            Some(c.change.as_str()),
                            c.reason.clone(),
                            c.became.clone(),
                        ),
                    });
                }
            }
        }
        out
    }

    fn decisions(&self, item: &str) -> Vec<ItemDecision> {
        let producer = self.holder(item).map(|s| s.id.clone());
        let mut out = Vec::new();
        for step in self.steps {
            let Some(gate) = &step.gate else { continue };
            let Some(decision) = &gate.decision else {
                continue;
            };
            let reviewed = gate.reviews.as_ref();
            let before = reviewed
                .and_then(|r| self.steps.iter().position(|s| &s.id == r))
                .and_then(|i| self.items.get(i))
                .and_then(|items| items.get(item).copied());
            let concerns = producer.is_some() && reviewed == producer.as_ref();
            let explicit = gate
                .changes
                .iter()
                .find(|c| c.item == item || c.became.as_deref() == Some(item));
            if let Some(c) = explicit {
                let made_here = c.became.as_deref() == Some(item);
                out.push(if made_here {
                    ItemDecision::of(
                        step,
                        gate,
                        Some("added"),
                        c.reason.clone(),
                        Some(c.item.clone()),
                    )
                } else {
                    ItemDecision::of(
                        step,
                        gate,
                        Some(c.change.as_str()),
                        c.reason.clone(),
                        c.became.clone(),
                    )
                });
                continue;
            }
            let change = match (decision.as_str(), &gate.edit) {
                ("edit", Some(edited)) => {
                    let after = item_map(edited).get(item).copied();
                    match (before, after) {
                        (None, Some(_)) => Some("added"),
                        (Some(_), None) => Some("removed"),
                        (Some(b), Some(a)) if a != b => Some("changed"),
                        (Some(_), Some(_)) => Some("unchanged"),
                        (None, None) => None,
                    }
                }
                _ => None,
            };
            if concerns || change.is_some() {
                out.push(ItemDecision::of(step, gate, change, None, None));
            }
        }
        out
    }
}

/// Items of a draft-shaped JSON value by id. An item without an id (a topic's answer may leave
/// requirements' ids out) has its position's, as [`crate::answer::TopicAnswer::into_draft`]
/// numbers it (`REQ-001` for the first).
fn item_map(output: &Value) -> BTreeMap<String, &Value> {
    [
        ("requirements", "REQ"),
        ("user_stories", "US"),
        ("open_questions", "Q"),
    ]
    .iter()
    .filter_map(|(k, prefix)| Some((output.get(k)?.as_array()?, prefix)))
    .flat_map(|(items, prefix)| {
        items.iter().enumerate().map(move |(i, item)| {
            let id = item
                .get("id")
                .and_then(Value::as_str)
                .map_or_else(|| format!("{prefix}-{:03}", i + 1), str::to_owned);
            (id, item)
        })
    })
    .collect()
}

fn known_ids(items: &[ItemTrace]) -> String {
    const SHOWN: usize = 8;
    if items.is_empty() {
        return "none".to_owned();
    }
    let mut ids: Vec<&str> = items.iter().take(SHOWN).map(|i| i.id.as_str()).collect();
    if items.len() > SHOWN {
        ids.push("...");
    }
    ids.join(", ")
}
