"""The quality scheduler in one process: one run at a time, never doubled."""

from __future__ import annotations

import asyncio

from quality.config import ScheduleEntry
from quality.model import Dimension
from quality.scheduler import QUEUED, SKIPPED, STARTED, Scheduler

NIGHTLY = ScheduleEntry("nightly-full", "0 2 * * *")
HOURLY = ScheduleEntry("hourly-timeliness", "0 * * * *", (Dimension.TIMELINESS,))


async def test_an_overlapping_firing_is_skipped_or_waits_never_doubles() -> None:
    release = asyncio.Event()
    ran: list[str] = []
    active = 0
    most = 0

    async def run(entry: ScheduleEntry) -> str:
        nonlocal active, most
        active += 1
        most = max(most, active)
        ran.append(entry.name)
        await release.wait()
        active -= 1
        return "ran"

    s = Scheduler([NIGHTLY, HOURLY], run)
    assert s.fire(NIGHTLY).decision == STARTED
    await asyncio.sleep(0.01)
    assert s.running == "nightly-full"
    # The same job again while it runs: skipped. Another job: waits its turn, once.
    assert s.fire(NIGHTLY).decision == SKIPPED
    assert s.fire(HOURLY).decision == QUEUED
    assert s.fire(HOURLY).decision == SKIPPED
    release.set()
    await s.idle()
    assert ran == ["nightly-full", "hourly-timeliness"] and most == 1
    assert [f.job for f in s.finished] == ran
    assert s.finished[0].finished <= s.finished[1].started


async def test_cron_firings_while_a_run_is_slow_do_not_overlap() -> None:
    calls = 0

    async def slow(entry: ScheduleEntry) -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(1.5)
        return "ran"

    every_second = ScheduleEntry("every-second", "* * * * * *")   # croniter: seconds field
    s = Scheduler([every_second], slow)
    stop = asyncio.Event()
    task = asyncio.create_task(s.serve(stop))
    await asyncio.sleep(4.6)
    stop.set()
    await asyncio.wait_for(task, timeout=5)
    decisions = [f.decision for f in s.firings]
    assert decisions.count(SKIPPED) >= 2, decisions
    assert calls == len(s.finished) == decisions.count(STARTED) >= 2
    for a, b in zip(s.finished, s.finished[1:], strict=False):
        assert a.finished <= b.started  # never two at once


async def test_next_fire_follows_the_cron_in_beijing_time() -> None:
    from datetime import datetime

    from quality.params import CHINA_TZ

    async def noop(entry: ScheduleEntry) -> str:
        return "ran"

    s = Scheduler([NIGHTLY], noop)
    nxt = s.next_fire(NIGHTLY, datetime(2025, 3, 1, 23, 0, tzinfo=CHINA_TZ))
    assert nxt == datetime(2025, 3, 2, 2, 0, tzinfo=CHINA_TZ)
    assert s.next_fire(HOURLY, nxt).hour == 3
