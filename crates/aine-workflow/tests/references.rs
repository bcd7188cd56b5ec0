//! Validation of what a workflow refers to: earlier steps, cycles, gate owners and reviews,
//! inputs read by templates, prompt and schema files, templates and conditions. Each test is a
//! workflow (inline YAML, with the fixture files of `common::FILES` next to it) and the exact
//! diagnostics it must produce.

mod common;

use common::check;

#[test]
fn needs_must_name_earlier_steps() {
    check(
        "
        workflow: hello
        version: 1
        steps:
          - id: a
            builtin: file.append
            needs: [b, nope, a]
          - id: b
            builtin: file.append
        ",
        "
        t.workflow.yaml:6:13: step `a` refers to later step `b`
          hint: a step can only use steps defined before it; move `b` above
        t.workflow.yaml:6:16: step `a` refers to missing step `nope`
          hint: defined steps: `a`, `b`
        t.workflow.yaml:6:22: step `a` refers to itself
        3 errors
        ",
    );
}

#[test]
fn template_references_must_name_earlier_steps() {
    check(
        "
        workflow: hello
        version: 1
        owners:
          po: { role: product-owner }
        steps:
          - id: a
            builtin: file.append
            with: { line: '{{ steps.b.output }} {{ steps.missing.output }}' }
          - id: b
            builtin: file.append
          - id: draft
            model:
              route: [local/gemma-3-270m]
              prompt: prompts/reads-review.md.j2
              output: schemas/draft.schema.json
          - id: review
            gate:
              owner: po
              when: steps.checks.outcome != 'ok'
        ",
        "
        t.workflow.yaml:8:19: step `a` refers to later step `b`
          hint: a step can only use steps defined before it; move `b` above
        t.workflow.yaml:8:19: step `a` refers to missing step `missing`
          hint: defined steps: `a`, `b`, `draft`, `review`
        t.workflow.yaml:14:15: step `draft` refers to later step `review`
          hint: a step can only use steps defined before it; move `review` above
        t.workflow.yaml:19:13: step `review` refers to missing step `checks`
          hint: defined steps: `a`, `b`, `draft`, `review`
        4 errors
        ",
    );
}

#[test]
fn dependency_cycles_are_reported_with_their_path() {
    check(
        "
        workflow: hello
        version: 1
        steps:
          - id: a
            builtin: file.append
            needs: [c]
          - id: b
            builtin: file.append
            with: { line: '{{ steps.a.output }}' }
          - id: c
            builtin: file.append
            needs: [b]
        ",
        "
        t.workflow.yaml:4:9: dependency cycle: a -> c -> b -> a
        t.workflow.yaml:6:13: step `a` refers to later step `c`
          hint: a step can only use steps defined before it; move `c` above
        2 errors
        ",
    );
}

#[test]
fn hyphenated_step_ids_get_a_subscript_hint() {
    check(
        "
        workflow: hello
        version: 1
        steps:
          - id: read-notes
            builtin: file.append
          - id: b
            builtin: file.append
            with:
              path: '{{ steps.read-notes.output }}'
              line: '{{ steps[\"read-notes\"].output }}'
        ",
        "
        t.workflow.yaml:9:13: step `b` reads unknown variable `notes`
          hint: templates can read: `inputs`, `steps`, `run`, `step`
        t.workflow.yaml:9:13: step `b` refers to missing step `read`
          hint: to read a step whose id contains `-` or `.`, write `steps[\"read-notes\"]`
        2 errors
        ",
    );
}

#[test]
fn gates_review_earlier_non_gate_steps() {
    check(
        "
        workflow: hello
        version: 1
        owners:
          po: { role: product-owner }
        steps:
          - id: first
            gate: { owner: po, reviews: later }
          - id: second
            gate: { owner: po, reviews: first }
          - id: third
            gate: { owner: po, reviews: nowhere }
          - id: later
            builtin: file.append
        ",
        "
        t.workflow.yaml:7:33: gate `first` reviews later step `later`
          hint: a gate reviews an earlier step
        t.workflow.yaml:9:33: gate `second` reviews gate `first`: only builtin and model steps have output to review
        t.workflow.yaml:11:33: gate `third` reviews missing step `nowhere`
          hint: defined steps: `first`, `later`, `second`, `third`
        3 errors
        ",
    );
}

