//! The policy engine: a Lua `scale(metrics, app)` (a user's file, or the translation of
//! upstream's Expr counts) called once per app per round, its answer turned into
//! `Targets` with upstream's rounding and clamping. Not `Send`: the reconciler keeps a
//! policy on one thread.

pub mod expr;
mod outcome;
mod sandbox;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use mlua::{Function, Lua, Table, Value};

pub use outcome::{Bounds, PolicyError, Targets};
pub use sandbox::{Limits, STDLIB};

use expr::{CountExprs, SlotError};
use outcome::Kind;

/// Machines of the app's process group, as the policy sees them in `app.machines`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MachineCounts {
    pub created: u64,
    pub started: u64,
    pub stopped: u64,
    /// region -> (started, stopped)
    pub by_region: Vec<(String, u64, u64)>,
}

/// Everything one decision for one app depends on.
#[derive(Debug, Clone)]
pub struct AppInput<'a> {
    pub name: &'a str,
    /// Unix seconds from the caller's clock.
    pub now: f64,
    pub interval_secs: f64,
    pub machines: &'a MachineCounts,
    /// Metric values in a stable order (the collectors' order).
    pub metrics: &'a [(String, f64)],
}

pub struct Policy {
    lua: Lua,
    scale: Function,
    kind: Kind,
    budget: sandbox::Budget,
    metrics: Table,
    metric_keys: Vec<(String, mlua::LuaString)>,
    keys: Keys,
    params: Table,
    apps: HashMap<String, AppSlot>,
}

/// Lua strings made once, so a call interns nothing.
struct Keys {
    created: mlua::LuaString,
    started: mlua::LuaString,
    min: mlua::LuaString,
    max: mlua::LuaString,
}

/// Per-app Lua tables kept between calls: `app` (which holds `state`) and its `machines`.
struct AppSlot {
    app: Table,
    machines: Table,
}

impl Policy {
    /// Translates upstream's count expressions. `metrics` are the names the
    /// expressions may read; anything else is an `unknown name` error now.
    pub fn from_exprs(
        exprs: &CountExprs,
        metrics: &[String],
        limits: Limits,
    ) -> Result<Policy, PolicyError> {
        let source = expr::translate_policy(exprs, metrics).map_err(PolicyError::Compile)?;
        let (lua, budget) =
            sandbox::new_state(None, limits).map_err(|e| PolicyError::lua("fas-expr", &e))?;
        let setup = || -> mlua::Result<()> {
            let pow = lua.create_function(|_, (x, y): (f64, f64)| Ok(expr::go_pow(x, y)))?;
            let runtime: Table = lua
                .load(expr::RUNTIME_LUA)
                .set_name("=fas-expr-runtime")
                .call(pow)?;
            lua.load(source.as_str())
                .set_name("=fas-expr")
                .call::<()>(runtime)
        };
        setup().map_err(|e| PolicyError::lua("fas-expr", &e))?;
        Self::finish(lua, budget, Kind::Expr)
    }

