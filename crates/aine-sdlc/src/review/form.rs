//! The review as a YAML form a person edits in a text editor (`aine review edit GATE`): one
//! entry per drafted item with its `action`, `text` and `reason`, the quoted sources and lint
//! findings as comments, and requirements to add. [`read`] turns the edited form into a
//! [`Review`] with every problem at its line and column; [`apply_at_lines`] runs
//! [`super::apply`] and places its errors at the lines of the items they concern.

use std::collections::{HashMap, HashSet};

use aine_spec::{Draft, Sentence};
use marked_yaml::{LoaderOptions, Node, Span};

use super::{ItemAction, ItemReview, NewRequirement, Review, Reviewed};

/// A problem in the edited form, at a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for FormError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// A JSON string is a valid YAML double-quoted scalar.
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned())
}

/// The form for `draft`: a header saying what to do, then `reason`, `items` (each with the
/// sentences it cites and its lint findings as comments) and an empty `added`.
/// `findings` are lint messages by item id.
pub fn write(
    title: &str,
    draft: &Draft,
    sentences: &[Sentence],
    findings: &HashMap<String, Vec<String>>,
) -> String {
    let by_id: HashMap<&str, &Sentence> = sentences
        .iter()
        .map(|s| (s.source.id.as_str(), s))
        .collect();
    let mut out = String::new();
    out.push_str(&format!("# {title}\n"));
    out.push_str(
        "#\n\
         # For each item set `action` to accept, edit, reject or to_question (move it to the open\n\
         # questions), and say why in `reason` if you like. Changing `text` makes an accepted item an\n\
         # edit; for to_question, a changed text is the question to ask. Add requirements under\n\
         # `added`. Save and close the editor to submit one decision; leave the file unchanged to\n\
         # decide nothing.\n",
    );
    out.push_str("reason: \"\"\nitems:\n");
    let items = draft
        .requirements
        .iter()
        .map(|r| (r.id.as_str(), r.text.as_str(), &r.sources))
        .chain(
            draft
                .user_stories
                .iter()
                .map(|s| (s.id.as_str(), s.text.as_str(), &s.sources)),
        )
        .chain(
            draft
                .open_questions
                .iter()
                .map(|q| (q.id.as_str(), q.text.as_str(), &q.sources)),
        );
    for (id, text, sources) in items {
        out.push_str(&format!(
            "  - id: {id}\n    action: accept\n    text: {}\n    reason: \"\"\n",
            quoted(text)
        ));
        for s in sources {
            match by_id.get(s.as_str()) {
                Some(sentence) => out.push_str(&format!(
                    "    # cites {s} ({}): {}\n",
                    sentence.source.speaker.as_deref().unwrap_or("note"),
                    one_line(&sentence.text)
                )),
                None => out.push_str(&format!("    # cites {s}: no such sentence\n")),
            }
        }
        for f in findings.get(id).into_iter().flatten() {
            out.push_str(&format!("    # lint: {}\n", one_line(f)));
        }
    }
    out.push_str(
        "added:\n\
         # - text: \"The <system> shall <response>.\"\n\
         #   sources: [SOURCE#N]\n\
         #   reason: \"\"\n",
    );
    out
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Where fields of the form are, for placing [`super::FieldError`]s.
#[derive(Debug, Default)]
pub struct Positions {
    /// `(item id or new-N, field)` to `(line, column)`; field `action` for the entry itself.
    at: HashMap<(String, String), (usize, usize)>,
}

impl Positions {
    fn of(&self, item: &str, field: &str) -> (usize, usize) {
        self.at
            .get(&(item.to_owned(), field.to_owned()))
            .or_else(|| self.at.get(&(item.to_owned(), "action".to_owned())))
            .copied()
            .unwrap_or((1, 1))
    }
}

/// The review an edited form says, with the decision's reason, and where its fields are.
#[derive(Debug)]
pub struct ReadForm {
    pub review: Review,
    pub reason: String,
    pub positions: Positions,
}

fn start(span: &Span) -> (usize, usize) {
    span.start().map_or((1, 1), |m| (m.line(), m.column()))
}

fn error_at(at: (usize, usize), message: String) -> FormError {
    FormError {
        line: at.0,
        column: at.1,
        message,
    }
}

/// A scalar as text (`null` and an empty value as empty).
fn text_of(node: &Node) -> Option<String> {
    match node {
        Node::Scalar(s) => Some(if s.as_str() == "null" || s.as_str() == "~" {
            String::new()
        } else {
            s.as_str().to_owned()
        }),
        _ => None,
    }
}

/// Reads an edited form. Errors: YAML that does not parse; a top level other than `reason`,
/// `items`, `added`; an item without `id`, an unknown `action` or key, a field that is not
/// text; all of them, each at its position.
pub fn read(text: &str) -> Result<ReadForm, Vec<FormError>> {
    let options = LoaderOptions::default()
        .error_on_duplicate_keys(true)
        .prevent_coercion(true);
    let root = marked_yaml::parse_yaml_with_options(0, text, options).map_err(|e| {
        let message = e.to_string();
        vec![error_at(
            (1, 1),
            format!("not a valid review form: {message}"),
        )]
    })?;
    let mut errors = Vec::new();
    let mut positions = Positions::default();
    let mut review = Review::default();
    let mut reason = String::new();
    let Some(map) = root.as_mapping() else {
        return Err(vec![error_at(
            (1, 1),
            "the form is a mapping with `reason`, `items` and `added`".to_owned(),
        )]);
    };
    for (key, value) in map.iter() {
        let at = start(key.span());
        match key.as_str() {
            "reason" => match text_of(value) {
                Some(t) => reason = t,
                None => errors.push(error_at(at, "`reason` is a text".to_owned())),
            },
            "items" => match value {
                Node::Sequence(seq) => {
                    for entry in seq.iter() {
                        read_item(entry, &mut review, &mut positions, &mut errors);
                    }
                }
                _ => errors.push(error_at(at, "`items` is a list of items".to_owned())),
            },
            "added" => match value {
                Node::Sequence(seq) => {
                    for entry in seq.iter() {
                        read_added(entry, &mut review, &mut positions, &mut errors);
                    }
                }
                // `added:` with nothing under it (only the commented example).
                Node::Scalar(_) if text_of(value).is_some_and(|t| t.is_empty()) => {}
                _ => errors.push(error_at(
                    at,
                    "`added` is a list of requirements (text, sources, reason)".to_owned(),
                )),
            },
            other => errors.push(error_at(
                at,
                format!("unknown key `{other}`; the form has `reason`, `items` and `added`"),
            )),
        }
    }
    errors.sort_by_key(|e| (e.line, e.column));
    if errors.is_empty() {
        Ok(ReadForm {
            review,
            reason: reason.trim().to_owned(),
            positions,
        })
    } else {
        Err(errors)
    }
}

fn read_item(
    entry: &Node,
    review: &mut Review,
    positions: &mut Positions,
    errors: &mut Vec<FormError>,
) {
    let Some(map) = entry.as_mapping() else {
        errors.push(error_at(
            start(entry.span()),
            "an item is a mapping with `id`, `action`, `text`, `reason`".to_owned(),
        ));
        return;
    };
    let mut fields: HashMap<&str, (String, (usize, usize))> = HashMap::new();
    for (key, value) in map.iter() {
        let at = start(key.span());
        match key.as_str() {
            k @ ("id" | "action" | "text" | "reason") => match text_of(value) {
                Some(t) => {
                    fields.insert(k, (t, at));
                }
                None => errors.push(error_at(at, format!("`{k}` is a text"))),
            },
            other => errors.push(error_at(
                at,
                format!("unknown key `{other}`; an item has `id`, `action`, `text`, `reason`"),
            )),
        }
    }
    let entry_at = start(map.span());
    let Some((id, id_at)) = fields.get("id").cloned() else {
        errors.push(error_at(entry_at, "an item without `id`".to_owned()));
        return;
    };
    for (field, (_, at)) in &fields {
        positions.at.insert((id.clone(), (*field).to_owned()), *at);
    }
    positions
        .at
        .insert((id.clone(), "action".to_owned()), id_at);
    let text = fields.get("text").map(|(t, _)| t.clone());
    let action = match fields.get("action").map(|(a, at)| (a.as_str(), *at)) {
        None | Some(("accept", _)) if text.is_some() => ItemAction::Edit,
        None | Some(("accept", _)) => ItemAction::Accept,
        Some(("edit", _)) => ItemAction::Edit,
        Some(("reject", _)) => ItemAction::Reject,
        Some(("to_question", _)) => ItemAction::ToQuestion,
        Some((other, at)) => {
            errors.push(error_at(
                at,
                format!("unknown action `{other}`; use accept, edit, reject or to_question"),
            ));
            return;
        }
    };
    review.items.push(ItemReview {
        id,
        action,
        text,
        reason: fields.get("reason").map(|(r, _)| r.clone()),
    });
}

fn read_added(
    entry: &Node,
    review: &mut Review,
    positions: &mut Positions,
    errors: &mut Vec<FormError>,
) {
    let n = review.added.len() + 1;
    let key = format!("new-{n}");
    let Some(map) = entry.as_mapping() else {
        errors.push(error_at(
            start(entry.span()),
            "an added requirement is a mapping with `text`, `sources`, `reason`".to_owned(),
        ));
        return;
    };
    let mut new = NewRequirement {
        text: String::new(),
        sources: Vec::new(),
        reason: None,
    };
    positions
        .at
        .insert((key.clone(), "action".to_owned()), start(map.span()));
    for (k, value) in map.iter() {
        let at = start(k.span());
        positions
            .at
            .insert((key.clone(), k.as_str().to_owned()), at);
        match (k.as_str(), value) {
            ("text", v) if text_of(v).is_some() => new.text = text_of(v).unwrap_or_default(),
            ("reason", v) if text_of(v).is_some() => new.reason = text_of(v),
            ("sources", Node::Sequence(seq)) => {
                for s in seq.iter() {
                    match text_of(s) {
                        Some(t) => new.sources.push(t),
                        None => errors.push(error_at(
                            start(s.span()),
                            "a source is a sentence id such as `ES2002b#10`".to_owned(),
                        )),
                    }
                }
            }
            ("sources", v) if text_of(v).is_some() => {
                new.sources.extend(
                    text_of(v)
                        .unwrap_or_default()
                        .split(|c: char| c == ',' || c.is_whitespace())
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                );
            }
            (field @ ("text" | "reason" | "sources"), _) => {
                errors.push(error_at(at, format!("`{field}` has the wrong shape")));
            }
            (other, _) => errors.push(error_at(
                at,
                format!(
                    "unknown key `{other}`; an added requirement has `text`, `sources`, `reason`"
                ),
            )),
        }
    }
    review.added.push(new);
}

/// [`super::apply`] on a read form, with its errors at the lines of the fields they concern.
pub fn apply_at_lines(
    draft: &Draft,
    sources: &HashSet<&str>,
    form: &ReadForm,
) -> Result<Reviewed, Vec<FormError>> {
    super::apply(draft, sources, &form.review).map_err(|errors| {
        errors
            .into_iter()
            .map(|e| {
                let at = form.positions.of(&e.item, e.field);
                error_at(at, format!("{} {}: {}", e.item, e.field, e.message))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aine_spec::{Category, EarsPattern, Requirement, SourceRef};

    fn draft() -> Draft {
        Draft {
            requirements: vec![
                Requirement {
                    id: "REQ-001".to_owned(),
                    text: "The remote shall have a \"red\" button: big.".to_owned(),
                    pattern: EarsPattern::Ubiquitous,
                    category: Category::Functional,
                    sources: vec!["m#1".to_owned()],
                },
                Requirement {
                    id: "REQ-002".to_owned(),
                    text: "The remote shall not provide teletext.".to_owned(),
                    pattern: EarsPattern::Ubiquitous,
                    category: Category::Functional,
                    sources: vec!["m#2".to_owned()],
                },
            ],
            ..Draft::default()
        }
    }

    fn sentences() -> Vec<Sentence> {
        (1..=2)
            .map(|i| Sentence {
                text: format!("Sentence {i}."),
                source: SourceRef {
                    id: format!("m#{i}"),
                    file: "m.txt".to_owned(),
                    speaker: Some("Sam".to_owned()),
                    turn: None,
                    sentence: i,
                    start: 0,
                    end: 0,
                },
            })
            .collect()
    }

    #[test]
    fn an_unchanged_form_reads_back_as_all_accepted() {
        let text = write("Review", &draft(), &sentences(), &HashMap::new());
        assert!(text.contains("# cites m#1 (Sam): Sentence 1."), "{text}");
        let form = read(&text).unwrap();
        let sources: HashSet<&str> = ["m#1", "m#2"].into_iter().collect();
        let out = apply_at_lines(&draft(), &sources, &form).unwrap();
        assert_eq!(out.draft, draft());
        assert!(
            out.changes
                .iter()
                .all(|c| c.change == aine_types::ChangeKind::Accepted)
        );
    }

    #[test]
    fn edits_and_additions_are_read_and_errors_are_at_their_lines() {
        let text = write("Review", &draft(), &sentences(), &HashMap::new())
            .replace(
                "action: accept\n    text: \"The remote shall not provide teletext.\"",
                "action: reject\n    text: \"The remote shall not provide teletext.\"",
            )
            .replace(
                "\\\"red\\\" button: big.\"",
                "\\\"red\\\" button.\"\n    reason: \"shorter\"",
            )
            .replacen("    reason: \"\"\n", "", 1)
            .replace(
                "added:\n",
                "added:\n  - text: \"It is cheap.\"\n    sources: [m#9]\n",
            );
        let form = read(&text).unwrap();
        let sources: HashSet<&str> = ["m#1", "m#2"].into_iter().collect();
        let errors = apply_at_lines(&draft(), &sources, &form).unwrap_err();
        let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(
            lines,
            [line_of("It is cheap"), line_of("sources: [m#9]")],
            "{errors:?}"
        );
        let fixed = text
            .replace("It is cheap.", "The remote shall be cheap.")
            .replace("[m#9]", "[m#2]");
        let out = apply_at_lines(&draft(), &sources, &read(&fixed).unwrap()).unwrap();
        let texts: Vec<&str> = out
            .draft
            .requirements
            .iter()
            .map(|r| r.text.as_str())
            .collect();
        assert_eq!(
            texts,
            [
                "The remote shall have a \"red\" button.",
                "The remote shall be cheap."
            ]
        );
        assert_eq!(out.changes[0].reason.as_deref(), Some("shorter"));
    }

    #[test]
    fn a_broken_form_says_where() {
        let errors =
            read("reason: \"\"\nitems:\n  - id: REQ-001\n    action: maybe\n    colour: red\n")
                .unwrap_err();
        let at: Vec<(usize, usize)> = errors.iter().map(|e| (e.line, e.column)).collect();
        assert_eq!(at, [(4, 5), (5, 5)], "{errors:?}");
        assert!(errors[0].message.contains("unknown action `maybe`"));
        let errors = read("items: [\n").unwrap_err();
        assert!(errors[0].message.contains("not a valid review form"));
    }
}
