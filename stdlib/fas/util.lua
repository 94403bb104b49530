--- fas.util: small helpers for policies: clamp, fas's rounding, and schedules.
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

---@class fas.Hours
---@field from number hour of day the window opens, 0..24 (fractions allowed: 8.5 = 08:30)
---@field to number hour of day it closes (may be lower than `from`: overnight)
---@field days? integer[] ISO weekdays it applies to, 1 = Monday … 7 = Sunday (default: all)
---@field zone? string IANA time zone of the hours (daylight saving from the database)
---@field utc_offset? number without a zone: hours to add to UTC for local time (default 0)

--- True when unix time `now` falls in the window (local time in `zone`, else by
--- `utc_offset`). fas.schedule does more: several windows, floors and ceilings, dates.
---@param now number unix seconds (use app.now)
---@param s fas.Hours
---@return boolean
function M.during(now, s)
  local hour, weekday
  if s.zone then
    local c = require("fas.tz").civil(now, s.zone)
    hour, weekday = c.hour + c.min / 60 + c.sec / 3600, c.wday
  else
    local t = now + (s.utc_offset or 0) * 3600
    local days = math.floor(t / 86400)
    hour = (t - days * 86400) / 3600
    weekday = (days + 3) % 7 + 1 -- 1970-01-01 was a Thursday (ISO 4)
  end
  local from, to = s.from, s.to
  local open
  if from <= to then
    open = hour >= from and hour < to
  else
    open = hour >= from or hour < to
    if hour < to then weekday = (weekday + 5) % 7 + 1 end -- the window began yesterday
  end
  if not open then return false end
  if s.days == nil then return true end
  for _, d in ipairs(s.days) do
    if d == weekday then return true end
  end
  return false
end

--- `x`, but at least `min` while the schedule's window is open.
---@param now number
---@param x number
---@param min number
---@param s fas.Hours
---@return number
function M.min_during(now, x, min, s)
  if M.during(now, s) and x < min then return min end
  return x
end

return M
