"""``liaison-hub deputies …``: deputies' performance archives (Art. 20)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from hub.cli_common import JsonOpt, console, emit_json, reach, run
from hub.runtime import prepare

deputies_app = typer.Typer(help="人大代表履职档案（条例第二十条）", no_args_is_help=True)

LEVELS = {"national": "全国", "provincial": "省", "city": "市", "county": "县（市、区）", "township": "乡镇"}
ACTIVITIES = {
    "daily_contact": "日常联系群众", "themed_reception": "主题接待", "consultation": "听取意见（协商）",
    "inspection": "视察", "survey": "专项调研", "grid_service": "网格化服务", "law_promotion": "普法宣传",
    "study_session": "专题学习", "report_to_voters": "向选民述职", "enforcement_check": "执法检查",
    "project_supervision": "项目监督", "official_contact": "国家机关负责人联系",
}
RATINGS = {"excellent": "优秀", "competent": "称职", "basically_competent": "基本称职", "incompetent": "不称职"}


def _kinds(row: dict[str, Any]) -> str:
    kinds = row["visits_by_activity"] or {}
    return "、".join(f"{ACTIVITIES.get(k, k)}{n}" for k, n in sorted(kinds.items(), key=lambda kv: -kv[1]))


@deputies_app.command("archive")
def archive(
    deputy_id: Annotated[str | None, typer.Argument(help="代表编号（缺省为全部代表）")] = None,
    year: Annotated[int | None, typer.Option(help="年度（缺省为全部年度）")] = None,
    as_json: JsonOpt = False,
) -> None:
    """代表履职档案：进站次数（按类型）、参加接待、收到的意见建议及办理结果、述职与评议。"""
    from consumers.queries import deputy_archive
    from consumers.store import sync_connect

    ep = reach(start=False)
    run(prepare(ep))
    with sync_connect(ep.database_url) as conn:
        rows = deputy_archive(conn, deputy_id=deputy_id, year=year)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        console.print("没有符合条件的履职记录。")
        raise typer.Exit(1 if deputy_id else 0)
    table = Table("代表", "层级", "年度", "进站", "应达", "主题接待", "活动", "机关联系", "意见建议",
                  "当场答复/告知/交办/办结", "述职", "评议", "线索", title="人大代表履职档案（第二十条）")
    for r in rows:
        short = r["visits_required"] is not None and r["visits"] < r["visits_required"]
        table.add_row(
            f"{r['name']}（{r['deputy_id']}）", LEVELS.get(r["level"], r["level"]), str(r["year"]),
            f"[red]{r['visits']}[/red]" if short else str(r["visits"]),
            "—" if r["visits_required"] is None else str(r["visits_required"]),
            str(r["receptions_attended"]), str(r["activities"]), str(r["official_contacts"]),
            str(r["opinions_received"]),
            f"{r['opinions_answered']}/{r['opinions_redirected']}/{r['opinions_assigned']}/{r['opinions_closed']}",
            str(r["reports_to_voters"]), RATINGS.get(r["latest_rating"] or "", "—"), str(r["proposal_leads"]),
        )
    console.print(table)
    if deputy_id:
        for r in rows:
            console.print(f"{r['year']} 年进站类型：{_kinds(r) or '无'}")
