//! Secrets never reach the journal, and so never the audit log, `aine show`, traces, exports or
//! published files, which are all derived from it: every event is redacted *before* it is
//! journaled, and the run continues from the redacted event (a resumed run sees exactly what a
//! live one saw).
//!
//! What is redacted, in every string of an event (step inputs and outputs, model answers, error
//! messages, gate reasons and edits, run inputs):
//! - the values of the environment variables that configured models name in `api_key_env`
//!   (read once when the runtime starts; values shorter than 8 bytes are ignored, since such a
//!   value would match ordinary words);
//! - well-known credential formats ([`BUILTIN_PATTERNS`], after the gitleaks rule set, MIT);
//! - the regular expressions configured in `aine.toml`:
//!
//! ```toml
//! [secrets]
//! patterns = ["tok_[a-z0-9]{32}"]   # Rust `regex` syntax
//! ```
//!
//! A match becomes `[REDACTED:NAME]` (`api-key` for a key value, the builtin pattern's name, or
//! `pattern-N` for the N-th configured pattern, 1-based).

use aine_types::Event;
use regex::{Regex, RegexSet};
use serde_json::Value;

/// Credential formats redacted without configuration, as `(name, regex)`. Sources: the gitleaks
/// default rules (github.com/gitleaks/gitleaks, `config/gitleaks.toml`) for OpenAI, Anthropic,
/// AWS access key ids, GitHub tokens, Google API keys and Slack tokens.
pub const BUILTIN_PATTERNS: [(&str, &str); 6] = [
    ("anthropic-key", r"sk-ant-[A-Za-z0-9_\-]{20,}"),
    (
        "openai-key",
        r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}",
    ),
    (
        "aws-access-key-id",
        r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b",
    ),
    ("github-token", r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    ("google-api-key", r"\bAIza[0-9A-Za-z_\-]{35}\b"),
    ("slack-token", r"\bxox[baprs]-[A-Za-z0-9\-]{10,}"),
];

/// Shortest key value redacted literally, in bytes.
const MIN_SECRET_LEN: usize = 8;

/// Why a configured secret pattern is unusable.
#[derive(Debug, thiserror::Error)]
#[error("secret pattern {index} `{pattern}` is not a valid regular expression: {message}")]
pub struct PatternError {
    /// 1-based position in `[secrets] patterns`.
    pub index: usize,
    pub pattern: String,
    pub message: String,
}

/// Replaces secrets in events before they are journaled. Cheap when nothing matches: one scan
/// of the serialized event by a regex set and one substring search per key value.
#[derive(Clone)]
pub struct Redactor {
    names: Vec<String>,
    set: RegexSet,
    regexes: Vec<Regex>,
    values: Vec<String>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the values: only how many there are.
        f.debug_struct("Redactor")
            .field("patterns", &self.names)
            .field("values", &self.values.len())
            .finish()
    }
}

impl Default for Redactor {
    fn default() -> Self {
        Self::builtin()
    }
}

