//! The local GGUF provider: a model file run in process by llama.cpp behind
//! [`aine_models::ChatModel`].
//!
//! - [`LocalModel`] loads a GGUF file once (about 0.5 s and 0.4-0.6 GB for gemma-3-270m),
//!   is shared behind an `Arc`, and serves concurrent requests from one decode thread that
//!   batches them as parallel sequences of one llama.cpp context.
//! - An output JSON Schema becomes a grammar ([`grammar::from_schema`]), so every answer is
//!   valid JSON for the schema up to the token limit; sampling checks the model's own top token
//!   against the grammar before masking the whole vocabulary (see `sampling`).
//! - Conversations are rendered as a few-shot transcript for a *base* model (see `prompt`).
//! - [`pull`] fetches and verifies model files from the [`catalog`] into the user cache.
//!
//! Provider name (OpenTelemetry `gen_ai.provider.name`): `llama.cpp`.

pub mod catalog;
pub mod grammar;
mod model;
mod prompt;
pub mod pull;
mod sampling;
mod worker;

pub use catalog::{CATALOG, CatalogEntry};
pub use model::{FinishReason, Generation, LoadError, LocalModel, LocalOptions, Timings};
pub use pull::{PullError, cache_dir, pull, verify};
