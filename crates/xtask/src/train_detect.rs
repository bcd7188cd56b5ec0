//! `cargo xtask train detect`: fits the embedding detector of `requirements.detect` and writes
//! `crates/aine-sdlc/data/detect-minilm.json`.
//!
//! 1. Sentences: `sources.ingest` of `examples/meetings/ES2002{a,b,c,d}.json`; labels:
//!    `crates/aine-sdlc/eval/detect/*.jsonl` (borderline sentences count as requirement-bearing
//!    for training).
//! 2. Features: `aine_sdlc::detect::embedded::features` over all-MiniLM-L6-v2 embeddings (the
//!    model must be pulled: `aine models pull local/all-minilm-l6-v2`).
//! 3. Model: L2-regularised logistic regression with sklearn's objective
//!    `½‖w‖² + C Σᵢ sᵢ log(1 + exp(−yᵢ(w·xᵢ + b)))`, C = 1, intercept not penalised, sᵢ the
//!    "balanced" class weights `n / (2 nₖ)` of the training sentences; minimised by Newton's
//!    method (the problem is strictly convex, so the minimum is sklearn's up to its tolerance).
//! 4. Threshold: leave-one-meeting-out over the dev meetings ES2002b and ES2002d (train on one,
//!    score the other); of 0.05, 0.06, …, 0.95 the first with the best pooled strict F1.
//! 5. The final model is fitted on both dev meetings. The test meetings ES2002a and ES2002c are
//!    only scored, never used to choose anything.

use std::path::{Path, PathBuf};
use std::time::Instant;

use aine_embed::Embedder;
use aine_sdlc::detect::embedded::{self, DetectorModel, FEATURES, Score};
use aine_sdlc::detect::labelled::{self, Counts, DEV, MEETINGS, Meeting, TEST};
use anyhow::{Context, Result, anyhow, bail};

/// Inverse regularisation strength (sklearn's `C`).
const C: f64 = 1.0;

/// One meeting's features and labels.
struct Data {
    meeting: Meeting,
    x: Vec<Vec<f64>>,
    /// 1 for requirement-bearing (borderline included), else 0.
    y: Vec<f64>,
}

