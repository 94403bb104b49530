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
--- average moves as fast in seconds at any cadence. A steady input writes nothing: once
--- the average reaches it (to 1e-9), the state stays as it is until the input moves,
--- and the next value then weighs one interval (a gap never weighs more).
---@param app fas.App
---@param key string
---@param x number
---@param alpha? number weight of the new value per interval, 0..1 (default 0.3)
---@return number
function M.ewma(app, key, x, alpha)
  alpha = alpha or 0.3
  local s = slot(app, key)
  if s.value == x then return x end
  if s.value == nil or s.value ~= s.value then
    s.value = x
  else
    -- (A hand-made `app` without an interval weighs per call.)
    local a = alpha
    if app.interval then
      local elapsed = math.min(app.now - (s.at or app.now - app.interval), app.interval)
      if elapsed <= 0 then return s.value end
      a = 1 - (1 - alpha) ^ (elapsed / app.interval)
    end
    local v = a * x + (1 - a) * s.value
    if math.abs(v - x) <= 1e-9 * math.max(1, math.abs(x)) then v = x end
    s.value = v
  end
  s.at = app.now
  return s.value
end

-- The samples of the last `seconds`, as { at, value } ({ at, value, count } once
-- merged). The window is cut into `points` slots (default 24): samples in the slot of
-- the newest one merge into it (`fold` combines the values; `at` is the newest), so
-- at most `points` + 1 are kept whatever the cadence. A merged value leaves the window
-- with its newest sample: up to one slot late, never early.
local function window(app, key, x, seconds, points, fold)
  points = points or 24
  if type(points) ~= "number" or points < 1 then error("fas.smooth: points must be at least 1", 3) end
  local s = slot(app, key)
  local kept = {}
  for _, h in ipairs(s.samples or {}) do
    if app.now - h[1] < seconds then kept[#kept + 1] = h end
  end
  local width, last = seconds / points, kept[#kept]
  if last and width > 0 and math.floor(last[1] / width) == math.floor(app.now / width) then
    local sample = { app.now, x }
    kept[#kept] = { app.now, fold(last, sample), (last[3] or 1) + 1 }
  else
    kept[#kept + 1] = { app.now, x }
  end
  s.samples = kept
  return kept
end

local function fold_mean(a, b)
  local n, m = a[3] or 1, b[3] or 1
  return (a[2] * n + b[2] * m) / (n + m)
end
local function fold_max(a, b) return math.max(a[2], b[2]) end

--- Mean of the values seen in the last `seconds` (this one included).
---@param app fas.App
---@param key string
---@param x number
---@param seconds number
---@param points? integer slots of the window (default 24): at most this many samples + 1 are kept
---@return number
function M.mean(app, key, x, seconds, points)
  local samples = window(app, key, x, seconds, points, fold_mean)
  local total, n = 0, 0
  for _, h in ipairs(samples) do
    local count = h[3] or 1
    total, n = total + h[2] * count, n + count
  end
  return total / n
end

--- Maximum of the values seen in the last `seconds` (this one included).
---@param app fas.App
---@param key string
---@param x number
---@param seconds number
---@param points? integer slots of the window (default 24): at most this many samples + 1 are kept
---@return number
function M.max(app, key, x, seconds, points)
  local best = -math.huge
  for _, h in ipairs(window(app, key, x, seconds, points, fold_max)) do
    if h[2] > best then best = h[2] end
  end
  return best
end

return M
