//! Context packing for model steps with `context_budget_tokens` (DESIGN.md: "inputs are
//! packed/trimmed to fit, never silently cut mid-item").
//!
//! The prompt is rendered from the run's template context and counted with the token counter of
//! the first model of the route (the local model's own tokenizer; for remote models a
//! conservative estimate, `aine_models::estimate_tokens`). When it is over budget, whole items
//! are dropped from the *end* of one list in the run's inputs or step outputs that the prompt
//! reads: among the
//! [`CANDIDATE_LISTS`] largest lists, the first whose shortening makes the prompt shorter is
//! kept to the longest prefix that fits (binary search over whole items). Upstream steps should
//! therefore order their lists by importance. What was dropped is reported in the step's `why`;
//! when nothing fits, the step fails with a message saying so. A prompt is never cut mid-item.

use aine_types::StepId;
use aine_workflow::Workflow;
use serde_json::Value;

/// How many of the largest lists are tried.
const CANDIDATE_LISTS: usize = 3;

/// A rendered prompt that fits, and a note when items were dropped to make it fit.
pub(crate) struct Packed {
    pub prompt: String,
    pub note: Option<String>,
}

/// Renders the prompt of `step` within `limit` tokens as counted by `count`.
///
/// # Errors
/// A message for the step's failure: the prompt cannot be rendered, or it does not fit even
/// with every candidate list emptied.
pub(crate) fn pack(
    workflow: &Workflow,
    step: &StepId,
    context: &Value,
    limit: u64,
    count: &dyn Fn(&str) -> u64,
) -> Result<Packed, String> {
    let render = |ctx: &Value| {
        workflow
            .render_prompt(step, ctx)
            .map_err(|e| format!("cannot render the prompt: {e}"))
    };
    let prompt = render(context)?;
    let tokens = count(&prompt);
    if tokens <= limit {
        return Ok(Packed { prompt, note: None });
    }
    let mut lists = Vec::new();
    for root in ["inputs", "steps"] {
        if let Some(value) = context.get(root) {
            collect_lists(value, format!("/{root}"), &mut lists);
        }
    }
    lists.sort_by_key(|(_, len, bytes)| std::cmp::Reverse((*bytes, *len)));
    for (pointer, len, _) in lists.into_iter().take(CANDIDATE_LISTS) {
        let with_prefix = |keep: usize| -> Result<(String, u64), String> {
            let mut ctx = context.clone();
            if let Some(Value::Array(items)) = ctx.pointer_mut(&pointer) {
                items.truncate(keep);
            }
            let prompt = render(&ctx)?;
            let tokens = count(&prompt);
            Ok((prompt, tokens))
        };
        let (empty, empty_tokens) = with_prefix(0)?;
        if empty_tokens >= tokens || empty_tokens > limit {
            // This list is not in the prompt, or the prompt is over budget even without it.
            continue;
        }
        // Largest `keep` in 0..len whose prompt fits; 0 fits (checked above), `len` does not.
        let (mut lo, mut hi) = (0usize, len);
        let mut best = empty;
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            let (prompt, t) = with_prefix(mid)?;
            if t <= limit {
                lo = mid;
                best = prompt;
            } else {
                hi = mid;
            }
        }
        let path = pointer.trim_start_matches('/').replace('/', ".");
        return Ok(Packed {
            prompt: best,
            note: Some(format!(
                "context packed to `context_budget_tokens` {limit}: kept the first {lo} of {len} items of `{path}` (the full prompt was {tokens} tokens)"
            )),
        });
    }
    Err(format!(
        "the rendered prompt is {tokens} tokens, over `context_budget_tokens` {limit}, and dropping whole items of the lists it reads does not make it fit; narrow the inputs or raise the budget (aine never cuts a prompt mid-item)"
    ))
}

