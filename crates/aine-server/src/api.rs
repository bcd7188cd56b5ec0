//! The JSON API under `/api/v1`. Each handler parses, checks the caller, calls the runtime as
//! the CLI does, and serializes the answer.

use std::path::{Path as FsPath, PathBuf};
use std::sync::LazyLock;

use aine_runtime::{AuditStatus, GateDetail, GateItem, RunItem};
use aine_store::{GateRecord, GateStatus};
use aine_types::{Decision, GateId, PersonId, RunId, RunStatus};
use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};

/// A JSON body whose rejections (malformed, too large, wrong content type) are [`ApiError`]s.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub(crate) struct ApiJson<T>(pub T);

/// A query string whose rejections (a value of the wrong type, a repeated parameter) are
/// [`ApiError`]s: `400` in the JSON error shape, not axum's plain text.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub(crate) struct ApiQuery<T>(pub T);

/// A URL-encoded form whose rejections (wrong content type, a missing field) are [`ApiError`]s.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Form), rejection(ApiError))]
pub(crate) struct ApiForm<T>(pub T);

/// The most runs one listing returns ([`RunsQuery::limit`]).
pub(crate) const MAX_LIMIT: u32 = 1000;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_runs, start_run))
        .routes(routes!(get_run))
        .routes(routes!(get_spec))
        .routes(routes!(list_gates))
        .routes(routes!(get_gate))
        .routes(routes!(decide_gate))
        .routes(routes!(audit_status))
        .routes(routes!(metrics))
        .routes(routes!(prometheus))
        .routes(routes!(me))
        .routes(routes!(openapi_json))
}

/// Parses a run id; a malformed one names no run (`404`).
pub(crate) fn parse_run(text: &str) -> ApiResult<RunId> {
    text.parse()
        .map_err(|_| ApiError::NotFound(format!("no run `{text}`; run ids look like `run_<ULID>`")))
}

/// Parses a gate id; a malformed one names no gate (`404`).
pub(crate) fn parse_gate(text: &str) -> ApiResult<GateId> {
    text.parse().map_err(|_| {
        ApiError::NotFound(format!(
            "no gate `{text}`; gate ids look like `gate_<ULID>`"
        ))
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct RunsQuery {
    /// Only runs with this status: running, waiting, succeeded, failed, rejected (empty: all).
    #[param(pattern = "^(running|waiting|succeeded|failed|rejected)?$")]
    status: Option<String>,
    /// At most this many runs (default 50).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

pub(crate) fn parse_status(text: Option<&str>) -> ApiResult<Option<RunStatus>> {
    text.filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<RunStatus>()
                .map_err(|e| ApiError::BadRequest(e.to_string()))
        })
        .transpose()
}

/// Runs newest first (see [`aine_runtime::Runtime::run_items`]), at most [`MAX_LIMIT`].
pub(crate) async fn run_items(
    state: &AppState,
    status: Option<RunStatus>,
    limit: u32,
) -> ApiResult<Vec<RunItem>> {
    Ok(state
        .runtime()
        .run_items(status, limit.clamp(1, MAX_LIMIT))
        .await?)
}

/// List runs, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/runs",
    tag = "runs",
    params(RunsQuery),
    responses(
        (status = 200, body = Vec<RunItem>),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn list_runs(
    State(state): State<AppState>,
    _caller: Caller,
    ApiQuery(query): ApiQuery<RunsQuery>,
) -> ApiResult<Json<Vec<RunItem>>> {
    let status = parse_status(query.status.as_deref())?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "`limit={limit}` is out of range; use 1 to {MAX_LIMIT}"
        )));
    }
    Ok(Json(run_items(&state, status, limit).await?))
}

/// A run to start.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StartRun {
    /// The workflow file, relative to the project directory (e.g.
    /// `workflows/requirements.workflow.yaml`).
    pub workflow: String,
    /// The workflow's inputs, a JSON object checked against its `inputs`.
    #[serde(default = "empty_object")]
    pub inputs: Value,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

/// A run that was started or continued in the background.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Accepted {
    /// `run_<ULID>`.
    pub run: String,
    /// Where to read it.
    pub href: String,
    /// Where to follow it (Server-Sent Events).
    pub events: String,
}

impl Accepted {
    fn new(run: RunId) -> Self {
        Self {
            run: run.to_string(),
            href: format!("/api/v1/runs/{run}"),
            events: format!("/api/v1/runs/{run}/events"),
        }
    }
}

