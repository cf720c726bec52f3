"""`liaison-hub serve`: the projector follows the stream and the scheduler runs the checks at
their cron times; firings that come while a run is in progress are skipped, never doubled."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from hub.runtime import backbone
from quality import store
from quality.publish import past_reports
from tests.conftest import Servers
from tests.integration.conftest import publish_history

pytestmark = pytest.mark.integration

# Every 2 seconds (croniter's sixth field is seconds): a run takes longer than that.
CONFIG = """
[[schedule]]
name = "tick"
cron = "* * * * * */2"
dimensions = ["时效性", "可访问性", "一致性"]
"""


def _scheduled_runs(url: str) -> list[tuple[object, object, str]]:
    with psycopg.connect(url) as conn:
        return [(a, b, t) for a, b, t in conn.execute(
            "SELECT started_at, finished_at, trigger FROM quality.runs"
            " WHERE trigger = 'scheduled:tick' AND checked_schema = 'projection'"
            " ORDER BY started_at").fetchall()]


async def test_serve_projects_and_runs_scheduled_checks_without_overlap(
        fresh: Servers, tmp_path: Path) -> None:
    store.migrate(fresh.database_url)
    published = await publish_history(fresh.nats_url, opinions=20)
    config = tmp_path / "quality.toml"
    config.write_text(CONFIG, encoding="utf-8")
    before = len(_scheduled_runs(fresh.database_url))
    proc = subprocess.Popen([sys.executable, "-m", "hub", "serve", "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=os.environ.copy())
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(_scheduled_runs(fresh.database_url)) < before + 2:
            time.sleep(1)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-2000:]
    runs = _scheduled_runs(fresh.database_url)[before:]
    assert len(runs) >= 2, err[-2000:]
    for (_, finished, _), (started, _, _) in itertools.pairwise(runs):
        assert finished <= started, "two scheduled runs overlapped"
    assert "跳过" in err or "skipped" in err, err[-2000:]  # firings during a run stood down
    # The projector inside serve projected what was published, and the checks saw it.
    with psycopg.connect(fresh.database_url) as conn:
        archived = conn.execute("SELECT count(*) FROM projection.event_archive").fetchone()
        last = conn.execute(
            "SELECT r.success FROM quality.results r JOIN quality.runs u USING (run_id)"
            " WHERE u.trigger = 'scheduled:tick' AND r.check_id = 'stream_reconciliation'"
            " ORDER BY u.started_at DESC LIMIT 1").fetchone()
    assert archived is not None and archived[0] == published
    assert last is not None and last[0] is True
    async with backbone(fresh.nats_url) as (_, js):
        reports = await past_reports(js)
    assert reports and reports[-1]["scope"] == "一致性,时效性,可访问性"
    assert json.dumps(reports, ensure_ascii=False).count("quality.report.published") >= 2
