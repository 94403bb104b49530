local t = require("fas.testing")
local drain = require("fas.drain")

local function app(list) return { machines = { list = list } } end
local function m(id, jobs, state)
  return { id = id, state = state or "started", metrics = { jobs_running = jobs } }
end

function test_idlest_first_and_the_busy_protected()
  local order, protect = drain.plan(app({ m("a", 2), m("b", 0), m("c", 0.5), m("d", 0) }), "jobs_running")
  t.eq(order, { "b", "d" }, "idle ones, idlest first, ties by id")
  t.eq(protect, { "a", "c" })
end

function test_busy_threshold_unknown_values_and_stopped_machines()
  local list = { m("a", 1), m("b", nil), m("c", 0, "stopped"), m("d", 0 / 0) }
  local order, protect = drain.plan(app(list), "jobs_running", { busy_above = 1 })
  t.eq(order, { "a" }, "1 is not above 1; stopped Machines are not for stop_order")
  t.eq(protect, { "b", "d" }, "no value (or NaN): may be busy")
  order, protect = drain.plan(app(list), "jobs_running", { busy_above = 1, unknown_is_busy = false })
  t.eq(order, { "a", "b", "d" }, "unknown values last")
  t.eq(protect, {})
end

function test_answer_adds_to_the_targets_and_an_empty_list_is_fine()
  local a = drain.answer(app({ m("x", 0) }), { started = 1 }, "jobs_running")
  t.eq(a.started, 1)
  t.eq(a.stop_order, { "x" })
  local order, protect = drain.plan({ machines = {} }, "jobs_running")
  t.eq(#order + #protect, 0)
end
