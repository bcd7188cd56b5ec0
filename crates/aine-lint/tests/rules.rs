//! Every rule has a positive case (the rule fires) and a negative case (it does not).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers"
)]

use std::path::Path;

use aine_lint::{InputFormat, LintOptions, RuleId, lint, parse};

fn fired(format: InputFormat, input: &str) -> Vec<RuleId> {
    let doc = parse(Path::new("case"), input, format).unwrap();
    lint(&doc, &LintOptions::default())
        .into_iter()
        .map(|f| f.rule)
        .collect()
}

/// `(rule, format, fires on, does not fire on)`.
const CASES: &[(RuleId, InputFormat, &str, &str)] = {
    use InputFormat::{AineSpec as J, RequirementLines as R, StoryLines as S};
    &[
        (
            RuleId::EarsNoShall,
            R,
            "Password reset via e-mail link.",
            "The system shall e-mail a password reset link.",
        ),
        (
            RuleId::EarsModal,
            R,
            "The system should log each failed login.",
            "The system shall log each failed login.",
        ),
        (
            RuleId::EarsModal,
            R,
            "The product will be available during business hours.",
            "The product shall be available from 08:00 to 18:00.",
        ),
        (
            RuleId::EarsMultipleShall,
            R,
            "The system shall encrypt backups and the operator shall rotate keys.",
            "The system shall encrypt backups.",
        ),
        (
            RuleId::EarsPattern,
            R,
            "After a payment fails, the system shall notify the customer.",
            "If a payment fails, then the system shall notify the customer.",
        ),
        (
            RuleId::EarsPattern,
            R,
            "If a payment fails the system shall notify the customer.",
            "IF a payment fails THEN the system SHALL notify the customer.",
        ),
        (
            RuleId::EarsPattern,
            R,
            "When the door opens, shall sound a chime.",
            "WHEN the door opens THE car SHALL sound a chime.",
        ),
        (
            RuleId::EarsPattern,
            R,
            "The system shall",
            "While the car is moving, when a door opens, the car shall sound an alarm.",
        ),
        (
            RuleId::SmellSubjective,
            R,
            "The report page shall be user friendly.",
            "The report page shall load in 2 s.",
        ),
        (
            RuleId::SmellAmbiguous,
            R,
            "The system shall quickly display results.",
            "The system shall display results within 2 seconds.",
        ),
        (
            RuleId::SmellAmbiguous,
            R,
            "The remote control shall be used in a certain way.",
            "The remote control shall be held in one hand.",
        ),
        (
            RuleId::SmellLoophole,
            R,
            "The system shall cache results where possible.",
            "The system shall cache results for 10 minutes.",
        ),
        (
            RuleId::SmellOpenEnded,
            R,
            "The system shall import CSV, XLSX, etc.",
            "The system shall import CSV and XLSX files.",
        ),
        (
            RuleId::SmellSuperlative,
            R,
            "The system shall pick the fastest route.",
            "The system shall show the most recent route.",
        ),
        (
            RuleId::SmellComparative,
            R,
            "The new search shall be faster.",
            "The search shall return in less than 1 second.",
        ),
        (
            RuleId::SmellNegative,
            R,
            "The system shall not allow anonymous downloads.",
            "The system shall require a login for downloads.",
        ),
        (
            RuleId::SmellNegative,
            S,
            "As a user, I want to not see ads, so that I can read.",
            "As a user, I want to hide ads, so that I don't get distracted.",
        ),
        (
            RuleId::SmellVaguePronoun,
            R,
            "When it is full, the system shall alert the operator.",
            "When the queue is full, the system shall alert the operator and log it.",
        ),
        (
            RuleId::SmellVaguePronoun,
            R,
            "This shall be logged.",
            "This page shall list the orders.",
        ),
        (
            RuleId::SmellIncompleteReference,
            R,
            "The system shall retain logs for TBD days.",
            "The system shall retain logs as specified in ISO 27001.",
        ),
        (
            RuleId::SmellTotality,
            R,
            "The system shall always respond.",
            "The system shall refresh every 60 seconds.",
        ),
        (
            RuleId::QusWellFormed,
            S,
            "Export the monthly report as PDF.",
            "As an accountant, I want to export the monthly report as PDF.",
        ),
        (
            RuleId::QusAtomic,
            S,
            "As a user, I want to upload photos and share them.",
            "As a user, I want to see the name and address of a venue.",
        ),
        (
            RuleId::QusAtomic,
            S,
            "As a user, I want to create and edit a record.",
            "As a user, I want to view the log and report.",
        ),
        (
            RuleId::QusMinimal,
            S,
            "As a user, I want to search events (by date).",
            "As a user, I want to search collection(s) by date.",
        ),
        (
            RuleId::QusMinimal,
            S,
            "As a user, I want to search events. Note: also by venue.",
            "As a user, I want to search events by venue, so that I can go out.",
        ),
        (
            RuleId::QusFullSentence,
            S,
            "as a user, I want to reset my password",
            "As a user, I want to reset my password.",
        ),
        (
            RuleId::QusUnique,
            S,
            "As a user, I want to log in.\nAs a user I want to log in",
            "As a user, I want to log in.\nAs a user, I want to log out.",
        ),
        (
            RuleId::QusUniform,
            S,
            "As a user, I want to a.\nAs a user, I want to b.\nAs a user, I want to c.\nAs a user, I can d.",
            "As a user, I want to a.\nAs a user, I want to b.\nAs a user, I want to c, so that e.",
        ),
        (
            RuleId::TraceNoSource,
            J,
            r#"{"requirements": [{"id": "R1", "text": "The remote shall have a power button.", "pattern": "ubiquitous", "category": "functional", "sources": []}], "user_stories": []}"#,
            r#"{"requirements": [{"id": "R1", "text": "The remote shall have a power button.", "pattern": "ubiquitous", "category": "functional", "sources": ["a#1"]}], "user_stories": []}"#,
        ),
        (
            RuleId::TraceUnknownSource,
            J,
            r#"{"requirements": [{"id": "R1", "text": "The remote shall have a power button.", "pattern": "ubiquitous", "category": "functional", "sources": ["a#2"]}], "user_stories": [], "sources": [{"id": "a#1", "file": "a.txt", "sentence": 1, "start": 0, "end": 9}]}"#,
            r#"{"requirements": [{"id": "R1", "text": "The remote shall have a power button.", "pattern": "ubiquitous", "category": "functional", "sources": ["a#1"]}], "user_stories": [], "sources": [{"id": "a#1", "file": "a.txt", "sentence": 1, "start": 0, "end": 9}]}"#,
        ),
        (
            RuleId::TraceNoOverlap,
            J,
            r#"{"requirements": [{"id": "R1", "text": "The system shall export invoices.", "pattern": "ubiquitous", "category": "functional", "sources": ["a#1"]}], "user_stories": [], "sources": [{"text": "We want a big power button.", "source": {"id": "a#1", "file": "a.txt", "sentence": 1, "start": 0, "end": 9}}]}"#,
            r#"{"requirements": [{"id": "R1", "text": "The remote shall have a power button.", "pattern": "ubiquitous", "category": "functional", "sources": ["a#1"]}], "user_stories": [], "sources": [{"text": "We want a big power button.", "source": {"id": "a#1", "file": "a.txt", "sentence": 1, "start": 0, "end": 9}}]}"#,
        ),
        (
            RuleId::ConflictQuantity,
            R,
            "The system shall respond to a search within 2 seconds.\nThe system shall respond to a search within 5 seconds.",
            "The system shall respond to a search within 2 seconds.\nThe system shall respond to a search within 2000 ms.\nThe system shall respond to a login within 5 seconds.",
        ),
        (
            RuleId::MeasureNoUnit,
            R,
            "The system shall time out sessions after 30.",
            "The system shall time out sessions after 30 minutes, allow 3 attempts, and run on Windows 10 from 2025.",
        ),
    ]
};

