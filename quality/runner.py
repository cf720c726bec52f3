"""One quality run: GX checks, custom checks, reconciliation and accessibility, per-node
scores, the stored history row, trends and the reports.

Synchronous (GX is); ``quality.job.run_once`` wraps it with the run lock, the stream
snapshot and the published summary.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg

from quality import access, reconcile, store
from quality.checks import (
    ARCHIVE_PROJECTION,
    CHECKS,
    GX_KINDS,
    NODE_TOTALS,
    PROJECTION_FRESH,
    RECONCILIATION,
    STREAM_READABLE,
    TABLES_READABLE,
    TOPOLOGY_CHECK,
    Check,
    Kind,
)
from quality.config import QualityConfig
from quality.custom import load_custom_checks
from quality.gx_suite import Outcome, run_gx_checks
from quality.history import FULL, load_history, scope_of
from quality.model import CheckResult, Dimension, QualityRun, Tally
from quality.params import RunParams
from quality.reconcile import SiteCounts
from quality.report import write_reports
from quality.samples import clean_row, count_findings, fetch_samples, populations
from quality.scoring import dimension_scores, score_nodes
from quality.serialize import run_to_dict
from quality.stream import StreamSnapshot, snapshot_summary
from schemas.events import DISCLOSURE_ITEMS
from schemas.regions import load_regions

if TYPE_CHECKING:
    from quality.minqing import MinqingAnalysis

log = logging.getLogger(__name__)

# An auditor's query must not hold the database for ever.
STATEMENT_TIMEOUT = "120s"


def run_params(year: int, as_of: date, config: QualityConfig, city: str = "3306") -> RunParams:
    return RunParams(year=year, as_of=as_of, known_regions=tuple(sorted(load_regions(city).names())),
                     disclosure_items=DISCLOSURE_ITEMS, thresholds=config.thresholds)


def catalogue(config: QualityConfig, dimensions: Sequence[Dimension] | None = None,
              ) -> tuple[Check, ...]:
    """Built-in and custom checks, limited to ``dimensions`` when given."""
    checks = (*CHECKS, *load_custom_checks(config.check_dirs))
    if dimensions:
        checks = tuple(c for c in checks if c.dimension in dimensions)
    return checks


class _Tallies:
    """Per-node records examined, cached per population query (several checks share one)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.cache: dict[str, dict[str, Tally]] = {}

    def of(self, check: Check, params: RunParams) -> dict[str, Tally]:
        query = check.population_query(params)
        if query is None:
            return {}
        if query not in self.cache:
            try:
                self.cache[query] = populations(self.conn, query)
            except psycopg.Error:
                self.cache[query] = {}
        return dict(self.cache[query])


def _merge(pop: dict[str, Tally], found: dict[str, int]) -> dict[str, Tally]:
    out = dict(pop)
    for node, n in found.items():
        out[node] = out.get(node, Tally()) + Tally(n, 0)
    return out


def _failed(check: Check, params: RunParams, observed: str, pop: dict[str, Tally]) -> CheckResult:
    return CheckResult(check.id, check.title(params), check.dimension, check.article,
                       success=False, unexpected_count=0, observed=observed,
                       population=sum(t.population for t in pop.values()), by_node=pop,
                       source=check.source)


def _gx_result(conn: psycopg.Connection[Any], check: Check, outcome: Outcome | None,
               params: RunParams, pop: dict[str, Tally], root: str) -> CheckResult:
    if outcome is None:  # GX returned nothing for it: report, never pass silently
        return _failed(check, params, "检查未执行", pop)
    if outcome.error:
        return _failed(check, params, f"检查执行出错：{outcome.error}", pop)
    title = check.title(params)
    population = sum(t.population for t in pop.values())
    if outcome.success:
        return CheckResult(check.id, title, check.dimension, check.article, True, 0,
                           population=population or (outcome.element_count or 0),
                           by_node=pop, observed=check.note_zh, source=check.source)
    if check.kind is Kind.GX:
        samples = [clean_row({"column": check.column or "", "value": v}) for v in outcome.partial]
        element = outcome.element_count or population or outcome.unexpected_count
        return CheckResult(check.id, title, check.dimension, check.article, False,
                           outcome.unexpected_count, samples, population=element,
                           by_node={root: Tally(outcome.unexpected_count, element)},
                           observed=check.note_zh, source=check.source)
    _, per_node = count_findings(conn, check, params)
    samples = fetch_samples(conn, check, params)
    return CheckResult(check.id, title, check.dimension, check.article, False,
                       outcome.unexpected_count, samples, population=population,
                       by_node=_merge(pop, per_node), observed=check.note_zh,
                       source=check.source)


