//! The local provider with the real gemma-3-270m file (fetched by scripts/fetch-model.sh).
//! Output limits are small so the whole file runs in seconds on 2 cores.

#![allow(clippy::unwrap_used, clippy::panic, reason = "test helpers")]

mod common;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aine_llama::{LocalModel, LocalOptions};
use aine_models::{ChatModel, ChatRequest, Message, ModelError};
use serde_json::{Value, json};

/// One model for the whole test binary, as the runtime shares one.
fn model() -> Arc<LocalModel> {
    static MODEL: OnceLock<Arc<LocalModel>> = OnceLock::new();
    Arc::clone(MODEL.get_or_init(|| {
        let options = LocalOptions {
            threads: 2,
            context_tokens: 2048,
            batch_parallel: 4,
        };
        Arc::new(LocalModel::load(&common::model_path(), options).unwrap())
    }))
}

/// A model of its own (no other test's requests meet it) with `batch_parallel` slots.
fn own_model(batch_parallel: u32) -> LocalModel {
    let options = LocalOptions {
        threads: 2,
        context_tokens: 2048,
        batch_parallel,
    };
    LocalModel::load(&common::model_path(), options).unwrap()
}

fn request(messages: Vec<Message>, schema: Option<Value>, max_output_tokens: u32) -> ChatRequest {
    ChatRequest {
        messages,
        output_schema: schema,
        max_output_tokens,
        temperature: 0.0,
    }
}

fn title_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "title": { "type": "string", "minLength": 3, "maxLength": 60 },
            "kind": { "enum": ["feature", "bug", "question"] }
        },
        "required": ["title", "kind"],
        "additionalProperties": false
    })
}

