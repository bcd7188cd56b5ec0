//! Validation of a workflow file's structure: YAML, keys, types, step kinds, builtins, models
//! and budgets. Each test is a workflow (inline YAML, with the fixture files of `common::FILES`
//! next to it) and the exact diagnostics it must produce.

mod common;

use common::check;

#[test]
fn minimal_workflow_is_valid() {
    check(
        "
        workflow: hello
        version: 1
        steps:
          - id: say
            builtin: core.echo
            with: { message: hi }
        ",
        "ok",
    );
}

#[test]
fn malformed_yaml_points_at_the_error() {
    check(
        "
        workflow: hello
        version: 1
        steps: [
          - id: a
        ",
        "
        t.workflow.yaml:4:3: invalid yaml: \"-\" is only valid inside a block
        1 error
        ",
    );
}

#[test]
fn top_level_must_be_a_mapping() {
    check(
        "
        - workflow: hello
        ",
        "
        t.workflow.yaml:1:1: the top level of a workflow file must be a mapping
          hint: start with `workflow: <name>`
        1 error
        ",
    );
}

#[test]
fn duplicate_keys_are_reported() {
    check(
        "
        workflow: hello
        version: 1
        workflow: again
        steps: []
        ",
        "
        t.workflow.yaml:3:1: duplicate key `workflow`
          hint: first defined at line 1
        1 error
        ",
    );
}

#[test]
fn anchors_are_refused() {
    check(
        "
        workflow: hello
        version: 1
        budget: &b { usd: 1 }
        steps: []
        ",
        "
        t.workflow.yaml:3:12: yaml anchors and aliases are not supported in workflow files
        1 error
        ",
    );
}

#[test]
fn three_different_errors_are_all_reported() {
    check(
        "
        workflow: hello
        version: 0
        autonomy: sometimes
        steps:
          - id: say
            builtin: core.ecko
        ",
        "
        t.workflow.yaml:2:10: `version` must be a positive integer, found `0`
        t.workflow.yaml:3:11: unknown autonomy `sometimes`
          hint: use one of: `suggest`, `review`, `auto`
        t.workflow.yaml:6:14: unknown builtin `core.ecko`
          hint: did you mean `core.echo`?
        3 errors
        ",
    );
}

#[test]
fn unknown_keys_at_every_level() {
    check(
        "
        workflow: hello
        version: 1
        budjet: { usd: 1 }
        owners:
          po: { role: product-owner, name: Ann }
        steps:
          - id: say
            builtin: core.echo
            with: { message: hi }
            need: []
            budget: { usd: 1, dollars: 2 }
          - id: draft
            model:
              route: [local/gemma-3-270m]
              prompt: prompts/plain.md.j2
              output: schemas/draft.schema.json
              temperature: 0.2
          - id: review
            gate: { owner: po, whenn: 'true' }
        ",
        "
        t.workflow.yaml:3:1: unknown key `budjet` in the workflow file
          hint: did you mean `budget`?
        t.workflow.yaml:5:30: unknown key `name` in owner `po`
          hint: allowed keys: `role`
        t.workflow.yaml:10:5: unknown key `need` in step `say`
          hint: did you mean `needs`?
        t.workflow.yaml:11:23: unknown key `dollars` in `budget`
          hint: allowed keys: `usd`, `tokens`
        t.workflow.yaml:17:7: unknown key `temperature` in `model`
          hint: allowed keys: `route`, `escalate_on`, `prompt`, `output`, `context_budget_tokens`, `max_output_tokens`
        t.workflow.yaml:19:24: unknown key `whenn` in `gate`
          hint: did you mean `when`?
        6 errors
        ",
    );
}

#[test]
fn wrong_types_and_missing_keys() {
    check(
        "
        version: one
        description: [a, b]
        owners: [po]
        inputs: nope
        budget: 5
        steps:
          - builtin: core.echo
            with: hello
          - id: m
            model:
              route: local/gemma-3-270m
              escalate_on: unsure
          - id: g
            gate: {}
          - 42
        ",
        "
        t.workflow.yaml:1:1: missing required key `workflow`
        t.workflow.yaml:1:10: `version` must be a positive integer, found `one`
        t.workflow.yaml:2:14: `description` must be a string, found a sequence
        t.workflow.yaml:3:9: `owners` must be a mapping, found a sequence
        t.workflow.yaml:4:9: `inputs` must be a mapping, found `nope`
        t.workflow.yaml:5:9: `budget` must be a mapping, found `5`
        t.workflow.yaml:7:5: missing required key `id` in step #1
        t.workflow.yaml:8:11: `with` must be a mapping, found `hello`
        t.workflow.yaml:11:7: missing required key `prompt` in `model`
        t.workflow.yaml:11:7: missing required key `output` in `model`
        t.workflow.yaml:11:14: `route` must be a sequence, found `local/gemma-3-270m`
        t.workflow.yaml:12:20: `escalate_on` must be a sequence, found `unsure`
        t.workflow.yaml:14:11: missing required key `owner` in `gate`
        t.workflow.yaml:15:5: step #4 must be a mapping, found `42`
        14 errors
        ",
    );
}

#[test]
fn empty_file_misses_every_required_key() {
    check(
        "",
        "
        t.workflow.yaml:2:1: missing required key `workflow`
        t.workflow.yaml:2:1: missing required key `version`
        t.workflow.yaml:2:1: missing required key `steps`
        3 errors
        ",
    );
}

#[test]
fn step_ids_are_unique_slugs_and_names_are_slugs() {
    check(
        "
        workflow: 'my workflow'
        version: 1
        owners:
          'the boss': { role: 'product owner' }
        inputs:
          'bad name': { type: string }
        steps:
          - id: say
            builtin: core.echo
            with: { message: a }
          - id: say
            builtin: core.echo
            with: { message: b }
          - id: 2nd
            builtin: core.echo
            with: { message: c }
        ",
        "
        t.workflow.yaml:1:11: `my workflow` is not a valid workflow name: use 1 to 64 ASCII letters, digits, `-`, `_` or `.`, starting with a letter
        t.workflow.yaml:4:3: `the boss` is not a valid owner name: use 1 to 64 ASCII letters, digits, `-`, `_` or `.`, starting with a letter
        t.workflow.yaml:4:23: `product owner` is not a valid role name: use 1 to 64 ASCII letters, digits, `-`, `_` or `.`, starting with a letter
        t.workflow.yaml:6:3: `bad name` is not a valid input name: use 1 to 64 ASCII letters, digits, `-`, `_` or `.`, starting with a letter
        t.workflow.yaml:11:9: duplicate step id `say`
          hint: first defined at line 8
        t.workflow.yaml:14:9: `2nd` is not a valid step id: use 1 to 64 ASCII letters, digits, `-`, `_` or `.`, starting with a letter
        6 errors
        ",
    );
}

#[test]
fn a_step_has_exactly_one_kind() {
    check(
        "
        workflow: hello
        version: 1
        steps:
          - id: nothing
          - id: both
            builtin: core.echo
            gate: { owner: po }
        ",
        "
        t.workflow.yaml:4:5: step `nothing` must have one of `builtin`, `model` or `gate`
        t.workflow.yaml:7:5: step `both` has `builtin` and `gate`: use exactly one
        2 errors
        ",
    );
}

#[test]
fn unknown_builtins_models_and_fallbacks() {
    check(
        "
        workflow: hello
        version: 1
        steps:
          - id: a
            builtin: core.ecoh
          - id: b
            builtin: zzz.nothing
          - id: c
            model:
              route: [local/gemma-3-270m, openai/gpt-9]
              prompt: prompts/plain.md.j2
              output: schemas/draft.schema.json
            fallback_builtin: requirements.templat
        ",
        "
        t.workflow.yaml:5:14: unknown builtin `core.ecoh`
          hint: did you mean `core.echo`?
        t.workflow.yaml:7:14: unknown builtin `zzz.nothing`
          hint: known builtins: `core.echo`, `file.append`, `requirements.citations`, `requirements.template`, `sources.ingest`
        t.workflow.yaml:10:35: unknown model `openai/gpt-9`
          hint: models are configured in aine.toml
        t.workflow.yaml:13:23: unknown builtin `requirements.templat`
          hint: did you mean `requirements.template`?
        4 errors
        ",
    );
}

#[test]
fn with_is_checked_against_the_builtin_input_schema() {
    check(
        "
        workflow: hello
        version: 1
        steps:
          - id: a
            builtin: core.echo
            with: { mesage: hi }
          - id: b
            builtin: core.echo
          - id: c
            builtin: file.append
            with: { path: out.txt, anything: goes }
        ",
        "
        t.workflow.yaml:6:13: builtin `core.echo` has no input `mesage`
          hint: did you mean `message`?
        t.workflow.yaml:6:13: builtin `core.echo` requires input `message` in `with`
        t.workflow.yaml:8:14: builtin `core.echo` requires input `message` in `with`
        3 errors
        ",
    );
}

#[test]
fn with_and_fallback_only_on_their_step_kinds() {
    check(
        "
        workflow: hello
        version: 1
        steps:
          - id: a
            builtin: file.append
            fallback_builtin: core.echo
          - id: b
            model:
              route: [local/gemma-3-270m]
              prompt: prompts/plain.md.j2
              output: schemas/draft.schema.json
            with: { x: 1 }
        ",
        "
        t.workflow.yaml:6:5: `fallback_builtin` is only allowed on model steps
        t.workflow.yaml:12:5: `with` is only allowed on builtin steps and on model steps with a `fallback_builtin` or a `check_builtin`
          hint: on a model step, `with` is the input of its fallback builtin and of its check builtin
        2 errors
        ",
    );
}

#[test]
fn a_check_builtin_alone_makes_with_the_check_input() {
    check(
        "
        workflow: hello
        version: 1
        steps:
          - id: draft
            model:
              route: [local/gemma-3-270m]
              prompt: prompts/plain.md.j2
              output: schemas/draft.schema.json
            check_builtin: requirements.citations
            with: { candidates: [] }
        ",
        "ok",
    );
}

#[test]
fn check_builtins_are_known_checks_on_model_steps_and_their_with_fits() {
    check(
        "
        workflow: hello
        version: 1
        steps:
          - id: a
            builtin: file.append
            check_builtin: requirements.citations
          - id: b
            model:
              route: [local/gemma-3-270m]
              prompt: prompts/plain.md.j2
              output: schemas/draft.schema.json
            check_builtin: requirements.citatons
          - id: c
            model:
              route: [local/gemma-3-270m]
              prompt: prompts/plain.md.j2
              output: schemas/draft.schema.json
            check_builtin: core.echo
          - id: d
            model:
              route: [local/gemma-3-270m]
              prompt: prompts/plain.md.j2
              output: schemas/draft.schema.json
            check_builtin: requirements.citations
            with: { answer: 1, candidats: [] }
          - id: e
            model:
              route: [local/gemma-3-270m]
              prompt: prompts/plain.md.j2
              output: schemas/draft.schema.json
            check_builtin: requirements.citations
            fallback_builtin: requirements.template
            with: { candidates: \"{{ inputs.nope }}\" }
        ",
        r#"
        t.workflow.yaml:6:5: `check_builtin` is only allowed on model steps
        t.workflow.yaml:12:20: unknown check builtin `requirements.citatons`
          hint: did you mean `requirements.citations`?
        t.workflow.yaml:18:20: builtin `core.echo` is not a check builtin (it does not judge a model's answer)
          hint: check builtins: `requirements.citations`
        t.workflow.yaml:25:13: `with` cannot set `answer` on a step with a `check_builtin`
          hint: the check builtin receives the model's answer as `answer`
        t.workflow.yaml:25:13: builtin `requirements.citations` requires input `candidates` in `with`
        t.workflow.yaml:25:24: builtin `requirements.citations` has no input `candidats`
          hint: did you mean `candidates`?
        t.workflow.yaml:33:25: step `e` reads undeclared input `nope`
          hint: declare it under `inputs:`
        7 errors
        "#,
    );
}

#[test]
fn budgets_must_be_positive() {
    check(
        "
        workflow: hello
        version: 1
        budget: { usd: 0, tokens: -5 }
        steps:
          - id: a
            builtin: file.append
            budget: { usd: cheap, tokens: 1.5 }
          - id: b
            builtin: file.append
            budget: { usd: '1' }
        ",
        "
        t.workflow.yaml:3:16: `usd` must be a positive number of US dollars, found `0`
        t.workflow.yaml:3:27: `tokens` must be a positive integer, found `-5`
        t.workflow.yaml:7:20: `usd` must be a positive number of US dollars, found `cheap`
        t.workflow.yaml:7:35: `tokens` must be a positive integer, found `1.5`
        t.workflow.yaml:10:20: `usd` must be a positive number of US dollars, found the string `1`
        5 errors
        ",
    );
}

/// Issue 18, bug 5: a USD budget that does not fit an exact decimal (`1e30`) was accepted as
/// an `f64` and became a $0 budget at run time (`Decimal::try_from(..).unwrap_or_default()`),
/// refusing every call. It is a validation error now, at its position.
#[test]
fn a_budget_beyond_exact_decimals_is_refused_at_validation() {
    check(
        "
        workflow: hello
        version: 1
        budget: { usd: 1.0e30 }
        steps:
          - id: a
            builtin: file.append
        ",
        "
        t.workflow.yaml:3:16: `usd` must be a positive number of US dollars, found `1e+30`
        1 error
        ",
    );
}

#[test]
fn model_step_details() {
    check(
        "
        workflow: hello
        version: 1
        steps:
          - id: a
            model:
              route: []
              escalate_on: [unsure, violaton]
              prompt: prompts/plain.md.j2
              output: schemas/draft.schema.json
              context_budget_tokens: 0
              max_output_tokens: many
        ",
        "
        t.workflow.yaml:6:14: `route` must list at least one model
        t.workflow.yaml:7:29: unknown escalation `violaton`
          hint: did you mean `violation`?
        t.workflow.yaml:10:30: `context_budget_tokens` must be a positive integer, found `0`
        t.workflow.yaml:11:26: `max_output_tokens` must be a positive integer, found `many`
        4 errors
        ",
    );
}

#[test]
fn steps_must_not_be_empty() {
    check(
        "
        workflow: hello
        version: 1
        steps: []
        ",
        "
        t.workflow.yaml:3:8: `steps` must list at least one step
        1 error
        ",
    );
}

#[test]
fn for_each_gives_item_and_index_to_its_step_only() {
    check(
        r#"
        workflow: each
        version: 1
        steps:
          - id: split
            builtin: core.echo
            with: { message: hi }
          - id: each
            for_each: "{{ steps.split.output.parts }}"
            builtin: core.echo
            with: { message: "{{ index }}: {{ item }}" }
          - id: after
            builtin: core.echo
            with: { message: "{{ item }}" }
        "#,
        "
        t.workflow.yaml:13:22: step `after` reads unknown variable `item`
          hint: templates can read: `inputs`, `steps`, `run`, `step`
        1 error
        ",
    );
}

#[test]
fn for_each_is_one_expression_on_a_builtin_or_model_step() {
    check(
        r#"
        workflow: each
        version: 1
        owners: { po: { role: product-owner } }
        steps:
          - id: a
            for_each: "parts: {{ inputs }}"
            builtin: core.echo
            with: { message: hi }
          - id: b
            for_each: "{{ [1, 2] }}"
            gate: { owner: po }
          - id: c
            for_each: "{{ item }}"
            builtin: core.echo
            with: { message: hi }
        "#,
        "
        t.workflow.yaml:6:15: `for_each` must be one `{{ expression }}` that gives a list
          hint: for example `for_each: \"{{ steps.topics.output.topics }}\"`
        t.workflow.yaml:10:15: `for_each` is only allowed on builtin and model steps
        t.workflow.yaml:13:15: step `c` reads unknown variable `item`
          hint: templates can read: `inputs`, `steps`, `run`, `step`
        3 errors
        ",
    );
}

#[test]
fn concurrency_is_a_bounded_count_on_a_for_each_step() {
    check(
        r#"
        workflow: each
        version: 1
        steps:
          - id: a
            for_each: "{{ [1, 2] }}"
            concurrency: 4
            builtin: core.echo
            with: { message: hi }
          - id: b
            concurrency: 2
            builtin: core.echo
            with: { message: hi }
          - id: c
            for_each: "{{ [1, 2] }}"
            concurrency: 65
            builtin: core.echo
            with: { message: hi }
          - id: d
            for_each: "{{ [1, 2] }}"
            concurrency: 0
            builtin: core.echo
            with: { message: hi }
        "#,
        "
        t.workflow.yaml:10:18: `concurrency` is only allowed on a step with `for_each`
          hint: add `for_each: \"{{ ... }}\"` or remove `concurrency`
        t.workflow.yaml:15:18: `concurrency` must be at most 64, found 65
        t.workflow.yaml:20:18: `concurrency` must be a positive integer, found `0`
        3 errors
        ",
    );
}

#[test]
fn with_cannot_set_what_the_runtime_gives_a_fallback() {
    check(
        "
        workflow: hello
        version: 1
        steps:
          - id: d
            model:
              route: [local/gemma-3-270m]
              prompt: prompts/plain.md.j2
              output: schemas/draft.schema.json
            fallback_builtin: requirements.template
            with: { rejected_answer: {} }
        ",
        r#"
        t.workflow.yaml:10:13: `with` cannot set `rejected_answer` on a model step
          hint: the runtime gives the fallback builtin the answer its check refused as `rejected_answer`
        1 error
        "#,
    );
}
