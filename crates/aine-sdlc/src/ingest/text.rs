//! Mapped text: characters that remember which bytes of the original file they came from, the
//! cleaning passes over them, and the [`Segmenter`] that turns a speaker turn or paragraph into
//! sentences with source refs.
//!
//! Every cleaning step (JSON unescaping, marker removal, Markdown stripping, whitespace
//! collapsing) works on [`MChar`]s, so a sentence's byte span in the original file is simply the
//! start of its first character and the end of its last one.

use aine_spec::{Sentence, SourceRef};

use super::split::split_sentences;

/// One character of cleaned text and the byte range `[start, end)` of the original file it came
/// from (a JSON escape such as `\u2019` maps its one character to all six bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MChar {
    pub c: char,
    pub start: u64,
    pub end: u64,
}

/// The characters of `s`, which starts at byte `base` of the original file.
pub(crate) fn mapped(s: &str, base: u64) -> Vec<MChar> {
    s.char_indices()
        .map(|(i, c)| {
            let start = base + i as u64;
            MChar {
                c,
                start,
                end: start + c.len_utf8() as u64,
            }
        })
        .collect()
}

/// The characters of `s`, all mapped to the one range `[start, end)` (used where decoding loses
/// the byte-for-byte correspondence, e.g. a quoted-printable e-mail body).
pub(crate) fn mapped_to_range(s: &str, start: u64, end: u64) -> Vec<MChar> {
    s.chars().map(|c| MChar { c, start, end }).collect()
}

