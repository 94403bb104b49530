-- Expr v1.16.0's text builtins in Lua: string(), type(), toJSON/fromJSON and
-- toBase64/fromBase64, with Go's number formatting. Called with R; adds to it.
local R = ...
local MAP, DUR, isarr, tname, fail = R.MAPMT, R.DURMT, R.isarr, R.tname, R.fail
local mtype, floor, sort, concat, getmt, setmt = math.type, math.floor, table.sort, table.concat, getmetatable, setmetatable
local type, select, tostring, tonumber, pairs, fmt = type, select, tostring, tonumber, pairs, string.format

local function need_str(name, ...)
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if type(v) ~= "string" then fail(("interface conversion: interface {} is %s, not string (%s)"):format(tname(v), name)) end
  end
end
local function need_int(name, ...)
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if mtype(v) ~= "integer" then fail(("cannot use %s as argument (type int) to call %s"):format(tname(v), name)) end
  end
end

-- Shortest decimal digits that read back as x: digits without a point, and the
-- exponent of the first digit (x = 0.d1d2… × 10^(exp+1)).
local function shortest(x)
  for p = 1, 17 do
    local s = fmt("%." .. (p - 1) .. "e", x)
    if tonumber(s) == x then
      local m, e = s:match("^-?(%d[%.%d]*)e([-+]%d+)$")
      local digits = m:gsub("%.", ""):gsub("0+$", "")
      if digits == "" then digits = "0" end
      return digits, tonumber(e)
    end
  end
