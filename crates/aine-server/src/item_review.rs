//! The item-by-item review form of a gate page: one decision per drafted item (accept, edit,
//! reject, move to the open questions), requirements added, a preview of the changes, and one
//! gate decision (`edit`, carrying the per-item changes) on submit. The rules are
//! [`aine_sdlc::review::apply`]'s; this module only reads the form and shows the result.

use std::collections::{BTreeMap, HashMap, HashSet};

use aine_sdlc::review::{self, FieldError, ItemAction, ItemReview, NewRequirement, Review};
use aine_spec::Draft;
use aine_types::{ChangeKind, Decision};
use axum::extract::{OriginalUri, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Serialize;

use crate::AppState;
use crate::api::{ApiForm, parse_gate, record_decision};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::ui::{GateForm, Page, error_page, gate_view, signed_in};

/// What the form said, besides the review itself.
pub(crate) struct ReviewForm {
    pub review: Review,
    /// The reason for the whole decision.
    pub reason: String,
    /// Whether the reviewer asked for a preview instead of deciding.
    pub preview: bool,
    /// Every field as sent, to fill the form in again.
    pub values: HashMap<String, String>,
}

/// Reads the form's fields: `action.ID` (`accept`, `edit`, `reject`, `to_question`), `text.ID`,
/// `reason.ID` for each drafted item; `new_text.N`, `new_sources.N` (ids separated by commas or
/// spaces), `new_reason.N` for each added requirement; `reason`; `submit` (`preview` or
/// `decide`). An `accept` whose text was changed is an edit.
pub(crate) fn read_form(fields: Vec<(String, String)>) -> Result<ReviewForm, ApiError> {
    let values: HashMap<String, String> = fields.into_iter().collect();
    let field = |name: &str| values.get(name).map(String::as_str).unwrap_or_default();
    let mut review = Review::default();
    let mut actions: Vec<(&str, &str)> = values
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("action.")?, v.as_str())))
        .collect();
    actions.sort_unstable();
    for (id, action) in actions {
        let text = values.get(&format!("text.{id}")).cloned();
        let action = match action {
            "accept" if text.is_some() => ItemAction::Edit,
            "accept" => ItemAction::Accept,
            "edit" => ItemAction::Edit,
            "reject" => ItemAction::Reject,
            "to_question" => ItemAction::ToQuestion,
            other => {
                return Err(ApiError::BadRequest(format!(
                    "unknown action `{other}` for {id}; use accept, edit, reject or to_question"
                )));
            }
        };
        review.items.push(ItemReview {
            id: id.to_owned(),
            action,
            text,
            reason: values.get(&format!("reason.{id}")).cloned(),
        });
    }
    let mut added: Vec<&str> = values
        .keys()
        .filter_map(|k| k.strip_prefix("new_text."))
        .collect();
    added.sort_unstable_by_key(|n| n.parse::<u32>().unwrap_or(u32::MAX));
    for n in added {
        let text = field(&format!("new_text.{n}")).trim().to_owned();
        let sources: Vec<String> = field(&format!("new_sources.{n}"))
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if text.is_empty() && sources.is_empty() {
            continue;
        }
        review.added.push(NewRequirement {
            text,
            sources,
            reason: values.get(&format!("new_reason.{n}")).cloned(),
        });
    }
    Ok(ReviewForm {
        review,
        reason: field("reason").trim().to_owned(),
        preview: field("submit") == "preview",
        values,
    })
}

/// One line of the preview: what the decision would do to an item.
#[derive(Debug, Serialize)]
pub(crate) struct PreviewLine {
    pub item: String,
    /// `accepted`, `edited`, `rejected`, `added`, `moved_to_questions`.
    pub change: &'static str,
    pub before: Option<String>,
    pub after: Option<String>,
    pub reason: Option<String>,
    pub became: Option<String>,
}

fn texts(draft: &Draft) -> HashMap<&str, &str> {
    draft
        .requirements
        .iter()
        .map(|r| (r.id.as_str(), r.text.as_str()))
        .chain(
            draft
                .user_stories
                .iter()
                .map(|s| (s.id.as_str(), s.text.as_str())),
        )
        .chain(
            draft
                .open_questions
                .iter()
                .map(|q| (q.id.as_str(), q.text.as_str())),
        )
        .collect()
}

/// The changes other than acceptances, as preview lines.
fn preview(before: &Draft, reviewed: &review::Reviewed) -> Vec<PreviewLine> {
    let old = texts(before);
    let new = texts(&reviewed.draft);
    reviewed
        .changes
        .iter()
        .filter(|c| c.change != ChangeKind::Accepted)
        .map(|c| PreviewLine {
            item: c.item.clone(),
            change: c.change.as_str(),
            before: old.get(c.item.as_str()).map(|t| (*t).to_owned()),
            after: c
                .became
                .as_deref()
                .or(Some(c.item.as_str()))
                .and_then(|id| new.get(id))
                .map(|t| (*t).to_owned()),
            reason: c.reason.clone(),
            became: c.became.clone(),
        })
        .collect()
}

