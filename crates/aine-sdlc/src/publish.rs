//! `spec.publish`: writes the reviewed spec where people and later stages read it:
//! - `requirements.json`, with its own versioned JSON Schema (`requirements.schema.json`);
//! - `requirements.md`, readable, listing ambiguity flags and open questions for stakeholders;
//! - `features/<story id>.feature`, one Gherkin feature per user story;
//! - `trace.csv`, one row per (item, source ref).
//!
//! Every file is written to a temporary name and renamed, so a crash never leaves half a spec.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use aine_runtime::{BuiltinContext, BuiltinError};
use aine_spec::{Draft, SPEC_VERSION, Sentence, SourceRef};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A lint finding as carried into the published spec.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PublishedFinding {
    pub rule: String,
    #[serde(default)]
    pub item: Option<String>,
    pub message: String,
    #[serde(default)]
    pub suggestion: Option<String>,
}

/// Input of `spec.publish`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishInput {
    /// The reviewed draft (the draft step's output, or the owner's edit of it).
    pub draft: Draft,
    /// The sentences the draft cites (from `sources.ingest`), for trace rows and quotes.
    #[serde(default)]
    pub sentences: Vec<Sentence>,
    /// Lint findings to list as ambiguity flags.
    #[serde(default)]
    pub findings: Vec<PublishedFinding>,
    /// Directory to write into, relative to the project directory (default `spec`).
    #[serde(default)]
    #[schemars(extend("x-aine-path" = true))]
    pub out_dir: Option<String>,
    /// Who approved the spec (the review gate's decider), if a person did.
    #[serde(default)]
    pub approved_by: Option<String>,
    /// The run that produced the spec.
    #[serde(default)]
    pub run: Option<String>,
}

/// One written file.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PublishedFile {
    /// Path relative to the project directory.
    pub path: String,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
    pub bytes: u64,
}

/// Output of `spec.publish`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PublishOutput {
    pub files: Vec<PublishedFile>,
    pub requirements: usize,
    pub user_stories: usize,
    pub open_questions: usize,
}

/// The shape of `requirements.json` (its JSON Schema is generated from this type and published
/// next to it as `requirements.schema.json`).
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PublishedSpec {
    /// Format version, `1.0`.
    pub spec_version: String,
    pub run: Option<String>,
    /// Who approved the spec at the review gate; `null` when no person reviewed it.
    pub approved_by: Option<String>,
    #[serde(flatten)]
    pub draft: Draft,
    /// Ambiguity flags from `spec.lint`.
    pub findings: Vec<PublishedFinding>,
    /// Every source ref an item cites, with the sentence text.
    pub sources: Vec<PublishedSource>,
}

/// A cited source sentence.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PublishedSource {
    #[serde(flatten)]
    pub source: SourceRef,
    pub text: String,
}

/// The JSON Schema of `requirements.json`.
pub fn spec_schema() -> Value {
    let mut schema = schemars::schema_for!(PublishedSpec).to_value();
    if let Some(obj) = schema.as_object_mut() {
        obj.insert(
            "$id".into(),
            Value::String(format!(
                "https://aine.dev/schemas/requirements-{SPEC_VERSION}.json"
            )),
        );
    }
    schema
}