/// A few-shot prompt: two worked examples, then `input`.
fn few_shot(input: &str) -> Vec<Message> {
    vec![
        Message::system("Give each ticket a short title and a kind. Answer with JSON."),
        Message::user("The export button does nothing when I click it on the reports page."),
        Message::assistant(
            r#"{"title": "Export button does nothing on reports page", "kind": "bug"}"#,
        ),
        Message::user("Could we get a dark mode for the dashboard?"),
        Message::assistant(r#"{"title": "Dark mode for the dashboard", "kind": "feature"}"#),
        Message::user(input),
    ]
}

#[test]
fn loads_once_and_describes_itself() {
    let model = model();
    assert_eq!(model.name(), "local/gemma-3-270m");
    assert_eq!(model.provider(), "llama.cpp");
    assert_eq!(model.context_window(), 2048);
    let text = format!("{model:?}");
    assert!(text.contains("local/gemma-3-270m"), "{text}");
}

#[test]
fn count_tokens_uses_the_models_tokenizer() {
    let model = model();
    // Gemma 3's SentencePiece vocabulary (262,144 entries): whole words are single tokens.
    for (text, tokens) in [
        ("", 0),
        ("Hello world", 2),
        ("Hello", 1),
        (" Hello", 1),
        ("\n\n", 1),
    ] {
        assert_eq!(model.count_tokens(text), tokens, "{text:?}");
    }
    // Special-token text is counted as text, never as one control token.
    assert!(model.count_tokens("<end_of_turn>") > 1);
    // Not a character estimate: a long German compound differs from len/4.
    let long = "Donaudampfschifffahrtsgesellschaftskapitän ".repeat(10);
    assert_ne!(model.count_tokens(&long), (long.len() as u64).div_ceil(4));
}

#[tokio::test]
async fn input_tokens_are_the_rendered_prompt_counted_by_the_same_tokenizer() {
    let model = model();
    let response = model
        .complete(&request(vec![Message::user("Say hi.")], None, 2))
        .await
        .unwrap();
    // The documented transcript format plus one BOS token.
    let rendered = "### User\nSay hi.\n\n### Assistant\n";
    assert_eq!(
        response.usage.input_tokens,
        model.count_tokens(rendered) + 1
    );
    // Other tests share the model: a prefix they left in the slot (the BOS) may be reused.
    assert!(response.usage.cached_input_tokens < response.usage.input_tokens);
}

#[tokio::test]
async fn a_shared_prompt_prefix_is_decoded_once_and_answers_the_same() {
    // One slot, so consecutive requests meet in it.
    let model = own_model(1);
    let ask = |input: &str| request(few_shot(input), Some(title_schema()), 40);
    let second = "The login page shows a blank screen on Safari.";
    let fresh = model.complete(&ask(second)).await.unwrap();
    let other = model
        .complete(&ask("Please add CSV export to the invoices list."))
        .await
        .unwrap();
    let reused = model.complete(&ask(second)).await.unwrap();
    // The few-shot prefix was kept from the call before; the answer does not change.
    assert!(other.usage.cached_input_tokens > 40, "{:?}", other.usage);
    assert_eq!(
        reused.usage.cached_input_tokens, other.usage.cached_input_tokens,
        "the same few-shot prefix"
    );
    assert_eq!(reused.usage.input_tokens, fresh.usage.input_tokens);
    assert_eq!(reused.text, fresh.text);
}

#[tokio::test]
async fn requests_sent_together_read_their_shared_prefix_once_and_answer_the_same() {
    // Three requests with one few-shot prefix, sent at once into four slots: the first reads
    // the prefix, the others wait for it and share its KV cells (they report it as cached),
    // and every answer is the one the request gets alone.
    let model = own_model(4);
    let ask = |input: &str| request(few_shot(input), Some(title_schema()), 40);
    let inputs = [
        "The login page shows a blank screen on Safari.",
        "Please add CSV export to the invoices list.",
        "Why does the nightly report arrive twice?",
    ];
    let [a, b, c] = inputs.map(ask);
    let (a, b, c) = tokio::join!(model.complete(&a), model.complete(&b), model.complete(&c));
    let together = [a.unwrap(), b.unwrap(), c.unwrap()];
    let shared: Vec<u64> = together
        .iter()
        .map(|r| r.usage.cached_input_tokens)
        .collect();
    assert_eq!(
        shared.iter().filter(|&&n| n > 40).count(),
        2,
        "two of three share the first one's prefix: {shared:?}"
    );
    for (input, answer) in inputs.iter().zip(&together) {
        let alone = model.complete(&ask(input)).await.unwrap();
        assert_eq!(answer.text, alone.text, "{input}");
    }
}

#[tokio::test]
async fn a_plain_completion_answers_within_its_limit() {
    let model = model();
    let messages = vec![
        Message::system("Answer with one word."),
        Message::user("What colour is the sky on a clear day?"),
        Message::assistant("Blue."),
        Message::user("What colour is fresh grass?"),
    ];
    let response = model.complete(&request(messages, None, 8)).await.unwrap();
    assert!(!response.text.trim().is_empty(), "{response:?}");
    assert!(
        !response.text.contains("### "),
        "stops before the next turn: {response:?}"
    );
    assert!(
        (1..=8).contains(&response.usage.output_tokens),
        "{response:?}"
    );
    assert_eq!(
        response.response_model.as_deref(),
        Some("local/gemma-3-270m")
    );
    let finish = response.finish_reason.as_deref();
    assert!(
        finish == Some("stop") || finish == Some("length"),
        "{response:?}"
    );
}

#[tokio::test]
async fn max_output_tokens_is_a_hard_limit() {
    let model = model();
    let messages = vec![Message::user(
        "Write a long story about a lighthouse keeper.",
    )];
    let response = model
        .complete(&request(messages.clone(), None, 3))
        .await
        .unwrap();
    assert!(response.usage.output_tokens <= 3, "{response:?}");
    assert_eq!(
        response.finish_reason.as_deref() == Some("length"),
        response.usage.output_tokens == 3
    );

    let none = model.complete(&request(messages, None, 0)).await.unwrap();
    assert_eq!((none.text.as_str(), none.usage.output_tokens), ("", 0));
    assert_eq!(none.finish_reason.as_deref(), Some("length"));
}

#[tokio::test]
async fn schema_constrained_answers_parse_and_validate() {
    let model = model();
    let schema = title_schema();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for input in [
        "The app crashes when I upload a photo larger than 10 MB.",
        "Please add an option to export invoices as CSV.",
        "How do I reset my password if I lost access to my email?",
    ] {
        let response = model
            .complete(&request(few_shot(input), Some(schema.clone()), 48))
            .await
            .unwrap();
        let value: Value = serde_json::from_str(&response.text)
            .unwrap_or_else(|e| panic!("{input}: {e}: {:?}", response.text));
        assert!(validator.is_valid(&value), "{input}: {value}");
        assert_eq!(
            response.finish_reason.as_deref(),
            Some("stop"),
            "{input}: {response:?}"
        );
        assert!(response.usage.output_tokens <= 48);
    }
}

#[tokio::test]
async fn a_cut_off_schema_answer_reports_length_and_is_a_json_prefix() {
    let model = model();
    let response = model
        .complete(&request(
            few_shot("The search box ignores accents."),
            Some(title_schema()),
            4,
        ))
        .await
        .unwrap();
    assert_eq!(
        response.finish_reason.as_deref(),
        Some("length"),
        "{response:?}"
    );
    assert!(response.text.starts_with('{'), "{response:?}");
    assert!(serde_json::from_str::<Value>(&response.text).is_err());
}

#[tokio::test]
async fn concurrent_requests_are_batched_and_all_succeed() {
    let model = model();
    let schema = title_schema();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let inputs = [
        "Login page shows a blank screen in Safari.",
        "Add keyboard shortcuts to the editor.",
        "Why is my monthly bill higher than last month?",
        "The PDF export cuts off the last page.",
        "Support single sign-on with Okta.",
        "Notifications arrive twice on Android.",
    ];
    let tasks: Vec<_> = inputs
        .iter()
        .map(|input| {
            let model = Arc::clone(&model);
            let req = request(few_shot(input), Some(schema.clone()), 48);
            tokio::spawn(async move { model.complete(&req).await })
        })
        .collect();
    for (input, task) in inputs.iter().zip(tasks) {
        let response = task.await.unwrap().unwrap();
        let value: Value =
            serde_json::from_str(&response.text).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert!(validator.is_valid(&value), "{input}: {value}");
    }
}

#[tokio::test]
async fn a_cancelled_request_frees_its_slot() {
    let model = model();
    // The grammar forces 500 numbers, so this cannot end on its own within 200 ms.
    let schema = json!({ "type": "array", "items": { "type": "integer" }, "minItems": 500 });
    let long = request(vec![Message::user("List numbers.")], Some(schema), 1500);
    let cancelled = tokio::time::timeout(Duration::from_millis(200), model.complete(&long)).await;
    assert!(
        cancelled.is_err(),
        "should still be generating after 200 ms"
    );
    let response = tokio::time::timeout(
        Duration::from_secs(60),
        model.complete(&request(vec![Message::user("Say yes.")], None, 2)),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(response.usage.output_tokens <= 2);
}

#[tokio::test]
async fn requests_that_cannot_run_are_refused_with_a_reason() {
    let model = model();
    let huge = "word ".repeat(3000);
    let e = model
        .complete(&request(vec![Message::user(huge)], None, 16))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ModelError::Unavailable { message } if message.contains("exceeds the context window of 2048 tokens")),
        "{e:?}"
    );
    assert!(!e.is_retryable());

    let e = model
        .complete(&request(vec![Message::user("x")], None, 2048))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("max_output_tokens 2048"), "{e}");

    let bad_schema =
        json!({ "type": "object", "properties": { "a": { "$ref": "#/definitions/missing" } } });
    let e = model
        .complete(&request(vec![Message::user("x")], Some(bad_schema), 8))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ModelError::Unavailable { message } if message.contains("grammar")),
        "{e:?}"
    );
}
