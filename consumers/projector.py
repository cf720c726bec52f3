"""The projector: pull a batch, apply it and its stream position in one transaction, then ack.

Acks follow COMMIT, so a crash before it redelivers the batch. Every stream message
ends in exactly one of event_archive and dead_letters (keyed by stream sequence), so a
message redelivered after its COMMIT is recognised and changes nothing; an event id seen
at another sequence is a duplicate publish, recorded as such.
Order matters (an opinion's steps, a station before its visits), so: one projector per
durable (an advisory lock), one batch in flight (max_ack_pending), and a batch that
cannot commit is held and retried in place rather than NAKed with a delay, which would
let newer messages overtake it.
A batch that fails on something else is retried one event at a time (savepoints) so
that one poison event is dead-lettered instead of stalling the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from psycopg import AsyncConnection

from consumers import projection
from consumers.projection import ApplyError
from schemas.envelope import Envelope, EventRejected, decode
from schemas.subjects import ALL_EVENTS, STREAM

log = logging.getLogger(__name__)

DURABLE = "projector"
BATCH = 500
MAX_DELIVER = 20
# Redelivery back-off; its first step also bounds how long a crashed projector's
# batch waits before it is delivered again.
BACKOFF = [5.0, 10.0, 30.0, 60.0, 120.0]


def consumer_config(durable: str = DURABLE, filter_subject: str = ALL_EVENTS) -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=durable,
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=60,
        max_deliver=MAX_DELIVER,
        backoff=BACKOFF,
        # One batch in flight keeps delivery in stream order even after a crash: nothing
        # newer is delivered until the unacked batch comes back, which the checkpoint relies on.
        max_ack_pending=BATCH,
        filter_subject=filter_subject,
    )


class ProjectorBusy(RuntimeError):
    """Another projector holds this durable; two would apply batches out of order."""


class ProjectorStopped(RuntimeError):
    """Postgres stayed unreachable; the batch was handed back to JetStream unapplied."""


@dataclass
class BatchStats:
    applied: int = 0
    dead_lettered: int = 0
    duplicates: int = 0
    redelivered: int = 0
    last_seq: int = 0
    by_type: dict[str, int] = field(default_factory=dict)

    def add(self, other: BatchStats) -> None:
        self.applied += other.applied
        self.dead_lettered += other.dead_lettered
        self.duplicates += other.duplicates
        self.redelivered += other.redelivered
        self.last_seq = max(self.last_seq, other.last_seq)
        for k, v in other.by_type.items():
            self.by_type[k] = self.by_type.get(k, 0) + v


class _CrashForTest(Exception):
    pass


def _fault(name: str, seq: int) -> None:
    """Fault injection for the crash tests: die hard at a given stream sequence."""
    at = os.environ.get(name)
    if at is not None and int(at) == seq:
        log.warning("fault injection %s at stream seq %d: exiting", name, seq)
        os._exit(137)


async def _dead_letter(
    cur: psycopg.AsyncCursor[Any],
    msg: Msg,
    seq: int,
    stage: str,
    reason: str,
    event_id: str | None,
    event_type: str | None,
) -> None:
    await cur.execute(
        """INSERT INTO dead_letters (stream_seq, subject, event_id, event_type, stage, reason, raw,
               deliveries) VALUES (%s,%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (stream_seq) DO NOTHING""",
        (seq, msg.subject, event_id, event_type, stage, reason, msg.data, msg.metadata.num_delivered or 1),
    )


def duplicate_reason(env: Envelope) -> str:
    """Why a re-sent event is a dead letter (in Chinese, like every stored reason)."""
    return (
        f"{env.type}：`event_id` {env.event_id} 的事件已经归档过，这条是同一事件的重复发送，"
        "已忽略，不影响数据，无需处理"
    )


def refused_reason(raw: bytes, exc: Exception) -> str:
    """Why PostgreSQL refused an event; its own (English) error is kept for the engineers."""
    try:
        env = decode(raw)
    except EventRejected:
        what = "数据库拒绝写入该事件"
    else:
        what = f"{env.type}：数据库拒绝写入 `event_id` {env.event_id} 的事件"
    return f"{what}，请把这条死信交给技术人员处理（数据库报错：{exc}）"


class Projector:
    """Folds the stream into the tables of one schema (the connection's search_path)."""

    def __init__(self, conn: AsyncConnection[Any], name: str = DURABLE, durable: str | None = None) -> None:
        self.conn = conn
        self.name = name
        self.durable = durable or name

    async def checkpoint(self) -> int:
        cur = await self.conn.execute("SELECT stream_seq FROM checkpoints WHERE projector=%s", (self.name,))
        row = await cur.fetchone()
        await self.conn.commit()
        return int(row[0]) if row else 0

    async def _apply_one(
        self,
        cur: psycopg.AsyncCursor[Any],
        ctx: projection.BatchContext,
        msg: Msg,
        seq: int,
        stats: BatchStats,
    ) -> None:
        try:
            env = decode(msg.data)
        except EventRejected as exc:
            await _dead_letter(cur, msg, seq, "decode", str(exc), exc.event_id, exc.event_type)
            stats.dead_lettered += 1
            return
        if env.event_id in ctx.archived:
            await _dead_letter(cur, msg, seq, "duplicate", duplicate_reason(env), env.event_id, env.type)
            stats.duplicates += 1
            return
        try:
            await projection.apply(cur, ctx, env)
        except ApplyError as exc:
            # Handlers refuse before they write: nothing to undo.
            await _dead_letter(cur, msg, seq, "apply", str(exc), env.event_id, env.type)
            stats.dead_lettered += 1
            return
        await projection.archive(cur, ctx, env, seq, msg.subject)
        stats.applied += 1
        stats.by_type[env.type] = stats.by_type.get(env.type, 0) + 1

    async def _context(
        self, cur: psycopg.AsyncCursor[Any], msgs: Sequence[tuple[Msg, int]]
    ) -> projection.BatchContext:
        envs = []
        for msg, _ in msgs:
            with contextlib.suppress(EventRejected):
                envs.append(decode(msg.data))
        return await projection.load_context(cur, envs)

    async def _apply_batch(self, msgs: Sequence[Msg], isolate: bool) -> BatchStats:
        stats = BatchStats()
        async with self.conn.transaction(), self.conn.cursor() as cur:
            await cur.execute(
                "INSERT INTO checkpoints (projector, stream_seq) VALUES (%s, 0) ON CONFLICT DO NOTHING",
                (self.name,),
            )
            await cur.execute(
                "SELECT stream_seq FROM checkpoints WHERE projector=%s FOR UPDATE", (self.name,)
            )
            row = await cur.fetchone()
            high_water = int(row[0]) if row else 0
            seqs = [m.metadata.sequence.stream for m in msgs]
            # Committed before, ack lost: already accounted for, change nothing.
            await cur.execute(
                "SELECT stream_seq FROM event_archive WHERE stream_seq = ANY(%s)"
                " UNION ALL SELECT stream_seq FROM dead_letters WHERE stream_seq = ANY(%s)",
                (seqs, seqs),
            )
            accounted = {int(r[0]) for r in await cur.fetchall()}
            todo = [(m, seq) for m, seq in zip(msgs, seqs, strict=True) if seq not in accounted]
            stats.redelivered = len(msgs) - len(todo)
            stats.last_seq = max([high_water, *seqs])
            ctx = await self._context(cur, todo)
            if not isolate:
                async with self.conn.pipeline():
                    for msg, seq in todo:
                        _fault("HUB_FAULT_CRASH_BEFORE_COMMIT_AT_SEQ", seq)
                        await self._apply_one(cur, ctx, msg, seq, stats)
            else:
                for i, (msg, seq) in enumerate(todo):
                    try:
                        async with self.conn.transaction():
                            await self._apply_one(cur, ctx, msg, seq, stats)
                    except psycopg.OperationalError:
                        raise
                    except psycopg.Error as exc:
                        await _dead_letter(cur, msg, seq, "apply", refused_reason(msg.data, exc), None, None)
                        stats.dead_lettered += 1
                        # The savepoint undid the writes; re-read what the rest depends on.
                        ctx = await self._context(cur, todo[i + 1 :])
            await cur.execute(
                "UPDATE checkpoints SET stream_seq=%s WHERE projector=%s", (stats.last_seq, self.name)
            )
        return stats

    async def handle(self, msgs: Sequence[Msg]) -> BatchStats:
        """Apply a batch and ack it after COMMIT. psycopg.OperationalError (Postgres away)
        propagates with the batch unacked, for the caller to hold and retry."""
        if not msgs:
            return BatchStats()
        try:
            stats = await self._apply_batch(msgs, isolate=False)
        except psycopg.OperationalError:
            raise
        except psycopg.Error as exc:
            log.warning("batch failed (%s); retrying event by event", exc)
            stats = await self._apply_batch(msgs, isolate=True)
        _fault("HUB_FAULT_CRASH_AFTER_COMMIT_AT_SEQ", stats.last_seq)
        await asyncio.gather(*(m.ack() for m in msgs))
        return stats

    @property
    def _lock_key(self) -> str:
        return f"projector:{self.durable}"

    async def unlock(self) -> None:
        with contextlib.suppress(psycopg.Error):
            await self.conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (self._lock_key,))
            await self.conn.commit()

    async def lock(self) -> None:
        """Hold the durable for this session; ProjectorBusy if another projector has it."""
        cur = await self.conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (self._lock_key,))
        row = await cur.fetchone()
        await self.conn.commit()
        if not (row and row[0]):
            raise ProjectorBusy(
                f"另一个投影器（{self.durable}）正在运行：同一消费者只能有一个投影器，否则批次会乱序。"
                "请等它结束，或先停止它。"
            )


