--- fas.cooldown: hold a new target until enough time has passed since the last
--- change, with separate periods for scaling up and down (Nomad / AWS style; the
--- asymmetric form is the usual ask: up fast, down slowly).
---
--- State lives in `app.state[key]` (default key "cooldown"), so two uses do not collide.
local M = {}

---@class fas.CooldownOptions
---@field up? number seconds since the last change before a higher target applies (default 0)
---@field down? number seconds since the last change before a lower target applies (default 0)
---@field key? string where in app.state to keep the memory (default "cooldown")

--- The target to use now: `want`, or the previous target while its cooldown runs.
---@param app fas.App
---@param want number
---@param opts fas.CooldownOptions
---@return number
function M.apply(app, want, opts)
  local key = opts.key or "cooldown"
  local s = app.state[key]
  if type(s) ~= "table" then
    s = {}
    app.state[key] = s
  end
  if s.target == nil then
    s.target, s.changed_at = want, app.now
    return want
  end
  if want == s.target then return want end
  local wait = (want > s.target) and (opts.up or 0) or (opts.down or 0)
  if app.now - (s.changed_at or -math.huge) >= wait then
    s.target, s.changed_at = want, app.now
  end
  return s.target
end

--- Holds scale-downs for `seconds` after the last change; scale-ups apply at once.
---@param app fas.App
---@param want number
---@param seconds number
---@param key? string
---@return number
function M.down(app, want, seconds, key)
  return M.apply(app, want, { down = seconds, key = key or "cooldown.down" })
end

--- Holds scale-ups for `seconds` after the last change; scale-downs apply at once.
---@param app fas.App
---@param want number
---@param seconds number
---@param key? string
---@return number
function M.up(app, want, seconds, key)
  return M.apply(app, want, { up = seconds, key = key or "cooldown.up" })
end

return M
