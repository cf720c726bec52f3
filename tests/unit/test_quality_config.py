"""Quality config (thresholds, cron schedule) and auditors' custom check files."""

from __future__ import annotations

from pathlib import Path

import pytest

from quality.checks import Kind
from quality.config import DEFAULT_SCHEDULE, ConfigError, load_config, parse_config
from quality.custom import expectation_class, load_custom_checks, parse_checks
from quality.model import Dimension

CONFIG = """
[thresholds]
max_recording_lag_hours = 12
reception_notice_days = 5
silent_levels = ["联络站"]

[[schedule]]
name = "nightly"
cron = "30 1 * * *"

[[schedule]]
name = "hourly"
cron = "5 * * * *"
dimensions = ["时效性", "accessibility"]

[checks]
dirs = ["more-checks"]
"""


def test_config_file_overrides_defaults(tmp_path: Path) -> None:
    path = tmp_path / "quality.toml"
    path.write_text(CONFIG, encoding="utf-8")
    config = load_config(tmp_path, path)
    t = config.thresholds
    assert (t.max_recording_lag_hours, t.reception_notice_days, t.silent_levels) == (12, 5, ("联络站",))
    assert t.opinion_acceptance_days == 7  # untouched default
    assert [(e.name, e.cron, e.dimensions) for e in config.schedule] == [
        ("nightly", "30 1 * * *", ()),
        ("hourly", "5 * * * *", (Dimension.TIMELINESS, Dimension.ACCESSIBILITY))]
    assert config.check_dirs == ((tmp_path / "more-checks").resolve(),)


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUB_QUALITY_CONFIG", raising=False)
    config = load_config(tmp_path)
    assert config.schedule == DEFAULT_SCHEDULE and config.source is None
    assert DEFAULT_SCHEDULE[0].cron == "0 2 * * *" and DEFAULT_SCHEDULE[1].cron == "0 * * * *"
    (tmp_path / "checks").mkdir()
    assert load_config(tmp_path).check_dirs == (tmp_path / "checks",)


@pytest.mark.parametrize("text, message", [
    ("[[schedule]]\ncron = 'every night'", "invalid cron"),
    ("[[schedule]]\ncron = '0 2 * * *'\ndimensions = ['速度']", "unknown dimension"),
    ("[thresholds]\nsilent_days = -1", "non-negative"),
    ("[thresholds]\nsilent_levels = ['村']", "silent_levels"),
    ("[thresholds]\nspeed = 1", "unknown keys"),
    ("[nonsense]", "unknown sections"),
])
def test_bad_config_is_refused_with_its_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(text)


CUSTOM = '''
[[check]]
id = "opinion_content_not_blank"
title = "意见建议内容不为空白"
dimension = "完整性"
article = "第十五条"
table = "opinions"
sql = "SELECT opinion_id, split_part(station_id, '-', 1) AS node FROM opinions WHERE btrim(content) = ''"

[[check]]
id = "visit_people_met_range"
title = "进站接待群众人数合理"
dimension = "准确性"
table = "visits"
expectation = "expect_column_values_to_be_between"
kwargs = { column = "people_met", min_value = 0, max_value = 500 }
'''


def test_custom_checks_parse() -> None:
    sql_check, gx_check = parse_checks(CUSTOM, "mine.toml")
    assert sql_check.kind is Kind.SQL and sql_check.dimension is Dimension.COMPLETENESS
    assert sql_check.article == "第十五条" and sql_check.source == "mine.toml"
    assert gx_check.kind is Kind.GX and gx_check.expectation == "ExpectColumnValuesToBeBetween"
    assert gx_check.kwargs == {"column": "people_met", "min_value": 0, "max_value": 500}
    assert expectation_class("expect_column_values_to_not_be_null") == "ExpectColumnValuesToNotBeNull"


@pytest.mark.parametrize("change, message", [
    (('dimension = "完整性"', 'dimension = "好坏"'), "unknown dimension"),
    (('article = "第十五条"', 'article = "15"'), "article"),
    (('id = "opinion_content_not_blank"', 'id = "stream_reconciliation"'), "built-in"),
    (('id = "opinion_content_not_blank"', 'id = "Bad Id"'), "snake_case"),
    (('title = "意见建议内容不为空白"', 'title = "no chinese"'), "Chinese title"),
    (('sql = "SELECT', 'sql = "DELETE FROM opinions; SELECT'), "one SELECT"),
    (("AS node FROM opinions WHERE", "AS node FROM opinions; DROP TABLE x; SELECT 1 WHERE"),
     "single statement"),
    (('expectation = "expect_column_values_to_be_between"', 'expectation = "rm -rf"'), "GX name"),
])
def test_bad_custom_checks_name_file_and_check(change: tuple[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as exc:
        parse_checks(CUSTOM.replace(*change), "mine.toml")
    assert "mine.toml" in str(exc.value)


def test_shipped_and_extra_custom_checks_load(tmp_path: Path) -> None:
    shipped = {c.id for c in load_custom_checks()}
    assert {"station_has_head", "reception_attendance_plausible"} <= shipped
    (tmp_path / "a.toml").write_text(CUSTOM, encoding="utf-8")
    ids = [c.id for c in load_custom_checks([tmp_path])]
    assert ids[-2:] == ["opinion_content_not_blank", "visit_people_met_range"]
    (tmp_path / "b.toml").write_text(CUSTOM, encoding="utf-8")
    with pytest.raises(ConfigError, match="used twice"):
        load_custom_checks([tmp_path])