def _sql_result(conn: psycopg.Connection[Any], check: Check, params: RunParams,
                pop: dict[str, Tally], root: str) -> CheckResult:
    try:
        total, per_node = count_findings(conn, check, params)
        samples = fetch_samples(conn, check, params) if total else []
    except psycopg.Error as exc:
        return _failed(check, params, f"检查执行出错：{str(exc).splitlines()[0][:300]}", pop)
    if total and not per_node:
        per_node = {root: total}
    population = sum(t.population for t in pop.values())
    return CheckResult(check.id, check.title(params), check.dimension, check.article,
                       success=total == 0, unexpected_count=total, samples=samples,
                       population=population, by_node=_merge(pop, per_node),
                       observed=check.note_zh, source=check.source)


def _lag_stats(conn: psycopg.Connection[Any], params: RunParams) -> list[dict[str, Any]]:
    lit = params.literals()
    where = f"occurred_at >= {lit['year_start']} AND occurred_at < {lit['year_end']}"
    lag = "extract(epoch FROM recorded_at - occurred_at)"
    select = f"""count(*) AS events,
        round((percentile_cont(0.5) WITHIN GROUP (ORDER BY {lag}) / 60)::numeric, 1) AS p50,
        round((percentile_cont(0.95) WITHIN GROUP (ORDER BY {lag}) / 60)::numeric, 1) AS p95,
        round((max({lag}) / 3600)::numeric, 2) AS max_hours,
        count(*) FILTER (WHERE recorded_at - occurred_at > {lit['max_lag']}) AS late"""
    query = f"""
        SELECT CASE WHEN GROUPING(origin) = 0 THEN origin
                    WHEN GROUPING(left(origin, 6)) = 0 THEN left(origin, 6)
                    ELSE left(origin, 4) END AS node,
               {select}
        FROM event_archive WHERE {where}
        GROUP BY GROUPING SETS ((left(origin, 4)), (left(origin, 6)), (origin))"""
    rows: dict[str, dict[str, Any]] = {}
    for node, events, p50, p95, mx, late in conn.execute(query.encode()).fetchall():
        # A county's own origin and its roll-up share a code: keep the roll-up (the larger).
        item = {"node": str(node), "events": int(events), "p50_minutes": float(p50 or 0),
                "p95_minutes": float(p95 or 0), "max_hours": float(mx or 0), "late": int(late)}
        if str(node) not in rows or rows[str(node)]["events"] < item["events"]:
            rows[str(node)] = item
    out = sorted(rows.values(), key=lambda r: (len(r["node"]), r["node"]))
    return out


def _minqing(conn: psycopg.Connection[Any], params: RunParams, city: str,
             details: dict[str, Any]) -> MinqingAnalysis | None:
    """The year's 社情民意分析 for the report (full runs). jieba is imported here, never by
    the projector or at CLI start. Typical requests are quoted in the report, so phone and
    identity-card numbers in them are masked like sample rows. An analysis that cannot run
    is said in the report; it never fails the run."""

    from quality.minqing import analyse_db

    t = time.perf_counter()
    try:
        analysis = analyse_db(conn, year=params.year, as_of=params.as_of, city=city)
    except (psycopg.Error, ImportError, OSError, ValueError) as exc:
        log.warning("社情民意分析未完成: %r", exc)
        details["minqing_error"] = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        return None
    finally:
        details["minqing_seconds"] = round(time.perf_counter() - t, 2)
    return analysis


