//! `/api/cluster`: this member, the live members (id, region, last renewal, shards
//! owned) and each scheduled app with its shard and owner, read from the cluster
//! database when asked.

use std::sync::Arc;
use std::time::Instant;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use axum::Router;

use crate::cluster::Gate;

pub fn routes(gate: Arc<Gate>) -> Router {
    Router::new().route(
        "/api/cluster",
        get(move || {
            let gate = gate.clone();
            async move { cluster(&gate).await }
        }),
    )
}

async fn cluster(gate: &Gate) -> Response {
    let Some(db) = gate.db() else {
        let why = "the cluster database is unreachable; see /healthz";
        return (StatusCode::SERVICE_UNAVAILABLE, why).into_response();
    };
    let read =
        async { Ok::<_, crate::cluster::ClusterError>((db.members().await?, db.owners().await?)) };
    let (members, owners) = match tokio::time::timeout(gate.budget(), read).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
        Err(_) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "the cluster database did not answer",
            )
                .into_response()
        }
    };
    let owned = gate.owned();
    let acting = owned.act_until.is_some_and(|u| u > Instant::now());
    let apps: Vec<_> = gate
        .apps_by_shard()
        .into_iter()
        .map(|(app, shard)| {
            serde_json::json!({"app": app, "shard": shard, "owner": owners.get(&shard)})
        })
        .collect();
    Json(serde_json::json!({
        "member": gate.me.id,
        "region": gate.me.region,
        "shards": gate.shards,
        "lease_secs": gate.lease.as_secs_f64(),
        "shards_owned": owned.shards.len(),
        "acting": acting,
        "members": members,
        "apps": apps,
    }))
    .into_response()
}
