//! Drives aine runs: folds a run's journal into [`aine_engine::RunState`], performs the
//! engine's actions (builtin steps, gate conditions, gate openings), and journals every result
//! through [`aine_store::Store`] before acting on it.
//!
//! Invariants: no SQL here (only `aine-store` has it); the clock is read only through
//! [`Clock`]; a step's failure is an outcome, never an `Err`.

pub mod audit;
mod builtin;
mod clock;
pub mod config;
mod core_builtins;
mod error;
pub mod files;
mod inputs;
mod journal;
mod ledger;
pub mod metrics;
mod model_step;
mod models;
mod observer;
mod packing;
pub mod redact;
mod runtime;
#[cfg(feature = "test-util")]
pub mod testing;
mod view;

pub use builtin::{
    Builtin, BuiltinContext, BuiltinError, CheckOutput, PATH_KEYWORD, Registry, RegistryError,
    StepCatalog,
};
pub use clock::{Clock, SystemClock};
pub use config::Config;
pub use error::{Error, Result};
pub use files::{FileAccess, PathError};
pub use inputs::parse_inputs;
pub use model_step::DEFAULT_MAX_OUTPUT_TOKENS;
pub use models::{
    LOCAL_MODEL, LOCAL_MODELS, ModelBuilder, ModelEntry, Models, configured as configured_models,
    local_model_cache_path,
};
pub use redact::Redactor;
pub use runtime::{
    AuditStatus, GateDetail, GateItem, Inspected, Observer, Quiet, RunItem, RunSummary, Runtime,
    Started, Tee, Waiting, plan, template_context,
};
pub use view::{CallView, ElementView, GateView, RunView, StepView, run_view};

/// The text of a panic's payload (`panic!("...")` gives a `&str` or a `String`), for reporting a
/// panic that was caught (a step's, or a request handler's in the server).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// A registry with the core builtins (`core.echo`, `file.append`, `time.sleep`).
pub fn core_registry() -> Result<Registry> {
    let mut registry = Registry::new();
    core_builtins::register(&mut registry)?;
    Ok(registry)
}
