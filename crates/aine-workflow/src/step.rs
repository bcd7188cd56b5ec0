//! Reading one step: its id, its kind (`builtin`, `model` or `gate`) and everything the kind
//! needs, compiling its templates and noting which steps and inputs they read.

use aine_types::StepId;
use marked_yaml::Node;
use marked_yaml::types::MarkedScalarNode;
use serde_json::{Map, Value};

use crate::diagnostic::{Pos, suggest};
use crate::model::{Budget, BuiltinStep, Escalation, ModelStep, StepKind};
use crate::parse::{Reader, budget};
use crate::template::{
    CompileError, ELEMENT_ROOTS, ROOTS, Reads, for_each_name, pointer_token, prompt_name,
    single_expression, with_name,
};
use crate::yaml::{self, Fields, scalar_pos, scalar_value};
use crate::{CHECK_ANSWER, FALLBACK_REJECTED};

const STEP_KEYS: [&str; 11] = [
    "id",
    "for_each",
    "concurrency",
    "builtin",
    "model",
    "gate",
    "with",
    "needs",
    "budget",
    "fallback_builtin",
    "check_builtin",
];
const KINDS: [&str; 3] = ["builtin", "model", "gate"];
const MODEL_KEYS: [&str; 6] = [
    "route",
    "escalate_on",
    "prompt",
    "output",
    "context_budget_tokens",
    "max_output_tokens",
];
/// The most elements of a `for_each` step that may be in flight at once.
pub const MAX_CONCURRENCY: u32 = 64;
const GATE_KEYS: [&str; 4] = ["owner", "when", "reviews", "autonomy"];
const ESCALATIONS: [&str; 2] = ["unsure", "violation"];

/// Which of the three kinds a step declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    Builtin,
    Model,
    Gate,
}

/// A gate as written; resolved against owners and earlier steps in `validate.rs`.
#[derive(Debug, Default)]
pub(crate) struct RawGate {
    pub owner: Option<(String, Pos)>,
    pub when: Option<String>,
    pub reviews: Option<(String, Pos)>,
    pub autonomy: Option<crate::Autonomy>,
}

/// A step as read, with positions for cross-step checks.
#[derive(Debug)]
pub(crate) struct RawStep {
    pub pos: Pos,
    /// `step `draft`` (or `step #2` when it has no usable id), for messages.
    pub label: String,
    pub id: Option<StepId>,
    pub id_pos: Pos,
    pub flavor: Option<Flavor>,
    /// The builtin or model step, when everything it needs was valid.
    pub kind: Option<StepKind>,
    pub gate: Option<RawGate>,
    pub needs: Vec<(String, Pos)>,
    /// Step ids read by the step's templates and condition, with where they were read.
    pub reads: Vec<(String, Pos)>,
    pub budget: Option<Budget>,
    /// `for_each:` as written (one `{{ expression }}`), when the step has it.
    pub for_each: Option<String>,
    /// `concurrency:` (elements of a `for_each` step in flight at once); 1 when not written.
    pub concurrency: u32,
}

/// Which of the kind keys a step mapping has.
fn kinds_present(node: &Node) -> Vec<&'static str> {
    let map = node.as_mapping();
    KINDS
        .into_iter()
        .filter(|k| map.is_some_and(|m| m.get_node(k).is_some()))
        .collect()
}

