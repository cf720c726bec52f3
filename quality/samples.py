"""Sample rows for failing checks, fetched directly (GX caps and reshapes its lists)."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from quality.checks import Check, Kind
from quality.params import RunParams

SAMPLE_LIMIT = 20


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return "<binary>"
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _query(check: Check, params: RunParams) -> sql.Composed:
    table = sql.Identifier(check.table)
    column = sql.Identifier(check.column or "")
    shown = sql.SQL(", ").join(sql.Identifier(c) for c in check.sample_columns)
    limit = sql.Literal(SAMPLE_LIMIT)
    if check.kind is Kind.UNIQUE:
        return sql.SQL(
            "SELECT {c}, count(*) AS occurrences FROM {t} WHERE {c} IS NOT NULL "
            "GROUP BY {c} HAVING count(*) > 1 ORDER BY {c} LIMIT {n}"
        ).format(c=column, t=table, n=limit)
    if check.kind is Kind.NOT_NULL:
        return sql.SQL("SELECT {s} FROM {t} WHERE {c} IS NULL LIMIT {n}").format(
            s=shown, t=table, c=column, n=limit)
    if check.kind is Kind.MATCH_REGEX:
        return sql.SQL("SELECT {s} FROM {t} WHERE {c} !~ {r} ORDER BY 1 LIMIT {n}").format(
            s=shown, t=table, c=column, r=sql.Literal(check.regex), n=limit)
    if check.kind is Kind.ROWS:
        # The catalogue's own text, parameters rendered from typed values (see params.py).
        rows = sql.SQL(check.rows_query(params, batch=check.table))
        return sql.SQL("SELECT * FROM ({q}) AS findings LIMIT {n}").format(q=rows, n=limit)
    raise ValueError(f"check {check.id} ({check.kind}) has no sample query")


def fetch_samples(conn: psycopg.Connection[Any], check: Check,
                  params: RunParams) -> list[dict[str, Any]]:
    """Up to SAMPLE_LIMIT offending rows; any ``citizen_*`` column is dropped regardless."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(_query(check, params))
        rows = cur.fetchall()
    return [{k: _jsonable(v) for k, v in row.items() if not k.startswith("citizen_")}
            for row in rows]
