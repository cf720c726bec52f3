"""The check catalogue, as data.

Each check names the projection table its Great Expectations expectation is
bound to (``{batch}`` in a query is that table; GX substitutes an aliased subquery
unless the query has a JOIN, so only queries with a JOIN alias it themselves) and
how it runs:

- ``unique`` / ``not_null`` / ``match_regex``: a GX column expectation;
- ``rows``: GX ``UnexpectedRowsExpectation``; every row the query returns is a
  finding, and the same query (limited) gives the report's samples;
- ``reconcile``: plain SQL (a count comparison GX has no expectation for).

Queries never select citizens' columns (``opinions.citizen_*``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from quality.model import Dimension
from quality.params import RunParams
from schemas.regions import NODE_CODE_PATTERN


class Kind(StrEnum):
    UNIQUE = "unique"
    NOT_NULL = "not_null"
    MATCH_REGEX = "match_regex"
    ROWS = "rows"
    RECONCILE = "reconcile"


GX_KINDS = frozenset({Kind.UNIQUE, Kind.NOT_NULL, Kind.MATCH_REGEX, Kind.ROWS})


@dataclass(frozen=True)
class Check:
    id: str
    title_zh: str
    dimension: Dimension
    article: str | None
    kind: Kind
    table: str
    column: str | None = None
    regex: str | None = None
    query: str | None = None
    # Columns shown as samples for column checks (never personal data).
    sample_columns: tuple[str, ...] = ()

    def rows_query(self, params: RunParams, *, batch: str = "{batch}") -> str:
        """The unexpected-rows query with parameters rendered; ``{batch}`` kept for GX."""
        if self.query is None:
            raise ValueError(f"check {self.id} has no query")
        return self.query.format(batch=batch, **params.literals())


def _key_checks(table: str, column: str, label: str, extra: tuple[str, ...]) -> list[Check]:
    cols = (column, *extra)
    return [
        # GB/T 36344 puts 数据唯一性 under 准确性 and 数据元素完整性 under 完整性.
        Check(f"{table}_{column}_unique", f"{label}编号唯一", Dimension.ACCURACY, None,
              Kind.UNIQUE, table, column=column, sample_columns=cols),
        Check(f"{table}_{column}_not_null", f"{label}编号不为空", Dimension.COMPLETENESS, None,
              Kind.NOT_NULL, table, column=column, sample_columns=cols),
    ]


# Malformed codes are left to the format check, so that one fault is reported once.
_WELL_FORMED = "region_code ~ '^[0-9]+$' AND length(region_code) IN (4, 6, 9)"

# A 联络点 takes the code of the node it sits in, so only stations are tied to a length.
_LEVEL_LENGTH = """
SELECT station_id, name, level, region_code
FROM {batch}
WHERE level NOT IN ('总站', '中心站', '联络站', '联络点')
   OR (""" + _WELL_FORMED + """ AND length(region_code) <> CASE level
           WHEN '总站' THEN 4 WHEN '中心站' THEN 6 WHEN '联络站' THEN 9
           ELSE length(region_code) END)
ORDER BY station_id
"""

_KNOWN_REGION = """
SELECT station_id, name, level, region_code
FROM {batch}
WHERE """ + _WELL_FORMED + """
  AND (NOT (region_code = ANY({known_regions}))
       OR split_part(station_id, '-', 1) <> region_code)
ORDER BY station_id
"""


def _orphans(alias: str, key: str, parent: str, shown: str) -> str:
    return f"""
SELECT {shown}
FROM {{batch}} {alias}
LEFT JOIN {parent} p ON p.{key} = {alias}.{key}
WHERE p.{key} IS NULL
ORDER BY 1, 2
"""


# Art. 12: deputies active at some point in the year (enrolled before its end,
# not left before its start) below their level's yearly minimum.
_VISIT_MINIMUM = """
SELECT d.deputy_id, d.name, d.level, coalesce(v.visits, 0) AS visits,
       CASE d.level WHEN 'city' THEN 2 ELSE 3 END AS required
FROM {batch} d
LEFT JOIN (
    SELECT deputy_id, count(*) AS visits FROM visits WHERE year = {year} GROUP BY deputy_id
) v ON v.deputy_id = d.deputy_id
WHERE d.level IN ('city', 'county', 'township')
  AND d.enrolled_at < {year_end}
  AND ((d.left_at IS NULL AND d.status = 'active') OR d.left_at >= {year_start})
  AND coalesce(v.visits, 0) < CASE d.level WHEN 'city' THEN 2 ELSE 3 END
ORDER BY d.deputy_id
"""

# Art. 14: a month counts when the township station was open all of it (opened
# by its first day, not closed before its end), up to the month of as_of.
_MONTHLY_RECEPTION = """
WITH months AS (
    SELECT gs::date AS month_start
    FROM generate_series({first_month}, {last_month}, interval '1 month') AS gs
), held AS (
    SELECT DISTINCT r.station_id,
           date_trunc('month', r.starts_at AT TIME ZONE 'Asia/Shanghai')::date AS month_start
    FROM receptions r
    WHERE r.status = 'held' AND r.announced_at < r.starts_at
)
SELECT s.station_id, s.name, to_char(m.month_start, 'YYYY-MM') AS month
FROM {batch} s
CROSS JOIN months m
LEFT JOIN held h ON h.station_id = s.station_id AND h.month_start = m.month_start
WHERE s.level = '联络站'
  AND s.established_at <= (m.month_start::timestamp AT TIME ZONE 'Asia/Shanghai')
  AND (s.status = 'open'
       OR s.closed_at >= ((m.month_start + interval '1 month')::timestamp
                          AT TIME ZONE 'Asia/Shanghai'))
  AND h.station_id IS NULL
