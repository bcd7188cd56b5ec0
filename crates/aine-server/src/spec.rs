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
    /// Each cited sentence by its ref id: its text, speaker and which transcript page (1-based
    /// index into `transcripts`) shows it.
    pub quotes: BTreeMap<String, Quote>,
    /// The input files, each with its page (`/runs/RUN/sources/N`).
    pub transcripts: Vec<TranscriptLink>,
    /// The files written by `spec.publish` (path, SHA-256), once published.
    pub files: serde_json::Value,
}

/// A cited sentence as the spec page quotes it.
#[derive(Debug, Clone, Serialize)]
pub struct Quote {
    pub text: String,
    pub speaker: Option<String>,
    /// 1-based index of the transcript page showing it.
    pub transcript: usize,
}

/// An input file as the spec page lists it.
#[derive(Debug, Clone, Serialize)]
pub struct TranscriptLink {
    /// 1-based.
    pub index: usize,
    pub file: String,
    pub sentences: usize,
    /// Sentences some item cites.
    pub cited: usize,
}

/// One input file as its sentences (the transcript page).
#[derive(Debug, Clone, Serialize)]
pub struct Transcript {
    pub run: RunId,
    /// 1-based.
    pub index: usize,
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

/// The spec of `run` (or, while its review gate is open, what would be published) and the
/// input it quotes.
async fn spec_of(
    runtime: &Runtime,
    run: &RunId,
) -> ApiResult<(SpecTrace, PublishInput, serde_json::Value)> {
    let inspected = runtime.inspect(run).await?;
    let not_found = |e: TraceError| match e {
        TraceError::NoPublishStep { .. } | TraceError::NotDrafted { .. } => {
            ApiError::NotFound(e.to_string())
        }
        other => ApiError::Internal(other.to_string()),
    };
    let trace = aine_sdlc::trace::trace(&inspected).map_err(not_found)?;
    let (_, input) = aine_sdlc::trace::spec_input(&inspected).map_err(not_found)?;
    let files = inspected
        .view
        .steps
        .iter()
        .find(|s| s.id == trace.publish_step)
        .and_then(|s| s.output.as_ref())
        .and_then(|o| o.get("files").cloned())
        .unwrap_or(serde_json::Value::Null);
    Ok((trace, input, files))
}

/// The input files in order of first appearance.
fn files_of(sentences: &[Sentence]) -> Vec<&str> {
    let mut files: Vec<&str> = Vec::new();
    for s in sentences {
        if !files.contains(&s.source.file.as_str()) {
            files.push(&s.source.file);
        }
    }
    files
}

/// Item ids citing each sentence.
fn citing(trace: &SpecTrace) -> BTreeMap<&str, BTreeSet<&str>> {
    let mut cited: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for item in &trace.items {
        for source in &item.sources {
            cited
                .entry(source.id.as_str())
                .or_default()
                .insert(item.id.as_str());
        }
    }
    cited
}

/// The spec page of `run`: the spec, available from the moment the run has drafted it.
///
/// Errors: `404` for an unknown run or a run that has no spec (yet).
pub async fn spec_page(runtime: &Runtime, run: &RunId) -> ApiResult<SpecPage> {
    let (trace, input, files) = spec_of(runtime, run).await?;
    let cited = citing(&trace);
    let names = files_of(&input.sentences);
    let quotes = input
        .sentences
        .iter()
        .filter(|s| cited.contains_key(s.source.id.as_str()))
        .map(|s| {
            let transcript = names
                .iter()
                .position(|f| *f == s.source.file)
                .map_or(1, |i| i + 1);
            (
                s.source.id.clone(),
                Quote {
                    text: s.text.clone(),
                    speaker: s.source.speaker.clone(),
                    transcript,
                },
            )
        })
        .collect();
    let transcripts = names
        .iter()
        .enumerate()
        .map(|(i, file)| {
            let of_file = input.sentences.iter().filter(|s| s.source.file == *file);
            TranscriptLink {
                index: i + 1,
                file: (*file).to_owned(),
                sentences: of_file.clone().count(),
                cited: of_file
                    .filter(|s| cited.contains_key(s.source.id.as_str()))
                    .count(),
            }
        })
        .collect();
    Ok(SpecPage {
        trace,
        draft: input.draft,
        quotes,
        transcripts,
        files,
    })
}

/// The `index`-th (1-based) input file of `run`'s spec, every sentence with the items citing it.
///
/// Errors: `404` for an unknown run, a run without a spec, or no such file.
pub async fn transcript_page(
    runtime: &Runtime,
    run: &RunId,
    index: usize,
) -> ApiResult<Transcript> {
    let (trace, input, _) = spec_of(runtime, run).await?;
    let cited = citing(&trace);
    let names = files_of(&input.sentences);
    let file = index
        .checked_sub(1)
        .and_then(|i| names.get(i))
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "run {run} has {} source files; there is no source {index}",
                names.len()
            ))
        })?;
    let sentences = input
        .sentences
        .iter()
        .filter(|s| s.source.file == *file)
        .map(|s| TranscriptSentence {
            id: s.source.id.clone(),
            speaker: s.source.speaker.clone(),
            text: s.text.clone(),
            cited_by: cited
                .get(s.source.id.as_str())
                .map(|items| items.iter().map(|i| (*i).to_owned()).collect())
                .unwrap_or_default(),
        })
        .collect();
    Ok(Transcript {
        run: *run,
        index,
        file: (*file).to_owned(),
        sentences,
    })
}
