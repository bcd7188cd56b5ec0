//! The polarity rule of `requirements.citations`: an item keeps the polarity of the sentences
//! it cites. A prohibition needs a negation before a word it shares with them; a positive item
//! needs a shared word that they state, neither negated nor only supposed in a condition. See
//! the parent module's docs for the cases from the AMI meetings that each rule catches.

use std::collections::{HashMap, HashSet};

use super::{CitationsInput, Cited};

/// Whether a requirement's text prohibits or negates: it holds a negation cue ([`NEGATIONS`],
/// a `n't` contraction), e.g. "shall not", "no more than", "without".
pub fn is_negative(text: &str) -> bool {
    text.split_whitespace().any(negates)
}

/// Words that negate what follows them within a few words: particles, negative pronouns, and
/// verbs of rejection as stakeholders use them ("skip the rubber", "drop the LCD").
pub const NEGATIONS: &[&str] = &[
    "not", "no", "never", "nobody", "nothing", "none", "neither", "nor", "without", "cannot",
    "skip", "avoid", "drop", "remove", "rid", "instead",
];

/// How many words before a shared word a negation cue still negates it.
pub const NEGATION_WINDOW: usize = 6;

/// Whether `word` (lower case) is a negation cue: one of [`NEGATIONS`] or a `n't` contraction.
fn negates(word: &str) -> bool {
    let w = word.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'' && c != '’');
    w.ends_with("n't") || w.ends_with("n’t") || NEGATIONS.contains(&w)
}

/// Two-word cues that set what follows against something else, so reject it like a negation:
/// "something other than just standard" (AMI ES2002a), "button shape might be a good idea to
/// change, rather than positioning", "stay away from just the big protruding rubber buttons"
/// (ES2002d, ES2002c). "more than" and "apart from" are no such cue.
pub const CONTRASTS: &[[&str; 2]] = &[["other", "than"], ["rather", "than"], ["away", "from"]];

/// Whether position `j` of `words` (lower case) is a negation cue: [`negates`], or the second
/// word of one of [`CONTRASTS`].
fn negates_at(words: &[String], j: usize) -> bool {
    let bare = |w: &str| w.trim_matches(|c: char| !c.is_alphanumeric()).to_owned();
    negates(&words[j])
        || (j > 0
            && !words[j - 1].ends_with(CLAUSE_END)
            && CONTRASTS
                .iter()
                .any(|[a, b]| bare(&words[j - 1]) == *a && bare(&words[j]) == *b))
}

/// What ends a clause for the clause-bounded negation rules.
pub(super) const CLAUSE_END: [char; 5] = [',', '.', ';', '?', '!'];

/// Whether "take away" (`takes`, `taking`, `took`, `taken`) comes before position `i` of
/// `words` in the same clause (no `,` `.` `;` `?` `!` in between) and at most
/// [`TAKE_AWAY_WINDOW`] words back: what is taken away is rejected, the whole coordinated
/// object ("you could take away the LCD panel and the advanced chip together"). `away` alone is
/// no negation ("right away").
fn taken_away_before(words: &[String], i: usize) -> bool {
    let lo = i.saturating_sub(TAKE_AWAY_WINDOW).max(1);
    (lo..i).any(|j| {
        words[j].trim_end_matches(CLAUSE_END) == "away"
            && matches!(
                words[j - 1].as_str(),
                "take" | "takes" | "taking" | "took" | "taken"
            )
            && !words[j..i].iter().any(|w| w.ends_with(CLAUSE_END))
    })
}

/// How many words before a word "take away" still rejects it (within one clause).
pub const TAKE_AWAY_WINDOW: usize = 12;

/// Verbs with which speakers dismiss what they just named: "the power are things that you
/// won't have to care about", "teletext, so we don't really need to consider that".
pub const DISMISSALS: &[&str] = &["bother", "care", "consider", "matter", "worry"];

/// Whether a negation cue, then within three words one of [`DISMISSALS`], follows within
/// [`NEGATION_WINDOW`] words after position `i` of `words`: the word at `i` is dismissed.
fn dismissed(words: &[String], i: usize) -> bool {
    let after = words.get(i + 1..).unwrap_or_default();
    let window = after.get(..NEGATION_WINDOW + 2).unwrap_or(after);
    window.iter().enumerate().any(|(j, w)| {
        negates(w)
            && window
                .get(j + 1..(j + 4).min(window.len()))
                .unwrap_or_default()
                .iter()
                .any(|v| DISMISSALS.contains(&v.trim_matches(|c: char| !c.is_alphanumeric())))
    })
}

/// Phrases with which speakers write off what their clause names as out of date: "the
/// company's decided that teletext is outdated", "Mac iPod is sort of last year's because it's
/// very hard and sort of glassy and glossy" (AMI ES2002b, ES2002c).
pub const DISPARAGING: &[&str] = &[
    "outdated",
    "out of date",
    "out-of-date",
    "old-fashioned",
    "obsolete",
    "last year's",
];

