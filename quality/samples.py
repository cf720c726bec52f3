"""Sample rows and per-node counts of a check, fetched directly (GX caps and reshapes its lists).

Samples never carry citizens' personal details: ``citizen_*`` and ``raw`` columns are
dropped, and phone and identity-card numbers inside any text are masked (an auditor's
custom query may select free text).
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from quality.checks import Check, Kind, table_node
from quality.model import Tally
from quality.params import RunParams
from schemas.privacy import mask_text

SAMPLE_LIMIT = 20
_DROPPED = ("citizen_", "raw")


def jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return "<binary>"
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, str):
        return mask_text(value)
    return value


def clean_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: jsonable(v) for k, v in row.items() if not k.startswith(_DROPPED)}


def _findings(check: Check, params: RunParams) -> sql.Composable:
    """Every finding of a check as rows (with a ``node`` column where one can be derived)."""
    table = sql.Identifier(check.table)
    column = sql.Identifier(check.column or "")
    node = sql.SQL(table_node(check.table))
    shown = sql.SQL(", ").join(sql.Identifier(c) for c in check.sample_columns)
    if check.kind is Kind.UNIQUE:
        return sql.SQL(
            "SELECT {c}, count(*) AS occurrences, min({n}) AS node FROM {t} WHERE {c} IS NOT NULL "
            "GROUP BY {c} HAVING count(*) > 1 ORDER BY {c}").format(c=column, t=table, n=node)
    if check.kind is Kind.NOT_NULL:
        return sql.SQL("SELECT {s}, {n} AS node FROM {t} WHERE {c} IS NULL").format(
            s=shown, t=table, c=column, n=node)
    if check.kind is Kind.MATCH_REGEX:
        return sql.SQL("SELECT {s}, {n} AS node FROM {t} WHERE {c} !~ {r} ORDER BY 1").format(
            s=shown, t=table, c=column, r=sql.Literal(check.regex), n=node)
    if check.kind is Kind.IN_SET:
        return sql.SQL("SELECT {s}, {n} AS node FROM {t} WHERE {c} IS NOT NULL "
                       "AND NOT ({c} = ANY({v})) ORDER BY 1").format(
            s=shown, t=table, c=column, v=sql.Literal(list(check.value_set)), n=node)
    if check.kind in (Kind.ROWS, Kind.SQL):
        # The catalogue's own text, parameters rendered from typed values (see params.py).
        return sql.SQL(check.rows_query(params, batch=check.table))
    raise ValueError(f"check {check.id} ({check.kind}) has no findings query")


def fetch_samples(conn: psycopg.Connection[Any], check: Check,
                  params: RunParams) -> list[dict[str, Any]]:
    """Up to SAMPLE_LIMIT offending rows, personal details removed."""
    query = sql.SQL("SELECT * FROM ({q}) AS findings LIMIT {n}").format(
        q=_findings(check, params), n=sql.Literal(SAMPLE_LIMIT))
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query)
        return [clean_row(row) for row in cur.fetchall()]


def count_findings(conn: psycopg.Connection[Any], check: Check,
                   params: RunParams) -> tuple[int, dict[str, int]]:
    """All findings, and per node when the findings carry a ``node`` column.

    A duplicated key counts every row that holds it (as GX does)."""
    inner = _findings(check, params)
    with conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT * FROM ({q}) AS f LIMIT 0").format(q=inner))
        names = [d.name for d in cur.description or ()]
        weight = sql.SQL("occurrences") if check.kind is Kind.UNIQUE else sql.SQL("1")
        if "node" in names:
            cur.execute(sql.SQL("SELECT node::text, sum({w})::bigint FROM ({q}) AS f GROUP BY 1"
                                ).format(w=weight, q=inner))
            per_node = {str(n or ""): int(c) for n, c in cur.fetchall()}
            return sum(per_node.values()), per_node
        cur.execute(sql.SQL("SELECT coalesce(sum({w}), 0)::bigint FROM ({q}) AS f").format(
            w=weight, q=inner))
        row = cur.fetchone()
        return (int(row[0]) if row else 0), {}


def populations(conn: psycopg.Connection[Any], query: str) -> dict[str, Tally]:
    """Records examined per node, from a ``(node, n)`` query."""
    with conn.cursor() as cur:
        cur.execute(query.encode())
        return {str(node or ""): Tally(0, int(n)) for node, n in cur.fetchall()}
