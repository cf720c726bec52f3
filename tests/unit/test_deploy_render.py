"""The deployment generator: one config per server from the region list, streams that neither
overlap nor form a cycle, credentials that stay put, and configs nats-server accepts."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import msgspec
import pytest

from hub.deploy_render import (
    CITY_REPLICAS,
    DOWN,
    EVENTS,
    INBOX,
    MAX_AGE_DAYS,
    SUPPORTED_OUTAGE_DAYS,
    Keyring,
    load_plan,
    make_plan,
    public_key,
    render,
    render_city,
    stream_configs,
)
from hub.embedded import nats_server_binary
from schemas.regions import RegionList, Township, load_regions
from schemas.subjects import down_scope, inbox_filter, node_prefix, scope_filter


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("deploy")
    render_city("3306", out)
    return out


def test_every_node_of_the_region_list_gets_a_server(rendered: Path) -> None:
    regions = load_regions("3306")
    plan = load_plan(rendered)
    townships = sum(len(c.townships) for c in regions.counties)
    assert len(plan.counties) == len(regions.counties) == 6
    assert len(plan.townships) == townships == 103
    assert len(plan.node("3306").servers) == CITY_REPLICAS
    assert len(list((rendered / "servers").glob("*/nats.conf"))) == CITY_REPLICAS + 6 + 103
    # Real deployments: one host per server, standard ports.
    city = plan.node("3306").servers[0]
    assert (city.host, city.ports.client, city.ports.leaf, city.ports.cluster) == (
        "lls-3306-1.nats.internal", 4222, 7422, 6222)


def test_configs_are_valid_for_nats_server(rendered: Path) -> None:
    for name in ("3306-1", "330602", "330602001", "330683"):
        folder = rendered / "servers" / name
        result = subprocess.run(
            [str(nats_server_binary()), "-c", "nats.conf", "-t"], cwd=folder, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        assert "configuration file nats.conf is valid" in result.stderr + result.stdout


def test_configs_hold_no_key_material_and_secrets_are_private(rendered: Path) -> None:
    # nats.conf follows from the region list alone (diffable, the same wherever it is rendered);
    # keys.conf holds this installation's public keys, secrets/ its seeds.
    for conf in (rendered / "servers").glob("*/nats.conf"):
        text = conf.read_text()
        assert '"SU' not in text and '"U' not in text and 'password: "' not in text
    for seed in (rendered / "secrets").rglob("*.nk"):
        assert stat.S_IMODE(seed.stat().st_mode) == 0o600
        assert seed.read_text().startswith("SU")
    uplink = rendered / "servers" / "330602001" / "secrets" / "uplink.conf"
    assert "UPLINK_SEED" in uplink.read_text() and stat.S_IMODE(uplink.stat().st_mode) == 0o600


def test_streams_partition_the_subjects_and_flow_one_way(rendered: Path) -> None:
    plan = load_plan(rendered)
    captured: list[str] = []
    for code in plan.nodes:
        for cfg in stream_configs(plan, code):
            captured += cfg.subjects or []
            assert cfg.max_age == MAX_AGE_DAYS * 86_400 > SUPPORTED_OUTAGE_DAYS * 86_400
            assert cfg.num_replicas == (CITY_REPLICAS if code == "3306" else 1)
    # Each subject space is captured by exactly one stream: nothing is stored twice.
    assert len(captured) == len(set(captured))
    # Events flow up only (a county sources its townships, filtered to each one's jurisdiction) …
    county = {c.name: c for c in stream_configs(plan, "330602")}
    ev_sources = county[EVENTS].sources or []
    assert {s.filter_subject for s in ev_sources} == {
        scope_filter(t) for t in plan.node("330602").children
    }
    assert all(s.external and s.external.api == f"$JS.lls{s.filter_subject.split('.')[4]}.API" for s in ev_sources)
    city = {c.name: c for c in stream_configs(plan, "3306")}
    assert {s.filter_subject for s in city[EVENTS].sources or []} == {scope_filter(c) for c in plan.counties}
    # … hand-downs flow down only, each site taking what is addressed to it.
    site = {c.name: c for c in stream_configs(plan, "330602001")}
    assert {(s.name, s.filter_subject) for s in site[INBOX].sources or []} == {
        (DOWN, inbox_filter("330602", "330602001")),
        (DOWN, inbox_filter("3306", "330602001")),
    }
    assert county[DOWN].subjects == [down_scope("330602")]
    assert DOWN not in site and INBOX not in city


def test_publisher_may_publish_under_its_own_prefix_only(rendered: Path) -> None:
    text = (rendered / "servers" / "330602001" / "nats.conf").read_text()
    assert f'publish: {{ allow: ["{node_prefix("330602001")}.>"' in text
    assert "lls.ev.3306.330602.>" not in text
    county = (rendered / "servers" / "330602" / "nats.conf").read_text()
    assert f'"{down_scope("330602")}"' in county
    # The uplink of each township may pass no plain event or hand-down message, nor manage streams.
    assert county.count('publish: { deny: ["lls.>", "$JS.*.API.STREAM.>"] }') == 17
    city = (rendered / "servers" / "3306-1" / "nats.conf").read_text()
    # Auditors: one named consumer, its filter pinned to the scope.
    assert "$JS.API.CONSUMER.CREATE.LLS_EVENTS.audit_330602.lls.ev.3306.330602.>" in city
    assert "$JS.API.CONSUMER.DURABLE.CREATE.LLS_EVENTS.audit_330602" not in city
    assert 'sync_interval: "always"' in city


def test_adding_a_township_is_one_line_of_data_and_keeps_every_key(tmp_path: Path) -> None:
    regions = load_regions("3306")
    plan = make_plan(regions, counties=["330602"])
    render(plan, tmp_path)
    keys = Keyring(tmp_path)
    before = {c: public_key(keys.seed(c, "publisher")) for c in plan.nodes}
    county = regions.counties[0]
    extra = Township(code="330602999", name="示例新设街道", kind="街道", illustrative=True)
    grown = msgspec.structs.replace(
        regions,
        counties=[msgspec.structs.replace(county, townships=[*county.townships, extra]), *regions.counties[1:]],
    )
    assert isinstance(grown, RegionList)
    grown.validate()
    plan2 = make_plan(grown, counties=["330602"])
    render(plan2, tmp_path)
    assert set(plan2.nodes) - set(plan.nodes) == {"330602999"}
    assert {c: public_key(keys.seed(c, "publisher")) for c in plan.nodes} == before
    county_conf = (tmp_path / "servers" / "330602" / "nats.conf").read_text()
    assert "nkey: $KEY_UPLINK_330602999" in county_conf
    county_keys = (tmp_path / "servers" / "330602" / "keys.conf").read_text()
    assert f'KEY_UPLINK_330602999: "{public_key(keys.seed("330602999", "uplink"))}"' in county_keys
    streams = json.loads((tmp_path / "streams" / "330602" / "LLS_EVENTS.json").read_text())
    assert scope_filter("330602999") in {s["filter_subject"] for s in streams["sources"]}


def test_rendering_again_elsewhere_gives_the_same_configs(rendered: Path, tmp_path: Path) -> None:
    render_city("3306", tmp_path)
    for conf in (rendered / "servers").glob("*/nats.conf"):
        assert conf.read_text() == (tmp_path / "servers" / conf.parent.name / "nats.conf").read_text()
    assert (rendered / "servers" / "3306-1" / "keys.conf").read_text() != (
        tmp_path / "servers" / "3306-1" / "keys.conf"
    ).read_text()


def test_local_plan_uses_distinct_loopback_ports(tmp_path: Path) -> None:
    plan = make_plan(load_regions("3306"), counties=["330602", "330603"], townships_per_county=2, local=True)
    ports = [p for s in plan.servers for p in (s.ports.client, s.ports.monitor, s.ports.leaf, s.ports.cluster) if p]
    assert len(ports) == len(set(ports))
    assert {s.host for s in plan.servers} == {"127.0.0.1"}
    assert len(plan.townships) == 4 and len(plan.servers) == 3 + 2 + 4
