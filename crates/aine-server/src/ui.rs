//! The web UI: server-rendered HTML (minijinja templates embedded in the binary), plain forms,
//! and one small script that reloads a run page when its events arrive. Browsers sign in with
//! their token once; it is kept in an HttpOnly, SameSite=Strict cookie (so cross-site form
//! posts carry no credentials).

use std::time::{SystemTime, UNIX_EPOCH};

use aine_store::GateStatus;
use aine_types::Decision;
use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use minijinja::{Environment, Value as Jinja, context};
use serde::Deserialize;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::api::{
    ApiForm, ApiQuery, gate_item, parse_gate, parse_run, parse_status, record_decision, run_items,
};
use crate::auth::{COOKIE, Caller};
use crate::error::ApiError;

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("runs.html", include_str!("../templates/runs.html")),
    ("run.html", include_str!("../templates/run.html")),
    ("review.html", include_str!("../templates/review.html")),
    ("gate.html", include_str!("../templates/gate.html")),
    ("spec.html", include_str!("../templates/spec.html")),
    (
        "transcript.html",
        include_str!("../templates/transcript.html"),
    ),
    ("audit.html", include_str!("../templates/audit.html")),
    ("metrics.html", include_str!("../templates/metrics.html")),
    ("error.html", include_str!("../templates/error.html")),
];

/// The template environment (HTML auto-escaping is on for `.html` names).
pub(crate) fn templates() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    for (name, source) in TEMPLATES {
        env.add_template(name, source)?;
    }
    env.add_filter("anchor", anchor);
    env.add_filter("age", age);
    env.add_filter("json", pretty_json);
    Ok(env)
}

/// A string usable as an HTML id: `ES2002a#41` -> `s-ES2002a-41`.
fn anchor(id: &str) -> String {
    let cleaned: String = id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("s-{cleaned}")
}

/// How long ago `ms` (milliseconds since the Unix epoch) was, in words.
fn age(ms: i64) -> String {
    let secs = (now_ms() - ms).max(0) / 1000;
    match secs {
        0..60 => format!("{secs} s ago"),
        60..3600 => format!("{} min ago", secs / 60),
        3600..86400 => format!("{} h ago", secs / 3600),
        _ => format!("{} d ago", secs / 86400),
    }
}

fn pretty_json(value: Jinja) -> String {
    serde_json::to_value(&value)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_default()
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login_page, login))
        .routes(routes!(logout))
        .routes(routes!(runs_page))
        .routes(routes!(run_page))
        .routes(routes!(spec_page))
        .routes(routes!(transcript_page))
        .routes(routes!(review_page))
        .routes(routes!(gate_page, gate_decide))
        .routes(routes!(crate::item_review::review_items))
        .routes(routes!(crate::ui_records::audit_page))
        .routes(routes!(crate::ui_records::metrics_page))
}

/// A rendered page, or a redirect to the login form.
pub(crate) type Page = Result<Response, Response>;

pub(crate) fn render(state: &AppState, name: &str, status: StatusCode, ctx: Jinja) -> Response {
    match state
        .templates()
        .get_template(name)
        .and_then(|t| t.render(ctx))
    {
        Ok(html) => (status, Html(html)).into_response(),
        Err(err) => {
            tracing::error!(target: "aine_server", "cannot render {name}: {err:#}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<!doctype html><title>Error</title><p>Internal error; the server log has the details.</p>".to_owned()),
            )
                .into_response()
        }
    }
}

/// An error as a page (5xx without details).
pub(crate) fn error_page(state: &AppState, caller: Option<&Caller>, err: &ApiError) -> Response {
    err.log();
    let body = err.body();
    render(
        state,
        "error.html",
        err.status(),
        context! { me => caller.map(|c| c.person.to_string()), error => body.error.message, status => body.error.status },
    )
}

/// The caller, or a redirect to the login form that comes back to `uri`.
pub(crate) fn signed_in(caller: Option<Caller>, uri: &OriginalUri) -> Result<Caller, Redirect> {
    caller.ok_or_else(|| {
        let next = uri.0.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        Redirect::to(&format!("/login?next={}", urlencode(next)))
    })
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Only same-site paths are followed after login (no open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct NextQuery {
    /// Where to go after signing in (a path on this server).
    next: Option<String>,
}

/// The sign-in form (paste a token).
#[utoipa::path(get, path = "/login", tag = "ui", params(NextQuery),
    responses((status = 200, description = "HTML", content_type = "text/html", body = String)))]
