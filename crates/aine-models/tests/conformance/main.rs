//! One conformance suite for every provider (`conformance!` below): the same cases run against
//! OpenAI-compatible and Anthropic (over a real HTTP server on 127.0.0.1) and Replay.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions"
)]

#[path = "../support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use aine_models::{
    ChatModel, ChatRequest, Message, ModelConfig, ModelError, ProviderKind, RetryPolicy, Sleeper,
    StaticSecrets, build, build_with_secrets, extract_json, with_retries,
};
use serde_json::{Value, json};
use support::{CANARY, Flavor, KEY_VAR, PLAIN_ANSWER, Recorded, VendorServer, structured_answer};

const SYSTEM: &str = "You count eggs.";
const PLAIN_PROMPT: &str = "How many eggs are left?";
const STRUCTURED_PROMPT: &str = "How many eggs are left? Answer in JSON.";

fn schema() -> Value {
    json!({
        "type": "object",
        "properties": { "answer": { "type": "integer" }, "unit": { "type": "string" } },
        "required": ["answer", "unit"],
        "additionalProperties": false
    })
}

fn request(structured: bool) -> ChatRequest {
    ChatRequest {
        messages: vec![
            Message::system(SYSTEM),
            Message::user(if structured {
                STRUCTURED_PROMPT
            } else {
                PLAIN_PROMPT
            }),
        ],
        output_schema: structured.then(schema),
        max_output_tokens: 256,
        temperature: 0.0,
    }
}

fn secrets() -> Arc<StaticSecrets> {
    Arc::new(StaticSecrets::new([(KEY_VAR, CANARY)]))
}

mod fixtures;

use fixtures::{AnthropicFixture, Fixture, HttpFixture, OpenAiFixture, ReplayFixture};

// ---- cases every provider passes ----

mod cases {
    use super::*;

    pub async fn plain_answer_with_usage<F: Fixture>() {
        let model = F::start().await.model("ok");
        let response = model.complete(&request(false)).await.unwrap();
        assert_eq!(response.text, PLAIN_ANSWER);
        assert!(
            response.usage.input_tokens > 0 && response.usage.output_tokens > 0,
            "{:?}",
            response.usage
        );
        assert!(response.usage.cached_input_tokens <= response.usage.input_tokens);
        assert!(response.response_model.is_some() && response.finish_reason.is_some());
        assert!(!model.name().is_empty() && !model.provider().is_empty());
        assert!(model.context_window() > 0);
    }

    pub async fn structured_answer_parses<F: Fixture>() {
        let model = F::start().await.model("ok");
        let response = model.complete(&request(true)).await.unwrap();
        assert_eq!(
            extract_json(&response.text).unwrap(),
            structured_answer(),
            "{}",
            response.text
        );
    }

    /// Bad input: a model answering prose instead of JSON is an answer; extraction reports it.
    pub async fn prose_instead_of_json_is_reported<F: Fixture>() {
        let model = F::start().await.model("prose");
        let response = model.complete(&request(true)).await.unwrap();
        let err = extract_json(&response.text).unwrap_err();
        assert!(err.to_string().contains("no json"), "{err}");
    }

    pub async fn errors_are_classified_and_never_leak_the_key<F: Fixture>() {
        let fixture = F::start().await;
        for scenario in fixture.error_scenarios() {
            let model = fixture.model(scenario);
            let err = model.complete(&request(true)).await.unwrap_err();
            for shown in [err.to_string(), format!("{err:?}"), format!("{model:?}")] {
                assert!(!shown.contains(CANARY), "{scenario}: key leaked in {shown}");
            }
            assert!(!err.kind().is_empty());
            assert_eq!(
                err.to_string(),
                err.to_string().trim_end_matches('.'),
                "no trailing period"
            );
        }
    }

    pub async fn counts_tokens<F: Fixture>() {
        let model = F::start().await.model("ok");
        assert_eq!(model.count_tokens(""), 0);
        assert!(model.count_tokens("How many eggs are left?") >= 5);
    }
}

// ---- cases for HTTP providers ----

mod http_cases {
    use super::*;

