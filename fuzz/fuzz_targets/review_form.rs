//! The review form (`aine review edit`) on any text, applied to a small drafted spec: every
//! input ends in a reviewed draft or errors at their lines, never a panic.
#![no_main]

use std::collections::HashSet;

use aine_sdlc::review::form;
use aine_spec::{Category, Draft, EarsPattern, OpenQuestion, Requirement};
use libfuzzer_sys::fuzz_target;

fn draft() -> Draft {
    Draft {
        requirements: vec![Requirement {
            id: "REQ-001".to_owned(),
            text: "The remote shall not provide teletext.".to_owned(),
            pattern: EarsPattern::Ubiquitous,
            category: Category::Functional,
            sources: vec!["m#1".to_owned()],
        }],
        user_stories: Vec::new(),
        open_questions: vec![OpenQuestion {
            id: "Q-001".to_owned(),
            text: "Which colour?".to_owned(),
            items: vec!["REQ-001".to_owned()],
            sources: vec!["m#2".to_owned()],
        }],
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let sources: HashSet<&str> = ["m#1", "m#2"].into_iter().collect();
    if let Ok(read) = form::read(text) {
        let _ = form::apply_at_lines(&draft(), &sources, &read);
    }
});
