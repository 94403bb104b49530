local t = require("fas.testing")
local stabilize = require("fas.stabilize")

function test_scale_down_goes_to_the_highest_recommendation_in_the_window()
  local a = { now = 0, state = {} }
  local seq = { { 0, 10 }, { 60, 4 }, { 120, 6 }, { 180, 3 }, { 299, 2 }, { 361, 2 }, { 500, 2 } }
  local got = {}
  for _, s in ipairs(seq) do
    a.now = s[1]
    got[#got + 1] = stabilize.down(a, s[2], 300)
  end
  -- 10 stays the max until it leaves the 300 s window, then 6, then 3...
  t.eq(got, { 10, 10, 10, 10, 10, 6, 2 })
end

function test_scale_up_window_takes_the_lowest()
  local a = { now = 0, state = {} }
  t.eq(stabilize.apply(a, 2, { down = 0, up = 60 }), 2)
  a.now = 15
  t.eq(stabilize.apply(a, 9, { down = 0, up = 60 }), 2, "one high reading is not enough")
  a.now = 75
  t.eq(stabilize.apply(a, 9, { down = 0, up = 60 }), 9, "high for the whole window")
end
