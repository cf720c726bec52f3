"""``liaison-hub opinions …``: the Art. 15 workflow's deadlines and its 分级分类 routing rules."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from hub.cli_common import JsonOpt, console, emit_json, reach, run
from hub.runtime import prepare

opinions_app = typer.Typer(help="群众意见建议：超期督办与分级分类交办规则（条例第十五条）", no_args_is_help=True)

AsOfOpt = Annotated[
    str | None, typer.Option("--as-of", help="统计日 YYYY-MM-DD（缺省为最近一条事件的日期）")
]
_LEVELS = {"township": "乡镇（街道）", "county": "县（市、区）", "city": "市"}


def parse_day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        console.print(f"[red]日期格式应为 YYYY-MM-DD：{text}[/red]")
        raise typer.Exit(2) from exc


@opinions_app.command("overdue")
def overdue(
    as_json: JsonOpt = False,
    as_of: AsOfOpt = None,
    limit: Annotated[int, typer.Option(help="列出的超期件数上限（--json 时全部列出）")] = 20,
) -> None:
    """超过办理期限仍未反馈或逾期反馈的交办件，按承办单位、按联络站汇总。"""
    from consumers.queries import latest_event_day, overdue_opinions
    from consumers.store import sync_connect

    ep = reach(start=False)
    run(prepare(ep))
    with sync_connect(ep.database_url) as conn:
        day = parse_day(as_of) or latest_event_day(conn) or date.today()
        report = overdue_opinions(conn, day)
    if as_json:
        emit_json(report.to_json())
        return
    doc = report.to_json()
    console.print(
        f"截至 {day}：超期交办件 {doc['overdue']} 件，其中仍未反馈 {doc['still_open']} 件，"
        f"逾期反馈 {doc['answered_late']} 件。"
    )
    if not report.items:
        return
    for title, groups in (("按承办单位", report.by_unit), ("按联络站", report.by_station)):
        table = Table("名称", "超期件数", "仍未反馈", "逾期反馈", "最长超期（天）", title=title)
        for g in groups:
            table.add_row(g.name, str(g.overdue), str(g.still_open), str(g.answered_late), str(g.max_days))
        console.print(table)
    table = Table("意见编号", "联络站", "类别", "承办单位", "办理期限", "状态", "超期（天）", "督办次数",
                  title=f"超期件（前 {min(limit, len(report.items))} 件）")
    for i in report.items[:limit]:
        state = "仍未反馈" if i.state == "open" else f"{i.feedback_on} 反馈"
        table.add_row(i.opinion_id, i.station_name, i.category, i.unit, str(i.deadline), state,
                      str(i.days_overdue), str(i.supervisions))
    console.print(table)


@opinions_app.command("rules")
def rules(
    as_json: JsonOpt = False,
    file: Annotated[Path | None, typer.Option(help="校验并显示此规则文件（缺省为随附的规则）")] = None,
    city: Annotated[str, typer.Option(help="城市区划代码")] = "3306",
) -> None:
    """分级分类交办规则：某类意见建议在某一层级交给哪个承办单位、办理期限几天。"""
    from schemas.regions import load_regions
    from schemas.routing import RoutingError, load_routing, parse_routing

    try:
        if file is None:
            rules_ = load_routing(city)
        else:
            rules_ = parse_routing(file.read_text(encoding="utf-8"), load_regions(city))
    except RoutingError as exc:
        console.print(f"[red]规则文件无效：{exc}[/red]")
        raise typer.Exit(2) from exc
    doc = rules_.doc
    if as_json:
        emit_json({
            "city": doc.city, "version": doc.version, "source": doc.source, "illustrative": doc.illustrative,
            "rules": [{"category": r.category, "level": r.level, "unit": r.unit, "deadline_days": r.deadline_days}
                      for r in doc.rules],
        })
        return
    note = "（示例规则）" if doc.illustrative else ""
    table = Table("类别", "层级", "承办单位（模板）", "办理期限（天）", title=f"分级分类交办规则 {doc.version}{note}")
    for r in doc.rules:
        table.add_row(r.category, _LEVELS[r.level], r.unit, str(r.deadline_days))
    console.print(table)
    console.print(f"来源：{doc.source}\n规则有效：{len(doc.rules)} 条，{len(rules_.categories)} 个类别。")