pub fn run() -> Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let meetings_dir = root.join("examples/meetings");
    let labels_dir = root.join("crates/aine-sdlc/eval/detect");
    let out_path = root.join("crates/aine-sdlc/data/detect-minilm.json");
    let embedder =
        Embedder::load(&aine_embed::default_model_dir()).context("loading the embedding model")?;
    let mut data = Vec::new();
    let started = Instant::now();
    let mut sentences = 0;
    for name in MEETINGS {
        let meeting =
            labelled::load(&meetings_dir, &labels_dir, name).map_err(|e| anyhow!("{e}"))?;
        let texts: Vec<&str> = meeting.sentences.iter().map(|s| s.text.as_str()).collect();
        let vectors = embedder.embed(&texts)?;
        let groups = vec![0_u8; texts.len()];
        let x = embedded::features(&texts, &vectors, &groups);
        let y = meeting
            .sentences
            .iter()
            .map(|s| f64::from(u8::from(meeting.positive(&s.source.id))))
            .collect();
        sentences += texts.len();
        data.push(Data { meeting, x, y });
    }
    println!(
        "embedded {sentences} sentences of {} meetings in {:.1} s",
        MEETINGS.len(),
        started.elapsed().as_secs_f64()
    );
    let pick = |names: &[&str]| -> Vec<&Data> {
        data.iter()
            .filter(|d| names.contains(&d.meeting.name.as_str()))
            .collect()
    };

    // Leave-one-meeting-out over the dev meetings: out-of-fold probabilities.
    let mut oof: Vec<(&Data, Vec<f64>)> = Vec::new();
    for held in DEV {
        let train: Vec<&Data> = pick(&DEV)
            .into_iter()
            .filter(|d| d.meeting.name != held)
            .collect();
        let (w, b) = fit(&train)?;
        let d = pick(&[held]).into_iter().next().context("dev meeting")?;
        oof.push((d, d.x.iter().map(|x| predict(&w, b, x)).collect()));
    }
    let thresholds: Vec<f64> = (5..=95).map(|t| f64::from(t) / 100.0).collect();
    let mut best = (f64::NEG_INFINITY, 0.5);
    for &t in &thresholds {
        let f1 = pooled(&oof, t, true).prf().2;
        if f1 > best.0 {
            best = (f1, t);
        }
    }
    let threshold = best.1;
    let (w, b) = fit(&pick(&DEV))?;
    let test: Vec<(&Data, Vec<f64>)> = pick(&TEST)
        .into_iter()
        .map(|d| (d, d.x.iter().map(|x| predict(&w, b, x)).collect()))
        .collect();

    let mut scores = Vec::new();
    println!("\nthreshold {threshold:.2} (best leave-one-meeting-out strict F1 on dev)\n");
    println!("| set | mode | P | R | F1 | tp | fp | fn |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for (set, rows) in [
        ("dev (ES2002b, ES2002d), leave-one-meeting-out", &oof),
        ("test (ES2002a, ES2002c), trained on dev", &test),
    ] {
        for strict in [true, false] {
            let c = pooled(rows, threshold, strict);
            let (p, r, f1) = c.prf();
            let mode = if strict { "strict" } else { "lenient" };
            println!(
                "| {set} | {mode} | {p:.3} | {r:.3} | {f1:.3} | {} | {} | {} |",
                c.tp, c.fp, c.fn_
            );
            scores.push(Score {
                set: set.to_owned(),
                mode: mode.to_owned(),
                precision: round(p),
                recall: round(r),
                f1: round(f1),
                true_positives: c.tp,
                false_positives: c.fp,
                false_negatives: c.fn_,
            });
        }
    }
    let model = DetectorModel {
        embedding_model: aine_embed::MODEL_NAME.to_owned(),
        features: "770 values: the sentence's all-MiniLM-L6-v2 embedding (384, mean-pooled, unit \
                   length); the mean embedding of the up to 2 sentences before and 2 after it in \
                   the same source file (384; zeros when none); ln(1 + words) / 3 (words split at \
                   whitespace); 1 when the text ends with '?' else 0"
            .to_owned(),
        training: format!(
            "L2-regularised logistic regression (sklearn's objective, C = {C}, balanced class \
             weights, intercept not penalised, Newton's method) on the {} labelled-or-not \
             sentences of the dev meetings ES2002b and ES2002d (borderline labels counted as \
             requirement-bearing); threshold {threshold:.2}: of 0.05..0.95 step 0.01 the first \
             with the best strict F1 over both dev meetings, each scored by a model trained on \
             the other. The test meetings ES2002a and ES2002c chose nothing.",
            pick(&DEV).iter().map(|d| d.y.len()).sum::<usize>()
        ),
        command: "cargo xtask train detect".to_owned(),
        threshold,
        bias: round(b),
        weights: w.iter().map(|&v| round(v)).collect(),
        scores,
    };
    // How the classifier and the cue scorer could combine, each with its own threshold chosen the
    // same way (dev, leave-one-meeting-out); printed to decide, not stored.
    println!(
        "\n| combination | threshold | dev LOMO strict P/R/F1 | test strict P/R/F1 | test lenient P/R/F1 |"
    );
    println!("|---|---:|---|---|---|");
    let cue = |d: &Data| -> Vec<bool> {
        d.meeting
            .sentences
            .iter()
            .map(|s| {
                let c = aine_sdlc::detect::cues::score(&s.text);
                c.excluded.is_none()
                    && !c.cues.is_empty()
                    && c.confidence >= aine_sdlc::detect::DEFAULT_MIN_CONFIDENCE
            })
            .collect()
    };
    let question = |d: &Data| -> Vec<bool> {
        d.meeting
            .sentences
            .iter()
            .map(|s| aine_sdlc::detect::cues::score(&s.text).excluded == Some("question"))
            .collect()
    };
    type Rule = fn(f64, f64, bool, bool) -> bool;
    let rules: [(&str, Rule); 4] = [
        ("classifier alone", |p, t, _, _| p >= t),
        ("classifier or cue candidate", |p, t, cue, _| p >= t || cue),
        ("classifier and cue candidate", |p, t, cue, _| p >= t && cue),
        ("classifier, questions excluded", |p, t, _, q| p >= t && !q),
    ];
    for (name, rule) in rules {
        let count = |rows: &[(&Data, Vec<f64>)], t: f64, strict: bool| {
            rows.iter().fold(Counts::default(), |acc, (d, p)| {
                let (cues, questions) = (cue(d), question(d));
                acc.plus(Counts::of(&d.meeting, strict, |i| {
                    rule(
                        p.get(i).copied().unwrap_or(0.0),
                        t,
                        cues.get(i).copied().unwrap_or(false),
                        questions.get(i).copied().unwrap_or(false),
                    )
                }))
            })
        };
        let mut best = (f64::NEG_INFINITY, 0.5);
        for &t in &thresholds {
            let f1 = count(&oof, t, true).prf().2;
            if f1 > best.0 {
                best = (f1, t);
            }
        }
        let cell = |c: Counts| {
            let (p, r, f) = c.prf();
            format!("{p:.3}/{r:.3}/{f:.3}")
        };
        println!(
            "| {name} | {:.2} | {} | {} | {} |",
            best.1,
            cell(count(&oof, best.1, true)),
            cell(count(&test, best.1, true)),
            cell(count(&test, best.1, false))
        );
    }

    let json = serde_json::to_string_pretty(&model)? + "\n";
    std::fs::write(&out_path, json).with_context(|| format!("writing {}", out_path.display()))?;
    println!("\nwrote {}", display(&out_path, &root));
    Ok(())
}

