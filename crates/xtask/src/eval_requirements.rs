//! `cargo xtask eval requirements [--tier local|template] [--gold FILE]`: the bundled
//! requirements workflow on the four AMI meetings in `examples/meetings` (the main job), run
//! through the real runtime up to its review gate, and its merged spec scored against a gold
//! list of what the ES2002 team agreed (`crates/aine-sdlc/eval/ami-es2002-gold.json`).
//!
//! Tiers:
//! - `local`: the route's local model (the bundled workflow's first, in process); the route's
//!   remote models are refused by the harness, so an escalation ends in the fallback and
//!   nothing is paid for;
//! - `template`: no model at all, so every topic falls back to `requirements.template`.
//!
//! Per tier: requirements, open questions; **recall** (gold entries matched by some
//! requirement) and **precision** (requirements that match some gold entry), matched
//! lexically as the gold file describes; the share of **clean statements** by checks of their
//! own (below, not the linter); topics drafted by a model and by the fallback; wall time, the
//! detection time and the drafting time (the draft step's wall time; its calls overlap) with
//! its prompt and output tokens (prompt tokens count the whole prompt, including the prefix
//! the local model shared with another call). Every requirement is printed with its match, so
//! a person can check the matching; `--topics` also prints each topic's sentences, the
//! requirements each model answer drafted, and how the topic ended.
//!
//! `--keep DIR` runs in `DIR` (a new or empty folder) and leaves the project and its database
//! (`local.db`, `template.db`) there; `--replay DIR` runs no workflow: it takes the newest run
//! of each tier's database in `DIR`, merges its topics' drafts again with today's
//! `requirements.merge` (by words only, then also by meaning when the embedding model is
//! pulled) and scores both, so a change to merging is measured on the same drafts in seconds.
//!
//! Clean statement checks (issue 12): no speech fillers; no `I`/`we`/`you`; an EARS shape
//! (`The … shall …`, `When …, the … shall …`, `If …, then the … shall …`, `While …`,
//! `Where …`); at least three words after `shall` (`not` aside); and not a positive
//! statement from sources that all negate something.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use aine_models::{ChatModel, ModelConfig, ModelError, ProviderKind};
use aine_runtime::{Config, Quiet, Runtime, StepView, SystemClock};
use aine_spec::Draft;
use aine_store::{Store, StoreOptions};
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::json;

const MEETINGS: [&str; 4] = ["ES2002a", "ES2002b", "ES2002c", "ES2002d"];

/// Which tiers to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Tier {
    Local,
    Template,
}

/// `cargo xtask eval requirements`' options.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this tier (default: both).
    #[arg(long, value_enum)]
    tier: Option<Tier>,
    /// The gold list (default: crates/aine-sdlc/eval/ami-es2002-gold.json).
    #[arg(long)]
    gold: Option<PathBuf>,
    /// Also print every topic: its sentences, each model call's verdict, and how it ended.
    #[arg(long)]
    topics: bool,
    /// Run in this folder (new or empty) and keep the project and its databases there.
    #[arg(long, conflicts_with = "replay")]
    keep: Option<PathBuf>,
    /// Run nothing: merge again and score the newest run of each tier kept in this folder by
    /// `--keep`.
    #[arg(long)]
    replay: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
struct Gold {
    product: String,
    requirements: Vec<GoldItem>,
}

#[derive(Debug, Deserialize)]
struct GoldItem {
    id: String,
    text: String,
    terms: Vec<Vec<String>>,
    negative: bool,
}

/// One tier's scores.
#[derive(Debug, Default)]
struct Row {
    tier: &'static str,
    /// How the spec was merged, for `--replay` (empty: as the run merged it).
    way: &'static str,
    requirements: usize,
    questions: usize,
    /// Requirements matching some gold entry.
    correct: usize,
    /// Gold entries matched by some requirement.
    found: usize,
    gold: usize,
    clean: usize,
    topics: usize,
    topics_model: usize,
    wall_s: f64,
    detect_ms: u64,
    /// Wall time of the draft step (its model calls overlap when it has `concurrency`).
    draft_s: f64,
    prompt_tokens: u64,
    output_tokens: u64,
}

