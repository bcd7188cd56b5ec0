//! A conservative token estimate for models whose tokenizer is not available here.

/// Estimated token count of `text`, erring high.
///
/// Rule: `max(ceil(utf8_bytes / 3), pieces)`, where `pieces` counts each run of letters or
/// digits as one piece and each other non-whitespace character as one piece.
///
/// Where it comes from: OpenAI's rule of thumb is about 4 characters of English per token
/// ("What are tokens and how to count them?", OpenAI Help Center); dividing UTF-8 *bytes* by 3
/// instead leaves a 25 % margin for English and counts one token per character for CJK text (3
/// bytes each in UTF-8), which byte-level BPE tokenizers rarely beat. The `pieces` floor follows
/// the pre-tokenizer split of GPT-2/cl100k-style tokenizers (Radford et al. 2019, §2.2), which
/// never merge across a word/punctuation boundary, so punctuation-dense text such as code or
/// JSON (`{"a":1}`) is not under-counted.
///
/// The empty string is 0 tokens. Chat formatting overhead (a few tokens per message) is not
/// included; callers add it where they pack prompts.
pub fn estimate_tokens(text: &str) -> u64 {
    let by_bytes = (text.len() as u64).div_ceil(3);
    let mut pieces: u64 = 0;
    let mut in_word = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if !in_word {
                pieces += 1;
                in_word = true;
            }
        } else {
            in_word = false;
            if !c.is_whitespace() {
                pieces += 1;
            }
        }
    }
    by_bytes.max(pieces)
}

#[cfg(test)]
mod tests {
    use super::estimate_tokens;

    fn check(text: &str, expected: u64) {
        assert_eq!(estimate_tokens(text), expected, "{text:?}");
    }

    #[test]
    fn estimates() {
        check("", 0);
        check("a", 1);
        check("hello world", 4); // 11 bytes -> 4; 2 pieces
        check("{\"a\":1,\"b\":2}", 13); // 13 bytes -> 5; 13 pieces (quotes, colons, braces)
        check("日本語", 3); // 9 bytes -> 3
        check("The quick brown fox jumps over the lazy dog.", 15); // 44 bytes; tiktoken says 10
    }
}
