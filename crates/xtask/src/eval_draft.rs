//! `cargo xtask eval draft [--chunks N] [--prompt FILE]`: the requirements workflow's draft step
//! evaluated on the
//! bundled AMI meetings (`examples/meetings`), tier against tier, through the real runtime.
//! `--prompt FILE` replaces the bundled draft prompt (to measure a prompt change).
//!
//! Items (one draft step each): every meeting alone, the four together (the main job), and per
//! meeting the first `N` chunks (default 2) of its candidates by confidence, 4 to a chunk,
//! written as `Speaker: text` notes. Each item runs the bundled workflow (ingest, detect,
//! draft with its contract and its `requirements.citations` check builtin, lint) up to the
//! review gate, in two tiers:
//! - `local`: the route's local model (the bundled workflow's first, in process); the route's remote models are
//!   refused by the harness, so an escalation ends in the fallback and nothing is paid for;
//! - `template`: no model at all, so the step falls back to `requirements.template` at once.
//!
//! From each run's journal: the local answer's verdict (ok, unsure, violation of the JSON
//! Schema contract, violation found by the check builtin), whether the step escalated and fell
//! back, the model call's latency and the step's duration, and the drafted spec items that cite
//! only candidates and pass the check (`aine_sdlc::citations::check`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use aine_models::{ChatModel, ModelConfig, ModelError, ProviderKind};
use aine_runtime::{Config, Quiet, Runtime, SystemClock};
use aine_sdlc::citations::{CitationsInput, check};
use aine_spec::{Candidate, Draft};
use aine_store::{Store, StoreOptions};
use aine_types::{CallResult, Event, Outcome, RunId, StepId};
use anyhow::{Context, Result, bail};
use serde_json::json;

const MEETINGS: [&str; 4] = ["ES2002a", "ES2002b", "ES2002c", "ES2002d"];
/// Candidates per chunk item: as many as the draft prompt shows the model.
const CHUNK: usize = 4;

/// One draft-step input: a name and the sources of its run.
struct Item {
    name: String,
    sources: Vec<String>,
}

/// What one run's journal says about its draft step.
#[derive(Debug, Default)]
struct Observed {
    /// The local model's verdict: `ok`, `unsure`, `violation` (contract), `check` (violation
    /// found by the check builtin), or a provider error kind; `None` when no model answered.
    local_verdict: Option<String>,
    /// Spec items in the local model's contract-valid answer, and how many of them the check
    /// found no error in.
    local_items: usize,
    local_items_pass: usize,
    escalated: bool,
    fell_back: bool,
    local_latency: Option<Duration>,
    step: Duration,
    candidates: usize,
    /// Spec items in the step's output, and how many of them pass the check.
    items: usize,
    items_pass: usize,
    why: String,
}

/// `cargo xtask eval draft`'s options.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Per meeting, how many chunks of its candidates (by confidence, 4 to a chunk) are items
    /// of their own.
    #[arg(long, default_value_t = 2)]
    chunks: usize,
    /// A prompt template that replaces the bundled draft prompt (to measure a prompt change).
    #[arg(long)]
    prompt: Option<PathBuf>,
}

