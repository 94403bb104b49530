local t = require("fas.testing")
local forecast = require("fas.forecast")

local DAY = 86400
local START = 1796083200 -- 2026-12-01T00:00:00Z (a Tuesday)

-- A daily wave: 20 at 03:00 UTC, 180 at 15:00, `trend` more each day, and a
-- deterministic wobble of +-`noise`.
local function load(now, trend, noise)
  local day = (now - START) / DAY
  local wobble = noise * math.sin(now * 0.0173) * math.cos(now * 0.0031)
  return 100 - 80 * math.cos(2 * math.pi * (now - START - 3 * 3600) / DAY) + trend * day + wobble
end

-- The true peak over [now, now + lead], sampled each minute.
local function peak(now, lead, trend, noise)
  local best = -math.huge
  for s = now, now + lead, 60 do best = math.max(best, load(s, trend, noise)) end
  return best
end

-- Feeds `days` of load every minute, then returns the mean absolute error of the
-- forecasts over the next day against the true peaks, and how many were nil.
local function replay(f, days, trend, noise)
  local app = { now = START, state = {} }
  for now = START, START + days * DAY - 60, 60 do
    app.now = now
    f:predict(app, load(now, trend, noise))
  end
  local err, n, missing = 0, 0, 0
  for now = START + days * DAY, START + (days + 1) * DAY - 60, 60 do
    app.now = now
    local got = f:predict(app, load(now, trend, noise))
    if got == nil then
      missing = missing + 1
    else
      err, n = err + math.abs(got - peak(now, f.lead, trend, noise)), n + 1
    end
  end
  return err / math.max(n, 1), missing, app
end

function test_nothing_is_forecast_before_a_full_season()
  local f = forecast.new({ season = "day", bucket = 300, lead = 600 })
  local app = { now = START, state = {} }
  for now = START, START + DAY - 600, 60 do
    app.now = now
    t.eq(f:predict(app, 50), nil, "at " .. (now - START) .. " s")
  end
  app.now = START + DAY + 60
  t.eq(f:predict(app, 50), 50, "a season later: the same time yesterday")
end

function test_seasonal_naive_follows_the_day_within_a_bound()
  local f = forecast.new({ season = "day", bucket = 300, lead = 900 })
  local mae, missing = replay(f, 1, 0, 0)
  t.eq(missing, 0)
  -- Bucket peaks of a 160-wide wave: within 1% of its range on average (0.45 when
  -- written); a forecast that ignored the season would miss the coming rise by ~3.
  t.eq(mae < 1.6, true, "mean absolute error " .. mae)
end

function test_holt_winters_tracks_a_trend_the_naive_forecast_misses()
  local trend, noise = 30, 8
  local naive = replay(forecast.new({ season = "day", bucket = 300, lead = 900 }), 4, trend, noise)
  local hw = replay(forecast.new({ season = "day", bucket = 300, lead = 900, method = "holt_winters" }), 4, trend, noise)
  -- The naive forecast lags the growth by a day (30); Holt-Winters learns it.
  t.eq(hw < naive, true, ("holt_winters %.1f, naive %.1f"):format(hw, naive))
  -- 1.5 against the naive 29.5 when written: within 5% of the range.
  t.eq(hw < 8, true, "holt_winters mean absolute error " .. hw)
end

function test_scale_never_lowers_and_only_never_acts()
  local scale = forecast.new({ season = "day" })
  t.eq(scale:apply(4, 9), 9, "out ahead of the load")
  t.eq(scale:apply(4, 1), 4, "a forecast alone never scales in")
  t.eq(scale:apply(4, nil), 4, "warming up: the reactive target")
  local only = forecast.new({ season = "day", mode = "only" })
  t.eq(only:apply(4, 9), 4)
end

function test_the_history_is_one_season_whatever_the_uptime()
  local f = forecast.new({ season = "day", bucket = 300 })
  local _, _, app = replay(f, 3, 0, 5)
  local s = app.state.forecast
  t.eq(#s.hist, 288)
  local hw = forecast.new({ season = "day", bucket = 300, method = "holt_winters" })
  local _, _, app2 = replay(hw, 3, 0, 5)
  t.eq(#app2.state.forecast.season, 288)
end

function test_a_steady_metric_changes_the_state_once_a_bucket()
  local f = forecast.new({ season = "day", bucket = 300 })
  local app = { now = START, state = {} }
  f:predict(app, 7)
  local changes, before = 0, app.state.forecast.k
  for now = START + 15, START + 3600, 15 do
    app.now = now
    f:predict(app, 7)
    local k = app.state.forecast.k
    if k ~= before then changes = changes + 1 end
    before = k
  end
  t.eq(changes, 12, "one per 5-minute bucket in an hour")
end

function test_gaps_are_left_out()
  local f = forecast.new({ season = "day", bucket = 300, lead = 0 })
  local app = { now = START, state = {} }
  for now = START, START + DAY - 60, 60 do
    app.now = now
    -- fas was down from 06:00 to 07:00 yesterday.
    if now < START + 6 * 3600 or now >= START + 7 * 3600 then f:predict(app, 10) end
  end
  app.now = START + DAY + 6 * 3600 + 600
  t.eq(f:predict(app, 10), nil, "no history for 06:10 yesterday")
  app.now = START + DAY + 8 * 3600
  t.eq(f:predict(app, 10), 10)
end

function test_bad_options_are_named()
  t.errors(function() forecast.new({ season = "month" }) end, "season must be")
  t.errors(function() forecast.new({ season = "day", bucket = 7 }) end, "bucket must be whole seconds that divide the season")
  t.errors(function() forecast.new({ season = "week", bucket = 60 }) end, "the season holds 10080 buckets")
  t.errors(function() forecast.new({ season = "day", lead = DAY }) end, "lead must be")
  t.errors(function() forecast.new({ method = "arima" }) end, "method must be")
  t.errors(function() forecast.new({ mode = "maybe" }) end, "mode must be")
end

function test_nan_and_infinities_are_no_history()
  local f = forecast.new({ season = "day", bucket = 300, lead = 0 })
  local app = { now = START, state = {} }
  for now = START, START + DAY - 60, 60 do
    app.now = now
    f:predict(app, 4)
    f:predict(app, 0 / 0)
    f:predict(app, math.huge)
    f:predict(app, -math.huge)
  end
  app.now = START + DAY + 60
  t.eq(f:predict(app, 4), 4)
  for _, v in ipairs(app.state.forecast.hist) do
    t.eq(v == v and v ~= math.huge and v ~= -math.huge, true, "a finite history")
  end
end
