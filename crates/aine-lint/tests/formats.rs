//! Each input format: a `check` helper that parses an input in that format and compares the text
//! output; and each format's fixture (modelled on real Spec Kit, OpenSpec and Kiro files) parsed
//! and linted against a snapshot. Update snapshots with `UPDATE_EXPECT=1`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers"
)]

use std::path::Path;

use aine_lint::{InputFormat, LintOptions, detect_format, lint, parse, to_text};
use expect_test::{Expect, expect, expect_file};

fn check(format: InputFormat, name: &str, input: &str, expected: Expect) {
    let doc = parse(Path::new(name), input, format).unwrap();
    expected.assert_eq(&to_text(&lint(&doc, &LintOptions::default())));
}

fn check_lines(input: &str, expected: Expect) {
    check(InputFormat::RequirementLines, "req.txt", input, expected);
}

fn check_stories(input: &str, expected: Expect) {
    check(InputFormat::StoryLines, "stories.txt", input, expected);
}

fn check_spec_kit(input: &str, expected: Expect) {
    check(InputFormat::SpecKit, "spec.md", input, expected);
}

fn check_open_spec(input: &str, expected: Expect) {
    check(InputFormat::OpenSpec, "spec.md", input, expected);
}

fn check_kiro(input: &str, expected: Expect) {
    check(InputFormat::Kiro, "requirements.md", input, expected);
}

fn check_json(input: &str, expected: Expect) {
    check(InputFormat::AineSpec, "requirements.json", input, expected);
}

fn fixture(rel: &str) -> (std::path::PathBuf, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel);
    let text = std::fs::read_to_string(&path).unwrap();
    (Path::new(rel).to_owned(), text)
}

/// Detects the fixture's format, checks it is `format`, and snapshots the findings.
fn check_fixture(rel: &str, format: InputFormat, items: usize, expected: expect_test::ExpectFile) {
    let (path, text) = fixture(rel);
    assert_eq!(detect_format(&path, &text), format, "format of {rel}");
    let doc = parse(&path, &text, format).unwrap();
    assert_eq!(doc.items.len(), items, "items of {rel}: {:#?}", doc.items);
    expected.assert_eq(&to_text(&lint(&doc, &LintOptions::default())));
}

