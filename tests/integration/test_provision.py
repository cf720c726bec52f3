"""Provisioning is explicit and idempotent; the embedded default starts, reports and stops."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from nats.js.api import StreamConfig

from consumers.projector import DURABLE
from consumers.store import migrate
from hub.provision import ensure_stream, provision, stream_config
from hub.runtime import backbone
from schemas.subjects import STREAM
from tests.conftest import Servers

pytestmark = pytest.mark.integration


async def test_provisioning_twice_changes_nothing_and_repairs_drift(servers: Servers) -> None:
    async with backbone(servers.nats_url) as (_, js):
        await provision(js)
        stream_before = (await js.stream_info(STREAM)).config
        consumer_before = (await js.consumer_info(STREAM, DURABLE)).config
        await provision(js)
        assert await ensure_stream(js) == "unchanged"
        assert (await js.stream_info(STREAM)).config == stream_before
        assert (await js.consumer_info(STREAM, DURABLE)).config == consumer_before
        # Someone shortened retention by hand: the next provisioning puts it back.
        drifted = StreamConfig.from_response(stream_before.as_dict())
        drifted.max_age = 7_200.0
        await js.update_stream(drifted)
        assert await ensure_stream(js) == "updated"
        assert (await js.stream_info(STREAM)).config.max_age == stream_config().max_age
    await migrate(servers.database_url, "idem")
    await migrate(servers.database_url, "idem")  # no error, nothing doubled


def hub_cmd(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("HUB_NATS_URL", "HUB_DATABASE_URL")}
    env["HUB_HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "hub", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_embedded_up_twice_status_down(tmp_path: Path) -> None:
    home = tmp_path / "hubhome"
    not_yet = hub_cmd(home, "status")
    assert not_yet.returncode == 2 and "liaison-hub up" in not_yet.stderr
    try:
        assert hub_cmd(home, "up").returncode == 0
        first = json.loads((home / "services.json").read_text())
        assert hub_cmd(home, "up").returncode == 0
        assert json.loads((home / "services.json").read_text()) == first  # same servers reused
        status = hub_cmd(home, "status", "--json")
        assert status.returncode == 0, status.stderr
        doc = json.loads(status.stdout)
        assert doc["embedded"] is True and doc["stream"]["exists"] is True
        assert doc["tables"]["event_archive"] == 0
    finally:
        stopped = hub_cmd(home, "down")
    assert "已停止" in stopped.stderr
    assert not (home / "services.json").exists()
    assert hub_cmd(home, "status").returncode == 2
