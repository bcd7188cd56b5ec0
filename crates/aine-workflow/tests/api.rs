//! The validated workflow as the runtime uses it: fields, rendering, conditions, inputs and
//! contracts.

mod common;

use std::path::Path;

use aine_types::StepId;
use aine_workflow::{Autonomy, Contract, Escalation, LoadError, RenderError, StepKind, Workflow};
use common::{TestCatalog, workflow};
use serde_json::json;
use sha2::{Digest, Sha256};

const FULL: &str = r#"
    workflow: requirements
    version: 1
    description: Stakeholder inputs -> reviewed requirements spec
    owners:
      product-owner: { role: product-owner }
    autonomy: review
    budget: { usd: 0.50, tokens: 400000 }
    inputs:
      sources: { type: array, items: { type: string } }
      style: { type: string, default: plain }
    steps:
      - id: ingest
        builtin: sources.ingest
        with: { paths: "{{ inputs.sources }}" }
      - id: note
        builtin: file.append
        with: { path: "out/{{ run.id }}.txt", line: "{{ inputs.sources | length }} sources", count: 3 }
        needs: [ingest]
      - id: draft
        model:
          route: [local/gemma-3-270m, openai/gpt-4.1-mini]
          escalate_on: [unsure]
          prompt: prompts/draft.md.j2
          output: schemas/draft.schema.json
          context_budget_tokens: 6000
          max_output_tokens: 1024
        budget: { usd: 0.20 }
        fallback_builtin: requirements.template
        check_builtin: requirements.citations
        with: { candidates: "{{ steps.ingest.output }}" }
      - id: review
        gate:
          owner: product-owner
          when: "steps.draft.output['items'] | length > 0 or steps.draft.outcome != 'ok'"
      - id: recheck
        gate:
          owner: product-owner
          reviews: ingest
"#;

#[expect(clippy::unwrap_used, reason = "test helper: ids in tests are valid")]
fn id(s: &str) -> StepId {
    StepId::new(s).unwrap()
}

fn ctx() -> serde_json::Value {
    json!({
        "inputs": { "sources": ["a.txt", "b.txt"], "style": "plain" },
        "steps": {
            "ingest": { "output": ["s1", "s2", "s3"], "outcome": "ok" },
            "draft": { "output": { "items": [] }, "outcome": "ok" }
        },
        "run": { "id": "run_01J0000000000000000000000" }
    })
}

#[test]
fn the_full_example_parses_into_typed_steps() {
    let (fixture, w) = workflow(FULL);
    assert_eq!(w.name, "requirements");
    assert_eq!(w.version, 1);
    assert_eq!(
        w.description.as_deref(),
        Some("Stakeholder inputs -> reviewed requirements spec")
    );
    assert_eq!(w.owners["product-owner"].as_str(), "product-owner");
    assert_eq!(w.autonomy, Autonomy::Review);
    let budget = w.budget.unwrap();
    assert_eq!(
        (budget.usd, budget.tokens),
        (
            Some(aine_types::Usd("0.50".parse().unwrap())),
            Some(400_000)
        )
    );
    assert_eq!(w.inputs.keys().collect::<Vec<_>>(), ["sources", "style"]);
    assert_eq!(w.path, fixture.path);
    let bytes = std::fs::read(&fixture.path).unwrap();
    assert_eq!(w.sha256, hex::encode(Sha256::digest(&bytes)));

    let ids: Vec<&str> = w.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["ingest", "note", "draft", "review", "recheck"]);
    assert_eq!(w.steps[0].line, 12);

    let note = w.step(&id("note")).unwrap();
    assert_eq!(note.needs, [id("ingest")]);
    let StepKind::Builtin(b) = &note.kind else {
        panic!("note is a builtin step")
    };
    assert_eq!(b.name, "file.append");
    assert_eq!(b.with["count"], json!(3));

    let draft = w.step(&id("draft")).unwrap();
    let StepKind::Model(m) = &draft.kind else {
        panic!("draft is a model step")
    };
    assert_eq!(m.route, ["local/gemma-3-270m", "openai/gpt-4.1-mini"]);
    assert_eq!(m.escalate_on, [Escalation::Unsure]);
    assert_eq!(
        m.prompt_path,
        fixture.dir.path().join("prompts/draft.md.j2")
    );
    assert_eq!(m.output.schema()["required"], json!(["items"]));
    assert_eq!(
        (m.context_budget_tokens, m.max_output_tokens),
        (Some(6000), Some(1024))
    );
    assert_eq!(m.fallback_builtin.as_deref(), Some("requirements.template"));
    assert_eq!(m.check_builtin.as_deref(), Some("requirements.citations"));
    assert_eq!(
        draft.budget.unwrap().usd,
        Some(aine_types::Usd("0.2".parse().unwrap()))
    );
    // the prompt reads `steps.ingest`
    assert_eq!(draft.depends_on, [id("ingest")]);

    let review = w.step(&id("review")).unwrap();
    let StepKind::Gate(g) = &review.kind else {
        panic!("review is a gate")
    };
    assert_eq!(
        (g.owner.as_str(), g.role.as_str()),
        ("product-owner", "product-owner")
    );
    assert_eq!(
        g.reviews,
        Some(id("draft")),
        "defaults to the nearest earlier non-gate step"
    );
    assert_eq!(review.depends_on, [id("draft")]);
    let StepKind::Gate(g) = &w.step(&id("recheck")).unwrap().kind else {
        panic!("recheck is a gate")
    };
    assert_eq!(g.reviews, Some(id("ingest")));
    assert_eq!(g.when, None);
}

