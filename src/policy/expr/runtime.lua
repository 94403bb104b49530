-- Helpers for Lua translated from Expr (see translate.rs). Each reproduces what
-- expr-lang/expr v1.16 does at run time for a value whose type the checker could not
-- pin down (Go's interface{}), and fails with an error where Go's VM panics.
-- Called as a chunk with the Rust-provided Go math.Pow and regexp match; returns the
-- helper table.
local gopow, gomatch = ...
local R = {}
local mtype, floor, ceil, fmod = math.type, math.floor, math.ceil, math.fmod
local type, error, select, tonumber, sort = type, error, select, tonumber, table.sort

-- Maps and time.Durations are tables with these metatables; arrays have none.
local MAP, DUR, TIME, MONTH, WEEKDAY = {}, {}, {}, {}, {}
R.MAPMT, R.DURMT, R.TIMEMT, R.MONTHMT, R.WEEKDAYMT = MAP, DUR, TIME, MONTH, WEEKDAY
local getmt = getmetatable
local function isarr(v) return type(v) == "table" and getmt(v) == nil end
R.isarr = isarr
local function tname(v)
  local t = type(v)
  if t == "number" then return mtype(v) == "integer" and "int" or "float64" end
  if t == "boolean" then return "bool" end
  if t == "table" then
    local mt = getmt(v)
    if mt == MAP then return "map[string]interface {}" end
    if mt == DUR then return "time.Duration" end
    if mt == TIME then return "time.Time" end
    if mt == MONTH then return "time.Month" end
    if mt == WEEKDAY then return "time.Weekday" end
    return "[]interface {}"
  end
  if t == "nil" then return "<nil>" end
  return t
end
local function fail(msg) error(msg, 0) end
local function mismatched(op, a, b)
  fail(("invalid operation: %s (mismatched types %s and %s)"):format(op, tname(a), tname(b)))
end
local function isnum(v) return type(v) == "number" end

-- Go's time arithmetic: Duration ± Duration, Time ± Duration, Time - Time.
local function dur(ns) return setmetatable({ ns = ns }, DUR) end
function R.ADD(a, b)
  if isnum(a) and isnum(b) then return a + b end
  if type(a) == "string" and type(b) == "string" then return a .. b end
  local ma, mb = getmt(a), getmt(b)
  if ma == DUR and mb == DUR then return dur(a.ns + b.ns) end
  if ma == TIME and mb == DUR then return R.TIME_ADD(a, b.ns) end
  if ma == DUR and mb == TIME then return R.TIME_ADD(b, a.ns) end
  mismatched("+", a, b)
end
function R.SUB(a, b)
  if isnum(a) and isnum(b) then return a - b end
  local ma, mb = getmt(a), getmt(b)
  if ma == DUR and mb == DUR then return dur(a.ns - b.ns) end
  if ma == TIME and mb == TIME then return dur(R.TIME_DIFF(a, b)) end
  if ma == TIME and mb == DUR then return R.TIME_ADD(a, -b.ns) end
  mismatched("-", a, b)
end
function R.MUL(a, b)
  if isnum(a) and isnum(b) then return a * b end
  -- A Duration times an int is a Duration in Go; nothing else mixes with one.
  local ma, mb = getmt(a), getmt(b)
  if ma == DUR and (mtype(b) == "integer" or mb == DUR) then return dur(a.ns * (mb == DUR and b.ns or b)) end
  if ma == DUR and mtype(b) == "float" then return a.ns * b end
  mismatched("*", a, b)
end
function R.DIV(a, b) if isnum(a) and isnum(b) then return a / b end mismatched("/", a, b) end
function R.MOD(a, b)
  if mtype(a) ~= "integer" or mtype(b) ~= "integer" then mismatched("%", a, b) end
  if b == 0 then fail("runtime error: integer divide by zero") end
  return fmod(a, b) -- integer fmod truncates toward zero, as Go's % does
end
function R.POW(a, b) if isnum(a) and isnum(b) then return gopow(a, b) end mismatched("**", a, b) end
R.GOPOW = gopow
function R.NEG(a) if isnum(a) then return -a end fail("invalid operation: - (mismatched type " .. tname(a) .. ")") end
function R.NUM(a) if isnum(a) then return a end fail("invalid operation: + (mismatched type " .. tname(a) .. ")") end
function R.B(v)
  if type(v) == "boolean" then return v end
  fail("interface conversion: interface {} is " .. tname(v) .. ", not bool")
end
local function ordered(op, a, b)
  if getmt(a) == DUR and getmt(b) == DUR or getmt(a) == TIME and getmt(b) == TIME then return end
  if not ((isnum(a) and isnum(b)) or (type(a) == "string" and type(b) == "string")) then mismatched(op, a, b) end
end
local function plain(v)
  if getmt(v) == DUR then return v.ns end
  if getmt(v) == TIME then return v.s + v.ns / 1e9 end
  return v
end
function R.LT(a, b) ordered("<", a, b) return plain(a) < plain(b) end
function R.LE(a, b) ordered("<=", a, b) return plain(a) <= plain(b) end
local function eq(a, b)
  if isarr(a) and isarr(b) then
    if a.n ~= b.n then return false end
    for i = 1, a.n do if not eq(a[i], b[i]) then return false end end
    return true
  end
  if type(a) == "table" and type(b) == "table" and getmt(a) == getmt(b) then
    if getmt(a) == DUR then return a.ns == b.ns end
    if getmt(a) == TIME then return a.s == b.s and a.ns == b.ns end
    if getmt(a) == MONTH or getmt(a) == WEEKDAY then return a.v == b.v end
    for k, v in pairs(a) do if b[k] == nil or not eq(v, b[k]) then return false end end
    for k in pairs(b) do if a[k] == nil then return false end end
    return true
  end
  return a == b -- numbers compare by value (1 == 1.0), as Go's runtime.Equal does
end
R.EQ = eq
function R.RANGE(a, b)
  if mtype(a) ~= "integer" or mtype(b) ~= "integer" then mismatched("..", a, b) end
  local out = { n = 0 }
  if b < a then return out end
  local n = 0
  for i = a, b do n = n + 1; out[n] = i end
  out.n = n
  return out
end
function R.IN(x, arr)
  if getmt(arr) == MAP then
    if x == nil then return R.NILK ~= nil and arr[R.NILK] ~= nil end
    return arr[x] ~= nil
  end
  if not isarr(arr) then fail("operator \"in\" not defined on " .. tname(arr)) end
  for i = 1, arr.n do if eq(x, arr[i]) then return true end end
  return false
end
local function strings(op, a, b) if type(a) ~= "string" or type(b) ~= "string" then mismatched(op, a, b) end end
function R.CONTAINS(a, b) strings("contains", a, b) return a:find(b, 1, true) ~= nil end
function R.STARTS(a, b) strings("startsWith", a, b) return a:sub(1, #b) == b end
function R.ENDS(a, b) strings("endsWith", a, b) return #b == 0 or a:sub(-#b) == b end
-- Go's regexp via Rust (goregex.rs): (true|false) or (nil, error text).
function R.MATCHES(a, b)
  strings("matches", a, b)
  local hit, err = gomatch(a, b)
  if hit == nil then fail(err) end
  return hit
end
function R.COALESCE(a, rest) if a == nil then return rest() end return a end
function R.INDEX(arr, i)
  if not isarr(arr) then fail("cannot fetch " .. tname(i) .. " from " .. tname(arr)) end
  if not isnum(i) then fail("cannot use " .. tname(i) .. " as array index") end
  if mtype(i) == "float" then i = R.INT(i) end -- Go's runtime.ToInt truncates
  local at = i < 0 and i + arr.n or i
  if at < 0 or at >= arr.n then fail(("index out of range: %d (array length is %d)"):format(i, arr.n)) end
  return arr[at + 1]
end

local function numeric(name, x) if not isnum(x) then fail(("invalid argument for %s (type %s)"):format(name, tname(x))) end end
function R.ABS(x) numeric("abs", x) return math.abs(x) end
-- math.ceil/floor return integers when they fit; Expr's ceil/floor/round return float64.
function R.CEIL(x) numeric("ceil", x) return ceil(x) + 0.0 end
function R.FLOOR(x) numeric("floor", x) return floor(x) + 0.0 end
function R.ROUND(x)
  numeric("round", x)
  x = x + 0.0
  if x ~= x or x == math.huge or x == -math.huge then return x end
  local a = x < 0 and -x or x
  local t = floor(a)
  if a - t >= 0.5 then t = t + 1 end -- half away from zero, like Go's math.Round
  return (x < 0 and -t or t) + 0.0
end
function R.INT(x)
  if type(x) == "string" then
    local v = x:match("^[+-]?%d+$") and math.tointeger(tonumber(x))
    if not v then fail("invalid operation: int(" .. x .. ")") end
    return v
  end
  numeric("int", x)
  if mtype(x) == "integer" then return x end
  -- Go on amd64 turns NaN and out-of-range floats into the minimum int64.
  if x ~= x or x >= 0x1p63 or x < -0x1p63 then return math.mininteger end
  if x >= 0 then return floor(x) end
  return ceil(x)
end
function R.FLOAT(x)
  if type(x) == "string" then
    local v = tonumber(x)
    if not v then
      local l = x:lower()
      if l == "inf" or l == "+inf" or l == "infinity" or l == "+infinity" then v = math.huge
      elseif l == "-inf" or l == "-infinity" then v = -math.huge
      elseif l == "nan" then v = 0 / 0
      else fail("invalid operation: float(" .. x .. ")") end
    end
    return v + 0.0
  end
  numeric("float", x)
  return x + 0.0
end
function R.LEN(x)
  if isarr(x) then return x.n end
  if getmt(x) == MAP then local n = 0 for _ in pairs(x) do n = n + 1 end return n end
  if type(x) == "string" then return #x end
  fail("invalid argument for len (type " .. tname(x) .. ")")
end

local function minmax(name, better, args, n)
  local val
  for i = 1, n do
    local a = args[i]
    if isarr(a) then
      for j = 1, a.n do
        local e = minmax(name, better, { a[j] }, 1)
        if not isnum(e) then fail(("invalid argument for %s (type %s)"):format(name, tname(e))) end
        if val == nil or better(val, e) then val = e end
      end
    elseif isnum(a) then
      if val == nil or better(val, a) then val = a end
    elseif a == nil and val == nil then
      -- v1.16.0 keeps a leading nil only until the next argument replaces it.
    else
      if n == 1 then return a end
      fail(("invalid argument for %s (type %s)"):format(name, tname(a)))
    end
  end
  return val
end
local function less(v, e) return v < e end
local function more(v, e) return v > e end
function R.MAX(...) return minmax("max", less, { ... }, select("#", ...)) end
function R.MIN(...) return minmax("min", more, { ... }, select("#", ...)) end
function R.MAX2(a, b) if a < b then return b end return a end
function R.MIN2(a, b) if a > b then return b end return a end

local function flatten(name, args, n, out)
  for i = 1, n do
    local a = args[i]
    if isarr(a) then flatten(name, a, a.n, out)
    elseif isnum(a) then out[#out + 1] = a
    else fail(("invalid argument for %s (type %s)"):format(name, tname(a))) end
  end
  return out
end
function R.SUM(arr)
  if not isarr(arr) then fail("invalid argument for sum (type " .. tname(arr) .. ")") end
  local total = 0
  for _, v in ipairs(flatten("sum", arr, arr.n, {})) do total = total + v end
  return total
end
function R.MEAN(...)
  local vals = flatten("mean", { ... }, select("#", ...), {})
  if #vals == 0 then return 0.0 end
  local total = 0.0
  for _, v in ipairs(vals) do total = total + v end
  return total / #vals
end
function R.MEDIAN(...)
  local vals = flatten("median", { ... }, select("#", ...), {})
  local n = #vals
  if n == 0 then return 0.0 end
  for i = 1, n do vals[i] = vals[i] + 0.0 end
  sort(vals)
  if n % 2 == 1 then return vals[(n + 1) // 2] end
  return (vals[n // 2] + vals[n // 2 + 1]) / 2
end
function R.RESULT(v)
  if isnum(v) then return v end
  fail("cannot use " .. tname(v) .. " as float64")
end

R.tname, R.fail, R.eq = tname, fail, eq
return R
