-- The forecast without acting on it: fas exports it as fas_forecast{app} for a dashboard
-- beside the real queue, while the reactive policy alone scales. Trust it first.
local stabilize = require("fas.stabilize")
local forecast = require("fas.forecast")

local ahead = forecast.new({ season = "week", bucket = 300, lead = 900, mode = "only" })

function scale(m, app)
  local coming = ahead:predict(app, m.queue_depth)
  local want = math.max(1, math.ceil(m.queue_depth / 50))
  local early = coming and math.ceil(coming / 50)
  return { started = stabilize.down(app, ahead:apply(want, early), 300), forecast = coming }
end
