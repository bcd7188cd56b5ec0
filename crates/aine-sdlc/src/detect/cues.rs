//! Requirement cues and the confidence score.
//!
//! Three kinds of cue, each a phrase with a weight in `(0, 1)`:
//! - **modal** (obligation or capability): `shall` 0.90, `must` 0.85, `will need to` 0.75,
//!   `has to`/`need to` 0.70, `should` 0.65, `mandatory`/`required` 0.60–0.70, `will` 0.35,
//!   `able to`/`allow`/`enable` 0.40, negatives (`cannot`, `must not`, `should not`) 0.40–0.85;
//!   the modal verbs of ISO/IEC/IEEE 29148:2018 §5.2.4 (`shall` binding, `should` a goal, `will`
//!   a statement of fact or intent) weighted in that order;
//! - **desire** (a stakeholder wish): `would like`/`'d like` 0.60, `want` 0.55, `need` (noun)
//!   0.50, `prefer` 0.50, `would be nice`/`it'd be nice`/`nice to have` 0.50, `let's have` 0.45,
//!   `ideally` 0.40, `important`/`essential` 0.40–0.50;
//! - **decision** (what a meeting settled, for or against): `decided` 0.55, `agreed`, `get rid
//!   of`, `no need for` 0.50, `go with`/`go for`/`going for`, `skip the`, `drop the` 0.45,
//!   `instead of`, `we said` 0.40, `take away`, `goes away`, `stick to`/`stick with` 0.45, `not
//!   gonna have` 0.50, `we're gonna have`, `we'll have`, `we could have`, `rather than` 0.40
//!   (meetings decide more than they say `shall`; AMI ES2002's decisions read "I think we're
//!   gonna have to skip the rubber", "decided on our target group being fifteen to thirty
//!   five", "and the advanced chip goes away as well");
//! - **proposal** (`desire:proposal`, 0.45): a question that proposes something (`should we`,
//!   `could it`, `what about`, `is it worth`, … at its start: "or should we just consider running
//!   on regular batteries?"); such a question is scored, not ruled out, unless it is about the
//!   meeting.
//! - **constraint** (a bound): `at most`, `at least`, `no more than`, `less than`, `up to`,
//!   `within`, `under` (before a number), `only`, `limit`, `maximum`, `budget`, `price`, `cost`
//!   0.30 each; a number followed
//!   by a unit or a currency (`25 euros`, `€ 12.50`, `2 seconds`, `99 %`) 0.35.
//!
//! A sentence whose subject is the system (`the system`, `the product`, `the application`, `it`,
//! `the remote`, … at the start) gets a `subject:system` cue of 0.20 when a modal cue fired.
//!
//! **Confidence** is the noisy-OR of the weights of the distinct cues that fired,
//! `1 − Π(1 − wᵢ)`, times 0.5 when the sentence is about the meeting itself (`meeting`,
//! `minutes`, `agenda`, `presentation`, `slides`, `email`, `report`, `decision`, …) — such
//! sentences assign work to participants rather than state what the product needs (`hurry`,
//! `wrap` up, `redraw`, `write` it down count too). A modal cue within three words after `I`
//! (`I have to`, `I'm gonna have to`, `I'll need to`) counts half its weight, for the same
//! reason. Questions (a final `?`, or an auxiliary-pronoun opening such as `should we`, `do
//! you`), sentences with fewer than three non-filler words, and sentences broken off right
//! after their last cue (`Right I'm gonna have to`) score 0.

use std::sync::OnceLock;

use super::words::{PhraseSet, is_number, tokens};

/// What a cue signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CueKind {
    Modal,
    Desire,
    Constraint,
    /// A decision the meeting took, for or against something (`we decided`, `go with`, `get
    /// rid of`, `skip the`).
    Decision,
}

impl CueKind {
    fn prefix(self) -> &'static str {
        match self {
            CueKind::Modal => "modal",
            CueKind::Desire => "desire",
            CueKind::Constraint => "constraint",
            CueKind::Decision => "decision",
        }
    }
}

