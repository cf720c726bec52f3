"""``liaison-hub demo --topology``: the main job through the multi-level topology.

Every node of the simulated city publishes its own events to its own site (township and county
leaf nodes, the city cluster) with its own credentials; sourcing carries them up to the city,
where the projector folds them into PostgreSQL and the quality suite runs; reconciliation then
checks, node by node, that every level holds exactly what was published.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console

from consumers import projector
from consumers.store import LIVE_SCHEMA, connect, migrate, table_counts
from hub.demo import DemoResult, _progress, match_faults
from hub.deploy_render import EVENTS
from hub.topology import (
    Reconciliation,
    Topology,
    local_root,
    read_services,
    reconcile,
    start_local_async,
    status,
    stop_local,
    wait_streams,
    watch_sources,
)
from producers.sdk import NodePublisher
from producers.simulator import PlannedEvent, Simulation, simulate
from schemas.regions import load_regions


@dataclass
class TopologyDemoResult(DemoResult):
    servers: int = 0
    reconciliation: dict[str, Any] = field(default_factory=dict)
    database_url: str = ""

    @property
    def reconciled(self) -> bool:
        return bool(self.reconciliation.get("exact"))


def _covers(root: Path, nodes: list[str]) -> bool:
    if not (root / "topology.json").exists():
        return False
    return set(nodes) <= set(Topology.load(root).plan.nodes)


async def _city_count(topo: Topology) -> int:
    async with topo.client(topo.plan.city) as (_, js):
        return (await js.stream_info(EVENTS)).state.messages


async def _wait_city(topo: Topology, expected: int, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while await _city_count(topo) < expected:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the city stream did not reach {expected} messages in {timeout:.0f} s")
        await asyncio.sleep(0.5)


async def publish_through_topology(
    topo: Topology, sim: Simulation, on_ack: Any, actor: str = "demo"
) -> int:
    """Phase by phase, each node through its own site; a phase is complete when the city holds it
    (a county's station must exist at the city before its townships' stations arrive)."""
    nodes = sorted({e.node for phase in sim.phases for e in phase})
    conns = await asyncio.gather(*(topo.connect(n, "publisher") for n in nodes))
    pubs = {
        n: NodePublisher(c.jetstream(timeout=10), n, f"{actor}@{n}", max_in_flight=128, retries=15)
        for n, c in zip(nodes, conns, strict=True)
    }
    stored = 0
    base = await _city_count(topo)
    try:
        for phase in sim.phases:
            by_node: dict[str, list[PlannedEvent]] = defaultdict(list)
            for e in phase:
                by_node[e.node].append(e)

            async def node_publishes(node: str, planned: list[PlannedEvent]) -> int:
                pub = pubs[node]
                envs = [pub.build(e.payload, e.occurred_at, recorded_at=e.recorded_at) for e in planned]
                return len(await pub.publish_all(envs, on_ack=lambda _p: on_ack(1)))

            stored += sum(await asyncio.gather(*(node_publishes(n, p) for n, p in by_node.items())))
            await _wait_city(topo, base + stored)
    finally:
        await asyncio.gather(*(c.drain() for c in conns), return_exceptions=True)
    return stored


async def publish_foreign_at_site(topo: Topology, messages: list[tuple[str, bytes]]) -> int:
    """A legacy terminal at a township publishes raw bytes under that township's prefix."""
    from schemas.subjects import origin_of

    for subject, data in messages:
        node = origin_of(subject)
        assert node is not None
        async with topo.client(node, "publisher") as (_, js):
            await js.publish(subject, data, timeout=10)
    return len(messages)