/// Runs the evaluation and prints its table.
pub async fn run(args: &Args) -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let gold_path = args
        .gold
        .clone()
        .unwrap_or_else(|| root.join("crates/aine-sdlc/eval/ami-es2002-gold.json"));
    let gold: Gold = serde_json::from_str(
        &std::fs::read_to_string(&gold_path)
            .with_context(|| format!("reading {}", gold_path.display()))?,
    )
    .with_context(|| format!("{} is not a gold list", gold_path.display()))?;
    let tiers: Vec<Tier> = match args.tier {
        Some(t) => vec![t],
        None => vec![Tier::Template, Tier::Local],
    };
    if let Some(dir) = &args.replay {
        return replay(dir, &tiers, &gold).await;
    }
    let temp;
    let project = match &args.keep {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            if std::fs::read_dir(dir)?.next().is_some() {
                bail!("--keep {}: the folder is not empty", dir.display());
            }
            dir.as_path()
        }
        None => {
            temp = tempfile::tempdir()?;
            temp.path()
        }
    };
    for (name, text) in aine_sdlc::BUNDLED_WORKFLOW_FILES {
        let path = project.join("workflows").join(name);
        std::fs::create_dir_all(path.parent().context("workflow file has a folder")?)?;
        std::fs::write(path, text)?;
    }
    let mut sources = Vec::new();
    for m in MEETINGS {
        let file = format!("{m}.json");
        std::fs::copy(
            root.join("examples/meetings").join(&file),
            project.join(&file),
        )
        .with_context(|| format!("copying {file}"))?;
        sources.push(file);
    }
    let mut rows = Vec::new();
    for tier in tiers {
        let (name, local) = tier.name_and_local();
        if local {
            check_local_model()?;
        }
        let rt = runtime(project, name, local).await?;
        let workflow = project.join("workflows/requirements.workflow.yaml");
        let begin = Instant::now();
        let started = rt
            .start(
                &workflow,
                json!({ "sources": sources, "product": gold.product }),
            )
            .await?;
        let run = started.id();
        let summary = rt.drive_started(started, &Quiet).await?;
        let wall_s = begin.elapsed().as_secs_f64();
        if summary.waiting.is_none() {
            bail!("{name}: run {run} did not stop at the review gate: {summary:?}");
        }
        let view = rt.view(&run).await?;
        println!("== tier {name}: run {run}");
        if args.topics {
            let journal = rt.store().journal(&run).await?;
            print_topics(&view.steps, &journal)?;
        }
        let merged = merged_spec(&view.steps)?;
        let mut row = score(&view.steps, &merged, &gold)?;
        row.tier = name;
        row.wall_s = wall_s;
        rows.push(row);
    }
    print_table(&rows);
    Ok(())
}

impl Tier {
    /// The tier's name (its database is `NAME.db`) and whether it calls the local model.
    fn name_and_local(self) -> (&'static str, bool) {
        match self {
            Tier::Local => ("local", true),
            Tier::Template => ("template", false),
        }
    }
}

