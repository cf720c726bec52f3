"""The check catalogue, as data.

Each check has an id, a Chinese title, one GB/T 36344-2018 dimension, the article of the
regulation where one applies, the projection table it is bound to and how it runs:

- ``unique`` / ``not_null`` / ``match_regex`` / ``in_set``: a GX column expectation;
- ``rows``: GX ``UnexpectedRowsExpectation``; every row the query returns is a finding,
  and the same query (limited) gives the report's samples. ``{batch}`` in a query is the
  table (GX substitutes an aliased subquery unless the query has a JOIN, so only queries
  with a JOIN alias it themselves);
- ``gx``: any GX expectation by name (custom checks from TOML files);
- ``sql``: plain SQL run read-only with psycopg (custom checks from TOML files);
- ``python``: computed in Python from the stream snapshot and counts (reconciliation,
  accessibility), see ``quality/reconcile.py`` and ``quality/access.py``.

Every ``rows`` query returns a ``node`` column, the region code of the node the finding
belongs to, so each dimension can be scored per township, county and city. The
denominator of a check's score is its ``population`` query (``node``, ``n``), or by
default the rows of its table per node.

Queries never select citizens' columns (``opinions.citizen_*``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from quality.model import Dimension
from quality.params import RunParams
from schemas.regions import NODE_CODE_PATTERN
from schemas.workflow import TRANSITIONS

# The states the Art. 15 workflow can put an opinion in.
OPINION_STATES: tuple[str, ...] = tuple(sorted({target for _, target in TRANSITIONS.values()}))


class Kind(StrEnum):
    UNIQUE = "unique"
    NOT_NULL = "not_null"
    MATCH_REGEX = "match_regex"
    IN_SET = "in_set"
    ROWS = "rows"
    GX = "gx"
    SQL = "sql"
    PYTHON = "python"


GX_KINDS = frozenset({Kind.UNIQUE, Kind.NOT_NULL, Kind.MATCH_REGEX, Kind.IN_SET, Kind.ROWS, Kind.GX})
COLUMN_KINDS = frozenset({Kind.UNIQUE, Kind.NOT_NULL, Kind.MATCH_REGEX, Kind.IN_SET})

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def subject_node_sql(column: str) -> str:
    """SQL for the node a subject ``lls.ev.<city>.<county>.<township>.…`` was published under."""
    t = [f"split_part({column}, '.', {i})" for i in (3, 4, 5)]
    return (f"CASE WHEN {t[2]} NOT IN ('', '_') THEN {t[2]}"
            f" WHEN {t[1]} NOT IN ('', '_') THEN {t[1]} ELSE {t[0]} END")


# The node a row of each table belongs to; tables not listed have a station_id.
TABLE_NODE: dict[str, str] = {
    "stations": "region_code",
    "deputies": "region_code",
    "event_archive": "origin",
    "dead_letters": subject_node_sql("subject"),
}


def table_node(table: str) -> str:
    return TABLE_NODE.get(table, "split_part(station_id, '-', 1)")


def default_population(table: str) -> str:
    return f"SELECT {table_node(table)} AS node, count(*) AS n FROM {table} GROUP BY 1"


def render(text: str, params: RunParams, **extra: str) -> str:
    """Replace the known ``{name}`` placeholders only; other braces are left alone."""
    values = {**params.literals(), **extra}
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


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
    value_set: tuple[str, ...] = ()
    query: str | None = None
    population: str | None = None
    # Columns shown as samples for column checks (never personal data).
    sample_columns: tuple[str, ...] = ()
    # GX expectation class name (snake_case or CamelCase) and its arguments, for kind gx.
    expectation: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    note_zh: str | None = None
    source: str = "builtin"

    def rows_query(self, params: RunParams, *, batch: str = "{batch}") -> str:
        """The unexpected-rows query with parameters rendered; ``{batch}`` kept for GX."""
        if self.query is None:
            raise ValueError(f"check {self.id} has no query")
        return render(self.query, params, batch=batch)

    def population_query(self, params: RunParams) -> str | None:
        if self.population is not None:
            return render(self.population, params, batch=self.table)
        if self.kind is Kind.PYTHON or not self.table:
            return None
        return default_population(self.table)

    def title(self, params: RunParams) -> str:
        """The title with its thresholds filled in (``{silent_days}`` …)."""
        return render(self.title_zh, params)


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
SELECT station_id, name, level, region_code, region_code AS node
FROM {batch}
WHERE level NOT IN ('总站', '中心站', '联络站', '联络点')
   OR (""" + _WELL_FORMED + """ AND length(region_code) <> CASE level
           WHEN '总站' THEN 4 WHEN '中心站' THEN 6 WHEN '联络站' THEN 9
           ELSE length(region_code) END)
ORDER BY station_id
"""

