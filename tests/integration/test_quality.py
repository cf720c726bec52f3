"""Quality checks on real Postgres: a clean dataset passes every check; each planted
fault fails exactly its own check, with the expected count; undoing it passes again."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import psycopg
import pytest

from quality.checks import CHECKS
from quality.model import QualityRun
from quality.runner import run_quality, to_json

pytestmark = pytest.mark.integration

SCHEMA = "qtest"
YEAR = 2025
AS_OF = date(2025, 3, 15)  # Art. 14 months checked: 2025-01 .. 2025-03
ARCHIVED = 40
DISCLOSURE_ITEMS = ("deputies", "staff", "rules_and_plan", "opinion_process", "app_usage", "other")
TOWNSHIP_STATIONS = ("330602001-01", "330602002-01")


def _station(sid: str, level: str, region: str, *, status: str = "open",
             established: str = "2024-01-01", closed: str | None = None,
             parent: str | None = None, name: str | None = None) -> tuple[Any, ...]:
    return (sid, name or f"站点{sid}", level, region, parent, "地址", True, ["办公", "接待"],
            status, f"{established}T09:00:00+08:00", closed, "00000000-0000-0000-0000-000000000001")


STATIONS = [
    _station("3306-01", "总站", "3306"),
    _station("330602-01", "中心站", "330602"),
    _station("330602001-01", "联络站", "330602001"),
    # Opened 20 January: January is not a full month, so it owes no January reception.
    _station("330602002-01", "联络站", "330602002", established="2025-01-20"),
    _station("330602001-01-01", "联络点", "330602001", parent="330602001-01"),
    # Closed before the year: owes nothing.
    _station("330602004-01", "联络站", "330602004", status="closed",
             closed="2024-12-01T00:00:00+08:00"),
]

# (deputy_id, level, status, enrolled, left, visits in YEAR)
DEPUTIES = [
    ("D-city", "city", "active", "2023-01-10", None, 2),
    ("D-county", "county", "active", "2023-01-10", None, 3),
    ("D-town", "township", "active", "2023-01-10", None, 4),
    ("D-nat", "national", "active", "2023-01-10", None, 0),   # not checked by Art. 12
    ("D-left", "county", "left", "2022-01-10", "2024-06-01", 0),  # left before the year
    ("D-late", "township", "active", "2026-01-05", None, 0),  # enrolled after the year
]


def _apply_projection_ddl(conn: psycopg.Connection[Any]) -> None:
    folder = resources.files("consumers").joinpath("migrations")
    for f in sorted(folder.iterdir(), key=lambda f: f.name):
        if f.name.endswith(".sql"):
            conn.execute(f.read_text(encoding="utf-8").encode())


def _load(conn: psycopg.Connection[Any]) -> None:
    conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    conn.execute(f"CREATE SCHEMA {SCHEMA}")
    conn.execute(f"SET search_path TO {SCHEMA}")
    _apply_projection_ddl(conn)
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO stations VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                        STATIONS)
        cur.executemany(
            "INSERT INTO disclosures VALUES (%s, %s, '2024-02-01T00:00:00+08:00')",
            [(s[0], item) for s in STATIONS if s[2] != "联络点" and s[8] == "open"
             for item in DISCLOSURE_ITEMS])
        receptions = []
        for sid in TOWNSHIP_STATIONS:
            for month in (1, 2, 3, 4):
                if sid == "330602002-01" and month == 1:
                    continue
                receptions.append((f"R-{sid}-{month}", sid, f"{YEAR}-{month:02d}-20T09:00:00+08:00",
                                   f"{YEAR}-{month:02d}-10T09:00:00+08:00", "held"))
        # Noise that must not count for February: cancelled, and held but announced late.
        receptions.append(("R-x1", "330602001-01", f"{YEAR}-02-05T09:00:00+08:00",
                           f"{YEAR}-02-01T09:00:00+08:00", "cancelled"))
        receptions.append(("R-x2", "330602001-01", f"{YEAR}-02-06T09:00:00+08:00",
                           f"{YEAR}-02-07T09:00:00+08:00", "held"))
        cur.executemany(
            "INSERT INTO receptions (reception_id, station_id, theme, place, starts_at,"
            " announced_at, mode, status) VALUES (%s,%s,'主题','会议室',%s,%s,'on_site',%s)",
            receptions)
        visit_n = 0
        for did, level, status, enrolled, left, n in DEPUTIES:
            cur.execute("INSERT INTO deputies VALUES (%s,%s,%s,'330602',%s,%s,%s)",
                        (did, f"代表{did}", level, status, f"{enrolled}T00:00:00+08:00",
                         f"{left}T00:00:00+08:00" if left else None))
            cur.execute("INSERT INTO enrolments VALUES (%s,'330602001-01',%s,NULL)",
                        (did, f"{enrolled}T00:00:00+08:00"))
            for i in range(n):
                visit_n += 1
                cur.execute(
                    "INSERT INTO visits VALUES (%s, gen_random_uuid(), %s, '330602001-01', %s,"
                    " %s, 'daily_contact', 'on_site', 5)",
                    (f"V{visit_n}", did, f"{YEAR}-0{i + 1}-15T10:00:00+08:00", YEAR))
        # A visit from the year before does not count towards YEAR.
        cur.execute("INSERT INTO visits VALUES ('V-old', gen_random_uuid(), 'D-city',"
                    " '330602001-01', '2024-05-01T10:00:00+08:00', 2024, 'survey', 'online', 3)")
        cur.executemany(
            "INSERT INTO opinions (opinion_id, station_id, received_at, category, content,"
            " channel, citizen_name, citizen_phone, citizen_address, status, updated_at)"
            " VALUES (%s, '330602001-01', now(), 'livelihood', '路灯不亮', 'on_site', '王**',"
            " '138****0000', '越城区****', 'received', now())",
            [("O1",), ("O2",)])
        cur.executemany(
            "INSERT INTO event_archive (event_id, stream_seq, subject, type, schema_version,"
            " origin, actor, occurred_at, recorded_at, payload)"
            " VALUES (gen_random_uuid(), %s, 'lls.ev.3306', 't.x', 1, '3306', 'a', now(), now(),"
            " '{}')", [(i,) for i in range(1, ARCHIVED + 1)])
        # A redelivered duplicate is recorded, and is no fault.
        cur.execute("INSERT INTO dead_letters VALUES (%s, 'lls.ev.3306', NULL, NULL, 'duplicate',"
                    " 'already archived', '\\x00', 1)", (ARCHIVED + 1,))


@dataclass
class Env:
    url: str
    reports: Path
    conn: psycopg.Connection[Any]
    stream_count: int = ARCHIVED + 1

    def run(self, stream_count: int | None = None) -> QualityRun:
        return run_quality(self.url, stream_count=stream_count or self.stream_count, year=YEAR,
                           as_of=AS_OF, reports_dir=self.reports, schema=SCHEMA)

    def sql(self, *statements: str) -> None:
        for s in statements:
            self.conn.execute(s)


@pytest.fixture(scope="module")
def env(servers: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with psycopg.connect(servers.database_url, autocommit=True) as conn:
        _load(conn)
        yield Env(servers.database_url, tmp_path_factory.mktemp("reports"), conn)
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")


def _failed(run: QualityRun) -> dict[str, int]:
    return {r.id: r.unexpected_count for r in run.results if not r.success}


def test_clean_dataset_passes_and_reports(env: Env) -> None:
    run = env.run()
    assert _failed(run) == {}, [r for r in run.results if not r.success]
    assert run.success
    assert {r.id for r in run.results} == {c.id for c in CHECKS}
    assert run.html_path is not None and run.json_path is not None
    html = run.html_path.read_text(encoding="utf-8")
    assert "数据质量检查报告" in html and "通过" in html
    assert "<link" not in html and "<script" not in html  # self-contained
    doc = json.loads(run.json_path.read_text(encoding="utf-8"))
    assert doc["run_id"] == str(run.run_id) and doc["success"] is True
    assert len(doc["checks"]) == len(CHECKS)
    assert json.loads((env.reports / "latest.json").read_text(encoding="utf-8")) == doc
    assert (env.reports / "latest.html").read_text(encoding="utf-8") == html
    assert to_json(run)["checks"] == doc["checks"]
    row = env.conn.execute(
        "SELECT success, checks_total, checks_failed, stream_count,"
        " (SELECT count(*) FROM quality.results r WHERE r.run_id = runs.run_id)"
        " FROM quality.runs WHERE run_id = %s", (run.run_id,)).fetchone()
    assert row == (True, len(CHECKS), 0, ARCHIVED + 1, len(CHECKS))


def _relax_key(table: str, column: str) -> str:
    # The projection DDL enforces keys; the checks must still catch a schema that does not.
    return (f"ALTER TABLE {table} DROP CONSTRAINT {table}_pkey;"
            f" ALTER TABLE {table} ALTER COLUMN {column} DROP NOT NULL")


def _restore_key(table: str, column: str) -> str:
    return f"ALTER TABLE {table} ADD PRIMARY KEY ({column})"


_DUP_STATION = ("INSERT INTO stations SELECT station_id, 'DUP', level, region_code,"
                " parent_station_id, address, ground_floor, functional_areas, status,"
                " established_at, closed_at, last_event_id FROM stations"
                " WHERE station_id = '3306-01'")
_CLOSED_STATION = ("INSERT INTO stations VALUES ({sid}, 'BAD', {level}, {region}, NULL, '地址',"
                   " true, ARRAY['办公'], 'closed', '2024-01-01T00:00:00+08:00',"
                   " '2024-06-01T00:00:00+08:00', '00000000-0000-0000-0000-000000000002')")


@dataclass(frozen=True)
class Fault:
    check_id: str
    plant: tuple[str, ...]
    undo: tuple[str, ...]
    expected: int
    stream_delta: int = 0
    sample_check: Callable[[list[dict[str, Any]]], bool] | None = None


FAULTS = [
    Fault("stations_station_id_unique",
          (_relax_key("stations", "station_id"), _DUP_STATION),
          ("DELETE FROM stations WHERE name = 'DUP'", _restore_key("stations", "station_id")),
          2, sample_check=lambda s: s == [{"station_id": "3306-01", "occurrences": 2}]),
    Fault("stations_station_id_not_null",
          (_relax_key("stations", "station_id"),
           _CLOSED_STATION.format(sid="NULL", level="'联络点'", region="'330602001'")),
          ("DELETE FROM stations WHERE station_id IS NULL", _restore_key("stations", "station_id")),
          1),
    Fault("deputies_deputy_id_unique",
          (_relax_key("deputies", "deputy_id"),
           "INSERT INTO deputies SELECT deputy_id, 'DUP', level, region_code, status,"
           " enrolled_at, left_at FROM deputies WHERE deputy_id = 'D-nat'"),
          ("DELETE FROM deputies WHERE name = 'DUP'", _restore_key("deputies", "deputy_id")),
          2),
    Fault("deputies_deputy_id_not_null",
          (_relax_key("deputies", "deputy_id"),
           "INSERT INTO deputies VALUES (NULL, '无名', 'national', '330602', 'active', now(), NULL)"),
          ("DELETE FROM deputies WHERE deputy_id IS NULL", _restore_key("deputies", "deputy_id")),
          1),
    Fault("visits_visit_id_unique",
          (_relax_key("visits", "visit_id"),
           "INSERT INTO visits SELECT 'V1', gen_random_uuid(), 'D-nat', station_id, visited_at,"
           " year, activity, mode, people_met FROM visits WHERE visit_id = 'V1'"),
          ("DELETE FROM visits WHERE visit_id = 'V1' AND deputy_id = 'D-nat'",
           _restore_key("visits", "visit_id")),
          2),
    Fault("visits_visit_id_not_null",
          (_relax_key("visits", "visit_id"),
           "INSERT INTO visits SELECT NULL, gen_random_uuid(), 'D-nat', station_id, visited_at,"
           " year, activity, mode, people_met FROM visits WHERE visit_id = 'V1'"),
          ("DELETE FROM visits WHERE visit_id IS NULL", _restore_key("visits", "visit_id")),
          1),
    Fault("opinions_opinion_id_unique",
          (_relax_key("opinions", "opinion_id"),
           "INSERT INTO opinions (opinion_id, station_id, received_at, category, content,"
           " channel, status, updated_at) SELECT opinion_id, station_id, received_at, category,"
           " 'DUP', channel, status, updated_at FROM opinions WHERE opinion_id = 'O1'"),
          ("DELETE FROM opinions WHERE content = 'DUP'", _restore_key("opinions", "opinion_id")),
          2),
    Fault("opinions_opinion_id_not_null",
          (_relax_key("opinions", "opinion_id"),
           "INSERT INTO opinions (opinion_id, station_id, received_at, category, content, channel,"
           " citizen_name, status, updated_at) VALUES (NULL, '330602001-01', now(), 'other', 'x',"
           " 'online', '李**', 'received', now())"),
          ("DELETE FROM opinions WHERE opinion_id IS NULL", _restore_key("opinions", "opinion_id")),
          1, sample_check=lambda s: all("citizen_name" not in r for r in s) and len(s) == 1),
    Fault("station_region_code_format",
          ("UPDATE stations SET region_code = '33060200A' WHERE station_id = '330602001-01-01'",),
          ("UPDATE stations SET region_code = '330602001' WHERE station_id = '330602001-01-01'",),
          1),
    Fault("station_level_matches_code",
          (_CLOSED_STATION.format(sid="'330603-01'", level="'总站'", region="'330603'"),),
          ("DELETE FROM stations WHERE station_id = '330603-01'",),
          1, sample_check=lambda s: s[0]["station_id"] == "330603-01"),
    Fault("station_region_code_known",
          (_CLOSED_STATION.format(sid="'330699-01'", level="'中心站'", region="'330699'"),
           _CLOSED_STATION.format(sid="'330603-01'", level="'中心站'", region="'330604'")),
          ("DELETE FROM stations WHERE station_id IN ('330699-01', '330603-01')",),
          2),
    Fault("visits_deputy_exists",
          ("INSERT INTO visits VALUES ('V-ghost', gen_random_uuid(), 'D-ghost', '330602001-01',"
           " '2025-02-01T10:00:00+08:00', 2025, 'survey', 'online', 1)",),
          ("DELETE FROM visits WHERE visit_id = 'V-ghost'",),
          1, sample_check=lambda s: s[0]["deputy_id"] == "D-ghost"),
    Fault("visits_station_exists",
          ("INSERT INTO visits VALUES ('V-nowhere', gen_random_uuid(), 'D-nat', '330602099-01',"
           " '2025-02-01T10:00:00+08:00', 2025, 'survey', 'online', 1)",),
          ("DELETE FROM visits WHERE visit_id = 'V-nowhere'",),
          1),
    Fault("enrolments_station_exists",
          ("INSERT INTO enrolments VALUES ('D-nat', '330602099-01', now(), NULL)",),
          ("DELETE FROM enrolments WHERE station_id = '330602099-01'",),
          1),
    Fault("deputy_yearly_visit_minimum",
          ("UPDATE visits SET year = 2024 WHERE visit_id = (SELECT min(visit_id) FROM visits"
           " WHERE deputy_id = 'D-county')",),
          ("UPDATE visits SET year = 2025 WHERE deputy_id = 'D-county'",),
          1, sample_check=lambda s: s == [{"deputy_id": "D-county", "name": "代表D-county",
                                           "level": "county", "visits": 2, "required": 3}]),
    Fault("township_monthly_reception",
          # Announced only after it started: not announced in advance.
          ("UPDATE receptions SET announced_at = starts_at + interval '1 hour'"
           " WHERE reception_id = 'R-330602002-01-3'",),
          ("UPDATE receptions SET announced_at = starts_at - interval '10 days'"
           " WHERE reception_id = 'R-330602002-01-3'",),
          1, sample_check=lambda s: [(r["station_id"], r["month"]) for r in s]
          == [("330602002-01", "2025-03")]),
    Fault("station_disclosures_complete",
          ("DELETE FROM disclosures WHERE station_id = '330602-01'"
           " AND item IN ('app_usage', 'staff')",),
          ("INSERT INTO disclosures VALUES ('330602-01', 'app_usage', now()),"
           " ('330602-01', 'staff', now())",),
          1, sample_check=lambda s: s[0]["missing_items"] == "staff,app_usage"),
    Fault("no_undecodable_events",
          ("INSERT INTO dead_letters VALUES (1000, 'lls.ev.3306.x', NULL, NULL, 'decode',"
           " 'payload.type: unknown tag', '\\x01', 1)",),
          ("DELETE FROM dead_letters WHERE stream_seq = 1000",),
          # The undecodable message is in the stream too: reconciliation still holds.
          1, stream_delta=1,
          sample_check=lambda s: s == [{"stream_seq": 1000, "subject": "lls.ev.3306.x",
                                        "stage": "decode", "reason": "payload.type: unknown tag"}]),
    Fault("stream_reconciliation", (), (), 2, stream_delta=2),
]


def test_every_check_has_a_fault() -> None:
    assert {f.check_id for f in FAULTS} == {c.id for c in CHECKS}


@pytest.mark.parametrize("fault", FAULTS, ids=[f.check_id for f in FAULTS])
def test_planted_fault_fails_only_its_check(env: Env, fault: Fault) -> None:
    env.sql(*fault.plant)
    try:
        run = env.run(env.stream_count + fault.stream_delta)
    finally:
        env.sql(*fault.undo)
    assert _failed(run) == {fault.check_id: fault.expected}
    result = run.result(fault.check_id)
    assert result.samples, "a failing check carries sample rows"
    if fault.sample_check is not None:
        assert fault.sample_check(result.samples), result.samples
    assert run.html_path is not None and run.json_path is not None
    html = run.html_path.read_text(encoding="utf-8")
    assert "未通过" in html and result.title_zh in html
    for masked in ("王**", "李**", "138****0000"):
        assert masked not in html
    assert json.loads(run.json_path.read_text(encoding="utf-8"))["success"] is False


def test_passes_again_after_faults_are_undone(env: Env) -> None:
    run = env.run()
    assert _failed(run) == {}