#[test]
fn gate_owners_must_be_defined() {
    check(
        "
        workflow: hello
        version: 1
        owners:
          product-owner: { role: product-owner }
          qa: { role: tester }
        steps:
          - id: a
            builtin: file.append
          - id: b
            gate: { owner: product-ownr }
          - id: c
            gate: { when: 'true' }
        ",
        "
        t.workflow.yaml:10:20: gate `b` has unknown owner `product-ownr`
          hint: did you mean `product-owner`?
        t.workflow.yaml:12:13: missing required key `owner` in `gate`
        2 errors
        ",
    );
}

#[test]
fn gate_owner_without_any_owners_defined() {
    check(
        "
        workflow: hello
        version: 1
        steps:
          - id: a
            builtin: file.append
          - id: b
            gate: { owner: po }
        ",
        "
        t.workflow.yaml:7:20: gate `b` has unknown owner `po`
          hint: define it under `owners:`, e.g. `po: { role: po }`
        1 error
        ",
    );
}

#[test]
fn invalid_input_schemas_point_at_the_offending_keyword() {
    check(
        "
        workflow: hello
        version: 1
        inputs:
          sources:
            type: array
            items: { type: strin }
          count: { type: integer, minimum: lots }
        steps:
          - id: a
            builtin: file.append
        ",
        "
        t.workflow.yaml:6:20: invalid json schema for input `sources` at /items/type: \"strin\" is not valid under any of the schemas listed in the 'anyOf' keyword
        t.workflow.yaml:7:36: invalid json schema for input `count` at /minimum: \"lots\" is not of type \"number\"
        2 errors
        ",
    );
}

#[test]
fn invalid_output_schema_files_point_into_the_file() {
    check(
        "
        workflow: hello
        version: 1
        steps:
          - id: a
            model:
              route: [local/gemma-3-270m]
              prompt: prompts/plain.md.j2
              output: schemas/bad.schema.json
          - id: b
            model:
              route: [local/gemma-3-270m]
              prompt: prompts/plain.md.j2
              output: schemas/broken.json
        ",
        "
        schemas/bad.schema.json:4:19: invalid json schema for the output of step `a` at /properties/x/type: 5 is not valid under any of the schemas listed in the 'anyOf' keyword
        schemas/broken.json:3:3: invalid json: key must be a string
        2 errors
        ",
    );
}

#[test]
fn missing_prompt_and_output_files() {
    check(
        "
        workflow: hello
        version: 1
        steps:
          - id: a
            model:
              route: [local/gemma-3-270m]
              prompt: prompts/nope.md.j2
              output: schemas/nope.json
        ",
        "
        t.workflow.yaml:7:15: prompt file `prompts/nope.md.j2` not found
          hint: paths are relative to the workflow file's directory; looked for prompts/nope.md.j2
        t.workflow.yaml:8:15: schema file `schemas/nope.json` not found
          hint: paths are relative to the workflow file's directory; looked for schemas/nope.json
        2 errors
        ",
    );
}

#[test]
fn templates_and_conditions_that_do_not_compile() {
    check(
        "
        workflow: hello
        version: 1
        owners:
          po: { role: product-owner }
        steps:
          - id: ingest
            builtin: file.append
            with:
              line: '{{ inputs.x'
              path: |
                first line
                {% if %}
          - id: draft
            model:
              route: [local/gemma-3-270m]
              prompt: prompts/broken.md.j2
              output: schemas/draft.schema.yaml
          - id: review
            gate: { owner: po, when: 'steps.draft.output |' }
        ",
        "
        t.workflow.yaml:9:13: template does not compile: syntax error: unexpected end of input, expected end of variable block
        t.workflow.yaml:11:9: template does not compile: syntax error: unexpected end of block (line 2 of the template)
        t.workflow.yaml:19:30: condition does not compile: syntax error: unexpected end of input, expected identifier
        prompts/broken.md.j2:2:26: template does not compile: syntax error: unexpected end of input, expected end of variable block
        4 errors
        ",
    );
}

#[test]
fn templates_read_declared_inputs_and_known_variables() {
    check(
        "
        workflow: hello
        version: 1
        inputs:
          sources: { type: array }
        steps:
          - id: a
            builtin: file.append
            with: { line: '{{ inputs.source }} {{ input.sources }} {{ run.id }}' }
        ",
        "
        t.workflow.yaml:8:19: step `a` reads undeclared input `source`
          hint: did you mean `sources`?
        t.workflow.yaml:8:19: step `a` reads unknown variable `input`
          hint: did you mean `inputs`?
        2 errors
        ",
    );
}
