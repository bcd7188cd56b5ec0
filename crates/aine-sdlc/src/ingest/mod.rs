//! `sources.ingest`: stakeholder inputs to sentences with source refs.
//!
//! Formats, chosen by extension and then by content ([`detect_format`]): plain text, Markdown,
//! e-mail (`.eml`), meeting transcripts as JSON speaker turns or `Speaker: text` lines, WebVTT
//! and SRT captions. Each sentence carries a [`SourceRef`](aine_spec::SourceRef): id
//! `<file stem>#<sentence index>`, file, speaker, turn (speaker turn, caption turn, or
//! paragraph), 0-based sentence index among the kept sentences, and the byte span `[start, end)`
//! of the sentence in the original file bytes (markers removed from the text still count).
//!
//! Streaming: every format except e-mail is read incrementally (lines, or a byte scanner for
//! JSON) and holds one turn at a time; [`ingest_file`] hands sentences to a callback, so memory
//! is bounded by the longest turn, not the file. Filler-only sentences are dropped
//! ([`FILLER_WORDS`]).

mod captions;
mod email;
mod json;
mod lines;
mod prose;
mod read;
mod split;
mod text;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use aine_spec::Sentence;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::IngestError;
pub use email::MAX_EMAIL_BYTES;
pub use json::TURN_KEYS;
pub use read::MAX_LINE;
pub use split::{ABBREVIATIONS, NUMBER_ABBREVIATIONS};
pub use text::{FILLER_WORDS, is_filler};

/// Input of `sources.ingest`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IngestInput {
    /// Paths of the sources (transcripts, notes, e-mails, captions), relative to the project
    /// directory.
    #[schemars(length(min = 1), extend("x-aine-path" = true))]
    pub sources: Vec<String>,
}

/// Output of `sources.ingest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IngestOutput {
    /// Every kept sentence of every source, in source order.
    pub sentences: Vec<Sentence>,
    /// One summary per source, in the order given.
    pub files: Vec<FileSummary>,
}

/// What ingest made of one source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FileSummary {
    /// The path as given.
    pub file: String,
    pub format: Format,
    /// Sentences kept.
    pub sentences: u32,
    /// Filler-only sentences dropped ("Um.", "Okay.", see `FILLER_WORDS`).
    pub dropped_fillers: u32,
    /// Size of the file in bytes.
    pub bytes: u64,
}

/// Source formats ingest reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Plain text: paragraphs separated by blank lines; list items are paragraphs of their own.
    Text,
    /// Markdown (CommonMark): markup stripped, code blocks and front matter skipped.
    Markdown,
    /// E-mail, RFC 5322 with MIME (`.eml`).
    Email,
    /// JSON speaker turns (`{"meeting_transcripts": [{"speaker", "content"}]}` as in QMSum/AMI).
    TranscriptJson,
    /// `Speaker: text` lines.
    TranscriptLines,
    /// W3C WebVTT captions (`.vtt`).
    Webvtt,
    /// SubRip captions (`.srt`).
    Srt,
}

/// The format of `name` from its extension, or for `.txt` and unknown extensions from its first
/// bytes `head`: a `WEBVTT` signature, an SRT index-and-timing start, a JSON object or array, an
/// RFC 5322 header block, `Speaker: text` lines; plain text otherwise.
pub fn detect_format(name: &str, head: &[u8]) -> Format {
    let ext = Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "md" | "markdown" | "mdown" | "mkd" => return Format::Markdown,
        "eml" => return Format::Email,
        "json" => return Format::TranscriptJson,
        "vtt" => return Format::Webvtt,
        "srt" => return Format::Srt,
        _ => {}
    }
    // Only for sniffing: the content itself is never lossily converted.
    let head = String::from_utf8_lossy(head);
    let text = head.trim_start_matches('\u{feff}').trim_start();
    if text.starts_with("WEBVTT") {
        return Format::Webvtt;
    }
    let mut first = text.lines();
    if let (Some(index), Some(timing)) = (first.next(), first.next())
        && !index.trim().is_empty()
        && index.trim().bytes().all(|b| b.is_ascii_digit())
        && timing.contains("-->")
    {
        return Format::Srt;
    }
    if text.starts_with('{')
        || (text.starts_with('[') && text[1..].trim_start().starts_with(['{', ']']))
    {
        return Format::TranscriptJson;
    }
    if looks_like_email(text) {
        return Format::Email;
    }
    if lines::looks_like_speaker_lines(text) {
        return Format::TranscriptLines;
    }
    Format::Text
}

