//! [`LocalModel`]: a GGUF file loaded once and served behind [`ChatModel`].

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock, mpsc};
use std::time::{Duration, Instant};

use aine_models::{ChatModel, ChatRequest, ChatResponse, ModelError, Usage};
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatTemplate, LlamaModel};

use crate::catalog;
use crate::pull::{self, PullError};
use crate::worker::{self, Job, Shape};
use crate::{grammar, prompt};

/// How to run a loaded model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalOptions {
    /// CPU threads for prompt processing and generation. Default: all available cores.
    pub threads: u32,
    /// Context window per request in tokens (prompt plus output), rounded up to a multiple of
    /// 256 and capped at the model's trained context. Default 8192.
    pub context_tokens: u32,
    /// Requests decoded together as parallel sequences of one context (continuous batching).
    /// 1 disables batching. Default 4.
    pub batch_parallel: u32,
}

impl Default for LocalOptions {
    fn default() -> Self {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            threads: u32::try_from(threads).unwrap_or(1),
            context_tokens: 8192,
            batch_parallel: 4,
        }
    }
}

/// Why a model could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The file is missing, truncated or fails its checksum.
    #[error(transparent)]
    File(#[from] PullError),
    /// llama.cpp could not parse the file as a GGUF model.
    #[error(
        "cannot load `{}` as a GGUF model (truncated, corrupt or not GGUF); fetch it again with {hint}",
        path.display()
    )]
    NotGguf { path: PathBuf, hint: String },
    /// llama.cpp could not be initialised or could not create a context.
    #[error("llama.cpp: {message}")]
    Runtime { message: String },
    /// An option is out of range.
    #[error("invalid local model option: {message}")]
    InvalidOption { message: String },
}

impl From<LoadError> for ModelError {
    fn from(e: LoadError) -> Self {
        ModelError::Unavailable {
            message: e.to_string(),
        }
    }
}

/// Why a generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// The answer ended: end-of-generation token, the next turn's header, or (with a schema)
    /// a complete JSON value.
    Stop,
    /// `max_output_tokens` was reached; with a schema the text is then a valid JSON *prefix*.
    Length,
}

impl FinishReason {
    /// `stop` or `length`, as OpenAI's `finish_reason` spells them.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stop => "stop",
            Self::Length => "length",
        }
    }
}

/// Where one request's time went (wall clock; with batching, sequences overlap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timings {
    /// Waiting for a free slot.
    pub queued: Duration,
    /// From admission to the first sampled token (prompt processing).
    pub prompt: Duration,
    /// From the first to the last sampled token.
    pub generate: Duration,
    /// Steps where the model's own choice broke the grammar and the candidates had to be
    /// masked (see `sampling`).
    pub grammar_rejections: u32,
}

/// One answer with its token counts and timings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generation {
    /// The answer, trailing whitespace removed.
    pub text: String,
    /// Prompt tokens, BOS included.
    pub prompt_tokens: u64,
    /// Of `prompt_tokens`, those whose KV cells were kept from the previous request in the
    /// same slot (a shared prefix: not decoded again).
    pub cached_prompt_tokens: u64,
    /// Generated tokens (an end-of-generation token is not counted).
    pub output_tokens: u64,
    pub finish: FinishReason,
    pub timings: Timings,
}

/// A GGUF model loaded in process through llama.cpp.
///
/// Load once and share (`Arc<LocalModel>` or `Arc<dyn ChatModel>`): the weights are mapped
/// once; one decode thread owns the llama.cpp context and batches concurrent requests as
/// parallel sequences (see `worker`). [`ChatModel::complete`] never blocks the async runtime:
/// it queues the request and awaits the reply. Dropping the model stops the thread after its
/// current step.
pub struct LocalModel {
    name: String,
    model: Arc<LlamaModel>,
    /// The chat template of an instruction-tuned model (`None`: the base-model transcript).
    chat: Option<LlamaChatTemplate>,
    context_window: u64,
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
    seed: AtomicU32,
}

impl std::fmt::Debug for LocalModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalModel")
            .field("name", &self.name)
            .field("context_window", &self.context_window)
            .finish_non_exhaustive()
    }
}

static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();

