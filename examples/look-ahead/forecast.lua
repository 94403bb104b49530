-- Reactive, plus a forecast from the app's own last week: Machines for the peak the
-- same 15 minutes of last week saw, raised ahead of it (never lowered by it).
local stabilize = require("fas.stabilize")
local forecast = require("fas.forecast")

local ahead = forecast.new({ season = "week", bucket = 300, lead = 900 })

function scale(m, app)
  local coming = ahead:predict(app, m.queue_depth)
  local want = math.max(1, math.ceil(m.queue_depth / 50))
  local early = coming and math.ceil(coming / 50)
  return { started = stabilize.down(app, ahead:apply(want, early), 300), forecast = coming }
end
