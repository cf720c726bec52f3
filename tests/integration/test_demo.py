"""The main job end to end: every planted fault is found, exactly, and a rerun starts clean."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Servers
from tests.integration.conftest import cli

pytestmark = pytest.mark.integration


def test_demo_finds_exactly_the_planted_faults_and_reruns_cleanly(servers: Servers) -> None:
    first = json.loads(cli("demo", "--json", "--opinions", "1500").stdout)
    assert first["ok"] is True
    kinds = {f["check"]: f for f in first["planted_faults"]}
    assert len(kinds) == 4 and all(f["exact"] for f in kinds.values())
    assert len(kinds["deputy_yearly_visit_minimum"]["found"]) == 5
    assert kinds["township_monthly_reception"]["found"][0].endswith("@2025-08")
    assert first["unplanned_failures"] == []
    failing = {c["id"] for c in first["quality"]["checks"] if not c["success"]}
    assert failing == set(kinds)
    assert first["projected"]["dead_lettered"] == 3
    assert first["status"]["stream"]["messages"] == first["events_published"] + 3
    assert first["status"]["tables"]["event_archive"] == first["events_published"]

    second = json.loads(cli("demo", "--json", "--opinions", "1500").stdout)
    assert second["ok"] is True
    assert second["status"]["tables"] == first["status"]["tables"]
    assert second["status"]["stream"]["messages"] == first["status"]["stream"]["messages"]
