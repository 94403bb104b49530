//! The GraphQL subset fly-autoscaler uses: `organization(slug:)`, paginated
//! `apps(organizationId:, first:, after:)` and `app(name:) { currentReleaseUnprocessed }`.
//! Queries are recognised by their root field, since fly-go compacts whitespace.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::Json;
use serde_json::{json, Value};

use super::http::run_org;
use super::Sim;

fn gql_error(msg: &str, code: &str) -> (StatusCode, Value) {
    (
        StatusCode::OK,
        json!({"data": null, "errors": [{"message": msg, "extensions": {"code": code}}]}),
    )
}

pub async fn handle(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    body: Json<Value>,
) -> Response {
    let query = body
        .get("query")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let vars = body.get("variables").cloned().unwrap_or(Value::Null);
    let read = |vars: &Value, k: &str| {
        vars.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let (app, scope) = if query.contains("organization(") {
        (String::new(), read(&vars, "slug"))
    } else {
        (read(&vars, "appName"), read(&vars, "appName"))
    };
    run_org(&sim, &headers, (Method::POST, "/graphql".into()), ("graphql", &app, &scope), move |worlds, now| {
        let var = |k: &str| read(&vars, k);
        if query.contains("organization(") {
            let slug = var("slug");
            let mut found = false;
            worlds.each(|w| found = found || w.apps.values().any(|a| a.org == slug));
            if !found {
                return gql_error(&format!("Could not find Organization \"{slug}\""), "NOT_FOUND");
            }
            let org = json!({"id": format!("org_{slug}"), "internalNumericId": "1001", "slug": slug, "rawSlug": slug,
                "name": slug, "type": "SHARED", "billable": true, "limitedAccessTokens": {"nodes": []}});
            (StatusCode::OK, json!({"data": {"organization": org}}))
        } else if query.contains("apps(") {
            let org = var("org").trim_start_matches("org_").to_string();
            let first = vars.get("first").and_then(Value::as_u64).unwrap_or(200) as usize;
            let start: usize = var("after").parse().unwrap_or(0);
            let all = worlds.select(now, |a| (a.org == org).then(|| (a.name.clone(), a.id.clone(), a.release_status.clone())));
            let page: Vec<Value> = all
                .iter()
                .skip(start)
                .take(first)
                .map(|(name, id, release)| {
                    let release = release.as_ref().map(|s| json!({"createdAt": "2026-01-01T00:00:00Z", "status": s}));
                    json!({"id": id, "name": name, "deployed": true, "hostname": format!("{name}.fly.dev"),
                        "platformVersion": "machines", "organization": {"slug": org, "name": org},
                        "currentRelease": release, "status": "deployed"})
                })
                .collect();
            let end = start + page.len();
            let info = json!({"hasNextPage": end < all.len(), "endCursor": end.to_string()});
            (StatusCode::OK, json!({"data": {"apps": {"pageInfo": info, "nodes": page}}}))
        } else if query.contains("app(") {
            let name = var("appName");
            let w = worlds.of(&name);
            let Some(a) = w.apps.get(&name) else {
                return gql_error(&format!("Could not find App \"{name}\""), "NOT_FOUND");
            };
            let release = a.release_status.as_ref().map(|s| {
                json!({"id": "rel_1", "version": 1, "description": "Deploy image", "reason": "deploy", "status": s,
                    "imageRef": "", "stable": true, "user": {"id": "u_1", "email": "sim@fas.test", "name": "sim"},
                    "createdAt": "2026-01-01T00:00:00Z"})
            });
            (StatusCode::OK, json!({"data": {"app": {"currentRelease": release}}}))
        } else {
            gql_error("the simulator implements organization, apps and app(currentReleaseUnprocessed) only", "INVALID")
        }
    })
    .await
}
