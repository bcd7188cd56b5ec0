//! Tolerant JSON extraction from a model's answer text.
//!
//! Models asked for JSON often wrap it: a Markdown code fence, a sentence before or after, a
//! trailing comma. [`extract_json`] finds the JSON value the model meant and leaves judging it to
//! the contract (the `{"unsure": {"reason": ...}}` form is ordinary JSON here).

use serde_json::Value;

/// Why no JSON value could be taken from an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    #[error("the answer is empty")]
    Empty,
    #[error("the answer contains no json object or array: {excerpt:?}")]
    NoJson { excerpt: String },
    #[error("the json in the answer does not parse: {message}")]
    Invalid { message: String },
}

/// The JSON value in `text`, tried in this order:
///
/// 1. the whole text (trimmed);
/// 2. each Markdown code fence (```` ```json ```` or bare ```` ``` ````), first that parses;
/// 3. each balanced `{…}` or `[…]` span, left to right (strings and escapes respected), first
///    that parses, so prose before and after is ignored.
///
/// Every attempt also retries with trailing commas (`,` before `}` or `]`, outside strings)
/// removed. Errors: blank text → [`ExtractError::Empty`]; no `{`/`[` span →
/// [`ExtractError::NoJson`]; spans that never parse (or never close) →
/// [`ExtractError::Invalid`] with the first parser message.
pub fn extract_json(text: &str) -> Result<Value, ExtractError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ExtractError::Empty);
    }
    let mut first_error = match parse(text) {
        Ok(value) => return Ok(value),
        Err(e) => starts_like_json(text).then_some(e),
    };
    for block in fenced_blocks(text) {
        match parse(block) {
            Ok(value) => return Ok(value),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    let mut from = 0;
    let mut saw_span = false;
    while let Some(offset) = text.get(from..).and_then(|rest| rest.find(['{', '['])) {
        let start = from + offset;
        saw_span = true;
        match balanced_end(text, start) {
            Some(end) => {
                let span = text.get(start..end).unwrap_or_default();
                match parse(span) {
                    Ok(value) => return Ok(value),
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
                from = end;
            }
            None => {
                first_error
                    .get_or_insert_with(|| "a json object or array is never closed".to_owned());
                from = start + 1;
            }
        }
    }
    match first_error {
        Some(message) if saw_span || starts_like_json(text) => {
            Err(ExtractError::Invalid { message })
        }
        _ => Err(ExtractError::NoJson {
            excerpt: text.chars().take(80).collect(),
        }),
    }
}

fn starts_like_json(text: &str) -> bool {
    text.starts_with(['{', '['])
}

/// `text` as JSON, retrying without trailing commas.
fn parse(text: &str) -> Result<Value, String> {
    serde_json::from_str(text).or_else(|first| {
        let repaired = without_trailing_commas(text);
        if repaired == text {
            Err(first.to_string())
        } else {
            serde_json::from_str(&repaired).map_err(|_| first.to_string())
        }
    })
}

/// The contents of Markdown code fences (the info string line is dropped).
fn fenced_blocks(text: &str) -> Vec<&str> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("```") {
        let after = rest.get(open + 3..).unwrap_or_default();
        let body_start = after.find('\n').map_or(after.len(), |i| i + 1);
        let body = after.get(body_start..).unwrap_or_default();
        match body.find("```") {
            Some(close) => {
                blocks.push(body.get(..close).unwrap_or_default().trim());
                rest = body.get(close + 3..).unwrap_or_default();
            }
            None => {
                // An unclosed fence (answer cut off): try what there is.
                blocks.push(body.trim());
                break;
            }
        }
    }
    blocks
}

/// Byte index just past the bracket closing the one at `start`, or `None` if it never closes.
fn balanced_end(text: &str, start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in text.get(start..)?.char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' | '[' => depth += 1,
            '}' | ']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(start + i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// `text` with each `,` that is followed (after whitespace) by `}` or `]` removed, outside
/// strings.
fn without_trailing_commas(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    for (i, &c) in chars.iter().enumerate() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
        } else if c == ',' {
            let next = chars
                .get(i + 1..)
                .unwrap_or_default()
                .iter()
                .find(|c| !c.is_whitespace());
            if matches!(next, Some('}' | ']')) {
                continue;
            }
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `expected`: the JSON it must extract, or `Err` with the error's kind (`empty`, `no_json`,
    /// `invalid`).
    fn check(input: &str, expected: Result<&str, &str>) {
        let got = extract_json(input);
        match (got, expected) {
            (Ok(v), Ok(want)) => {
                assert_eq!(v, serde_json::from_str::<Value>(want).unwrap(), "{input:?}")
            }
            (Err(e), Err(kind)) => {
                let got_kind = match e {
                    ExtractError::Empty => "empty",
                    ExtractError::NoJson { .. } => "no_json",
                    ExtractError::Invalid { .. } => "invalid",
                };
                assert_eq!(got_kind, kind, "{input:?}: {e}");
            }
            (got, want) => panic!("{input:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn extracts() {
        check(r#"{"a": 1}"#, Ok(r#"{"a":1}"#));
        check("  [1, 2]\n", Ok("[1,2]"));
        check("```json\n{\"a\": [1, 2]}\n```", Ok(r#"{"a":[1,2]}"#));
        check(
            "Here you go:\n```\n{\"a\": 1}\n```\nAnything else?",
            Ok(r#"{"a":1}"#),
        );
        check(
            "Sure! The result is {\"a\": \"x}\"} as requested.",
            Ok(r#"{"a":"x}"}"#),
        );
        check(
            "{\"a\": [1, 2,], \"b\": {\"c\": 3,},}",
            Ok(r#"{"a":[1,2],"b":{"c":3}}"#),
        );
        check("{\"s\": \"keep, ]this\",}", Ok(r#"{"s":"keep, ]this"}"#));
        check(
            "I cannot tell. {\"unsure\": {\"reason\": \"the input has no deadline\"}}",
            Ok(r#"{"unsure":{"reason":"the input has no deadline"}}"#),
        );
        check(
            "e.g. {placeholder} — real answer: {\"ok\": true}",
            Ok(r#"{"ok":true}"#),
        );
        check(
            "{\"quote\": \"he said \\\"hi\\\" {\"}",
            Ok(r#"{"quote":"he said \"hi\" {"}"#),
        );
        check("```json\n{\"cut\": [1, 2", Err("invalid"));
        check("42", Ok("42"));
        check("", Err("empty"));
        check("   \n", Err("empty"));
        check("The answer is 42.", Err("no_json"));
        check("{not json at all}", Err("invalid"));
        check("{\"a\": 1", Err("invalid"));
    }
}
