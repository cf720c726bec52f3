"""An auditor's custom checks (TOML: an SQL query, a GX expectation) are picked up, fail on
bad data and pass on good, with no Python written."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from quality.config import QualityConfig
from quality.model import Dimension
from tests.integration.conftest import cli
from tests.integration.test_quality import SCHEMA, Env, env  # noqa: F401  (module fixture)

pytestmark = pytest.mark.integration

CHECKS = '''
[[check]]
id = "opinion_content_not_blank"
title = "意见建议内容不为空白"
dimension = "完整性"
article = "第十五条"
table = "opinions"
sql = """
SELECT opinion_id, station_id, split_part(station_id, '-', 1) AS node
FROM opinions WHERE btrim(content) = ''
"""
population = "SELECT split_part(station_id, '-', 1) AS node, count(*) AS n FROM opinions GROUP BY 1"

[[check]]
id = "visit_people_met_range"
title = "进站履职登记的接待群众人数在0至500人之间"
dimension = "准确性"
article = "第十二条"
table = "visits"
expectation = "expect_column_values_to_be_between"
kwargs = { column = "people_met", min_value = 0, max_value = 500 }
'''


def _dir(tmp_path: Path) -> Path:
    folder = tmp_path / "checks"
    folder.mkdir()
    (folder / "auditor.toml").write_text(CHECKS, encoding="utf-8")
    return folder


async def test_custom_checks_are_picked_up_fail_on_bad_data_and_pass_on_good(
        env: Env, tmp_path: Path) -> None:  # noqa: F811
    config = QualityConfig(check_dirs=(_dir(tmp_path),))
    good = await env.run(config=config)
    blank, people = good.result("opinion_content_not_blank"), good.result("visit_people_met_range")
    assert blank.success and people.success
    assert blank.source.endswith("auditor.toml") and blank.population == 6
    assert (blank.dimension, blank.article) == (Dimension.COMPLETENESS, "第十五条")
    assert people.population == 10  # GX saw every visit

    env.sql("UPDATE opinions SET content = '  ' WHERE opinion_id = 'O2'",
            "UPDATE visits SET people_met = 9999 WHERE visit_id = 'V4'")
    try:
        bad = await env.run(config=config)
    finally:
        env.sql("UPDATE opinions SET content = '路灯不亮，希望维修' WHERE opinion_id = 'O2'",
                "UPDATE visits SET people_met = 5 WHERE visit_id = 'V4'")
    assert {r.id for r in bad.results if not r.success} == {
        "opinion_content_not_blank", "visit_people_met_range"}
    blank = bad.result("opinion_content_not_blank")
    assert blank.samples == [{"opinion_id": "O2", "station_id": "330602001-01", "node": "330602001"}]
    assert blank.by_node["330602001"].unexpected == 1
    assert bad.result("visit_people_met_range").samples == [{"column": "people_met", "value": 9999}]
    html = (bad.html_path or Path()).read_text(encoding="utf-8")
    assert "意见建议内容不为空白" in html and "（自定义）" in html

    fixed = await env.run(config=config)
    assert fixed.success


def test_the_cli_picks_up_custom_checks_from_the_config(env: Env, tmp_path: Path) -> None:  # noqa: F811
    folder = _dir(tmp_path)
    config = tmp_path / "quality.toml"
    config.write_text(f'[checks]\ndirs = ["{folder.name}"]\n', encoding="utf-8")
    doc = json.loads(cli("quality", "run", "--json", "--schema", SCHEMA, "--year", "2025",
                         "--as-of", "2025-03-15", "--config", str(config)).stdout)
    ids = {c["id"]: c for c in doc["checks"]}
    assert ids["opinion_content_not_blank"]["success"] is True
    assert ids["visit_people_met_range"]["source"].endswith("auditor.toml")
    # A broken custom check is refused before anything runs, naming file and check.
    (folder / "broken.toml").write_text(CHECKS.replace('dimension = "完整性"', 'dimension = "好坏"')
                                        .replace("opinion_content_not_blank", "other_check")
                                        .replace("visit_people_met_range", "other_range"),
                                        encoding="utf-8")
    result = cli("quality", "run", "--schema", SCHEMA, "--config", str(config), check=False)
    assert result.returncode == 2 and "broken.toml" in result.stderr and "other_check" in result.stderr


async def test_yearly_training_is_judged_at_the_year_end(env: Env) -> None:  # noqa: F811
    """Art. 22, a shipped custom check: mid-year nothing is due; at 31 December every open
    station without a training organised by the county or city that year is a finding."""
    check = "station_staff_trained_yearly"
    mid_year = (await env.run()).result(check)
    assert mid_year.success and mid_year.population == 4 and mid_year.article == "第二十二条"
    year_end = (await env.run(as_of=date(2025, 12, 31))).result(check)
    assert not year_end.success and year_end.unexpected_count == 4
    assert [s["station_id"] for s in year_end.samples] == [
        "3306-01", "330602-01", "330602001-01", "330602002-01"]
    env.sql("INSERT INTO staff_trainings SELECT 'T-2025', station_id, person_id,"
            " '2025-06-01T09:00:00+08:00', 2025, 'county', '履职服务', 8 FROM staff")
    try:
        trained = (await env.run(as_of=date(2025, 12, 31))).result(check)
    finally:
        env.sql("DELETE FROM staff_trainings WHERE training_id = 'T-2025'")
    assert trained.success and trained.by_node["330602002"].population == 1
