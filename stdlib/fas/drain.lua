--- fas.drain: which started Machines a scale-down takes — "stop the idlest, never one
--- that is busy". It reads each Machine's value of a per-Machine metric (a collector
--- with `machine-label`, e.g. jobs running on that worker) from `app.machines.list`
--- and answers `stop_order` (idlest first) and `protect` (the busy ones, and by default
--- those whose value is unknown: they may be busy). A scale-down then falls short
--- rather than interrupt a job; the busy Machines go once they are idle.
local M = {}

---@class fas.DrainOptions
---@field busy_above? number a Machine whose value is above this is busy (default 0)
---@field unknown_is_busy? boolean protect Machines without a value (default true)

--- `stop_order` and `protect` for scale()'s answer.
---@param app fas.App
---@param metric string the per-Machine metric's name
---@param opts? fas.DrainOptions
---@return string[] stop_order
---@return string[] protect
function M.plan(app, metric, opts)
  opts = opts or {}
  local busy_above = opts.busy_above or 0
  local idle, protect = {}, {}
  for _, m in ipairs(app.machines.list or {}) do
    if m.state == "started" then
      local v = m.metrics and m.metrics[metric]
      if v == nil or v ~= v then
        if opts.unknown_is_busy == false then
          idle[#idle + 1] = { id = m.id, v = math.huge }
        else
          protect[#protect + 1] = m.id
        end
      elseif v > busy_above then
        protect[#protect + 1] = m.id
      else
        idle[#idle + 1] = { id = m.id, v = v }
      end
    end
  end
  table.sort(idle, function(a, b)
    if a.v ~= b.v then return a.v < b.v end
    return a.id < b.id
  end)
  local order = {}
  for i, e in ipairs(idle) do order[i] = e.id end
  table.sort(protect)
  return order, protect
end

--- `targets` (scale()'s answer) with the drain rule added: return it from scale().
---@param app fas.App
---@param targets table
---@param metric string
---@param opts? fas.DrainOptions
---@return table
function M.answer(app, targets, metric, opts)
  targets.stop_order, targets.protect = M.plan(app, metric, opts)
  return targets
end

return M
