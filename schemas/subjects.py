"""Subjects carry the hierarchy, so scope, permissions and sharing follow from wildcards.

``lls.ev.<city>.<county>.<township>.<category>.<type>``; ``_`` fills the levels
above a node (the city node publishes under ``lls.ev.3306._._``).
"""

from __future__ import annotations

from schemas.regions import NodeLevel, node_level

ROOT = "lls.ev"
FILLER = "_"
STREAM = "LLS_EVENTS"
ALL_EVENTS = f"{ROOT}.>"
QUALITY_SUBJECT = "lls.quality.report.published"


def _levels(code: str) -> list[str]:
    level = node_level(code)
    if level is NodeLevel.CITY:
        return [code, FILLER, FILLER]
    if level is NodeLevel.COUNTY:
        return [code[:4], code, FILLER]
    return [code[:4], code[:6], code]


def node_prefix(code: str) -> str:
    """The subject prefix a node may publish under."""
    return ".".join([ROOT, *_levels(code)])


def subject_for(origin: str, event_type: str) -> str:
    """Subject of an event type (``opinion.received``) published by a node."""
    return f"{node_prefix(origin)}.{event_type}"


def scope_filter(code: str) -> str:
    """Wildcard for everything at or below a node: ``lls.ev.3306.330602.>``."""
    level = node_level(code)
    tokens = _levels(code)
    depth = {NodeLevel.CITY: 1, NodeLevel.COUNTY: 2, NodeLevel.TOWNSHIP: 3}[level]
    return ".".join([ROOT, *tokens[:depth], ">"])


def origin_of(subject: str) -> str | None:
    """The node code a subject was published under, if it is one of ours."""
    parts = subject.split(".")
    if len(parts) < 7 or ".".join(parts[:2]) != ROOT:
        return None
    for token in (parts[4], parts[3], parts[2]):
        if token != FILLER:
            return token
    return None
