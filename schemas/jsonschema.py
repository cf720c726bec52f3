"""JSON Schema of the envelope, for node services not written in Python."""

from __future__ import annotations

from typing import Any

import msgspec

from schemas.envelope import Envelope


def envelope_schema() -> dict[str, Any]:
    schema = msgspec.json.schema(Envelope)
    schema["title"] = "liaison-hub event envelope"
    return schema
