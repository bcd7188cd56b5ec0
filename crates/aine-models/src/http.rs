//! HTTP wire code shared by every remote provider: one client, status and error-body mapping to
//! [`ModelError`], `Retry-After` parsing, truncation and HTML detection, and key redaction.

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;

use crate::ModelError;

/// Largest response body read, in bytes (32 MiB); a larger body is an
/// [`ModelError::InvalidResponse`].
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// Longest provider message kept in an error, in characters.
const MAX_MESSAGE_CHARS: usize = 300;

/// A shared HTTP client: rustls, connect timeout 10 s, no per-client total timeout (each request
/// sets its own). Building the client only fails when the TLS backend cannot initialise.
pub fn client() -> Result<reqwest::Client, ModelError> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("aine/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ModelError::Transport {
            message: format!("cannot build http client: {e}"),
        })
}

/// Sends `request` (already carrying its JSON body and headers) with a total deadline of
/// `timeout`, and returns the parsed JSON body of a 2xx answer.
///
/// Errors: non-2xx statuses via [`status_error`]; no complete answer in time →
/// [`ModelError::Timeout`]; a body cut off mid-transfer or JSON that ends early →
/// [`ModelError::Truncated`]; an HTML page or other non-JSON →
/// [`ModelError::InvalidResponse`]; connection failures → [`ModelError::Transport`].
pub async fn send_json(
    request: reqwest::RequestBuilder,
    timeout: Duration,
) -> Result<serde_json::Value, ModelError> {
    let exchange = async {
        let response = request.send().await.map_err(|e| send_error(&e, timeout))?;
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers(), SystemTime::now());
        let body = read_body(response, timeout).await?;
        if !(200..300).contains(&status) {
            return Err(status_error(status, retry_after, &body));
        }
        parse_json_body(&body)
    };
    // reqwest's own timeout covers send and body; this outer one also bounds anything else.
    match tokio::time::timeout(timeout, exchange).await {
        Ok(result) => result,
        Err(_) => Err(ModelError::Timeout { after: timeout }),
    }
}

fn send_error(error: &reqwest::Error, timeout: Duration) -> ModelError {
    if error.is_timeout() {
        ModelError::Timeout { after: timeout }
    } else if error.is_body() || error.is_decode() {
        ModelError::Truncated {
            message: error_chain(error),
        }
    } else {
        ModelError::Transport {
            message: error_chain(error),
        }
    }
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

async fn read_body(
    mut response: reqwest::Response,
    timeout: Duration,
) -> Result<Vec<u8>, ModelError> {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(ModelError::InvalidResponse {
                        message: format!("response body larger than {MAX_BODY_BYTES} bytes"),
                    });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) if e.is_timeout() => return Err(ModelError::Timeout { after: timeout }),
            Err(e) => {
                return Err(ModelError::Truncated {
                    message: format!(
                        "body cut off after {} bytes: {}",
                        body.len(),
                        error_chain(&e)
                    ),
                });
            }
        }
    }
}

/// Parses a 2xx body as JSON. A body whose JSON ends early is [`ModelError::Truncated`]; an
/// HTML page or other text is [`ModelError::InvalidResponse`] with a short excerpt.
pub fn parse_json_body(body: &[u8]) -> Result<serde_json::Value, ModelError> {
    match serde_json::from_slice(body) {
        Ok(value) => Ok(value),
        Err(e) if e.is_eof() && !body.iter().all(u8::is_ascii_whitespace) => {
            Err(ModelError::Truncated {
                message: format!("json ends early after {} bytes ({e})", body.len()),
            })
        }
        Err(_) => Err(ModelError::InvalidResponse {
            message: describe_non_json(body),
        }),
    }
}

fn describe_non_json(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if text.trim().is_empty() {
        "empty body where json was expected".to_owned()
    } else if looks_like_html(&text) {
        format!("html page where json was expected: {}", html_excerpt(&text))
    } else {
        format!("body is not json: {}", excerpt(&text))
    }
}

/// Maps a non-2xx status, its `Retry-After` delay and its body to an error (the one place status
/// codes are interpreted): 401/403 → [`ModelError::Auth`], 429 → [`ModelError::RateLimited`],
/// other 4xx → [`ModelError::Client`], 5xx (and Anthropic's 529) → [`ModelError::Server`];
/// anything else (1xx/3xx) → [`ModelError::InvalidResponse`].
pub fn status_error(status: u16, retry_after: Option<Duration>, body: &[u8]) -> ModelError {
    let message = error_message(body);
    match status {
        401 | 403 => ModelError::Auth { status, message },
        429 => ModelError::RateLimited {
            retry_after,
            message,
        },
        400..=499 => ModelError::Client { status, message },
        500..=599 => ModelError::Server { status, message },
        _ => ModelError::InvalidResponse {
            message: format!("unexpected http {status}: {message}"),
        },
    }
}