impl Redactor {
    /// A redactor for the builtin patterns and `patterns` (from `[secrets]`).
    ///
    /// # Errors
    /// [`PatternError`] for a configured pattern that does not compile.
    pub fn new(patterns: &[String]) -> Result<Self, PatternError> {
        let builtin = BUILTIN_PATTERNS
            .iter()
            .map(|(name, p)| ((*name).to_owned(), (*p).to_owned()));
        let configured = patterns
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("pattern-{}", i + 1), p.clone()));
        let mut names = Vec::new();
        let mut regexes = Vec::new();
        for (i, (name, pattern)) in builtin.chain(configured).enumerate() {
            let re = Regex::new(&pattern).map_err(|e| PatternError {
                index: (i + 1).saturating_sub(BUILTIN_PATTERNS.len()),
                pattern: pattern.clone(),
                message: e.to_string(),
            })?;
            names.push(name);
            regexes.push(re);
        }
        let set = RegexSet::new(regexes.iter().map(Regex::as_str)).map_err(|e| PatternError {
            index: 0,
            pattern: String::new(),
            message: e.to_string(),
        })?;
        Ok(Self {
            names,
            set,
            regexes,
            values: Vec::new(),
        })
    }

    /// The builtin patterns only.
    pub fn builtin() -> Self {
        Self::new(&[]).unwrap_or_else(|_| Self {
            // The builtin patterns are constants compiled by a unit test; should that ever
            // break, redacting nothing by pattern (key values still are) beats refusing to run.
            names: Vec::new(),
            set: RegexSet::empty(),
            regexes: Vec::new(),
            values: Vec::new(),
        })
    }

    /// Also redact these literal secret values (e.g. API keys read from the environment);
    /// values shorter than 8 bytes are ignored.
    pub fn with_values(mut self, values: impl IntoIterator<Item = String>) -> Self {
        self.values
            .extend(values.into_iter().filter(|v| v.len() >= MIN_SECRET_LEN));
        // Longest first, so a key that contains another is replaced whole.
        self.values
            .sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        self.values.dedup();
        self
    }

    /// Whether `text` holds a secret.
    pub fn matches(&self, text: &str) -> bool {
        self.set.is_match(text) || self.values.iter().any(|v| text.contains(v.as_str()))
    }

    /// `text` with every secret replaced by `[REDACTED:NAME]`.
    pub fn redact_str(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for value in &self.values {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), "[REDACTED:api-key]");
            }
        }
        for i in self.set.matches(&out).into_iter().collect::<Vec<_>>() {
            if let (Some(re), Some(name)) = (self.regexes.get(i), self.names.get(i)) {
                out = re
                    .replace_all(&out, format!("[REDACTED:{name}]").as_str())
                    .into_owned();
            }
        }
        out
    }

    /// `value` with every string (and object key) redacted.
    pub fn redact_value(&self, value: &mut Value) {
        match value {
            Value::String(s) => {
                if self.matches(s) {
                    *s = self.redact_str(s);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_value(v)),
            Value::Object(map) => {
                if map.keys().any(|k| self.matches(k)) {
                    let old = std::mem::take(map);
                    for (k, mut v) in old {
                        self.redact_value(&mut v);
                        map.insert(self.redact_str(&k), v);
                    }
                } else {
                    map.values_mut().for_each(|v| self.redact_value(v));
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    /// `event` with its secrets redacted; the event itself when it holds none (the common case
    /// costs one serialization and one scan).
    pub fn redact_event(&self, event: Event) -> Event {
        let Ok(mut value) = serde_json::to_value(&event) else {
            return event;
        };
        let Ok(text) = serde_json::to_string(&value) else {
            return event;
        };
        if !self.matches(&text) {
            return event;
        }
        self.redact_value(&mut value);
        serde_json::from_value(value).unwrap_or(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aine_types::{CallResult, Outcome, Spend, StepId};
    use serde_json::json;

    #[test]
    fn builtin_patterns_compile_and_match_their_formats() {
        let r = Redactor::new(&[]).unwrap();
        for (text, name) in [
            (
                "key sk-proj-abcdefghijklmnopqrstuvwx1234 here",
                "openai-key",
            ),
            ("sk-ant-api03-abcdefghijklmnopqrstuvwxyz", "anthropic-key"),
            ("AKIAIOSFODNN7EXAMPLE", "aws-access-key-id"),
            ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", "github-token"),
        ] {
            let out = r.redact_str(text);
            assert!(
                out.contains(&format!("[REDACTED:{name}]")),
                "{text} -> {out}"
            );
        }
        assert_eq!(
            r.redact_str("the skeleton key is askew"),
            "the skeleton key is askew"
        );
    }

    #[test]
    fn values_and_configured_patterns_are_redacted_everywhere_in_an_event() {
        let r = Redactor::new(&["tok_[a-z0-9]{8}".to_owned()])
            .unwrap()
            .with_values(["canary-9f8e7d6c".to_owned(), "short".to_owned()]);
        let event = Event::StepFinished {
            step: StepId::new("draft").unwrap(),
            attempt: 1,
            outcome: Outcome::Ok {
                value: json!({"a": ["x canary-9f8e7d6c y", {"tok_abcdef12": "short"}]}),
            },
            why: "said tok_12345678".to_owned(),
            duration_ms: 1,
        };
        let text = serde_json::to_string(&r.redact_event(event)).unwrap();
        assert!(!text.contains("canary-9f8e7d6c"), "{text}");
        assert!(!text.contains("tok_"), "{text}");
        assert!(text.contains("[REDACTED:api-key]"), "{text}");
        assert!(text.contains("[REDACTED:pattern-1]"), "{text}");
        assert!(
            text.contains("short"),
            "short values are not secrets: {text}"
        );
    }

    #[test]
    fn an_event_without_secrets_is_unchanged() {
        let r = Redactor::builtin().with_values(["canary-9f8e7d6c".to_owned()]);
        let event = Event::ModelCalled {
            step: StepId::new("draft").unwrap(),
            call: 1,
            element: None,
            model: "m".into(),
            provider: "p".into(),
            reason: "first in route".into(),
            result: CallResult::BudgetRefused { detail: "d".into() },
            spend: Spend::default(),
            latency_ms: 0,
        };
        assert_eq!(r.redact_event(event.clone()), event);
    }

    #[test]
    fn a_bad_configured_pattern_is_named() {
        let err = Redactor::new(&["ok".to_owned(), "(".to_owned()]).unwrap_err();
        assert_eq!(err.index, 2);
        assert!(err.to_string().contains("secret pattern 2 `(`"), "{err}");
    }
}
