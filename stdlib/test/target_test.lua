local t = require("fas.testing")
local target = require("fas.target")

function test_hpa_formula_with_tolerance()
  t.eq(target.desired(4, 90, 60), 6, "ceil(4 * 90 / 60)")
  t.eq(target.desired(4, 63, 60), 4, "inside the 10% band")
  t.eq(target.desired(4, 30, 60), 2)
  t.eq(target.desired(0, 130, 60), 3, "from zero")
  t.eq(target.for_total(95, 10), 10)
  t.errors(function() target.desired(1, 1, 0) end, "target must be greater than 0")
end
