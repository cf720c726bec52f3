"""The check catalogue and its SQL rendering, without a database."""

from __future__ import annotations

import re
import string
import subprocess
import sys
from datetime import date

import pytest

from quality.checks import CHECKS, GX_KINDS, Check, Kind
from quality.gx_suite import sqlalchemy_url
from quality.model import Dimension
from quality.params import RunParams

PARAMS = RunParams(year=2025, as_of=date(2025, 6, 15), known_regions=("3306", "330602"),
                   disclosure_items=("deputies", "staff"))


def test_ids_are_unique_snake_case_with_chinese_titles() -> None:
    ids = [c.id for c in CHECKS]
    assert len(ids) == len(set(ids))
    for c in CHECKS:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", c.id), c.id
        assert re.search(r"[\u4e00-\u9fff]", c.title_zh), c.id
        assert isinstance(c.dimension, Dimension)
        assert c.article is None or re.fullmatch(r"第[一二三四五六七八九十]+条", c.article)


def test_regulation_rules_are_tagged_with_their_articles() -> None:
    articles = {c.id: c.article for c in CHECKS}
    assert articles["deputy_yearly_visit_minimum"] == "第十二条"
    assert articles["township_monthly_reception"] == "第十四条"
    assert articles["station_disclosures_complete"] == "第十一条"


@pytest.mark.parametrize("check", [c for c in CHECKS if c.kind is Kind.ROWS], ids=lambda c: c.id)
def test_row_queries_render_for_gx(check: Check) -> None:
    text = check.rows_query(PARAMS)
    fields = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    assert fields == {"batch"}  # GX formats the text again: no other braces may remain
    assert "citizen_" not in text
    if "JOIN" not in text.upper():
        # GX aliases the batch itself when the query has no JOIN.
        assert re.search(r"\{batch\}\s*\n", text), check.id
    assert "{batch}" not in check.rows_query(PARAMS, batch="stations")


def test_every_check_names_what_it_needs() -> None:
    for c in CHECKS:
        if c.kind in (Kind.UNIQUE, Kind.NOT_NULL, Kind.MATCH_REGEX, Kind.IN_SET):
            assert c.column and c.sample_columns and c.column in c.sample_columns
        if c.kind is Kind.IN_SET:
            assert c.value_set
        if c.kind is Kind.ROWS:
            assert c.query
            # Every finding names the node it belongs to, so it can be scored per node.
            assert re.search(r"\bAS node\b", c.query), c.id
        if c.kind is not Kind.PYTHON:
            assert c.population_query(PARAMS), c.id
    python = {c.id for c in CHECKS if c.kind is Kind.PYTHON}
    assert python == {"stream_reconciliation", "archive_projection_reconciliation",
                      "node_totals_add_up", "stream_readable", "projection_fresh",
                      "projection_tables_readable"}
    assert all(c.kind in GX_KINDS for c in CHECKS if c.id not in python)


def test_every_dimension_has_checks_and_timeliness_names_its_thresholds() -> None:
    assert {c.dimension for c in CHECKS} == set(Dimension)
    titles = {c.id: c.title(PARAMS) for c in CHECKS}
    assert titles["event_recording_lag"] == "事件在发生后24小时内录入（发生时间与记录时间之差）"
    assert titles["reception_announced_in_advance"] == "主题接待活动至少提前3日向社会公告"
    assert "{" not in "".join(titles.values())


def test_population_queries_render_without_placeholders() -> None:
    for c in CHECKS:
        q = c.population_query(PARAMS)
        if q is not None:
            assert "{" not in q and "AS node" in q and "AS n" in q, c.id


def test_params_render_typed_literals_only() -> None:
    lit = PARAMS.literals()
    assert lit["year"] == "2025"
    assert lit["year_start"] == "'2025-01-01T00:00:00+08:00'::timestamptz"
    assert lit["last_month"] == "DATE '2025-06-01'"
    assert lit["known_regions"] == "ARRAY['3306','330602']::text[]"
    assert lit["as_of_end"] == "'2025-06-16T00:00:00+08:00'::timestamptz"
    assert lit["silent_levels"] == "ARRAY['中心站','联络站']::text[]"
    assert lit["notice"] == "interval '3 days'"
    later = RunParams(2024, date(2025, 2, 1), (), ())
    assert later.literals()["last_month"] == "DATE '2024-12-01'"
    with pytest.raises(ValueError):
        RunParams(2025, date(2025, 1, 1), ("33'; DROP TABLE x; --",), ()).literals()


def test_sqlalchemy_url_uses_psycopg3_and_schema() -> None:
    url = sqlalchemy_url("postgresql://postgres@127.0.0.1:5432/liaison", "qtest")
    assert url == "postgresql+psycopg://postgres@127.0.0.1:5432/liaison?options=-csearch_path%3Dqtest"
    assert sqlalchemy_url("postgresql://h/db?sslmode=disable", "p").endswith(
        "?sslmode=disable&options=-csearch_path%3Dp")
    with pytest.raises(ValueError):
        sqlalchemy_url("mysql://h/db", "p")


def test_great_expectations_is_imported_lazily() -> None:
    code = ("import sys, quality.runner, quality.report, quality.store, quality.job, "
            "quality.scheduler, quality.custom, hub.cli, hub.serve, consumers.projector; "
            "sys.exit('great_expectations' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_jieba_is_imported_lazily() -> None:
    """Only a full quality run's 社情民意分析 (or `analysis minqing`) loads jieba."""
    code = ("import sys, quality.runner, quality.report, quality.serialize, quality.job, "
            "quality.minqing, hub.cli, hub.serve, hub.demo, consumers.projector; "
            "sys.exit('jieba' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
