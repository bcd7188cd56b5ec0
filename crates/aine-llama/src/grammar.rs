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
/// `maxLength`, `minimum`/`maximum`, `maxItems`, formats, `$ref`, `oneOf`...), with
/// whitespace between tokens limited to one blank.
///
/// String `pattern`s are left out of the grammar (the contract validator still checks them on
/// the finished answer). Measured here with the requirements draft schema: with its EARS
/// `pattern`s in the grammar, gemma-3-270m repeated keys the schema forbids and copied its
/// few-shot example until the 900-token limit (a contract violation after 159 s); without
/// them, a contract-valid draft of 134 tokens in 9 s.
///
/// # Errors
/// [`ModelError::Unavailable`] when the converter rejects the schema, so a route falls back to
/// a model that takes the schema as is.
pub fn from_schema(schema: &serde_json::Value) -> Result<String, ModelError> {
    let mut text = String::new();
    write_ordered(&without_patterns(schema), &mut text);
    let grammar =
        llama_cpp_2::json_schema_to_grammar(&text).map_err(|e| ModelError::Unavailable {
            message: format!("the output schema cannot be turned into a grammar: {e}"),
        })?;
    Ok(tighten(&grammar))
}

/// `schema` without the `pattern` keyword of any subschema (a property *named* `pattern` under
/// `properties` is kept).
fn without_patterns(schema: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match schema {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, v)| !(k.as_str() == "pattern" && v.is_string()))
                .map(|(k, v)| {
                    let v = match (k.as_str(), v) {
                        // Property names are not keywords: keep every one, clean their schemas.
                        ("properties" | "$defs" | "definitions", Value::Object(props)) => {
                            Value::Object(
                                props
                                    .iter()
                                    .map(|(name, sub)| (name.clone(), without_patterns(sub)))
                                    .collect(),
                            )
                        }
                        _ => without_patterns(v),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_patterns).collect()),
        leaf => leaf.clone(),
    }
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
    fn string_patterns_stay_out_of_the_grammar_but_properties_named_pattern_stay() {
        let schema = serde_json::json!({
            "type": "object",
            "properties": {
                "text": { "type": "string", "maxLength": 80, "pattern": "^The .* shall .*$" },
                "pattern": { "enum": ["ubiquitous", "event_driven"] }
            },
            "required": ["text", "pattern"],
            "additionalProperties": false
        });
        let cleaned = without_patterns(&schema);
        assert!(cleaned["properties"]["text"].get("pattern").is_none());
        assert_eq!(
            cleaned["properties"]["pattern"],
            schema["properties"]["pattern"]
        );
        let grammar = from_schema(&schema).unwrap();
        assert!(grammar.contains("ubiquitous"), "{grammar}");
        assert!(!grammar.contains("shall"), "{grammar}");
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
