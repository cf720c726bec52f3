"""Postgres access for the projectors: connections bound to a schema, and migrations."""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import psycopg
from psycopg import AsyncConnection, sql

LIVE_SCHEMA = "projection"
PROJECTION_TABLES = (
    "stations",
    "staff",
    "disclosures",
    "deputies",
    "enrolments",
    "visits",
    "receptions",
    "opinions",
    # Arts. 13-24 (migration 002)
    "contacts",
    "agency_services",
    "reception_plans",
    "reception_plan_items",
    "consultations",
    "activities",
    "proposal_leads",
    "voter_reports",
    "evaluations",
    "budgets",
    "staff_trainings",
    "purchased_services",
    "assessments",
    "commendations",
    "event_archive",
    "dead_letters",
)
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class InvalidSchemaName(ValueError):
    pass


def _check_schema(schema: str) -> str:
    if not _SCHEMA_NAME.match(schema):
        raise InvalidSchemaName(f"模式名 {schema!r} 无效：只能用小写字母、数字和下划线，且以字母或下划线开头")
    return schema


def migration_sql() -> list[str]:
    folder = resources.files("consumers").joinpath("migrations")
    return [
        f.read_text(encoding="utf-8")
        for f in sorted(folder.iterdir(), key=lambda f: f.name)
        if f.name.endswith(".sql")
    ]


async def connect(url: str, schema: str = LIVE_SCHEMA) -> AsyncConnection[Any]:
    # synchronous_commit on whatever the server says: the projector acks JetStream after
    # COMMIT, so a commit that a crash can still undo would lose acknowledged events.
    return await AsyncConnection.connect(
        url,
        options=f"-c search_path={_check_schema(schema)} -c synchronous_commit=on",
        application_name="liaison-hub",
    )


async def migrate(url: str, schema: str = LIVE_SCHEMA, *, fresh: bool = False) -> None:
    """Create the projection tables in ``schema``; idempotent. ``fresh`` drops it first."""
    _check_schema(schema)
    async with await AsyncConnection.connect(url, autocommit=True) as conn:
        # Serialise concurrent migrations (tests, two CLIs starting at once).
        await conn.execute("SELECT pg_advisory_lock(4242)")
        try:
            if fresh:
                await conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
            await conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
            await conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
            for text in migration_sql():
                await conn.execute(text.encode())
        finally:
            await conn.execute("SELECT pg_advisory_unlock(4242)")


def sync_connect(url: str, schema: str = LIVE_SCHEMA) -> psycopg.Connection[Any]:
    return psycopg.connect(
        url, options=f"-c search_path={_check_schema(schema)}", application_name="liaison-hub"
    )


async def table_counts(conn: AsyncConnection[Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for table in PROJECTION_TABLES:
        cur = await conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
        row = await cur.fetchone()
        out[table] = int(row[0]) if row else 0
    return out
