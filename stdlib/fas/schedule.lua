--- fas.schedule: floors and ceilings by the calendar, in real time zones.
---
---   local schedule = require("fas.schedule")
---   local hours = schedule.new({
---     { "Mon-Fri 08:00-18:00 Europe/Berlin", min = 4 },
---     { "Mon-Fri 09:00-17:00 America/New_York", min = 6 },
---     { "Sat,Sun 00:00-24:00 UTC", max = 2 },
---     { "2026-11-27 06:00-23:00 America/New_York", min = 20 },  -- one day
---   }, { lead = 600 })   -- floors rise 10 minutes before a window opens
---
---   function scale(m, app)
---     return { started = hours:apply(app, math.ceil(m.queue_depth / 10)) }
---   end
---
--- A window is `DAYS FROM-TO ZONE`: DAYS is `Mon-Fri`, `Sat,Sun`, `Fri-Mon`, `daily`
--- (or `*`) or one date `YYYY-MM-DD`; FROM and TO are wall-clock `HH:MM` (TO may be
--- `24:00`; a TO before FROM runs past midnight into the next day); ZONE is an IANA
--- name. The same fields may be given as a table: `{ days =, from =, to =, zone = }`.
--- Times are read on the zone's own clock, from the time-zone database built into fas,
--- so a window stays at 08:00 local across daylight-saving changes. On a day the
--- clocks skip an hour, a window that opens inside it opens at the jump; on a day they
--- repeat one, a time inside it happens twice and the window holds through both.
---
--- Overlapping windows combine as capacity planners expect: the highest floor and the
--- lowest ceiling; where a floor and a ceiling disagree, the floor wins (never below a
--- promised minimum). The module keeps nothing in `app.state`.
local tz = require("fas.tz")

local M = {}

local DAYS = { mon = 1, tue = 2, wed = 3, thu = 4, fri = 5, sat = 6, sun = 7 }

-- Raised without a position; fas.schedule.new re-raises it at the policy's line.
local function bad(i, spec, why)
  error(("fas.schedule: window %d (%s): %s"):format(i, spec, why), 0)
end

local function minutes(i, spec, text, is_end)
  local h, m = tostring(text):match("^(%d%d?):(%d%d)$")
  h, m = tonumber(h), tonumber(m)
  if not h or m > 59 or h > 24 or (h == 24 and (m ~= 0 or not is_end)) then
    bad(i, spec, ("%q is not a time: write HH:MM, 00:00 to 23:59 (24:00 as an end)"):format(tostring(text)))
  end
  return h * 60 + m
end

local function day_set(i, spec, text)
  text = tostring(text)
  local lower = text:lower()
  if lower == "daily" or lower == "*" then
    return { true, true, true, true, true, true, true }
  end
  local y, mo, d = text:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
  if y then
    y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
    if mo < 1 or mo > 12 or d < 1 or d > 31 then bad(i, spec, text .. " is not a date") end
    return nil, { y, mo, d }
  end
  local set = {}
  for part in (text .. ","):gmatch("([^,]*),") do
    local a, b = part:lower():match("^(%a+)%-(%a+)$")
    local from, to = DAYS[a or part:lower()], DAYS[b or a or part:lower()]
    if not from or not to then
      bad(i, spec, ("%q is not a day: use Mon..Sun, ranges like Mon-Fri, lists like Sat,Sun, daily, or a date YYYY-MM-DD"):format(part))
    end
    local day = from
    while true do
      set[day] = true
      if day == to then break end
      day = day % 7 + 1
    end
  end
  return set
end

