//! SARIF output validates against the official SARIF 2.1.0 JSON Schema (vendored under
//! `tests/fixtures/`, see its NOTICE).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers"
)]

use std::path::Path;

use aine_lint::{InputFormat, LintOptions, lint, lint_draft, parse, rules, to_sarif};
use serde_json::Value;

fn validator() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sarif-schema-2.1.0.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn errors(log: &Value) -> Vec<String> {
    validator()
        .iter_errors(log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn sample_log() -> Value {
    let text = "REQ-1: The system should quickly respond.\nWhen it is full, shall alert.\nThe système shall be user friendly ✓ within 2.\n";
    let doc = parse(
        Path::new("specs/my reqs.txt"),
        text,
        InputFormat::RequirementLines,
    )
    .unwrap();
    let mut findings = lint(&doc, &LintOptions::default());
    let draft: aine_spec::Draft = serde_json::from_str(
        r#"{"requirements": [{"id": "R1", "text": "The remote shall be easy to use.", "pattern": "ubiquitous", "category": "usability", "sources": []}], "user_stories": []}"#,
    )
    .unwrap();
    findings.extend(lint_draft(&draft, &[]));
    assert!(findings.len() > 5, "{findings:?}");
    to_sarif(&findings, rules())
}

#[test]
fn sarif_output_is_valid_sarif_2_1_0() {
    let log = sample_log();
    let errors = errors(&log);
    assert!(errors.is_empty(), "{errors:#?}");
    let driver = &log["runs"][0]["tool"]["driver"];
    assert_eq!(driver["rules"].as_array().unwrap().len(), rules().len());
    let first = &driver["rules"][0];
    assert_eq!(first["id"], "ears.no-shall");
    assert!(first["help"]["text"].as_str().unwrap().contains("Mavin"));
    assert!(
        first["properties"]["source"]
            .as_str()
            .unwrap()
            .contains("RE'09")
    );
    let result = &log["runs"][0]["results"][0];
    assert_eq!(
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "specs/my%20reqs.txt"
    );
    let index = usize::try_from(result["ruleIndex"].as_u64().unwrap()).unwrap();
    assert_eq!(driver["rules"][index]["id"], result["ruleId"]);
}

#[test]
fn the_schema_rejects_broken_sarif() {
    // The validation above could pass vacuously if the schema accepted anything.
    let mut log = sample_log();
    log["version"] = Value::from("2.0.0");
    log["runs"][0]["results"][0]["level"] = Value::from("fatal");
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        Value::from(0);
    let errors = errors(&log);
    assert!(errors.len() >= 3, "{errors:#?}");
}