/// For each word of `words`, whether its clause (bounded by [`CLAUSE_END`]) holds one of
/// [`DISPARAGING`]: every word of such a clause is written off. One pass over the words.
fn disparaged(words: &[String]) -> Vec<bool> {
    let mut out = vec![false; words.len()];
    let mut start = 0;
    for end in 0..words.len() {
        if !(words[end].ends_with(CLAUSE_END) || end + 1 == words.len()) {
            continue;
        }
        let clause: Vec<String> = words[start..=end]
            .iter()
            .map(|w| {
                w.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'' && c != '’' && c != '-')
                    .replace('’', "'")
            })
            .collect();
        let clause = format!(" {} ", clause.join(" "));
        let written_off = DISPARAGING
            .iter()
            .any(|p| clause.contains(&format!(" {p} ")));
        out[start..=end].fill(written_off);
        start = end + 1;
    }
    out
}

/// Words that open a condition: what follows them is supposed, not stated.
pub const CONDITIONS: &[&str] = &["if", "unless"];

/// Words that end a condition before a clause end does: the main clause's modal or `then`
/// ("if the corporate colour scheme allows it we should have a very bright colour").
const CONDITION_ENDS: &[&str] = &[
    "then", "should", "shall", "must", "will", "would", "could", "can", "might", "may", "we'll",
    "you'll", "it'll", "i'll",
];

/// How many words after `if` or `unless` a condition runs at most (speech seldom marks its end).
pub const CONDITION_WINDOW: usize = 8;

/// For each word of `words`, whether it stands in a condition: after one of [`CONDITIONS`],
/// up to [`CONDITION_WINDOW`] words, a clause end ([`CLAUSE_END`]) or one of
/// [`CONDITION_ENDS`]. "If you have a Telewest box you've got like, you don't have to buy all
/// the channels" supposes the box; it asks nothing of the product (AMI ES2002c).
fn supposed(words: &[String]) -> Vec<bool> {
    let bare = |w: &str| {
        w.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'')
            .to_owned()
    };
    let mut out = vec![false; words.len()];
    for (i, word) in words.iter().enumerate() {
        if !CONDITIONS.contains(&bare(word).as_str()) || word.ends_with(CLAUSE_END) {
            continue;
        }
        for j in i + 1..words.len().min(i + 1 + CONDITION_WINDOW) {
            if CONDITION_ENDS.contains(&bare(&words[j]).as_str()) {
                break;
            }
            out[j] = true;
            if words[j].ends_with(CLAUSE_END) {
                break;
            }
        }
    }
    out
}

/// How a cited sentence holds one content word (stem) of an item.
#[derive(Debug, Clone, Copy, Default)]
struct Held {
    /// Some occurrence is negated (see [`held_words`]).
    negated: bool,
    /// Some occurrence is stated: neither negated nor in a condition ([`supposed`]).
    stated: bool,
}

/// Words that give a reason.
const BECAUSE: &[&str] = &["because", "'cause", "cause", "cos", "'cos"];

/// Words with which a reason points back at what was just named ("'cause that'd just be so
/// standard").
const BACK_REFERENCES: &[&str] = &[
    "it", "it's", "it'd", "it'll", "that", "that's", "that'd", "they", "they're", "they'd",
    "those", "this",
];

/// How many words before `because` a negated word still makes the reason a reason against.
pub const REASON_WINDOW: usize = 12;

/// Marks as negated the words of a reason against what was just rejected: `because` (or
/// `'cause`) followed by a word pointing back ([`BACK_REFERENCES`]), after a negated word
/// within [`REASON_WINDOW`] words of the same sentence, up to the clause's end. "stay away from
/// just the big protruding rubber buttons, 'cause that'd just be so standard." rejects
/// "standard" too (AMI ES2002c). A reason that names something else ("we don't need an LCD
/// 'cause the jog dial shows it") is left alone.
fn reasons_against(words: &[String], negated: &mut [bool]) {
    let bare = |w: &str| {
        w.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'')
            .replace('’', "'")
    };
    for k in 1..words.len() {
        let points_back = words
            .get(k + 1)
            .is_some_and(|w| BACK_REFERENCES.contains(&bare(w).as_str()));
        if !BECAUSE.contains(&bare(&words[k]).as_str()) || !points_back {
            continue;
        }
        let lo = k.saturating_sub(REASON_WINDOW);
        let against = (lo..k)
            .rev()
            .take_while(|&j| !words[j].ends_with(['.', '?', '!']))
            .any(|j| negated[j]);
        if against {
            for j in k + 1..words.len() {
                negated[j] = true;
                if words[j].ends_with(CLAUSE_END) {
                    break;
                }
            }
        }
    }
}

