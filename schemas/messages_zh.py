"""Chinese wording of validation errors, for the people who read them (node operators,
auditors). msgspec's English stays available to developers as ``EventRejected.reason``."""

from __future__ import annotations

import re

_TYPES = {"str": "文本", "int": "整数", "float": "数值", "bool": "布尔值", "object": "对象",
          "array": "数组", "null": "空值", "datetime": "日期时间", "date": "日期"}

_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^Expected `datetime` with a timezone component$"), "时间必须带时区（例如 +08:00）"),
    (re.compile(r"^Expected `(\w+)` matching regex '(.*)'$"), "格式不符合要求（应匹配 {1}）"),
    (re.compile(r"^Expected `(\w+)` >= (\S+)$"), "应不小于 {1}"),
    (re.compile(r"^Expected `(\w+)` <= (\S+)$"), "应不大于 {1}"),
    (re.compile(r"^Expected `(\w+)` of length >= (\d+)$"), "长度应不少于 {1}"),
    (re.compile(r"^Expected `(\w+)` of length <= (\d+)$"), "长度应不超过 {1}"),
    (re.compile(r"^Expected `(\w+)`, got `(\w+)`$"), "类型应为{T0}，实际为{T1}"),
    (re.compile(r"^Expected `([\w |]+)`, got `(\w+)`$"), "类型应为 {0}，实际为{T1}"),
    (re.compile(r"^Object missing required field `(.+)`$"), "缺少必填字段 `{0}`"),
    (re.compile(r"^Object contains unknown field `(.+)`$"), "含有未定义的字段 `{0}`"),
    (re.compile(r"^Invalid enum value (.+)$"), "取值 {0} 不在允许范围内"),
    (re.compile(r"^Invalid value (.+)$"), "未知的事件类型 {0}"),
    (re.compile(r"^Invalid RFC3339 encoded datetime$"), "日期时间格式无效（应为 RFC 3339，如 2025-03-01T09:00:00+08:00）"),
    (re.compile(r"^Invalid ISO8601 encoded date$"), "日期格式无效（应为 2025-03-01）"),
    (re.compile(r"^not valid JSON.*$"), "不是合法的 JSON"),
    (re.compile(r"^a line must be a JSON object$"), "每行必须是一个 JSON 对象"),
]


def translate(reason: str) -> str:
    """The Chinese for a known English reason; the original text if none is known."""
    for pattern, template in _RULES:
        m = pattern.match(reason)
        if m:
            groups = m.groups()
            out = template
            for i, g in enumerate(groups):
                out = out.replace(f"{{T{i}}}", _TYPES.get(g, g)).replace(f"{{{i}}}", g)
            return out
    return reason
