//! Policy state kept in the cluster database, so it moves with the app: written by the
//! shard's owner at its epoch (a write from an instance that lost the shard changes
//! nothing), only for the apps whose state changed, in one statement per batch; read
//! by the next owner when it takes the shard.

use std::collections::HashMap;

use super::{shard_of, Cluster, ClusterError, Owned};

impl Cluster {
    /// Writes the states of `changed` apps (JSON text) this member owns at the epochs
    /// in `owned`. Returns how many were written; the others were refused because the
    /// shard is no longer this member's at that epoch (another owns it now), and
    /// those apps must not be acted on either.
    pub async fn save_states(
        &self,
        owned: &Owned,
        changed: &[(String, String)],
    ) -> Result<u64, ClusterError> {
        let (mut apps, mut shards, mut epochs, mut states) = (vec![], vec![], vec![], vec![]);
        for (app, state) in changed {
            let shard = shard_of(app, self.shards);
            if let Some(epoch) = owned.shards.get(&shard) {
                apps.push(app.as_str());
                shards.push(shard as i32);
                epochs.push(*epoch);
                states.push(state.as_str());
            }
        }
        if apps.is_empty() {
            return Ok(0);
        }
        // Fenced in the statement itself: a row is written only while the shard is
        // this member's at that epoch with a live lease, and never over a newer epoch.
        let n = self
            .client
            .execute(
                "INSERT INTO fas_app_state (app, shard, epoch, state, updated_at)
                 SELECT c.app, c.shard, c.epoch, c.state::jsonb, now()
                 FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[]) AS c(app, shard, epoch, state)
                 JOIN fas_shards s ON s.shard = c.shard AND s.owner = $5 AND s.epoch = c.epoch
                                  AND s.expires_at > now()
                 ON CONFLICT (app) DO UPDATE
                   SET shard = EXCLUDED.shard, epoch = EXCLUDED.epoch, state = EXCLUDED.state, updated_at = now()
                   WHERE fas_app_state.epoch <= EXCLUDED.epoch",
                &[&apps, &shards, &epochs, &states, &self.me.id],
            )
            .await?;
        Ok(n)
    }

    /// The states kept for `apps` (JSON text), for the member that took their shards.
    pub async fn load_states(
        &self,
        apps: &[String],
    ) -> Result<HashMap<String, String>, ClusterError> {
        let rows = self
            .client
            .query(
                "SELECT app, state::text FROM fas_app_state WHERE app = ANY($1)",
                &[&apps],
            )
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// The states kept for the apps of `shards`, for the member that took them.
    pub async fn load_states_of(
        &self,
        shards: &[u32],
    ) -> Result<HashMap<String, String>, ClusterError> {
        let shards: Vec<i32> = shards.iter().map(|s| *s as i32).collect();
        let rows = self
            .client
            .query(
                "SELECT app, state::text FROM fas_app_state WHERE shard = ANY($1)",
                &[&shards],
            )
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}
