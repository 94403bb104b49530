//! `log-format: logfmt`: one line per event as Go's slog text handler writes it
//! (fly-autoscaler's format), `time=… level=INFO msg="…" key=value`, so log-based
//! alerts written for upstream keep matching.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::{format::Writer, FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

pub struct Logfmt;

impl<S, N> FormatEvent<S, N> for Logfmt
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        // slog's time: RFC 3339 with milliseconds.
        let secs = crate::clock::timestamp(now.as_secs());
        let time = format!("{}.{:03}Z", secs.trim_end_matches('Z'), now.subsec_millis());
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mut line = format!("time={time} level={}", level(event.metadata().level()));
        line.push_str(" msg=");
        push_value(&mut line, &fields.message);
        line.push_str(&fields.rest);
        writeln!(w, "{line}")
    }
}

/// slog's level names; tracing's TRACE is slog's DEBUG-4.
fn level(l: &Level) -> &'static str {
    match *l {
        Level::ERROR => "ERROR",
        Level::WARN => "WARN",
        Level::INFO => "INFO",
        Level::DEBUG => "DEBUG",
        Level::TRACE => "DEBUG-4",
    }
}

#[derive(Default)]
struct Fields {
    message: String,
    /// ` key=value` pairs in the order recorded.
    rest: String,
}

impl Fields {
    fn push(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
            return;
        }
        self.rest.push(' ');
        self.rest.push_str(field.name());
        self.rest.push('=');
        push_value(&mut self.rest, value);
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.push(field, value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, &format!("{value:?}"));
    }
}

/// A value bare when slog writes it bare, else quoted with Go's escapes: quoted when
/// empty or holding a space, `=`, `"` or a character that is not printable.
fn push_value(out: &mut String, v: &str) {
    let bare = !v.is_empty()
        && !v
            .chars()
            .any(|c| c == '=' || c == '"' || c.is_whitespace() || c.is_control());
    if bare {
        out.push_str(v);
        return;
    }
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::push_value;

    fn value(v: &str) -> String {
        let mut s = String::new();
        push_value(&mut s, v);
        s
    }

    #[test]
    fn values_are_quoted_as_slog_quotes_them() {
        assert_eq!(value("web"), "web");
        assert_eq!(value("3.5"), "3.5");
        assert_eq!(value(""), "\"\"");
        assert_eq!(value("fas serving"), "\"fas serving\"");
        assert_eq!(value("created=3"), "\"created=3\"");
        assert_eq!(value("say \"hi\"\n"), "\"say \\\"hi\\\"\\n\"");
        assert_eq!(value("a\\b"), "a\\b", "a backslash alone needs no quotes");
    }
}