end
-- Go's strconv.FormatFloat(x, 'g' or 'e' or 'f', -1, 64) pieces.
local function exp_form(neg, digits, e, short_exp)
  local mant = digits:sub(1, 1) .. (#digits > 1 and "." .. digits:sub(2) or "")
  local es = e < 0 and "-" or "+"
  local ea = e < 0 and -e or e
  local ed = short_exp and tostring(ea) or (ea < 10 and "0" .. ea or tostring(ea))
  return neg .. mant .. "e" .. es .. ed
end
local function fixed_form(neg, digits, e)
  local dp = e + 1
  if dp <= 0 then return neg .. "0." .. ("0"):rep(-dp) .. digits end
  if dp >= #digits then return neg .. digits .. ("0"):rep(dp - #digits) end
  return neg .. digits:sub(1, dp) .. "." .. digits:sub(dp + 1)
end
local function special(x)
  if x ~= x then return "NaN" end
  if x == math.huge then return "+Inf" end
  if x == -math.huge then return "-Inf" end
end
-- fmt's %v of a float64 ('g' with the shortest digits).
local function go_float(x)
  local s = special(x)
  if s then return s end
  if x == 0 then return (1 / x < 0) and "-0" or "0" end
  local neg = x < 0 and "-" or ""
  local digits, e = shortest(x < 0 and -x or x)
  local eprec = 6
  if eprec > #digits and #digits >= e + 1 then eprec = #digits end
  if e < -4 or e >= eprec then return exp_form(neg, digits, e, false) end
  return fixed_form(neg, digits, e)
end
-- encoding/json's float64.
local function json_float(x)
  if special(x) then fail("json: unsupported value: " .. special(x)) end
  if x == 0 then return "0" end
  local neg = x < 0 and "-" or ""
  local a = x < 0 and -x or x
  local digits, e = shortest(a)
  if a < 1e-6 or a >= 1e21 then return exp_form(neg, digits, e, true) end
  return fixed_form(neg, digits, e)
end

local function keys_sorted(m)
  local ks = {}
  for k in pairs(m) do ks[#ks + 1] = k end
  sort(ks, function(a, b) return tostring(a) < tostring(b) end)
  return ks
end
local NILV = R.NILV
local function value_of(m, k) local v = m[k] if v == NILV then return nil end return v end

local function go_string(v)
  if v == nil then return "<nil>" end
  if type(v) == "boolean" or type(v) == "string" then return tostring(v) end
  if mtype(v) == "integer" then return tostring(v) end
  if type(v) == "number" then return go_float(v) end
  if getmt(v) == DUR then return R.DURSTRING(v.ns) end
  if getmt(v) == R.TIMEMT then return R.TIME_METHODS.String(v) end
  if getmt(v) == R.MONTHMT or getmt(v) == R.WEEKDAYMT then return R.NAMED_METHODS.String(v) end
  local parts = {}
  if getmt(v) == MAP then
    for _, k in ipairs(keys_sorted(v)) do parts[#parts + 1] = go_string(k) .. ":" .. go_string(value_of(v, k)) end
    return "map[" .. concat(parts, " ") .. "]"
  end
  for i = 1, v.n do parts[i] = go_string(v[i]) end
  return "[" .. concat(parts, " ") .. "]"
end
function R.STRING(v) return go_string(v) end
function R.TYPE(v)
  if v == nil then return "nil" end
  if type(v) == "boolean" then return "bool" end
  if type(v) == "string" then return "string" end
  if mtype(v) == "integer" then return "int" end
  if type(v) == "number" then return "float" end
  if getmt(v) == MAP then return "map" end
  if getmt(v) == DUR then return "time.Duration" end
  if getmt(v) == R.TIMEMT then return "time.Time" end
  if getmt(v) == R.MONTHMT then return "time.Month" end
  if getmt(v) == R.WEEKDAYMT then return "time.Weekday" end
  return "array"
end

local function json_string(s)
  return '"' .. s:gsub('[%c"\\<>&\127]', function(c)
    local map = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
    return map[c] or fmt("\\u%04x", c:byte())
  end) .. '"'
end
local function to_json(v, indent)
  if v == nil then return "null" end
  if type(v) == "boolean" then return tostring(v) end
  if type(v) == "string" then return json_string(v) end
  if mtype(v) == "integer" then return tostring(v) end
  if type(v) == "number" then return json_float(v) end
  if getmt(v) == DUR then return tostring(v.ns) end
  if getmt(v) == R.TIMEMT then return json_string(R.TIME_FORMAT(v, "2006-01-02T15:04:05.999999999Z07:00")) end
  if getmt(v) == R.MONTHMT or getmt(v) == R.WEEKDAYMT then return tostring(v.v) end
  local inner = indent .. "  "
  local parts = {}
  if getmt(v) == MAP then
    for _, k in ipairs(keys_sorted(v)) do
      parts[#parts + 1] = inner .. json_string(tostring(k)) .. ": " .. to_json(value_of(v, k), inner)
    end
    if #parts == 0 then return "{}" end
    return "{\n" .. concat(parts, ",\n") .. "\n" .. indent .. "}"
  end
  for i = 1, v.n do parts[i] = inner .. to_json(v[i], inner) end
  if v.n == 0 then return "[]" end
  return "[\n" .. concat(parts, ",\n") .. "\n" .. indent .. "]"
end
function R.TOJSON(v) return to_json(v, "") end

-- A JSON reader: numbers are float64, objects maps, arrays []interface {}.
function R.FROMJSON(s)
  need_str("fromJSON", s)
  local pos = 1
  local function bad() fail(("invalid character at offset %d in JSON"):format(pos)) end
  local function ws() pos = s:find("[^ \t\r\n]", pos) or #s + 1 end
  local value
  local function str()
    local out = {}
    pos = pos + 1
    while true do
      local c = s:sub(pos, pos)
      if c == "" then bad() end
      if c == '"' then pos = pos + 1 return concat(out) end
      if c == "\\" then
        local e = s:sub(pos + 1, pos + 1)
        local simple = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }
        if simple[e] then out[#out + 1] = simple[e]; pos = pos + 2
        elseif e == "u" then
          local h = tonumber(s:sub(pos + 2, pos + 5), 16) or bad()
          out[#out + 1] = utf8.char(h); pos = pos + 6
        else bad() end
      elseif c:byte() < 32 then bad()
      else out[#out + 1] = c; pos = pos + 1 end
    end
  end
  function value()
    ws()
    local c = s:sub(pos, pos)
    if c == "{" then
      local m = setmt({}, MAP)
      pos = pos + 1; ws()
      if s:sub(pos, pos) == "}" then pos = pos + 1 return m end
      while true do
        ws()
        if s:sub(pos, pos) ~= '"' then bad() end
        local k = str(); ws()
        if s:sub(pos, pos) ~= ":" then bad() end
        pos = pos + 1
        local v = value()
        if v == nil then v = NILV end
        m[k] = v
        ws()
        local d = s:sub(pos, pos); pos = pos + 1
        if d == "}" then return m end
        if d ~= "," then bad() end
      end
    elseif c == "[" then
      local a = { n = 0 }
      pos = pos + 1; ws()
      if s:sub(pos, pos) == "]" then pos = pos + 1 return a end
      while true do
        a.n = a.n + 1; a[a.n] = value(); ws()
        local d = s:sub(pos, pos); pos = pos + 1
        if d == "]" then return a end
        if d ~= "," then bad() end
      end
    elseif c == '"' then return str()
    elseif s:sub(pos, pos + 3) == "true" then pos = pos + 4 return true
    elseif s:sub(pos, pos + 4) == "false" then pos = pos + 5 return false
    elseif s:sub(pos, pos + 3) == "null" then pos = pos + 4 return nil
    else
      local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
      if not num or num:match("^-?0%d") then bad() end
      local v = tonumber(num)
      if not v then bad() end
      pos = pos + #num
      return v + 0.0
    end
  end
  local v = value(); ws()
  if pos <= #s then bad() end
  return v
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
function R.TOBASE64(s)
  need_str("toBase64", s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = (a << 16) | ((b or 0) << 8) | (c or 0)
    local q = {}
    for j = 3, 0, -1 do local k = (n >> (6 * j)) & 63 q[#q + 1] = B64:sub(k + 1, k + 1) end
    if not b then q[3], q[4] = "=", "=" elseif not c then q[4] = "=" end
    out[#out + 1] = concat(q)
  end
  return concat(out)
end
function R.FROMBASE64(s)
  need_str("fromBase64", s)
  local out = {}
  for i = 1, #s, 4 do
    local chunk = s:sub(i, i + 3)
    local n, pad = 0, 0
    for j = 1, 4 do
      local ch = chunk:sub(j, j)
      local k = ch ~= "" and B64:find(ch, 1, true)
      if ch == "=" and j >= 3 and i + 3 >= #s then pad = pad + 1; k = 1
      elseif not k or (pad > 0) then fail(("illegal base64 data at input byte %d"):format(i + j - 2)) end
      n = (n << 6) | (k - 1)
    end
    out[#out + 1] = string.char((n >> 16) & 255, (n >> 8) & 255, n & 255):sub(1, 3 - pad)
  end
  return concat(out)
end
R.need_str, R.need_int = need_str, need_int
return R