/// The process-wide llama.cpp backend (initialised once; its logs go to `tracing`, target
/// `llama-cpp-2`, where a subscriber can filter them).
fn backend() -> Result<&'static LlamaBackend, LoadError> {
    BACKEND
        .get_or_init(|| {
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|message| LoadError::Runtime {
            message: message.clone(),
        })
}

impl LocalModel {
    /// Load the catalog model `name` (e.g. `local/gemma-3-270m`) from [`pull::cache_dir`],
    /// checking its size first (a truncated file fails fast with a clear error).
    ///
    /// # Errors
    /// [`LoadError::File`] naming the path and `aine models pull NAME` when the file is missing
    /// or has the wrong size; otherwise as [`LocalModel::load`].
    pub fn load_catalog(name: &str, options: LocalOptions) -> Result<Self, LoadError> {
        let entry = catalog::lookup(name).ok_or_else(|| {
            LoadError::File(PullError::UnknownModel {
                name: name.to_owned(),
                known: catalog::CATALOG
                    .iter()
                    .map(|e| e.name)
                    .collect::<Vec<_>>()
                    .join(", "),
            })
        })?;
        let path = pull::model_path(entry);
        pull::check_size(&path, entry)?;
        Self::load_inner(&path, entry.name.to_owned(), Some(entry.instruct), options)
    }

    /// Load the GGUF file at `path` (about 0.5 s for gemma-3-270m). The route name is the
    /// catalog name when the file name is in the catalog, else `local/<file stem>`. A file
    /// whose name is in the catalog is size-checked first.
    ///
    /// # Errors
    /// [`LoadError::File`] when the file is missing or (for a catalog file) truncated,
    /// [`LoadError::NotGguf`] when llama.cpp cannot load it, [`LoadError::Runtime`] when no
    /// context can be created, [`LoadError::InvalidOption`] for zero threads, context or
    /// parallelism.
    pub fn load(path: &Path, options: LocalOptions) -> Result<Self, LoadError> {
        let entry = path
            .file_name()
            .and_then(|f| f.to_str())
            .and_then(catalog::lookup_file);
        let (name, instruct) = match entry {
            Some(entry) => {
                pull::check_size(path, entry)?;
                (entry.name.to_owned(), Some(entry.instruct))
            }
            None => {
                let stem = path
                    .file_stem()
                    .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
                (format!("local/{stem}"), None)
            }
        };
        Self::load_inner(path, name, instruct, options)
    }

    /// `instruct`: whether to prompt through the GGUF's chat template (`None`: when it has one).
    fn load_inner(
        path: &Path,
        name: String,
        instruct: Option<bool>,
        options: LocalOptions,
    ) -> Result<Self, LoadError> {
        let threads = positive(options.threads, "threads")?;
        let per_seq = positive(options.context_tokens, "context_tokens")?;
        let parallel = positive(options.batch_parallel, "batch_parallel")?;
        if !path.is_file() {
            return Err(PullError::Missing {
                path: path.to_path_buf(),
                hint: pull::pull_hint(path),
            }
            .into());
        }
        let backend = backend()?;
        let model = LlamaModel::load_from_file(backend, path, &LlamaModelParams::default())
            .map_err(|_| LoadError::NotGguf {
                path: path.to_path_buf(),
                hint: pull::pull_hint(path),
            })?;
        let chat = match instruct {
            Some(false) => None,
            Some(true) | None => model.chat_template(None).ok(),
        };
        let model = Arc::new(model);

        // KV cells per sequence: llama.cpp pads to 256; never beyond the trained context.
        let trained = model.n_ctx_train().max(256);
        let n_ctx_seq = per_seq.div_ceil(256).saturating_mul(256).min(trained);
        let n_ctx = n_ctx_seq.saturating_mul(parallel);
        let n_batch = 512_u32;
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(n_ctx))
            .with_n_batch(n_batch)
            .with_n_ubatch(n_batch)
            .with_n_seq_max(parallel)
            .with_n_threads(i32::try_from(threads).unwrap_or(i32::MAX))
            .with_n_threads_batch(i32::try_from(threads).unwrap_or(i32::MAX))
            // Sliding-window layers keep only their window: 5 of gemma-3's 6 layers are local,
            // so this cuts KV memory about 5x at no cost for requests that never share cells.
            .with_swa_full(false)
            // One KV buffer for all sequences, so that sequences share the cells of a common
            // prompt prefix (`seq_cp` across separate buffers only copies whole sequences).
            .with_kv_unified(true);
        let shape = Shape {
            n_parallel: parallel as usize,
            n_ctx_seq,
            n_batch: n_batch as usize,
        };