async fn login_page(State(state): State<AppState>, ApiQuery(q): ApiQuery<NextQuery>) -> Response {
    render(
        &state,
        "login.html",
        StatusCode::OK,
        context! { next => safe_next(q.next.as_deref()), error => Jinja::UNDEFINED },
    )
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct LoginForm {
    token: String,
    #[serde(default)]
    next: Option<String>,
}

/// Signs in: checks the token and keeps it in an HttpOnly session cookie.
#[utoipa::path(post, path = "/login", tag = "ui",
    request_body(content = LoginForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Signed in; redirected"),
        (status = 401, description = "HTML form with the error", content_type = "text/html", body = String),
        (status = 415, description = "The form is not sent as `application/x-www-form-urlencoded`", body = crate::error::ErrorBody),
        (status = 422, description = "The form lacks a field", body = crate::error::ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    jar: CookieJar,
    ApiForm(form): ApiForm<LoginForm>,
) -> Response {
    let token = form.token.trim().to_owned();
    let next = safe_next(form.next.as_deref());
    match crate::auth::person_for(&state, &token).await {
        Ok(Some(_)) => {
            let cookie = Cookie::build((COOKIE, token))
                .http_only(true)
                .same_site(SameSite::Strict)
                .secure(state.inner.secure_cookies)
                .path("/")
                .build();
            (jar.add(cookie), Redirect::to(&next)).into_response()
        }
        Ok(None) => render(
            &state,
            "login.html",
            StatusCode::UNAUTHORIZED,
            context! { next, error => "That token is not valid. Create one with `aine token create --as PERSON`." },
        ),
        Err(err) => error_page(&state, None, &err),
    }
}

/// Signs out (removes the session cookie).
#[utoipa::path(post, path = "/logout", tag = "ui",
    responses((status = 303, description = "Signed out; redirected to the login form")))]
async fn logout(jar: CookieJar) -> Response {
    (
        jar.remove(Cookie::build(COOKIE).path("/")),
        Redirect::to("/login"),
    )
        .into_response()
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct RunsPageQuery {
    /// Only runs with this status (empty: all).
    #[param(pattern = "^(running|waiting|succeeded|failed|rejected)?$")]
    status: Option<String>,
}

/// The runs list: status, workflow, owner, cost and age.
#[utoipa::path(get, path = "/", tag = "ui", params(RunsPageQuery),
    responses((status = 200, description = "HTML", content_type = "text/html", body = String),
              (status = 303, description = "Not signed in: to the login form"),
              (status = 400, description = "A malformed query (JSON), or an unknown status (HTML)", content((crate::error::ErrorBody = "application/json"), (String = "text/html")))))]
async fn runs_page(
    State(state): State<AppState>,
    caller: Option<Caller>,
    uri: OriginalUri,
    query: Result<ApiQuery<RunsPageQuery>, ApiError>,
) -> Page {
    // Who asks comes first: a malformed query from someone not signed in goes to the login.
    let caller = signed_in(caller, &uri).map_err(IntoResponse::into_response)?;
    let ApiQuery(q) = query.map_err(IntoResponse::into_response)?;
    let result = async {
        let status = parse_status(q.status.as_deref())?;
        run_items(&state, status, 200).await
    }
    .await;
    match result {
        Ok(runs) => Ok(render(
            &state,
            "runs.html",
            StatusCode::OK,
            context! { me => caller.person.to_string(), runs, status => q.status, nav => "runs" },
        )),
        Err(err) => Err(error_page(&state, Some(&caller), &err)),
    }
}

/// One bar of the cost chart.
#[derive(Debug, serde::Serialize)]
struct Bar {
    step: String,
    usd: String,
    tokens: u64,
    /// 0 to 100: the bar's width relative to the most expensive step (by USD, or by tokens when
    /// nothing cost money).
    width: f64,
}

fn cost_bars(view: &aine_runtime::RunView) -> Vec<Bar> {
    let usd = |s: &aine_runtime::StepView| -> f64 { s.spend.usd.0.try_into().unwrap_or(0.0) };
    let max_usd = view.steps.iter().map(usd).fold(0.0, f64::max);
    let max_tokens = view
        .steps
        .iter()
        .map(|s| s.spend.tokens())
        .max()
        .unwrap_or(0);
    view.steps
        .iter()
        .map(|s| Bar {
            step: s.id.to_string(),
            usd: s.spend.usd.0.normalize().to_string(),
            tokens: s.spend.tokens(),
            width: if max_usd > 0.0 {
                usd(s) / max_usd * 100.0
            } else if max_tokens > 0 {
                s.spend.tokens() as f64 / max_tokens as f64 * 100.0
            } else {
                0.0
            },
        })
        .collect()
}

