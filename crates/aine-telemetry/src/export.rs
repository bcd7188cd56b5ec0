//! Getting spans out of the process without ever holding up a run.
//!
//! Spans go through the SDK's [`BatchSpanProcessor`] (its own thread, batching, the
//! `OTEL_BSP_*` variables) to the OTLP exporter, HTTP/protobuf or gRPC (`OTEL_EXPORTER_OTLP_*`
//! variables). In
//! front of it sits a bounded gate: a span is only handed over while fewer than
//! `max_queue_size` spans are queued or being exported; otherwise it is dropped and counted.
//! The SDK's processor drops on a full queue too, but keeps its count private; with the gate it
//! never reaches its own limit, and [`ExportStats`] counts every span's fate exactly.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SpanData, SpanExporter, SpanProcessor,
};

use crate::Error;

/// `OTEL_BSP_MAX_QUEUE_SIZE`'s default (OpenTelemetry SDK environment variables).
const DEFAULT_MAX_QUEUE: usize = 2048;

/// What became of the spans handed to an [`Exporter`]. All counts are since it was created.
#[derive(Debug, Default)]
pub struct ExportStats {
    exported: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
}

impl ExportStats {
    /// Spans the collector accepted.
    pub fn exported(&self) -> u64 {
        self.exported.load(Ordering::Relaxed)
    }
    /// Spans lost because an export failed (collector down, timed out, or refused them).
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }
    /// Spans dropped because the queue was full (the collector is slower than the runs).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// A bounded, non-blocking span pipeline to one exporter.
#[derive(Debug)]
pub struct Exporter {
    processor: BatchSpanProcessor,
    stats: Arc<ExportStats>,
    in_flight: Arc<AtomicUsize>,
    max_queue: usize,
}

impl Exporter {
    /// An OTLP/HTTP (protobuf) exporter. `endpoint` is a base URL (`http://host:4318`); spans
    /// are posted to `{endpoint}/v1/traces`. `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` and
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` win over it, and the other `OTEL_EXPORTER_OTLP_*`
    /// variables (headers, timeout, compression) and `OTEL_SERVICE_NAME` /
    /// `OTEL_RESOURCE_ATTRIBUTES` apply as the OpenTelemetry specification says.
    ///
    /// Errors: the endpoint is not a URL, or the HTTP client cannot be built.
    pub fn otlp(endpoint: Option<&str>) -> Result<Self, Error> {
        let mut builder = opentelemetry_otlp::SpanExporter::builder().with_http();
        if let (false, Some(base)) = (endpoint_from_env(), endpoint) {
            builder = builder.with_endpoint(format!("{}/v1/traces", base.trim_end_matches('/')));
        }
        let exporter = builder
            .build()
            .map_err(|e| Error::Exporter(e.to_string()))?;
        Ok(Self::new(exporter, resource()))
    }

    /// An OTLP/gRPC exporter to `endpoint` (`http://host:4317`); `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
    /// and `OTEL_EXPORTER_OTLP_ENDPOINT` win over it, and the other `OTEL_EXPORTER_OTLP_*`
    /// variables apply as for [`Exporter::otlp`]. The gRPC client (tonic) needs a Tokio runtime,
    /// which the SDK's export thread does not have: the exporter gets one of its own, with one
    /// worker thread.
    ///
    /// Errors: the endpoint is not a URL, or the runtime or the client cannot be built.
    pub fn otlp_grpc(endpoint: Option<&str>) -> Result<Self, Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("aine-otlp-grpc")
            .on_thread_start(yield_to_runs)
            .enable_all()
            .build()
            .map_err(|e| Error::Exporter(format!("cannot start the gRPC client's runtime: {e}")))?;
        let mut builder = opentelemetry_otlp::SpanExporter::builder().with_tonic();
        if let (false, Some(base)) = (endpoint_from_env(), endpoint) {
            builder = builder.with_endpoint(base.trim_end_matches('/'));
        }
        let exporter = {
            let _context = runtime.enter();
            builder
                .build()
                .map_err(|e| Error::Exporter(e.to_string()))?
        };
        Ok(Self::new(
            OnRuntime {
                inner: exporter,
                runtime,
            },
            resource(),
        ))
    }

    /// A pipeline to any exporter, holding at most `OTEL_BSP_MAX_QUEUE_SIZE` (default 2048)
    /// spans; the other `OTEL_BSP_*` settings apply too.
    pub fn new<E: SpanExporter + 'static>(exporter: E, resource: Resource) -> Self {
        let max_queue = std::env::var("OTEL_BSP_MAX_QUEUE_SIZE")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|n| *n > 0)
            .unwrap_or(DEFAULT_MAX_QUEUE);
        Self::with_max_queue(exporter, resource, max_queue)
    }

    /// [`Exporter::new`] holding at most `max_queue` spans (at least 1) queued or in export.
    pub fn with_max_queue<E: SpanExporter + 'static>(
        exporter: E,
        resource: Resource,
        max_queue: usize,
    ) -> Self {
        let max_queue = max_queue.max(1);
        let stats = Arc::new(ExportStats::default());
        let in_flight = Arc::new(AtomicUsize::new(0));
        let counting = Counting {
            inner: exporter,
            stats: stats.clone(),
            in_flight: in_flight.clone(),
        };
        let batch = BatchConfigBuilder::default()
            .with_max_queue_size(max_queue)
            .build();
        let mut processor = BatchSpanProcessor::builder(counting)
            .with_batch_config(batch)
            .build();
        processor.set_resource(&resource);
        Self {
            processor,
            stats,
            in_flight,
            max_queue,
        }
    }

    /// Queues `spans` for export, or drops (and counts) those that do not fit. Never blocks.
    pub fn submit(&self, spans: Vec<SpanData>) {
        for span in spans {
            if self.in_flight.fetch_add(1, Ordering::AcqRel) >= self.max_queue {
                self.in_flight.fetch_sub(1, Ordering::AcqRel);
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            self.processor.on_end(span);
        }
    }

    /// The counts so far.
    pub fn stats(&self) -> &ExportStats {
        &self.stats
    }

    /// Exports what is queued, waiting at most `bound`; spans still queued after it are lost
    /// (counted as dropped). Call once, at the end of the process.
    pub fn shutdown(&self, bound: Duration) {
        if self.processor.shutdown_with_timeout(bound).is_err() {
            let lost = self.in_flight.swap(0, Ordering::AcqRel);
            self.stats
                .dropped
                .fetch_add(u64::try_from(lost).unwrap_or(u64::MAX), Ordering::Relaxed);
        }
    }
}

