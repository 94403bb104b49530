//! `app.machines.list` for Lua policies: each Machine of the app's process group that
//! is not going away, with what a policy needs to pick which one goes — its id, state,
//! region, creation time, metadata and per-Machine metric values.

use mlua::{Lua, Table};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct MachineInfo {
    pub id: String,
    pub state: String,
    pub region: String,
    pub created_at: String,
    pub metadata: Vec<(String, String)>,
    /// Per-Machine metric values (collectors with `machine-label`).
    pub metrics: Vec<(String, f64)>,
}

/// The list of the decision in progress, kept as Lua app data until the policy reads
/// `app.machines.list` (most policies never do: the tables are then never built).
#[derive(Default)]
pub(super) struct Pending {
    app: String,
    list: Vec<MachineInfo>,
}

/// Holds `list` for `app`'s decision, which is about to run.
pub(super) fn hold(lua: &Lua, app: &str, list: Vec<MachineInfo>) {
    let mut pending = lua
        .app_data_mut::<Pending>()
        .expect("set up with the policy");
    pending.app.clear();
    pending.app.push_str(app);
    pending.list = list;
}

/// driver.lua's `machine_list(app)`: `app`'s held list as Lua tables, or nil when
/// there is none (or the decision in progress is another app's).
pub(super) fn builder(lua: &Lua) -> mlua::Result<mlua::Function> {
    lua.set_app_data(Pending::default());
    lua.create_function(|lua, app: mlua::LuaString| {
        let pending = lua
            .app_data_ref::<Pending>()
            .expect("set up with the policy");
        if pending.list.is_empty() || app.as_bytes() != pending.app.as_bytes() {
            return Ok(None);
        }
        to_lua(lua, &pending.list).map(Some)
    })
}

/// The list as a Lua sequence of tables.
fn to_lua(lua: &Lua, list: &[MachineInfo]) -> mlua::Result<Table> {
    let out = lua.create_table_with_capacity(list.len(), 0)?;
    for m in list {
        let t = lua.create_table_with_capacity(0, 6)?;
        t.raw_set("id", m.id.as_str())?;
        t.raw_set("state", m.state.as_str())?;
        t.raw_set("region", m.region.as_str())?;
        t.raw_set("created_at", m.created_at.as_str())?;
        t.raw_set(
            "metadata",
            lua.create_table_from(m.metadata.iter().map(|(k, v)| (k.as_str(), v.as_str())))?,
        )?;
        t.raw_set(
            "metrics",
            lua.create_table_from(m.metrics.iter().map(|(k, v)| (k.as_str(), *v)))?,
        )?;
        out.raw_push(t)?;
    }
    Ok(out)
}
