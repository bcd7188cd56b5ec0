//! The UI's pages over records: the audit log (the chain's status and its entries, newest
//! first, paged, filtered by run and person) and the outcome metrics (as `aine metrics runs`).
//! Only assembly for display: the entries come from the store, the metrics from the runtime.

use aine_store::AuditRecord;
use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use minijinja::context;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::api::{ApiQuery, since_ms};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::ui::{Page, error_page, render, signed_in};

/// Entries per page of the audit log.
const PAGE: u32 = 50;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditPageQuery {
    /// Also check the published files.
    #[serde(default)]
    files: bool,
    /// Only entries of this run (`run_<ULID>`).
    #[serde(default)]
    run: Option<String>,
    /// Only entries of this person (or `system`).
    #[serde(default)]
    person: Option<String>,
    /// Only entries older than this sequence number (the next page).
    #[serde(default)]
    #[param(minimum = 1)]
    before: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct OutcomesQuery {
    /// Only runs started on or after this date (YYYY-MM-DD, UTC); empty or not a date: every
    /// run, and the page says so.
    #[serde(default)]
    since: Option<String>,
}

/// An audit entry as the page lists it.
#[derive(Debug, Serialize)]
struct EntryRow {
    seq: u64,
    at: String,
    kind: String,
    run: Option<String>,
    actor: String,
    /// What happened, in a line.
    what: String,
}

/// A line saying what an entry records: the fields people look for first, else the payload.
fn what(entry: &AuditRecord) -> String {
    let p = &entry.payload;
    let field = |k: &str| p.get(k).and_then(|v| v.as_str()).unwrap_or_default();
    let text = match entry.kind.as_str() {
        "gate.decided" => format!(
            "{} at step {}{}",
            field("decision"),
            field("step"),
            match field("reason") {
                "" => String::new(),
                r => format!(": {r}"),
            }
        ),
        "gate.opened" => format!("step {} for {}", field("step"), field("owner")),
        "model.escalated" => format!("to {}: {}", field("model"), field("reason")),
        "spec.published" => format!(
            "{} files",
            p.get("files")
                .and_then(|f| f.as_array())
                .map_or(0, Vec::len)
        ),
        "run.finished" => format!("{}: {}", field("status"), field("why")),
        _ => p.to_string(),
    };
    if text.chars().count() > 200 {
        format!("{}…", text.chars().take(199).collect::<String>())
    } else {
        text
    }
}

fn time(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|_| ms.to_string())
}

/// The audit log: the chain's status and its entries, newest first.
#[utoipa::path(get, path = "/audit", tag = "ui", params(AuditPageQuery),
    responses((status = 200, description = "HTML", content_type = "text/html", body = String),
              (status = 400, description = "A malformed query", body = crate::error::ErrorBody)))]
pub(crate) async fn audit_page(
    State(state): State<AppState>,
    caller: Option<Caller>,
    uri: OriginalUri,
    query: Result<ApiQuery<AuditPageQuery>, ApiError>,
) -> Page {
    // Who asks comes first: a malformed query from someone not signed in goes to the login.
    let caller = signed_in(caller, &uri).map_err(IntoResponse::into_response)?;
    let ApiQuery(q) = query.map_err(IntoResponse::into_response)?;
    if q.before.is_some_and(|b| b < 1) {
        return Err(
            ApiError::BadRequest("`before` is an entry number, 1 or more".to_owned())
                .into_response(),
        );
    }
    let run = q.run.as_deref().map(str::trim).filter(|r| !r.is_empty());
    let person = q.person.as_deref().map(str::trim).filter(|p| !p.is_empty());
    let result = async {
        let audit = crate::api::audit(&state, q.files).await?;
        let entries = state
            .runtime()
            .store()
            .audit_page(
                run,
                person,
                q.before.and_then(|b| u64::try_from(b).ok()),
                PAGE,
            )
            .await?;
        Ok::<_, ApiError>((audit, entries))
    }
    .await;
    match result {
        Ok((audit, entries)) => {
            let older = (entries.len() == PAGE as usize)
                .then(|| entries.last().map(|e| e.seq))
                .flatten();
            let rows: Vec<EntryRow> = entries
                .iter()
                .map(|e| EntryRow {
                    seq: e.seq,
                    at: time(e.at_ms),
                    kind: e.kind.clone(),
                    run: e.run.clone(),
                    actor: e.actor.clone(),
                    what: what(e),
                })
                .collect();
            Ok(render(
                &state,
                "audit.html",
                StatusCode::OK,
                context! {
                    me => caller.person.to_string(),
                    audit,
                    checked_files => q.files,
                    entries => rows,
                    run => run.unwrap_or_default(),
                    person => person.unwrap_or_default(),
                    older,
                    paged => q.before.is_some(),
                    nav => "audit",
                },
            ))
        }
        Err(err) => Err(error_page(&state, Some(&caller), &err)),
    }
}

/// Outcome metrics of the stored runs (as `aine metrics runs`): per workflow cycle time, review
/// wait and cost per published item; per gate rejection and edit rates; per model step
/// escalation and fallback rates; per week.
#[utoipa::path(get, path = "/outcomes", tag = "ui", params(OutcomesQuery),
    responses((status = 200, description = "HTML", content_type = "text/html", body = String),
              (status = 400, description = "A malformed query", body = crate::error::ErrorBody)))]
pub(crate) async fn metrics_page(
    State(state): State<AppState>,
    caller: Option<Caller>,
    uri: OriginalUri,
    query: Result<ApiQuery<OutcomesQuery>, ApiError>,
) -> Page {
    let caller = signed_in(caller, &uri).map_err(IntoResponse::into_response)?;
    let ApiQuery(q) = query.map_err(IntoResponse::into_response)?;
    // A date field left empty, or a date that is not one, shows every run (and says why).
    let asked = q.since.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let (since, from, not_a_date) = match asked.map(|s| (s, since_ms(Some(s)))) {
        None => (None, 0, None),
        Some((s, Ok(ms))) => (Some(s), ms, None),
        Some((s, Err(_))) => (None, 0, Some(s)),
    };
    match state.runtime().metrics(from).await {
        Ok(metrics) => Ok(render(
            &state,
            "metrics.html",
            StatusCode::OK,
            context! { me => caller.person.to_string(), metrics, since, not_a_date, nav => "metrics" },
        )),
        Err(err) => Err(error_page(&state, Some(&caller), &err.into())),
    }
}
