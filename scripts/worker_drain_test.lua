local t = require("fas.testing")

local function worker(id, jobs) return { id = id, state = "started", metrics = { jobs_running = jobs } } end

function test_scales_on_the_queue_and_stops_only_idle_workers()
  local p = t.policy("worker_drain.lua", { down_seconds = 0 })
  p.machines = {
    created = 3, started = 3, stopped = 0, by_region = {},
    list = { worker("w1", 1), worker("w2", 0), worker("w3", 0) },
  }
  local r = p:scale({ queue_depth = 5 })
  t.eq(r.started.min, 1)
  t.eq(r.stop_order, { "w2", "w3" }, "idle workers first")
  t.eq(r.protect, { "w1" }, "the busy worker is never stopped")
end

function test_holds_scale_down_and_ignores_a_missing_reading()
  local p = t.policy("worker_drain.lua", { down_seconds = 300 })
  t.eq(p:scale({ queue_depth = 40 }).started.min, 4)
  p:advance(60)
  t.eq(p:scale({ queue_depth = 0 }).started.min, 4, "scale-down held")
  local none = p:scale({})
  t.eq(none.started, nil, "no reading: the pool is left as it is")
  p:advance(300)
  t.eq(p:scale({ queue_depth = 0 }).started.min, 0)
end
