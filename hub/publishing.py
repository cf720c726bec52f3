"""Publish planned events node by node, each node through its own SDK publisher and connection."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Sequence

import nats

from producers.sdk import NodePublisher
from producers.simulator import PlannedEvent


async def publish_phases(
    nats_url: str, phases: Sequence[Sequence[PlannedEvent]], actor: str, on_ack: Callable[[int], None]
) -> int:
    """Each phase is fully acknowledged before the next starts; returns events stored."""
    nodes = sorted({e.node for phase in phases for e in phase})
    conns = await asyncio.gather(*(nats.connect(nats_url, name=f"node-{n}") for n in nodes))
    publishers = {
        n: NodePublisher(c.jetstream(timeout=10), n, f"{actor}@{n}", max_in_flight=256)
        for n, c in zip(nodes, conns, strict=True)
    }
    stored = 0
    try:
        for phase in phases:
            by_node: dict[str, list[PlannedEvent]] = defaultdict(list)
            for e in phase:
                by_node[e.node].append(e)

            async def node_publishes(node: str, planned: list[PlannedEvent]) -> int:
                pub = publishers[node]
                envs = [pub.build(e.payload, e.occurred_at, recorded_at=e.recorded_at) for e in planned]
                done = await pub.publish_all(envs, on_ack=lambda _p: on_ack(1))
                return len(done)

            counts = await asyncio.gather(*(node_publishes(n, p) for n, p in by_node.items()))
            stored += sum(counts)
    finally:
        await asyncio.gather(*(c.drain() for c in conns))
    return stored


async def publish_foreign(nats_url: str, messages: Sequence[tuple[str, bytes]]) -> int:
    """A publisher that does not use the SDK: raw bytes straight onto the backbone."""
    nc = await nats.connect(nats_url, name="foreign-publisher")
    try:
        js = nc.jetstream()
        for subject, data in messages:
            await js.publish(subject, data)
    finally:
        await nc.drain()
    return len(messages)