    pub async fn request_shape<F: HttpFixture>() {
        let fixture = F::start().await;
        let model = fixture.model("ok");
        model.complete(&request(false)).await.unwrap();
        model.complete(&request(true)).await.unwrap();
        let requests = fixture.server().requests();
        assert_eq!(requests.len(), 2);
        assert!(requests.iter().all(|r| r.scenario == "ok"));
        fixture.check_request(&requests[0], false);
        fixture.check_request(&requests[1], true);
    }

    pub async fn usage_is_read_from_the_body<F: HttpFixture>() {
        let response = F::start()
            .await
            .model("ok")
            .complete(&request(false))
            .await
            .unwrap();
        // both fixtures report 120 prompt tokens of which 64 cached, and 30 output tokens
        assert_eq!(
            (
                response.usage.input_tokens,
                response.usage.cached_input_tokens
            ),
            (120, 64)
        );
        assert_eq!(response.usage.output_tokens, 30);
    }

    async fn error<F: HttpFixture>(scenario: &str) -> ModelError {
        F::start()
            .await
            .model(scenario)
            .complete(&request(true))
            .await
            .unwrap_err()
    }

    pub async fn error_statuses<F: HttpFixture>() {
        let e = error::<F>("bad_request").await;
        assert!(
            matches!(&e, ModelError::Client { status: 400, message } if message.contains("max_tokens")),
            "{e:?}"
        );
        assert!(!e.is_retryable());
        let e = error::<F>("unauthorized").await;
        assert!(
            matches!(&e, ModelError::Auth { status: 401, message } if message.contains("[redacted]")),
            "{e:?}"
        );
        assert!(matches!(
            error::<F>("forbidden").await,
            ModelError::Auth { status: 403, .. }
        ));
        let e = error::<F>("rate_limited").await;
        assert!(
            matches!(e, ModelError::RateLimited { .. }) && e.is_retryable(),
            "{e:?}"
        );
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        let e = error::<F>("server_error").await;
        assert!(
            matches!(
                e,
                ModelError::Server {
                    status: 500 | 529,
                    ..
                }
            ) && e.is_retryable(),
            "{e:?}"
        );
        let e = error::<F>("html_502").await;
        assert!(
            matches!(&e, ModelError::Server { status: 502, message } if message.contains("502 Bad Gateway")),
            "{e:?}"
        );
    }

    pub async fn broken_bodies<F: HttpFixture>() {
        let e = error::<F>("truncated").await;
        assert!(
            matches!(e, ModelError::Truncated { .. }) && e.is_retryable(),
            "{e:?}"
        );
        let e = error::<F>("truncated_json").await;
        assert!(matches!(e, ModelError::Truncated { .. }), "{e:?}");
        let e = error::<F>("html").await;
        assert!(
            matches!(&e, ModelError::InvalidResponse { message } if message.contains("Corporate Proxy")),
            "{e:?}"
        );
        assert!(!e.is_retryable());
        let e = error::<F>("not_json").await;
        assert!(
            matches!(&e, ModelError::InvalidResponse { message } if message.contains("not json")),
            "{e:?}"
        );
        assert!(matches!(
            error::<F>("missing_fields").await,
            ModelError::InvalidResponse { .. }
        ));
    }

    pub async fn timeout<F: HttpFixture>() {
        let model = F::start().await.build("timeout", &|c| c.timeout_ms = 300);
        let started = Instant::now();
        let e = model.complete(&request(false)).await.unwrap_err();
        assert_eq!(
            e,
            ModelError::Timeout {
                after: Duration::from_millis(300)
            }
        );
        assert!(e.is_retryable());
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }

    /// Bad input: a missing key variable is named, read from the real process environment.
    pub async fn missing_api_key<F: HttpFixture>() {
        let fixture = F::start().await;
        let variable = "AINE_TEST_KEY_THAT_IS_NEVER_SET_4F2A";
        let mut config = fixture.config("ok");
        config.api_key_env = Some(variable.into());
        let e = build(&config)
            .unwrap()
            .complete(&request(false))
            .await
            .unwrap_err();
        assert_eq!(
            e,
            ModelError::MissingApiKey {
                variable: variable.into()
            }
        );
        assert_eq!(
            e.to_string(),
            "environment variable `AINE_TEST_KEY_THAT_IS_NEVER_SET_4F2A` is not set; export it with your API key"
        );
        assert!(
            fixture.server().requests().is_empty(),
            "no request without a key"
        );
    }

