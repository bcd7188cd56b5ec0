//! Templates (`with` strings, prompt files) and conditions (`when`), compiled with minijinja.
//!
//! Templates see `{ inputs: {...}, steps: { <id>: { output, outcome } }, run: { id } }`.
//! They render with [`UndefinedBehavior::SemiStrict`]: printing or iterating an undefined value
//! fails (a typo never renders as an empty string), while `{% if inputs.notes %}` on an absent
//! value is simply false. Conditions use the lenient default, so `x | length > 0` works on
//! whatever data is present.

use std::collections::{BTreeSet, HashSet};

use aine_types::StepId;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde_json::Value;

/// Why rendering a template or evaluating a condition failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// The workflow has no step with this id.
    #[error("workflow has no step `{step}`")]
    UnknownStep {
        /// The id asked for.
        step: StepId,
    },
    /// The step exists but is of another kind (e.g. `render_prompt` on a builtin step).
    #[error("step `{step}` is not a {expected} step")]
    WrongKind {
        /// The id asked for.
        step: StepId,
        /// The kind the call needs: `builtin`, `model` or `gate`.
        expected: &'static str,
    },
    /// minijinja refused to render or evaluate (an undefined value, a failing filter, ...).
    #[error("cannot render {what} of step `{step}`: {message}")]
    Template {
        /// The step being rendered.
        step: StepId,
        /// What was rendered: `prompt`, `` `with` at /path``, `` condition `...` ``.
        what: String,
        /// minijinja's error.
        message: String,
    },
}

/// The variables a template may read, by their first name (`step` is the step being rendered:
/// `step.id`, `step.attempt`).
pub(crate) const ROOTS: [&str; 4] = ["inputs", "steps", "run", "step"];

/// Names minijinja provides or binds itself; never reported as unknown variables.
const IMPLICIT: [&str; 6] = ["loop", "self", "super", "caller", "varargs", "kwargs"];

/// The compiled templates of one workflow plus the environment conditions are evaluated in.
pub(crate) struct Templates {
    strict: Environment<'static>,
    lenient: Environment<'static>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.strict.templates().map(|(name, _)| name).collect();
        f.debug_struct("Templates").field("names", &names).finish()
    }
}

/// A compile error, as text plus the 1-based line and column inside the template when known.
#[derive(Debug)]
pub(crate) struct CompileError {
    pub message: String,
    pub line: Option<usize>,
    pub col: Option<usize>,
}

fn compile_error(e: &minijinja::Error, source: &str) -> CompileError {
    let message = match e.detail() {
        Some(detail) => format!("{}: {detail}", e.kind()),
        None => e.kind().to_string(),
    };
    let col = e.range().and_then(|r| {
        let before = source.get(..r.start)?;
        Some(
            before.rfind('\n').map_or(before.chars().count(), |nl| {
                before[nl + 1..].chars().count()
            }) + 1,
        )
    });
    CompileError {
        message,
        line: e.line(),
        col,
    }
}

/// What a template or condition reads, from minijinja's static analysis.
#[derive(Debug, Default)]
pub(crate) struct Reads {
    /// Step ids read as `steps.<id>` or `steps["<id>"]`.
    pub steps: BTreeSet<String>,
    /// Input names read as `inputs.<name>`.
    pub inputs: BTreeSet<String>,
    /// First names that are none of `inputs`, `steps`, `run` nor a minijinja global.
    pub unknown: BTreeSet<String>,
}

impl Templates {
    pub fn new() -> Self {
        let mut strict = Environment::new();
        strict.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        strict.set_auto_escape_callback(|_| AutoEscape::None);
        let mut lenient = Environment::new();
        lenient.set_auto_escape_callback(|_| AutoEscape::None);
        Self { strict, lenient }
    }

    /// Compiles and stores a template under `name`; returns what it reads.
    pub fn add(&mut self, name: String, source: String) -> Result<Reads, CompileError> {
        self.strict
            .add_template_owned(name.clone(), source.clone())
            .map_err(|e| compile_error(&e, &source))?;
        let vars = match self.strict.get_template(&name) {
            Ok(t) => t.undeclared_variables(true),
            Err(e) => return Err(compile_error(&e, &source)),
        };
        Ok(self.reads(&vars, &source))
    }

