//! What fas itself did to each app lately, laid over the next listings. Fly's list
//! can lag behind a create or a destroy (reference §4.5), and a Machine created
//! without `skip_launch` shows `created` for seconds before it boots by itself. Read
//! naively, the next round would create again (over-create), destroy again (down to
//! zero) or start a second Machine for one already booting. The overlay makes the
//! list say what fas knows: its fresh creates exist and are booting, its fresh
//! destroys are going away.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use serde_json::Value;

use crate::fly::Machine;

/// How long fas trusts its own memory over the list (Fly's slowest create, with room).
pub const MEMORY_SECS: f64 = 120.0;
/// How long a Machine stopped to be destroyed is remembered: Fly's longest stop
/// timeout (300 s) with room. Forgotten earlier, it is simply destroyed as stopped.
pub const DRAIN_MEMORY_SECS: f64 = 420.0;
/// The shortest a memory lasts in real time, whatever the caller's clock says.
pub const REAL_FLOOR: std::time::Duration = std::time::Duration::from_secs(2);

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Intent {
    /// Created by fas; `launches` = without `skip_launch`, so it boots by itself.
    Created {
        machine: Box<Machine>,
        launches: bool,
    },
    Destroyed {
        id: String,
    },
    /// A started Machine fas is stopping so as to destroy it once stopped (drained).
    Draining {
        id: String,
    },
    /// A Machine for the warm pool (`initial-machine-state: suspended`): fas suspends
    /// it once it has booted. Until it is suspended it counts as a pool Machine on its
    /// way there (`suspending`): never a worker, never picked.
    Warming {
        id: String,
    },
}

/// One memory: when on the caller's clock, when in real time, what.
type Memory = (f64, Instant, Intent);

#[derive(Default)]
pub struct Recent {
    by_app: Mutex<HashMap<String, Vec<Memory>>>,
}

impl Recent {
    /// fas created `machine` (as the create answered, with the `config` it sent).
    pub fn created(
        &self,
        app: &str,
        mut machine: Machine,
        config: &Value,
        launches: bool,
        now: f64,
    ) {
        if machine.config.is_none() {
            machine.config = Some(config.clone());
        }
        if machine.host_status.is_empty() {
            machine.host_status = "ok".into();
        }
        let machine = Box::new(machine);
        self.push(app, now, Intent::Created { machine, launches });
    }

    /// fas destroyed (or may have destroyed) Machine `id`.
    pub fn destroyed(&self, app: &str, id: &str, now: f64) {
        self.push(app, now, Intent::Destroyed { id: id.into() });
    }

    /// fas stopped Machine `id` to destroy it once it has stopped.
    pub fn draining(&self, app: &str, id: &str, now: f64) {
        self.push(app, now, Intent::Draining { id: id.into() });
    }

    /// fas started (or created) Machine `id` to suspend it once booted (warm pool).
    pub fn warming(&self, app: &str, id: &str, now: f64) {
        self.push(app, now, Intent::Warming { id: id.into() });
    }

    /// Warm-pool Machines the list (as listed, before `overlay`) shows booted: suspend
    /// them now. Their memory stays until the list shows them suspended.
    pub fn warmed(&self, app: &str, listed: &[Machine]) -> Vec<String> {
        let map = self.by_app.lock().unwrap_or_else(|e| e.into_inner());
        let Some(intents) = map.get(app) else {
            return Vec::new();
        };
        intents
            .iter()
            .filter_map(|(_, _, i)| match i {
                Intent::Warming { id } => Some(id),
                _ => None,
            })
            .filter(|id| listed.iter().any(|m| m.id == **id && m.state == "started"))
            .cloned()
            .collect()
    }

    /// Machines stopped to be destroyed that the list (as listed, before `overlay`)
    /// now shows at rest: destroy them. Their memories go; a destroy records its own.
    pub fn drained(&self, app: &str, listed: &[Machine]) -> Vec<String> {
        let mut map = self.by_app.lock().unwrap_or_else(|e| e.into_inner());
        let Some(intents) = map.get_mut(app) else {
            return Vec::new();
        };
        let mut ready = Vec::new();
        intents.retain(|(_, _, intent)| {
            let Intent::Draining { id } = intent else {
                return true;
            };
            match listed.iter().find(|m| m.id == *id) {
                Some(m) if matches!(m.state.as_str(), "stopped" | "suspended" | "created") => {
                    ready.push(id.clone());
                    false
                }
                Some(_) => true,
                None => false,
            }
        });
        ready
    }

