//! Shared fixtures: a test catalog, a temporary directory holding a workflow file plus the
//! prompt and schema files workflows in the tests name, and the `check` helper that compares a
//! workflow's diagnostics with the expected text.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the fixtures"
)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use aine_workflow::{Catalog, LoadError, Workflow};
use serde_json::{Value, json};

/// A catalog with a few builtins (one of them, `requirements.citations`, a check builtin) and two
/// models.
pub struct TestCatalog {
    builtins: BTreeMap<String, Value>,
}

impl TestCatalog {
    pub fn new() -> Self {
        let mut builtins = BTreeMap::new();
        builtins.insert(
            "core.echo".to_owned(),
            json!({
                "type": "object",
                "properties": { "message": { "type": "string" } },
                "required": ["message"],
                "additionalProperties": false
            }),
        );
        builtins.insert(
            "file.append".to_owned(),
            json!({ "type": "object", "properties": { "path": { "type": "string" }, "line": { "type": "string" } } }),
        );
        builtins.insert(
            "sources.ingest".to_owned(),
            json!({ "type": "object", "properties": { "paths": { "type": "array" } } }),
        );
        builtins.insert(
            "requirements.template".to_owned(),
            json!({ "type": "object" }),
        );
        builtins.insert(
            "requirements.citations".to_owned(),
            json!({
                "type": "object",
                "properties": { "answer": { "type": "object" }, "candidates": { "type": "array" } },
                "required": ["answer", "candidates"],
                "additionalProperties": false
            }),
        );
        Self { builtins }
    }
}

impl Catalog for TestCatalog {
    fn builtin_input_schema(&self, name: &str) -> Option<&Value> {
        self.builtins.get(name)
    }

    fn builtin_names(&self) -> Vec<String> {
        self.builtins.keys().cloned().collect()
    }

    fn check_names(&self) -> Vec<String> {
        vec!["requirements.citations".to_owned()]
    }

    fn has_model(&self, name: &str) -> bool {
        matches!(name, "local/gemma-3-270m" | "openai/gpt-4.1-mini")
    }
}

/// Files every fixture directory holds, relative to the workflow file.
pub const FILES: &[(&str, &str)] = &[
    ("prompts/plain.md.j2", "Answer in JSON.\n"),
    (
        "prompts/draft.md.j2",
        "Draft requirements from:\n{% for s in inputs.sources %}- {{ s }}\n{% endfor %}Sentences: {{ steps.ingest.output | length }}\n",
    ),
    (
        "prompts/broken.md.j2",
        "line one\nline two {{ steps.ingest.output \n",
    ),
    ("prompts/reads-review.md.j2", "{{ steps.review.output }}\n"),
    (
        "schemas/draft.schema.json",
        r#"{"type": "object", "properties": {"items": {"type": "array"}}, "required": ["items"]}"#,
    ),
    (
        "schemas/draft.schema.yaml",
        "type: object\nproperties:\n  items: { type: array }\n",
    ),
    (
        "schemas/bad.schema.json",
        "{\n  \"type\": \"object\",\n  \"properties\": {\n    \"x\": {\"type\": 5}\n  }\n}\n",
    ),
    (
        "schemas/broken.json",
        "{\n  \"type\": \"object\",\n  oops\n}\n",
    ),
];

/// Removes the common indentation of `text` and its leading newline, so fixtures can be
/// written indented in the test source.
pub fn dedent(text: &str) -> String {
    let text = text.strip_prefix('\n').unwrap_or(text);
    let indent = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    text.lines()
        .map(|l| l.get(indent..).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// A temporary directory with [`FILES`] and `t.workflow.yaml` holding `yaml` (dedented).
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl Fixture {
    #[expect(
        clippy::unwrap_used,
        reason = "a fixture that cannot be written is a broken test machine"
    )]
    pub fn new(yaml: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        for (rel, text) in FILES {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let path = dir.path().join("t.workflow.yaml");
        std::fs::write(&path, dedent(yaml)).unwrap();
        Self { dir, path }
    }

    pub fn load(&self) -> Result<Workflow, LoadError> {
        aine_workflow::load(&self.path, &TestCatalog::new())
    }

    /// The directory prefix to strip from paths in messages.
    pub fn prefix(&self) -> String {
        format!("{}/", self.dir.path().display())
    }
}

/// Loads `yaml` as a workflow file and returns a valid workflow, panicking with the
/// diagnostics otherwise.
#[expect(
    clippy::panic,
    reason = "test helper: an invalid fixture fails the test"
)]
pub fn workflow(yaml: &str) -> (Fixture, Workflow) {
    let fixture = Fixture::new(yaml);
    match fixture.load() {
        Ok(w) => (fixture, w),
        Err(e) => panic!("expected a valid workflow, got:\n{e}"),
    }
}

/// Loads `yaml` as `t.workflow.yaml` and compares the diagnostics (or `ok`) with `expected`.
#[track_caller]
#[expect(clippy::panic, reason = "test helper: an i/o error fails the test")]
pub fn check(yaml: &str, expected: &str) {
    let fixture = Fixture::new(yaml);
    let actual = match fixture.load() {
        Ok(_) => "ok".to_owned(),
        Err(LoadError::Invalid(d)) => d.to_string().replace(&fixture.prefix(), ""),
        Err(e @ LoadError::Io { .. }) => panic!("unexpected i/o error: {e}"),
    };
    let expected = dedent(expected);
    assert_eq!(
        actual.trim_end(),
        expected.trim_end(),
        "\n--- actual ---\n{actual}\n"
    );
}
