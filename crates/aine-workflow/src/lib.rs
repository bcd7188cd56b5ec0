//! Workflow files (`*.workflow.yaml`): parsing, validation, contracts, templates and conditions
//! (see `DESIGN.md`, "A workflow file").
//!
//! [`load`] / [`parse`] turn a file into a [`Workflow`] only when it is entirely valid; otherwise
//! they return every problem found, each with its file, line and column ([`Diagnostics`]).
//! What exists outside the file (builtins and their input schemas, configured models) comes
//! from a [`Catalog`] the runtime provides. This crate runs nothing: it reads the workflow file
//! and the prompt and schema files it names, and renders templates on request.

mod contract;
mod diagnostic;
mod model;
mod parse;
mod step;
mod template;
mod validate;
mod yaml;

use std::path::{Path, PathBuf};

use aine_types::StepId;
use serde_json::Value;
use sha2::{Digest, Sha256};

pub use contract::{Contract, ContractError};
pub use diagnostic::{Diagnostic, Diagnostics};
pub use model::{
    Autonomy, Budget, BuiltinStep, Escalation, GateStep, ModelStep, Step, StepKind, Workflow,
};
pub use step::MAX_CONCURRENCY;
pub use template::RenderError;

use crate::diagnostic::Diags;
use crate::template::{Templates, prompt_name, with_name};

/// The input key under which a model step's `check_builtin` receives the model's answer (the
/// rest of its input is the step's rendered `with`).
pub const CHECK_ANSWER: &str = "answer";

/// The input key under which a model step's `fallback_builtin` receives, when it declares the
/// key, the last answer that satisfied the step's contract but not its check builtin (so the
/// fallback can keep the items the check did not object to).
pub const FALLBACK_REJECTED: &str = "rejected_answer";

/// What exists outside a workflow file; provided by the runtime.
pub trait Catalog {
    /// The JSON Schema of a builtin's input (`with`), or `None` when no builtin has this name.
    fn builtin_input_schema(&self, name: &str) -> Option<&Value>;
    /// Every builtin name (for "did you mean" hints).
    fn builtin_names(&self) -> Vec<String>;
    /// The builtins that may be a model step's `check_builtin`: each judges a model's answer
    /// (input `answer` plus the step's `with`) and returns errors. A subset of
    /// [`Catalog::builtin_names`]; none by default.
    fn check_names(&self) -> Vec<String> {
        Vec::new()
    }
    /// Whether a model of this name (e.g. `local/gemma-3-270m`) is configured.
    fn has_model(&self, name: &str) -> bool;
}

/// Why a workflow could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The workflow file could not be read (missing, unreadable, not UTF-8).
    #[error("cannot read workflow file {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file was read but is not a valid workflow; every problem found.
    #[error("{0}")]
    Invalid(Diagnostics),
}

/// Shorthand for results of this crate.
pub type Result<T, E = LoadError> = std::result::Result<T, E>;

/// Reads the workflow file at `path`, then [`parse`]s it.
///
/// # Errors
///
/// [`LoadError::Io`] when the file cannot be read; [`LoadError::Invalid`] as for [`parse`].
pub fn load(path: &Path, catalog: &dyn Catalog) -> Result<Workflow> {
    let source = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &source, catalog)
}

