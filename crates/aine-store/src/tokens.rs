//! Bearer tokens of the HTTP API: only their SHA-256 is stored (migration `0003_tokens.sql`).
//!
//! The store neither creates nor hashes tokens (that is the server's job); it keeps hashes and
//! says whose they are.

use aine_types::PersonId;
use serde::Serialize;

use crate::records::{decode_error, get};
use crate::{Result, Store};

/// A stored token, without the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenRecord {
    /// SHA-256 of the token's text, hex.
    pub sha256: String,
    pub person: PersonId,
    /// What it is for, as given at creation (may be empty).
    pub label: String,
    /// Milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    /// Milliseconds since the Unix epoch; `Some` once revoked.
    pub revoked_at_ms: Option<i64>,
}

impl Store {
    /// Stores the hash of a new token of `person`. `sha256` is the hex SHA-256 of the token.
    ///
    /// Errors: [`crate::Error::ReadOnly`], [`crate::Error::Locked`]; a hash that is already
    /// stored is a [`crate::Error::Sqlite`] constraint failure (it cannot happen with random
    /// 256-bit tokens).
    pub async fn create_token(
        &self,
        sha256: &str,
        person: &PersonId,
        label: &str,
        at_ms: i64,
    ) -> Result<()> {
        let row = (sha256.to_owned(), person.to_string(), label.to_owned());
        self.writer()?
            .write(move |w| {
                w.conn
                    .execute(
                        "INSERT INTO tokens (sha256, person, label, created_at_ms) \
                         VALUES (?1, ?2, ?3, ?4)",
                        rusqlite::params![row.0, row.1, row.2, at_ms],
                    )
                    .map_err(|err| w.err(err))?;
                Ok(())
            })
            .await
    }

    /// The person whose valid (not revoked) token hashes to `sha256`, if any.
    pub async fn token_person(&self, sha256: &str) -> Result<Option<PersonId>> {
        let person: Option<String> = sqlx::query_scalar(
            "SELECT person FROM tokens WHERE sha256 = ?1 AND revoked_at_ms IS NULL",
        )
        .bind(sha256)
        .fetch_optional(&self.inner.reader)
        .await
        .map_err(|err| self.map_err(err))?;
        person
            .map(|p| {
                p.parse::<PersonId>().map_err(|e| {
                    decode_error(self.path(), "a token's person".to_owned(), e.to_string())
                })
            })
            .transpose()
    }

    /// Every token of `person` (all people when `None`), newest first.
    pub async fn tokens(&self, person: Option<&PersonId>) -> Result<Vec<TokenRecord>> {
        let rows = sqlx::query(
            "SELECT sha256, person, label, created_at_ms, revoked_at_ms FROM tokens \
             WHERE ?1 IS NULL OR person = ?1 ORDER BY created_at_ms DESC, sha256",
        )
        .bind(person.map(PersonId::as_str))
        .fetch_all(&self.inner.reader)
        .await
        .map_err(|err| self.map_err(err))?;
        rows.iter()
            .map(|row| {
                let person: &str = get(self.path(), row, 1)?;
                Ok(TokenRecord {
                    sha256: get(self.path(), row, 0)?,
                    person: person.parse().map_err(|e: aine_types::IdError| {
                        decode_error(self.path(), "a token's person".to_owned(), e.to_string())
                    })?,
                    label: get(self.path(), row, 2)?,
                    created_at_ms: get(self.path(), row, 3)?,
                    revoked_at_ms: get(self.path(), row, 4)?,
                })
            })
            .collect()
    }

    /// Revokes the token hashing to `sha256`; returns whether a valid token was revoked.
    pub async fn revoke_token(&self, sha256: &str, at_ms: i64) -> Result<bool> {
        let sha256 = sha256.to_owned();
        let revoked = self
            .writer()?
            .write(move |w| {
                w.conn
                    .execute(
                        "UPDATE tokens SET revoked_at_ms = ?2 \
                         WHERE sha256 = ?1 AND revoked_at_ms IS NULL",
                        rusqlite::params![sha256, at_ms],
                    )
                    .map_err(|err| w.err(err))
            })
            .await?;
        Ok(revoked > 0)
    }
}
