//! Expr's `matches`: Go's regexp (RE2 syntax) on the `regex` crate, which reads the
//! same syntax. Where the two differ by default — Go's `\d`, `\w`, `\s` and `\b` are
//! ASCII, the crate's Unicode — the pattern is rewritten to Go's meaning. Compiled
//! patterns are cached per policy, with a bound on their number and size.

use std::collections::HashMap;

use regex::{Regex, RegexBuilder};

/// Most distinct patterns kept compiled (a dynamic pattern per round would otherwise
/// grow the cache without bound); the cache starts over when full.
const MAX_CACHED: usize = 256;
/// A compiled program's size limit: a pathological pattern is an error, not a stall.
const SIZE_LIMIT: usize = 1 << 20;

/// The pattern with Go's ASCII meaning of the Perl classes.
fn go_syntax(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('d') => out.push_str("(?-u:\\d)"),
            Some('D') => out.push_str("(?-u:\\D)"),
            Some('w') => out.push_str("(?-u:\\w)"),
            Some('W') => out.push_str("(?-u:\\W)"),
            Some('s') => out.push_str("[\\t\\n\\f\\r ]"),
            Some('S') => out.push_str("[^\\t\\n\\f\\r ]"),
            Some('b') => out.push_str("(?-u:\\b)"),
            Some('B') => out.push_str("(?-u:\\B)"),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Compiles as Go would accept it; the error reads like Go's `error parsing regexp`.
pub fn compile(pattern: &str) -> Result<Regex, String> {
    let rewritten = go_syntax(pattern);
    // Inside a character class the ASCII groups above are not valid syntax: fall
    // back to the pattern as written there (the crate's Unicode classes).
    RegexBuilder::new(&rewritten)
        .size_limit(SIZE_LIMIT)
        .build()
        .or_else(|_| RegexBuilder::new(pattern).size_limit(SIZE_LIMIT).build())
        .map_err(|e| {
            let first = e
                .to_string()
                .lines()
                .last()
                .unwrap_or("")
                .trim()
                .to_string();
            format!("error parsing regexp: {first}: `{pattern}`")
        })
}

/// A policy's compiled patterns.
#[derive(Default)]
pub struct Cache(HashMap<String, Regex>);

impl Cache {
    pub fn is_match(&mut self, text: &str, pattern: &str) -> Result<bool, String> {
        if let Some(re) = self.0.get(pattern) {
            return Ok(re.is_match(text));
        }
        let re = compile(pattern)?;
        if self.0.len() >= MAX_CACHED {
            self.0.clear();
        }
        let hit = re.is_match(text);
        self.0.insert(pattern.to_string(), re);
        Ok(hit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perl_classes_are_ascii_as_in_go() {
        let mut c = Cache::default();
        assert_eq!(c.is_match("a1", r"\d"), Ok(true));
        assert_eq!(c.is_match("a١", r"\d"), Ok(false), "Arabic-Indic digit");
        assert_eq!(c.is_match("é", r"^\w$"), Ok(false));
        assert_eq!(c.is_match("é", r"^.$"), Ok(true));
        assert_eq!(
            c.is_match(r"a\d", r"\\d"),
            Ok(true),
            "an escaped backslash stays"
        );
        assert_eq!(c.is_match("ABC", "(?i)abc"), Ok(true));
        assert!(compile("(")
            .unwrap_err()
            .starts_with("error parsing regexp"));
    }
}
