from __future__ import annotations

import itertools

import pytest

from consumers.privacy import mask_address, mask_name, mask_payload, mask_phone
from schemas.workflow import STATE_LABELS, TRANSITIONS, IllegalTransition, next_state

STATES = list(STATE_LABELS)


def test_happy_paths() -> None:
    for path in (
        ["opinion.received", "opinion.answered", "opinion.closed"],
        ["opinion.received", "opinion.redirected", "opinion.closed"],
        ["opinion.received", "opinion.assigned", "opinion.supervised", "opinion.feedback_given",
         "opinion.reported", "opinion.closed"],
    ):
        state = None
        for step in path:
            state = next_state(state, step)
        assert state == "closed"


@pytest.mark.parametrize(("state", "event_type"), list(itertools.product(STATES, TRANSITIONS)))
def test_every_pair_is_allowed_exactly_when_the_table_says(state: str | None, event_type: str) -> None:
    allowed, target = TRANSITIONS[event_type]
    if state in allowed:
        assert next_state(state, event_type) == target
    else:
        with pytest.raises(IllegalTransition, match=event_type):
            next_state(state, event_type)


def test_masking() -> None:
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_phone("138-1234-5678") == "138****5678"
    assert mask_address("浙江省绍兴市越城区塔山街道") == "浙江省绍兴市***"
    masked = mask_payload({"citizen": {"name": "张三", "phone": "13812345678", "address": None}})
    assert masked["citizen"] == {"name": "张*", "phone": "138****5678", "address": None}
