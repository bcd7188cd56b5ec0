//! Validation errors with positions (`path:line:col: message`) and the collector that gathers
//! all of them before anything is reported.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem found in a workflow file (or in a file it names: a prompt or a schema).
///
/// Lines and columns are 1-based, as editors and compilers show them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file the problem is in.
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// What is wrong, lower case, without a trailing period.
    pub message: String,
    /// What to do about it, when there is something useful to say.
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path.display(),
            self.line,
            self.col,
            self.message
        )?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// Every problem found in one workflow, ordered by file and position.
///
/// Displays one diagnostic per line (two when it has a hint), then a count such as `3 errors`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            writeln!(f, "{d}")?;
        }
        let n = self.0.len();
        write!(f, "{n} error{}", if n == 1 { "" } else { "s" })
    }
}

/// A 1-based position in the workflow file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Pos {
    pub line: usize,
    pub col: usize,
}

/// Collects diagnostics for one workflow file.
#[derive(Debug)]
pub(crate) struct Diags {
    path: PathBuf,
    list: Vec<Diagnostic>,
}

impl Diags {
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            list: Vec::new(),
        }
    }

    /// Reports a problem in the workflow file itself.
    pub fn error(&mut self, pos: Pos, message: impl Into<String>, hint: Option<String>) {
        let path = self.path.clone();
        self.error_in(&path, pos, message, hint);
    }

    /// Reports a problem in another file (a prompt template or a schema file).
    pub fn error_in(
        &mut self,
        path: &Path,
        pos: Pos,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        self.list.push(Diagnostic {
            path: path.to_path_buf(),
            line: pos.line.max(1),
            col: pos.col.max(1),
            message: message.into(),
            hint,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The diagnostics, the workflow file's first, each file's by position.
    pub fn finish(mut self) -> Diagnostics {
        let main = self.path;
        self.list.sort_by(|a, b| {
            (a.path != main, &a.path, a.line, a.col).cmp(&(b.path != main, &b.path, b.line, b.col))
        });
        self.list.dedup();
        Diagnostics(self.list)
    }
}

/// Levenshtein distance between two short strings (keys, names).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = Vec::with_capacity(b.len() + 1);
        cur.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest of `candidates` to `word` when it is a plausible typo (at most 2 edits, and
/// fewer than half of the word's characters).
pub(crate) fn closest<'c, I>(word: &str, candidates: I) -> Option<&'c str>
where
    I: IntoIterator<Item = &'c str>,
{
    let chars = word.chars().count();
    let limit = 2.min(chars.saturating_sub(1) / 2);
    candidates
        .into_iter()
        // Each edit changes the length by at most one, so a candidate whose length differs by
        // more than `limit` is never within it: skipping it keeps a 16 MiB name linear.
        .filter(|c| c.chars().count().abs_diff(chars) <= limit)
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// A hint for an unknown name: "did you mean `x`?" when one is close, otherwise the list of
/// names that would be accepted (`what` names them, e.g. "allowed keys").
pub(crate) fn suggest<'c, I>(word: &str, candidates: I, what: &str) -> Option<String>
where
    I: IntoIterator<Item = &'c str>,
{
    let candidates: Vec<&str> = candidates.into_iter().collect();
    if let Some(c) = closest(word, candidates.iter().copied()) {
        return Some(format!("did you mean `{c}`?"));
    }
    if candidates.is_empty() {
        return None;
    }
    let list: Vec<String> = candidates.iter().map(|c| format!("`{c}`")).collect();
    Some(format!("{what}: {}", list.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("steps", "steps"), 0);
        assert_eq!(edit_distance("step", "steps"), 1);
        assert_eq!(edit_distance("stpes", "steps"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn suggestions_prefer_close_names_then_list_all() {
        assert_eq!(
            suggest("budjet", ["budget", "owners"], "allowed keys"),
            Some("did you mean `budget`?".into())
        );
        assert_eq!(
            suggest("zzz", ["budget", "owners"], "allowed keys"),
            Some("allowed keys: `budget`, `owners`".into())
        );
        assert_eq!(suggest("zzz", [], "allowed keys"), None);
        // a one-letter word is not "close" to every other one-letter word
        assert_eq!(closest("a", ["b"]), None);
        // issue 14: a name far longer than every candidate is compared by length alone (a
        // 16 MiB name took 5.3 s through the edit distance; the benchmark `validate` measures it)
        let long = format!("core.echo{}", "x".repeat(1 << 20));
        assert_eq!(closest(&long, ["core.echo", "file.append"]), None);
        assert_eq!(
            closest("core.ech", ["core.echo", "file.append"]),
            Some("core.echo")
        );
    }
}
