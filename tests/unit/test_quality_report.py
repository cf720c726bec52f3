"""HTML and JSON reports from a hand-made run, without a database."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from quality.minqing import analyse
from quality.model import CheckResult, Dimension, QualityRun, Tally
from quality.params import RunParams
from quality.report import grade, render_html, write_reports
from quality.runner import _minqing, to_json
from quality.samples import clean_row, mask_text
from quality.scoring import dimension_scores, score_nodes
from quality.serialize import published_summary
from tests.unit.test_regulation_minqing import ordinary_year, surge


def _run(history: bool = False) -> QualityRun:
    started = datetime(2025, 7, 1, 1, 0, tzinfo=UTC)
    results = [
        CheckResult("station_disclosures_complete", "联络站公示六项信息齐全",
                    Dimension.COMPLETENESS, "第十一条", False, 1,
                    [{"station_id": "330602001-01", "name": "<script>x</script>",
                      "level": "联络站", "missing_items": "staff,app_usage", "missing": 2,
                      "node": "330602001"}],
                    population=4, by_node={"330602001": Tally(1, 2), "330602002": Tally(0, 2)}),
        CheckResult("stations_station_id_unique", "站点编号唯一", Dimension.ACCURACY, None,
                    True, 0, population=4, by_node={"330602001": Tally(0, 2),
                                                     "330602002": Tally(0, 2)}),
    ]
    nodes = score_nodes(results, "3306")
    dims, overall = dimension_scores(nodes, "3306")
    run = QualityRun(
        run_id=uuid.uuid4(), started_at=started, finished_at=started + timedelta(seconds=2),
        year=2025, as_of=date(2025, 6, 30), stream_count=10, schema="projection",
        results=results, node_scores=nodes, dimension_scores=dims, overall_score=overall)
    if history:
        run.history = [
            {"run_id": str(uuid.uuid4()), "started_at": (started - timedelta(days=2)).isoformat(),
             "scope": "full", "overall": 90.0, "dimensions": {"完整性": 80.0, "准确性": 100.0},
             "success": False, "checks_failed": 1, "trigger": "scheduled:nightly-full"},
            {"run_id": str(run.run_id), "started_at": started.isoformat(), "scope": "full",
             "overall": overall, "dimensions": dims, "success": False, "checks_failed": 1,
             "trigger": "manual"},
        ]
        run.changes = {
            "previous": {"run_id": run.history[0]["run_id"], "started_at": run.history[0]["started_at"],
                         "scope": "full"},
            "overall": {"previous": 90.0, "current": overall, "delta": round((overall or 0) - 90, 1)},
            "dimensions": {"完整性": {"previous": 80.0, "current": dims["完整性"],
                                   "delta": round(dims["完整性"] - 80, 1)}},
            "better": [{"id": "station_disclosures_complete", "title_zh": "联络站公示六项信息齐全",
                        "dimension": "完整性", "previous": 3, "current": 1, "change": "异常减少"}],
            "worse": [], "nodes_better": [], "nodes_worse": []}
    return run


def test_html_is_chinese_self_contained_and_escaped() -> None:
    html = render_html(_run())
    assert "数据质量检查报告" in html
    assert "2025-07-01 09:00:00" in html  # Beijing time
    assert "未通过" in html and "第十一条" in html
    assert "工作人员基本信息和工作职责、应用场景使用方式" in html
    assert "<script>x" not in html and "&lt;script&gt;" in html
    assert "http://" not in html and "https://" not in html and "<script" not in html
    for dimension in (Dimension.COMPLETENESS, Dimension.ACCURACY):
        assert f"<h3>{dimension}（得分" in html
    # Per-node table: the city, the county, the township that pulls it down, by name.
    assert "绍兴市" in html and "越城区" in html and "▼ 拉低所属县" in html
    assert "这是首次检查" in html


def test_html_has_trend_charts_and_changes() -> None:
    html = render_html(_run(history=True))
    assert html.count("<svg") == 1 + 6  # overall + one per dimension
    assert "polyline" in html and "变好" in html and "异常减少" in html
    assert re.search(r'<svg xmlns="http://www.w3.org/2000/svg"', html)


def test_scores_roll_up_from_townships() -> None:
    run = _run()
    nodes = {n.node: n for n in run.node_scores}
    assert nodes["330602001"].dimensions["完整性"] == 50.0
    assert nodes["330602002"].dimensions["完整性"] == 100.0
    assert nodes["330602"].dimensions["完整性"] == 75.0 == nodes["3306"].dimensions["完整性"]
    assert run.dimension_scores == {"完整性": 75.0, "准确性": 100.0}
    assert run.overall_score == 87.5
    assert grade(87.5) == ("良", "s-ok") and grade(100.0)[0] == "优" and grade(None)[0] == "—"


def test_write_reports_and_latest_copies(tmp_path: Path) -> None:
    run = _run()
    html_path, json_path = write_reports(run, tmp_path)
    assert html_path.name == "quality-20250701T090000.html"
    doc = json.loads(json_path.read_text(encoding="utf-8"))
    assert doc == json.loads(json.dumps(to_json(run), default=str))
    assert doc["success"] is False and doc["checks_failed"] == 1
    assert doc["checks"][0]["samples"][0]["missing_items"] == "staff,app_usage"
    assert doc["nodes"][0]["node"] == "3306" and doc["overall_score"] == 87.5
    assert (tmp_path / "latest.json").read_bytes() == json_path.read_bytes()
    # A second run in the same second does not overwrite the first.
    again = _run()
    html2, _ = write_reports(again, tmp_path)
    assert html2 != html_path and html_path.exists()


def test_published_summary_is_small_and_names_failures() -> None:
    doc = published_summary(_run())
    assert doc["type"] == "quality.report.published"
    assert doc["failed_checks"] == [{"id": "station_disclosures_complete", "dimension": "完整性",
                                     "article": "第十一条", "unexpected_count": 1}]
    assert doc["counties"] == {"330602": 87.5}
    assert len(json.dumps(doc, ensure_ascii=False)) < 2000


def test_personal_details_are_masked_in_samples() -> None:
    assert mask_text("联系电话13812345678，身份证330602199001011234") == \
        "联系电话138****5678，身份证330602********1234"
    assert mask_text("座机0575-85123456") == "座机0575-****3456"
    row = clean_row({"opinion_id": "O1", "citizen_name": "张三", "raw": b"x",
                     "content": "请致电13912345678"})
    assert row == {"opinion_id": "O1", "content": "请致电139****5678"}


def test_a_full_run_reports_its_minqing_analysis(tmp_path: Path) -> None:
    run = _run()
    run.minqing = analyse([*ordinary_year(), *surge()], year=2025, as_of=run.as_of)
    html = render_html(run)
    section = html.split('<section class="minqing" id="minqing">', 1)[1].split("</section>", 1)[0]
    assert "<h2>七、社情民意分析（条例第十五条）</h2>" in section
    top_row = section.split("<h3>热点话题</h3>", 1)[1].split("</tr>", 2)[1]
    assert "越城区" in top_row and "2025年7月" in top_row and "自来水" in top_row
    assert html.index("六、检查明细") < html.index('id="minqing"') < html.index("<footer>")
    _, json_path = write_reports(run, tmp_path)
    doc = json.loads(json_path.read_text(encoding="utf-8"))
    assert doc["minqing"]["hot_topics"][0]["region_name"] == "越城区"
    assert doc["minqing"]["opinions"] == 3 * 12 * 30 + 20
    # A run without one (the hourly timeliness run) has neither.
    plain = _run()
    assert 'id="minqing"' not in render_html(plain) and to_json(plain)["minqing"] is None


class _Rows:
    """Stands in for a psycopg connection: ``execute(...).fetchall()`` gives the rows."""

    def __init__(self, rows: list[tuple[Any, ...]] | None = None, error: Exception | None = None) -> None:
        self.rows, self.error = rows or [], error

    def execute(self, *_args: Any) -> _Rows:
        if self.error is not None:
            raise self.error
        return self

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.rows


def _params() -> RunParams:
    from quality.config import QualityConfig
    from quality.runner import run_params

    return run_params(2025, date(2025, 12, 31), QualityConfig())


def test_the_reports_minqing_masks_numbers_in_quoted_requests() -> None:
    text = "幸福小区自来水发黄浑浊，联系电话13812345678，希望尽快处理。"
    rows = [(o.opinion_id, o.region_code, o.received_on, o.category, o.content, None, None, None)
            for o in [*ordinary_year(), *surge()]]
    rows += [(f"O-330602001-A{k}", "330602001", date(2025, 7, 10), "城乡建设", text, None, None, None)
             for k in range(3)]
    details: dict[str, Any] = {}
    analysis = _minqing(_Rows(rows), _params(), "3306", details)  # type: ignore[arg-type]
    assert analysis is not None and details["minqing_seconds"] >= 0
    examples = [e for t in analysis.hot_topics for e in t.examples]
    assert any("138****5678" in e for e in examples)
    assert not any("13812345678" in e for e in examples)


def test_a_minqing_analysis_that_cannot_run_is_said_not_fatal() -> None:
    details: dict[str, Any] = {}
    broken = _Rows(error=psycopg.errors.UndefinedTable('relation "opinions" does not exist'))
    assert _minqing(broken, _params(), "3306", details) is None  # type: ignore[arg-type]
    assert "opinions" in details["minqing_error"]
    run = _run()
    run.details = details
    html = render_html(run)
    assert "本次检查未能完成社情民意分析" in html and 'id="minqing"' in html
