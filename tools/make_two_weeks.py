#!/usr/bin/env python3
"""Writes examples/history/two_weeks.csv: two weeks of a job queue's depth, one row
every 2 minutes, with what a forecast can learn and what it cannot.

- Weekdays: a working-day hump in Berlin time (peak about 13:00), quiet nights.
- Weekends: a small afternoon hump.
- A batch every weekday at 09:00 Berlin: 20 minutes of a deep queue (predictable).
- Three bursts a week at random times (not predictable), and noise.

Deterministic (seeded): run it again and the file is the same.
"""
import math
import random
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 11, 2, 0, 0, tzinfo=BERLIN)  # a Monday
STEP = 120
rng = random.Random(20261102)

bursts = []
for week in range(2):
    for _ in range(3):
        at = START + timedelta(days=7 * week + rng.uniform(0, 7))
        bursts.append((at.timestamp(), rng.uniform(600, 1200), rng.uniform(250, 400)))


def depth(ts):
    local = datetime.fromtimestamp(ts, timezone.utc).astimezone(BERLIN)
    hour = local.hour + local.minute / 60
    weekday = local.weekday() < 5
    if weekday:
        q = 40 + 280 * math.exp(-((hour - 13) / 3.2) ** 2)
        if 9 <= hour < 9 + 20 / 60:
            q += 420
    else:
        q = 25 + 70 * math.exp(-((hour - 15) / 3.5) ** 2)
    for at, length, extra in bursts:
        if at <= ts < at + length:
            q += extra
    q *= 1 + rng.uniform(-0.08, 0.08)
    return max(0, round(q))


with open("examples/history/two_weeks.csv", "w") as out:
    out.write("timestamp,queue_depth\n")
    t0 = int(START.timestamp())
    for k in range(14 * 86400 // STEP):
        ts = t0 + k * STEP
        out.write(f"{ts},{depth(ts)}\n")
