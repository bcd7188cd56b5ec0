//! Meeting transcripts as JSON speaker turns, read by a streaming scanner.
//!
//! Accepted shapes: the QMSum/AMI file (`{"meeting_transcripts": [{"speaker": …, "content": …},
//! …], …}`; other top-level keys such as `topic_list` are skipped), or a bare array of turns.
//! A turn's text is `content` (or `text`); its speaker `speaker`. The scanner holds one turn in
//! memory at a time, so the file size is not bounded by memory. Every character decoded from a
//! JSON string keeps the byte range of its raw form, so `\"`, `\n` or `\u2019` map back to the
//! escape sequence in the file.

use super::read::ByteReader;
use super::text::{MChar, Segmenter, join_acronyms, strip_markers};
use crate::error::IngestError;

/// Keys of the top-level object that hold the array of turns.
pub const TURN_KEYS: &[&str] = &["meeting_transcripts", "transcript", "turns", "utterances"];

struct Scanner {
    r: ByteReader,
}

impl Scanner {
    fn error(&self, message: impl Into<String>) -> IngestError {
        IngestError::Json {
            file: self.r.name().to_owned(),
            offset: self.r.offset(),
            message: message.into(),
        }
    }

    fn skip_ws(&mut self) -> Result<Option<u8>, IngestError> {
        while let Some(b) = self.r.peek()? {
            if !matches!(b, b' ' | b'\t' | b'\r' | b'\n') {
                return Ok(Some(b));
            }
            self.r.next_byte()?;
        }
        Ok(None)
    }

    fn expect(&mut self, want: u8) -> Result<(), IngestError> {
        match self.skip_ws()? {
            Some(b) if b == want => {
                self.r.next_byte()?;
                Ok(())
            }
            Some(b) => Err(self.error(format!(
                "expected `{}`, found `{}`",
                want as char, b as char
            ))),
            None => Err(self.error(format!(
                "expected `{}`, found the end of the file",
                want as char
            ))),
        }
    }

    /// After an element of an object or array: `true` if another follows (a `,` was read),
    /// `false` if `close` was read.
    fn more(&mut self, close: u8) -> Result<bool, IngestError> {
        match self.skip_ws()? {
            Some(b',') => {
                self.r.next_byte()?;
                Ok(true)
            }
            Some(b) if b == close => {
                self.r.next_byte()?;
                Ok(false)
            }
            Some(b) => Err(self.error(format!(
                "expected `,` or `{}`, found `{}`",
                close as char, b as char
            ))),
            None => Err(self.error("unexpected end of the file")),
        }
    }

    /// Whether the container opened just now is empty (its `close` was read).
    fn empty(&mut self, close: u8) -> Result<bool, IngestError> {
        if self.skip_ws()? == Some(close) {
            self.r.next_byte()?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Reads a string (the opening quote next) into characters mapped to their raw bytes.
    fn string(&mut self) -> Result<Vec<MChar>, IngestError> {
        self.expect(b'"')?;
        let mut bytes: Vec<u8> = Vec::new();
        let mut spans: Vec<(u64, u64)> = Vec::new();
        loop {
            let at = self.r.offset();
            let Some(b) = self.r.next_byte()? else {
                return Err(self.error("unterminated string"));
            };
            match b {
                b'"' => break,
                b'\\' => {
                    let c = self.escape()?;
                    let end = self.r.offset();
                    let mut utf8 = [0; 4];
                    for &byte in c.encode_utf8(&mut utf8).as_bytes() {
                        bytes.push(byte);
                        spans.push((at, end));
                    }
                }
                _ => {
                    bytes.push(b);
                    spans.push((at, at + 1));
                }
            }
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            let offset = spans
                .get(e.utf8_error().valid_up_to())
                .map_or(self.r.offset(), |s| s.0);
            IngestError::NotUtf8 {
                file: self.r.name().to_owned(),
                offset,
            }
        })?;
        Ok(text
            .char_indices()
            .filter_map(|(i, c)| {
                let first = spans.get(i)?;
                let last = spans.get(i + c.len_utf8() - 1)?;
                Some(MChar {
                    c,
                    start: first.0,
                    end: last.1,
                })
            })
            .collect())
    }

    /// Decodes the escape after a `\`.
    fn escape(&mut self) -> Result<char, IngestError> {
        let Some(b) = self.r.next_byte()? else {
            return Err(self.error("unterminated escape"));
        };
        Ok(match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = self.hex4()?;
                if (0xD800..0xDC00).contains(&hi) {
                    if self.r.next_byte()? != Some(b'\\') || self.r.next_byte()? != Some(b'u') {
                        return Err(self.error("lone UTF-16 surrogate in `\\u` escape"));
                    }
                    let lo = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&lo) {
                        return Err(self.error("invalid UTF-16 surrogate pair in `\\u` escape"));
                    }
                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                        .ok_or_else(|| self.error("invalid `\\u` escape"))?
                } else {
                    char::from_u32(hi).ok_or_else(|| self.error("invalid `\\u` escape"))?
                }
            }
            other => return Err(self.error(format!("invalid escape `\\{}`", other as char))),
        })
    }

    fn hex4(&mut self) -> Result<u32, IngestError> {
        let mut v = 0;
        for _ in 0..4 {
            let digit = self
                .r
                .next_byte()?
                .and_then(|b| (b as char).to_digit(16))
                .ok_or_else(|| self.error("invalid `\\u` escape"))?;
            v = v * 16 + digit;
        }
        Ok(v)
    }

    /// Skips any value without keeping it (strings are scanned, not decoded).
    fn skip_value(&mut self) -> Result<(), IngestError> {
        let mut depth = 0usize;
        loop {
            let Some(b) = self.skip_ws()? else {
                return Err(self.error("unexpected end of the file"));
            };
            match b {
                b'"' => {
                    self.r.next_byte()?;
                    loop {
                        match self.r.next_byte()? {
                            Some(b'"') => break,
                            Some(b'\\') => {
                                self.r.next_byte()?;
                            }
                            Some(_) => {}
                            None => return Err(self.error("unterminated string")),
                        }
                    }
                }
                b'{' | b'[' => {
                    self.r.next_byte()?;
                    depth += 1;
                    continue;
                }
                b'}' | b']' => {
                    if depth == 0 {
                        return Err(self.error(format!("unexpected `{}`", b as char)));
                    }
                    self.r.next_byte()?;
                    depth -= 1;
                }
                b',' | b':' if depth > 0 => {
                    self.r.next_byte()?;
                    continue;
                }
                _ => {
                    let mut any = false;
                    while let Some(b) = self.r.peek()? {
                        if matches!(b, b',' | b'}' | b']' | b':' | b' ' | b'\t' | b'\r' | b'\n') {
                            break;
                        }
                        any = true;
                        self.r.next_byte()?;
                    }
                    if !any {
                        return Err(self.error(format!("unexpected `{}`", b as char)));
                    }
                }
            }
            if depth == 0 {
                return Ok(());
            }
        }
    }
}

