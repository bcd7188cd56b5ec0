//! Text helpers shared by the checks: tokens with byte offsets, word boundaries, stop words,
//! a light stemmer.

/// A word token: byte range into the text it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    pub start: usize,
    pub end: usize,
}

impl Token {
    pub fn text<'t>(&self, text: &'t str) -> &'t str {
        text.get(self.start..self.end).unwrap_or_default()
    }
}

fn is_alnum(c: char) -> bool {
    c.is_alphanumeric()
}

/// Splits `text` into word tokens. A word is a run of letters and digits, joined by `'`, `’`
/// or `-` between letters/digits (`don't`, `user-friendly`, `3-5`), and by `.` or `,` between
/// digits (`99.9`, `1,000`).
pub(crate) fn tokenize(text: &str, out: &mut Vec<Token>) {
    out.clear();
    let bytes = text.as_bytes();
    let mut start: Option<usize> = None;
    let mut iter = text.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        if is_alnum(c) {
            if start.is_none() {
                start = Some(i);
            }
            continue;
        }
        if let Some(s) = start {
            let next = iter.peek().map(|&(_, n)| n);
            let prev_digit = i > 0 && bytes.get(i - 1).is_some_and(u8::is_ascii_digit);
            let joiner = match c {
                '\'' | '’' | '-' => next.is_some_and(is_alnum),
                '.' | ',' => prev_digit && next.is_some_and(|n| n.is_ascii_digit()),
                _ => false,
            };
            if joiner {
                continue;
            }
            out.push(Token { start: s, end: i });
            start = None;
        }
    }
    if let Some(s) = start {
        out.push(Token {
            start: s,
            end: text.len(),
        });
    }
}

/// Whether a word character (letter, digit, or a joiner followed by one) touches `[start, end)`
/// from outside, i.e. the range is not a whole word or phrase.
pub(crate) fn at_word_boundary(text: &str, start: usize, end: usize) -> bool {
    let before = text.get(..start).and_then(|s| s.chars().next_back());
    let after_str = text.get(end..).unwrap_or_default();
    let mut after = after_str.chars();
    let first_in = text.get(start..end).and_then(|s| s.chars().next());
    let last_in = text.get(start..end).and_then(|s| s.chars().next_back());
    let left_ok = match (first_in, before) {
        (Some(f), Some(b)) if is_alnum(f) => {
            !(is_alnum(b)
                || ((b == '-' || b == '\'' || b == '’') && {
                    let pre = text
                        .get(..start.saturating_sub(b.len_utf8()))
                        .and_then(|s| s.chars().next_back());
                    pre.is_some_and(is_alnum)
                }))
        }
        _ => true,
    };
    let right_ok = match (last_in, after.next()) {
        (Some(l), Some(a)) if is_alnum(l) => {
            !(is_alnum(a)
                || ((a == '-' || a == '\'' || a == '’') && after.next().is_some_and(is_alnum)))
        }
        _ => true,
    };
    left_ok && right_ok
}

/// Whether the whole string is ASCII (spans are only reported over ASCII text).
pub(crate) fn ascii(text: &str, start: usize, end: usize) -> bool {
    text.get(start..end).is_some_and(|s| s.is_ascii())
}

/// English function words: no content of their own.
const FUNCTION_WORDS: &[&str] = &[
    "a", "about", "above", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as",
    "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by",
    "can", "could", "did", "do", "does", "doing", "down", "during", "each", "either", "etc", "few",
    "for", "from", "further", "get", "had", "has", "have", "having", "he", "her", "here", "hers",
    "him", "his", "how", "i", "i'd", "i'm", "if", "in", "into", "is", "it", "it's", "its",
    "itself", "just", "like", "may", "me", "might", "more", "most", "must", "my", "no", "nor",
    "not", "of", "off", "on", "once", "only", "or", "other", "our", "ours", "out", "over", "own",
    "same", "shall", "she", "should", "so", "some", "such", "than", "that", "the", "their",
    "theirs", "them", "then", "there", "these", "they", "this", "those", "through", "to", "too",
    "under", "until", "up", "upon", "us", "very", "was", "we", "were", "what", "when", "where",
    "whether", "which", "while", "who", "whom", "why", "will", "with", "within", "would", "you",
    "your", "yours",
];

/// Words of the requirement and story templates: present in almost every item, so they say
/// nothing about whether an item matches its source.
const TEMPLATE_WORDS: &[&str] = &[
    "able", "allow", "allows", "need", "needs", "ok", "provide", "provides", "system", "user",
    "users", "want", "wants", "yes",
];

/// Whether a lower-case word is a function word.
pub(crate) fn is_function_word(lower: &str) -> bool {
    FUNCTION_WORDS.contains(&lower)
}

