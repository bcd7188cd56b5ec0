//! Reading the top level of a workflow file: name, version, owners, autonomy, budget, inputs,
//! and the list of steps (each read by `step.rs`). Cross-step checks live in `validate.rs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aine_types::{RoleName, StepId};
use marked_yaml::Node;
use serde_json::Value;

use crate::Catalog;
use crate::contract::{Contract, meta_errors};
use crate::diagnostic::{Diags, Pos, suggest};
use crate::model::{Autonomy, Budget};
use crate::step::RawStep;
use crate::template::Templates;
use crate::yaml::{self, Fields, node_at, scalar_pos, scalar_value, type_error};

const TOP_KEYS: [&str; 8] = [
    "workflow",
    "version",
    "description",
    "owners",
    "autonomy",
    "budget",
    "inputs",
    "steps",
];
const AUTONOMY: [&str; 3] = ["suggest", "review", "auto"];

/// The rule for names people choose (workflow, steps, owners, inputs), shared with
/// `aine_types`' slugs: 1 to 64 ASCII letters, digits, `-`, `_` or `.`, starting with a letter.
pub(crate) const SLUG_RULE: &str =
    "use 1 to 64 ASCII letters, digits, `-`, `_` or `.`, starting with a letter";

pub(crate) fn is_slug(s: &str) -> bool {
    // same rule as every aine slug id; `StepId` owns it
    StepId::new(s).is_ok()
}

/// Everything read from the file, before cross-step checks. `None` where the file was wrong
/// (an error has been reported then).
#[derive(Debug, Default)]
pub(crate) struct Parts {
    pub name: Option<String>,
    pub version: Option<u32>,
    pub description: Option<String>,
    pub owners: BTreeMap<String, Option<RoleName>>,
    pub autonomy: Autonomy,
    pub budget: Option<Budget>,
    pub inputs: BTreeMap<String, Option<Contract>>,
    pub steps: Vec<RawStep>,
}

/// State shared while reading one file.
pub(crate) struct Reader<'a> {
    pub d: Diags,
    pub catalog: &'a dyn Catalog,
    /// The directory prompt and schema paths are relative to.
    pub dir: PathBuf,
    pub templates: Templates,
    /// Names declared under `inputs:`.
    pub input_names: Vec<String>,
}

impl std::fmt::Debug for Reader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Reader<'_> {
    /// Reads the whole file.
    pub fn read(&mut self, root: &Node) -> Parts {
        let mut parts = Parts::default();
        let Some(top) = Fields::open(&mut self.d, "the workflow file", root, &TOP_KEYS) else {
            return parts;
        };
        if let Some(node) = top.required(&mut self.d, "", "workflow") {
            parts.name = yaml::string(&mut self.d, "`workflow`", node).and_then(|s| {
                if is_slug(s.as_str()) {
                    Some(s.as_str().to_owned())
                } else {
                    let msg = format!("`{}` is not a valid workflow name: {SLUG_RULE}", s.as_str());
                    self.d.error(scalar_pos(s), msg, None);
                    None
                }
            });
        }
        if let Some(node) = top.required(&mut self.d, "", "version") {
            parts.version = yaml::positive_int(&mut self.d, "`version`", node).and_then(|v| {
                let v = u32::try_from(v).ok();
                if v.is_none() {
                    self.d
                        .error(yaml::pos(node), "`version` must be below 4294967296", None);
                }
                v
            });
        }
        if let Some(node) = top.get("description") {
            parts.description =
                yaml::string(&mut self.d, "`description`", node).map(|s| s.as_str().to_owned());
        }
        if let Some(node) = top.get("owners") {
            parts.owners = self.owners(node);
        }
        if let Some(node) = top.get("autonomy") {
            parts.autonomy = self.autonomy(node).unwrap_or_default();
        }
        if let Some(node) = top.get("budget") {
            parts.budget = budget(&mut self.d, "`budget`", node);
        }
        if let Some(node) = top.get("inputs") {
            parts.inputs = self.inputs(node);
            self.input_names = parts.inputs.keys().cloned().collect();
        }
        let steps = top.required(&mut self.d, "", "steps");
        if let Some(node) = steps
            && let Some(seq) = yaml::sequence(&mut self.d, "`steps`", node)
        {
            if seq.is_empty() {
                self.d
                    .error(yaml::pos(node), "`steps` must list at least one step", None);
            }
            for (index, step) in seq.iter().enumerate() {
                let raw = self.step(index, step);
                parts.steps.push(raw);
            }
        }
        parts
    }

    fn owners(&mut self, node: &Node) -> BTreeMap<String, Option<RoleName>> {
        let mut owners = BTreeMap::new();
        let Node::Mapping(map) = node else {
            type_error(&mut self.d, "`owners`", node, "a mapping");
            return owners;
        };
        for (key, value) in map.iter() {
            let name = key.as_str();
            if !is_slug(name) {
                self.d.error(
                    scalar_pos(key),
                    format!("`{name}` is not a valid owner name: {SLUG_RULE}"),
                    None,
                );
            }
            let label = format!("owner `{name}`");
            let role = Fields::open(&mut self.d, &label, value, &["role"])
                .and_then(|f| f.required(&mut self.d, &label, "role"))
                .and_then(|role| yaml::string(&mut self.d, "`role`", role))
                .and_then(|role| match RoleName::new(role.as_str()) {
                    Ok(r) => Some(r),
                    Err(e) => {
                        self.d.error(scalar_pos(role), e.to_string(), None);
                        None
                    }
                });
            owners.insert(name.to_owned(), role);
        }
        owners
    }

    pub(crate) fn autonomy(&mut self, node: &Node) -> Option<Autonomy> {
        let s = yaml::string(&mut self.d, "`autonomy`", node)?;
        match s.as_str() {
            "suggest" => Some(Autonomy::Suggest),
            "review" => Some(Autonomy::Review),
            "auto" => Some(Autonomy::Auto),
            other => {
                let hint = suggest(other, AUTONOMY, "use one of");
                self.d
                    .error(scalar_pos(s), format!("unknown autonomy `{other}`"), hint);
                None
            }
        }
    }

    fn inputs(&mut self, node: &Node) -> BTreeMap<String, Option<Contract>> {
        let mut inputs = BTreeMap::new();
        let Node::Mapping(map) = node else {
            type_error(&mut self.d, "`inputs`", node, "a mapping");
            return inputs;
        };
        for (key, schema) in map.iter() {
            let name = key.as_str();
            if !is_slug(name) {
                self.d.error(
                    scalar_pos(key),
                    format!("`{name}` is not a valid input name: {SLUG_RULE}"),
                    None,
                );
            }
            let contract = contract(
                &mut self.d,
                None,
                Some(schema),
                yaml::to_json(schema),
                &format!("input `{name}`"),
            );
            inputs.insert(name.to_owned(), contract);
        }
        inputs
    }

    /// Reads a schema file (JSON, or YAML for any other extension) and compiles it; errors
    /// point into that file.
    pub fn schema_file(&mut self, rel: &str, at: Pos, what: &str) -> Option<Contract> {
        let path = self.dir.join(rel);
        let text = self.read_file(&path, rel, at, "schema")?;
        let node = yaml::parse(&text);
        let value = if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            match serde_json::from_str::<Value>(&text) {
                Ok(v) => v,
                Err(e) => {
                    let pos = Pos {
                        line: e.line(),
                        col: e.column(),
                    };
                    // serde_json's message ends with the position, which the diagnostic shows
                    let message = e.to_string();
                    let message = message
                        .rsplit_once(" at line ")
                        .map_or(message.as_str(), |(m, _)| m);
                    self.d
                        .error_in(&path, pos, format!("invalid json: {message}"), None);
                    return None;
                }
            }
        } else {
            match &node {
                Ok(n) => yaml::to_json(n),
                Err((pos, message, hint)) => {
                    self.d.error_in(&path, *pos, message.clone(), hint.clone());
                    return None;
                }
            }
        };
        contract(&mut self.d, Some(&path), node.as_ref().ok(), value, what)
    }

    /// Reads a file named in the workflow (`rel`, resolved as `path`); reports a missing or
    /// unreadable file at `at` in the workflow.
    pub fn read_file(&mut self, path: &Path, rel: &str, at: Pos, kind: &str) -> Option<String> {
        match std::fs::read_to_string(path) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let hint = format!(
                    "paths are relative to the workflow file's directory; looked for {}",
                    path.display()
                );
                self.d
                    .error(at, format!("{kind} file `{rel}` not found"), Some(hint));
                None
            }
            Err(e) => {
                self.d
                    .error(at, format!("cannot read {kind} file `{rel}`: {e}"), None);
                None
            }
        }
    }
}

