-- Reactive: Machines for the queue as it is now (50 jobs each), scale-downs held by
-- the HPA's 5-minute stabilization window. Late by one reaction on every rise.
local stabilize = require("fas.stabilize")

function scale(m, app)
  local want = math.max(1, math.ceil(m.queue_depth / 50))
  return { started = stabilize.down(app, want, 300) }
end
