//! Throughput of the local provider, in the terms of llama.cpp's `llama-bench`.
//!
//! ```text
//! cargo run --release -p aine-llama --example llama-bench -- [--threads 2] [--parallel 4] [--reps 3] [MODEL.gguf]
//! ```
//!
//! Prints one table row per workload: prompt tokens/s (prompt processing, like `pp512`) and
//! generated tokens/s (like `tg128`), without and with a JSON-Schema grammar, for one sequence
//! and for `--parallel` concurrent requests batched by the provider. Best of `--reps` runs.
//! Batched rows are aggregate throughput: all sequences' tokens over the wall time. Each
//! request opens with its own number, so no prompt shares KV cells with another (the worker
//! would share a common prefix); prompt tokens/s counts the tokens processed, and `shared
//! tok/seq` the few taken from another sequence (the chat template's opening).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aine_llama::{Generation, LocalModel, LocalOptions};
use aine_models::{ChatRequest, Message};
use serde_json::json;

struct Args {
    threads: u32,
    parallel: u32,
    reps: usize,
    model: PathBuf,
}

fn args() -> Args {
    let mut out = Args {
        threads: 2,
        parallel: 4,
        reps: 3,
        model: aine_llama::pull::model_path(&aine_llama::catalog::GEMMA_3_270M),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut num = |what: &str| -> u32 {
            it.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
                eprintln!("{what} needs a number");
                std::process::exit(2)
            })
        };
        match a.as_str() {
            "--threads" => out.threads = num("--threads"),
            "--parallel" => out.parallel = num("--parallel"),
            "--reps" => out.reps = num("--reps") as usize,
            other => out.model = PathBuf::from(other),
        }
    }
    out
}

/// A prompt of about `n` tokens of ordinary prose (like llama-bench's pp, content does not
/// matter for prompt speed).
fn prose(n: usize) -> String {
    let sentence =
        "The quick brown fox jumps over the lazy dog while the farmer watches from the porch. ";
    let words: Vec<&str> = sentence.split_inclusive(' ').cycle().take(n).collect();
    words.concat()
}

fn plain(messages: Vec<Message>, max: u32) -> ChatRequest {
    ChatRequest {
        messages,
        output_schema: None,
        max_output_tokens: max,
        temperature: 0.0,
    }
}

/// Long generation: a base model continues a count shown in a few-shot example.
fn counting(max: u32, grammar: bool) -> ChatRequest {
    let upto = |n: u32| {
        (1..=n)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut req = plain(
        vec![
            Message::user("Write the numbers from 1 to 60, separated by commas."),
            Message::assistant(upto(60)),
            Message::user("Write the numbers from 1 to 400, separated by commas."),
        ],
        max,
    );
    if grammar {
        req.messages = vec![
            Message::user("Write the numbers from 1 to 60 as a JSON array."),
            Message::assistant(format!("[{}]", upto(60))),
            Message::user("Write the numbers from 1 to 400 as a JSON array."),
        ];
        req.output_schema =
            Some(json!({ "type": "array", "items": { "type": "integer" }, "minItems": 400 }));
    }
    req
}

/// A realistic contract: a small object, few-shot.
fn ticket() -> ChatRequest {
    let schema = json!({
        "type": "object",
        "properties": {
            "title": { "type": "string", "maxLength": 80 },
            "summary": { "type": "string", "maxLength": 240 },
            "kind": { "enum": ["feature", "bug", "question"] }
        },
        "required": ["title", "summary", "kind"],
        "additionalProperties": false
    });
    ChatRequest {
        messages: vec![
            Message::system(
                "Turn each ticket into JSON with a title, a one-sentence summary and a kind.",
            ),
            Message::user("The export button does nothing when I click it on the reports page."),
            Message::assistant(
                r#"{"title": "Export button does nothing on reports page", "summary": "Clicking export on the reports page has no effect.", "kind": "bug"}"#,
            ),
            Message::user(
                "Our team would like to be able to schedule reports so they are emailed every Monday morning to all managers.",
            ),
        ],
        output_schema: Some(schema),
        max_output_tokens: 128,
        temperature: 0.0,
    }
}

struct Sample {
    prompt_tps: f64,
    gen_tps: f64,
    in_tokens: u64,
    cached_tokens: u64,
    out_tokens: u64,
    masks: u32,
}

/// Run `n` copies of `req` at once; aggregate throughput. Each copy opens with its own
/// request number, so no copy shares prompt cells with another or with an earlier run (the
/// worker shares common prefixes): every prompt token is processed, as in upstream
/// `llama-bench`.
async fn run(model: &Arc<LocalModel>, req: &ChatRequest, n: usize) -> Sample {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let mut req = req.clone();
            let k = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if let Some(first) = req.messages.first_mut() {
                first.content = format!("Request {k}.\n{}", first.content);
            }
            let model = Arc::clone(model);
            tokio::spawn(async move { model.generate(&req).await })
        })
        .collect();
    let mut gens: Vec<Generation> = Vec::new();
    for t in tasks {
        match t.await {
            Ok(Ok(g)) => gens.push(g),
            Ok(Err(e)) => {
                eprintln!("request failed: {e}");
                std::process::exit(1)
            }
            Err(e) => {
                eprintln!("task failed: {e}");
                std::process::exit(1)
            }
        }
    }
    let prompt_tokens: u64 = gens.iter().map(|g| g.prompt_tokens).sum();
    // Prompt tokens whose KV cells came from another sequence or an earlier request are not
    // processed (the request numbers above keep that to the chat template's opening tokens).
    let cached: u64 = gens.iter().map(|g| g.cached_prompt_tokens).sum();
    let prompt_time = gens
        .iter()
        .map(|g| g.timings.queued + g.timings.prompt)
        .max()
        .unwrap_or_default();
    // Each sequence's first token comes from prompt processing; the rest are decode steps.
    let decoded: u64 = gens.iter().map(|g| g.output_tokens.saturating_sub(1)).sum();
    let gen_time = gens
        .iter()
        .map(|g| g.timings.generate)
        .max()
        .unwrap_or_default();
    Sample {
        prompt_tps: prompt_tokens.saturating_sub(cached) as f64 / secs(prompt_time),
        gen_tps: decoded as f64 / secs(gen_time),
        in_tokens: prompt_tokens / n as u64,
        cached_tokens: cached / n as u64,
        out_tokens: gens.iter().map(|g| g.output_tokens).sum::<u64>() / n as u64,
        masks: gens
            .iter()
            .map(|g| g.timings.grammar_rejections)
            .sum::<u32>()
            / n as u32,
    }
}