impl Reader<'_> {
    /// Reads the step at `index` (0-based) of `steps:`.
    pub(crate) fn step(&mut self, index: usize, node: &Node) -> RawStep {
        let id_text = node
            .as_mapping()
            .and_then(|m| m.get_scalar("id"))
            .map(|s| s.as_str().to_owned());
        let label = match &id_text {
            Some(id) => format!("step `{id}`"),
            None => format!("step #{}", index + 1),
        };
        let mut raw = RawStep {
            pos: yaml::pos(node),
            label: label.clone(),
            id: None,
            id_pos: yaml::pos(node),
            flavor: None,
            kind: None,
            gate: None,
            needs: Vec::new(),
            reads: Vec::new(),
            budget: None,
            for_each: None,
            concurrency: 1,
        };
        let Some(f) = Fields::open(&mut self.d, &label, node, &STEP_KEYS) else {
            return raw;
        };
        if let Some(id_node) = f.required(&mut self.d, &label, "id") {
            raw.id_pos = yaml::pos(id_node);
            if let Some(s) = yaml::string(&mut self.d, "`id`", id_node) {
                match StepId::new(s.as_str()) {
                    Ok(id) => raw.id = Some(id),
                    Err(e) => self.d.error(scalar_pos(s), e.to_string(), None),
                }
            }
        }
        // templates of a step without a usable id still compile, under a name no id can take
        let prefix = raw
            .id
            .as_ref()
            .map_or_else(|| format!("#{index}"), |id| id.to_string());

        let present = kinds_present(node);
        match present.as_slice() {
            [] => self.d.error(
                f.pos(),
                format!("{label} must have one of `builtin`, `model` or `gate`"),
                None,
            ),
            [only] => {
                raw.flavor = match *only {
                    "builtin" => Some(Flavor::Builtin),
                    "model" => Some(Flavor::Model),
                    _ => Some(Flavor::Gate),
                }
            }
            [_, second, ..] => {
                let list: Vec<String> = present.iter().map(|k| format!("`{k}`")).collect();
                let msg = format!("{label} has {}: use exactly one", list.join(" and "));
                self.d.error(f.key_pos(second), msg, None);
            }
        }
        // Before the kind: the templates of a `for_each` step may read `item` and `index`.
        if let Some(node) = f.get("for_each") {
            self.for_each(&mut raw, &prefix, node);
        }
        match raw.flavor {
            Some(Flavor::Builtin) => {
                raw.kind = self.builtin(&mut raw, &prefix, &f).map(StepKind::Builtin)
            }
            Some(Flavor::Model) => {
                raw.kind = self.model(&mut raw, &prefix, &f).map(StepKind::Model)
            }
            Some(Flavor::Gate) => raw.gate = f.get("gate").map(|g| self.gate(&mut raw, g)),
            None => {}
        }
        let fallback = f.get("fallback_builtin");
        let check = f.get("check_builtin");
        let with_allowed = match raw.flavor {
            Some(Flavor::Builtin) => true,
            Some(Flavor::Model) => fallback.is_some() || check.is_some(),
            _ => false,
        };
        if f.get("with").is_some() && !with_allowed {
            self.d.error(
                f.key_pos("with"),
                "`with` is only allowed on builtin steps and on model steps with a `fallback_builtin` or a `check_builtin`",
                Some(
                    "on a model step, `with` is the input of its fallback builtin and of its check builtin"
                        .to_owned(),
                ),
            );
        }
        for key in ["fallback_builtin", "check_builtin"] {
            if f.get(key).is_some() && raw.flavor.is_some_and(|k| k != Flavor::Model) {
                self.d.error(
                    f.key_pos(key),
                    format!("`{key}` is only allowed on model steps"),
                    None,
                );
            }
        }
        let fallback = fallback.and_then(|n| yaml::string(&mut self.d, "`fallback_builtin`", n));
        let check = check.and_then(|n| yaml::string(&mut self.d, "`check_builtin`", n));
        if raw.flavor == Some(Flavor::Model) && (fallback.is_some() || check.is_some()) {
            // One `with`, compiled once, read by both builtins.
            let with = self.model_with(&mut raw, &prefix, &f, fallback, check);
            if let Some(StepKind::Model(m)) = &mut raw.kind {
                m.fallback_builtin = fallback.map(|s| s.as_str().to_owned());
                m.check_builtin = check.map(|s| s.as_str().to_owned());
                m.with = with.unwrap_or_default();
            }
        } else {
            if let Some(s) = fallback {
                self.check_builtin(s);
            }
            if let Some(s) = check {
                self.check_check(s);
            }
        }
        if let Some(needs) = f.get("needs")
            && let Some(seq) = yaml::sequence(&mut self.d, "`needs`", needs)
        {
            for item in seq.iter() {
                if let Some(s) = yaml::string(&mut self.d, "a `needs` entry", item) {
                    raw.needs.push((s.as_str().to_owned(), scalar_pos(s)));
                }
            }
        }
        if let Some(b) = f.get("budget") {
            raw.budget = budget(&mut self.d, "`budget`", b);
        }
        if let Some(node) = f.get("concurrency") {
            self.concurrency(&mut raw, node);
        }
        raw
    }

    /// Reads `concurrency:`: how many elements of a `for_each` step run at once (1 to
    /// [`MAX_CONCURRENCY`]).
    fn concurrency(&mut self, raw: &mut RawStep, node: &Node) {
        let Some(n) = yaml::positive_int(&mut self.d, "`concurrency`", node) else {
            return;
        };
        if raw.for_each.is_none() {
            self.d.error(
                yaml::pos(node),
                "`concurrency` is only allowed on a step with `for_each`",
                Some("add `for_each: \"{{ ... }}\"` or remove `concurrency`".to_owned()),
            );
            return;
        }
        match u32::try_from(n) {
            Ok(n) if n <= MAX_CONCURRENCY => raw.concurrency = n,
            _ => self.d.error(
                yaml::pos(node),
                format!("`concurrency` must be at most {MAX_CONCURRENCY}, found {n}"),
                None,
            ),
        }
    }

    /// Reads `for_each:`: one `{{ expression }}` giving the list, on a builtin or model step.
    fn for_each(&mut self, raw: &mut RawStep, prefix: &str, node: &Node) {
        let Some(s) = yaml::string(&mut self.d, "`for_each`", node) else {
            return;
        };
        if raw.flavor == Some(Flavor::Gate) {
            self.d.error(
                scalar_pos(s),
                "`for_each` is only allowed on builtin and model steps",
                None,
            );
            return;
        }
        if single_expression(s.as_str()).is_none() {
            self.d.error(
                scalar_pos(s),
                "`for_each` must be one `{{ expression }}` that gives a list",
                Some("for example `for_each: \"{{ steps.topics.output.topics }}\"`".to_owned()),
            );
            return;
        }
        let reads = self
            .templates
            .add(for_each_name(prefix), s.as_str().to_owned());
        self.note_template(raw, reads, s, "`for_each`");
        raw.for_each = Some(s.as_str().to_owned());
    }

    /// Reports an unknown builtin name; returns its input schema when known.
    fn check_builtin(&mut self, name: &MarkedScalarNode) -> Option<Value> {
        let schema = self.catalog.builtin_input_schema(name.as_str()).cloned();
        if schema.is_none() {
            let names = self.catalog.builtin_names();
            let hint = suggest(
                name.as_str(),
                names.iter().map(String::as_str),
                "known builtins",
            );
            self.d.error(
                scalar_pos(name),
                format!("unknown builtin `{}`", name.as_str()),
                hint,
            );
        }
        schema
    }

    /// Reports a name that is not a check builtin (a builtin registered to judge model
    /// answers); returns its input schema when it is one.
    fn check_check(&mut self, name: &MarkedScalarNode) -> Option<Value> {
        let checks = self.catalog.check_names();
        if checks.iter().any(|c| c == name.as_str()) {
            return self.catalog.builtin_input_schema(name.as_str()).cloned();
        }
        let known = |checks: &[String]| {
            if checks.is_empty() {
                "no check builtins are registered".to_owned()
            } else {
                let list: Vec<String> = checks.iter().map(|c| format!("`{c}`")).collect();
                format!("check builtins: {}", list.join(", "))
            }
        };
        let (message, hint) = if self.catalog.builtin_input_schema(name.as_str()).is_some() {
            (
                format!(
                    "builtin `{}` is not a check builtin (it does not judge a model's answer)",
                    name.as_str()
                ),
                Some(known(&checks)),
            )
        } else {
            (
                format!("unknown check builtin `{}`", name.as_str()),
                suggest(
                    name.as_str(),
                    checks.iter().map(String::as_str),
                    "check builtins",
                )
                .or_else(|| Some(known(&checks))),
            )
        };
        self.d.error(scalar_pos(name), message, hint);
        None
    }

    /// Reads a model step's `with`, the input of its fallback builtin and of its check builtin
    /// (which also receives the model's answer as `answer`), and checks its keys against both.
    fn model_with(
        &mut self,
        raw: &mut RawStep,
        prefix: &str,
        f: &Fields<'_>,
        fallback: Option<&MarkedScalarNode>,
        check: Option<&MarkedScalarNode>,
    ) -> Option<Value> {
        let with_node = f.get("with");
        let with = self.read_with(raw, prefix, with_node);
        let fallback_schema = fallback.and_then(|name| self.check_builtin(name));
        let check_schema = check.and_then(|name| self.check_check(name));
        let with = with?;
        if let (Some(name), Some(schema)) = (fallback, fallback_schema) {
            let at = with_node.map_or_else(|| scalar_pos(name), yaml::pos);
            if let Some(key) = with_node
                .and_then(Node::as_mapping)
                .and_then(|m| m.keys().find(|k| k.as_str() == FALLBACK_REJECTED))
            {
                self.d.error(
                    scalar_pos(key),
                    format!("`with` cannot set `{FALLBACK_REJECTED}` on a model step"),
                    Some(format!(
                        "the runtime gives the fallback builtin the answer its check refused as `{FALLBACK_REJECTED}`"
                    )),
                );
            }
            self.check_with(name.as_str(), &schema, with_node, at);
        }
        if let (Some(name), Some(mut schema)) = (check, check_schema) {
            let at = with_node.map_or_else(|| scalar_pos(name), yaml::pos);
            if let Some(key) = with_node
                .and_then(Node::as_mapping)
                .and_then(|m| m.keys().find(|k| k.as_str() == CHECK_ANSWER))
            {
                self.d.error(
                    scalar_pos(key),
                    format!("`with` cannot set `{CHECK_ANSWER}` on a step with a `check_builtin`"),
                    Some(format!(
                        "the check builtin receives the model's answer as `{CHECK_ANSWER}`"
                    )),
                );
            }
            // `answer` is supplied by the runtime, not by `with`.
            if let Some(required) = schema.get_mut("required").and_then(Value::as_array_mut) {
                required.retain(|r| r.as_str() != Some(CHECK_ANSWER));
            }
            self.check_with(name.as_str(), &schema, with_node, at);
        }
        Some(with)
    }

    fn builtin(&mut self, raw: &mut RawStep, prefix: &str, f: &Fields<'_>) -> Option<BuiltinStep> {
        let name = yaml::string(&mut self.d, "`builtin`", f.get("builtin")?)?;
        let with = self.with(raw, prefix, f, name)?;
        Some(BuiltinStep {
            name: name.as_str().to_owned(),
            with,
        })
    }

    /// Reads `with` (the input of builtin `name`: every string is a template) and checks its keys
    /// against the builtin's input schema.
    fn with(
        &mut self,
        raw: &mut RawStep,
        prefix: &str,
        f: &Fields<'_>,
        name: &MarkedScalarNode,
    ) -> Option<Value> {
        let schema = self.check_builtin(name);
        let with_node = f.get("with");
        let with = self.read_with(raw, prefix, with_node)?;
        if let Some(schema) = &schema {
            let at = with_node.map_or_else(|| scalar_pos(name), yaml::pos);
            self.check_with(name.as_str(), schema, with_node, at);
        }
        Some(with)
    }

    /// Reads a `with` mapping (an empty object when absent), compiling every string in it as a
    /// template.
    fn read_with(
        &mut self,
        raw: &mut RawStep,
        prefix: &str,
        with_node: Option<&Node>,
    ) -> Option<Value> {
        match with_node {
            None => Some(Value::Object(Map::new())),
            Some(node @ Node::Mapping(_)) => {
                let mut strings = Vec::new();
                collect_strings(node, String::new(), &mut strings);
                for (pointer, s) in strings {
                    let reads = self
                        .templates
                        .add(with_name(prefix, &pointer), s.as_str().to_owned());
                    self.note_template(raw, reads, s, "template");
                }
                Some(yaml::to_json(node))
            }
            Some(node) => {
                yaml::type_error(&mut self.d, "`with`", node, "a mapping");
                None
            }
        }
    }

    /// Checks `with` keys against the builtin's input schema: no key outside `properties` when
    /// `additionalProperties` is `false`, and every `required` key present.
    fn check_with(&mut self, builtin: &str, schema: &Value, with: Option<&Node>, at: Pos) {
        let props: Vec<&str> = schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let map = with.and_then(Node::as_mapping);
        if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
            for key in map.iter().flat_map(|m| m.keys()) {
                if !props.contains(&key.as_str()) {
                    let hint = suggest(key.as_str(), props.iter().copied(), "its inputs");
                    let msg = format!("builtin `{builtin}` has no input `{}`", key.as_str());
                    self.d.error(scalar_pos(key), msg, hint);
                }
            }
        }
        let required = schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        for req in required.filter_map(Value::as_str) {
            if map.is_none_or(|m| m.get_node(req).is_none()) {
                self.d.error(
                    at,
                    format!("builtin `{builtin}` requires input `{req}` in `with`"),
                    None,
                );
            }
        }
    }

    fn model(&mut self, raw: &mut RawStep, prefix: &str, f: &Fields<'_>) -> Option<ModelStep> {
        let label = "`model`";
        let m = Fields::open(&mut self.d, label, f.get("model")?, &MODEL_KEYS)?;
        let route = m
            .required(&mut self.d, label, "route")
            .and_then(|n| self.route(n));
        let escalate_on = match m.get("escalate_on") {
            None => Some(vec![Escalation::Unsure, Escalation::Violation]),
            Some(n) => self.escalations(n),
        };
        let prompt = m
            .required(&mut self.d, label, "prompt")
            .and_then(|n| yaml::string(&mut self.d, "`prompt`", n));
        let prompt_path = prompt.and_then(|p| {
            let path = self.dir.join(p.as_str());
            let text = self.read_file(&path, p.as_str(), scalar_pos(p), "prompt")?;
            match self.templates.add(prompt_name(prefix), text) {
                Ok(reads) => self.note_reads(raw, reads, scalar_pos(p)),
                Err(e) => {
                    let pos = Pos {
                        line: e.line.unwrap_or(1),
                        col: e.col.unwrap_or(1),
                    };
                    self.d.error_in(
                        &path,
                        pos,
                        format!("template does not compile: {}", e.message),
                        None,
                    );
                }
            }
            Some(path)
        });
        let what = format!("the output of {}", raw.label);
        let output = m
            .required(&mut self.d, label, "output")
            .and_then(|n| yaml::string(&mut self.d, "`output`", n))
            .and_then(|o| self.schema_file(o.as_str(), scalar_pos(o), &what));
        let context = m.get("context_budget_tokens");
        let context_budget_tokens =
            context.and_then(|n| yaml::positive_int(&mut self.d, "`context_budget_tokens`", n));
        let max_output = m.get("max_output_tokens");
        let max_output_tokens =
            max_output.and_then(|n| yaml::positive_int(&mut self.d, "`max_output_tokens`", n));
        Some(ModelStep {
            route: route?,
            escalate_on: escalate_on?,
            prompt_path: prompt_path?,
            output: output?,
            context_budget_tokens,
            max_output_tokens,
            fallback_builtin: None,
            check_builtin: None,
            with: Value::Object(Map::new()),
        })
    }

    fn route(&mut self, node: &Node) -> Option<Vec<String>> {
        let seq = yaml::sequence(&mut self.d, "`route`", node)?;
        if seq.is_empty() {
            self.d.error(
                yaml::pos(node),
                "`route` must list at least one model",
                None,
            );
            return None;
        }
        let mut route = Vec::new();
        for item in seq.iter() {
            let s = yaml::string(&mut self.d, "a `route` entry", item)?;
            if !self.catalog.has_model(s.as_str()) {
                let hint = Some("models are configured in aine.toml".to_owned());
                self.d.error(
                    scalar_pos(s),
                    format!("unknown model `{}`", s.as_str()),
                    hint,
                );
            }
            route.push(s.as_str().to_owned());
        }
        Some(route)
    }

    fn escalations(&mut self, node: &Node) -> Option<Vec<Escalation>> {
        let seq = yaml::sequence(&mut self.d, "`escalate_on`", node)?;
        let mut out = Vec::new();
        for item in seq.iter() {
            let s = yaml::string(&mut self.d, "an `escalate_on` entry", item)?;
            let e = match s.as_str() {
                "unsure" => Escalation::Unsure,
                "violation" => Escalation::Violation,
                other => {
                    let hint = suggest(other, ESCALATIONS, "use");
                    self.d
                        .error(scalar_pos(s), format!("unknown escalation `{other}`"), hint);
                    continue;
                }
            };
            if !out.contains(&e) {
                out.push(e);
            }
        }
        Some(out)
    }

    fn gate(&mut self, raw: &mut RawStep, node: &Node) -> RawGate {
        let mut gate = RawGate::default();
        let label = "`gate`";
        let Some(g) = Fields::open(&mut self.d, label, node, &GATE_KEYS) else {
            return gate;
        };
        gate.owner = g
            .required(&mut self.d, label, "owner")
            .and_then(|n| yaml::string(&mut self.d, "`owner`", n))
            .map(|s| (s.as_str().to_owned(), scalar_pos(s)));
        if let Some(s) = g
            .get("when")
            .and_then(|n| yaml::string(&mut self.d, "`when`", n))
        {
            let reads = self.templates.check_condition(s.as_str());
            self.note_template(raw, reads, s, "condition");
            gate.when = Some(s.as_str().to_owned());
        }
        gate.reviews = g
            .get("reviews")
            .and_then(|n| yaml::string(&mut self.d, "`reviews`", n))
            .map(|s| (s.as_str().to_owned(), scalar_pos(s)));
        gate.autonomy = g.get("autonomy").and_then(|n| self.autonomy(n));
        gate
    }

    /// Notes what an inline template or condition (written in scalar `s`) reads, or reports
    /// why it does not compile.
    fn note_template(
        &mut self,
        raw: &mut RawStep,
        reads: Result<Reads, CompileError>,
        s: &MarkedScalarNode,
        what: &str,
    ) {
        match reads {
            Ok(reads) => self.note_reads(raw, reads, scalar_pos(s)),
            Err(e) => {
                let line = match e.line {
                    Some(line) if s.as_str().contains('\n') => {
                        format!(" (line {line} of the {what})")
                    }
                    _ => String::new(),
                };
                self.d.error(
                    scalar_pos(s),
                    format!("{what} does not compile: {}{line}", e.message),
                    None,
                );
            }
        }
    }

    /// Records the steps a template reads; reports undeclared inputs and unknown variables.
    fn note_reads(&mut self, raw: &mut RawStep, reads: Reads, at: Pos) {
        raw.reads.extend(reads.steps.into_iter().map(|s| (s, at)));
        for input in reads.inputs {
            if !self.input_names.contains(&input) {
                let hint = suggest(
                    &input,
                    self.input_names.iter().map(String::as_str),
                    "declared inputs",
                )
                .or_else(|| Some("declare it under `inputs:`".to_owned()));
                self.d.error(
                    at,
                    format!("{} reads undeclared input `{input}`", raw.label),
                    hint,
                );
            }
        }
        for var in reads.unknown {
            // Set only once `for_each` itself was read, so the list cannot read its own element.
            if raw.for_each.is_some() && ELEMENT_ROOTS.contains(&var.as_str()) {
                continue;
            }
            let hint = suggest(&var, ROOTS, "templates can read");
            self.d.error(
                at,
                format!("{} reads unknown variable `{var}`", raw.label),
                hint,
            );
        }
    }
}

/// Every string scalar under `node`, with its JSON pointer relative to `node`.
fn collect_strings<'n>(
    node: &'n Node,
    pointer: String,
    out: &mut Vec<(String, &'n MarkedScalarNode)>,
) {
    match node {
        Node::Scalar(s) => {
            if scalar_value(s).is_string() {
                out.push((pointer, s));
            }
        }
        Node::Sequence(seq) => {
            for (i, item) in seq.iter().enumerate() {
                collect_strings(item, format!("{pointer}/{i}"), out);
            }
        }
        Node::Mapping(map) => {
            for (k, v) in map.iter() {
                collect_strings(v, format!("{pointer}/{}", pointer_token(k.as_str())), out);
            }
        }
    }
}
