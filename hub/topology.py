"""A multi-level topology on one machine: the city cluster, county and township leaf nodes as
separate nats-server processes on loopback ports, rendered by ``hub.deploy_render``.

Also what works on a real deployment as well as on the local one: provisioning each domain's
streams with the node's admin credentials, handing items down, cutting and restoring a
site's uplink (``disabled`` on its leaf remote, applied by a config reload), status, and
reconciliation across levels.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import msgspec
import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig
from nats.js.errors import APIError, NotFoundError

from hub.deploy_render import (
    DOWN,
    EVENTS,
    INBOX,
    Plan,
    Server,
    load_plan,
    render_city,
    server_dir,
    stream_configs,
    uplink_secret,
)
from hub.embedded import ServiceError, _pid_alive, _port_open, nats_server_binary, stop_pid
from schemas.regions import NodeLevel
from schemas.subjects import down_subject, origin_of

log = logging.getLogger(__name__)
Role = Literal["admin", "publisher", "auditor", "projector", "system"]


class TopologyError(RuntimeError):
    pass


# --- processes ------------------------------------------------------------------------------


@dataclass
class Topology:
    """A rendered topology under ``root`` (``topology.json``, ``servers/``, ``secrets/``)."""

    root: Path
    plan: Plan

    @classmethod
    def load(cls, root: Path) -> Topology:
        if not (root / "topology.json").exists():
            raise TopologyError(f"no topology rendered under {root}")
        return cls(root, load_plan(root))

    @classmethod
    def render_local(
        cls, root: Path, *, city: str = "3306", counties: list[str] | None = None, townships: int | None = 2
    ) -> Topology:
        """Render a loopback topology (free ports) unless one is rendered there already."""
        if (root / "topology.json").exists():
            return cls.load(root)
        if counties is None:
            from schemas.regions import load_regions

            counties = [c.code for c in load_regions(city).counties[:2]]
        plan = render_city(city, root, counties=counties, townships_per_county=townships, local=True)
        return cls(root, plan)

    # files
    def folder(self, server: Server) -> Path:
        return server_dir(self.root, server)

    def _pid_file(self, server: Server) -> Path:
        return self.folder(server) / "nats.pid"

    def log(self, server: Server) -> Path:
        return self.folder(server) / "nats.log"

    def seed_file(self, code: str, role: Role) -> Path:
        return self.root / "secrets" / code / f"{role}.nk"

    def server(self, name: str) -> Server:
        for s in self.plan.servers:
            if s.name == name:
                return s
        raise KeyError(name)

    def pid(self, server: Server) -> int | None:
        path = self._pid_file(server)
        if not path.exists():
            return None
        pid = int(path.read_text())
        return pid if _pid_alive(pid) else None

    def running(self, server: Server) -> bool:
        return self.pid(server) is not None and _port_open(server.ports.client)

    def start_server(self, server: Server, wait: bool = True) -> int:
        pid = self.pid(server)
        if pid is not None:
            return pid
        folder = self.folder(server)
        with self.log(server).open("ab") as log:
            proc = subprocess.Popen(
                [str(nats_server_binary()), "-c", "nats.conf"],
                cwd=folder,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._pid_file(server).write_text(str(proc.pid))
        if wait:
            self._wait(server)
        return proc.pid

    def _wait(self, server: Server, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _port_open(server.ports.client):
                return
            if self.pid(server) is None:
                break
            time.sleep(0.05)
        tail = self.log(server).read_text(errors="replace")[-2000:]
        raise ServiceError(f"nats-server {server.name} did not start on port {server.ports.client}\n{tail}")

    def stop_server(self, server: Server, *, kill: bool = False) -> None:
        pid = self.pid(server)
        if pid is not None:
            if kill:
                os.kill(pid, signal.SIGKILL)
                deadline = time.monotonic() + 10
                while _pid_alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.02)
            else:
                stop_pid(pid)
        self._pid_file(server).unlink(missing_ok=True)

    def start_all(self) -> None:
        """City first (all three at once, they form the cluster), then counties, then townships."""
        order = sorted(self.plan.servers, key=lambda s: len(s.node))
        for s in order:
            self.start_server(s, wait=False)
        for s in order:
            self._wait(s)

    def stop_all(self) -> bool:
        stopped = False
        # Leaves first so nothing logs a storm of reconnect attempts to a hub already gone.
        for s in sorted(self.plan.servers, key=lambda s: -len(s.node)):
            if self.pid(s) is not None:
                stopped = True
            self.stop_server(s)
        return stopped

    # uplinks
    def _uplink_file(self, code: str) -> Path:
        return self.folder(self.plan.node(code).servers[0]) / "secrets" / "uplink.conf"

    def set_uplink(self, code: str, *, up: bool) -> None:
        """Enable or disable a site's leaf connection to its parent; reloads the server."""
        from hub.deploy_render import Keyring, _write_secret

        node = self.plan.node(code)
        if node.parent is None:
            raise TopologyError("the city has no uplink")
        _write_secret(self._uplink_file(code), uplink_secret(Keyring(self.root), code, disabled=not up))
        for s in node.servers:
            pid = self.pid(s)
            if pid is not None:
                os.kill(pid, signal.SIGHUP)

    def uplink_enabled(self, code: str) -> bool:
        return "UPLINK_DISABLED: false" in self._uplink_file(code).read_text()

    # clients
    async def connect(
        self, code: str, role: Role = "admin", *, owner: str | None = None, servers: list[str] | None = None,
        **kw: Any,
    ) -> Client:
        """A client of ``code``'s server(s) with the credentials of ``owner`` (default: the node)."""
        urls = servers or self.plan.node(code).client_urls()
        seed = self.seed_file(owner or code, role)
        opts: dict[str, Any] = {
            "name": f"{role}-{owner or code}",
            "nkeys_seed": str(seed),
            "max_reconnect_attempts": -1,
            "reconnect_time_wait": 0.5,
            "connect_timeout": 5,
            # A server of the topology going away is expected here (outages, kills): one line.
            "error_cb": _quiet_error,
        }
        opts.update(kw)
        return await nats.connect(urls, **opts)

    @asynccontextmanager
    async def client(
        self, code: str, role: Role = "admin", *, owner: str | None = None, **kw: Any
    ) -> AsyncIterator[tuple[Client, JetStreamContext]]:
        nc = await self.connect(code, role, owner=owner, **kw)
        try:
            yield nc, nc.jetstream(timeout=10)
        finally:
            with contextlib.suppress(Exception):
                await nc.drain()

    # provisioning
    async def provision(self, timeout: float = 60.0) -> dict[str, dict[str, str]]:
        """Create or update every node's streams with its own admin credentials; townships
        first so a source exists before its aggregate asks for it."""
        done: dict[str, dict[str, str]] = {}
        for code in sorted(self.plan.nodes, key=lambda c: -len(c)):
            async with self.client(code) as (_, js):
                done[code] = {}
                for cfg in stream_configs(self.plan, code):
                    done[code][str(cfg.name)] = await _ensure_stream(js, cfg, timeout)
        return done

    async def reset(self) -> None:
        """Delete every stream (city first, so nothing re-sources while it goes) and provision again."""
        for code in sorted(self.plan.nodes, key=len):
            async with self.client(code) as (_, js):
                for cfg in stream_configs(self.plan, code):
                    with contextlib.suppress(NotFoundError):
                        await js.delete_stream(str(cfg.name))
        await self.provision()


