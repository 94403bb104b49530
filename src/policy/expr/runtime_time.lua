-- Go's time.Time for Expr's now() and date(): a table { s = unix seconds, ns = 0..1e9-1,
-- off = zone offset in seconds (fields are read in that zone), z = IANA zone name or
-- nil for a fixed offset, a = its abbreviation then }. Zones come from fas.tz (the IANA
-- database built into fas), so a time keeps its zone's rules across daylight saving.
-- Called with R; adds to it.
local R = ...
local tz = require("fas.tz")
local DUR, fail, tname = R.DURMT, R.fail, R.tname
local TIME, MONTH, WEEKDAY = R.TIMEMT, R.MONTHMT, R.WEEKDAYMT
local mtype, floor, setmt, getmt, fmt = math.type, math.floor, setmetatable, getmetatable, string.format
local tonumber, tostring, type = tonumber, tostring, type

local function time(s, ns, off, z)
  local a
  if z then off, a = tz.offset(s, z) end
  return setmt({ s = s, ns = ns or 0, off = off or 0, z = z, a = a }, TIME)
end
R.TIME = time

-- Days since 1970-01-01 of a proleptic Gregorian date, and back (Hinnant's algorithms).
local function days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end
local function civil_from_days(z)
  z = z + 719468
  local era = (z >= 0 and z or z - 146096) // 146097
  local doe = z - era * 146097
  local yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
  local mp = (5 * doy + 2) // 153
  local d = doy - (153 * mp + 2) // 5 + 1
  local m = mp + (mp < 10 and 3 or -9)
  return (m <= 2 and y + 1 or y), m, d
end
local function fields(t)
  local local_s = t.s + t.off
  local days = local_s // 86400
  local secs = local_s % 86400
  local y, m, d = civil_from_days(days)
  return y, m, d, secs // 3600, secs % 3600 // 60, secs % 60, (days + 4) % 7, days
end

local MONTHS = { "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December" }
local DAYS = { "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday" }

function R.NOW(clock)
  local s = floor(clock)
  return time(math.tointeger(s), math.tointeger(floor((clock - s) * 1e9)), 0)
end

-- Go layouts: the reference time's parts, longest first.
local TOKENS = {
  "January", "Monday", "2006", "Z07:00", "-07:00", "Z0700", "-0700", "Jan", "Mon", "MST",
  "01", "02", "_2", "15", "03", "04", "05", "06", "PM", "pm", "-07", "1", "2", "3", "4", "5",
}
local function next_token(layout, i)
  if layout:sub(i, i) == "." or layout:sub(i, i) == "," then
    local frac = layout:match("^[.,]([09]+)", i)
    if frac and not layout:sub(i + 1 + #frac, i + 1 + #frac):match("%d") then return layout:sub(i, i + #frac) end
  end
  for _, tok in ipairs(TOKENS) do
    if layout:sub(i, i + #tok - 1) == tok then return tok end
  end
end
local function name_index(list, text, i, short)
  for k, name in ipairs(list) do
    local want = short and name:sub(1, 3) or name
    if text:sub(i, i + #want - 1) == want then return k, #want end
  end
end

local function parse(layout, text)
  local y, mo, d, h, mi, sec, ns, off, pm, zoned = 0, 1, 1, 0, 0, 0, 0, 0, nil, false
  local i, j = 1, 1
  local function num(min, max)
    local digits = text:match("^%d+", j)
    if not digits or #digits < min then return nil end
    if #digits > max then digits = digits:sub(1, max) end
    j = j + #digits
    return tonumber(digits)
  end
  while i <= #layout do
    local tok = next_token(layout, i)
    local v
    if tok == nil then
      if text:sub(j, j) ~= layout:sub(i, i) then return nil end
      i, j = i + 1, j + 1
    else
      i = i + #tok
      if tok == "2006" then v = num(4, 4); y = v
      elseif tok == "06" then v = num(2, 2); y = v and (v >= 69 and 1900 + v or 2000 + v)
      elseif tok == "01" then v = num(2, 2); mo = v
      elseif tok == "1" then v = num(1, 2); mo = v
      elseif tok == "02" then v = num(2, 2); d = v
      elseif tok == "2" or tok == "_2" then if text:sub(j, j) == " " then j = j + 1 end v = num(1, 2); d = v
      elseif tok == "15" then v = num(1, 2); h = v
      elseif tok == "03" or tok == "3" then v = num(tok == "03" and 2 or 1, 2); h = v
      elseif tok == "04" or tok == "4" then v = num(tok == "04" and 2 or 1, 2); mi = v
      elseif tok == "05" or tok == "5" then
        v = num(tok == "05" and 2 or 1, 2); sec = v
        -- Go accepts a fraction after the seconds even when the layout has none.
        local f = not layout:sub(i, i):match("[.,]") and text:match("^[.,](%d+)", j)
        if f then ns = math.tointeger(floor(tonumber("0." .. f) * 1e9 + 0.5)); j = j + 1 + #f end
      elseif tok == "January" or tok == "Jan" then local k, n = name_index(MONTHS, text, j, tok == "Jan"); v = k; mo = k; j = j + (n or 0)
      elseif tok == "Monday" or tok == "Mon" then local k, n = name_index(DAYS, text, j, tok == "Mon"); v = k; j = j + (n or 0)
      elseif tok == "PM" or tok == "pm" then local ap = text:sub(j, j + 1):upper(); v = (ap == "AM" or ap == "PM") or nil; pm = ap == "PM"; j = j + 2
      elseif tok == "MST" then local z = text:match("^%u%u%u?%u?", j); v = z; j = j + (z and #z or 0)
      elseif tok:sub(1, 1) == "." or tok:sub(1, 1) == "," then
        local f = text:match("^[.,](%d+)", j); v = f
        if f then ns = math.tointeger(floor(tonumber("0." .. f) * 1e9 + 0.5)); j = j + 1 + #f end
      else -- a zone offset: Z07:00, -07:00, Z0700, -0700, -07
        if tok:sub(1, 1) == "Z" and text:sub(j, j) == "Z" then v = true; zoned = true; j = j + 1
        else
          local sign, hh, rest = text:match("^([+-])(%d%d)(.*)", j)
          if sign then
            local mm = 0
            j = j + 3
            if tok:find(":") then mm = tonumber(text:match("^:(%d%d)", j) or "x"); j = j + 3
            elseif #tok >= 5 then mm = tonumber(text:match("^(%d%d)", j) or "x"); j = j + 2 end
            if mm then v = true; zoned = true; off = (tonumber(hh) * 3600 + mm * 60) * (sign == "-" and -1 or 1) end
          end
        end
      end
      if v == nil then return nil end
    end
  end
  if j <= #text then return nil end
  if pm ~= nil then h = h % 12 + (pm and 12 or 0) end
  if mo < 1 or mo > 12 or d < 1 or d > 31 or h > 23 or mi > 59 or sec > 59 then return nil end
  local s = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off
  return time(s, ns, off), zoned
end

local DEFAULT_LAYOUTS = {
  "2006-01-02", "15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04:05Z07:00",
  "02 Jan 06 15:04 MST", "Monday, 02-Jan-06 15:04:05 MST", "Mon, 02 Jan 2006 15:04:05 MST",
}
-- A parsed time `t` read in zone `loc` as Go's time.ParseInLocation does: without an
-- offset in the text, its fields are wall-clock time there (time.Date's rule for the
-- hour the clocks skip or repeat); with one, the zone when its offset then agrees, else
-- that fixed offset.
local function in_zone(t, zoned, loc)
  if not loc then return t end
  if zoned then
    if tz.offset(t.s, loc) == t.off then return time(t.s, t.ns, nil, loc) end
    return t
  end
  local guess = tz.offset(t.s, loc)
  return time(t.s - tz.offset(t.s - guess, loc), t.ns, nil, loc)
end

function R.DATE(text, layout, zone)
  R.need_str("date", text)
  local loc
  if zone ~= nil then
    R.need_str("date", zone)
    if zone ~= "UTC" and zone ~= "" and zone ~= "Local" then
      if not pcall(tz.offset, 0, zone) then fail(("unknown time zone %s"):format(zone)) end
      loc = zone
    end
  end
  if layout ~= nil then
    R.need_str("date", layout)
    local t, zoned = parse(layout, text)
    if not t then fail(('parsing time "%s" as "%s": cannot parse'):format(text, layout)) end
    return in_zone(t, zoned, loc)
  end
  for _, l in ipairs(DEFAULT_LAYOUTS) do
    local t, zoned = parse(l, text)
    if t then return in_zone(t, zoned, loc) end
  end
  fail("invalid date " .. text)
end

local function pad(n, w) return fmt("%0" .. w .. "d", n) end
local function format(t, layout)
  local y, mo, d, h, mi, s, wd = fields(t)
  local out, i = {}, 1
  while i <= #layout do
    local tok = next_token(layout, i)
    if tok == nil then out[#out + 1] = layout:sub(i, i); i = i + 1
    else
      i = i + #tok
      local o = t.off
      local map = {
        ["2006"] = pad(y, 4), ["06"] = pad(y % 100, 2), ["01"] = pad(mo, 2), ["1"] = tostring(mo),
        ["02"] = pad(d, 2), ["2"] = tostring(d), ["_2"] = fmt("%2d", d), ["15"] = pad(h, 2),
        ["03"] = pad((h + 11) % 12 + 1, 2), ["3"] = tostring((h + 11) % 12 + 1),
        ["04"] = pad(mi, 2), ["4"] = tostring(mi), ["05"] = pad(s, 2), ["5"] = tostring(s),
        January = MONTHS[mo], Jan = MONTHS[mo]:sub(1, 3), Monday = DAYS[wd + 1], Mon = DAYS[wd + 1]:sub(1, 3),
        PM = h >= 12 and "PM" or "AM", pm = h >= 12 and "pm" or "am",
        MST = t.a or (o == 0 and "UTC" or ""), ["-0700"] = fmt("%s%02d%02d", o < 0 and "-" or "+", math.abs(o) // 3600, math.abs(o) % 3600 // 60),
      }
      map["-07:00"] = map["-0700"]:sub(1, 3) .. ":" .. map["-0700"]:sub(4)
      map["-07"] = map["-0700"]:sub(1, 3)
      map["Z0700"] = o == 0 and "Z" or map["-0700"]
      map["Z07:00"] = o == 0 and "Z" or map["-07:00"]
      if map[tok] then out[#out + 1] = map[tok]
      else -- fractional seconds: .000 keeps zeros, .999 trims them
        local digits = pad(t.ns, 9):sub(1, #tok - 1)
        if tok:sub(2, 2) == "9" then digits = digits:gsub("0+$", "") end
        if digits ~= "" then out[#out + 1] = tok:sub(1, 1) .. digits end
      end
    end
  end
  return table.concat(out)
end

local function need_time(name, v) if getmt(v) ~= TIME then fail(("cannot use %s as argument (type time.Time) to call %s"):format(tname(v), name)) end end
local function need_dur(name, v) if getmt(v) ~= DUR then fail(("cannot use %s as argument (type time.Duration) to call %s"):format(tname(v), name)) end end
local function named(mt, v) return setmt({ v = v }, mt) end
local function add_ns(t, ns)
  local total = t.ns + ns
  return time(t.s + total // 1000000000, total % 1000000000, t.off, t.z)
end
local function diff_ns(a, b) return (a.s - b.s) * 1000000000 + (a.ns - b.ns) end
-- (t - Go's zero time) mod d, in ns, without overflowing int64: the zero time is a
-- whole number of days before the Unix epoch, so whole-second steps count from there.
local ZERO_S = 62135596800
local function since_zero_mod(t, d)
  if d <= 0 then return 0 end
  if d % 1000000000 == 0 then
    local ds = d // 1000000000
    return ((t.s + ZERO_S) % ds) * 1000000000 + t.ns
  end
  return (((t.s + ZERO_S) % d) * (1000000000 % d) + t.ns) % d
end
R.TIME_ADD, R.TIME_DIFF = add_ns, diff_ns

R.TIME_METHODS = {
  Year = function(t) return (fields(t)) end,
  Month = function(t) local _, m = fields(t) return named(MONTH, m) end,
  Day = function(t) local _, _, d = fields(t) return d end,
  Hour = function(t) local _, _, _, h = fields(t) return h end,
  Minute = function(t) local _, _, _, _, m = fields(t) return m end,
  Second = function(t) local _, _, _, _, _, s = fields(t) return s end,
  Nanosecond = function(t) return t.ns end,
  Weekday = function(t) local _, _, _, _, _, _, wd = fields(t) return named(WEEKDAY, wd) end,
  YearDay = function(t) local y, _, _, _, _, _, _, days = fields(t) return days - days_from_civil(y, 1, 1) + 1 end,
  Unix = function(t) return t.s end,
  UnixMilli = function(t) return t.s * 1000 + t.ns // 1000000 end,
  UnixMicro = function(t) return t.s * 1000000 + t.ns // 1000 end,
  UnixNano = function(t) return t.s * 1000000000 + t.ns end,
  UTC = function(t) return time(t.s, t.ns, 0) end,
  Local = function(t) return time(t.s, t.ns, 0) end,
  IsZero = function(t) return t.s == -62135596800 and t.ns == 0 end,
  String = function(t) return format(t, "2006-01-02 15:04:05.999999999 -0700 MST") end,
  Format = function(t, layout) R.need_str("Format", layout) return format(t, layout) end,
  Sub = function(t, u) need_time("Sub", u) return setmt({ ns = diff_ns(t, u) }, DUR) end,
  Add = function(t, d) need_dur("Add", d) return add_ns(t, d.ns) end,
  Before = function(t, u) need_time("Before", u) return diff_ns(t, u) < 0 end,
  After = function(t, u) need_time("After", u) return diff_ns(t, u) > 0 end,
  Equal = function(t, u) need_time("Equal", u) return diff_ns(t, u) == 0 end,
  Truncate = function(t, d) need_dur("Truncate", d) return add_ns(t, -since_zero_mod(t, d.ns)) end,
}
R.TIME_METHODS.Round = function(t, d)
  need_dur("Round", d)
  if d.ns <= 0 then return t end
  local r = since_zero_mod(t, d.ns)
  if r + r < d.ns then return add_ns(t, -r) end
  return add_ns(t, d.ns - r)
end
R.NAMED_METHODS = {
  String = function(v)
    if getmt(v) == MONTH then return MONTHS[v.v] or ("%!Month(" .. v.v .. ")") end
    return DAYS[v.v + 1] or ("%!Weekday(" .. v.v .. ")")
  end,
}
R.TIME_FORMAT = format
return R
