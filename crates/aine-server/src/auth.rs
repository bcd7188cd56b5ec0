//! Bearer tokens per person: created once (`aine token create --as PERSON`), stored as a
//! SHA-256 hash, presented as `Authorization: Bearer TOKEN` (API) or in the HttpOnly session
//! cookie set by the login form (web UI).
//!
//! What a person may do is decided by `aine.toml`, through the runtime's rules: people holding
//! a role may start runs ([`aine_runtime::Config::may_start_runs`]); a gate is decided by its
//! owner role or an admin (enforced by [`aine_runtime::Runtime::decide`]); everyone with a token
//! may read.

use std::convert::Infallible;

use aine_runtime::Config;
use aine_store::Store;
use aine_types::PersonId;
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use axum_extra::extract::cookie::CookieJar;
use rand::RngCore as _;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::ApiError;

/// The name of the session cookie holding the token in browsers.
pub const COOKIE: &str = "aine_token";

/// The prefix of every token, so that a leaked one is recognizable (e.g. by secret scanners).
pub const TOKEN_PREFIX: &str = "aine_";

/// Why a token could not be created.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(
        "`{person}` is not a person in aine.toml; add [people.{person}] first (known people: {known})"
    )]
    UnknownPerson { person: PersonId, known: String },
    #[error(transparent)]
    Store(#[from] aine_store::Error),
}

/// A new random token: `aine_` and 64 hex digits (256 bits from the OS's CSPRNG).
pub fn generate_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", hex::encode(bytes))
}

/// The SHA-256 of a token's text, hex: what the store keeps.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Creates a token for `person` (who must be in `config`), stores its hash, and returns the
/// token: the only time it is ever shown.
pub async fn create_token(
    store: &Store,
    config: &Config,
    person: &PersonId,
    label: &str,
    now_ms: i64,
) -> Result<String, TokenError> {
    if !config.people.contains_key(person) {
        return Err(TokenError::UnknownPerson {
            person: person.clone(),
            known: config
                .people
                .keys()
                .map(PersonId::as_str)
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let token = generate_token();
    store
        .create_token(&token_hash(&token), person, label, now_ms)
        .await?;
    Ok(token)
}

/// The authenticated person making a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub person: PersonId,
}

impl Caller {
    /// Refuses callers who may only read.
    pub fn may_start_runs(&self, config: &Config) -> Result<(), ApiError> {
        if config.may_start_runs(&self.person) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "`{}` holds no role in aine.toml and may only read; add them to a role under [roles] to let them start runs",
                self.person
            )))
        }
    }
}

/// The token presented: the bearer token, else the session cookie.
fn presented_token(parts: &Parts) -> Option<String> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let text = value.to_str().ok()?;
        let (scheme, token) = text.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned());
    }
    let jar = CookieJar::from_headers(&parts.headers);
    jar.get(COOKIE).map(|c| c.value().to_owned())
}

/// The person a token belongs to, if it is valid and the person is still configured.
pub(crate) async fn person_for(
    state: &AppState,
    token: &str,
) -> Result<Option<PersonId>, ApiError> {
    if !token.starts_with(TOKEN_PREFIX) {
        return Ok(None);
    }
    let person = state
        .runtime()
        .store()
        .token_person(&token_hash(token))
        .await?;
    Ok(person.filter(|p| state.runtime().config().people.contains_key(p)))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = presented_token(parts).ok_or(ApiError::Unauthorized)?;
        let person = person_for(state, &token)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        Ok(Caller { person })
    }
}

impl OptionalFromRequestParts<AppState> for Caller {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Infallible> {
        Ok(
            <Caller as FromRequestParts<AppState>>::from_request_parts(parts, state)
                .await
                .ok(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_random_and_hashed() {
        let a = generate_token();
        let b = generate_token();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 64);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }
}