    pub async fn echoed_key_is_redacted_from_text<F: HttpFixture>() {
        let response = F::start()
            .await
            .model("echo_key")
            .complete(&request(false))
            .await
            .unwrap();
        assert_eq!(response.text, "your key is [redacted]");
    }

    pub async fn connection_refused<F: HttpFixture>() {
        let fixture = F::start().await;
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let port = fixture.server().addr.port().to_string();
        let model = fixture.build("ok", &|c| {
            c.base_url = c
                .base_url
                .as_ref()
                .map(|u| u.replace(&port, &closed.port().to_string()));
        });
        let e = model.complete(&request(false)).await.unwrap_err();
        assert!(
            matches!(e, ModelError::Transport { .. }) && e.is_retryable(),
            "{e:?}"
        );
    }

    struct NoSleep;
    #[async_trait::async_trait]
    impl Sleeper for NoSleep {
        async fn sleep(&self, _: Duration) {}
    }

    pub async fn retries_then_succeeds<F: HttpFixture>() {
        let fixture = F::start().await;
        let model = fixture.model("flaky");
        let req = request(false);
        let (result, attempts) =
            with_retries(&RetryPolicy::default(), &NoSleep, |_| model.complete(&req)).await;
        assert_eq!(result.unwrap().text, PLAIN_ANSWER);
        assert_eq!(attempts.len(), 1);
        assert!(matches!(
            attempts[0].error,
            ModelError::Server { status: 503, .. }
        ));
        assert_eq!(fixture.server().requests().len(), 2);
    }
}

macro_rules! common_cases {
    ($fixture:ty) => {
        #[tokio::test]
        async fn plain_answer_with_usage() {
            cases::plain_answer_with_usage::<$fixture>().await
        }
        #[tokio::test]
        async fn structured_answer_parses() {
            cases::structured_answer_parses::<$fixture>().await
        }
        #[tokio::test]
        async fn prose_instead_of_json_is_reported() {
            cases::prose_instead_of_json_is_reported::<$fixture>().await
        }
        #[tokio::test]
        async fn errors_are_classified_and_never_leak_the_key() {
            cases::errors_are_classified_and_never_leak_the_key::<$fixture>().await
        }
        #[tokio::test]
        async fn counts_tokens() {
            cases::counts_tokens::<$fixture>().await
        }
    };
}

macro_rules! http_cases {
    ($fixture:ty) => {
        #[tokio::test]
        async fn request_shape() {
            http_cases::request_shape::<$fixture>().await
        }
        #[tokio::test]
        async fn usage_is_read_from_the_body() {
            http_cases::usage_is_read_from_the_body::<$fixture>().await
        }
        #[tokio::test]
        async fn error_statuses() {
            http_cases::error_statuses::<$fixture>().await
        }
        #[tokio::test]
        async fn broken_bodies() {
            http_cases::broken_bodies::<$fixture>().await
        }
        #[tokio::test]
        async fn timeout() {
            http_cases::timeout::<$fixture>().await
        }
        #[tokio::test]
        async fn missing_api_key() {
            http_cases::missing_api_key::<$fixture>().await
        }
        #[tokio::test]
        async fn echoed_key_is_redacted_from_text() {
            http_cases::echoed_key_is_redacted_from_text::<$fixture>().await
        }
        #[tokio::test]
        async fn connection_refused() {
            http_cases::connection_refused::<$fixture>().await
        }
        #[tokio::test]
        async fn retries_then_succeeds() {
            http_cases::retries_then_succeeds::<$fixture>().await
        }
    };
}

/// `name: Fixture` runs the common cases; `, http_cases` adds the HTTP ones.
macro_rules! conformance {
    ($($name:ident: $fixture:ty $(, $extra:ident)?;)*) => {$(
        mod $name {
            use super::*;
            common_cases!($fixture);
            $( $extra!($fixture); )?
        }
    )*};
}

conformance! {
    openai_compatible: OpenAiFixture, http_cases;
    anthropic: AnthropicFixture, http_cases;
    replay: ReplayFixture;
}
