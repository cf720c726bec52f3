"""Quality settings: thresholds, the schedule (cron) and where custom checks live.

Read from a TOML file: ``HUB_QUALITY_CONFIG`` if set, else ``$HUB_HOME/quality.toml`` if it
exists; anything not in the file keeps the default below. docs/quality.md has an example.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from quality.model import Dimension, parse_dimension

STATION_LEVELS = ("总站", "中心站", "联络站", "联络点")


class ConfigError(ValueError):
    """The quality configuration is unusable; the message names the key."""


@dataclass(frozen=True)
class Thresholds:
    # 时效性: an event typed in more than this many hours after it happened is late.
    max_recording_lag_hours: int = 24
    # Art. 14: a themed reception is announced at least this many days ahead.
    reception_notice_days: int = 3
    # Art. 15: an assigned opinion is overdue once as_of is more than this many days past
    # its deadline without feedback (0: overdue from the day after the deadline).
    opinion_overdue_grace_days: int = 0
    # Art. 15: a received opinion is answered, redirected or assigned within this many days.
    opinion_acceptance_days: int = 7
    # A station of these levels with no event for this many days before as_of went silent.
    silent_days: int = 31
    silent_levels: tuple[str, ...] = ("中心站", "联络站")
    # 可访问性: stream messages not projected after this many minutes make the projection stale.
    projection_max_stale_minutes: int = 15


@dataclass(frozen=True)
class ScheduleEntry:
    name: str
    cron: str
    dimensions: tuple[Dimension, ...] = ()   # empty: every dimension (a full run)


DEFAULT_SCHEDULE = (
    ScheduleEntry("nightly-full", "0 2 * * *"),
    ScheduleEntry("hourly-timeliness", "0 * * * *",
                  (Dimension.TIMELINESS, Dimension.ACCESSIBILITY)),
)


@dataclass(frozen=True)
class QualityConfig:
    thresholds: Thresholds = field(default_factory=Thresholds)
    schedule: tuple[ScheduleEntry, ...] = DEFAULT_SCHEDULE
    # Extra folders of custom check files (*.toml), besides quality/checks/ and $HUB_HOME/checks.
    check_dirs: tuple[Path, ...] = ()
    # Runs kept for the trend charts.
    history_runs: int = 20
    source: Path | None = None


def _int(section: dict[str, Any], key: str, default: int, where: str) -> int:
    value = section.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ConfigError(f"{where}.{key} must be a non-negative integer, got {value!r}")
    return value


def _thresholds(raw: dict[str, Any]) -> Thresholds:
    base = Thresholds()
    known = set(base.__dataclass_fields__)
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"[thresholds] has unknown keys: {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for key in known - {"silent_levels"}:
        if key in raw:
            values[key] = _int(raw, key, getattr(base, key), "thresholds")
    if "silent_levels" in raw:
        levels = raw["silent_levels"]
        if not isinstance(levels, list) or any(lv not in STATION_LEVELS for lv in levels):
            raise ConfigError(f"thresholds.silent_levels must list levels of {STATION_LEVELS}")
        values["silent_levels"] = tuple(levels)
    return replace(base, **values)


def _schedule(raw: list[Any]) -> tuple[ScheduleEntry, ...]:
    from croniter import croniter

    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("cron"), str):
            raise ConfigError(f"[[schedule]] #{i + 1} needs a cron string")
        cron = item["cron"]
        if not croniter.is_valid(cron):
            raise ConfigError(f"[[schedule]] #{i + 1}: invalid cron expression {cron!r}")
        try:
            dims = tuple(parse_dimension(d) for d in item.get("dimensions", []))
        except ValueError as exc:
            raise ConfigError(f"[[schedule]] #{i + 1}: {exc}") from exc
        out.append(ScheduleEntry(str(item.get("name") or f"job-{i + 1}"), cron, dims))
    names = [e.name for e in out]
    if len(names) != len(set(names)):
        raise ConfigError("[[schedule]] names must be unique")
    return tuple(out)


def parse_config(text: str, source: Path | None = None) -> QualityConfig:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source or 'quality config'}: {exc}") from exc
    unknown = set(raw) - {"thresholds", "schedule", "checks", "history"}
    if unknown:
        raise ConfigError(f"unknown sections: {', '.join(sorted(unknown))}")
    config = QualityConfig(source=source)
    if "thresholds" in raw:
        config = replace(config, thresholds=_thresholds(raw["thresholds"]))
    if "schedule" in raw:
        config = replace(config, schedule=_schedule(raw["schedule"]))
    checks = raw.get("checks", {})
    if "dirs" in checks:
        base = source.parent if source else Path.cwd()
        config = replace(config, check_dirs=tuple((base / d).resolve() for d in checks["dirs"]))
    history = raw.get("history", {})
    if "runs" in history:
        config = replace(config, history_runs=max(2, _int(history, "runs", 20, "history")))
    return config


def config_path(home: Path) -> Path | None:
    env = os.environ.get("HUB_QUALITY_CONFIG")
    if env:
        return Path(env).expanduser().resolve()
    candidate = home / "quality.toml"
    return candidate if candidate.exists() else None


def load_config(home: Path, path: Path | None = None) -> QualityConfig:
    """The configuration for a data folder; defaults when there is no file."""
    path = path or config_path(home)
    extra_dir = home / "checks"
    if path is None:
        config = QualityConfig()
    else:
        if not path.exists():
            raise ConfigError(f"quality config {path} does not exist")
        config = parse_config(path.read_text(encoding="utf-8"), path)
    if extra_dir.is_dir() and extra_dir not in config.check_dirs:
        config = replace(config, check_dirs=(*config.check_dirs, extra_dir))
    return config
