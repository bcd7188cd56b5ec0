//! A small reader over `marked-yaml` nodes: every accessor reports what it refuses (unknown keys,
//! wrong types, missing keys) to a [`Diags`] with the node's position, and carries on.
//!
//! Scalars are loaded without coercion, so a quoted `"1"` stays a string; plain scalars are typed
//! by the YAML 1.2 core schema rules that matter here (null, booleans, numbers).

use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode, MarkedSequenceNode};
use marked_yaml::{LoadError as YamlError, LoaderOptions, Node, Span};
use serde_json::{Map, Number, Value};

use crate::diagnostic::{Diags, Pos, suggest};

/// Parses `source`, whose top level must be a mapping. Duplicate keys are errors.
pub(crate) fn parse(source: &str) -> Result<Node, (Pos, String, Option<String>)> {
    let options = LoaderOptions::default()
        .error_on_duplicate_keys(true)
        .prevent_coercion(true);
    marked_yaml::parse_yaml_with_options(0, source, options).map_err(describe_error)
}

fn marker_pos(m: &marked_yaml::Marker) -> Pos {
    Pos {
        line: m.line(),
        col: m.column(),
    }
}

fn describe_error(e: YamlError) -> (Pos, String, Option<String>) {
    match e {
        YamlError::TopLevelMustBeMapping(m) => (
            marker_pos(&m),
            "the top level of a workflow file must be a mapping".into(),
            Some("start with `workflow: <name>`".into()),
        ),
        YamlError::TopLevelMustBeSequence(m) => (
            marker_pos(&m),
            "the top level must be a sequence".into(),
            None,
        ),
        YamlError::UnexpectedAnchor(m) => (
            marker_pos(&m),
            "yaml anchors and aliases are not supported in workflow files".into(),
            None,
        ),
        YamlError::MappingKeyMustBeScalar(m) => (
            marker_pos(&m),
            "mapping keys must be plain strings".into(),
            None,
        ),
        YamlError::UnexpectedTag(m) => (
            marker_pos(&m),
            "yaml tags are not supported in workflow files".into(),
            None,
        ),
        YamlError::ScanError(m, e) => (marker_pos(&m), format!("invalid yaml: {}", e.info()), None),
        YamlError::DuplicateKey(inner) => {
            let first = inner
                .prev_key
                .span()
                .start()
                .map(marker_pos)
                .unwrap_or_default();
            let pos = inner.key.span().start().map(marker_pos).unwrap_or_default();
            (
                pos,
                format!("duplicate key `{}`", inner.key.as_str()),
                Some(format!("first defined at line {}", first.line)),
            )
        }
    }
}

/// Where a node starts: a mapping at its first key (the parser marks a block mapping at its
/// first `:`), anything else at the start of its span.
pub(crate) fn pos(node: &Node) -> Pos {
    match node {
        Node::Mapping(map) => mapping_pos(map),
        _ => span_pos(node.span()),
    }
}

fn mapping_pos(map: &MarkedMappingNode) -> Pos {
    map.keys()
        .next()
        .map_or_else(|| span_pos(map.span()), scalar_pos)
}

pub(crate) fn span_pos(span: &Span) -> Pos {
    span.start().map(marker_pos).unwrap_or_default()
}

/// The start of a scalar's span.
pub(crate) fn scalar_pos(s: &MarkedScalarNode) -> Pos {
    span_pos(s.span())
}

/// What a node is, for "found ..." in type errors.
fn describe(node: &Node) -> String {
    match node {
        Node::Mapping(_) => "a mapping".into(),
        Node::Sequence(_) => "a sequence".into(),
        Node::Scalar(s) => match scalar_value(s) {
            Value::Null => "nothing".into(),
            Value::Bool(b) => format!("`{b}`"),
            Value::Number(n) => format!("`{n}`"),
            _ if s.may_coerce() => format!("`{}`", s.as_str()),
            _ => format!("the string `{}`", s.as_str()),
        },
    }
}

/// Reports that the value named `label` (e.g. "`version`") has the wrong type.
pub(crate) fn type_error(d: &mut Diags, label: &str, node: &Node, expected: &str) {
    d.error(
        pos(node),
        format!("{label} must be {expected}, found {}", describe(node)),
        None,
    );
}

fn is_plain_number(s: &str) -> bool {
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let digits = mantissa.replacen('.', "", 1);
    let mantissa_ok = !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

/// The JSON value of a scalar: quoted scalars are strings; plain ones may be null, a boolean
/// or a number.
pub(crate) fn scalar_value(s: &MarkedScalarNode) -> Value {
    let text = s.as_str();
    if !s.may_coerce() {
        return Value::String(text.to_owned());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if is_plain_number(text) {
        if let Ok(i) = text.parse::<i64>() {
            return Value::Number(i.into());
        }
        if let Ok(u) = text.parse::<u64>() {
            return Value::Number(u.into());
        }
        if let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64) {
            return Value::Number(n);
        }
    }
    Value::String(text.to_owned())
}

/// Converts a node to JSON (mapping keys are always strings).
pub(crate) fn to_json(node: &Node) -> Value {
    match node {
        Node::Scalar(s) => scalar_value(s),
        Node::Sequence(seq) => Value::Array(seq.iter().map(to_json).collect()),
        Node::Mapping(map) => {
            let obj: Map<String, Value> = map
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), to_json(v)))
                .collect();
            Value::Object(obj)
        }
    }
}

