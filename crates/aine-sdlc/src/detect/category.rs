//! Categories: functional, or one of the PROMISE NFR classes (Cleland-Huang et al., "Automated
//! classification of non-functional requirements", RE journal 2007; tera-PROMISE NFR data set).
//!
//! Two parts, combined:
//! - a hand-written keyword **lexicon** per non-functional class ([`LEXICONS`]); `hits(c)` is
//!   the number of the class's phrases in the sentence, and a sentence with no hit at all counts
//!   one hit for functional;
//! - a multinomial **naive Bayes** over content lemmas and number tokens (Laplace smoothing,
//!   α = 1; class priors smoothed the same way), trained on labelled sentences.
//!
//! The combined score of class `c` is `log P(c) + Σ log P(w | c) + λ · hits(c)`, the class with
//! the highest score wins (ties: the order of [`Category::ALL`]). `λ` says how many nats one
//! lexicon hit is worth; [`choose_lambda`] picks it by leave-one-project-out cross-validation on
//! the training data alone. With no model the lexicon decides alone (most hits; none →
//! functional).

use std::collections::HashMap;
use std::sync::OnceLock;

use aine_spec::Category;

use super::words::{PhraseSet, content_lemmas, is_number, tokens};

/// Keyword lexicons of the non-functional classes: words and phrases typical of each class in
/// requirements writing (after the indicator terms of Cleland-Huang et al. 2007 and the
/// ISO/IEC 25010 quality characteristics).
pub const LEXICONS: &[(Category, &[&str])] = &[
    (
        Category::Security,
        &[
            "password",
            "passwords",
            "encrypt",
            "encrypted",
            "encryption",
            "authorized",
            "authorised",
            "unauthorized",
            "unauthorised",
            "authenticate",
            "authenticated",
            "authentication",
            "login",
            "log in",
            "logon",
            "log on",
            "access",
            "permission",
            "permissions",
            "privilege",
            "privileges",
            "secure",
            "security",
            "attack",
            "attacks",
            "virus",
            "firewall",
            "credentials",
            "confidential",
            "ssl",
            "https",
            "tamper",
            "hacker",
            "hackers",
            "malicious",
            "privacy",
            "restricted",
        ],
    ),
    (
        Category::Performance,
        &[
            "seconds",
            "second",
            "millisecond",
            "milliseconds",
            "ms",
            "response time",
            "respond",
            "responds",
            "fast",
            "faster",
            "quickly",
            "quick",
            "latency",
            "throughput",
            "per second",
            "performance",
            "speed",
            "load time",
            "refresh",
            "real time",
            "delay",
            "minutes",
        ],
    ),
    (
        Category::LookAndFeel,
        &[
            "colour",
            "color",
            "colours",
            "colors",
            "look",
            "looks",
            "logo",
            "appearance",
            "font",
            "fonts",
            "style",
            "theme",
            "attractive",
            "aesthetic",
            "aesthetically",
            "branding",
            "icon",
            "icons",
            "layout",
            "visual",
            "visually",
            "graphics",
            "professional",
            "appealing",
            "shape",
            "fancy",
            "design",
            "stylish",
            "sleek",
        ],
    ),
    (
        Category::Usability,
        &[
            "easy",
            "easily",
            "intuitive",
            "learn",
            "learning",
            "training",
            "user friendly",
            "user-friendly",
            "understand",
            "understandable",
            "novice",
            "help",
            "accessible",
            "accessibility",
            "navigate",
            "navigation",
            "clicks",
            "satisfaction",
            "readable",
            "ease of use",
            "simple",
            "convenient",
            "comfortable",
            "usable",
            "usability",
        ],
    ),
    (
        Category::Operational,
        &[
            "operate",
            "operating",
            "environment",
            "browser",
            "browsers",
            "windows",
            "server",
            "database",
            "interface with",
            "integrate",
            "integrated",
            "installed",
            "install",
            "hardware",
            "network",
            "existing",
            "deploy",
            "deployed",
            "administer",
            "administrator",
            "run on",
            "internet",
            "backup",
            "batteries",
            "battery",
            "power",
        ],
    ),
    (
        Category::Scalability,
        &[
            "scale",
            "scalable",
            "scalability",
            "concurrent",
            "simultaneous",
            "simultaneously",
            "growth",
            "grow",
            // Not "increase" or "volume" alone: "increase the volume" is a remote control's
            // sound, not load.
            "increase to",
            "capacity",
            "volume of",
            "volumes of",
            "expand",
            "expansion",
            "number of users",
            "handle up to",
            "per year",
        ],
    ),
    (
        Category::Availability,
        &[
            "available",
            "availability",
            "24/7",
            "24 hours",
            "uptime",
            "downtime",
            "hours a day",
            "days a week",
            "outage",
            "outages",
            "business hours",
            "99",
            "365",
            "unavailable",
        ],
    ),
    (
        Category::Maintainability,
        &[
            "maintain",
            "maintainable",
            "maintainability",
            "maintenance",
            "modify",
            "modified",
            "modification",
            "modular",
            "upgrade",
            "upgrades",
            "extend",
            "extensible",
            "configurable",
            "documented",
            "source code",
            "developer",
            "developers",
            "patch",
            "updates",
            "changes",
        ],
    ),
    (
        Category::Legal,
        &[
            "law",
            "laws",
            "legal",
            "regulation",
            "regulations",
            "regulatory",
            "comply",
            "compliance",
            "compliant",
            "policy",
            "policies",
            "act",
            "hipaa",
            "sarbanes",
            "license",
            "licence",
            "licensing",
            "copyright",
            "guidelines",
            "statute",
            "liability",
            "terms",
            "certified",
            "standards",
        ],
    ),
    (
        Category::FaultTolerance,
        &[
            "failure",
            "failures",
            "fail",
            "fails",
            "crash",
            "crashes",
            "recover",
            "recovery",
            "fault",
            "faults",
            "redundant",
            "redundancy",
            "restart",
            "lost",
            "data loss",
            "continue to operate",
            "continue operating",
            "degrade",
            "robust",
            "error recovery",
            "durable",
            "waterproof",
            "drop",
            "dropped",
        ],
    ),
    (
        Category::Portability,
        &[
            "portable",
            "portability",
            "port",
            "ported",
            "platforms",
            "operating systems",
            "cross-platform",
            "cross platform",
            "migrate",
            "migration",
            "mobile",
            "devices",
            "palm",
            "linux",
            "mac",
        ],
    ),
];