#[test]
fn every_rule_fires_on_its_positive_case_and_not_on_its_negative_case() {
    let mut failures = Vec::new();
    for (rule, format, positive, negative) in CASES {
        if !fired(*format, positive).contains(rule) {
            failures.push(format!("{rule} did not fire on {positive:?}"));
        }
        let on_negative = fired(*format, negative);
        if on_negative.contains(rule) {
            failures.push(format!("{rule} fired on {negative:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_rule_has_a_case() {
    for rule in RuleId::ALL {
        assert!(
            CASES.iter().any(|(r, ..)| r == rule),
            "no positive/negative case for {rule}"
        );
    }
}

#[test]
fn disabled_rules_are_not_reported() {
    let doc = parse(
        Path::new("case"),
        "The system should always respond.",
        InputFormat::RequirementLines,
    )
    .unwrap();
    let options = LintOptions {
        disabled: vec![RuleId::EarsModal],
        ..LintOptions::default()
    };
    let rules: Vec<RuleId> = lint(&doc, &options).into_iter().map(|f| f.rule).collect();
    assert_eq!(rules, [RuleId::SmellTotality]);
}

#[test]
fn must_binds_only_where_the_format_says_so() {
    let text = "The system must log each login.";
    assert!(fired(InputFormat::RequirementLines, text).contains(&RuleId::EarsModal));
    let doc = parse(Path::new("case"), text, InputFormat::RequirementLines).unwrap();
    let options = LintOptions {
        must_is_normative: Some(true),
        ..LintOptions::default()
    };
    assert!(lint(&doc, &options).is_empty());
}

#[test]
fn rule_ids_round_trip() {
    for rule in RuleId::ALL {
        assert_eq!(rule.as_str().parse::<RuleId>().unwrap(), *rule);
        assert_eq!(rule.info().id, *rule);
    }
    assert!("ears.nope".parse::<RuleId>().is_err());
    assert_eq!(aine_lint::rules().len(), RuleId::ALL.len());
}
