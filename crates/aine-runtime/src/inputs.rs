//! Run inputs given on the command line as `name=value` or `name=@file`.

use std::path::Path;

use aine_workflow::Workflow;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Turns `name=value` / `name=@file` arguments into the run's input object.
///
/// A value is taken as text when the input's schema says `type: string`; otherwise it is parsed
/// as JSON, and kept as text if it is not JSON. `@file` paths resolve against `base_dir`.
/// Whether the result matches the workflow's contracts is checked by
/// [`Workflow::validate_inputs`], not here.
pub fn parse_inputs(workflow: &Workflow, args: &[String], base_dir: &Path) -> Result<Value> {
    let mut out = Map::new();
    let mut errors = Vec::new();
    for arg in args {
        let Some((name, raw)) = arg.split_once('=') else {
            errors.push(format!("`{arg}` is not `name=value` or `name=@file`"));
            continue;
        };
        let text = match raw.strip_prefix('@') {
            Some(file) => {
                let path = base_dir.join(file);
                match std::fs::read_to_string(&path) {
                    Ok(text) => text,
                    Err(e) => {
                        errors.push(format!(
                            "input `{name}`: cannot read `{}`: {e}",
                            path.display()
                        ));
                        continue;
                    }
                }
            }
            None => raw.to_owned(),
        };
        let wants_string = workflow
            .inputs
            .get(name)
            .and_then(|c| c.schema().get("type"))
            .and_then(Value::as_str)
            == Some("string");
        let value = if wants_string {
            Value::String(text)
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if out.insert(name.to_owned(), value).is_some() {
            errors.push(format!("input `{name}` is given twice"));
        }
    }
    if errors.is_empty() {
        Ok(Value::Object(out))
    } else {
        Err(Error::Inputs(errors))
    }
}