    /// Compiles a condition (not stored: it is recompiled from its source when evaluated).
    pub fn check_condition(&self, source: &str) -> Result<Reads, CompileError> {
        if let Some(col) = block_end_outside_brackets(source) {
            return Err(CompileError {
                message: "syntax error: unexpected `}}`; a condition is an expression, written without `{{ }}`".to_owned(),
                line: Some(1 + source[..col].matches('\n').count()),
                col: Some(source[..col].rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1),
            });
        }
        let expr = self
            .lenient
            .compile_expression_owned(source.to_owned())
            .map_err(|e| compile_error(&e, source))?;
        let vars = expr.undeclared_variables(true);
        Ok(self.reads(&vars, source))
    }

    fn reads(&self, vars: &HashSet<String>, source: &str) -> Reads {
        let globals: Vec<String> = self
            .strict
            .globals()
            .map(|(name, _)| name.to_owned())
            .collect();
        let mut reads = Reads::default();
        for var in vars {
            let mut parts = var.split('.');
            let root = parts.next().unwrap_or_default();
            let second = parts.next();
            match (root, second) {
                ("steps", Some(id)) => {
                    reads.steps.insert(id.to_owned());
                }
                ("inputs", Some(name)) => {
                    reads.inputs.insert(name.to_owned());
                }
                _ if ROOTS.contains(&root)
                    || IMPLICIT.contains(&root)
                    || globals.iter().any(|g| g == root) => {}
                _ => {
                    reads.unknown.insert(root.to_owned());
                }
            }
        }
        reads.steps.extend(subscript_reads(source, "steps"));
        reads.inputs.extend(subscript_reads(source, "inputs"));
        reads
    }

    pub fn render(
        &self,
        step: &StepId,
        name: &str,
        what: &str,
        ctx: &Value,
    ) -> Result<String, RenderError> {
        let fail = |e: minijinja::Error| RenderError::Template {
            step: step.clone(),
            what: what.to_owned(),
            message: e.to_string(),
        };
        self.strict
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(fail)
    }

    /// Renders one string of a `with` value (or a `for_each`), named `what` in errors: a string
    /// that is one `{{ expression }}` and nothing else yields the expression's value (a list
    /// stays a list); any other string renders to a string.
    pub fn render_value_string(
        &self,
        step: &StepId,
        name: &str,
        source: &str,
        what: String,
        ctx: &Value,
    ) -> Result<Value, RenderError> {
        let Some(expr) = single_expression(source) else {
            return self.render(step, name, &what, ctx).map(Value::String);
        };
        let fail = |message: String| RenderError::Template {
            step: step.clone(),
            what: what.clone(),
            message,
        };
        let value = self
            .strict
            .compile_expression_owned(expr.to_owned())
            .and_then(|e| e.eval(ctx))
            .map_err(|e| fail(e.to_string()))?;
        if value.is_undefined() {
            return Err(fail(format!("`{expr}` is undefined")));
        }
        serde_json::to_value(&value).map_err(|e| fail(e.to_string()))
    }

    /// Evaluates a condition to minijinja truthiness; returns it with a sentence saying why.
    pub fn eval_condition(
        &self,
        step: &StepId,
        source: &str,
        ctx: &Value,
    ) -> Result<(bool, String), RenderError> {
        if block_end_outside_brackets(source).is_some() {
            return Err(RenderError::Template {
                step: step.clone(),
                what: format!("condition `{source}`"),
                message: "syntax error: unexpected `}}`".to_owned(),
            });
        }
        let value = self
            .lenient
            .compile_expression_owned(source.to_owned())
            .and_then(|e| e.eval(ctx))
            .map_err(|e| RenderError::Template {
                step: step.clone(),
                what: format!("condition `{source}`"),
                message: e.to_string(),
            })?;
        let open = value.is_true();
        let why = match value.kind() {
            minijinja::value::ValueKind::Bool => format!("`{source}` is {open}"),
            _ => format!(
                "`{source}` is {value} ({})",
                if open { "truthy" } else { "falsy" }
            ),
        };
        Ok((open, why))
    }
}

/// The byte offset of a `}}` outside string literals and brackets, if `source` (an expression)
/// has one. minijinja 2.24's lexer panics ("empty lexer stack", `lexer.rs:363`) when it meets
/// one while compiling an expression (`a }} b`, `}} x`, `x -}}y`), so expressions are checked
/// for it before they are compiled. Inside brackets (`{'a': {'b': 1}}`) and strings (`'}}'`)
/// a `}}` is fine.
pub(crate) fn block_end_outside_brackets(source: &str) -> Option<usize> {
    let bytes = source.as_bytes();
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(_) if b == b'\\' => i += 1,
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None => match b {
                b'\'' | b'"' => quote = Some(b),
                b'(' | b'[' | b'{' => depth += 1,
                b'}' if depth == 0 && bytes.get(i + 1) == Some(&b'}') => return Some(i),
                b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
        i += 1;
    }
    None
}

