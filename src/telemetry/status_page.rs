//! The status page: plain server-rendered HTML (no script; works with JavaScript off,
//! one column on a phone). `GET /` lists the apps a page at a time (filter, sort and
//! page are links and a GET form); `GET /apps/{name}` shows one app's recent rounds
//! with a small SVG chart. Every text shown is escaped; errors were redacted when
//! recorded, and nothing here can reach a token or a policy's state.

use std::fmt::Write;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::status::{list, Ctx, ListQuery};
use super::status_chart::chart;
use crate::markup::escape;
use crate::policy::Bounds;
use crate::reconcile::status::{Round, Status};

/// `%`-encodes a query value or path part.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:12px;color:#222}\
h1{font-size:20px;margin:4px 0}table{border-collapse:collapse;width:100%}\
th,td{padding:4px 6px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}\
th a{color:inherit}.mode{display:inline-block;padding:2px 8px;border-radius:4px;color:#fff;font-weight:600}\
.live{background:#2a7d2e}.dry{background:#b26b00}.err{color:#b00020}.muted{color:#666}\
.act{font-weight:600}form{margin:8px 0}input,select,button{font:inherit;padding:3px}\
.pager a,.pager span{margin-right:8px}svg{max-width:100%;height:auto}\
@media(max-width:700px){.wide{display:none}td,th{padding:3px}}";

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>{body}</body></html>",
        escape(title)
    ))
}

