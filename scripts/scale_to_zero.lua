-- Scale started Machines to zero after a quiet spell, with a warm minimum during
-- business hours (for apps whose first request after idling must not wait).
--
-- When to use: batch or internal apps idle most of the day.
--
-- params:
--   metric        demand metric (queue depth, requests in flight) (default "queue_depth")
--   per_machine   demand one Machine handles                     (default 10)
--   max           most started Machines                           (default 10)
--   idle_minutes  minutes of zero demand before going to zero     (default 10)
--   warm_min      Machines kept started during the hours          (default 1)
--   hours         {from=, to=, days=, zone=} (fas.util.during; default Mon-Fri 9-18 UTC)
local util = require("fas.util")
local target = require("fas.target")

function scale(metrics, app)
  local p = app.params
  local demand = metrics[p.metric or "queue_depth"]
  if demand == nil or demand ~= demand then return nil end
  local s = app.state
  -- Only the turns are written (busy to idle, idle to busy), so a steady app's state
  -- never changes. Idle counts from the first idle round; never busy counts as idle.
  if demand > 0 then
    s.idle_since = nil
    if not s.was_busy then s.was_busy = true end
  elseif s.was_busy and s.idle_since == nil then
    s.idle_since = app.now
  end
  local want = util.clamp(target.for_total(demand, p.per_machine or 10), 0, p.max or 10)
  if want == 0 and s.was_busy then
    local idle_for = app.now - (s.idle_since or app.now)
    if idle_for < (p.idle_minutes or 10) * 60 then want = 1 end -- recently busy: keep one
  end
  local hours = p.hours or { from = 9, to = 18, days = { 1, 2, 3, 4, 5 } }
  want = util.min_during(app.now, want, p.warm_min or 1, hours)
  return { started = want }
end
