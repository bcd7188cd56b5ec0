//! The linter's readers and rules on any text in each input format (the first byte picks it:
//! aine's spec JSON and Markdown, requirement and story lines, Spec Kit, OpenSpec, Kiro): every
//! input ends in findings or an error, never a panic.
#![no_main]

use std::path::Path;

use aine_lint::{InputFormat, LintOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let format = InputFormat::ALL[usize::from(selector) % InputFormat::ALL.len()];
    let Ok(text) = aine_lint::decode(Path::new("fuzz.md"), body) else {
        return;
    };
    if let Ok(doc) = aine_lint::parse(Path::new("fuzz.md"), text, format) {
        let _ = aine_lint::lint(&doc, &LintOptions::default());
    }
});
