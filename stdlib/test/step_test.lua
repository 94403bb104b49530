local t = require("fas.testing")
local step = require("fas.step")

function test_per_round_limits_in_machines()
  local a = { now = 0, state = {} }
  t.eq(step.limit(a, 2, { up = 3, down = 1 }), 2)
  t.eq(step.limit(a, 20, { up = 3, down = 1 }), 5)
  t.eq(step.limit(a, 20, { up = 3, down = 1 }), 8)
  t.eq(step.limit(a, 0, { up = 3, down = 1 }), 7)
end

function test_percent_and_count_take_the_larger_change()
  local a = { now = 0, state = {} }
  step.limit(a, 10, { up_percent = 100, up = 2 })
  t.eq(step.limit(a, 100, { up_percent = 100, up = 2 }), 20, "100% of 10 beats 2")
end

function test_per_period_limits()
  local a = { now = 0, state = {} }
  local o = { up = 4, period = 60 }
  step.limit(a, 1, o)
  a.now = 15
  t.eq(step.limit(a, 50, o), 5)
  a.now = 30
  t.eq(step.limit(a, 50, o), 5, "no more within the period")
  a.now = 75
  t.eq(step.limit(a, 50, o), 9, "the next period allows 4 more")
end