Reconnect = Callable[[], Awaitable[AsyncConnection[Any]]]


async def _hold_and_retry(projector: Projector, msgs: Sequence[Msg], reconnect: Reconnect | None,
                          give_up_after: float | None) -> BatchStats:
    """Postgres is away: keep the batch (in_progress), reconnect with back-off, retry."""
    waited = 0.0
    attempt = 0
    while True:
        delay = BACKOFF[min(attempt, len(BACKOFF) - 1)] / 5  # 1 s, 2 s, 6 s, 12 s, 24 s
        if (give_up_after is not None and waited >= give_up_after) or reconnect is None:
            # Hand the batch back at once: without a delay it is redelivered before anything newer.
            await asyncio.gather(*(m.nak() for m in msgs), return_exceptions=True)
            raise ProjectorStopped(
                f"PostgreSQL 在 {waited:.0f} 秒内无法连接，本批 {len(msgs)} 条事件已退回事件流、未丢失。"
                "请检查数据库（liaison-hub status），恢复后重新运行投影器。"
            )
        await asyncio.gather(*(m.in_progress() for m in msgs), return_exceptions=True)
        await asyncio.sleep(delay)
        waited += delay
        attempt += 1
        try:
            with contextlib.suppress(Exception):
                await projector.conn.close()
            projector.conn = await reconnect()
            await projector.lock()
            return await projector.handle(msgs)
        except psycopg.OperationalError as exc:
            log.warning("Postgres still unreachable (%s); holding the batch, attempt %d", exc, attempt)


