-- A pool of created-but-stopped Machines kept ahead of demand: starting a stopped
-- Machine takes well under a second, creating one takes several, so fas keeps `pool`
-- spare Machines created and starts them as demand grows.
--
-- When to use: bursty demand where creation latency hurts; set
-- initial-machine-state: stopped so new Machines join the pool stopped.
--
-- params:
--   metric       demand metric              (default "queue_depth")
--   per_machine  demand one Machine handles (default 10)
--   pool         spare stopped Machines     (default 2)
--   max          most Machines created      (default 30)
local target = require("fas.target")
local util = require("fas.util")

function scale(metrics, app)
  local p = app.params
  local demand = metrics[p.metric or "queue_depth"]
  if demand == nil or demand ~= demand then return nil end
  local max = p.max or 30
  local started = util.clamp(target.for_total(demand, p.per_machine or 10), 0, max)
  local created = util.clamp(started + (p.pool or 2), 1, max)
  -- Create up to the pool, but only destroy when well above it (hysteresis).
  return { created = { min = created, max = math.min(max, created + (p.pool or 2)) }, started = started }
end
