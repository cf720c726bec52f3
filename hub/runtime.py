"""Where the servers are (embedded under HUB_HOME, or external by URL) and how to reach them."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext

from consumers.store import LIVE_SCHEMA, migrate
from hub import embedded
from hub.config import Settings
from hub.provision import provision

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Endpoints:
    nats_url: str
    database_url: str
    embedded: bool


class NotRunning(RuntimeError):
    pass


def endpoints(settings: Settings, *, start: bool) -> Endpoints:
    """URLs of the servers; starts the embedded ones when ``start`` and they are not up."""
    if not settings.embedded_nats and not settings.embedded_postgres:
        assert settings.nats_url and settings.database_url
        return Endpoints(settings.nats_url, settings.database_url, False)
    state = embedded.read_state(settings.home)
    if state is None or not embedded.is_up(state):
        if not start:
            raise NotRunning(
                f"嵌入式服务未运行（数据目录 {settings.home}）。请先执行 `liaison-hub up`，"
                "或设置 HUB_NATS_URL 与 HUB_DATABASE_URL 指向外部服务器。"
            )
        state = embedded.up(settings.home)
    return Endpoints(settings.nats_url or state.nats_url, settings.database_url or state.database_url, True)


async def _log_nats_error(exc: Exception) -> None:
    # nats-py's default prints a traceback per failed attempt; the CLI says it once, in Chinese.
    log.debug("nats: %r", exc)


@asynccontextmanager
async def backbone(url: str, name: str = "liaison-hub") -> AsyncIterator[tuple[Client, JetStreamContext]]:
    nc = await nats.connect(url, name=name, max_reconnect_attempts=5, reconnect_time_wait=1, connect_timeout=3,
                            error_cb=_log_nats_error)
    try:
        yield nc, nc.jetstream(timeout=10)
    finally:
        await nc.drain()


async def prepare(ep: Endpoints) -> None:
    """Provision stream, consumer and tables; running it twice changes nothing."""
    async with backbone(ep.nats_url) as (_, js):
        await provision(js)
    await migrate(ep.database_url, LIVE_SCHEMA)