async def _quiet_error(exc: Exception) -> None:
    log.debug("nats client: %s: %s", type(exc).__name__, exc)


async def _ensure_stream(js: JetStreamContext, cfg: StreamConfig, timeout: float) -> str:
    """Idempotent: create, update when the config differs, or leave as it is."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            try:
                info = await js.stream_info(str(cfg.name))
            except NotFoundError:
                await js.add_stream(cfg)
                return "created"
            if _differs(info.config, cfg):
                await js.update_stream(cfg)
                return "updated"
            return "unchanged"
        except (APIError, nats.errors.TimeoutError, nats.errors.NoRespondersError) as exc:
            # A fresh cluster answers "JetStream system temporarily unavailable" until it has a leader.
            if isinstance(exc, NotFoundError) or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


def _differs(have: StreamConfig, want: StreamConfig) -> bool:
    def key(c: StreamConfig) -> Any:
        return (
            c.subjects or [],
            [(s.name, s.filter_subject, s.external.api if s.external else None) for s in c.sources or []],
            c.max_age,
            c.duplicate_window,
            c.num_replicas,
        )

    return bool(key(have) != key(want))


async def wait_streams(
    topo: Topology, codes: Iterable[str] | None = None, timeout: float = 60.0, *, all_current: bool = False
) -> None:
    """Until every stream of the given nodes answers (a cluster elects its leaders after a start);
    with ``all_current``, until every replica has caught up as well."""
    deadline = time.monotonic() + timeout
    for code in codes or topo.plan.nodes:
        names = [str(c.name) for c in stream_configs(topo.plan, code)]
        async with topo.client(code) as (_, js):
            for name in names:
                while True:
                    try:
                        info = await js.stream_info(name)
                        if info.cluster is None:
                            break
                        replicas = info.cluster.replicas or []
                        if info.cluster.leader and (
                            not all_current or all(r.current and not r.offline for r in replicas)
                        ):
                            break
                    except (APIError, nats.errors.TimeoutError, nats.errors.NoRespondersError):
                        if time.monotonic() > deadline:
                            raise
                    if time.monotonic() > deadline:
                        raise TopologyError(f"stream {name} of {code} has no leader after {timeout:.0f}s")
                    await asyncio.sleep(0.25)


# --- keeping sources moving -------------------------------------------------------------------

# A source that has not heard from its origin for this long counts as stalled.
STALE_AFTER_S = 3.0


@dataclass
class Kick:
    node: str
    stream: str
    source_domain: str
    inactive_s: float


async def _reachable(nc: Client, domain: str) -> bool:
    """Whether the JetStream of ``domain`` answers (its account info: allowed across a leaf link)."""
    try:
        await nc.jetstream(domain=domain, timeout=1.0).account_info()
    except Exception:
        return False
    return True


async def raw_stream_info(nc: Client, stream: str, timeout: float = 5.0) -> dict[str, Any]:
    """STREAM.INFO as the server sends it: nats-py's StreamSourceInfo drops ``external``."""
    msg = await nc.request(f"$JS.API.STREAM.INFO.{stream}", b"", timeout=timeout)
    doc: dict[str, Any] = json.loads(msg.data)
    if "error" in doc:
        raise APIError.from_error(doc["error"])
    return doc