        let (jobs_tx, jobs_rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::sync_channel::<Result<(), String>>(1);
        let for_thread = Arc::clone(&model);
        let thread = std::thread::Builder::new()
            .name("aine-llama-decode".to_owned())
            .spawn(move || {
                let model = for_thread;
                let ctx = match model.new_context(backend, params) {
                    Ok(ctx) => ctx,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                worker::run(Arc::clone(&model), ctx, shape, jobs_rx);
            })
            .map_err(|e| LoadError::Runtime {
                message: format!("cannot start the decode thread: {e}"),
            })?;
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(message)) => {
                return Err(LoadError::Runtime {
                    message: format!("cannot create a context: {message}"),
                });
            }
            Err(_) => {
                return Err(LoadError::Runtime {
                    message: "the decode thread stopped while starting".to_owned(),
                });
            }
        }
        Ok(Self {
            name,
            model,
            chat,
            context_window: u64::from(n_ctx_seq),
            jobs: Some(jobs_tx),
            thread: Some(thread),
            seed: AtomicU32::new(0x5EED),
        })
    }

    /// Generate an answer with token counts and timings ([`ChatModel::complete`] without the
    /// wrapping). Prompt format: see `prompt`; with an output schema, sampling follows the
    /// schema's grammar and stops once the JSON value is complete.
    ///
    /// # Errors
    /// [`ModelError::Unavailable`] when the schema has no grammar, the prompt plus
    /// `max_output_tokens` exceeds [`ChatModel::context_window`], or the decode thread is gone;
    /// [`ModelError::InvalidResponse`] when sampling fails.
    pub async fn generate(&self, request: &ChatRequest) -> Result<Generation, ModelError> {
        let grammar = request
            .output_schema
            .as_ref()
            .map(grammar::from_schema)
            .transpose()?;
        let prompt = match &self.chat {
            Some(template) => prompt::render_chat(&self.model, template, &request.messages)
                .map_err(|message| ModelError::Unavailable { message })?,
            None => prompt::render(&request.messages),
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = Job {
            parse_special: self.chat.is_some(),
            prompt,
            grammar,
            max_output_tokens: request.max_output_tokens,
            temperature: request.temperature,
            seed: self.seed.fetch_add(1, Ordering::Relaxed),
            submitted: Instant::now(),
            reply,
        };
        let gone = || ModelError::Unavailable {
            message: "the local model's decode thread has stopped".to_owned(),
        };
        self.jobs
            .as_ref()
            .ok_or_else(gone)?
            .send(job)
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

fn positive(value: u32, what: &str) -> Result<u32, LoadError> {
    if value == 0 {
        Err(LoadError::InvalidOption {
            message: format!("{what} must be at least 1"),
        })
    } else {
        Ok(value)
    }
}

impl Drop for LocalModel {
    fn drop(&mut self) {
        // Closing the queue ends the thread after its current step; no request can be in
        // flight here (each borrows `self`), only cancelled ones, which it drops.
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[async_trait::async_trait]
impl ChatModel for LocalModel {
    fn name(&self) -> &str {
        &self.name
    }

    fn provider(&self) -> &str {
        "llama.cpp"
    }

    fn context_window(&self) -> u64 {
        self.context_window
    }

    /// Tokens of `text` by the model's own tokenizer (no BOS, special tokens not parsed:
    /// exactly how message text is tokenized inside a prompt).
    fn count_tokens(&self, text: &str) -> u64 {
        self.model
            .vocab()
            .tokenize(text.as_bytes(), false, false)
            .len() as u64
    }

    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        let generation = self.generate(request).await?;
        Ok(ChatResponse {
            text: generation.text,
            usage: Usage {
                input_tokens: generation.prompt_tokens,
                output_tokens: generation.output_tokens,
                cached_input_tokens: generation.cached_prompt_tokens,
            },
            response_model: Some(self.name.clone()),
            finish_reason: Some(generation.finish.as_str().to_owned()),
        })
    }
}
