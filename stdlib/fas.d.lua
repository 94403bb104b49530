---@meta
--- Types of fas policies, for editors with the Lua language server: add this folder
--- (stdlib/) to `workspace.library` and policies get completion and checks.

---@class fas.RegionCounts
---@field started integer
---@field stopped integer

---@class fas.Machines
---@field created integer Machines of the process group not going away (destroying ones count for nothing)
---@field started integer started, or on their way (starting, restarting, updating, replacing)
---@field stopped integer the startable pool: stopped, suspended, never-launched created (and those stopping or suspending)
---@field by_region table<string, fas.RegionCounts>

---@class fas.App
---@field name string the app being scaled
---@field now number unix seconds (a fake clock in tests and simulations)
---@field interval number seconds between rounds
---@field machines fas.Machines
---@field params table from policy-params (FAS_POLICY_PARAMS)
---@field state table the policy's memory for this app; JSON values only

---@class fas.Bounds
---@field min? number scale up to this when below
---@field max? number scale down to this when above

---@class fas.Targets
---@field created? number|fas.Bounds Machines that should exist (never below 1)
---@field started? number|fas.Bounds Machines that should run

--- Called every round for every app.
---@param metrics table<string, number>
---@param app fas.App
---@return fas.Targets|nil
function scale(metrics, app) end
