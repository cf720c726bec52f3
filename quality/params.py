"""Run parameters, rendered as SQL literals.

Great Expectations takes an unexpected-rows query as plain text, so parameters
cannot be bound: they are rendered here from typed values only (ints, dates, codes
checked against a strict pattern, station levels from a closed list), never from free text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from quality.config import STATION_LEVELS, Thresholds

# China has no daylight saving: a fixed offset is exact and needs no tz database.
CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
_CODE = re.compile(r"^[A-Za-z0-9_]+$")


def _timestamptz(moment: datetime) -> str:
    return f"'{moment.isoformat()}'::timestamptz"


def _date(day: date) -> str:
    return f"DATE '{day.isoformat()}'"


def _interval(unit: str, n: int) -> str:
    return f"interval '{int(n)} {unit}'"


def _text_array(values: tuple[str, ...]) -> str:
    for v in values:
        if not _CODE.match(v):
            raise ValueError(f"refusing to render {v!r} as an SQL literal")
    return "ARRAY[" + ",".join(f"'{v}'" for v in values) + "]::text[]"


def _level_array(values: tuple[str, ...]) -> str:
    for v in values:
        if v not in STATION_LEVELS:
            raise ValueError(f"refusing to render {v!r} as a station level")
    return "ARRAY[" + ",".join(f"'{v}'" for v in values) + "]::text[]"


@dataclass(frozen=True)
class RunParams:
    year: int
    as_of: date
    known_regions: tuple[str, ...]
    disclosure_items: tuple[str, ...]
    thresholds: Thresholds = field(default_factory=Thresholds)

    @property
    def as_of_end(self) -> datetime:
        """The end of the as_of day in Beijing time: what 'by as_of' means."""
        return datetime.combine(self.as_of + timedelta(days=1), datetime.min.time(), CHINA_TZ)

    def literals(self) -> dict[str, str]:
        """Named SQL literals for the catalogue's ``{name}`` placeholders."""
        year = int(self.year)
        start = datetime(year, 1, 1, tzinfo=CHINA_TZ)
        end = datetime(year + 1, 1, 1, tzinfo=CHINA_TZ)
        # Art. 14 months run up to the month of as_of, never past December.
        last_month = min(date(year, 12, 1), date(self.as_of.year, self.as_of.month, 1))
        t = self.thresholds
        return {
            "year": str(year),
            "year_start": _timestamptz(start),
            "year_end": _timestamptz(end),
            "first_month": _date(date(year, 1, 1)),
            "last_month": _date(last_month),
            "known_regions": _text_array(self.known_regions),
            "disclosure_items": _text_array(self.disclosure_items),
            "as_of": _date(self.as_of),
            "as_of_end": _timestamptz(self.as_of_end),
            "max_lag": _interval("hours", t.max_recording_lag_hours),
            "max_lag_hours": str(int(t.max_recording_lag_hours)),
            "notice": _interval("days", t.reception_notice_days),
            "notice_days": str(int(t.reception_notice_days)),
            "overdue_grace": str(int(t.opinion_overdue_grace_days)),
            "acceptance": _interval("days", t.opinion_acceptance_days),
            "acceptance_days": str(int(t.opinion_acceptance_days)),
            "silent": _interval("days", t.silent_days),
            "silent_days": str(int(t.silent_days)),
            "silent_levels": _level_array(t.silent_levels),
            "stale_minutes": str(int(t.projection_max_stale_minutes)),
        }
