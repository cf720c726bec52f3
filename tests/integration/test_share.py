"""The FastStream share app on real NATS: every valid event shared once, redacted."""

from __future__ import annotations

import json

import pytest

from consumers.share import SHARE_STREAM
from hub.runtime import backbone
from tests.conftest import Servers
from tests.integration.conftest import cli, publish_history

pytestmark = pytest.mark.integration


async def test_share_republishes_valid_events_without_personal_information(fresh: Servers) -> None:
    n = await publish_history(fresh.nats_url, opinions=10)
    async with backbone(fresh.nats_url) as (_, js):
        await js.purge_stream(SHARE_STREAM)
        await js.publish("lls.ev.3306.330602.330602001.opinion.received", b"not an event")
    out = cli("share")
    assert f"{n:,} 条" in out.stderr
    cli("share")  # again: nothing new, nothing doubled
    async with backbone(fresh.nats_url) as (_, js):
        assert (await js.stream_info(SHARE_STREAM)).state.messages == n
        sub = await js.pull_subscribe("lls.share.3306.330602.>", stream=SHARE_STREAM)
        msgs = await sub.fetch(n, timeout=5)
        texts = [m.data.decode() for m in msgs]
    assert len(texts) == n
    assert not any("13812345678" in t or "张三丰" in t for t in texts)
    assert sum(json.loads(t)["payload"]["type"] == "opinion.received" for t in texts) == 10
