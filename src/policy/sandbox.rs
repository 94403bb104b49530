//! The Lua state a policy runs in: only the safe standard libraries, `require` limited
//! to the embedded `fas.*` stdlib and files beside the policy, a memory limit, and an
//! instruction budget and a wall-clock deadline per call that `pcall` cannot swallow.
//! Work a script can start in C, where no hook reaches (pattern matching, building
//! huge strings), is bounded before it starts; finalizers, which run outside any
//! budget, are refused.

use std::cell::Cell;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use mlua::chunk::ChunkMode;
use mlua::{Function, HookTriggers, Lua, LuaOptions, StdLib, Table, Value, VmState};

/// The Lua modules shipped with fas, embedded so the binary is self-contained.
pub const STDLIB: &[(&str, &str)] = &[
    (
        "fas.cooldown",
        include_str!("../../stdlib/fas/cooldown.lua"),
    ),
    ("fas.drain", include_str!("../../stdlib/fas/drain.lua")),
    (
        "fas.forecast",
        include_str!("../../stdlib/fas/forecast.lua"),
    ),
    ("fas.smooth", include_str!("../../stdlib/fas/smooth.lua")),
    (
        "fas.stabilize",
        include_str!("../../stdlib/fas/stabilize.lua"),
    ),
    (
        "fas.schedule",
        include_str!("../../stdlib/fas/schedule.lua"),
    ),
    ("fas.step", include_str!("../../stdlib/fas/step.lua")),
    ("fas.target", include_str!("../../stdlib/fas/target.lua")),
    ("fas.testing", include_str!("../../stdlib/fas/testing.lua")),
    ("fas.util", include_str!("../../stdlib/fas/util.lua")),
];

/// The stdlib's one module written in Rust (time zones need the database).
const NATIVE_TZ: &str = "fas.tz";

/// How often (in VM instructions) the budget hook runs.
const HOOK_EVERY: u32 = 1000;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes of Lua memory per policy state.
    pub memory: usize,
    /// VM instructions per call of `scale`.
    pub instructions: u64,
    /// Wall-clock time per call of `scale` (a decision takes microseconds).
    pub deadline: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory: 64 << 20,
            instructions: 10_000_000,
            deadline: Duration::from_secs(1),
        }
    }
}

/// Counts instructions and time of the current call; shared with the hook.
#[derive(Clone)]
pub struct Budget {
    used: Rc<Cell<u64>>,
    limit: Rc<Cell<u64>>,
    started: Rc<Cell<Instant>>,
    deadline: Rc<Cell<Duration>>,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            used: Rc::default(),
            limit: Rc::default(),
            started: Rc::new(Cell::new(Instant::now())),
            deadline: Rc::new(Cell::new(Duration::MAX)),
        }
    }
}

impl Budget {
    pub fn reset(&self) {
        self.used.set(0);
        // Only the hook reads the clock; translated Exprs run without one (and the
        // watchdog bounds them), so they skip the clock read.
        if self.limit.get() > 0 {
            self.started.set(Instant::now());
        }
    }
    fn late(&self) -> bool {
        self.started.get().elapsed() > self.deadline.get()
    }
    pub fn exceeded(&self) -> bool {
        self.used.get() > self.limit.get() || self.late()
    }
}

const PRELUDE: &str = r#"
local raw_load, raw_pcall, raw_xpcall, raw_collect = load, pcall, xpcall, collectgarbage
local exceeded = ...
dofile, loadfile = nil, nil
string.dump = nil
os = { time = os.time, clock = os.clock, date = os.date }
-- Text chunks only: binary chunks can crash the VM.
load = function(chunk, name, mode, env) return raw_load(chunk, name, "t", env or _G) end
collectgarbage = function(opt)
  if opt == "count" then return raw_collect("count") end
  error("collectgarbage is not available in fas policies", 2)
end
-- A budget overrun must end the call even inside pcall.
local function rethrow(ok, ...)
  if not ok and exceeded() then error((...), 0) end
  return ok, ...
end
pcall = function(f, ...) return rethrow(raw_pcall(f, ...)) end
-- Lua runs a message handler without hooks when the error came from the budget hook:
-- then the handler is skipped, so it cannot loop outside the budget.
xpcall = function(f, h, ...)
  local function handler(e)
    if exceeded() then return e end
    return h(e)
  end
  return rethrow(raw_xpcall(f, handler, ...))
end
-- Finalizers run whenever the collector likes, outside any call and any budget.
local raw_setmetatable, rawget, type = setmetatable, rawget, type
setmetatable = function(t, mt)
  if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
    error("__gc metamethods are not allowed in fas policies: finalizers run outside the policy's budget", 2)
  end
  return raw_setmetatable(t, mt)
end
getmetatable("").__metatable = false
"#;

/// String functions whose C code no hook interrupts, bounded before they run: the
/// pattern matcher backtracks (a 40-character subject and 15 lazy items never end),
/// so a pattern's worst case, about n^(k+1) steps for a subject of n characters and k
/// repetition items, must stay under `MAX_STEPS`; `rep` builds at most `MAX_REP` bytes.
const STRING_GUARDS: &str = include_str!("string_guards.lua");

/// Last: the standard libraries become read-only views, and their names in `_G`
/// cannot be rebound, so no app's branch of a policy can change `string.format` or
/// `math` for the other apps (a policy's own globals stay shared by its apps, by
/// design: per-app memory is `app.state`).
const FREEZE: &str = include_str!("freeze.lua");

/// Worst-case steps of one pattern call (about 0.1 s).
const MAX_STEPS: f64 = 1e8;
/// Largest string `string.rep` builds.
const MAX_REP: i64 = 1 << 20;
/// Characters of one `print` line kept in the log.
const PRINT_MAX: usize = 1024;
/// Most elements one `table.move` copies.
const MAX_MOVE: i64 = 1 << 20;