/// Parses and validates a workflow whose text is `source`; `path` is where it came from
/// (diagnostics name it, and prompt and schema paths are relative to its directory).
///
/// # Errors
///
/// [`LoadError::Invalid`] with every problem found (the file is never half-accepted).
pub fn parse(path: &Path, source: &str, catalog: &dyn Catalog) -> Result<Workflow> {
    let mut d = Diags::new(path);
    let root = match yaml::parse(source) {
        Ok(root) => root,
        Err((pos, message, hint)) => {
            d.error(pos, message, hint);
            return Err(LoadError::Invalid(d.finish()));
        }
    };
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut reader = parse::Reader {
        d,
        catalog,
        dir,
        templates: Templates::new(),
        input_names: Vec::new(),
    };
    let parts = reader.read(&root);
    let parse::Reader {
        mut d, templates, ..
    } = reader;
    let steps = validate::cross_check(&mut d, parts.steps, &parts.owners);

    let owners: Option<_> = parts
        .owners
        .into_iter()
        .map(|(k, v)| v.map(|v| (k, v)))
        .collect();
    let inputs: Option<_> = parts
        .inputs
        .into_iter()
        .map(|(k, v)| v.map(|v| (k, v)))
        .collect();
    match (
        d.is_empty(),
        parts.name,
        parts.version,
        owners,
        inputs,
        steps,
    ) {
        (true, Some(name), Some(version), Some(owners), Some(inputs), Some(steps)) => {
            Ok(Workflow {
                name,
                version,
                description: parts.description,
                owners,
                autonomy: parts.autonomy,
                budget: parts.budget,
                inputs,
                steps,
                path: path.to_path_buf(),
                sha256: hex::encode(Sha256::digest(source.as_bytes())),
                templates,
            })
        }
        _ => {
            if d.is_empty() {
                // every `None` above comes with a diagnostic; this guards that invariant
                d.error(
                    Default::default(),
                    "internal error: workflow incomplete without a reported cause",
                    None,
                );
            }
            Err(LoadError::Invalid(d.finish()))
        }
    }
}

impl Workflow {
    /// The step with this id.
    pub fn step(&self, id: &StepId) -> Option<&Step> {
        self.steps.iter().find(|s| &s.id == id)
    }

    fn kind(&self, id: &StepId) -> Result<&StepKind, RenderError> {
        self.step(id)
            .map(|s| &s.kind)
            .ok_or_else(|| RenderError::UnknownStep { step: id.clone() })
    }

    /// Renders a builtin step's `with` (or a model step's, the input of its fallback and check
    /// builtins) against `ctx` (`{ inputs, steps, run }`): every string
    /// is a template and renders to a string, except a string that is exactly one
    /// `{{ expression }}`, which becomes the expression's JSON value (so
    /// `"{{ inputs.sources }}"` stays a list; write `{{ x | string }}` to force text).
    /// Non-strings pass through.
    ///
    /// # Errors
    ///
    /// [`RenderError`] for an unknown or non-builtin step, or a template that fails (e.g. it
    /// prints an undefined value).
    pub fn render_with(&self, step: &StepId, ctx: &Value) -> Result<Value, RenderError> {
        let with = match self.kind(step)? {
            StepKind::Builtin(b) => &b.with,
            StepKind::Model(m) => &m.with,
            StepKind::Gate(_) => {
                return Err(RenderError::WrongKind {
                    step: step.clone(),
                    expected: "builtin or model",
                });
            }
        };
        self.render_value(step, with, String::new(), ctx)
    }

