"""Issue 3 on real nats-server processes: a 3-node city cluster, 2 county and 4 township leaf
nodes (each its own JetStream domain and streams), sourcing up, hand-downs down, per-node
credentials with publish permissions, the city projector, outages and a killed city node."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime, timedelta, timezone

import nats
import psycopg
import pytest
import pytest_asyncio

from consumers.store import LIVE_SCHEMA, connect, migrate
from hub.deploy_render import EVENTS, INBOX
from hub.topology import (
    Topology,
    hand_down,
    new_hand_down,
    read_inbox,
    reconcile,
    run_projector,
    stream_keys,
    wait_streams,
    watch_sources,
)
from producers.sdk import NodePublisher, PublishRefused
from schemas import events as ev
from schemas.envelope import Envelope
from schemas.regions import node_level
from schemas.subjects import node_prefix
from tests.conftest import Servers

pytestmark = pytest.mark.integration

TZ = timezone(timedelta(hours=8))
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=TZ)
CITY = "3306"
COUNTIES = ["330602", "330603"]
TOWNSHIPS = ["330602001", "330602002", "330603001", "330603002"]
LEVEL_NAME = {4: "总站", 6: "中心站", 9: "联络站"}


class Hub:
    def __init__(self, topo: Topology, database_url: str) -> None:
        self.topo = topo
        self.database_url = database_url
        # Every event id a publisher got an ack for, by node: what must reach the city.
        self.acked: dict[str, set[str]] = {}

    def ack(self, node: str, ids: list[str]) -> None:
        self.acked.setdefault(node, set()).update(ids)


@pytest.fixture(scope="module")
def topo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    root = tmp_path_factory.mktemp("topology")
    topo = Topology.render_local(root, counties=COUNTIES, townships=2)
    try:
        topo.start_all()
        yield topo
    finally:
        topo.stop_all()


def _database(servers: Servers, name: str) -> str:
    admin = servers.database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return servers.database_url.rsplit("/", 1)[0] + f"/{name}"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def hub(topo: Topology, servers: Servers) -> AsyncIterator[Hub]:
    """Streams provisioned everywhere; the city projector and the source watchdog running."""
    await topo.provision()
    await wait_streams(topo)
    database_url = _database(servers, "topology")
    await migrate(database_url, LIVE_SCHEMA, fresh=True)
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(run_projector(topo, database_url, stop, log_error=lambda _m: None)),
        asyncio.create_task(watch_sources(topo, stop, interval=0.5)),
    ]
    h = Hub(topo, database_url)
    # Every node sets up its station first, so what follows projects cleanly.
    for code in [CITY, *COUNTIES, *TOWNSHIPS]:
        await publish(h, code, [station(code)])
    try:
        yield h
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)


# --- helpers ---------------------------------------------------------------------------------


def station(code: str) -> ev.Payload:
    return ev.StationEstablished(
        station_id=f"{code}-01",
        name=f"{code} 人大代表联络站",
        level=LEVEL_NAME[len(code)],  # type: ignore[arg-type]
        region_code=code,
        address=f"绍兴市 {code}",
        ground_floor=True,
        functional_areas=["办公", "接待", "展示"],
    )


def visits(code: str, n: int, tag: str) -> list[ev.Payload]:
    return [
        ev.VisitRecorded(
            station_id=f"{code}-01",
            visit_id=f"V-{tag}-{i}",
            deputy_id="D-1",
            activity="daily_contact",
            mode="on_site",
            people_met=3,
        )
        for i in range(n)
    ]


def envelopes(pub: NodePublisher, payloads: list[ev.Payload]) -> list[Envelope]:
    return [pub.build(p, T0, recorded_at=T0 + timedelta(minutes=1)) for p in payloads]


async def publish(hub: Hub, code: str, payloads: list[ev.Payload]) -> list[str]:
    """Publish through the SDK with the node's own credentials; returns the acked event ids."""
    async with hub.topo.client(code, "publisher") as (_, js):
        pub = NodePublisher(js, code, "test", max_in_flight=128)
        done = await pub.publish_all(envelopes(pub, payloads))
    ids = [d.envelope.event_id for d in done]
    hub.ack(code, ids)
    return ids


