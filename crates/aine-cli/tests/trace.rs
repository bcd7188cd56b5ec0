//! `aine trace ITEM-ID` and `aine trace --matrix` on a real requirements run: the local model is
//! pointed at a missing file so the template fallback drafts (fast and deterministic), the owner
//! edits one requirement and adds another, and every trace link is checked against the bytes of
//! the source file.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers"
)]

mod common;

use common::{aine, text};
use serde_json::Value;

const NOTES: &str = "Kick-off notes.\n\
The remote control must have a big power button.\n\
We want the remote to be easy to use for older people.\n\
The battery shall last at least two years.\n";

fn json(out: &std::process::Output) -> Value {
    assert_eq!(out.status.code(), Some(0), "{:?}", text(out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn trace_links_items_to_source_bytes_producing_step_and_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(aine(d, &["init"]).status.code(), Some(0));
    let mut config = std::fs::read_to_string(d.join("aine.toml")).unwrap();
    config.push_str(
        "\n[models.\"local/qwen2.5-coder-1.5b\"]\nprovider = \"local\"\npath = \"no-such-model.gguf\"\n",
    );
    std::fs::write(d.join("aine.toml"), config).unwrap();
    std::fs::write(d.join("notes.txt"), NOTES).unwrap();

    // Nothing to trace yet.
    let out = aine(d, &["trace", "--matrix"]);
    assert_eq!(out.status.code(), Some(1), "{:?}", text(&out));
    assert!(
        text(&out).1.contains("no run has drafted a spec yet"),
        "{:?}",
        text(&out)
    );

    let run = json(&aine(
        d,
        &[
            "run",
            "workflows/requirements.workflow.yaml",
            "--input",
            "sources=[\"notes.txt\"]",
            "--json",
        ],
    ));
    let run_id = run["summary"]["run"].as_str().unwrap().to_owned();
    let gate = run["summary"]["waiting"]["gate"]
        .as_str()
        .unwrap()
        .to_owned();

    // Before the review: what would be published, with every link resolving to its bytes.
    let matrix = json(&aine(d, &["trace", "--matrix", "--json"]));
    assert_eq!(matrix["run"], run_id.as_str());
    assert_eq!(matrix["published"], false);
    let items = matrix["items"].as_array().unwrap();
    assert!(items.len() >= 2, "{matrix:#}");
    for item in items {
        assert_eq!(item["produced_by"]["step"], "draft", "{item:#}");
        let sources = item["sources"].as_array().unwrap();
        assert!(!sources.is_empty(), "{item:#}");
        for s in sources {
            let start = s["source"]["start"].as_u64().unwrap() as usize;
            let end = s["source"]["end"].as_u64().unwrap() as usize;
            assert_eq!(s["source"]["file"], "notes.txt");
            assert_eq!(
                &NOTES[start..end],
                s["text"].as_str().unwrap(),
                "the cited bytes are the sentence"
            );
        }
    }
    let requirement = items
        .iter()
        .find(|i| i["kind"] == "requirement")
        .unwrap()
        .clone();
    let req_id = requirement["id"].as_str().unwrap().to_owned();

    // The owner rewrites that requirement and adds one of their own.
    let shown = json(&aine(d, &["review", "show", &gate, "--json"]));
    let steps = shown["run"]["steps"].as_array().unwrap();
    let mut draft = steps.iter().find(|s| s["id"] == "merge").unwrap()["output"].clone();
    let reqs = draft["requirements"].as_array_mut().unwrap();
    let first = reqs
        .iter_mut()
        .find(|r| r["id"] == req_id.as_str())
        .unwrap();
    first["text"] =
        Value::String("The remote control shall have a power button of at least 15 mm.".into());
    let mut added = first.clone();
    added["id"] = Value::String("REQ-900".into());
    added["text"] = Value::String("The remote control shall work without a manual.".into());
    reqs.push(added);
    std::fs::write(d.join("edit.json"), draft.to_string()).unwrap();
    let out = aine(
        d,
        &[
            "review",
            "edit",
            &gate,
            "--file",
            "edit.json",
            "--as",
            "pat",
            "--reason",
            "sizes",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));

    let item = json(&aine(d, &["trace", &req_id, "--json"]));
    assert_eq!(
        item["text"],
        "The remote control shall have a power button of at least 15 mm."
    );
    assert_eq!(item["produced_by"]["step"], "draft");
    assert!(
        item["produced_by"]["why"]
            .as_str()
            .unwrap()
            .contains("requirements.template"),
        "the fallback is named: {item:#}"
    );
    let decision = &item["decisions"][0];
    assert_eq!(decision["decision"], "edit");
    assert_eq!(decision["by"], "pat");
    assert_eq!(decision["reason"], "sizes");
    assert_eq!(decision["change"], "changed");

    let added = json(&aine(d, &["trace", "req-900", "--run", &run_id, "--json"]));
    assert!(added["produced_by"]["step"].is_null(), "{added:#}");
    assert_eq!(added["decisions"][0]["change"], "added", "{added:#}");

    // After publication: the matrix as CSV, one row per item and cited source.
    let matrix = json(&aine(d, &["trace", "--matrix", "--json"]));
    assert_eq!(matrix["published"], true);
    let expected_rows: usize = matrix["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["sources"].as_array().unwrap().len().max(1))
        .sum();
    let out = aine(d, &["trace", "--matrix", "--csv"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "item");
    assert_eq!(&headers[8], "sentence");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), expected_rows);
    assert!(
        rows.iter()
            .any(|r| &r[0] == "REQ-900" && r[11].contains("edit by pat (added)"))
    );
    assert!(
        rows.iter().all(|r| NOTES.contains(&r[8])),
        "sentences quote the source"
    );

    // Text output for people.
    let (stdout, _) = text(&aine(d, &["trace", "REQ-900"]));
    assert!(stdout.contains("REQ-900 (requirement)"), "{stdout}");
    assert!(stdout.contains("sources (1)"), "{stdout}");
    assert!(stdout.contains("notes.txt"), "{stdout}");
    assert!(
        stdout.contains("edit by pat (item added): sizes"),
        "{stdout}"
    );
}

#[test]
fn unknown_items_and_runs_without_a_spec_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(aine(d, &["init"]).status.code(), Some(0));
    let run = json(&aine(
        d,
        &[
            "run",
            "workflows/example.workflow.yaml",
            "--input",
            "name=Ada",
            "--json",
        ],
    ));
    let run_id = run["summary"]["run"].as_str().unwrap();
    let out = aine(d, &["trace", "--matrix", "--run", run_id]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("has no `spec.publish` step"), "{stderr}");

    std::fs::write(d.join("notes.txt"), NOTES).unwrap();
    let mut config = std::fs::read_to_string(d.join("aine.toml")).unwrap();
    config.push_str(
        "\n[models.\"local/qwen2.5-coder-1.5b\"]\nprovider = \"local\"\npath = \"no-such-model.gguf\"\n",
    );
    std::fs::write(d.join("aine.toml"), config).unwrap();
    json(&aine(
        d,
        &[
            "run",
            "workflows/requirements.workflow.yaml",
            "--input",
            "sources=[\"notes.txt\"]",
            "--json",
        ],
    ));
    let out = aine(d, &["trace", "REQ-999"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(
        stderr.contains("has no spec item `REQ-999`; its items are REQ-001"),
        "{stderr}"
    );
    let out = aine(d, &["trace", "--run", "run_nope", "--matrix"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(text(&out).1.contains("run_nope"), "{:?}", text(&out));
}
