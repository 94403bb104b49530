//! The Lua state a policy runs in: only the safe standard libraries, `require` limited
//! to the embedded `fas.*` stdlib and files beside the policy, a memory limit, and an
//! instruction budget per call that `pcall` cannot swallow.

use std::cell::Cell;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use mlua::chunk::ChunkMode;
use mlua::{HookTriggers, Lua, LuaOptions, StdLib, Table, Value, VmState};

/// The Lua modules shipped with fas, embedded so the binary is self-contained.
pub const STDLIB: &[(&str, &str)] = &[
    (
        "fas.cooldown",
        include_str!("../../stdlib/fas/cooldown.lua"),
    ),
    ("fas.smooth", include_str!("../../stdlib/fas/smooth.lua")),
    (
        "fas.stabilize",
        include_str!("../../stdlib/fas/stabilize.lua"),
    ),
    ("fas.step", include_str!("../../stdlib/fas/step.lua")),
    ("fas.target", include_str!("../../stdlib/fas/target.lua")),
    ("fas.testing", include_str!("../../stdlib/fas/testing.lua")),
    ("fas.util", include_str!("../../stdlib/fas/util.lua")),
];

/// How often (in VM instructions) the budget hook runs.
const HOOK_EVERY: u32 = 1000;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes of Lua memory per policy state.
    pub memory: usize,
    /// VM instructions per call of `scale`.
    pub instructions: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory: 64 << 20,
            instructions: 10_000_000,
        }
    }
}

/// Counts instructions of the current call; shared with the hook.
#[derive(Clone, Default)]
pub struct Budget {
    used: Rc<Cell<u64>>,
    limit: Rc<Cell<u64>>,
}

impl Budget {
    pub fn reset(&self) {
        self.used.set(0);
    }
    pub fn exceeded(&self) -> bool {
        self.used.get() > self.limit.get()
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
xpcall = function(f, h, ...) return rethrow(raw_xpcall(f, h, ...)) end
getmetatable("").__metatable = false
"#;

/// A fresh sandboxed state. `dir` is where `require` finds the policy's own modules.
pub fn new_state(dir: Option<PathBuf>, limits: Limits) -> mlua::Result<(Lua, Budget)> {
    let libs = StdLib::MATH | StdLib::STRING | StdLib::TABLE | StdLib::OS | StdLib::UTF8;
    let lua = Lua::new_with(libs, LuaOptions::default())?;
    let budget = Budget::default();
    budget.limit.set(limits.instructions);

    let flag = budget.clone();
    let exceeded = lua.create_function(move |_, ()| Ok(flag.exceeded()))?;
    lua.load(PRELUDE)
        .set_name("=fas-sandbox")
        .call::<()>(exceeded)?;

    let loaded = lua.create_table()?;
    let require =
        lua.create_function(move |lua, name: String| require(lua, &loaded, dir.as_deref(), &name))?;
    lua.globals().raw_set("require", require)?;

    if limits.instructions == 0 {
        // No budget: used for translated Expr, which has no loops (see Limits).
        lua.set_memory_limit(limits.memory)?;
        return Ok((lua, budget));
    }
    let counter = budget.clone();
    lua.set_hook(HookTriggers::new().every_nth_instruction(HOOK_EVERY), move |_, debug| {
        counter.used.set(counter.used.get() + HOOK_EVERY as u64);
        if counter.exceeded() {
            let line = debug.current_line().map(|l| format!(" at line {l}")).unwrap_or_default();
            return Err(mlua::Error::RuntimeError(format!(
                "instruction budget of {} exceeded{line}: the policy runs too long (an endless loop?)",
                counter.limit.get()
            )));
        }
        Ok(VmState::Continue)
    })?;
    lua.set_memory_limit(limits.memory)?;
    Ok((lua, budget))
}

fn require(lua: &Lua, loaded: &Table, dir: Option<&Path>, name: &str) -> mlua::Result<Value> {
    if let Some(v) = loaded.raw_get::<Option<Value>>(name)? {
        return Ok(v);
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
                .collect::<Vec<_>>()
                .join(", ")
        )));
    } else {
        let path = module_path(dir, name)?;
        let src = std::fs::read_to_string(&path).map_err(|e| {
            mlua::Error::RuntimeError(format!(
                "module '{name}' not found: cannot read {}: {e}",
                path.display()
            ))
        })?;
        (src, format!("@{}", path.display()))
    };
    let value: Value = lua
        .load(source)
        .set_name(chunk_name)
        .set_mode(ChunkMode::Text)
        .call::<Option<Value>>(name)?
        .unwrap_or(Value::Boolean(true));
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
