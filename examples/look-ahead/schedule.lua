-- Reactive, plus what the operator knows of the calendar: a floor through Berlin's
-- working day, and a higher one around the 09:00 batch.
local stabilize = require("fas.stabilize")
local schedule = require("fas.schedule")

local hours = schedule.new({
  { "Mon-Fri 08:00-18:00 Europe/Berlin", min = 5 },
  { "Mon-Fri 08:55-09:25 Europe/Berlin", min = 10 },
})

function scale(m, app)
  local want = math.max(1, math.ceil(m.queue_depth / 50))
  return { started = hours:apply(app, stabilize.down(app, want, 300)) }
end
