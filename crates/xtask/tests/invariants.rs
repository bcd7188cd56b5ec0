//! Architecture invariants from ARCHITECTURE.md, checked against `cargo metadata`: a crate that
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions"
)]
//! gains a forbidden dependency (directly or through another crate) fails this test.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// (crate, forbidden dependencies anywhere in its dependency closure, and why).
const RULES: &[(&str, &[&str], &str)] = &[
    (
        "aine-types",
        &[
            "tokio",
            "sqlx",
            "rusqlite",
            "reqwest",
            "hyper",
            "axum",
            "aine-workflow",
            "aine-engine",
            "aine-store",
            "aine-runtime",
        ],
        "aine-types does no I/O and depends on no other aine crate",
    ),
    (
        "aine-engine",
        &[
            "tokio",
            "sqlx",
            "rusqlite",
            "reqwest",
            "hyper",
            "axum",
            "aine-store",
            "aine-runtime",
            "aine-workflow",
        ],
        "aine-engine is a pure state machine: no async runtime, SQL, HTTP or workflow parsing",
    ),
    (
        "aine-workflow",
        &[
            "tokio",
            "sqlx",
            "rusqlite",
            "reqwest",
            "hyper",
            "axum",
            "aine-engine",
            "aine-store",
            "aine-runtime",
        ],
        "aine-workflow parses and validates; it runs nothing and performs no network I/O",
    ),
    (
        "aine-store",
        &["reqwest", "hyper", "axum", "aine-runtime", "aine-workflow"],
        "aine-store owns SQL and knows neither HTTP nor workflows",
    ),
    (
        "aine-runtime",
        &[
            "axum",
            "clap",
            "indicatif",
            "opentelemetry",
            "opentelemetry_sdk",
        ],
        "aine-runtime has no HTTP server, no CLI concerns, and no telemetry SDK (observers plug in)",
    ),
    (
        "aine-telemetry",
        &["axum", "clap", "indicatif", "aine-sdlc", "aine-llama"],
        "aine-telemetry turns journals into spans and metrics: no server, CLI or SDLC pack",
    ),
    (
        "aine-server",
        &["clap", "indicatif", "aine-llama", "aine-cli"],
        "aine-server is the HTTP face of the runtime: no CLI concerns, no in-process model (the binary supplies the model builder)",
    ),
];

/// Crates that may not depend *directly* on sqlx: only aine-store contains SQL.
const NO_DIRECT_SQL: &[&str] = &[
    "aine-types",
    "aine-engine",
    "aine-workflow",
    "aine-runtime",
    "aine-telemetry",
    "aine-server",
    "aine-cli",
];

fn metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        // Not `--offline`: the resolve graph covers every platform, and a fresh machine's
        // `cargo test` only downloaded the crates of its own (e.g. not android_system_properties).
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

/// Package name -> names of its normal (non-dev) dependencies, from the resolve graph.
fn graph(meta: &Value) -> BTreeMap<String, (String, BTreeSet<String>)> {
    let names: BTreeMap<&str, &str> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let mut out = BTreeMap::new();
    for node in meta["resolve"]["nodes"].as_array().unwrap() {
        let id = node["id"].as_str().unwrap();
        let deps = node["deps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| {
                d["dep_kinds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|k| k["kind"].is_null() || k["kind"] == "build")
            })
            .map(|d| d["pkg"].as_str().unwrap().to_owned())
            .collect();
        out.insert(id.to_owned(), (names[id].to_owned(), deps));
    }
    out
}

fn closure(graph: &BTreeMap<String, (String, BTreeSet<String>)>, root: &str) -> BTreeSet<String> {
    let start = graph
        .iter()
        .find(|(_, (name, _))| name == root)
        .map(|(id, _)| id.clone())
        .unwrap_or_else(|| panic!("crate {root} is not in the workspace"));
    let mut seen = BTreeSet::new();
    let mut stack = vec![start];
    while let Some(id) = stack.pop() {
        for dep in &graph[&id].1 {
            if seen.insert(dep.clone()) {
                stack.push(dep.clone());
            }
        }
    }
    seen.iter().map(|id| graph[id].0.clone()).collect()
}

#[test]
fn crates_keep_their_dependency_invariants() {
    let meta = metadata();
    let graph = graph(&meta);
    let mut broken = Vec::new();
    for (krate, forbidden, why) in RULES {
        let deps = closure(&graph, krate);
        for f in *forbidden {
            if deps.contains(*f) {
                broken.push(format!("{krate} depends on {f}: {why}"));
            }
        }
    }
    for krate in NO_DIRECT_SQL {
        let direct: BTreeSet<String> = graph
            .values()
            .find(|(name, _)| name == krate)
            .map(|(_, deps)| deps.iter().map(|d| graph[d].0.clone()).collect())
            .unwrap_or_default();
        for sql in ["sqlx", "rusqlite"] {
            if direct.contains(sql) {
                broken.push(format!(
                    "{krate} depends on {sql} directly: only aine-store contains SQL"
                ));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "architecture invariants broken:\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_checker_sees_real_dependencies() {
    // Guards against a checker that passes because it reads nothing.
    let graph = graph(&metadata());
    assert!(closure(&graph, "aine-store").contains("sqlx"));
    assert!(closure(&graph, "aine-store").contains("rusqlite"));
    assert!(closure(&graph, "aine-runtime").contains("tokio"));
    assert!(closure(&graph, "aine-engine").contains("aine-types"));
    assert!(closure(&graph, "aine-telemetry").contains("opentelemetry_sdk"));
}
