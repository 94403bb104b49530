local t = require("fas.testing")
local smooth = require("fas.smooth")

function test_ewma()
  local a = { now = 0, state = {} }
  t.eq(smooth.ewma(a, "q", 10, 0.5), 10)
  t.eq(smooth.ewma(a, "q", 20, 0.5), 15)
  t.eq(smooth.ewma(a, "q", 20, 0.5), 17.5)
end

function test_windowed_mean_and_max()
  local a = { now = 0, state = {} }
  t.eq(smooth.max(a, "m", 5, 60), 5)
  a.now = 30
  t.eq(smooth.max(a, "m", 2, 60), 5)
  a.now = 61
  t.eq(smooth.max(a, "m", 1, 60), 2, "5 left the window")
  t.eq(smooth.mean({ now = 0, state = {} }, "x", 4, 60), 4)
  local b = { now = 0, state = {} }
  smooth.mean(b, "x", 2, 60)
  b.now = 10
  t.eq(smooth.mean(b, "x", 4, 60), 3)
end
