//! Telemetry for aine runs: a run's journal as OpenTelemetry GenAI spans exported over OTLP,
//! and Prometheus metrics computed from stored runs.
//!
//! - [`spans`]: journal entries to spans (`invoke_workflow {workflow}` → `step {step}` →
//!   `chat {model}`, and `gate {step}`), with deterministic ids ([`ids`]) so a resumed run
//!   continues its trace in any process.
//! - [`export`]: a bounded, non-blocking OTLP pipeline (HTTP/protobuf or gRPC) that counts what
//!   it drops.
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

use aine_runtime::config::OtlpProtocol;

/// How long the CLI waits, at most, for queued spans to reach the collector when it exits.
pub const SHUTDOWN_BOUND: Duration = Duration::from_secs(2);

/// Why telemetry could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "cannot set up the OTLP exporter: {0}; check `[telemetry] otlp_endpoint` and `protocol`, or OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_EXPORTER_OTLP_PROTOCOL"
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
    config.otlp_endpoint.is_some() || export::endpoint_from_env()
}

/// The OTLP transport: `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL`,
/// else `[telemetry] protocol`, else `http/protobuf`.
///
/// Errors: a variable names a protocol aine does not export (`http/json`, a typo).
pub fn protocol(config: &aine_runtime::config::Telemetry) -> Result<OtlpProtocol, Error> {
    for var in [
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
    ] {
        let Some(value) = std::env::var(var).ok().filter(|v| !v.trim().is_empty()) else {
            continue;
        };
        return match value.trim() {
            "http/protobuf" => Ok(OtlpProtocol::HttpProtobuf),
            "grpc" => Ok(OtlpProtocol::Grpc),
            other => Err(Error::Exporter(format!(
                "{var}={other} is not supported; use http/protobuf or grpc"
            ))),
        };
    }
    Ok(config.protocol.unwrap_or(OtlpProtocol::HttpProtobuf))
}

/// A [`TelemetryObserver`] exporting over OTLP ([`protocol`]), when [`enabled`] says so; `None`
/// otherwise.
///
/// Errors: see [`protocol`], [`Exporter::otlp`] and [`Exporter::otlp_grpc`].
pub fn observer(
    config: &aine_runtime::config::Telemetry,
) -> Result<Option<TelemetryObserver>, Error> {
    if !enabled(config) {
        return Ok(None);
    }
    let endpoint = config.otlp_endpoint.as_deref();
    let exporter = match protocol(config)? {
        OtlpProtocol::HttpProtobuf => Exporter::otlp(endpoint)?,
        OtlpProtocol::Grpc => Exporter::otlp_grpc(endpoint)?,
    };
    Ok(Some(TelemetryObserver::new(
        exporter,
        config.capture_content,
    )))
}
