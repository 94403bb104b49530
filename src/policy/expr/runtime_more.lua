-- Helpers for Expr's maps, member access, closures' builtins, strings, JSON, base64,
-- durations and bits (see translate_access.rs, translate_builtins.rs), reproducing
-- expr-lang/expr v1.16.0's run-time behaviour. Called with runtime.lua's table R;
-- adds to it.
local R = ...
local MAP, DUR, isarr, tname, fail, eq = R.MAPMT, R.DURMT, R.isarr, R.tname, R.fail, R.eq
local mtype, floor, sort, concat, setmt, getmt = math.type, math.floor, table.sort, table.concat, setmetatable, getmetatable
local type, select, tostring, pairs = type, select, tostring, pairs

-- A map keeps Go's nil values as NILV (a Lua table cannot hold nil).
local NILV = {}
R.NILV = NILV
local SKIP = {} -- the value of a `?.` chain whose optional base was nil
R.SKIP = SKIP
local function isint(v) return mtype(v) == "integer" end
local function isstr(v) return type(v) == "string" end
local function ismap(v) return getmt(v) == MAP end
local function arr(list, n) list.n = n or #list return list end
-- … and Go's nil key as NILK (groupBy over nil keys); it sorts first.
local NILK = {}
R.NILK = NILK
local function map_get(m, k)
  if k == nil then k = NILK end
  local v = m[k]
  if v == NILV then return nil end
  return v