async def wait_until(what: str, cond: Callable[[], Awaitable[bool]], timeout: float) -> float:
    t0 = time.monotonic()
    while True:
        if await cond():
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        await asyncio.sleep(0.2)


async def count(topo: Topology, at: str, node: str) -> int:
    """Messages of ``node``'s events stored in ``at``'s LLS_EVENTS."""
    async with topo.client(at) as (_, js):
        info = await js.stream_info(EVENTS, subjects_filter=f"{node_prefix(node)}.>")
        return sum((info.state.subjects or {}).values())


async def keys(topo: Topology, at: str, node: str) -> dict[str, int]:
    async with topo.client(at) as (_, js):
        return dict(await stream_keys(js, EVENTS, f"{node_prefix(node)}.>"))


async def city_has_all(hub: Hub, timeout: float = 60) -> float:
    async def done() -> bool:
        for node, ids in hub.acked.items():
            if await count(hub.topo, CITY, node) < len(ids):
                return False
        return True

    return await wait_until("every acknowledged event at the city", done, timeout)


async def projected_ids(database_url: str) -> set[str]:
    async with await connect(database_url, LIVE_SCHEMA) as conn:
        cur = await conn.execute("SELECT event_id::text FROM event_archive")
        archived = {r[0] for r in await cur.fetchall()}
        cur = await conn.execute("SELECT event_id FROM dead_letters WHERE event_id IS NOT NULL")
        return archived | {r[0] for r in await cur.fetchall()}


async def projections_caught_up(hub: Hub, timeout: float = 60) -> float:
    async def done() -> bool:
        async with hub.topo.client(CITY) as (_, js):
            info = await js.stream_info(EVENTS)
        async with await connect(hub.database_url, LIVE_SCHEMA) as conn:
            cur = await conn.execute("SELECT stream_seq FROM checkpoints WHERE projector = 'projector'")
            row = await cur.fetchone()
        return row is not None and int(row[0]) >= info.state.last_seq

    return await wait_until("the city projections caught up", done, timeout)


async def assert_reconciled(hub: Hub) -> None:
    """Every level holds exactly what each node published (no gap, no duplicate), every
    acknowledged id is among them, and the city projections hold the same set."""
    await city_has_all(hub)
    await projections_caught_up(hub)
    rec = await reconcile(hub.topo, hub.database_url)
    bad = [n for n in rec.nodes if not n.exact]
    assert not bad, bad
    for n in rec.nodes:
        assert n.published == n.at_city == n.projected, n
        if node_level(n.node).value == "township":
            assert n.at_county == n.published, n
        assert hub.acked.get(n.node, set()) <= set(await keys(hub.topo, n.node, n.node)), n.node
    all_acked = set().union(*hub.acked.values())
    assert all_acked <= await projected_ids(hub.database_url)


# --- the tests -------------------------------------------------------------------------------


async def test_four_townships_reach_county_and_city_identically(hub: Hub) -> None:
    published = {}
    sent = await asyncio.gather(*(publish(hub, t, visits(t, 50, "basic")) for t in TOWNSHIPS))
    published.update(zip(TOWNSHIPS, sent, strict=True))
    for c in COUNTIES:
        published[c] = await publish(hub, c, visits(c, 20, "basic"))
    published[CITY] = await publish(hub, CITY, visits(CITY, 20, "basic"))
    await city_has_all(hub, timeout=30)
    for t in TOWNSHIPS:
        own, county, city = [await keys(hub.topo, at, t) for at in (t, t[:6], CITY)]
        assert set(own) == set(county) == set(city)
        assert set(published[t]) <= set(own)
        assert max(own.values()) == max(county.values()) == max(city.values()) == 1
    for c in COUNTIES:
        assert set(await keys(hub.topo, c, c)) == set(await keys(hub.topo, CITY, c))
    await assert_reconciled(hub)