/// At least two RFC 5322 headers (`From`, `To`, `Subject`, `Date`, …) before the first blank line,
/// the first line being one of them.
fn looks_like_email(text: &str) -> bool {
    const HEADERS: &[&str] = &[
        "from",
        "to",
        "cc",
        "subject",
        "date",
        "message-id",
        "received",
        "return-path",
        "mime-version",
        "delivered-to",
        "reply-to",
        "content-type",
        "in-reply-to",
    ];
    let is_header = |line: &str| {
        line.split_once(':')
            .is_some_and(|(name, _)| HEADERS.contains(&name.to_ascii_lowercase().as_str()))
    };
    let mut lines = text.lines().take_while(|l| !l.trim().is_empty());
    if !lines.next().is_some_and(is_header) {
        return false;
    }
    lines.filter(|l| is_header(l)).count() >= 1
}

/// Ingests one source, handing each kept sentence to `on_sentence` as it is found.
///
/// `path` is the file to open, `file` the path as given (shown in messages and source refs)
/// and `stem` the prefix of the sentence ids. Errors: missing, directory, empty, binary, non-UTF-8, malformed JSON or e-mail,
/// over-long lines (see [`IngestError`]).
pub fn ingest_file(
    path: &Path,
    file: &str,
    stem: &str,
    on_sentence: &mut dyn FnMut(Sentence),
) -> Result<FileSummary, IngestError> {
    let opened = read::open(path, file)?;
    let format = detect_format(file, &opened.head);
    let bytes = opened.bytes;
    let mut seg = text::Segmenter::new(stem, file, on_sentence);
    match format {
        Format::Text | Format::Markdown => {
            let lines = read::LineReader::new(opened.file, file);
            prose::read(lines, &mut seg, format == Format::Markdown)?;
        }
        Format::Email => email::read(opened, file, &mut seg)?,
        Format::TranscriptJson => {
            json::read(read::ByteReader::new(opened.file, file), &mut seg)?;
        }
        Format::TranscriptLines => {
            lines::read(read::LineReader::new(opened.file, file), &mut seg)?;
        }
        Format::Webvtt | Format::Srt => {
            let lines = read::LineReader::new(opened.file, file);
            captions::read(lines, &mut seg, format == Format::Webvtt)?;
        }
    }
    let (sentences, dropped_fillers) = seg.finish();
    Ok(FileSummary {
        file: file.to_owned(),
        format,
        sentences,
        dropped_fillers,
        bytes,
    })
}

/// Ingests `sources` (paths relative to `base_dir`, not checked: for callers that choose their
/// own files; the `sources.ingest` builtin confines paths first) in order, as [`ingest_paths`].
pub fn ingest(base_dir: &Path, sources: &[String]) -> Result<IngestOutput, IngestError> {
    let sources: Vec<(String, PathBuf)> = sources
        .iter()
        .map(|given| (given.clone(), base_dir.join(given)))
        .collect();
    ingest_paths(&sources, None)
}

/// Ingests `sources`, each (the path as given, the file to open), in order.
///
/// Sentence ids use the file stem (`notes/kickoff.md` → `kickoff#0`); when two sources share a
/// stem, the later one uses its whole path as given (`mail/kickoff.eml#0`) so ids stay unique.
/// A source larger than `max_bytes` (when given) is refused before any of it is read.
///
/// # Errors
/// [`IngestError`]: no sources, one listed twice, one too large, missing, unreadable, empty,
/// binary or malformed (with the line or byte offset).
pub fn ingest_paths(
    sources: &[(String, PathBuf)],
    max_bytes: Option<u64>,
) -> Result<IngestOutput, IngestError> {
    if sources.is_empty() {
        return Err(IngestError::NoSources);
    }
    let mut seen_files = BTreeSet::new();
    let mut seen_stems = BTreeSet::new();
    let mut sentences = Vec::new();
    let mut files = Vec::with_capacity(sources.len());
    for (file, path) in sources {
        if !seen_files.insert(file.as_str()) {
            return Err(IngestError::Duplicate { file: file.clone() });
        }
        if let Some(limit) = max_bytes {
            let bytes = std::fs::metadata(path).map_or(0, |m| m.len());
            if bytes > limit {
                return Err(IngestError::TooLarge {
                    file: file.clone(),
                    bytes,
                    limit,
                });
            }
        }
        let stem = Path::new(file)
            .file_stem()
            .and_then(|s| s.to_str())
            .filter(|s| !s.is_empty())
            .unwrap_or(file.as_str());
        let stem = if seen_stems.insert(stem.to_owned()) {
            stem.to_owned()
        } else {
            file.clone()
        };
        files.push(ingest_file(path, file, &stem, &mut |s| sentences.push(s))?);
    }
    Ok(IngestOutput { sentences, files })
}