end
local function sorted_keys(m)
  local ks = {}
  for k in pairs(m) do ks[#ks + 1] = k end
  sort(ks, function(a, b)
    if a == NILK or b == NILK then return a == NILK and b ~= NILK end
    if type(a) == type(b) and (type(a) == "number" or type(a) == "string") then return a < b end
    return tostring(a) < tostring(b)
  end)
  return ks
end
-- A key as Expr sees it (NILK is nil).
local function key_of(k) if k == NILK then return nil end return k end

function R.MAPLIT(...)
  local m = setmt({}, MAP)
  for i = 1, select("#", ...), 2 do
    local k, v = select(i, ...)
    if k == nil then fail("cannot use <nil> as map key") end
    if v == nil then v = NILV end
    if m[k] == nil then m[k] = v end -- v1.16.0 keeps a repeated key's first value
  end
  return m
end
function R.ENVMAP(metrics)
  local m = setmt({}, MAP)
  for k, v in pairs(metrics) do m[k] = v end
  return m
end

function R.MEMBER(base, key)
  if base == SKIP then return SKIP end
  if ismap(base) then return map_get(base, key) end
  if isarr(base) then return R.INDEX(base, key) end
  fail(("cannot fetch %s from %s"):format(tostring(key), tname(base)))
end
function R.OPTMEMBER(base, key)
  if base == nil or base == SKIP then return SKIP end
  return R.MEMBER(base, key)
end
function R.UNCHAIN(v) if v == SKIP then return nil end return v end

function R.SLICE(v, from, to)
  local len
  if isstr(v) then len = #v elseif isarr(v) then len = v.n else fail("cannot slice " .. tostring(from)) end
  local a, b = from or 0, to or len
  if not (type(a) == "number" and type(b) == "number") then fail("cannot slice with a non-number") end
  a, b = R.INT(a), R.INT(b)
  if a < 0 then a = len + a end
  if a < 0 then a = 0 end
  if b < 0 then b = len + b end
  if b < 0 then b = 0 end
  if b > len then b = len end
  if a > b then a = b end
  if isstr(v) then return v:sub(a + 1, b) end
  local out = { n = b - a }
  for i = a + 1, b do out[i - a] = v[i] end
  return out
end

function R.GET(base, key)
  if base == nil then return nil end
  if ismap(base) then return map_get(base, key) end
  if isarr(base) and type(key) == "number" then
    local i = R.INT(key)
    if i < 0 then i = i + base.n end
    if i < 0 or i >= base.n then return nil end
    return base[i + 1]
  end
  return nil
end

-- Predicates: f(element, index) returns the closure's value.
local function each(name, coll)
  if not isarr(coll) then fail(("builtin %s takes only array (got %s)"):format(name, tname(coll))) end
  return coll.n
end
function R.ALL(c, f) for i = 1, each("all", c) do if not f(c[i], i - 1) then return false end end return true end
function R.NONE(c, f) for i = 1, each("none", c) do if f(c[i], i - 1) then return false end end return true end
function R.ANY(c, f) for i = 1, each("any", c) do if f(c[i], i - 1) then return true end end return false end
function R.ONE(c, f)
  local hits = 0
  for i = 1, each("one", c) do if f(c[i], i - 1) then hits = hits + 1 end end
  return hits == 1
end
function R.COUNT(c, f)
  local hits = 0
  for i = 1, each("count", c) do if f(c[i], i - 1) then hits = hits + 1 end end
  return hits
end
function R.FILTER(c, f)
  local out, n = {}, 0
  for i = 1, each("filter", c) do if f(c[i], i - 1) then n = n + 1; out[n] = c[i] end end
  return arr(out, n)
end
function R.MAP(c, f)
  local n = each("map", c)
  local out = { n = n }
  for i = 1, n do out[i] = f(c[i], i - 1) end
  return out
end
function R.FIND(c, f) for i = 1, each("find", c) do if f(c[i], i - 1) then return c[i] end end return nil end
-- Nothing found: nil in v1.16.0 (not -1).
function R.FINDINDEX(c, f) for i = 1, each("findIndex", c) do if f(c[i], i - 1) then return i - 1 end end return nil end
function R.FINDLAST(c, f) for i = each("findLast", c), 1, -1 do if f(c[i], i - 1) then return c[i] end end return nil end
function R.FINDLASTINDEX(c, f) for i = each("findLastIndex", c), 1, -1 do if f(c[i], i - 1) then return i - 1 end end return nil end
function R.GROUPBY(c, f)
  local m = setmt({}, MAP)
  for i = 1, each("groupBy", c) do
    local k = f(c[i], i - 1)
    if k == nil then k = NILK end
    local g = m[k] or { n = 0 }
    g.n = g.n + 1; g[g.n] = c[i]
    m[k] = g
  end
  return m
end
function R.REDUCE(c, f, has_init, init)
  local n = each("reduce", c)
  local acc, first = init, 1
  if not has_init then
    if n == 0 then fail("index out of range: 0 (array length is 0)") end
    acc, first = c[1], 2
  end
  for i = first, n do acc = f(c[i], i - 1, acc) end
  return acc
end

-- Collections.
function R.FIRST(v) if isarr(v) and v.n > 0 then return v[1] end return nil end
function R.LAST(v) if isarr(v) and v.n > 0 then return v[v.n] end return nil end
local function need_map(name, m) if not ismap(m) then fail(("cannot get %s from %s"):format(name, tname(m))) end end
function R.KEYS(m)
  need_map("keys", m)
  local ks = sorted_keys(m)
  local n = #ks
  for i = 1, n do ks[i] = key_of(ks[i]) end
  return arr(ks, n)
end
function R.VALUES(m)
  need_map("values", m)
  local out = {}
  for i, k in ipairs(sorted_keys(m)) do out[i] = map_get(m, k) end
  return arr(out, #sorted_keys(m))
end
function R.TOPAIRS(m)
  need_map("toPairs", m)
  local out = {}
  for i, k in ipairs(sorted_keys(m)) do out[i] = { key_of(k), map_get(m, k), n = 2 } end
  return arr(out)
end
function R.FROMPAIRS(list)
  if not isarr(list) then fail("cannot transform " .. tname(list) .. " from pairs") end
  local m = setmt({}, MAP)
  for i = 1, list.n do
    local p = list[i]
    if not isarr(p) then fail("invalid pair " .. tname(p)) end
    if p.n ~= 2 then fail("invalid pair length " .. p.n) end
    if p[1] == nil then fail("cannot use <nil> as map key") end
    m[p[1]] = p[2] == nil and NILV or p[2]
  end
  return m
end
function R.TAKE(list, n)
  if not isarr(list) then fail("cannot take from " .. tname(list)) end
  if not isint(n) then fail("cannot take " .. tname(n) .. " elements") end
  if n < 0 then fail(("slice bounds out of range [:%d]"):format(n)) end
  return R.SLICE(list, 0, n)
end
local function order_of(name, o)
  if o == nil or o == "asc" then return false end
  if o == "desc" then return true end
  fail(("unknown order %s, use asc or desc"):format(tostring(o)))
end
local function sorted(list, key, desc)
  local out = { n = list.n }
  for i = 1, list.n do out[i] = list[i] end
  local kind
  for i = 1, out.n do
    local k = key(out[i])
    local t = tname(k)
    if kind and kind ~= t then fail(("cannot sort array of different types (%s and %s)"):format(kind, t)) end
    if not (type(k) == "number" or type(k) == "string") then fail("cannot sort " .. t) end
    kind = t
  end
  sort(out, function(a, b) if desc then return key(a) > key(b) end return key(a) < key(b) end)
  return out
end
function R.SORT(list, o)
  if not isarr(list) then fail("cannot sort " .. tname(list)) end
  return sorted(list, function(v) return v end, order_of("sort", o))
end
function R.SORTBY(list, field, o)
  if not isarr(list) then fail("cannot sort " .. tname(list)) end
  if not isstr(field) then fail("invalid argument for sort (expected string, got " .. tname(field) .. ")") end
  return sorted(list, function(v) return R.MEMBER(v, field) end, order_of("sortBy", o))
end

return R
