"""民情 analysis on plain rows: the surge is named, ordinary months are not, timeliness adds up."""

from __future__ import annotations

import random
from datetime import date, timedelta

from markupsafe import Markup

from producers.simulator import simulate
from quality.minqing import OpinionText, analyse, keywords_of, render_section, to_json
from schemas import events as ev
from schemas.regions import station_region

AS_OF = date(2025, 12, 31)
ISSUES = ("楼道照明损坏多时无人维修", "公交班次少，早晚高峰等车时间长", "老年食堂用餐价格偏高",
          "河道有异味，漂浮物多", "附近幼儿园学位紧张", "农贸市场有缺斤短两现象")
TOWNS = ("330602001", "330603001", "330604001")


def ordinary_year(seed: int = 1, per_month: int = 30) -> list[OpinionText]:
    rng = random.Random(seed)
    rows = []
    for month in range(1, 13):
        for town in TOWNS:
            for k in range(per_month):
                rows.append(OpinionText(
                    f"O-{town}-{month:02d}{k:03d}", town, date(2025, month, rng.randint(1, 28)),
                    rng.choice(("城乡建设", "交通出行", "养老服务")), f"和平社区{rng.choice(ISSUES)}，希望尽快解决。"))
    return rows


SURGE = ("幸福小区近一周自来水发黄浑浊，烧开后有沉淀，希望尽快查明原因。",
         "幸福小区自来水浑浊发黄，有铁锈味，希望供水部门处理。",
         "幸福小区早上自来水发黄浑浊，放水很久才变清。")


def surge(n: int = 20) -> list[OpinionText]:
    return [OpinionText(f"O-330602001-H{k:03d}", "330602001", date(2025, 7, 3 + k % 20), "城乡建设",
                        SURGE[k % 3]) for k in range(n)]


def test_keywords_drop_stop_words_and_place_names() -> None:
    words = keywords_of("塔山街道和平社区楼道照明损坏多时无人维修，希望尽快安排维修。")
    assert {"楼道", "照明", "损坏", "维修"} <= set(words)
    assert not {"塔山", "塔山街道", "和平", "社区", "希望", "尽快", "安排"} & set(words)
    assert len(words) == len(set(words))


def test_the_surge_is_named_first() -> None:
    a = analyse([*ordinary_year(), *surge()], year=2025, as_of=AS_OF)
    top = a.hot_topics[0]
    assert (top.region_name, top.month) == ("越城区", "2025-07")
    assert {"自来水", "发黄", "浑浊"} <= set(top.keywords)
    assert top.opinions == 20 and top.expected < 1 and top.lift > 10
    assert top.townships == [("塔山街道", 20)] and top.category == "城乡建设"
    assert len(top.examples) == 2 and all("自来水" in e for e in top.examples)


def test_an_ordinary_year_has_no_hot_topic() -> None:
    assert analyse(ordinary_year(), year=2025, as_of=AS_OF).hot_topics == []


def test_words_of_the_month_and_trends() -> None:
    a = analyse([*ordinary_year(), *surge()], year=2025, as_of=AS_OF)
    july = next(w for w in a.month_words if (w.region_code, w.month) == ("330602", "2025-07"))
    assert july.opinions == 50 and "自来水" in july.words
    assert {w.region_name for w in a.month_words} == {"越城区", "柯桥区", "上虞区"}
    assert sum(c.total for c in a.categories) == a.opinions == 3 * 12 * 30 + 20
    build = next(c for c in a.categories if c.category == "城乡建设")
    assert len(build.by_month) == 12 and build.change is not None


def test_other_years_are_left_out() -> None:
    old = OpinionText("O-old", "330602001", date(2024, 7, 1), "教育", "附近幼儿园学位紧张")
    assert analyse([old, *surge()], year=2025, as_of=AS_OF).opinions == 20


def test_timeliness_counts_due_on_time_late_and_open() -> None:
    d = date(2025, 6, 10)
    rows = [
        OpinionText("O-1", "330602001", d, "教育", "学位紧张", "assigned", d + timedelta(days=20), d + timedelta(days=5)),
        OpinionText("O-2", "330602001", d, "教育", "学位紧张", "assigned", d + timedelta(days=20), d + timedelta(days=20)),
        OpinionText("O-3", "330602001", d, "教育", "学位紧张", "assigned", d + timedelta(days=20), d + timedelta(days=25)),
        OpinionText("O-4", "330602001", d, "教育", "学位紧张", "assigned", d + timedelta(days=20), None),
        OpinionText("O-5", "330602001", d, "教育", "学位紧张", "assigned", date(2026, 1, 10), None),  # not due
        OpinionText("O-6", "330602001", d, "教育", "学位紧张", "answered"),
        OpinionText("O-7", "330602001", d, "教育", "学位紧张", "redirected"),
    ]
    t = analyse(rows, year=2025, as_of=AS_OF).overall
    assert (t.received, t.answered, t.redirected, t.assigned) == (7, 1, 1, 5)
    assert (t.due, t.on_time, t.late, t.overdue_open) == (4, 2, 1, 1)
    assert t.share_on_time == 0.5
    # Feedback after the day asked about does not count yet: on 7 Jul, O-3 is still open and overdue.
    early = analyse(rows, year=2025, as_of=date(2025, 7, 3)).overall
    assert (early.due, early.on_time, early.late, early.overdue_open) == (4, 2, 0, 2)


def test_section_is_chinese_escaped_markup_naming_the_topic() -> None:
    rows = [*ordinary_year(), *surge()]
    rows.append(OpinionText("O-x", "330603001", date(2025, 3, 1), "<b>其他</b>", "<script>alert(1)</script>"))
    html = render_section(analyse(rows, year=2025, as_of=AS_OF))
    assert isinstance(html, Markup)
    assert html.startswith("\n<section class=\"minqing\"")
    for text in ("社情民意分析（条例第十五条）", "热点话题", "越城区", "2025年7月", "自来水", "各区县每月热词",
                 "意见建议类别趋势", "按期反馈率"):
        assert text in html
    assert "<script>" not in html and "&lt;b&gt;其他&lt;/b&gt;" in html


def test_json_has_the_shares() -> None:
    doc = to_json(analyse([*ordinary_year(), *surge()], year=2025, as_of=AS_OF))
    assert doc["hot_topics"][0]["region_code"] == "330602"
    assert doc["overall"]["share_on_time"] is None  # nothing assigned
    assert {"by_region", "by_category", "categories", "month_words"} <= set(doc)


def test_the_simulated_year_names_its_planted_hot_topic() -> None:
    sim = simulate(opinions=1500)
    hot = sim.hot_topic
    assert hot is not None and len(hot.opinion_ids) == 40
    rows = [OpinionText(e.payload.opinion_id, station_region(e.payload.station_id), e.occurred_at.date(),
                        e.payload.category, e.payload.content)
            for phase in sim.phases for e in phase if isinstance(e.payload, ev.OpinionReceived)]
    top = analyse(rows, year=sim.year, as_of=date(sim.year, 12, 31)).hot_topics[0]
    assert (top.region_code, top.region_name, top.month) == (hot.region_code, hot.region_name, hot.month)
    assert set(hot.keywords) <= set(top.keywords)
    assert top.opinions >= len(hot.opinion_ids)


def test_no_opinions_still_renders() -> None:
    a = analyse([], year=2025, as_of=AS_OF)
    assert a.opinions == 0 and a.hot_topics == [] and a.overall.share_on_time is None
    assert "本年度未发现明显突增的热点话题" in render_section(a)
