"""Settings from the environment: where the data folder is, or which external servers to use."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    home: Path
    nats_url: str | None
    database_url: str | None
    city: str = "3306"

    @property
    def embedded_nats(self) -> bool:
        return self.nats_url is None

    @property
    def embedded_postgres(self) -> bool:
        return self.database_url is None

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"


def load_settings() -> Settings:
    """HUB_HOME (default ./.hub), HUB_NATS_URL and HUB_DATABASE_URL (external servers)."""
    home = Path(os.environ.get("HUB_HOME", ".hub")).expanduser().resolve()
    return Settings(
        home=home,
        nats_url=os.environ.get("HUB_NATS_URL") or None,
        database_url=os.environ.get("HUB_DATABASE_URL") or None,
        city=os.environ.get("HUB_CITY", "3306"),
    )
