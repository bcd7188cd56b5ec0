//! Telemetry in the CLI: the OpenTelemetry observer beside the progress bar while a run is
//! driven, and `aine metrics prometheus`.

use aine_runtime::{Config, Observer, Quiet, Runtime, Tee};
use aine_telemetry::TelemetryObserver;
use anyhow::Result;

use crate::exit;

/// Exports spans while it lives, when `[telemetry]` or the `OTEL_*` variables configure an
/// endpoint; flushes (at most [`aine_telemetry::SHUTDOWN_BOUND`]) when dropped.
pub(crate) struct Telemetry(Option<TelemetryObserver>);

impl Telemetry {
    /// Telemetry as configured. A broken setup is a warning, never a reason to stop a run.
    pub(crate) fn start(config: &Config) -> Self {
        match aine_telemetry::observer(&config.telemetry) {
            Ok(observer) => Self(observer),
            Err(e) => {
                eprintln!("warning: {e}; running without traces");
                Self(None)
            }
        }
    }

    /// `progress` and, when configured, telemetry.
    pub(crate) fn tee<'a>(&'a self, progress: &'a dyn Observer) -> Tee<'a> {
        Tee(progress, self.observer())
    }

    /// The telemetry observer, or one that ignores everything.
    pub(crate) fn observer(&self) -> &dyn Observer {
        match &self.0 {
            Some(observer) => observer,
            None => &Quiet,
        }
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(observer) = &self.0 {
            observer.shutdown(aine_telemetry::SHUTDOWN_BOUND);
            let stats = observer.stats();
            let lost = stats.failed() + stats.dropped();
            if lost > 0 {
                eprintln!(
                    "warning: {lost} trace spans could not be exported (is the OTLP collector up?)"
                );
            }
        }
    }
}

/// `aine metrics prometheus`: the Prometheus text of runs created at or after `since_ms`.
pub(crate) async fn prometheus(rt: &Runtime, since_ms: i64) -> Result<u8> {
    let runs = rt.store().journals_since(since_ms).await?;
    out!("{}", aine_telemetry::prometheus::render(&runs, None));
    Ok(exit::OK)
}
