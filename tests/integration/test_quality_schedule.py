"""Overlapping runs never double: the run lock in Postgres, across connections and processes."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import psycopg
import pytest

from quality import store
from tests.integration.test_quality import SCHEMA, Env, env  # noqa: F401  (module fixture)

pytestmark = pytest.mark.integration


def runs(e: Env) -> int:
    row = e.conn.execute("SELECT count(*) FROM quality.runs WHERE checked_schema = %s",
                         (SCHEMA,)).fetchone()
    return int(row[0]) if row else 0


async def test_a_scheduled_run_stands_down_while_another_holds_the_lock(env: Env) -> None:  # noqa: F811
    await env.run()  # migrations in place
    before = runs(env)
    with psycopg.connect(env.servers.database_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (store.RUN_LOCK, SCHEMA))
        outcome = await env.job(wait=False)
        assert outcome.status == "skipped" and outcome.run is None
        assert "正在进行" in (outcome.reason or "")
        # A waiting run (the CLI's default) waits for the lock instead of skipping.
        waiting = asyncio.create_task(env.job(wait=True))
        await asyncio.sleep(1.0)
        assert not waiting.done()
        holder.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (store.RUN_LOCK, SCHEMA))
    done = await asyncio.wait_for(waiting, timeout=120)
    assert done.status == "ran"
    assert runs(env) == before + 1
    skipped = store.skipped_runs(env.servers.database_url, SCHEMA)
    assert skipped and skipped[0]["trigger"] == "test"


async def test_two_scheduled_runs_at_once_run_once(env: Env) -> None:  # noqa: F811
    before = runs(env)
    outcomes = await asyncio.gather(env.job(wait=False), env.job(wait=False))
    assert sorted(o.status for o in outcomes) == ["ran", "skipped"]
    assert runs(env) == before + 1


def test_two_processes_at_once_run_once(env: Env) -> None:  # noqa: F811
    before = runs(env)
    cmd = [sys.executable, "-m", "hub", "quality", "run", "--json", "--skip-if-busy",
           "--schema", SCHEMA, "--year", "2025", "--as-of", "2025-03-15",
           "--trigger", "scheduled:test"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [(p.wait(timeout=300), p.stdout.read() if p.stdout else "") for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 3], [(c, o[:300]) for c, o in results]
    ran = next(json.loads(out) for code, out in results if code == 0)
    assert ran["schema"] == SCHEMA and ran["success"] is True and ran["published"] is True
    skipped = next(json.loads(out) for code, out in results if code == 3)
    assert skipped["status"] == "skipped"
    assert runs(env) == before + 1