/// The human message of an error body, shortened to 300 characters.
///
/// Understands OpenAI (`{"error":{"message":..,"type":..}}`), Anthropic
/// (`{"type":"error","error":{"type":..,"message":..}}`), the `{"error":"..."}` form of Ollama and
/// llama.cpp server, and `{"message":..}` / `{"detail":..}`. An HTML page gives its title or text
/// excerpt; other text is excerpted as is.
pub fn error_message(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        if let Some(message) = json_error_message(&value) {
            return shorten(&message);
        }
        return format!("error body without a message: {}", excerpt(&text));
    }
    if text.trim().is_empty() {
        "empty body".to_owned()
    } else if looks_like_html(&text) {
        format!("html page: {}", html_excerpt(&text))
    } else {
        excerpt(&text)
    }
}

fn json_error_message(value: &serde_json::Value) -> Option<String> {
    let error = value.get("error");
    if let Some(error) = error {
        if let Some(s) = error.as_str() {
            return Some(s.to_owned());
        }
        let message = error.get("message").and_then(|m| m.as_str());
        let kind = error
            .get("type")
            .or_else(|| error.get("code"))
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty());
        return match (kind, message) {
            (Some(kind), Some(message)) => Some(format!("{kind}: {message}")),
            (None, Some(message)) => Some(message.to_owned()),
            (Some(kind), None) => Some(kind.to_owned()),
            (None, None) => None,
        };
    }
    ["message", "detail"]
        .iter()
        .find_map(|key| value.get(*key))
        .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_owned))
}

fn looks_like_html(text: &str) -> bool {
    let head: String = text
        .trim_start()
        .chars()
        .take(200)
        .collect::<String>()
        .to_ascii_lowercase();
    head.starts_with("<!doctype html")
        || head.starts_with("<html")
        || head.contains("<head")
        || head.contains("<body")
        || head.contains("<title")
}

/// `<title>` if present, else the text with tags stripped, shortened.
fn html_excerpt(html: &str) -> String {
    let lower = html.to_ascii_lowercase();
    if let (Some(start), Some(end)) = (lower.find("<title>"), lower.find("</title>"))
        && start + 7 <= end
        && let Some(title) = html.get(start + 7..end)
        && !title.trim().is_empty()
    {
        return shorten(&collapse_whitespace(title));
    }
    let mut text = String::with_capacity(html.len().min(4096));
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    shorten(&collapse_whitespace(&text))
}

fn excerpt(text: &str) -> String {
    shorten(&collapse_whitespace(text))
}

fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= MAX_MESSAGE_CHARS {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(MAX_MESSAGE_CHARS).collect();
        format!("{cut}…")
    }
}

/// The delay asked for by `retry-after-ms` (milliseconds, sent by OpenAI and Azure) or
/// `Retry-After` (RFC 9110 §10.2.3: delay-seconds or an HTTP-date, relative to `now`).
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if let Some(ms) = headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, now))
}

/// Parses one `Retry-After` value: delay-seconds (`"120"`) or an HTTP-date
/// (`"Wed, 21 Oct 2015 07:28:00 GMT"`); a date in the past is a zero delay. `None` when the
/// value is neither.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Replaces every occurrence of `secret` in the error's message with `[redacted]`, so a key
/// echoed back by a provider or proxy never leaves this crate. Secrets shorter than 8 bytes are
/// not searched for (they would mangle ordinary words, and no real API key is that short).
pub fn redact(error: ModelError, secret: &str) -> ModelError {
    if secret.len() < 8 {
        return error;
    }
    let clean = |s: String| {
        if s.contains(secret) {
            s.replace(secret, "[redacted]")
        } else {
            s
        }
    };
    match error {
        ModelError::RateLimited {
            retry_after,
            message,
        } => ModelError::RateLimited {
            retry_after,
            message: clean(message),
        },
        ModelError::Server { status, message } => ModelError::Server {
            status,
            message: clean(message),
        },
        ModelError::Client { status, message } => ModelError::Client {
            status,
            message: clean(message),
        },
        ModelError::Auth { status, message } => ModelError::Auth {
            status,
            message: clean(message),
        },
        ModelError::Truncated { message } => ModelError::Truncated {
            message: clean(message),
        },
        ModelError::InvalidResponse { message } => ModelError::InvalidResponse {
            message: clean(message),
        },
        ModelError::Unavailable { message } => ModelError::Unavailable {
            message: clean(message),
        },
        ModelError::Transport { message } => ModelError::Transport {
            message: clean(message),
        },
        other @ (ModelError::MissingApiKey { .. } | ModelError::Timeout { .. }) => other,
    }
}

/// [`redact`] for a whole call: the key is removed from an error's message and from a returned
/// text (a provider or proxy echoing the key must not leak it into the journal).
pub(crate) fn scrub(
    result: Result<crate::ChatResponse, ModelError>,
    key: Option<&str>,
) -> Result<crate::ChatResponse, ModelError> {
    let Some(key) = key.filter(|k| k.len() >= 8) else {
        return result;
    };
    match result {
        Ok(mut response) => {
            if response.text.contains(key) {
                response.text = response.text.replace(key, "[redacted]");
            }
            Ok(response)
        }
        Err(e) => Err(redact(e, key)),
    }
}

/// Joins `base_url` and `path` with exactly one `/` between them.
pub fn join_url(base_url: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base_url.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// Shorthand for [`ModelError::InvalidResponse`] naming a missing or mistyped field.
pub(crate) fn missing_field(what: &str) -> ModelError {
    ModelError::InvalidResponse {
        message: format!("response has no {what}"),
    }
}

#[cfg(test)]
mod tests;