_KNOWN_REGION = """
SELECT station_id, name, level, region_code, region_code AS node
FROM {batch}
WHERE """ + _WELL_FORMED + """
  AND (NOT (region_code = ANY({known_regions}))
       OR split_part(station_id, '-', 1) <> region_code)
ORDER BY station_id
"""


def _orphans(alias: str, key: str, parent: str, shown: str) -> str:
    return f"""
SELECT {shown}, split_part({alias}.station_id, '-', 1) AS node
FROM {{batch}} {alias}
LEFT JOIN {parent} p ON p.{key} = {alias}.{key}
WHERE p.{key} IS NULL
ORDER BY 1, 2
"""


# Art. 12: deputies active at some point in the year (enrolled before its end,
# not left before its start) below their level's yearly minimum.
_ART12_DEPUTIES = """
d.level IN ('city', 'county', 'township')
  AND d.enrolled_at < {year_end}
  AND ((d.left_at IS NULL AND d.status = 'active') OR d.left_at >= {year_start})"""

_VISIT_MINIMUM = """
SELECT d.deputy_id, d.name, d.level, coalesce(v.visits, 0) AS visits,
       CASE d.level WHEN 'city' THEN 2 ELSE 3 END AS required, d.region_code AS node
FROM {batch} d
LEFT JOIN (
    SELECT deputy_id, count(*) AS visits FROM visits WHERE year = {year} GROUP BY deputy_id
) v ON v.deputy_id = d.deputy_id
WHERE""" + _ART12_DEPUTIES + """
  AND coalesce(v.visits, 0) < CASE d.level WHEN 'city' THEN 2 ELSE 3 END
ORDER BY d.deputy_id
"""

_VISIT_MINIMUM_POPULATION = """
SELECT d.region_code AS node, count(*) AS n FROM deputies d WHERE""" + _ART12_DEPUTIES + """
GROUP BY 1
"""

# Art. 14: a month counts when the township station was open all of it (opened
# by its first day, not closed before its end), up to the month of as_of.
_OWED_MONTHS = """
WITH months AS (
    SELECT gs::date AS month_start
    FROM generate_series({first_month}, {last_month}, interval '1 month') AS gs
)"""
_OWING = """
WHERE s.level = '联络站'
  AND s.established_at <= (m.month_start::timestamp AT TIME ZONE 'Asia/Shanghai')
  AND (s.status = 'open'
       OR s.closed_at >= ((m.month_start + interval '1 month')::timestamp
                          AT TIME ZONE 'Asia/Shanghai'))"""

_MONTHLY_RECEPTION = _OWED_MONTHS + """, held AS (
    SELECT DISTINCT r.station_id,
           date_trunc('month', r.starts_at AT TIME ZONE 'Asia/Shanghai')::date AS month_start
    FROM receptions r
    WHERE r.status = 'held' AND r.announced_at < r.starts_at
)
SELECT s.station_id, s.name, to_char(m.month_start, 'YYYY-MM') AS month, s.region_code AS node
FROM {batch} s
CROSS JOIN months m
LEFT JOIN held h ON h.station_id = s.station_id AND h.month_start = m.month_start
""" + _OWING + """
  AND h.station_id IS NULL
ORDER BY s.station_id, month
"""