/// A run: step timeline with outcomes and why, model attempts, escalations, cost per step.
#[utoipa::path(get, path = "/runs/{run}", tag = "ui",
    params(("run" = String, Path, description = "Run id")),
    responses((status = 200, description = "HTML", content_type = "text/html", body = String),
              (status = 404, description = "HTML", content_type = "text/html", body = String)))]
async fn run_page(
    State(state): State<AppState>,
    caller: Option<Caller>,
    uri: OriginalUri,
    Path(run): Path<String>,
) -> Page {
    let caller = signed_in(caller, &uri).map_err(IntoResponse::into_response)?;
    let result = async {
        let run = parse_run(&run)?;
        Ok::<_, ApiError>(state.runtime().view(&run).await?)
    }
    .await;
    match result {
        Ok(view) => {
            let bars = cost_bars(&view);
            let has_spec = view.steps.iter().any(|s| s.kind == "builtin spec.publish");
            let live = !view.status.is_terminal();
            Ok(render(
                &state,
                "run.html",
                StatusCode::OK,
                context! { me => caller.person.to_string(), run => view, bars, has_spec, live, nav => "runs" },
            ))
        }
        Err(err) => Err(error_page(&state, Some(&caller), &err)),
    }
}

/// A run's spec (or, while its review gate is open, what would be published): EARS items,
/// stories and acceptance criteria, each with its source sentences quoted; lint findings, trace
/// links, and links to each transcript's page.
#[utoipa::path(get, path = "/runs/{run}/spec", tag = "ui",
    params(("run" = String, Path, description = "Run id")),
    responses((status = 200, description = "HTML", content_type = "text/html", body = String),
              (status = 404, description = "HTML", content_type = "text/html", body = String)))]
async fn spec_page(
    State(state): State<AppState>,
    caller: Option<Caller>,
    uri: OriginalUri,
    Path(run): Path<String>,
) -> Page {
    let caller = signed_in(caller, &uri).map_err(IntoResponse::into_response)?;
    let result = async {
        let run = parse_run(&run)?;
        crate::spec::spec_page(state.runtime(), &run).await
    }
    .await;
    match result {
        Ok(spec) => Ok(render(
            &state,
            "spec.html",
            StatusCode::OK,
            context! { me => caller.person.to_string(), spec, nav => "runs" },
        )),
        Err(err) => Err(error_page(&state, Some(&caller), &err)),
    }
}

/// One input file of a run's spec, every sentence shown, the cited ones highlighted and labelled
/// with the items citing them.
#[utoipa::path(get, path = "/runs/{run}/sources/{index}", tag = "ui",
    params(("run" = String, Path, description = "Run id"),
           ("index" = usize, Path, description = "The input file's 1-based position, as the spec page lists it")),
    responses((status = 200, description = "HTML", content_type = "text/html", body = String),
              (status = 404, description = "HTML", content_type = "text/html", body = String)))]
async fn transcript_page(
    State(state): State<AppState>,
    caller: Option<Caller>,
    uri: OriginalUri,
    Path((run, index)): Path<(String, String)>,
) -> Page {
    let caller = signed_in(caller, &uri).map_err(IntoResponse::into_response)?;
    let result = async {
        let run = parse_run(&run)?;
        let index: usize = index.parse().map_err(|_| {
            ApiError::NotFound(format!("no source `{index}`; sources are numbered from 1"))
        })?;
        crate::spec::transcript_page(state.runtime(), &run, index).await
    }
    .await;
    match result {
        Ok(transcript) => Ok(render(
            &state,
            "transcript.html",
            StatusCode::OK,
            context! { me => caller.person.to_string(), transcript, nav => "runs" },
        )),
        Err(err) => Err(error_page(&state, Some(&caller), &err)),
    }
}

/// The review queue: open gates, oldest first.
#[utoipa::path(get, path = "/review", tag = "ui",
    responses((status = 200, description = "HTML", content_type = "text/html", body = String)))]