/// `--replay DIR`: the newest run of each tier's database in `dir`, its drafts merged again by
/// words only and then with the embedding model, each scored.
async fn replay(dir: &Path, tiers: &[Tier], gold: &Gold) -> Result<()> {
    let mut rows = Vec::new();
    for &tier in tiers {
        let (name, local) = tier.name_and_local();
        if !dir.join(format!("{name}.db")).exists() {
            println!("== tier {name}: no {name}.db in {}", dir.display());
            continue;
        }
        let rt = runtime(dir, name, local).await?;
        let runs = rt
            .store()
            .runs(&aine_store::RunFilter {
                status: None,
                limit: Some(1),
            })
            .await?;
        let record = runs
            .first()
            .with_context(|| format!("{name}.db holds no run"))?;
        let run = record.id;
        // Until the run stopped at the review gate.
        let wall_s = (record.updated_at_ms - record.created_at_ms) as f64 / 1000.0;
        let view = rt.view(&run).await?;
        let input: aine_sdlc::merge::MergeInput = serde_json::from_value(json!({
            "drafts": step(&view.steps, "draft")?.output,
            "topics": step(&view.steps, "topics")?.output.as_ref().and_then(|o| o.get("topics")),
            "order": step(&view.steps, "topics")?.output.as_ref().and_then(|o| o.get("order")),
            "product": gold.product,
        }))
        .context("the run's draft and topics outputs are not a merge input")?;
        let meaning = aine_sdlc::merge::embed_predicates(&input);
        let mut ways: Vec<(&'static str, Option<&[aine_embed::Embedding]>)> =
            vec![("words only", None)];
        match meaning.as_deref() {
            Some(m) => ways.push(("by meaning too", Some(m))),
            None => println!("== {name}: the embedding model is not pulled; words only"),
        }
        for (way, meaning) in ways {
            println!("== tier {name}: run {run}, merged again {way}");
            let merged = aine_sdlc::merge::merge(&input, meaning);
            let mut row = score(&view.steps, &merged, gold)?;
            row.tier = name;
            row.way = way;
            row.wall_s = wall_s;
            rows.push(row);
        }
    }
    print_table(&rows);
    Ok(())
}

/// The spec the run's merge step wrote (what the gate reviews).
fn merged_spec(steps: &[StepView]) -> Result<Draft> {
    Ok(serde_json::from_value(
        step(steps, "merge")?
            .output
            .clone()
            .context("the merge step has no output")?,
    )?)
}

fn check_local_model() -> Result<()> {
    let (_, file, _) = aine_runtime::LOCAL_MODELS
        .iter()
        .find(|(name, _, _)| *name == aine_runtime::LOCAL_MODEL)
        .context("the default local model is in LOCAL_MODELS")?;
    let found = aine_runtime::local_model_cache_path(file).is_some_and(|p| p.exists());
    if !found {
        bail!(
            "the local model is not there: run `aine models pull {}`",
            aine_runtime::LOCAL_MODEL
        );
    }
    Ok(())
}

/// A runtime over its own database in `project`. Only the local model can be built, and only
/// when `local`: remote models on the route are refused (no key is read, nothing is paid).
async fn runtime(project: &Path, tier: &str, local: bool) -> Result<Runtime> {
    let mut config = Config::defaults(project);
    config.database = project.join(format!("{tier}.db"));
    let store = Store::open(&config.database, &StoreOptions::default()).await?;
    let mut registry = aine_runtime::core_registry()?;
    aine_sdlc::register(&mut registry)?;
    let builder = move |c: &ModelConfig| -> Result<Arc<dyn ChatModel>, ModelError> {
        match (&c.provider, &c.path) {
            (ProviderKind::Local, Some(path)) if local => Ok(Arc::new(
                aine_llama::LocalModel::load(path, aine_llama::LocalOptions::default())?,
            )),
            _ => Err(ModelError::Unavailable {
                message: format!("the requirements evaluation does not call `{}`", c.name),
            }),
        }
    };
    let models = aine_runtime::configured_models(&config, Box::new(builder));
    Ok(Runtime::new(
        store,
        Arc::new(registry),
        Arc::new(config),
        Arc::new(SystemClock),
    )
    .with_models(Arc::new(models)))
}

fn step<'a>(steps: &'a [StepView], id: &str) -> Result<&'a StepView> {
    steps
        .iter()
        .find(|s| s.id.as_str() == id)
        .with_context(|| format!("the run has no step `{id}`"))
}

/// Scores `merged` (the run's spec, or its drafts merged again) and prints each requirement
/// with its match; the other counts come from the run's `steps`.
fn score(steps: &[StepView], merged: &Draft, gold: &Gold) -> Result<Row> {
    let sentences: HashMap<String, String> = step(steps, "ingest")?
        .output
        .as_ref()
        .and_then(|o| o.get("sentences"))
        .and_then(|s| s.as_array())
        .into_iter()
        .flatten()
        .filter_map(|s| {
            Some((
                s.pointer("/source/id")?.as_str()?.to_owned(),
                s.get("text")?.as_str()?.to_owned(),
            ))
        })
        .collect();
    let draft = step(steps, "draft")?;
    let mut row = Row {
        requirements: merged.requirements.len(),
        questions: merged.open_questions.len(),
        gold: gold.requirements.len(),
        topics: draft.elements.len(),
        topics_model: draft.elements.iter().filter(|e| e.outcome == "ok").count(),
        detect_ms: step(steps, "candidates")?.duration_ms.unwrap_or(0),
        draft_s: draft.duration_ms.unwrap_or(0) as f64 / 1000.0,
        prompt_tokens: draft.spend.input_tokens,
        output_tokens: draft.spend.output_tokens,
        ..Row::default()
    };
    let mut found = vec![false; gold.requirements.len()];
    for r in &merged.requirements {
        let hits: Vec<usize> = (0..gold.requirements.len())
            .filter(|&g| matches(&r.text, &gold.requirements[g]))
            .collect();
        for &g in &hits {
            found[g] = true;
        }
        if !hits.is_empty() {
            row.correct += 1;
        }
        let cited: Vec<&str> = r
            .sources
            .iter()
            .filter_map(|s| sentences.get(s).map(String::as_str))
            .collect();
        let problems = unclean(&r.text, &cited);
        if problems.is_empty() {
            row.clean += 1;
        }
        let label: Vec<&str> = hits
            .iter()
            .map(|&g| gold.requirements[g].id.as_str())
            .collect();
        println!(
            "  {} {:<7} {:<13} {:<60} {}{}",
            r.id,
            if label.is_empty() {
                "-".to_owned()
            } else {
                label.join(",")
            },
            format!("{:?}", r.category),
            r.text,
            r.sources.join(" "),
            if problems.is_empty() {
                String::new()
            } else {
                format!("  [unclean: {}]", problems.join("; "))
            }
        );
    }
    for (g, hit) in gold.requirements.iter().zip(&found) {
        if !hit {
            println!("  missed  {} {}", g.id, g.text);
        }
    }
    row.found = found.iter().filter(|f| **f).count();
    Ok(row)
}

