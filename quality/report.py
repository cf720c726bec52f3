"""HTML and JSON reports of a run, plus ``latest.*`` copies."""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from quality import labels
from quality.model import CheckResult, Dimension, QualityRun
from quality.params import CHINA_TZ
from quality.samples import SAMPLE_LIMIT
from quality.serialize import run_to_dict


def _check_view(result: CheckResult) -> dict[str, Any]:
    keys = list(result.samples[0]) if result.samples else []
    return {
        "title": result.title_zh,
        "article": result.article,
        "success": result.success,
        "count": result.unexpected_count,
        "observed": result.observed,
        "headers": [labels.column(k) for k in keys],
        "rows": [] if result.success else [
            [labels.value(k, row.get(k)) for k in keys] for row in result.samples
        ],
    }


def render_html(run: QualityRun) -> str:
    template = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
        resources.files("quality").joinpath("templates/report.html.j2").read_text("utf-8"))
    sections = [{
        "dimension": str(d),
        "note": labels.DIMENSION_NOTES[d],
        "checks": [_check_view(r) for r in run.results if r.dimension is d],
    } for d in Dimension]
    return template.render(
        run_id=str(run.run_id),
        run_time=run.started_at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S"),
        duration=f"{(run.finished_at - run.started_at).total_seconds():.1f}",
        year=run.year, as_of=run.as_of.isoformat(), success=run.success,
        total=len(run.results), failed=run.checks_failed,
        sections=sections, sample_limit=SAMPLE_LIMIT,
    )


def _stem(run: QualityRun, reports_dir: Path) -> str:
    stem = "quality-" + run.started_at.astimezone(CHINA_TZ).strftime("%Y%m%dT%H%M%S")
    # Two runs in one second must not overwrite each other's report.
    if (reports_dir / f"{stem}.html").exists() or (reports_dir / f"{stem}.json").exists():
        stem += "-" + run.run_id.hex[:8]
    return stem


def write_reports(run: QualityRun, reports_dir: Path) -> tuple[Path, Path]:
    """Write ``quality-<ts>.html``/``.json`` and ``latest.*``; sets the run's paths."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    stem = _stem(run, reports_dir)
    run.html_path = reports_dir / f"{stem}.html"
    run.json_path = reports_dir / f"{stem}.json"
    run.html_path.write_text(render_html(run), encoding="utf-8")
    run.json_path.write_text(
        json.dumps(run_to_dict(run), ensure_ascii=False, indent=2), encoding="utf-8")
    shutil.copyfile(run.html_path, reports_dir / "latest.html")
    shutil.copyfile(run.json_path, reports_dir / "latest.json")
    return run.html_path, run.json_path
