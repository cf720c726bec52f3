from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator

import pytest

from consumers.store import LIVE_SCHEMA, migrate
from hub.provision import reset_stream
from hub.runtime import backbone
from producers.sdk import NodePublisher
from tests.conftest import Servers
from tests.helpers import NODE, township_history

pytestmark = pytest.mark.integration


@pytest.fixture
async def fresh(servers: Servers) -> AsyncIterator[Servers]:
    """Empty stream and empty live projections for one test."""
    async with backbone(servers.nats_url) as (_, js):
        await reset_stream(js)
    await migrate(servers.database_url, LIVE_SCHEMA, fresh=True)
    yield servers


async def publish_history(url: str, opinions: int = 20) -> int:
    async with backbone(url) as (_, js):
        pub = NodePublisher(js, NODE, "test")
        envs = [pub.build(p, at, recorded_at=at) for p, at in township_history(opinions)]
        await pub.publish_all(envs)
        return len(envs)


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "hub", *args], capture_output=True, text=True, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"liaison-hub {' '.join(args)} -> {result.returncode}\n{result.stderr}")
    return result
