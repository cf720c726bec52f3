"""JSONL ledgers from node services not written in Python.

One event a line: ``{"occurred_at": "...+08:00", "actor": "...", "payload": {"type": ..., ...}}``;
``event_id`` (UUIDv7, to keep retries idempotent), ``recorded_at``, ``correlation_id`` and
``causation_id`` may be given; the SDK fills the rest. ``origin`` if present must be the node.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from producers.sdk import new_event_id
from schemas.envelope import SCHEMA_VERSION, Envelope, EventRejected, decode, now


@dataclass(frozen=True)
class LineError:
    line: int
    error: EventRejected

    def __str__(self) -> str:
        return f"第 {self.line} 行: {self.error}"


@dataclass(frozen=True)
class LineEvent:
    line: int
    envelope: Envelope


def parse_line(text: str, node: str, line: int) -> LineEvent | LineError:
    try:
        raw: Any = msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        return LineError(
            line, EventRejected(f"not valid JSON ({exc})", event_type=None, event_id=None, field=None)
        )
    if not isinstance(raw, dict):
        return LineError(
            line, EventRejected("a line must be a JSON object", event_type=None, event_id=None, field=None)
        )
    payload = raw.get("payload")
    event_type = payload.get("type") if isinstance(payload, dict) else None
    if raw.get("origin", node) != node:
        return LineError(
            line,
            EventRejected(
                f"`origin` {raw['origin']} is not the publishing node {node}",
                event_type=event_type if isinstance(event_type, str) else None,
                event_id=raw.get("event_id"),
                field="origin",
            ),
        )
    raw.setdefault("event_id", new_event_id())
    raw.setdefault("schema_version", SCHEMA_VERSION)
    raw.setdefault("recorded_at", now().isoformat())
    raw["origin"] = node
    try:
        return LineEvent(line, decode(msgspec.json.encode(raw)))
    except EventRejected as exc:
        return LineError(line, exc)


def read_jsonl(path: Path, node: str) -> Iterator[LineEvent | LineError]:
    with path.open(encoding="utf-8") as f:
        for number, text in enumerate(f, start=1):
            if text.strip():
                yield parse_line(text, node, number)