async def run_topology_demo(
    home: Path,
    reports_dir: Path,
    console: Console,
    *,
    opinions: int = 11_000,
    counties: int = 2,
    year: int = 2025,
) -> TopologyDemoResult:
    from quality.runner import run_quality, to_json

    result = TopologyDemoResult()
    t0 = time.perf_counter()
    with console.status("生成模拟城市：绍兴市一年的联络站数据…"):
        t = time.perf_counter()
        # The same planted faults as ``liaison-hub demo``: ``match_faults`` pairs them all.
        sim = simulate(counties=counties, year=year, opinions=opinions, plant_overdue=True)
        result.timings["simulate_s"] = time.perf_counter() - t
    result.events_planned = sim.event_count()
    county_codes = [c.code for c in load_regions().counties[:counties]]
    root = local_root(home)
    with console.status("启动多级拓扑（市级三节点集群、县级与乡镇叶节点）…"):
        t = time.perf_counter()
        if not _covers(root, sim.nodes):
            stop_local(home)
            shutil.rmtree(root, ignore_errors=True)
        stop_services(home)
        topo, local = await start_local_async(home, counties=county_codes, townships=None, services=False)
        await topo.reset()
        await wait_streams(topo)
        await migrate(local.database_url, LIVE_SCHEMA, fresh=True)
        result.timings["topology_up_s"] = time.perf_counter() - t
    result.servers = len(topo.plan.servers)
    result.database_url = local.database_url
    console.print(
        f"拓扑：{result.servers} 个 nats-server 进程（市级 3 节点集群、{len(topo.plan.counties)} 个县、"
        f"{len(topo.plan.townships)} 个乡镇）；模拟 {len(sim.nodes)} 个节点，{result.events_planned:,} 个事件"
    )
    stop = asyncio.Event()
    watchdog = asyncio.create_task(watch_sources(topo, stop))
    try:
        with _progress(console) as progress:
            task = progress.add_task("各节点向本站发布（经叶节点汇聚至市级）", total=result.events_planned, rate="")
            t = time.perf_counter()

            def acked(n: int) -> None:
                progress.advance(task, n)
                elapsed = time.perf_counter() - t
                done = progress.tasks[task].completed
                progress.update(task, rate=f"{done / elapsed:,.0f} 条/秒" if elapsed > 0 else "")

            result.events_published = await publish_through_topology(topo, sim, acked)
            result.foreign_published = await publish_foreign_at_site(topo, sim.foreign_messages)
            await _wait_city(topo, result.events_published + result.foreign_published)
            result.timings["publish_s"] = time.perf_counter() - t

            total = result.events_published + result.foreign_published
            ptask = progress.add_task("市级投影入库（PostgreSQL）", total=total, rate="")
            t = time.perf_counter()

            def batch_done(stats: projector.BatchStats, _pending: int) -> None:
                progress.advance(ptask, stats.applied + stats.dead_lettered + stats.duplicates)
                elapsed = time.perf_counter() - t
                progress.update(ptask, rate=f"{progress.tasks[ptask].completed / elapsed:,.0f} 条/秒")

            async with (
                topo.client(topo.plan.city, "projector") as (_, js),
                await connect(local.database_url, LIVE_SCHEMA) as conn,
            ):
                await projector.ensure_consumer(js)
                stats = await projector.run(js, conn, on_batch=batch_done)
            result.timings["project_s"] = time.perf_counter() - t
            result.projected = {
                "applied": stats.applied,
                "dead_lettered": stats.dead_lettered,
                "duplicates": stats.duplicates,
            }
        with console.status("跨级核对（各节点 → 县级 → 市级 → 市级投影）…"):
            t = time.perf_counter()
            rec: Reconciliation = await reconcile(topo, local.database_url)
            result.reconciliation = rec.to_json()
            result.timings["reconcile_s"] = time.perf_counter() - t
    finally:
        stop.set()
        await watchdog
    stream_count = await _city_count(topo)
    async with await connect(local.database_url, LIVE_SCHEMA) as conn:
        tables = await table_counts(conn)
    result.status = {"topology": await status(topo), "city_stream_messages": stream_count, "tables": tables}
    with console.status("数据质量检查（Great Expectations）…"):
        t = time.perf_counter()
        run = run_quality(
            local.database_url,
            stream_count=stream_count,
            year=sim.year,
            as_of=date(sim.year, 12, 31),
            reports_dir=reports_dir,
        )
        result.timings["quality_s"] = time.perf_counter() - t
    result.quality = to_json(run)
    result.report_html = str(run.html_path)
    checks = {c["id"]: c for c in result.quality["checks"]}
    result.faults = match_faults(sim.faults, checks)
    await start_local_async(home, services=True)
    result.timings["total_s"] = time.perf_counter() - t0
    return result


def stop_services(home: Path) -> None:
    from hub.embedded import _pid_alive, stop_pid

    state = read_services(local_root(home))
    if state and state.services_pid and _pid_alive(state.services_pid):
        stop_pid(state.services_pid)