def run_quality(database_url: str, *, year: int, as_of: date, reports_dir: Path,
                snapshot: StreamSnapshot | None = None, stream_count: int | None = None,
                schema: str = "projection", config: QualityConfig | None = None,
                dimensions: Sequence[Dimension] | None = None,
                sites: Sequence[SiteCounts] | None = None, city: str = "3306",
                trigger: str = "manual") -> QualityRun:
    """Run the checks over ``schema``, store the run in schema ``quality``, write reports.

    ``snapshot`` is the stream as ``quality.stream.take_snapshot`` saw it (or give only
    ``stream_count``, the messages up to the projector's checkpoint, when no backbone is at
    hand); ``year`` is the year checked for Arts. 12 and 14; ``as_of`` is the cut-off for
    Art. 14's months and every timeliness check; ``dimensions`` limits the run (the hourly
    timeliness run); ``sites`` are per-site counts of a multi-level deployment.
    """
    started = datetime.now(UTC)
    config = config or QualityConfig()
    dims = tuple(d for d in Dimension if not dimensions or d in dimensions)
    if snapshot is None:
        snapshot = StreamSnapshot.from_count(stream_count or 0)
    params = run_params(year, as_of, config, city)
    checks = catalogue(config, dims)
    if sites and Dimension.CONSISTENCY in dims:
        checks = (*checks, TOPOLOGY_CHECK)
    outcomes = run_gx_checks(database_url, schema, [c for c in checks if c.kind in GX_KINDS],
                             params)
    root = city
    details: dict[str, Any] = {"stream": snapshot_summary(snapshot),
                               "thresholds": vars(config.thresholds) | {
                                   "silent_levels": list(config.thresholds.silent_levels)}}

    results: list[CheckResult] = []
    with store.connect(database_url, schema) as conn:
        conn.execute(f"SET statement_timeout = '{STATEMENT_TIMEOUT}'".encode())
        tallies = _Tallies(conn)
        for check in checks:
            pop = tallies.of(check, params)
            if check.kind in GX_KINDS:
                results.append(_gx_result(conn, check, outcomes.get(check.id), params, pop, root))
            elif check.kind is Kind.SQL:
                results.append(_sql_result(conn, check, params, pop, root))
            elif check.id == RECONCILIATION:
                results.append(reconcile.stream_reconciliation(conn, check, params, snapshot))
                details["stream_matrix"] = reconcile.stream_matrix(snapshot)
            elif check.id == ARCHIVE_PROJECTION:
                result, matrix = reconcile.archive_projection(conn, check, params)
                results.append(result)
                details["archive_projection"] = matrix
            elif check.id == NODE_TOTALS:
                result, totals = reconcile.node_totals(conn, check, params, snapshot, city)
                results.append(result)
                details["level_totals"] = totals
            elif check.id == TOPOLOGY_CHECK.id:
                results.append(reconcile.topology_reconciliation(check, params, sites or ()))
            elif check.id == STREAM_READABLE:
                results.append(access.stream_readable(check, params, snapshot, root))
            elif check.id == PROJECTION_FRESH:
                results.append(access.projection_fresh(check, params, snapshot, root))
            elif check.id == TABLES_READABLE:
                results.append(access.tables_readable(conn, check, params, root))
            else:  # pragma: no cover - a catalogue entry without an implementation
                results.append(_failed(check, params, "检查未实现", pop))
        if Dimension.TIMELINESS in dims:
            details["lag"] = _lag_stats(conn, params)
        # The hourly timeliness runs stay light: the analysis belongs to full runs.
        minqing = _minqing(conn, params, city, details) if scope_of(dims) == FULL else None

    nodes = score_nodes(results, root)
    dim_scores, overall = dimension_scores(nodes, root)
    run = QualityRun(run_id=uuid.uuid4(), started_at=started, finished_at=datetime.now(UTC),
                     results=results, year=year, as_of=as_of, stream_count=snapshot.counted,
                     schema=schema, scope=scope_of(dims), dimensions=dims,
                     dimension_scores=dim_scores, overall_score=overall, node_scores=nodes,
                     details=details, minqing=minqing)
    store.save_run(database_url, run, trigger=trigger)
    run.history, run.changes = load_history(database_url, run, config.history_runs)
    write_reports(run, reports_dir)
    return run


def to_json(run: QualityRun) -> dict[str, Any]:
    """The run as JSON-ready data (the CLI's ``--json``)."""
    return run_to_dict(run)

