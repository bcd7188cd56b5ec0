//! Model steps: escalation, retries, budgets, fallback builtins, check builtins and crash
//! replay, with a scripted fake model provider (`aine_runtime::testing::ScriptedModel`: it
//! answers from a script and counts calls; the real providers are tested against real HTTP
//! servers in aine-models, and a check builtin end to end over HTTP in aine-cli's
//! `draft_check` test).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers"
)]

use std::sync::Arc;

use aine_models::{ChatModel, ModelPrice};
use aine_runtime::testing::{Reply, ScriptedModel, scripted_models};
use aine_runtime::{Config, Quiet, Runtime, SystemClock};
use aine_store::{Store, StoreOptions};
use aine_types::{CallResult, Event, RunStatus};
use proptest::prelude::*;
use serde_json::json;
use tempfile::TempDir;

fn scripted(name: &str, replies: &[Reply]) -> Arc<ScriptedModel> {
    Arc::new(ScriptedModel::new(name, replies.iter().cloned()))
}

/// Model `t/m` answering `replies`, each call only once `together` calls are in flight (when
/// set) and after `hold`.
fn timed(
    replies: &[Reply],
    together: Option<usize>,
    hold: std::time::Duration,
) -> Arc<ScriptedModel> {
    let model = ScriptedModel::new("t/m", replies.iter().cloned()).holding(hold);
    Arc::new(match together {
        Some(n) => model.together(n),
        None => model,
    })
}

const SCHEMA: &str = r#"{"type":"object","properties":{"title":{"type":"string","maxLength":40}},"required":["title"],"additionalProperties":false}"#;

fn workflow(route: &str, extra_step: &str, budget: &str) -> String {
    format!(
        "workflow: m\nversion: 1\n{budget}steps:\n  - id: draft\n    model:\n      route: [{route}]\n      prompt: p.j2\n      output: s.json\n      max_output_tokens: 50\n{extra_step}"
    )
}

/// A runtime whose models are the given scripted ones, priced at `usd_per_mtok` in and out.
async fn setup(
    workflow: &str,
    models: &[Arc<ScriptedModel>],
    usd_per_mtok: &str,
) -> (TempDir, Runtime) {
    setup_with_clock(workflow, models, usd_per_mtok, Arc::new(SystemClock)).await
}

/// The system's time, but waits return at once and are recorded (retry backoff).
#[derive(Debug, Default)]
struct NoWaitClock {
    waits: std::sync::Mutex<Vec<std::time::Duration>>,
}

impl aine_runtime::Clock for NoWaitClock {
    fn now_ms(&self) -> i64 {
        SystemClock.now_ms()
    }
    fn sleep(
        &self,
        duration: std::time::Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        self.waits.lock().unwrap().push(duration);
        Box::pin(std::future::ready(()))
    }
}

async fn setup_with_clock(
    workflow: &str,
    models: &[Arc<ScriptedModel>],
    usd_per_mtok: &str,
    clock: Arc<dyn aine_runtime::Clock>,
) -> (TempDir, Runtime) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("wf.workflow.yaml"), workflow).unwrap();
    std::fs::write(
        dir.path().join("p.j2"),
        "Give a title for run {{ run.id }}.",
    )
    .unwrap();
    std::fs::write(dir.path().join("s.json"), SCHEMA).unwrap();
    let config = Config::defaults(dir.path());
    let store = Store::open(&config.database, &StoreOptions::default())
        .await
        .unwrap();
    let price: rust_decimal::Decimal = usd_per_mtok.parse().unwrap();
    let models = scripted_models(models, Some(ModelPrice::flat(price, price, None)));
    let rt = Runtime::new(store, Arc::new(registry()), Arc::new(config), clock)
        .with_models(Arc::new(models));
    (dir, rt)
}

async fn run_once(dir: &TempDir, rt: &Runtime) -> (aine_types::RunId, aine_runtime::RunSummary) {
    let run = rt
        .start(&dir.path().join("wf.workflow.yaml"), json!({}))
        .await
        .unwrap()
        .id();
    let summary = rt.drive(&run, &Quiet).await.unwrap();
    (run, summary)
}

