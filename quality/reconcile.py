"""Reconciliation (一致性): stream vs archive vs projection, per node and per event type;
township totals add up to county and city totals; and, for a multi-level deployment,
what each site published vs what reached the county and the city.

Every gap names the event ids missing. Plain SQL and Python: GX has no expectation
for comparing counts across systems.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.rows import dict_row

from quality.checks import Check, subject_node_sql
from quality.model import CheckResult, Tally
from quality.params import RunParams
from quality.stream import StreamSnapshot
from schemas.subjects import FILLER, ROOT

SAMPLE_LIMIT = 20
IDS_SHOWN = 10


def subject_parts(subject: str) -> tuple[str, str, str, str] | None:
    """(city, county, township, event type) of ``lls.ev.<c>.<k>.<t>.<cat>.<verb>``."""
    parts = subject.split(".")
    if len(parts) < 7 or ".".join(parts[:2]) != ROOT:
        return None
    return parts[2], parts[3], parts[4], ".".join(parts[5:])


def subject_node(subject: str) -> str | None:
    p = subject_parts(subject)
    if p is None:
        return None
    for token in (p[2], p[1], p[0]):
        if token != FILLER:
            return token
    return None


def _ids(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:IDS_SHOWN])
    return shown + (f" 等 {len(ids)} 个" if len(ids) > IDS_SHOWN else "")


def _result(check: Check, params: RunParams, *, unexpected: int, population: int,
            by_node: dict[str, Tally], samples: list[dict[str, Any]], observed: str,
            success: bool | None = None) -> CheckResult:
    return CheckResult(check.id, check.title(params), check.dimension, check.article,
                       success=unexpected == 0 if success is None else success,
                       unexpected_count=unexpected, samples=samples[:SAMPLE_LIMIT],
                       observed=observed, population=population, by_node=by_node)


# --- stream vs archive + dead letters ------------------------------------------------------


def stream_matrix(snap: StreamSnapshot) -> list[dict[str, Any]]:
    """Per subject (node x event type): stream, archived, dead letters, difference."""
    if snap.subjects is None:
        return []
    rows = []
    for subject in sorted(set(snap.subjects) | set(snap.projected)):
        archived, dead = snap.projected.get(subject, (0, 0))
        stream_n = snap.subjects.get(subject, 0)
        parts = subject_parts(subject)
        rows.append({"node": subject_node(subject), "event_type": parts[3] if parts else subject,
                     "subject": subject, "stream": stream_n, "archived": archived, "dead": dead,
                     "difference": stream_n - archived - dead})
    return rows


def stream_reconciliation(conn: psycopg.Connection[Any], check: Check, params: RunParams,
                          snap: StreamSnapshot) -> CheckResult:
    if not snap.reachable:
        return _result(check, params, unexpected=1, population=1, by_node={},
                       samples=[], observed=f"事件流不可读，无法核对：{snap.error}", success=False)
    if snap.subjects is None:
        # Only the total is known (offline snapshot, or the projector far behind).
        row = conn.execute(
            "SELECT (SELECT count(*) FROM event_archive), (SELECT count(*) FROM dead_letters)"
        ).fetchone()
        archived, dead = (int(row[0]), int(row[1])) if row else (0, 0)
        stream_n = snap.counted
        difference = stream_n - archived - dead
        totals = [] if difference == 0 else [{
            "stream_count": stream_n, "archived": archived, "dead_letters": dead,
            "difference": difference}]
        return _result(check, params, unexpected=abs(difference), population=stream_n,
                       by_node={}, samples=totals,
                       observed=(f"消息流 {stream_n} 条，归档事件 {archived} 条，死信 {dead} 条，"
                                 f"差额 {difference} 条（仅核对总数）"))
    by_node: dict[str, Tally] = defaultdict(Tally)
    for subject, n in snap.subjects.items():
        by_node[subject_node(subject) or ""] += Tally(0, n)
    samples: list[dict[str, Any]] = []
    unexpected = 0
    for gap in snap.gaps:
        bad = max(abs(gap.difference), len(gap.missing) + len(gap.extra))
        unexpected += bad
        by_node[subject_node(gap.subject) or ""] += Tally(bad, 0)
        parts = subject_parts(gap.subject)
        samples.append({
            "node": subject_node(gap.subject), "event_type": parts[3] if parts else gap.subject,
            "stream_count": gap.stream, "archived": gap.archived, "dead_letters": gap.dead,
            "difference": gap.difference, "missing_ids": _ids(gap.missing),
            "extra_ids": _ids(gap.extra)})
    total = snap.counted
    archived = sum(a for a, _ in snap.projected.values())
    dead = sum(d for _, d in snap.projected.values())
    observed = (f"截至检查点 {snap.checkpoint}：消息流 {total} 条，归档事件 {archived} 条，"
                f"死信 {dead} 条；{len(snap.subjects)} 个主题中 {len(snap.gaps)} 个有差额")
    return _result(check, params, unexpected=unexpected, population=total, by_node=dict(by_node),
                   samples=samples, observed=observed)


# --- archive vs projection -----------------------------------------------------------------


@dataclass(frozen=True)
class EntityLink:
    """An event type that creates one row of a projection table, keyed by a payload field."""

    label: str
    event_type: str
    table: str
    key: str            # the payload field and the table's key column


# Extend this list when a new event type creates rows of a new table (issue 4).
ENTITY_LINKS: tuple[EntityLink, ...] = (
    EntityLink("站点", "station.established", "stations", "station_id"),
    EntityLink("代表", "deputy.enrolled", "deputies", "deputy_id"),
    EntityLink("进站履职记录", "visit.recorded", "visits", "visit_id"),
    EntityLink("主题接待活动", "reception.scheduled", "receptions", "reception_id"),
    EntityLink("意见建议", "opinion.received", "opinions", "opinion_id"),
)
_STATION_NODE = "split_part(payload->>'station_id', '-', 1)"


def _link_queries(link: EntityLink) -> tuple[str, str, str, str]:
    key, table = link.key, link.table
    node_p = "region_code" if table in ("stations", "deputies") else "split_part(station_id, '-', 1)"
    missing = f"""
        SELECT a.event_id::text AS event_id, a.payload->>'{key}' AS entity_id,
               {_STATION_NODE} AS node
        FROM event_archive a
        WHERE a.type = '{link.event_type}'
          AND NOT EXISTS (SELECT 1 FROM {table} p WHERE p.{key} = a.payload->>'{key}')"""
    extra = f"""
        SELECT NULL::text AS event_id, p.{key}::text AS entity_id, {node_p} AS node
        FROM {table} p
        WHERE p.{key} IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM event_archive a
            WHERE a.type = '{link.event_type}' AND a.payload->>'{key}' = p.{key})"""
    population = f"""
        SELECT {_STATION_NODE} AS node, count(DISTINCT payload->>'{key}') AS n FROM event_archive
        WHERE type = '{link.event_type}' GROUP BY 1"""
    rows = f"SELECT {node_p} AS node, count(*) AS n FROM {table} GROUP BY 1"
    return missing, extra, population, rows


def archive_projection(conn: psycopg.Connection[Any], check: Check, params: RunParams,
                       links: Sequence[EntityLink] = ENTITY_LINKS) -> tuple[CheckResult,
                                                                           list[dict[str, Any]]]:
    """The result, and per node x entity: creating events and projection rows."""
    by_node: dict[str, Tally] = defaultdict(Tally)
    samples: list[dict[str, Any]] = []
    matrix: list[dict[str, Any]] = []
    unexpected = population = 0
    for link in links:
        missing_q, extra_q, pop_q, rows_q = _link_queries(link)
        cells: dict[str, dict[str, Any]] = {}
        for node, n in conn.execute(pop_q).fetchall():
            by_node[str(node)] += Tally(0, int(n))
            population += int(n)
            cells[str(node)] = {"node": str(node), "entity": link.label, "events": int(n), "rows": 0}
        for node, n in conn.execute(rows_q).fetchall():
            cells.setdefault(str(node), {"node": str(node), "entity": link.label, "events": 0,
                                         "rows": 0})["rows"] = int(n)
        matrix.extend(cells[k] for k in sorted(cells))
        for kind, query in (("missing", missing_q), ("extra", extra_q)):
            counts = conn.execute(f"SELECT node, count(*) FROM ({query}) f GROUP BY 1").fetchall()
            found = sum(int(n) for _, n in counts)
            if not found:
                continue
            unexpected += found
            for node, n in counts:
                by_node[str(node)] += Tally(int(n), 0)
            with conn.cursor(row_factory=dict_row) as cur:
                cur.execute(f"SELECT * FROM ({query}) f ORDER BY node, entity_id LIMIT %s",
                            (SAMPLE_LIMIT,))
                for row in cur.fetchall():
                    samples.append({
                        "node": row["node"], "entity": link.label, "entity_id": row["entity_id"],
                        "event_id": row["event_id"] or "—",
                        "gap": "投影表缺少该记录" if kind == "missing" else "投影记录没有对应的创建事件"})
    observed = (f"{population} 个创建事件；{unexpected} 处不一致" if unexpected
                else f"{population} 个创建事件与投影表记录一一对应")
    return _result(check, params, unexpected=unexpected, population=population,
                   by_node=dict(by_node), samples=samples, observed=observed), matrix


# --- township totals add up to county and city totals ------------------------------------


def _consistent(parts: tuple[str, str, str, str], city: str) -> bool:
    c, k, t, _ = parts
    if c != city:
        return False
    if k == FILLER:
        return t == FILLER
    if len(k) != 6 or not k.startswith(c):
        return False
    return t == FILLER or (len(t) == 9 and t.startswith(k))


def level_totals(counts: Mapping[str, int], city: str) -> list[dict[str, Any]]:
    """Per county and for the city: the total by the subject's own level token vs the sum
    of the level below plus the node's own messages. Equal unless a subject is misfiled."""
    by_token: dict[str, int] = defaultdict(int)      # total by county / city token
    own: dict[str, int] = defaultdict(int)           # published by the node itself
    township_total: dict[str, int] = defaultdict(int)
    for subject, n in counts.items():
        parts = subject_parts(subject)
        if parts is None:
            continue
        c, k, t, _ = parts
        by_token[c] += n
        if k != FILLER:
            by_token[k] += n
        if t != FILLER:
            township_total[t] += n
        own[subject_node(subject) or c] += n
    rows = []
    counties = sorted(code for code in by_token if len(code) == 6)
    for k in counties:
        below = sum(n for t, n in township_total.items() if t[:6] == k)
        rows.append({"node": k, "level": "county", "townships_sum": below, "own": own.get(k, 0),
                     "total": by_token[k], "difference": by_token[k] - below - own.get(k, 0)})
    below = sum(by_token[k] for k in counties if k[:4] == city)
    rows.append({"node": city, "level": "city", "townships_sum": below, "own": own.get(city, 0),
                 "total": by_token.get(city, 0),
                 "difference": by_token.get(city, 0) - below - own.get(city, 0)})
    return rows