/// A fresh sandboxed state. `dir` is where `require` finds the policy's own modules.
pub fn new_state(dir: Option<PathBuf>, limits: Limits) -> mlua::Result<(Lua, Budget)> {
    let libs = StdLib::MATH | StdLib::STRING | StdLib::TABLE | StdLib::OS | StdLib::UTF8;
    let lua = Lua::new_with(libs, LuaOptions::default())?;
    let budget = Budget::default();
    budget.limit.set(limits.instructions);

    budget.deadline.set(limits.deadline);

    let flag = budget.clone();
    let exceeded = lua.create_function(move |_, ()| Ok(flag.exceeded()))?;
    lua.load(PRELUDE)
        .set_name("=fas-sandbox")
        .call::<()>(exceeded)?;
    lua.load(STRING_GUARDS)
        .set_name("=fas-sandbox")
        .call::<()>((MAX_STEPS, MAX_REP, MAX_MOVE))?;
    // `print` goes to the log, one line, capped: stdout carries `fas eval`'s JSON.
    let log = lua.create_function(|_, line: mlua::LuaString| {
        let line = line.to_string_lossy();
        let text = crate::redact::quote_max(&line, PRINT_MAX);
        tracing::info!(target: "fas::policy", line = %text.replace('\n', "\\n"), "policy print");
        Ok(())
    })?;
    lua.load(
        r##"local log = ...
        local tostring, select, concat = tostring, select, table.concat
        print = function(...)
          local parts = {}
          for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
          log(concat(parts, "\t"))
        end"##,
    )
    .set_name("=fas-sandbox")
    .call::<()>(log)?;

    let (freeze, protect): (Function, Function) =
        lua.load(FREEZE).set_name("=fas-sandbox").call(())?;

    let loaded = lua.create_table()?;
    let require = lua.create_function(move |lua, name: String| {
        require(lua, &loaded, &freeze, dir.as_deref(), &name)
    })?;
    protect.call::<()>(("require", require))?;

    if limits.instructions == 0 {
        // No budget: used for translated Expr, which has no loops (see Limits).
        lua.set_memory_limit(limits.memory)?;
        return Ok((lua, budget));
    }
    let counter = budget.clone();
    lua.set_hook(
        HookTriggers::new().every_nth_instruction(HOOK_EVERY),
        move |_, debug| {
            counter.used.set(counter.used.get() + HOOK_EVERY as u64);
            if counter.exceeded() {
                let line = debug
                    .current_line()
                    .map(|l| format!(" at line {l}"))
                    .unwrap_or_default();
                let what = if counter.late() {
                    format!("deadline of {:?}", counter.deadline.get())
                } else {
                    format!("instruction budget of {}", counter.limit.get())
                };
                return Err(mlua::Error::RuntimeError(format!(
                    "{what} exceeded{line}: the policy runs too long (an endless loop?)"
                )));
            }
            Ok(VmState::Continue)
        },
    )?;
    lua.set_memory_limit(limits.memory)?;
    Ok((lua, budget))
}

fn require(
    lua: &Lua,
    loaded: &Table,
    freeze: &Function,
    dir: Option<&Path>,
    name: &str,
) -> mlua::Result<Value> {
    if let Some(v) = loaded.raw_get::<Option<Value>>(name)? {
        return Ok(v);
    }
    if name == NATIVE_TZ {
        let value = freeze.call::<Value>((name, super::tz::module(lua)?))?;
        loaded.raw_set(name, value.clone())?;
        return Ok(value);
    }
    let (source, chunk_name) = if let Some((_, src)) = STDLIB.iter().find(|(n, _)| *n == name) {
        (
            src.to_string(),
            format!("@stdlib/{}.lua", name.replace('.', "/")),
        )
    } else if name.starts_with("fas.") {
        return Err(mlua::Error::RuntimeError(format!(
            "module '{name}' not found: the fas stdlib has {}",
            STDLIB
                .iter()
                .map(|(n, _)| *n)
                .chain([NATIVE_TZ])
                .collect::<Vec<_>>()
                .join(", ")
        )));
    } else {
        let path = module_path(dir, name)?;
        let src = crate::fileread::read(&path, crate::fileread::Kind::Policy).map_err(|e| {
            mlua::Error::RuntimeError(format!(
                "module '{name}' not found: cannot read {}: {e}",
                path.display()
            ))
        })?;
        (src, format!("@{}", path.display()))
    };
    let mut value: Value = lua
        .load(source)
        .set_name(chunk_name)
        .set_mode(ChunkMode::Text)
        .call::<Option<Value>>(name)?
        .unwrap_or(Value::Boolean(true));
    // The shipped modules are shared by every app: read-only, like the std libraries.
    if name.starts_with("fas.") && value.is_table() {
        value = freeze.call((name, value))?;
    }
    loaded.raw_set(name, value.clone())?;
    Ok(value)
}

/// `a.b` -> `<dir>/a/b.lua`, refusing anything that could leave the policy's folder.
fn module_path(dir: Option<&Path>, name: &str) -> mlua::Result<PathBuf> {
    let refuse = |why: &str| {
        mlua::Error::RuntimeError(format!(
            "require('{name}') refused: {why}; policies may require fas.* modules and files beside the policy"
        ))
    };
    let dir = dir.ok_or_else(|| refuse("this policy has no folder"))?;
    let rel = PathBuf::from(format!("{}.lua", name.replace('.', "/")));
    if name.is_empty()
        || rel.components().any(|c| !matches!(c, Component::Normal(_)))
        || name.contains('\\')
    {
        return Err(refuse("the name leaves the policy's folder"));
    }
    Ok(dir.join(rel))
}
