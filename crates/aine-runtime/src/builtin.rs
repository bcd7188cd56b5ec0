//! Builtin steps: deterministic code behind typed input and output contracts.
//!
//! A builtin is written as a plain function over Rust types; [`Registry::register`] derives its
//! input and output JSON Schemas (2020-12) from those types with `schemars`, validates every
//! input before the call and every output after it.
//!
//! A *check builtin* ([`Registry::register_check`]) is a builtin that judges a model's answer:
//! a model step names it as `check_builtin`, and the runtime calls it on every contract-valid
//! answer with the answer as `answer` plus the step's rendered `with`. It returns errors
//! ([`CheckOutput`]); any error makes the answer a contract violation.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use aine_types::{RunId, StepId};
use aine_workflow::{Catalog, Contract};
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::files::FileAccess;

/// The JSON Schema keyword that marks a property of a builtin's input as a file path (a string,
/// or a list of strings) that the builtin reads or writes: `"x-aine-path": true`, set on a field
/// with `#[schemars(extend("x-aine-path" = true))]`. A run's start checks such paths against
/// the directories runs may use ([`FileAccess`]) before anything is journaled. Validators
/// ignore the keyword (JSON Schema 2020-12 §6.5: unknown keywords are annotations).
pub const PATH_KEYWORD: &str = "x-aine-path";

/// What a builtin knows about where it runs.
#[derive(Debug, Clone)]
pub struct BuiltinContext {
    pub run: RunId,
    pub step: StepId,
    /// 1-based attempt number (above 1 after an interrupted attempt).
    pub attempt: u32,
    /// Where the builtin may read and write files (the project directory and `[files] allow`).
    pub files: FileAccess,
}

impl BuiltinContext {
    /// `path` (as the builtin's input names it) resolved inside the directories the run may
    /// use ([`FileAccess::resolve`]).
    ///
    /// # Errors
    /// The path is empty, absolute or climbs out of those directories, or leads out of them
    /// through a symbolic link: the error says which and what to do.
    pub fn resolve(&self, path: &str) -> Result<PathBuf, BuiltinError> {
        self.files
            .resolve(path)
            .map_err(|e| BuiltinError::new(e.to_string()))
    }
}

/// Why a builtin failed; its message becomes the step's `failed` outcome.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BuiltinError(pub String);

impl BuiltinError {
    /// A failure with `message` (lower case, no trailing period, says what to do).
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

type RunFn = dyn Fn(Value, &BuiltinContext) -> Result<Value, BuiltinError> + Send + Sync;

/// A registered builtin.
pub struct Builtin {
    name: String,
    summary: String,
    input: Contract,
    output: Contract,
    run: Box<RunFn>,
}

impl std::fmt::Debug for Builtin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builtin")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Builtin {
    /// The name used in workflow files (`file.append`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// One line saying what it does.
    pub fn summary(&self) -> &str {
        &self.summary
    }

    /// The input contract.
    pub fn input(&self) -> &Contract {
        &self.input
    }

    /// The output contract (an `edit` at a gate reviewing this step must satisfy it).
    pub fn output(&self) -> &Contract {
        &self.output
    }

    /// Validates `input`, runs, validates the output. A contract breach of the *output* is a bug
    /// in the builtin and is reported as such.
    pub fn call(&self, input: Value, ctx: &BuiltinContext) -> Result<Value, BuiltinError> {
        self.input.validate(&input).map_err(|errors| {
            BuiltinError::new(format!(
                "input of `{}` breaks its contract: {}",
                self.name,
                errors.join("; ")
            ))
        })?;
        let output = (self.run)(input, ctx)?;
        self.output.validate(&output).map_err(|errors| {
            BuiltinError::new(format!(
                "output of `{}` breaks its contract (a bug in aine): {}",
                self.name,
                errors.join("; ")
            ))
        })?;
        Ok(output)
    }
}

/// Why a builtin could not be registered.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("builtin `{0}` is registered twice")]
    Duplicate(String),
    #[error("the {which} contract of builtin `{name}` is not a valid JSON Schema: {message}")]
    BadContract {
        name: String,
        which: &'static str,
        message: String,
    },
    #[error("check builtin `{0}` has no `answer` input to receive the model's answer")]
    CheckWithoutAnswer(String),
}

/// Output of a check builtin: what is wrong with the answer (lower case, no trailing period,
/// each naming the offending item); empty when the answer passes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, serde::Deserialize, JsonSchema)]
pub struct CheckOutput {
    pub errors: Vec<String>,
}

