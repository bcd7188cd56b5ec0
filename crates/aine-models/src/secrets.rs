//! Where API keys come from: the *name* of an environment variable is configured, its value is
//! read at call time and never stored in config, errors, `Debug` output or logs.

use std::collections::BTreeMap;
use std::fmt;

use crate::ModelError;

/// A source of secret values by variable name.
pub trait Secrets: Send + Sync + fmt::Debug {
    /// The value of `variable`, or `None` when it is unset.
    fn get(&self, variable: &str) -> Option<String>;
}

/// The process environment (`std::env::var`). The default source.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Secrets for ProcessEnv {
    fn get(&self, variable: &str) -> Option<String> {
        std::env::var(variable).ok()
    }
}

/// Fixed values, for tests and embedding (edition 2024 makes `std::env::set_var` unsafe, and
/// this workspace forbids unsafe code). `Debug` prints the variable names only.
#[derive(Clone, Default)]
pub struct StaticSecrets(BTreeMap<String, String>);

impl StaticSecrets {
    /// Secrets from `(variable, value)` pairs.
    pub fn new<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

impl fmt::Debug for StaticSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticSecrets")
            .field("variables", &self.0.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Secrets for StaticSecrets {
    fn get(&self, variable: &str) -> Option<String> {
        self.0.get(variable).cloned()
    }
}

/// The key held by `variable`; unset or blank → [`ModelError::MissingApiKey`] naming it.
pub(crate) fn api_key(secrets: &dyn Secrets, variable: &str) -> Result<String, ModelError> {
    match secrets.get(variable) {
        Some(value) if !value.trim().is_empty() => Ok(value.trim().to_owned()),
        _ => Err(ModelError::MissingApiKey {
            variable: variable.to_owned(),
        }),
    }
}

/// `value` as a header value marked sensitive (hidden from `Debug` of requests); a value that
/// cannot be sent in a header is [`ModelError::Unavailable`] naming `variable`, never the value.
pub(crate) fn header_value(
    value: &str,
    variable: &str,
) -> Result<reqwest::header::HeaderValue, ModelError> {
    let mut header = reqwest::header::HeaderValue::from_str(value).map_err(|_| ModelError::Unavailable {
        message: format!("environment variable `{variable}` holds characters that cannot be sent in an http header"),
    })?;
    header.set_sensitive(true);
    Ok(header)
}
