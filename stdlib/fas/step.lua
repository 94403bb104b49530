--- fas.step: limit how fast the target moves, in Machines and/or percent, per period
--- of seconds (default: the interval, so watch steps between rounds add no more) (the HPA's scaling `policies`; fly-autoscaler forks call it "step
--- size"). With both a count and a percent, the larger change is allowed, as the
--- HPA's default `selectPolicy: Max`.
local M = {}

---@class fas.StepOptions
---@field up? number most Machines added per period
---@field down? number most Machines removed per period
---@field up_percent? number most percent added per period
---@field down_percent? number most percent removed per period
---@field period? number seconds (default: app.interval)
---@field key? string where in app.state to keep the memory (default "step")

local function allowed(base, count, percent)
  if count == nil and percent == nil then return math.huge end
  local by_percent = percent and math.ceil(base * percent / 100) or 0
  return math.max(count or 0, by_percent)
end

--- The target moved toward `want` by no more than the limits allow.
---@param app fas.App
---@param want number
---@param opts fas.StepOptions
---@return number
-- Most runs kept: past it the second oldest goes (the base, the oldest, stays).
local MAX_RUNS = 16

function M.limit(app, want, opts)
  local key = opts.key or "step"
  local s = app.state[key]
  if type(s) ~= "table" then
    s = {}
    app.state[key] = s
  end
  -- The targets set, as runs { since, target }: a target counts until another
  -- replaces it, so a steady one writes nothing. (Older fas kept `history`, same shape.)
  local runs = s.runs or s.history or {}
  s.history = nil
  local current = s.target
  if current == nil then
    s.target = want
    s.runs = { { app.now, want } }
    return want
  end
  -- The base is the target at the start of the period: decisions inside one period
  -- (watch steps) all move from the same base, so they add no more than one would.
  -- (A hand-made `app` without an interval limits per call.)
  local period = opts.period or app.interval
  local base = current
  if period then
    while #runs > 1 and runs[2][1] <= app.now - period do table.remove(runs, 1) end
    if runs[1] then base = runs[1][2] end
  end
  local result = want
  local up = allowed(base, opts.up, opts.up_percent)
  local down = allowed(base, opts.down, opts.down_percent)
  if result > base + up then result = base + up end
  if result < base - down then result = base - down end
  s.target = result
  local last = runs[#runs]
  if not last or last[2] ~= result then
    runs[#runs + 1] = { app.now, result }
    if #runs > MAX_RUNS then table.remove(runs, 2) end
  end
  s.runs = runs
  return result
end

return M
