//! The spec page's data: the run's spec (requirements in EARS form, user stories with their
//! acceptance criteria, open questions, lint findings), every item's trace links
//! ([`aine_sdlc::trace`], read back from the journal, never from files a person could have
//! changed), and the transcripts the cited sentences come from.
//!
//! Only assembly for display: what the spec is and what it traces to is decided by
//! `aine_sdlc::trace` (the same function behind `aine trace`).

use std::collections::{BTreeMap, BTreeSet};

use aine_runtime::Runtime;
use aine_sdlc::publish::PublishInput;
use aine_sdlc::trace::{SpecTrace, TraceError};
use aine_spec::{Draft, Sentence};
use aine_types::RunId;
use serde::Serialize;

use crate::error::{ApiError, ApiResult};

/// Everything the spec page shows.
#[derive(Debug, Clone, Serialize)]
pub struct SpecPage {
    /// Items with their trace links, decisions and findings.
    pub trace: SpecTrace,
    /// The spec itself (EARS pattern and category of each requirement, stories' acceptance
    /// criteria).
    pub draft: Draft,
    /// Every input file's sentences, in order, each with the items citing it.
    pub transcripts: Vec<Transcript>,
    /// The files written by `spec.publish` (path, SHA-256), once published.
    pub files: serde_json::Value,
}

/// One input file as its sentences.
#[derive(Debug, Clone, Serialize)]
pub struct Transcript {
    pub file: String,
    pub sentences: Vec<TranscriptSentence>,
}

/// A sentence of a transcript.
#[derive(Debug, Clone, Serialize)]
pub struct TranscriptSentence {
    /// The source ref id, e.g. `ES2002a#41` (the HTML anchor of the sentence).
    pub id: String,
    pub speaker: Option<String>,
    pub text: String,
    /// Ids of the spec items citing this sentence; empty for sentences no item cites.
    pub cited_by: Vec<String>,
}

/// The spec page of `run`.
///
/// Errors: `404` for an unknown run or a run that has no spec (yet).
pub async fn spec_page(runtime: &Runtime, run: &RunId) -> ApiResult<SpecPage> {
    let inspected = runtime.inspect(run).await?;
    let trace = aine_sdlc::trace::trace(&inspected).map_err(|e| match e {
        TraceError::NoPublishStep { .. } | TraceError::NotDrafted { .. } => {
            ApiError::NotFound(e.to_string())
        }
        other => ApiError::Internal(other.to_string()),
    })?;
    // The same rendering `trace` read the spec from: the publish step's input.
    let input: PublishInput = inspected
        .workflow
        .render_with(&trace.publish_step, &inspected.context)
        .ok()
        .and_then(|v| serde_json::from_value(v).ok())
        .ok_or_else(|| ApiError::NotFound(format!("run {run} has no spec yet")))?;
    let files = inspected
        .view
        .steps
        .iter()
        .find(|s| s.id == trace.publish_step)
        .and_then(|s| s.output.as_ref())
        .and_then(|o| o.get("files").cloned())
        .unwrap_or(serde_json::Value::Null);
    let transcripts = transcripts(&input.sentences, &trace);
    Ok(SpecPage {
        trace,
        draft: input.draft,
        transcripts,
        files,
    })
}

/// Groups sentences by file (in order of first appearance) and marks the cited ones.
fn transcripts(sentences: &[Sentence], trace: &SpecTrace) -> Vec<Transcript> {
    let mut cited: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for item in &trace.items {
        for source in &item.sources {
            cited
                .entry(source.id.as_str())
                .or_default()
                .insert(item.id.as_str());
        }
    }
    let mut out: Vec<Transcript> = Vec::new();
    for s in sentences {
        let sentence = TranscriptSentence {
            id: s.source.id.clone(),
            speaker: s.source.speaker.clone(),
            text: s.text.clone(),
            cited_by: cited
                .get(s.source.id.as_str())
                .map(|items| items.iter().map(|i| (*i).to_owned()).collect())
                .unwrap_or_default(),
        };
        match out.iter_mut().find(|t| t.file == s.source.file) {
            Some(t) => t.sentences.push(sentence),
            None => out.push(Transcript {
                file: s.source.file.clone(),
                sentences: vec![sentence],
            }),
        }
    }
    out
}