    fn push(&self, app: &str, now: f64, intent: Intent) {
        let mut map = self.by_app.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(app.to_string())
            .or_default()
            .push((now, Instant::now(), intent));
    }

    /// The listing as fas should read it; memories the list has caught up with, or
    /// older than `MEMORY_SECS`, are forgotten.
    pub fn overlay(&self, app: &str, mut listed: Vec<Machine>, now: f64) -> Vec<Machine> {
        let mut map = self.by_app.lock().unwrap_or_else(|e| e.into_inner());
        let Some(intents) = map.get_mut(app) else {
            return listed;
        };
        intents.retain(|(at, real, intent)| {
            let memory = match intent {
                Intent::Draining { .. } | Intent::Warming { .. } => DRAIN_MEMORY_SECS,
                _ => MEMORY_SECS,
            };
            // A clock faster than the wall (the sandbox at 100,000x) must not age a
            // memory faster than Fly's list can catch up: it also lasts REAL_FLOOR.
            if now - at > memory && real.elapsed() > REAL_FLOOR {
                return false;
            }
            match intent {
                Intent::Created { machine, launches } => {
                    match listed.iter_mut().find(|m| m.id == machine.id) {
                        // Listed but not booted yet: it is on its way to started.
                        Some(m) if *launches && m.state == "created" => {
                            m.state = "starting".into();
                            true
                        }
                        Some(_) => false,
                        None => {
                            let mut m = (**machine).clone();
                            m.state = if *launches { "starting" } else { "created" }.into();
                            listed.push(m);
                            true
                        }
                    }
                }
                Intent::Warming { id } => match listed.iter_mut().find(|m| m.id == *id) {
                    Some(m)
                        if matches!(
                            m.state.as_str(),
                            "created" | "starting" | "started" | "suspending"
                        ) =>
                    {
                        m.state = "suspending".into();
                        true
                    }
                    // Suspended (or stopped instead, or gone): warm, or nothing to do.
                    Some(_) => false,
                    // Not listed yet: the create's own memory shows it.
                    None => true,
                },
                // Going away: counted for nothing, never picked again.
                Intent::Destroyed { id } | Intent::Draining { id } => {
                    match listed.iter_mut().find(|m| m.id == *id) {
                        Some(m) if !matches!(m.state.as_str(), "destroying" | "destroyed") => {
                            m.state = "destroying".into();
                            true
                        }
                        Some(_) => true,
                        None => false,
                    }
                }
            }
        });
        if intents.is_empty() {
            map.remove(app);
        }
        listed
    }

    /// Whether fas remembers anything of its own about `app` (else a listing needs no
    /// overlay).
    pub fn has(&self, app: &str) -> bool {
        self.by_app
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(app)
    }

    /// An app's memories as JSON, for the next owner in a cluster: `[{at, kind, …}]`;
    /// None when there are none.
    pub fn export(&self, app: &str) -> Option<Value> {
        let map = self.by_app.lock().unwrap_or_else(|e| e.into_inner());
        let intents = map.get(app).filter(|i| !i.is_empty())?;
        let list = intents
            .iter()
            .map(|(at, _, intent)| serde_json::json!({"at": at, "intent": intent}))
            .collect();
        Some(Value::Array(list))
    }

    /// Takes over memories another instance exported (`export`): their real age is
    /// read from the clocks (`now` is this instance's). Entries it cannot read are
    /// left out.
    pub fn import(&self, app: &str, memories: &Value, now: f64) {
        let Some(list) = memories.as_array() else {
            return;
        };
        let kept: Vec<Memory> = list
            .iter()
            .filter_map(|m| {
                let at = m.get("at")?.as_f64()?;
                let intent: Intent = serde_json::from_value(m.get("intent")?.clone()).ok()?;
                let age = std::time::Duration::from_secs_f64((now - at).clamp(0.0, 1e6));
                let real = Instant::now().checked_sub(age).unwrap_or_else(Instant::now);
                Some((at, real, intent))
            })
            .collect();
        let mut map = self.by_app.lock().unwrap_or_else(|e| e.into_inner());
        if kept.is_empty() {
            map.remove(app);
        } else {
            map.insert(app.to_string(), kept);
        }
    }

    /// The apps fas remembers anything of its own about.
    pub fn apps(&self) -> Vec<String> {
        let map = self.by_app.lock().unwrap_or_else(|e| e.into_inner());
        map.keys().cloned().collect()
    }

