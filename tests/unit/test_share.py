"""The redacted share, on FastStream's in-memory test broker."""

from __future__ import annotations

import json
from typing import Any

from faststream.nats import JStream, NatsMessage, TestNatsBroker

from consumers.share import SHARE_STREAM, build_broker, share_subject
from producers.sdk import new_event_id
from schemas import events as ev
from schemas.envelope import SCHEMA_VERSION, Envelope, encode
from schemas.subjects import STREAM, subject_for
from tests.helpers import NODE, STATION, T0


def opinion() -> Envelope:
    return Envelope(
        event_id=new_event_id(), schema_version=SCHEMA_VERSION, occurred_at=T0, recorded_at=T0,
        origin=NODE, actor="test",
        payload=ev.OpinionReceived(station_id=STATION, opinion_id="O-1", category="交通出行",
                                   content="路灯坏了，电话13900001111", channel="on_site",
                                   citizen=ev.Citizen(name="张三", phone="13812345678")))


async def test_events_are_shared_without_personal_information() -> None:
    broker = build_broker()
    shared: list[tuple[str, dict[str, Any]]] = []

    @broker.subscriber("lls.share.>", stream=JStream(SHARE_STREAM, declare=False))
    async def downstream(msg: NatsMessage) -> None:
        shared.append((msg.raw_message.subject, json.loads(msg.body)))

    env = opinion()
    subject = subject_for(NODE, env.type)
    async with TestNatsBroker(broker) as br:
        await br.publish(encode(env), subject, stream=STREAM)
        await br.publish(b"\x00 not an event", subject, stream=STREAM)  # skipped, no crash
    assert len(shared) == 1
    assert shared[0][0] == share_subject(subject)
    doc = shared[0][1]
    assert doc["event_id"] == env.event_id
    assert "citizen" not in doc["payload"]
    assert "13812345678" not in json.dumps(doc, ensure_ascii=False)
    assert doc["payload"]["content"] == "路灯坏了，电话139****1111"
    assert "13900001111" not in json.dumps(doc, ensure_ascii=False)


def test_share_subject_keeps_the_hierarchy() -> None:
    assert share_subject("lls.ev.3306.330602.330602001.opinion.received") == (
        "lls.share.3306.330602.330602001.opinion.received")
