//! Provider options outside the shared conformance suite: OpenAI-compatible variants (Azure,
//! `json_object`, keyless local servers), Anthropic message shaping, and replay of the real
//! RouteLLM GSM8K file.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions"
)]

mod support;

use std::path::PathBuf;
use std::sync::Arc;

use aine_models::{
    ChatModel, ChatRequest, Gsm8kModel, Message, ModelConfig, ModelError, ProviderKind, Replay,
    StaticSecrets, StructuredOutput, TokenLimitField, build, build_with_secrets, load_gsm8k,
};
use serde_json::json;
use support::{CANARY, Flavor, KEY_VAR, VendorServer};

fn request(schema: Option<serde_json::Value>) -> ChatRequest {
    ChatRequest {
        messages: vec![
            Message::system("Be brief."),
            Message::user("Hi"),
            Message::assistant("Hello"),
            Message::user("Sum?"),
        ],
        output_schema: schema,
        max_output_tokens: 64,
        temperature: 0.2,
    }
}

fn canary() -> Arc<StaticSecrets> {
    Arc::new(StaticSecrets::new([(KEY_VAR, CANARY)]))
}

async fn openai_request(
    edit: impl Fn(&mut ModelConfig),
    schema: Option<serde_json::Value>,
) -> support::Recorded {
    let server = VendorServer::start(Flavor::OpenAi).await;
    let mut config = ModelConfig {
        base_url: Some(server.base_url("ok")),
        api_key_env: Some(KEY_VAR.into()),
        ..ModelConfig::new("openai/gpt-4.1-mini", ProviderKind::OpenaiCompatible)
    };
    edit(&mut config);
    build_with_secrets(&config, canary())
        .unwrap()
        .complete(&request(schema))
        .await
        .unwrap();
    let recorded = server.requests().remove(0);
    assert_eq!(recorded.scenario, "ok");
    recorded
}

#[tokio::test]
async fn azure_key_header_and_api_version() {
    let r = openai_request(
        |c| {
            c.api_key_header = Some("api-key".into());
            c.query.insert("api-version".into(), "2024-10-21".into());
            c.headers
                .insert("x-ms-client-request-id".into(), "run_1".into());
        },
        None,
    )
    .await;
    assert_eq!(r.headers["api-key"], CANARY);
    assert!(r.headers.get("authorization").is_none());
    assert_eq!(r.headers["x-ms-client-request-id"], "run_1");
    assert_eq!(r.uri.query(), Some("api-version=2024-10-21"));
}

