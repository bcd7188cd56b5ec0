//! `aine validate` on adversarial workflows (issue 14): a step whose unknown `builtin:` name is
//! megabytes long, against a step id of the same length. Both should grow linearly with the
//! length (before: a 16 MiB builtin name took 5.3 s, the edit-distance hint compared it with
//! every known name). Prints a table: `cargo bench -p aine-workflow --bench validate` (under
//! `cargo test --benches` it runs a small size).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use aine_workflow::Catalog;
use serde_json::{Value, json};

/// Two builtins and no models: enough for the "did you mean" hint to have candidates.
struct Names(BTreeMap<String, Value>);

impl Catalog for Names {
    fn builtin_input_schema(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }
    fn builtin_names(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }
    fn check_names(&self) -> Vec<String> {
        Vec::new()
    }
    fn has_model(&self, _: &str) -> bool {
        false
    }
}

fn best(runs: usize, mut f: impl FnMut() -> usize) -> (Duration, usize) {
    let mut best = Duration::MAX;
    let mut out = 0;
    for _ in 0..runs {
        let start = Instant::now();
        out = f();
        best = best.min(start.elapsed());
    }
    (best, out)
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let sizes: &[usize] = if full {
        &[1 << 20, 4 << 20, 16 << 20]
    } else {
        &[1 << 16]
    };
    let catalog = Names(BTreeMap::from([
        ("core.echo".to_owned(), json!({ "type": "object" })),
        ("file.append".to_owned(), json!({ "type": "object" })),
    ]));
    println!(
        "| {:<26} | {:>10} | {:>9} | {:>9} | {:>6} |",
        "long part", "bytes", "ms", "ns/byte", "errors"
    );
    println!(
        "|{}|{}|{}|{}|{}|",
        "-".repeat(28),
        "-".repeat(12),
        "-".repeat(11),
        "-".repeat(11),
        "-".repeat(8)
    );
    for &n in sizes {
        let long = "x".repeat(n);
        for (what, workflow) in [
            (
                "unknown builtin name",
                format!("workflow: w\nversion: 1\nsteps:\n  - id: a\n    builtin: {long}\n"),
            ),
            (
                "step id",
                format!(
                    "workflow: w\nversion: 1\nsteps:\n  - id: {long}\n    builtin: core.echo\n"
                ),
            ),
        ] {
            let (time, errors) = best(if full { 3 } else { 1 }, || {
                match aine_workflow::parse(Path::new("w.workflow.yaml"), &workflow, &catalog) {
                    Ok(_) => 0,
                    Err(e) => e.to_string().lines().count(),
                }
            });
            println!(
                "| {what:<26} | {n:>10} | {:>9.1} | {:>9.2} | {errors:>6} |",
                time.as_secs_f64() * 1000.0,
                time.as_secs_f64() * 1e9 / n as f64
            );
        }
    }
}
