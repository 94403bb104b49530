--- fas.forecast: seasonal forecasts from the app's own history, to scale out before
--- the load arrives. The history is kept in `app.state` in fixed buckets (the peak of
--- each bucket, one season of them): a week of 5-minute buckets is 2,016 numbers, about
--- 10 KB of state per app (Holt-Winters adds as many seasonal terms: about 20 KB).
---
---   local forecast = require("fas.forecast")
---   local ahead = forecast.new({ season = "week", bucket = 300, lead = 900 })
---
---   function scale(m, app)
---     local now = math.ceil(m.queue_depth / 10)
---     local coming = ahead:predict(app, m.queue_depth)   -- nil while warming up
---     return { started = ahead:apply(now, coming and math.ceil(coming / 10)), forecast = coming }
---   end
---
--- Methods: "naive" (seasonal naive: the peak one season ago, over the coming `lead`
--- seconds) or "holt_winters" (additive level, trend and season, updated per bucket).
--- Either needs one full season of history first (its warm-up): `predict` answers nil
--- until then. Modes: "scale" (default) lets `apply` raise the target to the forecast's
--- but never lower it — a forecast alone never scales in; "only" computes and returns
--- the forecast (return it as `forecast =` and fas exports `fas_forecast{app}`) while
--- `apply` leaves the target to the reactive policy.
local M = {}

local SEASONS = { day = 86400, week = 604800 }
local MAX_BUCKETS = 4032

---@class fas.ForecastOptions
---@field season? number|"day"|"week" the period that repeats, in seconds (default "week")
---@field bucket? number seconds per bucket (default 300); season / bucket buckets are kept (at most 4,032)
---@field lead? number seconds ahead to provision for: the forecast is the peak of the next `lead` seconds (default 900)
---@field method? "naive"|"holt_winters" (default "naive")
---@field mode? "scale"|"only" (default "scale")
---@field key? string where in app.state to keep the history (default "forecast")
---@field alpha? number Holt-Winters level smoothing (default 0.3)
---@field beta? number Holt-Winters trend smoothing (default 0.01)
---@field gamma? number Holt-Winters season smoothing (default 0.3)

---@class fas.Forecast
local Forecast = {}
Forecast.__index = Forecast

local function check(cond, msg)
  if not cond then error("fas.forecast.new: " .. msg, 3) end
end

--- A forecaster; its options are checked when the policy loads.
---@param opts? fas.ForecastOptions
---@return fas.Forecast
function M.new(opts)
  opts = opts or {}
  local season = SEASONS[opts.season or "week"] or opts.season
  check(type(season) == "number" and season > 0, "season must be \"day\", \"week\" or seconds, got " .. tostring(opts.season))
  local bucket = opts.bucket or 300
  check(type(bucket) == "number" and bucket >= 1 and season % bucket == 0,
    ("bucket must be whole seconds that divide the season (%d s), got %s"):format(season, tostring(bucket)))
  local n = season // bucket
  check(n >= 2 and n <= MAX_BUCKETS, ("the season holds %d buckets; use 2 to %d (a larger bucket)"):format(n, MAX_BUCKETS))
  local lead = opts.lead or 900
  check(type(lead) == "number" and lead >= 0 and lead < season, "lead must be seconds from 0 to under a season")
  local method = opts.method or "naive"
  check(method == "naive" or method == "holt_winters", "method must be \"naive\" or \"holt_winters\", got " .. tostring(method))
  local mode = opts.mode or "scale"
  check(mode == "scale" or mode == "only", "mode must be \"scale\" or \"only\", got " .. tostring(mode))
  local f = setmetatable({
    n = math.tointeger(n), bucket = bucket, lead = lead, method = method, mode = mode,
    key = opts.key or "forecast", alpha = opts.alpha or 0.3, beta = opts.beta or 0.01, gamma = opts.gamma or 0.3,
  }, Forecast)
  for _, k in ipairs({ "alpha", "beta", "gamma" }) do
    check(type(f[k]) == "number" and f[k] >= 0 and f[k] <= 1, k .. " must be between 0 and 1")
  end
  return f
