"""Art. 15 分级分类: which unit handles an opinion of a category at a level, and by when.

The rules are data (``schemas/data/routing_<city>.toml``) that the city's 代表工作机构
can change without code; this module validates them and routes an opinion. A rule's
``unit`` is a template over region names, so one rule serves every county or township.
"""

from __future__ import annotations

import string
import tomllib
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import Annotated

import msgspec

from schemas.events import AssignLevel, ShortText
from schemas.messages_zh import translate
from schemas.regions import County, RegionList, Township, load_regions

PLACEHOLDERS = frozenset({"city", "county", "county_short", "township", "township_gov"})
# A rule names the region of its own level, and nothing below it.
_NEEDS = {"township": {"township", "township_gov"}, "county": {"county", "county_short"}}
_BELOW = {"city": {"county", "county_short", "township", "township_gov"}, "county": {"township", "township_gov"}}
LEVEL_LABELS = {"township": "乡镇（街道）", "county": "县（市、区）", "city": "市"}


class RoutingError(ValueError):
    """The rules file is invalid, or an opinion cannot be routed by it (in Chinese: the
    代表工作机构 edits the file)."""


class Rule(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    category: ShortText
    level: AssignLevel
    unit: ShortText
    deadline_days: Annotated[int, msgspec.Meta(ge=1, le=90)]


class RoutingFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    city: Annotated[str, msgspec.Meta(pattern=r"^\d{4}$")]
    version: ShortText
    source: ShortText
    rules: Annotated[list[Rule], msgspec.Meta(min_length=1)]
    illustrative: bool = False


class Route(msgspec.Struct, frozen=True):
    """Where one opinion goes: the unit and its time limit."""

    category: str
    level: AssignLevel
    unit: str
    deadline_days: int

    def deadline(self, assigned_on: date) -> date:
        return assigned_on + timedelta(days=self.deadline_days)


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def _check_rules(doc: RoutingFile) -> None:
    seen: dict[tuple[str, str], int] = {}
    for i, rule in enumerate(doc.rules):
        where = f"rules[{i}]（{rule.category}/{rule.level}）"
        key = (rule.category, rule.level)
        if key in seen:
            raise RoutingError(f"{where}：与 rules[{seen[key]}] 重复；同一类别、同一层级只能有一条规则")
        seen[key] = i
        try:
            names = _fields(rule.unit)
        except ValueError as exc:
            raise RoutingError(f"{where}：`unit` {rule.unit!r} 不是有效的模板（{exc}）") from exc
        unknown = names - PLACEHOLDERS
        if unknown:
            raise RoutingError(
                f"{where}：`unit` 使用了未知的占位符 {sorted(unknown)}；可用的占位符：{sorted(PLACEHOLDERS)}"
            )
        needs = _NEEDS.get(rule.level)
        if needs and not names & needs:
            raise RoutingError(
                f"{where}：{LEVEL_LABELS[rule.level]}级规则的 `unit` 必须写明所在地区，请使用 {sorted(needs)} 之一"
            )
        below = names & _BELOW.get(rule.level, set())
        if below:
            raise RoutingError(f"{where}：{LEVEL_LABELS[rule.level]}级规则的 `unit` 不能使用下级地区 {sorted(below)}")


class RoutingRules:
    """Validated rules of one city, with the region names their templates need."""

    def __init__(self, doc: RoutingFile, regions: RegionList) -> None:
        if doc.city != regions.city.code:
            raise RoutingError(f"`city` {doc.city} 与区划清单的城市 {regions.city.code} 不一致")
        _check_rules(doc)
        self.doc = doc
        self.regions = regions
        self._rules = {(r.category, r.level): r for r in doc.rules}
        self._counties = {c.code: c for c in regions.counties}
        self._townships: dict[str, tuple[Township, County]] = {
            t.code: (t, c) for c in regions.counties for t in c.townships
        }

    @property
    def rules(self) -> list[Rule]:
        return list(self.doc.rules)

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.category for r in self.doc.rules))

    def levels_for(self, category: str) -> tuple[AssignLevel, ...]:
        return tuple(r.level for r in self.doc.rules if r.category == category)

    def route(self, category: str, level: AssignLevel, region_code: str) -> Route:
        """The unit and time limit for an opinion of ``category`` handled at ``level``,
        received at a station in ``region_code``."""
        rule = self._rules.get((category, level))
        if rule is None:
            if category not in self.categories:
                raise RoutingError(f"没有类别 {category!r} 的交办规则；已有类别：{'、'.join(self.categories)}")
            raise RoutingError(
                f"类别 {category!r} 没有{LEVEL_LABELS[level]}级的交办规则；有规则的层级："
                + "、".join(LEVEL_LABELS[lv] for lv in self.levels_for(category))
            )
        names = {"city": self.regions.city.name}
        county = self._counties.get(region_code[:6]) if len(region_code) >= 6 else None
        if county is not None:
            names |= {"county": county.name, "county_short": county.name[:-1]}
        township = self._townships.get(region_code)
        if township is not None:
            town = township[0]
            gov = f"{town.name}办事处" if town.kind == "街道" else f"{town.name}人民政府"
            names |= {"township": town.name, "township_gov": gov}
        missing = _fields(rule.unit) - set(names)
        if missing:
            raise RoutingError(
                f"区划 {region_code} 无法按{LEVEL_LABELS[level]}级交办：规则需要的 {sorted(missing)} 在该区划下不存在"
            )
        return Route(category, rule.level, rule.unit.format(**names), rule.deadline_days)


def parse_routing(text: str, regions: RegionList) -> RoutingRules:
    """Rules from TOML text; RoutingError says which rule and which field is wrong."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RoutingError(f"不是有效的 TOML 文件：{exc}") from exc
    try:
        doc = msgspec.convert(raw, RoutingFile)
    except msgspec.ValidationError as exc:
        # "Expected `int` <= 90 - at `$.rules[3].deadline_days`" -> "rules[3].deadline_days：应不大于 90"
        reason, sep, where = str(exc).rpartition(" - at `")
        if not sep:  # e.g. "Object missing required field `rules`": the file's top level
            reason, where = str(exc), ""
        where = where.rstrip("`").removeprefix("$").lstrip(".") or "（文件顶层）"
        raise RoutingError(f"规则文件字段有误：{where}：{translate(reason)}") from exc
    return RoutingRules(doc, regions)


@cache
def load_routing(city_code: str = "3306") -> RoutingRules:
    """The shipped rules of a city (``schemas/data/routing_<city>.toml``)."""
    text = resources.files("schemas").joinpath(f"data/routing_{city_code}.toml").read_text("utf-8")
    return parse_routing(text, load_regions(city_code))
