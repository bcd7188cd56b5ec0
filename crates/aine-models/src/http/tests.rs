use super::*;

fn check_message(body: &str, expected: &str) {
    assert_eq!(error_message(body.as_bytes()), expected, "{body}");
}

#[test]
fn error_messages() {
    check_message(
        r#"{"error":{"message":"Invalid 'messages': empty","type":"invalid_request_error","param":null,"code":null}}"#,
        "invalid_request_error: Invalid 'messages': empty",
    );
    check_message(
        r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"}"#,
        "overloaded_error: Overloaded",
    );
    check_message(r#"{"error":"model 'x' not found"}"#, "model 'x' not found");
    check_message(r#"{"detail":"Not Found"}"#, "Not Found");
    check_message(r#"{"foo":1}"#, r#"error body without a message: {"foo":1}"#);
    check_message(
        "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
        "html page: 502 Bad Gateway",
    );
    check_message(
        "<!DOCTYPE html><body><h1>Oops</h1>\n<p>down</p></body>",
        "html page: Oops down",
    );
    check_message("upstream connect error", "upstream connect error");
    check_message("", "empty body");
}

#[test]
fn statuses() {
    let body = br#"{"error":{"message":"m"}}"#;
    assert!(matches!(
        status_error(401, None, body),
        ModelError::Auth { status: 401, .. }
    ));
    assert!(matches!(
        status_error(403, None, body),
        ModelError::Auth { status: 403, .. }
    ));
    assert!(matches!(
        status_error(404, None, body),
        ModelError::Client { status: 404, .. }
    ));
    assert!(matches!(
        status_error(529, None, body),
        ModelError::Server { status: 529, .. }
    ));
    assert_eq!(
        status_error(429, Some(Duration::from_secs(3)), body).retry_after(),
        Some(Duration::from_secs(3))
    );
    assert!(matches!(
        status_error(302, None, body),
        ModelError::InvalidResponse { .. }
    ));
}

#[test]
fn bodies() {
    assert!(parse_json_body(br#"{"a":1}"#).is_ok());
    assert!(matches!(
        parse_json_body(br#"{"a":[1,2"#),
        Err(ModelError::Truncated { .. })
    ));
    assert!(matches!(
        parse_json_body(b""),
        Err(ModelError::InvalidResponse { .. })
    ));
    let html = parse_json_body(b"<html><title>Maintenance</title></html>");
    assert!(
        matches!(&html, Err(ModelError::InvalidResponse { message }) if message.contains("Maintenance")),
        "{html:?}"
    );
    assert!(matches!(
        parse_json_body(b"OK"),
        Err(ModelError::InvalidResponse { .. })
    ));
}

#[test]
fn retry_after_values() {
    let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
    assert_eq!(
        parse_retry_after("120", now),
        Some(Duration::from_secs(120))
    );
    assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
        Some(Duration::from_secs(30))
    );
    assert_eq!(
        parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
        Some(Duration::ZERO)
    );
    assert_eq!(parse_retry_after("soon", now), None);
    assert_eq!(parse_retry_after("-5", now), None);

    let mut headers = HeaderMap::new();
    headers.insert("retry-after", "7".parse().unwrap());
    assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(7)));
    headers.insert("retry-after-ms", "1500".parse().unwrap());
    assert_eq!(
        retry_after(&headers, now),
        Some(Duration::from_millis(1500))
    );
}

#[test]
fn redaction() {
    let key = "sk-canary-123456";
    let e = redact(
        ModelError::Auth {
            status: 401,
            message: format!("bad key {key}"),
        },
        key,
    );
    assert_eq!(
        e.to_string(),
        "provider refused the credentials (http 401): bad key [redacted]; check the API key"
    );
    assert_eq!(
        join_url("http://h/v1/", "/chat/completions"),
        "http://h/v1/chat/completions"
    );
}