fn calls(journal: &[aine_types::JournalEntry]) -> Vec<(String, String, String)> {
    journal
        .iter()
        .filter_map(|e| match &e.event {
            Event::ModelCalled {
                model,
                reason,
                result,
                ..
            } => Some((
                model.clone(),
                reason.clone(),
                match result {
                    CallResult::Answered { verdict, .. } => verdict.clone(),
                    CallResult::ProviderError { kind, .. } => kind.clone(),
                    CallResult::BudgetRefused { .. } => "budget".into(),
                },
            )),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn unsure_and_prose_escalate_along_the_route() {
    let small = scripted(
        "t/small",
        &[Reply::Text(r#"{"unsure": {"reason": "too vague"}}"#)],
    );
    let mid = scripted("t/mid", &[Reply::Text("Sure! Here is a title: Hello")]);
    let big = scripted(
        "t/big",
        &[Reply::Text("```json\n{\"title\": \"Hello\",}\n```")],
    );
    let (dir, rt) = setup(
        &workflow("t/small, t/mid, t/big", "", ""),
        &[small, mid, big],
        "1",
    )
    .await;
    let (run, summary) = run_once(&dir, &rt).await;
    assert_eq!(summary.status, RunStatus::Succeeded);
    let journal = rt.store().journal(&run).await.unwrap();
    let c = calls(&journal);
    assert_eq!(c.len(), 3, "{c:?}");
    assert_eq!(
        c[0],
        (
            "t/small".into(),
            "first model of the route".into(),
            "unsure".into()
        )
    );
    assert!(
        c[1].1
            .starts_with("escalated after unsure (too vague) from `t/small`"),
        "{c:?}"
    );
    assert_eq!(c[1].2, "violation");
    assert!(
        c[2].1
            .starts_with("escalated after a contract violation from `t/mid`"),
        "{c:?}"
    );
    let view = rt.view(&run).await.unwrap();
    assert_eq!(view.steps[0].output, Some(json!({"title": "Hello"})));
    assert_eq!(view.spend.tokens(), 360);
    assert_eq!(view.spend.usd.to_string(), "$0.00036");
    let escalations = rt
        .store()
        .audit_log(0, None)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "model.escalated")
        .count();
    assert_eq!(escalations, 2);
}

/// Retries wait through the runtime's clock (issue 18): the provider's `Retry-After` as sent,
/// else `RETRY_POLICY`'s jittered backoff (500 ms, then 1 s, each scaled by 0.5 to 1); no real
/// time passes here.
#[tokio::test]
async fn provider_errors_retry_then_fall_back() {
    let flaky = scripted(
        "t/flaky",
        &[Reply::RateLimited, Reply::Text(r#"{"title": "ok"}"#)],
    );
    let clock = Arc::new(NoWaitClock::default());
    let (dir, rt) = setup_with_clock(
        &workflow("t/flaky", "", ""),
        std::slice::from_ref(&flaky),
        "0",
        clock.clone(),
    )
    .await;
    let (run, summary) = run_once(&dir, &rt).await;
    assert_eq!(summary.status, RunStatus::Succeeded);
    let c = calls(&rt.store().journal(&run).await.unwrap());
    assert_eq!(c[0].2, "rate_limited");
    assert!(
        c[1].1
            .starts_with("retry 1 on `t/flaky` after rate_limited"),
        "{c:?}"
    );

    let down = scripted(
        "t/down",
        &[Reply::ServerError, Reply::ServerError, Reply::ServerError],
    );
    assert_eq!(
        *clock.waits.lock().unwrap(),
        [std::time::Duration::from_millis(1)],
        "the Retry-After the provider sent"
    );

    let backup = scripted("t/backup", &[Reply::Text(r#"{"title": "backup"}"#)]);
    let clock = Arc::new(NoWaitClock::default());
    let (dir, rt) = setup_with_clock(
        &workflow("t/down, t/backup", "", ""),
        &[down.clone(), backup],
        "0",
        clock.clone(),
    )
    .await;
    let (run, summary) = run_once(&dir, &rt).await;
    assert_eq!(summary.status, RunStatus::Succeeded);
    assert_eq!(down.calls(), 3, "one call and two retries");
    let c = calls(&rt.store().journal(&run).await.unwrap());
    assert!(
        c[3].1
            .starts_with("fallback after `t/down` failed (server_error)"),
        "{c:?}"
    );
    let waits = clock.waits.lock().unwrap().clone();
    assert_eq!(waits.len(), 2, "{waits:?}");
    let ms = |d: std::time::Duration| d.as_millis();
    assert!((250..=500).contains(&ms(waits[0])), "{waits:?}");
    assert!((500..=1000).contains(&ms(waits[1])), "{waits:?}");
}

/// Issue 14: a panic inside a step ends the step `failed` with the reason, and the run `failed`,
/// instead of leaving it `running` (or, over HTTP, dropping the connection).
#[tokio::test]
async fn a_panic_inside_a_step_fails_the_step_with_the_reason() {
    let buggy = scripted("t/buggy", &[Reply::Panic]);
    let (dir, rt) = setup(&workflow("t/buggy", "", ""), &[buggy], "0").await;
    let (run, summary) = run_once(&dir, &rt).await;
    assert_eq!(summary.status, RunStatus::Failed);
    let view = rt.view(&run).await.unwrap();
    let error = view.steps[0].error.clone().unwrap();
    assert!(
        error.contains(
            "aine stopped unexpectedly in this step (index out of bounds in the provider)"
        ),
        "{error}"
    );
    // The run is finished: resuming has nothing to do.
    assert!(rt.resume(&run, &Quiet).await.is_err());
}

#[tokio::test]
async fn a_call_that_could_exceed_the_budget_is_not_made() {
    // 1,000,000 USD per million tokens: any call's worst case is far over a 0.01 USD budget.
    let pricey = scripted("t/pricey", &[Reply::Text(r#"{"title": "never"}"#)]);
    let wf = workflow("t/pricey", "    budget: { usd: 0.01 }\n", "");
    let (dir, rt) = setup(&wf, std::slice::from_ref(&pricey), "1000000").await;
    let (run, summary) = run_once(&dir, &rt).await;
    assert_eq!(summary.status, RunStatus::Failed);
    assert_eq!(pricey.calls(), 0);
    let view = rt.view(&run).await.unwrap();
    assert!(
        view.steps[0]
            .error
            .as_deref()
            .unwrap()
            .starts_with("budget: step budget $0.01"),
        "{:?}",
        view.steps[0]
    );
    assert_eq!(view.spend.usd.to_string(), "$0");
    let refusals = rt
        .store()
        .audit_log(0, None)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "budget.refused")
        .count();
    assert_eq!(refusals, 1);

    // With a fallback builtin the step still produces an answer, deterministically.
    let wf = workflow(
        "t/pricey",
        "    budget: { usd: 0.01 }\n    fallback_builtin: core.echo\n    with: { message: \"drafted without a model\" }\n",
        "",
    );
    let (dir, rt) = setup(&wf, &[scripted("t/pricey", &[])], "1000000").await;
    let (run, summary) = run_once(&dir, &rt).await;
    assert_eq!(summary.status, RunStatus::Succeeded);
    let view = rt.view(&run).await.unwrap();
    assert_eq!(
        view.steps[0].output,
        Some(json!({"message": "drafted without a model"}))
    );
    assert!(
        view.steps[0]
            .why
            .as_deref()
            .unwrap()
            .contains("as fallback: budget"),
        "{:?}",
        view.steps[0].why
    );
}

#[tokio::test]
async fn a_journaled_answer_is_never_requested_again_after_a_crash() {
    let model = scripted("t/m", &[Reply::Text(r#"{"title": "first"}"#)]);
    let (dir, rt) = setup(&workflow("t/m", "", ""), std::slice::from_ref(&model), "1").await;
    let run = rt
        .start(&dir.path().join("wf.workflow.yaml"), json!({}))
        .await
        .unwrap()
        .id();
    // The process died after the model answered and the call was journaled, before the step
    // finished: the journal has StepStarted and ModelCalled only.
    let step = aine_types::StepId::new("draft").unwrap();
    let events = [
        Event::StepStarted {
            step: step.clone(),
            attempt: 1,
        },
        Event::ModelCalled {
            step,
            call: 1,
            element: None,
            model: "t/m".into(),
            provider: "scripted".into(),
            reason: "first model of the route".into(),
            result: CallResult::Answered {
                text: r#"{"title": "paid for already"}"#.into(),
                response_model: None,
                finish_reason: None,
                verdict: "ok".into(),
                detail: None,
            },
            spend: aine_types::Spend {
                input_tokens: 100,
                output_tokens: 20,
                usd: aine_types::Usd(rust_decimal::Decimal::new(12, 5)),
            },
            latency_ms: 5,
        },
    ];
    rt.store().append(&run, 2, &events, 0).await.unwrap();
    let summary = rt.resume(&run, &Quiet).await.unwrap();
    assert_eq!(summary.status, RunStatus::Succeeded);
    assert_eq!(model.calls(), 0, "the journaled answer was reused");
    let view = rt.view(&run).await.unwrap();
    assert_eq!(
        view.steps[0].output,
        Some(json!({"title": "paid for already"}))
    );
    assert_eq!(view.steps[0].attempts, 2);
    assert_eq!(view.spend.usd.to_string(), "$0.00012");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    /// Random routes, prices, budgets and answers: spend never exceeds a step or run budget.
    #[test]
    fn spend_never_exceeds_any_budget(
        route_len in 1usize..4,
        price in 0u32..2_000_000,
        step_budget_micro in 1u32..100_000,
        run_budget_micro in 1u32..100_000,
        answers in prop::collection::vec(0u8..4, 8),
    ) {
        let rt_async = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt_async.block_on(async {
            let replies: Vec<Reply> = answers
                .iter()
                .map(|a| match a {
                    0 => Reply::Text(r#"{"title": "ok"}"#),
                    1 => Reply::Text(r#"{"unsure": {"reason": "?"}}"#),
                    2 => Reply::Text("no json here"),
                    _ => Reply::ServerError,
                })
                .collect();
            let models: Vec<Arc<ScriptedModel>> = (0..route_len)
                .map(|i| scripted(&format!("t/m{i}"), &replies))
                .collect();
            let route = models.iter().map(|m| m.name().to_owned()).collect::<Vec<_>>().join(", ");
            let step_usd = f64::from(step_budget_micro) / 1e6;
            let run_usd = f64::from(run_budget_micro) / 1e6;
            let wf = workflow(&route, &format!("    budget: {{ usd: {step_usd} }}\n"), &format!("budget: {{ usd: {run_usd} }}\n"));
            let (dir, rt) = setup(&wf, &models, &price.to_string()).await;
            let (run, summary) = run_once(&dir, &rt).await;
            prop_assert!(summary.status.is_terminal());
            let spent = rt.view(&run).await.unwrap().spend.usd.0;
            let limit = rust_decimal::Decimal::try_from(step_usd.min(run_usd)).unwrap();
            prop_assert!(spent <= limit, "spent {spent} over budget {limit}");
            Ok(())
        })?;
    }
}

#[tokio::test]
async fn an_exhausted_route_runs_the_fallback_instead_of_failing() {
    let bad = scripted("t/bad", &[Reply::Text("no json at all")]);
    let wf = workflow(
        "t/bad",
        "    fallback_builtin: core.echo\n    with: { message: \"template draft\" }\n",
        "",
    );
    let (dir, rt) = setup(&wf, &[bad], "0").await;
    let (run, summary) = run_once(&dir, &rt).await;
    assert_eq!(summary.status, RunStatus::Succeeded);
    let view = rt.view(&run).await.unwrap();
    assert_eq!(
        view.steps[0].output,
        Some(json!({"message": "template draft"}))
    );
    // A draft the fallback wrote is never `ok` (DESIGN.md, "Words").
    assert_eq!(view.steps[0].state, "fallback");
    let why = view.steps[0].why.as_deref().unwrap();
    assert!(
        why.contains(
            "as fallback: no model in the route gave a usable answer: `t/bad`: a contract violation"
        ),
        "{why}"
    );
}

#[tokio::test]
async fn an_over_budget_prompt_is_packed_by_whole_items_and_says_so() {
    let model = scripted("t/small", &[Reply::Text(r#"{"title": "Packed"}"#)]);
    let (dir, rt) = setup(&workflow("t/small", "", ""), &[model], "1").await;
    std::fs::write(
        dir.path().join("wf.workflow.yaml"),
        "workflow: m\nversion: 1\ninputs:\n  items: { type: array, items: { type: string } }\nsteps:\n  - id: draft\n    model:\n      route: [t/small]\n      prompt: p.j2\n      output: s.json\n      max_output_tokens: 50\n      context_budget_tokens: 120\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("p.j2"),
        "Title these:\n{% for i in inputs['items'] %}- {{ i }}\n{% endfor %}",
    )
    .unwrap();
    let items: Vec<String> = (0..40)
        .map(|i| format!("stakeholder sentence number {i} about the remote control"))
        .collect();
    let started = rt
        .start(
            &dir.path().join("wf.workflow.yaml"),
            json!({ "items": items }),
        )
        .await
        .unwrap();
    let run = started.id();
    let summary = rt.drive_started(started, &Quiet).await.unwrap();
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    let view = rt.view(&run).await.unwrap();
    let why = view.steps[0].why.clone().unwrap();
    assert!(why.contains("answered by `t/small`"), "{why}");
    let kept: usize = why
        .split("kept the first ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no packing note in {why}"));
    assert!(kept > 0 && kept < 40, "{why}");
    assert!(
        why.contains(&format!(
            "kept the first {kept} of 40 items of `inputs.items`"
        )),
        "{why}"
    );
    // The kept prefix fits and one more item would not.
    let prompt = |n: usize| {
        let mut p = "Title these:\n".to_owned();
        for i in items.iter().take(n) {
            p.push_str(&format!("- {i}\n"));
        }
        aine_models::estimate_tokens(&p)
    };
    assert!(prompt(kept) <= 120 && prompt(kept + 1) > 120, "{why}");
}

/// Input of `test.titles`: the answer of the `{"title": ...}` contract and the allowed titles.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct TitlesInput {
    answer: serde_json::Value,
    allowed: Vec<String>,
}

/// Input of `test.first_title`, the fallback sharing `test.titles`' `with`.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct FirstTitleInput {
    allowed: Vec<String>,
}

/// The core builtins, the check builtin `test.titles` (the answer's title must be one of
/// `allowed`) and the fallback `test.first_title` (answers the first allowed title).
fn registry() -> aine_runtime::Registry {
    let mut registry = aine_runtime::core_registry().unwrap();
    registry
        .register_check(
            "test.titles",
            "the title must be one of `allowed`",
            |input: TitlesInput, _: &aine_runtime::BuiltinContext| {
                let title = input.answer["title"].as_str().unwrap_or("");
                Ok(if input.allowed.iter().any(|a| a == title) {
                    Vec::new()
                } else {
                    vec![format!(
                        "title `{title}` is not one of the {} allowed titles",
                        input.allowed.len()
                    )]
                })
            },
        )
        .unwrap();
    registry
        .register(
            "test.first_title",
            "answers the first allowed title",
            |input: FirstTitleInput, _: &aine_runtime::BuiltinContext| {
                Ok(json!({ "title": input.allowed.first().cloned().unwrap_or_default() }))
            },
        )
        .unwrap();
    registry
}

const CHECKED: &str = "    check_builtin: test.titles\n    with: { allowed: [Hello, World] }\n";

#[tokio::test]
async fn a_check_builtin_turns_a_contract_valid_answer_into_a_violation_and_escalates() {
    let small = scripted("t/small", &[Reply::Text(r#"{"title": "Copied"}"#)]);
    let big = scripted("t/big", &[Reply::Text(r#"{"title": "World"}"#)]);
    let (dir, rt) = setup(&workflow("t/small, t/big", CHECKED, ""), &[small, big], "1").await;
    let (run, summary) = run_once(&dir, &rt).await;
    assert_eq!(summary.status, RunStatus::Succeeded);
    let journal = rt.store().journal(&run).await.unwrap();
    let c = calls(&journal);
    assert_eq!(
        c,
        [
            (
                "t/small".to_owned(),
                "first model of the route".to_owned(),
                "violation".to_owned()
            ),
            (
                "t/big".to_owned(),
                "escalated after a contract violation from `t/small`: check `test.titles`: title `Copied` is not one of the 2 allowed titles".to_owned(),
                "ok".to_owned()
            ),
        ]
    );
    let detail = journal.iter().find_map(|e| match &e.event {
        Event::ModelCalled {
            result: CallResult::Answered { detail, .. },
            ..
        } => detail.clone(),
        _ => None,
    });
    assert_eq!(
        detail.as_deref(),
        Some("check `test.titles`: title `Copied` is not one of the 2 allowed titles")
    );
    let view = rt.view(&run).await.unwrap();
    assert_eq!(view.steps[0].output, Some(json!({"title": "World"})));
    assert!(
        view.steps[0]
            .why
            .as_deref()
            .unwrap()
            .starts_with("answered by `t/big` (escalated after a contract violation from `t/small`: check `test.titles`"),
        "{:?}",
        view.steps[0].why
    );
}

#[tokio::test]
async fn when_every_answer_fails_its_check_the_fallback_drafts_and_says_why() {
    let small = scripted("t/small", &[Reply::Text(r#"{"title": "Copied"}"#)]);
    let big = scripted("t/big", &[Reply::Text(r#"{"title": "Also copied"}"#)]);
    let wf = workflow(
        "t/small, t/big",
        "    check_builtin: test.titles\n    fallback_builtin: test.first_title\n    with: { allowed: [Hello, World] }\n",
        "",
    );
    let (dir, rt) = setup(&wf, &[small, big], "1").await;
    let (run, summary) = run_once(&dir, &rt).await;
    assert_eq!(summary.status, RunStatus::Succeeded);
    let view = rt.view(&run).await.unwrap();
    assert_eq!(view.steps[0].output, Some(json!({"title": "Hello"})));
    assert_eq!(
        view.steps[0].why.as_deref(),
        Some(
            "builtin `test.first_title` as fallback: no model in the route gave a usable answer: \
             `t/small`: a contract violation (check `test.titles`: title `Copied` is not one of the 2 allowed titles); \
             `t/big`: a contract violation (check `test.titles`: title `Also copied` is not one of the 2 allowed titles)"
        )
    );
    // Without a fallback, the last violation is the step's outcome, with the check's errors.
    let small = scripted("t/small", &[Reply::Text(r#"{"title": "Copied"}"#)]);
    let (dir, rt) = setup(&workflow("t/small", CHECKED, ""), &[small], "1").await;
    let (run, summary) = run_once(&dir, &rt).await;
    assert_eq!(summary.status, RunStatus::Failed);
    let outcome = rt
        .store()
        .journal(&run)
        .await
        .unwrap()
        .into_iter()
        .find_map(|e| match e.event {
            Event::StepFinished { outcome, .. } => Some(outcome),
            _ => None,
        });
    assert_eq!(
        outcome,
        Some(aine_types::Outcome::Violation {
            errors: vec![
                "check `test.titles`: title `Copied` is not one of the 2 allowed titles".into()
            ]
        })
    );
}

#[tokio::test]
async fn an_answer_the_check_cannot_read_is_a_violation_too() {
    // `test.titles` needs `allowed`; a `with` that renders it as a string breaks the check's
    // input contract, so no answer can pass.
    let small = scripted("t/small", &[Reply::Text(r#"{"title": "Hello"}"#)]);
    let wf = workflow(
        "t/small",
        "    check_builtin: test.titles\n    with: { allowed: \"Hello\" }\n",
        "",
    );
    let (dir, rt) = setup(&wf, &[small], "1").await;
    let (run, summary) = run_once(&dir, &rt).await;
    assert_eq!(summary.status, RunStatus::Failed);
    let c = calls(&rt.store().journal(&run).await.unwrap());
    assert_eq!(c[0].2, "violation", "{c:?}");
    let view = rt.view(&run).await.unwrap();
    let error = view.steps[0].error.clone().unwrap_or_default();
    assert!(
        error.contains("check `test.titles` could not judge the answer: input of `test.titles` breaks its contract"),
        "{error}"
    );
}

#[tokio::test]
async fn a_replayed_answer_is_judged_by_the_check_again() {
    let small = scripted("t/small", &[Reply::Text(r#"{"title": "Hello"}"#)]);
    let big = scripted("t/big", &[Reply::Text(r#"{"title": "World"}"#)]);
    let (dir, rt) = setup(
        &workflow("t/small, t/big", CHECKED, ""),
        &[small.clone(), big.clone()],
        "1",
    )
    .await;
    let _ = rt
        .start(&dir.path().join("wf.workflow.yaml"), json!({}))
        .await
        .unwrap();
    let run = rt.recover_unfinished().await.unwrap()[0].0;
    // The process died after the small model's answer was journaled: an answer that passes
    // the contract but not the check (journaled as a violation).
    let step = aine_types::StepId::new("draft").unwrap();
    let events = [
        Event::StepStarted {
            step: step.clone(),
            attempt: 1,
        },
        Event::ModelCalled {
            step,
            call: 1,
            element: None,
            model: "t/small".into(),
            provider: "scripted".into(),
            reason: "first model of the route".into(),
            result: CallResult::Answered {
                text: r#"{"title": "Copied"}"#.into(),
                response_model: None,
                finish_reason: None,
                verdict: "violation".into(),
                detail: Some(
                    "check `test.titles`: title `Copied` is not one of the 2 allowed titles".into(),
                ),
            },
            spend: aine_types::Spend::default(),
            latency_ms: 5,
        },
    ];
    rt.store().append(&run, 2, &events, 0).await.unwrap();
    let summary = rt.resume(&run, &Quiet).await.unwrap();
    assert_eq!(summary.status, RunStatus::Succeeded);
    // Judged again on replay: still a violation, so the route went on to the big model, and
    // the small one was not asked again.
    assert_eq!(small.calls(), 0);
    assert_eq!(big.calls(), 1);
    let view = rt.view(&run).await.unwrap();
    assert_eq!(view.steps[0].output, Some(json!({"title": "World"})));
}

/// A checked, fallback-backed model step over three elements (`for_each`), then a builtin step
/// that reads what the elements came to.
fn for_each_workflow(budget: &str) -> String {
    workflow(
        "t/m",
        &format!(
            "    for_each: \"{{{{ ['a', 'b', 'c'] }}}}\"\n{budget}{CHECKED_WITH_FALLBACK}  - id: tally\n    builtin: core.echo\n    with: {{ message: \"{{{{ steps.draft.outcomes.ok }}}} ok, {{{{ steps.draft.outcomes.fallback }}}} fallback\" }}\n"
        ),
        "",
    )
}

const CHECKED_WITH_FALLBACK: &str = "    check_builtin: test.titles\n    fallback_builtin: test.first_title\n    with: { allowed: [Hello, World] }\n";

#[tokio::test]
async fn a_for_each_step_runs_each_element_through_the_route_and_ends_with_the_worst() {
    // Element 0 answers within the check, element 1 breaks it (the fallback writes it), element
    // 2 answers.
    let model = scripted(
        "t/m",
        &[
            Reply::Text(r#"{"title": "World"}"#),
            Reply::Text(r#"{"title": "Copied"}"#),
            Reply::Text(r#"{"title": "Hello"}"#),
        ],
    );
    let (dir, rt) = setup(&for_each_workflow(""), std::slice::from_ref(&model), "1").await;
    let (run, summary) = run_once(&dir, &rt).await;
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    let view = rt.view(&run).await.unwrap();
    let draft = &view.steps[0];
    assert_eq!(draft.state, "fallback");
    assert_eq!(
        draft.output,
        Some(json!([{"title": "World"}, {"title": "Hello"}, {"title": "Hello"}]))
    );
    assert_eq!(
        draft.why.as_deref(),
        Some("for_each over 3 elements: 2 ok, 1 fallback")
    );
    let outcomes: Vec<(u32, u32, &str)> = draft
        .elements
        .iter()
        .map(|e| (e.element, e.of, e.outcome.as_str()))
        .collect();
    assert_eq!(outcomes, [(0, 3, "ok"), (1, 3, "fallback"), (2, 3, "ok")]);
    assert!(
        draft.elements[1]
            .why
            .contains("title `Copied` is not one of the 2 allowed titles")
    );
    let elements: Vec<Option<u32>> = draft.calls.iter().map(|c| c.element).collect();
    assert_eq!(elements, [Some(0), Some(1), Some(2)]);
    assert_eq!(model.calls(), 3);
    assert_eq!(
        view.steps[1].output,
        Some(json!({"message": "2 ok, 1 fallback"}))
    );
}

#[tokio::test]
async fn a_builtin_for_each_step_sees_item_and_index() {
    let wf = "workflow: m\nversion: 1\nsteps:\n  - id: each\n    for_each: \"{{ ['x', 'y'] }}\"\n    builtin: core.echo\n    with: { message: \"{{ index }}={{ item }}\" }\n";
    let (dir, rt) = setup(wf, &[], "1").await;
    let (run, summary) = run_once(&dir, &rt).await;
    assert_eq!(summary.status, RunStatus::Succeeded);
    let view = rt.view(&run).await.unwrap();
    assert_eq!(view.steps[0].state, "ok");
    assert_eq!(
        view.steps[0].output,
        Some(json!([{"message": "0=x"}, {"message": "1=y"}]))
    );
}

#[tokio::test]
async fn a_crash_inside_a_for_each_step_resumes_only_the_unfinished_elements() {
    // The journal holds element 0 finished and element 1's answer paid for; only element 2 may
    // call the model again.
    // With two elements in flight, element 1 replays its answer while element 2 calls.
    let model = scripted("t/m", &[Reply::Text(r#"{"title": "World"}"#)]);
    let (dir, rt) = setup(
        &for_each_workflow("    concurrency: 2\n"),
        std::slice::from_ref(&model),
        "1",
    )
    .await;
    let run = rt
        .start(&dir.path().join("wf.workflow.yaml"), json!({}))
        .await
        .unwrap()
        .id();
    let step = aine_types::StepId::new("draft").unwrap();
    let answered = |call: u32, element: u32, text: &str| Event::ModelCalled {
        step: step.clone(),
        call,
        element: Some(element),
        model: "t/m".into(),
        provider: "scripted".into(),
        reason: "first model of the route".into(),
        result: CallResult::Answered {
            text: text.into(),
            response_model: None,
            finish_reason: None,
            verdict: "ok".into(),
            detail: None,
        },
        spend: aine_types::Spend {
            input_tokens: 100,
            output_tokens: 20,
            usd: aine_types::Usd(rust_decimal::Decimal::new(12, 5)),
        },
        latency_ms: 5,
    };
    let events = [
        Event::StepStarted {
            step: step.clone(),
            attempt: 1,
        },
        answered(1, 0, r#"{"title": "Hello"}"#),
        Event::ElementFinished {
            step: step.clone(),
            element: 0,
            of: 3,
            outcome: aine_types::Outcome::Ok {
                value: json!({"title": "Hello"}),
            },
            why: "answered by `t/m` (first model of the route)".into(),
            duration_ms: 5,
        },
        answered(2, 1, r#"{"title": "Hello"}"#),
    ];
    rt.store().append(&run, 2, &events, 0).await.unwrap();
    let summary = rt.resume(&run, &Quiet).await.unwrap();
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    assert_eq!(model.calls(), 1, "one new call, for element 2");
    let view = rt.view(&run).await.unwrap();
    assert_eq!(view.steps[0].state, "ok");
    assert_eq!(
        view.steps[0].output,
        Some(json!([{"title": "Hello"}, {"title": "Hello"}, {"title": "World"}]))
    );
    let calls: Vec<(u32, Option<u32>)> = view.steps[0]
        .calls
        .iter()
        .map(|c| (c.call, c.element))
        .collect();
    assert_eq!(calls, [(1, Some(0)), (2, Some(1)), (3, Some(2))]);
}

#[tokio::test]
async fn a_for_each_step_budget_covers_all_its_elements() {
    // Each call spends 120 tokens; the step may spend 250 in all, so the third element's call
    // (at the latest) is refused before it is made and that element falls back.
    let model = scripted(
        "t/m",
        &[
            Reply::Text(r#"{"title": "World"}"#),
            Reply::Text(r#"{"title": "World"}"#),
            Reply::Text(r#"{"title": "World"}"#),
        ],
    );
    let (dir, rt) = setup(
        &for_each_workflow("    budget: { tokens: 250 }\n"),
        std::slice::from_ref(&model),
        "1",
    )
    .await;
    let (run, summary) = run_once(&dir, &rt).await;
    assert_eq!(summary.status, RunStatus::Succeeded);
    let view = rt.view(&run).await.unwrap();
    let draft = &view.steps[0];
    assert!(draft.spend.tokens() <= 250, "{:?}", draft.spend);
    assert_eq!(draft.state, "fallback");
    let last = draft.elements.last().unwrap();
    assert_eq!((last.element, last.outcome.as_str()), (2, "fallback"));
    assert!(
        last.why
            .contains("as fallback: budget: step token budget 250"),
        "{}",
        last.why
    );
    assert!(model.calls() < 3);
}

#[tokio::test]
async fn a_for_each_step_with_concurrency_has_its_elements_in_flight_together() {
    // Each call answers only when all three are in flight: run one after another, the first
    // would wait forever (the timeout below turns that into a failure).
    let model = timed(
        &[
            Reply::Text(r#"{"title": "World"}"#),
            Reply::Text(r#"{"title": "Copied"}"#),
            Reply::Text(r#"{"title": "Hello"}"#),
        ],
        Some(3),
        std::time::Duration::ZERO,
    );
    let (dir, rt) = setup(
        &for_each_workflow("    concurrency: 3\n"),
        std::slice::from_ref(&model),
        "1",
    )
    .await;
    let (run, summary) =
        tokio::time::timeout(std::time::Duration::from_secs(60), run_once(&dir, &rt))
            .await
            .expect("the three elements' calls are in flight together");
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    assert_eq!(model.most_in_flight(), 3);
    let view = rt.view(&run).await.unwrap();
    let draft = &view.steps[0];
    // Calls are numbered in the order they were journaled, each with its element.
    let numbers: Vec<u32> = draft.calls.iter().map(|c| c.call).collect();
    assert_eq!(numbers, [1, 2, 3]);
    let mut elements: Vec<Option<u32>> = draft.calls.iter().map(|c| c.element).collect();
    elements.sort_unstable();
    assert_eq!(elements, [Some(0), Some(1), Some(2)]);
    // The output keeps element order whatever order the answers came in; which element got
    // which scripted answer depends on that order, so only the shape and the tally are fixed.
    let output = draft.output.as_ref().and_then(|o| o.as_array()).unwrap();
    assert_eq!(output.len(), 3);
    assert_eq!(
        draft.why.as_deref(),
        Some("for_each over 3 elements: 2 ok, 1 fallback")
    );
}

#[tokio::test]
async fn concurrent_elements_reserve_their_worst_case_against_the_budget() {
    // Three elements in flight at once, each call spending 120 tokens, a step budget of 250:
    // checked against what was spent alone, all three calls would start (nothing is spent
    // yet) and spend 360. Each call reserves its worst case while in flight, so at least one
    // is refused before it is made.
    let model = timed(
        &vec![Reply::Text(r#"{"title": "World"}"#); 3],
        None,
        std::time::Duration::from_millis(100),
    );
    let (dir, rt) = setup(
        &for_each_workflow("    concurrency: 3\n    budget: { tokens: 250 }\n"),
        std::slice::from_ref(&model),
        "1",
    )
    .await;
    let (run, summary) = run_once(&dir, &rt).await;
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
    let view = rt.view(&run).await.unwrap();
    let draft = &view.steps[0];
    assert!(draft.spend.tokens() <= 250, "{:?}", draft.spend);
    assert!(model.calls() < 3);
    assert!(
        draft
            .elements
            .iter()
            .any(|e| e.why.contains("as fallback: budget: step token budget 250")),
        "{:?}",
        draft.elements
    );
}

/// Issue 13, part 1: under `autonomy: auto` a gate whose condition is false still opens when
/// the step it reviews ended `fallback`, and passes by policy when the step ended `ok`.
#[tokio::test]
async fn under_autonomy_auto_a_fallback_draft_still_stops_at_its_gate() {
    let gated = |route: &str| {
        format!(
            "workflow: m\nversion: 1\nautonomy: auto\nowners:\n  po: {{ role: product-owner }}\nsteps:\n  - id: draft\n    model:\n      route: [{route}]\n      prompt: p.j2\n      output: s.json\n      max_output_tokens: 50\n    fallback_builtin: core.echo\n    with: {{ message: \"template draft\" }}\n  - id: review\n    gate: {{ owner: po, when: \"false\", reviews: draft }}\n"
        )
    };
    let bad = scripted("t/bad", &[Reply::Text("no json at all")]);
    let (dir, rt) = setup(&gated("t/bad"), &[bad], "0").await;
    let (run, summary) = run_once(&dir, &rt).await;
    assert_eq!(summary.status, RunStatus::Waiting, "{summary:?}");
    let why = summary.waiting.unwrap().why;
    assert!(
        why.contains("but step `draft` ended `fallback`, so a person reviews it"),
        "{why}"
    );
    assert_eq!(rt.view(&run).await.unwrap().steps[0].state, "fallback");
    // The audit log says why the gate opened.
    let audit = rt.store().audit_log(0, None).await.unwrap();
    let policy = audit
        .iter()
        .find(|e| e.kind == "gate.opened_by_policy")
        .expect("the policy opening is audited");
    assert_eq!(policy.payload["reviewed"], "draft");

    let good = scripted("t/good", &[Reply::Text(r#"{"title": "drafted"}"#)]);
    let (dir, rt) = setup(&gated("t/good"), &[good], "0").await;
    let (_, summary) = run_once(&dir, &rt).await;
    assert_eq!(summary.status, RunStatus::Succeeded, "{summary:?}");
}
