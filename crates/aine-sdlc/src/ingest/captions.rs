//! Captions: WebVTT (W3C WebVTT, `.vtt`) and SubRip (`.srt`).
//!
//! Cue timings, identifiers, `NOTE`/`STYLE`/`REGION` blocks are skipped. Consecutive cues of
//! one speaker form one turn, so a sentence that runs over several cues stays whole. The
//! speaker comes from a WebVTT voice tag (`<v Alice>`, `<v.loud Alice>`) or a `Name:` prefix;
//! a leading `- ` (a dialogue dash) starts a new turn. Tags (`<i>`, `<c.x>`, inline
//! timestamps), entities, `{\an8}`-style codes and sound annotations (`[MUSIC]`, `♪`) are
//! removed.

use super::lines::speaker_prefix;
use super::read::LineReader;
use super::text::{MChar, Segmenter, mapped, strip_markers, strip_tags};
use crate::error::IngestError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// WebVTT header block (until the first blank line).
    Header,
    /// Between cues: a blank line, an identifier, a timing line, or a comment block.
    Between,
    /// After a cue identifier: the timing line.
    Timing,
    /// Inside a `NOTE`, `STYLE` or `REGION` block.
    Skip,
    /// Cue payload lines.
    Text,
}

/// Reads WebVTT (`vtt = true`) or SRT captions; returns the number of turns.
pub(crate) fn read(
    mut lines: LineReader,
    seg: &mut Segmenter<'_>,
    vtt: bool,
) -> Result<u32, IngestError> {
    let mut state = if vtt { State::Header } else { State::Between };
    let mut turns = Turns::default();
    while let Some(line) = lines.next_line()? {
        let t = line.text.trim();
        state = match state {
            State::Header | State::Skip if t.is_empty() => State::Between,
            State::Header | State::Skip => state,
            State::Text if t.is_empty() => State::Between,
            State::Text => {
                turns.cue_line(seg, line.text, line.start, vtt);
                State::Text
            }
            State::Between | State::Timing if t.contains("-->") => State::Text,
            State::Between if t.is_empty() => State::Between,
            State::Between
                if vtt
                    && (t.starts_with("NOTE")
                        || t.starts_with("STYLE")
                        || t.starts_with("REGION")) =>
            {
                State::Skip
            }
            State::Between if !vtt && !t.bytes().all(|b| b.is_ascii_digit()) => {
                // Lenient SRT: text without an index or timing line still counts.
                turns.cue_line(seg, line.text, line.start, vtt);
                State::Text
            }
            State::Between => State::Timing,
            State::Timing => {
                turns.cue_line(seg, line.text, line.start, vtt);
                State::Text
            }
        };
    }
    seg.flush();
    Ok(turns.count)
}

#[derive(Debug, Default)]
struct Turns {
    count: u32,
}

impl Turns {
    fn start(&mut self, seg: &mut Segmenter<'_>, speaker: Option<String>) {
        seg.start_turn(speaker, Some(self.count));
        self.count += 1;
    }

    fn cue_line(&mut self, seg: &mut Segmenter<'_>, text: &str, start: u64, vtt: bool) {
        let mut chars = mapped(text, start);
        let mut speaker = if vtt { voice(text) } else { None };
        let mut dash = false;
        if speaker.is_none() {
            let plain: String = strip_tags(&chars).iter().map(|m| m.c).collect();
            if let Some(rest) = plain.trim_start().strip_prefix("- ") {
                dash = true;
                if let Some((name, _)) = speaker_prefix(rest) {
                    speaker = Some(name.to_owned());
                }
            } else if let Some((name, _)) = speaker_prefix(&plain) {
                speaker = Some(name.to_owned());
            }
            if let Some(name) = &speaker {
                chars = drop_prefix(&chars, name);
            }
        }
        let new_turn = match &speaker {
            Some(name) => seg.speaker() != Some(name.as_str()) || dash,
            None => dash || seg.turn().is_none(),
        };
        if new_turn {
            self.start(seg, speaker);
        } else if let Some(first) = chars.first() {
            seg.push_break(first.start);
        }
        let mut cleaned = strip_markers(&strip_tags(&chars), true);
        cleaned.retain(|m| !matches!(m.c, '♪' | '♫'));
        if dash {
            trim_dash(&mut cleaned);
        }
        seg.push(&cleaned);
    }
}

/// The name in a WebVTT voice tag: `<v Alice>` or `<v.loud Alice Smith>`.
fn voice(text: &str) -> Option<String> {
    let at = text.find("<v")?;
    let rest = &text[at + 2..];
    if !rest.starts_with([' ', '.']) {
        return None;
    }
    let close = rest.find('>')?;
    let inner = &rest[..close];
    let name = inner.split_once(' ').map_or("", |(_, n)| n).trim();
    (!name.is_empty()).then(|| name.to_owned())
}

/// Drops `Name:` (and a dialogue dash before it) from the start of a cue line.
fn drop_prefix(chars: &[MChar], name: &str) -> Vec<MChar> {
    let text: String = chars.iter().map(|m| m.c).collect();
    let Some(at) = text.find(name) else {
        return chars.to_vec();
    };
    let after = &text[at + name.len()..];
    let Some(colon) = after.find(':') else {
        return chars.to_vec();
    };
    let skip = text[..at + name.len() + colon + 1].chars().count();
    chars[skip..].to_vec()
}

fn trim_dash(chars: &mut Vec<MChar>) {
    let lead = chars.iter().take_while(|m| m.c.is_whitespace()).count();
    if chars.get(lead).is_some_and(|m| m.c == '-') {
        chars.drain(..=lead);
    }
}
