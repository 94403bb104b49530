--- fas.testing: unit tests for policies, run by `fas script-test`. A test file
--- (`NAME_test.lua`) defines global functions `test_*`; each runs in a fresh sandbox
--- and fails when it raises an error.
---
---   local t = require("fas.testing")
---   function test_scales_up_at_once()
---     local p = t.policy("queue.lua", { per_machine = 10 })
---     t.eq(p:scale({ queue_depth = 95 }).started, { min = 10, max = 10 })
---   end
---
--- Policies run exactly as in production (same engine, rounding and checks), with a
--- fake clock that only moves when the test says so.
local native = __fas_testing
if native == nil then error("fas.testing is only available under `fas script-test`", 2) end

local M = {}

local function show(v, depth)
  depth = depth or 0
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) ~= "table" then return tostring(v) end
  if depth > 3 then return "{…}" end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  local parts = {}
  for _, k in ipairs(keys) do
    local name = type(k) == "string" and k or ("[" .. tostring(k) .. "]")
    parts[#parts + 1] = name .. " = " .. show(v[k], depth + 1)
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end
M.show = show

local function same(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) ~= "table" then return a == b or (a ~= a and b ~= b) end
  for k, v in pairs(a) do
    if not same(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

--- Fails (at the caller's line) unless `actual` deep-equals `expected`.
---@param actual any
---@param expected any
---@param msg? string
function M.eq(actual, expected, msg)
  if not same(actual, expected) then
    error(("%sexpected %s, got %s"):format(msg and (msg .. ": ") or "", show(expected), show(actual)), 2)
  end
end

--- Fails unless `fn()` raises an error whose message contains `text`.
---@param fn function
---@param text string
function M.errors(fn, text)
  local ok, err = pcall(fn)
  if ok then error("expected an error containing " .. show(text) .. ", got none", 2) end
  if not tostring(err):find(text, 1, true) then
    error(("expected an error containing %s, got %s"):format(show(text), show(tostring(err))), 2)
  end
end

---@class fas.TestPolicy
---@field now number the fake clock (unix seconds)
---@field interval number seconds a round advances the clock by default
---@field round "full"|"watch" what app.round says (default "full")
---@field app string app name passed to the policy
---@field machines fas.Machines what the policy sees in app.machines
local Policy = {}
Policy.__index = Policy

--- Loads a policy file (relative to the test file) with `params` as app.params.
---@param path string
---@param params? table
---@return fas.TestPolicy
function M.policy(path, params)
  local p = setmetatable({}, Policy)
  p.engine = native.policy(path, params or {})
  p.now = 1700000000
  p.interval = 15
  p.round = "full"
  p.app = "test-app"
  p.machines = { created = 1, started = 1, stopped = 0, by_region = {} }
  return p
end

--- One decision with these metrics at the current fake time: returns the targets as
--- `{created = {min=, max=}, started = {min=, max=}}` (absent dimensions are nil), with
--- `stop_order` and `protect` when the policy returned them. `errors` is `app.errors`
--- (policy-sees-errors); `p.machines.list` is `app.machines.list`.
---@param metrics table<string, number>
---@param errors? table<string, string>
---@return fas.Targets
function Policy:scale(metrics, errors)
  return self.engine:decide({
    metrics = metrics or {}, now = self.now, interval = self.interval, app = self.app, machines = self.machines,
    round = self.round,
    errors = errors,
  })
end

--- Moves the fake clock forward.
---@param seconds number
function Policy:advance(seconds)
  self.now = self.now + seconds
end

--- Runs rounds, one per entry: `{metrics = {...}, advance = seconds (default: the
--- interval, applied before the round), machines = {...} (optional)}`. Returns each
--- round's targets.
---@param rounds table[]
---@return fas.Targets[]
function Policy:run(rounds)
  local out = {}
  for i, r in ipairs(rounds) do
    if i > 1 or r.advance then self:advance(r.advance or self.interval) end
    if r.machines then self.machines = r.machines end
    out[i] = self:scale(r.metrics)
  end
  return out
end

--- The policy's app.state for this app (as it would be saved).
---@return table
function Policy:state()
  return self.engine:state(self.app)
end

return M