async fn review_page(
    State(state): State<AppState>,
    caller: Option<Caller>,
    uri: OriginalUri,
) -> Page {
    let caller = signed_in(caller, &uri).map_err(IntoResponse::into_response)?;
    match state.runtime().store().gates(Some(GateStatus::Open)).await {
        Ok(gates) => {
            let gates: Vec<_> = gates.iter().map(|g| gate_item(&state, g)).collect();
            let mine: Vec<bool> = gates
                .iter()
                .map(|g| {
                    g.owner_role
                        .parse()
                        .map(|role| {
                            state
                                .runtime()
                                .config()
                                .may_decide_for(&caller.person, &role)
                        })
                        .unwrap_or(false)
                })
                .collect();
            Ok(render(
                &state,
                "review.html",
                StatusCode::OK,
                context! { me => caller.person.to_string(), gates, mine, nav => "review" },
            ))
        }
        Err(err) => Err(error_page(&state, Some(&caller), &err.into())),
    }
}

/// What the gate page shows besides the gate.
#[derive(Debug, Default)]
pub(crate) struct GateForm {
    /// The item-by-item review form's fields as sent (to fill it in again).
    pub values: std::collections::HashMap<String, String>,
    /// Item-by-item review errors by item id (`new-1`, `review` for the whole).
    pub item_errors: std::collections::BTreeMap<String, Vec<String>>,
    /// What the item-by-item review would change, when the reviewer asked for a preview.
    pub preview: Option<Vec<crate::item_review::PreviewLine>>,
    /// The edit textarea's text.
    pub output: Option<String>,
    pub reason: String,
    /// Errors next to the edit field.
    pub edit_errors: Vec<String>,
    /// Error next to the reject reason.
    pub reason_error: Option<String>,
    /// Any other problem (not the owner, already decided).
    pub error: Option<String>,
}

pub(crate) async fn gate_view(
    state: &AppState,
    caller: &Caller,
    gate: &str,
    form: GateForm,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let gate = parse_gate(gate)?;
    let record = state.runtime().store().gate(&gate).await?;
    let view = state.runtime().view(&record.run).await?;
    let gate_step = view.steps.iter().find(|s| s.id == record.step);
    let reviews = gate_step
        .and_then(|s| s.gate.as_ref())
        .and_then(|g| g.reviews.clone());
    let reviewed = reviews
        .as_ref()
        .and_then(|r| view.steps.iter().find(|s| &s.id == r));
    let output_text = form.output.unwrap_or_else(|| {
        reviewed
            .and_then(|s| s.output.as_ref())
            .and_then(|o| serde_json::to_string_pretty(o).ok())
            .unwrap_or_default()
    });
    let may_decide = state
        .runtime()
        .config()
        .may_decide_for(&caller.person, &record.owner_role);
    // The draft as a spec, when the run drafts one (the requirements workflow).
    let draft = match state.runtime().inspect(&record.run).await {
        Ok(inspected) => aine_sdlc::trace::trace(&inspected).ok(),
        Err(_) => None,
    };
    // Item by item when the reviewed output is a drafted spec and this person may decide now.
    let item_review = record.status == GateStatus::Open
        && may_decide
        && draft.is_some()
        && reviewed
            .and_then(|s| s.output.clone())
            .is_some_and(|o| serde_json::from_value::<aine_spec::Draft>(o).is_ok());
    Ok(render(
        state,
        "gate.html",
        status,
        context! {
            me => caller.person.to_string(),
            nav => "review",
            gate => gate_item(state, &record),
            open => record.status == GateStatus::Open,
            why => gate_step.and_then(|s| s.why.clone()),
            reviews => reviews.map(|r| r.to_string()),
            reviewed => reviewed.map(|s| context! { id => s.id.to_string(), kind => s.kind.clone(), state => s.state.clone() }),
            output_text,
            reason => form.reason,
            edit_errors => form.edit_errors,
            reason_error => form.reason_error,
            error => form.error,
            may_decide,
            run => view.run.to_string(),
            draft,
            item_review,
            values => form.values,
            item_errors => form.item_errors,
            preview => form.preview,
        },
    ))
}

/// A gate: what it reviews, and forms to approve, reject with a reason, or edit.
#[utoipa::path(get, path = "/review/{gate}", tag = "ui",
    params(("gate" = String, Path, description = "Gate id")),
    responses((status = 200, description = "HTML", content_type = "text/html", body = String),
              (status = 404, description = "HTML", content_type = "text/html", body = String)))]
