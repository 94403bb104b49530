--- fas.util: small helpers for policies.
local M = {}

--- Clamp `x` to the range [lo, hi].
---@param x number
---@param lo number
---@param hi number
---@return number
function M.clamp(x, lo, hi)
  if x < lo then return lo end
  if x > hi then return hi end
  return x
end

--- Round half away from zero, as fas rounds policy results (and Go's math.Round).
---@param x number
---@return number
function M.round(x)
  if x ~= x or x == math.huge or x == -math.huge then return x end
  local a = math.abs(x)
  local t = math.floor(a)
  if a - t >= 0.5 then t = t + 1 end
  if x < 0 then return -t end
  return t
end

return M
