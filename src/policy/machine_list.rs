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

/// The list as a Lua sequence of tables.
pub(super) fn to_lua(lua: &Lua, list: &[MachineInfo]) -> mlua::Result<Table> {
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
