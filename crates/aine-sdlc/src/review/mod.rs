//! An item-by-item review of a drafted spec at its gate: accept, reject, edit an item, move it to
//! the open questions, add a requirement. [`apply`] turns the reviewer's choices into the edited
//! [`Draft`] and the per-item [`ItemChange`]s that are journaled with it as one gate decision
//! (`Decision::Edit { output, changes }`), or into errors at the item and field they concern.
//!
//! Pure: no I/O, no clock.

use std::collections::{BTreeSet, HashSet};

use aine_runtime::Inspected;
use aine_spec::{Draft, OpenQuestion, Requirement};
use aine_types::{ChangeKind, ItemChange, StepId};
use serde::{Deserialize, Serialize};

use crate::merge::pattern_of;

pub mod form;

/// Why a gate cannot be reviewed item by item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotADraft {
    #[error("gate step `{0}` reviews no step's output, so there is nothing to edit")]
    NothingReviewed(StepId),
    #[error(
        "the gate reviews step `{0}`, whose output is not a drafted spec; edit it as JSON instead"
    )]
    NotASpec(StepId),
}

/// The drafted spec the gate at step `gate_step` of `run` reviews: the reviewed step's id and
/// its output (after any earlier edit) as a [`Draft`].
///
/// Errors: [`NotADraft`] when the gate reviews nothing or an output that is not a spec.
pub fn reviewed_draft(run: &Inspected, gate_step: &StepId) -> Result<(StepId, Draft), NotADraft> {
    let reviews = run
        .view
        .steps
        .iter()
        .find(|s| &s.id == gate_step)
        .and_then(|s| s.gate.as_ref())
        .and_then(|g| g.reviews.clone())
        .ok_or_else(|| NotADraft::NothingReviewed(gate_step.clone()))?;
    let draft = run
        .view
        .steps
        .iter()
        .find(|s| s.id == reviews)
        .and_then(|s| s.output.clone())
        .and_then(|o| serde_json::from_value(o).ok())
        .ok_or_else(|| NotADraft::NotASpec(reviews.clone()))?;
    Ok((reviews, draft))
}

/// What the reviewer chose for one drafted item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemAction {
    Accept,
    Reject,
    /// Keep the item with [`ItemReview::text`].
    Edit,
    /// Remove the requirement or story and ask its sources as an open question.
    ToQuestion,
}

/// The reviewer's choice for one item of the draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemReview {
    /// The item's id in the draft (`REQ-003`, `US-001`, `Q-002`).
    pub id: String,
    pub action: ItemAction,
    /// For `edit`: the new text (for a user story, `As a <role>, I want <goal>[, so that
    /// <benefit>].`). For `to_question`: the question to ask, when the reviewer wrote one.
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// A requirement the reviewer adds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRequirement {
    /// An EARS statement (`The <system> shall <response>.`).
    pub text: String,
    /// Ids of source sentences it rests on (`ES2002b#10`); at least one, each in the run's
    /// sources.
    pub sources: Vec<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// Everything a reviewer decided on a draft. Items the review does not mention are accepted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    #[serde(default)]
    pub items: Vec<ItemReview>,
    #[serde(default)]
    pub added: Vec<NewRequirement>,
}

/// A problem with the review, at the item and field it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The item's id, or `new-N` (1-based) for the N-th added requirement, or `review` for the
    /// review as a whole.
    pub item: String,
    /// `text`, `sources`, `action`, or `items`.
    pub field: &'static str,
    pub message: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.item, self.field, self.message)
    }
}

/// The draft after the review, and what was done to each item.
#[derive(Debug, Clone, PartialEq)]
pub struct Reviewed {
    pub draft: Draft,
    /// One change per item of the original draft (in its order), then one per added item.
    pub changes: Vec<ItemChange>,
}

