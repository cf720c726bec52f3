"""Postgres access: read-only connections to the checked schema, and the run history
(schema ``quality``: one row per run, one per check result)."""

from __future__ import annotations

import re
from collections import Counter
from importlib import resources
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from quality.model import QualityRun

QUALITY_SCHEMA = "quality"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# Distinct from the projection migrations' lock: both may run at start-up.
_MIGRATION_LOCK = 4243


def _schema(schema: str) -> sql.Identifier:
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"invalid schema name {schema!r}")
    return sql.Identifier(schema)


def connect(database_url: str, schema: str) -> psycopg.Connection[Any]:
    """A read-only autocommit connection whose search_path is the checked schema."""
    conn = psycopg.connect(database_url, autocommit=True, application_name="liaison-quality",
                           options=f"-c search_path={_schema(schema).as_string()}")
    conn.read_only = True
    return conn


def migration_sql() -> list[str]:
    folder = resources.files("quality").joinpath("migrations")
    return [f.read_text(encoding="utf-8") for f in sorted(folder.iterdir(), key=lambda f: f.name)
            if f.name.endswith(".sql")]


def migrate(database_url: str, schema: str = QUALITY_SCHEMA) -> None:
    """Create the run-history tables; idempotent and safe to run concurrently."""
    ident = _schema(schema)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
        try:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(ident))
            conn.execute(sql.SQL("SET search_path TO {}").format(ident))
            for text in migration_sql():
                conn.execute(text.encode())
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))


def summary(run: QualityRun) -> dict[str, Any]:
    failed = Counter(str(r.dimension) for r in run.results if not r.success)
    total = Counter(str(r.dimension) for r in run.results)
    return {
        "schema": run.schema,
        "year": run.year,
        "as_of": run.as_of.isoformat(),
        "by_dimension": {d: {"total": n, "failed": failed.get(d, 0)} for d, n in total.items()},
        "failed_checks": [r.id for r in run.results if not r.success],
    }


def save_run(database_url: str, run: QualityRun, schema: str = QUALITY_SCHEMA) -> None:
    migrate(database_url, schema)
    ident = _schema(schema)
    with psycopg.connect(database_url) as conn, conn.transaction():
        conn.execute(
            sql.SQL("INSERT INTO {}.runs (run_id, started_at, finished_at, success, checks_total,"
                    " checks_failed, stream_count, summary) VALUES (%s,%s,%s,%s,%s,%s,%s,%s)"
                    ).format(ident),
            (run.run_id, run.started_at, run.finished_at, run.success, len(run.results),
             run.checks_failed, run.stream_count, Jsonb(summary(run))))
        with conn.cursor() as cur:
            cur.executemany(
                sql.SQL("INSERT INTO {}.results (run_id, check_id, dimension, article, success,"
                        " unexpected_count, samples) VALUES (%s,%s,%s,%s,%s,%s,%s)").format(ident),
                [(run.run_id, r.id, str(r.dimension), r.article, r.success, r.unexpected_count,
                  Jsonb(r.samples)) for r in run.results])


def recent_runs(database_url: str, limit: int = 20,
                schema: str = QUALITY_SCHEMA) -> list[dict[str, Any]]:
    """Latest runs first, for trend views."""
    migrate(database_url, schema)
    with psycopg.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute(sql.SQL(
            "SELECT run_id, started_at, finished_at, success, checks_total, checks_failed,"
            " stream_count, summary FROM {}.runs ORDER BY started_at DESC LIMIT %s"
        ).format(_schema(schema)), (limit,))
        names = [d.name for d in cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