def _source_api(src: dict[str, Any]) -> str:
    return str((src.get("external") or {}).get("api", ""))


def _inactive_s(src: dict[str, Any]) -> float:
    active = int(src.get("active", -1))
    return float("inf") if active < 0 else active / 1e9


async def kick_stalled_sources(
    nc: Client, streams: Iterable[str], node: str = "", stale_after: float = STALE_AFTER_S
) -> list[Kick]:
    """Re-attach the sources of these streams (of the server ``nc`` is connected to, with its
    admin's credentials) that are stalled although their origin answers.

    nats-server retries a failed source after 10 s x failures, up to 2 min, so after an
    outage a site's events could wait that long although the link is back. Removing the
    source and adding it again (two stream updates) sets it up at once; the server finds where
    it stopped from the ``Nats-Stream-Source`` headers already stored, so nothing is taken twice.
    """
    js = nc.jetstream(timeout=5)
    kicks: list[Kick] = []
    for name in streams:
        try:
            doc = await raw_stream_info(nc, name)
        except (APIError, nats.errors.TimeoutError, nats.errors.NoRespondersError):
            continue
        stalled: dict[str, float] = {}
        for src in doc.get("sources") or []:
            api, idle = _source_api(src), _inactive_s(src)
            if idle >= stale_after and api and await _reachable(nc, api.split(".")[1]):
                stalled[api] = idle
        if not stalled:
            continue
        have = StreamConfig.from_response(doc["config"])
        all_sources = list(have.sources or [])
        have.sources = [s for s in all_sources if not (s.external and s.external.api in stalled)]
        await js.update_stream(have)
        have.sources = all_sources
        await js.update_stream(have)
        kicks += [Kick(node, name, api.split(".")[1], idle) for api, idle in stalled.items()]
    return kicks


