"""``liaison-hub analysis …``: 社情民意分析 (Art. 15): hot topics, words of the month, trends, timeliness."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from hub.cli_common import JsonOpt, console, emit_json, reach, run
from hub.runtime import prepare

analysis_app = typer.Typer(help="社情民意分析（条例第十五条）", no_args_is_help=True)


@analysis_app.command("minqing")
def minqing(
    as_json: JsonOpt = False,
    year: Annotated[int | None, typer.Option(help="分析年度（缺省为最近有意见建议的年度）")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="统计日 YYYY-MM-DD（缺省为年末或最近一条事件的日期）")] = None,
    html: Annotated[Path | None, typer.Option(help="另存为 HTML 页面")] = None,
) -> None:
    """热点话题（按区县、按月的突增）、各区县每月热词、类别趋势、交办件按期反馈率。"""
    from consumers.queries import latest_event_day
    from consumers.store import sync_connect
    from hub.cli_opinions import parse_day
    from quality.minqing import analyse_db, render_page, to_json

    ep = reach(start=False)
    run(prepare(ep))
    with sync_connect(ep.database_url) as conn:
        if year is None:
            row = conn.execute(
                "SELECT extract(year FROM max(received_at) AT TIME ZONE 'Asia/Shanghai')::int FROM opinions"
            ).fetchone()
            year = int(row[0]) if row and row[0] else date.today().year
        latest = latest_event_day(conn) or date.today()
        day = parse_day(as_of) or min(date(year, 12, 31), latest)
        with console.status("正在分词与分析…"):
            analysis = analyse_db(conn, year=year, as_of=day)
    if html is not None:
        html.write_text(render_page(analysis), encoding="utf-8")
        console.print(f"已写入 {html}")
    if as_json:
        emit_json(to_json(analysis))
        return
    console.print(f"{year} 年意见建议 {analysis.opinions} 件（统计截至 {day}）。")
    table = Table("区县", "月份", "关键词", "件数", "平时预期", "倍数", "主要乡镇（街道）", title="热点话题")
    for t in analysis.hot_topics:
        table.add_row(t.region_name, t.month, "、".join(t.keywords), str(t.opinions), str(t.expected),
                      str(t.lift), "、".join(f"{n}（{c}）" for n, c in t.townships))
    console.print(table)
    table = Table("类别", "合计", "下半年较上半年", "峰值月份", title="类别趋势")
    for c in analysis.categories:
        peak = max(range(12), key=lambda m: c.by_month[m]) + 1
        table.add_row(c.category, str(c.total), "—" if c.change is None else f"{c.change:+.0%}", f"{peak}月")
    console.print(table)
    table = Table("区县", "受理", "交办", "已到期", "按期反馈", "逾期反馈", "逾期未反馈", "按期反馈率",
                  title="办理时效")
    for r in [*analysis.by_region, analysis.overall]:
        share = r.share_on_time
        table.add_row(r.name, str(r.received), str(r.assigned), str(r.due), str(r.on_time), str(r.late),
                      str(r.overdue_open), "—" if share is None else f"{share:.1%}")
    console.print(table)
