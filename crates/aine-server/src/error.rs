//! The one HTTP error type: every failure of a handler becomes an [`ApiError`], mapped to a
//! status code here and nowhere else. 5xx bodies carry a fixed message; the detail goes to the
//! log only.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// What a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed (bad JSON, a body of the wrong shape, a bad query).
    #[error("{0}")]
    BadRequest(String),
    /// No token, or a token that is unknown or revoked.
    #[error("a valid bearer token is required; create one with `aine token create --as PERSON`")]
    Unauthorized,
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// No such run, gate, workflow file or spec.
    #[error("{0}")]
    NotFound(String),
    /// The resource is not in a state that allows this (a gate already decided, a run finished).
    #[error("{0}")]
    Conflict(String),
    /// The body is larger than the server accepts.
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// The body is not JSON (wrong or missing `Content-Type`).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Well-formed, but breaks a rule: an edit against the step's contract, inputs against the
    /// workflow's `inputs`, an invalid workflow. `errors` lists each problem.
    #[error("{message}")]
    Unprocessable {
        code: &'static str,
        message: String,
        errors: Vec<String>,
    },
    /// The database is busy (another process holds its write lock); retry later.
    #[error("the database is busy; retry in a moment")]
    Unavailable,
    /// Anything else. The detail is logged, never sent.
    #[error("internal error")]
    Internal(String),
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// The HTTP status code, repeated.
    pub status: u16,
    /// A stable machine-readable code, e.g. `not_found`, `edit_breaks_contract`.
    pub code: String,
    /// A sentence for people.
    pub message: String,
    /// Each problem, for `422` (contract and input errors); empty otherwise.
    pub errors: Vec<String>,
}

impl ApiError {
    /// The status code of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::Unprocessable { code, .. } => code,
            ApiError::Unavailable => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The errors listed in a 422 body.
    pub fn errors(&self) -> &[String] {
        match self {
            ApiError::Unprocessable { errors, .. } => errors,
            _ => &[],
        }
    }

    /// The body sent to the client: for 5xx a fixed sentence, never the detail.
    pub fn body(&self) -> ErrorBody {
        let status = self.status();
        let message = if status.is_server_error() {
            match self {
                ApiError::Unavailable => self.to_string(),
                _ => "internal error; the server log has the details".to_owned(),
            }
        } else {
            self.to_string()
        };
        ErrorBody {
            error: ErrorDetail {
                status: status.as_u16(),
                code: self.code().to_owned(),
                message,
                errors: self.errors().to_vec(),
            },
        }
    }

    /// Logs the detail of server errors (called once, where the response is made).
    pub(crate) fn log(&self) {
        if let ApiError::Internal(detail) = self {
            tracing::error!(target: "aine_server", "{detail}");
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.log();
        let mut response = (self.status(), Json(self.body())).into_response();
        if matches!(self, ApiError::Unauthorized) {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"aine\""),
            );
        }
        response
    }
}

/// The response to a handler that panicked: 500, `internal`, the panic message logged only.
pub(crate) fn panic_response(payload: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = aine_runtime::panic_message(payload.as_ref());
    ApiError::Internal(format!("a request handler panicked: {message}")).into_response()
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::QueryRejection) -> Self {
        ApiError::BadRequest(format!(
            "the query string is not valid: {}",
            rejection.body_text()
        ))
    }
}

impl From<axum::extract::rejection::FormRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::FormRejection) -> Self {
        match rejection.status() {
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(
                "send the form as `application/x-www-form-urlencoded`".to_owned(),
            ),
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge {
                limit: crate::BODY_LIMIT_BYTES,
            },
            StatusCode::UNPROCESSABLE_ENTITY => ApiError::Unprocessable {
                code: "invalid_form",
                errors: vec![rejection.body_text()],
                message: "the form is not valid".to_owned(),
            },
            _ => ApiError::BadRequest(format!("the form is not valid: {}", rejection.body_text())),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge {
                limit: crate::BODY_LIMIT_BYTES,
            },
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(
                "send the body as JSON with `Content-Type: application/json`".to_owned(),
            ),
            _ => ApiError::BadRequest(format!("the body is not valid: {}", rejection.body_text())),
        }
    }
}

impl From<aine_store::Error> for ApiError {
    fn from(err: aine_store::Error) -> Self {
        use aine_store::Error as E;
        match err {
            E::UnknownRun(_) | E::UnknownGate(_) => ApiError::NotFound(err.to_string()),
            E::GateNotOpen(_) | E::Conflict { .. } | E::DuplicateRun(_) => {
                ApiError::Conflict(err.to_string())
            }
            E::Locked { .. } => ApiError::Unavailable,
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<aine_runtime::Error> for ApiError {
    fn from(err: aine_runtime::Error) -> Self {
        use aine_runtime::Error as E;
        match err {
            E::Store(e) => e.into(),
            E::GateNotOpen { .. } | E::RunFinished { .. } | E::RunWaiting { .. } => {
                ApiError::Conflict(err.to_string())
            }
            E::UnknownPerson { .. } | E::NotOwner { .. } => ApiError::Forbidden(err.to_string()),
            E::EditBreaksContract { ref errors, .. } => ApiError::Unprocessable {
                code: "edit_breaks_contract",
                errors: errors.clone(),
                message: err.to_string(),
            },
            E::Inputs(ref errors) => ApiError::Unprocessable {
                code: "invalid_inputs",
                errors: errors.clone(),
                message: err.to_string(),
            },
            E::PathRefused(ref errors) => ApiError::Unprocessable {
                code: "path_refused",
                errors: errors.clone(),
                message: err.to_string(),
            },
            E::EditNotAllowed { .. } | E::EditRequired { .. } => ApiError::Unprocessable {
                code: "decision_not_allowed",
                errors: Vec::new(),
                message: err.to_string(),
            },
            E::Workflow(aine_workflow::LoadError::Invalid(ref diagnostics)) => {
                ApiError::Unprocessable {
                    code: "invalid_workflow",
                    errors: diagnostics.to_string().lines().map(str::to_owned).collect(),
                    message: "the workflow is not valid".to_owned(),
                }
            }
            E::Workflow(aine_workflow::LoadError::Io { ref path, .. }) | E::Io { ref path, .. } => {
                ApiError::NotFound(format!("cannot read workflow file `{}`", path.display()))
            }
            other => ApiError::Internal(format!("{other:#}")),
        }
    }
}

/// The result type of handlers.
pub type ApiResult<T> = Result<T, ApiError>;