fn lexicon_set() -> &'static PhraseSet<usize> {
    static SET: OnceLock<PhraseSet<usize>> = OnceLock::new();
    SET.get_or_init(|| {
        PhraseSet::new(
            LEXICONS
                .iter()
                .flat_map(|(category, phrases)| {
                    let idx = class_index(*category);
                    phrases.iter().map(move |p| (*p, idx))
                })
                .collect::<Vec<_>>(),
        )
    })
}

fn class_index(category: Category) -> usize {
    Category::ALL
        .iter()
        .position(|c| *c == category)
        .unwrap_or(0)
}

/// Lexicon hits per class, indexed as [`Category::ALL`]; when no non-functional phrase matches,
/// the lexicon votes functional (one hit for `Functional`).
pub fn lexicon_hits(text: &str) -> [u32; 12] {
    let mut hits = [0; 12];
    for (_, _, class) in lexicon_set().matches(&tokens(text)) {
        hits[class] += 1;
    }
    if hits.iter().all(|h| *h == 0) {
        hits[0] = 1;
    }
    hits
}

/// The lexicon's category alone: the class with most hits; none → functional.
pub fn lexicon_category(text: &str) -> Category {
    let hits = lexicon_hits(text);
    argmax(&hits.map(f64::from), 0.0)
}