/// Runs the evaluation and prints its tables.
pub async fn run(args: &Args) -> Result<()> {
    let chunks = args.chunks;
    let prompt = match &args.prompt {
        Some(path) => Some(
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
        ),
        None => None,
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let meetings = root.join("examples/meetings");
    let dir = tempfile::tempdir()?;
    let project = dir.path();
    for (name, text) in aine_sdlc::BUNDLED_WORKFLOW_FILES {
        let path = project.join("workflows").join(name);
        std::fs::create_dir_all(path.parent().context("workflow file has a folder")?)?;
        std::fs::write(path, text)?;
    }
    if let Some(prompt) = &prompt {
        std::fs::write(project.join("workflows/prompts/draft_topic.md.j2"), prompt)?;
    }
    let items = items(&meetings, project, chunks)?;
    let (_, local_file, _) = aine_runtime::LOCAL_MODELS
        .iter()
        .find(|(name, _, _)| *name == aine_runtime::LOCAL_MODEL)
        .context("the default local model is in LOCAL_MODELS")?;
    let local_path = std::env::var_os("AINE_LOCAL_MODEL")
        .map(PathBuf::from)
        .or_else(|| aine_runtime::local_model_cache_path(local_file))
        .filter(|p| p.exists())
        .with_context(|| {
            format!(
                "the local model is not there: run `aine models pull {}`",
                aine_runtime::LOCAL_MODEL
            )
        })?;

    println!(
        "draft step on {} items: {} meetings alone, the {} together, {} chunks of {CHUNK} candidates; model file {}; {} prompt",
        items.len(),
        MEETINGS.len(),
        MEETINGS.len(),
        items.len() - MEETINGS.len() - 1,
        local_path.display(),
        if prompt.is_some() {
            "a replaced"
        } else {
            "the bundled"
        }
    );
    let mut results: Vec<(&str, Vec<Observed>)> = Vec::new();
    for (tier, local) in [("local", true), ("template", false)] {
        let rt = runtime(project, tier, local).await?;
        let workflow = project.join("workflows/requirements.workflow.yaml");
        let mut observed = Vec::new();
        for item in &items {
            let o = run_item(&rt, &workflow, item).await?;
            println!(
                "  {tier:<8} {:<12} {:>3} candidates  first call {:<11} {:>3}/{:<3} answer items pass  step {:>5.1} s  {}/{} output items pass  {}",
                item.name,
                o.candidates,
                o.local_verdict.as_deref().unwrap_or("-"),
                o.local_items_pass,
                o.local_items,
                o.step.as_secs_f64(),
                o.items_pass,
                o.items,
                shorten(&o.why, 200),
            );
            observed.push(o);
        }
        results.push((tier, observed));
    }
    print_tables(&results);
    Ok(())
}

/// The meetings, the four together, and `chunks` chunk notes per meeting (written into
/// `project` with the meetings).
fn items(meetings: &Path, project: &Path, chunks: usize) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    let mut all = Vec::new();
    for m in MEETINGS {
        let file = format!("{m}.json");
        std::fs::copy(meetings.join(&file), project.join(&file))
            .with_context(|| format!("copying {file}"))?;
        items.push(Item {
            name: m.to_owned(),
            sources: vec![file.clone()],
        });
        all.push(file);
    }
    items.push(Item {
        name: "all four".to_owned(),
        sources: all,
    });
    for m in MEETINGS {
        let file = format!("{m}.json");
        let ingested = aine_sdlc::ingest::ingest(project, std::slice::from_ref(&file))?;
        let mut candidates = aine_sdlc::detect::detect(&aine_sdlc::DetectInput {
            sentences: ingested.sentences,
            min_confidence: None,
        })?
        .candidates;
        candidates.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        for (k, chunk) in candidates.chunks(CHUNK).take(chunks).enumerate() {
            let name = format!("{m}-c{}", k + 1);
            let note: String = chunk
                .iter()
                .map(|c| {
                    format!(
                        "{}: {}\n",
                        c.source.speaker.as_deref().unwrap_or("Speaker"),
                        c.text
                    )
                })
                .collect();
            std::fs::write(project.join(format!("{name}.txt")), note)?;
            items.push(Item {
                sources: vec![format!("{name}.txt")],
                name,
            });
        }
    }
    Ok(items)
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
                message: format!("the draft evaluation does not call `{}`", c.name),
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

/// Runs `item` up to the review gate and reads its draft step back from the journal.
async fn run_item(rt: &Runtime, workflow: &Path, item: &Item) -> Result<Observed> {
    let started = rt
        .start(workflow, json!({ "sources": item.sources }))
        .await?;
    let run = started.id();
    let summary = rt.drive_started(started, &Quiet).await?;
    if summary.waiting.is_none() {
        bail!(
            "{}: run {run} did not stop at the review gate: {summary:?}",
            item.name
        );
    }
    observe(rt, &run).await
}

async fn observe(rt: &Runtime, run: &RunId) -> Result<Observed> {
    let draft = StepId::new("draft")?;
    let journal = rt.store().journal(run).await?;
    let mut o = Observed::default();
    let mut candidates: Vec<Candidate> = Vec::new();
    for entry in &journal {
        match &entry.event {
            Event::StepFinished {
                step,
                outcome: Outcome::Ok { value },
                ..
            } if step.as_str() == "candidates" => {
                candidates = serde_json::from_value(value["candidates"].clone())?;
            }
            Event::ModelCalled {
                step,
                result,
                latency_ms,
                ..
            } if *step == draft && o.local_verdict.is_none() => {
                first_call(&mut o, result, *latency_ms, &candidates);
            }
            Event::StepFinished {
                step,
                outcome,
                why,
                duration_ms,
                ..
            } if *step == draft => {
                o.step = Duration::from_millis(*duration_ms);
                o.why = why.clone();
                o.fell_back = why.contains("as fallback");
                if let Outcome::Ok { value } = outcome {
                    let output: Draft = serde_json::from_value(value.clone())?;
                    (o.items, o.items_pass) = passing(&output, &candidates);
                }
            }
            _ => {}
        }
    }
    o.candidates = candidates.len();
    Ok(o)
}

/// Notes what the draft step's first model call (the local model's) came to.
fn first_call(o: &mut Observed, result: &CallResult, latency_ms: u64, candidates: &[Candidate]) {
    o.local_latency = Some(Duration::from_millis(latency_ms));
    let verdict = match result {
        CallResult::Answered {
            verdict, detail, ..
        } if verdict == "violation"
            && detail.as_deref().is_some_and(|d| d.starts_with("check `")) =>
        {
            "check".to_owned()
        }
        CallResult::Answered { verdict, .. } => verdict.clone(),
        CallResult::ProviderError { kind, .. } => kind.clone(),
        CallResult::BudgetRefused { .. } => "budget".to_owned(),
    };
    let contract_valid = matches!(verdict.as_str(), "ok" | "check");
    o.escalated = matches!(result, CallResult::Answered { verdict, .. } if verdict != "ok");
    o.local_verdict = Some(verdict);
    // The spec items of a contract-valid answer, judged item by item.
    if let CallResult::Answered { text, .. } = result
        && contract_valid
        && let Ok(value) = aine_models::extract_json(text)
        && let Ok(answer) = serde_json::from_value::<Draft>(value)
    {
        (o.local_items, o.local_items_pass) = passing(&answer, candidates);
    }
}

/// The requirements and user stories of `draft`, and how many of them the citation check
/// finds no error in.
fn passing(draft: &Draft, candidates: &[Candidate]) -> (usize, usize) {
    let ids: Vec<&str> = draft
        .requirements
        .iter()
        .map(|r| r.id.as_str())
        .chain(draft.user_stories.iter().map(|s| s.id.as_str()))
        .collect();
    let errors = check(&CitationsInput {
        answer: draft.clone(),
        candidates: candidates.to_vec(),
        product: None,
    });
    let failing: BTreeSet<&str> = ids
        .iter()
        .copied()
        .filter(|id| errors.iter().any(|e| e.starts_with(&format!("{id} "))))
        .collect();
    (ids.len(), ids.len() - failing.len())
}

fn print_tables(results: &[(&str, Vec<Observed>)]) {
    println!();
    println!(
        "| tier | items | model answered | ok | unsure | violation (contract) | violation (check) | escalated | fell back to template | s/item model call (mean, max) | s/item draft step (mean, max) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for (tier, obs) in results {
        let n = obs.len();
        let count = |v: &str| {
            obs.iter()
                .filter(|o| o.local_verdict.as_deref() == Some(v))
                .count()
        };
        let answered = count("ok") + count("unsure") + count("violation") + count("check");
        let share = |k: usize| format!("{k}/{n} ({:.0}%)", 100.0 * k as f64 / n.max(1) as f64);
        let calls: Vec<Duration> = obs
            .iter()
            .filter(|o| {
                matches!(
                    o.local_verdict.as_deref(),
                    Some("ok" | "unsure" | "violation" | "check")
                )
            })
            .filter_map(|o| o.local_latency)
            .collect();
        let steps: Vec<Duration> = obs.iter().map(|o| o.step).collect();
        println!(
            "| {tier} | {n} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            share(answered),
            share(count("ok")),
            share(count("unsure")),
            share(count("violation")),
            share(count("check")),
            share(obs.iter().filter(|o| o.escalated).count()),
            share(obs.iter().filter(|o| o.fell_back).count()),
            mean_max(&calls),
            mean_max(&steps),
        );
    }
    println!();
    println!(
        "| tier | spec items in contract-valid model answers | of which pass the citation check | spec items in the step's output | of which pass the citation check |"
    );
    println!("|---|---|---|---|---|");
    for (tier, obs) in results {
        let sum = |f: fn(&Observed) -> usize| obs.iter().map(f).sum::<usize>();
        println!(
            "| {tier} | {} | {} | {} | {} |",
            sum(|o| o.local_items),
            sum(|o| o.local_items_pass),
            sum(|o| o.items),
            sum(|o| o.items_pass),
        );
    }
}

fn mean_max(times: &[Duration]) -> String {
    if times.is_empty() {
        return "-".to_owned();
    }
    let mean = times.iter().sum::<Duration>() / u32::try_from(times.len()).unwrap_or(u32::MAX);
    let max = times.iter().max().copied().unwrap_or_default();
    format!("{:.2}, {:.2}", mean.as_secs_f64(), max.as_secs_f64())
}

fn shorten(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passing_counts_items_without_errors() {
        let draft: Draft = serde_json::from_value(json!({
            "requirements": [
                {"id": "REQ-001", "text": "The remote shall beep.", "pattern": "ubiquitous", "category": "functional", "sources": ["KO#7"]},
                {"id": "REQ-002", "text": "The remote shall cost under 25 euros.", "pattern": "ubiquitous", "category": "functional", "sources": ["n#1"]}
            ],
            "user_stories": []
        }))
        .unwrap();
        let candidates: Vec<Candidate> = serde_json::from_value(json!([{
            "text": "The remote must cost less than 25 euros.", "category": "functional",
            "confidence": 0.9, "cues": [], "topic": "cost",
            "source": {"id": "n#1", "file": "n.txt", "sentence": 1, "start": 0, "end": 10}
        }]))
        .unwrap();
        assert_eq!(passing(&draft, &candidates), (2, 1));
    }
}
