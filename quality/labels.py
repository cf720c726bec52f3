"""Chinese labels for the report's readers (auditors, not engineers)."""

from __future__ import annotations

from typing import Any

from quality.model import Dimension

DIMENSION_NOTES: dict[Dimension, str] = {
    Dimension.CONFORMITY: "数据符合数据标准、业务规则和权威参考数据的程度",
    Dimension.COMPLETENESS: "按照规则要求，数据元素和记录被赋予数值的程度",
    Dimension.ACCURACY: "数据准确表示其所描述的真实实体的程度（含唯一性）",
    Dimension.CONSISTENCY: "数据与其他特定上下文中使用的数据无矛盾的程度",
    Dimension.TIMELINESS: "数据在时间变化中的正确程度",
    Dimension.ACCESSIBILITY: "数据能被访问和使用的程度",
}

COLUMNS: dict[str, str] = {
    "station_id": "站点编号", "name": "名称", "level": "层级", "region_code": "区划代码",
    "deputy_id": "代表编号", "visit_id": "记录编号", "opinion_id": "意见编号",
    "category": "类别", "status": "状态", "year": "年度", "visits": "进站次数",
    "required": "应达次数", "month": "月份", "missing_items": "缺少的公示项",
    "missing": "缺少项数", "stream_seq": "消息序号", "subject": "消息主题", "stage": "环节",
    "reason": "原因", "occurrences": "出现次数", "stream_count": "消息流条数",
    "archived": "归档事件数", "dead_letters": "死信数", "difference": "差额",
}

_VALUES: dict[str, str] = {
    "national": "全国人大代表", "provincial": "省人大代表", "city": "市人大代表",
    "county": "县（市、区）人大代表", "township": "乡（镇）人大代表",
    "deputies": "编入本站的人大代表基本信息", "staff": "工作人员基本信息和工作职责",
    "rules_and_plan": "主要工作制度、年度工作计划", "opinion_process": "群众意见建议处理流程",
    "app_usage": "应用场景使用方式", "other": "其他应当公开的信息",
    "decode": "解析失败", "apply": "入库失败", "duplicate": "重复",
}


def column(name: str) -> str:
    return COLUMNS.get(name, name)


def value(name: str, raw: Any) -> str:
    if raw is None:
        return "（空）"
    if name == "missing_items":
        return "、".join(_VALUES.get(v, v) for v in str(raw).split(","))
    if name in ("level", "stage"):
        return _VALUES.get(str(raw), str(raw))
    return str(raw)
