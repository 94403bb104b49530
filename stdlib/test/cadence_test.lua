-- Every stdlib module keeps its meaning at any cadence: one metric history replayed
-- with a decision every 15 s (full rounds only) and every 1 s (watch steps between
-- rounds) gives, at each 15 s mark, the same decision within one step — the 1 s
-- decision lies between the 15 s decisions of the marks before and after it.
local t = require("fas.testing")
local cooldown = require("fas.cooldown")
local stabilize = require("fas.stabilize")
local smooth = require("fas.smooth")
local step = require("fas.step")
local target = require("fas.target")
local drain = require("fas.drain")
local util = require("fas.util")

local INTERVAL, LAST = 15, 1200

-- Queue depth: quiet, a ramp, a burst, a plateau, a fall, quiet again.
local function depth(now)
  if now < 120 then return 5 end
  if now < 300 then return 5 + (now - 120) * 2 end
  if now < 330 then return 900 end
  if now < 600 then return 400 end
  if now < 700 then return 400 - (now - 600) * 3.5 end
  return 10
end

-- Decisions at every 15 s mark when deciding every `every` seconds.
local function replay(every, decide)
  local app = { now = 0, interval = INTERVAL, state = {}, machines = { started = 1, list = {} } }
  local at_marks = {}
  for now = 0, LAST, every do
    app.now = now
    app.round = (now % INTERVAL == 0) and "full" or "watch"
    local d = decide(app, depth(now))
    app.machines.started = d
    if now % INTERVAL == 0 then at_marks[now] = d end
  end
  return at_marks
end

local function same_within_one_step(decide)
  local slow, fast = replay(INTERVAL, decide), replay(1, decide)
  for now = INTERVAL, LAST - INTERVAL, INTERVAL do
    local lo = math.min(slow[now - INTERVAL], slow[now], slow[now + INTERVAL])
    local hi = math.max(slow[now - INTERVAL], slow[now], slow[now + INTERVAL])
    if fast[now] < lo or fast[now] > hi then
      error(("at %d s: every 1 s decides %s, every 15 s decides %s (before %s, after %s)"):format(
        now, fast[now], slow[now], slow[now - INTERVAL], slow[now + INTERVAL]), 2)
    end
  end
end

function test_cooldown()
  same_within_one_step(function(app, q)
    return cooldown.apply(app, target.for_total(q, 50), { up = 0, down = 120 })
  end)
end

function test_stabilize()
  same_within_one_step(function(app, q)
    return stabilize.apply(app, target.for_total(q, 50), { down = 300, up = 30 })
  end)
end

function test_smooth_ewma()
  same_within_one_step(function(app, q)
    return util.round(smooth.ewma(app, "q", q, 0.3) / 50)
  end)
end

function test_smooth_windows()
  same_within_one_step(function(app, q)
    return math.ceil(smooth.mean(app, "mean", q, 60) / 50) + math.ceil(smooth.max(app, "max", q, 120) / 50)
  end)
end

function test_step_limits_per_interval_by_default()
  same_within_one_step(function(app, q)
    return step.limit(app, target.for_total(q, 50), { up = 2, down = 1 })
  end)
end

function test_step_with_a_period()
  same_within_one_step(function(app, q)
    return step.limit(app, target.for_total(q, 50), { up = 4, down_percent = 50, period = 60 })
  end)
end

function test_target_tracking()
  same_within_one_step(function(app, q)
    return target.desired(app.machines.started, q / math.max(app.machines.started, 1), 40)
  end)
end

function test_drain_orders_the_same_at_any_cadence()
  same_within_one_step(function(app, q)
    app.machines.list = {
      { id = "a", state = "started", metrics = { busy = q > 100 and 1 or 0 } },
      { id = "b", state = "started", metrics = { busy = 0 } },
    }
    local order, protect = drain.plan(app, "busy")
    return #protect * 10 + #order
  end)
end

function test_the_old_per_call_ewma_would_fail_this_check()
  -- The check has teeth: an average weighing each call alike moves 15 times faster
  -- when called every second.
  t.errors(function()
    same_within_one_step(function(app, q)
      local s = app.state
      s.v = s.v and (0.3 * q + 0.7 * s.v) or q
      return util.round(s.v / 50)
    end)
  end, "every 1 s decides")
end
