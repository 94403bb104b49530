local t = require("fas.testing")

function test_scales_up_at_once_and_down_after_the_cooldown()
  local p = t.policy("queue_per_machine.lua", { per_machine = 10, down_cooldown = 60 })
  local got = p:run({
    { metrics = { queue_depth = 35 } },
    { metrics = { queue_depth = 95 } },
    { metrics = { queue_depth = 5 } },
    { metrics = { queue_depth = 5 } },
    { metrics = { queue_depth = 5 } },
    { metrics = { queue_depth = 5 } },
  })
  local started = {}
  for i, r in ipairs(got) do started[i] = r.started.min end
  -- rounds every 15 s: the scale-down to 1 waits 60 s after the change to 10
  t.eq(started, { 4, 10, 10, 10, 10, 1 })
end

function test_bounds_and_missing_data()
  local p = t.policy("queue_per_machine.lua", { max = 5, min = 1 })
  t.eq(p:scale({ queue_depth = 1000 }).started, { min = 5, max = 5 })
  t.eq(p:scale({ queue_depth = 0 / 0 }).started, nil, "NaN leaves the app alone")
  t.errors(function() p:scale({ other = 1 }) end, "no metric queue_depth")
end