local function parse(i, w)
  if type(w) ~= "table" then bad(i, tostring(w), "each window is a table, e.g. { \"Mon-Fri 08:00-18:00 Europe/Berlin\", min = 4 }") end
  local spec = w[1]
  local days, from, to, zone = w.days, w.from, w.to, w.zone
  if spec ~= nil then
    local words = {}
    for word in tostring(spec):gmatch("%S+") do words[#words + 1] = word end
    local f, t = (words[2] or ""):match("^([%d:]+)%-([%d:]+)$")
    if #words ~= 3 or not f then
      bad(i, tostring(spec), "write DAYS HH:MM-HH:MM ZONE, e.g. \"Mon-Fri 08:00-18:00 Europe/Berlin\"")
    end
    days, from, to, zone = words[1], f, t, words[3]
  else
    spec = ("%s %s-%s %s"):format(tostring(days), tostring(from), tostring(to), tostring(zone))
  end
  if days == nil or from == nil or to == nil or zone == nil then
    bad(i, spec, "a window needs days, from, to and zone")
  end
  local ok, err = pcall(tz.civil, 0, zone)
  if not ok then bad(i, spec, tostring(err):gsub("^.-: ", "", 1)) end
  local set, date = day_set(i, spec, days)
  local lo, hi = w.min, w.max
  for k, v in pairs({ min = lo, max = hi }) do
    if type(v) ~= "number" or v ~= v or v < 0 or v == math.huge then
      bad(i, spec, ("%s must be a number of Machines >= 0, got %s"):format(k, tostring(v)))
    end
  end
  if lo == nil and hi == nil then bad(i, spec, "give min (a floor), max (a ceiling) or both") end
  if lo and hi and lo > hi then bad(i, spec, ("min %s is above max %s"):format(lo, hi)) end
  local start, stop = minutes(i, spec, from, false), minutes(i, spec, to, true)
  if start == stop then bad(i, spec, "the window is empty: FROM equals TO (use 00:00-24:00 for a whole day)") end
  return { spec = spec, days = set, date = date, from = start, to = stop, zone = zone, min = lo, max = hi }
end

-- Whether the local day `c` (a fas.tz.civil table) is a day of window `w`.
local function day_of(w, c)
  if w.date then return c.year == w.date[1] and c.month == w.date[2] and c.day == w.date[3] end
  return w.days[c.wday] == true
end

-- The civil day before `c` (its date and weekday are all a window reads).
local function day_before(c)
  local t = tz.unix("UTC", { year = c.year, month = c.month, day = c.day, hour = 12 }) - 86400
  return tz.civil(t, "UTC")
end

local function open_at(w, t)
  local c = tz.civil(t, w.zone)
  local now = c.hour * 60 + c.min
  if w.from < w.to then return day_of(w, c) and now >= w.from and now < w.to end
  -- Past midnight: the evening of a window day, or the small hours after one.
  return (day_of(w, c) and now >= w.from) or (now < w.to and day_of(w, day_before(c)))
end

-- Whether window `w` opens at some instant in (t, t + lead].
local function opens_within(w, t, lead)
  local c = tz.civil(t, w.zone)
  local day = tz.unix("UTC", { year = c.year, month = c.month, day = c.day, hour = 12 })
  for k = 0, math.ceil(lead / 86400) + 1 do
    local d = tz.civil(day + k * 86400, "UTC")
    if day_of(w, d) then
      local at = tz.unix(w.zone, { year = d.year, month = d.month, day = d.day, hour = w.from // 60, min = w.from % 60 })
      if at > t and at <= t + lead then return true end
    end
  end
  return false
end

---@class fas.ScheduleOptions
---@field lead? number seconds before a window opens that its floor already holds (default 0)

---@class fas.Schedule
local Schedule = {}
Schedule.__index = Schedule

--- A schedule of windows, checked when the policy loads: a bad day, time or zone is
--- an error naming the window.
---@param windows table[] each `{ "DAYS FROM-TO ZONE", min =, max = }`
---@param opts? fas.ScheduleOptions
---@return fas.Schedule
function M.new(windows, opts)
  opts = opts or {}
  if type(windows) ~= "table" or #windows == 0 then
    error("fas.schedule.new: give a list of windows, e.g. { { \"Mon-Fri 08:00-18:00 Europe/Berlin\", min = 4 } }", 2)
  end
  local lead = opts.lead or 0
  if type(lead) ~= "number" or lead ~= lead or lead < 0 or lead > 7 * 86400 then
    error("fas.schedule.new: lead must be seconds between 0 and one week, got " .. tostring(lead), 2)
  end
  local parsed = {}
  for i, w in ipairs(windows) do
    local ok, p = pcall(parse, i, w)
    if not ok then error(p, 2) end
    parsed[i] = p
  end
  return setmetatable({ windows = parsed, lead = lead }, Schedule)
end

--- The windows open at `app.now` (a floor's window also `lead` seconds before it opens).
---@param app fas.App
---@return table[] each `{ spec =, min =, max =, early = }` (`early`: open by the lead only)
function Schedule:active(app)
  local t, out = app.now, {}
  for _, w in ipairs(self.windows) do
    if open_at(w, t) then
      out[#out + 1] = { spec = w.spec, min = w.min, max = w.max }
    elseif w.min and self.lead > 0 and opens_within(w, t, self.lead) then
      -- Ahead of its opening only the floor holds: capacity comes early, limits do not.
      out[#out + 1] = { spec = w.spec, min = w.min, early = true }
    end
  end
  return out
end

--- The highest floor of the open windows (0 when none is open).
---@param app fas.App
---@return number
function Schedule:floor(app)
  return (self:bounds(app))
end

--- The lowest ceiling of the open windows (math.huge when none is open).
---@param app fas.App
---@return number
function Schedule:ceiling(app)
  local _, ceiling = self:bounds(app)
  return ceiling
end

--- The floor and the ceiling at once (the open windows are found once).
---@param app fas.App
---@return number floor, number ceiling
function Schedule:bounds(app)
  local floor, ceiling = 0, math.huge
  for _, w in ipairs(self:active(app)) do
    if w.min and w.min > floor then floor = w.min end
    if w.max and w.max < ceiling then ceiling = w.max end
  end
  return floor, ceiling
end

--- `want` held between the open windows' floor and ceiling (the floor wins a conflict).
---@param app fas.App
---@param want number
---@return number
function Schedule:apply(app, want)
  local floor, ceiling = self:bounds(app)
  return math.max(math.min(want, ceiling), floor)
end

return M
