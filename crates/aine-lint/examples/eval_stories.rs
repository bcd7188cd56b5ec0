//! Evaluation of the linter on the 22 real backlogs in `shared/data/user-stories` (issue 4, item
//! 8): findings per rule (count, share of stories) and the precision of each rule on the
//! hand-checked sample recorded in `EVAL.md`.
//!
//! ```text
//! cargo run --release -p aine-lint --example eval_stories            # the table
//! cargo run --release -p aine-lint --example eval_stories -- --sample # the seeded sample to judge
//! ```

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use aine_lint::{Finding, InputFormat, LintOptions, RuleId, lint, parse, read_input, rules};

const SEED: u64 = 42;
const PER_RULE: usize = 4;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/user-stories")
}

/// splitmix64: a tiny seeded generator, so the sample is the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn key(f: &Finding) -> String {
    format!("{}:{}:{} {}", f.file.display(), f.line, f.col, f.rule)
}

/// The hand-check verdicts of `EVAL.md`: rows `| n | rule | file:line:col | … | TP/FP | … |`.
fn verdicts() -> HashMap<String, bool> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("EVAL.md");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = HashMap::new();
    for line in text.lines().filter(|l| l.starts_with('|')) {
        let cells: Vec<&str> = line
            .split('|')
            .map(|c| c.trim().trim_matches('`'))
            .collect();
        let (Some(rule), Some(loc)) = (cells.get(2), cells.get(3)) else {
            continue;
        };
        let verdict = cells.iter().find_map(|c| match *c {
            "TP" => Some(true),
            "FP" => Some(false),
            _ => None,
        });
        if let (Some(v), Ok(_)) = (verdict, rule.parse::<RuleId>()) {
            out.insert(format!("{loc} {rule}"), v);
        }
    }
    out
}

fn main() {
    let sample_mode = std::env::args().any(|a| a == "--sample");
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(data_dir()) {
        Ok(dir) => dir
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "txt"))
            .collect(),
        Err(e) => {
            eprintln!("cannot read {}: {e}", data_dir().display());
            std::process::exit(2);
        }
    };
    paths.sort();
    let mut findings: Vec<Finding> = Vec::new();
    let mut stories = 0usize;
    let mut lines_of: HashMap<PathBuf, Vec<String>> = HashMap::new();
    for path in &paths {
        let text = match read_input(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{e}");
                continue;
            }
        };
        let short = PathBuf::from(path.file_name().unwrap_or_default());
        match parse(&short, &text, InputFormat::StoryLines) {
            Ok(doc) => {
                stories += doc.items.len();
                findings.extend(lint(&doc, &LintOptions::default()));
            }
            Err(e) => eprintln!("{e}"),
        }
        lines_of.insert(short, text.lines().map(str::to_owned).collect());
    }

    let mut by_rule: BTreeMap<usize, Vec<&Finding>> = BTreeMap::new();
    for f in &findings {
        let order = RuleId::ALL
            .iter()
            .position(|r| *r == f.rule)
            .unwrap_or(usize::MAX);
        by_rule.entry(order).or_default().push(f);
    }

    if sample_mode {
        let mut rng = Rng(SEED);
        let mut n = 0;
        for list in by_rule.values() {
            let mut picked: Vec<usize> = Vec::new();
            while picked.len() < PER_RULE.min(list.len()) {
                let i = usize::try_from(rng.next() % list.len() as u64).unwrap_or(0);
                if !picked.contains(&i) {
                    picked.push(i);
                }
            }
            picked.sort_unstable();
            for i in picked {
                let Some(f) = list.get(i) else { continue };
                n += 1;
                let story = lines_of
                    .get(&f.file)
                    .and_then(|l| l.get(f.line.saturating_sub(1)))
                    .cloned()
                    .unwrap_or_default();
                println!(
                    "{n}\t{}\t{}\t{}\n\t{story}",
                    f.rule,
                    key(f).split(' ').next().unwrap_or_default(),
                    f.message
                );
            }
        }
        return;
    }

    let verdicts = verdicts();
    println!(
        "aine-lint on {} user stories in {} backlogs ({} findings)\n",
        stories,
        paths.len(),
        findings.len()
    );
    println!(
        "| rule | findings | stories flagged | share of stories | hand-checked | true positives | precision |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let (mut all_checked, mut all_tp) = (0usize, 0usize);
    for info in rules() {
        let order = RuleId::ALL
            .iter()
            .position(|r| *r == info.id)
            .unwrap_or(usize::MAX);
        let list = by_rule.get(&order).map(Vec::as_slice).unwrap_or_default();
        let flagged: HashSet<(&Path, usize)> =
            list.iter().map(|f| (f.file.as_path(), f.line)).collect();
        let judged: Vec<bool> = list
            .iter()
            .filter_map(|f| verdicts.get(&key(f)).copied())
            .collect();
        let tp = judged.iter().filter(|v| **v).count();
        all_checked += judged.len();
        all_tp += tp;
        let precision = if judged.is_empty() {
            "–".to_owned()
        } else {
            format!("{:.0}%", 100.0 * tp as f64 / judged.len() as f64)
        };
        println!(
            "| `{}` | {} | {} | {:.1}% | {} | {} | {} |",
            info.id,
            list.len(),
            flagged.len(),
            100.0 * flagged.len() as f64 / stories.max(1) as f64,
            judged.len(),
            tp,
            precision
        );
    }
    if all_checked > 0 {
        println!(
            "\nhand-checked sample: {all_checked} findings, {all_tp} true positives, precision {:.0}%",
            100.0 * all_tp as f64 / all_checked as f64
        );
    }
    let stale = verdicts.len().saturating_sub(all_checked);
    if stale > 0 {
        println!(
            "note: {stale} verdicts in EVAL.md match no current finding (the rules changed since the hand check)"
        );
    }
}
