//! EARS conformance (Mavin et al., "Easy Approach to Requirements Syntax", RE'09).

use aine_spec::EarsPattern;

use crate::check::{Sink, slice};
use crate::model::Item;
use crate::rule::RuleId;
use crate::text::Token;

/// Modal verbs that stand in for `shall` in weak requirements.
const WEAK_MODALS: &[&str] = &["should", "may", "will", "must"];

/// Words that open a precondition but are not EARS keywords, with the EARS keyword to use.
const NON_EARS_OPENERS: &[(&str, &str)] = &[
    ("after", "When"),
    ("upon", "When"),
    ("on", "When"),
    ("once", "When"),
    ("following", "When"),
    ("whenever", "When"),
    ("before", "When"),
    ("as", "When"),
    ("during", "While"),
    ("until", "While"),
    ("in", "While"),
    ("unless", "If …, then"),
    ("should", "If …, then"),
    ("provided", "Where"),
    ("for", "Where"),
    ("with", "Where"),
];

fn pattern_name(p: EarsPattern) -> &'static str {
    match p {
        EarsPattern::Ubiquitous => "ubiquitous",
        EarsPattern::StateDriven => "state_driven",
        EarsPattern::EventDriven => "event_driven",
        EarsPattern::OptionalFeature => "optional_feature",
        EarsPattern::UnwantedBehaviour => "unwanted_behaviour",
    }
}

/// Replaces `text[start..end]` by `shall`, keeping upper case when the word was upper case.
fn with_shall(text: &str, start: usize, end: usize) -> String {
    let word = slice(text, start, end);
    let shall = if word.len() > 1 && word.bytes().all(|b| b.is_ascii_uppercase()) {
        "SHALL"
    } else {
        "shall"
    };
    format!(
        "{}{}{}",
        slice(text, 0, start),
        shall,
        slice(text, end, text.len())
    )
}

/// The result of reading a requirement as EARS.
pub(crate) struct Ears {
    /// Token index of the first binding keyword (`shall`, or `must` where the format makes it
    /// binding).
    pub keyword: usize,
}

/// Whether the text just before byte `at` (ignoring spaces) is a clause separator.
fn after_separator(text: &str, at: usize) -> bool {
    slice(text, 0, at).trim_end().ends_with([',', ';', ':'])
}

/// Checks `ears.*` on a requirement; returns where its binding keyword is, if it has one.
pub(crate) fn check(
    sink: &mut Sink<'_>,
    index: usize,
    item: &Item,
    tokens: &[Token],
    must_binding: bool,
) -> Option<Ears> {
    let text = item.text.as_str();
    let word = |t: &Token| t.text(text);
    let binding: Vec<usize> = tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| {
            word(t).eq_ignore_ascii_case("shall")
                || (must_binding && word(t).eq_ignore_ascii_case("must"))
        })
        .map(|(i, _)| i)
        .collect();
    let Some(&first) = binding.first() else {
        let modal = tokens
            .iter()
            .find(|t| WEAK_MODALS.iter().any(|m| word(t).eq_ignore_ascii_case(m)));
        match modal {
            Some(t) => sink.emit(
                index,
                RuleId::EarsModal,
                Some((t.start, t.end)),
                format!("`{}` instead of `shall`: the obligation is not binding", word(t)),
                Some(with_shall(text, t.start, t.end)),
            ),
            None => sink.emit(
                index,
                RuleId::EarsNoShall,
                None,
                "no `shall`: the requirement states no obligation".to_owned(),
                Some("rewrite as `The <system> shall <response>.` or a conditional EARS pattern (`When <trigger>, the <system> shall <response>.`)".to_owned()),
            ),
        }
        return None;
    };
    if let Some(&second) = binding.get(1)
        && let Some(t) = tokens.get(second)
    {
        sink.emit(
            index,
            RuleId::EarsMultipleShall,
            Some((t.start, t.end)),
            format!(
                "{} `{}`s in one requirement: it states more than one obligation",
                binding.len(),
                word(t)
            ),
            Some("split it into one requirement per obligation".to_owned()),
        );
    }
    let keyword_token = tokens.get(first).copied()?;
    let preamble = tokens.get(..first).unwrap_or_default();
    if first + 1 >= tokens.len() {
        sink.emit(
            index,
            RuleId::EarsPattern,
            Some((keyword_token.start, keyword_token.end)),
            format!("no response after `{}`", word(&keyword_token)),
            Some("state what the system does: `… shall <response>.`".to_owned()),
        );
    }
    let detected = classify(sink, index, item, tokens, preamble, keyword_token);
    if let (Some(declared), Some((found, complex))) = (item.declared_pattern, detected) {
        let compatible = found == declared
            || (complex
                && matches!(
                    declared,
                    EarsPattern::StateDriven | EarsPattern::EventDriven
                ));
        if !compatible {
            sink.emit(
                index,
                RuleId::EarsPattern,
                None,
                format!(
                    "declared pattern `{}` but the text reads as `{}`",
                    pattern_name(declared),
                    pattern_name(found)
                ),
                Some(format!(
                    "set `pattern` to `{}` or rewrite the text",
                    pattern_name(found)
                )),
            );
        }
    }
    Some(Ears { keyword: first })
}