/// Applies `review` to `draft`. `sources` are the ids of the run's source sentences (an added
/// requirement may cite only those).
///
/// Errors (all of them, not only the first): an id not in the draft or reviewed twice; an
/// `edit` with an empty text, a requirement text without `shall`, a user story text not of
/// the form `As a …, I want …`; `to_question` on an open question; an added requirement with an
/// empty or non-EARS text, no source, or a source not in `sources`; a review that leaves no item
/// at all (reject the gate instead).
pub fn apply(
    draft: &Draft,
    sources: &HashSet<&str>,
    review: &Review,
) -> Result<Reviewed, Vec<FieldError>> {
    let mut errors = Vec::new();
    let err = |item: &str, field: &'static str, message: String| FieldError {
        item: item.to_owned(),
        field,
        message,
    };
    let known: HashSet<&str> = draft
        .requirements
        .iter()
        .map(|r| r.id.as_str())
        .chain(draft.user_stories.iter().map(|s| s.id.as_str()))
        .chain(draft.open_questions.iter().map(|q| q.id.as_str()))
        .collect();
    let mut seen = HashSet::new();
    for r in &review.items {
        if !known.contains(r.id.as_str()) {
            errors.push(err(
                &r.id,
                "action",
                "no such item in the draft under review".to_owned(),
            ));
        } else if !seen.insert(r.id.as_str()) {
            errors.push(err(&r.id, "action", "reviewed twice".to_owned()));
        }
    }
    let choice = |id: &str| review.items.iter().find(|r| r.id == id);
    let reason = |id: &str| choice(id).and_then(|r| clean(r.reason.as_deref()));

    let mut out = Draft::default();
    let mut changes = Vec::new();
    let mut moved: Vec<(String, String, Vec<String>)> = Vec::new();
    let mut removed = HashSet::new();

    for req in &draft.requirements {
        let (kind, text) = decide(choice(&req.id), &req.text, &mut errors, |text| {
            (!has_shall(text)).then(|| {
                "an EARS requirement says what the system shall do: `The <system> shall <response>.`"
                    .to_owned()
            })
        });
        match kind {
            ChangeKind::Rejected => {
                removed.insert(req.id.clone());
            }
            ChangeKind::MovedToQuestions => {
                removed.insert(req.id.clone());
                moved.push((req.id.clone(), text, req.sources.clone()));
            }
            _ => out.requirements.push(Requirement {
                pattern: pattern_of(&text),
                text,
                ..req.clone()
            }),
        }
        changes.push(change(&req.id, kind, reason(&req.id)));
    }
    for story in &draft.user_stories {
        let (kind, text) = decide(choice(&story.id), &story.text, &mut errors, |text| {
            story_parts(text).is_none().then(|| {
                "a user story reads `As a <role>, I want <goal>, so that <benefit>.`".to_owned()
            })
        });
        match kind {
            ChangeKind::Rejected => {
                removed.insert(story.id.clone());
            }
            ChangeKind::MovedToQuestions => {
                removed.insert(story.id.clone());
                moved.push((story.id.clone(), text, story.sources.clone()));
            }
            _ => {
                let mut story = story.clone();
                if let Some((role, goal, benefit)) = story_parts(&text) {
                    story.role = role;
                    story.goal = goal;
                    story.benefit = benefit;
                }
                story.text = text;
                out.user_stories.push(story);
            }
        }
        changes.push(change(&story.id, kind, reason(&story.id)));
    }
    for q in &draft.open_questions {
        if choice(&q.id).is_some_and(|c| c.action == ItemAction::ToQuestion) {
            errors.push(err(
                &q.id,
                "action",
                "is an open question already; accept, edit or reject it".to_owned(),
            ));
            continue;
        }
        let (kind, text) = decide(choice(&q.id), &q.text, &mut errors, |_| None);
        if kind != ChangeKind::Rejected {
            out.open_questions.push(OpenQuestion { text, ..q.clone() });
        }
        changes.push(change(&q.id, kind, reason(&q.id)));
    }
    // Questions no longer point at removed items.
    for q in &mut out.open_questions {
        q.items.retain(|i| !removed.contains(i));
    }

    let first_q = next_number(draft.open_questions.iter().map(|q| q.id.as_str()), "Q-");
    for (number, (id, text, item_sources)) in (first_q..).zip(moved) {
        let asked = choice(&id)
            .and_then(|c| clean(c.text.as_deref()))
            .filter(|t| *t != text)
            .map_or_else(
                || format!("Is this what the sources ask for: “{text}”?"),
                str::to_owned,
            );
        let q_id = format!("Q-{number:03}");
        out.open_questions.push(OpenQuestion {
            id: q_id.clone(),
            text: asked,
            items: Vec::new(),
            sources: item_sources,
        });
        if let Some(c) = changes.iter_mut().find(|c| c.item == id) {
            c.became = Some(q_id);
        }
    }

    let first_req = next_number(draft.requirements.iter().map(|r| r.id.as_str()), "REQ-");
    for (number, (n, new)) in (first_req..).zip(review.added.iter().enumerate()) {
        let at = format!("new-{}", n + 1);
        let text = new.text.trim();
        if text.is_empty() {
            errors.push(err(&at, "text", "write the requirement".to_owned()));
        } else if !has_shall(text) {
            errors.push(err(
                &at,
                "text",
                "an EARS requirement says what the system shall do: `The <system> shall <response>.`"
                    .to_owned(),
            ));
        }
        let cited: BTreeSet<&str> = new
            .sources
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect();
        if cited.is_empty() {
            errors.push(err(
                &at,
                "sources",
                "cite at least one source sentence (an id such as `ES2002b#10`)".to_owned(),
            ));
        }
        for s in &cited {
            if !sources.contains(s) {
                errors.push(err(
                    &at,
                    "sources",
                    format!("`{s}` is not a sentence of this run's sources"),
                ));
            }
        }
        let id = format!("REQ-{number:03}");
        let category = crate::detect::category::default_classifier()
            .map(|c| c.classify(text))
            .unwrap_or(aine_spec::Category::Functional);
        out.requirements.push(Requirement {
            id: id.clone(),
            text: text.to_owned(),
            pattern: pattern_of(text),
            category,
            sources: cited.iter().map(|s| (*s).to_owned()).collect(),
        });
        changes.push(change(&id, ChangeKind::Added, clean(new.reason.as_deref())));
    }

    if errors.is_empty()
        && out.requirements.is_empty()
        && out.user_stories.is_empty()
        && out.open_questions.is_empty()
    {
        errors.push(err(
            "review",
            "items",
            "the review removes every item; to stop the run, reject the gate instead".to_owned(),
        ));
    }
    if errors.is_empty() {
        Ok(Reviewed {
            draft: out,
            changes,
        })
    } else {
        Err(errors)
    }
}

