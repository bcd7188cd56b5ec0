//! The builtins every project has: `core.echo`, `file.append`, `time.sleep`.

use std::io::Write;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::builtin::{BuiltinContext, BuiltinError, Registry, RegistryError};

/// Input of `core.echo`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EchoInput {
    /// The text to pass on (usually a template over earlier outputs).
    pub message: String,
}

/// Output of `core.echo`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EchoOutput {
    pub message: String,
}

/// Input of `file.append`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AppendInput {
    /// File to append to, relative to the project directory; created if missing.
    #[schemars(extend("x-aine-path" = true))]
    pub path: String,
    /// One line of text; a newline is added.
    pub line: String,
}

/// Output of `file.append`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AppendOutput {
    pub path: String,
    /// Bytes written, newline included.
    pub bytes: u64,
}

/// Input of `time.sleep`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SleepInput {
    /// How long to wait, in milliseconds (at most 60,000).
    #[schemars(range(max = 60000))]
    pub ms: u64,
}

/// Output of `time.sleep`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SleepOutput {
    /// Milliseconds waited.
    pub slept_ms: u64,
}

/// Registers the core builtins into `registry`.
pub fn register(registry: &mut Registry) -> Result<(), RegistryError> {
    registry.register(
        "core.echo",
        "passes a message on to later steps",
        |i: EchoInput, _| Ok(EchoOutput { message: i.message }),
    )?;
    registry.register(
        "file.append",
        "appends one line to a file and flushes it to disk",
        append,
    )?;
    registry.register(
        "time.sleep",
        "waits a number of milliseconds",
        |i: SleepInput, _| {
            std::thread::sleep(std::time::Duration::from_millis(i.ms));
            Ok(SleepOutput { slept_ms: i.ms })
        },
    )?;
    Ok(())
}

fn append(input: AppendInput, ctx: &BuiltinContext) -> Result<AppendOutput, BuiltinError> {
    let path = ctx.resolve(&input.path)?;
    let fail = |e: std::io::Error| {
        BuiltinError::new(format!("cannot append to `{}`: {e}", path.display()))
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(fail)?;
    let mut line = input.line.replace('\n', " ");
    line.push('\n');
    file.write_all(line.as_bytes()).map_err(fail)?;
    file.sync_data().map_err(fail)?;
    Ok(AppendOutput {
        path: input.path,
        bytes: line.len() as u64,
    })
}
