local t = require("fas.testing")
local cooldown = require("fas.cooldown")

local function app(now) return { now = now, state = {} } end

function test_scale_up_is_immediate_and_scale_down_waits()
  local a = app(0)
  t.eq(cooldown.down(a, 5, 300), 5)
  a.now = 10
  t.eq(cooldown.down(a, 8, 300), 8, "up at once")
  a.now = 100
  t.eq(cooldown.down(a, 2, 300), 8, "down held")
  a.now = 309
  t.eq(cooldown.down(a, 2, 300), 8, "still held 299 s after the last change")
  a.now = 310
  t.eq(cooldown.down(a, 2, 300), 2, "released 300 s after the last change")
end

function test_asymmetric_periods_and_separate_keys()
  local a = app(0)
  t.eq(cooldown.apply(a, 3, { up = 60, down = 600, key = "w" }), 3)
  a.now = 30
  t.eq(cooldown.apply(a, 6, { up = 60, down = 600, key = "w" }), 3, "up waits 60 s")
  t.eq(cooldown.apply(a, 1, { up = 60, down = 600, key = "other" }), 1, "another key has its own memory")
  a.now = 60
  t.eq(cooldown.apply(a, 6, { up = 60, down = 600, key = "w" }), 6)
end
