//! Evaluates `requirements.detect` and prints tables.
//!
//! 1. Category on PROMISE NFR, leave-one-project-out: for each of the 15 projects, the naive
//!    Bayes model is trained on the other 14 and λ is chosen by an inner leave-one-project-out
//!    over those 14 only; the held-out project is never seen. Three classifiers: lexicon alone,
//!    naive Bayes alone, combined. Binary F/NFR F1, macro F1 over the 12 classes, per-class
//!    P/R/F1.
//! 2. Candidate recall on PROMISE: every PROMISE sentence is a requirement, so the share the
//!    detector marks as a candidate is its recall (the cue lists are hand-written, not learned).
//! 3. The AMI ES2002 meetings: candidates per meeting and example candidates.
//!
//! Run: `cargo run --release -p aine-sdlc --example eval_detect [DATA_DIR]` (default
//! `../shared/data` next to the workspace; PROMISE falls back to the crate's bundled copy).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use aine_sdlc::detect::category::{
    Classifier, Labelled, NaiveBayes, PROMISE_CSV, choose_lambda, lexicon_category, parse_promise,
};
use aine_sdlc::detect::{DEFAULT_MIN_CONFIDENCE, DetectInput, cues, detect};
use aine_sdlc::ingest::ingest;
use aine_spec::Category;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data_dir = std::env::args().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
        PathBuf::from,
    );
    let csv = std::fs::read_to_string(data_dir.join("promise-nfr/nfr.csv"))
        .unwrap_or_else(|_| PROMISE_CSV.to_owned());
    let data = parse_promise(&csv).map_err(|line| format!("nfr.csv: malformed line {line}"))?;
    let mut projects: Vec<u32> = data.iter().map(|l| l.project).collect();
    projects.sort_unstable();
    projects.dedup();
    println!(
        "# requirements.detect evaluation\n\nPROMISE NFR: {} sentences, {} projects, leave-one-project-out.\n",
        data.len(),
        projects.len()
    );

    let started = Instant::now();
    let mut lexicon = Vec::new();
    let mut bayes = Vec::new();
    let mut combined = Vec::new();
    let mut lambdas = Vec::new();
    for &p in &projects {
        let train: Vec<Labelled> = data.iter().filter(|l| l.project != p).cloned().collect();
        let nb = NaiveBayes::train(train.iter().map(|l| (l.text.as_str(), l.category)));
        let lambda = choose_lambda(&train);
        lambdas.push((p, lambda));
        let nb_only = Classifier {
            nb: nb.clone(),
            lambda: 0.0,
        };
        let both = Classifier { nb, lambda };
        for l in data.iter().filter(|l| l.project == p) {
            lexicon.push((l.category, lexicon_category(&l.text)));
            bayes.push((l.category, nb_only.classify(&l.text)));
            combined.push((l.category, both.classify(&l.text)));
        }
    }
    println!(
        "λ chosen per fold (inner LOPO on the 14 training projects): {}\n",
        lambdas
            .iter()
            .map(|(p, l)| format!("p{p}={l}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "| classifier | F1 (F) | F1 (NFR) | binary macro F1 | macro F1, 12 classes | macro F1, 11 (no PO) | accuracy |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (name, pairs) in [
        ("lexicon only", &lexicon),
        ("naive Bayes only", &bayes),
        ("lexicon + naive Bayes", &combined),
    ] {
        let (f_f1, nfr_f1) = binary(pairs);
        let per = per_class(pairs);
        let macro12 = per.iter().map(|r| r.3).sum::<f64>() / 12.0;
        let macro11 = per
            .iter()
            .filter(|r| r.0 != Category::Portability)
            .map(|r| r.3)
            .sum::<f64>()
            / 11.0;
        let acc = pairs.iter().filter(|(g, p)| g == p).count() as f64 / pairs.len() as f64;
        println!(
            "| {name} | {f_f1:.3} | {nfr_f1:.3} | {:.3} | {macro12:.3} | {macro11:.3} | {acc:.3} |",
            (f_f1 + nfr_f1) / 2.0
        );
    }
    println!("\nPer class, lexicon + naive Bayes:\n");
    println!("| class | support | precision | recall | F1 |");
    println!("|---|---|---|---|---|");
    for (c, support, p, f1, r) in per_class(&combined) {
        println!(
            "| {} {} | {support} | {p:.3} | {r:.3} | {f1:.3} |",
            c.promise_label(),
            name(c)
        );
    }

    let detected = data
        .iter()
        .filter(|l| {
            let s = cues::score(&l.text);
            s.excluded.is_none() && !s.cues.is_empty() && s.confidence >= DEFAULT_MIN_CONFIDENCE
        })
        .count();
    println!(
        "\nCandidate recall on PROMISE (min_confidence {DEFAULT_MIN_CONFIDENCE}): {detected}/{} = {:.3}",
        data.len(),
        detected as f64 / data.len() as f64
    );
    println!(
        "Category evaluation took {:.2} s.\n",
        started.elapsed().as_secs_f64()
    );

    let meetings = data_dir.join("meetings");
    let mut files: Vec<String> = std::fs::read_dir(&meetings)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    if files.is_empty() {
        println!("(no meetings found under {})", meetings.display());
        return Ok(());
    }
    println!("## AMI ES2002 meetings\n");
    println!("| meeting | sentences | questions | candidates | per category |");
    println!("|---|---|---|---|---|");
    let mut examples = Vec::new();
    for file in &files {
        let out = ingest(&meetings, std::slice::from_ref(file))?;
        let det = detect(&DetectInput {
            sentences: out.sentences,
            min_confidence: None,
        })?;
        let cats: BTreeMap<&str, u32> = det
            .stats
            .by_category
            .iter()
            .map(|(c, n)| (c.promise_label(), *n))
            .collect();
        println!(
            "| {file} | {} | {} | {} | {} |",
            det.stats.sentences,
            det.stats.questions,
            det.stats.candidates,
            cats.iter()
                .map(|(c, n)| format!("{c} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let step = (det.candidates.len() / 3).max(1);
        examples.extend(det.candidates.into_iter().step_by(step).take(3));
    }
    println!("\nExample candidates (evenly spaced through each meeting):\n");
    for c in examples.iter().take(10) {
        println!(
            "- `{}` [{} {:.2} topic={}] {} ({})",
            c.source.id,
            c.category.promise_label(),
            c.confidence,
            c.topic,
            c.text,
            c.cues.join(", ")
        );
    }
    Ok(())
}

fn name(c: Category) -> &'static str {
    match c {
        Category::Functional => "functional",
        Category::Usability => "usability",
        Category::Security => "security",
        Category::Performance => "performance",
        Category::Operational => "operational",
        Category::LookAndFeel => "look and feel",
        Category::Scalability => "scalability",
        Category::Availability => "availability",
        Category::Maintainability => "maintainability",
        Category::Legal => "legal",
        Category::FaultTolerance => "fault tolerance",
        Category::Portability => "portability",
    }
}

/// F1 of the F class and of the NFR class (all 11 non-functional classes merged).
fn binary(pairs: &[(Category, Category)]) -> (f64, f64) {
    let f = |c: Category| c == Category::Functional;
    let f1 = |pos: &dyn Fn(Category) -> bool| {
        let tp = pairs.iter().filter(|(g, p)| pos(*g) && pos(*p)).count() as f64;
        let gold = pairs.iter().filter(|(g, _)| pos(*g)).count() as f64;
        let pred = pairs.iter().filter(|(_, p)| pos(*p)).count() as f64;
        if gold + pred == 0.0 {
            0.0
        } else {
            2.0 * tp / (gold + pred)
        }
    };
    (f1(&f), f1(&|c| !f(c)))
}

/// `(class, support, precision, F1, recall)` for each of the 12 classes.
fn per_class(pairs: &[(Category, Category)]) -> Vec<(Category, usize, f64, f64, f64)> {
    Category::ALL
        .iter()
        .map(|&c| {
            let tp = pairs.iter().filter(|(g, p)| *g == c && *p == c).count() as f64;
            let gold = pairs.iter().filter(|(g, _)| *g == c).count();
            let pred = pairs.iter().filter(|(_, p)| *p == c).count() as f64;
            let precision = if pred == 0.0 { 0.0 } else { tp / pred };
            let recall = if gold == 0 { 0.0 } else { tp / gold as f64 };
            let f1 = if precision + recall == 0.0 {
                0.0
            } else {
                2.0 * precision * recall / (precision + recall)
            };
            (c, gold, precision, f1, recall)
        })
        .collect()
}