/// The inner expression of a string that is exactly one `{{ ... }}` block.
pub(crate) fn single_expression(source: &str) -> Option<&str> {
    let inner = source.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    let inner = inner.strip_prefix(['-', '+']).unwrap_or(inner);
    let inner = inner.strip_suffix(['-', '+']).unwrap_or(inner);
    if ["{{", "}}", "{%", "%}", "{#", "#}"]
        .iter()
        .any(|t| inner.contains(t))
    {
        return None;
    }
    Some(inner.trim())
}

/// Names read with a constant subscript, `root["name"]` or `root['name']`, which minijinja's
/// static analysis does not report (needed for step ids containing `-`).
fn subscript_reads(source: &str, root: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = source;
    while let Some(i) = rest.find(root) {
        let preceded_by_word = rest[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.');
        rest = &rest[i + root.len()..];
        if preceded_by_word {
            continue;
        }
        let after = rest.trim_start();
        let Some(after) = after.strip_prefix('[') else {
            continue;
        };
        let after = after.trim_start();
        let Some(quote) = after.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            continue;
        };
        let body = &after[1..];
        if let Some(end) = body.find(quote) {
            found.push(body[..end].to_owned());
        }
    }
    found
}

/// The template name of a `with` string (`pointer` is its JSON pointer inside `with`).
pub(crate) fn with_name(step: &str, pointer: &str) -> String {
    format!("{step}/with{pointer}")
}

/// The template name of a step's `for_each` expression.
pub(crate) fn for_each_name(step: &str) -> String {
    format!("{step}/for_each")
}

/// The names a `for_each` step's templates see besides [`ROOTS`]: the element and its 0-based
/// position.
pub(crate) const ELEMENT_ROOTS: [&str; 2] = ["item", "index"];

/// The template name of a model step's prompt.
pub(crate) fn prompt_name(step: &str) -> String {
    format!("{step}/prompt")
}

/// Escapes one JSON pointer token (RFC 6901 §3).
pub(crate) fn pointer_token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_expressions_are_recognised() {
        assert_eq!(
            single_expression("{{ inputs.sources }}"),
            Some("inputs.sources")
        );
        assert_eq!(single_expression(" {{- x -}} "), Some("x"));
        assert_eq!(single_expression("a {{ x }}"), None);
        assert_eq!(single_expression("{{ x }}{{ y }}"), None);
    }

    /// Issue 14: these made minijinja's lexer panic; now they are compile errors.
    #[test]
    fn a_block_end_in_a_condition_is_a_syntax_error_not_a_panic() {
        let t = Templates::new();
        for source in [
            "a }} b",
            "}} x",
            "x }}y",
            "a -}} b",
            "x == \"}}\" and y }} z",
        ] {
            let e = t.check_condition(source).unwrap_err();
            assert!(
                e.message.contains("unexpected `}}`"),
                "{source}: {}",
                e.message
            );
            let step = StepId::new("s").unwrap();
            let e = t.eval_condition(&step, source, &Value::Null).unwrap_err();
            assert!(e.to_string().contains("unexpected `}}`"), "{source}: {e}");
        }
        let e = t.check_condition("a\n  }} b").unwrap_err();
        assert_eq!((e.line, e.col), (Some(2), Some(3)));
        for source in [
            "x == '}}'",
            "x in {'a': {'b': 1}}",
            "(a }} b)",
            "a %} b",
            "x }",
        ] {
            assert_eq!(block_end_outside_brackets(source), None, "{source}");
        }
        assert!(t.check_condition("x in {'a': {'b': 1}}").is_ok());
    }

    #[test]
    fn subscripts_name_steps() {
        assert_eq!(
            subscript_reads(
                r#"{{ steps["a-b"].output }} {{ steps [ 'c' ] }} {{ mysteps["d"] }}"#,
                "steps"
            ),
            ["a-b", "c"]
        );
    }

    #[test]
    fn static_analysis_finds_reads() {
        let mut t = Templates::new();
        let reads = t
            .add(
                "x".into(),
                "{% for s in inputs.sources %}{{ loop.index }}{{ s }}{% endfor %}{{ steps.a.output }}{{ range(2) }}{{ foo }}"
                    .into(),
            )
            .unwrap();
        assert_eq!(reads.steps.iter().collect::<Vec<_>>(), ["a"]);
        assert_eq!(reads.inputs.iter().collect::<Vec<_>>(), ["sources"]);
        assert_eq!(reads.unknown.iter().collect::<Vec<_>>(), ["foo"]);
    }
}
