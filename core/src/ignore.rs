//! The ignore list: one glob a line, matched against `src_bucket/src_key`.
//!
//! - Blank lines and lines starting with `#` (after leading spaces) are skipped.
//! - Matching is case-sensitive and covers the whole `bucket/key` string.
//! - `*` matches any run of characters, `/` included; `?` matches exactly one character;
//!   `[abc]`, `[a-z]` and `[!abc]` are character classes. `**` works like `*`.
//! - Surrounding white space of a line is trimmed; a pattern that is not a valid glob is an
//!   error naming its line number.

use glob::{MatchOptions, Pattern};

const MATCH: MatchOptions =
    MatchOptions { case_sensitive: true, require_literal_separator: false, require_literal_leading_dot: false };

/// A bad line of an ignore list.
#[derive(Debug, thiserror::Error)]
#[error("ignore list line {line}: {pattern:?} is not a valid glob: {reason}")]
pub struct IgnoreError {
    pub line: usize,
    pub pattern: String,
    pub reason: String,
}

/// Parsed ignore list.
#[derive(Debug, Clone, Default)]
pub struct IgnoreList {
    patterns: Vec<Pattern>,
}

impl IgnoreList {
    /// Parses the text of an ignore list (SSM parameter value or file).
    pub fn parse(text: &str) -> Result<Self, IgnoreError> {
        let mut patterns = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let pattern = Pattern::new(line).map_err(|e| IgnoreError {
                line: i + 1,
                pattern: line.to_owned(),
                reason: e.msg.to_owned(),
            })?;
            patterns.push(pattern);
        }
        Ok(Self { patterns })
    }

    /// Number of patterns.
    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    /// True when no pattern is set.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// True when `bucket/key` matches a pattern.
    pub fn is_ignored(&self, bucket: &str, key: &str) -> bool {
        if self.patterns.is_empty() {
            return false;
        }
        let full = format!("{bucket}/{key}");
        self.patterns.iter().any(|p| p.matches_with(&full, MATCH))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(text: &str) -> IgnoreList {
        IgnoreList::parse(text).unwrap()
    }

    #[test]
    fn blank_lines_and_comments_are_skipped() {
        let l = list("\n# comment\n   # indented comment\n\nsrc/a.txt\n  \n");
        assert_eq!(l.len(), 1);
        assert!(l.is_ignored("src", "a.txt"));
    }

    #[test]
    fn exact_key_matches_only_itself() {
        let l = list("src/dir/a.txt");
        assert!(l.is_ignored("src", "dir/a.txt"));
        assert!(!l.is_ignored("src", "dir/a.txt2"));
        assert!(!l.is_ignored("other", "dir/a.txt"));
    }

    #[test]
    fn star_crosses_slashes() {
        let l = list("*.tmp\nsrc/logs/*");
        assert!(l.is_ignored("src", "a/b/c.tmp"));
        assert!(l.is_ignored("any", "x.tmp"));
        assert!(l.is_ignored("src", "logs/2026/11/22.log"));
        assert!(!l.is_ignored("src", "logs"));
        assert!(!l.is_ignored("src", "a.tmp.keep"));
    }

    #[test]
    fn question_mark_is_one_character() {
        let l = list("src/file?.txt");
        assert!(l.is_ignored("src", "file1.txt"));
        assert!(l.is_ignored("src", "file/.txt"), "? matches a slash too");
        assert!(!l.is_ignored("src", "file.txt"));
        assert!(!l.is_ignored("src", "file12.txt"));
        assert!(list("src/?").is_ignored("src", "é"), "one character, not one byte");
    }

    #[test]
    fn classes_work() {
        let l = list("src/[ab]*.log\nsrc/n[0-9]\nsrc/x[!0-9]");
        assert!(l.is_ignored("src", "a1.log"));
        assert!(l.is_ignored("src", "b.log"));
        assert!(!l.is_ignored("src", "c.log"));
        assert!(l.is_ignored("src", "n7"));
        assert!(!l.is_ignored("src", "nx"));
        assert!(l.is_ignored("src", "xy"));
        assert!(!l.is_ignored("src", "x1"));
    }

    #[test]
    fn matching_is_case_sensitive() {
        let l = list("*.JPG");
        assert!(l.is_ignored("src", "a.JPG"));
        assert!(!l.is_ignored("src", "a.jpg"));
    }

    #[test]
    fn dots_and_awkward_keys() {
        let l = list("*/.DS_Store\nsrc/with space/*\nsrc/+plus%25");
        assert!(l.is_ignored("src", "a/.DS_Store"));
        assert!(l.is_ignored("src", "with space/x"));
        assert!(l.is_ignored("src", "+plus%25"));
        assert!(!l.is_ignored("src", "+plus%"));
    }

    #[test]
    fn double_star_matches_like_star() {
        let l = list("src/cache/**");
        assert!(l.is_ignored("src", "cache/a/b"));
        assert!(!l.is_ignored("src", "cached"));
    }

    #[test]
    fn empty_list_ignores_nothing() {
        assert!(!list("").is_ignored("src", "anything"));
        assert!(list("# only comments").is_empty());
    }

    #[test]
    fn invalid_pattern_names_its_line() {
        let err = IgnoreList::parse("# c\nsrc/ok\nsrc/[unclosed\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.to_string().contains("line 3"), "{err}");
        assert!(err.to_string().contains("src/[unclosed"), "{err}");
    }
}