fn argmax(scores: &[f64; 12], floor: f64) -> Category {
    let mut best = (Category::Functional, floor);
    for (i, &s) in scores.iter().enumerate() {
        if s > best.1 {
            best = (Category::ALL[i], s);
        }
    }
    best.0
}

/// Naive Bayes features: content lemmas, plus `<num>` for each number.
fn features(text: &str) -> Vec<String> {
    let mut out = content_lemmas(text);
    out.extend(
        tokens(text)
            .iter()
            .filter(|w| is_number(w) && w.starts_with(|c: char| c.is_ascii_digit()))
            .map(|_| "<num>".to_owned()),
    );
    out
}

/// A multinomial naive Bayes classifier over the 12 categories.
#[derive(Debug, Clone, Default)]
pub struct NaiveBayes {
    docs: [u32; 12],
    totals: [u64; 12],
    counts: HashMap<String, [u32; 12]>,
}

impl NaiveBayes {
    /// Trains on `(text, category)` examples.
    pub fn train<'a>(examples: impl IntoIterator<Item = (&'a str, Category)>) -> Self {
        let mut nb = Self::default();
        for (text, category) in examples {
            let c = class_index(category);
            nb.docs[c] += 1;
            for f in features(text) {
                nb.counts.entry(f).or_insert([0; 12])[c] += 1;
                nb.totals[c] += 1;
            }
        }
        nb
    }

    /// Log scores `log P(c) + Σ log P(w | c)` per class (as [`Category::ALL`]); words never seen
    /// in training are ignored.
    pub fn log_scores(&self, text: &str) -> [f64; 12] {
        let docs: u32 = self.docs.iter().sum();
        let vocab = self.counts.len() as f64;
        let mut scores = [0.0; 12];
        for (c, score) in scores.iter_mut().enumerate() {
            *score = ((f64::from(self.docs[c]) + 1.0) / (f64::from(docs) + 12.0)).ln();
        }
        for f in features(text) {
            let Some(counts) = self.counts.get(&f) else {
                continue;
            };
            for (c, score) in scores.iter_mut().enumerate() {
                *score += ((f64::from(counts[c]) + 1.0) / (self.totals[c] as f64 + vocab)).ln();
            }
        }
        scores
    }
}

/// The combined classifier: naive Bayes plus `lambda` nats per lexicon hit.
#[derive(Debug, Clone)]
pub struct Classifier {
    pub nb: NaiveBayes,
    pub lambda: f64,
}

impl Classifier {
    /// The category of `text`.
    pub fn classify(&self, text: &str) -> Category {
        let mut scores = self.nb.log_scores(text);
        let hits = lexicon_hits(text);
        for (s, h) in scores.iter_mut().zip(hits) {
            *s += self.lambda * f64::from(h);
        }
        argmax(&scores, f64::NEG_INFINITY)
    }
}

/// One labelled requirement of the PROMISE NFR set.
#[derive(Debug, Clone, PartialEq)]
pub struct Labelled {
    pub project: u32,
    pub text: String,
    pub category: Category,
}

/// Parses the PROMISE NFR CSV (`ProjectID,RequirementText,class`, the text in single quotes,
/// `\%` and `\t` escaped). Returns the line number of the first malformed line on error.
pub fn parse_promise(csv: &str) -> Result<Vec<Labelled>, usize> {
    let mut out = Vec::new();
    for (i, line) in csv.lines().enumerate().skip(1) {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let (project, rest) = line.split_once(',').ok_or(i + 1)?;
        let (text, label) = rest.rsplit_once(',').ok_or(i + 1)?;
        let project = project.trim().parse().map_err(|_| i + 1)?;
        let category = Category::from_promise_label(label.trim()).ok_or(i + 1)?;
        let text = text
            .trim()
            .trim_matches('\'')
            .replace("\\%", "%")
            .replace("\\t", " ")
            .replace("\\'", "'");
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        out.push(Labelled {
            project,
            text,
            category,
        });
    }
    Ok(out)
}