async def watch_sources(
    topo: Topology, stop: asyncio.Event, interval: float = 1.0, on_kick: Any = None
) -> None:
    """Every ``interval`` seconds, kick the stalled sources of every node (local topology; a real
    deployment runs the same loop at each node that sources, for its own streams)."""
    conns: dict[str, Client] = {}
    streams = {
        code: [str(c.name) for c in stream_configs(topo.plan, code) if c.sources] for code in topo.plan.nodes
    }
    try:
        while not stop.is_set():
            for code in topo.plan.nodes:
                if stop.is_set():
                    break
                try:
                    if code not in conns:
                        conns[code] = await topo.connect(code, connect_timeout=5)
                    kicks = await kick_stalled_sources(conns[code], streams[code], code)
                except Exception:  # a node being restarted or cut off; next round
                    continue
                if kicks and on_kick is not None:
                    on_kick(kicks)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
    finally:
        for nc in conns.values():
            with contextlib.suppress(Exception):
                await nc.close()


# --- handing items down (互通) ----------------------------------------------------------------

HandDownKind = Literal["opinion.assigned", "notice.issued"]


class HandDown(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An item a higher level hands to a lower one: an opinion assigned to it, a notice."""

    item_id: str
    kind: HandDownKind
    sender: str
    target: str
    issued_at: datetime
    title: str
    text: str = ""
    opinion_id: str | None = None
    station_id: str | None = None
    deadline: str | None = None


def new_hand_down(sender: str, target: str, kind: HandDownKind, title: str, **kw: Any) -> HandDown:
    from producers.sdk import new_event_id
    from schemas.envelope import now

    down_subject(sender, target, kind)  # refuses a target outside the sender's jurisdiction
    return HandDown(new_event_id(), kind, sender, target, now(), title, **kw)


async def hand_down(js: JetStreamContext, item: HandDown) -> int:
    """Publish into the sender's LLS_DOWN; the target's site picks it up into its LLS_INBOX."""
    ack = await js.publish(
        down_subject(item.sender, item.target, item.kind),
        msgspec.json.encode(item),
        stream=DOWN,
        headers={"Nats-Msg-Id": item.item_id},
        timeout=10,
    )
    return ack.seq


async def read_inbox(js: JetStreamContext, code: str, timeout: float = 1.0) -> list[HandDown]:
    """Everything in the site's inbox, through its own named consumer (the publisher may read it)."""
    name = f"inbox_{code}"
    cfg = ConsumerConfig(
        name=name,
        durable_name=name,
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
    )
    await js.add_consumer(INBOX, cfg)
    sub = await js.pull_subscribe_bind(durable=name, stream=INBOX)
    out: list[HandDown] = []
    try:
        while True:
            try:
                msgs = await sub.fetch(100, timeout=timeout)
            except (nats.errors.TimeoutError, TimeoutError):
                break
            for m in msgs:
                out.append(msgspec.json.decode(m.data, type=HandDown))
                await m.ack()
    finally:
        await sub.unsubscribe()
        with contextlib.suppress(Exception):
            await js.delete_consumer(INBOX, name)
    return out


# --- reading what a stream holds --------------------------------------------------------------


def message_key(headers: dict[str, str] | None, data: bytes) -> str:
    """The event id (``Nats-Msg-Id``); a message without one (a foreign publisher) by content."""
    if headers and headers.get("Nats-Msg-Id"):
        return headers["Nats-Msg-Id"]
    import hashlib

    return "sha1:" + hashlib.sha1(data).hexdigest()[:20]


async def stream_keys(
    js: JetStreamContext, stream: str, filter_subject: str, attempts: int = 10
) -> Counter[str]:
    """How often each event id is stored in ``stream`` under ``filter_subject``. Read again from
    the start if the cluster is busy (a node just came back, a leader is being elected)."""
    for attempt in range(1, attempts + 1):
        try:
            keys = await _stream_keys(js, stream, filter_subject)
            # A consumer reads its own server's replica, which may still be catching up (a city
            # node just restarted): trust the read only if it holds what the leader counts.
            info = await js.stream_info(stream, subjects_filter=filter_subject)
            if sum(keys.values()) >= sum((info.state.subjects or {}).values()) or attempt == attempts:
                return keys
        except (APIError, nats.errors.TimeoutError, nats.errors.NoRespondersError):
            if attempt == attempts:
                raise
        await asyncio.sleep(0.5)
    raise AssertionError("unreachable")


async def _stream_keys(js: JetStreamContext, stream: str, filter_subject: str) -> Counter[str]:
    keys: Counter[str] = Counter()
    cfg = ConsumerConfig(
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.NONE,
        filter_subject=filter_subject,
        inactive_threshold=30,
        mem_storage=True,
        num_replicas=1,
    )
    sub = await js.pull_subscribe(filter_subject, stream=stream, config=cfg)
    try:
        info = await sub.consumer_info()
        left = info.num_pending or 0
        while left > 0:
            try:
                msgs = await sub.fetch(min(left, 1000), timeout=5)
            except (nats.errors.TimeoutError, TimeoutError):
                break
            for m in msgs:
                keys[message_key(m.headers, m.data)] += 1
            left -= len(msgs)
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
    return keys


# --- reconciliation across levels -------------------------------------------------------------


@dataclass
class NodeReconciliation:
    node: str
    name: str
    level: str
    published: int
    at_county: int | None
    at_city: int
    projected: int | None = None
    missing_at_county: list[str] = field(default_factory=list)
    missing_at_city: list[str] = field(default_factory=list)
    missing_in_projection: list[str] = field(default_factory=list)
    unexpected_at_city: list[str] = field(default_factory=list)
    duplicates: dict[str, list[str]] = field(default_factory=dict)

    @property
    def exact(self) -> bool:
        return not (
            self.missing_at_county
            or self.missing_at_city
            or self.missing_in_projection
            or self.unexpected_at_city
            or any(self.duplicates.values())
        )


@dataclass
class Reconciliation:
    nodes: list[NodeReconciliation]

    @property
    def exact(self) -> bool:
        return all(n.exact for n in self.nodes)

    def to_json(self) -> dict[str, Any]:
        return {
            "exact": self.exact,
            "nodes": [
                {
                    "node": n.node,
                    "name": n.name,
                    "level": n.level,
                    "published": n.published,
                    "at_county": n.at_county,
                    "at_city": n.at_city,
                    "projected": n.projected,
                    "exact": n.exact,
                    "missing_at_county": n.missing_at_county,
                    "missing_at_city": n.missing_at_city,
                    "missing_in_projection": n.missing_in_projection,
                    "unexpected_at_city": n.unexpected_at_city,
                    "duplicates": n.duplicates,
                }
                for n in self.nodes
            ],
        }


async def projected_keys(database_url: str) -> dict[str, Counter[str]]:
    """Event ids in the city projections (archive and dead letters), per origin node."""
    from consumers.store import LIVE_SCHEMA, connect

    out: dict[str, Counter[str]] = defaultdict(Counter)
    async with await connect(database_url, LIVE_SCHEMA) as conn:
        cur = await conn.execute("SELECT event_id::text, subject FROM event_archive")
        for event_id, subject in await cur.fetchall():
            out[origin_of(subject) or "?"][event_id] += 1
        cur = await conn.execute(
            "SELECT event_id, subject, raw FROM dead_letters WHERE stage <> 'duplicate'"
        )
        for event_id, subject, raw in await cur.fetchall():
            # A foreign message carries no Nats-Msg-Id: in the stream it is known by its content.
            # An event id read from its body is no help then, so match it by content too.
            key = message_key(None, bytes(raw))
            out[origin_of(subject) or "?"][key] += 1
            if event_id:
                out[origin_of(subject) or "?"][f"alias:{event_id}"] += 1
    return out


def _dups(keys: Counter[str]) -> list[str]:
    return sorted(k for k, n in keys.items() if n > 1)


async def reconcile(topo: Topology, database_url: str | None = None) -> Reconciliation:
    """Per node: what its own stream holds, what reached its county and the city (and the city
    projections), and which event ids are missing or stored twice anywhere."""
    from schemas.subjects import node_prefix

    plan = topo.plan
    projected = await projected_keys(database_url) if database_url else None
    rows: list[NodeReconciliation] = []
    async with topo.client(plan.city) as (_, city_js):
        for code, node in plan.nodes.items():
            own_filter = f"{node_prefix(code)}.>"
            async with topo.client(code) as (_, js):
                own = await stream_keys(js, EVENTS, own_filter)
            at_city = await stream_keys(city_js, EVENTS, own_filter)
            at_county: Counter[str] | None = None
            if node.level is NodeLevel.TOWNSHIP and node.parent:
                async with topo.client(node.parent) as (_, cjs):
                    at_county = await stream_keys(cjs, EVENTS, own_filter)
            row = NodeReconciliation(
                node=code,
                name=node.name,
                level=node.level.value,
                published=len(own),
                at_county=len(at_county) if at_county is not None else None,
                at_city=len(at_city),
                missing_at_county=sorted(set(own) - set(at_county)) if at_county is not None else [],
                missing_at_city=sorted(set(own) - set(at_city)),
                unexpected_at_city=sorted(set(at_city) - set(own)),
                duplicates={
                    "own": _dups(own),
                    "county": _dups(at_county) if at_county is not None else [],
                    "city": _dups(at_city),
                },
            )
            if projected is not None:
                proj = projected.get(code, Counter())
                found = {k for k in own if k in proj or f"alias:{k}" in proj}
                row.projected = len(found)
                row.missing_in_projection = sorted(set(own) - found)
                row.duplicates["projection"] = _dups(Counter({k: n for k, n in proj.items() if not k.startswith("alias:")}))
            rows.append(row)
    return Reconciliation(rows)


# --- the local topology: servers, Postgres, projector and source watchdog --------------------


def local_root(home: Path) -> Path:
    return home / "topology"


@dataclass
class LocalServices:
    pg_port: int
    services_pid: int | None

    @property
    def database_url(self) -> str:
        from hub.embedded import PG_DATABASE

        return f"postgresql://postgres@127.0.0.1:{self.pg_port}/{PG_DATABASE}"


def _services_file(root: Path) -> Path:
    return root / "services.json"


def read_services(root: Path) -> LocalServices | None:
    path = _services_file(root)
    if not path.exists():
        return None
    doc = json.loads(path.read_text())
    return LocalServices(doc["pg_port"], doc.get("services_pid"))


def start_local(
    home: Path,
    *,
    counties: list[str] | None = None,
    townships: int | None = 2,
    services: bool = True,
) -> tuple[Topology, LocalServices]:
    """Render (once), start every nats-server, provision the streams, start Postgres and the
    city-level services (projector and source watchdog). Idempotent."""
    return asyncio.run(start_local_async(home, counties=counties, townships=townships, services=services))


async def start_local_async(
    home: Path,
    *,
    counties: list[str] | None = None,
    townships: int | None = 2,
    services: bool = True,
) -> tuple[Topology, LocalServices]:
    import sys

    from hub.embedded import PostgresProcess

    root = local_root(home)
    topo = Topology.render_local(root, counties=counties, townships=townships)
    topo.start_all()
    await topo.provision()
    pg_port = PostgresProcess(root / "postgres").start()
    state = read_services(root)
    pid = state.services_pid if state and state.services_pid and _pid_alive(state.services_pid) else None
    if services and pid is None:
        with (root / "services.log").open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "hub", "topology", "services", "--home", str(home)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        pid = proc.pid
    local = LocalServices(pg_port, pid)
    _services_file(root).write_text(json.dumps({"pg_port": pg_port, "services_pid": pid}))
    return topo, local


def stop_local(home: Path) -> bool:
    from hub.embedded import PostgresProcess

    root = local_root(home)
    if not (root / "topology.json").exists():
        return False
    stopped = False
    state = read_services(root)
    if state and state.services_pid and _pid_alive(state.services_pid):
        stop_pid(state.services_pid)
        stopped = True
    stopped = Topology.load(root).stop_all() or stopped
    if (root / "postgres" / "data" / "postmaster.pid").exists():
        PostgresProcess(root / "postgres").stop()
        stopped = True
    _services_file(root).unlink(missing_ok=True)
    return stopped


async def run_projector(
    topo: Topology, database_url: str, stop: asyncio.Event, log_error: Any = print
) -> None:
    """The city projector, with the projector's own credentials; restarted after any error
    (a city node going away, Postgres restarting): it resumes from its checkpoint."""
    from consumers import projector
    from consumers.store import LIVE_SCHEMA, connect, migrate

    await migrate(database_url, LIVE_SCHEMA)
    while not stop.is_set():
        try:
            async with (
                topo.client(topo.plan.city, "projector") as (_, js),
                await connect(database_url, LIVE_SCHEMA) as conn,
            ):
                await projector.ensure_consumer(js)
                await projector.run(js, conn, until_caught_up=False, stop=stop)
        except Exception as exc:
            log_error(f"projector: {type(exc).__name__}: {exc}; restarting in 1 s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)


async def run_services(topo: Topology, database_url: str, stop: asyncio.Event) -> None:
    def say(msg: str) -> None:
        print(f"{datetime.now().isoformat(timespec='seconds')} {msg}", flush=True)

    def kicked(kicks: list[Kick]) -> None:
        for k in kicks:
            say(f"re-attached source {k.source_domain} of {k.node}/{k.stream} (idle {k.inactive_s:.0f} s)")

    await asyncio.gather(
        run_projector(topo, database_url, stop, say),
        watch_sources(topo, stop, on_kick=kicked),
    )


def _monitor(server: Server, path: str) -> dict[str, Any] | None:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://{server.host}:{server.ports.monitor}/{path}", timeout=2) as r:
            doc: dict[str, Any] = json.loads(r.read())
            return doc
    except OSError:
        return None


async def status(topo: Topology) -> dict[str, Any]:
    """Servers (pid, ports, leaf links), and each node's streams with their sources' lag."""
    servers = []
    for s in topo.plan.servers:
        leafz = _monitor(s, "leafz") if topo.running(s) else None
        servers.append(
            {
                "name": s.name,
                "node": s.node,
                "running": topo.running(s),
                "pid": topo.pid(s),
                "client": s.client_url(),
                "leaf_port": s.ports.leaf or None,
                "cluster_port": s.ports.cluster or None,
                "monitor": f"http://{s.host}:{s.ports.monitor}",
                "leafs": sorted(str(x.get("name")) for x in (leafz or {}).get("leafs", [])),
            }
        )
    nodes = []
    for code, node in topo.plan.nodes.items():
        entry: dict[str, Any] = {
            "node": code,
            "name": node.name,
            "level": node.level.value,
            "domain": node.domain,
            "parent": node.parent,
            "uplink": topo.uplink_enabled(code) if node.parent else None,
            "streams": {},
        }
        if not any(topo.running(s) for s in node.servers):
            entry["error"] = "not running"
            nodes.append(entry)
            continue
        try:
            async with topo.client(code, connect_timeout=1, max_reconnect_attempts=0) as (nc, _):
                for cfg in stream_configs(topo.plan, code):
                    try:
                        doc = await raw_stream_info(nc, str(cfg.name), timeout=2)
                    except Exception as exc:
                        entry["streams"][cfg.name] = {"error": f"{type(exc).__name__}: {exc}"}
                        continue
                    st = doc["state"]
                    entry["streams"][cfg.name] = {
                        "messages": st["messages"],
                        "last_seq": st["last_seq"],
                        "leader": (doc.get("cluster") or {}).get("leader"),
                        "sources": [
                            {
                                "domain": _source_api(src).split(".")[1] if _source_api(src) else None,
                                "lag": src.get("lag", 0),
                                "idle_s": None if _inactive_s(src) == float("inf") else round(_inactive_s(src), 1),
                                "error": (src.get("error") or {}).get("description"),
                            }
                            for src in doc.get("sources") or []
                        ],
                    }
        except Exception as exc:
            entry["error"] = f"{type(exc).__name__}: {exc}"
        nodes.append(entry)
    return {"root": str(topo.root), "servers": servers, "nodes": nodes}