/// The change for an item and its text afterwards. An `edit` whose text equals the draft's is
/// an acceptance; `bad` says what is wrong with an edited text.
fn decide(
    choice: Option<&ItemReview>,
    original: &str,
    errors: &mut Vec<FieldError>,
    bad: impl Fn(&str) -> Option<String>,
) -> (ChangeKind, String) {
    let Some(choice) = choice else {
        return (ChangeKind::Accepted, original.to_owned());
    };
    match choice.action {
        ItemAction::Accept => (ChangeKind::Accepted, original.to_owned()),
        ItemAction::Reject => (ChangeKind::Rejected, original.to_owned()),
        ItemAction::ToQuestion => (ChangeKind::MovedToQuestions, original.to_owned()),
        ItemAction::Edit => {
            let text = choice.text.as_deref().unwrap_or_default().trim();
            if text.is_empty() {
                errors.push(FieldError {
                    item: choice.id.clone(),
                    field: "text",
                    message: "an edited item needs a text; to remove the item, reject it"
                        .to_owned(),
                });
                return (ChangeKind::Edited, original.to_owned());
            }
            if text == original {
                return (ChangeKind::Accepted, original.to_owned());
            }
            if let Some(message) = bad(text) {
                errors.push(FieldError {
                    item: choice.id.clone(),
                    field: "text",
                    message,
                });
            }
            (ChangeKind::Edited, text.to_owned())
        }
    }
}

