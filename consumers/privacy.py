"""Masking of citizens' personal information before anything is stored or shared."""

from __future__ import annotations

from typing import Any

from schemas.privacy import mask_text


def mask_name(name: str | None) -> str | None:
    if not name:
        return name
    return name[0] + "*" * max(1, len(name) - 1)


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return phone
    digits = phone.replace(" ", "").replace("-", "")
    if len(digits) <= 4:
        return "*" * len(digits)
    return (
        digits[:3]
        + "*" * (len(digits) - 7 if len(digits) > 7 else len(digits) - 3)
        + (digits[-4:] if len(digits) > 7 else "")
    )


def mask_address(address: str | None) -> str | None:
    if not address:
        return address
    return address[:6] + "***"


def mask_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """A copy of a payload with any ``citizen`` block masked, and phone and ID numbers
    written into its free text (``content``) masked."""
    masked = dict(payload)
    if isinstance(masked.get("content"), str):
        masked["content"] = mask_text(masked["content"])
    citizen = payload.get("citizen")
    if not isinstance(citizen, dict):
        return masked
    masked["citizen"] = {
        "name": mask_name(citizen.get("name")),
        "phone": mask_phone(citizen.get("phone")),
        "address": mask_address(citizen.get("address")),
    }
    return masked
