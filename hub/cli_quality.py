"""``liaison-hub quality …``: data-quality checks for auditors (Art. 10)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from hub.cli_common import JsonOpt, console, emit_json, reach, run
from hub.config import load_settings
from hub.runtime import prepare

quality_app = typer.Typer(help="数据质量检查（条例第十条）", no_args_is_help=True)

# Exit codes of `quality run`: 0 all passed, 1 some check failed, 2 cannot run, 3 skipped.
EXIT_SKIPPED = 3
DIMENSIONS_HELP = "只检查这些维度（可重复）：规范性、完整性、准确性、一致性、时效性、可访问性"
ConfigOpt = Annotated[Path | None, typer.Option(
    "--config", help="质量检查配置文件（TOML）；缺省为 HUB_QUALITY_CONFIG 或数据目录下的 quality.toml")]


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


def scores_line(doc: dict[str, Any]) -> str:
    dims = "，".join(f"{d} {s:.1f}" for d, s in (doc.get("dimension_scores") or {}).items())
    overall = doc.get("overall_score")
    return f"综合得分 {overall:.1f}（{dims}）" if overall is not None else dims


def load_quality_config(path: Path | None) -> Any:
    from quality.config import ConfigError, load_config

    try:
        return load_config(load_settings().home, path)
    except ConfigError as exc:
        console.print(f"[red]质量检查配置有误：{exc}[/red]")
        raise typer.Exit(2) from exc


def parse_dimensions(values: list[str] | None) -> list[Any] | None:
    from quality.model import parse_dimension

    if not values:
        return None
    try:
        return [parse_dimension(v) for v in values]
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


@quality_app.command("run")
def quality_run(
    as_json: JsonOpt = False,
    year: Annotated[int | None, typer.Option(help="检查年度（缺省为有进站记录的最近年度）")] = None,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="统计截止日 YYYY-MM-DD（缺省为今天，且不晚于检查年度的 12 月 31 日）")] = None,
    dimension: Annotated[list[str] | None, typer.Option("--dimension", "-d", help=DIMENSIONS_HELP)] = None,
    skip_if_busy: Annotated[bool, typer.Option(
        "--skip-if-busy", help="若另一次检查正在进行则跳过（退出码 3），缺省为等待其结束")] = False,
    config: ConfigOpt = None,
    schema: Annotated[str, typer.Option(help="被检查的模式（如重建得到的 rebuild）")] = "projection",
    trigger: Annotated[str, typer.Option(hidden=True)] = "manual",
) -> None:
    """运行一次数据质量检查：结果存入 PostgreSQL，生成 HTML 与 JSON 报告，并在消息骨干上发布摘要。"""
    from quality.config import ConfigError
    from quality.custom import load_custom_checks
    from quality.job import run_once

    settings = load_settings()
    qconfig = load_quality_config(config)
    dims = parse_dimensions(dimension)
    try:
        load_custom_checks(qconfig.check_dirs)  # a broken custom check stops here, named
    except ConfigError as exc:
        console.print(f"[red]自定义检查有误：{exc}[/red]")
        raise typer.Exit(2) from exc
    try:
        cut_off = date.fromisoformat(as_of) if as_of else None
    except ValueError as exc:
        console.print(f"[red]--as-of 应为 YYYY-MM-DD：{exc}[/red]")
        raise typer.Exit(2) from exc
    if not re.match(r"^[a-z_][a-z0-9_]{0,62}$", schema):
        console.print(f"[red]--schema {schema!r} 无效：只能用小写字母、数字和下划线。[/red]")
        raise typer.Exit(2)
    ep = reach(start=False)
    run(prepare(ep))
    with console.status("正在检查数据质量…"):
        outcome = run(run_once(
            ep.nats_url, ep.database_url, reports_dir=settings.reports_dir, year=year,
            as_of=cut_off, config=qconfig, dimensions=dims, wait=not skip_if_busy,
            trigger=trigger, city=settings.city, schema=schema))
    if outcome.run is None:
        if as_json:
            emit_json({"status": "skipped", "reason": outcome.reason})
        console.print(f"[yellow]{outcome.reason}[/yellow]")
        raise typer.Exit(EXIT_SKIPPED)
    from quality.runner import to_json

    doc = to_json(outcome.run)
    doc["published"] = outcome.published is not None
    if as_json:
        emit_json(doc)
    else:
        console.print(quality_table(doc))
        console.print(scores_line(doc))
        console.print(f"报告：{outcome.run.html_path}\nJSON：{outcome.run.json_path}")
        if outcome.published is None:
            console.print("[yellow]摘要未能发布到消息骨干（事件流不可访问）[/yellow]")
    if not outcome.run.success:
        raise typer.Exit(1)


def _beijing(iso: str) -> str:
    from datetime import datetime

    from quality.params import CHINA_TZ

    return datetime.fromisoformat(iso).astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S")


def _arrow(delta: float | None) -> str:
    if delta is None or abs(delta) < 0.05:
        return ""
    return f" [green]▲{delta:+.1f}[/green]" if delta > 0 else f" [red]▼{delta:+.1f}[/red]"


@quality_app.command("history")
def quality_history(
    as_json: JsonOpt = False,
    limit: Annotated[int, typer.Option(help="显示最近几次检查")] = 10,
    schema: Annotated[str, typer.Option(help="被检查的模式")] = "projection",
) -> None:
    """最近几次检查的各维度得分与趋势，以及最近一次与上一次相比变好、变差的检查项。"""
    from quality import store
    from quality.history import history_view, scope_label, stored_changes
    from quality.model import Dimension

    ep = reach(start=False)
    rows = store.recent_runs(ep.database_url, limit, checked_schema=schema)
    points = history_view(rows)
    changes = stored_changes(ep.database_url, rows)
    skipped = store.skipped_runs(ep.database_url, schema, limit)
    if as_json:
        emit_json({"runs": points, "changes": changes,
                   "skipped": [{**s, "skipped_at": s["skipped_at"].isoformat()} for s in skipped]})
        return
    if not points:
        console.print("还没有检查记录。请执行 `liaison-hub quality run`。")
        return
    dims = [str(d) for d in Dimension]
    table = Table("时间", "范围", "触发", "综合", *dims, "未通过", title=f"最近 {len(points)} 次数据质量检查")
    previous: dict[str, float] = {}
    for p in points:
        cells = []
        for d in dims:
            v = p["dimensions"].get(d)
            cells.append("—" if v is None else f"{v:.1f}" + _arrow(
                v - previous[d] if d in previous else None))
            if v is not None:
                previous[d] = v
        table.add_row(_beijing(p["started_at"]), scope_label(p["scope"]),
                      str(p.get("trigger") or ""),
                      "—" if p["overall"] is None else f"{p['overall']:.1f}", *cells,
                      str(p["checks_failed"]))
    console.print(table)
    if changes.get("previous"):
        console.print(f"最近一次与上一次检查（{_beijing(changes['previous']['started_at'])}）相比：")
        for c in changes["worse"]:
            console.print(f"  [red]变差[/red] {c['title_zh']}（{c['dimension']}）：{c['change']}，"
                          f"异常 {c['previous']} → {c['current']}")
        for c in changes["better"]:
            console.print(f"  [green]变好[/green] {c['title_zh']}（{c['dimension']}）：{c['change']}，"
                          f"异常 {c['previous']} → {c['current']}")
        if not changes["worse"] and not changes["better"]:
            console.print("  各检查项结果没有变化。")
    if skipped:
        console.print(f"因另一次检查正在进行而跳过的定时检查：{len(skipped)} 次（最近一次 "
                      f"{skipped[0]['skipped_at']:%Y-%m-%d %H:%M:%S}）")
