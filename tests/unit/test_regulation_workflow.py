"""Art. 15 workflow: every legal step is allowed, every illegal one refused with a clear error."""

from __future__ import annotations

import itertools

import pytest

from schemas.workflow import (
    FINAL_STATES,
    STATE_LABELS,
    STATES,
    STEP_LABELS,
    TRANSITIONS,
    IllegalTransition,
    allowed_steps,
    next_state,
)

# The regulation's order: 受理 -> (当场答复 | 告知法定途径 | 交办) -> 督办 -> 反馈 -> 报送 -> 办结.
EXPECTED: dict[str | None, set[str]] = {
    None: {"opinion.received"},
    "received": {"opinion.answered", "opinion.redirected", "opinion.assigned"},
    "answered": {"opinion.reported", "opinion.closed"},
    "redirected": {"opinion.closed"},
    "assigned": {"opinion.supervised", "opinion.feedback_given"},
    "supervised": {"opinion.supervised", "opinion.feedback_given"},
    "feedback_given": {"opinion.reported", "opinion.closed"},
    "reported": {"opinion.closed"},
    "closed": set(),
}
ILLEGAL = [(s, e) for s, e in itertools.product(STATES, TRANSITIONS) if e not in EXPECTED[s]]


def test_the_table_is_the_regulations_workflow() -> None:
    assert set(STATES) == set(EXPECTED)
    for state, steps in EXPECTED.items():
        assert set(allowed_steps(state)) == steps, state
    assert {"closed"} == FINAL_STATES
    assert set(STEP_LABELS) == set(TRANSITIONS)
    assert STEP_LABELS["opinion.assigned"] == "交办" and STEP_LABELS["opinion.supervised"] == "督办"


@pytest.mark.parametrize(("state", "event_type"), [(s, e) for s in STATES for e in sorted(EXPECTED[s])])
def test_each_legal_step_moves_to_its_target(state: str | None, event_type: str) -> None:
    assert next_state(state, event_type) == TRANSITIONS[event_type][1]


@pytest.mark.parametrize(("state", "event_type"), ILLEGAL)
def test_each_illegal_step_is_refused_with_a_clear_error(state: str | None, event_type: str) -> None:
    with pytest.raises(IllegalTransition) as info:
        next_state(state, event_type)
    message = str(info.value)
    # In Chinese: names the state (Chinese and code), the step (Chinese and code) and what to do instead.
    if state is None:
        assert message.startswith("意见尚未受理（系统中没有这条意见），")
    else:
        assert message.startswith(f"意见当前为「{STATE_LABELS[state]}」（{state}），")
    assert f"不能办理「{STEP_LABELS[event_type]}」（{event_type}）；" in message
    allowed = allowed_steps(state)
    if state is None:
        assert message.endswith("请先发布该意见的 opinion.received（受理）")
    elif event_type == "opinion.received":
        assert "该 `opinion_id` 已被使用" in message
    elif allowed:
        assert message.endswith("此时只能办理：" + "、".join(f"「{STEP_LABELS[a]}」（{a}）" for a in allowed))
    else:
        assert message.endswith("办结后不能再办理任何步骤")
    assert (info.value.current, info.value.event_type) == (state, event_type)


def test_illegal_pairs_are_many_and_cover_the_classic_mistakes() -> None:
    assert len(ILLEGAL) == len(STATES) * len(TRANSITIONS) - sum(len(v) for v in EXPECTED.values())
    for pair in [
        ("received", "opinion.feedback_given"),  # feedback without assignment
        ("received", "opinion.closed"),  # closed without any answer
        ("answered", "opinion.assigned"),  # two outcomes
        ("redirected", "opinion.reported"),
        ("assigned", "opinion.closed"),  # closed before the unit's feedback
        ("assigned", "opinion.reported"),
        ("feedback_given", "opinion.supervised"),
        ("closed", "opinion.received"),  # an id used twice
        (None, "opinion.assigned"),  # a step for an opinion never received
    ]:
        assert pair in ILLEGAL


def test_an_unknown_step_is_refused() -> None:
    with pytest.raises(IllegalTransition, match=r"opinion\.teleported"):
        next_state("received", "opinion.teleported")


def test_every_state_is_reachable_and_can_end() -> None:
    reached: set[str | None] = {None}
    frontier: list[str | None] = [None]
    while frontier:
        state = frontier.pop()
        for step in allowed_steps(state):
            target = next_state(state, step)
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(STATES)
    for state in STATES:
        # From anywhere but the end, 办结 is reachable.
        seen, todo = {state}, [state]
        while todo:
            s = todo.pop()
            for step in allowed_steps(s):
                t = next_state(s, step)
                if t not in seen:
                    seen.add(t)
                    todo.append(t)
        assert "closed" in seen
