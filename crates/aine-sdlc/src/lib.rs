//! The SDLC pack's deterministic builtin steps for the requirements workflow:
//!
//! - `sources.ingest` ([`ingest`]): stakeholder inputs (plain text, Markdown, e-mail, JSON or
//!   `Speaker: text` meeting transcripts, WebVTT/SRT captions) to sentences, each with a source
//!   ref pointing at its bytes in the original file; streams, so large transcripts stay within
//!   bounded memory.
//! - `requirements.detect` ([`detect`]): candidate requirement sentences from modal, desire and
//!   constraint cues, with a confidence, a category (functional or a PROMISE NFR class) and a
//!   topic label; no model.
//!
//! Invariants: no model calls, no network, no clock; the only I/O is reading the listed sources.

pub mod detect;
mod error;
pub mod ingest;

use aine_runtime::{BuiltinContext, BuiltinError, Registry, RegistryError};

pub use detect::{DetectInput, DetectOutput, DetectStats};
pub use error::{DetectError, IngestError};
pub use ingest::{FileSummary, Format, IngestInput, IngestOutput};

/// Registers `sources.ingest` and `requirements.detect` into `registry`.
pub fn register(registry: &mut Registry) -> Result<(), RegistryError> {
    registry.register(
        "sources.ingest",
        "reads transcripts, notes, e-mails and captions into sentences with source refs",
        |input: IngestInput, ctx: &BuiltinContext| {
            ingest::ingest(&ctx.base_dir, &input.sources)
                .map_err(|e| BuiltinError::new(e.to_string()))
        },
    )?;
    registry.register(
        "requirements.detect",
        "finds candidate requirement sentences with a category, confidence and topic (no model)",
        |input: DetectInput, _: &BuiltinContext| {
            detect::detect(&input).map_err(|e| BuiltinError::new(e.to_string()))
        },
    )?;
    Ok(())
}
