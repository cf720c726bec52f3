"""Postgres access: read-only connections to the checked schema, the run history (schema
``quality``: runs, per-check results, per-node scores, skipped runs) and the run lock."""

from __future__ import annotations

import re
from collections import Counter
from importlib import resources
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from quality.model import QualityRun

QUALITY_SCHEMA = "quality"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# Distinct from the projection migrations' lock: both may run at start-up.
_MIGRATION_LOCK = 4243
# Held for the whole of a run (second key: the checked schema), so two processes
# (two `serve`, or `serve` and `quality run`) never run the same checks at once.
RUN_LOCK = 4244
OVERALL = "综合"


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
        "scope": run.scope,
        "year": run.year,
        "as_of": run.as_of.isoformat(),
        "by_dimension": {d: {"total": n, "failed": failed.get(d, 0)} for d, n in total.items()},
        "failed_checks": [r.id for r in run.results if not r.success],
    }


def save_run(database_url: str, run: QualityRun, *, trigger: str = "manual",
             schema: str = QUALITY_SCHEMA) -> None:
    migrate(database_url, schema)
    ident = _schema(schema)
    with psycopg.connect(database_url) as conn, conn.transaction():
        conn.execute(
            sql.SQL("INSERT INTO {}.runs (run_id, started_at, finished_at, success, checks_total,"
                    " checks_failed, stream_count, summary, checked_schema, scope, trigger,"
                    " overall_score, dimension_scores)"
                    " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)").format(ident),
            (run.run_id, run.started_at, run.finished_at, run.success, len(run.results),
             run.checks_failed, run.stream_count, Jsonb(summary(run)), run.schema, run.scope,
             trigger, run.overall_score, Jsonb(run.dimension_scores)))
        with conn.cursor() as cur:
            cur.executemany(
                sql.SQL("INSERT INTO {}.results (run_id, check_id, dimension, article, success,"
                        " unexpected_count, samples, title_zh, observed, population, by_node)"
                        " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)").format(ident),
                [(run.run_id, r.id, str(r.dimension), r.article, r.success, r.unexpected_count,
                  Jsonb(r.samples), r.title_zh, r.observed, r.population,
                  Jsonb({k: [t.unexpected, t.population] for k, t in r.by_node.items()}))
                 for r in run.results])
            rows = [(run.run_id, n.node, n.level, d, s)
                    for n in run.node_scores for d, s in n.dimensions.items()]
            rows += [(run.run_id, n.node, n.level, OVERALL, n.overall)
                     for n in run.node_scores if n.overall is not None]
            cur.executemany(
                sql.SQL("INSERT INTO {}.node_scores (run_id, node, level, dimension, score)"
                        " VALUES (%s,%s,%s,%s,%s)").format(ident), rows)


def record_skip(database_url: str, checked_schema: str, trigger: str, reason: str,
                schema: str = QUALITY_SCHEMA) -> None:
    migrate(database_url, schema)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("INSERT INTO {}.skipped_runs (checked_schema, trigger, reason)"
                             " VALUES (%s,%s,%s)").format(_schema(schema)),
                     (checked_schema, trigger, reason))


def recent_runs(database_url: str, limit: int = 20, *, checked_schema: str | None = "projection",
                before: Any = None, schema: str = QUALITY_SCHEMA) -> list[dict[str, Any]]:
    """Latest runs first (of one checked schema unless None), for trend views."""
    migrate(database_url, schema)
    where = [sql.SQL("TRUE")]
    args: list[Any] = []
    if checked_schema is not None:
        where.append(sql.SQL("checked_schema = %s"))
        args.append(checked_schema)
    if before is not None:
        where.append(sql.SQL("started_at < %s"))
        args.append(before)
    query = sql.SQL(
        "SELECT run_id, started_at, finished_at, success, checks_total, checks_failed,"
        " stream_count, summary, checked_schema, scope, trigger, overall_score::float8"
        " AS overall_score, dimension_scores FROM {}.runs WHERE {} ORDER BY started_at DESC"
        " LIMIT %s").format(_schema(schema), sql.SQL(" AND ").join(where))
    with psycopg.connect(database_url) as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, (*args, limit))
        return list(cur.fetchall())


def run_results(database_url: str, run_id: Any,
                schema: str = QUALITY_SCHEMA) -> dict[str, dict[str, Any]]:
    """Per-check results of one stored run, by check id."""
    with psycopg.connect(database_url) as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(sql.SQL(
            "SELECT check_id, dimension, article, success, unexpected_count, title_zh, population"
            " FROM {}.results WHERE run_id = %s").format(_schema(schema)), (run_id,))
        return {r["check_id"]: r for r in cur.fetchall()}


def run_node_scores(database_url: str, run_id: Any,
                    schema: str = QUALITY_SCHEMA) -> dict[tuple[str, str], float]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(sql.SQL(
            "SELECT node, dimension, score::float8 FROM {}.node_scores WHERE run_id = %s"
        ).format(_schema(schema)), (run_id,)).fetchall()
    return {(str(n), str(d)): float(s) for n, d, s in rows}


def skipped_runs(database_url: str, checked_schema: str, limit: int = 50,
                 schema: str = QUALITY_SCHEMA) -> list[dict[str, Any]]:
    migrate(database_url, schema)
    with psycopg.connect(database_url) as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(sql.SQL("SELECT skipped_at, trigger, reason FROM {}.skipped_runs"
                            " WHERE checked_schema = %s ORDER BY skipped_at DESC LIMIT %s"
                            ).format(_schema(schema)), (checked_schema, limit))
        return list(cur.fetchall())