/// Compiles `value` as a contract; each meta-schema violation is reported at the node it
/// concerns (in `file`, or in the workflow file when `None`).
fn contract(
    d: &mut Diags,
    file: Option<&Path>,
    node: Option<&Node>,
    value: Value,
    what: &str,
) -> Option<Contract> {
    let errors = meta_errors(&value);
    let report = |d: &mut Diags, pos: Pos, message: String| match file {
        Some(path) => d.error_in(path, pos, message, None),
        None => d.error(pos, message, None),
    };
    if !errors.is_empty() {
        for (pointer, message) in errors {
            let pos = node
                .map(|n| yaml::pos(node_at(n, &pointer)))
                .unwrap_or(Pos { line: 1, col: 1 });
            let at = if pointer.is_empty() {
                "/".to_owned()
            } else {
                pointer
            };
            report(
                d,
                pos,
                format!("invalid json schema for {what} at {at}: {message}"),
            );
        }
        return None;
    }
    match Contract::new(value) {
        Ok(c) => Some(c),
        Err(e) => {
            report(
                d,
                node.map(yaml::pos).unwrap_or(Pos { line: 1, col: 1 }),
                format!("invalid json schema for {what}: {}", e.0.join("; ")),
            );
            None
        }
    }
}

/// Reads `{ usd, tokens }`; each must be > 0.
pub(crate) fn budget(d: &mut Diags, label: &str, node: &Node) -> Option<Budget> {
    let fields = Fields::open(d, label, node, &["usd", "tokens"])?;
    let mut ok = true;
    let usd = fields.get("usd").and_then(|n| {
        // The number as written, read as an exact decimal (96-bit mantissa): no binary
        // rounding, and a value beyond it (`1e30`) is an error here, not a $0 cap at run time.
        let v = match n {
            Node::Scalar(s) => match scalar_value(s) {
                Value::Number(_) => {
                    let text = s.as_str();
                    text.parse::<aine_types::Decimal>()
                        .or_else(|_| aine_types::Decimal::from_scientific(text))
                        .ok()
                }
                _ => None,
            },
            _ => None,
        };
        match v {
            Some(v) if v > aine_types::Decimal::ZERO => Some(aine_types::Usd(v)),
            _ => {
                type_error(d, "`usd`", n, "a positive number of US dollars");
                ok = false;
                None
            }
        }
    });
    let tokens = fields.get("tokens").and_then(|n| {
        let v = yaml::positive_int(d, "`tokens`", n);
        ok &= v.is_some();
        v
    });
    ok.then_some(Budget { usd, tokens })
}
