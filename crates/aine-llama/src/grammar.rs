//! Output contracts as grammars: JSON Schema -> GBNF for llama.cpp's grammar sampler.

use aine_models::ModelError;

/// The whitespace rule llama.cpp's converter emits (`json-schema-to-grammar.cpp`,
/// `SPACE_RULE`): up to two newlines and twenty blanks between tokens.
const LOOSE_SPACE: &str = r#"space ::= | " " | "\n"{1,2} [ \t]{0,20}"#;
/// What it is replaced with: at most one blank. Long whitespace runs spend output tokens on
/// nothing and, when the token limit hits, leave unterminated JSON (shared/LOCAL-MODEL.md).
const TIGHT_SPACE: &str = r#"space ::= " "?"#;

/// The GBNF grammar (start rule `root`) that admits exactly the JSON documents of `schema`
/// (within what llama.cpp's converter supports: types, properties, required, enum, const,
/// `maxLength`, `minimum`/`maximum`, `maxItems`, `pattern`, formats, `$ref`, `oneOf`...), with
/// whitespace between tokens limited to one blank.
///
/// # Errors
/// [`ModelError::Unavailable`] when the converter rejects the schema, so a route falls back to
/// a model that takes the schema as is.
pub fn from_schema(schema: &serde_json::Value) -> Result<String, ModelError> {
    let mut text = String::new();
    write_ordered(schema, &mut text);
    let grammar =
        llama_cpp_2::json_schema_to_grammar(&text).map_err(|e| ModelError::Unavailable {
            message: format!("the output schema cannot be turned into a grammar: {e}"),
        })?;
    Ok(tighten(&grammar))
}

/// Serialize `value` as JSON text with each object schema's `properties` in the order of its
/// `required` list, then the remaining properties.
///
/// llama.cpp's converter makes the answer's keys follow the order of `properties`, and the
/// model fills them in that order, so the order matters (a title before its category, as in
/// the few-shot examples). `serde_json::Value` keeps object keys sorted unless the
/// `preserve_order` feature is on, which loses the author's order; `required` is an array, so
/// its order survives.
fn write_ordered(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_ordered(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let required: Vec<&str> = map
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            out.push('{');
            for (i, (key, child)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                match child {
                    Value::Object(props) if key == "properties" => {
                        let mut keys: Vec<&String> = props.keys().collect();
                        keys.sort_by_key(|k| {
                            required.iter().position(|r| r == k).unwrap_or(usize::MAX)
                        });
                        out.push('{');
                        for (j, k) in keys.into_iter().enumerate() {
                            if j > 0 {
                                out.push(',');
                            }
                            out.push_str(&Value::String(k.clone()).to_string());
                            out.push(':');
                            if let Some(v) = props.get(k) {
                                write_ordered(v, out);
                            }
                        }
                        out.push('}');
                    }
                    _ => write_ordered(child, out),
                }
            }
            out.push('}');
        }
        leaf => out.push_str(&leaf.to_string()),
    }
}

fn tighten(grammar: &str) -> String {
    grammar
        .lines()
        .map(|line| {
            if line.trim_end() == LOOSE_SPACE {
                TIGHT_SPACE
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_become_grammars_with_tight_whitespace() {
        let schema = serde_json::json!({
            "type": "object",
            "properties": { "title": { "type": "string", "maxLength": 20 } },
            "required": ["title"],
            "additionalProperties": false
        });
        let grammar = from_schema(&schema).unwrap();
        assert!(grammar.contains("root ::="), "{grammar}");
        assert!(grammar.lines().any(|l| l == TIGHT_SPACE), "{grammar}");
        assert!(!grammar.contains(LOOSE_SPACE), "{grammar}");
    }

    #[test]
    fn properties_follow_the_required_order() {
        let schema = serde_json::json!({
            "type": "object",
            "properties": {
                "kind": { "enum": ["bug", "feature"] },
                "title": { "type": "string", "maxLength": 20 },
                "extra": { "type": "object", "properties": { "b": { "type": "integer" }, "a": { "type": "integer" } }, "required": ["b", "a"] }
            },
            "required": ["title", "kind"]
        });
        let mut text = String::new();
        write_ordered(&schema, &mut text);
        let (title, kind, extra) = (
            text.find("\"title\"").unwrap(),
            text.find("\"kind\"").unwrap(),
            text.find("\"extra\"").unwrap(),
        );
        assert!(title < kind && kind < extra, "{text}");
        assert!(
            text.find("\"b\":").unwrap() < text.find("\"a\":").unwrap(),
            "{text}"
        );
        // Still the same schema.
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            schema
        );
        let grammar = from_schema(&schema).unwrap();
        let root = grammar.lines().find(|l| l.starts_with("root ::=")).unwrap();
        assert!(
            root.find("title").unwrap() < root.find("kind").unwrap(),
            "{root}"
        );
    }
}
