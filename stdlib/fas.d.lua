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
---@field list fas.Machine[] each Machine of the group not going away (read-only)

---@class fas.Machine
---@field id string
---@field state string started, stopped, suspended, created, starting, stopping, ...
---@field region string
---@field created_at string RFC 3339
---@field metadata table<string, string> the Machine's config.metadata (fas-protect, fly_process_group, ...)
---@field metrics table<string, number> its per-Machine metric values (collectors with machine-label)

---@class fas.App
---@field name string the app being scaled
---@field now number unix seconds (a fake clock in tests and simulations)
---@field interval number seconds between full rounds
---@field round "full"|"watch" a full round (every interval; may scale either way) or a watch step between rounds (acted on only when it asks for more Machines)
---@field machines fas.Machines
---@field params table from policy-params (FAS_POLICY_PARAMS)
---@field state table the policy's memory for this app; JSON values only
---@field errors table<string, string> metrics that failed this round (policy-sees-errors), else empty

---@class fas.Bounds
---@field min? number scale up to this when below
---@field max? number scale down to this when above

---@class fas.Targets
---@field created? number|fas.Bounds Machines that should exist (never below 1)
---@field started? number|fas.Bounds Machines that should run
---@field stop_order? string[] started Machines to stop (or destroy) first, by id
---@field protect? string[] Machines never stopped, suspended or destroyed this round

--- Called every full round and every watch step for every app: reason in seconds
--- (app.now), never in calls.
---@param metrics table<string, number>
---@param app fas.App
---@return fas.Targets|nil
function scale(metrics, app) end

---@class fas.Civil
---@field year integer
---@field month integer 1..12
---@field day integer 1..31
---@field hour integer 0..23
---@field min integer 0..59
---@field sec integer 0..59
---@field wday integer ISO weekday: 1 = Monday .. 7 = Sunday
---@field yday integer 1..366
---@field offset integer seconds east of UTC in force at that instant
---@field abbr string the zone's abbreviation then (CET, CEST, EST, ...)

--- fas.tz (native): civil time in IANA time zones from the database built into fas.
---@class fas.tz
---@field civil fun(unix: number, zone: string): fas.Civil the wall clock in `zone` at `unix` seconds
---@field offset fun(unix: number, zone: string): integer, string seconds east of UTC and the abbreviation in force at `unix`
---@field unix fun(zone: string, fields: { year: integer, month: integer, day: integer, hour?: integer, min?: integer, sec?: integer }): integer the unix second of a wall-clock time (a skipped time resolves after the jump, a repeated one to its first occurrence)
