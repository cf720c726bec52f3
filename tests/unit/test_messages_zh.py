"""Reasons stored in dead letters are read by auditors: they are written in Chinese."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from consumers.projector import refused_reason
from schemas import events as ev
from schemas.envelope import decode, encode
from tests.unit.test_schemas import EVENT_ID, good

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u4e00-\u9fff]")


def _messages(path: Path, exceptions: set[str]) -> list[tuple[int, str]]:
    """The literal text of every ``raise X(...)`` of the given exception types in a module."""
    out = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
            continue
        func = node.exc.func
        if not (isinstance(func, ast.Name) and func.id in exceptions and node.exc.args):
            continue
        text = "".join(
            str(part.value) for part in ast.walk(node.exc.args[0])
            if isinstance(part, ast.Constant) and isinstance(part.value, str)
        )
        out.append((node.lineno, text))
    return out


@pytest.mark.parametrize(
    ("module", "exceptions"),
    [
        ("schemas/events.py", {"ValueError"}),
        ("consumers/projection.py", {"ApplyError"}),
    ],
)
def test_every_refusal_is_written_in_chinese(module: str, exceptions: set[str]) -> None:
    messages = _messages(ROOT / module, exceptions)
    assert messages, module
    english = [(line, text) for line, text in messages if not CJK.search(text)]
    assert not english, f"{module}: messages without Chinese: {english}"
    if module == "schemas/events.py":
        # schemas/envelope.py names the field after the first backticked word.
        assert all(text.startswith("`") for _, text in messages), messages


def test_a_database_refusal_names_the_event_and_keeps_the_engineers_error() -> None:
    env = decode(json.dumps(good()).encode())
    assert isinstance(env.payload, ev.VisitRecorded)
    error = RuntimeError('duplicate key value violates unique constraint "visits_pkey"')
    assert refused_reason(encode(env), error) == (
        f"visit.recorded：数据库拒绝写入 `event_id` {EVENT_ID} 的事件，请把这条死信交给技术人员处理"
        '（数据库报错：duplicate key value violates unique constraint "visits_pkey"）'
    )
    assert refused_reason(b"{not json", RuntimeError("boom")) == (
        "数据库拒绝写入该事件，请把这条死信交给技术人员处理（数据库报错：boom）"
    )
