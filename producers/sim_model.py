"""The simulator's model of a city: stations, their deputies, posts, receptions and the
opinions they will receive. Mutable while the year is planned; never published as such."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from schemas import events as ev
from schemas.regions import County, Township

TZ = ZoneInfo("Asia/Shanghai")


@dataclass
class Deputy:
    deputy_id: str
    name: str
    level: ev.DeputyLevel
    station_id: str
    faulty: bool = False
    visits: int = 0
    until: datetime | None = None  # left the station then (Art. 12)

    def active(self, at: datetime) -> bool:
        return self.until is None or at < self.until


@dataclass
class Post:
    station_id: str
    person_id: str
    role: ev.StaffRole
    since: datetime
    position: str | None = None
    until: datetime | None = None

    def holds(self, at: datetime) -> bool:
        return self.since <= at and (self.until is None or at < self.until)


@dataclass
class Reception:
    reception_id: str
    starts_at: datetime
    deputy_ids: list[str]


@dataclass
class Consultation:
    consultation_id: str
    organiser: str
    organiser_level: ev.Level
    category: str
    texts: tuple[str, ...]
    mode: ev.Mode


@dataclass
class Seed:
    """An opinion to be received: when, and what kind."""

    at: datetime
    reception: Reception | None = None
    consultation: Consultation | None = None
    hot_text: str | None = None


@dataclass
class Station:
    station_id: str
    node: str
    county: County
    township: Township | None
    address: str
    places: list[str] = field(default_factory=list)
    points: list[str] = field(default_factory=list)
    deputies: list[Deputy] = field(default_factory=list)
    receptions: list[Reception] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    seeds: list[Seed] = field(default_factory=list)
    moves: list[tuple[datetime, str]] = field(default_factory=list)
    closed_points: dict[str, datetime] = field(default_factory=dict)
    fixed_day: int = 15
    plan: dict[int, str] = field(default_factory=dict)  # month -> theme (Art. 14)
    plan_id: str | None = None
    seq: dict[str, int] = field(default_factory=dict)

    def next_id(self, prefix: str, width: int) -> str:
        n = self.seq.get(prefix, 0) + 1
        self.seq[prefix] = n
        return f"{prefix}-{self.station_id.split('-')[0]}-{n:0{width}d}"

    def address_at(self, at: datetime) -> str:
        moved = [a for t, a in self.moves if t <= at]
        return moved[-1] if moved else self.address

    def eligible(self, at: datetime) -> list[Deputy]:
        """Deputies who may take part at ``at``: enrolled still, and not planted below minimum."""
        return [d for d in self.deputies if not d.faulty and d.active(at)]

    def open_points(self, at: datetime) -> list[str]:
        return [p for p in self.points if p not in self.closed_points or at < self.closed_points[p]]