fn text_of(chars: &[MChar]) -> String {
    chars.iter().map(|m| m.c).collect()
}

/// Reads a JSON transcript, feeding each turn to `seg`; returns the number of turns.
pub(crate) fn read(r: ByteReader, seg: &mut Segmenter<'_>) -> Result<u32, IngestError> {
    let mut s = Scanner { r };
    match s.skip_ws()? {
        Some(b'[') => turns(&mut s, seg),
        Some(b'{') => {
            s.r.next_byte()?;
            let mut found = None;
            if !s.empty(b'}')? {
                loop {
                    let key = text_of(&s.string()?);
                    s.expect(b':')?;
                    if found.is_none()
                        && TURN_KEYS.contains(&key.as_str())
                        && s.skip_ws()? == Some(b'[')
                    {
                        found = Some(turns(&mut s, seg)?);
                    } else {
                        s.skip_value()?;
                    }
                    if !s.more(b'}')? {
                        break;
                    }
                }
            }
            found.ok_or_else(|| {
                s.error(format!(
                    "no array of speaker turns (`{}`) in the top-level object",
                    TURN_KEYS.join("`, `")
                ))
            })
        }
        _ => Err(s.error("expected a JSON object or array of speaker turns")),
    }
}

/// Reads the array of turns (the `[` next).
fn turns(s: &mut Scanner, seg: &mut Segmenter<'_>) -> Result<u32, IngestError> {
    s.expect(b'[')?;
    let mut count = 0u32;
    if s.empty(b']')? {
        return Ok(0);
    }
    loop {
        if s.skip_ws()? != Some(b'{') {
            return Err(s.error("expected a turn object `{\"speaker\": …, \"content\": …}`"));
        }
        s.r.next_byte()?;
        let mut speaker = None;
        let mut content = None;
        if !s.empty(b'}')? {
            loop {
                let key = text_of(&s.string()?);
                s.expect(b':')?;
                let is_string = s.skip_ws()? == Some(b'"');
                match key.as_str() {
                    "speaker" if is_string => {
                        speaker = Some(text_of(&s.string()?).trim().to_owned())
                    }
                    "content" | "text" if is_string => content = Some(s.string()?),
                    _ => s.skip_value()?,
                }
                if !s.more(b'}')? {
                    break;
                }
            }
        }
        seg.start_turn(speaker.filter(|sp| !sp.is_empty()), Some(count));
        if let Some(content) = content {
            seg.push(&join_acronyms(&strip_markers(&content, true)));
        }
        count += 1;
        if !s.more(b']')? {
            break;
        }
    }
    seg.flush();
    Ok(count)
}
