"""One quality job as the CLI, the scheduler and the demo run it: take the run lock, snapshot
the stream, run the checks (in a worker thread: GX is synchronous), publish the summary.

The lock is a Postgres advisory lock per checked schema, held on its own connection for the
whole job: a second job (another process, another ``serve``) either waits for it or, when
``wait`` is False (scheduled runs), stands down and records the skip. So runs never double.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import nats
import psycopg
from psycopg import sql

from quality import store
from quality.config import QualityConfig
from quality.model import Dimension, QualityRun
from quality.params import CHINA_TZ
from quality.reconcile import SiteCounts
from quality.stream import StreamSnapshot, take_snapshot

log = logging.getLogger(__name__)


@dataclass
class JobOutcome:
    status: str                             # ran | skipped
    run: QualityRun | None = None
    published: dict[str, Any] | None = None
    reason: str | None = None


@asynccontextmanager
async def run_lock(database_url: str, checked_schema: str, *, wait: bool) -> AsyncIterator[bool]:
    """Yields whether the run lock of ``checked_schema`` is held (always True when waiting)."""
    async with await psycopg.AsyncConnection.connect(
            database_url, autocommit=True, application_name="liaison-quality-lock") as conn:
        args = (store.RUN_LOCK, checked_schema)
        if wait:
            await conn.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", args)
            held = True
        else:
            cur = await conn.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", args)
            row = await cur.fetchone()
            held = bool(row and row[0])
        try:
            yield held
        finally:
            if held:
                await conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", args)


def today_china() -> date:
    return datetime.now(CHINA_TZ).date()


async def latest_year(database_url: str, schema: str) -> int | None:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        try:
            cur = await conn.execute(sql.SQL("SELECT max(year) FROM {}.visits").format(
                sql.Identifier(schema)))
        except psycopg.errors.UndefinedTable:
            return None
        row = await cur.fetchone()
        return int(row[0]) if row and row[0] else None


async def resolve_period(database_url: str, schema: str, year: int | None,
                         as_of: date | None) -> tuple[int, date]:
    """The year checked (default: the latest year with visits, else this year) and the
    cut-off (default: today, but never past that year's 31 December)."""
    if year is None:
        year = await latest_year(database_url, schema) or today_china().year
    if as_of is None:
        as_of = min(today_china(), date(year, 12, 31))
    return year, as_of


async def run_once(nats_url: str, database_url: str, *, reports_dir: Path,
                   year: int | None = None, as_of: date | None = None,
                   schema: str = "projection", projector: str = "projector",
                   config: QualityConfig | None = None,
                   dimensions: Sequence[Dimension] | None = None, wait: bool = True,
                   trigger: str = "manual", city: str = "3306",
                   sites: Sequence[SiteCounts] | None = None,
                   publish: bool = True) -> JobOutcome:
    """Run the checks once; ``status`` is ``skipped`` when another run holds the lock and
    ``wait`` is False."""
    from quality.publish import publish_report
    from quality.runner import run_quality

    config = config or QualityConfig()
    async with run_lock(database_url, schema, wait=wait) as held:
        if not held:
            reason = "另一次质量检查正在进行（同一数据库），本次跳过"
            await asyncio.to_thread(store.record_skip, database_url, schema, trigger, reason)
            log.warning("%s: %s", trigger, reason)
            return JobOutcome("skipped", reason=reason)
        year, as_of = await resolve_period(database_url, schema, year, as_of)
        nc = None
        try:
            nc = await nats.connect(nats_url, name="liaison-quality", connect_timeout=3,
                                    max_reconnect_attempts=1, allow_reconnect=False)
            js = nc.jetstream(timeout=10)
            snapshot = await take_snapshot(js, database_url, schema=schema, projector=projector)
        except Exception as exc:
            log.warning("backbone not reachable: %r", exc)
            snapshot = StreamSnapshot.unreachable(f"{type(exc).__name__}: {exc}"[:300])
            js = None
        try:
            run = await asyncio.to_thread(
                run_quality, database_url, year=year, as_of=as_of, reports_dir=reports_dir,
                snapshot=snapshot, schema=schema, config=config, dimensions=dimensions,
                sites=sites, city=city, trigger=trigger)
            published = None
            if publish and js is not None:
                try:
                    published = await publish_report(js, run)
                except Exception as exc:  # the report stands; say why it was not shared
                    log.warning("quality.report.published not sent: %r", exc)
            return JobOutcome("ran", run, published)
        finally:
            if nc is not None:
                await nc.drain()
