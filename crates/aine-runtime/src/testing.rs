//! Test support, behind the `test-util` feature: a chat model that answers from a script, and
//! the [`Models`] that serve such models, for the tests of this crate and of the crates built
//! on it (telemetry, server, CLI). Not for production use: nothing here talks to a provider.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aine_models::{
    ChatModel, ChatRequest, ChatResponse, ModelConfig, ModelError, ModelPrice, ProviderKind, Usage,
};

use crate::models::{ModelEntry, Models};

/// One scripted answer of a [`ScriptedModel`].
#[derive(Debug, Clone)]
pub enum Reply {
    /// The model answers this text.
    Text(&'static str),
    /// The provider says 429, retry after 1 ms.
    RateLimited,
    /// The provider says 503.
    ServerError,
    /// The provider panics (a bug in it): a step must still end in a defined state.
    Panic,
}

/// A fake provider: answers from a script (a [`Reply::ServerError`] once it is used up),
/// reports the same usage for every call (100 input and 20 output tokens unless set), and
/// counts its calls and how many were in flight at once.
#[derive(Debug)]
pub struct ScriptedModel {
    name: String,
    script: Mutex<VecDeque<Reply>>,
    usage: Usage,
    response_model: Option<String>,
    /// Calls answer only once this many are in flight together (a `for_each` step with
    /// `concurrency`).
    together: Option<tokio::sync::Barrier>,
    /// How long each call takes before it answers.
    hold: Duration,
    calls: AtomicUsize,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
}

impl ScriptedModel {
    /// Model `name` (as routes name it, e.g. `t/small`) answering `replies` in order.
    pub fn new(name: &str, replies: impl IntoIterator<Item = Reply>) -> Self {
        Self {
            name: name.to_owned(),
            script: Mutex::new(replies.into_iter().collect()),
            usage: Usage {
                input_tokens: 100,
                output_tokens: 20,
                cached_input_tokens: 0,
            },
            response_model: None,
            together: None,
            hold: Duration::ZERO,
            calls: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            most_in_flight: AtomicUsize::new(0),
        }
    }

    /// Answers name `model` as the one that responded (a provider's dated model version).
    pub fn answering_as(mut self, model: &str) -> Self {
        self.response_model = Some(model.to_owned());
        self
    }

    /// Each call answers only once `calls` calls are in flight together.
    pub fn together(mut self, calls: usize) -> Self {
        self.together = Some(tokio::sync::Barrier::new(calls));
        self
    }

    /// Each call takes `hold` before it answers.
    pub fn holding(mut self, hold: Duration) -> Self {
        self.hold = hold;
        self
    }

    /// Calls made so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// The most calls that were in flight at once.
    pub fn most_in_flight(&self) -> usize {
        self.most_in_flight.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl ChatModel for ScriptedModel {
    fn name(&self) -> &str {
        &self.name
    }
    fn provider(&self) -> &str {
        "scripted"
    }
    fn context_window(&self) -> u64 {
        100_000
    }
    async fn complete(&self, _request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_in_flight.fetch_max(now, Ordering::SeqCst);
        if let Some(together) = &self.together {
            together.wait().await;
        }
        tokio::time::sleep(self.hold).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        let reply = self
            .script
            .lock()
            .map_err(|_| ModelError::Unavailable {
                message: "the script's lock was poisoned by a panicking call".into(),
            })?
            .pop_front()
            .unwrap_or(Reply::ServerError);
        match reply {
            Reply::Text(text) => Ok(ChatResponse {
                text: text.to_owned(),
                usage: self.usage,
                response_model: self.response_model.clone(),
                finish_reason: Some("stop".into()),
            }),
            Reply::RateLimited => Err(ModelError::RateLimited {
                retry_after: Some(Duration::from_millis(1)),
                message: "slow down".into(),
            }),
            Reply::ServerError => Err(ModelError::Server {
                status: 503,
                message: "unavailable".into(),
            }),
            #[allow(clippy::panic, reason = "the reply that stands for a provider's bug")]
            Reply::Panic => panic!("index out of bounds in the provider"),
        }
    }
}

/// The models of a runtime whose routes name exactly `models`, each priced at `price` (none:
/// free, as a local model); a route naming another model gets [`ModelError::Unavailable`].
pub fn scripted_models(models: &[Arc<ScriptedModel>], price: Option<ModelPrice>) -> Models {
    let mut entries = BTreeMap::new();
    let mut built: BTreeMap<String, Arc<dyn ChatModel>> = BTreeMap::new();
    for m in models {
        entries.insert(
            m.name.clone(),
            ModelEntry {
                config: ModelConfig::new(&m.name, ProviderKind::Replay),
                price: price.clone(),
            },
        );
        built.insert(m.name.clone(), m.clone());
    }
    Models::new(
        entries,
        Box::new(move |c: &ModelConfig| {
            built
                .get(&c.name)
                .cloned()
                .ok_or_else(|| ModelError::Unavailable {
                    message: format!("no scripted model {}", c.name),
                })
        }),
    )
}
