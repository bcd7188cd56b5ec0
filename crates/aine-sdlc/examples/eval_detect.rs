//! Evaluates `requirements.detect` and prints tables.
//!
//! 1. Category on PROMISE NFR, leave-one-project-out: for each of the 15 projects, the naive
//!    Bayes model is trained on the other 14 and λ is chosen by an inner leave-one-project-out
//!    over those 14 only; the held-out project is never seen. Three classifiers: lexicon alone,
//!    naive Bayes alone, combined. Binary F/NFR F1, macro F1 over the 12 classes, per-class
//!    P/R/F1.
//! 2. Candidate recall on PROMISE: every PROMISE sentence is a requirement, so the share the
//!    detector marks as a candidate is its recall (the cue lists are hand-written, not learned).
//! 3. Candidates against the hand-labelled requirement-bearing sentences of the AMI ES2002
//!    meetings (`eval/detect/*.jsonl`, see `eval/LABELLING.md`): precision, recall and F1 per
//!    meeting, on the dev set (ES2002b, ES2002d: the meetings looked at while tuning cues) and the
//!    test set (ES2002a, ES2002c: not looked at), strict (borderline sentences left out of the
//!    score) and lenient (borderline sentences count as requirement-bearing), for the cue scorer
//!    and, when `aine models pull local/all-minilm-l6-v2` has been run, the embedding detector
//!    (trained on the dev set by `cargo xtask train detect`), with the time embedding takes. With
//!    `AINE_EVAL_SHOW=fn` (or `fp`) the dev set's missed (or wrongly marked) sentences are listed.
//! 4. The AMI ES2002 meetings: candidates per meeting and example candidates.
//!
//! Run: `cargo run --release -p aine-sdlc --example eval_detect [DATA_DIR]` (default
//! `../shared/data` next to the workspace; PROMISE falls back to the crate's bundled copy).

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use aine_sdlc::detect::category::{
    Classifier, Labelled, NaiveBayes, PROMISE_CSV, choose_lambda, lexicon_category, parse_promise,
};
use aine_sdlc::detect::labelled::{self, Counts, DEV, MEETINGS};
use aine_sdlc::detect::{
    DEFAULT_MIN_CONFIDENCE, DetectInput, DetectorChoice, cues, detect, embedded,
    minilm_probabilities,
};
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
    // The embedding detector on PROMISE: each requirement's context is its project's
    // neighbouring requirements (as in a requirements document).
    if let (Ok(embedder), Ok(model)) = (embedded::embedder(), embedded::bundled()) {
        let texts: Vec<&str> = data.iter().map(|l| l.text.as_str()).collect();
        let projects: Vec<u32> = data.iter().map(|l| l.project).collect();
        let vectors = embedder.embed(&texts)?;
        let x = embedded::features(&texts, &vectors, &projects);
        let p: Vec<f64> = x.iter().map(|x| model.probability(x)).collect();
        let by_model = p.iter().filter(|&&p| p >= model.threshold).count();
        let either = data
            .iter()
            .zip(&p)
            .filter(|(l, p)| {
                let s = cues::score(&l.text);
                **p >= model.threshold
                    || (s.excluded.is_none()
                        && !s.cues.is_empty()
                        && s.confidence >= DEFAULT_MIN_CONFIDENCE)
            })
            .count();
        println!(
            "Candidate recall on PROMISE, embedding detector (threshold {:.2}): {by_model}/{} = {:.3}; embedding detector or cues: {either}/{} = {:.3}",
            model.threshold,
            data.len(),
            by_model as f64 / data.len() as f64,
            data.len(),
            either as f64 / data.len() as f64
        );
    }
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
    labelled(&meetings)?;
    println!("## AMI ES2002 meetings\n");
    println!("| meeting | sentences | questions | candidates | per category |");
    println!("|---|---|---|---|---|");
    let mut examples = Vec::new();
    for file in &files {
        let out = ingest(&meetings, std::slice::from_ref(file))?;
        let det = detect(&DetectInput {
            sentences: out.sentences,
            min_confidence: None,
            detector: DetectorChoice::Cues,
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

/// Precision, recall and F1 of the candidates against the labelled sentences (section 3), for
/// the cue scorer and, when its model is pulled, the embedding detector.
fn labelled(meetings: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("eval/detect");
    let show = std::env::var("AINE_EVAL_SHOW").unwrap_or_default();
    let mut loaded = Vec::new();
    for name in MEETINGS {
        loaded.push(labelled::load(meetings, &dir, name)?);
    }
    // Cue candidates, then the embedding detector's probabilities (timed: embedding is nearly all
    // of it).
    let mut cue_marks = Vec::new();
    for m in &loaded {
        let det = detect(&DetectInput {
            sentences: m.sentences.clone(),
            min_confidence: None,
            detector: DetectorChoice::Cues,
        })?;
        let ids: HashSet<String> = det.candidates.into_iter().map(|c| c.source.id).collect();
        cue_marks.push(
            m.sentences
                .iter()
                .map(|s| ids.contains(&s.source.id))
                .collect::<Vec<bool>>(),
        );
    }
    let started = Instant::now();
    let minilm: Result<Vec<(Vec<f64>, f64)>, String> = loaded
        .iter()
        .map(|m| minilm_probabilities(&m.sentences))
        .collect();
    let embed_time = started.elapsed();
    let mut detectors: Vec<(&str, Vec<Vec<bool>>)> = vec![("cues", cue_marks.clone())];
    match &minilm {
        Ok(per_meeting) => {
            let alone: Vec<Vec<bool>> = per_meeting
                .iter()
                .map(|(p, t)| p.iter().map(|p| p >= t).collect())
                .collect();
            // What `requirements.detect` does with the model: the classifier's candidates and
            // the cue scorer's.
            let product = alone
                .iter()
                .zip(&cue_marks)
                .map(|(a, c)| a.iter().zip(c).map(|(a, c)| *a || *c).collect())
                .collect();
            detectors.push(("minilm alone", alone));
            detectors.push(("minilm or cues (detect)", product));
        }
        Err(why) => println!("(embedding detector not evaluated: {why})\n"),
    }

    println!("## AMI ES2002: candidates against labelled sentences\n");
    println!(
        "| meeting | set | sentences | labelled (borderline) | detector | candidates | strict P | strict R | strict F1 | lenient P | lenient R | lenient F1 |"
    );
    println!("|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|");
    // Counts per (set, detector, mode).
    let mut totals: BTreeMap<(&str, &str, &str), Counts> = BTreeMap::new();
    let mut listing = Vec::new();
    for (k, m) in loaded.iter().enumerate() {
        let set = if DEV.contains(&m.name.as_str()) {
            "dev"
        } else {
            "test"
        };
        for (detector, marks) in &detectors {
            let marked = |i: usize| {
                marks
                    .get(k)
                    .and_then(|v| v.get(i))
                    .copied()
                    .unwrap_or(false)
            };
            let mut row = Vec::new();
            for (mode, strict) in [("strict", true), ("lenient", false)] {
                let c = Counts::of(m, strict, marked);
                let t = totals.entry((set, detector, mode)).or_default();
                *t = t.plus(c);
                row.push(prf(c));
            }
            if set == "dev" && *detector == "cues" && !show.is_empty() {
                for (i, s) in m.sentences.iter().enumerate() {
                    let id = s.source.id.as_str();
                    if m.borderline(id) {
                        continue;
                    }
                    let kind = match (m.positive(id), marked(i)) {
                        (true, false) => "fn",
                        (false, true) => "fp",
                        _ => "",
                    };
                    if kind == show {
                        listing.push(format!("{kind} {id} {}", s.text));
                    }
                }
            }
            println!(
                "| {} | {set} | {} | {} ({}) | {detector} | {} | {} | {} |",
                m.name,
                m.sentences.len(),
                m.labels.len(),
                m.labels.values().filter(|l| l.borderline).count(),
                (0..m.sentences.len()).filter(|&i| marked(i)).count(),
                row[0],
                row[1]
            );
        }
    }
    for set in ["dev", "test"] {
        for (detector, _) in &detectors {
            let get = |mode| {
                totals
                    .get(&(set, *detector, mode))
                    .copied()
                    .unwrap_or_default()
            };
            println!(
                "| **{set} set** | | | | {detector} | | {} | {} |",
                prf(get("strict")),
                prf(get("lenient"))
            );
        }
    }
    if minilm.is_ok() {
        let sentences: usize = loaded.iter().map(|m| m.sentences.len()).sum();
        println!(
            "\nThe embedding detector was trained on the dev meetings: its dev rows above are scores on its own training data. \
             Its honest dev scores (each dev meeting scored by a model trained on the other, as when its threshold was chosen), from data/detect-minilm.json:\n"
        );
        if let Ok(model) = embedded::bundled() {
            for s in &model.scores {
                println!(
                    "- {} {}: P {:.3} R {:.3} F1 {:.3}",
                    s.set, s.mode, s.precision, s.recall, s.f1
                );
            }
        }
        println!(
            "\nEmbedding the {} sentences of the four meetings (and scoring them): {:.1} s ({:.1} ms per sentence).",
            sentences,
            embed_time.as_secs_f64(),
            embed_time.as_secs_f64() * 1000.0 / sentences.max(1) as f64
        );
    }
    println!();
    for line in listing {
        println!("{line}");
    }
    Ok(())
}

/// `P | R | F1` cells.
fn prf(c: Counts) -> String {
    let (p, r, f1) = c.prf();
    format!("{p:.3} | {r:.3} | {f1:.3}")
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