/// Every non-empty array under `value` as (JSON pointer, length, serialized bytes).
fn collect_lists(value: &Value, pointer: String, out: &mut Vec<(String, usize, usize)>) {
    match value {
        Value::Array(items) if !items.is_empty() => {
            let bytes = serde_json::to_string(value).map_or(0, |s| s.len());
            out.push((pointer.clone(), items.len(), bytes));
            for (i, item) in items.iter().enumerate() {
                collect_lists(item, format!("{pointer}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                let key = k.replace('~', "~0").replace('/', "~1");
                collect_lists(v, format!("{pointer}/{key}"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn workflow(dir: &std::path::Path, prompt: &str) -> Workflow {
        std::fs::write(dir.join("p.j2"), prompt).unwrap();
        std::fs::write(dir.join("s.json"), r#"{"type":"object"}"#).unwrap();
        let source = "workflow: w\nversion: 1\nsteps:\n  - id: ingest\n    builtin: x.y\n  - id: c\n    builtin: x.y\n  - id: m\n    model:\n      route: [x/y]\n      prompt: p.j2\n      output: s.json\n      context_budget_tokens: 10\n";
        let path = dir.join("w.workflow.yaml");
        std::fs::write(&path, source).unwrap();
        aine_workflow::parse(&path, source, &AnyModel(json!({}))).unwrap()
    }

    #[derive(Debug)]
    struct AnyModel(Value);
    impl aine_workflow::Catalog for AnyModel {
        fn builtin_input_schema(&self, _: &str) -> Option<&Value> {
            Some(&self.0)
        }
        fn builtin_names(&self) -> Vec<String> {
            Vec::new()
        }
        fn has_model(&self, _: &str) -> bool {
            true
        }
    }

    /// One token per word.
    fn words(text: &str) -> u64 {
        text.split_whitespace().count() as u64
    }

    fn context() -> Value {
        json!({
            "inputs": {},
            "run": {"id": "run_x"},
            "steps": {
                "ingest": {"outcome": "ok", "output": {"sentences": (0..50).map(|i| format!("unused sentence {i} with many many words")).collect::<Vec<_>>()}},
                "c": {"outcome": "ok", "output": {"items": ["a b", "c d", "e f", "g h", "i j"]}}
            }
        })
    }

    #[test]
    fn a_prompt_within_budget_is_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let wf = workflow(
            dir.path(),
            "Items:{% for i in steps.c.output['items'] %} {{ i }}{% endfor %}",
        );
        let step = StepId::new("m").unwrap();
        let packed = pack(&wf, &step, &context(), 100, &words).unwrap();
        assert_eq!(packed.prompt, "Items: a b c d e f g h i j");
        assert!(packed.note.is_none());
    }

    #[test]
    fn whole_items_are_dropped_from_the_end_of_the_list_the_prompt_reads() {
        let dir = tempfile::tempdir().unwrap();
        let wf = workflow(
            dir.path(),
            "Items:{% for i in steps.c.output['items'] %} {{ i }}{% endfor %}",
        );
        let step = StepId::new("m").unwrap();
        // "Items:" + 2 words per item: 7 tokens hold 3 items.
        let packed = pack(&wf, &step, &context(), 7, &words).unwrap();
        assert_eq!(packed.prompt, "Items: a b c d e f");
        let note = packed.note.unwrap();
        assert!(
            note.contains("kept the first 3 of 5 items of `steps.c.output.items`"),
            "{note}"
        );
    }

    #[test]
    fn a_prompt_that_cannot_fit_fails_with_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let wf = workflow(
            dir.path(),
            "A fixed preamble that is long. {% for i in steps.c.output['items'] %} {{ i }}{% endfor %}",
        );
        let step = StepId::new("m").unwrap();
        let err = pack(&wf, &step, &context(), 3, &words).err().unwrap();
        assert!(err.contains("over `context_budget_tokens` 3"), "{err}");
        assert!(err.contains("never cuts a prompt mid-item"), "{err}");
    }
}
