"""The envelope around every payload, and strict decoding with errors that name the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import msgspec

from schemas.events import AnyPayload, NodeCode, ShortText, TzDatetime
from schemas.messages_zh import translate
from schemas.regions import station_region

SCHEMA_VERSION = 1
UUID7_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
EventId = Annotated[str, msgspec.Meta(pattern=UUID7_PATTERN, description="UUIDv7")]
# Clocks drift; an event recorded more than this before it occurred is impossible.
CLOCK_SKEW = timedelta(minutes=5)


class Envelope(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    event_id: EventId
    schema_version: Annotated[int, msgspec.Meta(ge=1, le=SCHEMA_VERSION)]
    occurred_at: TzDatetime
    recorded_at: TzDatetime
    origin: NodeCode
    actor: ShortText
    payload: AnyPayload
    correlation_id: str | None = None
    causation_id: str | None = None

    def __post_init__(self) -> None:
        if self.occurred_at > self.recorded_at + CLOCK_SKEW:
            raise ValueError("`occurred_at` 晚于 `recorded_at`：事件不可能在发生之前就被记录")
        region = station_region(self.payload.station_id)
        if not region.startswith(self.origin):
            raise ValueError(
                f"`payload.station_id` {self.payload.station_id} 不在发布节点 `origin` {self.origin} 的辖区内"
            )

    @property
    def type(self) -> str:
        tag = self.payload.__struct_config__.tag
        assert isinstance(tag, str)
        return tag


class EventRejected(ValueError):
    """A message that is not a valid event; says which event and which field, in Chinese.

    ``reason`` keeps the original (English) wording for developers."""

    def __init__(self, reason: str, *, event_type: str | None, event_id: str | None, field: str | None) -> None:
        self.reason = reason
        self.reason_zh = translate(reason)
        self.event_type = event_type
        self.event_id = event_id
        self.field = field
        what = f"事件 {event_type or '（类型未知）'}"
        if event_id:
            what += f"（编号 {event_id}）"
        where = f"字段 `{field}`：" if field else ""
        super().__init__(f"{what}：{where}{self.reason_zh}")


_decoder = msgspec.json.Decoder(Envelope)
_encoder = msgspec.json.Encoder()


def _field_from(message: str) -> tuple[str, str | None]:
    """Split msgspec's ``... - at `$.payload.x``` into (reason, 'payload.x')."""
    reason, sep, where = message.rpartition(" - at `")
    if not sep:
        reason, where = message, ""
    path = where.rstrip("`").removeprefix("$").lstrip(".")
    # Cross-field checks (__post_init__) start their message with the field they blame.
    if reason.startswith("`"):
        named = reason.split("`")[1]
        path = named if named.startswith(path) or not path else f"{path}.{named}"
    return reason, path or None


def _peek(raw: bytes) -> tuple[str | None, str | None]:
    """Best-effort type and id of a message that failed strict decoding."""
    try:
        loose = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return None, None
    if not isinstance(loose, dict):
        return None, None
    payload = loose.get("payload")
    event_type = payload.get("type") if isinstance(payload, dict) else None
    event_id = loose.get("event_id")
    return (
        event_type if isinstance(event_type, str) else None,
        event_id if isinstance(event_id, str) else None,
    )


def decode(raw: bytes) -> Envelope:
    """Strictly decode one event; EventRejected names the event and the field."""
    try:
        return _decoder.decode(raw)
    except msgspec.ValidationError as exc:
        event_type, event_id = _peek(raw)
        reason, field = _field_from(str(exc))
        raise EventRejected(reason, event_type=event_type, event_id=event_id, field=field) from exc
    except msgspec.DecodeError as exc:
        raise EventRejected(f"not valid JSON ({exc})", event_type=None, event_id=None, field=None) from exc


def encode(envelope: Envelope) -> bytes:
    return _encoder.encode(envelope)


def validate(envelope: Envelope) -> Envelope:
    """Re-run every check on an envelope built in Python (constructors skip them)."""
    return decode(encode(envelope))


def to_builtins(envelope: Envelope) -> dict[str, Any]:
    out = msgspec.to_builtins(envelope)
    assert isinstance(out, dict)
    return out


def now() -> datetime:
    return datetime.now(UTC)
