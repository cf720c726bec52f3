"""Run parameters, rendered as SQL literals.

Great Expectations takes an unexpected-rows query as plain text, so parameters
cannot be bound: they are rendered here from typed values only (ints, dates and
codes checked against a strict pattern), never from free text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

# China has no daylight saving: a fixed offset is exact and needs no tz database.
CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
_CODE = re.compile(r"^[A-Za-z0-9_]+$")


def _timestamptz(moment: datetime) -> str:
    return f"'{moment.isoformat()}'::timestamptz"


def _date(day: date) -> str:
    return f"DATE '{day.isoformat()}'"


def _text_array(values: tuple[str, ...]) -> str:
    for v in values:
        if not _CODE.match(v):
            raise ValueError(f"refusing to render {v!r} as an SQL literal")
    return "ARRAY[" + ",".join(f"'{v}'" for v in values) + "]::text[]"


@dataclass(frozen=True)
class RunParams:
    year: int
    as_of: date
    known_regions: tuple[str, ...]
    disclosure_items: tuple[str, ...]

    def literals(self) -> dict[str, str]:
        """Named SQL literals for the catalogue's ``{name}`` placeholders."""
        year = int(self.year)
        start = datetime(year, 1, 1, tzinfo=CHINA_TZ)
        end = datetime(year + 1, 1, 1, tzinfo=CHINA_TZ)
        # Art. 14 months run up to the month of as_of, never past December.
        last_month = min(date(year, 12, 1), date(self.as_of.year, self.as_of.month, 1))
        return {
            "year": str(year),
            "year_start": _timestamptz(start),
            "year_end": _timestamptz(end),
            "first_month": _date(date(year, 1, 1)),
            "last_month": _date(last_month),
            "known_regions": _text_array(self.known_regions),
            "disclosure_items": _text_array(self.disclosure_items),
        }
