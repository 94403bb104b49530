--- fas.target: HPA-style target tracking. With a per-Machine metric (say, CPU or
--- queue items per Machine) and a target value for it, the desired count is
--- `ceil(current * metric / target)`; within the tolerance band (10% by default)
--- the current count is kept, so tiny deviations do not scale.
local M = {}

--- The desired number of Machines.
---@param current number Machines now (e.g. app.machines.started)
---@param metric number the per-Machine metric now (average)
---@param target number the per-Machine value to hold
---@param tolerance? number relative band around 1.0 with no change (default 0.1)
---@return number
function M.desired(current, metric, target, tolerance)
  tolerance = tolerance or 0.1
  if target <= 0 then error("fas.target: target must be greater than 0", 2) end
  if current <= 0 then
    -- Nothing runs: any load needs one Machine per target's worth of it.
    return math.ceil(metric / target)
  end
  local ratio = metric / target
  if math.abs(ratio - 1) <= tolerance then return current end
  return math.ceil(current * ratio)
end

--- For a total (e.g. queue depth) instead of a per-Machine average.
---@param total number
---@param per_machine number what one Machine handles
---@return number
function M.for_total(total, per_machine)
  if per_machine <= 0 then error("fas.target: per_machine must be greater than 0", 2) end
  return math.ceil(total / per_machine)
end

return M
