"""Publish -> projection, redelivery after a crash, rebuild, dead letters: real NATS and Postgres."""

from __future__ import annotations

import json
from typing import Any

import pytest

from consumers import projector
from consumers.store import LIVE_SCHEMA, connect, table_counts
from hub.runtime import backbone
from tests.conftest import Servers
from tests.integration.conftest import cli, publish_history

pytestmark = pytest.mark.integration


async def project(s: Servers) -> projector.BatchStats:
    async with backbone(s.nats_url) as (_, js), await connect(s.database_url, LIVE_SCHEMA) as conn:
        return await projector.run(js, conn)


async def counts(s: Servers) -> dict[str, int]:
    async with await connect(s.database_url, LIVE_SCHEMA) as conn:
        return await table_counts(conn)


async def rows(s: Servers, query: str, *params: Any) -> list[tuple[Any, ...]]:
    async with await connect(s.database_url, LIVE_SCHEMA) as conn:
        cur = await conn.execute(query, params)
        return list(await cur.fetchall())


async def test_publish_reaches_every_projection(fresh: Servers) -> None:
    n = await publish_history(fresh.nats_url, opinions=20)
    stats = await project(fresh)
    assert stats.applied == n and stats.dead_lettered == 0
    c = await counts(fresh)
    assert c["event_archive"] == n
    assert (c["stations"], c["staff"], c["disclosures"], c["deputies"], c["enrolments"]) == (1, 1, 2, 1, 1)
    assert (c["visits"], c["receptions"], c["opinions"]) == (3, 1, 20)
    status = dict(await rows(fresh, "SELECT status, count(*) FROM opinions GROUP BY status"))
    assert status == {"closed": 10, "assigned": 10}
    held = await rows(fresh, "SELECT status, attendees FROM receptions")
    assert held == [("held", 12)]
    # Personal information is masked at rest, in the table and in the archive.
    name, phone, address = (
        await rows(fresh, "SELECT citizen_name, citizen_phone, citizen_address FROM opinions LIMIT 1")
    )[0]
    assert (name, phone) == ("张**", "138****5678") and address.endswith("***")
    archived = await rows(fresh, "SELECT payload::text FROM event_archive WHERE type='opinion.received'")
    assert all("13812345678" not in a[0] and "张三丰" not in a[0] for a in archived)


async def test_second_run_and_duplicate_publish_change_nothing(fresh: Servers) -> None:
    await publish_history(fresh.nats_url, opinions=5)
    await project(fresh)
    before = await counts(fresh)
    again = await project(fresh)
    assert again.applied == 0
    assert await counts(fresh) == before


@pytest.mark.parametrize(
    "fault", ["HUB_FAULT_CRASH_BEFORE_COMMIT_AT_SEQ", "HUB_FAULT_CRASH_AFTER_COMMIT_AT_SEQ"]
)
async def test_projector_killed_mid_batch_leaves_no_double_effect(
    fresh: Servers, fault: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = await publish_history(fresh.nats_url, opinions=400)  # > one batch of 500
    crash_at = 500 if "AFTER" in fault else 321
    monkeypatch.setenv(fault, str(crash_at))
    crashed = cli("project", check=False)
    assert crashed.returncode == 137, crashed.stderr
    monkeypatch.delenv(fault)
    partial = await counts(fresh)
    if "AFTER" in fault:
        assert partial["event_archive"] == 500  # committed, not acked
    else:
        assert partial["event_archive"] == 0  # the batch rolled back whole
    second = cli("project")
    c = await counts(fresh)
    assert c["event_archive"] == n and c["dead_letters"] == 0, second.stderr
    assert c["opinions"] == 400 and c["visits"] == 3
    [(checkpoint,)] = await rows(fresh, "SELECT stream_seq FROM checkpoints")
    assert checkpoint == n


async def test_rebuild_equals_live(fresh: Servers) -> None:
    await publish_history(fresh.nats_url, opinions=30)
    async with backbone(fresh.nats_url) as (_, js):
        await js.publish("lls.ev.3306.330602.330602001.opinion.received", b"\x00not json")
    await project(fresh)
    result = cli("rebuild", "--json")
    doc = json.loads(result.stdout)
    assert doc["equal"] is True
    assert doc["replayed"] == doc["up_to_seq"] > 0
    by_table = {t["table"]: t for t in doc["tables"]}
    assert by_table["opinions"]["rebuilt_rows"] == 30
    assert by_table["dead_letters"]["rebuilt_rows"] == 1
    # A live row changed behind the projector's back is caught by the comparison.
    async with await connect(fresh.database_url, LIVE_SCHEMA) as conn:
        await conn.execute("UPDATE opinions SET category='篡改' WHERE opinion_id='O-1'")
        await conn.commit()
    tampered = cli("rebuild", "--json", check=False)
    assert tampered.returncode == 1
    diff = {t["table"]: t for t in json.loads(tampered.stdout)["tables"]}
    assert diff["opinions"]["only_live"] == 1 and diff["opinions"]["only_rebuilt"] == 1


async def test_unapplicable_events_are_dead_lettered_and_projector_goes_on(fresh: Servers) -> None:
    from datetime import datetime, timedelta, timezone

    from producers.sdk import NodePublisher
    from schemas import events as ev

    await publish_history(fresh.nats_url, opinions=2)
    at = datetime(2025, 5, 1, tzinfo=timezone(timedelta(hours=8)))
    async with backbone(fresh.nats_url) as (_, js):
        pub = NodePublisher(js, "330602001", "test")
        bad = [
            # a station nobody established
            ev.VisitRecorded(
                station_id="330602001-09",
                visit_id="V-x",
                deputy_id="D-1",
                activity="survey",
                mode="online",
                people_met=1,
            ),
            # O-0 is closed already: feedback is an illegal transition
            ev.OpinionFeedbackGiven(
                station_id="330602001-01", opinion_id="O-0", feedback="好", satisfaction="satisfied"
            ),
            # a reception never scheduled
            ev.ReceptionHeld(station_id="330602001-01", reception_id="R-404", deputy_ids=[], attendees=1),
        ]
        for p in bad:
            await pub.publish(pub.build(p, at, recorded_at=at))
        await js.publish("lls.ev.3306.330602.330602001.opinion.received", b"{not json")
        await js.publish(
            "lls.ev.3306.330602.330602001.opinion.received",
            json.dumps({"event_id": "x", "payload": {"type": "opinion.teleported"}}).encode(),
        )
        good = ev.OpinionFeedbackGiven(
            station_id="330602001-01", opinion_id="O-1", feedback="已修复", satisfaction="satisfied"
        )
        await pub.publish(pub.build(good, at, recorded_at=at))
    stats = await project(fresh)
    assert stats.dead_lettered == 5
    letters = await rows(fresh, "SELECT stage, event_type, reason FROM dead_letters ORDER BY stream_seq")
    stages = [s for s, _, _ in letters]
    assert stages == ["apply", "apply", "apply", "decode", "decode"]
    reasons = " | ".join(r for _, _, r in letters)
    assert "unknown station `330602001-09`" in reasons
    assert "cannot take opinion.feedback_given" in reasons
    assert "R-404" in reasons and "not valid JSON" in reasons
    assert "field `event_id`" in reasons
    # Every raw message is kept for replay.
    raws = await rows(fresh, "SELECT raw FROM dead_letters WHERE stage='decode'")
    assert bytes(raws[0][0]) == b"{not json"
    # ...and the good event after them was applied.
    [(state,)] = await rows(fresh, "SELECT status FROM opinions WHERE opinion_id='O-1'")
    assert state == "feedback_given"
