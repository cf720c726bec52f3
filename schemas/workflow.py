"""Art. 15 opinion workflow: 受理 -> 当场答复 | 告知法定途径 | 交办 -> 督办 -> 反馈 -> 报送 -> 办结.

The legal transitions as data; anything else is refused. 督办 may repeat and may
be skipped (a unit that answers in time needs no urging); 报送 follows an answer
or a unit's feedback and may be skipped; a redirect to a legal channel is closed
directly. 办结 is final.
"""

from __future__ import annotations

RECEIVED = "received"
CLOSED = "closed"

# event type -> (states it may follow, state it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str | None], str]] = {
    "opinion.received": (frozenset({None}), RECEIVED),
    "opinion.answered": (frozenset({RECEIVED}), "answered"),
    "opinion.redirected": (frozenset({RECEIVED}), "redirected"),
    "opinion.assigned": (frozenset({RECEIVED}), "assigned"),
    "opinion.supervised": (frozenset({"assigned", "supervised"}), "supervised"),
    "opinion.feedback_given": (frozenset({"assigned", "supervised"}), "feedback_given"),
    "opinion.reported": (frozenset({"answered", "feedback_given"}), "reported"),
    "opinion.closed": (frozenset({"answered", "redirected", "feedback_given", "reported"}), CLOSED),
}

STATE_LABELS: dict[str | None, str] = {
    None: "（不存在）",
    RECEIVED: "已受理",
    "answered": "已当场答复",
    "redirected": "已告知法定途径",
    "assigned": "已交办",
    "supervised": "督办中",
    "feedback_given": "已反馈",
    "reported": "已报送",
    CLOSED: "已办结",
}

STEP_LABELS: dict[str, str] = {
    "opinion.received": "受理",
    "opinion.answered": "当场答复",
    "opinion.redirected": "告知法定途径",
    "opinion.assigned": "交办",
    "opinion.supervised": "督办",
    "opinion.feedback_given": "反馈",
    "opinion.reported": "报送",
    "opinion.closed": "办结",
}

STATES: tuple[str | None, ...] = tuple(STATE_LABELS)
FINAL_STATES = frozenset({CLOSED})


class IllegalTransition(ValueError):
    """A step the workflow forbids in the opinion's current state."""

    def __init__(self, current: str | None, event_type: str) -> None:
        self.current = current
        self.event_type = event_type
        allowed = allowed_steps(current)
        options = ", ".join(f"{t} ({STEP_LABELS[t]})" for t in allowed) or "none (办结后不能再办理)"
        super().__init__(
            f"opinion in state {current or 'none'} ({STATE_LABELS.get(current, current)}) "
            f"cannot take {event_type} ({STEP_LABELS.get(event_type, '未知步骤')}); "
            f"allowed next: {options}"
        )


def allowed_steps(current: str | None) -> list[str]:
    """The event types an opinion in ``current`` may take, in workflow order."""
    return [t for t, (sources, _) in TRANSITIONS.items() if current in sources]


def next_state(current: str | None, event_type: str) -> str:
    """The state after ``event_type``; IllegalTransition if the workflow forbids it."""
    if event_type not in TRANSITIONS:
        raise IllegalTransition(current, event_type)
    allowed, target = TRANSITIONS[event_type]
    if current not in allowed:
        raise IllegalTransition(current, event_type)
    return target