/// The node a JSON pointer (RFC 6901) points at, or the deepest one on the way.
pub(crate) fn node_at<'n>(node: &'n Node, pointer: &str) -> &'n Node {
    let mut cur = node;
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        let next = match cur {
            Node::Mapping(map) => map.get_node(&token),
            Node::Sequence(seq) => token.parse::<usize>().ok().and_then(|i| seq.get_node(i)),
            Node::Scalar(_) => None,
        };
        match next {
            Some(n) => cur = n,
            None => break,
        }
    }
    cur
}

/// A mapping whose keys have been checked against a fixed list.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields<'n> {
    pub node: &'n MarkedMappingNode,
}

impl<'n> Fields<'n> {
    /// Opens `node` as a mapping with the keys in `allowed`; reports a type error (naming the
    /// value `label`, e.g. "`budget`" or "step `draft`") or each unknown key.
    pub fn open(d: &mut Diags, label: &str, node: &'n Node, allowed: &[&str]) -> Option<Self> {
        let Node::Mapping(map) = node else {
            type_error(d, label, node, "a mapping");
            return None;
        };
        for k in map.keys() {
            if !allowed.contains(&k.as_str()) {
                let where_ = if label.is_empty() {
                    String::new()
                } else {
                    format!(" in {label}")
                };
                d.error(
                    scalar_pos(k),
                    format!("unknown key `{}`{where_}", k.as_str()),
                    suggest(k.as_str(), allowed.iter().copied(), "allowed keys"),
                );
            }
        }
        Some(Self { node: map })
    }

    pub fn pos(&self) -> Pos {
        mapping_pos(self.node)
    }

    /// The position of `key` itself (the mapping's position when absent).
    pub fn key_pos(&self, key: &str) -> Pos {
        self.node
            .keys()
            .find(|k| k.as_str() == key)
            .map_or_else(|| self.pos(), scalar_pos)
    }

    pub fn get(&self, key: &str) -> Option<&'n Node> {
        self.node.get_node(key)
    }

    /// The value of a required key, or an error at the mapping's position (`label` names the
    /// mapping as in [`Fields::open`]).
    pub fn required(&self, d: &mut Diags, label: &str, key: &str) -> Option<&'n Node> {
        let found = self.get(key);
        if found.is_none() {
            let where_ = if label.is_empty() {
                String::new()
            } else {
                format!(" in {label}")
            };
            d.error(
                self.pos(),
                format!("missing required key `{key}`{where_}"),
                None,
            );
        }
        found
    }
}

/// A non-empty string scalar (numbers and booleans are read as their text).
pub(crate) fn string<'n>(
    d: &mut Diags,
    label: &str,
    node: &'n Node,
) -> Option<&'n MarkedScalarNode> {
    match node {
        Node::Scalar(s) if !scalar_value(s).is_null() => Some(s),
        _ => {
            type_error(d, label, node, "a string");
            None
        }
    }
}

/// A positive integer that fits in a `u64`.
pub(crate) fn positive_int(d: &mut Diags, label: &str, node: &Node) -> Option<u64> {
    match node {
        Node::Scalar(s) => match scalar_value(s) {
            Value::Number(n) => match n.as_u64() {
                Some(v) if v > 0 => Some(v),
                _ => {
                    d.error(
                        pos(node),
                        format!("{label} must be a positive integer, found `{n}`"),
                        None,
                    );
                    None
                }
            },
            _ => {
                type_error(d, label, node, "a positive integer");
                None
            }
        },
        _ => {
            type_error(d, label, node, "a positive integer");
            None
        }
    }
}

/// A sequence (an absent value is handled by the caller).
pub(crate) fn sequence<'n>(
    d: &mut Diags,
    label: &str,
    node: &'n Node,
) -> Option<&'n MarkedSequenceNode> {
    match node {
        Node::Sequence(seq) => Some(seq),
        _ => {
            type_error(d, label, node, "a sequence");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_scalars_are_typed_and_quoted_ones_are_strings() {
        let node = parse("a: 1\nb: '1'\nc: 1.5\nd: true\ne:\nf: -3e2\ng: inf\nh: 1.2.3\n").unwrap();
        let json = to_json(&node);
        assert_eq!(
            json,
            serde_json::json!({"a": 1, "b": "1", "c": 1.5, "d": true, "e": null, "f": -300.0, "g": "inf", "h": "1.2.3"})
        );
    }
}
