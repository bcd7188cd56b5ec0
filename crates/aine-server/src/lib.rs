//! `aine serve`: the HTTP API (JSON, Server-Sent Events, an OpenAPI 3.1 document), bearer-token
//! auth, and the server-rendered web UI, over one [`aine_runtime::Runtime`].
//!
//! Invariants: no business logic here. Every decision (who may decide a gate, whether an edit
//! satisfies its contract, what a run does next) is the runtime's; the server parses requests,
//! checks tokens, calls the runtime exactly as the CLI does, and renders the answers. No SQL
//! either (the store has it all). Every route is registered through `utoipa_axum::routes!`, so
//! a route cannot exist without its OpenAPI description.
//!
//! Entry points: [`router`] (for tests, with `tower::ServiceExt::oneshot`), [`serve`].

mod api;
pub mod auth;
mod drive;
mod error;
mod events;
mod item_review;
mod spec;
mod ui;
mod ui_records;

use std::net::SocketAddr;
use std::sync::Arc;

use aine_runtime::Runtime;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

pub use error::{ApiError, ErrorBody};
pub use events::EventHub;

/// The largest request body accepted, in bytes (an edited spec fits many times over); larger
/// bodies get `413`.
pub const BODY_LIMIT_BYTES: usize = 1024 * 1024;

/// The default address of `aine serve`.
pub const DEFAULT_BIND: &str = "127.0.0.1:7077";

/// What every handler shares. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    runtime: Runtime,
    hub: EventHub,
    /// Runs being driven in the background; awaited at shutdown.
    tasks: TaskTracker,
    /// Cancelled when the server shuts down: ends event streams so connections can close.
    shutdown: CancellationToken,
    templates: minijinja::Environment<'static>,
    /// Whether the session cookie gets `Secure` (set when served behind HTTPS).
    secure_cookies: bool,
    /// OTLP trace export of the runs driven here, when configured (see [`aine_telemetry::enabled`]).
    telemetry: Option<aine_telemetry::TelemetryObserver>,
    /// The last Prometheus text and the journals' mark it was rendered at
    /// ([`aine_store::Store::journals_mark`]): a scrape re-reads the journals only after they grew.
    prometheus: tokio::sync::Mutex<Option<((u64, u64), String)>>,
}

impl AppState {
    /// The Prometheus text of every stored run, rendered again only when a journal grew since
    /// the last scrape.
    pub(crate) async fn prometheus_text(&self) -> Result<String, aine_store::Error> {
        let store = self.inner.runtime.store();
        let mut cached = self.inner.prometheus.lock().await;
        let mark = store.journals_mark().await?;
        if let Some((at, text)) = cached.as_ref()
            && *at == mark
        {
            return Ok(text.clone());
        }
        let runs = store.journals_since(0).await?;
        let text = aine_telemetry::prometheus::render(&runs, None);
        *cached = Some((mark, text.clone()));
        Ok(text)
    }

    /// State over `runtime`. Runs driven here are exported as OTLP traces when the runtime's
    /// configuration or the `OTEL_*` variables turn telemetry on; a broken telemetry setup is
    /// logged and serving goes on without it.
    pub fn new(runtime: Runtime) -> Result<Self, minijinja::Error> {
        let telemetry = aine_telemetry::observer(&runtime.config().telemetry).unwrap_or_else(|e| {
            tracing::warn!(target: "aine_server", "{e}; serving without traces");
            None
        });
        Ok(Self {
            inner: Arc::new(Inner {
                telemetry,
                prometheus: tokio::sync::Mutex::new(None),
                runtime,
                hub: EventHub::default(),
                tasks: TaskTracker::new(),
                shutdown: CancellationToken::new(),
                templates: ui::templates()?,
                secure_cookies: false,
            }),
        })
    }

    /// The runtime.
    pub fn runtime(&self) -> &Runtime {
        &self.inner.runtime
    }

    /// The run event hub.
    pub fn hub(&self) -> &EventHub {
        &self.inner.hub
    }

    /// The background drives.
    pub fn tasks(&self) -> &TaskTracker {
        &self.inner.tasks
    }

    /// Cancelled at shutdown.
    pub fn shutdown_token(&self) -> &CancellationToken {
        &self.inner.shutdown
    }

    /// The trace exporter, when telemetry is on.
    pub fn telemetry(&self) -> Option<&aine_telemetry::TelemetryObserver> {
        self.inner.telemetry.as_ref()
    }

    /// The trace exporter as an observer of runs: one that ignores everything when telemetry
    /// is off.
    pub(crate) fn traces(&self) -> &dyn aine_runtime::Observer {
        match self.telemetry() {
            Some(telemetry) => telemetry,
            None => &aine_runtime::Quiet,
        }
    }

    fn templates(&self) -> &minijinja::Environment<'static> {
        &self.inner.templates
    }
}

/// The OpenAPI description of the API (the `info` block; paths are added by the router).
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "aine",
        description = "Runs, traces, gates, specs, audit and metrics of an aine project. Authenticate with `Authorization: Bearer TOKEN` (`aine token create --as PERSON`).",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "runs", description = "Start, list and read runs and their traces"),
        (name = "gates", description = "The review queue: list and decide gates"),
        (name = "specs", description = "Published specs and their trace links"),
        (name = "audit", description = "Audit chain status and outcome metrics"),
        (name = "meta", description = "The caller and this document"),
        (name = "ui", description = "Server-rendered HTML pages of the web UI")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every route and its OpenAPI description.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(api::routes())
        .merge(events::routes())
        .merge(ui::routes())
}

/// The OpenAPI 3.1 document of every route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().into_openapi()
}

/// The application: API, events, web UI. CORS is off (no CORS headers are sent, so browsers
/// refuse cross-origin reads); bodies over [`BODY_LIMIT_BYTES`] get `413`.
pub fn router(state: AppState) -> Router {
    let (router, _) = routes().split_for_parts();
    guarded(
        router
            .fallback(ui::not_found)
            .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
            .with_state(state),
    )
}

/// `router` behind the layer every response passes: a handler that panics (a bug) answers 500
/// in the JSON error shape, its detail only in the server log, and the server keeps serving.
pub fn guarded(router: Router) -> Router {
    router.layer(tower_http::catch_panic::CatchPanicLayer::custom(
        error::panic_response,
    ))
}

/// Serves `state` on `addr` until `shutdown` resolves, then waits for runs being driven to
/// reach their next stop (a gate or the end), and for queued trace spans to be exported (at most
/// [`aine_telemetry::SHUTDOWN_BOUND`]).
///
/// Errors: the address cannot be bound, or the server fails.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let tasks = state.tasks().clone();
    let token = state.shutdown_token().clone();
    let traced = state.clone();
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            token.cancel();
        })
        .await?;
    tasks.close();
    tasks.wait().await;
    // Shutting the exporter down blocks (up to the bound) on its thread.
    let lost = tokio::task::spawn_blocking(move || {
        traced.telemetry().map_or(0, |observer| {
            observer.shutdown(aine_telemetry::SHUTDOWN_BOUND);
            observer.stats().failed() + observer.stats().dropped()
        })
    })
    .await
    .unwrap_or(0);
    if lost > 0 {
        tracing::warn!(
            target: "aine_server",
            "{lost} trace spans could not be exported (is the OTLP collector up?)"
        );
    }
    Ok(())
}
