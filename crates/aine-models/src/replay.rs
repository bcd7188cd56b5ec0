//! Replay: answers from recorded real responses, for offline evaluation of routes.
//!
//! First source: RouteLLM's GSM8K file (Ong et al., "RouteLLM: Learning to Route LLMs with
//! Preference Data", 2024), a CSV with columns `prompt`, `<model>` (whether that model's answer
//! was graded correct, `True`/`False`) and `<model>_response` (its answer), for
//! `mistralai/Mixtral-8x7B-Instruct-v0.1` and `gpt-4-1106-preview`.

use std::collections::HashMap;
use std::path::Path;

use crate::config::ModelConfig;
use crate::{ChatModel, ChatRequest, ChatResponse, ModelError, Usage, estimate_tokens};

/// A model that answers each prompt with the response recorded for it.
///
/// The prompt is the last user message, compared exactly after trimming whitespace. Usage is
/// estimated with [`estimate_tokens`] (input: every message's content; output: the answer),
/// because the recorded data has no token counts. An unknown prompt is
/// [`ModelError::Unavailable`].
#[derive(Debug, Clone)]
pub struct Replay {
    name: String,
    model: String,
    context_window: u64,
    answers: HashMap<String, String>,
}

/// The two models of RouteLLM's GSM8K file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Gsm8kModel {
    /// `mistralai/Mixtral-8x7B-Instruct-v0.1` (the cheap model).
    Mixtral8x7b,
    /// `gpt-4-1106-preview` (the strong model).
    Gpt4_1106,
}

impl Gsm8kModel {
    /// The column holding this model's correctness; its answers are in `{column}_response`.
    pub fn column(self) -> &'static str {
        match self {
            Self::Mixtral8x7b => "mistralai/Mixtral-8x7B-Instruct-v0.1",
            Self::Gpt4_1106 => "gpt-4-1106-preview",
        }
    }
}

/// One question of RouteLLM's GSM8K file with both recorded answers and their grades.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gsm8kRecord {
    pub prompt: String,
    pub mixtral_correct: bool,
    pub gpt4_correct: bool,
    pub mixtral_response: String,
    pub gpt4_response: String,
}

impl Replay {
    /// A replay model named `name` (route name) for `model` (the recorded model's id) answering
    /// from `(prompt, answer)` pairs; the first answer recorded for a prompt wins.
    pub fn new<I>(name: &str, model: &str, context_window: u64, answers: I) -> Self
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let mut map = HashMap::new();
        for (prompt, answer) in answers {
            map.entry(prompt.trim().to_owned()).or_insert(answer);
        }
        Self {
            name: name.to_owned(),
            model: model.to_owned(),
            context_window,
            answers: map,
        }
    }

    /// Answers of `model` from a RouteLLM responses CSV (`prompt` and `{model}_response`
    /// columns). Errors: unreadable file or missing column → [`ModelError::Unavailable`].
    pub fn from_routellm_csv(name: &str, path: &Path, model: &str) -> Result<Self, ModelError> {
        let table = read_csv(path)?;
        let prompt = table.column(path, "prompt")?;
        let response = table.column(path, &format!("{model}_response"))?;
        let pairs = table
            .rows
            .iter()
            .filter_map(|r| Some((r.get(prompt)?.to_owned(), r.get(response)?.to_owned())));
        // Mixtral 8x7B and GPT-4 Turbo both have 32k+ context windows; prompts here are short.
        Ok(Self::new(name, model, 32_768, pairs.collect::<Vec<_>>()))
    }

    /// Answers of `which` from RouteLLM's `gsm8k_responses.csv`, named `replay/<model column>`.
    pub fn from_gsm8k(path: &Path, which: Gsm8kModel) -> Result<Self, ModelError> {
        Self::from_routellm_csv(&format!("replay/{}", which.column()), path, which.column())
    }

    /// From a `replay` model config: `path` is the CSV, `model` the recorded model's column.
    pub fn from_config(config: &ModelConfig) -> Result<Self, ModelError> {
        let path = config
            .path
            .as_deref()
            .ok_or_else(|| ModelError::Unavailable {
                message: format!(
                    "replay model `{}` has no path to recorded responses",
                    config.name
                ),
            })?;
        let mut replay = Self::from_routellm_csv(&config.name, path, &config.model)?;
        replay.context_window = config.context_window;
        Ok(replay)
    }

    /// Number of recorded prompts.
    pub fn len(&self) -> usize {
        self.answers.len()
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.answers.is_empty()
    }
}

