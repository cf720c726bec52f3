"""JSONL ledgers from node services not written in Python.

One event a line: ``{"occurred_at": "...+08:00", "actor": "...", "payload": {"type": ..., ...}}``;
``event_id`` (UUIDv7), ``recorded_at``, ``correlation_id`` and ``causation_id`` may be given;
the SDK fills the rest. ``origin`` if present must be the node.

A line without ``event_id`` gets one derived from the node and the line's content, so
sending the same ledger twice stores each event once.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from schemas.envelope import SCHEMA_VERSION, Envelope, EventRejected, decode, now

BOM = b"\xef\xbb\xbf"


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


def stable_event_id(node: str, line: dict[str, Any]) -> str:
    """A UUIDv7 whose time is the event's and whose other bits hash the node and the line."""
    try:
        millis = int(datetime.fromisoformat(str(line.get("occurred_at"))).timestamp() * 1000)
    except ValueError:
        millis = 0  # the line is rejected for its timestamp anyway
    digest = hashlib.sha256(node.encode() + msgspec.json.encode(line, order="sorted")).digest()
    rand_a = int.from_bytes(digest[:2], "big") & 0x0FFF
    rand_b = int.from_bytes(digest[2:10], "big") & ((1 << 62) - 1)
    value = (max(millis, 0) & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return str(uuid.UUID(int=value))


def _rejected(reason: str, line: dict[str, Any] | None = None, field: str | None = None) -> EventRejected:
    payload = (line or {}).get("payload")
    event_type = payload.get("type") if isinstance(payload, dict) else None
    event_id = (line or {}).get("event_id")
    return EventRejected(reason, event_type=event_type if isinstance(event_type, str) else None,
                         event_id=event_id if isinstance(event_id, str) else None, field=field)


def parse_line(raw_line: bytes, node: str, line: int, encoding: str = "utf-8") -> LineEvent | LineError:
    try:
        text = raw_line.decode(encoding)
    except UnicodeDecodeError as exc:
        return LineError(line, _rejected(
            f"不是 {encoding} 编码（第 {exc.start + 1} 个字节起无法解码）；"
            "请把文件另存为 UTF-8，或用 --encoding 指定编码（如 gbk）"))
    try:
        raw: Any = msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        return LineError(line, _rejected(f"not valid JSON ({exc})"))
    if not isinstance(raw, dict):
        return LineError(line, _rejected("a line must be a JSON object"))
    if raw.get("origin", node) != node:
        return LineError(line, _rejected(f"`origin` {raw['origin']} 不是发布节点 {node}", raw, "origin"))
    raw.setdefault("event_id", stable_event_id(node, raw))
    raw.setdefault("schema_version", SCHEMA_VERSION)
    raw.setdefault("recorded_at", now().isoformat())
    raw["origin"] = node
    try:
        return LineEvent(line, decode(msgspec.json.encode(raw)))
    except EventRejected as exc:
        return LineError(line, exc)


def read_jsonl(path: Path, node: str, encoding: str = "utf-8") -> Iterator[LineEvent | LineError]:
    """Each non-blank line, parsed; a line that cannot be decoded is an error, not a crash."""
    with path.open("rb") as f:
        for number, raw_line in enumerate(f, start=1):
            if number == 1 and raw_line.startswith(BOM):
                raw_line = raw_line[len(BOM):]  # Windows editors write one
            if raw_line.strip():
                yield parse_line(raw_line, node, number, encoding)