/// Resident memory of this process (Linux `/proc/self/status`).
fn rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(|l| l.trim_start_matches("VmRSS:").trim().to_owned())
        })
        .unwrap_or_else(|| "n/a".to_owned())
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64().max(1e-9)
}

/// Best of the runs: other processes on a shared machine only ever slow a run down, so the
/// fastest run is the least disturbed one (compare with llama-bench's best sample).
fn best(v: impl Iterator<Item = f64>) -> f64 {
    v.fold(f64::NAN, f64::max)
}

#[tokio::main]
async fn main() {
    let args = args();
    let load = Instant::now();
    let options = LocalOptions {
        threads: args.threads,
        context_tokens: 2048,
        batch_parallel: args.parallel,
    };
    let model = match LocalModel::load(&args.model, options) {
        Ok(m) => Arc::new(m),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1)
        }
    };
    println!(
        "model {} | threads {} | parallel {} | load {:.2} s | rss {} | reps {}",
        args.model.display(),
        args.threads,
        args.parallel,
        load.elapsed().as_secs_f64(),
        rss(),
        args.reps
    );
    // Warm-up (first decode allocates buffers).
    let _ = model.generate(&plain(vec![Message::user("Hi")], 4)).await;

    let p = args.parallel as usize;
    let pp = plain(vec![Message::user(prose(470))], 1);
    let rows: Vec<(&str, &str, ChatRequest, usize, bool)> = vec![
        ("pp ~512", "none", pp.clone(), 1, true),
        ("pp ~512", "none", pp, p, true),
        ("tg 128", "none", counting(128, false), 1, false),
        ("tg 128", "none", counting(128, false), p, false),
        ("tg 128", "json array", counting(128, true), 1, false),
        ("tg 128", "json array", counting(128, true), p, false),
        ("ticket", "object schema", ticket(), 1, false),
        ("ticket", "object schema", ticket(), p, false),
    ];
    println!();
    println!(
        "| workload | grammar | seqs | prompt tok/s | gen tok/s | in tok/seq | shared tok/seq | out tok/seq | grammar rejections/seq |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for (name, grammar, req, n, prompt_only) in rows {
        let mut samples = Vec::new();
        for _ in 0..args.reps {
            samples.push(run(&model, &req, n).await);
        }
        let pps = best(samples.iter().map(|s| s.prompt_tps));
        let tgs = best(samples.iter().map(|s| s.gen_tps));
        let last = samples.last();
        let out = last.map_or(0, |s| s.out_tokens);
        let input = last.map_or(0, |s| s.in_tokens);
        let shared = last.map_or(0, |s| s.cached_tokens);
        let masks = last.map_or(0, |s| s.masks);
        let tg_cell = if prompt_only {
            "-".to_owned()
        } else {
            format!("{tgs:.1}")
        };
        println!(
            "| {name} | {grammar} | {n} | {pps:.0} | {tg_cell} | {input} | {shared} | {out} | {masks} |"
        );
    }
    println!("\nrss after the runs: {}", rss());
}
