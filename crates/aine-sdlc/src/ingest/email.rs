//! E-mail (`.eml`, RFC 5322 with MIME), parsed with `mail-parser`.
//!
//! The speaker is the `From` display name (or address). The text bodies are read as prose;
//! quoted lines (`>`), the attribution line before them (`… wrote:`), and everything from a
//! signature separator (`-- `) or a forwarded/original-message separator on are skipped.
//!
//! Offsets: a body sent as-is (7bit/8bit, UTF-8) maps character by character to the original
//! bytes. A body that was decoded (quoted-printable, base64, another charset, HTML converted to
//! text) has no such correspondence; its sentences then all carry the byte span of the whole
//! MIME part body.

use std::io::Read;

use mail_parser::{MessageParser, PartType};

use super::prose::Prose;
use super::read::Opened;
use super::text::{MChar, Segmenter, mapped, mapped_to_range};
use crate::error::IngestError;

/// The largest e-mail read (it is parsed in memory, unlike the line-oriented formats).
pub const MAX_EMAIL_BYTES: u64 = 64 * 1024 * 1024;

pub(crate) fn read(opened: Opened, name: &str, seg: &mut Segmenter<'_>) -> Result<(), IngestError> {
    if opened.bytes > MAX_EMAIL_BYTES {
        return Err(IngestError::Email {
            file: name.to_owned(),
            message: format!(
                "it is {} bytes, more than the {MAX_EMAIL_BYTES} bytes read for one e-mail",
                opened.bytes
            ),
        });
    }
    let mut raw = Vec::with_capacity(usize::try_from(opened.bytes).unwrap_or_default());
    let mut file = opened.file;
    file.read_to_end(&mut raw)
        .map_err(|source| IngestError::Io {
            file: name.to_owned(),
            source,
        })?;
    let bad = |message: &str| IngestError::Email {
        file: name.to_owned(),
        message: message.to_owned(),
    };
    let message = MessageParser::default()
        .parse(&raw)
        .ok_or_else(|| bad("no RFC 5322 header section found"))?;
    if message.from().is_none() && message.subject().is_none() {
        return Err(bad("it has neither a `From` nor a `Subject` header"));
    }
    let speaker = message.from().and_then(|a| a.first()).and_then(|a| {
        a.name()
            .filter(|n| !n.trim().is_empty())
            .or_else(|| a.address())
            .map(str::to_owned)
    });
    let mut prose = Prose::by(speaker);
    for (pos, &part_id) in message.text_body.iter().enumerate() {
        let Some(part) = message.parts.get(part_id as usize) else {
            continue;
        };
        let Some(text) = message.body_text(pos) else {
            continue;
        };
        let (start, end) = (u64::from(part.offset_body), u64::from(part.offset_end));
        let as_sent = matches!(part.body, PartType::Text(_))
            && raw
                .get(part.offset_body as usize..)
                .is_some_and(|r| r.starts_with(text.as_bytes()));
        let chars = if as_sent {
            mapped(&text, start)
        } else {
            mapped_to_range(&text, start, end)
        };
        body(&mut prose, seg, &text, &chars);
    }
    prose.end(seg);
    Ok(())
}

/// Feeds the body's own lines (not quoted, not signature) to the prose reader.
fn body(prose: &mut Prose, seg: &mut Segmenter<'_>, text: &str, chars: &[MChar]) {
    let mut char_at = 0;
    let lines: Vec<&str> = text.split('\n').collect();
    for (i, line) in lines.iter().enumerate() {
        let n = line.chars().count();
        let line_chars = &chars[char_at.min(chars.len())..(char_at + n).min(chars.len())];
        char_at += n + 1;
        let line = line.trim_end_matches('\r');
        let line_chars = &line_chars[..line.chars().count().min(line_chars.len())];
        let t = line.trim();
        if t == "--" || line == "-- " || is_original_separator(t) {
            break;
        }
        if t.starts_with('>') {
            prose.end(seg);
            continue;
        }
        let next_quoted = lines[i + 1..]
            .iter()
            .find(|l| !l.trim().is_empty())
            .is_some_and(|l| l.trim_start().starts_with('>'));
        if t.ends_with("wrote:") && next_quoted {
            prose.end(seg);
            continue;
        }
        prose.line(seg, line, line_chars);
    }
}

fn is_original_separator(t: &str) -> bool {
    let lower = t.to_ascii_lowercase();
    (lower.starts_with("-----")
        && (lower.contains("original message") || lower.contains("forwarded message")))
        || (t.len() >= 10 && t.chars().all(|c| c == '_'))
}
