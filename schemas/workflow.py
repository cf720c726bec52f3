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
    """A step the workflow forbids in the opinion's current state (message in Chinese: it
    ends up in dead letters that auditors read)."""

    def __init__(self, current: str | None, event_type: str) -> None:
        self.current = current
        self.event_type = event_type
        super().__init__(_refusal(current, event_type))


def _step(event_type: str) -> str:
    return f"「{STEP_LABELS.get(event_type, '未知步骤')}」（{event_type}）"


def _refusal(current: str | None, event_type: str) -> str:
    """E.g. 意见当前为「已交办」（assigned），不能办理「办结」（opinion.closed）；此时只能办理：…"""
    if current is None:
        state = "意见尚未受理（系统中没有这条意见）"
    else:
        state = f"意见当前为「{STATE_LABELS.get(current, current)}」（{current}）"
    allowed = allowed_steps(current)
    if current is None:
        then = "请先发布该意见的 opinion.received（受理）"
    elif event_type == "opinion.received":
        then = "该 `opinion_id` 已被使用（同一意见重复受理，或新意见用了旧编号）；新意见请换一个编号"
    elif allowed:
        then = "此时只能办理：" + "、".join(_step(t) for t in allowed)
    else:
        then = "办结后不能再办理任何步骤"
    return f"{state}，不能办理{_step(event_type)}；{then}"


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