fn display(path: &Path, root: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Eight significant decimals: the JSON stays readable and diffs stay small.
fn round(v: f64) -> f64 {
    (v * 1e8).round() / 1e8
}

/// Counts over several meetings, sentence `i` of a meeting marked when its probability reaches
/// `threshold`.
fn pooled(rows: &[(&Data, Vec<f64>)], threshold: f64, strict: bool) -> Counts {
    rows.iter().fold(Counts::default(), |acc, (d, p)| {
        acc.plus(Counts::of(&d.meeting, strict, |i| {
            p.get(i).is_some_and(|&p| p >= threshold)
        }))
    })
}

fn predict(w: &[f64], b: f64, x: &[f64]) -> f64 {
    embedded::sigmoid(b + w.iter().zip(x).map(|(w, x)| w * x).sum::<f64>())
}

/// Fits the weights and intercept on `train` (see the module documentation for the objective).
fn fit(train: &[&Data]) -> Result<(Vec<f64>, f64)> {
    let x: Vec<&[f64]> = train
        .iter()
        .flat_map(|d| d.x.iter().map(Vec::as_slice))
        .collect();
    let y: Vec<f64> = train.iter().flat_map(|d| d.y.iter().copied()).collect();
    let n = y.len() as f64;
    let positives = y.iter().filter(|&&v| v > 0.5).count() as f64;
    if positives == 0.0 || positives == n {
        bail!("training data has one class only");
    }
    // sklearn's class_weight="balanced": n_samples / (n_classes * count of the class).
    let s: Vec<f64> = y
        .iter()
        .map(|&v| {
            if v > 0.5 {
                n / (2.0 * positives)
            } else {
                n / (2.0 * (n - positives))
            }
        })
        .collect();
    let d = FEATURES + 1; // the intercept is the last parameter
    let mut theta = vec![0.0; d];
    let objective = |theta: &[f64]| -> f64 {
        let reg: f64 = theta[..FEATURES].iter().map(|v| v * v).sum::<f64>() / 2.0;
        let loss: f64 = x
            .iter()
            .zip(&y)
            .zip(&s)
            .map(|((xi, &yi), &si)| {
                let z = margin(theta, xi);
                // log(1 + exp(-z)) for y = 1, log(1 + exp(z)) for y = 0, computed stably.
                let t = if yi > 0.5 { -z } else { z };
                si * (t.max(0.0) + (-t.abs()).exp().ln_1p())
            })
            .sum();
        reg + C * loss
    };
    let mut value = objective(&theta);
    for _ in 0..100 {
        let mut grad = vec![0.0; d];
        let mut hess = vec![0.0; d * d];
        for (j, g) in grad.iter_mut().enumerate().take(FEATURES) {
            *g = theta[j];
            hess[j * d + j] = 1.0;
        }
        for ((xi, &yi), &si) in x.iter().zip(&y).zip(&s) {
            let p = embedded::sigmoid(margin(&theta, xi));
            let r = C * si * (p - yi);
            let h = C * si * p * (1.0 - p);
            for (j, g) in grad.iter_mut().enumerate() {
                *g += r * feature(xi, j);
            }
            // Lower triangle of Σ h xxᵀ.
            for j in 0..d {
                let hj = h * feature(xi, j);
                if hj == 0.0 {
                    continue;
                }
                let row = &mut hess[j * d..j * d + j + 1];
                for (k, cell) in row.iter_mut().enumerate() {
                    *cell += hj * feature(xi, k);
                }
            }
        }
        let step = cholesky_solve(&mut hess, &grad, d)?;
        // Backtracking line search on the objective.
        let mut alpha = 1.0;
        let mut next;
        loop {
            let candidate: Vec<f64> = theta
                .iter()
                .zip(&step)
                .map(|(t, s)| t - alpha * s)
                .collect();
            next = objective(&candidate);
            if next <= value || alpha < 1e-10 {
                theta = candidate;
                break;
            }
            alpha /= 2.0;
        }
        let decrease = value - next;
        value = next;
        let grad_norm = grad.iter().map(|g| g.abs()).fold(0.0, f64::max);
        if grad_norm < 1e-9 || decrease.abs() < 1e-12 * value.abs().max(1.0) {
            break;
        }
    }
    let b = theta.pop().unwrap_or(0.0);
    Ok((theta, b))
}

/// Feature `j` of `x`, with the constant 1 of the intercept at `j = FEATURES`.
fn feature(x: &[f64], j: usize) -> f64 {
    if j == FEATURES {
        1.0
    } else {
        x.get(j).copied().unwrap_or(0.0)
    }
}

fn margin(theta: &[f64], x: &[f64]) -> f64 {
    theta[FEATURES]
        + theta[..FEATURES]
            .iter()
            .zip(x)
            .map(|(t, v)| t * v)
            .sum::<f64>()
}

/// Solves `A s = g` for symmetric positive definite `A` given by its lower triangle (row-major
/// `d × d`), overwriting it with its Cholesky factor.
fn cholesky_solve(a: &mut [f64], g: &[f64], d: usize) -> Result<Vec<f64>> {
    for j in 0..d {
        let mut diag = a[j * d + j];
        for k in 0..j {
            diag -= a[j * d + k] * a[j * d + k];
        }
        if diag <= 0.0 {
            bail!("the Hessian is not positive definite (column {j})");
        }
        let diag = diag.sqrt();
        a[j * d + j] = diag;
        for i in j + 1..d {
            let mut v = a[i * d + j];
            for k in 0..j {
                v -= a[i * d + k] * a[j * d + k];
            }
            a[i * d + j] = v / diag;
        }
    }
    // L z = g, then Lᵀ s = z.
    let mut z = vec![0.0; d];
    for i in 0..d {
        let mut v = g[i];
        for k in 0..i {
            v -= a[i * d + k] * z[k];
        }
        z[i] = v / a[i * d + i];
    }
    let mut s = vec![0.0; d];
    for i in (0..d).rev() {
        let mut v = z[i];
        for k in i + 1..d {
            v -= a[k * d + i] * s[k];
        }
        s[i] = v / a[i * d + i];
    }
    Ok(s)
}
