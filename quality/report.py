"""HTML (one self-contained file: inline CSS and SVG, no script, no fetch) and JSON reports
of a run, plus ``latest.*`` copies."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from quality import labels
from quality.history import scope_label
from quality.model import CheckResult, Dimension, NodeScore, QualityRun
from quality.params import CHINA_TZ
from quality.samples import SAMPLE_LIMIT
from quality.serialize import run_to_dict
from quality.svg import line_chart


def grade(score: float | None) -> tuple[str, str]:
    """(Chinese grade, css class) of a 0..100 score."""
    if score is None:
        return "—", "s-none"
    if score >= 95:
        return "优", "s-good"
    if score >= 85:
        return "良", "s-ok"
    if score >= 70:
        return "中", "s-warn"
    return "差", "s-bad"


def _fmt(score: float | None) -> str:
    return "—" if score is None else f"{score:.1f}"


def _check_view(result: CheckResult) -> dict[str, Any]:
    keys = list(result.samples[0]) if result.samples else []
    return {
        "id": result.id,
        "title": result.title_zh,
        "article": result.article,
        "success": result.success,
        "count": result.unexpected_count,
        "population": result.population,
        "observed": result.observed,
        "custom": result.source != "builtin",
        "headers": [labels.column(k) for k in keys],
        "rows": [] if result.success else [
            [labels.value(k, row.get(k)) for k in keys] for row in result.samples
        ],
    }


def _cell(score: float | None) -> dict[str, str]:
    g, css = grade(score)
    return {"text": _fmt(score), "css": css, "grade": g}


def _below(town: NodeScore, county: NodeScore) -> list[str]:
    """The dimensions in which a township scores below its county: what pulls it down."""
    return [f"{d} {v:.1f}" for d, v in sorted(town.dimensions.items(), key=lambda kv: kv[1])
            if d in county.dimensions and v < county.dimensions[d]]


def _node_rows(run: QualityRun) -> list[dict[str, Any]]:
    """City, then each county followed by its townships, worst first."""
    dims = [str(d) for d in run.dimensions]
    by_parent: dict[str | None, list[NodeScore]] = defaultdict(list)
    for n in run.node_scores:
        by_parent[n.parent].append(n)

    def row(n: NodeScore, indent: int, below_parent: bool) -> dict[str, Any]:
        return {"name": n.name, "code": n.node, "level": labels.LEVELS.get(n.level, n.level),
                "indent": indent, "overall": _cell(n.overall), "failing": n.failing_checks,
                "cells": [_cell(n.dimensions.get(d)) for d in dims], "pulls_down": below_parent}

    out: list[dict[str, Any]] = []
    for city in (n for n in run.node_scores if n.level == "city"):
        out.append(row(city, 0, False))
        counties = sorted(by_parent.get(city.node, []), key=lambda n: n.node)
        for county in counties:
            out.append(row(county, 1, False))
            towns = sorted(by_parent.get(county.node, []),
                           key=lambda n: (n.overall if n.overall is not None else 101, n.node))
            for t in towns:
                out.append(row(t, 2, bool(_below(t, county))))
    listed = {r["code"] for r in out}
    for n in run.node_scores:  # codes outside the region list
        if n.node not in listed:
            out.append(row(n, 1, False))
    return out


def _pulling_down(run: QualityRun) -> list[dict[str, Any]]:
    """Per county, the townships scoring below it in some dimension, worst first."""
    out = []
    for county in sorted((n for n in run.node_scores if n.level == "county"), key=lambda n: n.node):
        towns = [(t, _below(t, county)) for t in run.node_scores if t.parent == county.node]
        towns = sorted(((t, b) for t, b in towns if b), key=lambda tb: tb[0].overall or 0)
        if towns:
            out.append({"county": county.name, "score": _fmt(county.overall),
                        "towns": [{"name": t.name, "score": _fmt(t.overall), "worst": "、".join(b)}
                                  for t, b in towns[:8]],
                        "more": max(0, len(towns) - 8)})
    return out


def _short_time(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(CHINA_TZ).strftime("%m-%d %H:%M")


def _labels(isos: list[str]) -> list[str]:
    """Run times as chart labels; with seconds when minutes alone would repeat."""
    short = [_short_time(i) for i in isos]
    if len(set(short)) == len(short):
        return short
    return [datetime.fromisoformat(i).astimezone(CHINA_TZ).strftime("%m-%d %H:%M:%S") for i in isos]


def _charts(run: QualityRun) -> dict[str, Any]:
    points = run.history or []
    if not points:
        return {"overall": "", "dimensions": [], "runs": 0}
    x = _labels([p["started_at"] for p in points])
    full = [p for p in points if p["scope"] == run.scope]
    overall = line_chart("综合得分", [("综合", [p["overall"] for p in full])],
                         _labels([p["started_at"] for p in full]), width=1040, height=200)
    dims = []
    for d in run.dimensions:
        ys = [p["dimensions"].get(str(d)) for p in points]
        dims.append(line_chart(str(d), [(str(d), ys)], x, width=340, height=170))
    return {"overall": overall, "dimensions": dims, "runs": len(points)}


def _changes(run: QualityRun) -> dict[str, Any]:
    ch = run.changes or {}
    prev = ch.get("previous")
    if not prev:
        return {"previous": None, "overall": None, "dimensions": [], "better": [], "worse": [],
                "nodes_better": [], "nodes_worse": []}
    return {
        "previous": {"time": _short_time(prev["started_at"]), "scope": scope_label(prev["scope"])},
        "overall": ch.get("overall"),
        "dimensions": [{"dimension": d, **v} for d, v in (ch.get("dimensions") or {}).items()],
        "better": ch.get("better", []),
        "worse": ch.get("worse", []),
        "nodes_better": ch.get("nodes_better", []),
        "nodes_worse": ch.get("nodes_worse", []),
    }


def _reconciliation(run: QualityRun) -> dict[str, Any]:
    det = run.details
    totals = [{**t, "name": labels.node_name(t["node"])} for t in det.get("level_totals", [])]
    by_node: dict[str, dict[str, int]] = defaultdict(lambda: {"stream": 0, "archived": 0,
                                                              "dead": 0, "difference": 0})
    for row in det.get("stream_matrix", []):
        node = str(row["node"] or "")
        key = node[:6] if len(node) >= 6 else node
        for k in ("stream", "archived", "dead", "difference"):
            by_node[key][k] += int(row[k])
    stream_rows = [{"name": labels.node_name(k), **v} for k, v in sorted(by_node.items())]
    entities: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: {"events": 0, "rows": 0})
    for row in det.get("archive_projection", []):
        node = str(row["node"] or "")
        cell = entities[(node[:6] if len(node) >= 6 else node, str(row["entity"]))]
        cell["events"] += int(row["events"])
        cell["rows"] += int(row["rows"])
    entity_rows = [{"name": labels.node_name(n), "entity": e, **v,
                    "difference": v["events"] - v["rows"]} for (n, e), v in sorted(entities.items())]
    return {"totals": totals, "stream": stream_rows, "entities": entity_rows}


def _lag(run: QualityRun) -> list[dict[str, Any]]:
    rows = run.details.get("lag", [])
    counties = [r for r in rows if len(r["node"]) <= 6]
    towns = sorted((r for r in rows if len(r["node"]) == 9),
                   key=lambda r: -(r["p95_minutes"] or 0))[:15]
    return [{**r, "name": labels.node_name(r["node"])} for r in counties + towns]


def _minqing(run: QualityRun) -> Markup | None:
    """Section 七, the year's 社情民意分析 (full runs), rendered by ``quality.minqing``."""
    if run.minqing is None:
        return None
    from quality.minqing import render_section

    return render_section(run.minqing, number="七、")