/// Prints each topic the draft step ran over: its sentences, the model calls made for it with
/// their verdicts and the requirements each answer drafted, and how the element ended.
fn print_topics(steps: &[StepView], journal: &[aine_types::JournalEntry]) -> Result<()> {
    use serde_json::Value;
    // The elements of `value[key]` (none when it is not a list).
    fn list<'a>(value: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
        value
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
    }
    // `value` at JSON pointer `at` as text ("" when absent).
    fn text<'a>(value: &'a Value, at: &str) -> &'a str {
        value.pointer(at).and_then(Value::as_str).unwrap_or("")
    }
    let answers: HashMap<u32, Value> = journal
        .iter()
        .filter_map(|e| match &e.event {
            aine_types::Event::ModelCalled {
                call,
                result: aine_types::CallResult::Answered { text, .. },
                ..
            } => Some((*call, serde_json::from_str(text).unwrap_or_default())),
            _ => None,
        })
        .collect();
    let topics = step(steps, "topics")?.output.clone().unwrap_or_default();
    let draft = step(steps, "draft")?;
    let outputs = draft.output.clone().unwrap_or_default();
    for (index, topic) in (0u32..).zip(list(&topics, "topics")) {
        println!("-- topic {index} ({})", text(topic, "/label"));
        for s in list(topic, "sentences") {
            println!("   [{}] {}", text(s, "/source/id"), text(s, "/text"));
        }
        for c in draft.calls.iter().filter(|c| c.element == Some(index)) {
            let detail = c.detail.as_deref().unwrap_or("");
            println!("   call {} {}: {} {detail}", c.call, c.model, c.result);
            let answer = answers.get(&c.call).cloned().unwrap_or_default();
            for r in list(&answer, "requirements") {
                let sources = r.get("sources").map(Value::to_string).unwrap_or_default();
                println!("     answered: {} {sources}", text(r, "/text"));
            }
        }
        if let Some(e) = draft.elements.iter().find(|e| e.element == index) {
            println!("   => {}: {}", e.outcome, e.why);
        }
        let output = outputs.get(index as usize).cloned().unwrap_or_default();
        for key in ["requirements", "open_questions"] {
            for item in list(&output, key) {
                println!("   {key}: {}", text(item, "/text"));
            }
        }
    }
    Ok(())
}

/// Whether `text` says what gold entry `g` says (see the gold file's `about`).
fn matches(text: &str, g: &GoldItem) -> bool {
    let lower = text.to_lowercase();
    let has = |term: &str| {
        let term = term.to_lowercase();
        lower.match_indices(&term).any(|(at, _)| {
            lower[..at]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_alphanumeric())
        })
    };
    g.terms.iter().all(|group| group.iter().any(|t| has(t))) && negative(&lower) == g.negative
}

/// Whether a text negates: `not`, `no`, `never`, `without`, `cannot` or a `n't` contraction.
fn negative(text: &str) -> bool {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .any(|w| matches!(w, "not" | "no" | "never" | "without" | "cannot") || w.ends_with("n't"))
}

