"""The main job end to end: every planted fault is found, exactly, and a rerun starts clean."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Servers
from tests.integration.conftest import cli

pytestmark = pytest.mark.integration


def test_demo_finds_exactly_the_planted_faults_and_reruns_cleanly(servers: Servers) -> None:
    first = json.loads(cli("demo", "--json", "--opinions", "1500").stdout)
    assert first["ok"] is True
    kinds = {f["check"]: f for f in first["planted_faults"]}
    assert len(kinds) == 5 and all(f["exact"] for f in kinds.values())
    assert len(kinds["deputy_yearly_visit_minimum"]["found"]) == 5
    assert kinds["township_monthly_reception"]["found"][0].endswith("@2025-08")
    # Art. 15: the planted overdue opinions, still open or answered late, by id.
    overdue = kinds["opinion_deadline_met"]
    assert overdue["kind"] == "意见建议办理超期（第十五条）"
    assert overdue["found"] == overdue["planted"]
    open_ = [f for f in overdue["found"] if f.endswith("（逾期未反馈）")]
    late = [f for f in overdue["found"] if f.endswith("（逾期反馈）")]
    assert open_ and len(open_) + len(late) == len(overdue["found"])
    assert first["unplanned_failures"] == []
    failing = {c["id"] for c in first["quality"]["checks"] if not c["success"]}
    assert failing == set(kinds)
    assert first["projected"]["dead_lettered"] == 3
    assert first["status"]["stream"]["messages"] == first["events_published"] + 3
    assert first["status"]["tables"]["event_archive"] == first["events_published"]

    # The report's 社情民意分析 section names the planted hot topic first: 上虞区, July 2025, tap water.
    html = Path(first["report_html"]).read_text(encoding="utf-8")
    section = html.split('<section class="minqing" id="minqing">', 1)[1].split("</section>", 1)[0]
    assert "七、社情民意分析" in section
    top_row = section.split("<h3>热点话题</h3>", 1)[1].split("</tr>", 2)[1]
    assert "上虞区" in top_row and "2025年7月" in top_row
    assert all(word in top_row for word in ("自来水", "发黄", "浑浊"))
    # The JSON report carries it too, and its timeliness counts the planted overdue items.
    minqing = first["quality"]["minqing"]
    report = json.loads(Path(first["quality"]["json_path"]).read_text(encoding="utf-8"))
    assert report["minqing"] == minqing
    top = minqing["hot_topics"][0]
    assert (top["region_name"], top["month"]) == ("上虞区", "2025-07")
    assert {"自来水", "发黄", "浑浊"} <= set(top["keywords"])
    assert (minqing["overall"]["overdue_open"], minqing["overall"]["late"]) == (len(open_), len(late))

    second = json.loads(cli("demo", "--json", "--opinions", "1500").stdout)
    assert second["ok"] is True
    assert second["status"]["tables"] == first["status"]["tables"]
    assert second["status"]["stream"]["messages"] == first["status"]["stream"]["messages"]