_MONTHLY_RECEPTION_POPULATION = _OWED_MONTHS + """
SELECT s.region_code AS node, count(*) AS n
FROM stations s CROSS JOIN months m
""" + _OWING + """
GROUP BY 1
"""

# Art. 11: the six disclosure items, in the regulation's order.
_DISCLOSING = "s.status = 'open' AND s.level IN ('总站', '中心站', '联络站')"
_DISCLOSURES = """
SELECT s.station_id, s.name, s.level, m.missing_items, m.missing, s.region_code AS node
FROM {batch} s
CROSS JOIN LATERAL (
    SELECT string_agg(i.item, ',' ORDER BY i.ord) AS missing_items, count(*) AS missing
    FROM unnest({disclosure_items}) WITH ORDINALITY AS i(item, ord)
    WHERE NOT EXISTS (
        SELECT 1 FROM disclosures x WHERE x.station_id = s.station_id AND x.item = i.item
    )
) m
WHERE """ + _DISCLOSING + """ AND m.missing > 0
ORDER BY s.station_id
"""
_DISCLOSURES_POPULATION = ("SELECT s.region_code AS node, count(*) AS n FROM stations s WHERE "
                           + _DISCLOSING + " GROUP BY 1")

# Reasons can quote the rejected payload: cut them short, never sample `raw`.
_DEAD_NODE = subject_node_sql("subject")
_DEAD_LETTERS = """
SELECT stream_seq, subject, stage, left(reason, 200) AS reason, """ + _DEAD_NODE + """ AS node
FROM {batch}
WHERE stage IN ('decode', 'apply')
ORDER BY stream_seq
"""
# Every message the projector examined: archived or dead-lettered.
_MESSAGES_POPULATION = """
SELECT node, count(*) AS n FROM (
    SELECT origin AS node FROM event_archive
    UNION ALL
    SELECT """ + _DEAD_NODE + """ FROM dead_letters
) m GROUP BY 1
"""

# --- 准确性 ----------------------------------------------------------------------------

_DEADLINE_BEFORE_RECEIPT = """
SELECT opinion_id, station_id, category, received_at, deadline,
       split_part(station_id, '-', 1) AS node
FROM {batch}
WHERE deadline IS NOT NULL
  AND deadline < (received_at AT TIME ZONE 'Asia/Shanghai')::date
ORDER BY opinion_id
"""
_WITH_DEADLINE_POPULATION = """
SELECT split_part(station_id, '-', 1) AS node, count(*) AS n
FROM opinions WHERE deadline IS NOT NULL GROUP BY 1
"""

# --- 时效性 ----------------------------------------------------------------------------

_YEAR_EVENTS = "occurred_at >= {year_start} AND occurred_at < {year_end}"
_RECORDING_LAG = """
SELECT event_id, type, origin AS node, occurred_at, recorded_at,
       round(extract(epoch FROM recorded_at - occurred_at) / 3600.0, 1) AS lag_hours
FROM {batch}
WHERE """ + _YEAR_EVENTS + """ AND recorded_at - occurred_at > {max_lag}
ORDER BY recorded_at - occurred_at DESC, event_id
"""
_RECORDING_LAG_POPULATION = ("SELECT origin AS node, count(*) AS n FROM event_archive WHERE "
                             + _YEAR_EVENTS + " GROUP BY 1")