/// Every question of RouteLLM's `gsm8k_responses.csv` with both answers and grades.
pub fn load_gsm8k(path: &Path) -> Result<Vec<Gsm8kRecord>, ModelError> {
    let table = read_csv(path)?;
    let [prompt, mixtral, gpt4, mixtral_response, gpt4_response] = [
        "prompt".to_owned(),
        Gsm8kModel::Mixtral8x7b.column().to_owned(),
        Gsm8kModel::Gpt4_1106.column().to_owned(),
        format!("{}_response", Gsm8kModel::Mixtral8x7b.column()),
        format!("{}_response", Gsm8kModel::Gpt4_1106.column()),
    ]
    .map(|c| table.column(path, &c));
    let (prompt, mixtral, gpt4, mixtral_response, gpt4_response) =
        (prompt?, mixtral?, gpt4?, mixtral_response?, gpt4_response?);
    let field = |r: &csv::StringRecord, i: usize| r.get(i).unwrap_or_default().to_owned();
    Ok(table
        .rows
        .iter()
        .map(|r| Gsm8kRecord {
            prompt: field(r, prompt),
            mixtral_correct: field(r, mixtral).eq_ignore_ascii_case("true"),
            gpt4_correct: field(r, gpt4).eq_ignore_ascii_case("true"),
            mixtral_response: field(r, mixtral_response),
            gpt4_response: field(r, gpt4_response),
        })
        .collect())
}

struct Table {
    headers: csv::StringRecord,
    rows: Vec<csv::StringRecord>,
}

impl Table {
    fn column(&self, path: &Path, name: &str) -> Result<usize, ModelError> {
        self.headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| ModelError::Unavailable {
                message: format!(
                    "recorded responses `{}` have no column `{name}` (columns: {})",
                    path.display(),
                    self.headers.iter().collect::<Vec<_>>().join(", ")
                ),
            })
    }
}

fn read_csv(path: &Path) -> Result<Table, ModelError> {
    let unavailable = |e: csv::Error| ModelError::Unavailable {
        message: format!("cannot read recorded responses `{}`: {e}", path.display()),
    };
    let mut reader = csv::Reader::from_path(path).map_err(unavailable)?;
    let headers = reader.headers().map_err(unavailable)?.clone();
    let rows = reader
        .records()
        .collect::<Result<Vec<_>, _>>()
        .map_err(unavailable)?;
    Ok(Table { headers, rows })
}

#[async_trait::async_trait]
impl ChatModel for Replay {
    fn name(&self) -> &str {
        &self.name
    }
    fn provider(&self) -> &str {
        "replay"
    }
    fn context_window(&self) -> u64 {
        self.context_window
    }
    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        let prompt = request.last_user_message().unwrap_or_default().trim();
        let answer = self
            .answers
            .get(prompt)
            .ok_or_else(|| ModelError::Unavailable {
                message: format!(
                    "`{}` has no recorded answer for the prompt {:?}",
                    self.name,
                    prompt.chars().take(60).collect::<String>()
                ),
            })?;
        Ok(ChatResponse {
            text: answer.clone(),
            usage: Usage {
                input_tokens: request
                    .messages
                    .iter()
                    .map(|m| estimate_tokens(&m.content))
                    .sum(),
                output_tokens: estimate_tokens(answer),
                cached_input_tokens: 0,
            },
            response_model: Some(self.model.clone()),
            finish_reason: Some("stop".to_owned()),
        })
    }
}