async def test_township_offline_keeps_publishing_and_city_catches_up(hub: Hub) -> None:
    site = "330603002"
    before = await count(hub.topo, CITY, site)
    hub.topo.set_uplink(site, up=False)
    try:
        await wait_until("uplink down", lambda: _leaf_gone(hub.topo, site), 10)
        ids = await publish(hub, site, visits(site, 1000, "offline"))
        assert len(ids) == 1000
        await asyncio.sleep(2)
        assert await count(hub.topo, site, site) == before + 1000
        assert await count(hub.topo, site[:6], site) == before
        assert await count(hub.topo, CITY, site) == before
    finally:
        hub.topo.set_uplink(site, up=True)
    t0 = time.monotonic()

    async def all_there() -> bool:
        return await count(hub.topo, CITY, site) >= before + 1000

    await wait_until("the city catching up", all_there, 60)
    caught_up = time.monotonic() - t0
    print(f"\ncity caught up with {site}'s 1,000 offline events {caught_up:.1f} s after the uplink returned")
    assert caught_up < 60
    at_city = await keys(hub.topo, CITY, site)
    assert set(ids) <= set(at_city) and max(at_city.values()) == 1
    await assert_reconciled(hub)


async def _leaf_gone(topo: Topology, site: str) -> bool:
    from hub.topology import _monitor

    county = topo.plan.node(site[:6]).servers[0]
    leafz = _monitor(county, "leafz") or {}
    return f"lls-{site}" not in {x.get("name") for x in leafz.get("leafs", [])}


async def test_killing_a_city_node_while_publishing_loses_nothing_acknowledged(hub: Hub) -> None:
    topo = hub.topo
    async with topo.client(CITY) as (_, js):
        leader = (await js.stream_info(EVENTS)).cluster.leader  # type: ignore[union-attr]
    victim = topo.server(str(leader).removeprefix("lls-"))
    progress = {"acked": 0}

    async def city_stream(n: int) -> list[str]:
        # The city publishes straight into the R3 stream: acked by a quorum, or retried.
        async with topo.client(CITY, "publisher") as (_, js):
            pub = NodePublisher(js, CITY, "test", max_in_flight=16, retries=15)
            ids = []
            for env in envelopes(pub, visits(CITY, n, "kill")):
                await pub.publish(env)
                ids.append(env.event_id)
                hub.ack(CITY, [env.event_id])
                progress["acked"] += 1
            return ids

    async def killer() -> None:
        await wait_until("publishing under way", lambda: _at_least(progress, 100), 30)
        topo.stop_server(victim, kill=True)

    results = await asyncio.gather(
        city_stream(400),
        *(publish(hub, t, visits(t, 300, "kill")) for t in ("330602001", "330603001")),
        killer(),
    )
    assert len(results[0]) == 400
    # Everything acknowledged is there, once, with one city node still down.
    await city_has_all(hub, timeout=60)
    city_ids = await keys(topo, CITY, CITY)
    assert set(results[0]) <= set(city_ids) and max(city_ids.values()) == 1
    # The projector (its connection was perhaps on the killed node) converges on two nodes.
    await projections_caught_up(hub)
    assert set(results[0]) <= await projected_ids(hub.database_url)
    topo.start_server(victim)
    await wait_streams(topo, [CITY], all_current=True)
    await assert_reconciled(hub)


async def _at_least(progress: dict[str, int], n: int) -> bool:
    return progress["acked"] >= n


async def test_publishing_under_another_prefix_is_refused_by_the_server(hub: Hub) -> None:
    topo = hub.topo
    site, other = "330602001", "330602002"
    # Earlier publishes may still be on their way up: start from a settled state.
    await city_has_all(hub)
    before = {at: await count(topo, at, other) for at in (other, site[:6], CITY)}
    log = topo.log(topo.plan.node(site).servers[0])
    violations_before = log.read_text().count("Publish Violation")
    async with topo.client(site, "publisher") as (_, js):
        # The SDK itself is asked to publish as the other township; the server decides.
        # A refusal is recognised when the ack times out: keep that short here.
        impostor = NodePublisher(js, other, "test", timeout=1.0)
        refused = []
        for env in envelopes(impostor, visits(other, 3, "impostor")):
            with pytest.raises(PublishRefused) as err:
                await impostor.publish(env)
            refused.append(err.value)
        assert impostor.refused == 3
        assert all(e.subject.startswith(node_prefix(other)) for e in refused)
        assert "permissions violation" in str(refused[0])
        # The county's prefix is not the township's either.
        county = NodePublisher(js, site[:6], "test", timeout=1.0)
        with pytest.raises(PublishRefused):
            await county.publish(envelopes(county, visits(site[:6], 1, "impostor"))[0])
    await asyncio.sleep(1)
    assert {at: await count(topo, at, other) for at in (other, site[:6], CITY)} == before
    assert await count(topo, site[:6], site[:6]) == len(hub.acked[site[:6]])
    # The server counted them too: one log line per refused publish.
    text = log.read_text()
    assert text.count("Publish Violation") - violations_before == 4
    assert re.search(r"Publish Violation .*" + re.escape(node_prefix(other)), text)


