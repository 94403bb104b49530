-- Loaded by sandbox.rs (see STRING_GUARDS there): string functions whose C code no
-- hook interrupts, bounded before they run.
local string, error, type, tostring, byte, len = string, error, type, tostring, string.byte, string.len
local MAX_STEPS, MAX_REP, MAX_MOVE = ...
local function items(p)
  local k, i, n = 0, 1, len(p)
  while i <= n do
    local c = byte(p, i)
    if c == 37 then -- %x escapes; %bxy balances (backtracks); %f[set] is a frontier
      local d = byte(p, i + 1)
      if d == 98 then k, i = k + 1, i + 3
      elseif d == 102 then
        i = i + 2
        while i <= n and byte(p, i) ~= 93 do i = i + (byte(p, i) == 37 and 2 or 1) end
      else i = i + 1 end
    elseif c == 91 then -- a set: skip to its end
      i = i + 1
      if byte(p, i) == 94 then i = i + 1 end
      if byte(p, i) == 93 then i = i + 1 end
      while i <= n and byte(p, i) ~= 93 do i = i + (byte(p, i) == 37 and 2 or 1) end
    elseif c == 42 or c == 43 or c == 45 then k = k + 1
    end
    i = i + 1
  end
  return k
end
local function guard(name, s, p, plain)
  if plain or type(p) ~= "string" then return end
  local n = len(tostring(s))
  local anchored = byte(p, 1) == 94
  local steps = (n + 1) ^ (items(p) + (anchored and 0 or 1))
  if steps > MAX_STEPS then
    error(("string.%s: pattern %q is too costly for a %d-character subject (about %.0e steps, at most %.0e): "
      .. "use a plain find (string.find(s, p, 1, true)) or a simpler pattern"):format(name, p, n, steps, MAX_STEPS), 3)
  end
end
local find, match, gmatch, gsub, rep = string.find, string.match, string.gmatch, string.gsub, string.rep
string.find = function(s, p, init, plain) guard("find", s, p, plain) return find(s, p, init, plain) end
string.match = function(s, p, init) guard("match", s, p) return match(s, p, init) end
string.gmatch = function(s, p, init) guard("gmatch", s, p) return gmatch(s, p, init) end
string.gsub = function(s, p, r, n) guard("gsub", s, p) return gsub(s, p, r, n) end
string.rep = function(s, n, sep)
  local size = type(n) == "number" and n > 0
    and len(tostring(s)) * n + (sep and len(tostring(sep)) * (n - 1) or 0) or 0
  if size > MAX_REP then
    error(("string.rep: %d bytes asked for, at most %d"):format(size, MAX_REP), 2)
  end
  return rep(s, n, sep)
end
-- table.move loops in C over the whole range, even over nothing: bound the range.
local move = table.move
table.move = function(a1, f, e, t, a2)
  if type(f) == "number" and type(e) == "number" and e - f >= MAX_MOVE then
    error(("table.move: %.0f elements asked for, at most %d"):format(e - f + 1, MAX_MOVE), 2)
  end
  return move(a1, f, e, t, a2)
end
