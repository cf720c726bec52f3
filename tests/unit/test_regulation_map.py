"""docs/regulation.md maps every article to events, projections and checks that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from consumers.store import migration_sql
from schemas.events import EVENT_TYPES

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "regulation.md"
NUMERALS = "一二三四五六七八九十"


def article_number(label: str) -> int:
    """第七条 -> 7, 第二十四条 -> 24."""
    text = label.strip().removeprefix("第").removesuffix("条")
    if "十" not in text:
        return NUMERALS.index(text) + 1
    tens, _, ones = text.partition("十")
    return (NUMERALS.index(tens) + 1 if tens else 1) * 10 + (NUMERALS.index(ones) + 1 if ones else 0)


def ticked(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def rows() -> dict[int, dict[str, list[str] | str]]:
    text = DOC.read_text(encoding="utf-8")
    table = text.split("## 条款对照表", 1)[1].split("\n## ", 1)[0]
    out: dict[int, dict[str, list[str] | str]] = {}
    for line in table.splitlines():
        if not line.startswith("| 第"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        assert len(cells) == 7, line
        n = article_number(cells[0])
        assert n not in out, f"article {n} listed twice"
        out[n] = {"duty": cells[2], "events": ticked(cells[3]), "projections": ticked(cells[4]),
                  "checks": ticked(cells[5])}
    return out


def projections() -> set[str]:
    sql = "\n".join(migration_sql())
    return set(re.findall(r"CREATE (?:TABLE IF NOT EXISTS|OR REPLACE VIEW) (\w+)", sql))


def known_checks() -> set[str]:
    catalogue = (ROOT / "quality" / "checks.py").read_text(encoding="utf-8")
    ids = set(re.findall(r'"([a-z][a-z0-9_]+)"', catalogue))
    for toml in (ROOT / "quality" / "checks").glob("*.toml"):
        ids |= set(re.findall(r'^id = "([a-z0-9_]+)"', toml.read_text(encoding="utf-8"), re.M))
    # Key checks are generated per table: <table>_<column>_unique / _not_null.
    return ids


def test_article_numbers_parse() -> None:
    assert [article_number(f"第{x}条") for x in ("一", "九", "十", "十一", "二十", "二十四", "二十六")] == [
        1, 9, 10, 11, 20, 24, 26]


def test_every_article_is_in_the_map_once() -> None:
    assert sorted(rows()) == list(range(1, 27))


def test_every_event_type_appears_in_the_map() -> None:
    mapped = {e for r in rows().values() for e in r["events"]}
    missing = set(EVENT_TYPES) - mapped
    assert not missing, f"event types not mapped to an article in docs/regulation.md: {sorted(missing)}"


def test_every_event_type_is_in_the_catalogue_section() -> None:
    catalogue = DOC.read_text(encoding="utf-8").split("## 事件目录", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", catalogue, re.M))
    assert listed == set(EVENT_TYPES)


@pytest.mark.parametrize("article", range(7, 25))
def test_articles_7_to_24_with_a_data_duty_have_an_event_and_a_projection(article: int) -> None:
    row = rows()[article]
    assert row["duty"] in ("是", "否")
    if row["duty"] != "是":
        return
    assert row["events"], f"第{article}条 has a data duty but no event"
    assert row["projections"], f"第{article}条 has a data duty but no projection"


def test_articles_7_to_24_all_carry_a_data_duty() -> None:
    assert [a for a, r in rows().items() if 7 <= a <= 24 and r["duty"] != "是"] == []


def test_what_the_map_names_exists() -> None:
    tables = projections()
    checks = known_checks()
    for article, row in rows().items():
        for e in row["events"]:
            assert e == "*" or e in EVENT_TYPES, f"第{article}条: unknown event {e}"
        for p in row["projections"]:
            assert p in tables or p == "checkpoints", f"第{article}条: unknown projection {p}"
        for c in row["checks"]:
            assert c in checks, f"第{article}条: unknown quality check {c}"


def test_migrations_create_the_views_the_doc_names() -> None:
    assert {"opinion_deadlines", "station_staffing", "deputy_archive"} <= projections()
