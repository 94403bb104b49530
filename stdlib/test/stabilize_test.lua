local t = require("fas.testing")
local stabilize = require("fas.stabilize")

function test_scale_down_goes_to_the_highest_recommendation_in_the_window()
  local a = { now = 0, state = {} }
  local seq = { { 0, 10 }, { 60, 4 }, { 120, 6 }, { 180, 3 }, { 299, 2 }, { 361, 2 }, { 500, 2 }, { 600, 2 } }
  local got = {}
  for _, s in ipairs(seq) do
    a.now = s[1]
    got[#got + 1] = stabilize.down(a, s[2], 300)
  end
  -- 10 stays the max until it leaves the 300 s window, then 6, then 3 (which held
  -- until 2 replaced it at 299), then 2.
  t.eq(got, { 10, 10, 10, 10, 10, 6, 3, 2 })
end

function test_scale_up_window_takes_the_lowest()
  local a = { now = 0, state = {} }
  t.eq(stabilize.apply(a, 2, { down = 0, up = 60 }), 2)
  a.now = 15
  t.eq(stabilize.apply(a, 9, { down = 0, up = 60 }), 2, "one high reading is not enough")
  a.now = 75
  t.eq(stabilize.apply(a, 9, { down = 0, up = 60 }), 9, "high for the whole window")
end

local function copy(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = copy(x) end
  return out
end

function test_a_steady_recommendation_changes_nothing()
  local a = { now = 0, interval = 15, state = {} }
  stabilize.down(a, 5, 300)
  a.now = 15
  stabilize.down(a, 4, 300)
  local before
  for i = 1, 100 do
    a.now = 15 + 15 * i
    t.eq(stabilize.down(a, 4, 300), i < 20 and 5 or 4)
    if i == 21 then before = copy(a.state) end
    if i > 21 then t.eq(a.state, before, "round " .. i .. " changed the state") end
  end
end

function test_the_history_is_bounded_whatever_the_cadence()
  -- A 300 s window at a 2 s cadence with a recommendation that flaps every call.
  local a = { now = 0, interval = 2, state = {} }
  local got
  for i = 0, 1000 do
    a.now = 2 * i
    got = stabilize.down(a, i % 2 == 0 and 3 or 7, 300)
  end
  t.eq(#a.state.stabilize.runs <= 16, true, "runs kept: " .. #a.state.stabilize.runs)
  t.eq(got, 7, "the highest of the window holds")
end