/// For each content word (stem) of `text`, how the text holds it ([`Held`]). An occurrence is
/// negated when a negation cue ([`negates_at`]) precedes it within [`NEGATION_WINDOW`] words,
/// the speaker dismisses it right after ([`dismissed`]), its clause writes it off
/// ([`disparaged`]), or it gives the reason against something rejected ([`reasons_against`]).
fn held_words(text: &str) -> HashMap<String, Held> {
    let words: Vec<String> = text.split_whitespace().map(str::to_lowercase).collect();
    let written_off = disparaged(&words);
    let condition = supposed(&words);
    let mut negated: Vec<bool> = (0..words.len())
        .map(|i| {
            (i.saturating_sub(NEGATION_WINDOW)..i).any(|j| negates_at(&words, j))
                || taken_away_before(&words, i)
                || dismissed(&words, i)
                || written_off[i]
        })
        .collect();
    reasons_against(&words, &mut negated);
    let mut out: HashMap<String, Held> = HashMap::new();
    for (i, word) in words.iter().enumerate() {
        for stem in aine_lint::content_words(word) {
            let entry = out.entry(stem).or_default();
            entry.negated |= negated[i];
            entry.stated |= !negated[i] && !condition[i];
        }
    }
    out
}

/// Items whose polarity contradicts the sentences they cite (see the module docs).
pub(super) fn polarity(input: &CitationsInput, cited: &Cited<'_>) -> Vec<String> {
    let mut errors = Vec::new();
    for r in &input.answer.requirements {
        let negative = is_negative(&r.text);
        let mine: HashSet<String> = aine_lint::content_words(&r.text)
            .into_iter()
            .filter(|w| !cited.product.contains(w))
            .collect();
        // Shared stems, each with how the cited sentence holds it.
        let shared: Vec<Held> = cited
            .texts(&r.sources)
            .flat_map(held_words)
            .filter(|(stem, _)| mine.contains(stem))
            .map(|(_, held)| held)
            .collect();
        if shared.is_empty() {
            continue; // the overlap rules report it
        }
        if negative && !shared.iter().any(|h| h.negated) {
            errors.push(format!(
                "{} is a prohibition, but its sources negate none of the words it shares with them",
                r.id
            ));
        } else if !negative && shared.iter().all(|h| h.negated) {
            errors.push(format!(
                "{} states what its sources reject: every word it shares with them is negated there",
                r.id
            ));
        } else if !negative && shared.iter().all(|h| h.negated || !h.stated) {
            errors.push(format!(
                "{} states what its sources only suppose: every word it shares with them stands in a condition (`if`, `unless`) or is negated there",
                r.id
            ));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use crate::citations::tests::{all_pass, all_refused, polarity_errors};

    #[test]
    fn a_requirement_keeps_the_polarity_of_what_it_cites() {
        // Inverted: a prohibition from a sentence that asks for the thing ...
        assert_eq!(
            polarity_errors(
                "The remote control shall not have a battery.",
                "I think whatever it is you still need a battery 'cause I don't think anybody wants to keep doing one thing."
            ),
            [
                "REQ-001 is a prohibition, but its sources negate none of the words it shares with them"
            ]
        );
        // ... and a feature from a sentence that rejects it.
        assert_eq!(
            polarity_errors(
                "The remote control shall provide teletext.",
                "Um, what else, uh So don't need to worry about teletext,"
            ),
            [
                "REQ-001 states what its sources reject: every word it shares with them is negated there"
            ]
        );
        // ... or from a sentence that dismisses it right after naming it.
        assert_eq!(
            polarity_errors(
                "The remote control shall have a power supply.",
                "and the power are things that you won't have to care about."
            ),
            [
                "REQ-001 states what its sources reject: every word it shares with them is negated there"
            ]
        );
        // ... or from a sentence that takes it away.
        assert_eq!(
            polarity_errors(
                "The remote control shall have a LCD panel and an advanced chip together.",
                "The other thing could be that um you could take away the LCD panel and the advanced chip together,"
            ),
            [
                "REQ-001 states what its sources reject: every word it shares with them is negated there"
            ]
        );
        // Kept: negative decisions and limits.
        all_pass(&[
            (
                "The remote control shall not provide teletext functions.",
                "Nobody uses teletext very much anymore, so we don't really need to consider that in the functionality of the of the remote control.",
            ),
            (
                "The remote control shall cost no more than 12.50 Euros.",
                "And uh we don't want it to cost any more than uh twelve fifty Euros, so fifty percent of the selling price.",
            ),
            (
                "The remote control shall not use rubber.",
                "I think we're gonna have to skip the rubber.",
            ),
            (
                "The remote control shall not have an advanced chip.",
                "The other thing could be that um you could take away the LCD panel and the advanced chip together,",
            ),
            (
                "The remote control shall sell for twenty-five Euros.",
                "So selling right away at twenty five Euros, that is the plan.",
            ),
            (
                "The remote control shall have a long-lasting battery.",
                "We're gonna need to put in a really good battery so people don't have to charge their r remote control every few days.",
            ),
            (
                "The remote control shall have a long-lasting battery.",
                "A good battery, so that people won't need to charge it every few days.",
            ),
        ]);
    }

    #[test]
    fn what_a_sentence_sets_against_something_else_is_rejected() {
        let rejects = "REQ-001 states what its sources reject: every word it shares with them is negated there";
        // AMI ES2002a#135, ES2002d#275: "other than", "rather than", "away from".
        all_refused(
            &[
                (
                    "The remote control shall have a standard interface.",
                    "something other than just standard.",
                ),
                (
                    "The remote control shall have a positioning.",
                    "Yeah button shape might be a good idea to change, rather than positioning,",
                ),
                (
                    "The remote control shall have protruding rubber buttons.",
                    "and I think maybe we should try and stay away from just the big protruding rubber buttons",
                ),
                // ... and the reason given against it (AMI ES2002c#496).
                (
                    "The remote control shall have a standard design.",
                    "and I think maybe we should try and stay away from just the big protruding rubber buttons, 'cause that'd just be so standard.",
                ),
            ],
            rejects,
        );
        // "more than" limits, "apart from" adds: no contrast. A reason that names something
        // else is not rejected with what it replaces.
        all_pass(&[
            (
                "The remote control shall have a jog dial.",
                "We don't need the LCD 'cause the jog dial shows the volume.",
            ),
            (
                "The remote control shall have a battery.",
                "I think whatever it is you still need a battery 'cause I don't think anybody wants to keep doing one thing.",
            ),
            (
                "The remote control shall have a button shape that can be changed.",
                "Yeah button shape might be a good idea to change, rather than positioning,",
            ),
            (
                "The remote control shall have a mute button.",
                "Um I think we include mute, but apart from that um I think we just we'll go for the simpleness.",
            ),
        ]);
    }

    #[test]
    fn what_a_sentence_only_supposes_is_no_requirement() {
        let supposes = "REQ-001 states what its sources only suppose: every word it shares with them stands in a condition (`if`, `unless`) or is negated there";
        // AMI ES2002c#443 and #135: the condition names the thing, the main clause asks
        // something else.
        all_refused(
            &[
                (
                    "The remote control shall have a Telewest box.",
                    "If you have a Telewest box you've got like, you don't have to buy all the channels,",
                ),
                (
                    "The remote control shall have voice activation.",
                    "Um if we did decide to go for voice activation there sh should always be a button as alternative, possibly hidden in the the opened up section",
                ),
            ],
            supposes,
        );
        // What the main clause asks stays, the condition ends at its modal; a word that is
        // also stated outside the condition is stated.
        all_pass(&[
            (
                "The remote control shall have a very bright colour.",
                "Um if the the corporate colour scheme allows it we should have a very bright colour so that it can be easily identified anywhere.",
            ),
            (
                "The remote control shall have a button hidden in an opened up section.",
                "Um if we did decide to go for voice activation there sh should always be a button as alternative, possibly hidden in the the opened up section",
            ),
            (
                "The remote control shall send its signal by infra-red.",
                "Then you need to send the signal out, so because if you're using infra-red, the line of sight um say the TV's at that chair,",
            ),
        ]);
    }

    #[test]
    fn what_a_clause_writes_off_as_out_of_date_is_rejected() {
        let ipod = "I'm thinking however Mac iPod is sort of last year's because it's very hard and sort of glassy and glossy, so I'm thinking if we imagine that we're taking some of the features of a Mac iPod and we're then making it s more of like a more of like a comfortable type of or more of like a maybe more vibrant to friendly thing to have.";
        assert_eq!(
            polarity_errors(
                "The remote control shall have a glassy and glossy finish.",
                ipod
            ),
            [
                "REQ-001 states what its sources reject: every word it shares with them is negated there"
            ]
        );
        // The next clause of the same sentence is not written off.
        assert!(
            polarity_errors(
                "The remote control shall have a comfortable and friendly design.",
                ipod
            )
            .is_empty()
        );
        let teletext = "The first one is that um uh the company's decided that teletext is outdated uh because of how popular the internet is.";
        assert!(
            polarity_errors("The remote control shall not provide teletext.", teletext).is_empty()
        );
        assert_eq!(
            polarity_errors("The remote control shall provide teletext.", teletext),
            [
                "REQ-001 states what its sources reject: every word it shares with them is negated there"
            ]
        );
    }
}
