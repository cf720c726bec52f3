"""`liaison-hub publish FILE.jsonl --node CODE`: bad lines are named, good lines go through."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from consumers.store import LIVE_SCHEMA, connect
from tests.conftest import Servers
from tests.integration.conftest import cli

pytestmark = pytest.mark.integration

NODE = "330602001"


def line(payload: dict[str, Any], **over: Any) -> str:
    doc: dict[str, Any] = {"occurred_at": "2025-03-01T09:00:00+08:00", "actor": "ledger",
                           "payload": payload}
    doc.update(over)
    return json.dumps(doc, ensure_ascii=False)


STATION = {"type": "station.established", "station_id": "330602001-01", "name": "塔山街道人大代表联络站",
           "level": "联络站", "region_code": NODE, "address": "绍兴市越城区", "ground_floor": True,
           "functional_areas": ["办公", "接待"]}
VISIT = {"type": "visit.recorded", "station_id": "330602001-01", "visit_id": "V-1", "deputy_id": "D-1",
         "activity": "survey", "mode": "on_site", "people_met": 4}

BAD_LINES = {
    "not json": ("{oops", None),
    "unknown type": (line({**VISIT, "type": "visit.teleported"}), "payload.type"),
    "naive time": (line(VISIT, occurred_at="2025-03-01T09:00:00"), "occurred_at"),
    "bad station code": (line({**VISIT, "station_id": "3306020-01"}), "payload.station_id"),
    "other township": (line({**VISIT, "station_id": "330602002-01"}), "payload.station_id"),
    "missing field": (line({k: v for k, v in VISIT.items() if k != "deputy_id"}), "payload"),
    "negative count": (line({**VISIT, "people_met": -3}), "payload.people_met"),
    "wrong origin": (line(VISIT, origin="330603001"), "origin"),
    "bad enum": (line({**VISIT, "mode": "telepathy"}), "payload.mode"),
}


async def test_bad_lines_are_reported_and_good_lines_published(fresh: Servers, tmp_path: Path) -> None:
    lines = [line(STATION)]
    expected_bad: dict[int, str | None] = {}
    for i, (text, field) in enumerate(BAD_LINES.values()):
        lines.append(text)
        expected_bad[len(lines)] = field
        lines.append(line({**VISIT, "visit_id": f"V-{i}"}))
    ledger = tmp_path / "ledger.jsonl"
    ledger.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = cli("publish", str(ledger), "--node", NODE, "--json", check=False)
    assert result.returncode == 1, result.stderr
    doc = json.loads(result.stdout)
    assert doc["published"] == 1 + len(BAD_LINES)
    rejected = {r["line"]: r for r in doc["rejected"]}
    assert set(rejected) == set(expected_bad)
    for number, field in expected_bad.items():
        assert rejected[number]["field"] == field, rejected[number]
        assert f"ledger.jsonl:第 {number} 行" in result.stderr
    assert rejected[4]["event_type"] == "visit.teleported"  # the event is named too
    assert rejected[6]["event_type"] == "visit.recorded"

    cli("project")
    async with await connect(fresh.database_url, LIVE_SCHEMA) as conn:
        cur = await conn.execute("SELECT count(*) FROM visits")
        assert (await cur.fetchone()) == (len(BAD_LINES),)

    clean = tmp_path / "clean.jsonl"
    clean.write_text(line({**VISIT, "visit_id": "V-clean"}) + "\n", encoding="utf-8")
    ok = cli("publish", str(clean), "--node", NODE)
    assert ok.returncode == 0 and "已发布 1 条" in ok.stderr


async def test_same_event_id_published_twice_is_stored_once(fresh: Servers, tmp_path: Path) -> None:
    event_id = "01936f3e-8f5a-7b4c-9d2e-123456789abc"
    ledger = tmp_path / "twice.jsonl"
    ledger.write_text(line(STATION, event_id=event_id) + "\n", encoding="utf-8")
    cli("publish", str(ledger), "--node", NODE)
    again = json.loads(cli("publish", str(ledger), "--node", NODE, "--json").stdout)
    assert (again["published"], again["already_stored"]) == (0, 1)
    status = json.loads(cli("status", "--json").stdout)
    assert status["stream"]["messages"] == 1


async def test_a_ledger_sent_twice_is_stored_once_without_event_ids(fresh: Servers, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.jsonl"
    ledger.write_text("\n".join([line(STATION), line(VISIT)]) + "\n", encoding="utf-8")
    first = json.loads(cli("publish", str(ledger), "--node", NODE, "--json").stdout)
    second = json.loads(cli("publish", str(ledger), "--node", NODE, "--json").stdout)
    assert (first["published"], second["published"], second["already_stored"]) == (2, 0, 2)


async def test_encodings_bom_and_undecodable_lines(fresh: Servers, tmp_path: Path) -> None:
    visit = line({**VISIT, "visit_id": "V-gbk"})
    gbk = tmp_path / "gbk.jsonl"
    gbk.write_bytes(line(STATION).encode("gbk") + b"\n" + visit.encode("gbk") + b"\n")
    as_utf8 = cli("publish", str(gbk), "--node", NODE, "--json", check=False)
    assert as_utf8.returncode == 1 and "Traceback" not in as_utf8.stderr
    assert {r["line"] for r in json.loads(as_utf8.stdout)["rejected"]} == {1}  # the visit line is plain ASCII: it goes through
    assert "--encoding" in as_utf8.stderr
    ok = cli("publish", str(gbk), "--node", NODE, "--encoding", "gbk")
    assert ok.returncode == 0
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b"\xef\xbb\xbf" + line({**VISIT, "visit_id": "V-bom"}).encode() + b"\n")
    assert cli("publish", str(bom), "--node", NODE).returncode == 0
