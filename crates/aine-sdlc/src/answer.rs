//! A topic's answer as the draft step's contract (`schemas/topic_draft.schema.json`) admits it,
//! and the [`Draft`] it becomes.
//!
//! The contract asks a model for a requirement's `text` only; `id`, `pattern`, `category` and
//! `sources` are optional. Ids are numbered by `requirements.merge` across the spec anyway; the
//! EARS pattern is the one the text opens with ([`crate::merge::pattern_of`]; a small model's
//! label for it was often wrong); a requirement without `sources` rests on its topic's
//! sentences (with one sentence per topic, as in the bundled workflow, exactly that one); its
//! category is that of its own text by detection's category classifier (lexicons and naive
//! Bayes trained on the written requirements of PROMISE NFR), which reads a clean statement
//! better than the spoken sentence: "I'm thinking however Mac iPod is sort of last year's ..."
//! made "a comfortable and friendly design" Portability. The local model then writes about
//! 20 output tokens per requirement instead of 40. An answer that carries them (a fallback's
//! draft, a larger model, a workflow with the older contract) is read as it is.
//!
//! The builtins that read a draft step's output (`requirements.citations`,
//! `requirements.template`'s `rejected_answer`, `requirements.merge`) read a [`TopicAnswer`]
//! and turn it into a [`Draft`] with [`TopicAnswer::into_draft`], given the topic's candidates.

use aine_spec::{Candidate, Category, Draft, EarsPattern, OpenQuestion, Requirement, UserStory};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::merge::pattern_of;

/// One topic's answer: requirements, user stories and open questions, each list optional.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct TopicAnswer {
    #[serde(default)]
    pub requirements: Vec<AnsweredRequirement>,
    #[serde(default)]
    pub user_stories: Vec<UserStory>,
    #[serde(default)]
    pub open_questions: Vec<OpenQuestion>,
}

/// A requirement as a topic's answer gives it: everything but `text` may be left out.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct AnsweredRequirement {
    /// `REQ-001`, ...; when absent, its position in the answer (`REQ-001` for the first).
    #[serde(default)]
    pub id: Option<String>,
    /// The EARS statement.
    pub text: String,
    /// When absent, the pattern the text opens with.
    #[serde(default)]
    pub pattern: Option<EarsPattern>,
    /// When absent, the category of its text ([`crate::detect::category::default_classifier`]).
    #[serde(default)]
    pub category: Option<Category>,
    /// Ids of the source refs it rests on; when absent, every sentence of the topic.
    #[serde(default)]
    pub sources: Option<Vec<String>>,
}

impl TopicAnswer {
    /// The draft this answer states about `sentences` (the topic's candidates): requirements
    /// without an id are numbered by position (`REQ-001` first), without a pattern take their
    /// text's ([`pattern_of`]), without sources rest on every sentence of `sentences`, and
    /// without a category take their text's (the category classifier of detection; the first
    /// cited sentence's category only if the bundled classifier cannot be built, a bug).
    pub fn into_draft(self, sentences: &[Candidate]) -> Draft {
        let requirements =
            self.requirements
                .into_iter()
                .enumerate()
                .map(|(i, r)| {
                    let sources = r
                        .sources
                        .unwrap_or_else(|| sentences.iter().map(|c| c.source.id.clone()).collect());
                    let category = r.category.unwrap_or_else(|| {
                        match crate::detect::category::default_classifier() {
                            Ok(classifier) => classifier.classify(&r.text),
                            Err(_) => sources
                                .iter()
                                .find_map(|id| sentences.iter().find(|c| &c.source.id == id))
                                .map_or(Category::Functional, |c| c.category),
                        }
                    });
                    Requirement {
                        id: r.id.unwrap_or_else(|| format!("REQ-{:03}", i + 1)),
                        pattern: r.pattern.unwrap_or_else(|| pattern_of(&r.text)),
                        category,
                        text: r.text,
                        sources,
                    }
                })
                .collect();
        Draft {
            requirements,
            user_stories: self.user_stories,
            open_questions: self.open_questions,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn candidate(id: &str, category: Category) -> Candidate {
        serde_json::from_value(json!({
            "text": "The kettle has to boil fast.",
            "source": { "id": id, "file": "m.txt", "sentence": 1, "start": 0, "end": 10 },
            "category": category, "confidence": 0.7, "cues": [], "topic": "kettle"
        }))
        .unwrap()
    }

    fn answer(value: serde_json::Value) -> TopicAnswer {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_bare_statement_rests_on_the_topics_sentences_and_is_categorised_by_its_text() {
        let topic = [
            candidate("m#1", Category::Performance),
            candidate("m#2", Category::Usability),
        ];
        let draft = answer(json!({ "requirements": [
            { "text": "The kettle shall boil one litre within 3 minutes." },
            { "text": "When the water boils, the kettle shall switch off.", "category": "functional", "sources": ["m#2"] }
        ] }))
        .into_draft(&topic);
        let reqs = draft.requirements;
        assert_eq!(reqs[0].id, "REQ-001");
        assert_eq!(reqs[0].pattern, EarsPattern::Ubiquitous);
        // "within 3 minutes": performance, whatever the sentences were labelled.
        assert_eq!(reqs[0].category, Category::Performance);
        assert_eq!(reqs[0].sources, ["m#1", "m#2"]);
        assert_eq!(reqs[1].id, "REQ-002");
        assert_eq!(reqs[1].pattern, EarsPattern::EventDriven);
        assert_eq!(reqs[1].category, Category::Functional);
        assert_eq!(reqs[1].sources, ["m#2"]);
        assert!(draft.user_stories.is_empty());
        let cited = answer(json!({ "requirements": [
            { "text": "The kettle shall be easy to fill.", "sources": ["m#2"] },
            { "text": "The kettle shall have a volume control for its alarm.", "sources": ["m#1"] }
        ] }))
        .into_draft(&topic);
        assert_eq!(cited.requirements[0].category, Category::Usability);
        // Cites a sentence labelled performance; its text is about a feature.
        assert_eq!(cited.requirements[1].category, Category::Functional);
    }

    #[test]
    fn a_full_draft_reads_as_it_is() {
        let full = json!({ "requirements": [
            { "id": "REQ-007", "text": "The kettle shall be white.", "pattern": "ubiquitous", "category": "look_and_feel", "sources": ["m#3"] }
        ], "user_stories": [], "open_questions": [] });
        let direct: Draft = serde_json::from_value(full.clone()).unwrap();
        assert_eq!(answer(full).into_draft(&[]), direct);
    }

    #[test]
    fn a_requirement_without_text_is_an_error_naming_the_field() {
        let err = serde_json::from_value::<TopicAnswer>(
            json!({ "requirements": [ { "sources": ["m#1"] } ] }),
        )
        .err()
        .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("missing field `text`")));
    }
}
