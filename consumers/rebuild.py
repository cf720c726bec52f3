"""Replay the stream into a fresh schema and compare it with the live projections."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import uuid_utils
from nats.js import JetStreamContext
from psycopg import sql

from consumers import projector
from consumers.store import LIVE_SCHEMA, PROJECTION_TABLES, connect, migrate

REBUILD_SCHEMA = re.compile(r"^rebuild(_[a-z0-9_]{1,40})?$")
# Differs between a live run and a replay by nature (how often a message was delivered).
_NOT_COMPARED = {"deliveries"}


@dataclass
class TableDiff:
    table: str
    live_rows: int
    rebuilt_rows: int
    only_live: int
    only_rebuilt: int

    @property
    def equal(self) -> bool:
        return self.only_live == 0 and self.only_rebuilt == 0


@dataclass
class RebuildReport:
    schema: str
    up_to_seq: int
    replayed: int
    tables: list[TableDiff] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return all(t.equal for t in self.tables)


async def _columns(conn: Any, schema: str, table: str) -> list[str]:
    cur = await conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema=%s AND table_name=%s"
        " ORDER BY ordinal_position",
        (schema, table),
    )
    return [r[0] for r in await cur.fetchall() if r[0] not in _NOT_COMPARED]


async def compare(url: str, live: str, rebuilt: str) -> list[TableDiff]:
    out = []
    async with await connect(url, live) as conn:
        for table in (*PROJECTION_TABLES, "checkpoints"):
            cols = sql.SQL(", ").join(sql.Identifier(c) for c in await _columns(conn, live, table))
            a = sql.Identifier(live, table)
            b = sql.Identifier(rebuilt, table)
            q = sql.SQL(
                "SELECT (SELECT count(*) FROM {a}), (SELECT count(*) FROM {b}),"
                " (SELECT count(*) FROM (SELECT {c} FROM {a} EXCEPT ALL SELECT {c} FROM {b}) x),"
                " (SELECT count(*) FROM (SELECT {c} FROM {b} EXCEPT ALL SELECT {c} FROM {a}) y)"
            ).format(a=a, b=b, c=cols)
            row = await (await conn.execute(q)).fetchone()
            assert row is not None
            out.append(TableDiff(table, *(int(v) for v in row)))
    return out


async def rebuild(js: JetStreamContext, url: str, schema: str = "rebuild") -> RebuildReport:
    """Replay the stream up to the live checkpoint into ``schema`` (dropped first) and compare."""
    if not REBUILD_SCHEMA.match(schema):
        # The target is dropped first: never let that be the live, quality or any other schema.
        raise ValueError(f"重建目标模式名必须是 rebuild 或 rebuild_<小写字母数字>，不能是 {schema!r}")
    async with await connect(url, LIVE_SCHEMA) as live:
        up_to = await projector.Projector(live).checkpoint()
    await migrate(url, schema, fresh=True)
    durable = f"rebuild-{uuid_utils.uuid7().hex[:12]}"
    await projector.ensure_consumer(js, durable)
    try:
        async with await connect(url, schema) as conn:
            stats = await projector.run(
                js, conn, durable=durable, checkpoint_name=projector.DURABLE, stop_at_seq=up_to
            )
    finally:
        await projector.delete_consumer(js, durable)
    report = RebuildReport(schema, up_to, stats.applied + stats.dead_lettered + stats.duplicates)
    report.tables = await compare(url, LIVE_SCHEMA, schema)
    return report
