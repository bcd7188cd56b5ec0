//! The hand-labelled AMI ES2002 meetings (`eval/detect/*.jsonl`, guide `eval/LABELLING.md`) and
//! how a detector is scored against them: shared by `examples/eval_detect.rs` and
//! `cargo xtask train detect`, so that training and evaluation read and count the same way.

use std::collections::HashMap;
use std::path::Path;

use aine_spec::Sentence;

use crate::ingest::ingest;

/// The labelled meetings, in file order.
pub const MEETINGS: [&str; 4] = ["ES2002a", "ES2002b", "ES2002c", "ES2002d"];
/// Meetings looked at while tuning the cues and used to train and choose the embedding
/// detector's threshold (the dev set).
pub const DEV: [&str; 2] = ["ES2002b", "ES2002d"];
/// Meetings used for nothing but reported scores (the test set).
pub const TEST: [&str; 2] = ["ES2002a", "ES2002c"];

/// One line of `eval/detect/MEETING.jsonl`: a requirement-bearing sentence.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Label {
    /// Sentence id, e.g. `ES2002b#10`.
    pub id: String,
    /// The sentence's text when it was labelled.
    pub text: String,
    /// The labeller was unsure.
    #[serde(default)]
    pub borderline: bool,
}

/// A meeting's sentences (as `sources.ingest` produces them) and its labels by sentence id.
#[derive(Debug, Clone)]
pub struct Meeting {
    /// `ES2002a` ...
    pub name: String,
    pub sentences: Vec<Sentence>,
    pub labels: HashMap<String, Label>,
}

impl Meeting {
    /// Whether the sentence with id `id` is labelled requirement-bearing, borderline or not.
    pub fn positive(&self, id: &str) -> bool {
        self.labels.contains_key(id)
    }

    /// Whether the sentence with id `id` is labelled borderline.
    pub fn borderline(&self, id: &str) -> bool {
        self.labels.get(id).is_some_and(|l| l.borderline)
    }
}

/// Ingests `meetings_dir/NAME.json` and reads `labels_dir/NAME.jsonl`.
///
/// # Errors
/// A message naming the file when one cannot be read or parsed, or when a label's sentence is
/// not the ingested sentence of that id any more (the splitter changed: relabel).
pub fn load(meetings_dir: &Path, labels_dir: &Path, name: &str) -> Result<Meeting, String> {
    let path = labels_dir.join(format!("{name}.jsonl"));
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut labels = HashMap::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let label: Label =
            serde_json::from_str(line).map_err(|e| format!("{}:{}: {e}", path.display(), n + 1))?;
        labels.insert(label.id.clone(), label);
    }
    let out = ingest(meetings_dir, &[format!("{name}.json")]).map_err(|e| e.to_string())?;
    for (id, label) in &labels {
        let found = out.sentences.iter().find(|s| &s.source.id == id);
        if found.map(|s| s.text.as_str()) != Some(label.text.as_str()) {
            return Err(format!(
                "{}: {id} is not the labelled sentence any more (ingest changed its sentences); relabel",
                path.display()
            ));
        }
    }
    Ok(Meeting {
        name: name.to_owned(),
        sentences: out.sentences,
        labels,
    })
}

/// True positives, false positives and false negatives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
}

impl Counts {
    /// Counts `meeting`'s sentences, `marked(i)` telling whether sentence `i` is a candidate.
    /// `strict` leaves borderline sentences out; otherwise they count as requirement-bearing.
    pub fn of(meeting: &Meeting, strict: bool, marked: impl Fn(usize) -> bool) -> Self {
        let mut c = Self::default();
        for (i, s) in meeting.sentences.iter().enumerate() {
            let id = s.source.id.as_str();
            if strict && meeting.borderline(id) {
                continue;
            }
            match (meeting.positive(id), marked(i)) {
                (true, true) => c.tp += 1,
                (false, true) => c.fp += 1,
                (true, false) => c.fn_ += 1,
                (false, false) => {}
            }
        }
        c
    }

    /// The sum of two counts.
    #[must_use]
    pub fn plus(self, other: Self) -> Self {
        Self {
            tp: self.tp + other.tp,
            fp: self.fp + other.fp,
            fn_: self.fn_ + other.fn_,
        }
    }

    /// `(precision, recall, F1)`; 0 where a ratio is undefined.
    pub fn prf(self) -> (f64, f64, f64) {
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let p = ratio(self.tp, self.tp + self.fp);
        let r = ratio(self.tp, self.tp + self.fn_);
        let f1 = if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        };
        (p, r, f1)
    }
}