    /// Forgets apps no longer scaled.
    pub fn forget(&self, app: &str) {
        let mut map = self.by_app.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(app);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(id: &str, state: &str) -> Machine {
        serde_json::from_value(json!({"id": id, "state": state, "host_status": "ok",
            "config": {"image": "i", "metadata": {"fly_process_group": "app"}}}))
        .unwrap()
    }
    fn states(v: &[Machine]) -> Vec<(String, String)> {
        let mut s: Vec<_> = v.iter().map(|m| (m.id.clone(), m.state.clone())).collect();
        s.sort();
        s
    }

    #[test]
    fn memories_move_to_the_next_owner_through_json() {
        let old = Recent::default();
        old.created(
            "web",
            m("new", "created"),
            &json!({"image": "i"}),
            true,
            100.0,
        );
        old.draining("web", "busy", 100.0);
        old.destroyed("web", "gone", 100.0);
        // Through text, as the cluster database keeps it.
        let text = old.export("web").unwrap().to_string();
        assert!(old.export("other").is_none());
        let next = Recent::default();
        next.import("web", &serde_json::from_str(&text).unwrap(), 130.0);
        assert_eq!(next.apps(), ["web"]);
        let listed = vec![m("busy", "stopped"), m("gone", "started")];
        assert_eq!(next.drained("web", &listed), ["busy"], "the drain goes on");
        let seen = next.overlay("web", listed, 131.0);
        assert_eq!(
            states(&seen),
            [
                ("busy".into(), "stopped".into()),
                ("gone".into(), "destroying".into()),
                ("new".into(), "starting".into())
            ]
        );
        // Aged by the clocks: past MEMORY_SECS since the action, it is forgotten.
        let late = Recent::default();
        late.import(
            "web",
            &serde_json::from_str(&text).unwrap(),
            100.0 + MEMORY_SECS + 1.0,
        );
        let seen = late.overlay("web", vec![], 100.0 + MEMORY_SECS + 2.0);
        assert!(seen.is_empty(), "{seen:?}");
        late.import("web", &json!("not a list"), 0.0);
    }

    #[test]
    fn a_create_the_list_has_not_caught_up_with_counts_as_booting() {
        let r = Recent::default();
        r.created("web", m("new", "created"), &json!({}), true, 0.0);
        let seen = r.overlay("web", vec![m("a", "started")], 1.0);
        assert_eq!(
            states(&seen),
            [
                ("a".into(), "started".into()),
                ("new".into(), "starting".into())
            ]
        );
        // Listed, still `created`: booting by itself, not a start candidate.
        let seen = r.overlay("web", vec![m("a", "started"), m("new", "created")], 2.0);
        assert_eq!(seen[1].state, "starting");
        // Started: the memory is dropped.
        let seen = r.overlay("web", vec![m("a", "started"), m("new", "started")], 3.0);
        assert_eq!(seen[1].state, "started");
        let seen = r.overlay("web", vec![m("a", "started"), m("new", "created")], 4.0);
        assert_eq!(seen[1].state, "created", "forgotten once seen");
    }

    #[test]
    fn a_skip_launch_create_stays_created_and_a_destroy_is_going_away() {
        let r = Recent::default();
        r.created("web", m("pool", "created"), &json!({}), false, 0.0);
        r.destroyed("web", "old", 0.0);
        let seen = r.overlay("web", vec![m("a", "started"), m("old", "stopped")], 1.0);
        assert_eq!(
            states(&seen),
            [
                ("a".into(), "started".into()),
                ("old".into(), "destroying".into()),
                ("pool".into(), "created".into())
            ]
        );
        // Gone from the list: forgotten; and everything is forgotten after MEMORY_SECS
        // on the caller's clock, once REAL_FLOOR has passed too (a fast clock).
        r.destroyed("web", "x", 10.0);
        let late = 10.0 + MEMORY_SECS + 1.0;
        let seen = r.overlay("web", vec![m("a", "started"), m("x", "stopped")], late);
        assert_eq!(seen[1].state, "destroying", "not before REAL_FLOOR");
        std::thread::sleep(REAL_FLOOR + std::time::Duration::from_millis(50));
        let seen = r.overlay("web", vec![m("a", "started"), m("x", "stopped")], late);
        assert_eq!(seen[1].state, "stopped");
    }
}
