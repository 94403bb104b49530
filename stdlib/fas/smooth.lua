--- fas.smooth: smoothing of noisy metrics: an exponentially weighted moving average,
--- and the mean or maximum over a time window. Each keeps its memory in
--- `app.state[key]`; give every smoothed series its own key.
local M = {}

local function slot(app, key)
  local s = app.state[key]
  if type(s) ~= "table" then
    s = {}
    app.state[key] = s
  end
  return s
end

--- EWMA: `alpha * x + (1 - alpha) * previous` per interval (the first value is taken
--- as is). `alpha` is the weight of one interval's new value: decided more often (watch
--- steps), each decision weighs its share of the time since the last one, so the
--- average moves as fast in seconds at any cadence.
---@param app fas.App
---@param key string
---@param x number
---@param alpha? number weight of the new value per interval, 0..1 (default 0.3)
---@return number
function M.ewma(app, key, x, alpha)
  alpha = alpha or 0.3
  local s = slot(app, key)
  if s.value == nil or s.value ~= s.value then
    s.value = x
  else
    -- (A hand-made `app` without an interval weighs per call.)
    local a = alpha
    if app.interval then
      local elapsed = app.now - (s.at or app.now - app.interval)
      if elapsed <= 0 then return s.value end
      a = 1 - (1 - alpha) ^ (elapsed / app.interval)
    end
    s.value = a * x + (1 - a) * s.value
  end
  s.at = app.now
  return s.value
end

local function window(app, key, x, seconds)
  local s = slot(app, key)
  local kept = {}
  for _, h in ipairs(s.samples or {}) do
    if app.now - h[1] < seconds then kept[#kept + 1] = h end
  end
  kept[#kept + 1] = { app.now, x }
  s.samples = kept
  return kept
end

--- Mean of the values seen in the last `seconds` (this one included).
---@param app fas.App
---@param key string
---@param x number
---@param seconds number
---@return number
function M.mean(app, key, x, seconds)
  local samples = window(app, key, x, seconds)
  local total = 0
  for _, h in ipairs(samples) do total = total + h[2] end
  return total / #samples
end

--- Maximum of the values seen in the last `seconds` (this one included).
---@param app fas.App
---@param key string
---@param x number
---@param seconds number
---@return number
function M.max(app, key, x, seconds)
  local best = -math.huge
  for _, h in ipairs(window(app, key, x, seconds)) do
    if h[2] > best then best = h[2] end
  end
  return best
end

return M
