"""The node SDK: validate an event, give it a UUIDv7 id, publish it under the node's own
subject prefix with ``Nats-Msg-Id`` and wait for JetStream's ack, retrying transient failures.

The event id doubles as ``Nats-Msg-Id``, so a retry after a lost ack is stored once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import nats.errors
import uuid_utils
from nats.js import JetStreamContext
from nats.js.api import PubAck
from nats.js.errors import APIError, NoStreamResponseError

from schemas.envelope import SCHEMA_VERSION, Envelope, EventRejected, now, validate
from schemas.events import AnyPayload, Payload
from schemas.regions import node_level, station_region
from schemas.subjects import STREAM, subject_for

log = logging.getLogger(__name__)

RETRIES = 5
_TRANSIENT = (
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    NoStreamResponseError,
    nats.errors.ConnectionReconnectingError,
)


class PublishFailed(RuntimeError):
    """The backbone did not store the event after every retry; says what to do next."""


class PublishRefused(PublishFailed):
    """The server refused the publish (permissions violation): these credentials may not publish
    under this subject. Not retried: retrying cannot change the answer."""

    def __init__(self, message: str, *, subject: str, event_id: str) -> None:
        super().__init__(message)
        self.subject = subject
        self.event_id = event_id


def _refusal_of(err: BaseException | None, subject: str) -> bool:
    text = str(err or "").lower()
    return "permissions violation for publish" in text and f'"{subject.lower()}"' in text


def new_event_id() -> str:
    return str(uuid_utils.uuid7())


@dataclass(frozen=True)
class Published:
    envelope: Envelope
    ack: PubAck


class NodePublisher:
    """Publishes the events of one node (city, county or township)."""

    def __init__(
        self,
        js: JetStreamContext,
        node: str,
        actor: str,
        *,
        max_in_flight: int = 512,
        timeout: float = 5.0,
        retries: int = RETRIES,
    ) -> None:
        node_level(node)
        self.js = js
        self.node = node
        self.actor = actor
        self.timeout = timeout
        # Raise it where a clustered stream may be electing a leader (a few seconds without one).
        self.retries = retries
        # Publishes the server refused (permissions violation), counted for reconciliation.
        self.refused = 0
        self._window = asyncio.Semaphore(max_in_flight)

    @classmethod
    async def connect(cls, url: str, node: str, actor: str, **kw: object) -> NodePublisher:
        nc = await nats.connect(url, name=f"node-{node}")
        return cls(nc.jetstream(), node, actor, **kw)  # type: ignore[arg-type]

    def build(
        self,
        payload: Payload,
        occurred_at: datetime,
        *,
        recorded_at: datetime | None = None,
        event_id: str | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
    ) -> Envelope:
        """A validated envelope; EventRejected names the event and the field that is wrong."""
        if not station_region(payload.station_id).startswith(self.node):
            raise EventRejected(
                f"`station_id` {payload.station_id} 不在本节点 {self.node} 的辖区内；节点只能发布本辖区站点的事件",
                event_type=payload.__struct_config__.tag
                if isinstance(payload.__struct_config__.tag, str)
                else None,
                event_id=event_id,
                field="payload.station_id",
            )
        envelope = Envelope(
            event_id=event_id or new_event_id(),
            schema_version=SCHEMA_VERSION,
            occurred_at=occurred_at,
            recorded_at=recorded_at or now(),
            origin=self.node,
            actor=self.actor,
            payload=cast("AnyPayload", payload),
            correlation_id=correlation_id,
            causation_id=causation_id,
        )
        return validate(envelope)

    async def publish(self, envelope: Envelope) -> PubAck:
        """Publish one event and wait for the ack; retries transient failures."""
        from schemas.envelope import encode

        if envelope.origin != self.node:
            raise EventRejected(
                f"`origin` {envelope.origin} 不是本节点（{self.node}）",
                event_type=envelope.type,
                event_id=envelope.event_id,
                field="origin",
            )
        subject = subject_for(self.node, envelope.type)
        data = encode(envelope)
        headers = {"Nats-Msg-Id": envelope.event_id}
        delay = 0.2
        for attempt in range(1, self.retries + 1):
            try:
                async with self._window:
                    return await self._publish_once(subject, data, dict(headers), envelope)
            except _TRANSIENT as exc:
                if attempt == self.retries:
                    raise PublishFailed(
                        f"事件 {envelope.type}（编号 {envelope.event_id}）重试 {self.retries} 次仍未得到确认"
                        f"（{type(exc).__name__}）；请确认 NATS 服务器在运行（liaison-hub status）后重新发布："
                        "同一事件编号只会存储一次"
                    ) from exc
                log.warning("publish %s attempt %d failed: %r; retrying", envelope.event_id, attempt, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 3.0)
            except APIError as exc:
                raise PublishFailed(
                    f"事件流拒绝了事件 {envelope.type}（编号 {envelope.event_id}）：{exc}"
                ) from exc
        raise AssertionError("unreachable")

    def _last_error(self) -> BaseException | None:
        nc = getattr(self.js, "_nc", None)
        return nc.last_error if nc is not None else None

    async def _publish_once(
        self, subject: str, data: bytes, headers: dict[str, str], envelope: Envelope
    ) -> PubAck:
        """One publish and its ack. A refused publish gets no ack, only an asynchronous -ERR
        on the connection: when the ack times out, that error tells a refusal (PublishRefused,
        not retried) from a transient failure. Looking only then keeps the common path as
        cheap as a plain publish."""
        before = self._last_error()
        try:
            return await self.js.publish(subject, data, timeout=self.timeout, stream=STREAM,
                                         headers=headers)
        except nats.errors.TimeoutError:
            err = self._last_error()
            if err is None or err is before or not _refusal_of(err, subject):
                raise
        self.refused += 1
        raise PublishRefused(
            f"服务器拒绝了事件 {envelope.type}（编号 {envelope.event_id}）：节点 {self.node} "
            f"的连接无权发布到 {subject}（permissions violation，越权发布）。所用凭据属于"
            "其他节点，或主题不在其前缀之内；未存储任何内容。请检查节点凭据配置。",
            subject=subject,
            event_id=envelope.event_id,
        )

    async def publish_all(
        self, envelopes: Iterable[Envelope], on_ack: Callable[[Published], None] | None = None
    ) -> list[Published]:
        """Publish many, keeping up to ``max_in_flight`` acks outstanding; per-node order is kept
        on the wire because one connection delivers in order."""

        async def one(env: Envelope) -> Published:
            done = Published(env, await self.publish(env))
            if on_ack:
                on_ack(done)
            return done

        tasks = [asyncio.create_task(one(env)) for env in envelopes]
        return list(await asyncio.gather(*tasks))