#[tokio::test]
async fn json_object_and_none_put_the_schema_in_a_system_message() {
    let schema = json!({ "type": "object", "properties": { "n": { "type": "integer" } } });
    let r = openai_request(
        |c| c.structured_output = StructuredOutput::JsonObject,
        Some(schema.clone()),
    )
    .await;
    assert_eq!(r.body["response_format"], json!({ "type": "json_object" }));
    let last = r.body["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["role"], "system");
    assert!(
        last["content"]
            .as_str()
            .unwrap()
            .contains(&schema.to_string())
    );

    let r = openai_request(
        |c| c.structured_output = StructuredOutput::None,
        Some(schema),
    )
    .await;
    assert!(r.body.get("response_format").is_none());
    assert_eq!(r.body["messages"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn strict_schema_and_max_completion_tokens() {
    let r = openai_request(
        |c| {
            c.strict_schema = true;
            c.token_limit_field = TokenLimitField::MaxCompletionTokens;
        },
        Some(json!({ "type": "object" })),
    )
    .await;
    assert_eq!(r.body["response_format"]["json_schema"]["strict"], true);
    assert_eq!(r.body["max_completion_tokens"], 64);
    assert!(r.body.get("max_tokens").is_none());
    assert_eq!(
        r.body["messages"].as_array().unwrap().len(),
        4,
        "roles kept in order"
    );
}

#[tokio::test]
async fn keyless_local_server_sends_no_auth() {
    let r = openai_request(|c| c.api_key_env = None, None).await;
    assert!(r.headers.get("authorization").is_none());
}

#[tokio::test]
async fn openai_without_base_url_is_a_config_error() {
    let config = ModelConfig::new("vllm/x", ProviderKind::OpenaiCompatible);
    let err = build(&config).unwrap_err();
    assert!(
        matches!(&err, ModelError::Unavailable { message } if message.contains("base_url")),
        "{err}"
    );
}

#[tokio::test]
async fn anthropic_joins_system_messages_and_makes_the_schema_an_object() {
    let server = VendorServer::start(Flavor::Anthropic).await;
    let config = ModelConfig {
        base_url: Some(server.base_url("ok")),
        api_key_env: Some(KEY_VAR.into()),
        ..ModelConfig::new("anthropic/claude-haiku-4-5", ProviderKind::Anthropic)
    };
    let model = build_with_secrets(&config, canary()).unwrap();
    let mut req = request(Some(json!({ "oneOf": [{ "type": "object" }] })));
    req.messages.push(Message::system("Answer in JSON."));
    let response = model.complete(&req).await.unwrap();
    assert_eq!(response.finish_reason.as_deref(), Some("tool_use"));
    let r = server.requests().remove(0);
    assert_eq!(r.body["system"], "Be brief.\n\nAnswer in JSON.");
    let roles: Vec<_> = r.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].clone())
        .collect();
    assert_eq!(roles, [json!("user"), json!("assistant"), json!("user")]);
    assert_eq!(r.body["tools"][0]["input_schema"]["type"], "object");
    assert_eq!(r.body["temperature"], 0.2f32 as f64);
    assert!(!format!("{model:?}").contains(CANARY));
}

fn gsm8k_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/routellm/gsm8k_responses.csv")
}

#[tokio::test]
async fn replays_the_routellm_gsm8k_file() {
    let path = gsm8k_path();
    let records = load_gsm8k(&path)
        .unwrap_or_else(|e| panic!("{e} (the RouteLLM data set lives in ../shared/data)"));
    assert_eq!(records.len(), 1319);
    assert_eq!(records.iter().filter(|r| r.gpt4_correct).count(), 1130);
    let mixtral = Replay::from_gsm8k(&path, Gsm8kModel::Mixtral8x7b).unwrap();
    assert_eq!(
        mixtral.name(),
        "replay/mistralai/Mixtral-8x7B-Instruct-v0.1"
    );
    let req = ChatRequest {
        messages: vec![Message::user(records[0].prompt.clone())],
        output_schema: None,
        max_output_tokens: 512,
        temperature: 0.0,
    };
    let response = mixtral.complete(&req).await.unwrap();
    assert!(response.text.contains("#### 18"), "{}", response.text);
    assert_eq!(
        response.usage.output_tokens,
        aine_models::estimate_tokens(&records[0].mixtral_response)
    );
}

#[tokio::test]
async fn replay_bad_inputs() {
    let missing = Replay::from_gsm8k(
        &PathBuf::from("/nonexistent/gsm8k.csv"),
        Gsm8kModel::Gpt4_1106,
    )
    .unwrap_err();
    assert!(
        matches!(&missing, ModelError::Unavailable { message } if message.contains("/nonexistent/gsm8k.csv"))
    );
    let wrong_column =
        Replay::from_routellm_csv("replay/x", &gsm8k_path(), "no-such-model").unwrap_err();
    assert!(
        wrong_column
            .to_string()
            .contains("no column `no-such-model_response`"),
        "{wrong_column}"
    );
    let no_path = build(&ModelConfig::new("replay/x", ProviderKind::Replay)).unwrap_err();
    assert!(no_path.to_string().contains("no path"), "{no_path}");
    let empty = Replay::new("replay/empty", "m", 100, Vec::new());
    let err = empty.complete(&request(None)).await.unwrap_err();
    assert!(
        matches!(&err, ModelError::Unavailable { message } if message.contains("no recorded answer")),
        "{err}"
    );
    assert!(!err.is_retryable());
}
