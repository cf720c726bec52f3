"""Fixtures: real nats-server and PostgreSQL from the wheels, on free ports, in a temp folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.embedded import NatsProcess, PostgresProcess, stop_pid


class Servers:
    def __init__(self, nats_url: str, database_url: str, home: Path) -> None:
        self.nats_url = nats_url
        self.database_url = database_url
        self.home = home


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    home = tmp_path_factory.mktemp("hub")
    pg = PostgresProcess(home / "postgres")
    pg_port = pg.start()
    nats_port, _monitor, nats_pid = NatsProcess(home / "nats").start()
    old = {k: os.environ.get(k) for k in ("HUB_HOME", "HUB_NATS_URL", "HUB_DATABASE_URL")}
    s = Servers(f"nats://127.0.0.1:{nats_port}", f"postgresql://postgres@127.0.0.1:{pg_port}/liaison", home)
    os.environ.update(HUB_HOME=str(home), HUB_NATS_URL=s.nats_url, HUB_DATABASE_URL=s.database_url)
    try:
        yield s
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        stop_pid(nats_pid)
        pg.stop()
