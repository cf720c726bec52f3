"""Benchmark harness: raw ceilings and the pipeline in one run, on fresh embedded servers.

Ceilings: nats-py JetStream publish (pipelined acks) and pull-consume, psycopg COPY.
Pipeline: the node SDK publishing the same events, and the projector folding them.
A figure alone means little on a shared machine; the ratios are the point.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import nats
from nats.js.api import StorageType, StreamConfig

from consumers import projector
from consumers.store import LIVE_SCHEMA, connect, migrate
from hub.embedded import NatsProcess, PostgresProcess, stop_pid
from hub.provision import provision
from producers.sdk import NodePublisher, new_event_id
from schemas import events as ev
from schemas.envelope import Envelope, encode

NODE = "330602001"
STATION = "330602001-01"
RAW_STREAM = "BENCH_RAW"


@dataclass
class Figure:
    name: str
    count: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


def _payloads(n: int) -> list[tuple[ev.Payload, datetime]]:
    t0 = datetime(2025, 1, 1, 9, tzinfo=timezone(timedelta(hours=8)))
    out: list[tuple[ev.Payload, datetime]] = [
        (
            ev.StationEstablished(
                station_id=STATION,
                name="塔山街道人大代表联络站",
                level="联络站",
                region_code=NODE,
                address="绍兴市越城区",
                ground_floor=True,
                functional_areas=["办公", "接待", "展示"],
            ),
            t0,
        )
    ]
    for i in range((n - 1) // 2):
        oid = f"O-{i}"
        at = t0 + timedelta(minutes=i)
        out.append(
            (
                ev.OpinionReceived(
                    station_id=STATION,
                    opinion_id=oid,
                    category="交通出行",
                    channel="on_site",
                    content="小区门口路灯损坏，夜间出行不便，希望尽快修复。",
                    citizen=ev.Citizen(name="张三", phone="13812345678"),
                ),
                at,
            )
        )
        out.append(
            (
                ev.OpinionAnswered(station_id=STATION, opinion_id=oid, answer="已联系物业修复"),
                at + timedelta(seconds=30),
            )
        )
    return out


async def _raw_publish(js: Any, datas: list[bytes]) -> Figure:
    await js.add_stream(StreamConfig(name=RAW_STREAM, subjects=["bench.raw"], storage=StorageType.FILE))
    t = time.perf_counter()
    window = 512
    for i in range(0, len(datas), window):
        futs = [
            await js.publish_async("bench.raw", d, headers={"Nats-Msg-Id": new_event_id()})
            for d in datas[i : i + window]
        ]
        await asyncio.gather(*futs)
    return Figure("nats-py publish (raw)", len(datas), time.perf_counter() - t)


async def _raw_consume(js: Any, n: int) -> Figure:
    sub = await js.pull_subscribe("bench.raw", durable="bench", stream=RAW_STREAM)
    got = 0
    t = time.perf_counter()
    while got < n:
        msgs = await sub.fetch(500, timeout=5)
        await asyncio.gather(*(m.ack() for m in msgs))
        got += len(msgs)
    return Figure("nats-py pull-consume + ack (raw)", got, time.perf_counter() - t)


async def _raw_copy(url: str, envs: list[Envelope]) -> Figure:
    rows = [
        (
            e.event_id,
            i + 1,
            "bench",
            e.type,
            1,
            e.origin,
            e.actor,
            e.occurred_at,
            e.recorded_at,
            encode(e).decode(),
        )
        for i, e in enumerate(envs)
    ]
    async with await connect(url, LIVE_SCHEMA) as conn:
        await conn.execute("CREATE TEMP TABLE copy_bench (LIKE event_archive INCLUDING DEFAULTS)")
        t = time.perf_counter()
        async with (
            conn.cursor() as cur,
            cur.copy(
                "COPY copy_bench (event_id, stream_seq, subject, type, schema_version, origin, actor,"
                " occurred_at, recorded_at, payload) FROM STDIN"
            ) as copy,
        ):
            for r in rows:
                await copy.write_row(r)
        await conn.commit()
        return Figure("psycopg COPY into archive (raw)", len(rows), time.perf_counter() - t)


async def run_bench(events: int = 20_000) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        home = Path(tmp)
        pg = PostgresProcess(home / "postgres")
        pg_port = pg.start()
        nats_port, _, nats_pid = NatsProcess(home / "nats").start()
        url = f"postgresql://postgres@127.0.0.1:{pg_port}/liaison"
        nats_url = f"nats://127.0.0.1:{nats_port}"
        try:
            return await _measure(nats_url, url, events)
        finally:
            stop_pid(nats_pid)
            pg.stop()


async def _measure(nats_url: str, url: str, events: int) -> dict[str, Any]:
    await migrate(url, LIVE_SCHEMA)
    nc = await nats.connect(nats_url)
    js = nc.jetstream(timeout=10)
    await provision(js)
    pub = NodePublisher(js, NODE, "bench")
    envs = [pub.build(p, at, recorded_at=at) for p, at in _payloads(events)]
    datas = [encode(e) for e in envs]

    figures = [await _raw_publish(js, datas), await _raw_consume(js, len(datas)), await _raw_copy(url, envs)]
    t = time.perf_counter()
    await pub.publish_all(envs)
    figures.append(Figure("pipeline: SDK publish", len(envs), time.perf_counter() - t))
    async with await connect(url, LIVE_SCHEMA) as conn:
        t = time.perf_counter()
        stats = await projector.run(js, conn)
        figures.append(Figure("pipeline: projector", stats.applied, time.perf_counter() - t))
    await nc.drain()

    by = {f.name: f for f in figures}
    raw_pub, raw_con, raw_copy, sdk, proj = (by[f.name] for f in figures)
    ratios = {
        "sdk_publish / raw_publish": sdk.rate / raw_pub.rate,
        "projector / raw_consume": proj.rate / raw_con.rate,
        "projector / raw_copy": proj.rate / raw_copy.rate,
    }
    return {
        "events": len(envs),
        "figures": [
            {"name": f.name, "count": f.count, "seconds": round(f.seconds, 3), "per_second": round(f.rate)}
            for f in figures
        ],
        "ratios": {k: round(v, 3) for k, v in ratios.items()},
    }