/// Whether a lower-case word is a function word or a template word.
pub(crate) fn is_stop_word(lower: &str) -> bool {
    is_function_word(lower) || TEMPLATE_WORDS.contains(&lower)
}

/// A light suffix stemmer (not Porter): lower-cases and strips one of `ies`→`y`, `ing`, `ed`,
/// `es`, `s`, `ly` when at least three letters remain. Applied the same way to both sides of a
/// comparison, so `exports`/`exporting`/`exported` meet at `export`.
pub(crate) fn stem(word: &str) -> String {
    let w = word.to_lowercase().replace('’', "'");
    let w = w.strip_suffix("'s").unwrap_or(&w).to_owned();
    let n = w.chars().count();
    if let Some(base) = w.strip_suffix("ies")
        && n > 4
    {
        return format!("{base}y");
    }
    for suffix in ["ing", "ed", "es", "ly"] {
        if let Some(base) = w.strip_suffix(suffix)
            && base.chars().count() >= 3
        {
            return base.to_owned();
        }
    }
    if let Some(base) = w.strip_suffix('s')
        && !base.ends_with('s')
        && base.chars().count() >= 3
    {
        return base.to_owned();
    }
    w
}

/// The stemmed content words of a text (stop words and numbers removed): what the
/// `trace.no-overlap` rule compares between an item and its sources.
pub fn content_words(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    tokenize(text, &mut tokens);
    tokens
        .iter()
        .map(|t| t.text(text))
        .filter(|w| w.chars().any(char::is_alphabetic))
        .filter(|w| !is_stop_word(&w.to_lowercase()))
        .map(stem)
        .collect()
}

/// Character count of `text[..byte]` (for 1-based columns).
pub(crate) fn chars_before(text: &str, byte: usize) -> usize {
    text.get(..byte).map_or(0, |s| s.chars().count())
}

/// [`chars_before`] for many offsets of one text in O(log n) each: the byte offset of every
/// multi-byte character and the extra bytes up to and including it. Built in one pass, so
/// reporting many findings in one long item stays linear.
#[derive(Debug, Default)]
pub(crate) struct CharIndex {
    /// (byte offset just past a multi-byte character, extra bytes up to there).
    wide: Vec<(usize, usize)>,
    len: usize,
}

impl CharIndex {
    pub(crate) fn new(text: &str) -> Self {
        let mut extra = 0;
        let wide = text
            .char_indices()
            .filter(|(_, c)| c.len_utf8() > 1)
            .map(|(at, c)| {
                extra += c.len_utf8() - 1;
                (at + c.len_utf8(), extra)
            })
            .collect();
        CharIndex {
            wide,
            len: text.len(),
        }
    }

    /// Characters before byte `byte` (as [`chars_before`] on the text; 0 past its end).
    pub(crate) fn chars_before(&self, byte: usize) -> usize {
        if byte > self.len {
            return 0;
        }
        let passed = self.wide.partition_point(|&(end, _)| end <= byte);
        let extra = passed.checked_sub(1).map_or(0, |i| self.wide[i].1);
        byte - extra
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_char_index_counts_as_chars_before_does() {
        for text in ["", "plain ascii", "naïve café — ok", "日本語 text ✓"] {
            let index = CharIndex::new(text);
            for (byte, _) in text.char_indices().chain([(text.len(), ' ')]) {
                assert_eq!(
                    index.chars_before(byte),
                    chars_before(text, byte),
                    "{text} @ {byte}"
                );
            }
        }
    }

    fn words(text: &str) -> Vec<&str> {
        let mut t = Vec::new();
        tokenize(text, &mut t);
        t.iter().map(|t| t.text(text)).collect()
    }

    #[test]
    fn tokens_keep_joined_words_and_numbers() {
        assert_eq!(
            words("I don't want user-friendly 99.9% of 1,000 items, 3-5 s."),
            [
                "I",
                "don't",
                "want",
                "user-friendly",
                "99.9",
                "of",
                "1,000",
                "items",
                "3-5",
                "s"
            ]
        );
        assert_eq!(words("within 2. Then"), ["within", "2", "Then"]);
    }

    #[test]
    fn boundaries() {
        let t = "allow all high-level it's";
        assert!(!at_word_boundary(t, 0, 3)); // "all" in "allow"
        assert!(at_word_boundary(t, 6, 9)); // "all"
        assert!(!at_word_boundary(t, 10, 14)); // "high" in "high-level"
        assert!(!at_word_boundary(t, 21, 23)); // "it" in "it's"
    }

    #[test]
    fn stems_meet() {
        assert_eq!(stem("exports"), "export");
        assert_eq!(stem("exporting"), "export");
        assert_eq!(stem("Exported"), "export");
        assert_eq!(stem("queries"), "query");
        assert_eq!(stem("class"), "class");
    }
}