end

-- A bucket's peak rounded to 4 significant digits: the state is JSON, and capacity
-- needs no more.
local function compact(x)
  if x == 0 then return 0 end
  local e = 10 ^ (math.floor(math.log(math.abs(x), 10)) - 3)
  local r = math.floor(x / e + 0.5) * e
  return math.tointeger(r) or r
end

-- Closes the bucket `s.k` (its peak `s.peak`): into the ring, and into Holt-Winters
-- (initialised once the first season is complete; a missing bucket counts as 0 there).
function Forecast:close(s)
  local i = s.k % self.n + 1
  local y = s.peak
  s.hist[i] = compact(y)
  if self.method ~= "holt_winters" then return end
  if s.level == nil then
    if s.k + 1 - s.first < self.n then return end
    -- Initialised from the first full season: the mean as level, no trend.
    local total = 0
    for j = 1, self.n do total = total + math.max(s.hist[j], 0) end
    s.level, s.trend, s.season = total / self.n, 0, {}
    for j = 1, self.n do s.season[j] = compact(math.max(s.hist[j], 0) - s.level) end
    return
  end
  local last = s.season[i]
  local level = self.alpha * (y - last) + (1 - self.alpha) * (s.level + s.trend)
  s.trend = compact(self.beta * (level - s.level) + (1 - self.beta) * s.trend)
  s.level = compact(level)
  s.season[i] = compact(self.gamma * (y - level) + (1 - self.gamma) * last)
end

--- Records `x` (this round's metric) and returns the forecast: the highest value
--- expected from now to `lead` seconds ahead, or nil while the history is shorter than
--- a season. Gaps (fas not running) are left out of the history.
---@param app fas.App
---@param x number
---@return number|nil
function Forecast:predict(app, x)
  -- NaN and infinities are no history (JSON state cannot hold them either).
  if type(x) ~= "number" or x ~= x or x == math.huge or x == -math.huge then return self:ahead(app) end
  local s = app.state[self.key]
  if type(s) ~= "table" or s.n ~= self.n or s.bucket ~= self.bucket then
    -- New, or its options changed: start over.
    s = { n = self.n, bucket = self.bucket, hist = {} }
    for j = 1, self.n do s.hist[j] = -1 end
    app.state[self.key] = s
  end
  local k = math.floor(app.now / self.bucket)
  if s.k == nil then
    s.k, s.peak, s.first = k, x, k
  elseif k ~= s.k then
    self:close(s)
    -- Buckets skipped (no decision in them) are marked missing, a season at most.
    for gap = s.k + 1, math.min(k - 1, s.k + self.n) do s.hist[gap % self.n + 1] = -1 end
    s.k, s.peak = k, x
  elseif x > s.peak then
    s.peak = x
  end
  return self:ahead(app)
end

--- The forecast without recording anything (nil while warming up).
---@param app fas.App
---@return number|nil
function Forecast:ahead(app)
  local s = app.state[self.key]
  -- Warm once the history spans a season (buckets missing in it are skipped).
  if type(s) ~= "table" or s.k == nil or s.k - s.first < self.n then return nil end
  local steps = math.max(1, math.ceil(self.lead / self.bucket))
  local best
  for h = 0, steps do
    local i = (s.k + h) % self.n + 1
    local v
    if self.method == "holt_winters" then
      if s.level then v = s.level + h * s.trend + s.season[i] end
    elseif s.hist[i] >= 0 then
      v = s.hist[i]
    end
    if v and (best == nil or v > best) then best = v end
  end
  return best and math.max(best, 0)
end

--- The target to return: in "scale" mode the higher of `want` (the reactive target)
--- and `ahead` (the forecast's target, nil while warming up) — never lower than
--- `want`; in "only" mode, `want`.
---@param want number
---@param ahead? number
---@return number
function Forecast:apply(want, ahead)
  if self.mode == "only" or ahead == nil then return want end
  return math.max(want, ahead)
end

return M