    fn render_value(
        &self,
        step: &StepId,
        value: &Value,
        pointer: String,
        ctx: &Value,
    ) -> Result<Value, RenderError> {
        Ok(match value {
            Value::String(s) => {
                let name = with_name(step.as_str(), &pointer);
                let what = format!(
                    "`with` at {}",
                    if pointer.is_empty() { "/" } else { &pointer }
                );
                self.templates
                    .render_value_string(step, &name, s, what, ctx)?
            }
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| self.render_value(step, v, format!("{pointer}/{i}"), ctx))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let p = format!("{pointer}/{}", template::pointer_token(k));
                        Ok((k.clone(), self.render_value(step, v, p, ctx)?))
                    })
                    .collect::<Result<_, RenderError>>()?,
            ),
            other => other.clone(),
        })
    }

    /// The list a `for_each` step runs over, rendered against `ctx`; `None` for a step without
    /// `for_each`.
    ///
    /// # Errors
    ///
    /// [`RenderError`] for an unknown step, an expression that fails, or a value that is not
    /// a list.
    pub fn render_for_each(
        &self,
        step: &StepId,
        ctx: &Value,
    ) -> Result<Option<Vec<Value>>, RenderError> {
        let source = self
            .step(step)
            .ok_or_else(|| RenderError::UnknownStep { step: step.clone() })?
            .for_each
            .as_deref();
        let Some(source) = source else {
            return Ok(None);
        };
        let name = template::for_each_name(step.as_str());
        match self.templates.render_value_string(
            step,
            &name,
            source,
            "`for_each`".to_owned(),
            ctx,
        )? {
            Value::Array(items) => Ok(Some(items)),
            other => Err(RenderError::Template {
                step: step.clone(),
                what: "`for_each`".to_owned(),
                message: format!("`{source}` must give a list, found {}", kind_of(&other)),
            }),
        }
    }

    /// Renders a model step's prompt template against `ctx` (`{ inputs, steps, run }`).
    ///
    /// # Errors
    ///
    /// [`RenderError`] for an unknown or non-model step, or a failing template.
    pub fn render_prompt(&self, step: &StepId, ctx: &Value) -> Result<String, RenderError> {
        let StepKind::Model(_) = self.kind(step)? else {
            return Err(RenderError::WrongKind {
                step: step.clone(),
                expected: "model",
            });
        };
        self.templates
            .render(step, &prompt_name(step.as_str()), "prompt", ctx)
    }

    /// The autonomy that governs gate `step`: its own `autonomy:`, else the workflow's. `None`
    /// when `step` is not a gate.
    pub fn gate_autonomy(&self, step: &StepId) -> Option<Autonomy> {
        match &self.step(step)?.kind {
            StepKind::Gate(g) => Some(g.autonomy.unwrap_or(self.autonomy)),
            _ => None,
        }
    }

    /// Evaluates a gate's `when` against `ctx` to minijinja truthiness; an absent condition is
    /// `true` (the gate always opens). Returns `(open, why)`, where `why` quotes the condition
    /// and its result, e.g. ``"`steps.check.output.findings | length > 0` is true"``.
    ///
    /// # Errors
    ///
    /// [`RenderError`] for an unknown or non-gate step, or a condition that fails to evaluate
    /// (e.g. an attribute of a step that has no output yet).
    pub fn eval_when(&self, step: &StepId, ctx: &Value) -> Result<(bool, String), RenderError> {
        let StepKind::Gate(g) = self.kind(step)? else {
            return Err(RenderError::WrongKind {
                step: step.clone(),
                expected: "gate",
            });
        };
        match &g.when {
            None => Ok((
                true,
                "no `when` condition: the gate always opens".to_owned(),
            )),
            Some(when) => self.templates.eval_condition(step, when, ctx),
        }
    }

    /// Checks a run's inputs (a JSON object, input name to value): every declared input is
    /// required unless its schema has a `default`; no undeclared input; each value satisfies
    /// its contract.
    ///
    /// # Errors
    ///
    /// Every problem, e.g. ``"missing required input `sources`"``, ``"unknown input `x`"``,
    /// ``"input `sources` at /0: 5 is not of type \"string\""``.
    pub fn validate_inputs(&self, inputs: &Value) -> Result<(), Vec<String>> {
        let Value::Object(given) = inputs else {
            return Err(vec![format!(
                "inputs must be a json object, found {inputs}"
            )]);
        };
        let mut errors = Vec::new();
        for (name, contract) in &self.inputs {
            match given.get(name) {
                Some(value) => {
                    if let Err(errs) = contract.validate(value) {
                        errors.extend(errs.into_iter().map(|e| format!("input `{name}` {e}")));
                    }
                }
                None if contract.schema().get("default").is_none() => {
                    errors.push(format!("missing required input `{name}`"));
                }
                None => {}
            }
        }
        for name in given.keys().filter(|k| !self.inputs.contains_key(*k)) {
            errors.push(format!("unknown input `{name}`"));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// `inputs` with the schema `default` of every declared input that is absent filled in
    /// (non-objects are returned unchanged). Use it to build the template context.
    pub fn inputs_with_defaults(&self, inputs: &Value) -> Value {
        let mut out = inputs.clone();
        if let Value::Object(map) = &mut out {
            for (name, contract) in &self.inputs {
                if let (false, Some(default)) =
                    (map.contains_key(name), contract.schema().get("default"))
                {
                    map.insert(name.clone(), default.clone());
                }
            }
        }
        out
    }
}

/// A JSON value's type, as a message names it.
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
