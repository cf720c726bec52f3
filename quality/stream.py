"""What the backbone holds, next to what the projector made of it: the input of the
reconciliation and accessibility checks.

``take_snapshot`` reads, in this order, the projector's checkpoint (Postgres), the stream's
per-subject counts (one ``STREAM.INFO`` with a subjects filter), the messages after the
checkpoint (headers only), and the archive and dead-letter counts per subject up to the
checkpoint. A subject whose counts differ is then read headers-only to name the missing
event ids (the SDK sets ``Nats-Msg-Id`` to the event id).
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from psycopg import sql

from schemas.subjects import STREAM

log = logging.getLogger(__name__)

# Messages after the checkpoint read one by one; beyond this, totals only.
MAX_PENDING_SCAN = 100_000
# Event ids listed per gap (counts stay exact).
MAX_IDS = 200


@dataclass(frozen=True)
class PendingMessage:
    seq: int
    subject: str
    time: datetime


@dataclass(frozen=True)
class SubjectGap:
    """Stream vs archive + dead letters on one subject (node x event type)."""

    subject: str
    stream: int
    archived: int
    dead: int
    # In the stream, but neither archived nor dead-lettered (event ids, or "seq N").
    missing: list[str] = field(default_factory=list)
    # Archived or dead-lettered with a stream sequence the stream does not hold.
    extra: list[str] = field(default_factory=list)

    @property
    def difference(self) -> int:
        return self.stream - self.archived - self.dead


@dataclass
class StreamSnapshot:
    stream: str = STREAM
    reachable: bool = True
    error: str | None = None
    messages: int = 0
    first_seq: int = 0
    last_seq: int = 0
    checkpoint: int = 0
    taken_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # Per subject: stream messages up to the checkpoint; None when not known.
    subjects: dict[str, int] | None = None
    # Per subject: archived and dead-lettered messages up to the checkpoint.
    projected: dict[str, tuple[int, int]] = field(default_factory=dict)
    pending: list[PendingMessage] = field(default_factory=list)
    pending_total: int = 0
    oldest_pending: datetime | None = None
    gaps: list[SubjectGap] = field(default_factory=list)
    # "live": read from the backbone; "count": only a total given by the caller.
    source: str = "live"

    @property
    def counted(self) -> int:
        """Stream messages up to the checkpoint (what the archive should account for)."""
        if self.subjects is not None:
            return sum(self.subjects.values())
        return max(0, self.messages - self.pending_total)

    @classmethod
    def from_count(cls, messages: int) -> StreamSnapshot:
        """No backbone at hand (tests, offline checks): only the total is known."""
        return cls(messages=messages, last_seq=messages, checkpoint=messages, source="count")

    @classmethod
    def unreachable(cls, error: str) -> StreamSnapshot:
        return cls(reachable=False, error=error)


async def _checkpoint(database_url: str, schema: str, projector: str) -> int:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        try:
            cur = await conn.execute(
                sql.SQL("SELECT stream_seq FROM {}.checkpoints WHERE projector = %s").format(
                    sql.Identifier(schema)), (projector,))
        except psycopg.errors.UndefinedTable:
            return 0
        row = await cur.fetchone()
        return int(row[0]) if row else 0


async def scan(js: JetStreamContext, stream: str, *, subject: str = ">", start_seq: int = 1,
               stop_seq: int, limit: int | None = None) -> list[tuple[int, str, str | None, datetime]]:
    """(seq, subject, Nats-Msg-Id, time) of messages ``start_seq..stop_seq`` on ``subject``,
    headers only, through an ephemeral consumer that is deleted afterwards."""
    if stop_seq < start_seq:
        return []
    config = ConsumerConfig(
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=max(1, start_seq),
        ack_policy=AckPolicy.NONE, filter_subject=subject, headers_only=True,
        inactive_threshold=60.0, mem_storage=True)
    info = await js.add_consumer(stream, config=config)
    sub = await js.pull_subscribe_bind(consumer=info.name, stream=stream)
    out: list[tuple[int, str, str | None, datetime]] = []
    try:
        while limit is None or len(out) < limit:
            try:
                msgs = await sub.fetch(1000, timeout=2)
            except TimeoutError:
                break
            done = False
            for m in msgs:
                seq = m.metadata.sequence.stream
                if seq > stop_seq:
                    done = True
                    break
                msg_id = (m.headers or {}).get("Nats-Msg-Id")
                out.append((seq, m.subject, msg_id, m.metadata.timestamp))
            if done or (msgs and (msgs[-1].metadata.num_pending or 0) == 0):
                break
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
        with contextlib.suppress(Exception):
            await js.delete_consumer(stream, info.name)
    return out


async def _projected(database_url: str, schema: str, first: int, last: int,
                     ) -> dict[str, tuple[int, int]]:
    query = sql.SQL("""
        SELECT subject, sum(a)::bigint, sum(d)::bigint FROM (
            SELECT subject, 1 AS a, 0 AS d FROM {s}.event_archive WHERE stream_seq BETWEEN %s AND %s
            UNION ALL
            SELECT subject, 0, 1 FROM {s}.dead_letters WHERE stream_seq BETWEEN %s AND %s
        ) x GROUP BY subject""").format(s=sql.Identifier(schema))
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        cur = await conn.execute(query, (first, last, first, last))
        return {str(s): (int(a), int(d)) for s, a, d in await cur.fetchall()}


async def _db_seqs(database_url: str, schema: str, subject: str, first: int, last: int,
                   ) -> dict[int, str]:
    query = sql.SQL("""
        SELECT stream_seq, event_id::text FROM {s}.event_archive
        WHERE subject = %s AND stream_seq BETWEEN %s AND %s
        UNION ALL
        SELECT stream_seq, coalesce(event_id, 'seq ' || stream_seq) FROM {s}.dead_letters
        WHERE subject = %s AND stream_seq BETWEEN %s AND %s""").format(s=sql.Identifier(schema))
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        cur = await conn.execute(query, (subject, first, last, subject, first, last))
        return {int(seq): str(eid) for seq, eid in await cur.fetchall()}


async def _gap(js: JetStreamContext, snap: StreamSnapshot, database_url: str, schema: str,
               subject: str) -> SubjectGap:
    archived, dead = snap.projected.get(subject, (0, 0))
    stream_n = (snap.subjects or {}).get(subject, 0)
    first, last = snap.first_seq, snap.checkpoint
    in_stream = {seq: mid for seq, _, mid, _ in
                 await scan(js, snap.stream, subject=subject, start_seq=first, stop_seq=last)}
    in_db = await _db_seqs(database_url, schema, subject, first, last)
    missing = [in_stream[s] or f"seq {s}" for s in sorted(set(in_stream) - set(in_db))]
    extra = [in_db[s] for s in sorted(set(in_db) - set(in_stream))]
    return SubjectGap(subject, stream_n, archived, dead, missing[:MAX_IDS], extra[:MAX_IDS])


async def take_snapshot(js: JetStreamContext, database_url: str, *, schema: str = "projection",
                        projector: str = "projector", stream: str = STREAM) -> StreamSnapshot:
    """The stream as the reconciliation and accessibility checks see it; never raises for an
    unreachable backbone (that is a finding: ``reachable`` False)."""
    checkpoint = await _checkpoint(database_url, schema, projector)
    try:
        info = await js.stream_info(stream, subjects_filter=">")
    except Exception as exc:
        log.warning("stream %s not readable: %r", stream, exc)
        return StreamSnapshot.unreachable(f"{type(exc).__name__}: {exc}"[:300])
    state = info.state
    snap = StreamSnapshot(stream=stream, messages=state.messages, first_seq=state.first_seq,
                          last_seq=state.last_seq, checkpoint=min(checkpoint, state.last_seq))
    counts = dict(state.subjects or {})
    snap.pending_total = max(0, state.last_seq - max(snap.checkpoint, state.first_seq - 1))
    if snap.pending_total:
        start = max(snap.checkpoint + 1, state.first_seq)
        pending = await scan(js, stream, start_seq=start, stop_seq=state.last_seq,
                             limit=MAX_PENDING_SCAN if snap.pending_total > MAX_PENDING_SCAN else None)
        snap.pending = [PendingMessage(seq, subj, t) for seq, subj, _, t in pending]
        snap.oldest_pending = min((p.time for p in snap.pending), default=None)
        snap.pending_total = len(pending) if len(pending) < MAX_PENDING_SCAN else snap.pending_total
    if snap.pending_total <= MAX_PENDING_SCAN:
        for p in snap.pending:
            counts[p.subject] = counts.get(p.subject, 0) - 1
        snap.subjects = {s: n for s, n in counts.items() if n > 0}
    snap.projected = await _projected(database_url, schema, max(1, state.first_seq), snap.checkpoint)
    if snap.subjects is not None:
        differing = sorted(
            s for s in set(snap.subjects) | set(snap.projected)
            if snap.subjects.get(s, 0) != sum(snap.projected.get(s, (0, 0))))
        for subject in differing:
            snap.gaps.append(await _gap(js, snap, database_url, schema, subject))
    return snap


def snapshot_summary(snap: StreamSnapshot) -> dict[str, Any]:
    return {
        "stream": snap.stream, "reachable": snap.reachable, "error": snap.error,
        "messages": snap.messages, "first_seq": snap.first_seq, "last_seq": snap.last_seq,
        "checkpoint": snap.checkpoint, "pending": snap.pending_total,
        "oldest_pending": snap.oldest_pending.isoformat() if snap.oldest_pending else None,
        "taken_at": snap.taken_at.isoformat(), "source": snap.source,
    }
