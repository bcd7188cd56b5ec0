//! The workflow parser and validator on any text, validated against the real builtins (core
//! and SDLC) and no configured models: every input ends in a workflow or a list of
//! diagnostics, never a panic.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use aine_runtime::{Models, Registry, StepCatalog};
use libfuzzer_sys::fuzz_target;

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut r = aine_runtime::core_registry().expect("the core builtins register");
        aine_sdlc::register(&mut r).expect("the SDLC builtins register");
        r
    })
}

fn models() -> &'static Models {
    static MODELS: OnceLock<Models> = OnceLock::new();
    MODELS.get_or_init(Models::default)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let catalog = StepCatalog {
        registry: registry(),
        models: models(),
    };
    let _ = aine_workflow::parse(Path::new("fuzz.workflow.yaml"), text, &catalog);
});
