local t = require("fas.testing")

function test_keeps_spare_machines_created_ahead_of_demand()
  local p = t.policy("pool.lua", { pool = 2, max = 10 })
  local r = p:scale({ queue_depth = 35 })
  t.eq(r.started, { min = 4, max = 4 })
  t.eq(r.created, { min = 6, max = 8 })
  r = p:scale({ queue_depth = 0 })
  t.eq(r.started, { min = 0, max = 0 })
  t.eq(r.created, { min = 2, max = 4 })
  r = p:scale({ queue_depth = 500 })
  t.eq(r.created, { min = 10, max = 10 }, "max caps the pool")
end