/// `(phrase, kind, weight)`.
const CUES: &[(&str, CueKind, f64)] = &[
    ("shall", CueKind::Modal, 0.90),
    ("must", CueKind::Modal, 0.85),
    ("will need to", CueKind::Modal, 0.75),
    ("has to", CueKind::Modal, 0.70),
    ("have to", CueKind::Modal, 0.70),
    ("need to", CueKind::Modal, 0.70),
    ("needs to", CueKind::Modal, 0.70),
    ("should", CueKind::Modal, 0.65),
    ("ought to", CueKind::Modal, 0.60),
    ("mandatory", CueKind::Modal, 0.70),
    ("required", CueKind::Modal, 0.60),
    ("requires", CueKind::Modal, 0.60),
    ("is to be", CueKind::Modal, 0.50),
    ("are to be", CueKind::Modal, 0.50),
    ("will", CueKind::Modal, 0.35),
    ("able to", CueKind::Modal, 0.40),
    ("allow", CueKind::Modal, 0.40),
    ("allows", CueKind::Modal, 0.40),
    ("enable", CueKind::Modal, 0.40),
    ("enables", CueKind::Modal, 0.40),
    ("cannot", CueKind::Modal, 0.40),
    ("can't", CueKind::Modal, 0.40),
    ("can not", CueKind::Modal, 0.40),
    ("must not", CueKind::Modal, 0.85),
    ("mustn't", CueKind::Modal, 0.85),
    ("should not", CueKind::Modal, 0.65),
    ("shouldn't", CueKind::Modal, 0.65),
    ("shall not", CueKind::Modal, 0.90),
    ("would like", CueKind::Desire, 0.60),
    ("i'd like", CueKind::Desire, 0.60),
    ("we'd like", CueKind::Desire, 0.60),
    ("they'd like", CueKind::Desire, 0.60),
    ("want", CueKind::Desire, 0.55),
    ("wants", CueKind::Desire, 0.55),
    ("need", CueKind::Desire, 0.50),
    ("needs", CueKind::Desire, 0.50),
    ("prefer", CueKind::Desire, 0.50),
    ("would prefer", CueKind::Desire, 0.55),
    ("would be nice", CueKind::Desire, 0.50),
    ("it'd be nice", CueKind::Desire, 0.50),
    ("would be good", CueKind::Desire, 0.45),
    ("would be great", CueKind::Desire, 0.45),
    ("nice to have", CueKind::Desire, 0.50),
    ("let's have", CueKind::Desire, 0.45),
    ("let's make", CueKind::Desire, 0.45),
    ("let's go with", CueKind::Desire, 0.45),
    ("wish", CueKind::Desire, 0.45),
    ("ideally", CueKind::Desire, 0.40),
    ("important", CueKind::Desire, 0.40),
    ("essential", CueKind::Desire, 0.50),
    ("decided", CueKind::Decision, 0.55),
    ("agreed", CueKind::Decision, 0.50),
    ("go with", CueKind::Decision, 0.45),
    ("go for", CueKind::Decision, 0.45),
    ("going for", CueKind::Decision, 0.45),
    ("get rid of", CueKind::Decision, 0.50),
    ("no need for", CueKind::Decision, 0.50),
    ("skip the", CueKind::Decision, 0.45),
    ("drop the", CueKind::Decision, 0.45),
    ("instead of", CueKind::Decision, 0.40),
    ("we said", CueKind::Decision, 0.40),
    ("take away", CueKind::Decision, 0.45),
    ("goes away", CueKind::Decision, 0.45),
    ("stick to", CueKind::Decision, 0.45),
    ("stick with", CueKind::Decision, 0.45),
    ("not gonna have", CueKind::Decision, 0.50),
    ("we're gonna have", CueKind::Decision, 0.40),
    ("we'll have", CueKind::Decision, 0.40),
    ("we could have", CueKind::Decision, 0.40),
    ("rather than", CueKind::Decision, 0.40),
    ("at most", CueKind::Constraint, 0.30),
    ("at least", CueKind::Constraint, 0.30),
    ("no more than", CueKind::Constraint, 0.30),
    ("not more than", CueKind::Constraint, 0.30),
    ("no less than", CueKind::Constraint, 0.30),
    ("less than", CueKind::Constraint, 0.30),
    ("more than", CueKind::Constraint, 0.30),
    ("up to", CueKind::Constraint, 0.30),
    ("within", CueKind::Constraint, 0.30),
    ("under", CueKind::Constraint, 0.30),
    ("only", CueKind::Constraint, 0.30),
    ("limit", CueKind::Constraint, 0.30),
    ("limited", CueKind::Constraint, 0.30),
    ("maximum", CueKind::Constraint, 0.30),
    ("minimum", CueKind::Constraint, 0.30),
    ("budget", CueKind::Constraint, 0.30),
    ("price", CueKind::Constraint, 0.30),
    ("cost", CueKind::Constraint, 0.30),
    ("costs", CueKind::Constraint, 0.30),
];

