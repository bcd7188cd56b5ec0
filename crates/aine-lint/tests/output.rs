//! Text, JSON and `lint_draft` output shapes; RULES.md is generated from `rules()`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers"
)]

use std::path::Path;

use aine_lint::{
    Finding, InputFormat, LintOptions, RuleId, Severity, lint, lint_draft, parse, rules_markdown,
    to_json, to_text,
};
use expect_test::{expect, expect_file};

fn findings(text: &str) -> Vec<Finding> {
    let doc = parse(Path::new("r.txt"), text, InputFormat::RequirementLines).unwrap();
    lint(&doc, &LintOptions::default())
}

#[test]
fn rules_md_is_current() {
    expect_file!["../RULES.md"].assert_eq(&rules_markdown());
}

#[test]
fn findings_carry_positions_and_spans() {
    let f = findings("  The café shall be user friendly.");
    assert_eq!(f.len(), 1);
    let f = &f[0];
    assert_eq!(
        (f.rule, f.severity, f.line, f.col),
        (RuleId::SmellSubjective, Severity::Warning, 1, 21)
    );
    let line = "  The café shall be user friendly.";
    let (s, e) = f.span.unwrap();
    assert_eq!(&line[s..e], "user friendly");
}

#[test]
fn json_output() {
    let json = to_json(&findings("The system should log everything."));
    expect![[r#"
        {
          "by_rule": {
            "ears.modal": 1,
            "smell.totality": 1
          },
          "counts": {
            "error": 0,
            "note": 1,
            "warning": 1
          },
          "findings": [
            {
              "col": 12,
              "file": "r.txt",
              "item": null,
              "line": 1,
              "message": "`should` instead of `shall`: the obligation is not binding",
              "rule": "ears.modal",
              "severity": "warning",
              "span": [
                11,
                17
              ],
              "suggestion": "The system shall log everything."
            },
            {
              "col": 23,
              "file": "r.txt",
              "item": null,
              "line": 1,
              "message": "term of totality `everything`",
              "rule": "smell.totality",
              "severity": "note",
              "span": [
                22,
                32
              ],
              "suggestion": "state the scope (`each …`) and any exceptions"
            }
          ]
        }"#]]
    .assert_eq(&serde_json::to_string_pretty(&json).unwrap());
    let back: Vec<Finding> = serde_json::from_value(json["findings"].clone()).unwrap();
    assert_eq!(back, findings("The system should log everything."));
}

#[test]
fn lint_draft_names_items_by_id() {
    let draft: aine_spec::Draft = serde_json::from_str(
        r#"{"requirements": [
              {"id": "REQ-001", "text": "When a viewer presses the power button, the remote shall switch the TV on.", "pattern": "event_driven", "category": "functional", "sources": ["m#1"]},
              {"id": "REQ-002", "text": "The remote should be easy to use.", "pattern": "ubiquitous", "category": "usability", "sources": []},
              {"id": "REQ-003", "text": "The system shall export invoices.", "pattern": "ubiquitous", "category": "functional", "sources": ["m#1", "m#9"]}],
            "user_stories": [
              {"id": "US-001", "text": "As a viewer, I want a power button, so that I can switch the TV on.", "role": "viewer", "goal": "a power button",
               "acceptance_criteria": [{"given": "the TV is off", "when": "it is pressed", "then": "the TV switches on"}], "sources": ["m#1"]}]}"#,
    )
    .unwrap();
    let sources: Vec<aine_spec::Sentence> = serde_json::from_str(
        r#"[{"text": "We need a big power button to switch the TV on.", "source": {"id": "m#1", "file": "m.json", "sentence": 1, "start": 0, "end": 48}}]"#,
    )
    .unwrap();
    expect![[r#"
        REQ-002 trace.no-source cites no source ref
          suggestion: add the id of each source sentence the item comes from to `sources`
        REQ-002 ears.modal `should` instead of `shall`: the obligation is not binding
          suggestion: The remote shall be easy to use.
        REQ-002 smell.subjective subjective language `easy to use`
          suggestion: replace it with a measurable criterion
        REQ-003 trace.unknown-source cites source ref `m#9` that does not exist
          suggestion: cite an id from the spec's sources, or remove it
        REQ-003 trace.no-overlap shares no content word with its sources (`m#1`)
          suggestion: check the citation: cite the sentences this item comes from
        US-001/AC1.when smell.vague-pronoun vague pronoun `it` with no antecedent in the item
          suggestion: name the thing it refers to
    "#]]
    .assert_eq(&to_text(&lint_draft(&draft, &sources)));
    let without_sources = lint_draft(&draft, &[]);
    assert!(
        without_sources
            .iter()
            .all(|f| f.rule != RuleId::TraceUnknownSource && f.rule != RuleId::TraceNoOverlap)
    );
    assert!(
        without_sources
            .iter()
            .any(|f| f.rule == RuleId::TraceNoSource)
    );
}
