"""``liaison-hub quality …``: data-quality checks for auditors (Art. 10)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer
from rich.table import Table

from hub.cli_common import JsonOpt, console, emit_json, reach, run
from hub.config import load_settings
from hub.runtime import Endpoints, prepare

quality_app = typer.Typer(help="数据质量检查（条例第十条）", no_args_is_help=True)


def quality_table(doc: dict[str, Any]) -> Table:
    table = Table("维度", "检查项", "条款", "结果", "异常数", title="数据质量检查")
    for c in doc["checks"]:
        table.add_row(
            c["dimension"],
            c["title_zh"],
            c.get("article") or "",
            "[green]通过[/green]" if c["success"] else "[red]未通过[/red]",
            str(c["unexpected_count"]),
        )
    return table


@quality_app.command("run")
def quality_run(
    as_json: JsonOpt = False,
    year: Annotated[int | None, typer.Option(help="检查年度（缺省为有进站记录的最近年度）")] = None,
) -> None:
    """运行一次数据质量检查，结果存入 PostgreSQL 并生成 HTML 与 JSON 报告。"""
    from hub.status import collect
    from quality.runner import run_quality, to_json

    settings = load_settings()
    ep = reach(start=False)
    run(prepare(ep))
    status_doc = run(collect(ep))
    if year is None:
        year = _latest_year(ep) or date.today().year
    as_of = min(date.today(), date(year, 12, 31))
    with console.status("正在检查数据质量…"):
        outcome = run_quality(
            ep.database_url,
            stream_count=status_doc["stream"]["messages"],
            year=year,
            as_of=as_of,
            reports_dir=settings.reports_dir,
        )
    doc = to_json(outcome)
    if as_json:
        emit_json(doc)
    else:
        console.print(quality_table(doc))
        console.print(f"报告：{outcome.html_path}\nJSON：{outcome.json_path}")
    if not outcome.success:
        raise typer.Exit(1)


def _latest_year(ep: Endpoints) -> int | None:
    from consumers.store import sync_connect

    with sync_connect(ep.database_url) as conn:
        row = conn.execute("SELECT max(year) FROM visits").fetchone()
    return int(row[0]) if row and row[0] else None