def node_totals(conn: psycopg.Connection[Any], check: Check, params: RunParams,
                snap: StreamSnapshot, city: str) -> tuple[CheckResult, list[dict[str, Any]]]:
    counts: dict[str, int] = dict(snap.subjects or {})
    if snap.subjects is None:
        counts = {str(s): int(n) for s, n in conn.execute(
            "SELECT subject, count(*) FROM event_archive GROUP BY 1").fetchall()}
    totals = level_totals(counts, city)
    misfiled = sorted(s for s in counts
                      if (p := subject_parts(s)) is not None and not _consistent(p, city))
    node_sql = subject_node_sql("subject")
    # The archive: an event counted under one node by its subject and another by its origin,
    # or filed under a subject whose levels do not nest.
    query = f"""
        SELECT event_id::text AS event_id, type AS event_type, subject, origin,
               {node_sql} AS node
        FROM event_archive
        WHERE origin <> {node_sql} OR subject = ANY(%s)"""
    by_node: dict[str, Tally] = defaultdict(Tally)
    for node, n in conn.execute(
            "SELECT origin, count(*) FROM event_archive GROUP BY 1").fetchall():
        by_node[str(node)] += Tally(0, int(n))
    population = sum(t.population for t in by_node.values())
    counted = conn.execute(f"SELECT node, count(*) FROM ({query}) f GROUP BY 1",
                           (misfiled,)).fetchall()
    unexpected = sum(int(n) for _, n in counted)
    for node, n in counted:
        by_node[str(node)] += Tally(int(n), 0)
    samples: list[dict[str, Any]] = []
    if unexpected:
        with conn.cursor(row_factory=dict_row) as cur:
            cur.execute(f"SELECT * FROM ({query}) f ORDER BY subject, event_id LIMIT %s",
                        (misfiled, SAMPLE_LIMIT))
            samples = [dict(r) for r in cur.fetchall()]
    stream_misfiled = sum(counts[s] for s in misfiled)
    if stream_misfiled and not unexpected:  # in the stream but not (yet) archived
        unexpected = stream_misfiled
        samples = [{"subject": s, "stream_count": counts[s]} for s in misfiled]
    unbalanced = [r for r in totals if r["difference"]]
    observed = ("各县合计等于所辖乡镇合计加县级自身，市合计等于各县合计加市级自身"
                if not unbalanced and not unexpected else
                f"{len(unbalanced)} 个节点合计不平衡，{unexpected} 个事件的归属节点有矛盾")
    return _result(check, params, unexpected=unexpected, population=population,
                   by_node=dict(by_node), samples=samples, observed=observed), totals


