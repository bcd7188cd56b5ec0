//! Plain text, Markdown, and e-mail bodies: lines grouped into paragraphs (a paragraph, heading,
//! list item or table row is one turn), Markdown markup stripped while every character keeps its
//! original offset.

use super::text::{MChar, Segmenter, mapped};

/// Line-by-line paragraph state for prose.
#[derive(Debug, Default)]
pub(crate) struct Prose {
    markdown: bool,
    speaker: Option<String>,
    paragraph: u32,
    in_para: bool,
    fence: Option<&'static str>,
    in_comment: bool,
    front_matter: bool,
    seen_line: bool,
}

/// How a line starts: whether it opens a block of its own, whether it also ends it, how many
/// bytes of prefix (list marker, heading hashes, quote marks) to skip, or whether to skip it.
struct LineShape {
    skip_line: bool,
    new_block: bool,
    single_line: bool,
    prefix: usize,
    table: bool,
}

impl Prose {
    pub fn new(markdown: bool) -> Self {
        Self {
            markdown,
            ..Self::default()
        }
    }

    /// Prose by one author (an e-mail's sender): every paragraph carries `speaker`.
    pub fn by(speaker: Option<String>) -> Self {
        Self {
            speaker,
            ..Self::default()
        }
    }

    /// Feeds one line: `text` and its characters `chars` (same content, mapped to the source).
    pub fn line(&mut self, seg: &mut Segmenter<'_>, text: &str, chars: &[MChar]) {
        let first = !self.seen_line;
        self.seen_line = true;
        let trimmed = text.trim();
        if self.markdown && self.markdown_skip(trimmed, first) {
            self.end(seg);
            return;
        }
        if trimmed.is_empty() {
            self.end(seg);
            return;
        }
        let shape = self.shape(text);
        if shape.skip_line {
            self.end(seg);
            return;
        }
        if shape.new_block || !self.in_para {
            seg.start_turn(self.speaker.clone(), Some(self.paragraph));
            self.paragraph += 1;
            self.in_para = true;
        } else if let Some(first) = chars.first() {
            seg.push_break(first.start);
        }
        let skip_chars = text.get(..shape.prefix).map_or(0, |p| p.chars().count());
        let content = chars.get(skip_chars..).unwrap_or_default();
        if self.markdown {
            seg.push(&strip_inline(content, shape.table));
        } else {
            seg.push(content);
        }
        if shape.single_line {
            self.end(seg);
        }
    }

    /// Ends the current paragraph.
    pub fn end(&mut self, seg: &mut Segmenter<'_>) {
        if self.in_para {
            seg.flush();
            self.in_para = false;
        }
    }

    /// Markdown lines that carry no prose: front matter, fenced code, HTML comments, link
    /// reference definitions.
    fn markdown_skip(&mut self, t: &str, first: bool) -> bool {
        if first && t == "---" {
            self.front_matter = true;
            return true;
        }
        if self.front_matter {
            if t == "---" || t == "..." {
                self.front_matter = false;
            }
            return true;
        }
        if let Some(fence) = self.fence {
            if t.starts_with(fence) {
                self.fence = None;
            }
            return true;
        }
        for fence in ["```", "~~~"] {
            if t.starts_with(fence) {
                self.fence = Some(fence);
                return true;
            }
        }
        if self.in_comment {
            if t.contains("-->") {
                self.in_comment = false;
            }
            return true;
        }
        if t.starts_with("<!--") {
            self.in_comment = !t.contains("-->");
            return true;
        }
        t.starts_with('[') && t.contains("]:") && !t.contains("](")
    }

    fn shape(&self, text: &str) -> LineShape {
        let indent = text.len() - text.trim_start().len();
        let mut rest = &text[indent..];
        let mut prefix = indent;
        let mut shape = LineShape {
            skip_line: false,
            new_block: false,
            single_line: false,
            prefix: 0,
            table: false,
        };
        let trimmed = rest.trim_end();
        // Rules and setext underlines: `---`, `***`, `===`, `___`.
        if trimmed.len() >= 3
            && let Some(c) = trimmed.chars().next()
            && matches!(c, '-' | '*' | '=' | '_')
            && trimmed.chars().all(|x| x == c || x == ' ')
        {
            shape.skip_line = true;
            return shape;
        }
        if self.markdown {
            while let Some(after) = rest.strip_prefix('>') {
                let after_trim = after.trim_start();
                prefix += rest.len() - after_trim.len();
                rest = after_trim;
            }
            let hashes = rest.bytes().take_while(|&b| b == b'#').count();
            if (1..=6).contains(&hashes) && rest[hashes..].starts_with(' ') {
                shape.new_block = true;
                shape.single_line = true;
                shape.prefix = prefix + hashes + 1;
                return shape;
            }
            if rest.starts_with('|') {
                if rest
                    .chars()
                    .all(|c| matches!(c, '|' | '-' | ':' | ' ' | '\t'))
                {
                    shape.skip_line = true;
                    return shape;
                }
                shape.new_block = true;
                shape.single_line = true;
                shape.table = true;
                shape.prefix = prefix;
                return shape;
            }
        }
        if let Some(marker) = list_marker(rest) {
            shape.new_block = true;
            prefix += marker;
        }
        shape.prefix = prefix;
        shape
    }
}

