"""What is in the hub right now: stream position, projection counts, dead letters."""

from __future__ import annotations

from typing import Any

from nats.js.errors import NotFoundError

from consumers.projector import DURABLE
from consumers.store import LIVE_SCHEMA, connect, table_counts
from hub.runtime import Endpoints, backbone
from schemas.subjects import STREAM


async def stream_position(ep: Endpoints) -> dict[str, Any]:
    async with backbone(ep.nats_url) as (_, js):
        try:
            info = await js.stream_info(STREAM)
        except NotFoundError:
            return {"stream": STREAM, "exists": False, "messages": 0, "last_seq": 0}
        out: dict[str, Any] = {
            "stream": STREAM,
            "exists": True,
            "messages": info.state.messages,
            "first_seq": info.state.first_seq,
            "last_seq": info.state.last_seq,
            "bytes": info.state.bytes,
        }
        try:
            ci = await js.consumer_info(STREAM, DURABLE)
            out["projector_pending"] = ci.num_pending
            out["projector_ack_pending"] = ci.num_ack_pending
        except NotFoundError:
            out["projector_pending"] = None
        return out


async def collect(ep: Endpoints) -> dict[str, Any]:
    """One JSON-able document: stream, checkpoint, counts per table and per event type."""
    status: dict[str, Any] = {
        "nats_url": ep.nats_url,
        "embedded": ep.embedded,
        "stream": await stream_position(ep),
    }
    async with await connect(ep.database_url, LIVE_SCHEMA) as conn:
        status["tables"] = await table_counts(conn)
        cur = await conn.execute("SELECT type, count(*) FROM event_archive GROUP BY type ORDER BY type")
        status["events_by_type"] = {t: int(n) for t, n in await cur.fetchall()}
        cur = await conn.execute("SELECT stream_seq FROM checkpoints WHERE projector=%s", (DURABLE,))
        row = await cur.fetchone()
        status["checkpoint"] = int(row[0]) if row else 0
        cur = await conn.execute(
            "SELECT stream_seq, subject, stage, event_type, reason FROM dead_letters "
            "WHERE stage <> 'duplicate' ORDER BY stream_seq LIMIT 50"
        )
        status["dead_letters"] = [
            {"stream_seq": s, "subject": subj, "stage": st, "event_type": et, "reason": r}
            for s, subj, st, et, r in await cur.fetchall()
        ]
    return status
