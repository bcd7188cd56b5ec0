//! Trace checks: every item cites at least one existing source ref, and shares a content word
//! with the sources it cites (aine DESIGN.md; ISO/IEC/IEEE 29148:2018 §5.2.8).

use std::collections::{HashMap, HashSet};

use crate::check::Sink;
use crate::model::Document;
use crate::rule::RuleId;
use crate::text::content_words;

pub(crate) fn check(sink: &mut Sink<'_>, doc: &Document) {
    let known: Option<HashMap<&str, Option<&str>>> = doc.sources.as_ref().map(|sources| {
        sources
            .iter()
            .map(|s| (s.id.as_str(), s.text.as_deref()))
            .collect()
    });
    let mut source_words: HashMap<&str, HashSet<String>> = HashMap::new();
    for (index, item) in doc.items.iter().enumerate() {
        let Some(cited) = &item.sources else { continue };
        if cited.is_empty() {
            sink.emit(
                index,
                RuleId::TraceNoSource,
                None,
                "cites no source ref".to_owned(),
                Some(
                    "add the id of each source sentence the item comes from to `sources`"
                        .to_owned(),
                ),
            );
            continue;
        }
        let Some(known) = &known else { continue };
        let mut with_text = Vec::new();
        for id in cited {
            match known.get(id.as_str()) {
                None => sink.emit(
                    index,
                    RuleId::TraceUnknownSource,
                    None,
                    format!("cites source ref `{id}` that does not exist"),
                    Some("cite an id from the spec's sources, or remove it".to_owned()),
                ),
                Some(Some(text)) => with_text.push((id.as_str(), *text)),
                Some(None) => {}
            }
        }
        if with_text.is_empty() || !sink.enabled(RuleId::TraceNoOverlap) {
            continue;
        }
        let words: HashSet<String> = content_words(&item.text).into_iter().collect();
        if words.is_empty() {
            continue;
        }
        let overlap = with_text.iter().any(|(id, text)| {
            let set = source_words
                .entry(id)
                .or_insert_with(|| content_words(text).into_iter().collect());
            !set.is_disjoint(&words)
        });
        if !overlap {
            let ids: Vec<String> = with_text.iter().map(|(id, _)| format!("`{id}`")).collect();
            sink.emit(
                index,
                RuleId::TraceNoOverlap,
                None,
                format!(
                    "shares no content word with its sources ({})",
                    ids.join(", ")
                ),
                Some("check the citation: cite the sentences this item comes from".to_owned()),
            );
        }
    }
}
