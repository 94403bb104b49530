-- Kubernetes-HPA-like target tracking: hold a per-Machine metric (CPU percent,
-- requests per second per Machine, …) at a target value, with the HPA's tolerance band
-- and its scale-down stabilization window.
--
-- When to use: a metric that is an average per started Machine and falls as Machines
-- are added.
--
-- params:
--   metric          per-Machine metric name      (default "cpu")
--   target          value to hold per Machine     (default 60)
--   tolerance       no change within ±this ratio  (default 0.1)
--   min, max        bounds on started Machines    (default 1, 20)
--   stabilize_down  window in seconds for scale-downs (default 300)
local stabilize = require("fas.stabilize")
local target = require("fas.target")
local util = require("fas.util")

function scale(metrics, app)
  local p = app.params
  local value = metrics[p.metric or "cpu"]
  if value == nil or value ~= value then return nil end
  local want = target.desired(app.machines.started, value, p.target or 60, p.tolerance or 0.1)
  want = util.clamp(want, p.min or 1, p.max or 20)
  return { started = stabilize.down(app, want, p.stabilize_down or 300) }
end