#[test]
fn defaults_for_optional_keys() {
    let (_f, w) = workflow(
        "
        workflow: small
        version: 2
        owners:
          po: { role: product-owner }
        steps:
          - id: gate-first
            gate: { owner: po }
          - id: draft
            model:
              route: [local/gemma-3-270m]
              prompt: prompts/plain.md.j2
              output: schemas/draft.schema.yaml
        ",
    );
    assert_eq!(w.autonomy, Autonomy::Review);
    assert!(w.budget.is_none() && w.inputs.is_empty() && w.description.is_none());
    let StepKind::Gate(g) = &w.steps[0].kind else {
        panic!("a gate")
    };
    assert_eq!(g.reviews, None, "no earlier step to review");
    let StepKind::Model(m) = &w.steps[1].kind else {
        panic!("a model step")
    };
    assert_eq!(m.escalate_on, [Escalation::Unsure, Escalation::Violation]);
    assert_eq!(
        (m.fallback_builtin.as_ref(), m.check_builtin.as_ref()),
        (None, None)
    );
    assert!(
        m.output
            .validate(&json!({"items": "not an array"}))
            .is_err()
    );
}

#[test]
fn render_with_renders_every_string_and_keeps_whole_expressions_typed() {
    let (_f, w) = workflow(FULL);
    assert_eq!(
        w.render_with(&id("ingest"), &ctx()).unwrap(),
        json!({ "paths": ["a.txt", "b.txt"] })
    );
    assert_eq!(
        w.render_with(&id("note"), &ctx()).unwrap(),
        json!({ "path": "out/run_01J0000000000000000000000.txt", "line": "2 sources", "count": 3 })
    );
}

#[test]
fn render_with_fails_on_undefined_values() {
    let (_f, w) = workflow(FULL);
    let mut ctx = ctx();
    ctx["inputs"] = json!({});
    let err = w.render_with(&id("ingest"), &ctx).unwrap_err();
    assert!(
        matches!(&err, RenderError::Template { what, .. } if what == "`with` at /paths"),
        "unexpected error: {err}"
    );
    let err = w.render_with(&id("note"), &ctx).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot render `with` at /line of step `note`: "),
        "{err}"
    );
}

#[test]
fn render_prompt_renders_the_prompt_file() {
    let (_f, w) = workflow(FULL);
    let prompt = w.render_prompt(&id("draft"), &ctx()).unwrap();
    assert_eq!(
        prompt,
        "Draft requirements from:\n- a.txt\n- b.txt\nSentences: 3"
    );
}

#[test]
fn render_calls_check_the_step_and_its_kind() {
    let (_f, w) = workflow(FULL);
    assert_eq!(
        w.render_prompt(&id("ingest"), &ctx()).unwrap_err(),
        RenderError::WrongKind {
            step: id("ingest"),
            expected: "model"
        }
    );
    // A model step's `with` is the input of its fallback and check builtins.
    assert_eq!(
        w.render_with(&id("draft"), &ctx()).unwrap(),
        serde_json::json!({ "candidates": ctx()["steps"]["ingest"]["output"] })
    );
    assert_eq!(
        w.render_with(&id("review"), &ctx())
            .unwrap_err()
            .to_string(),
        "step `review` is not a builtin or model step"
    );
    assert_eq!(
        w.eval_when(&id("nope"), &ctx()).unwrap_err().to_string(),
        "workflow has no step `nope`"
    );
}

