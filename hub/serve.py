"""``liaison-hub serve``: the long-lived process. The projector follows the stream, and the
quality scheduler runs the checks at the cron times of the quality config.

Each scheduled run is a child process (``liaison-hub quality run --skip-if-busy``): Great
Expectations (about 3 s and 230 MB to import) is never loaded into the projector's process,
and its memory goes back when the run ends. The scheduler keeps one run at a time in this
process; the run lock in Postgres keeps one at a time across processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from consumers import projector
from consumers.store import LIVE_SCHEMA, connect
from hub.runtime import Endpoints, backbone, prepare
from quality.config import QualityConfig, ScheduleEntry
from quality.publish import ensure_quality_stream
from quality.scheduler import Scheduler

log = logging.getLogger("liaison-hub.serve")

# Exit code of `quality run --skip-if-busy` when another run holds the lock.
EXIT_SKIPPED = 3
PROJECTOR_RETRY_S = 5.0


@dataclass
class ServeState:
    projected: int = 0
    runs: list[dict[str, object]] = field(default_factory=list)


def quality_command(entry: ScheduleEntry, config_path: Path | None) -> list[str]:
    cmd = [sys.executable, "-m", "hub", "quality", "run", "--json", "--skip-if-busy",
           "--trigger", f"scheduled:{entry.name}"]
    for d in entry.dimensions:
        cmd += ["--dimension", str(d)]
    if config_path is not None:
        cmd += ["--config", str(config_path)]
    return cmd


def job_runner(config_path: Path | None, state: ServeState,
               ) -> Callable[[ScheduleEntry], Awaitable[str]]:
    async def run(entry: ScheduleEntry) -> str:
        proc = await asyncio.create_subprocess_exec(
            *quality_command(entry, config_path), stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=os.environ.copy())
        try:
            out, err = await proc.communicate()
        except asyncio.CancelledError:
            proc.terminate()
            await proc.wait()
            raise
        code = proc.returncode
        record: dict[str, object] = {"job": entry.name, "exit": code}
        if code == EXIT_SKIPPED:
            log.warning("定时检查 %s 跳过：另一次检查正在进行", entry.name)
            record["status"] = "skipped"
        elif code in (0, 1):
            doc = json.loads(out)
            record.update(status="ran", run_id=doc["run_id"], score=doc["overall_score"],
                          failed=doc["checks_failed"], report=doc["html_path"])
            log.warning("定时检查 %s 完成：综合得分 %s，未通过 %s 项，报告 %s", entry.name,
                        doc["overall_score"], doc["checks_failed"], doc["html_path"])
        elif code is not None and code < 0:
            log.warning("定时检查 %s 被信号 %d 终止", entry.name, -code)
            record["status"] = "terminated"
        else:
            record["status"] = "error"
            log.error("定时检查 %s 失败（退出码 %s）：%s", entry.name, code,
                      err.decode(errors="replace")[-800:])
        state.runs.append(record)
        return str(record["status"])

    return run


async def follow_stream(ep: Endpoints, stop: asyncio.Event, state: ServeState) -> None:
    """The projector, forever: on a lost connection it waits and starts again."""
    def count(stats: projector.BatchStats, _pending: int) -> None:
        state.projected += stats.applied + stats.dead_lettered + stats.duplicates

    while not stop.is_set():
        try:
            async with backbone(ep.nats_url, name="liaison-hub-serve") as (_, js), \
                    await connect(ep.database_url, LIVE_SCHEMA) as conn:
                await projector.run(js, conn, until_caught_up=False, stop=stop, on_batch=count)
        except Exception as exc:
            log.error("投影器中断（%r），%.0f 秒后重试", exc, PROJECTOR_RETRY_S)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=PROJECTOR_RETRY_S)


async def serve(ep: Endpoints, config: QualityConfig, *, config_path: Path | None,
                stop: asyncio.Event, with_projector: bool = True,
                state: ServeState | None = None) -> ServeState:
    """Run until ``stop`` is set (SIGTERM / SIGINT in the CLI)."""
    state = state or ServeState()
    await prepare(ep)
    async with backbone(ep.nats_url) as (_, js):
        await ensure_quality_stream(js)
    scheduler = Scheduler(config.schedule, job_runner(config_path, state))
    tasks = [asyncio.create_task(scheduler.serve(stop), name="quality-scheduler")]
    if with_projector:
        tasks.append(asyncio.create_task(follow_stream(ep, stop, state), name="projector"))
    await asyncio.gather(*tasks)
    return state


def install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
