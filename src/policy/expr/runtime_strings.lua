-- Expr v1.16.0's strings.* builtins (byte offsets, as Go's), duration() with
-- time.Duration's methods, and the bit* builtins. Called with R; adds to it.
local R = ...
local DUR, isarr, tname, fail, need_str, need_int = R.DURMT, R.isarr, R.tname, R.fail, R.need_str, R.need_int
local mtype, floor, concat, setmt, getmt = math.type, math.floor, table.concat, setmetatable, getmetatable
local tostring, tonumber, fmt = tostring, tonumber, string.format

-- strings.* (byte offsets, as Go's).
local function plain_find(s, sub, init) return s:find(sub, init, true) end
function R.TRIM(s, cut)
  if cut == nil then need_str("trim", s) return (s:gsub("^[ \t\n\r\v\f]+", ""):gsub("[ \t\n\r\v\f]+$", "")) end
  need_str("trim", s, cut)
  local set = {}
  for c in cut:gmatch(utf8.charpattern) do set[c] = true end
  local chars = {}
  for c in s:gmatch(utf8.charpattern) do chars[#chars + 1] = c end
  local a, b = 1, #chars
  while a <= b and set[chars[a]] do a = a + 1 end
  while b >= a and set[chars[b]] do b = b - 1 end
  return concat(chars, "", a, b)
end
function R.TRIMPREFIX(s, p)
  p = p == nil and " " or p
  need_str("trimPrefix", s, p)
  if s:sub(1, #p) == p then return s:sub(#p + 1) end
  return s
end
function R.TRIMSUFFIX(s, p)
  p = p == nil and " " or p
  need_str("trimSuffix", s, p)
  if #p > 0 and s:sub(-#p) == p then return s:sub(1, #s - #p) end
  return s
end
function R.UPPER(s) need_str("upper", s) return s:upper() end
function R.LOWER(s) need_str("lower", s) return s:lower() end
local function split(name, s, sep, n, keep)
  need_str(name, s, sep)
  if n ~= nil then need_int(name, n) else n = -1 end
  local out = { n = 0 }
  local function add(v) out.n = out.n + 1; out[out.n] = v end
  if n == 0 then return out end
  if sep == "" then
    for c in s:gmatch(utf8.charpattern) do
      if n > 0 and out.n == n - 1 then break end
      add(c)
    end
    local used = 0
    for i = 1, out.n do used = used + #out[i] end
    if used < #s then add(s:sub(used + 1)) end
    return out
  end
  local start = 1
  while n < 0 or out.n < n - 1 do
    local a, b = plain_find(s, sep, start)
    if not a then break end
    add(s:sub(start, keep and b or a - 1))
    start = b + 1
  end
  add(s:sub(start))
  return out
end
function R.SPLIT(s, sep, n) return split("split", s, sep, n, false) end
function R.SPLITAFTER(s, sep, n) return split("splitAfter", s, sep, n, true) end
function R.REPLACE(s, old, new, n)
  need_str("replace", s, old, new)
  if n ~= nil then need_int("replace", n) else n = -1 end
  if n == 0 or old == new then return s end
  local out, start, done = {}, 1, 0
  if old == "" then
    local chars = {}
    for c in s:gmatch(utf8.charpattern) do chars[#chars + 1] = c end
    for i = 1, #chars + 1 do
      if n < 0 or done < n then out[#out + 1] = new; done = done + 1 end
      out[#out + 1] = chars[i]
    end
    return concat(out)
  end
  while n < 0 or done < n do
    local a, b = plain_find(s, old, start)
    if not a then break end
    out[#out + 1] = s:sub(start, a - 1) .. new
    start, done = b + 1, done + 1
  end
  out[#out + 1] = s:sub(start)
  return concat(out)
end
function R.REPEAT(s, n)
  need_str("repeat", s); need_int("repeat", n)
  if n < 0 then fail(("invalid argument for repeat (expected positive integer, got %d)"):format(n)) end
  if #s * n > 1048576 then fail("repeat: result too large for fas (over 1 MiB)") end
  return s:rep(n)
end
function R.JOIN(list, glue)
  if glue == nil then glue = "" end
  need_str("join", glue)
  if not isarr(list) then fail("invalid argument for join (type " .. tname(list) .. ")") end
  for i = 1, list.n do need_str("join", list[i]) end
  return concat(list, glue, 1, list.n)
end
function R.INDEXOF(s, sub) need_str("indexOf", s, sub) local a = plain_find(s, sub, 1) return a and a - 1 or -1 end
function R.LASTINDEXOF(s, sub)
  need_str("lastIndexOf", s, sub)
  if sub == "" then return #s end
  local last, a = -1, plain_find(s, sub, 1)
  while a do last = a - 1; a = plain_find(s, sub, a + 1) end
  return last
end
function R.HASPREFIX(s, p) need_str("hasPrefix", s, p) return s:sub(1, #p) == p end
function R.HASSUFFIX(s, p) need_str("hasSuffix", s, p) return #p == 0 or s:sub(-#p) == p end

-- time.Duration: a table { ns = int64 }.
local UNITS = { ns = 1, us = 1000, ["µs"] = 1000, ["μs"] = 1000, ms = 1000000, s = 1000000000, m = 60000000000, h = 3600000000000 }
local function dur(ns) return setmt({ ns = ns }, DUR) end
function R.DURATION(s)
  need_str("duration", s)
  local bad = function() fail(('time: invalid duration "%s"'):format(s)) end
  local rest, sign = s, 1
  if rest:sub(1, 1) == "-" or rest:sub(1, 1) == "+" then sign = rest:sub(1, 1) == "-" and -1 or 1; rest = rest:sub(2) end
  if rest == "0" then return dur(0) end
  if rest == "" then bad() end
  local total = 0.0
  while rest ~= "" do
    local num, unit, tail = rest:match("^([%d]*%.?[%d]*)([^%d%.]+)(.*)$")
    if not num or num == "" or num == "." then bad() end
    local u = UNITS[unit:match("^[a-zµμ]+") or ""]
    if not u or unit:match("^[a-zµμ]+") ~= unit then
      local head = unit:match("^[a-zµμ]+")
      if not head or not UNITS[head] then bad() end
      u, tail = UNITS[head], unit:sub(#head + 1) .. tail
    end
    total = total + tonumber(num) * u
    rest = tail
  end
  if total > 9.223372036854775807e18 then fail(('time: invalid duration "%s"'):format(s)) end
  return dur(math.tointeger(floor(total + 0.5)) * sign)
end
local function duration_string(ns)
  if ns == 0 then return "0s" end
  local neg = ns < 0 and "-" or ""
  local u = ns < 0 and -ns or ns
  local function frac(v, unit_ns)
    local whole, part = v // unit_ns, v % unit_ns
    if part == 0 then return tostring(whole) end
    local digits = fmt("%0" .. #tostring(unit_ns - 1) .. "d", part):gsub("0+$", "")
    return whole .. "." .. digits
  end
  if u < 1000 then return neg .. u .. "ns" end
  if u < 1000000 then return neg .. frac(u, 1000) .. "µs" end
  if u < 1000000000 then return neg .. frac(u, 1000000) .. "ms" end
  local h, m = u // 3600000000000, (u // 60000000000) % 60
  local s = frac(u % 60000000000, 1000000000) .. "s"
  if h > 0 then return neg .. h .. "h" .. m .. "m" .. s end
  if m > 0 then return neg .. m .. "m" .. s end
  return neg .. s
end
R.DURSTRING = duration_string
local METHODS = {
  Hours = function(d) return d.ns / 3.6e12 end,
  Minutes = function(d) return d.ns / 6e10 end,
  Seconds = function(d) return d.ns / 1e9 end,
  Milliseconds = function(d) return d.ns // 1000000 end,
  Microseconds = function(d) return d.ns // 1000 end,
  Nanoseconds = function(d) return d.ns end,
  String = function(d) return duration_string(d.ns) end,
  Abs = function(d) return dur(d.ns < 0 and -d.ns or d.ns) end,
  Truncate = function(d, m)
    if getmt(m) ~= DUR then fail("cannot use " .. tname(m) .. " as argument (type time.Duration) to call Truncate") end
    if m.ns <= 0 then return d end
    return dur(d.ns - math.fmod(d.ns, m.ns))
  end,
  Round = function(d, m)
    if getmt(m) ~= DUR then fail("cannot use " .. tname(m) .. " as argument (type time.Duration) to call Round") end
    if m.ns <= 0 then return d end
    local r = math.fmod(d.ns, m.ns)
    local a = r < 0 and -r or r
    if a + a < m.ns then return dur(d.ns - r) end
    return dur(d.ns + (d.ns < 0 and -(m.ns - a) or (m.ns - a)))
  end,
}
function R.METHOD(base, name, ...)
  if base == R.SKIP then return base end
  local mt = getmt(base)
  if mt == DUR and METHODS[name] then return METHODS[name](base, ...) end
  if mt == R.TIMEMT and R.TIME_METHODS[name] then return R.TIME_METHODS[name](base, ...) end
  if (mt == R.MONTHMT or mt == R.WEEKDAYMT) and R.NAMED_METHODS[name] then return R.NAMED_METHODS[name](base, ...) end
  fail(("cannot call method %s on %s"):format(name, tname(base)))
end

-- bit*: Go's int operators.
local function bits(name, f) R[name:upper()] = function(a, b) need_int(name, a, b) return f(a, b) end end
bits("bitand", function(a, b) return a & b end)
bits("bitor", function(a, b) return a | b end)
bits("bitxor", function(a, b) return a ~ b end)
bits("bitnand", function(a, b) return a & ~b end)
local function shift_check(b) if b < 0 then fail(("invalid operation: negative shift count %d (type int)"):format(b)) end end
bits("bitshl", function(a, b) shift_check(b) if b >= 64 then return 0 end return a << b end)
bits("bitshr", function(a, b) shift_check(b) if b >= 63 then return a < 0 and -1 or 0 end return a // (1 << b) end)
bits("bitushr", function(a, b) shift_check(b) if b >= 64 then return 0 end return a >> b end)
function R.BITNOT(a) need_int("bitnot", a) return ~a end
return R