async fn gate_page(
    State(state): State<AppState>,
    caller: Option<Caller>,
    uri: OriginalUri,
    Path(gate): Path<String>,
) -> Page {
    let caller = signed_in(caller, &uri).map_err(IntoResponse::into_response)?;
    gate_view(&state, &caller, &gate, GateForm::default(), StatusCode::OK)
        .await
        .map_err(|err| error_page(&state, Some(&caller), &err))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct DecisionForm {
    /// `approve`, `reject` or `edit`.
    #[schema(pattern = "^(approve|reject|edit)$")]
    decision: String,
    #[serde(default)]
    reason: String,
    /// For `edit`: the replacement output, as JSON text.
    #[serde(default)]
    output: Option<String>,
}

/// Decides a gate from the web form; on success, to the run page. Errors are shown on the gate
/// page, next to the field they concern.
#[utoipa::path(post, path = "/review/{gate}", tag = "ui",
    params(("gate" = String, Path, description = "Gate id")),
    request_body(content = DecisionForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "Decided; to the run page"),
              (status = 404, description = "HTML", content_type = "text/html", body = String),
              (status = 415, description = "The form is not sent as `application/x-www-form-urlencoded`", body = crate::error::ErrorBody),
              (status = 400, description = "An unknown decision", content_type = "text/html", body = String),
              (status = 422, description = "HTML with the errors next to the field, or a form that lacks a field (JSON)", content((String = "text/html"), (crate::error::ErrorBody = "application/json")))))]
async fn gate_decide(
    State(state): State<AppState>,
    caller: Option<Caller>,
    uri: OriginalUri,
    Path(gate): Path<String>,
    ApiForm(form): ApiForm<DecisionForm>,
) -> Page {
    let caller = signed_in(caller, &uri).map_err(IntoResponse::into_response)?;
    let again = |f: GateForm, status: StatusCode| {
        let state = state.clone();
        let caller = caller.clone();
        let gate = gate.clone();
        async move {
            gate_view(&state, &caller, &gate, f, status)
                .await
                .unwrap_or_else(|err| error_page(&state, Some(&caller), &err))
        }
    };
    let decision = match form.decision.as_str() {
        "approve" => Decision::Approve,
        "reject" if form.reason.trim().is_empty() => {
            let f = GateForm {
                reason_error: Some("Say why you reject it.".to_owned()),
                ..GateForm::default()
            };
            return Err(again(f, StatusCode::UNPROCESSABLE_ENTITY).await);
        }
        "reject" => Decision::Reject,
        "edit" => {
            let text = form.output.clone().unwrap_or_default();
            match serde_json::from_str::<Value>(&text) {
                Ok(output) => Decision::Edit {
                    output,
                    changes: Vec::new(),
                },
                Err(e) => {
                    let f = GateForm {
                        output: Some(text),
                        reason: form.reason.clone(),
                        edit_errors: vec![format!(
                            "not valid JSON at line {}, column {}: {e}",
                            e.line(),
                            e.column()
                        )],
                        ..GateForm::default()
                    };
                    return Err(again(f, StatusCode::BAD_REQUEST).await);
                }
            }
        }
        other => {
            let err = ApiError::BadRequest(format!("unknown decision `{other}`"));
            return Err(error_page(&state, Some(&caller), &err));
        }
    };
    let gate_id = match parse_gate(&gate) {
        Ok(g) => g,
        Err(err) => return Err(error_page(&state, Some(&caller), &err)),
    };
    let is_edit = matches!(decision, Decision::Edit { .. });
    match record_decision(&state, &gate_id, &caller.person, decision, &form.reason).await {
        Ok(run) => Ok(Redirect::to(&format!("/runs/{run}")).into_response()),
        Err(err @ ApiError::Unprocessable { .. }) if is_edit => {
            let f = GateForm {
                output: form.output.clone(),
                reason: form.reason.clone(),
                edit_errors: if err.errors().is_empty() {
                    vec![err.to_string()]
                } else {
                    err.errors().to_vec()
                },
                ..GateForm::default()
            };
            Err(again(f, StatusCode::UNPROCESSABLE_ENTITY).await)
        }
        Err(err) if err.status().is_client_error() && err.status() != StatusCode::NOT_FOUND => {
            let f = GateForm {
                output: form.output.clone(),
                reason: form.reason.clone(),
                error: Some(err.to_string()),
                ..GateForm::default()
            };
            Err(again(f, err.status()).await)
        }
        Err(err) => Err(error_page(&state, Some(&caller), &err)),
    }
}

/// Unknown paths: JSON under `/api/`, a page elsewhere.
pub(crate) async fn not_found(State(state): State<AppState>, uri: OriginalUri) -> Response {
    let err = ApiError::NotFound(format!("nothing at `{}`", uri.0.path()));
    if uri.0.path().starts_with("/api/") {
        err.into_response()
    } else {
        error_page(&state, None, &err)
    }
}