/// Units and currencies that make a number a constraint.
const UNITS: &[&str] = &[
    "%",
    "percent",
    "€",
    "$",
    "£",
    "euro",
    "euros",
    "dollar",
    "dollars",
    "cent",
    "cents",
    "pound",
    "pounds",
    "ms",
    "millisecond",
    "milliseconds",
    "second",
    "seconds",
    "sec",
    "secs",
    "minute",
    "minutes",
    "min",
    "hour",
    "hours",
    "day",
    "days",
    "week",
    "weeks",
    "month",
    "months",
    "year",
    "years",
    "kb",
    "mb",
    "gb",
    "tb",
    "users",
    "user",
    "requests",
    "transactions",
    "times",
    "cm",
    "mm",
    "m",
    "km",
    "kg",
    "g",
    "grams",
    "inch",
    "inches",
    "metres",
    "meters",
];

/// Words that make a sentence about the meeting rather than the product.
const PROCESS_WORDS: &[&str] = &[
    "meeting",
    "meetings",
    "minutes",
    "agenda",
    "presentation",
    "presentations",
    "slide",
    "slides",
    "email",
    "e-mail",
    "powerpoint",
    "whiteboard",
    "homework",
    "report",
    "decision",
    "decisions",
    "decide",
    "record",
    "discuss",
    "discussion",
    // The meeting's own business: "I'm really gonna have to hurry you on here", "we'll have to
    // wrap up", "I'm just gonna have to redraw this", "so I can write it down".
    "hurry",
    "wrap",
    "redraw",
    "write",
    "notes",
    "questionnaire",
];

/// Words that, within the three words before a modal, make it the speaker's own task ("I'm
/// gonna have to think on the spot now"), not what the product needs.
const FIRST_PERSON: &[&str] = &["i", "i'll", "i'm", "i've", "i'd", "lemme", "me"];

/// Openings of the system as grammatical subject.
const SYSTEM_SUBJECTS: &[&str] = &[
    "system",
    "product",
    "application",
    "app",
    "software",
    "website",
    "site",
    "tool",
    "service",
    "platform",
    "device",
    "remote",
    "interface",
    "program",
    "it",
];

const AUXILIARIES: &[&str] = &[
    "am", "are", "can", "could", "did", "do", "does", "is", "may", "shall", "should", "was",
    "were", "will", "would", "have", "has",
];
const PRONOUNS: &[&str] = &[
    "i", "we", "you", "it", "they", "he", "she", "that", "this", "there",
];

fn cue_set() -> &'static PhraseSet<usize> {
    static SET: OnceLock<PhraseSet<usize>> = OnceLock::new();
    SET.get_or_init(|| PhraseSet::new(CUES.iter().enumerate().map(|(i, (p, _, _))| (*p, i))))
}

/// The cues that fired in a sentence and its confidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// Cue labels such as `modal:should`, `desire:want`, `constraint:under`,
    /// `constraint:quantity`, `subject:system`, in order of appearance.
    pub cues: Vec<String>,
    /// 0.0 to 1.0 (see the module docs).
    pub confidence: f64,
    /// Why the sentence was ruled out, if it was (`question`, `too short`).
    pub excluded: Option<&'static str>,
}

