//! The policy engine: a Lua `scale(metrics, app)` (a user's file, or the translation of
//! upstream's Expr counts) called once per app per round, its answer turned into
//! `Targets` with upstream's rounding and clamping. Not `Send`: the reconciler keeps a
//! policy on one thread.

pub mod expr;
mod machine_list;
mod outcome;
pub(crate) mod sandbox;
pub mod tz;
mod worker;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use mlua::{Function, Lua, LuaSerdeExt, LuaString, Table, Value, Variadic};

pub use machine_list::MachineInfo;
pub use outcome::{lua_message as lua_error_message, Bounds, Order, PolicyError, Targets};
pub use sandbox::{Limits, STDLIB};
pub use worker::{Decision, PolicyHandle};

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

/// Which cadence a decision comes at: a full round (every interval; may scale either
/// way) or a watch step between rounds (acted on only when it asks for more).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Round {
    #[default]
    Full,
    Watch,
}

impl Round {
    pub fn as_str(self) -> &'static str {
        match self {
            Round::Full => "full",
            Round::Watch => "watch",
        }
    }
}

/// Everything one decision for one app depends on.
#[derive(Debug, Clone)]
pub struct AppInput<'a> {
    pub name: &'a str,
    /// Unix seconds from the caller's clock.
    pub now: f64,
    pub interval_secs: f64,
    /// A full round or a watch step between rounds (`app.round`).
    pub round: Round,
    pub machines: &'a MachineCounts,
    /// Metric values in a stable order (the collectors' order).
    pub metrics: &'a [(String, f64)],
}

pub struct Policy {
    lua: Lua,
    kind: Kind,
    budget: sandbox::Budget,
    /// driver.lua's `drive`, `set_names` and `state_of`.
    drive: Function,
    set_names: Function,
    state_of: Function,
    all_states: Function,
    restore: Function,
    forget: Function,
    unknown: Function,
    metric_names: Vec<String>,
    app_names: HashMap<String, LuaString>,
    last_regions: HashMap<String, Vec<(String, u64, u64)>>,
}

const DRIVER_LUA: &str = include_str!("driver.lua");

impl Policy {
    /// Translates upstream's count expressions. `metrics` are the names the
    /// expressions may read; anything else is an `unknown name` error now.
    /// Translated expressions have no loops (their run time is bounded by the memory
    /// limit), so they run without the instruction budget and its per-instruction hook.
    pub fn from_exprs(
        exprs: &CountExprs,
        metrics: &[String],
        limits: Limits,
    ) -> Result<Policy, PolicyError> {
        let source = expr::translate_policy(exprs, metrics).map_err(PolicyError::Compile)?;
        // Plain arithmetic cannot loop: it runs without the instruction hook, which
        // is most of its cost. Closures, ranges and string builtins keep the budget.
        let limits = if source.contains(expr::LOOPS_MARK) {
            limits
        } else {
            Limits {
                instructions: 0,
                ..limits
            }
        };
        let (lua, budget) =
            sandbox::new_state(None, limits).map_err(|e| PolicyError::lua("fas-expr", &e))?;
        let setup = || -> mlua::Result<()> {
            let pow = lua.create_function(|_, (x, y): (f64, f64)| Ok(expr::go_pow(x, y)))?;
            let mut patterns = expr::goregex::Cache::default();
            let matches =
                lua.create_function_mut(move |_, (text, pattern): (String, String)| {
                    Ok(patterns.is_match(&text, &pattern))
                })?;
            let runtime: Table = lua
                .load(expr::RUNTIME_LUA)
                .set_name("=fas-expr-runtime")
                .call((pow, matches))?;
            for (name, more) in expr::RUNTIME_MORE_LUA {
                lua.load(*more).set_name(*name).call::<()>(&runtime)?;
            }
            lua.load(source.as_str())
                .set_name("=fas-expr")
                .call::<()>(runtime)
        };
        setup().map_err(|e| PolicyError::lua("fas-expr", &e))?;
        Self::finish(lua, budget, Kind::Expr, &serde_json::Value::Null)
    }