#[test]
fn eval_when_uses_truthiness_and_explains_itself() {
    let (_f, w) = workflow(FULL);
    let cond = "`steps.draft.output['items'] | length > 0 or steps.draft.outcome != 'ok'`";
    assert_eq!(
        w.eval_when(&id("review"), &ctx()).unwrap(),
        (false, format!("{cond} is false"))
    );
    let mut unsure = ctx();
    unsure["steps"]["draft"]["outcome"] = json!("unsure");
    assert_eq!(
        w.eval_when(&id("review"), &unsure).unwrap(),
        (true, format!("{cond} is true"))
    );
    assert_eq!(
        w.eval_when(&id("recheck"), &ctx()).unwrap(),
        (
            true,
            "no `when` condition: the gate always opens".to_owned()
        )
    );
}

#[test]
fn eval_when_reports_truthiness_of_non_booleans() {
    let (_f, w) = workflow(
        "
        workflow: small
        version: 1
        owners:
          po: { role: product-owner }
        steps:
          - id: check
            builtin: file.append
          - id: review
            gate: { owner: po, when: 'steps.check.output.findings' }
        ",
    );
    let ctx = json!({ "steps": { "check": { "output": { "findings": [] }, "outcome": "ok" } } });
    assert_eq!(
        w.eval_when(&id("review"), &ctx).unwrap(),
        (false, "`steps.check.output.findings` is [] (falsy)".into())
    );
    let err = w.eval_when(&id("review"), &json!({})).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot render condition `steps.check.output.findings` of step `review`")
    );
}

#[test]
fn validate_inputs_reports_missing_unknown_and_invalid_inputs() {
    let (_f, w) = workflow(FULL);
    assert_eq!(w.validate_inputs(&json!({ "sources": ["a"] })), Ok(()));
    assert_eq!(
        w.validate_inputs(&json!({ "sources": ["a", 5], "extra": true })),
        Err(vec![
            "input `sources` at /1: 5 is not of type \"string\"".to_owned(),
            "unknown input `extra`".to_owned()
        ])
    );
    assert_eq!(
        w.validate_inputs(&json!({})),
        Err(vec!["missing required input `sources`".to_owned()])
    );
    assert_eq!(
        w.validate_inputs(&json!([1])),
        Err(vec!["inputs must be a json object, found [1]".to_owned()])
    );
    assert_eq!(
        w.inputs_with_defaults(&json!({ "sources": [] })),
        json!({ "sources": [], "style": "plain" })
    );
}

#[test]
fn contracts_check_their_schema_and_report_pointers() {
    let err = Contract::new(json!({ "type": 5 })).unwrap_err();
    assert_eq!(err.0.len(), 1);
    assert!(
        err.to_string()
            .starts_with("invalid json schema: at /type: 5 is not valid"),
        "{err}"
    );

    let c = Contract::new(json!({
        "type": "object",
        "properties": { "items": { "type": "array", "items": { "type": "string" } } },
        "required": ["items", "title"]
    }))
    .unwrap();
    assert_eq!(c.validate(&json!({ "items": ["a"], "title": "t" })), Ok(()));
    let mut errors = c.validate(&json!({ "items": ["a", 1] })).unwrap_err();
    errors.sort();
    assert_eq!(
        errors,
        [
            "at /: \"title\" is a required property",
            "at /items/1: 1 is not of type \"string\""
        ]
    );
}

#[test]
fn load_reports_unreadable_files_and_parse_needs_no_file() {
    let err = aine_workflow::load(
        Path::new("/nonexistent/x.workflow.yaml"),
        &TestCatalog::new(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, LoadError::Io { path, .. } if path == Path::new("/nonexistent/x.workflow.yaml"))
    );
    assert_eq!(
        err.to_string(),
        "cannot read workflow file /nonexistent/x.workflow.yaml"
    );

    let source = "workflow: w\nversion: 1\nsteps:\n  - id: a\n    builtin: file.append\n";
    let w =
        aine_workflow::parse(Path::new("w.workflow.yaml"), source, &TestCatalog::new()).unwrap();
    assert_eq!(w.sha256, hex::encode(Sha256::digest(source.as_bytes())));
}

#[test]
fn workflows_can_be_shared_across_threads() {
    fn assert_shareable<T: std::fmt::Debug + Send + Sync>() {}
    assert_shareable::<Workflow>();
    assert_shareable::<Contract>();
    assert_shareable::<LoadError>();
}
