"""The main job on one simulated city: publish a year of events, project them, check quality,
and show that the checks find exactly the faults planted in the simulation."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from consumers import projector
from consumers.store import LIVE_SCHEMA, connect, migrate
from hub.provision import reset_stream
from hub.publishing import publish_foreign, publish_phases
from hub.runtime import Endpoints, backbone
from hub.status import collect
from producers.simulator import PlantedFaults, Simulation, simulate


@dataclass
class FaultMatch:
    kind: str
    check_id: str
    planted: list[str]
    found: list[str]
    exact: bool


def _match(kind: str, check_id: str, planted: list[str], found: list[str]) -> FaultMatch:
    return FaultMatch(kind, check_id, planted, found, sorted(planted) == sorted(found))


@dataclass
class DemoResult:
    timings: dict[str, float] = field(default_factory=dict)
    events_planned: int = 0
    events_published: int = 0
    foreign_published: int = 0
    projected: dict[str, int] = field(default_factory=dict)
    status: dict[str, Any] = field(default_factory=dict)
    quality: dict[str, Any] = field(default_factory=dict)
    faults: list[FaultMatch] = field(default_factory=list)
    report_html: str = ""

    @property
    def faults_exact(self) -> bool:
        return all(f.exact for f in self.faults)

    @property
    def unplanned_failures(self) -> list[str]:
        planted_checks = {f.check_id for f in self.faults}
        return [
            c["id"]
            for c in self.quality.get("checks", [])
            if not c["success"] and c["id"] not in planted_checks
        ]


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def match_faults(faults: PlantedFaults, checks: dict[str, dict[str, Any]]) -> list[FaultMatch]:
    """Pair each planted fault with what its quality check reported."""
    from quality.checks import (
        ART11_DISCLOSURES,
        ART12_VISIT_MINIMUMS,
        ART14_MONTHLY_RECEPTIONS,
        DEAD_LETTERS,
        OPINION_OVERDUE,
    )

    def samples(check_id: str) -> list[dict[str, Any]]:
        return list(checks.get(check_id, {}).get("samples", []))

    def count(check_id: str) -> int:
        return int(checks.get(check_id, {}).get("unexpected_count", 0))

    def overdue(opinion_id: Any, open_: bool) -> str:
        return f"{opinion_id}（{'逾期未反馈' if open_ else '逾期反馈'}）"

    # Art. 15: still open past the deadline, or answered after it; a sample row of an open
    # one has no feedback time. (Up to 20 samples: the simulator plants 7.)
    overdue_planted = sorted([overdue(o, True) for o in faults.overdue_open]
                             + [overdue(o, False) for o in faults.overdue_late])
    overdue_found = sorted(overdue(s["opinion_id"], s.get("feedback_at") is None)
                           for s in samples(OPINION_OVERDUE))

    return [
        _match("代表进站次数不足（第十二条）", ART12_VISIT_MINIMUMS, list(faults.deputies_under_minimum),
               [str(s["deputy_id"]) for s in samples(ART12_VISIT_MINIMUMS)]),
        _match("缺少当月主题接待活动（第十四条）", ART14_MONTHLY_RECEPTIONS,
               [f"{s}@{m}" for s, m in faults.missing_receptions],
               [f"{s['station_id']}@{s['month']}" for s in samples(ART14_MONTHLY_RECEPTIONS)]),
        _match("公示信息不全（第十一条）", ART11_DISCLOSURES, list(faults.incomplete_disclosures),
               [str(s["station_id"]) for s in samples(ART11_DISCLOSURES)]),
        _match("意见建议办理超期（第十五条）", OPINION_OVERDUE, overdue_planted, overdue_found),
        # Foreign messages carry no id of ours: match them by count, show what each was.
        FaultMatch("外来发布者的无法解码消息（死信）", DEAD_LETTERS, list(faults.undecodable),
                   [f"序号 {s.get('stream_seq')}" for s in samples(DEAD_LETTERS)],
                   count(DEAD_LETTERS) == len(faults.undecodable)),
    ]


async def run_demo(
    ep: Endpoints,
    reports_dir: Any,
    console: Console,
    *,
    opinions: int = 11_000,
    counties: int = 3,
    year: int = 2025,
) -> DemoResult:
    from consumers.projector import DURABLE
    from quality.job import run_once
    from quality.runner import to_json

    result = DemoResult()
    t0 = time.perf_counter()

    with console.status("重置演示数据（事件流与投影表）…"):
        async with backbone(ep.nats_url) as (_, js):
            await reset_stream(js)
        await migrate(ep.database_url, LIVE_SCHEMA, fresh=True)
    with console.status("生成模拟城市：绍兴市一年的联络站数据…"):
        t = time.perf_counter()
        sim: Simulation = simulate(counties=counties, year=year, opinions=opinions, plant_overdue=True)
        result.timings["simulate_s"] = time.perf_counter() - t
    result.events_planned = sim.event_count()
    console.print(
        f"模拟：{len(sim.nodes)} 个节点，{result.events_planned:,} 个事件，"
        f"另有 {len(sim.foreign_messages)} 条外来发布者的消息"
    )

    with _progress(console) as progress:
        task = progress.add_task("发布事件（各节点 SDK）", total=result.events_planned, rate="")
        t = time.perf_counter()

        def acked(n: int) -> None:
            elapsed = time.perf_counter() - t
            progress.advance(task, n)
            done = progress.tasks[task].completed
            progress.update(task, rate=f"{done / elapsed:,.0f} 条/秒" if elapsed > 0 else "")

        result.events_published = await publish_phases(ep.nats_url, sim.phases, "demo", acked)
        result.timings["publish_s"] = time.perf_counter() - t
        result.foreign_published = await publish_foreign(ep.nats_url, sim.foreign_messages)

        total = result.events_published + result.foreign_published
        ptask = progress.add_task("投影入库（PostgreSQL）", total=total, rate="")
        t = time.perf_counter()

        def batch_done(stats: projector.BatchStats, _pending: int) -> None:
            n = stats.applied + stats.dead_lettered + stats.duplicates
            progress.advance(ptask, n)
            elapsed = time.perf_counter() - t
            progress.update(ptask, rate=f"{progress.tasks[ptask].completed / elapsed:,.0f} 条/秒")

        async with backbone(ep.nats_url) as (_, js), await connect(ep.database_url, LIVE_SCHEMA) as conn:
            stats = await projector.run(js, conn, on_batch=batch_done,
                                        reconnect=lambda: connect(ep.database_url, LIVE_SCHEMA))
        result.timings["project_s"] = time.perf_counter() - t
        result.projected = {
            "applied": stats.applied,
            "dead_lettered": stats.dead_lettered,
            "duplicates": stats.duplicates,
        }

    result.status = await collect(ep)
    with console.status("数据质量检查（Great Expectations）…"):
        t = time.perf_counter()
        # Locked, reconciled against the stream, stored, reported and published (quality/job.py).
        job = await run_once(ep.nats_url, ep.database_url, reports_dir=reports_dir, year=sim.year,
                             as_of=date(sim.year, 12, 31), projector=DURABLE, trigger="demo")
        assert job.run is not None  # it waits for the lock, so it always runs
        run = job.run
        result.timings["quality_s"] = time.perf_counter() - t
    result.quality = to_json(run)
    result.report_html = str(run.html_path)
    checks = {c["id"]: c for c in result.quality["checks"]}
    result.faults = match_faults(sim.faults, checks)
    result.timings["total_s"] = time.perf_counter() - t0
    return result
