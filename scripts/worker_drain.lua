-- A worker pool on a queue that scales down without interrupting jobs: as many
-- started workers as the queue needs (per_machine jobs each, between min and max),
-- scale-downs held for down_seconds, and the workers to stop chosen by fas.drain —
-- the idlest first, never one running a job (per-Machine metric busy_metric, from a
-- collector with machine-label).
--
-- params: metric ("queue_depth"), per_machine (10), min (0), max (20),
--         down_seconds (120), busy_metric ("jobs_running")
local cooldown = require("fas.cooldown")
local drain = require("fas.drain")

function scale(metrics, app)
  local p = app.params
  local depth = metrics[p.metric or "queue_depth"]
  -- No reading (or NaN): leave the pool as it is.
  if depth == nil or depth ~= depth then return nil end
  local want = math.ceil(depth / (p.per_machine or 10))
  want = math.max(p.min or 0, math.min(p.max or 20, want))
  want = cooldown.down(app, want, p.down_seconds or 120)
  return drain.answer(app, { started = want }, p.busy_metric or "jobs_running")
end
