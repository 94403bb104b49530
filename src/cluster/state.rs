//! What moves with an app, kept in the cluster database: its policy state and the
//! memory its next owner needs (`AppMemory`). Written by the shard's owner at its epoch
//! (a write from an instance that lost the shard changes nothing), only for the apps
//! whose record changed, in one statement per batch; read by the next owner when it
//! takes the shard.

use std::collections::HashMap;

use serde_json::Value;

use super::{checked, count_sent, shard_of, Cluster, ClusterError, Owned};

/// Shards whose kept records one statement reads.
const LOAD_PAGE: usize = 32;

/// The memory of an app besides its policy state that a handoff carries (fas's recent
/// actions on it, its fallback streak), as the reconciler exports and imports it.
pub trait AppMemory: Send + Sync {
    /// The apps with anything to carry.
    fn apps(&self) -> Vec<String>;
    /// One app's memory as a JSON object (`{}`: nothing).
    fn export(&self, app: &str) -> Value;
    fn import(&self, app: &str, memory: &Value);
}

/// One app's record: policy state and memory, as JSON text.
#[derive(Debug, Clone, PartialEq)]
pub struct Kept {
    pub app: String,
    pub state: String,
    pub memory: String,
}

impl Cluster {
    /// Writes the records of `changed` apps this member owns at the epochs in `owned`.
    /// Returns how many were written; the others were refused because the shard is
    /// no longer this member's at that epoch (another owns it now).
    pub async fn save_states(&self, owned: &Owned, changed: &[Kept]) -> Result<u64, ClusterError> {
        let bounds = self.bounds.clone();
        checked(&bounds, async {
            let (mut apps, mut shards, mut epochs) = (vec![], vec![], vec![]);
            let (mut states, mut memories) = (vec![], vec![]);
            for k in changed {
                let shard = shard_of(&k.app, self.shards);
                if let Some(epoch) = owned.shards.get(&shard) {
                    apps.push(k.app.as_str());
                    shards.push(shard as i32);
                    epochs.push(*epoch);
                    states.push(k.state.as_str());
                    memories.push(k.memory.as_str());
                }
            }
            if apps.is_empty() {
                return Ok(0);
            }
            count_sent(1);
            // Fenced in the statement itself: a row is written only while the shard is
            // this member's at that epoch with a live lease, and never over a newer epoch.
            let n = self
                .client
                .execute(
                    "INSERT INTO fas_app_state (app, shard, epoch, state, memory, updated_at)
                 SELECT c.app, c.shard, c.epoch, c.state::jsonb, c.memory::jsonb, now()
                 FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[], $6::text[])
                      AS c(app, shard, epoch, state, memory)
                 JOIN fas_shards s ON s.shard = c.shard AND s.owner = $5 AND s.epoch = c.epoch
                                  AND s.expires_at > now()
                 ON CONFLICT (app) DO UPDATE
                   SET shard = EXCLUDED.shard, epoch = EXCLUDED.epoch, state = EXCLUDED.state,
                       memory = EXCLUDED.memory, updated_at = now()
                   WHERE fas_app_state.epoch <= EXCLUDED.epoch",
                    &[&apps, &shards, &epochs, &states, &self.me.id, &memories],
                )
                .await?;
            Ok(n)
        })
        .await
    }

    /// The records kept for `apps`: app -> (state, memory), JSON text.
    pub async fn load_states(
        &self,
        apps: &[String],
    ) -> Result<HashMap<String, (String, String)>, ClusterError> {
        self.load("app = ANY($1)", &apps).await
    }

    /// The records kept for the apps of `shards`, for the member that took them.
    pub async fn load_states_of(
        &self,
        shards: &[u32],
    ) -> Result<HashMap<String, (String, String)>, ClusterError> {
        // A page of shards per statement, each one use of the connection's bounds
        // (a start that takes every shard of 100,000 apps reads 32 pages, not one).
        let mut all = HashMap::new();
        for page in shards.chunks(LOAD_PAGE) {
            let page: Vec<i32> = page.iter().map(|s| *s as i32).collect();
            all.extend(self.load("shard = ANY($1)", &page).await?);
        }
        Ok(all)
    }

    async fn load(
        &self,
        filter: &str,
        param: &(dyn tokio_postgres::types::ToSql + Sync),
    ) -> Result<HashMap<String, (String, String)>, ClusterError> {
        self.one_use(1, async {
            let rows = self
                .client
                .query(
                    &format!(
                        "SELECT app, state::text, memory::text FROM fas_app_state WHERE {filter}"
                    ),
                    &[param],
                )
                .await?;
            Ok(rows
                .iter()
                .map(|r| (r.get(0), (r.get(1), r.get(2))))
                .collect())
        })
        .await
    }
}
