"""分级分类 routing rules are data: the shipped file is valid, bad files are refused by name,
and the simulated opinions are assigned by the rules."""

from __future__ import annotations

from datetime import date

import pytest

from producers.simulator import simulate
from schemas import events as ev
from schemas.regions import load_regions
from schemas.routing import RoutingError, load_routing, parse_routing

HEAD = 'city = "3306"\nversion = "t"\nsource = "test"\n'


def rule(category: str = "城乡建设", level: str = "county", unit: str = "{county}住建局", days: int = 20) -> str:
    return f'[[rules]]\ncategory = "{category}"\nlevel = "{level}"\nunit = "{unit}"\ndeadline_days = {days}\n'


def test_shipped_rules_cover_every_category_at_every_level() -> None:
    rules = load_routing()
    assert len(rules.categories) == 10
    for category in rules.categories:
        assert set(rules.levels_for(category)) == {"township", "county", "city"}


@pytest.mark.parametrize(
    ("category", "level", "region", "unit", "days"),
    [
        ("城乡建设", "township", "330602001", "塔山街道办事处", 15),
        ("城乡建设", "county", "330602001", "越城区住房和城乡建设局", 20),
        ("生态环境", "county", "330603", "绍兴市生态环境局柯桥分局", 15),
        ("市场监管", "city", "330604001", "绍兴市市场监督管理局", 20),
    ],
)
def test_route_fills_the_unit_and_the_deadline(
    category: str, level: ev.AssignLevel, region: str, unit: str, days: int
) -> None:
    route = load_routing().route(category, level, region)
    assert (route.unit, route.deadline_days) == (unit, days)
    assert route.deadline(date(2025, 3, 1)) == date(2025, 3, 1 + days)


def test_town_kinds_get_their_government() -> None:
    regions = load_regions()
    town = next(t for c in regions.counties for t in c.townships if t.kind == "镇")
    assert load_routing().route("教育", "township", town.code).unit == f"{town.name}人民政府"


@pytest.mark.parametrize(
    ("category", "level", "region", "words"),
    [
        ("天气", "county", "330602001", "没有类别 '天气' 的交办规则"),
        ("城乡建设", "township", "330602", "['township_gov'] 在该区划下不存在"),  # a county station has no township
    ],
)
def test_unroutable_opinions_are_refused(category: str, level: ev.AssignLevel, region: str, words: str) -> None:
    with pytest.raises(RoutingError, match=words.replace("[", r"\[").replace("]", r"\]")):
        load_routing().route(category, level, region)


def test_a_missing_level_is_named() -> None:
    rules = parse_routing(HEAD + rule(), load_regions())
    with pytest.raises(RoutingError, match="没有市级的交办规则；有规则的层级：县（市、区）"):
        rules.route("城乡建设", "city", "330602001")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (HEAD + rule() + rule(unit="{county}另一个局"), r"rules\[1\]（城乡建设/county）：与 rules\[0\] 重复"),
        (HEAD + rule(unit="{county}{mayor}"), "未知的占位符.*mayor"),
        (HEAD + rule(level="township", unit="{county}住建局"), "乡镇（街道）级规则的 `unit` 必须写明所在地区"),
        (HEAD + rule(level="city", unit="{county}住建局"), "市级规则的 `unit` 不能使用下级地区"),
        (HEAD + rule(days=0), r"rules\[0\]\.deadline_days：应不小于 1"),
        (HEAD + rule(days=400), r"rules\[0\]\.deadline_days：应不大于 90"),
        (HEAD + rule(level="province"), r"rules\[0\]\.level：取值 'province' 不在允许范围内"),
        (HEAD + rule(unit="{county"), "不是有效的模板"),
        (HEAD, "规则文件字段有误：（文件顶层）：缺少必填字段 `rules`"),  # no rules at all
        (HEAD.replace('"3306"', '"3307"') + rule(), "与区划清单的城市 3306 不一致"),
        ("city = ", "不是有效的 TOML"),
        (HEAD + rule() + "extra = 1\n", "含有未定义的字段 `extra`"),
    ],
)
def test_bad_rule_files_are_refused_with_the_rule_named(text: str, words: str) -> None:
    with pytest.raises(RoutingError, match=words):
        parse_routing(text, load_regions())


def test_simulated_opinions_are_assigned_by_the_rules() -> None:
    sim = simulate(opinions=1500, plant_overdue=True)
    rules = load_routing()
    received: dict[str, ev.OpinionReceived] = {}
    checked = 0
    for e in (e for phase in sim.phases for e in phase):
        p = e.payload
        if isinstance(p, ev.OpinionReceived):
            received[p.opinion_id] = p
        elif isinstance(p, ev.OpinionAssigned):
            opinion = received[p.opinion_id]
            route = rules.route(opinion.category, p.level, p.station_id.split("-")[0])
            assert p.unit == route.unit
            assert p.deadline == route.deadline(e.occurred_at.date())
            checked += 1
    assert checked > 500
