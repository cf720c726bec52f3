"""One quality run: GX checks, reconciliation, samples, history row, reports."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from quality import store
from quality.checks import CHECKS, GX_KINDS, Check, Kind
from quality.gx_suite import Outcome, run_gx_checks
from quality.model import CheckResult, QualityRun
from quality.params import RunParams
from quality.reconcile import reconcile
from quality.report import write_reports
from quality.samples import fetch_samples
from quality.serialize import run_to_dict
from schemas.events import DISCLOSURE_ITEMS
from schemas.regions import load_regions


def _params(year: int, as_of: date) -> RunParams:
    return RunParams(year=year, as_of=as_of, known_regions=tuple(sorted(load_regions().names())),
                     disclosure_items=DISCLOSURE_ITEMS)


def _result(check: Check, outcome: Outcome | None, samples: list[dict[str, Any]]) -> CheckResult:
    if outcome is None:  # GX returned nothing for it: report, never pass silently
        return CheckResult(check.id, check.title_zh, check.dimension, check.article,
                           success=False, unexpected_count=0, observed="检查未执行")
    observed = f"检查执行出错:{outcome.error}" if outcome.error else None
    return CheckResult(check.id, check.title_zh, check.dimension, check.article,
                       success=outcome.success, unexpected_count=outcome.unexpected_count,
                       samples=samples, observed=observed)


def run_quality(database_url: str, *, stream_count: int, year: int, as_of: date,
                reports_dir: Path, schema: str = "projection") -> QualityRun:
    """Run every check over ``schema``, store the run in schema ``quality``, write reports.

    ``stream_count`` is the number of stream messages up to the projector's
    checkpoint; ``year`` is the year checked for Art. 12 and 14; ``as_of``
    bounds Art. 14's months.
    """
    started = datetime.now(UTC)
    params = _params(year, as_of)
    gx_checks = [c for c in CHECKS if c.kind in GX_KINDS]
    outcomes = run_gx_checks(database_url, schema, gx_checks, params)

    results: list[CheckResult] = []
    with store.connect(database_url, schema) as conn:
        for check in CHECKS:
            if check.kind is Kind.RECONCILE:
                results.append(reconcile(conn, check, stream_count))
                continue
            outcome = outcomes.get(check.id)
            failed = outcome is not None and not outcome.success and outcome.error is None
            samples = fetch_samples(conn, check, params) if failed else []
            results.append(_result(check, outcome, samples))

    run = QualityRun(run_id=uuid.uuid4(), started_at=started, finished_at=datetime.now(UTC),
                     results=results, year=year, as_of=as_of, stream_count=stream_count,
                     schema=schema)
    store.save_run(database_url, run)
    write_reports(run, reports_dir)
    return run


def to_json(run: QualityRun) -> dict[str, Any]:
    """The run as JSON-ready data (the CLI's ``--json``)."""
    return run_to_dict(run)
