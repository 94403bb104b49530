local t = require("fas.testing")
local schedule = require("fas.schedule")
local tz = require("fas.tz")

-- Instants are written in UTC (unix seconds) with the wall clock they are in the zone.
local function at(now) return { now = now, state = {} } end

local function open(s, now) return #s:active(at(now)) > 0 end

function test_berlin_keeps_eight_oclock_across_spring_forward()
  local s = schedule.new({ { "Sun 08:00-18:00 Europe/Berlin", min = 3 } })
  -- 2026-03-22, a Sunday in winter (CET, +01:00): 08:00 is 07:00 UTC.
  t.eq(open(s, 1774159200), false, "07:00 CET")
  t.eq(open(s, 1774162800), true, "08:00 CET")
  -- 2026-03-29, the clocks jump from 02:00 to 03:00 (CEST, +02:00): 08:00 is 06:00 UTC.
  t.eq(open(s, 1774763999), false, "07:59:59 CEST")
  t.eq(open(s, 1774764000), true, "08:00 CEST")
  t.eq(s:floor(at(1774764000)), 3)
end

function test_berlin_skipped_and_repeated_hours()
  local s = schedule.new({ { "Sun 02:15-02:45 Europe/Berlin", min = 1 } })
  -- 2026-03-29: 02:15 never happens (00:59 UTC is 01:59 CET, 01:15 UTC is 03:15 CEST).
  t.eq(open(s, 1774745940), false, "01:59 CET")
  t.eq(open(s, 1774746900), false, "03:15 CEST")
  -- 2026-10-25: 02:15-02:45 happens twice, in CEST then in CET; open both times.
  t.eq(open(s, 1792887300), true, "02:15 CEST")
  t.eq(open(s, 1792889400), false, "02:50 CEST")
  t.eq(open(s, 1792890000), false, "02:00 CET, the clocks went back")
  t.eq(open(s, 1792890900), true, "02:15 CET")
  t.eq(open(s, 1792892700), false, "02:45 CET")
end

function test_new_york_business_hours_across_both_changes()
  local s = schedule.new({ { "Mon-Fri 09:00-17:00 America/New_York", min = 6 } })
  -- Fri 2026-03-06 in EST (-05:00): 09:00 is 14:00 UTC.
  t.eq(open(s, 1772803800), false, "08:30 EST")
  t.eq(open(s, 1772805600), true, "09:00 EST")
  -- Mon 2026-03-09, after the change on Sunday 03-08 (EDT, -04:00): 09:00 is 13:00 UTC.
  t.eq(open(s, 1773061199), false, "08:59:59 EDT")
  t.eq(open(s, 1773061200), true, "09:00 EDT")
  -- Fri 2026-10-30 still EDT; Mon 2026-11-02 back in EST.
  t.eq(open(s, 1793365199), false, "08:59:59 EDT")
  t.eq(open(s, 1793365200), true, "09:00 EDT")
  t.eq(open(s, 1793626200), false, "08:30 EST")
  t.eq(open(s, 1793628000), true, "09:00 EST")
end

function test_new_york_repeated_hour_holds_through_both()
  local s = schedule.new({ { "Sun 01:15-01:45 America/New_York", min = 1 } })
  -- 2026-11-01: 01:30 EDT is 05:30 UTC; 01:30 EST is 06:30 UTC; 01:00 EST is 06:00 UTC.
  t.eq(open(s, 1793511000), true, "01:30 EDT")
  t.eq(open(s, 1793512800), false, "01:00 EST")
  t.eq(open(s, 1793514600), true, "01:30 EST")
end

function test_tz_reads_offsets_and_abbreviations_from_the_database()
  local c = tz.civil(1774764000, "Europe/Berlin")
  t.eq({ c.year, c.month, c.day, c.hour, c.min, c.wday, c.offset, c.abbr }, { 2026, 3, 29, 8, 0, 7, 7200, "CEST" })
  t.eq(tz.unix("Europe/Berlin", { year = 2026, month = 3, day = 29, hour = 8 }), 1774764000)
  t.eq(tz.unix("Europe/Berlin", { year = 2026, month = 3, day = 29, hour = 2, min = 30 }), 1774747800,
    "a skipped time resolves after the jump (03:30 CEST)")
  t.eq(tz.unix("America/New_York", { year = 2026, month = 11, day = 1, hour = 1, min = 30 }), 1793511000,
    "a repeated time resolves to its first occurrence (EDT)")
  t.errors(function() tz.civil(0, "Mars/Olympus") end, "unknown time zone \"Mars/Olympus\"")