def render_html(run: QualityRun) -> str:
    template = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
        resources.files("quality").joinpath("templates/report.html.j2").read_text("utf-8"))
    changes = _changes(run)
    dim_deltas = {d["dimension"]: d["delta"] for d in changes.get("dimensions", [])}
    sections: list[dict[str, Any]] = [{
        "dimension": str(d),
        "note": labels.DIMENSION_NOTES[d],
        "score": _cell(run.dimension_scores.get(str(d))),
        "checks": [_check_view(r) for r in run.results if r.dimension is d],
    } for d in Dimension if d in run.dimensions]
    cards = [{"dimension": s["dimension"], "score": s["score"],
              "total": len(s["checks"]), "failed": sum(1 for c in s["checks"] if not c["success"]),
              "delta": dim_deltas.get(s["dimension"])} for s in sections]
    overall_grade, overall_css = grade(run.overall_score)
    snapshot = run.details.get("stream", {})
    # Markupsafe: the charts are built from escaped text only (quality/svg.py).
    charts = _charts(run)
    charts["overall"] = Markup(charts["overall"])
    charts["dimensions"] = [Markup(c) for c in charts["dimensions"]]
    return template.render(
        run_id=str(run.run_id),
        run_time=run.started_at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S"),
        duration=f"{(run.finished_at - run.started_at).total_seconds():.1f}",
        year=run.year, as_of=run.as_of.isoformat(), success=run.success,
        scope=scope_label(run.scope), schema=run.schema,
        total=len(run.results), failed=run.checks_failed,
        overall=_fmt(run.overall_score), overall_grade=overall_grade, overall_css=overall_css,
        cards=cards, dims=[str(d) for d in run.dimensions],
        nodes=_node_rows(run), pulling=_pulling_down(run),
        charts=charts, changes=changes, recon=_reconciliation(run), lag=_lag(run),
        lag_threshold=run.details.get("thresholds", {}).get("max_recording_lag_hours"),
        snapshot=snapshot, sections=sections, sample_limit=SAMPLE_LIMIT,
        minqing=_minqing(run), minqing_error=run.details.get("minqing_error"),
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
        json.dumps(run_to_dict(run), ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    shutil.copyfile(run.html_path, reports_dir / "latest.html")
    shutil.copyfile(run.json_path, reports_dir / "latest.json")
    return run.html_path, run.json_path
