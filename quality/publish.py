"""``quality.report.published``: a small JSON summary of each run on the backbone.

It is not a station event (no envelope, not in LLS_EVENTS): it goes to its own small
stream, LLS_QUALITY, so downstream systems can read past reports as well as follow new ones.
"""

from __future__ import annotations

import json
from typing import Any

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from quality.model import QualityRun
from quality.serialize import published_summary
from schemas.subjects import QUALITY_SUBJECT

QUALITY_STREAM = "LLS_QUALITY"
QUALITY_SUBJECTS = "lls.quality.>"
DAY = 86_400


def quality_stream_config() -> StreamConfig:
    return StreamConfig(
        name=QUALITY_STREAM,
        description="data-quality report summaries (quality.report.published)",
        subjects=[QUALITY_SUBJECTS],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        # Two years of hourly and nightly runs, about 2 KB each.
        max_msgs=20_000,
        max_age=800 * DAY,
        duplicate_window=3_600,
        num_replicas=1,
    )


async def ensure_quality_stream(js: JetStreamContext) -> str:
    """Create the stream, or bring its config back to ours (idempotent)."""
    wanted = quality_stream_config()
    try:
        info = await js.stream_info(QUALITY_STREAM)
    except NotFoundError:
        await js.add_stream(wanted)
        return "created"
    have = info.config
    if (have.subjects, have.max_msgs, have.max_age) != (wanted.subjects, wanted.max_msgs,
                                                       wanted.max_age):
        await js.update_stream(wanted)
        return "updated"
    return "unchanged"


async def publish_report(js: JetStreamContext, run: QualityRun) -> dict[str, Any]:
    """Publish the run's summary (idempotent: the run id is the Nats-Msg-Id); returns it."""
    await ensure_quality_stream(js)
    doc = published_summary(run)
    await js.publish(QUALITY_SUBJECT, json.dumps(doc, ensure_ascii=False).encode(),
                     stream=QUALITY_STREAM, headers={"Nats-Msg-Id": str(run.run_id)})
    return doc


async def past_reports(js: JetStreamContext, limit: int = 50) -> list[dict[str, Any]]:
    """The latest published summaries, oldest first (what a downstream reader sees)."""
    info = await js.stream_info(QUALITY_STREAM)
    out = []
    first = max(info.state.first_seq, info.state.last_seq - limit + 1)
    for seq in range(first, info.state.last_seq + 1):
        try:
            msg = await js.get_msg(QUALITY_STREAM, seq)
        except NotFoundError:
            continue
        if msg.data:
            out.append(json.loads(msg.data))
    return out
