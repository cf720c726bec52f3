"""Publish -> projection, redelivery after a crash, rebuild, dead letters: real NATS and Postgres."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from consumers import projector
from consumers.store import LIVE_SCHEMA, connect, migrate, table_counts
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
    from schemas.envelope import encode
    from schemas.subjects import subject_for

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
        sent = pub.build(good, at, recorded_at=at)
        await pub.publish(sent)
        # The same event again, past the server's de-duplication (no Nats-Msg-Id).
        await js.publish(subject_for("330602001", sent.type), encode(sent))
    stats = await project(fresh)
    assert (stats.dead_lettered, stats.duplicates) == (5, 1)
    letters = await rows(fresh, "SELECT stage, event_type, reason FROM dead_letters ORDER BY stream_seq")
    stages = [s for s, _, _ in letters]
    assert stages == ["apply", "apply", "apply", "decode", "decode", "duplicate"]
    reasons = [r for _, _, r in letters]
    # In Chinese for the auditors: the event type, the field and the id, what is wrong, what to do.
    assert reasons[:3] == [
        "visit.recorded：`station_id` 330602001-09 的站点尚未建立（没有收到它的 station.established）；"
        "请先发布该站点的 station.established，再重新发布本事件",
        "opinion.feedback_given：`opinion_id` O-0 的意见当前为「已办结」（closed），"
        "不能办理「反馈」（opinion.feedback_given）；办结后不能再办理任何步骤",
        "reception.held：`reception_id` R-404 的接待活动从未在站点 330602001-01 安排过"
        "（没有收到 reception.scheduled）；请先发布 reception.scheduled，或核对接待编号",
    ]
    assert "不是合法的 JSON" in reasons[3]
    assert reasons[4].startswith("事件 opinion.teleported（编号 x）：字段 `event_id`")
    assert reasons[5] == (
        f"opinion.feedback_given：`event_id` {sent.event_id} 的事件已经归档过，这条是同一事件的重复发送，"
        "已忽略，不影响数据，无需处理"
    )
    # Every raw message is kept for replay.
    raws = await rows(fresh, "SELECT raw FROM dead_letters WHERE stage='decode'")
    assert bytes(raws[0][0]) == b"{not json"
    # ...and the good event after them was applied.
    [(state,)] = await rows(fresh, "SELECT status FROM opinions WHERE opinion_id='O-1'")
    assert state == "feedback_given"


async def test_postgres_crash_mid_run_loses_nothing(fresh: Servers, tmp_path: Path) -> None:
    """Postgres dies under the projector and comes back: the batch in hand is held, not
    NAKed past; every event ends up applied exactly once."""
    from hub.embedded import PostgresProcess

    n = await publish_history(fresh.nats_url, opinions=1500)  # several batches
    pg = PostgresProcess(tmp_path / "pg")
    port = pg.start()
    url = f"postgresql://postgres@127.0.0.1:{port}/liaison"
    await migrate(url, LIVE_SCHEMA, fresh=True)
    first_batch = asyncio.Event()

    def after_batch(_stats: projector.BatchStats, _pending: int) -> None:
        first_batch.set()

    async def crash_and_restart() -> None:
        await first_batch.wait()
        await asyncio.to_thread(pg.stop, "immediate")
        await asyncio.sleep(3)
        await asyncio.to_thread(pg.start, port)

    try:
        async with backbone(fresh.nats_url) as (_, js), await connect(url, LIVE_SCHEMA) as conn:
            chaos = asyncio.create_task(crash_and_restart())
            stats = await projector.run(js, conn, on_batch=after_batch,
                                        reconnect=lambda: connect(url, LIVE_SCHEMA), give_up_after=60)
            await chaos
        async with await connect(url, LIVE_SCHEMA) as conn:
            cur = await conn.execute("SELECT stream_seq, reason FROM dead_letters ORDER BY 1 LIMIT 5")
            letters = await cur.fetchall()
        assert stats.applied + stats.redelivered >= n, letters
        async with await connect(url, LIVE_SCHEMA) as conn:
            c = await table_counts(conn)
            cur = await conn.execute("SELECT stream_seq FROM checkpoints")
            assert await cur.fetchone() == (n,)
        assert c["event_archive"] == n and c["dead_letters"] == 0 and c["opinions"] == 1500
    finally:
        pg.stop()


async def test_a_second_projector_on_the_same_durable_is_refused(fresh: Servers) -> None:
    await publish_history(fresh.nats_url, opinions=2)
    async with await connect(fresh.database_url, LIVE_SCHEMA) as holder:
        await projector.Projector(holder).lock()
        second = cli("project", check=False)
        assert second.returncode == 1
        assert "另一个投影器" in second.stderr
    assert cli("project").returncode == 0


async def test_personal_numbers_in_free_text_are_masked_and_a_reused_visit_id_is_refused(
        fresh: Servers) -> None:
    from datetime import datetime, timedelta, timezone

    from producers.sdk import NodePublisher
    from schemas import events as ev

    await publish_history(fresh.nats_url, opinions=1)
    at = datetime(2025, 6, 1, 9, tzinfo=timezone(timedelta(hours=8)))
    said = "我家电话13900001111，身份证330602199001011234，楼道灯坏了"
    async with backbone(fresh.nats_url) as (_, js):
        pub = NodePublisher(js, "330602001", "test")
        for p in (
            ev.OpinionReceived(station_id="330602001-01", opinion_id="O-pii", category="城乡建设",
                               content=said, channel="on_site"),
            # V-0 was recorded by the history already; a second, different registration under it
            ev.VisitRecorded(station_id="330602001-01", visit_id="V-0", deputy_id="D-9",
                             activity="survey", mode="online", people_met=99),
        ):
            await pub.publish(pub.build(p, at, recorded_at=at))
    stats = await project(fresh)
    assert stats.dead_lettered == 1
    [(content,)] = await rows(fresh, "SELECT content FROM opinions WHERE opinion_id='O-pii'")
    assert content == "我家电话139****1111，身份证330602********1234，楼道灯坏了"
    [(archived,)] = await rows(fresh, "SELECT payload->>'content' FROM event_archive "
                                      "WHERE payload->>'opinion_id'='O-pii'")
    assert archived == content
    [(reason,)] = await rows(fresh, "SELECT reason FROM dead_letters WHERE stage='apply'")
    assert "`visit_id` V-0 的进站履职登记已经存在" in reason
    [(deputy, met)] = await rows(fresh, "SELECT deputy_id, people_met FROM visits WHERE visit_id='V-0'")
    assert (deputy, met) == ("D-1", 5)  # the first registration stands