/// Removes transcript markers: `{vocalsound}`, `{disfmarker}`, `{gap}` (AMI/QMSum), caption
/// positioning such as `{\an8}`, and, when `brackets`, short bracketed annotations such as
/// `[laughter]` or `[MUSIC]`. A marker is at most 40 characters of letters, digits, spaces and
/// `_-\.`; anything longer or with other characters is kept as text.
pub(crate) fn strip_markers(chars: &[MChar], brackets: bool) -> Vec<MChar> {
    let mut out = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let open = chars[i].c;
        let close = match open {
            '{' => Some('}'),
            '[' if brackets => Some(']'),
            _ => None,
        };
        if let Some(close) = close
            && let Some(len) = marker_len(&chars[i + 1..], close)
        {
            i += len + 2;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

fn marker_len(rest: &[MChar], close: char) -> Option<usize> {
    let end = rest.iter().take(41).position(|m| m.c == close)?;
    let inner = &rest[..end];
    let ok = !inner.is_empty()
        && inner
            .iter()
            .all(|m| m.c.is_alphanumeric() || matches!(m.c, ' ' | '_' | '-' | '\\' | '.'));
    ok.then_some(end)
}

/// Joins AMI-style spelled acronyms: `T_V_` → `TV`, `V_C_R_` → `VCR` (two or more single
/// capital letters each followed by `_`).
pub(crate) fn join_acronyms(chars: &[MChar]) -> Vec<MChar> {
    let mut out = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let word_start = i == 0 || !chars[i - 1].c.is_alphanumeric();
        let mut j = i;
        while word_start
            && j + 1 < chars.len()
            && chars[j].c.is_ascii_uppercase()
            && chars[j + 1].c == '_'
        {
            j += 2;
        }
        if j - i >= 4 {
            out.extend(chars[i..j].iter().step_by(2).copied());
            i = j;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// Removes `<...>` tags (caption styling such as `<i>`, `<b>`, `<c.yellow>`, `<v Speaker>`,
/// inline timestamps `<00:00:01.000>`), and decodes the entities captions use (`&amp;`, `&lt;`,
/// `&gt;`, `&nbsp;`, `&quot;`, `&apos;`, `&lrm;`, `&rlm;`).
pub(crate) fn strip_tags(chars: &[MChar]) -> Vec<MChar> {
    let mut out = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i].c;
        if c == '<'
            && let Some(len) = chars[i + 1..].iter().take(200).position(|m| m.c == '>')
        {
            i += len + 2;
            continue;
        }
        if c == '&'
            && let Some(len) = chars[i + 1..].iter().take(8).position(|m| m.c == ';')
        {
            let name: String = chars[i + 1..i + 1 + len].iter().map(|m| m.c).collect();
            let decoded = match name.as_str() {
                "amp" => Some(Some('&')),
                "lt" => Some(Some('<')),
                "gt" => Some(Some('>')),
                "nbsp" => Some(Some(' ')),
                "quot" => Some(Some('"')),
                "apos" => Some(Some('\'')),
                "lrm" | "rlm" => Some(None),
                _ => None,
            };
            if let Some(decoded) = decoded {
                let end = chars[i + 1 + len].end;
                if let Some(c) = decoded {
                    out.push(MChar {
                        c,
                        start: chars[i].start,
                        end,
                    });
                }
                i += len + 2;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// Words that make up filler-only sentences, which ingest drops: a sentence whose every word
/// (lower-cased, outer punctuation removed) is in this list is a backchannel or hesitation
/// ("Um.", "Okay.", "Mm-hmm.", "Yeah, right.") and carries no requirement. "No" is deliberately
/// absent: a bare refusal can matter.
pub const FILLER_WORDS: &[&str] = &[
    "ah", "aha", "all", "alright", "and", "anyway", "but", "cool", "er", "erm", "fine", "good",
    "great", "hm", "hmm", "huh", "kay", "mhm", "mm", "mm-hmm", "mmm", "nice", "oh", "ok", "okay",
    "oops", "right", "so", "sure", "uh", "uh-huh", "um", "umm", "well", "yeah", "yep", "yes",
    "yup",
];

/// Whether `text` is filler only (see [`FILLER_WORDS`]); text without a letter or digit counts
/// as filler too.
pub fn is_filler(text: &str) -> bool {
    if !text.chars().any(char::is_alphanumeric) {
        return true;
    }
    text.split_whitespace().all(|w| {
        let w = w
            .trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        w.is_empty() || FILLER_WORDS.contains(&w.as_str())
    })
}

/// Turns longer than this many characters are split early (all complete sentences are emitted,
/// the unfinished rest kept), so memory stays bounded on huge unpunctuated inputs.
const SOFT_LIMIT: usize = 16 * 1024;
/// A buffer this long with no sentence boundary at all is emitted as one sentence.
const HARD_LIMIT: usize = 64 * 1024;

/// Collects the cleaned characters of one turn (a speaker turn, paragraph, list item or caption
/// block), splits it into sentences and hands each kept sentence to the sink.
pub(crate) struct Segmenter<'a> {
    stem: String,
    file: String,
    speaker: Option<String>,
    turn: Option<u32>,
    buf: Vec<MChar>,
    pending_space: Option<MChar>,
    next_index: u32,
    dropped: u32,
    sink: &'a mut dyn FnMut(Sentence),
}

impl<'a> Segmenter<'a> {
    pub fn new(stem: &str, file: &str, sink: &'a mut dyn FnMut(Sentence)) -> Self {
        Self {
            stem: stem.to_owned(),
            file: file.to_owned(),
            speaker: None,
            turn: None,
            buf: Vec::new(),
            pending_space: None,
            next_index: 0,
            dropped: 0,
            sink,
        }
    }

    /// Ends the current turn and starts one by `speaker` with index `turn`.
    pub fn start_turn(&mut self, speaker: Option<String>, turn: Option<u32>) {
        self.flush();
        self.speaker = speaker;
        self.turn = turn;
    }

    pub fn speaker(&self) -> Option<&str> {
        self.speaker.as_deref()
    }

    pub fn turn(&self) -> Option<u32> {
        self.turn
    }

    /// Appends cleaned characters: whitespace runs become one space, and the space a tokenised
    /// transcript puts before punctuation (`word .`, `word ,`) is removed.
    pub fn push(&mut self, chars: &[MChar]) {
        for &m in chars {
            if m.c.is_whitespace() || m.c.is_control() {
                if !self.buf.is_empty() && self.pending_space.is_none() {
                    self.pending_space = Some(MChar { c: ' ', ..m });
                }
                continue;
            }
            if let Some(space) = self.pending_space.take()
                && !matches!(m.c, '.' | ',' | '?' | '!' | ';' | ':' | ')' | ']')
            {
                self.buf.push(space);
            }
            self.buf.push(m);
            if self.buf.len() >= HARD_LIMIT {
                self.flush_complete();
            }
        }
        if self.buf.len() > SOFT_LIMIT {
            self.flush_complete();
        }
    }

    /// Separates what comes next from what came before by a space (a line break inside a
    /// paragraph).
    pub fn push_break(&mut self, at: u64) {
        self.push(&[MChar {
            c: ' ',
            start: at,
            end: at,
        }]);
    }

    /// Emits every sentence of the current turn.
    pub fn flush(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        self.pending_space = None;
        for range in split_sentences(&buf) {
            self.emit(&buf[range]);
        }
    }

    /// Emits the complete sentences of an over-long turn and keeps the unfinished rest.
    fn flush_complete(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        let ranges = split_sentences(&buf);
        let keep_from = match ranges.last() {
            Some(last) if ranges.len() > 1 || buf.len() < HARD_LIMIT => last.start,
            _ => buf.len(),
        };
        for range in ranges {
            if range.start >= keep_from {
                break;
            }
            self.emit(&buf[range]);
        }
        self.buf = buf[keep_from..].to_vec();
    }

    fn emit(&mut self, chars: &[MChar]) {
        let (Some(first), Some(last)) = (chars.first(), chars.last()) else {
            return;
        };
        let text: String = chars.iter().map(|m| m.c).collect();
        if is_filler(&text) {
            self.dropped += 1;
            return;
        }
        let index = self.next_index;
        self.next_index += 1;
        (self.sink)(Sentence {
            text,
            source: SourceRef {
                id: format!("{}#{index}", self.stem),
                file: self.file.clone(),
                speaker: self.speaker.clone(),
                turn: self.turn,
                sentence: index,
                start: first.start,
                end: last.end,
            },
        });
    }

    /// Flushes and returns `(sentences kept, filler sentences dropped)`.
    pub fn finish(mut self) -> (u32, u32) {
        self.flush();
        (self.next_index, self.dropped)
    }
}
