"""Render the NATS configuration of a multi-level deployment from the region list.

One city hub (a 3-node JetStream cluster, R3 streams), one leaf node per county and per
township, each with its own JetStream domain and streams:

- ``LLS_EVENTS`` everywhere: the node's own events (subjects ``node_prefix(code).>``) plus, at
  a county, its townships' ``LLS_EVENTS`` and, at the city, the counties' ``LLS_EVENTS``,
  sourced across domains (``$JS.<domain>.API``) with a subject filter of the source's own
  jurisdiction, so a site can pass up nothing but its own events.
- ``LLS_DOWN`` at the city and each county: what it hands down (``lls.dn.<sender>.…``).
- ``LLS_INBOX`` at each county and township: the items addressed to it, sourced from its
  ancestors' ``LLS_DOWN``; the site keeps them when its uplink is down.

Every subject space is published at exactly one server, so no message is stored twice through
leaf-node interest, and sourcing only flows up for events and down for hand-downs: no cycle.

Credentials are NATS nkeys generated here. ``nats.conf`` holds no key at all (it follows from
the region list alone and reads the same wherever it is rendered); it includes ``keys.conf``
(this installation's public keys) and ``secrets/`` (that server's own seeds, mode 0600).
Adding a township is one line in ``schemas/data/regions_<city>.json`` and a re-render: keys
already generated are kept.
"""

from __future__ import annotations

import json
import os
import secrets as pysecrets
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import nkeys  # type: ignore[import-untyped]
from nats.js.api import (
    DiscardPolicy,
    ExternalStream,
    RetentionPolicy,
    StorageType,
    StreamConfig,
    StreamSource,
)

from schemas.regions import NodeLevel, RegionList, load_regions, node_level
from schemas.subjects import down_scope, inbox_filter, node_prefix, scope_filter

ACCOUNT = "LLS"
SYSTEM_ACCOUNT = "SYS"
EVENTS = "LLS_EVENTS"
DOWN = "LLS_DOWN"
INBOX = "LLS_INBOX"
CITY_REPLICAS = 3
DAY = 86_400
# Every level keeps 460 days (limits retention): a site may stay cut off for up to a year
# (the longest outage we support, 365 days) and its county and city still catch up from
# its own stream, with three months to spare for noticing and fixing the link.
MAX_AGE_DAYS = 460
SUPPORTED_OUTAGE_DAYS = 365
# A site's services re-send what they are unsure of after reconnecting; one hour covers that.
DUPLICATE_WINDOW = 3_600
# Real deployments: the standard ports, one server per host.
STANDARD_PORTS = {"client": 4222, "leaf": 7422, "cluster": 6222, "monitor": 8222}


def domain_of(code: str) -> str:
    """The JetStream domain of a node: ``lls3306``, ``lls330602``, ``lls330602001``."""
    node_level(code)
    return f"lls{code}"


def api_prefix(code: str) -> str:
    return f"$JS.{domain_of(code)}.API"


# --- keys -----------------------------------------------------------------------------------


def new_user_seed() -> str:
    seed: bytes = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
    return seed.decode()


def public_key(seed: str) -> str:
    kp = nkeys.from_seed(bytearray(seed.encode()))
    key: bytes = kp.public_key
    return key.decode()


