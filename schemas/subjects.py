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


# Items a higher level hands down (互通): ``lls.dn.<sender>.<target city>.<county>.<township>.<kind>``.
# The sender comes first so each sender's stream has subjects of its own (no overlap across
# leaf-connected servers), and the target's tokens follow so a site filters what is addressed to it.
DOWN_ROOT = "lls.dn"


def down_subject(sender: str, target: str, kind: str) -> str:
    """Subject of an item (``notice.issued``) that ``sender`` hands down to ``target``."""
    if target == sender or not target.startswith(sender):
        raise ValueError(f"{target} is not below {sender}: items are handed down only")
    return ".".join([DOWN_ROOT, sender, *_levels(target), kind])


def down_scope(sender: str) -> str:
    """What a node may hand down: anything addressed within its own jurisdiction."""
    level = node_level(sender)
    depth = {NodeLevel.CITY: 1, NodeLevel.COUNTY: 2, NodeLevel.TOWNSHIP: 3}[level]
    return ".".join([DOWN_ROOT, sender, *_levels(sender)[:depth], ">"])


def inbox_filter(sender: str, target: str) -> str:
    """What ``target`` takes from ``sender``'s hand-down stream: items addressed to it."""
    return ".".join([DOWN_ROOT, sender, *_levels(target), ">"])