/// Whether the standard variables name the endpoint (they win over `aine.toml`).
pub(crate) fn endpoint_from_env() -> bool {
    [
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ]
    .iter()
    .any(|v| std::env::var(v).is_ok_and(|s| !s.trim().is_empty()))
}

/// Puts the calling thread (the SDK's export thread, or the gRPC client's) on `SCHED_IDLE`,
/// once: encoding and sending spans then only use CPU that runs leave idle, so export cannot
/// push a run's latency up (on a saturated machine spans queue, then drop and are counted).
/// Best effort: where the OS refuses, the thread keeps its priority.
fn yield_to_runs() {
    thread_local! {
        static DONE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    if DONE.get() {
        return;
    }
    DONE.set(true);
    #[cfg(target_os = "linux")]
    {
        use thread_priority::{
            NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy,
            set_thread_priority_and_policy, thread_native_id,
        };
        let _ = set_thread_priority_and_policy(
            thread_native_id(),
            ThreadPriority::Min,
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle),
        );
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Min);
    }
}

/// An exporter whose futures need a Tokio runtime (tonic's), run to completion on `runtime`
/// from the SDK's export thread, which has none.
#[derive(Debug)]
struct OnRuntime<E> {
    inner: E,
    runtime: tokio::runtime::Runtime,
}

impl<E: SpanExporter> SpanExporter for OnRuntime<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.runtime.block_on(self.inner.export(batch))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let _context = self.runtime.enter();
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        let _context = self.runtime.enter();
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// `service.name` is `aine` unless `OTEL_SERVICE_NAME` (or `OTEL_RESOURCE_ATTRIBUTES`) names one.
fn resource() -> Resource {
    let builder = Resource::builder();
    let named = std::env::var("OTEL_SERVICE_NAME").is_ok_and(|s| !s.is_empty())
        || std::env::var("OTEL_RESOURCE_ATTRIBUTES").is_ok_and(|s| s.contains("service.name="));
    let builder = if named {
        builder
    } else {
        builder.with_service_name("aine")
    };
    builder
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Counts each batch's fate and releases its room in the queue.
#[derive(Debug)]
struct Counting<E> {
    inner: E,
    stats: Arc<ExportStats>,
    in_flight: Arc<AtomicUsize>,
}

impl<E: SpanExporter> SpanExporter for Counting<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        yield_to_runs();
        let n = batch.len();
        let result = self.inner.export(batch).await;
        let counter = if result.is_ok() {
            &self.stats.exported
        } else {
            &self.stats.failed
        };
        counter.fetch_add(u64::try_from(n).unwrap_or(u64::MAX), Ordering::Relaxed);
        self.in_flight.fetch_sub(n, Ordering::AcqRel);
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use thread_priority::{NormalThreadSchedulePolicy, ThreadSchedulePolicy};

    #[test]
    fn the_export_thread_only_gets_idle_cpu() {
        let policy = std::thread::spawn(|| {
            super::yield_to_runs();
            thread_priority::thread_schedule_policy()
        })
        .join()
        .map_err(|_| "the thread panicked");
        assert!(
            matches!(
                policy,
                Ok(Ok(ThreadSchedulePolicy::Normal(
                    NormalThreadSchedulePolicy::Idle
                )))
            ),
            "{policy:?}"
        );
        // Other threads keep their policy.
        assert!(matches!(
            thread_priority::thread_schedule_policy(),
            Ok(ThreadSchedulePolicy::Normal(
                NormalThreadSchedulePolicy::Other
            ))
        ));
    }
}