fn change(item: &str, change: ChangeKind, reason: Option<&str>) -> ItemChange {
    ItemChange {
        item: item.to_owned(),
        change,
        reason: reason.map(str::to_owned),
        became: None,
    }
}

fn clean(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}

fn has_shall(text: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric())
        .any(|w| w.eq_ignore_ascii_case("shall"))
}

/// One more than the largest number among `ids` with `prefix` (`REQ-` and `REQ-007` give 8).
fn next_number<'a>(ids: impl Iterator<Item = &'a str>, prefix: &str) -> u32 {
    ids.filter_map(|id| id.strip_prefix(prefix)?.parse::<u32>().ok())
        .max()
        .unwrap_or(0)
        + 1
}

/// `(role, goal, benefit)` of `As a <role>, I want <goal>[, so that <benefit>].`
fn story_parts(text: &str) -> Option<(String, String, Option<String>)> {
    let text = text.trim().trim_end_matches('.');
    let lower = text.to_lowercase();
    let rest_at = ["as an ", "as a "]
        .iter()
        .find(|p| lower.starts_with(*p))
        .map(|p| p.len())?;
    let want = lower.find(", i want ")?;
    let role = text.get(rest_at..want)?.trim();
    let after = want + ", i want ".len();
    let (goal, benefit) = match lower[after..].find(", so that ") {
        Some(at) => (
            text.get(after..after + at)?,
            Some(
                text.get(after + at + ", so that ".len()..)?
                    .trim()
                    .to_owned(),
            ),
        ),
        None => (text.get(after..)?, None),
    };
    let goal = goal.trim();
    (!role.is_empty() && !goal.is_empty()).then(|| (role.to_owned(), goal.to_owned(), benefit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aine_spec::{AcceptanceCriterion, Category, EarsPattern, UserStory};

    fn draft() -> Draft {
        let req = |id: &str, text: &str, src: &str| Requirement {
            id: id.to_owned(),
            text: text.to_owned(),
            pattern: EarsPattern::Ubiquitous,
            category: Category::Functional,
            sources: vec![src.to_owned()],
        };
        Draft {
            requirements: vec![
                req(
                    "REQ-001",
                    "The remote control shall not provide teletext.",
                    "m#1",
                ),
                req(
                    "REQ-002",
                    "The remote control shall have a free button.",
                    "m#2",
                ),
                req("REQ-003", "The remote control shall be rectangular.", "m#3"),
            ],
            user_stories: vec![UserStory {
                id: "US-001".to_owned(),
                text: "As a viewer, I want a red power button, so that I find it.".to_owned(),
                role: "viewer".to_owned(),
                goal: "a red power button".to_owned(),
                benefit: Some("I find it".to_owned()),
                acceptance_criteria: vec![AcceptanceCriterion {
                    given: "the TV is on".to_owned(),
                    when: "I press the red button".to_owned(),
                    then: "the TV goes to stand-by".to_owned(),
                }],
                sources: vec!["m#4".to_owned()],
            }],
            open_questions: vec![OpenQuestion {
                id: "Q-001".to_owned(),
                text: "Which shape?".to_owned(),
                items: vec!["REQ-003".to_owned()],
                sources: vec!["m#3".to_owned()],
            }],
        }
    }

    fn sources() -> HashSet<&'static str> {
        ["m#1", "m#2", "m#3", "m#4", "m#5"].into_iter().collect()
    }

    fn item(id: &str, action: ItemAction, text: Option<&str>, reason: &str) -> ItemReview {
        ItemReview {
            id: id.to_owned(),
            action,
            text: text.map(str::to_owned),
            reason: Some(reason.to_owned()),
        }
    }

    #[test]
    fn each_choice_changes_its_item_and_is_recorded() {
        let review = Review {
            items: vec![
                item("REQ-002", ItemAction::Reject, None, "a misreading"),
                item(
                    "REQ-001",
                    ItemAction::Edit,
                    Some("When the user presses teletext, the remote control shall do nothing."),
                    "clearer",
                ),
                item("REQ-003", ItemAction::ToQuestion, None, "not decided"),
            ],
            added: vec![NewRequirement {
                text: "The remote control shall cost no more than 12.50 Euros.".to_owned(),
                sources: vec!["m#5".to_owned()],
                reason: Some("missed".to_owned()),
            }],
        };
        let out = apply(&draft(), &sources(), &review).unwrap();
        let ids: Vec<&str> = out
            .draft
            .requirements
            .iter()
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(ids, ["REQ-001", "REQ-004"]);
        assert_eq!(out.draft.requirements[0].pattern, EarsPattern::EventDriven);
        assert_eq!(out.draft.requirements[1].sources, ["m#5"]);
        let q: Vec<(&str, &str)> = out
            .draft
            .open_questions
            .iter()
            .map(|q| (q.id.as_str(), q.text.as_str()))
            .collect();
        assert_eq!(
            q,
            [
                ("Q-001", "Which shape?"),
                (
                    "Q-002",
                    "Is this what the sources ask for: “The remote control shall be rectangular.”?"
                )
            ]
        );
        assert!(out.draft.open_questions[0].items.is_empty(), "REQ-003 left");
        assert_eq!(out.draft.open_questions[1].sources, ["m#3"]);
        let changes: Vec<(&str, &str, Option<&str>)> = out
            .changes
            .iter()
            .map(|c| (c.item.as_str(), c.change.as_str(), c.reason.as_deref()))
            .collect();
        assert_eq!(
            changes,
            [
                ("REQ-001", "edited", Some("clearer")),
                ("REQ-002", "rejected", Some("a misreading")),
                ("REQ-003", "moved_to_questions", Some("not decided")),
                ("US-001", "accepted", None),
                ("Q-001", "accepted", None),
                ("REQ-004", "added", Some("missed")),
            ]
        );
        assert_eq!(out.changes[2].became.as_deref(), Some("Q-002"));
    }

    #[test]
    fn an_edited_story_is_parsed_again() {
        let review = Review {
            items: vec![item(
                "US-001",
                ItemAction::Edit,
                Some("As a viewer, I want a big red button."),
                "",
            )],
            added: vec![],
        };
        let out = apply(&draft(), &sources(), &review).unwrap();
        let story = &out.draft.user_stories[0];
        assert_eq!(story.goal, "a big red button");
        assert_eq!(story.benefit, None);
        assert_eq!(out.changes[3].reason, None, "an empty reason is none");
    }

    #[test]
    fn bad_choices_are_refused_at_their_item_and_field() {
        let review = Review {
            items: vec![
                item("REQ-009", ItemAction::Accept, None, ""),
                item("REQ-001", ItemAction::Edit, Some("Teletext is gone."), ""),
                item("REQ-002", ItemAction::Edit, Some("  "), ""),
                item("US-001", ItemAction::Edit, Some("A red button."), ""),
                item("Q-001", ItemAction::ToQuestion, None, ""),
            ],
            added: vec![NewRequirement {
                text: "It is cheap.".to_owned(),
                sources: vec!["x#1".to_owned()],
                reason: None,
            }],
        };
        let errors = apply(&draft(), &sources(), &review).unwrap_err();
        let at: Vec<(&str, &str)> = errors.iter().map(|e| (e.item.as_str(), e.field)).collect();
        assert_eq!(
            at,
            [
                ("REQ-009", "action"),
                ("REQ-001", "text"),
                ("REQ-002", "text"),
                ("US-001", "text"),
                ("Q-001", "action"),
                ("new-1", "text"),
                ("new-1", "sources"),
            ]
        );
    }

    #[test]
    fn removing_every_item_is_refused() {
        let d = draft();
        let review = Review {
            items: ["REQ-001", "REQ-002", "REQ-003", "US-001", "Q-001"]
                .iter()
                .map(|id| item(id, ItemAction::Reject, None, "no"))
                .collect(),
            added: vec![],
        };
        let errors = apply(&d, &sources(), &review).unwrap_err();
        assert_eq!(errors[0].item, "review");
    }
}
