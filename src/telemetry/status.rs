//! `/api/apps` and `/api/apps/{name}`: the status the reconciler publishes, as JSON,
//! and the listing rules (filter, sort, page) the HTML page shares, so 10,000 apps
//! arrive a page at a time. Reads copies of the status; never calls the reconciler.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::reconcile::status::{Round, Status};

pub const PER_PAGE: usize = 50;
const MAX_PER_PAGE: usize = 500;

#[derive(Clone)]
pub struct Ctx {
    pub status: Arc<Status>,
    pub clock: Arc<dyn Clock>,
}

/// The listing's query string: `?q=web&show=errors&sort=action&page=2`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    /// Part of the app's name.
    pub q: String,
    /// `all` (default), `errors`, `acting` (a plan other than no_scale), `quarantined`.
    pub show: String,
    /// `name` (default), `action`, `error`, `updated`, `started`.
    pub sort: String,
    /// From 1.
    pub page: usize,
    pub per_page: usize,
}

#[derive(Serialize)]
pub struct Listing {
    pub total: usize,
    pub page: usize,
    pub pages: usize,
    pub per_page: usize,
    pub apps: Vec<AppRow>,
}

#[derive(Serialize)]
pub struct AppRow {
    pub name: String,
    pub last: Round,
    /// Seconds between the app's watch steps; None: full rounds only.
    pub watch_period_secs: Option<f64>,
}

fn keep(show: &str, r: &Round) -> bool {
    match show {
        "errors" => r.error.is_some() || r.failed > 0,
        "acting" => r.action != "no_scale" && r.action != "error",
        "quarantined" => r.quarantined,
        _ => true,
    }
}

/// One page of the apps, filtered and sorted as asked.
pub fn list(status: &Status, q: &ListQuery) -> Listing {
    let needle = q.q.trim().to_ascii_lowercase();
    let watch_period_secs = status.watch_period();
    let mut rows: Vec<AppRow> = status
        .latest()
        .into_iter()
        .filter(|(name, r)| name.to_ascii_lowercase().contains(&needle) && keep(&q.show, r))
        .map(|(name, last)| AppRow {
            name,
            last,
            watch_period_secs,
        })
        .collect();
    // Names are unique: every sort ends on the name, so pages are stable.
    match q.sort.as_str() {
        "action" => rows.sort_by(|a, b| (&a.last.action, &a.name).cmp(&(&b.last.action, &b.name))),
        "error" => rows.sort_by(|a, b| {
            (a.last.error.is_none(), &a.name).cmp(&(b.last.error.is_none(), &b.name))
        }),
        "updated" => rows.sort_by(|a, b| b.last.at.total_cmp(&a.last.at).then(a.name.cmp(&b.name))),
        "started" => rows.sort_by(|a, b| (b.last.started, &a.name).cmp(&(a.last.started, &b.name))),
        _ => {} // latest() is in name order
    }
    let per_page = match q.per_page {
        0 => PER_PAGE,
        n => n.min(MAX_PER_PAGE),
    };
    let total = rows.len();
    let pages = total.div_ceil(per_page).max(1);
    let page = q.page.clamp(1, pages);
    let apps = rows
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    Listing {
        total,
        page,
        pages,
        per_page,
        apps,
    }
}

pub async fn api_apps(State(ctx): State<Ctx>, Query(q): Query<ListQuery>) -> Response {
    super::http::rendered(move || api_apps_json(&ctx, &q)).await
}

fn api_apps_json(ctx: &Ctx, q: &ListQuery) -> Response {
    let listing = list(&ctx.status, q);
    Json(serde_json::json!({
        "mode": ctx.status.mode(),
        "now": ctx.clock.now(),
        "total": listing.total,
        "page": listing.page,
        "pages": listing.pages,
        "per_page": listing.per_page,
        "apps": listing.apps,
    }))
    .into_response()
}

pub async fn api_app(State(ctx): State<Ctx>, Path(name): Path<String>) -> Response {
    super::http::rendered(move || api_app_json(&ctx, name)).await
}

fn api_app_json(ctx: &Ctx, name: String) -> Response {
    match ctx.status.history(&name) {
        Some((points, rounds)) => Json(serde_json::json!({
            "name": name,
            "mode": ctx.status.mode(),
            "watch_period_secs": ctx.status.watch_period(),
            "points": points,
            "rounds": rounds,
        }))
        .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({"error": "no such app (or it has not finished a round yet)"})),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::MachineCounts;

    fn round(action: &'static str, started: u64, error: bool) -> Round {
        let mut r = Round::new(0.0, &MachineCounts::default());
        r.action = action;
        r.started = started;
        r.error = error.then(|| "collect failed".to_string());
        r
    }

    #[test]
    fn filters_sorts_and_pages() {
        let s = Status::default();
        for i in 0..120 {
            let error = i % 10 == 0;
            let action = if error {
                "error"
            } else if i % 3 == 0 {
                "start"
            } else {
                "no_scale"
            };
            s.record(&format!("app-{i:03}"), round(action, i, error));
        }
        let q = |q: &str, show: &str, sort: &str, page: usize| ListQuery {
            q: q.into(),
            show: show.into(),
            sort: sort.into(),
            page,
            per_page: 0,
        };
        let all = list(&s, &q("", "", "", 0));
        assert_eq!((all.total, all.pages, all.apps.len()), (120, 3, 50));
        assert_eq!(all.apps[0].name, "app-000");
        let last = list(&s, &q("", "", "", 9));
        assert_eq!(
            (last.page, last.apps.len()),
            (3, 20),
            "a page past the end is the last"
        );
        assert_eq!(list(&s, &q("", "errors", "", 1)).total, 12);
        assert_eq!(
            list(&s, &q("APP-11", "", "", 1)).total,
            10,
            "case-insensitive part of the name"
        );
        let acting = list(&s, &q("", "acting", "", 1));
        assert!(acting.apps.iter().all(|a| a.last.action == "start"));
        assert_eq!(list(&s, &q("", "", "started", 1)).apps[0].name, "app-119");
        assert_eq!(
            list(&s, &q("", "", "error", 1)).apps[0].last.action,
            "error"
        );
    }
}
