//! Tokens, crude lemmas, stopwords, and a phrase matcher shared by cues, lexicons and topics.

use std::collections::HashMap;

/// Lower-cased word tokens of `text`: runs of letters, digits and inner apostrophes (`can't`,
/// `let's`); typographic apostrophes are normalised to `'`; currency signs and `%` are tokens of
/// their own.
pub fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let flush = |cur: &mut String, out: &mut Vec<String>| {
        let w = cur.trim_matches('\'');
        if !w.is_empty() {
            out.push(w.to_owned());
        }
        cur.clear();
    };
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let c = if c == '’' || c == '‘' { '\'' } else { c };
        if c.is_alphanumeric() || c == '\'' {
            cur.extend(c.to_lowercase());
        } else if c == '.'
            && !cur.is_empty()
            && cur.bytes().all(|b| b.is_ascii_digit())
            && chars.peek().is_some_and(char::is_ascii_digit)
        {
            cur.push('.');
        } else {
            flush(&mut cur, &mut out);
            if matches!(c, '€' | '$' | '£' | '%') {
                out.push(c.to_string());
            }
        }
    }
    flush(&mut cur, &mut out);
    out
}

/// A crude noun lemma: plural `-ies` → `-y`, `-sses` → `-ss`, a final `-s` dropped (not after
/// `s`, `u` or `i`); words of 3 letters or fewer are kept as they are.
pub fn lemma(word: &str) -> String {
    if word.len() <= 3 || !word.is_ascii() {
        return word.to_owned();
    }
    if let Some(stem) = word.strip_suffix("ies") {
        return format!("{stem}y");
    }
    if let Some(stem) = word.strip_suffix("sses") {
        return format!("{stem}ss");
    }
    if word.ends_with('s')
        && !word.ends_with("ss")
        && !word.ends_with("us")
        && !word.ends_with("is")
    {
        return word[..word.len() - 1].to_owned();
    }
    word.to_owned()
}

/// Whether `word` is a number: digits (`25`, `12.5`) or an English number word.
pub fn is_number(word: &str) -> bool {
    const NUMBER_WORDS: &[&str] = &[
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
        "thirty",
        "forty",
        "fifty",
        "sixty",
        "seventy",
        "eighty",
        "ninety",
        "hundred",
        "thousand",
        "million",
        "half",
        "dozen",
    ];
    (word.starts_with(|c: char| c.is_ascii_digit())
        && word.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
        || NUMBER_WORDS.contains(&word)
}

/// English function words and conversational fillers, excluded from features and topics.
pub const STOPWORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "actually",
    "after",
    "again",
    "against",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "anything",
    "are",
    "aren't",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "can't",
    "cannot",
    "could",
    "couldn't",
    "did",
    "didn't",
    "do",
    "does",
    "doesn't",
    "doing",
    "don't",
    "down",
    "during",
    "each",
    "either",
    "else",
    "er",
    "erm",
    "etc",
    "even",
    "ever",
    "every",
    "few",
    "for",
    "from",
    "further",
    "get",
    "gets",
    "getting",
    "go",
    "going",
    "gonna",
    "got",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "him",
    "his",
    "how",
    "however",
    "i",
    "i'd",
    "i'll",
    "i'm",
    "i've",
    "if",
    "in",
    "into",
    "is",
    "isn't",
    "it",
    "it'd",
    "it'll",
    "it's",
    "its",
    "just",
    "kind",
    "know",
    "let",
    "let's",
    "like",
    "lot",
    "maybe",
    "me",
    "mean",
    "might",
    "mm",
    "more",
    "most",
    "much",
    "must",
    "my",
    "need",
    "needs",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "oh",
    "ok",
    "okay",
    "on",
    "once",
    "one",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "out",
    "over",
    "own",
    "perhaps",
    "probably",
    "put",
    "quite",
    "rather",
    "really",
    "right",
    "same",
    "say",
    "see",
    "shall",
    "she",
    "should",
    "so",
    "some",
    "something",
    "sort",
    "still",
    "such",
    "sure",
    "than",
    "that",
    "that's",
    "the",
    "their",
    "them",
    "then",
    "there",
    "there's",
    "these",
    "they",
    "they'd",
    "they're",
    "thing",
    "things",
    "think",
    "this",
    "those",
    "though",
    "through",
    "to",
    "too",
    "uh",
    "um",
    "under",
    "until",
    "up",
    "us",
    "use",
    "used",
    "very",
    "wanna",
    "want",
    "was",
    "wasn't",
    "way",
    "we",
    "we'd",
    "we'll",
    "we're",
    "we've",
    "well",
    "were",
    "what",
    "what's",
    "when",
    "where",
    "whether",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "within",
    "won't",
    "would",
    "wouldn't",
    "yeah",
    "yes",
    "yet",
    "you",
    "you'd",
    "you'll",
    "you're",
    "you've",
    "your",
    "yours",
];

/// Whether `word` is a stopword.
pub fn is_stopword(word: &str) -> bool {
    STOPWORDS.binary_search(&word).is_ok()
}

/// Content lemmas of `text`: tokens that are not stopwords, numbers or symbols, lemmatised.
pub fn content_lemmas(text: &str) -> Vec<String> {
    tokens(text)
        .into_iter()
        .filter(|w| w.chars().any(char::is_alphabetic) && !is_stopword(w) && !is_number(w))
        .map(|w| lemma(&w))
        .collect()
}

/// A set of phrases (token sequences), each with a payload, matched against a token list.
#[derive(Debug)]
pub struct PhraseSet<T> {
    by_first: HashMap<String, Vec<(Vec<String>, T)>>,
}

impl<T: Copy> PhraseSet<T> {
    /// Builds the set from `(phrase, payload)` pairs; a phrase is space-separated tokens.
    pub fn new(phrases: impl IntoIterator<Item = (&'static str, T)>) -> Self {
        let mut by_first: HashMap<String, Vec<(Vec<String>, T)>> = HashMap::new();
        for (phrase, payload) in phrases {
            let words = tokens(phrase);
            if let Some(first) = words.first() {
                by_first
                    .entry(first.clone())
                    .or_default()
                    .push((words, payload));
            }
        }
        Self { by_first }
    }

    /// Every match in `words` as `(token index, phrase length, payload)`.
    pub fn matches(&self, words: &[String]) -> Vec<(usize, usize, T)> {
        let mut out = Vec::new();
        for (i, w) in words.iter().enumerate() {
            if let Some(candidates) = self.by_first.get(w) {
                for (phrase, payload) in candidates {
                    if words
                        .get(i..i + phrase.len())
                        .is_some_and(|s| s == phrase.as_slice())
                    {
                        out.push((i, phrase.len(), *payload));
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopwords_are_sorted_for_binary_search() {
        assert!(
            STOPWORDS.windows(2).all(|w| w[0] < w[1]),
            "STOPWORDS must be sorted and unique"
        );
    }

    #[test]
    fn tokenises() {
        assert_eq!(
            tokens("It can’t cost more than 12.50 €, OK?"),
            ["it", "can't", "cost", "more", "than", "12.50", "€", "ok"]
        );
        assert_eq!(lemma("batteries"), "battery");
        assert_eq!(lemma("buttons"), "button");
        assert_eq!(lemma("status"), "status");
    }
}
