//! Telemetry for aine runs: a run's journal as OpenTelemetry GenAI spans exported over OTLP,
//! and Prometheus metrics computed from stored runs.
//!
//! - [`spans`]: journal entries to spans (`invoke_workflow {workflow}` → `step {step}` →
//!   `chat {model}`, and `gate {step}`), with deterministic ids ([`ids`]) so a resumed run
//!   continues its trace in any process.
//! - [`export`]: a bounded, non-blocking OTLP/HTTP pipeline that counts what it drops.
//! - [`TelemetryObserver`]: the runtime observer that ties the two together.
//! - [`prometheus::render`]: the Prometheus text exposition of runs, model calls and gates.
//!
//! Invariants: no SQL (it reads runs handed to it), no decisions about runs; exporting never
//! blocks a run or turns into a run's error.

pub mod export;
pub mod ids;
mod observer;
pub mod prometheus;
pub mod spans;

pub use export::{ExportStats, Exporter};
pub use observer::TelemetryObserver;

use std::time::Duration;

/// How long the CLI waits, at most, for queued spans to reach the collector when it exits.
pub const SHUTDOWN_BOUND: Duration = Duration::from_secs(2);

/// Why telemetry could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "cannot set up the OTLP exporter: {0}; check `[telemetry] otlp_endpoint` or OTEL_EXPORTER_OTLP_ENDPOINT"
    )]
    Exporter(String),
}

/// The OTLP endpoint to export to, if telemetry is on: the standard variables
/// (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_EXPORTER_OTLP_ENDPOINT`) or
/// `[telemetry] otlp_endpoint`. Off when none is set, when `OTEL_SDK_DISABLED=true`, or when
/// `OTEL_TRACES_EXPORTER=none`.
pub fn enabled(config: &aine_runtime::config::Telemetry) -> bool {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    if env("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        || env("OTEL_TRACES_EXPORTER").is_some_and(|v| v.trim().eq_ignore_ascii_case("none"))
    {
        return false;
    }
    config.otlp_endpoint.is_some()
        || env("OTEL_EXPORTER_OTLP_ENDPOINT").is_some()
        || env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some()
}

/// A [`TelemetryObserver`] exporting over OTLP/HTTP, when [`enabled`] says so; `None` otherwise.
///
/// Errors: see [`Exporter::otlp`].
pub fn observer(
    config: &aine_runtime::config::Telemetry,
) -> Result<Option<TelemetryObserver>, Error> {
    if !enabled(config) {
        return Ok(None);
    }
    let exporter = Exporter::otlp(config.otlp_endpoint.as_deref())?;
    Ok(Some(TelemetryObserver::new(
        exporter,
        config.capture_content,
    )))
}