async def ensure_consumer(js: JetStreamContext, durable: str = DURABLE) -> None:
    """Create or update the durable pull consumer explicitly (pull_subscribe would not update it)."""
    await js.add_consumer(STREAM, config=consumer_config(durable))


async def run(
    js: JetStreamContext,
    conn: AsyncConnection[Any],
    *,
    durable: str = DURABLE,
    checkpoint_name: str | None = None,
    until_caught_up: bool = True,
    batch: int = BATCH,
    stop_at_seq: int | None = None,
    on_batch: Callable[[BatchStats, int], None] | None = None,
    stop: asyncio.Event | None = None,
    reconnect: Reconnect | None = None,
    give_up_after: float | None = 120.0,
) -> BatchStats:
    """Consume until the consumer has nothing pending, ``stop_at_seq`` is reached or ``stop`` is set.

    If Postgres goes away, the batch in hand is held and retried through ``reconnect`` for up
    to ``give_up_after`` seconds (None: for ever), then handed back (ProjectorStopped)."""
    projector = Projector(conn, checkpoint_name or durable, durable)
    await projector.lock()
    sub = await js.pull_subscribe_bind(durable=durable, stream=STREAM)
    total = BatchStats()
    try:
        while stop is None or not stop.is_set():
            if stop_at_seq is not None and total.last_seq >= stop_at_seq:
                break
            try:
                msgs = await sub.fetch(batch, timeout=0.5)
            except TimeoutError:
                msgs = []
            if stop_at_seq is not None:
                msgs = [m for m in msgs if m.metadata.sequence.stream <= stop_at_seq]
                if not msgs and total.last_seq < stop_at_seq and not until_caught_up:
                    continue
            if msgs:
                try:
                    stats = await projector.handle(msgs)
                except psycopg.OperationalError as exc:
                    log.error("batch could not commit (%s); holding it and reconnecting", exc)
                    stats = await _hold_and_retry(projector, msgs, reconnect, give_up_after)
                total.add(stats)
                if on_batch:
                    pending = msgs[-1].metadata.num_pending or 0
                    on_batch(stats, pending)
                continue
            if until_caught_up:
                info = await sub.consumer_info()
                if info.num_pending == 0 and info.num_ack_pending == 0:
                    break
    finally:
        await sub.unsubscribe()
        await projector.unlock()
    return total


async def delete_consumer(js: JetStreamContext, durable: str) -> None:
    with contextlib.suppress(NotFoundError):
        await js.delete_consumer(STREAM, durable)
