"""A run as plain JSON-ready data: the JSON report, the CLI's --json and quality events."""

from __future__ import annotations

from typing import Any

from quality.model import CheckResult, QualityRun


def result_to_dict(result: CheckResult) -> dict[str, Any]:
    return {
        "id": result.id,
        "title_zh": result.title_zh,
        "dimension": str(result.dimension),
        "article": result.article,
        "success": result.success,
        "unexpected_count": result.unexpected_count,
        "observed": result.observed,
        "samples": result.samples,
    }


def run_to_dict(run: QualityRun) -> dict[str, Any]:
    return {
        "run_id": str(run.run_id),
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat(),
        "success": run.success,
        "checks_total": len(run.results),
        "checks_failed": run.checks_failed,
        "schema": run.schema,
        "year": run.year,
        "as_of": run.as_of.isoformat(),
        "stream_count": run.stream_count,
        "html_path": str(run.html_path) if run.html_path else None,
        "json_path": str(run.json_path) if run.json_path else None,
        "checks": [result_to_dict(r) for r in run.results],
    }
