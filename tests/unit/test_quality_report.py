"""HTML and JSON reports from a hand-made run, without a database."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from quality.model import CheckResult, Dimension, QualityRun
from quality.report import render_html, write_reports
from quality.runner import to_json


def _run() -> QualityRun:
    started = datetime(2025, 7, 1, 1, 0, tzinfo=UTC)
    return QualityRun(
        run_id=uuid.uuid4(), started_at=started, finished_at=started + timedelta(seconds=2),
        year=2025, as_of=date(2025, 6, 30), stream_count=10, schema="projection",
        results=[
            CheckResult("station_disclosures_complete", "联络站公示六项信息齐全",
                        Dimension.COMPLETENESS, "第十一条", False, 1,
                        [{"station_id": "330602-01", "name": "<script>x</script>",
                          "level": "中心站", "missing_items": "staff,app_usage", "missing": 2}]),
            CheckResult("stations_station_id_unique", "站点编号唯一", Dimension.ACCURACY, None,
                        True, 0),
        ])


def test_html_is_chinese_self_contained_and_escaped() -> None:
    html = render_html(_run())
    assert "数据质量检查报告" in html
    assert "2025-07-01 09:00:00" in html  # Beijing time
    assert "未通过" in html and "第十一条" in html
    assert "工作人员基本信息和工作职责、应用场景使用方式" in html
    assert "<script>x" not in html and "&lt;script&gt;" in html
    assert "http://" not in html and "https://" not in html
    for dimension in Dimension:
        assert f"<h2>{dimension}</h2>" in html


def test_write_reports_and_latest_copies(tmp_path: Path) -> None:
    run = _run()
    html_path, json_path = write_reports(run, tmp_path)
    assert html_path.name == "quality-20250701T090000.html"
    doc = json.loads(json_path.read_text(encoding="utf-8"))
    assert doc == to_json(run)
    assert doc["success"] is False and doc["checks_failed"] == 1
    assert doc["checks"][0]["samples"][0]["missing_items"] == "staff,app_usage"
    assert (tmp_path / "latest.json").read_bytes() == json_path.read_bytes()
    # A second run in the same second does not overwrite the first.
    again = _run()
    html2, _ = write_reports(again, tmp_path)
    assert html2 != html_path and html_path.exists()