    /// Loads a Lua policy file, which must define a global `scale`.
    pub fn from_file(
        path: &Path,
        params: &serde_json::Value,
        limits: Limits,
    ) -> Result<Policy, PolicyError> {
        let src = crate::fileread::read(path, crate::fileread::Kind::Policy).map_err(|e| {
            PolicyError::Load {
                path: path.display().to_string(),
                msg: format!("{e}; check the policy path (FAS_POLICY / policy)"),
            }
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
        Self::finish(lua, budget, Kind::Lua { file: name.clone() }, params)
    }

    fn finish(
        lua: Lua,
        budget: sandbox::Budget,
        kind: Kind,
        params: &serde_json::Value,
    ) -> Result<Policy, PolicyError> {
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
        type DriverFns = (
            Function,
            Function,
            Function,
            Function,
            Function,
            Function,
            Function,
        );
        let setup = || -> mlua::Result<DriverFns> {
            let params = match lua.to_value(params)? {
                Value::Table(t) => t,
                _ => lua.create_table()?,
            };
            let pack: Value = lua.globals().raw_get("fas_pack")?;
            let pack = if matches!(kind, Kind::Expr) {
                pack
            } else {
                Value::Nil
            };
            // A policy that replaces `app.state` with a non-table loses it: say so.
            let policy = label.clone();
            let state_reset = lua.create_function(move |_, (app, kind): (String, String)| {
                tracing::warn!(app = %app, policy = %policy, "app.state was set to a {kind}; it must be a table, so it starts again empty");
                Ok(())
            })?;
            let machine_list = machine_list::builder(&lua)?;
            lua.load(DRIVER_LUA).set_name("=fas-driver").call((
                scale,
                params,
                pack,
                state_reset,
                machine_list,
            ))
        };
        let (drive, set_names, state_of, all_states, restore, forget, unknown) =
            setup().map_err(|e| PolicyError::lua(&label, &e))?;
        Ok(Policy {
            lua,
            kind,
            budget,
            drive,
            set_names,
            state_of,
            all_states,
            restore,
            forget,
            unknown,
            metric_names: Vec::new(),
            app_names: HashMap::new(),
            last_regions: HashMap::new(),
        })
    }

    /// The policy's name in messages: its file, or `fas-expr`.
    pub fn label(&self) -> String {
        self.kind.label()
    }

    /// Metric names the policy has read that were not given to it (sorted).
    pub fn unknown_metrics(&self) -> Vec<String> {
        self.unknown.call(()).unwrap_or_default()
    }

    /// True for a policy translated from Expr counts.
    pub fn is_expr(&self) -> bool {
        matches!(self.kind, Kind::Expr)
    }

    /// One decision for one app. Any error means: scale nothing for this app this round.
    pub fn decide(&mut self, input: &AppInput) -> Result<Targets, PolicyError> {
        self.decide_full(input, &[], Vec::new()).map(|(t, _)| t)
    }

    /// As `decide`, with what a Lua policy may see beyond the counts: the metrics that
    /// failed (absent from `metrics`, named in `app.errors`) and `app.machines.list`;
    /// and with the `stop_order` and `protect` it may return.
    pub fn decide_full(
        &mut self,
        input: &AppInput,
        errors: &[(String, String)],
        list: Vec<MachineInfo>,
    ) -> Result<(Targets, Order), PolicyError> {
        let result = self.call(input, errors, list);
        if result.is_err() {
            // Free whatever a failed call left behind (e.g. a memory bomb's garbage).
            let _ = self.lua.gc_collect();
        }
        let mut values = result.map_err(|e| self.kind.runtime_error(&self.lua, &e))?;
        let order = Order {
            stop_order: values.5.take().unwrap_or_default(),
            protect: values.6.take().unwrap_or_default(),
            forecast: values.7,
        };
        outcome::targets(&self.kind, values).map(|t| (t, order))
    }

    fn call(
        &mut self,
        input: &AppInput,
        errors: &[(String, String)],
        list: Vec<MachineInfo>,
    ) -> mlua::Result<outcome::Answer> {
        let same = self.metric_names.len() == input.metrics.len()
            && self
                .metric_names
                .iter()
                .zip(input.metrics)
                .all(|(k, (n, _))| k == n);
        if !same {
            self.metric_names = input.metrics.iter().map(|(n, _)| n.clone()).collect();
            self.set_names.call::<()>(Variadic::from_iter(
                self.metric_names.iter().map(String::as_str),
            ))?;
        }
        let values = input.metrics;
        let v = |i: usize| values.get(i).map(|(_, v)| *v);
        let more = if values.len() > 4 {
            Some(
                self.lua
                    .create_sequence_from(values[4..].iter().map(|(_, v)| *v))?,
            )
        } else {
            None
        };
        self.budget.reset();
        if self.is_expr() {
            // Translated expressions never see `app` (driver.lua's drive_expr).
            return self.drive.call((v(0), v(1), v(2), v(3), more, input.now));
        }
        let name = match self.app_names.get(input.name) {
            Some(s) => s.clone(),
            None => {
                let s = self.lua.create_string(input.name)?;
                self.app_names.insert(input.name.to_string(), s.clone());
                s
            }
        };
        let m = input.machines;
        let regions = self.regions_if_changed(input.name, &m.by_region)?;
        let errors = if errors.is_empty() {
            None
        } else {
            Some(
                self.lua
                    .create_table_from(errors.iter().map(|(k, v)| (k.as_str(), v.as_str())))?,
            )
        };
        // Built into Lua tables only if the policy reads `app.machines.list`.
        let has_list = !list.is_empty();
        machine_list::hold(&self.lua, input.name, list);
        self.drive.call((
            name,
            input.now,
            input.interval_secs,
            m.created,
            m.started,
            m.stopped,
            regions,
            (
                v(0),
                v(1),
                v(2),
                v(3),
                more,
                errors,
                has_list,
                input.round == Round::Watch,
            ),
        ))
    }

    /// A fresh `by_region` table when the app's regions changed since its last call.
    fn regions_if_changed(
        &mut self,
        app: &str,
        by_region: &[(String, u64, u64)],
    ) -> mlua::Result<Option<Table>> {
        if self
            .last_regions
            .get(app)
            .is_some_and(|last| last == by_region)
        {
            return Ok(None);
        }
        let t = self.lua.create_table()?;
        for (region, started, stopped) in by_region {
            let r = self.lua.create_table()?;
            r.raw_set("started", *started)?;
            r.raw_set("stopped", *stopped)?;
            t.raw_set(region.as_str(), r)?;
        }
        self.last_regions
            .insert(app.to_string(), by_region.to_vec());
        Ok(Some(t))
    }

    /// The app's `state` as JSON (for persistence and inspection). Fails, naming the
    /// app, when the policy stored something JSON cannot hold (a function, say).
    pub fn state_json(&self, app: &str) -> Result<serde_json::Value, PolicyError> {
        self.budget.reset();
        let state: Value = self.state_of.call(app).unwrap_or(Value::Nil);
        if state.is_nil() {
            return Ok(serde_json::json!({}));
        }
        self.lua
            .from_value(state)
            .map_err(|e| e.to_string())
            .and_then(shallow)
            .map_err(|e| PolicyError::State {
                app: app.to_string(),
                msg: format!("{e}; keep only numbers, strings, booleans and tables in app.state"),
            })
    }
}

impl Policy {
    /// Every app's `state` as JSON (translated Expr policies keep none), and an error
    /// for each app whose state JSON cannot hold (a function, say): one bad app never
    /// keeps the others from being saved.
    pub fn states_json(
        &self,
    ) -> Result<(BTreeMap<String, serde_json::Value>, Vec<PolicyError>), PolicyError> {
        let mut out = BTreeMap::new();
        let mut bad = Vec::new();
        if self.is_expr() {
            return Ok((out, bad));
        }
        // Its own budget: not what is left of the last decision's (long over).
        self.budget.reset();
        let table: Table = self
            .all_states
            .call(())
            .map_err(|e| PolicyError::lua(&self.kind.label(), &e))?;
        for pair in table.pairs::<String, Value>() {
            let (app, state) = pair.map_err(|e| PolicyError::lua(&self.kind.label(), &e))?;
            match self
                .lua
                .from_value(state)
                .map_err(|e| e.to_string())
                .and_then(shallow)
            {
                Ok(json) => {
                    out.insert(app, json);
                }
                Err(e) => bad.push(PolicyError::State {
                    msg: format!(
                        "{e}; keep only numbers, strings, booleans and tables in app.state"
                    ),
                    app,
                }),
            }
        }
        Ok((out, bad))
    }

    /// Drops everything kept for an app (its state, its cached tables).
    pub fn forget(&mut self, app: &str) {
        self.budget.reset();
        let _ = self.forget.call::<()>(app);
        self.app_names.remove(app);
        self.last_regions.remove(app);
    }

    /// Puts saved states back, e.g. from the state file at start-up.
    pub fn restore_states(
        &mut self,
        states: &BTreeMap<String, serde_json::Value>,
    ) -> Result<(), PolicyError> {
        if self.is_expr() {
            return Ok(());
        }
        self.budget.reset();
        for (app, state) in states {
            let value = self.lua.to_value(state).map_err(|e| PolicyError::State {
                app: app.clone(),
                msg: e.to_string(),
            })?;
            self.restore
                .call::<()>((app.as_str(), value))
                .map_err(|e| PolicyError::lua(&self.kind.label(), &e))?;
        }
        Ok(())
    }
}

/// Deepest `app.state` saved: the state file wraps it in two more levels, and its
/// reader (serde_json) stops at 128, so what fas writes it can always read back.
pub const MAX_STATE_DEPTH: usize = 100;

fn shallow(v: serde_json::Value) -> Result<serde_json::Value, String> {
    fn depth(v: &serde_json::Value, limit: usize) -> bool {
        if limit == 0 {
            return false;
        }
        match v {
            serde_json::Value::Array(a) => a.iter().all(|x| depth(x, limit - 1)),
            serde_json::Value::Object(o) => o.values().all(|x| depth(x, limit - 1)),
            _ => true,
        }
    }
    if depth(&v, MAX_STATE_DEPTH) {
        Ok(v)
    } else {
        Err(format!("it is nested deeper than {MAX_STATE_DEPTH} levels"))
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