/// Writes the spec files under `out_dir` (default `spec`) in the project directory.
pub fn publish(input: PublishInput, ctx: &BuiltinContext) -> Result<PublishOutput, BuiltinError> {
    let out_rel = input.out_dir.clone().unwrap_or_else(|| "spec".to_owned());
    let out = ctx.resolve(&out_rel)?;
    let by_id: BTreeMap<&str, &Sentence> = input
        .sentences
        .iter()
        .map(|s| (s.source.id.as_str(), s))
        .collect();
    let mut cited: Vec<PublishedSource> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let item_sources = input
        .draft
        .requirements
        .iter()
        .map(|r| (r.id.as_str(), &r.sources))
        .chain(
            input
                .draft
                .user_stories
                .iter()
                .map(|s| (s.id.as_str(), &s.sources)),
        )
        // Open questions rest on sentences too: the trace lists them like any item.
        .chain(
            input
                .draft
                .open_questions
                .iter()
                .map(|q| (q.id.as_str(), &q.sources)),
        );
    let mut trace_rows: Vec<[String; 8]> = Vec::new();
    for (item, sources) in item_sources {
        for id in sources {
            let sentence = by_id.get(id.as_str());
            if seen.insert(id.clone())
                && let Some(s) = sentence
            {
                cited.push(PublishedSource {
                    source: s.source.clone(),
                    text: s.text.clone(),
                });
            }
            let (file, speaker, sentence_no, start, end, text) = match sentence {
                Some(s) => (
                    s.source.file.clone(),
                    s.source.speaker.clone().unwrap_or_default(),
                    s.source.sentence.to_string(),
                    s.source.start.to_string(),
                    s.source.end.to_string(),
                    s.text.clone(),
                ),
                None => Default::default(),
            };
            trace_rows.push([
                item.to_owned(),
                id.clone(),
                file,
                speaker,
                sentence_no,
                start,
                end,
                text,
            ]);
        }
    }
    let spec = PublishedSpec {
        spec_version: SPEC_VERSION.to_owned(),
        run: input.run.clone(),
        approved_by: input.approved_by.clone().filter(|p| !p.is_empty()),
        draft: input.draft.clone(),
        findings: input.findings.clone(),
        sources: cited,
    };
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        BuiltinError::new(format!("cannot write {what}: {e}"))
    };
    let json = serde_json::to_string_pretty(&spec).map_err(|e| fail("requirements.json", &e))?;
    let schema =
        serde_json::to_string_pretty(&spec_schema()).map_err(|e| fail("the schema", &e))?;
    let mut files = Vec::new();
    let mut write = |name: &str, text: &str| -> Result<(), BuiltinError> {
        let path = out.join(name);
        write_atomically(&path, text.as_bytes()).map_err(|e| fail(name, &e))?;
        files.push(PublishedFile {
            path: format!("{out_rel}/{name}"),
            sha256: hex::encode(Sha256::digest(text.as_bytes())),
            bytes: text.len() as u64,
        });
        Ok(())
    };
    write("requirements.json", &json)?;
    write("requirements.schema.json", &schema)?;
    write("requirements.md", &markdown(&spec))?;
    write(
        "trace.csv",
        &trace_csv(&trace_rows).map_err(|e| fail("trace.csv", &e))?,
    )?;
    for story in &spec.draft.user_stories {
        write(&format!("features/{}.feature", story.id), &feature(story))?;
    }
    Ok(PublishOutput {
        files,
        requirements: spec.draft.requirements.len(),
        user_stories: spec.draft.user_stories.len(),
        open_questions: spec.draft.open_questions.len(),
    })
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(&dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

fn trace_csv(rows: &[[String; 8]]) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "item", "source", "file", "speaker", "sentence", "start", "end", "text",
    ])?;
    for row in rows {
        w.write_record(row)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// One Gherkin feature per user story (Gherkin reference: cucumber.io/docs/gherkin/reference).
fn feature(story: &aine_spec::UserStory) -> String {
    let one_line = |s: &str| s.replace(['\n', '\r'], " ");
    let mut f = format!("# Generated by aine from {}\n", story.sources.join(", "));
    f.push_str(&format!(
        "@{}\nFeature: {}\n",
        story.id,
        one_line(&story.goal)
    ));
    f.push_str(&format!("  {}\n", one_line(&story.text)));
    for (i, ac) in story.acceptance_criteria.iter().enumerate() {
        f.push_str(&format!("\n  Scenario: {} criterion {}\n", story.id, i + 1));
        f.push_str(&format!("    Given {}\n", one_line(&ac.given)));
        f.push_str(&format!("    When {}\n", one_line(&ac.when)));
        f.push_str(&format!("    Then {}\n", one_line(&ac.then)));
    }
    f
}

fn markdown(spec: &PublishedSpec) -> String {
    let quote: BTreeMap<&str, &PublishedSource> = spec
        .sources
        .iter()
        .map(|s| (s.source.id.as_str(), s))
        .collect();
    let cite = |ids: &[String]| {
        ids.iter()
            .map(|id| match quote.get(id.as_str()) {
                Some(s) => format!(
                    "`{id}`{}: \"{}\"",
                    s.source
                        .speaker
                        .as_ref()
                        .map(|p| format!(" ({p})"))
                        .unwrap_or_default(),
                    s.text
                ),
                None => format!("`{id}`"),
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let mut md = String::from("# Requirements\n\n");
    md.push_str(&format!(
        "Spec format {}. {}{}\n\n",
        spec.spec_version,
        spec.run
            .as_ref()
            .map(|r| format!("Produced by run `{r}`. "))
            .unwrap_or_default(),
        match &spec.approved_by {
            Some(p) => format!("Approved by {p}."),
            None => "No person reviewed this spec (the review gate's condition did not hold)."
                .to_owned(),
        }
    ));
    md.push_str("## Requirements (EARS)\n\n");
    if spec.draft.requirements.is_empty() {
        md.push_str("None drafted: no model gave a usable draft and no source sentence was already a clean statement; see the open questions.\n");
    }
    for r in &spec.draft.requirements {
        md.push_str(&format!(
            "- **{}** ({:?}, {:?}): {}\n  - sources: {}\n",
            r.id,
            r.pattern,
            r.category,
            r.text,
            cite(&r.sources)
        ));
    }
    md.push_str("\n## User stories\n\n");
    if spec.draft.user_stories.is_empty() {
        md.push_str("None.\n\n");
    }
    for s in &spec.draft.user_stories {
        md.push_str(&format!("### {}: {}\n\n", s.id, s.text));
        for ac in &s.acceptance_criteria {
            md.push_str(&format!(
                "- Given {}, when {}, then {}.\n",
                ac.given, ac.when, ac.then
            ));
        }
        md.push_str(&format!("\nSources: {}\n\n", cite(&s.sources)));
    }
    md.push_str("## Ambiguity flags\n\n");
    if spec.findings.is_empty() {
        md.push_str("None.\n");
    }
    for f in &spec.findings {
        md.push_str(&format!(
            "- {}`{}`: {}{}\n",
            f.item
                .as_ref()
                .map(|i| format!("**{i}** "))
                .unwrap_or_default(),
            f.rule,
            f.message,
            f.suggestion
                .as_ref()
                .map(|s| format!(" (suggestion: {s})"))
                .unwrap_or_default()
        ));
    }
    md.push_str("\n## Open questions for stakeholders\n\n");
    if spec.draft.open_questions.is_empty() {
        md.push_str("None.\n");
    }
    for q in &spec.draft.open_questions {
        // The question quotes what it asks about; its sources are named, not quoted again.
        let named: Vec<String> = q
            .sources
            .iter()
            .map(|id| {
                match quote
                    .get(id.as_str())
                    .and_then(|s| s.source.speaker.as_ref())
                {
                    Some(speaker) => format!("`{id}` ({speaker})"),
                    None => format!("`{id}`"),
                }
            })
            .collect();
        md.push_str(&format!(
            "- **{}** {} ({})\n",
            q.id,
            q.text,
            named.join("; ")
        ));
    }
    md
}
