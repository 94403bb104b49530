//! The one point every error and log line passes on its way out: each configured
//! secret value (the API token, collector tokens and keys, and any value expanded from
//! an environment variable whose name looks secret) is replaced by `<redacted>`.
//! Values register themselves where they enter fas: `Secret::new` and `${VAR}`
//! expansion; the CLI's error line and every log writer call `redact`.

use std::borrow::Cow;
use std::io::Write;
use std::sync::RwLock;

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Shorter values are not secrets worth hiding (and would hide ordinary words).
const MIN_LEN: usize = 6;

/// Remembers `value` (and, for a token list such as `FlyV1 fm2_a,fm2_b`, each piece
/// without its scheme) as a secret.
pub fn register(value: &str) {
    let mut pieces = vec![value.trim().to_string()];
    for part in value.split(',') {
        let mut p = part.trim();
        for scheme in ["Bearer ", "FlyV1 ", "bearer ", "flyv1 "] {
            p = p.strip_prefix(scheme).unwrap_or(p).trim_start();
        }
        pieces.push(p.to_string());
    }
    let mut s = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    for p in pieces {
        if p.len() >= MIN_LEN && !s.contains(&p) {
            s.push(p);
        }
    }
    // Longest first, so a token is hidden whole before any of its pieces.
    s.sort_by_key(|v| std::cmp::Reverse(v.len()));
}

/// Whether an environment variable's name says its value is secret.
pub fn secret_name(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    [
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "KEY",
        "CREDENTIAL",
        "AUTH",
    ]
    .iter()
    .any(|w| n.contains(w))
}

/// `text` with every registered secret replaced.
pub fn redact(text: &str) -> Cow<'_, str> {
    let s = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    if !s.iter().any(|v| text.contains(v.as_str())) {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_string();
    for v in s.iter() {
        if out.contains(v.as_str()) {
            out = out.replace(v.as_str(), "<redacted>");
        }
    }
    Cow::Owned(out)
}

/// The most of any quoted text fas keeps (a server's error, an HTTP body, a panic, a
/// config echo): enough to diagnose, small enough for a log line and the status page.
pub const QUOTE_MAX: usize = 4096;

/// `text` redacted whole, then cut to `QUOTE_MAX` bytes. The order is the point: a
/// secret cut in half is no longer recognised, so nothing is cut before redaction.
pub fn quote(text: &str) -> String {
    quote_max(text, QUOTE_MAX)
}

/// `quote` with another limit (`print` lines of a policy).
pub fn quote_max(text: &str, max: usize) -> String {
    let text = redact(text);
    if text.len() <= max {
        return text.into_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes cut)", &text[..end], text.len() - end)
}

/// A log writer: collects one event's text and writes it to stderr redacted.
#[derive(Default)]
pub struct Stderr(Vec<u8>);

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Stderr {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.0);
        let _ = std::io::stderr().write_all(redact(&text).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_their_pieces_are_hidden() {
        register("FlyV1 fm2_redacttest_aaaa,fm2_redacttest_bbbb");
        let r =
            redact("token FlyV1 fm2_redacttest_aaaa,fm2_redacttest_bbbb and fm2_redacttest_bbbb");
        assert_eq!(r, "token <redacted> and <redacted>");
        assert_eq!(redact("nothing here"), "nothing here");
        // A secret across the cut is hidden whole, not cut into a head that leaks.
        register("SECRETxyz_straddle_0123456789");
        let text = format!("{}SECRETxyz_straddle_0123456789 tail", "a".repeat(20));
        let q = quote_max(&text, 30);
        assert!(!q.contains("SECRET"), "{q}");
        assert!(
            q.starts_with(&format!("{}<redacted>", "a".repeat(20))),
            "{q}"
        );
        assert_eq!(quote_max("héllo", 2), "h… (5 bytes cut)");
        assert!(
            secret_name("PROM_TOKEN") && secret_name("db_password") && !secret_name("APP_NAME")
        );
    }
}