/// Errors by item id (`new-1` for the first added requirement, `review` for the whole).
fn by_item(errors: Vec<FieldError>) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in errors {
        out.entry(e.item)
            .or_default()
            .push(format!("{}: {}", e.field, e.message));
    }
    out
}

/// Reviews a drafted spec item by item; with `submit=preview` shows what would change,
/// otherwise decides the gate (an `edit` with the per-item changes) and goes to the run page.
/// Errors are shown on the gate page next to the item they concern.
#[utoipa::path(post, path = "/review/{gate}/items", tag = "ui",
    params(("gate" = String, Path, description = "Gate id")),
    request_body(content = HashMap<String, String>, content_type = "application/x-www-form-urlencoded",
        description = "`action.ID`, `text.ID`, `reason.ID` per item; `new_text.N`, `new_sources.N`, `new_reason.N` per added requirement; `reason`; `submit` (`preview` or `decide`)"),
    responses((status = 200, description = "The preview (HTML)", content_type = "text/html", body = String),
              (status = 303, description = "Decided; to the run page"),
              (status = 400, description = "An unknown action", content_type = "text/html", body = String),
              (status = 404, description = "HTML", content_type = "text/html", body = String),
              (status = 409, description = "Already decided (HTML, saying by whom)", content_type = "text/html", body = String),
              (status = 403, description = "Not the gate's owner (HTML)", content_type = "text/html", body = String),
              (status = 415, description = "The form is not sent as `application/x-www-form-urlencoded`", body = crate::error::ErrorBody),
              (status = 422, description = "HTML with the errors next to the items", content_type = "text/html", body = String)))]
pub(crate) async fn review_items(
    State(state): State<AppState>,
    caller: Option<Caller>,
    uri: OriginalUri,
    Path(gate): Path<String>,
    ApiForm(fields): ApiForm<Vec<(String, String)>>,
) -> Page {
    let caller = signed_in(caller, &uri).map_err(IntoResponse::into_response)?;
    match decide(&state, &caller, &gate, fields).await {
        Ok(response) => Ok(response),
        Err(err) => Err(error_page(&state, Some(&caller), &err)),
    }
}

async fn decide(
    state: &AppState,
    caller: &Caller,
    gate: &str,
    fields: Vec<(String, String)>,
) -> Result<Response, ApiError> {
    let form = read_form(fields)?;
    let gate_id = parse_gate(gate)?;
    let record = state.runtime().store().gate(&gate_id).await?;
    let inspected = state.runtime().inspect(&record.run).await?;
    let (_, draft) = aine_sdlc::review::reviewed_draft(&inspected, &record.step).map_err(|e| {
        ApiError::BadRequest(format!(
            "this gate does not review a drafted spec ({e}); decide it with approve, reject or a JSON edit"
        ))
    })?;
    let sentences = aine_sdlc::trace::spec_input(&inspected)
        .map(|(_, input)| input.sentences)
        .unwrap_or_default();
    let known: HashSet<&str> = sentences.iter().map(|s| s.source.id.as_str()).collect();
    let again = |f: GateForm, status| gate_view(state, caller, gate, f, status);
    let reviewed = match review::apply(&draft, &known, &form.review) {
        Ok(r) => r,
        Err(errors) => {
            let f = GateForm {
                values: form.values,
                item_errors: by_item(errors),
                reason: form.reason,
                ..GateForm::default()
            };
            return again(f, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    if form.preview {
        let f = GateForm {
            preview: Some(preview(&draft, &reviewed)),
            values: form.values,
            reason: form.reason,
            ..GateForm::default()
        };
        return again(f, StatusCode::OK).await;
    }
    let output = serde_json::to_value(&reviewed.draft)
        .map_err(|e| ApiError::Internal(format!("the reviewed draft: {e}")))?;
    let decision = Decision::Edit {
        output,
        changes: reviewed.changes,
    };
    match record_decision(state, &gate_id, &caller.person, decision, &form.reason).await {
        Ok(run) => Ok(Redirect::to(&format!("/runs/{run}")).into_response()),
        Err(err @ ApiError::Unprocessable { .. }) => {
            let mut messages = err.errors().to_vec();
            if messages.is_empty() {
                messages.push(err.to_string());
            }
            let f = GateForm {
                values: form.values,
                item_errors: BTreeMap::from([("review".to_owned(), messages)]),
                reason: form.reason,
                ..GateForm::default()
            };
            again(f, err.status()).await
        }
        // Not the owner, decided by someone else meanwhile: said at the top of the page, which
        // then shows who decided.
        Err(err) if err.status().is_client_error() && err.status() != StatusCode::NOT_FOUND => {
            let f = GateForm {
                error: Some(err.to_string()),
                ..GateForm::default()
            };
            again(f, err.status()).await
        }
        Err(err) => Err(err),
    }
}
