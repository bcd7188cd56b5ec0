//! Contracts: JSON Schema (draft 2020-12) documents, checked against the meta-schema and compiled
//! once, then used to validate step outputs and workflow inputs.

use serde_json::Value;

/// Why a JSON value is not a usable draft 2020-12 schema: each entry is `at /pointer: message`,
/// the pointer locating the offending part of the schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid json schema: {}", .0.join("; "))]
pub struct ContractError(pub Vec<String>);

/// A compiled JSON Schema (draft 2020-12, <https://json-schema.org/draft/2020-12>).
///
/// Remote `$ref`s are never fetched: a schema that needs one fails to compile.
#[derive(Debug, Clone)]
pub struct Contract {
    schema: Value,
    validator: jsonschema::Validator,
}

/// Formats a JSON pointer for messages; the root (the empty pointer) shows as `/`.
fn at(pointer: &str) -> String {
    if pointer.is_empty() {
        "at /".to_owned()
    } else {
        format!("at {pointer}")
    }
}

/// Every way `schema` breaks the draft 2020-12 meta-schema, as (JSON pointer into the schema,
/// message).
pub(crate) fn meta_errors(schema: &Value) -> Vec<(String, String)> {
    let meta = jsonschema::draft202012::meta::validator();
    meta.iter_errors(schema)
        .map(|e| (e.instance_path().as_str().to_owned(), e.to_string()))
        .collect()
}

impl Contract {
    /// Checks `schema` against the draft 2020-12 meta-schema and compiles it.
    ///
    /// # Errors
    ///
    /// A [`ContractError`] with every meta-schema violation, or the compiler's error (for
    /// example an unresolvable `$ref`).
    pub fn new(schema: Value) -> Result<Contract, ContractError> {
        let errors = meta_errors(&schema);
        if !errors.is_empty() {
            return Err(ContractError(
                errors
                    .iter()
                    .map(|(p, m)| format!("{}: {m}", at(p)))
                    .collect(),
            ));
        }
        let validator = jsonschema::draft202012::new(&schema)
            .map_err(|e| ContractError(vec![format!("{}: {e}", at(e.schema_path().as_str()))]))?;
        Ok(Contract { schema, validator })
    }

    /// The schema as written.
    pub fn schema(&self) -> &Value {
        &self.schema
    }

    /// Validates `value`.
    ///
    /// # Errors
    ///
    /// Every violation, each as `at /json/pointer: message` (the pointer locates the offending
    /// part of `value`; the root shows as `/`).
    pub fn validate(&self, value: &Value) -> Result<(), Vec<String>> {
        let errors: Vec<String> = self
            .validator
            .iter_errors(value)
            .map(|e| format!("{}: {e}", at(e.instance_path().as_str())))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}