/// Why `text` (citing sentences `cited`) is not a clean requirement statement; empty when it is.
fn unclean(text: &str, cited: &[&str]) -> Vec<&'static str> {
    const FILLERS: &[&str] = &[
        "um", "uh", "erm", "like", "yeah", "okay", "gonna", "wanna", "kinda", "sorta",
    ];
    const PEOPLE: &[&str] = &[
        "i", "i'm", "me", "my", "we", "we're", "us", "our", "you", "you're", "your",
    ];
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric() && c != '\'' && c != '-' && c != '.')
        .map(|w| w.trim_end_matches('.'))
        .filter(|w| !w.is_empty())
        .collect();
    let mut out = Vec::new();
    if words.iter().any(|w| FILLERS.contains(w))
        || lower.contains("you know")
        || lower.contains("sort of")
        || lower.contains("i mean")
    {
        out.push("speech fillers");
    }
    if words.iter().any(|w| PEOPLE.contains(w)) {
        out.push("I/we/you");
    }
    let ears = lower.starts_with("the ")
        || ["when ", "while ", "where "]
            .iter()
            .any(|p| lower.starts_with(p) && lower.contains(", the "))
        || (lower.starts_with("if ") && lower.contains(", then the "));
    if !ears || !words.contains(&"shall") {
        out.push("not an EARS shape");
    }
    let after: Vec<&&str> = words
        .iter()
        .skip_while(|w| **w != "shall")
        .skip(1)
        .filter(|w| **w != "not")
        .collect();
    if after.len() < 3 {
        out.push("fewer than three words after shall");
    }
    if !cited.is_empty() && !negative(text) && cited.iter().all(|c| negative(c)) {
        out.push("positive from negative sources");
    }
    out
}

fn print_table(rows: &[Row]) {
    println!();
    println!(
        "| tier | requirements | open questions | recall | precision | clean | topics by model | wall | detection | drafting | prompt tokens | output tokens |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let ratio = |a: usize, b: usize| {
            if b == 0 {
                "-".to_owned()
            } else {
                format!("{:.2} ({a}/{b})", a as f64 / b as f64)
            }
        };
        let tier = if r.way.is_empty() {
            r.tier.to_owned()
        } else {
            format!("{}, merged {}", r.tier, r.way)
        };
        println!(
            "| {tier} | {} | {} | {} | {} | {} | {}/{} | {:.0} s | {} ms | {:.0} s | {} | {} |",
            r.requirements,
            r.questions,
            ratio(r.found, r.gold),
            ratio(r.correct, r.requirements),
            ratio(r.clean, r.requirements),
            r.topics_model,
            r.topics,
            r.wall_s,
            r.detect_ms,
            r.draft_s,
            r.prompt_tokens,
            r.output_tokens,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gold(terms: &[&[&str]], negative: bool) -> GoldItem {
        GoldItem {
            id: "G".into(),
            text: String::new(),
            terms: terms
                .iter()
                .map(|g| g.iter().map(|t| (*t).to_owned()).collect())
                .collect(),
            negative,
        }
    }

    #[test]
    fn matching_needs_every_group_and_the_polarity() {
        let teletext = gold(&[&["teletext"]], true);
        assert!(matches(
            "The remote control shall not provide teletext.",
            &teletext
        ));
        assert!(!matches(
            "The remote control shall provide teletext.",
            &teletext
        ));
        let red = gold(&[&["red"], &["button"]], false);
        assert!(matches(
            "The remote control shall have a red power button.",
            &red
        ));
        // `red` at a word start only: not inside "required".
        assert!(!matches(
            "The remote control shall have the required button.",
            &red
        ));
    }

    #[test]
    fn clean_statements_pass_and_speech_does_not() {
        assert!(
            unclean(
                "The remote control shall not provide teletext functions.",
                &[]
            )
            .is_empty()
        );
        assert!(
            unclean(
                "If the battery is low, then the remote control shall beep twice a minute.",
                &[]
            )
            .is_empty()
        );
        assert_eq!(
            unclean("The system shall think on the spot now, um.", &[]),
            ["speech fillers"]
        );
        assert_eq!(
            unclean("The system shall be it.", &[]),
            ["fewer than three words after shall"]
        );
        assert_eq!(
            unclean(
                "The remote control shall consider teletext in its functions.",
                &["we don't really need to consider that"]
            ),
            ["positive from negative sources"]
        );
        assert_eq!(
            unclean("We shall have a battery that lasts.", &[]),
            ["I/we/you", "not an EARS shape"]
        );
    }
}
