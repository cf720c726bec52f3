"""The redacted share for downstream systems, as a FastStream NATS application.

Every valid event is republished under ``lls.share.…`` (same hierarchy tokens as
``lls.ev.…``, so a county subscribes to ``lls.share.3306.330602.>``) with citizens'
personal information removed. Undecodable events are not shared; the projector
dead-letters them. ``Nats-Msg-Id`` = event id, so a redelivered event is stored once.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from faststream import AckPolicy
from faststream.nats import JStream, NatsBroker, NatsMessage, PullSub
from nats.js.api import (
    AckPolicy as JsAckPolicy,
)
from nats.js.api import (
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from schemas.envelope import Envelope, EventRejected, decode
from schemas.privacy import mask_text
from schemas.subjects import ALL_EVENTS, ROOT, STREAM

log = logging.getLogger(__name__)

SHARE_ROOT = "lls.share"
SHARE_STREAM = "LLS_SHARE"
DURABLE = "share"


def share_subject(event_subject: str) -> str:
    return SHARE_ROOT + event_subject.removeprefix(ROOT)


def redact(env: Envelope) -> bytes:
    """The event as shared: no citizen block, phone and ID numbers in free text masked."""
    doc: dict[str, Any] = msgspec.to_builtins(env)
    doc["payload"].pop("citizen", None)
    if isinstance(doc["payload"].get("content"), str):
        doc["payload"]["content"] = mask_text(doc["payload"]["content"])
    return msgspec.json.encode(doc)


def consumer_config() -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=DURABLE, deliver_policy=DeliverPolicy.ALL, ack_policy=JsAckPolicy.EXPLICIT,
        ack_wait=30, max_deliver=20, backoff=[5.0, 10.0, 30.0, 60.0], max_ack_pending=1_000,
        filter_subject=ALL_EVENTS,
    )


async def provision_share(js: JetStreamContext, max_age: float) -> None:
    """The share stream and the durable the share app binds to (FastStream declares neither)."""
    config = StreamConfig(
        name=SHARE_STREAM, description="redacted events for downstream systems",
        subjects=[f"{SHARE_ROOT}.>"], storage=StorageType.FILE, retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD, max_age=max_age, duplicate_window=3_600,
    )
    try:
        await js.stream_info(SHARE_STREAM)
        await js.update_stream(config)
    except NotFoundError:
        await js.add_stream(config)
    await js.add_consumer(STREAM, config=consumer_config())


def build_broker(nats_url: str = "nats://127.0.0.1:4222") -> NatsBroker:
    # Per-message logs at DEBUG: 50k INFO lines help nobody.
    broker = NatsBroker(nats_url, name="share", logger=log, log_level=logging.DEBUG)
    # declare=False: the stream is provisioned by hub, never re-declared from here.
    events = JStream(STREAM, declare=False)

    @broker.subscriber(
        ALL_EVENTS, stream=events, durable=DURABLE, pull_sub=PullSub(batch_size=200, timeout=1.0),
        # Not the default REJECT_ON_ERROR: a failed republish must come back, not vanish.
        ack_policy=AckPolicy.NACK_ON_ERROR,
    )
    async def share(msg: NatsMessage) -> None:
        # The raw bytes, not FastStream's JSON decoding: msgspec decodes strictly.
        try:
            env = decode(msg.body)
        except EventRejected as exc:
            log.info("not shared (dead-lettered by the projector): %s", exc)
            return
        await broker.publish(redact(env), share_subject(msg.raw_message.subject),
                             stream=SHARE_STREAM, headers={"Nats-Msg-Id": env.event_id})

    return broker


async def run_share(nats_url: str, js: JetStreamContext, *, until_caught_up: bool = True,
                    poll: float = 0.5) -> int:
    """Run the share app; with ``until_caught_up`` stop once nothing is pending. Returns the
    number of messages in the share stream."""
    import asyncio

    broker = build_broker(nats_url)
    async with broker:
        await broker.start()
        while True:
            await asyncio.sleep(poll)
            info = await js.consumer_info(STREAM, DURABLE)
            if until_caught_up and info.num_pending == 0 and info.num_ack_pending == 0:
                break
    return int((await js.stream_info(SHARE_STREAM)).state.messages)
