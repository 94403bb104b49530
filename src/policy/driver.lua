-- The bridge between Rust and a policy: one call per decision, scalars in, scalars
-- out, so a decision costs one crossing of the Rust/Lua boundary. Loaded once per
-- policy state with the policy's `scale`, the `policy-params` table, and for
-- translated Expr policies their generated `fas_pack`, which knows the shape `scale`
-- returns (those policies get no `app` and need no checks).
local scale, params, pack, state_reset, machine_list = ...
local type, error, select, next, tostring, setmetatable, getmetatable, pairs, rawset =
  type, error, select, next, tostring, setmetatable, getmetatable, pairs, rawset
local metrics, names, nnames = {}, {}, 0
local apps, app_regions = {}, {}
-- Metric names the policy read but no collector provides (a typo, or a metric the
-- deployment lacks): recorded by the metrics table's __index, which runs only for
-- absent keys, so reading a provided metric costs nothing more.
local known, unknown = {}, {}
local function note_unknown(_, k)
  if type(k) == "string" and not known[k] then unknown[k] = true end
end

local function set_names(...)
  names, nnames = { ... }, select("#", ...)
  known = {}
  for i = 1, nnames do known[names[i]] = true end
  metrics = setmetatable({}, { __index = note_unknown })
end

local function unknown_metrics()
  local out = {}
  for k in pairs(unknown) do out[#out + 1] = k end
  table.sort(out)
  return out
end

-- Stores the metric values, given in `names` order: the first four as arguments
-- (no varargs: they cost more than the rest of a decision), the others in `more`.
local function fill(m1, m2, m3, m4, more)
  if nnames == 0 then return end
  metrics[names[1]] = m1
  if nnames == 1 then return end
  metrics[names[2]] = m2
  if nnames == 2 then return end
  metrics[names[3]] = m3
  if nnames == 3 then return end
  metrics[names[4]] = m4
  for i = 5, nnames do metrics[names[i]] = more[i - 4] end
end

-- A bound that is not a number (or absent) is the policy's mistake.
local function bad_bound(v, key, side)
  error(("`%s.%s` is a %s; return a number"):format(key, side, type(v)), 0)
end

-- A key the answer does not know (`startd`, `mn`) would be ignored in silence:
-- an error names it instead. Checked only when one of the two known keys is missing
-- (a typo always leaves one missing), so the full answer costs nothing more.
local function only_keys(t, a, b, what, use)
  for k in next, t do
    if k ~= a and k ~= b and k ~= "stop_order" and k ~= "protect" and k ~= "forecast" then
      error(("%s has an unknown key `%s`; use %s"):format(what, tostring(k), use), 0)
    end
  end
end

-- A dimension as (min, max); a plain number is both.
local function bounds(v, key)
  local t = type(v)
  if t == "number" then return v, v end
  if t == "nil" then return nil, nil end
  if t ~= "table" then error(("`%s` is a %s; return a number or {min=, max=}"):format(key, t), 0) end
  local min, max = v.min, v.max
  if min == nil or max == nil then only_keys(v, "min", "max", "`" .. key .. "`", "min and max") end
  if min ~= nil and type(min) ~= "number" then bad_bound(min, key, "min") end
  if max ~= nil and type(max) ~= "number" then bad_bound(max, key, "max") end
  return min, max
end

-- `stop_order` / `protect`: a list of Machine ids, or nil.
local function id_list(v, key)
  if v == nil then return nil end
  if type(v) ~= "table" then
    error(("`%s` is a %s; return a list of Machine ids"):format(key, type(v)), 0)
  end
  for i = 1, #v do
    if type(v[i]) ~= "string" then
      error(("`%s`[%d] is a %s; return Machine ids (strings)"):format(key, i, type(v[i])), 0)
    end
  end
  return v
end

local no_list = setmetatable({}, { __newindex = function() error("app.machines.list is read-only", 2) end })

-- `app.machines.list` is built when the policy first reads it in a decision (most
-- never do, and it is the costliest part of `app`): each app's `machines` table gets a
-- metatable of its own that builds that app's list.
local ours = setmetatable({}, { __mode = "k" })
local function lazy_list(app_name)
  local mt = {
    __index = function(t, k)
      if k ~= "list" then return nil end
      local list = machine_list(app_name) or no_list
      rawset(t, "list", list)
      return list
    end,
  }
  ours[mt] = true
  return mt
end

-- `regions` is a new {region = {started=, stopped=}} table when the app's regions
-- changed since its last call, else nil (keep the last one).
-- `errors` is {metric = message} for metrics that failed this round (only with
-- policy-sees-errors), else nil: `app.errors` is then a shared, read-only empty table.
local no_errors = setmetatable({}, { __newindex = function() error("app.errors is read-only", 2) end })
local function drive(app_name, now, interval, created, started, stopped, regions, m1, m2, m3, m4, more, errors, has_list, watch)
  fill(m1, m2, m3, m4, more)
  local app = apps[app_name]
  if app == nil then
    app = { name = app_name, state = {}, machines = {} }
    apps[app_name] = app
  end
  app.now, app.interval, app.params = now, interval, params
  app.round = watch and "watch" or "full"
  app.errors = errors or no_errors
  -- The policy owns `state` and may replace it; only a missing one is renewed.
  if type(app.state) ~= "table" then
    if app.state ~= nil then state_reset(app_name, type(app.state)) end
    app.state = {}
  end
  local machines = app.machines
  if type(machines) ~= "table" then
    machines = {}
    app.machines = machines
  end
  if regions ~= nil then app_regions[app_name] = regions end
  machines.created, machines.started, machines.stopped = created, started, stopped
  machines.by_region = app_regions[app_name] or {}
  -- The policy may have replaced `app.machines` with a table of its own making.
  local mt = getmetatable(machines)
  if mt == nil then
    machines.list = nil
    setmetatable(machines, lazy_list(app_name))
  elseif ours[mt] then
    machines.list = nil
  else
    machines.list = has_list and machine_list(app_name) or no_list
  end
  local r = scale(metrics, app)
  if r == nil then return 0, 0, 0, 0, 0 end
  if type(r) ~= "table" then
    error(("scale() returned a %s; return a table {created=, started=}"):format(type(r)), 0)
  end
  local created, started = r.created, r.started
  if created == nil or started == nil then
    only_keys(r, "created", "started", "the table scale() returned", "created, started, stop_order, protect and forecast")
  end
  local cmin, cmax = bounds(created, "created")
  local smin, smax = bounds(started, "started")
  -- Numbers only cross back to Rust (the cheapest answer); `mask` says which are
  -- present: 1 created.min, 2 created.max, 4 started.min, 8 started.max.
  local mask = 0
  if cmin ~= nil then mask = mask + 1 else cmin = 0 end
  if cmax ~= nil then mask = mask + 2 else cmax = 0 end
  if smin ~= nil then mask = mask + 4 else smin = 0 end
  if smax ~= nil then mask = mask + 8 else smax = 0 end
  local forecast = r.forecast
  if forecast ~= nil and (type(forecast) ~= "number" or forecast ~= forecast or forecast == math.huge or forecast == -math.huge) then
    error(("`forecast` is %s; return a number (what fas.forecast predicts) or nil"):format(tostring(forecast)), 0)
  end
  return mask, cmin, cmax, smin, smax, id_list(r.stop_order, "stop_order"), id_list(r.protect, "protect"), forecast
end

-- Translated Expr policies read only metrics and the clock (for `now()`): a shorter call.
local function drive_expr(m1, m2, m3, m4, more, now)
  fill(m1, m2, m3, m4, more)
  return pack(scale(metrics, now))
end

local function state_of(app_name)
  local app = apps[app_name]
  return app and app.state
end

-- Every app's state (for persistence), and putting one back (at start-up).
local function states()
  local out = {}
  for name, app in pairs(apps) do out[name] = app.state end
  return out
end

local function restore(app_name, state)
  local app = apps[app_name]
  if app == nil then
    app = { name = app_name, machines = {} }
    apps[app_name] = app
  end
  app.state = state
end

-- Drops an app that has been gone past its grace period.
local function forget(app_name)
  apps[app_name], app_regions[app_name] = nil, nil
end

return pack and drive_expr or drive, set_names, state_of, states, restore, forget, unknown_metrics
