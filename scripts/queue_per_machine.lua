-- Queue depth per Machine, with an asymmetric cooldown: scale up quickly, scale down
-- only after the lower target has been wanted for a while, so short lulls between
-- bursts do not stop Machines the next burst needs.
--
-- When to use: workers draining a queue (jobs, emails, builds), one metric with the
-- queue depth.
--
-- params (policy-params / FAS_POLICY_PARAMS), all optional:
--   metric         name of the queue-depth metric        (default "queue_depth")
--   per_machine    items one Machine handles               (default 10)
--   min, max       bounds on started Machines             (default 0, 20)
--   up_cooldown    seconds between scale-ups              (default 0)
--   down_cooldown  seconds after a change before a scale-down (default 300)
local cooldown = require("fas.cooldown")
local target = require("fas.target")
local util = require("fas.util")

function scale(metrics, app)
  local p = app.params
  local depth = metrics[p.metric or "queue_depth"]
  if depth == nil then error("no metric " .. (p.metric or "queue_depth") .. ": check the collector's metric-name") end
  if depth ~= depth then return nil end -- NaN: no data, leave everything as it is
  local want = util.clamp(target.for_total(depth, p.per_machine or 10), p.min or 0, p.max or 20)
  local started = cooldown.apply(app, want, { up = p.up_cooldown or 0, down = p.down_cooldown or 300 })
  return { started = started }
end
