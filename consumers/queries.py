"""Read-side queries over the projections: overdue opinions (Art. 15) and deputies'
performance archives (Art. 20). The commands and the report show what these return."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import psycopg

# A point's opinions count for the station it belongs to: `330602001-01-02` -> `330602001-01`.
_STATION_OF = "split_part({c}, '-', 1) || '-' || split_part({c}, '-', 2)"

_OVERDUE = f"""
SELECT d.opinion_id, d.station_id, {_STATION_OF.format(c="d.station_id")} AS owner_station,
       s.name AS station_name, d.category, d.assigned_level, d.assigned_unit, d.assigned_at,
       d.deadline, d.supervisions,
       CASE WHEN d.feedback_on <= %(as_of)s THEN d.feedback_on END AS feedback_on,
       least(coalesce(d.feedback_on, %(as_of)s), %(as_of)s) - d.deadline AS days_overdue
FROM opinion_deadlines d
LEFT JOIN stations s ON s.station_id = {_STATION_OF.format(c="d.station_id")}
WHERE d.deadline < %(as_of)s
  AND (d.feedback_on IS NULL OR d.feedback_on > d.deadline)
  AND (d.assigned_at AT TIME ZONE 'Asia/Shanghai')::date <= %(as_of)s
ORDER BY d.assigned_unit, d.deadline, d.opinion_id
"""


@dataclass(frozen=True)
class OverdueItem:
    opinion_id: str
    station_id: str
    owner_station: str
    station_name: str
    category: str
    level: str
    unit: str
    assigned_at: datetime
    deadline: date
    supervisions: int
    feedback_on: date | None  # None: still no feedback as of the day asked about
    days_overdue: int

    @property
    def state(self) -> str:
        return "open" if self.feedback_on is None else "late"


@dataclass
class OverdueGroup:
    key: str
    name: str
    overdue: int = 0
    still_open: int = 0
    answered_late: int = 0
    max_days: int = 0

    def add(self, item: OverdueItem) -> None:
        self.overdue += 1
        if item.state == "open":
            self.still_open += 1
        else:
            self.answered_late += 1
        self.max_days = max(self.max_days, item.days_overdue)


@dataclass
class OverdueReport:
    as_of: date
    items: list[OverdueItem] = field(default_factory=list)

    def _groups(self, key: str) -> list[OverdueGroup]:
        groups: dict[str, OverdueGroup] = {}
        for item in self.items:
            k, name = (item.unit, item.unit) if key == "unit" else (item.owner_station, item.station_name)
            groups.setdefault(k, OverdueGroup(k, name)).add(item)
        return sorted(groups.values(), key=lambda g: (-g.overdue, -g.max_days, g.key))

    @property
    def by_unit(self) -> list[OverdueGroup]:
        return self._groups("unit")

    @property
    def by_station(self) -> list[OverdueGroup]:
        return self._groups("station")

    def to_json(self) -> dict[str, Any]:
        def group(g: OverdueGroup) -> dict[str, Any]:
            return {"key": g.key, "name": g.name, "overdue": g.overdue, "still_open": g.still_open,
                    "answered_late": g.answered_late, "max_days_overdue": g.max_days}

        return {
            "as_of": self.as_of.isoformat(),
            "overdue": len(self.items),
            "still_open": sum(1 for i in self.items if i.state == "open"),
            "answered_late": sum(1 for i in self.items if i.state == "late"),
            "by_unit": [group(g) for g in self.by_unit],
            "by_station": [group(g) for g in self.by_station],
            "items": [
                {"opinion_id": i.opinion_id, "station_id": i.station_id, "station": i.owner_station,
                 "station_name": i.station_name, "category": i.category, "level": i.level,
                 "unit": i.unit, "assigned_at": i.assigned_at.isoformat(),
                 "deadline": i.deadline.isoformat(), "supervisions": i.supervisions, "state": i.state,
                 "feedback_on": i.feedback_on.isoformat() if i.feedback_on else None,
                 "days_overdue": i.days_overdue}
                for i in self.items
            ],
        }


def overdue_opinions(conn: psycopg.Connection[Any], as_of: date) -> OverdueReport:
    """Assigned opinions whose deadline had passed on ``as_of`` without feedback by the deadline:
    still open on that day, or answered late."""
    rows = conn.execute(_OVERDUE, {"as_of": as_of}).fetchall()
    return OverdueReport(as_of, [
        OverdueItem(r[0], r[1], r[2], r[3] or r[2], r[4], r[5], r[6], r[7], r[8], int(r[9]), r[10], int(r[11]))
        for r in rows
    ])


def deputy_archive(
    conn: psycopg.Connection[Any], *, deputy_id: str | None = None, year: int | None = None
) -> list[dict[str, Any]]:
    """Rows of the ``deputy_archive`` view (one per deputy and year), oldest year first."""
    cur = conn.execute(
        """SELECT * FROM deputy_archive
           WHERE (%(deputy)s::text IS NULL OR deputy_id = %(deputy)s)
             AND (%(year)s::int IS NULL OR year = %(year)s)
           ORDER BY deputy_id, year""",
        {"deputy": deputy_id, "year": year},
    )
    names = [d.name for d in cur.description or []]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def latest_event_day(conn: psycopg.Connection[Any]) -> date | None:
    """The Beijing day of the latest event projected: what the data knows up to."""
    row = conn.execute(
        "SELECT (max(occurred_at) AT TIME ZONE 'Asia/Shanghai')::date FROM event_archive"
    ).fetchone()
    return row[0] if row and row[0] else None