    /// Loads a Lua policy file, which must define a global `scale`.
    pub fn from_file(
        path: &Path,
        params: &serde_json::Value,
        limits: Limits,
    ) -> Result<Policy, PolicyError> {
        let src = std::fs::read_to_string(path).map_err(|e| PolicyError::Load {
            path: path.display().to_string(),
            msg: format!("{e}; check the policy path (FAS_POLICY / policy)"),
        })?;
        let dir = path.parent().map(|d| {
            if d.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                d.to_path_buf()
            }
        });
        let name = path.display().to_string();
        let (lua, budget) =
            sandbox::new_state(dir, limits).map_err(|e| PolicyError::lua(&name, &e))?;
        budget.reset();
        lua.load(src)
            .set_name(format!("@{name}"))
            .set_mode(mlua::chunk::ChunkMode::Text)
            .exec()
            .map_err(|e| PolicyError::lua(&name, &e))?;
        let mut policy = Self::finish(lua, budget, Kind::Lua { file: name.clone() })?;
        policy.params = mlua::LuaSerdeExt::to_value(&policy.lua, params)
            .and_then(|v| match v {
                Value::Table(t) => Ok(t),
                _ => policy.lua.create_table(),
            })
            .map_err(|e| PolicyError::lua(&name, &e))?;
        Ok(policy)
    }

    fn finish(lua: Lua, budget: sandbox::Budget, kind: Kind) -> Result<Policy, PolicyError> {
        let label = kind.label();
        let scale = match lua.globals().get::<Value>("scale") {
            Ok(Value::Function(f)) => f,
            _ => {
                return Err(PolicyError::Load {
                    path: label,
                    msg: "the policy defines no global function scale(metrics, app)".into(),
                })
            }
        };
        let mk = || -> mlua::Result<(Keys, Table, Table)> {
            let keys = Keys {
                created: lua.create_string("created")?,
                started: lua.create_string("started")?,
                min: lua.create_string("min")?,
                max: lua.create_string("max")?,
            };
            Ok((keys, lua.create_table()?, lua.create_table()?))
        };
        let (keys, metrics, params) = mk().map_err(|e| PolicyError::lua(&label, &e))?;
        Ok(Policy {
            lua,
            scale,
            kind,
            budget,
            metrics,
            metric_keys: Vec::new(),
            keys,
            params,
            apps: HashMap::new(),
        })
    }

    /// True for a policy translated from Expr counts.
    pub fn is_expr(&self) -> bool {
        matches!(self.kind, Kind::Expr)
    }

    /// One decision for one app. Any error means: scale nothing for this app this round.
    pub fn decide(&mut self, input: &AppInput) -> Result<Targets, PolicyError> {
        let result = self.call(input);
        if result.is_err() {
            // Free whatever a failed call left behind (e.g. a memory bomb's garbage).
            let _ = self.lua.gc_collect();
        }
        let value = result.map_err(|e| self.kind.runtime_error(&self.lua, &e))?;
        outcome::targets(&self.kind, &self.keys, value)
    }

    fn call(&mut self, input: &AppInput) -> mlua::Result<Value> {
        self.set_metrics(input.metrics)?;
        let app = if self.is_expr() {
            // Translated expressions read only `metrics`; skip building `app`.
            Value::Nil
        } else {
            Value::Table(self.app_table(input)?)
        };
        self.budget.reset();
        self.scale.call::<Value>((&self.metrics, app))
    }

    fn set_metrics(&mut self, metrics: &[(String, f64)]) -> mlua::Result<()> {
        let same = self.metric_keys.len() == metrics.len()
            && self
                .metric_keys
                .iter()
                .zip(metrics)
                .all(|((k, _), (n, _))| k == n);
        if !same {
            self.metrics = self.lua.create_table()?;
            self.metric_keys = metrics
                .iter()
                .map(|(n, _)| Ok((n.clone(), self.lua.create_string(n)?)))
                .collect::<mlua::Result<_>>()?;
        }
        for ((_, key), (_, v)) in self.metric_keys.iter().zip(metrics) {
            self.metrics.raw_set(key, *v)?;
        }
        Ok(())
    }

    fn app_table(&mut self, input: &AppInput) -> mlua::Result<Table> {
        if !self.apps.contains_key(input.name) {
            let app = self.lua.create_table()?;
            let machines = self.lua.create_table()?;
            app.raw_set("name", input.name)?;
            self.apps
                .insert(input.name.to_string(), AppSlot { app, machines });
        }
        let slot = &self.apps[input.name];
        let m = input.machines;
        slot.app.raw_set("now", input.now)?;
        slot.app.raw_set("interval", input.interval_secs)?;
        slot.app.raw_set("params", &self.params)?;
        slot.app.raw_set("machines", &slot.machines)?;
        // The policy owns `state` and may replace it; only a missing one is renewed.
        if !matches!(slot.app.raw_get::<Value>("state")?, Value::Table(_)) {
            slot.app.raw_set("state", self.lua.create_table()?)?;
        }
        slot.machines.raw_set("created", m.created)?;
        slot.machines.raw_set("started", m.started)?;
        slot.machines.raw_set("stopped", m.stopped)?;
        let regions = self.lua.create_table()?;
        for (region, started, stopped) in &m.by_region {
            let r = self.lua.create_table()?;
            r.raw_set("started", *started)?;
            r.raw_set("stopped", *stopped)?;
            regions.raw_set(region.as_str(), r)?;
        }
        slot.machines.raw_set("by_region", regions)?;
        Ok(slot.app.clone())
    }

    /// The app's `state` as JSON (for persistence and inspection). Fails, naming the
    /// app, when the policy stored something JSON cannot hold (a function, say).
    pub fn state_json(&self, app: &str) -> Result<serde_json::Value, PolicyError> {
        let Some(slot) = self.apps.get(app) else {
            return Ok(serde_json::json!({}));
        };
        let state: Value = slot.app.raw_get("state").unwrap_or(Value::Nil);
        mlua::LuaSerdeExt::from_value(&self.lua, state).map_err(|e| PolicyError::State {
            app: app.to_string(),
            msg: format!("{e}; keep only numbers, strings, booleans and tables in app.state"),
        })
    }
}

impl From<SlotError> for PolicyError {
    fn from(e: SlotError) -> Self {
        PolicyError::Compile(e)
    }
}

impl Policy {
    /// The configured policy: the Lua file of `policy`, else the translated counts.
    /// `metrics` are the metric names available to expressions.
    pub fn from_config(
        cfg: &crate::config::Config,
        metrics: &[String],
        limits: Limits,
    ) -> Result<Policy, PolicyError> {
        match &cfg.policy {
            Some(path) => Policy::from_file(path, &cfg.policy_params, limits),
            None => Policy::from_exprs(&cfg.count_exprs(), metrics, limits),
        }
    }
}