/// A workflow path inside the project directory, or why not.
pub(crate) fn workflow_path(project: &FsPath, workflow: &str) -> ApiResult<PathBuf> {
    let relative = FsPath::new(workflow);
    if relative.is_absolute()
        || relative
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(ApiError::BadRequest(format!(
            "`{workflow}` must be a path relative to the project directory, without `..`"
        )));
    }
    let path = project.join(relative);
    let not_found = || {
        ApiError::NotFound(format!(
            "no workflow file `{workflow}` in the project directory"
        ))
    };
    let canonical = std::fs::canonicalize(&path).map_err(|_| not_found())?;
    let root = std::fs::canonicalize(project).map_err(|_| not_found())?;
    if !canonical.starts_with(&root) || !canonical.is_file() {
        return Err(not_found());
    }
    Ok(canonical)
}

/// Start a run (needs a role in aine.toml); it is driven in the background until it finishes
/// or waits at a gate. Follow it with its `events`.
#[utoipa::path(
    post,
    path = "/api/v1/runs",
    tag = "runs",
    request_body = StartRun,
    responses(
        (status = 202, description = "Started", body = Accepted),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, description = "The body is not sent as `application/json`", body = ErrorBody),
        (status = 422, description = "Invalid workflow or inputs (`invalid_workflow`, `invalid_inputs`), or inputs naming files outside the project directory and `[files] allow` (`path_refused`); `errors` lists each", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn start_run(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<StartRun>,
) -> ApiResult<impl IntoResponse> {
    let runtime = state.runtime();
    caller.may_start_runs(runtime.config())?;
    let path = workflow_path(&runtime.config().project_dir, &body.workflow)?;
    let run = runtime.start(&path, body.inputs).await?.id();
    tracing::info!(target: "aine_server", %run, person = %caller.person, "run started over HTTP");
    crate::drive::spawn(&state, run);
    let accepted = Accepted::new(run);
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, accepted.href.clone())],
        Json(accepted),
    ))
}

/// A run's trace: every step with its outcome, why, duration, attempts, model calls (model,
/// reason, result, tokens, USD, latency), gate and output; the run's spend.
#[utoipa::path(
    get,
    path = "/api/v1/runs/{run}",
    tag = "runs",
    params(("run" = String, Path, description = "Run id, `run_<ULID>`")),
    responses(
        (status = 200, description = "The run view (aine_runtime::RunView), as `aine show --json` prints it", body = Object),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn get_run(
    State(state): State<AppState>,
    _caller: Caller,
    Path(run): Path<String>,
) -> ApiResult<Json<aine_runtime::RunView>> {
    let run = parse_run(&run)?;
    Ok(Json(state.runtime().view(&run).await?))
}

/// The spec a run publishes (or would publish, while it waits for review): requirements in
/// EARS form, user stories with acceptance criteria, lint findings, and each item's trace links
/// to the source sentences it cites; the cited sentences quoted (`quotes`), and the input files
/// with their sentence counts (each file's sentences are on the page `/runs/RUN/sources/N`).
#[utoipa::path(
    get,
    path = "/api/v1/runs/{run}/spec",
    tag = "specs",
    params(("run" = String, Path, description = "Run id, `run_<ULID>`")),
    responses(
        (status = 200, description = "The spec with its trace (see crates/aine-server/src/spec.rs)", body = Object),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such run, or the run has no spec", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn get_spec(
    State(state): State<AppState>,
    _caller: Caller,
    Path(run): Path<String>,
) -> ApiResult<Json<crate::spec::SpecPage>> {
    let run = parse_run(&run)?;
    Ok(Json(crate::spec::spec_page(state.runtime(), &run).await?))
}

/// A gate as the API lists it ([`aine_runtime::Runtime::gate_item`]).
pub(crate) fn gate_item(state: &AppState, g: &GateRecord) -> GateItem {
    state.runtime().gate_item(g)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct GatesQuery {
    /// `open` (the default, also when empty), `decided` or `all`.
    #[param(pattern = "^(open|decided|all)?$")]
    status: Option<String>,
}

/// The review queue: gates, oldest first (open ones unless `status` says otherwise).
#[utoipa::path(
    get,
    path = "/api/v1/gates",
    tag = "gates",
    params(GatesQuery),
    responses(
        (status = 200, body = Vec<GateItem>),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn list_gates(
    State(state): State<AppState>,
    _caller: Caller,
    ApiQuery(query): ApiQuery<GatesQuery>,
) -> ApiResult<Json<Vec<GateItem>>> {
    let status = match query.status.as_deref() {
        None | Some("" | "open") => Some(GateStatus::Open),
        Some("decided") => Some(GateStatus::Decided),
        Some("all") => None,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "unknown gate status `{other}`; use open, decided or all"
            )));
        }
    };
    Ok(Json(state.runtime().gate_items(status).await?))
}

