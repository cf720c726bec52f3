"""Trends over the stored runs, and what got better or worse since the previous run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from quality import store
from quality.model import Dimension, QualityRun
from schemas.regions import load_regions

FULL = "full"


def scope_of(dimensions: Sequence[Dimension]) -> str:
    return FULL if set(dimensions) == set(Dimension) else ",".join(str(d) for d in dimensions)


def scope_dimensions(scope: str) -> set[str]:
    return {str(d) for d in Dimension} if scope == FULL else set(scope.split(","))


def scope_label(scope: str) -> str:
    return "全面检查" if scope == FULL else "专项检查（" + "、".join(scope.split(",")) + "）"


def previous_comparable(history: Sequence[dict[str, Any]], scope: str) -> dict[str, Any] | None:
    """The latest earlier run that covered at least this run's dimensions."""
    wanted = scope_dimensions(scope)
    for row in history:
        if wanted <= scope_dimensions(str(row["scope"])):
            return row
    return None


def compare(run: QualityRun, previous: dict[str, Any] | None,
            previous_results: dict[str, dict[str, Any]],
            previous_nodes: dict[tuple[str, str], float]) -> dict[str, Any]:
    """Dimension and overall deltas, checks that got better or worse, nodes that moved most."""
    current = {"scope": run.scope, "overall_score": run.overall_score,
               "dimension_scores": run.dimension_scores}
    results = {r.id: {"title_zh": r.title_zh, "dimension": str(r.dimension),
                      "success": r.success, "unexpected_count": r.unexpected_count}
               for r in run.results}
    nodes = {n.node: (n.name, n.level, n.overall) for n in run.node_scores}
    return compare_data(current, results, nodes, previous, previous_results, previous_nodes)


def compare_data(current: dict[str, Any], results: dict[str, dict[str, Any]],
                 nodes: Mapping[str, tuple[str, str, float | None]],
                 previous: dict[str, Any] | None, previous_results: dict[str, dict[str, Any]],
                 previous_nodes: dict[tuple[str, str], float]) -> dict[str, Any]:
    if previous is None:
        return {"previous": None}
    prev_dims = {k: float(v) for k, v in (previous["dimension_scores"] or {}).items()}
    dims = {d: {"previous": prev_dims[d], "current": float(s),
                "delta": round(float(s) - prev_dims[d], 1)}
            for d, s in (current["dimension_scores"] or {}).items() if d in prev_dims}
    better: list[dict[str, Any]] = []
    worse: list[dict[str, Any]] = []
    for cid, r in results.items():
        p = previous_results.get(cid)
        if p is None:
            continue
        now_count, before = int(r["unexpected_count"]), int(p["unexpected_count"])
        item: dict[str, Any] = {"id": cid, "title_zh": r["title_zh"], "dimension": r["dimension"],
                                "previous": before, "current": now_count,
                                "previous_success": bool(p["success"]),
                                "current_success": bool(r["success"])}
        if p["success"] and not r["success"]:
            worse.append({**item, "change": "新出现问题"})
        elif not p["success"] and r["success"]:
            better.append({**item, "change": "已解决"})
        elif not r["success"] and now_count > before:
            worse.append({**item, "change": "异常增多"})
        elif not r["success"] and now_count < before:
            better.append({**item, "change": "异常减少"})
    moved: list[dict[str, Any]] = []
    for code, (name, level, overall_now) in nodes.items():
        before_score = previous_nodes.get((code, store.OVERALL))
        if overall_now is not None and before_score is not None \
                and abs(overall_now - before_score) >= 0.1:
            moved.append({"node": code, "name": name, "level": level, "previous": before_score,
                          "current": overall_now, "delta": round(overall_now - before_score, 1)})
    moved.sort(key=lambda m: float(m["delta"]))
    overall = None
    if current.get("overall_score") is not None and previous.get("overall_score") is not None \
            and previous["scope"] == current["scope"]:
        prev_overall = float(previous["overall_score"])
        now_overall = float(current["overall_score"])
        overall = {"previous": prev_overall, "current": now_overall,
                   "delta": round(now_overall - prev_overall, 1)}
    return {
        "previous": {"run_id": str(previous["run_id"]),
                     "started_at": previous["started_at"].isoformat(),
                     "scope": previous["scope"]},
        "overall": overall,
        "dimensions": dims,
        "better": better,
        "worse": worse,
        "nodes_worse": [m for m in moved if m["delta"] < 0][:10],
        "nodes_better": [m for m in reversed(moved) if m["delta"] > 0][:10],
    }


def stored_changes(database_url: str, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Changes of the latest stored run (``rows`` newest first) since its previous one."""
    if not rows:
        return {"previous": None}
    latest = rows[0]
    previous = previous_comparable(rows[1:], str(latest["scope"]))
    results = store.run_results(database_url, latest["run_id"])
    node_rows = store.run_node_scores(database_url, latest["run_id"])
    names = load_regions().names()
    nodes = {code: (names.get(code, code), "", score)
             for (code, dim), score in node_rows.items() if dim == store.OVERALL}
    prev_results = store.run_results(database_url, previous["run_id"]) if previous else {}
    prev_nodes = store.run_node_scores(database_url, previous["run_id"]) if previous else {}
    return compare_data(latest, results, nodes, previous, prev_results, prev_nodes)


def history_view(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stored runs (newest first) as JSON-ready trend points, oldest first."""
    out = []
    for row in reversed(rows):
        out.append({
            "run_id": str(row["run_id"]),
            "started_at": row["started_at"].isoformat(),
            "scope": row["scope"],
            "trigger": row.get("trigger"),
            "success": bool(row["success"]),
            "checks_failed": int(row["checks_failed"]),
            "overall": float(row["overall_score"]) if row.get("overall_score") is not None else None,
            "dimensions": {k: float(v) for k, v in (row.get("dimension_scores") or {}).items()},
        })
    return out


def load_history(database_url: str, run: QualityRun, limit: int) -> tuple[list[dict[str, Any]],
                                                                          dict[str, Any]]:
    """(trend points including this run, changes since the previous comparable run).

    Call after the run is stored."""
    rows = store.recent_runs(database_url, limit, checked_schema=run.schema)
    earlier = [r for r in rows if r["run_id"] != run.run_id]
    previous = previous_comparable(earlier, run.scope)
    prev_results = store.run_results(database_url, previous["run_id"]) if previous else {}
    prev_nodes = store.run_node_scores(database_url, previous["run_id"]) if previous else {}
    return history_view(rows), compare(run, previous, prev_results, prev_nodes)
