"""The commands: ``liaison-hub topology up|status|uplink|reconcile|down``, ``deploy render`` and
the main job through the topology (``demo --topology``), on real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from hub.embedded import _pid_alive
from hub.topology import Topology, local_root, read_services, stop_local

pytestmark = pytest.mark.integration


def hub_cli(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HUB_HOME": str(home)}
    result = subprocess.run(
        [sys.executable, "-m", "hub", *args], capture_output=True, text=True, timeout=300, env=env
    )
    if check and result.returncode != 0:
        raise AssertionError(f"liaison-hub {' '.join(args)} -> {result.returncode}\n{result.stderr}")
    return result


def test_topology_commands(tmp_path: Path) -> None:
    home = tmp_path / "hub"
    try:
        up = json.loads(hub_cli(home, "topology", "up", "--json").stdout)
        assert len(up["servers"]) == 3 + 2 + 4 and all(s["running"] for s in up["servers"])
        assert {n["domain"] for n in up["nodes"]} >= {"lls3306", "lls330602", "lls330602001"}
        assert _pid_alive(up["services_pid"])
        hub_cli(home, "topology", "uplink", "330602001", "--down")
        status = json.loads(hub_cli(home, "topology", "status", "--json").stdout)
        uplinks = {n["node"]: n["uplink"] for n in status["nodes"]}
        assert uplinks["330602001"] is False and uplinks["330602002"] is True
        hub_cli(home, "topology", "uplink", "330602001", "--up")
        rec = json.loads(hub_cli(home, "topology", "reconcile", "--json").stdout)
        assert rec["exact"] and len(rec["nodes"]) == 7
        # A real node provisions its streams from the rendered definitions the same way.
        root = local_root(home)
        site = next(s for s in up["servers"] if s["node"] == "330602001")
        out = hub_cli(
            home, "deploy", "provision", str(root / "streams" / "330602001"),
            "--url", site["client"], "--seed", str(root / "secrets" / "330602001" / "admin.nk"),
        ).stderr
        assert "LLS_EVENTS: unchanged" in out and "LLS_INBOX: unchanged" in out
        # `up` again changes nothing and starts nothing twice.
        again = json.loads(hub_cli(home, "topology", "up", "--json").stdout)
        assert [s["pid"] for s in again["servers"]] == [s["pid"] for s in up["servers"]]
        assert again["services_pid"] == up["services_pid"]
    finally:
        hub_cli(home, "topology", "down", check=False)
    topo = Topology.load(local_root(home))
    assert not any(topo.pid(s) for s in topo.plan.servers)
    assert not _pid_alive(up["services_pid"])


def test_deploy_render_command(tmp_path: Path) -> None:
    out = tmp_path / "deploy"
    result = hub_cli(tmp_path, "deploy", "render", "--city", "3306", "--out", str(out), "--counties", "330624")
    assert "已生成 16 个服务器的配置" in result.stderr  # 3 city + 新昌县 + its 12 townships
    assert (out / "servers" / "330624" / "nats.conf").exists()
    assert (out / "streams" / "3306" / "LLS_EVENTS.json").exists()


async def test_demo_through_the_topology(tmp_path: Path) -> None:
    """The main job through a topology of one county (越城区: 17 township sites)."""
    from hub.topology_demo import run_topology_demo

    home = tmp_path / "hub"
    try:
        result = await run_topology_demo(
            home, home / "reports", Console(stderr=True, quiet=True), opinions=400, counties=1
        )
        assert result.servers == 3 + 1 + 17
        assert result.events_published == result.events_planned
        assert result.reconciled, result.reconciliation
        assert result.faults_exact, result.faults
        # The same five kinds of planted fault as `liaison-hub demo`, overdue opinions among them.
        kinds = {f.check_id: f for f in result.faults}
        assert len(kinds) == 5 and kinds["opinion_deadline_met"].planted
        assert not result.unplanned_failures
        state = read_services(local_root(home))
        assert state is not None and state.services_pid and _pid_alive(state.services_pid)
    finally:
        stop_local(home)
    topo = Topology.load(local_root(home))
    assert not any(topo.pid(s) for s in topo.plan.servers)