/// The named builtins a workflow may use.
#[derive(Debug, Default)]
pub struct Registry {
    builtins: BTreeMap<String, Arc<Builtin>>,
    input_schemas: BTreeMap<String, Value>,
    /// The builtins registered with [`Registry::register_check`].
    checks: BTreeSet<String>,
    /// Per builtin, the input properties marked [`PATH_KEYWORD`].
    path_fields: BTreeMap<String, Vec<String>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `f` as builtin `name`; contracts come from `I` and `O`.
    pub fn register<I, O, F>(
        &mut self,
        name: &str,
        summary: &str,
        f: F,
    ) -> Result<(), RegistryError>
    where
        I: DeserializeOwned + JsonSchema,
        O: Serialize + JsonSchema,
        F: Fn(I, &BuiltinContext) -> Result<O, BuiltinError> + Send + Sync + 'static,
    {
        if self.builtins.contains_key(name) {
            return Err(RegistryError::Duplicate(name.to_owned()));
        }
        let contract = |which: &'static str, schema: schemars::Schema| {
            Contract::new(schema.to_value()).map_err(|e| RegistryError::BadContract {
                name: name.to_owned(),
                which,
                message: e.to_string(),
            })
        };
        let input = contract("input", schemars::schema_for!(I))?;
        let output = contract("output", schemars::schema_for!(O))?;
        let owned_name = name.to_owned();
        let run = move |value: Value, ctx: &BuiltinContext| -> Result<Value, BuiltinError> {
            let typed: I = serde_json::from_value(value).map_err(|e| {
                BuiltinError::new(format!("input of `{owned_name}` is malformed: {e}"))
            })?;
            let out = f(typed, ctx)?;
            serde_json::to_value(out).map_err(|e| {
                BuiltinError::new(format!("output of `{owned_name}` cannot be encoded: {e}"))
            })
        };
        self.input_schemas
            .insert(name.to_owned(), input.schema().clone());
        self.path_fields
            .insert(name.to_owned(), path_fields(input.schema()));
        self.builtins.insert(
            name.to_owned(),
            Arc::new(Builtin {
                name: name.to_owned(),
                summary: summary.to_owned(),
                input,
                output,
                run: Box::new(run),
            }),
        );
        Ok(())
    }

    /// Registers `f` as check builtin `name`: a builtin whose input `I` has an `answer` field
    /// (the model's answer; the other fields come from the model step's `with`) and which
    /// returns the errors it finds (none: the answer passes). It can also run as a plain
    /// builtin step, with `answer` in its `with`.
    ///
    /// # Errors
    /// As [`Registry::register`], and [`RegistryError::CheckWithoutAnswer`] when `I` has no
    /// `answer` property.
    pub fn register_check<I, F>(
        &mut self,
        name: &str,
        summary: &str,
        f: F,
    ) -> Result<(), RegistryError>
    where
        I: DeserializeOwned + JsonSchema,
        F: Fn(I, &BuiltinContext) -> Result<Vec<String>, BuiltinError> + Send + Sync + 'static,
    {
        let schema = schemars::schema_for!(I).to_value();
        if schema
            .get("properties")
            .and_then(|p| p.get(aine_workflow::CHECK_ANSWER))
            .is_none()
        {
            return Err(RegistryError::CheckWithoutAnswer(name.to_owned()));
        }
        self.register(name, summary, move |input: I, ctx: &BuiltinContext| {
            f(input, ctx).map(|errors| CheckOutput { errors })
        })?;
        self.checks.insert(name.to_owned());
        Ok(())
    }

    /// The input properties of builtin `name` that name files ([`PATH_KEYWORD`]: a string or
    /// a list of strings); empty for an unknown builtin.
    pub fn path_fields(&self, name: &str) -> &[String] {
        self.path_fields.get(name).map_or(&[], Vec::as_slice)
    }

    /// Whether `name` was registered as a check builtin.
    pub fn is_check(&self, name: &str) -> bool {
        self.checks.contains(name)
    }

    /// Whether builtin `name` declares input property `key` in its input schema.
    pub fn accepts(&self, name: &str, key: &str) -> bool {
        self.get(name).is_some_and(|b| {
            b.input()
                .schema()
                .get("properties")
                .and_then(|p| p.get(key))
                .is_some()
        })
    }

    /// The builtin called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<Builtin>> {
        self.builtins.get(name)
    }

    /// Every builtin, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Builtin>> {
        self.builtins.values()
    }
}

/// The top-level properties of an input schema marked with [`PATH_KEYWORD`].
fn path_fields(schema: &Value) -> Vec<String> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|props| {
            props
                .iter()
                .filter(|(_, s)| s.get(PATH_KEYWORD) == Some(&Value::Bool(true)))
                .map(|(name, _)| name.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// What workflows are validated against: a registry's builtins and the configured models.
#[derive(Debug, Clone, Copy)]
pub struct StepCatalog<'a> {
    pub registry: &'a Registry,
    pub models: &'a crate::models::Models,
}

impl Catalog for StepCatalog<'_> {
    fn builtin_input_schema(&self, name: &str) -> Option<&Value> {
        self.registry.input_schemas.get(name)
    }

    fn builtin_names(&self) -> Vec<String> {
        self.registry.builtins.keys().cloned().collect()
    }

    fn check_names(&self) -> Vec<String> {
        self.registry.checks.iter().cloned().collect()
    }

    fn has_model(&self, name: &str) -> bool {
        self.models.entry(name).is_some()
    }
}