#[test]
fn requirement_lines() {
    check_lines(
        "# comment\n\nREQ-7: The system should log each failed login.\n  - WHEN the door opens THE car SHALL sound a chime.\n",
        expect![[r#"
            req.txt:3:19 ears.modal `should` instead of `shall`: the obligation is not binding [REQ-7]
              suggestion: The system shall log each failed login.
        "#]],
    );
}

#[test]
fn story_lines() {
    check_stories(
        "As a visitor, I want to search events, so that I can plan my weekend.\n# comment\nAs a visitor, I want to upload photos and share them.\n",
        expect![[r#"
            stories.txt:3:39 qus.atomic `and` joins a second action (`share`): the story asks for more than one feature
              suggestion: split it into one story per action
        "#]],
    );
}

#[test]
fn spec_kit() {
    check_spec_kit(
        "## Requirements\n\n- **FR-001**: System MUST export notes as PDF.\n- **FR-002**: System should keep exports.\n\n1. **Given** a meeting, **When** the owner exports, **Then** a PDF opens quickly\n",
        expect![[r#"
            spec.md:4:22 ears.modal `should` instead of `shall`: the obligation is not binding [FR-002]
              suggestion: System shall keep exports.
            spec.md:6:74 smell.ambiguous ambiguous `quickly`: no measure given [AS-0.1]
              suggestion: state the value (with its unit) or the exact condition
        "#]],
    );
}

#[test]
fn open_spec() {
    check_open_spec(
        "## Requirements\n### Requirement: Export\nThe system SHALL export notes.\n\n#### Scenario: ok\n- **WHEN** the owner exports\n- **THEN** it is done etc.\n",
        expect![[r#"
            spec.md:7:12 smell.vague-pronoun vague pronoun `it` with no antecedent in the item [Export / ok]
              suggestion: name the thing it refers to
            spec.md:7:23 smell.open-ended open-ended term `etc.` [Export / ok]
              suggestion: list every element explicitly
        "#]],
    );
}

#[test]
fn kiro() {
    check_kiro(
        "### Requirement 1\n\n**User Story:** As a user, I want to export notes, so that I can share them.\n\n#### Acceptance Criteria\n\n1. WHEN the user clicks Export THEN the Exporter SHALL produce a PDF\n2. IF the export fails the Exporter SHALL show the error\n\n### Requirement 2: Import\n\n#### Acceptance Criteria\n\n- WHEN a file is dropped THEN the Importer should read it\n",
        expect![[r#"
            requirements.md:8:4 ears.pattern unwanted-behaviour requirement without `then` [R1.2]
              suggestion: write `If <trigger>, then the <system> shall <response>.`
            requirements.md:14:44 ears.modal `should` instead of `shall`: the obligation is not binding [R2.1]
              suggestion: WHEN a file is dropped THEN the Importer shall read it
        "#]],
    );
}

#[test]
fn aine_spec_json() {
    check_json(
        r#"{"requirements": [{"id": "REQ-1", "text": "The remote should be \"easy\" to use.", "pattern": "ubiquitous", "category": "usability", "sources": ["a#1"]}], "user_stories": []}"#,
        expect![[r#"
            requirements.json:1:44 ears.modal `should` instead of `shall`: the obligation is not binding [REQ-1]
              suggestion: The remote shall be "easy" to use.
            requirements.json:1:44 smell.subjective subjective language `easy` [REQ-1]
              suggestion: replace it with a measurable criterion
        "#]],
    );
}

#[test]
fn fixture_requirement_lines() {
    check_fixture(
        "requirements.txt",
        InputFormat::RequirementLines,
        5,
        expect_file!["snapshots/requirements.txt.out"],
    );
}

#[test]
fn fixture_story_lines() {
    check_fixture(
        "stories.txt",
        InputFormat::StoryLines,
        6,
        expect_file!["snapshots/stories.txt.out"],
    );
}

#[test]
fn fixture_spec_kit() {
    check_fixture(
        "speckit/spec.md",
        InputFormat::SpecKit,
        9,
        expect_file!["snapshots/speckit.out"],
    );
}

#[test]
fn fixture_open_spec() {
    check_fixture(
        "openspec/spec.md",
        InputFormat::OpenSpec,
        8,
        expect_file!["snapshots/openspec.out"],
    );
}

#[test]
fn fixture_kiro() {
    check_fixture(
        "kiro/requirements.md",
        InputFormat::Kiro,
        8,
        expect_file!["snapshots/kiro.out"],
    );
}

#[test]
fn fixture_aine_spec() {
    check_fixture(
        "requirements.json",
        InputFormat::AineSpec,
        7,
        expect_file!["snapshots/requirements.json.out"],
    );
}

#[test]
fn format_detection() {
    let cases: &[(&str, &str, InputFormat)] = &[
        ("requirements.json", "{}", InputFormat::AineSpec),
        ("spec", "  {\"requirements\": []}", InputFormat::AineSpec),
        (
            "requirements.md",
            "### Requirement 1\n**User Story:** As a user, I want x.\n",
            InputFormat::Kiro,
        ),
        (
            "spec.md",
            "### Requirement: Export\nThe system SHALL export.\n",
            InputFormat::OpenSpec,
        ),
        (
            "requirements.md",
            "# Requirements\n\nSpec format 1.0.\n\n## Requirements (EARS)\n\n- **REQ-001** (Ubiquitous, Functional): The remote shall beep.\n",
            InputFormat::AineMarkdown,
        ),
        (
            "spec.md",
            "# Feature Specification: X\n- **FR-001**: System MUST x.\n",
            InputFormat::SpecKit,
        ),
        (
            "backlog.txt",
            "As a user, I want x.\nAs an admin, I want y.\nNote\n",
            InputFormat::StoryLines,
        ),
        (
            "reqs.txt",
            "The system shall x.\nAs a user, I want y.\nThe system shall z.\n",
            InputFormat::RequirementLines,
        ),
        (
            "notes.md",
            "# Notes\nThe system shall x.\n",
            InputFormat::RequirementLines,
        ),
    ];
    for (name, text, format) in cases {
        assert_eq!(
            detect_format(Path::new(name), text),
            *format,
            "{name}: {text:?}"
        );
    }
}
