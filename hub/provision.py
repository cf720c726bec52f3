"""Explicit, idempotent provisioning of streams and consumers.

Not left to faststream or pull_subscribe: the first re-declares streams from
code on start-up, the second does not update an existing durable's config.
"""

from __future__ import annotations

import contextlib

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from consumers.projector import ensure_consumer
from consumers.share import provision_share
from schemas.subjects import ALL_EVENTS, STREAM

DAY = 86_400
# Limits retention: keep a year and a quarter, longer than any outage a site may have,
# so a rebuild or a returning site can always replay from the stream.
MAX_AGE_DAYS = 460
# Wider than the default 2 min so a site that reconnects and re-sends is still de-duplicated.
DUPLICATE_WINDOW = 3_600


def stream_config() -> StreamConfig:
    return StreamConfig(
        name=STREAM,
        description="liaison-station events, all nodes",
        subjects=[ALL_EVENTS],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        max_age=MAX_AGE_DAYS * DAY,
        duplicate_window=DUPLICATE_WINDOW,
        num_replicas=1,
    )


async def ensure_stream(js: JetStreamContext) -> str:
    """Create the stream, or bring its config back to ours; returns what was done."""
    wanted = stream_config()
    try:
        info = await js.stream_info(STREAM)
    except NotFoundError:
        await js.add_stream(wanted)
        return "created"
    have = info.config
    if (have.subjects, have.max_age, have.duplicate_window, have.storage) != (
        wanted.subjects,
        wanted.max_age,
        wanted.duplicate_window,
        wanted.storage,
    ):
        await js.update_stream(wanted)
        return "updated"
    return "unchanged"


async def provision(js: JetStreamContext) -> None:
    await ensure_stream(js)
    await ensure_consumer(js)
    await provision_share(js, MAX_AGE_DAYS * DAY)


async def reset_stream(js: JetStreamContext) -> None:
    """Drop every event (demo reset); the stream and consumer are provisioned again."""
    with contextlib.suppress(NotFoundError):
        await js.delete_stream(STREAM)
    await provision(js)
