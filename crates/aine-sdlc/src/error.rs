//! Errors of the SDLC pack's builtins.

/// Why a source could not be ingested. Every message names the source as it was given.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(
        "source `{file}` does not exist (looked for `{path}`; paths are relative to the project directory)"
    )]
    Missing { file: String, path: String },
    #[error("source `{file}` is a directory; list the files in it instead")]
    Directory { file: String },
    #[error("cannot read source `{file}`: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("source `{file}` is empty")]
    Empty { file: String },
    #[error(
        "source `{file}` is {bytes} bytes, over the {limit} bytes a run may read from one source; split it into smaller files, or raise `max_read_bytes` under [files] in aine.toml"
    )]
    TooLarge {
        file: String,
        bytes: u64,
        limit: u64,
    },
    #[error(
        "source `{file}` looks like {what}, not text; ingest reads plain text, Markdown, e-mail (.eml), transcripts (.json turns, `Speaker: text` lines) and captions (.vtt, .srt)"
    )]
    Binary { file: String, what: String },
    #[error(
        "source `{file}` is not valid UTF-8: invalid byte sequence at byte offset {offset}; convert it to UTF-8 first (e.g. `iconv -f windows-1252 -t utf-8`)"
    )]
    NotUtf8 { file: String, offset: u64 },
    #[error(
        "source `{file}` has a line longer than {limit} bytes at byte offset {offset}; is it really a text file?"
    )]
    LineTooLong {
        file: String,
        offset: u64,
        limit: usize,
    },
    #[error("source `{file}` is not a JSON transcript: {message} at byte offset {offset}")]
    Json {
        file: String,
        offset: u64,
        message: String,
    },
    #[error("source `{file}` is not a readable e-mail: {message}")]
    Email { file: String, message: String },
    #[error("source `{file}` is listed twice")]
    Duplicate { file: String },
    #[error("no sources given: list at least one file in `sources`")]
    NoSources,
}

/// Why requirement detection failed.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error("`min_confidence` must be between 0 and 1, got {0}")]
    BadThreshold(f64),
    #[error("the bundled category model is malformed at line {line} (a bug in aine)")]
    BadModel { line: usize },
    /// `detector: minilm` was asked for and the embedding detector cannot run.
    #[error("the embedding detector cannot run: {0}")]
    Embedding(String),
}