/// One gate and its run (what the reviewer reviews).
#[utoipa::path(
    get,
    path = "/api/v1/gates/{gate}",
    tag = "gates",
    params(("gate" = String, Path, description = "Gate id, `gate_<ULID>`")),
    responses(
        (status = 200, body = GateDetail),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn get_gate(
    State(state): State<AppState>,
    _caller: Caller,
    Path(gate): Path<String>,
) -> ApiResult<Json<GateDetail>> {
    let gate = parse_gate(&gate)?;
    Ok(Json(state.runtime().gate_detail(&gate).await?))
}

/// The kind of a decision.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum DecisionKind {
    Approve,
    Reject,
    Edit,
}

/// A decision on a gate.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DecisionRequest {
    pub decision: DecisionKind,
    /// Why (recorded in the journal and the audit log).
    #[serde(default)]
    pub reason: String,
    /// For `edit`: the replacement output of the reviewed step; it must satisfy that step's
    /// output contract.
    #[serde(default)]
    pub output: Option<Value>,
}

/// A recorded decision; the run continues in the background.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Decided {
    pub gate: String,
    pub decision: DecisionKind,
    pub by: String,
    #[serde(flatten)]
    pub run: Accepted,
}

/// Turns a request into the runtime's decision.
pub(crate) fn decision(kind: DecisionKind, output: Option<Value>) -> ApiResult<Decision> {
    Ok(match kind {
        DecisionKind::Approve => Decision::Approve,
        DecisionKind::Reject => Decision::Reject,
        DecisionKind::Edit => Decision::Edit {
            changes: Vec::new(),
            output: output.ok_or_else(|| {
                ApiError::BadRequest(
                    "an `edit` needs `output`: the replacement output of the reviewed step"
                        .to_owned(),
                )
            })?,
        },
    })
}

/// Records a decision by `person` and drives the run on in the background.
pub(crate) async fn record_decision(
    state: &AppState,
    gate: &GateId,
    person: &PersonId,
    decision: Decision,
    reason: &str,
) -> ApiResult<RunId> {
    // The decision's event reaches subscribers when the drive starts (see `drive::spawn`);
    // telemetry sees it now, to end the gate's span.
    let run = state
        .runtime()
        .decide_observed(gate, person, decision, reason, state.traces())
        .await?;
    tracing::info!(target: "aine_server", %gate, %run, %person, "gate decided over HTTP");
    crate::drive::spawn(state, run);
    Ok(run)
}

