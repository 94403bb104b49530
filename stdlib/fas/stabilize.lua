--- fas.stabilize: the Kubernetes HPA's stabilization window. A scale-down goes only
--- as low as the highest recommendation of the last `down` seconds; with `up`, a
--- scale-up goes only as high as the lowest recommendation of the last `up` seconds.
--- Flapping metrics then cannot make the target flap.
local M = {}

---@class fas.StabilizeOptions
---@field down? number window in seconds for scale-downs (HPA default: 300)
---@field up? number window in seconds for scale-ups (default 0: none)
---@field key? string where in app.state to keep the history (default "stabilize")

---@param app fas.App
---@param want number the recommendation of this round
---@param opts? fas.StabilizeOptions
---@return number
function M.apply(app, want, opts)
  opts = opts or {}
  local down, up = opts.down or 300, opts.up or 0
  local key = opts.key or "stabilize"
  local s = app.state[key]
  if type(s) ~= "table" then
    s = { history = {} }
    app.state[key] = s
  end
  local keep = math.max(down, up)
  local history = {}
  for _, h in ipairs(s.history) do
    if app.now - h[1] < keep then history[#history + 1] = h end
  end
  history[#history + 1] = { app.now, want }
  s.history = history
  local current = s.target or want
  local result = want
  if want < current then
    for _, h in ipairs(history) do
      if app.now - h[1] < down and h[2] > result then result = h[2] end
    end
    if result > current then result = current end
  elseif want > current and up > 0 then
    for _, h in ipairs(history) do
      if app.now - h[1] < up and h[2] < result then result = h[2] end
    end
    if result < current then result = current end
  end
  s.target = result
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
