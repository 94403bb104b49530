local t = require("fas.testing")

function test_tracks_the_target_and_stabilizes_scale_downs()
  local p = t.policy("hpa_target.lua", { target = 50, stabilize_down = 60 })
  p.machines = { created = 4, started = 4, stopped = 0 }
  t.eq(p:scale({ cpu = 100 }).started.min, 8, "ceil(4 * 100 / 50)")
  p.machines = { created = 8, started = 8, stopped = 0 }
  p:advance(15)
  t.eq(p:scale({ cpu = 52 }).started.min, 8, "inside the tolerance band")
  p:advance(15)
  t.eq(p:scale({ cpu = 20 }).started.min, 8, "scale-down held by the window")
  p:advance(61)
  t.eq(p:scale({ cpu = 20 }).started.min, 4, "ceil(8 * 20 / 50) once the window passed")
end