async def test_auditor_reads_its_scope_and_nothing_else(hub: Hub) -> None:
    topo = hub.topo
    county = "330602"
    errors: list[Exception] = []

    async def on_error(e: Exception) -> None:
        errors.append(e)

    async with topo.client(CITY, "auditor", owner=county, error_cb=on_error) as (nc, js):
        # Read-only: it may read its county's events at the city through its own consumer …
        seen = await stream_keys_as_auditor(js, county)
        assert seen == set(await keys(topo, CITY, county)) | _townships_of(await _all_keys(topo), county)
        # … but may not publish an event …
        await nc.publish(f"{node_prefix(county)}.visit.recorded", b"{}")
        await nc.flush()
        await asyncio.sleep(0.3)
        assert any("permissions violation" in str(e).lower() for e in errors)
        # … nor read the city-wide scope.
        from nats.js.api import AckPolicy, ConsumerConfig

        with pytest.raises(nats.errors.TimeoutError):
            await js.add_consumer(
                EVENTS,
                ConsumerConfig(name="audit_330602", filter_subject="lls.ev.3306.>", ack_policy=AckPolicy.NONE),
                timeout=1,
            )
        with pytest.raises(nats.errors.TimeoutError):  # the legacy subject carries no filter: refused
            await js.add_consumer(
                EVENTS, ConsumerConfig(durable_name="audit_330602", ack_policy=AckPolicy.NONE), timeout=1
            )


async def _all_keys(topo: Topology) -> dict[str, set[str]]:
    return {t: set(await keys(topo, CITY, t)) for t in TOWNSHIPS}


def _townships_of(all_keys: dict[str, set[str]], county: str) -> set[str]:
    return set().union(*(v for k, v in all_keys.items() if k.startswith(county)))


async def stream_keys_as_auditor(js: nats.js.JetStreamContext, county: str) -> set[str]:
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

    from hub.deploy_render import auditor_consumer
    from schemas.subjects import scope_filter

    name = auditor_consumer(county)
    cfg = ConsumerConfig(
        name=name, filter_subject=scope_filter(county), ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL
    )
    await js.add_consumer(EVENTS, cfg)
    sub = await js.pull_subscribe_bind(durable=name, stream=EVENTS)
    out: set[str] = set()
    try:
        while True:
            try:
                msgs = await sub.fetch(500, timeout=1)
            except (nats.errors.TimeoutError, TimeoutError):
                break
            out.update((m.headers or {}).get("Nats-Msg-Id", "") for m in msgs)
    finally:
        await sub.unsubscribe()
        await js.delete_consumer(EVENTS, name)
    return out


async def test_duplicate_from_a_reconnecting_site_is_stored_once(hub: Hub) -> None:
    topo = hub.topo
    site = "330602002"
    async with topo.client(site, "publisher") as (nc, js):
        pub = NodePublisher(js, site, "test")
        batch = envelopes(pub, visits(site, 50, "dup"))
        first = await pub.publish_all(batch)
        # The site's link to its own server drops and comes back; it re-sends what it is unsure of.
        await nc.force_reconnect()
        await asyncio.sleep(0.5)
        again = await pub.publish_all(batch)
    assert not any(p.ack.duplicate for p in first)
    assert all(p.ack.duplicate for p in again)
    hub.ack(site, [e.event_id for e in batch])
    # And once more while the uplink is down: still once at every level after it returns.
    topo.set_uplink(site, up=False)
    try:
        await wait_until("uplink down", lambda: _leaf_gone(topo, site), 10)
        async with topo.client(site, "publisher") as (_, js):
            pub = NodePublisher(js, site, "test")
            assert all(p.ack.duplicate for p in await pub.publish_all(batch))
    finally:
        topo.set_uplink(site, up=True)
    await city_has_all(hub)
    await asyncio.sleep(1)
    for at in (site, site[:6], CITY):
        stored = await keys(topo, at, site)
        assert all(stored[e.event_id] == 1 for e in batch), at
    await assert_reconciled(hub)