/// Scores one sentence (see the module docs for the rules).
pub fn score(text: &str) -> Scored {
    let words = tokens(text);
    let content = words
        .iter()
        .filter(|w| !crate::ingest::is_filler(w))
        .count();
    let about_meeting = words.iter().any(|w| PROCESS_WORDS.contains(&w.as_str()));
    // "Should we have a meeting tomorrow?" proposes something about the meeting, not the product.
    let proposal = proposal(&words).filter(|_| !about_meeting);
    let excluded = if is_question(text, &words) && proposal.is_none() {
        Some("question")
    } else if content < 3 {
        Some("too short")
    } else {
        None
    };
    let mut fired: Vec<(usize, String, f64)> = Vec::new();
    let mut covered = vec![false; words.len()];
    // Where the last modal or desire cue ends (a constraint word such as `price` may end a
    // complete sentence).
    let mut last_need_end: Option<usize> = None;
    let mut matches = cue_set().matches(&words);
    // Longer phrases first, so `must not` wins over `must` and `will need to` over `need to`.
    matches.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    for (at, len, cue) in matches {
        if covered[at..at + len].iter().any(|c| *c) {
            continue;
        }
        covered[at..at + len].iter_mut().for_each(|c| *c = true);
        let (phrase, kind, weight) = CUES[cue];
        if phrase == "will"
            && words.get(at + 1).is_some_and(|w| w == "be")
            && !system_subject(&words)
        {
            // "it will be fun": future tense, not a commitment, unless the system is the subject.
            continue;
        }
        if phrase.starts_with("let's")
            && words
                .get(at + 2..(at + 4).min(words.len()))
                .is_some_and(|next| next.iter().any(|w| w == "look"))
        {
            // "let's have a look": the meeting moving on, not a wish.
            continue;
        }
        if phrase == "under"
            && !words
                .get(at + 1)
                .is_some_and(|w| is_number(w) || w == "€" || w == "$" || w == "£")
        {
            // "under" bounds only a quantity ("under 25 euros"), not a place.
            continue;
        }
        // "I have to record who's here", "I'm gonna have to think on the spot now": the
        // speaker's own task, not what the product needs.
        let own_task = kind == CueKind::Modal
            && words[at.saturating_sub(3)..at]
                .iter()
                .any(|w| FIRST_PERSON.contains(&w.as_str()));
        let weight = if own_task { weight * 0.5 } else { weight };
        if kind != CueKind::Constraint {
            last_need_end = last_need_end.max(Some(at + len));
        }
        fired.push((at, format!("{}:{phrase}", kind.prefix()), weight));
    }
    if let Some(at) = proposal {
        fired.push((at, "desire:proposal".to_owned(), 0.45));
        last_need_end = last_need_end.max(Some(at + 2));
    }
    for (i, w) in words.iter().enumerate() {
        let unit_follows = words
            .get(i + 1..(i + 3).min(words.len()))
            .is_some_and(|next| next.iter().any(|n| UNITS.contains(&n.as_str())));
        let currency_before = i > 0 && matches!(words[i - 1].as_str(), "€" | "$" | "£");
        if is_number(w) && (unit_follows || currency_before) {
            fired.push((i, "constraint:quantity".to_owned(), 0.35));
            break;
        }
    }
    if fired
        .iter()
        .any(|(_, label, _)| label.starts_with("modal:"))
        && system_subject(&words)
    {
        fired.push((usize::MAX, "subject:system".to_owned(), 0.20));
    }
    fired.sort_by_key(|(at, _, _)| *at);
    let mut cues: Vec<String> = Vec::new();
    let mut miss = 1.0;
    for (_, label, weight) in fired {
        if !cues.contains(&label) {
            miss *= 1.0 - weight;
            cues.push(label);
        }
    }
    let mut confidence = 1.0 - miss;
    if about_meeting {
        confidence *= 0.5;
    }
    // "Right I'm gonna have to", "Someone is gonna have to": broken off after the modal.
    let unfinished = last_need_end.is_some_and(|end| {
        words
            .get(end..)
            .is_none_or(|rest| rest.iter().all(|w| crate::ingest::is_filler(w)))
    });
    let excluded = excluded.or(unfinished.then_some("unfinished"));
    if excluded.is_some() {
        confidence = 0.0;
    }
    Scored {
        cues,
        confidence: (confidence * 1000.0).round() / 1000.0,
        excluded,
    }
}

fn system_subject(words: &[String]) -> bool {
    let rest = match words.first().map(String::as_str) {
        Some("the" | "this" | "our" | "a" | "an" | "each" | "every") => &words[1..],
        _ => words,
    };
    rest.first()
        .is_some_and(|w| SYSTEM_SUBJECTS.contains(&crate::detect::words::lemma(w).as_str()))
}

