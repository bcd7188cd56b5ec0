//! Why an input could not be linted.

use std::path::PathBuf;

/// An input that cannot be read or parsed. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum LintError {
    /// The file could not be read.
    #[error("cannot read {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file has no text (or only whitespace).
    #[error("{} is empty: nothing to lint", path.display())]
    Empty { path: PathBuf },
    /// The file contains NUL bytes: it is not a text file.
    #[error("{} is a binary file (NUL byte at offset {offset}): lint reads text specs only", path.display())]
    Binary { path: PathBuf, offset: usize },
    /// The file is not valid UTF-8.
    #[error("{} is not UTF-8 text (invalid byte at offset {offset}): save it as UTF-8", path.display())]
    NotUtf8 { path: PathBuf, offset: usize },
    /// A spec JSON file that is not valid JSON or not a `requirements.json`.
    #[error("{}:{line}:{column}: not a valid aine spec: {message}", path.display())]
    Json {
        path: PathBuf,
        /// 1-based.
        line: usize,
        /// 1-based.
        column: usize,
        message: String,
    },
}

/// `Result` with [`LintError`].
pub type Result<T, E = LintError> = std::result::Result<T, E>;
