"""Accessibility (可访问性): can the data be reached and used by those who share it?

- the backbone stream answers and can be read;
- the projection follows the stream (no message left unprojected for too long);
- every projection table exists and is readable with the auditors' read-only connection.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

import psycopg
from psycopg import sql

from quality.checks import Check
from quality.model import CheckResult, Tally
from quality.params import RunParams
from quality.reconcile import subject_node
from quality.stream import StreamSnapshot

# The tables a downstream reader relies on (the projection's public surface).
SHARED_TABLES = ("stations", "staff", "disclosures", "deputies", "enrolments", "visits",
                 "receptions", "opinions", "event_archive", "dead_letters", "checkpoints")


def _result(check: Check, params: RunParams, **kw: Any) -> CheckResult:
    return CheckResult(check.id, check.title(params), check.dimension, check.article, **kw)


def stream_readable(check: Check, params: RunParams, snap: StreamSnapshot,
                    root: str) -> CheckResult:
    if snap.reachable and snap.source == "count":
        return _result(check, params, success=True, unexpected_count=0, population=1,
                       by_node={root: Tally(0, 1)},
                       observed=f"未直接读取事件流，按调用方给出的消息总数 {snap.messages} 条核对")
    if snap.reachable:
        return _result(check, params, success=True, unexpected_count=0, population=1,
                       by_node={root: Tally(0, 1)},
                       observed=f"事件流 {snap.stream}：{snap.messages} 条消息，末序号 {snap.last_seq}")
    return _result(check, params, success=False, unexpected_count=1, population=1,
                   by_node={root: Tally(1, 1)},
                   samples=[{"stream": snap.stream, "error": snap.error}],
                   observed=f"事件流 {snap.stream} 不可访问：{snap.error}")


def projection_fresh(check: Check, params: RunParams, snap: StreamSnapshot,
                     root: str) -> CheckResult:
    limit = timedelta(minutes=params.thresholds.projection_max_stale_minutes)
    if not snap.reachable:
        return _result(check, params, success=False, unexpected_count=1, population=1,
                       by_node={root: Tally(1, 1)}, observed="事件流不可访问，无法判断投影是否及时")
    by_node: dict[str, Tally] = defaultdict(Tally)
    for subject, n in (snap.subjects or {}).items():
        by_node[subject_node(subject) or root] += Tally(0, n)
    stale = [p for p in snap.pending if snap.taken_at - p.time > limit]
    for p in stale:
        by_node[subject_node(p.subject) or root] += Tally(1, 1)
    for p in snap.pending:
        if p not in stale:
            by_node[subject_node(p.subject) or root] += Tally(0, 1)
    unexpected = len(stale)
    if snap.subjects is None and snap.oldest_pending is not None \
            and snap.taken_at - snap.oldest_pending > limit:
        unexpected = max(unexpected, snap.pending_total)   # too far behind to list
    population = max(snap.messages, 1)
    if not by_node:
        by_node[root] = Tally(0, population)
    samples = [{"stream_seq": p.seq, "subject": p.subject, "published_at": p.time.isoformat(),
                "waiting_minutes": round((snap.taken_at - p.time).total_seconds() / 60, 1)}
               for p in stale[:20]]
    observed = (f"投影检查点 {snap.checkpoint}，事件流末序号 {snap.last_seq}，"
                f"待投影 {snap.pending_total} 条" +
                (f"，最早一条已等待 {(snap.taken_at - snap.oldest_pending).total_seconds() / 60:.1f} 分钟"
                 if snap.oldest_pending else ""))
    return _result(check, params, success=unexpected == 0, unexpected_count=unexpected,
                   population=population, by_node=dict(by_node), samples=samples,
                   observed=observed)


def tables_readable(conn: psycopg.Connection[Any], check: Check, params: RunParams,
                    root: str, tables: tuple[str, ...] = SHARED_TABLES) -> CheckResult:
    failed: list[dict[str, Any]] = []
    for table in tables:
        try:
            with conn.transaction():
                conn.execute(sql.SQL("SELECT 1 FROM {} LIMIT 1").format(sql.Identifier(table)))
        except psycopg.Error as exc:
            failed.append({"table": table, "error": str(exc).splitlines()[0][:200]})
    n = len(tables)
    return _result(check, params, success=not failed, unexpected_count=len(failed), population=n,
                   by_node={root: Tally(len(failed), n)}, samples=failed,
                   observed=(f"{n} 张投影表均可读取" if not failed
                             else f"{len(failed)} 张表不可读取：" + "、".join(f["table"] for f in failed)))
