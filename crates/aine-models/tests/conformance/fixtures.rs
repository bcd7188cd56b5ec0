//! The providers under test: how each builds a model for a scenario, and what request shape its
//! vendor documents.

use super::*;

#[async_trait::async_trait]
pub trait Fixture: Send + Sync + Sized {
    async fn start() -> Self;
    /// The config of the model for `scenario`.
    fn config(&self, scenario: &str) -> ModelConfig;
    /// The model for `scenario`, its config edited by `edit` first (keys from the canary).
    fn build(&self, scenario: &str, edit: &dyn Fn(&mut ModelConfig)) -> Arc<dyn ChatModel> {
        let mut config = self.config(scenario);
        edit(&mut config);
        build_with_secrets(&config, secrets()).unwrap()
    }
    fn model(&self, scenario: &str) -> Arc<dyn ChatModel> {
        self.build(scenario, &|_| {})
    }
    /// Scenarios that end in an error.
    fn error_scenarios(&self) -> &'static [&'static str];
}

pub trait HttpFixture: Fixture {
    fn server(&self) -> &VendorServer;
    /// Asserts the vendor's documented request shape.
    fn check_request(&self, recorded: &Recorded, structured: bool);
}

// ---- fixtures ----

pub struct OpenAiFixture(VendorServer);
pub struct AnthropicFixture(VendorServer);
pub struct ReplayFixture(tempfile::TempDir);

fn http_config(
    server: &VendorServer,
    scenario: &str,
    kind: ProviderKind,
    name: &str,
) -> ModelConfig {
    ModelConfig {
        base_url: Some(server.base_url(scenario)),
        api_key_env: Some(KEY_VAR.into()),
        context_window: 128_000,
        timeout_ms: 5_000,
        ..ModelConfig::new(name, kind)
    }
}

#[async_trait::async_trait]
impl Fixture for OpenAiFixture {
    async fn start() -> Self {
        Self(VendorServer::start(Flavor::OpenAi).await)
    }
    fn config(&self, scenario: &str) -> ModelConfig {
        http_config(
            &self.0,
            scenario,
            ProviderKind::OpenaiCompatible,
            "openai/gpt-4.1-mini",
        )
    }
    fn error_scenarios(&self) -> &'static [&'static str] {
        HTTP_ERROR_SCENARIOS
    }
}

impl HttpFixture for OpenAiFixture {
    fn server(&self) -> &VendorServer {
        &self.0
    }
    fn check_request(&self, r: &Recorded, structured: bool) {
        assert!(r.uri.path().ends_with("/v1/chat/completions"), "{}", r.uri);
        assert_eq!(
            r.headers["authorization"],
            format!("Bearer {CANARY}").as_str()
        );
        assert_eq!(r.body["model"], "gpt-4.1-mini");
        assert_eq!(r.body["max_tokens"], 256);
        assert_eq!(r.body["temperature"], 0.0);
        assert_eq!(
            r.body["messages"][0],
            json!({ "role": "system", "content": SYSTEM })
        );
        assert_eq!(r.body["messages"][1]["role"], "user");
        if structured {
            let format = &r.body["response_format"];
            assert_eq!(format["type"], "json_schema");
            assert_eq!(format["json_schema"]["schema"], schema());
            assert_eq!(format["json_schema"]["name"], "output");
            assert_eq!(format["json_schema"]["strict"], false);
        } else {
            assert!(r.body.get("response_format").is_none());
        }
    }
}

#[async_trait::async_trait]
impl Fixture for AnthropicFixture {
    async fn start() -> Self {
        Self(VendorServer::start(Flavor::Anthropic).await)
    }
    fn config(&self, scenario: &str) -> ModelConfig {
        http_config(
            &self.0,
            scenario,
            ProviderKind::Anthropic,
            "anthropic/claude-sonnet-4-5",
        )
    }
    fn error_scenarios(&self) -> &'static [&'static str] {
        HTTP_ERROR_SCENARIOS
    }
}

impl HttpFixture for AnthropicFixture {
    fn server(&self) -> &VendorServer {
        &self.0
    }
    fn check_request(&self, r: &Recorded, structured: bool) {
        assert!(r.uri.path().ends_with("/v1/messages"), "{}", r.uri);
        assert_eq!(r.headers["x-api-key"], CANARY);
        assert_eq!(r.headers["anthropic-version"], "2023-06-01");
        assert!(r.headers.get("authorization").is_none());
        assert_eq!(r.body["model"], "claude-sonnet-4-5");
        assert_eq!(r.body["max_tokens"], 256);
        assert_eq!(r.body["system"], SYSTEM);
        assert_eq!(
            r.body["messages"].as_array().unwrap().len(),
            1,
            "system is not a message"
        );
        assert_eq!(r.body["messages"][0]["role"], "user");
        if structured {
            assert_eq!(r.body["tools"][0]["name"], "answer");
            assert_eq!(r.body["tools"][0]["input_schema"], schema());
            assert_eq!(
                r.body["tool_choice"],
                json!({ "type": "tool", "name": "answer" })
            );
        } else {
            assert!(r.body.get("tools").is_none() && r.body.get("tool_choice").is_none());
        }
    }
}

const HTTP_ERROR_SCENARIOS: &[&str] = &[
    "bad_request",
    "unauthorized",
    "forbidden",
    "rate_limited",
    "server_error",
    "html_502",
    "truncated",
    "truncated_json",
    "html",
    "not_json",
    "missing_fields",
];

#[async_trait::async_trait]
impl Fixture for ReplayFixture {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let prose = "I think the answer is forty-two.";
        let recordings: [(&str, Vec<(&str, String)>); 3] = [
            (
                "ok",
                vec![
                    (PLAIN_PROMPT, PLAIN_ANSWER.into()),
                    (STRUCTURED_PROMPT, structured_answer().to_string()),
                ],
            ),
            (
                "prose",
                vec![
                    (PLAIN_PROMPT, prose.into()),
                    (STRUCTURED_PROMPT, prose.into()),
                ],
            ),
            ("unknown", vec![("Some other question?", "7".into())]),
        ];
        for (scenario, rows) in recordings {
            let mut writer =
                csv::Writer::from_path(dir.path().join(format!("{scenario}.csv"))).unwrap();
            writer
                .write_record(["prompt", "recorded-model", "recorded-model_response"])
                .unwrap();
            for (prompt, answer) in rows {
                writer
                    .write_record([prompt, "True", answer.as_str()])
                    .unwrap();
            }
            writer.flush().unwrap();
        }
        Self(dir)
    }
    fn config(&self, scenario: &str) -> ModelConfig {
        ModelConfig {
            model: "recorded-model".into(),
            path: Some(self.0.path().join(format!("{scenario}.csv"))),
            context_window: 32_768,
            ..ModelConfig::new("replay/recorded-model", ProviderKind::Replay)
        }
    }
    fn error_scenarios(&self) -> &'static [&'static str] {
        &["unknown"]
    }
}