async def test_items_handed_down_reach_a_site_that_was_offline(hub: Hub) -> None:
    topo = hub.topo
    site = "330603001"
    topo.set_uplink(site, up=False)
    try:
        await wait_until("uplink down", lambda: _leaf_gone(topo, site), 10)
        assigned = new_hand_down(
            CITY, site, "opinion.assigned", "市级交办：路灯维修", opinion_id="O-7", station_id=f"{site}-01",
            deadline="2025-04-30",
        )
        notice = new_hand_down(site[:6], site, "notice.issued", "县级通知：五月主题接待日安排")
        other = new_hand_down(CITY, "330603002", "notice.issued", "不属于本站的通知")
        async with topo.client(CITY, "publisher") as (_, js):
            await hand_down(js, assigned)
            await hand_down(js, other)
        async with topo.client(site[:6], "publisher") as (_, js):
            await hand_down(js, notice)
            # A county may hand down only within its own jurisdiction: the server refuses the rest.
            with pytest.raises(nats.errors.TimeoutError):
                await js.publish("lls.dn.330603.3306.330602.330602001.notice.issued", b"{}", timeout=1)
        await asyncio.sleep(1)
        async with topo.client(site) as (_, js):
            assert (await js.stream_info(INBOX)).state.messages == 0
    finally:
        topo.set_uplink(site, up=True)

    async def arrived() -> bool:
        async with topo.client(site) as (_, js):
            return (await js.stream_info(INBOX)).state.messages >= 2

    waited = await wait_until("hand-downs at the site", arrived, 30)
    print(f"\nhand-downs reached {site} {waited:.1f} s after its uplink returned")
    async with topo.client(site, "publisher") as (_, js):
        inbox = await read_inbox(js, site)
    assert sorted(i.item_id for i in inbox) == sorted([assigned.item_id, notice.item_id])
    assert {i.kind for i in inbox} == {"opinion.assigned", "notice.issued"}


async def test_a_rogue_site_cannot_pass_up_another_sites_events(hub: Hub) -> None:
    """Even a site that reconfigures its own server (its admin widens its stream) gets nothing
    of another prefix past its county: the county sources each site with that site's filter."""
    topo = hub.topo
    site, victim = "330603001", "330603002"
    before = {at: await count(topo, at, victim) for at in (victim, victim[:6], CITY)}
    async with topo.client(site) as (_, js):
        info = await js.stream_info(EVENTS)
        cfg = info.config
        cfg.subjects = [*(cfg.subjects or []), f"{node_prefix(victim)}.>"]
        await js.update_stream(cfg)
        try:
            await js.publish(f"{node_prefix(victim)}.visit.recorded", b"forged", headers={"Nats-Msg-Id": "forged-1"})
            assert (await js.stream_info(EVENTS)).state.messages == info.state.messages + 1
        finally:
            cfg.subjects = [f"{node_prefix(site)}.>"]
            with contextlib.suppress(Exception):
                await js.purge_stream(EVENTS, subject=f"{node_prefix(victim)}.>")
            await js.update_stream(cfg)
    await asyncio.sleep(2)
    # Not in the victim's own stream (no plain message crosses a leaf link), not upstream either.
    assert {at: await count(topo, at, victim) for at in (victim, victim[:6], CITY)} == before


def test_stream_layout_has_no_overlap_and_no_cycle(topo: Topology) -> None:
    from hub.deploy_render import stream_configs

    subjects: list[str] = []
    edges: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for code in topo.plan.nodes:
        for cfg in stream_configs(topo.plan, code):
            subjects += cfg.subjects or []
            edges[(code, str(cfg.name))] = {
                (s.external.api.split(".")[1].removeprefix("lls"), s.name)
                for s in cfg.sources or []
                if s.external
            }
    assert len(subjects) == len(set(subjects))

    def reaches(start: tuple[str, str], goal: tuple[str, str], seen: set[tuple[str, str]]) -> bool:
        for nxt in edges.get(start, set()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    assert not any(reaches(stream, stream, set()) for stream in edges)
