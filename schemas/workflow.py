"""Art. 15 opinion workflow: 受理 -> 当场答复 | 告知法定途径 | 交办 -> 督办 -> 反馈 -> 报送 -> 办结.

The legal transitions as data; anything else is refused.
"""

from __future__ import annotations

RECEIVED = "received"

# event type -> (states it may follow, state it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str | None], str]] = {
    "opinion.received": (frozenset({None}), RECEIVED),
    "opinion.answered": (frozenset({RECEIVED}), "answered"),
    "opinion.redirected": (frozenset({RECEIVED}), "redirected"),
    "opinion.assigned": (frozenset({RECEIVED}), "assigned"),
    "opinion.supervised": (frozenset({"assigned", "supervised"}), "supervised"),
    "opinion.feedback_given": (frozenset({"assigned", "supervised"}), "feedback_given"),
    "opinion.reported": (frozenset({"answered", "feedback_given"}), "reported"),
    "opinion.closed": (frozenset({"answered", "redirected", "feedback_given", "reported"}), "closed"),
}

STATE_LABELS = {
    None: "（不存在）",
    RECEIVED: "已受理",
    "answered": "已当场答复",
    "redirected": "已告知法定途径",
    "assigned": "已交办",
    "supervised": "督办中",
    "feedback_given": "已反馈",
    "reported": "已报送",
    "closed": "已办结",
}


class IllegalTransition(ValueError):
    pass


def next_state(current: str | None, event_type: str) -> str:
    """The state after ``event_type``; IllegalTransition if the workflow forbids it."""
    allowed, target = TRANSITIONS[event_type]
    if current not in allowed:
        raise IllegalTransition(
            f"opinion in state {current or 'none'} ({STATE_LABELS.get(current, current)}) "
            f"cannot take {event_type}; allowed from: " + ", ".join(sorted(str(s) for s in allowed))
        )
    return target