# --- multi-level topology: per-site counts ------------------------------------------------


@dataclass(frozen=True)
class SiteCounts:
    """What one site's stream holds: the topology engineer's input.

    ``site`` is the node code of the site (township 9 digits, county 6, city 4);
    ``subjects`` maps subject -> messages in that site's stream; ``event_ids`` optionally maps
    subject -> the Nats-Msg-Id values (event ids) held, so a gap can name what is missing.
    """

    site: str
    subjects: Mapping[str, int]
    event_ids: Mapping[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class SiteGap:
    lower: str          # the site that published (or sourced) the messages
    upper: str          # a site above it that should hold them too
    subject: str
    lower_count: int
    upper_count: int
    missing: list[str]  # event ids at the lower site that the upper one lacks


def _own_subject(subject: str, site: str) -> bool:
    """Whether ``subject`` carries events of ``site`` or of a node below it."""
    parts = subject_parts(subject)
    if parts is None:
        return False
    return any(token != FILLER and token.startswith(site) for token in parts[:3])


def site_gaps(sites: Sequence[SiteCounts]) -> list[SiteGap]:
    """Every (lower, upper) pair where upper's code is a prefix of lower's: for each subject
    of lower's own jurisdiction, upper must hold as many messages (and the same ids)."""
    gaps: list[SiteGap] = []
    for lower in sites:
        for upper in sites:
            if upper is lower or not lower.site.startswith(upper.site) or upper.site == lower.site:
                continue
            for subject, n in sorted(lower.subjects.items()):
                if not _own_subject(subject, lower.site):
                    continue
                m = upper.subjects.get(subject, 0)
                lower_ids = lower.event_ids.get(subject)
                upper_ids = upper.event_ids.get(subject, frozenset())
                missing = sorted(lower_ids - upper_ids) if lower_ids is not None else []
                if m != n or missing:
                    gaps.append(SiteGap(lower.site, upper.site, subject, n, m, missing))
    return gaps


def topology_reconciliation(check: Check, params: RunParams,
                            sites: Sequence[SiteCounts]) -> CheckResult:
    """The ``topology_reconciliation`` result from per-site counts (see ``site_gaps``)."""
    gaps = site_gaps(sites)
    by_node: dict[str, Tally] = defaultdict(Tally)
    for s in sites:
        own = sum(n for subj, n in s.subjects.items() if subject_node(subj) == s.site)
        by_node[s.site] += Tally(0, own)
    unexpected = 0
    samples: list[dict[str, Any]] = []
    for g in gaps:
        bad = max(g.lower_count - g.upper_count, len(g.missing), 1)
        unexpected += bad
        by_node[subject_node(g.subject) or g.lower] += Tally(bad, 0)
        parts = subject_parts(g.subject)
        samples.append({"site": g.lower, "upper_site": g.upper,
                        "event_type": parts[3] if parts else g.subject,
                        "node": subject_node(g.subject), "lower_count": g.lower_count,
                        "upper_count": g.upper_count, "missing_ids": _ids(g.missing)})
    population = sum(t.population for t in by_node.values())
    observed = (f"{len(sites)} 个站点逐级核对一致" if not gaps
                else f"{len(gaps)} 处逐级汇聚差额")
    return _result(check, params, unexpected=unexpected, population=population,
                   by_node=dict(by_node), samples=samples, observed=observed)


async def collect_site_counts(js: Any, site: str, *, stream: str = "LLS_EVENTS",
                              with_ids: bool = False) -> SiteCounts:
    """Read one site's stream (its own JetStream context / domain) into SiteCounts."""
    from quality.stream import scan

    info = await js.stream_info(stream, subjects_filter=">")
    subjects = {s: int(n) for s, n in (info.state.subjects or {}).items()}
    ids: dict[str, frozenset[str]] = {}
    if with_ids:
        found: dict[str, set[str]] = defaultdict(set)
        for seq, subject, msg_id, _ in await scan(js, stream, start_seq=info.state.first_seq,
                                                  stop_seq=info.state.last_seq):
            found[subject].add(msg_id or f"{site}:seq {seq}")
        ids = {s: frozenset(v) for s, v in found.items()}
    return SiteCounts(site, subjects, ids)
