"""A run as plain JSON-ready data: the JSON report, the CLI's --json and quality events."""

from __future__ import annotations

from typing import Any

from quality.model import CheckResult, NodeScore, QualityRun


def result_to_dict(result: CheckResult) -> dict[str, Any]:
    return {
        "id": result.id,
        "title_zh": result.title_zh,
        "dimension": str(result.dimension),
        "article": result.article,
        "success": result.success,
        "unexpected_count": result.unexpected_count,
        "population": result.population,
        "observed": result.observed,
        "source": result.source,
        "samples": result.samples,
        "by_node": {k: {"unexpected": t.unexpected, "population": t.population}
                    for k, t in sorted(result.by_node.items())},
    }


def node_to_dict(n: NodeScore) -> dict[str, Any]:
    return {"node": n.node, "name": n.name, "level": n.level, "parent": n.parent,
            "overall": n.overall, "dimensions": n.dimensions, "failing_checks": n.failing_checks}


def minqing_to_dict(run: QualityRun) -> dict[str, Any] | None:
    """The run's 社情民意分析 as data; None in a run that did not make one (not a full run)."""
    if run.minqing is None:
        return None
    from quality.minqing import to_json

    return to_json(run.minqing)


def run_to_dict(run: QualityRun) -> dict[str, Any]:
    return {
        "run_id": str(run.run_id),
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat(),
        "success": run.success,
        "scope": run.scope,
        "dimensions": [str(d) for d in run.dimensions],
        "overall_score": run.overall_score,
        "dimension_scores": run.dimension_scores,
        "checks_total": len(run.results),
        "checks_failed": run.checks_failed,
        "schema": run.schema,
        "year": run.year,
        "as_of": run.as_of.isoformat(),
        "stream_count": run.stream_count,
        "html_path": str(run.html_path) if run.html_path else None,
        "json_path": str(run.json_path) if run.json_path else None,
        "checks": [result_to_dict(r) for r in run.results],
        "nodes": [node_to_dict(n) for n in run.node_scores],
        "details": run.details,
        "history": run.history,
        "changes": run.changes,
        "minqing": minqing_to_dict(run),
    }


def published_summary(run: QualityRun) -> dict[str, Any]:
    """The small document published on ``lls.quality.report.published``."""
    return {
        "type": "quality.report.published",
        "schema_version": 1,
        "run_id": str(run.run_id),
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat(),
        "checked_schema": run.schema,
        "scope": run.scope,
        "year": run.year,
        "as_of": run.as_of.isoformat(),
        "success": run.success,
        "overall_score": run.overall_score,
        "dimension_scores": run.dimension_scores,
        "checks_total": len(run.results),
        "checks_failed": run.checks_failed,
        "failed_checks": [{"id": r.id, "dimension": str(r.dimension), "article": r.article,
                           "unexpected_count": r.unexpected_count}
                          for r in run.results if not r.success],
        "counties": {n.node: n.overall for n in run.node_scores if n.level == "county"},
        "report": {"html": run.html_path.name if run.html_path else None,
                   "json": run.json_path.name if run.json_path else None},
    }
