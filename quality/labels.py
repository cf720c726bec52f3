"""Chinese labels for the report's readers (auditors, not engineers)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from quality.model import Dimension
from quality.params import CHINA_TZ
from schemas.regions import load_regions
from schemas.workflow import STATE_LABELS

DIMENSION_NOTES: dict[Dimension, str] = {
    Dimension.CONFORMITY: "数据符合数据标准、业务规则和权威参考数据的程度",
    Dimension.COMPLETENESS: "按照规则要求，数据元素和记录被赋予数值的程度",
    Dimension.ACCURACY: "数据准确表示其所描述的真实实体的程度（含唯一性）",
    Dimension.CONSISTENCY: "数据与其他特定上下文中使用的数据无矛盾的程度",
    Dimension.TIMELINESS: "数据在时间变化中的正确程度",
    Dimension.ACCESSIBILITY: "数据能被访问和使用的程度",
}

LEVELS = {"city": "市", "county": "县（市、区）", "township": "乡镇（街道）", "unknown": "其他"}

COLUMNS: dict[str, str] = {
    "station_id": "站点编号", "name": "名称", "level": "层级", "region_code": "区划代码",
    "deputy_id": "代表编号", "visit_id": "记录编号", "opinion_id": "意见编号",
    "category": "类别", "status": "状态", "year": "年度", "visits": "进站次数",
    "required": "应达次数", "month": "月份", "missing_items": "缺少的公示项",
    "missing": "缺少项数", "stream_seq": "消息序号", "subject": "消息主题", "stage": "环节",
    "reason": "原因", "occurrences": "出现次数", "stream_count": "消息流条数",
    "archived": "归档事件数", "dead_letters": "死信数", "difference": "差额",
    "node": "所属节点", "event_type": "事件类型", "missing_ids": "缺失的事件编号",
    "extra_ids": "多出的事件编号", "entity": "记录类型", "entity_id": "记录编号",
    "event_id": "事件编号", "gap": "不一致情形", "origin": "发布节点", "site": "站点",
    "upper_site": "上级站点", "lower_count": "本级条数", "upper_count": "上级条数",
    "type": "事件类型", "occurred_at": "发生时间", "recorded_at": "记录时间",
    "lag_hours": "时延（小时）", "assigned_unit": "承办单位", "deadline": "办理期限",
    "feedback_at": "反馈时间", "channel": "渠道", "received_at": "受理时间",
    "reception_id": "活动编号", "theme": "主题", "announced_at": "公告时间",
    "starts_at": "活动时间", "notice_days": "提前天数", "last_at": "最近一次记录",
    "stream": "事件流", "error": "错误", "published_at": "发布时间",
    "waiting_minutes": "已等待（分钟）", "table": "表", "column": "字段", "value": "取值",
    "stream_total": "消息流", "own": "本级自身", "townships_sum": "下级合计", "total": "合计",
}

EVENT_TYPES: dict[str, str] = {
    "station.established": "站点设立", "station.closed": "站点撤销",
    "staff.assigned": "工作人员任职", "staff.released": "工作人员离任",
    "disclosure.published": "信息公示", "deputy.enrolled": "代表编入", "deputy.left": "代表离站",
    "visit.recorded": "进站履职登记", "reception.scheduled": "主题接待活动公告",
    "reception.held": "主题接待活动举行", "reception.cancelled": "主题接待活动取消",
    "opinion.received": "意见建议受理", "opinion.answered": "意见建议当场答复",
    "opinion.redirected": "告知法定途径", "opinion.assigned": "意见建议交办",
    "opinion.supervised": "意见建议督办", "opinion.feedback_given": "意见建议反馈",
    "opinion.reported": "意见建议报送", "opinion.closed": "意见建议办结",
}

_VALUES: dict[str, str] = {
    "national": "全国人大代表", "provincial": "省人大代表", "city": "市人大代表",
    "county": "县（市、区）人大代表", "township": "乡（镇）人大代表",
    "deputies": "编入本站的人大代表基本信息", "staff": "工作人员基本信息和工作职责",
    "rules_and_plan": "主要工作制度、年度工作计划", "opinion_process": "群众意见建议处理流程",
    "app_usage": "应用场景使用方式", "other": "其他应当公开的信息",
    "decode": "解析失败", "apply": "入库失败", "duplicate": "重复",
    "held": "已举行", "scheduled": "已公告", "cancelled": "已取消", "open": "开放", "closed": "已撤销",
}
_TIMES = {"occurred_at", "recorded_at", "feedback_at", "received_at", "announced_at",
          "starts_at", "last_at", "published_at"}


def column(name: str) -> str:
    return COLUMNS.get(name, name)


def node_name(code: str | None, city: str = "3306") -> str:
    if not code:
        return "（未知节点）"
    name = load_regions(city).names().get(code)
    return f"{name}（{code}）" if name else f"{code}（区划清单外）"


def _time(raw: Any) -> str:
    text = str(raw)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is None:
        return text
    return moment.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")


def value(name: str, raw: Any) -> str:
    if raw is None:
        return "（空）"
    if name == "missing_items":
        return "、".join(_VALUES.get(v, v) for v in str(raw).split(","))
    if name in ("level", "stage"):
        return _VALUES.get(str(raw), str(raw))
    if name in ("node", "origin", "site", "upper_site"):
        return node_name(str(raw))
    if name in ("event_type", "type"):
        label = EVENT_TYPES.get(str(raw))
        return f"{label}（{raw}）" if label else str(raw)
    if name == "status":
        return STATE_LABELS.get(str(raw)) or _VALUES.get(str(raw), str(raw))
    if name in _TIMES:
        return _time(raw)
    return str(raw)