/// Decide a gate: approve, reject (with a reason), or edit (replace the reviewed step's output;
/// it must satisfy that step's contract). Only the gate's owner role or an admin may decide.
#[utoipa::path(
    post,
    path = "/api/v1/gates/{gate}/decision",
    tag = "gates",
    params(("gate" = String, Path, description = "Gate id, `gate_<ULID>`")),
    request_body = DecisionRequest,
    responses(
        (status = 202, description = "Recorded; the run continues", body = Decided),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Not the gate's owner nor an admin", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Already decided", body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, description = "The body is not sent as `application/json`", body = ErrorBody),
        (status = 422, description = "The edit breaks the contract (`errors`), or the gate cannot be decided this way", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn decide_gate(
    State(state): State<AppState>,
    caller: Caller,
    Path(gate): Path<String>,
    ApiJson(body): ApiJson<DecisionRequest>,
) -> ApiResult<impl IntoResponse> {
    let gate = parse_gate(&gate)?;
    let decision = decision(body.decision, body.output)?;
    let run = record_decision(&state, &gate, &caller.person, decision, &body.reason).await?;
    let decided = Decided {
        gate: gate.to_string(),
        decision: body.decision,
        by: caller.person.to_string(),
        run: Accepted::new(run),
    };
    Ok((StatusCode::ACCEPTED, Json(decided)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    /// Also check every published spec file against the SHA-256 recorded at publication.
    #[serde(default)]
    files: bool,
}

/// The audit status ([`aine_runtime::Runtime::audit_status`]).
pub(crate) async fn audit(state: &AppState, files: bool) -> ApiResult<AuditStatus> {
    Ok(state.runtime().audit_status(files).await?)
}

/// Verify the hash-chained audit log (as `aine audit verify [--files]`).
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, body = AuditStatus),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn audit_status(
    State(state): State<AppState>,
    _caller: Caller,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Json<AuditStatus>> {
    Ok(Json(audit(&state, query.files).await?))
}

/// `since` (`YYYY-MM-DD`, UTC) as milliseconds since the epoch; 0 without one (`400` when it is
/// not a date).
pub(crate) fn since_ms(since: Option<&str>) -> ApiResult<i64> {
    aine_runtime::metrics::since_ms(since).map_err(|e| ApiError::BadRequest(format!("since={e}")))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct MetricsQuery {
    /// Only runs started on or after this date (YYYY-MM-DD, UTC).
    #[param(value_type = Option<String>, format = Date)]
    since: Option<String>,
}

/// Outcome metrics (as `aine metrics runs --json`): cycle time, review wait, rejection and edit
/// rates per gate, escalation rate per model step, cost per published item.
#[utoipa::path(
    get,
    path = "/api/v1/metrics/runs",
    tag = "audit",
    params(MetricsQuery),
    responses(
        (status = 200, description = "aine_runtime::metrics::Metrics", body = Object),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn metrics(
    State(state): State<AppState>,
    _caller: Caller,
    ApiQuery(query): ApiQuery<MetricsQuery>,
) -> ApiResult<Json<aine_runtime::metrics::Metrics>> {
    let since_ms = since_ms(query.since.as_deref())?;
    Ok(Json(state.runtime().metrics(since_ms).await?))
}

/// Prometheus metrics of every stored run, as OpenMetrics text (`aine metrics prometheus`):
/// `gen_ai_client_token_usage` and `gen_ai_client_operation_duration_seconds` histograms, runs
/// by status, gate wait time, cost by workflow and model, escalations by route step. Scrape
/// with a bearer token (`authorization: { credentials: TOKEN }` in Prometheus).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "audit",
    responses(
        (status = 200, description = "OpenMetrics 1.0 text", content_type = "application/openmetrics-text", body = String),
        (status = 401, body = ErrorBody)
    ),
    security(("bearer" = []))
)]
async fn prometheus(
    State(state): State<AppState>,
    _caller: Caller,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse as _;
    let body = state.prometheus_text().await?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            aine_telemetry::prometheus::CONTENT_TYPE,
        )],
        body,
    )
        .into_response())
}

/// The caller.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Me {
    pub person: String,
    /// Display name from aine.toml.
    pub name: Option<String>,
    /// Roles held.
    pub roles: Vec<String>,
    /// Whether the caller may start runs (holds a role).
    pub may_start_runs: bool,
}

/// Who the token belongs to and what they may do.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "meta",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)),
    security(("bearer" = []))
)]
async fn me(State(state): State<AppState>, caller: Caller) -> Json<Me> {
    let config = state.runtime().config();
    Json(Me {
        name: config
            .people
            .get(&caller.person)
            .and_then(|p| p.name.clone()),
        roles: config
            .roles
            .iter()
            .filter(|(_, people)| people.contains(&caller.person))
            .map(|(role, _)| role.to_string())
            .collect(),
        may_start_runs: config.may_start_runs(&caller.person),
        person: caller.person.to_string(),
    })
}

/// The document, serialized once; a serialization failure is kept to answer `500` (never a
/// `null` document).
static OPENAPI: LazyLock<Result<Value, String>> =
    LazyLock::new(|| serde_json::to_value(crate::openapi()).map_err(|e| e.to_string()));

/// This document (OpenAPI 3.1); no token needed.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object),
              (status = 500, description = "The document could not be serialized (logged)", body = ErrorBody))
)]
async fn openapi_json() -> ApiResult<Json<Value>> {
    match &*OPENAPI {
        Ok(doc) => Ok(Json(doc.clone())),
        Err(e) => Err(ApiError::Internal(format!(
            "the OpenAPI document does not serialize: {e}"
        ))),
    }
}
