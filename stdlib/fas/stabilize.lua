--- fas.stabilize: the Kubernetes HPA's stabilization window. A scale-down goes only
--- as low as the highest recommendation of the last `down` seconds; with `up`, a
--- scale-up goes only as high as the lowest recommendation of the last `up` seconds.
--- Flapping metrics then cannot make the target flap.
local M = {}

---@class fas.StabilizeOptions
---@field down? number window in seconds for scale-downs (HPA default: 300)
---@field up? number window in seconds for scale-ups (default 0: none)
---@field key? string where in app.state to keep the history (default "stabilize")
---@field steps? integer most runs of recommendations kept (default 16; state ≈ 30 bytes each)

-- The history is a list of runs { since, highest, lowest }: a run starts when the
-- recommendation changes and holds until the next one (a recommendation counts until
-- another replaces it, so a steady one writes nothing). Past `steps` runs, the two
-- oldest merge, keeping the higher high and the lower low: the window then errs on the
-- side of holding capacity, and the state stays bounded whatever the cadence.
local function record(s, now, want, keep, steps)
  local runs = s.runs
  if type(runs) ~= "table" then
    -- Older fas kept every sample as { at, want }: read them as runs.
    runs = {}
    for _, h in ipairs(type(s.history) == "table" and s.history or {}) do
      runs[#runs + 1] = { h[1], h[2], h[2] }
    end
    s.history = nil
  end
  local last = runs[#runs]
  if not (last and last[2] == want and last[3] == want) then
    runs[#runs + 1] = { now, want, want }
  end
  -- A run has left the window once the run after it started before the window did.
  while #runs > 1 and runs[2][1] <= now - keep do table.remove(runs, 1) end
  while #runs > steps do
    local a, b = runs[1], table.remove(runs, 2)
    a[2], a[3] = math.max(a[2], b[2]), math.min(a[3], b[3])
  end
  s.runs = runs
  return runs
end

-- The highest (`pick` = 2) or lowest (3) recommendation of the runs that overlap the
-- last `window` seconds.
local function extreme(runs, now, window, pick)
  local best = runs[#runs][pick]
  for i = #runs - 1, 1, -1 do
    if runs[i + 1][1] <= now - window then break end
    local v = runs[i][pick]
    if (pick == 2 and v > best) or (pick == 3 and v < best) then best = v end
  end
  return best
end

---@param app fas.App
---@param want number the recommendation of this round
---@param opts? fas.StabilizeOptions
---@return number
function M.apply(app, want, opts)
  opts = opts or {}
  local down, up = opts.down or 300, opts.up or 0
  local key = opts.key or "stabilize"
  local steps = opts.steps or 16
  if type(steps) ~= "number" or steps < 2 then error("fas.stabilize: steps must be at least 2", 2) end
  local s = app.state[key]
  if type(s) ~= "table" then
    s = {}
    app.state[key] = s
  end
  local runs = record(s, app.now, want, math.max(down, up), steps)
  local current = s.target or want
  local result = want
  if want < current then
    result = math.min(extreme(runs, app.now, down, 2), current)
  elseif want > current and up > 0 then
    result = math.max(extreme(runs, app.now, up, 3), current)
  end
  if s.target ~= result then s.target = result end
  return result
end

--- Only the scale-down window (the HPA default behaviour).
---@param app fas.App
---@param want number
---@param window? number seconds (default 300)
---@param key? string
---@return number
function M.down(app, want, window, key)
  return M.apply(app, want, { down = window or 300, key = key })
end

return M
