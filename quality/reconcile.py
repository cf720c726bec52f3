"""Stream reconciliation: every stream message is archived or dead-lettered, exactly once.

Plain SQL: it compares two counts, which GX has no expectation for.
"""

from __future__ import annotations

from typing import Any

import psycopg

from quality.checks import Check
from quality.model import CheckResult


def reconcile(conn: psycopg.Connection[Any], check: Check, stream_count: int) -> CheckResult:
    row = conn.execute(
        "SELECT (SELECT count(*) FROM event_archive), (SELECT count(*) FROM dead_letters)"
    ).fetchone()
    archived, dead = (int(row[0]), int(row[1])) if row else (0, 0)
    difference = stream_count - archived - dead
    observed = (f"消息流 {stream_count} 条，归档事件 {archived} 条，死信 {dead} 条，"
                f"差额 {difference} 条")
    samples = [] if difference == 0 else [{
        "stream_count": stream_count, "archived": archived, "dead_letters": dead,
        "difference": difference,
    }]
    return CheckResult(check.id, check.title_zh, check.dimension, check.article,
                       success=difference == 0, unexpected_count=abs(difference),
                       samples=samples, observed=observed)