/// The λ values [`choose_lambda`] tries.
pub const LAMBDA_GRID: &[f64] = &[0.0, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 1000.0];

/// Picks λ from [`LAMBDA_GRID`] by leave-one-project-out cross-validation over `data` (macro F1
/// over the classes present; ties go to the smaller λ).
pub fn choose_lambda(data: &[Labelled]) -> f64 {
    let mut projects: Vec<u32> = data.iter().map(|l| l.project).collect();
    projects.sort_unstable();
    projects.dedup();
    let models: Vec<(u32, NaiveBayes)> = projects
        .iter()
        .map(|&p| {
            let train = data.iter().filter(|l| l.project != p);
            (
                p,
                NaiveBayes::train(train.map(|l| (l.text.as_str(), l.category))),
            )
        })
        .collect();
    let mut best = (LAMBDA_GRID[0], f64::NEG_INFINITY);
    for &lambda in LAMBDA_GRID {
        let mut pairs = Vec::with_capacity(data.len());
        for (p, nb) in &models {
            let clf = Classifier {
                nb: nb.clone(),
                lambda,
            };
            for l in data.iter().filter(|l| l.project == *p) {
                pairs.push((l.category, clf.classify(&l.text)));
            }
        }
        let f1 = macro_f1(&pairs);
        if f1 > best.1 + 1e-12 {
            best = (lambda, f1);
        }
    }
    best.0
}

/// Macro F1 over the classes that occur in `pairs` as gold or prediction.
pub fn macro_f1(pairs: &[(Category, Category)]) -> f64 {
    let mut sum = 0.0;
    let mut n = 0;
    for c in Category::ALL {
        let tp = pairs.iter().filter(|(g, p)| *g == c && *p == c).count() as f64;
        let gold = pairs.iter().filter(|(g, _)| *g == c).count() as f64;
        let pred = pairs.iter().filter(|(_, p)| *p == c).count() as f64;
        if gold + pred == 0.0 {
            continue;
        }
        sum += 2.0 * tp / (gold + pred);
        n += 1;
    }
    if n == 0 { 0.0 } else { sum / f64::from(n) }
}

/// The PROMISE NFR set bundled with the crate (`data/promise-nfr/nfr.csv`, CC BY-SA 3.0).
pub const PROMISE_CSV: &str = include_str!("../../data/promise-nfr/nfr.csv");

/// λ chosen by [`choose_lambda`] on the whole bundled PROMISE set (a test keeps it in sync).
pub const DEFAULT_LAMBDA: f64 = 5.0;

/// The shipped classifier: naive Bayes trained on the bundled PROMISE set, λ =
/// [`DEFAULT_LAMBDA`]. `Err(line)` if the bundled file is malformed.
pub fn default_classifier() -> Result<&'static Classifier, usize> {
    static CLF: OnceLock<Result<Classifier, usize>> = OnceLock::new();
    CLF.get_or_init(|| {
        let data = parse_promise(PROMISE_CSV)?;
        Ok(Classifier {
            nb: NaiveBayes::train(data.iter().map(|l| (l.text.as_str(), l.category))),
            lambda: DEFAULT_LAMBDA,
        })
    })
    .as_ref()
    .map_err(|line| *line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_promise_parses_and_default_lambda_is_the_chosen_one() {
        let data = parse_promise(PROMISE_CSV).unwrap();
        assert_eq!(data.len(), 625);
        assert_eq!(choose_lambda(&data), DEFAULT_LAMBDA);
    }

    #[test]
    fn lexicon_alone() {
        assert_eq!(
            lexicon_category("Only authorized users shall log in with a password"),
            Category::Security
        );
        assert_eq!(
            lexicon_category("The system shall list all orders"),
            Category::Functional
        );
    }
}