def _write_secret(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


class Keyring:
    """Seeds under ``<root>/secrets/<owner>/<role>.nk``; created once, then reused."""

    def __init__(self, root: Path) -> None:
        self.root = root / "secrets"

    def seed_path(self, owner: str, role: str) -> Path:
        return self.root / owner / f"{role}.nk"

    def seed(self, owner: str, role: str) -> str:
        path = self.seed_path(owner, role)
        if path.exists():
            return path.read_text().strip()
        seed = new_user_seed()
        _write_secret(path, seed + "\n")
        return seed

    def public(self, owner: str, role: str) -> str:
        return public_key(self.seed(owner, role))

    def password(self, owner: str, role: str) -> str:
        path = self.root / owner / f"{role}.password"
        if path.exists():
            return path.read_text().strip()
        pw = pysecrets.token_urlsafe(24)
        _write_secret(path, pw + "\n")
        return pw


# --- the plan -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ports:
    client: int
    monitor: int
    leaf: int = 0
    cluster: int = 0


@dataclass(frozen=True)
class Server:
    """One nats-server process."""

    name: str
    node: str
    host: str
    ports: Ports

    def client_url(self) -> str:
        return f"nats://{self.host}:{self.ports.client}"

    def leaf_url(self) -> str:
        return f"nats-leaf://{self.host}:{self.ports.leaf}"

    def route_host_port(self) -> str:
        return f"{self.host}:{self.ports.cluster}"


@dataclass(frozen=True)
class Node:
    code: str
    name: str
    level: NodeLevel
    parent: str | None
    children: tuple[str, ...]
    servers: tuple[Server, ...]

    @property
    def domain(self) -> str:
        return domain_of(self.code)

    def client_urls(self) -> list[str]:
        return [s.client_url() for s in self.servers]


@dataclass(frozen=True)
class Plan:
    city: str
    city_name: str
    nodes: dict[str, Node]
    local: bool
    store_root: str

    def node(self, code: str) -> Node:
        return self.nodes[code]

    def ancestors(self, code: str) -> list[str]:
        """Parent first: a township's county, then the city."""
        out: list[str] = []
        parent = self.nodes[code].parent
        while parent is not None:
            out.append(parent)
            parent = self.nodes[parent].parent
        return out

    @property
    def counties(self) -> list[str]:
        return [c for c, n in self.nodes.items() if n.level is NodeLevel.COUNTY]

    @property
    def townships(self) -> list[str]:
        return [c for c, n in self.nodes.items() if n.level is NodeLevel.TOWNSHIP]

    @property
    def servers(self) -> list[Server]:
        return [s for n in self.nodes.values() for s in n.servers]

    def to_json(self) -> dict[str, Any]:
        return {
            "city": self.city,
            "city_name": self.city_name,
            "local": self.local,
            "store_root": self.store_root,
            "nodes": [
                {
                    "code": n.code,
                    "name": n.name,
                    "level": n.level.value,
                    "parent": n.parent,
                    "children": list(n.children),
                    "domain": n.domain,
                    "servers": [asdict(s) for s in n.servers],
                }
                for n in self.nodes.values()
            ],
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Plan:
        nodes: dict[str, Node] = {}
        for n in doc["nodes"]:
            servers = tuple(
                Server(s["name"], s["node"], s["host"], Ports(**s["ports"])) for s in n["servers"]
            )
            nodes[n["code"]] = Node(
                n["code"], n["name"], NodeLevel(n["level"]), n["parent"], tuple(n["children"]), servers
            )
        return cls(doc["city"], doc["city_name"], nodes, doc["local"], doc["store_root"])


@dataclass
class PortAllocator:
    """Loopback ports for a local topology: free ones, none handed out twice."""

    taken: set[int] = field(default_factory=set)

    def __call__(self) -> int:
        from hub.embedded import free_port

        while True:
            port = free_port()
            if port not in self.taken:
                self.taken.add(port)
                return port


def make_plan(
    regions: RegionList,
    *,
    counties: Iterable[str] | None = None,
    townships_per_county: int | None = None,
    local: bool = False,
    host_template: str = "lls-{name}.nats.internal",
    store_root: str = "/var/lib/liaison-hub/jetstream",
) -> Plan:
    """Which nodes run where. ``counties`` and ``townships_per_county`` pick a subset (the
    local topology); by default every county and township of the region list."""
    wanted = set(counties) if counties is not None else None
    chosen = [c for c in regions.counties if wanted is None or c.code in wanted]
    if wanted is not None and len(chosen) != len(wanted):
        unknown = sorted(wanted - {c.code for c in chosen})
        raise ValueError(f"unknown counties for {regions.city.code}: {', '.join(unknown)}")
    alloc = PortAllocator()

    def server(name: str, code: str, *, leaf: bool, cluster: bool) -> Server:
        if local:
            ports = Ports(alloc(), alloc(), alloc() if leaf else 0, alloc() if cluster else 0)
            host = "127.0.0.1"
        else:
            std = STANDARD_PORTS
            ports = Ports(
                std["client"], std["monitor"], std["leaf"] if leaf else 0, std["cluster"] if cluster else 0
            )
            host = host_template.format(name=name, code=code)
        return Server(name, code, host, ports)

    city = regions.city.code
    nodes: dict[str, Node] = {}
    city_servers = tuple(
        server(f"{city}-{i}", city, leaf=True, cluster=True) for i in range(1, CITY_REPLICAS + 1)
    )
    nodes[city] = Node(
        city, regions.city.name, NodeLevel.CITY, None, tuple(c.code for c in chosen), city_servers
    )
    for county in chosen:
        towns = county.townships if townships_per_county is None else county.townships[:townships_per_county]
        nodes[county.code] = Node(
            county.code,
            county.name,
            NodeLevel.COUNTY,
            city,
            tuple(t.code for t in towns),
            (server(county.code, county.code, leaf=True, cluster=False),),
        )
        for t in towns:
            nodes[t.code] = Node(
                t.code,
                t.name,
                NodeLevel.TOWNSHIP,
                county.code,
                (),
                (server(t.code, t.code, leaf=False, cluster=False),),
            )
    return Plan(city, regions.city.name, nodes, local, store_root)


# --- streams --------------------------------------------------------------------------------


def _base_stream(name: str, description: str, replicas: int) -> StreamConfig:
    return StreamConfig(
        name=name,
        description=description,
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        max_age=MAX_AGE_DAYS * DAY,
        duplicate_window=DUPLICATE_WINDOW,
        num_replicas=replicas,
    )


def stream_configs(plan: Plan, code: str) -> list[StreamConfig]:
    """The streams of one node's domain, in the order they are to be created."""
    node = plan.node(code)
    replicas = CITY_REPLICAS if node.level is NodeLevel.CITY else 1
    events = _base_stream(EVENTS, f"liaison-station events of {code} {node.name} and below", replicas)
    events.subjects = [f"{node_prefix(code)}.>"]
    if node.children:
        # Filter = the child's jurisdiction: whatever else a child's stream might hold is not taken.
        events.sources = [
            StreamSource(name=EVENTS, filter_subject=scope_filter(child), external=ExternalStream(api=api_prefix(child)))
            for child in node.children
        ]
    out = [events]
    if node.level is not NodeLevel.TOWNSHIP:
        down = _base_stream(DOWN, f"items {code} {node.name} hands down", replicas)
        down.subjects = [down_scope(code)]
        out.append(down)
    if node.level is not NodeLevel.CITY:
        inbox = _base_stream(INBOX, f"items handed down to {code} {node.name}", replicas)
        inbox.sources = [
            StreamSource(
                name=DOWN,
                filter_subject=inbox_filter(sender, code),
                external=ExternalStream(api=api_prefix(sender)),
            )
            for sender in plan.ancestors(code)
        ]
        out.append(inbox)
    return out


def stream_json(cfg: StreamConfig) -> dict[str, Any]:
    """The JSON the JetStream API takes (``nats stream add --config FILE``)."""
    doc: dict[str, Any] = cfg.as_dict()
    return doc


# --- users and permissions ------------------------------------------------------------------


def _js_consumer_perms(stream: str, consumer: str, filter_subject: str | None = None) -> list[str]:
    """What reading one named consumer of one stream needs, and nothing more."""
    create = f"$JS.API.CONSUMER.CREATE.{stream}.{consumer}"
    # With a filter, creating the consumer is allowed only with that filter (or a narrower one).
    # (The legacy DURABLE.CREATE subject carries no filter, so it is only allowed without one.)
    creates = (
        [f"{create}.{filter_subject}"]
        if filter_subject
        else [create, f"{create}.>", f"$JS.API.CONSUMER.DURABLE.CREATE.{stream}.{consumer}"]
    )
    return [
        *creates,
        f"$JS.API.CONSUMER.INFO.{stream}.{consumer}",
        f"$JS.API.CONSUMER.DELETE.{stream}.{consumer}",
        f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}",
        f"$JS.API.STREAM.INFO.{stream}",
        f"$JS.ACK.{stream}.{consumer}.>",
    ]


def publisher_permissions(code: str) -> dict[str, Any]:
    """A node's services: publish under its own prefix only (and hand down within its scope)."""
    level = node_level(code)
    allow = [f"{node_prefix(code)}.>"]
    if level is not NodeLevel.TOWNSHIP:
        allow.append(down_scope(code))
    if level is not NodeLevel.CITY:
        allow += _js_consumer_perms(INBOX, f"inbox_{code}")
    return {"publish": {"allow": allow}, "subscribe": {"allow": ["_INBOX.>"]}}


def auditor_consumer(code: str) -> str:
    return f"audit_{code}"


def auditor_permissions(code: str) -> dict[str, Any]:
    """Read-only for a scope: one named consumer whose filter must lie inside the scope."""
    return {
        "publish": {"allow": _js_consumer_perms(EVENTS, auditor_consumer(code), scope_filter(code))},
        "subscribe": {"allow": ["_INBOX.>", scope_filter(code)]},
    }


def uplink_permissions() -> dict[str, Any]:
    """A child's leaf connection, seen from its parent. What the user may publish is what the
    child's server may send up; what it may subscribe to is what the parent sends down.
    Events and hand-downs never travel as plain messages between levels, only through stream
    sourcing, so a site (even one whose own server is reconfigured) cannot inject a message
    into another site's stream by leaf-node interest, nor manage its parent's streams."""
    return {
        "publish": {"deny": ["lls.>", "$JS.*.API.STREAM.>"]},
        "subscribe": {"deny": ["lls.>"]},
    }


PROJECTOR = "projector"


def projector_permissions() -> dict[str, Any]:
    return {
        "publish": {"allow": _js_consumer_perms(EVENTS, PROJECTOR)},
        "subscribe": {"allow": ["_INBOX.>"]},
    }


# --- config text ----------------------------------------------------------------------------


def _q(s: str) -> str:
    return json.dumps(s)


def _perm_block(perms: dict[str, Any], indent: str) -> str:
    lines = [f"{indent}permissions: {{"]
    for kind in ("publish", "subscribe"):
        if kind in perms:
            parts = [
                f"{rule}: [{', '.join(_q(s) for s in perms[kind][rule])}]"
                for rule in ("allow", "deny")
                if rule in perms[kind]
            ]
            lines.append(f"{indent}  {kind}: {{ {', '.join(parts)} }}")
    lines.append(f"{indent}}}")
    return "\n".join(lines)


@dataclass(frozen=True)
class User:
    """A user of a server, known by its public nkey (``$KEY_<ROLE>_<OWNER>``, from keys.conf)."""

    comment: str
    owner: str
    role: str
    permissions: dict[str, Any] | None = None

    @property
    def variable(self) -> str:
        return f"KEY_{self.role.upper()}_{self.owner}"


def _users_block(users: list[User], indent: str) -> str:
    out = []
    for u in users:
        out.append(f"{indent}# {u.comment}")
        if u.permissions is None:
            out.append(f"{indent}{{ nkey: ${u.variable} }}")
        else:
            out.append(f"{indent}{{\n{indent}  nkey: ${u.variable}")
            out.append(_perm_block(u.permissions, indent + "  "))
            out.append(f"{indent}}}")
    return "\n".join(out)


def node_users(plan: Plan, code: str) -> list[User]:
    """Client users of a node's server(s), all in account LLS."""
    node = plan.node(code)
    users = [
        User(f"admin of {code} {node.name}: provisioning and operations", code, "admin"),
        User(
            f"publisher of {code} {node.name}: its own prefix {node_prefix(code)}.> only",
            code,
            "publisher",
            publisher_permissions(code),
        ),
    ]
    if node.level is not NodeLevel.TOWNSHIP:
        # Auditors read their scope here; the city also serves each county's auditor.
        scopes = [code] if node.level is NodeLevel.COUNTY else [code, *node.children]
        for scope in scopes:
            users.append(
                User(
                    f"auditor of {scope}: read-only, {scope_filter(scope)}",
                    scope,
                    "auditor",
                    auditor_permissions(scope),
                )
            )
    if node.level is NodeLevel.CITY:
        users.append(User("city projectors", code, PROJECTOR, projector_permissions()))
    for child in node.children:
        users.append(
            User(
                f"uplink (leaf node) of {child} {plan.node(child).name}",
                child,
                "uplink",
                uplink_permissions(),
            )
        )
    return users


def server_users(plan: Plan, code: str) -> list[User]:
    """Every user of a node's server(s): account LLS's, then the system account's (last)."""
    return [*node_users(plan, code), User("operations: server monitoring", code, "system")]


def render_keys(plan: Plan, keys: Keyring, server: Server) -> str:
    """``keys.conf``: the public keys the config refers to. Not secret, but this installation's own."""
    lines = [f"# Public nkeys of the users of server {server.name} (generated; not secret)."]
    lines += [f"{u.variable}: {_q(keys.public(u.owner, u.role))}" for u in server_users(plan, server.node)]
    return "\n".join(lines) + "\n"


def render_server(plan: Plan, server: Server) -> str:
    node = plan.node(server.node)
    code = node.code
    store = (
        f"{plan.store_root}/{server.name}" if plan.local else plan.store_root
    )
    bind = "127.0.0.1" if plan.local else "0.0.0.0"
    parent = plan.node(node.parent) if node.parent else None
    lines = [
        f"# liaison-hub: {node.level.value} {code} {node.name} — server {server.name}",
        "# Rendered by `liaison-hub deploy render`; edit the region list and render again.",
        f"server_name: {_q('lls-' + server.name)}",
        f'listen: "{bind}:{server.ports.client}"',
        f'http: "127.0.0.1:{server.ports.monitor}"',
        "max_payload: 1MB",
    ]
    includes = ["keys.conf"]
    if parent is not None:
        includes.append("uplink.conf")
    if node.level is NodeLevel.CITY:
        includes.append("cluster.conf")
    for inc in includes:
        lines.append(f'include "{inc}"' if inc == "keys.conf" else f'include "secrets/{inc}"')
    lines += [
        "",
        "jetstream {",
        f"  domain: {_q(node.domain)}",
        f"  store_dir: {_q(store)}",
        "  max_memory_store: 64MB",
        f"  max_file_store: {'200GB' if node.level is NodeLevel.CITY else '20GB'}",
        "  # fsync every write before the ack: an acknowledged event survives an OS crash.",
        '  sync_interval: "always"',
        "}",
    ]
    if node.level is NodeLevel.CITY:
        routes = ", ".join(f"$ROUTE_{i}" for i in range(1, len(node.servers) + 1))
        lines += [
            "",
            "cluster {",
            f"  name: {_q(node.domain)}",
            f'  listen: "{bind}:{server.ports.cluster}"',
            "  authorization { user: route, password: $ROUTE_PASSWORD }",
            f"  routes: [{routes}]",
            "}",
        ]
    leaf_lines: list[str] = []
    if node.children:
        # Leaf connections authenticate as users of account LLS (the uplink users below).
        leaf_lines.append(f'  listen: "{bind}:{server.ports.leaf}"')
    if parent is not None:
        urls = ", ".join(_q(s.leaf_url()) for s in parent.servers)
        leaf_lines += [
            "  # Retry the uplink every second: a site that comes back is caught up at once.",
            '  reconnect: "1s"',
            "  remotes: [",
            "    {",
            f"      urls: [{urls}]",
            f"      account: {ACCOUNT}",
            "      nkey: $UPLINK_SEED",
            "      disabled: $UPLINK_DISABLED",
            "    }",
            "  ]",
        ]
    if leaf_lines:
        lines += ["", "leafnodes {", *leaf_lines, "}"]
    lines += [
        "",
        "accounts {",
        f"  {ACCOUNT} {{",
        "    jetstream: enabled",
        "    users: [",
        _users_block(server_users(plan, code)[:-1], "      "),
        "    ]",
        "  }",
        f"  {SYSTEM_ACCOUNT} {{",
        "    users: [",
        _users_block(server_users(plan, code)[-1:], "      "),
        "    ]",
        "  }",
        "}",
        f"system_account: {SYSTEM_ACCOUNT}",
        "",
    ]
    return "\n".join(lines)


def uplink_secret(keys: Keyring, code: str, disabled: bool = False) -> str:
    return (
        f"# Secret: the uplink seed of {code}. Keep mode 0600; never copy it elsewhere.\n"
        f"UPLINK_SEED: {_q(keys.seed(code, 'uplink'))}\n"
        f"UPLINK_DISABLED: {'true' if disabled else 'false'}\n"
    )


def cluster_secret(plan: Plan, keys: Keyring) -> str:
    city = plan.node(plan.city)
    pw = keys.password(plan.city, "route")
    lines = [f"# Secret: route credentials of the {city.name} cluster. Keep mode 0600.", f"ROUTE_PASSWORD: {_q(pw)}"]
    for i, s in enumerate(city.servers, start=1):
        lines.append(f"ROUTE_{i}: {_q(f'nats-route://route:{pw}@{s.route_host_port()}')}")
    return "\n".join(lines) + "\n"


# --- writing a bundle -----------------------------------------------------------------------


def server_dir(out: Path, server: Server) -> Path:
    return out / "servers" / server.name


def render(plan: Plan, out: Path) -> list[Path]:
    """Write every server's config, its secrets and its node's stream definitions under ``out``.

    ``servers/<name>/nats.conf`` (no secret), ``servers/<name>/secrets/`` (that server's own
    seeds only), ``streams/<code>/<STREAM>.json``, ``secrets/<code>/`` (every seed: the
    operator's copy), and ``topology.json``."""
    out.mkdir(parents=True, exist_ok=True)
    keys = Keyring(out)
    written: list[Path] = []
    for server in plan.servers:
        folder = server_dir(out, server)
        folder.mkdir(parents=True, exist_ok=True)
        conf = folder / "nats.conf"
        conf.write_text(render_server(plan, server))
        (folder / "keys.conf").write_text(render_keys(plan, keys, server))
        written.append(conf)
        node = plan.node(server.node)
        if node.parent is not None:
            path = folder / "secrets" / "uplink.conf"
            disabled = path.exists() and "UPLINK_DISABLED: true" in path.read_text()
            _write_secret(path, uplink_secret(keys, node.code, disabled))
        if node.level is NodeLevel.CITY:
            _write_secret(folder / "secrets" / "cluster.conf", cluster_secret(plan, keys))
        # The node's services' own credentials travel with its server bundle.
        roles = ["admin", "publisher", "system"] + ([PROJECTOR] if node.level is NodeLevel.CITY else [])
        for role in roles:
            _write_secret(folder / "secrets" / f"{role}.nk", keys.seed(node.code, role) + "\n")
    for code in plan.nodes:
        for cfg in stream_configs(plan, code):
            path = out / "streams" / code / f"{cfg.name}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(stream_json(cfg), indent=2, ensure_ascii=False) + "\n")
            written.append(path)
    for code in plan.nodes:
        if plan.node(code).level is not NodeLevel.TOWNSHIP:
            keys.seed(code, "auditor")
    (out / "topology.json").write_text(json.dumps(plan.to_json(), indent=2, ensure_ascii=False) + "\n")
    written.append(out / "topology.json")
    return written


def load_plan(out: Path) -> Plan:
    return Plan.from_json(json.loads((out / "topology.json").read_text()))


def render_city(
    city: str,
    out: Path,
    *,
    counties: list[str] | None = None,
    townships_per_county: int | None = None,
    local: bool = False,
    host_template: str = "lls-{name}.nats.internal",
    store_root: str | None = None,
) -> Plan:
    regions = load_regions(city)
    plan = make_plan(
        regions,
        counties=counties,
        townships_per_county=townships_per_county,
        local=local,
        host_template=host_template,
        store_root=store_root or (str(out / "data") if local else "/var/lib/liaison-hub/jetstream"),
    )
    render(plan, out)
    return plan