/// `HH:MM:SS` UTC, and the age relative to `now`.
fn when(at: f64, now: f64) -> String {
    let secs = at.rem_euclid(86400.0) as u64;
    let age = (now - at).max(0.0);
    let ago = if age < 120.0 {
        format!("{age:.0} s ago")
    } else if age < 7200.0 {
        format!("{:.0} min ago", age / 60.0)
    } else {
        format!("{:.1} h ago", age / 3600.0)
    };
    format!(
        "{:02}:{:02}:{:02} UTC <span class=\"muted\">({ago})</span>",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn mode_header(status: &Status, now: f64) -> String {
    let Some(m) = status.mode() else {
        return String::new();
    };
    let badge = if m.dry_run {
        "<span class=\"mode dry\">DRY RUN — nothing is sent</span>"
    } else {
        "<span class=\"mode live\">LIVE</span>"
    };
    let mut s = format!(
        "<p>{badge} policy <b>{}</b>, loaded {}",
        escape(&m.policy),
        when(m.loaded_at, now)
    );
    if m.reloads > 0 {
        let _ = write!(s, ", {} reload(s)", m.reloads);
    }
    match status.watch_period() {
        Some(p) => {
            let _ = write!(s, "; each app watched every {p:.1} s between rounds");
        }
        None => s.push_str("; full rounds only (no watch steps)"),
    }
    if let Some(c) = &m.cluster {
        let _ = write!(s, "<br>cluster: {}", escape(c));
    }
    if let Some(e) = &m.last_reload_error {
        let _ = write!(
            s,
            "<br><span class=\"err\">last reload rejected: {}</span>",
            escape(e)
        );
    }
    s.push_str("</p>");
    s
}

fn bounds(b: Option<Bounds>) -> String {
    b.map_or("—".into(), |b| b.to_string())
}

fn metrics_text(r: &Round) -> String {
    let parts: Vec<String> = r
        .metrics
        .iter()
        .map(|(n, v)| format!("{}={}", escape(n), v))
        .collect();
    if parts.is_empty() {
        "—".into()
    } else {
        parts.join(" ")
    }
}

/// What the round did, or why not.
fn outcome(r: &Round) -> String {
    if let Some(e) = &r.error {
        let q = if r.quarantined { "QUARANTINED: " } else { "" };
        return format!("<span class=\"err\">{q}{}</span>", escape(e));
    }
    let planned = if r.planned.is_empty() {
        "<span class=\"muted\">(no Machine available)</span>".to_string()
    } else {
        escape(&r.planned.join(", "))
    };
    let mut s = match (r.action, r.dry_run) {
        ("no_scale", _) => "no change".to_string(),
        (a, true) => format!("<span class=\"act\">would {a}</span> {planned}"),
        (a, false) => format!(
            "<span class=\"act\">{a}</span> {planned} ({} ok, {} failed)",
            r.succeeded, r.failed
        ),
    };
    if r.fallback {
        s.push_str(" <span class=\"err\">(fallback: a metric keeps failing)</span>");
    }
    if r.held_by_protection > 0 {
        let _ = write!(
            s,
            " <span class=\"muted\">({} protected Machine(s) kept)</span>",
            r.held_by_protection
        );
    }
    match r.skipped {
        Some("overrun") => s.push_str(" <span class=\"muted\">(overran the interval)</span>"),
        Some(why) => {
            let _ = write!(s, " <span class=\"muted\">skipped: {}</span>", escape(why));
        }
        None => {}
    }
    s
}

fn machines(r: &Round) -> String {
    if r.action == "error" && r.counts_from.is_none() {
        return "— <span class=\"muted\">(not listed yet)</span>".into();
    }
    let known = match r.counts_from {
        Some(at) => format!(", last known at {}", crate::clock::timestamp(at as u64)),
        None => String::new(),
    };
    format!(
        "{} started / {} created <span class=\"muted\">({} stopped{known})</span>",
        r.started, r.created, r.stopped
    )
}

pub async fn index(State(ctx): State<Ctx>, Query(q): Query<ListQuery>) -> Response {
    super::http::rendered(move || {
        page("fas status", &index_body(&ctx.status, ctx.clock.now(), &q)).into_response()
    })
    .await
}

/// The list's HTML body.
pub fn index_body(status: &Status, now: f64, q: &ListQuery) -> String {
    let listing = list(status, q);
    let link = |sort: &str, page: usize| {
        format!(
            "/?q={}&amp;show={}&amp;sort={}&amp;page={page}",
            encode(&q.q),
            encode(&q.show),
            encode(sort)
        )
    };
    let mut b = format!(
        "<h1>fas — {} app(s)</h1>{}",
        listing.total,
        mode_header(status, now)
    );
    let _ = write!(b, "<form method=\"get\" action=\"/\"><input name=\"q\" placeholder=\"app name contains\" value=\"{}\"> <select name=\"show\">", escape(&q.q));
    for (v, label) in [
        ("all", "all apps"),
        ("errors", "with errors"),
        ("acting", "acting"),
        ("quarantined", "quarantined"),
    ] {
        let sel = if q.show == v { " selected" } else { "" };
        let _ = write!(b, "<option value=\"{v}\"{sel}>{label}</option>");
    }
    let _ = write!(b, "</select><input type=\"hidden\" name=\"sort\" value=\"{}\"> <button>Filter</button></form>", escape(&q.sort));
    b.push_str("<table id=\"apps\"><thead><tr>");
    for (sort, label, class) in [
        ("name", "App", ""),
        ("updated", "Last round", " class=\"wide\""),
        ("", "Metrics", ""),
        ("", "Targets", " class=\"wide\""),
        ("started", "Machines", ""),
        ("action", "Action", ""),
        ("error", "Error", " class=\"wide\""),
    ] {
        if sort.is_empty() {
            let _ = write!(b, "<th{class}>{label}</th>");
        } else {
            let _ = write!(
                b,
                "<th{class}><a href=\"{}\">{label}</a></th>",
                link(sort, 1)
            );
        }
    }
    b.push_str("</tr></thead><tbody>");
    for row in &listing.apps {
        let r = &row.last;
        let _ = write!(
            b,
            "<tr class=\"app\" data-app=\"{n}\"><td><a href=\"/apps/{u}\">{n}</a></td><td class=\"wide\">{}</td><td>{}</td>\
             <td class=\"wide\">created {} · started {}</td><td>{}</td><td>{}</td><td class=\"wide\">{}</td></tr>",
            when(r.at, now),
            metrics_text(r),
            bounds(r.created_target),
            bounds(r.started_target),
            machines(r),
            if r.error.is_some() { "error".into() } else { outcome(r) },
            r.error.as_deref().map_or(String::new(), |e| format!("<span class=\"err\">{}{}</span>", if r.quarantined { "QUARANTINED: " } else { "" }, escape(e))),
            n = escape(&row.name),
            u = encode(&row.name),
        );
    }
    b.push_str("</tbody></table><p class=\"pager\">");
    if listing.page > 1 {
        let _ = write!(
            b,
            "<a href=\"{}\">← previous</a>",
            link(&q.sort, listing.page - 1)
        );
    }
    let _ = write!(b, "<span>page {} of {}</span>", listing.page, listing.pages);
    if listing.page < listing.pages {
        let _ = write!(
            b,
            "<a href=\"{}\">next →</a>",
            link(&q.sort, listing.page + 1)
        );
    }
    b.push_str("</p><p class=\"muted\">The same as JSON: <a href=\"/api/apps\">/api/apps</a> · <a href=\"/metrics\">/metrics</a></p>");
    b
}

pub async fn app(State(ctx): State<Ctx>, Path(name): Path<String>) -> Response {
    super::http::rendered(move || app_page(&ctx, &name)).await
}

fn app_page(ctx: &Ctx, name: &str) -> Response {
    let name = name.to_string();
    let now = ctx.clock.now();
    let Some((points, history)) = ctx.status.history(&name) else {
        let body = format!(
            "<h1>{}</h1><p>No such app, or it has not finished a round yet. <a href=\"/\">All apps</a></p>",
            escape(&name)
        );
        return (StatusCode::NOT_FOUND, page("fas: no such app", &body)).into_response();
    };
    let mut b = format!(
        "<p><a href=\"/\">← all apps</a></p><h1>{}</h1>{}",
        escape(&name),
        mode_header(&ctx.status, now)
    );
    if let Some(last) = history.last() {
        let _ = write!(
            b,
            "<p>Last round {}: {} · targets created {} · started {} · {}</p>",
            when(last.at, now),
            machines(last),
            bounds(last.created_target),
            bounds(last.started_target),
            outcome(last)
        );
    }
    let metric = history
        .last()
        .and_then(|r| r.metrics.first())
        .map(|(n, _)| n.as_str());
    b.push_str(&chart(&points, metric));
    b.push_str("<h2>Recent rounds</h2><table id=\"rounds\"><thead><tr><th>Time</th><th>Metrics</th><th class=\"wide\">Targets</th><th>Machines</th><th>Outcome</th></tr></thead><tbody>");
    for r in history.iter().rev() {
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td class=\"wide\">created {} · started {}</td><td>{}</td><td>{}</td></tr>",
            when(r.at, now),
            metrics_text(r),
            bounds(r.created_target),
            bounds(r.started_target),
            machines(r),
            outcome(r)
        );
    }
    let _ = write!(
        b,
        "</tbody></table><p class=\"muted\">As JSON: <a href=\"/api/apps/{0}\">/api/apps/{0}</a></p>",
        encode(&name)
    );
    page(&format!("fas: {name}"), &b).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::MachineCounts;

    #[test]
    fn text_from_apps_metrics_and_errors_is_escaped() {
        let mut r = Round::new(0.0, &MachineCounts::default());
        r.metrics = vec![("<script>alert(1)</script>".into(), 1.0)];
        r.error = Some("bad \"<b>\" & more".into());
        assert!(!metrics_text(&r).contains("<script>"));
        assert_eq!(
            outcome(&r),
            "<span class=\"err\">bad &quot;&lt;b&gt;&quot; &amp; more</span>"
        );
        assert_eq!(encode("a b/c?d"), "a%20b%2Fc%3Fd");
    }
}
