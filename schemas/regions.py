"""Region codes of the node hierarchy: city (4 digits), county (6), township (9).

A station id nests under its node's region code (``330602001-01``); a liaison
point nests under its station (``330602001-01-03``).
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cache
from importlib import resources

import msgspec


class NodeLevel(StrEnum):
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"


_LEVEL_BY_LENGTH = {4: NodeLevel.CITY, 6: NodeLevel.COUNTY, 9: NodeLevel.TOWNSHIP}
NODE_CODE_PATTERN = r"^\d{4}(\d{2}(\d{3})?)?$"
STATION_ID_PATTERN = r"^\d{4}(\d{2}(\d{3})?)?-\d{2}(-\d{2})?$"
_NODE_CODE = re.compile(NODE_CODE_PATTERN)


def node_level(code: str) -> NodeLevel:
    """Level of a node code; ValueError names what is wrong with it."""
    if not _NODE_CODE.match(code):
        raise ValueError(f"区划代码 {code!r} 无效：应为 4 位（市）、6 位（县、市、区）或 9 位（乡镇、街道）数字")
    return _LEVEL_BY_LENGTH[len(code)]


def parent_code(code: str) -> str | None:
    level = node_level(code)
    if level is NodeLevel.CITY:
        return None
    return code[:4] if level is NodeLevel.COUNTY else code[:6]


def station_region(station_id: str) -> str:
    """The region code a station or liaison-point id nests under."""
    return station_id.split("-", 1)[0]


def station_parent(station_id: str) -> str | None:
    """The station a liaison point belongs to, or None for a station."""
    parts = station_id.split("-")
    return "-".join(parts[:2]) if len(parts) == 3 else None


class Township(msgspec.Struct, frozen=True):
    code: str
    name: str
    kind: str
    illustrative: bool = False


class County(msgspec.Struct, frozen=True):
    code: str
    name: str
    kind: str
    townships: list[Township]


class City(msgspec.Struct, frozen=True):
    code: str
    name: str


class RegionList(msgspec.Struct, frozen=True):
    source: str
    city: City
    counties: list[County]
    year: int | None = None

    def names(self) -> dict[str, str]:
        out = {self.city.code: self.city.name}
        for county in self.counties:
            out[county.code] = county.name
            out.update({t.code: t.name for t in county.townships})
        return out

    def validate(self) -> None:
        node_level(self.city.code)
        for county in self.counties:
            if node_level(county.code) is not NodeLevel.COUNTY or parent_code(county.code) != self.city.code:
                raise ValueError(f"区划清单有误：县级代码 {county.code} 不在市 {self.city.code} 之下")
            for t in county.townships:
                if node_level(t.code) is not NodeLevel.TOWNSHIP or parent_code(t.code) != county.code:
                    raise ValueError(f"区划清单有误：乡镇代码 {t.code} 不在县 {county.code} 之下")


@cache
def load_regions(city_code: str = "3306") -> RegionList:
    """The shipped region list of a city (``schemas/data/regions_<city>.json``)."""
    raw = resources.files("schemas").joinpath(f"data/regions_{city_code}.json").read_bytes()
    regions = msgspec.json.decode(raw, type=RegionList)
    regions.validate()
    return regions
