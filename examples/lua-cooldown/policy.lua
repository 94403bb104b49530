-- Queue depth per machine, with memory: scale up at once, but hold a lower target
-- until it has been asked for `cooldown` seconds in a row, so a brief dip does not
-- stop Machines that the next burst needs again.
--
-- params (policy-params / FAS_POLICY_PARAMS):
--   per_machine  queue items one Machine handles (default 10)
--   max          most Machines to run (default 20)
--   cooldown     seconds a lower target must last before scaling down (default 300)
local util = require("fas.util")

function scale(metrics, app)
  local q = metrics.queue_depth
  -- No number (a collector that returned NaN, a metric renamed): hold, scale nothing.
  if type(q) ~= "number" or q ~= q then return nil end
  local p = app.params
  local want = util.clamp(math.ceil(q / (p.per_machine or 10)), 0, p.max or 20)
  local s = app.state
  if s.target == nil or want >= s.target then
    s.target, s.lower_since = want, nil
  elseif s.lower_since == nil then
    s.lower_since = app.now
  elseif app.now - s.lower_since >= (p.cooldown or 300) then
    s.target, s.lower_since = want, nil
  end
  return { started = s.target }
end