/// Recognises the EARS pattern of the text before the binding keyword; reports deviations.
/// Returns the pattern and whether it combines state and event clauses.
fn classify(
    sink: &mut Sink<'_>,
    index: usize,
    item: &Item,
    tokens: &[Token],
    preamble: &[Token],
    keyword: Token,
) -> Option<(EarsPattern, bool)> {
    let text = item.text.as_str();
    let word = |t: &Token| t.text(text).to_ascii_lowercase();
    let Some(opener) = preamble.first() else {
        sink.emit(
            index,
            RuleId::EarsPattern,
            Some((keyword.start, keyword.end)),
            format!("no system name before `{}`", keyword.text(text)),
            Some("name the system: `The <system> shall <response>.`".to_owned()),
        );
        return None;
    };
    let first_word = word(opener);
    let is_clause_keyword = |w: &str| matches!(w, "while" | "when" | "where" | "if");
    if is_clause_keyword(&first_word) {
        let mut has = [false; 4];
        let mut has_then = false;
        for (i, t) in preamble.iter().enumerate() {
            let w = word(t);
            if w == "then" {
                has_then = true;
            }
            if is_clause_keyword(&w) && (i == 0 || after_separator(text, t.start)) {
                let slot = match w.as_str() {
                    "while" => 0,
                    "when" => 1,
                    "where" => 2,
                    _ => 3,
                };
                if let Some(h) = has.get_mut(slot) {
                    *h = true;
                }
            }
        }
        let [while_, when, where_, if_] = has;
        let lead = slice(text, 0, keyword.start).trim_end();
        let last = preamble.last().map(&word).unwrap_or_default();
        if lead.ends_with(',') || last == "then" || preamble.len() == 1 {
            sink.emit(
                index,
                RuleId::EarsPattern,
                Some((keyword.start, keyword.end)),
                format!("no system name before `{}`", keyword.text(text)),
                Some(
                    "name the system after the precondition: `…, the <system> shall <response>.`"
                        .to_owned(),
                ),
            );
        }
        if if_ && !has_then {
            sink.emit(
                index,
                RuleId::EarsPattern,
                Some((opener.start, opener.end)),
                "unwanted-behaviour requirement without `then`".to_owned(),
                Some("write `If <trigger>, then the <system> shall <response>.`".to_owned()),
            );
        }
        let pattern = if if_ {
            EarsPattern::UnwantedBehaviour
        } else if while_ && !when {
            EarsPattern::StateDriven
        } else if when {
            EarsPattern::EventDriven
        } else if where_ {
            EarsPattern::OptionalFeature
        } else {
            EarsPattern::Ubiquitous
        };
        return Some((pattern, while_ && when));
    }
    let opener_hint = NON_EARS_OPENERS
        .iter()
        .find(|(w, _)| *w == first_word)
        .map(|(_, k)| *k);
    // `As` only opens a precondition in `As soon as`; `In`/`On`/`For`/`With` only when a
    // comma closes the clause (otherwise they may start the subject: `On-call staff`).
    let opener_hint = opener_hint.filter(|_| match first_word.as_str() {
        "as" => tokens.get(1).is_some_and(|t| word(t) == "soon"),
        "in" | "on" | "for" | "with" | "before" | "until" => {
            slice(text, 0, keyword.start).contains(',')
        }
        _ => true,
    });
    if let Some(keyword_hint) = opener_hint {
        sink.emit(
            index,
            RuleId::EarsPattern,
            Some((opener.start, opener.end)),
            format!("precondition opened by `{}` is not an EARS pattern", opener.text(text)),
            Some(format!(
                "start the precondition with `{keyword_hint}` (EARS: `When` for a trigger, `While` for a state, `If …, then` for unwanted behaviour, `Where` for an optional feature)"
            )),
        );
        return None;
    }
    Some((EarsPattern::Ubiquitous, false))
}