/// Length of a list marker (`- `, `* `, `+ `, `• `, `1. `, `2) `, `- [ ] `) at the start of `s`.
fn list_marker(s: &str) -> Option<usize> {
    let mut len = if ["- ", "* ", "+ ", "• "].iter().any(|m| s.starts_with(m)) {
        s.chars().next().map_or(1, char::len_utf8) + 1
    } else {
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        let after = s.get(digits..)?;
        if (1..=3).contains(&digits) && (after.starts_with(". ") || after.starts_with(") ")) {
            digits + 2
        } else {
            return None;
        }
    };
    for task in ["[ ] ", "[x] ", "[X] "] {
        if s[len..].starts_with(task) {
            len += task.len();
        }
    }
    Some(len)
}

/// Removes inline Markdown: emphasis (`*`, `**`, `_`, `~~`), code backticks, link and image
/// targets (`[text](url)` keeps `text`), HTML tags (autolinks keep their address), backslash
/// escapes; in table rows `|` becomes a space.
fn strip_inline(chars: &[MChar], table: bool) -> Vec<MChar> {
    let mut out = Vec::with_capacity(chars.len());
    let n = chars.len();
    let at = |i: usize| chars.get(i).map(|m| m.c);
    let mut i = 0;
    while i < n {
        let m = chars[i];
        match m.c {
            '\\' if at(i + 1).is_some_and(|c| c.is_ascii_punctuation()) => {
                out.push(chars[i + 1]);
                i += 2;
                continue;
            }
            '!' if at(i + 1) == Some('[') => {
                i += 1;
                continue;
            }
            '[' => {
                if let Some(close) = find(chars, i + 1, ']', 500) {
                    let target_close = match at(close + 1) {
                        Some('(') => find(chars, close + 2, ')', 2000),
                        Some('[') => find(chars, close + 2, ']', 200),
                        _ => None,
                    };
                    if let Some(target_close) = target_close {
                        out.extend(strip_inline(&chars[i + 1..close], table));
                        i = target_close + 1;
                        continue;
                    }
                }
            }
            '<' => {
                if let Some(close) = find(chars, i + 1, '>', 500) {
                    let inner: String = chars[i + 1..close].iter().map(|m| m.c).collect();
                    if inner.starts_with("http")
                        || inner.starts_with("mailto:")
                        || inner.contains('@')
                    {
                        out.extend_from_slice(&chars[i + 1..close]);
                        i = close + 1;
                        continue;
                    }
                    if inner.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '!')
                    {
                        i = close + 1;
                        continue;
                    }
                }
            }
            '*' | '`' => {
                i += 1;
                continue;
            }
            '~' if at(i + 1) == Some('~') => {
                i += 2;
                continue;
            }
            '_' => {
                let prev_word = i > 0 && chars[i - 1].c.is_alphanumeric();
                let next_word = at(i + 1).is_some_and(char::is_alphanumeric);
                if !(prev_word && next_word) {
                    i += 1;
                    continue;
                }
            }
            '|' if table => {
                out.push(MChar { c: ' ', ..m });
                i += 1;
                continue;
            }
            _ => {}
        }
        out.push(m);
        i += 1;
    }
    out
}

fn find(chars: &[MChar], from: usize, c: char, max: usize) -> Option<usize> {
    chars
        .get(from..)?
        .iter()
        .take(max)
        .position(|m| m.c == c)
        .map(|p| from + p)
}

/// Feeds a whole source read line by line as prose.
pub(crate) fn read(
    mut lines: super::read::LineReader,
    seg: &mut Segmenter<'_>,
    markdown: bool,
) -> Result<(), crate::error::IngestError> {
    let mut prose = Prose::new(markdown);
    while let Some(line) = lines.next_line()? {
        let chars = mapped(line.text, line.start);
        prose.line(seg, line.text, &chars);
    }
    prose.end(seg);
    Ok(())
}
