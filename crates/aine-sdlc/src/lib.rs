//! The SDLC pack's deterministic builtin steps for the requirements workflow:
//!
//! - `sources.ingest` ([`ingest`]): stakeholder inputs (plain text, Markdown, e-mail, JSON or
//!   `Speaker: text` meeting transcripts, WebVTT/SRT captions) to sentences, each with a source
//!   ref pointing at its bytes in the original file; streams, so large transcripts stay within
//!   bounded memory.
//! - `requirements.detect` ([`detect`]): candidate requirement sentences, chosen by a logistic
//!   regression over all-MiniLM-L6-v2 sentence embeddings when that model is pulled, else by
//!   modal, desire and constraint cues, with a confidence, a category (functional or a PROMISE
//!   NFR class) and a topic label; no generative model.
//! - `requirements.topics` ([`topics`]): the candidates grouped by topic, in time order: the
//!   elements of the `for_each` draft step, one model call each.
//! - `requirements.template` ([`template`]): requirements (only from sentences that already are
//!   clean statements) and quoted open questions, drafted deterministically from candidates
//!   (the draft step's fallback, per topic).
//! - `requirements.merge` ([`merge`]): the topics' drafts as one spec: ids across the spec,
//!   duplicates merged (by words, and by meaning with the sentence-embedding model when
//!   pulled), the later of two statements of one decision kept.
//! - `requirements.citations` ([`citations`]): the draft step's check builtin; a model's draft
//!   whose items cite refs that are not among the candidates (or cite nothing, or share no
//!   content word with what they cite) is a contract violation.
//! - `spec.lint` ([`check`]): the linter over a drafted spec.
//! - `spec.publish` ([`publish`]): `requirements.json` (+ its JSON Schema), `requirements.md`,
//!   Gherkin features and `trace.csv`.
//! - [`trace`]: traceability of a run's spec (items to source sentences, producing step, model
//!   attempts, gate decisions), read back from the run's journal for `aine trace`.
//!
//! The bundled requirements workflow, its prompt and contract are in `workflows/` and written
//! into a project by `aine init`.
//!
//! Invariants: no generative model calls, no network, no clock; the only I/O is reading the
//! listed sources, the embedding model's files (`requirements.detect` and `requirements.merge`,
//! when pulled) and writing the published spec.

pub mod answer;
pub mod check;
pub mod citations;
pub mod detect;
mod error;
pub mod ingest;
pub mod merge;
pub mod publish;
pub mod review;
pub mod template;
pub mod topics;
pub mod trace;

use aine_runtime::{BuiltinContext, BuiltinError, Registry, RegistryError};

pub use detect::{DetectInput, DetectOutput, DetectStats, Detector, DetectorChoice};
pub use error::{DetectError, IngestError};
pub use ingest::{FileSummary, Format, IngestInput, IngestOutput};

/// The bundled requirements workflow with its prompt and contract, as (path relative to a
/// project's `workflows/` directory, text); `aine init` writes them.
pub const BUNDLED_WORKFLOW_FILES: [(&str, &str); 3] = [
    (
        "requirements.workflow.yaml",
        include_str!("../workflows/requirements.workflow.yaml"),
    ),
    (
        "prompts/draft_topic.md.j2",
        include_str!("../workflows/prompts/draft_topic.md.j2"),
    ),
    (
        "schemas/topic_draft.schema.json",
        include_str!("../workflows/schemas/topic_draft.schema.json"),
    ),
];

/// Registers the SDLC pack's builtins into `registry`: `sources.ingest`,
/// `requirements.detect`, `requirements.topics`, `requirements.template`,
/// `requirements.citations` (a check builtin), `requirements.merge`, `spec.lint`,
/// `spec.publish`.
pub fn register(registry: &mut Registry) -> Result<(), RegistryError> {
    registry.register(
        "sources.ingest",
        "reads transcripts, notes, e-mails and captions into sentences with source refs",
        |input: IngestInput, ctx: &BuiltinContext| {
            let sources = input
                .sources
                .iter()
                .map(|given| Ok((given.clone(), ctx.resolve(given)?)))
                .collect::<Result<Vec<_>, BuiltinError>>()?;
            ingest::ingest_paths(&sources, Some(ctx.files.max_read_bytes()))
                .map_err(|e| BuiltinError::new(e.to_string()))
        },
    )?;
    registry.register(
        "requirements.detect",
        "finds candidate requirement sentences with a category, confidence and topic (sentence embeddings when pulled, else cues)",
        |input: DetectInput, _: &BuiltinContext| {
            detect::detect(&input).map_err(|e| BuiltinError::new(e.to_string()))
        },
    )?;
    registry.register(
        "requirements.topics",
        "groups candidates by topic, in time order, for one drafting call per topic (no model)",
        |input: topics::TopicsInput, _: &BuiltinContext| Ok(topics::topics(&input)),
    )?;
    registry.register(
        "requirements.merge",
        "merges the topics' drafts into one spec: ids, duplicates, the later decision kept",
        |input: merge::MergeInput, _: &BuiltinContext| {
            let meaning = merge::embed_predicates(&input);
            Ok(merge::merge(&input, meaning.as_deref()))
        },
    )?;
    registry.register(
        "requirements.template",
        "drafts EARS requirements and user stories from candidates without a model",
        |input: template::TemplateInput, _: &BuiltinContext| Ok(template::draft(&input)),
    )?;
    registry.register_check(
        "requirements.citations",
        "checks a drafted spec's citations: every item cites candidates it shares words with",
        |input: citations::CitationsInput, _: &BuiltinContext| Ok(citations::check(&input)),
    )?;
    registry.register(
        "spec.lint",
        "lints a drafted spec: EARS, ISO 29148 smells, QUS story checks, trace checks",
        |input: check::CheckInput, _: &BuiltinContext| Ok(check::check(&input)),
    )?;
    registry.register(
        "spec.publish",
        "writes requirements.json (+ schema), requirements.md, Gherkin features and trace.csv",
        publish::publish,
    )?;
    Ok(())
}

/// Fixtures the unit tests of several modules share.
#[cfg(test)]
pub(crate) mod test_support {
    use aine_spec::{Category, EarsPattern, Requirement};

    /// A functional, ubiquitous requirement citing `sources`.
    pub(crate) fn requirement(id: &str, text: &str, sources: &[&str]) -> Requirement {
        Requirement {
            id: id.to_owned(),
            text: text.to_owned(),
            pattern: EarsPattern::Ubiquitous,
            category: Category::Functional,
            sources: sources.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}