end

function test_past_midnight_belongs_to_the_day_it_starts()
  local s = schedule.new({ { "Fri 22:00-02:00 UTC", min = 2 } })
  t.eq(open(s, 1796421540), false, "Fri 21:59")
  t.eq(open(s, 1796425200), true, "Fri 23:00")
  t.eq(open(s, 1796432400), true, "Sat 01:00")
  t.eq(open(s, 1796439600), false, "Sat 03:00")
  t.eq(open(s, 1796511600), false, "Sat 23:00")
  t.eq(open(s, 1796518800), false, "Sun 01:00")
end

function test_floors_and_ceilings_combine_and_the_floor_wins()
  local s = schedule.new({
    { "daily 00:00-24:00 UTC", max = 5 },
    { "Fri 20:00-24:00 UTC", min = 2 },
    { "Fri 22:00-23:30 UTC", min = 8, max = 10 },
  })
  t.eq(s:apply(at(1796421540), 9), 5, "Fri 21:59: the daily ceiling")
  t.eq(s:apply(at(1796421540), 0), 2, "Fri 21:59: the evening floor")
  t.eq(s:apply(at(1796425200), 1), 8, "Fri 23:00: the highest floor beats the lowest ceiling")
  t.eq(s:ceiling(at(1796425200)), 5)
  t.eq(s:apply(at(1796439600), 3), 3, "Sat 03:00: only the ceiling")
end

function test_a_lead_raises_the_floor_early_but_not_the_ceiling()
  local s = schedule.new({ { "Mon-Fri 08:00-18:00 Europe/Berlin", min = 4, max = 6 } }, { lead = 600 })
  -- Thu 2026-12-03, CET: 07:50 local is 06:50 UTC.
  t.eq(s:floor(at(1796280599)), 0, "07:49:59")
  t.eq(s:floor(at(1796280600)), 4, "07:50, ten minutes ahead")
  t.eq(s:ceiling(at(1796280600)), math.huge, "the ceiling waits for the window")
  t.eq(s:ceiling(at(1796281200)), 6, "08:00")
end

function test_one_date_window()
  local s = schedule.new({ { "2026-11-27 06:00-23:00 America/New_York", min = 20 } })
  t.eq(s:floor(at(1795777200)), 20, "Black Friday 06:00 EST")
  t.eq(s:floor(at(1795863600)), 0, "the day after")
end

function test_bad_windows_are_named()
  t.errors(function() schedule.new({ { "Mon-Fri 08:00-18:00 Europe/Berln", min = 1 } }) end,
    "window 1 (Mon-Fri 08:00-18:00 Europe/Berln): unknown time zone \"Europe/Berln\"")
  t.errors(function() schedule.new({ { "Mon-Fry 08:00-18:00 UTC", min = 1 } }) end, "\"Mon-Fry\" is not a day")
  t.errors(function() schedule.new({ { "Mon 08:00-25:00 UTC", min = 1 } }) end, "\"25:00\" is not a time")
  t.errors(function() schedule.new({ { "Mon 08:00-08:00 UTC", min = 1 } }) end, "the window is empty")
  t.errors(function() schedule.new({ { "Mon 08:00-09:00 UTC" } }) end, "give min")
  t.errors(function() schedule.new({ { "Mon 08:00-09:00 UTC", min = 5, max = 2 } }) end, "min 5 is above max 2")
  t.errors(function() schedule.new({ { "Mon 08:00-09:00 UTC", min = -1 } }) end, "min must be a number")
  t.errors(function() schedule.new({ { "every monday", min = 1 } }) end, "write DAYS HH:MM-HH:MM ZONE")
  t.errors(function() schedule.new({}) end, "give a list of windows")
  -- The error points at the policy's line, not into the module.
  local ok, err = pcall(function() schedule.new({ { "Mon 08:00 UTC", min = 1 } }) end)
  t.eq(ok, false)
  t.eq(tostring(err):find("schedule_test.lua:", 1, true) ~= nil, true, tostring(err))
end

function test_the_table_form_reads_as_the_string()
  local s = schedule.new({ { days = "Sat,Sun", from = "10:00", to = "14:00", zone = "UTC", min = 1 } })
  t.eq(open(s, 1796468400), true, "Sat 11:00")
  t.eq(s:active(at(1796468400))[1].spec, "Sat,Sun 10:00-14:00 UTC")
end