# Art. 15: an assigned opinion gets feedback by its deadline (a date in Beijing time).
# Still open: overdue once as_of is more than the grace days past the deadline; so at a
# year-end cut-off an item due in January is not overdue. Answered late: feedback dated
# after deadline + grace.
_OPINION_OVERDUE = """
SELECT o.opinion_id, o.station_id, o.category, o.assigned_unit, o.deadline, o.status,
       f.feedback_at, split_part(o.station_id, '-', 1) AS node
FROM {batch} o
LEFT JOIN (
    SELECT payload->>'opinion_id' AS opinion_id, min(occurred_at) AS feedback_at
    FROM event_archive WHERE type = 'opinion.feedback_given' GROUP BY 1
) f ON f.opinion_id = o.opinion_id
WHERE o.deadline IS NOT NULL
  AND ((f.feedback_at IS NULL AND o.status IN ('assigned', 'supervised')
        AND o.deadline + {overdue_grace} < {as_of})
       OR (f.feedback_at IS NOT NULL AND o.deadline + {overdue_grace} < {as_of}
           AND (f.feedback_at AT TIME ZONE 'Asia/Shanghai')::date > o.deadline + {overdue_grace}))
ORDER BY o.deadline, o.opinion_id
"""

# Art. 15: a received opinion is answered, redirected or assigned promptly.
_OPINION_ACCEPTANCE = """
SELECT opinion_id, station_id, category, channel, received_at,
       split_part(station_id, '-', 1) AS node
FROM {batch}
WHERE status = 'received' AND received_at < {as_of_end} - {acceptance}
ORDER BY received_at, opinion_id
"""
_OPINIONS_RECEIVED_POPULATION = """
SELECT split_part(station_id, '-', 1) AS node, count(*) AS n
FROM opinions WHERE received_at < {as_of_end} GROUP BY 1
"""

# Art. 14: time, place and theme announced in advance.
_RECEPTION_NOTICE = """
SELECT reception_id, station_id, theme, announced_at, starts_at, status,
       round(extract(epoch FROM starts_at - announced_at) / 86400.0, 1) AS notice_days,
       split_part(station_id, '-', 1) AS node
FROM {batch}
WHERE starts_at >= {year_start} AND starts_at < {year_end}
  AND starts_at - announced_at < {notice}
ORDER BY starts_at, reception_id
"""
_RECEPTIONS_POPULATION = """
SELECT split_part(station_id, '-', 1) AS node, count(*) AS n FROM receptions
WHERE starts_at >= {year_start} AND starts_at < {year_end} GROUP BY 1
"""

# Stations that went silent: no event at the station or its liaison points for N days.
_SILENT_SCOPE = """
s.status = 'open' AND s.level = ANY({silent_levels})
  AND s.established_at < {as_of_end} - {silent}"""
_SILENT = """
SELECT s.station_id, s.name, s.level, l.last_at, s.region_code AS node
FROM {batch} s
LEFT JOIN (
    SELECT split_part(payload->>'station_id', '-', 1) || '-'
           || split_part(payload->>'station_id', '-', 2) AS station_id,
           max(occurred_at) AS last_at
    FROM event_archive WHERE occurred_at < {as_of_end} GROUP BY 1
) l ON l.station_id = s.station_id
WHERE""" + _SILENT_SCOPE + """
  AND (l.last_at IS NULL OR l.last_at < {as_of_end} - {silent})
ORDER BY l.last_at NULLS FIRST, s.station_id
"""
_SILENT_POPULATION = ("SELECT s.region_code AS node, count(*) AS n FROM stations s WHERE"
                      + _SILENT_SCOPE + " GROUP BY 1")


# Ids other packages refer to (the demo pairs planted faults with them).
ART11_DISCLOSURES = "station_disclosures_complete"
ART12_VISIT_MINIMUMS = "deputy_yearly_visit_minimum"
ART14_MONTHLY_RECEPTIONS = "township_monthly_reception"
DEAD_LETTERS = "no_undecodable_events"
RECONCILIATION = "stream_reconciliation"
ARCHIVE_PROJECTION = "archive_projection_reconciliation"
NODE_TOTALS = "node_totals_add_up"
TOPOLOGY = "topology_reconciliation"
RECORDING_LAG = "event_recording_lag"
OPINION_OVERDUE = "opinion_deadline_met"
OPINION_ACCEPTANCE = "opinion_acceptance_timely"
RECEPTION_NOTICE = "reception_announced_in_advance"
STATION_SILENT = "station_not_silent"
STREAM_READABLE = "stream_readable"
PROJECTION_FRESH = "projection_fresh"
TABLES_READABLE = "projection_tables_readable"


