local t = require("fas.testing")
local util = require("fas.util")

function test_clamp_and_round()
  t.eq(util.clamp(12, 0, 10), 10)
  t.eq(util.clamp(-1, 0, 10), 0)
  t.eq(util.round(2.5), 3)
  t.eq(util.round(-2.5), -3)
  t.eq(util.round(0.49999999999999994), 0)
end

function test_business_hours()
  -- 2026-11-23 is a Monday; 14:00 UTC.
  local monday_14 = 1795442400
  local hours = { from = 9, to = 18, days = { 1, 2, 3, 4, 5 } }
  t.eq(util.during(monday_14, hours), true)
  t.eq(util.during(monday_14 + 5 * 3600, hours), false, "19:00")
  t.eq(util.during(monday_14 - 2 * 86400, hours), false, "Saturday")
  t.eq(util.during(monday_14, { from = 9, to = 18, utc_offset = -8 }), false, "06:00 in UTC-8")
  t.eq(util.during(monday_14 + 10 * 3600, { from = 22, to = 6 }), true, "overnight window, 00:00")
  t.eq(util.min_during(monday_14, 0, 2, hours), 2)
  t.eq(util.min_during(monday_14 + 5 * 3600, 0, 2, hours), 0)
end
