local t = require("fas.testing")

local SATURDAY_NOON = 1795262400 -- 2026-11-21 12:00 UTC
local MONDAY_10 = 1795428000 -- 2026-11-23 10:00 UTC

function test_goes_to_zero_after_the_idle_minutes_outside_business_hours()
  local p = t.policy("scale_to_zero.lua", { idle_minutes = 1 })
  p.now = SATURDAY_NOON
  t.eq(p:scale({ queue_depth = 25 }).started.min, 3)
  p:advance(15)
  t.eq(p:scale({ queue_depth = 0 }).started.min, 1, "recently busy: keep one")
  p:advance(60)
  t.eq(p:scale({ queue_depth = 0 }).started.min, 0, "idle for a minute: zero")
end

function test_keeps_a_warm_minimum_during_business_hours()
  local p = t.policy("scale_to_zero.lua", { idle_minutes = 1, warm_min = 2 })
  p.now = MONDAY_10
  t.eq(p:scale({ queue_depth = 0 }).started.min, 2)
  p:advance(3600)
  t.eq(p:scale({ queue_depth = 0 }).started.min, 2)
end