CHECKS: tuple[Check, ...] = (
    # --- 规范性 ---
    Check("station_region_code_format", "站点区划代码格式正确（4、6或9位数字）", Dimension.CONFORMITY,
          None, Kind.MATCH_REGEX, "stations", column="region_code", regex=NODE_CODE_PATTERN,
          sample_columns=("station_id", "name", "region_code")),
    Check("station_level_matches_code", "站点层级与区划代码位数一致（总站4位、中心站6位、联络站9位）",
          Dimension.CONFORMITY, "第七条", Kind.ROWS, "stations", query=_LEVEL_LENGTH),
    Check("station_region_code_known", "站点区划代码属于本市区划清单且与站点编号一致",
          Dimension.CONFORMITY, None, Kind.ROWS, "stations", query=_KNOWN_REGION),
    Check("opinion_status_known", "意见建议办理状态属于规定流程（受理、交办、督办、反馈、报送、办结）",
          Dimension.CONFORMITY, "第十五条", Kind.IN_SET, "opinions", column="status", value_set=OPINION_STATES,
          sample_columns=("opinion_id", "station_id", "status")),
    Check(DEAD_LETTERS, "事件均能解析并入库（无死信）", Dimension.CONFORMITY, None,
          Kind.ROWS, "dead_letters", query=_DEAD_LETTERS, population=_MESSAGES_POPULATION),
    # --- 完整性 ---
    *_key_checks("stations", "station_id", "站点", ("name", "level")),
    *_key_checks("deputies", "deputy_id", "代表", ("level",)),
    *_key_checks("visits", "visit_id", "进站履职记录", ("deputy_id", "station_id", "year")),
    *_key_checks("opinions", "opinion_id", "意见建议", ("station_id", "category", "status")),
    Check(ART12_VISIT_MINIMUMS,
          "代表年度进站联系群众次数达标（市级不少于两次，县、乡级不少于三次）",
          Dimension.COMPLETENESS, "第十二条", Kind.ROWS, "deputies", query=_VISIT_MINIMUM,
          population=_VISIT_MINIMUM_POPULATION),
    Check(ART14_MONTHLY_RECEPTIONS, "联络站每月至少举行一次提前公告的主题接待活动",
          Dimension.COMPLETENESS, "第十四条", Kind.ROWS, "stations", query=_MONTHLY_RECEPTION,
          population=_MONTHLY_RECEPTION_POPULATION,
          note_zh="以“站点×月份”计：全月开放的联络站每月应有一次提前公告并已举行的主题接待活动"),
    Check(ART11_DISCLOSURES, "联络站公示六项信息齐全", Dimension.COMPLETENESS,
          "第十一条", Kind.ROWS, "stations", query=_DISCLOSURES, population=_DISCLOSURES_POPULATION),
    # --- 准确性 ---
    Check("opinion_deadline_after_receipt", "交办意见建议的办理期限不早于受理日期",
          Dimension.ACCURACY, "第十五条", Kind.ROWS, "opinions", query=_DEADLINE_BEFORE_RECEIPT,
          population=_WITH_DEADLINE_POPULATION),
    # --- 一致性 ---
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
    Check(RECONCILIATION, "消息流条数与归档事件数、死信数之和一致（按节点、按事件类型）",
          Dimension.CONSISTENCY, "第十条", Kind.PYTHON, "event_archive",
          note_zh="截至投影检查点，逐个消息主题（节点×事件类型）比对；差额列出缺失的事件编号"),
    Check(ARCHIVE_PROJECTION, "归档事件与投影表记录一致（站点、代表、进站、接待、意见）",
          Dimension.CONSISTENCY, "第十条", Kind.PYTHON, "event_archive",
          note_zh="每个创建事件在投影表中都有对应记录，投影表每条记录都有创建事件"),
    Check(NODE_TOTALS, "乡镇合计与县、市合计一致（事件归属节点无矛盾）",
          Dimension.CONSISTENCY, "第十条", Kind.PYTHON, "event_archive",
          note_zh="按消息主题逐级汇总：乡镇之和加县级自身等于县合计，县之和加市级自身等于市合计"),
    # --- 时效性 ---
    Check(RECORDING_LAG, "事件在发生后{max_lag_hours}小时内录入（发生时间与记录时间之差）",
          Dimension.TIMELINESS, None, Kind.ROWS, "event_archive", query=_RECORDING_LAG,
          population=_RECORDING_LAG_POPULATION),
    Check(OPINION_OVERDUE, "交办的意见建议在办理期限内反馈（不超期）", Dimension.TIMELINESS,
          "第十五条", Kind.ROWS, "opinions", query=_OPINION_OVERDUE,
          population=_WITH_DEADLINE_POPULATION,
          note_zh="以检查截止日为准：期限已过仍未反馈，或反馈晚于期限，计为超期"),
    Check(OPINION_ACCEPTANCE, "受理的意见建议在{acceptance_days}日内答复、告知或交办",
          Dimension.TIMELINESS, "第十五条", Kind.ROWS, "opinions", query=_OPINION_ACCEPTANCE,
          population=_OPINIONS_RECEIVED_POPULATION),
    Check(RECEPTION_NOTICE, "主题接待活动至少提前{notice_days}日向社会公告", Dimension.TIMELINESS,
          "第十四条", Kind.ROWS, "receptions", query=_RECEPTION_NOTICE,
          population=_RECEPTIONS_POPULATION),
    Check(STATION_SILENT, "站点近{silent_days}日内有业务记录（未“沉默”）",
          Dimension.TIMELINESS, None, Kind.ROWS, "stations", query=_SILENT,
          population=_SILENT_POPULATION,
          note_zh="含所属联络点的记录；适用的站点层级见配置 silent_levels（缺省为中心站、联络站）"),
    # --- 可访问性 ---
    Check(STREAM_READABLE, "事件流（消息骨干）可访问、可读取", Dimension.ACCESSIBILITY, "第十条",
          Kind.PYTHON, ""),
    Check(PROJECTION_FRESH, "投影数据及时更新（未投影消息不超过{stale_minutes}分钟）",
          Dimension.ACCESSIBILITY, "第十条", Kind.PYTHON, ""),
    Check(TABLES_READABLE, "投影表均存在且可读取（供共享使用）", Dimension.ACCESSIBILITY,
          "第十条", Kind.PYTHON, ""),
)

# Checked when per-site counts of a multi-level deployment are given (see reconcile.py).
TOPOLOGY_CHECK = Check(
    TOPOLOGY, "各级站点事件流逐级汇聚一致（乡镇→县→市，无丢失）", Dimension.CONSISTENCY, "第十条",
    Kind.PYTHON, "", note_zh="下级站点发布的每个主题，在上级站点的事件流中条数相同；差额列出缺失的事件编号")


def check_by_id(check_id: str, checks: tuple[Check, ...] = CHECKS) -> Check:
    for c in checks:
        if c.id == check_id:
            return c
    raise KeyError(check_id)


def validate_catalogue(checks: tuple[Check, ...]) -> None:
    ids = [c.id for c in checks]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise ValueError(f"duplicate check ids in the catalogue: {', '.join(sorted(dup))}")


validate_catalogue((*CHECKS, TOPOLOGY_CHECK))
