-- Loaded by sandbox.rs (see FREEZE there), last: the standard libraries become
-- read-only views and their names in _G cannot be rebound.
local raw_setmetatable, raw_rawset, next, error, tostring, type =
  setmetatable, rawset, next, error, tostring, type
local frozen = {}
local function freeze(name, t)
  local view = raw_setmetatable({}, {
    __index = t,
    __newindex = function(_, k) error(("%s.%s is read-only in fas policies"):format(name, tostring(k)), 2) end,
    __pairs = function() return next, t, nil end,
    __len = function() return #t end,
    __metatable = false,
  })
  frozen[view] = true
  return view
end
rawset = function(t, k, v)
  if frozen[t] then error("the standard libraries are read-only in fas policies", 2) end
  return raw_rawset(t, k, v)
end
local G = _G
local libs = {}
for _, name in ipairs({ "string", "table", "math", "utf8", "os" }) do
  libs[name] = freeze(name, G[name])
  G[name] = nil
end
for _, name in ipairs({ "print", "pcall", "xpcall", "error", "assert", "type", "tostring", "tonumber",
  "pairs", "ipairs", "next", "select", "rawget", "rawset", "rawequal", "rawlen", "setmetatable",
  "getmetatable", "load", "collectgarbage", "_G", "_VERSION" }) do
  libs[name] = G[name]
  G[name] = nil
end
raw_setmetatable(G, {
  __index = libs,
  __newindex = function(t, k, v)
    if libs[k] ~= nil then
      error(("the global %s is read-only in fas policies"):format(tostring(k)), 2)
    end
    raw_rawset(t, k, v)
  end,
  __metatable = false,
})
-- For sandbox.rs: views of the fas.* modules, and a place for `require`.
return freeze, function(name, value) libs[name] = value end
