"""The quality scheduler: cron expressions (Beijing time) fire jobs; one job runs at a time.

Overlap rules, so runs never double:
- a job that fires while the same job is running, or already waiting, is skipped;
- a different job that fires while one is running waits (once) and runs next;
- across processes the run lock (``quality.job.run_lock``) decides: the second stands down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from croniter import croniter

from quality.config import ScheduleEntry
from quality.params import CHINA_TZ

log = logging.getLogger(__name__)

STARTED, QUEUED, SKIPPED = "started", "queued", "skipped"
_ZH = {STARTED: "开始运行", QUEUED: "排队等待", SKIPPED: "跳过"}


@dataclass(frozen=True)
class Firing:
    job: str
    at: datetime
    decision: str         # started | queued | skipped
    reason: str = ""


@dataclass(frozen=True)
class Finished:
    job: str
    started: datetime
    finished: datetime
    outcome: str


class Scheduler:
    def __init__(self, entries: Sequence[ScheduleEntry],
                 run: Callable[[ScheduleEntry], Awaitable[str]], *, tz: tzinfo = CHINA_TZ,
                 now: Callable[[], datetime] | None = None) -> None:
        self.entries = list(entries)
        self._run = run
        self.tz = tz
        self._now = now or (lambda: datetime.now(self.tz))
        self.running: str | None = None
        self._queue: list[ScheduleEntry] = []
        self._worker: asyncio.Task[None] | None = None
        self.firings: list[Firing] = []
        self.finished: list[Finished] = []

    def next_fire(self, entry: ScheduleEntry, after: datetime) -> datetime:
        nxt = croniter(entry.cron, after.astimezone(self.tz)).get_next(datetime)
        assert isinstance(nxt, datetime)
        return nxt

    def fire(self, entry: ScheduleEntry) -> Firing:
        """Start, queue or skip ``entry`` now; never blocks."""
        at = self._now()
        if self.running == entry.name:
            firing = Firing(entry.name, at, SKIPPED, "同一任务仍在运行")
        elif any(q.name == entry.name for q in self._queue):
            firing = Firing(entry.name, at, SKIPPED, "同一任务已在等待")
        else:
            busy = self.running is not None or bool(self._queue)
            self._queue.append(entry)
            firing = Firing(entry.name, at, QUEUED if busy else STARTED,
                            f"等待 {self.running} 结束" if busy else "")
            if self._worker is None or self._worker.done():
                self._worker = asyncio.create_task(self._drain())
        self.firings.append(firing)
        level = logging.WARNING if firing.decision == SKIPPED else logging.INFO
        log.log(level, "定时任务 %s：%s%s", entry.name, _ZH[firing.decision],
                f"（{firing.reason}）" if firing.reason else "")
        return firing

    async def _drain(self) -> None:
        while self._queue:
            entry = self._queue.pop(0)
            self.running = entry.name
            started = self._now()
            try:
                outcome = await self._run(entry)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("定时任务 %s 出错", entry.name)
                outcome = f"error: {exc!r}"
            finally:
                self.running = None
            self.finished.append(Finished(entry.name, started, self._now(), outcome))

    async def idle(self) -> None:
        """Wait until nothing runs or waits."""
        while self._worker is not None and not self._worker.done():
            await asyncio.shield(self._worker)

    async def serve(self, stop: asyncio.Event, *, drain_timeout: float = 300.0) -> None:
        """Fire jobs at their cron times until ``stop`` is set, then let the running job
        finish (up to ``drain_timeout`` seconds)."""
        if not self.entries:
            await stop.wait()
            return
        now = self._now()
        due = {e.name: self.next_fire(e, now) for e in self.entries}
        for e in self.entries:
            log.info("定时任务 %s（%s）下次运行：%s", e.name, e.cron, due[e.name].isoformat())
        while not stop.is_set():
            soonest = min(due.values())
            delay = (soonest - self._now()).total_seconds()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                continue
            now = self._now()
            for e in self.entries:
                if due[e.name] <= now:
                    self.fire(e)
                    due[e.name] = self.next_fire(e, now)
        if self._worker is not None and not self._worker.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._worker), timeout=drain_timeout)
            except TimeoutError:
                self._worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._worker