/// Openings that make a question a proposal about the product ("should we consider running on
/// regular batteries?", "could it be an on off thing?", "what about button shape?").
const PROPOSALS: &[&[&str]] = &[
    &["should", "we"],
    &["shall", "we"],
    &["could", "we"],
    &["can", "we"],
    &["could", "it"],
    &["can", "it"],
    &["should", "it"],
    &["do", "we", "want"],
    &["what", "about"],
    &["how", "about"],
    &["is", "it", "worth"],
];

/// Where a proposal opening ([`PROPOSALS`]) starts, once fillers and discourse words (`um`,
/// `so`, `okay`) are skipped.
fn proposal(words: &[String]) -> Option<usize> {
    let at = words.iter().position(|w| {
        !crate::ingest::is_filler(w)
            && !matches!(
                w.as_str(),
                "so" | "okay" | "ok" | "right" | "well" | "and" | "but" | "then" | "or"
            )
    })?;
    PROPOSALS
        .iter()
        .any(|p| {
            words
                .get(at..at + p.len())
                .is_some_and(|ws| ws.iter().zip(p.iter()).all(|(w, p)| w == p))
        })
        .then_some(at)
}

/// A question: a final `?`, `wondering` or `I wonder`, or an auxiliary-pronoun opening (`do you`, `should we`) once the
/// fillers and discourse words a speaker opens with (`um, uh do you think ...`, `so should
/// we ...`) and transcript markers (`{disfmarker}`) are skipped.
fn is_question(text: &str, words: &[String]) -> bool {
    if text.trim_end().ends_with('?') {
        return true;
    }
    // A speaker who wonders asks: "Um so I'm wondering right away, is selling twenty five
    // Euros, is that sort of the thi is this gonna to be like the premium product kinda thing
    // or" (AMI ES2002a).
    if words.iter().any(|w| w == "wondering")
        || words.windows(2).any(|p| p[0] == "i" && p[1] == "wonder")
    {
        return true;
    }
    let opening = words
        .iter()
        .position(|w| {
            !crate::ingest::is_filler(w)
                && !matches!(w.as_str(), "disfmarker" | "vocalsound" | "gap")
        })
        .unwrap_or(words.len());
    let words = &words[opening..];
    matches!(
        (words.first(), words.get(1)),
        (Some(aux), Some(pronoun))
            if AUXILIARIES.contains(&aux.as_str()) && PRONOUNS.contains(&pronoun.as_str())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sentence_broken_off_after_its_modal_is_not_a_candidate() {
        for text in ["Right I'm gonna have to", "Someone is gonna have to"] {
            assert_eq!(score(text).excluded, Some("unfinished"), "{text}");
        }
        // A constraint word may end a whole sentence (AMI ES2002a#98).
        let whole = score(
            "And uh we don't want it to cost any more than uh twelve fifty Euros, so fifty percent of the selling price.",
        );
        assert_eq!(whole.excluded, None);
        assert!(whole.confidence >= 0.4, "{whole:?}");
    }

    #[test]
    fn a_question_that_proposes_is_scored_one_that_asks_is_not() {
        let proposes = score("Or should we just consider running on regular batteries?");
        assert_eq!(proposes.excluded, None, "{proposes:?}");
        assert!(proposes.cues.contains(&"desire:proposal".to_owned()));
        assert!(proposes.confidence >= 0.4, "{proposes:?}");
        for asks in [
            "What do you think about the colour?",
            "Should we have a meeting tomorrow?",
        ] {
            assert_eq!(score(asks).excluded, Some("question"), "{asks}");
        }
    }

    #[test]
    fn decisions_against_something_are_cues() {
        let dropped = score("And the advanced chip goes away as well.");
        assert!(dropped.cues.contains(&"decision:goes away".to_owned()));
        assert!(dropped.confidence >= 0.4, "{dropped:?}");
    }

    #[test]
    fn the_speakers_own_task_counts_half() {
        let own = score("I'm gonna have to think on the spot now.");
        let product = score("The remote is gonna have to work on the spot now.");
        assert!(own.confidence < product.confidence, "{own:?} {product:?}");
    }
}
