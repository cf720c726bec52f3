"""Quality checks on real NATS and Postgres.

A small, clean history (two counties' worth of stations, deputies, visits, receptions and
opinions) is published through the SDK and projected into schema ``qtest``, so stream,
archive and projection agree. A clean run passes every check; each planted fault fails its
own check (and only the checks it necessarily touches), with the expected count and sample
rows; undoing it passes again. Every dimension of GB/T 36344 has such a fault.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import psycopg
import pytest

from consumers import projector
from consumers.store import connect, migrate
from hub.provision import reset_stream
from hub.runtime import backbone
from producers.sdk import NodePublisher
from quality.checks import CHECKS, check_by_id
from quality.config import QualityConfig, Thresholds
from quality.custom import load_custom_checks
from quality.job import JobOutcome, run_once
from quality.model import Dimension, QualityRun
from quality.publish import past_reports
from schemas import events as ev
from tests.conftest import Servers

pytestmark = pytest.mark.integration

SCHEMA = "qtest"
YEAR = 2025
AS_OF = date(2025, 3, 15)  # Art. 14 months checked: 2025-01 .. 2025-03
TZ = timezone(timedelta(hours=8))
ITEMS: list[ev.DisclosureItem] = ["deputies", "staff", "rules_and_plan", "opinion_process",
                                  "app_usage", "other"]
CITIZEN = ev.Citizen(name="张三丰", phone="13812345678", address="绍兴市越城区塔山街道某小区3幢")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


Event = tuple[str, ev.Payload, datetime]


def _station(node: str, sid: str, level: ev.StationLevel, when: str,
             parent: str | None = None) -> list[Event]:
    region = sid.split("-")[0]
    out: list[Event] = [(node, ev.StationEstablished(
        station_id=sid, name=f"站点{sid}", level=level, region_code=region,
        address=f"地址{sid}", ground_floor=True, functional_areas=["办公", "接待"],
        parent_station_id=parent), at(when))]
    if level != "联络点":
        out.append((node, ev.StaffAssigned(station_id=sid, person_id=f"P-{sid}", name="王芳",
                                           role="站长"), at(when) + timedelta(minutes=10)))
        out.append((node, ev.DisclosurePublished(station_id=sid, items=ITEMS),
                    at(when) + timedelta(minutes=20)))
    return out


def history() -> list[Event]:
    """The clean history, in publishing order."""
    t1, t2, t4 = "330602001", "330602002", "330602004"
    s1, s2 = f"{t1}-01", f"{t2}-01"
    out: list[Event] = [
        *_station("3306", "3306-01", "总站", "2022-01-01T09:00"),
        *_station("330602", "330602-01", "中心站", "2022-01-01T10:00", "3306-01"),
        *_station(t1, s1, "联络站", "2022-01-01T11:00", "330602-01"),
        *_station(t1, f"{s1}-01", "联络点", "2022-01-01T11:30", s1),
        *_station(t4, f"{t4}-01", "联络站", "2022-01-01T12:00", "330602-01"),
        (t4, ev.StationClosed(station_id=f"{t4}-01", reason="撤并"), at("2024-12-01T09:00")),
        # Opened 20 January 2025: January is not a full month, so it owes no January reception.
        *_station(t2, s2, "联络站", "2025-01-20T09:00", "330602-01"),
    ]
    deputies = [("D-city", "city", "2023-01-10"), ("D-county", "county", "2023-01-10"),
                ("D-town", "township", "2023-01-10"), ("D-nat", "national", "2023-01-10"),
                ("D-left", "county", "2022-01-10"), ("D-late", "township", "2026-01-05")]
    for did, level, when in deputies:
        out.append((t1, ev.DeputyEnrolled(station_id=s1, deputy_id=did, name=f"代表{did}",
                                          level=level), at(f"{when}T09:00")))  # type: ignore[arg-type]
    out.append((t1, ev.DeputyLeft(station_id=s1, deputy_id="D-left", reason="任期届满"),
                at("2024-06-01T09:00")))
    n = 0
    for did, visits in (("D-city", 2), ("D-county", 3), ("D-town", 4)):
        for month in range(1, visits + 1):
            n += 1
            out.append((t1, ev.VisitRecorded(station_id=s1, visit_id=f"V{n}", deputy_id=did,
                                             activity="daily_contact", mode="on_site",
                                             people_met=5), at(f"2025-{month:02d}-15T10:00")))
    # A visit from the year before does not count towards 2025.
    out.append((t1, ev.VisitRecorded(station_id=s1, visit_id="V-old", deputy_id="D-city",
                                     activity="survey", mode="online", people_met=3),
                at("2024-05-01T10:00")))
    for node, sid in ((t1, s1), (t2, s2)):
        for month in (1, 2, 3, 4):
            if sid == s2 and month == 1:
                continue
            rid = f"R-{sid}-{month}"
            starts = at(f"2025-{month:02d}-20T09:00")
            announced = at(f"2025-{month:02d}-10T09:00")
            out.append((node, ev.ReceptionScheduled(
                station_id=sid, reception_id=rid, theme="老旧小区改造", place="接待室",
                starts_at=starts, announced_at=announced, mode="on_site"), announced))
            out.append((node, ev.ReceptionHeld(station_id=sid, reception_id=rid,
                                               deputy_ids=["D-town"] if sid == s1 else [],
                                               attendees=12), starts + timedelta(hours=2)))
    # Noise that must not count for February: a cancelled extra reception.
    out.append((t1, ev.ReceptionScheduled(
        station_id=s1, reception_id="R-x1", theme="垃圾分类", place="接待室",
        starts_at=at("2025-02-05T09:00"), announced_at=at("2025-02-01T09:00"), mode="on_site"),
        at("2025-02-01T09:00")))
    out.append((t1, ev.ReceptionCancelled(station_id=s1, reception_id="R-x1", reason="台风"),
                at("2025-02-03T09:00")))

    def opinion(node: str, sid: str, oid: str, when: str, **kw: Any) -> Event:
        return (node, ev.OpinionReceived(station_id=sid, opinion_id=oid, category="交通出行",
                                         content="路灯不亮，希望维修", channel="on_site", **kw),
                at(when))

    out += [
        opinion(t1, s1, "O1", "2025-03-14T10:00"),
        opinion(t1, s1, "O2", "2025-03-13T15:00", citizen=CITIZEN),
        opinion(t1, s1, "O3", "2025-03-01T10:00"),
        (t1, ev.OpinionAssigned(station_id=s1, opinion_id="O3", level="county",
                                unit="越城区住房和城乡建设局", deadline=date(2025, 4, 30)),
         at("2025-03-01T14:00")),
        opinion(t1, s1, "O4", "2025-02-01T10:00"),
        (t1, ev.OpinionAssigned(station_id=s1, opinion_id="O4", level="county",
                                unit="越城区交通运输局", deadline=date(2025, 2, 28)),
         at("2025-02-01T14:00")),
        (t1, ev.OpinionFeedbackGiven(station_id=s1, opinion_id="O4", feedback="已修复",
                                     satisfaction="satisfied"), at("2025-02-20T10:00")),
        (t1, ev.OpinionClosed(station_id=s1, opinion_id="O4"), at("2025-02-25T10:00")),
        opinion(t1, s1, "O5", "2025-02-10T10:00"),
        (t1, ev.OpinionAnswered(station_id=s1, opinion_id="O5", answer="已当场答复"),
         at("2025-02-10T11:00")),
        (t1, ev.OpinionClosed(station_id=s1, opinion_id="O5"), at("2025-02-11T10:00")),
        # The county station hears opinions too, so it has not gone silent.
        opinion("330602", "330602-01", "O6", "2025-03-10T10:00"),
        ("330602", ev.OpinionAnswered(station_id="330602-01", opinion_id="O6", answer="已答复"),
         at("2025-03-10T11:00")),
    ]
    return out


async def publish(nats_url: str, events: list[Event]) -> dict[str, str]:
    """Publish in order (each awaited); returns event id by (type, key) for the tests."""
    ids: dict[str, str] = {}
    async with backbone(nats_url) as (_, js):
        pubs: dict[str, NodePublisher] = {}
        for node, payload, when in events:
            pub = pubs.setdefault(node, NodePublisher(js, node, "test"))
            env = pub.build(payload, when, recorded_at=when + timedelta(minutes=5))
            await pub.publish(env)
            key = next((str(getattr(payload, k)) for k in ("visit_id", "reception_id", "opinion_id",
                                                           "deputy_id", "person_id")
                        if hasattr(payload, k)), payload.station_id)
            ids[f"{env.type}:{key}"] = env.event_id
    return ids


async def load(servers: Servers) -> dict[str, str]:
    async with backbone(servers.nats_url) as (_, js):
        await reset_stream(js)
    await migrate(servers.database_url, SCHEMA, fresh=True)
    ids = await publish(servers.nats_url, history())
    async with backbone(servers.nats_url) as (_, js), \
            await connect(servers.database_url, SCHEMA) as conn:
        stats = await projector.run(js, conn)
    assert stats.dead_lettered == 0, "the clean history must project without dead letters"
    return ids


@dataclass
class Env:
    servers: Servers
    reports: Path
    conn: psycopg.Connection[Any]
    ids: dict[str, str]
    config: QualityConfig = field(default_factory=QualityConfig)

    async def job(self, *, nats_url: str | None = None, config: QualityConfig | None = None,
                  dimensions: list[Dimension] | None = None, wait: bool = True,
                  publish: bool = False, as_of: date = AS_OF) -> JobOutcome:
        return await run_once(nats_url or self.servers.nats_url, self.servers.database_url,
                              reports_dir=self.reports, year=YEAR, as_of=as_of, schema=SCHEMA,
                              config=config or self.config, dimensions=dimensions, wait=wait,
                              publish=publish, trigger="test")

    async def run(self, **kw: Any) -> QualityRun:
        outcome = await self.job(**kw)
        assert outcome.run is not None
        return outcome.run

    def sql(self, *statements: str) -> None:
        for s in statements:
            self.conn.execute(s.format(**self.ids).encode())


@pytest.fixture(scope="module")
async def env(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Env]:
    ids = await load(servers)
    with psycopg.connect(servers.database_url, autocommit=True,
                         options=f"-c search_path={SCHEMA}") as conn:
        yield Env(servers, tmp_path_factory.mktemp("reports"), conn,
                  {k.replace(".", "_").replace(":", "__").replace("-", "_"): v
                   for k, v in ids.items()})


def failed(run: QualityRun) -> dict[str, int]:
    return {r.id: r.unexpected_count for r in run.results if not r.success}


CUSTOM_IDS = {c.id for c in load_custom_checks()}


async def test_clean_dataset_passes_and_reports(env: Env) -> None:
    outcome = await env.job(publish=True)
    run = outcome.run
    assert run is not None
    assert failed(run) == {}, [r for r in run.results if not r.success]
    assert run.success and run.overall_score == 100.0
    assert run.dimension_scores == {str(d): 100.0 for d in Dimension}
    assert {r.id for r in run.results} == {c.id for c in CHECKS} | CUSTOM_IDS
    # Every check examined something (a check that sees nothing proves nothing).
    assert all(r.population > 0 for r in run.results), [r.id for r in run.results if not r.population]
    assert run.html_path is not None and run.json_path is not None
    html = run.html_path.read_text(encoding="utf-8")
    assert "数据质量检查报告" in html and "各节点评分" in html
    assert "<link" not in html and "<script" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    doc = json.loads(run.json_path.read_text(encoding="utf-8"))
    assert doc["run_id"] == str(run.run_id) and doc["success"] is True
    # A full run adds the year's 社情民意分析 (Art. 15) to both reports.
    opinions = env.conn.execute(
        "SELECT count(*) FROM opinions WHERE received_at >= '2025-01-01T00:00:00+08:00'"
        " AND received_at < '2026-01-01T00:00:00+08:00'").fetchone()
    assert run.minqing is not None and opinions is not None and run.minqing.opinions == opinions[0] > 0
    assert doc["minqing"]["opinions"] == opinions[0] and doc["minqing"]["year"] == YEAR
    assert '<section class="minqing" id="minqing">' in html and "七、社情民意分析" in html
    assert "minqing_error" not in run.details and run.details["minqing_seconds"] >= 0
    assert json.loads((env.reports / "latest.json").read_text(encoding="utf-8")) == doc
    nodes = {n["node"]: n for n in doc["nodes"]}
    assert {"3306", "330602", "330602001", "330602002"} <= set(nodes)
    assert nodes["330602001"]["parent"] == "330602" and nodes["330602"]["parent"] == "3306"
    row = env.conn.execute(
        "SELECT success, checks_total, checks_failed, scope, overall_score,"
        " (SELECT count(*) FROM quality.results r WHERE r.run_id = runs.run_id),"
        " (SELECT count(*) FROM quality.node_scores n WHERE n.run_id = runs.run_id)"
        " FROM quality.runs WHERE run_id = %s", (run.run_id,)).fetchone()
    assert row is not None and row[:5] == (True, len(run.results), 0, "full", 100)
    assert row[5] == len(run.results) and row[6] > 0
    # The summary went to the backbone, and downstream readers can read it back.
    assert outcome.published is not None and outcome.published["run_id"] == str(run.run_id)
    async with backbone(env.servers.nats_url) as (_, js):
        past = await past_reports(js)
    assert past[-1]["run_id"] == str(run.run_id)
    assert past[-1]["type"] == "quality.report.published" and "citizen" not in json.dumps(past)


SAVE = "CREATE TABLE saved AS SELECT * FROM {table} WHERE {where}; DELETE FROM {table} WHERE {where}"
RESTORE = "INSERT INTO {table} SELECT * FROM saved; DROP TABLE saved"


def _relax_key(table: str, column: str) -> str:
    # The projection DDL enforces keys; the checks must still catch a schema that does not.
    return (f"ALTER TABLE {table} DROP CONSTRAINT {table}_pkey;"
            f" ALTER TABLE {table} ALTER COLUMN {column} DROP NOT NULL")


def _restore_key(table: str, column: str) -> str:
    return f"ALTER TABLE {table} ADD PRIMARY KEY ({column})"


def _station_row(sid: str, level: str, region: str, status: str = "'closed'",
                 name: str = "'BAD'") -> str:
    return ("INSERT INTO stations (station_id, name, level, region_code, address, ground_floor,"
            f" functional_areas, status, established_at, last_event_id) VALUES ({sid}, {name},"
            f" {level}, {region}, '地址', true, ARRAY['办公'], {status},"
            " '2022-01-01T00:00:00+08:00', '00000000-0000-0000-0000-000000000002')")


# A projection row no event created is also an archive/projection inconsistency.
AP = "archive_projection_reconciliation"


@dataclass(frozen=True)
class Fault:
    check_id: str
    plant: tuple[str, ...]
    undo: tuple[str, ...]
    expected: int
    also: frozenset[str] = frozenset()
    sample_check: Callable[[list[dict[str, Any]]], bool] | None = None
    config: QualityConfig | None = None


FAULTS = [
    # --- 规范性 ---
    Fault("station_region_code_format",
          ("UPDATE stations SET region_code = '33060200A' WHERE station_id = '330602001-01-01'",),
          ("UPDATE stations SET region_code = '330602001' WHERE station_id = '330602001-01-01'",),
          1),
    Fault("station_level_matches_code",
          (_station_row("'330603-01'", "'总站'", "'330603'"),),
          ("DELETE FROM stations WHERE station_id = '330603-01'",),
          1, also=frozenset({AP}), sample_check=lambda s: s[0]["station_id"] == "330603-01"),
    Fault("station_region_code_known",
          (_station_row("'330699-01'", "'中心站'", "'330699'"),
           _station_row("'330603-01'", "'中心站'", "'330604'")),
          ("DELETE FROM stations WHERE station_id IN ('330699-01', '330603-01')",),
          2, also=frozenset({AP})),
    Fault("opinion_status_known",
          ("UPDATE opinions SET status = 'lost' WHERE opinion_id = 'O5'",),
          ("UPDATE opinions SET status = 'closed' WHERE opinion_id = 'O5'",),
          1, sample_check=lambda s: s[0]["opinion_id"] == "O5" and s[0]["node"] == "330602001"),
    Fault("no_undecodable_events",
          ("INSERT INTO dead_letters VALUES (100000, 'lls.ev.3306.330602.330602001.opinion.received',"
           " NULL, NULL, 'decode', 'payload.type: unknown tag', '\\x01', 1)",),
          ("DELETE FROM dead_letters WHERE stream_seq = 100000",),
          1, sample_check=lambda s: s == [{
              "stream_seq": 100000, "subject": "lls.ev.3306.330602.330602001.opinion.received",
              "stage": "decode", "reason": "payload.type: unknown tag", "node": "330602001"}]),
    # --- 完整性 ---
    Fault("stations_station_id_not_null",
          (_relax_key("stations", "station_id"),
           _station_row("NULL", "'联络点'", "'330602001'")),
          ("DELETE FROM stations WHERE station_id IS NULL", _restore_key("stations", "station_id")),
          1),
    Fault("deputies_deputy_id_not_null",
          (_relax_key("deputies", "deputy_id"),
           "INSERT INTO deputies VALUES (NULL, '无名', 'national', '330602', 'active', now(), NULL)"),
          ("DELETE FROM deputies WHERE deputy_id IS NULL", _restore_key("deputies", "deputy_id")),
          1),
    Fault("visits_visit_id_not_null",
          (_relax_key("visits", "visit_id"),
           "INSERT INTO visits SELECT NULL, gen_random_uuid(), 'D-nat', station_id, visited_at,"
           " year, activity, mode, people_met FROM visits WHERE visit_id = 'V1'"),
          ("DELETE FROM visits WHERE visit_id IS NULL", _restore_key("visits", "visit_id")),
          1),
    Fault("opinions_opinion_id_not_null",
          (_relax_key("opinions", "opinion_id"),
           "INSERT INTO opinions (opinion_id, station_id, received_at, category, content, channel,"
           " citizen_name, status, updated_at) VALUES (NULL, '330602001-01', now(), 'other', 'x',"
           " 'online', '李**', 'received', now())"),
          ("DELETE FROM opinions WHERE opinion_id IS NULL", _restore_key("opinions", "opinion_id")),
          1, sample_check=lambda s: all("citizen_name" not in r for r in s) and len(s) == 1),
    Fault("deputy_yearly_visit_minimum",
          ("UPDATE visits SET year = 2024 WHERE visit_id = 'V3'",),   # one of D-county's three
          ("UPDATE visits SET year = 2025 WHERE visit_id = 'V3'",),
          1, sample_check=lambda s: s == [{"deputy_id": "D-county", "name": "代表D-county",
                                           "level": "county", "visits": 2, "required": 3,
                                           "node": "330602001"}]),
    Fault("township_monthly_reception",
          # Announced only after it started: not announced in advance.
          ("UPDATE receptions SET announced_at = starts_at + interval '1 hour'"
           " WHERE reception_id = 'R-330602002-01-3'",),
          ("UPDATE receptions SET announced_at = starts_at - interval '10 days'"
           " WHERE reception_id = 'R-330602002-01-3'",),
          1, also=frozenset({"reception_announced_in_advance"}),
          sample_check=lambda s: [(r["station_id"], r["month"]) for r in s]
          == [("330602002-01", "2025-03")]),
    Fault("station_disclosures_complete",
          ("DELETE FROM disclosures WHERE station_id = '330602-01'"
           " AND item IN ('app_usage', 'staff')",),
          ("INSERT INTO disclosures VALUES ('330602-01', 'app_usage', now()),"
           " ('330602-01', 'staff', now())",),
          1, sample_check=lambda s: s[0]["missing_items"] == "staff,app_usage"),
    Fault("station_has_head",   # shipped custom check (quality/checks/stations.toml)
          ("UPDATE staff SET released_at = now() WHERE station_id = '330602002-01'",),
          ("UPDATE staff SET released_at = NULL WHERE station_id = '330602002-01'",),
          1, sample_check=lambda s: s[0]["station_id"] == "330602002-01"),
    # --- 准确性 ---
    Fault("stations_station_id_unique",
          (_relax_key("stations", "station_id"),
           _station_row("'3306-01'", "'总站'", "'3306'", "'open'", "'DUP'")),
          ("DELETE FROM stations WHERE name = 'DUP'", _restore_key("stations", "station_id")),
          2, sample_check=lambda s: s == [{"station_id": "3306-01", "occurrences": 2,
                                           "node": "3306"}]),
    Fault("deputies_deputy_id_unique",
          (_relax_key("deputies", "deputy_id"),
           "INSERT INTO deputies SELECT deputy_id, 'DUP', level, region_code, status,"
           " enrolled_at, left_at FROM deputies WHERE deputy_id = 'D-nat'"),
          ("DELETE FROM deputies WHERE name = 'DUP'", _restore_key("deputies", "deputy_id")),
          2),
    Fault("visits_visit_id_unique",
          (_relax_key("visits", "visit_id"),
           "INSERT INTO visits SELECT 'V1', gen_random_uuid(), 'D-nat', station_id, visited_at,"
           " year, activity, mode, people_met FROM visits WHERE visit_id = 'V1'"),
          ("DELETE FROM visits WHERE visit_id = 'V1' AND deputy_id = 'D-nat'",
           _restore_key("visits", "visit_id")),
          2),
    Fault("opinions_opinion_id_unique",
          (_relax_key("opinions", "opinion_id"),
           "INSERT INTO opinions (opinion_id, station_id, received_at, category, content,"
           " channel, status, updated_at) SELECT opinion_id, station_id, received_at, category,"
           " 'DUP', channel, status, updated_at FROM opinions WHERE opinion_id = 'O5'"),
          ("DELETE FROM opinions WHERE content = 'DUP'", _restore_key("opinions", "opinion_id")),
          2),
    Fault("opinion_deadline_after_receipt",
          ("UPDATE opinions SET deadline = '2025-01-31' WHERE opinion_id = 'O4'",),
          ("UPDATE opinions SET deadline = '2025-02-28' WHERE opinion_id = 'O4'",),
          # Feedback on 20 February is then also late.
          1, also=frozenset({"opinion_deadline_met"})),
    Fault("reception_attendance_plausible",  # shipped custom GX check
          ("UPDATE receptions SET attendees = 5000 WHERE reception_id = 'R-330602001-01-2'",),
          ("UPDATE receptions SET attendees = 12 WHERE reception_id = 'R-330602001-01-2'",),
          1, sample_check=lambda s: s == [{"column": "attendees", "value": 5000}]),
    # --- 一致性 ---
    Fault("visits_deputy_exists",
          ("INSERT INTO visits VALUES ('V-ghost', gen_random_uuid(), 'D-ghost', '330602001-01',"
           " '2025-02-01T10:00:00+08:00', 2025, 'survey', 'online', 1)",),
          ("DELETE FROM visits WHERE visit_id = 'V-ghost'",),
          1, also=frozenset({AP}), sample_check=lambda s: s[0]["deputy_id"] == "D-ghost"),
    Fault("visits_station_exists",
          ("INSERT INTO visits VALUES ('V-nowhere', gen_random_uuid(), 'D-nat', '330602099-01',"
           " '2025-02-01T10:00:00+08:00', 2025, 'survey', 'online', 1)",),
          ("DELETE FROM visits WHERE visit_id = 'V-nowhere'",),
          1, also=frozenset({AP})),
    Fault("enrolments_station_exists",
          ("INSERT INTO enrolments VALUES ('D-nat', '330602099-01', now(), NULL)",),
          ("DELETE FROM enrolments WHERE station_id = '330602099-01'",),
          1),
    # Reconciliation: an archive row deleted is found by its event id.
    Fault("stream_reconciliation",
          (SAVE.format(table="event_archive", where="event_id = '{reception_held__R_330602001_01_2}'"),),
          (RESTORE.format(table="event_archive"),),
          1, sample_check=lambda s: s[0]["difference"] == 1 and s[0]["node"] == "330602001"),
    Fault(AP,
          (SAVE.format(table="visits", where="visit_id = 'V9'"),),   # one of D-town's four
          (RESTORE.format(table="visits"),),
          1, sample_check=lambda s: s[0]["entity_id"] == "V9" and s[0]["gap"] == "投影表缺少该记录"),
    Fault("node_totals_add_up",
          ("UPDATE event_archive SET origin = '330602002' WHERE event_id = '{visit_recorded__V1}'",),
          ("UPDATE event_archive SET origin = '330602001' WHERE event_id = '{visit_recorded__V1}'",),
          1, sample_check=lambda s: s[0]["origin"] == "330602002" and s[0]["node"] == "330602001"),
    # --- 时效性 ---
    Fault("event_recording_lag",
          ("UPDATE event_archive SET recorded_at = recorded_at + interval '30 hours'"
           " WHERE event_id = '{visit_recorded__V2}'",),
          ("UPDATE event_archive SET recorded_at = recorded_at - interval '30 hours'"
           " WHERE event_id = '{visit_recorded__V2}'",),
          1, sample_check=lambda s: s[0]["lag_hours"] == 30.1 and s[0]["node"] == "330602001"),
    Fault("opinion_deadline_met",
          ("UPDATE opinions SET deadline = '2025-03-05' WHERE opinion_id = 'O3'",),
          ("UPDATE opinions SET deadline = '2025-04-30' WHERE opinion_id = 'O3'",),
          1, sample_check=lambda s: s[0]["opinion_id"] == "O3" and s[0]["feedback_at"] is None),
    Fault("opinion_acceptance_timely",
          ("UPDATE opinions SET received_at = '2025-03-01T10:00:00+08:00' WHERE opinion_id = 'O1'",),
          ("UPDATE opinions SET received_at = '2025-03-14T10:00:00+08:00' WHERE opinion_id = 'O1'",),
          1),
    Fault("reception_announced_in_advance",
          ("UPDATE receptions SET announced_at = starts_at - interval '1 day'"
           " WHERE reception_id = 'R-330602001-01-2'",),
          ("UPDATE receptions SET announced_at = starts_at - interval '10 days'"
           " WHERE reception_id = 'R-330602001-01-2'",),
          1, sample_check=lambda s: s[0]["notice_days"] == 1.0),
    Fault("station_not_silent",
          ("UPDATE event_archive SET occurred_at = occurred_at - interval '60 days',"
           " recorded_at = recorded_at - interval '60 days'"
           " WHERE payload->>'station_id' = '330602-01' AND occurred_at > '2025-01-01'",),
          ("UPDATE event_archive SET occurred_at = occurred_at + interval '60 days',"
           " recorded_at = recorded_at + interval '60 days'"
           " WHERE payload->>'station_id' = '330602-01' AND occurred_at > '2024-11-01'",),
          1, sample_check=lambda s: s[0]["station_id"] == "330602-01"),
    # --- 可访问性 ---
    Fault("projection_tables_readable",
          ("ALTER TABLE staff RENAME TO staff_hidden",),
          ("ALTER TABLE staff_hidden RENAME TO staff",),
          # The custom check that reads staff cannot run either.
          1, also=frozenset({"station_has_head"}),
          sample_check=lambda s: s[0]["table"] == "staff"),
    Fault("projection_fresh",
          ("UPDATE checkpoints SET stream_seq = stream_seq - 2",),
          ("UPDATE checkpoints SET stream_seq = stream_seq + 2",),
          2, config=QualityConfig(thresholds=Thresholds(projection_max_stale_minutes=0))),
]


# Faulted elsewhere: the backbone down (below); Art. 22 at a year-end cut-off (test_quality_custom).
ELSEWHERE = {"stream_readable", "station_staff_trained_yearly"}


def test_every_check_has_a_fault() -> None:
    assert {f.check_id for f in FAULTS} | ELSEWHERE == {c.id for c in CHECKS} | CUSTOM_IDS


def test_every_dimension_has_a_fault() -> None:
    dims = {check_by_id(f.check_id).dimension for f in FAULTS if f.check_id not in CUSTOM_IDS}
    assert dims == set(Dimension)


@pytest.mark.parametrize("fault", FAULTS, ids=[f.check_id for f in FAULTS])
async def test_planted_fault_fails_its_check_and_passes_when_fixed(env: Env, fault: Fault) -> None:
    env.sql(*fault.plant)
    try:
        run = await env.run(config=fault.config)
    finally:
        env.sql(*fault.undo)
    got = failed(run)
    assert got.get(fault.check_id) == fault.expected, got
    assert set(got) == {fault.check_id} | fault.also, got
    result = run.result(fault.check_id)
    assert result.samples, "a failing check carries sample rows"
    if fault.sample_check is not None:
        assert fault.sample_check(result.samples), result.samples
    # Scored down where the fault is, and only there.
    assert run.dimension_scores[str(result.dimension)] < 100.0
    assert run.html_path is not None and run.json_path is not None
    html = run.html_path.read_text(encoding="utf-8")
    assert "未通过" in html and result.title_zh in html
    for personal in ("张三丰", "13812345678", "张**", "138****5678", "李**"):
        assert personal not in html
    assert json.loads(run.json_path.read_text(encoding="utf-8"))["success"] is False
    fixed = await env.run(config=fault.config)
    assert failed(fixed) == {}, failed(fixed)


async def test_reconciliation_finds_a_deleted_archive_row_by_id(env: Env) -> None:
    deleted = env.ids["visit_recorded__V5"]
    env.sql(SAVE.format(table="event_archive", where=f"event_id = '{deleted}'"))
    try:
        run = await env.run()
    finally:
        env.sql(RESTORE.format(table="event_archive"))
    result = run.result("stream_reconciliation")
    assert not result.success and result.unexpected_count == 1
    gap = result.samples[0]
    assert gap["missing_ids"] == deleted
    assert gap["event_type"] == "visit.recorded" and gap["node"] == "330602001"
    assert (gap["stream_count"], gap["archived"], gap["difference"]) == (10, 9, 1)  # V1-V9, V-old
    assert result.by_node["330602001"].unexpected == 1
    # The visit itself is still projected, but no archived event created it any more.
    ap = run.result(AP)
    assert [s["entity_id"] for s in ap.samples] == ["V5"] and ap.samples[0]["event_id"] == "—"


async def test_an_unreachable_backbone_fails_accessibility(env: Env) -> None:
    run = await env.run(nats_url="nats://127.0.0.1:1")
    assert set(failed(run)) == {"stream_readable", "projection_fresh", "stream_reconciliation"}
    assert "不可访问" in (run.result("stream_readable").observed or "")
    assert run.dimension_scores[str(Dimension.ACCESSIBILITY)] < 100
    assert failed(await env.run()) == {}


async def test_scores_per_node_show_which_township_pulls_the_county_down(env: Env) -> None:
    env.sql("UPDATE receptions SET status = 'cancelled' WHERE reception_id = 'R-330602002-01-2'")
    try:
        run = await env.run()
    finally:
        env.sql("UPDATE receptions SET status = 'held' WHERE reception_id = 'R-330602002-01-2'")
    nodes = {n.node: n for n in run.node_scores}
    done = str(Dimension.COMPLETENESS)
    bad, good, county, city = (nodes[c] for c in ("330602002", "330602001", "330602", "3306"))
    assert bad.dimensions[done] < county.dimensions[done] < 100.0
    assert good.dimensions[done] == 100.0
    assert city.dimensions[done] == county.dimensions[done]
    assert bad.parent == "330602" and county.parent == "3306" and bad.level == "township"
    assert run.result("township_monthly_reception").by_node["330602002"].unexpected == 1
    html = (run.html_path or Path()).read_text(encoding="utf-8")
    assert "拉低县（市、区）得分的乡镇" in html and "▼ 拉低所属县" in html


async def test_history_trend_and_what_changed(env: Env) -> None:
    from quality import store
    from tests.integration.conftest import cli

    env.sql("UPDATE visits SET year = 2024 WHERE visit_id = 'V3'")
    try:
        worse = await env.run()
    finally:
        env.sql("UPDATE visits SET year = 2025 WHERE visit_id = 'V3'")
    better = await env.run()
    assert worse.changes["worse"][0]["id"] == "deputy_yearly_visit_minimum"
    assert [c["id"] for c in better.changes["better"]] == ["deputy_yearly_visit_minimum"]
    assert better.changes["previous"]["run_id"] == str(worse.run_id)
    delta = better.changes["dimensions"][str(Dimension.COMPLETENESS)]["delta"]
    assert delta > 0
    assert [p["run_id"] for p in better.history][-2:] == [str(worse.run_id), str(better.run_id)]
    html = (better.html_path or Path()).read_text(encoding="utf-8")
    assert "<svg" in html and "变好" in html and "已解决" in html
    rows = store.recent_runs(env.servers.database_url, 2, checked_schema=SCHEMA)
    assert [r["run_id"] for r in rows] == [better.run_id, worse.run_id]
    doc = json.loads(cli("quality", "history", "--json", "--schema", SCHEMA).stdout)
    assert doc["runs"][-1]["run_id"] == str(better.run_id)
    assert [c["id"] for c in doc["changes"]["better"]] == ["deputy_yearly_visit_minimum"]
    assert doc["runs"][-1]["dimensions"][str(Dimension.COMPLETENESS)] == 100.0


async def test_a_timeliness_run_checks_only_that_dimension(env: Env) -> None:
    run = await env.run(dimensions=[Dimension.TIMELINESS, Dimension.ACCESSIBILITY])
    assert {r.dimension for r in run.results} == {Dimension.TIMELINESS, Dimension.ACCESSIBILITY}
    assert run.scope == "时效性,可访问性" and set(run.dimension_scores) == {"时效性", "可访问性"}
    assert run.details["lag"], "lag per node is reported"
    assert run.changes["previous"] is not None  # compared with the last run covering it
    # The hourly run stays light: no 社情民意分析 (that is the nightly full run's).
    assert run.minqing is None and "minqing_seconds" not in run.details
    assert run.html_path is not None and run.json_path is not None
    assert 'id="minqing"' not in run.html_path.read_text(encoding="utf-8")
    assert json.loads(run.json_path.read_text(encoding="utf-8"))["minqing"] is None


async def test_thresholds_come_from_config(env: Env) -> None:
    # Announced 10 days ahead everywhere: a 12-day rule flags every reception in the year.
    strict = replace(env.config, thresholds=Thresholds(reception_notice_days=12))
    run = await env.run(config=strict)
    result = run.result("reception_announced_in_advance")
    assert not result.success and result.unexpected_count == result.population == 8
    assert "12日" in result.title_zh