ORDER BY s.station_id, month
"""

# Art. 11: the six disclosure items, in the regulation's order.
_DISCLOSURES = """
SELECT s.station_id, s.name, s.level, m.missing_items, m.missing
FROM {batch} s
CROSS JOIN LATERAL (
    SELECT string_agg(i.item, ',' ORDER BY i.ord) AS missing_items, count(*) AS missing
    FROM unnest({disclosure_items}) WITH ORDINALITY AS i(item, ord)
    WHERE NOT EXISTS (
        SELECT 1 FROM disclosures x WHERE x.station_id = s.station_id AND x.item = i.item
    )
) m
WHERE s.status = 'open' AND s.level IN ('总站', '中心站', '联络站') AND m.missing > 0
ORDER BY s.station_id
"""

# Reasons can quote the rejected payload: cut them short, never sample `raw`.
_DEAD_LETTERS = """
SELECT stream_seq, subject, stage, left(reason, 200) AS reason
FROM {batch}
WHERE stage IN ('decode', 'apply')
ORDER BY stream_seq
"""


# Ids other packages refer to (the demo pairs planted faults with them).
ART11_DISCLOSURES = "station_disclosures_complete"
ART12_VISIT_MINIMUMS = "deputy_yearly_visit_minimum"
ART14_MONTHLY_RECEPTIONS = "township_monthly_reception"
DEAD_LETTERS = "no_undecodable_events"
RECONCILIATION = "stream_reconciliation"


CHECKS: tuple[Check, ...] = (
    *_key_checks("stations", "station_id", "站点", ("name", "level")),
    *_key_checks("deputies", "deputy_id", "代表", ("level",)),
    *_key_checks("visits", "visit_id", "进站履职记录", ("deputy_id", "station_id", "year")),
    *_key_checks("opinions", "opinion_id", "意见建议", ("station_id", "category", "status")),
    Check("station_region_code_format", "站点区划代码格式正确（4、6或9位数字）", Dimension.CONFORMITY,
          None, Kind.MATCH_REGEX, "stations", column="region_code", regex=NODE_CODE_PATTERN,
          sample_columns=("station_id", "name", "region_code")),
    Check("station_level_matches_code", "站点层级与区划代码位数一致（总站4位、中心站6位、联络站9位）",
          Dimension.CONFORMITY, "第七条", Kind.ROWS, "stations", query=_LEVEL_LENGTH),
    Check("station_region_code_known", "站点区划代码属于本市区划清单且与站点编号一致",
          Dimension.CONFORMITY, None, Kind.ROWS, "stations", query=_KNOWN_REGION),
    Check("visits_deputy_exists", "进站履职记录对应的代表存在", Dimension.CONSISTENCY, None,
          Kind.ROWS, "visits", query=_orphans(
              "v", "deputy_id", "deputies",
              "v.visit_id, v.deputy_id, v.station_id, v.year")),
    Check("visits_station_exists", "进站履职记录对应的联络站存在", Dimension.CONSISTENCY, None,
          Kind.ROWS, "visits", query=_orphans(
              "v", "station_id", "stations",
              "v.visit_id, v.deputy_id, v.station_id, v.year")),
    Check("enrolments_station_exists", "代表编入记录对应的联络站存在", Dimension.CONSISTENCY, None,
          Kind.ROWS, "enrolments", query=_orphans(
              "e", "station_id", "stations", "e.deputy_id, e.station_id")),
    Check(ART12_VISIT_MINIMUMS,
          "代表年度进站联系群众次数达标（市级不少于两次，县、乡级不少于三次）",
          Dimension.COMPLETENESS, "第十二条", Kind.ROWS, "deputies", query=_VISIT_MINIMUM),
    Check(ART14_MONTHLY_RECEPTIONS, "联络站每月至少举行一次提前公告的主题接待活动",
          Dimension.COMPLETENESS, "第十四条", Kind.ROWS, "stations", query=_MONTHLY_RECEPTION),
    Check(ART11_DISCLOSURES, "联络站公示六项信息齐全", Dimension.COMPLETENESS,
          "第十一条", Kind.ROWS, "stations", query=_DISCLOSURES),
    Check(DEAD_LETTERS, "事件均能解析并入库（无死信）", Dimension.CONFORMITY, None,
          Kind.ROWS, "dead_letters", query=_DEAD_LETTERS),
    Check(RECONCILIATION, "消息流条数与归档事件数、死信数之和一致", Dimension.CONSISTENCY,
          "第十条", Kind.RECONCILE, "event_archive"),
)


def check_by_id(check_id: str) -> Check:
    for c in CHECKS:
        if c.id == check_id:
            return c
    raise KeyError(check_id)


def _validate_catalogue() -> None:
    ids = [c.id for c in CHECKS]
    if len(ids) != len(set(ids)):
        raise ValueError("duplicate check ids in the catalogue")


_validate_catalogue()
