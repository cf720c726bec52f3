"""``liaison-hub``: the command line for node operators, auditors and scripts.

Messages for people are in Chinese; ``--json`` prints one JSON document on stdout.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from hub import embedded
from hub.cli_analysis import analysis_app
from hub.cli_common import JsonOpt, console, emit_json, reach, run
from hub.cli_deputies import deputies_app
from hub.cli_opinions import opinions_app
from hub.cli_quality import quality_app, quality_table
from hub.cli_serve import serve_command
from hub.cli_topology import deploy_app, topology_app
from hub.config import load_settings
from hub.runtime import Endpoints, backbone, prepare

app = typer.Typer(
    help="人大代表联络站数据中枢（liaison-station data hub）", no_args_is_help=True, add_completion=False
)
schema_app = typer.Typer(help="事件契约：JSON Schema 导出")
app.add_typer(schema_app, name="schema")
app.add_typer(quality_app, name="quality")
app.add_typer(opinions_app, name="opinions")
app.add_typer(deputies_app, name="deputies")
app.add_typer(analysis_app, name="analysis")
app.add_typer(topology_app, name="topology")
app.add_typer(deploy_app, name="deploy")
app.command("serve")(serve_command)

@app.command()
def up() -> None:
    """启动嵌入式 NATS（JetStream）与 PostgreSQL，并创建事件流、消费者和投影表（可重复执行）。"""
    settings = load_settings()
    ep = reach(start=True)
    run(prepare(ep))
    where = f"数据目录 {settings.home}" if ep.embedded else "外部服务器"
    console.print(f"[green]已就绪[/green]（{where}）\n  NATS: {ep.nats_url}\n  PostgreSQL: {ep.database_url}")


@app.command()
def down() -> None:
    """停止嵌入式服务（数据保留在数据目录中）。"""
    settings = load_settings()
    stopped = embedded.down(settings.home)
    console.print("已停止嵌入式服务。" if stopped else "没有正在运行的嵌入式服务。")


@app.command()
def status(as_json: JsonOpt = False) -> None:
    """事件流位置、各表行数、各类事件数与死信。"""
    from hub.runtime import NotRunning, endpoints
    from hub.status import collect

    try:
        ep = endpoints(load_settings(), start=False)
    except NotRunning as exc:
        if as_json:
            emit_json({"running": False, "reason": str(exc)})
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    run(prepare(ep))
    doc = run(collect(ep))
    doc["running"] = True
    if as_json:
        emit_json(doc)
        return
    s = doc["stream"]
    console.print(
        f"事件流 {s['stream']}：{s['messages']:,} 条消息，最后序号 {s['last_seq']}；"
        f"投影检查点 {doc['checkpoint']}；待投影 {s.get('projector_pending')}"
    )
    table = Table("表", "行数", title="投影表")
    for name, n in doc["tables"].items():
        table.add_row(name, f"{n:,}")
    types = Table("事件类型", "已入库", title="各类事件")
    for name, n in doc["events_by_type"].items():
        types.add_row(name, f"{n:,}")
    console.print(table, types)
    if doc["dead_letters"]:
        letters = Table("序号", "阶段", "事件类型", "原因", title=f"死信（前 {len(doc['dead_letters'])} 条）")
        for d in doc["dead_letters"]:
            letters.add_row(str(d["stream_seq"]), d["stage"], d["event_type"] or "", d["reason"])
        console.print(letters)


@schema_app.command("export")
def schema_export(
    out: Annotated[Path | None, typer.Option(help="写入文件；缺省打印到标准输出")] = None,
) -> None:
    """导出事件信封的 JSON Schema，供非 Python 节点服务使用。"""
    from schemas.jsonschema import envelope_schema

    text = json.dumps(envelope_schema(), ensure_ascii=False, indent=2)
    if out:
        try:
            out.write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            console.print(f"[red]无法写入 {out}：{exc.strerror}。请检查目录是否存在、是否可写。[/red]")
            raise typer.Exit(2) from exc
        console.print(f"已写入 {out}")
    else:
        sys.stdout.write(text + "\n")


@app.command()
def publish(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSONL 文件，每行一个事件")],
    node: Annotated[str, typer.Option("--node", help="发布节点的区划代码（4/6/9 位）")],
    actor: Annotated[str, typer.Option(help="操作人")] = "jsonl-import",
    encoding: Annotated[str, typer.Option(help="文件编码（缺省 utf-8，可用 gbk 等）")] = "utf-8",
    as_json: JsonOpt = False,
) -> None:
    """从 JSONL 文件发布事件：错误行报告行号与字段，其余行照常发布；有被拒行时退出码为 1。

    未给 event_id 的行按节点与内容生成固定编号，同一文件重复发布只存一次。"""
    import codecs

    from producers.importer import LineError, LineEvent, read_jsonl
    from producers.sdk import NodePublisher, PublishFailed
    from schemas.regions import node_level

    try:
        node_level(node)
        codecs.lookup(encoding)
    except (ValueError, LookupError) as exc:
        console.print(f"[red]参数无效：{exc}[/red]")
        raise typer.Exit(2) from exc
    ep = reach(start=False)
    run(prepare(ep))
    parsed = list(read_jsonl(file, node, encoding))
    good = [p for p in parsed if isinstance(p, LineEvent)]
    bad = [p for p in parsed if isinstance(p, LineError)]
    for err in bad:
        console.print(f"[red]拒绝[/red] {file}:{err}")
    if not parsed:
        console.print(f"[yellow]{file} 中没有事件（空文件或只有空行）。[/yellow]")

    async def send() -> tuple[int, list[str]]:
        failed: list[str] = []
        duplicates = 0
        async with backbone(ep.nats_url, name=f"node-{node}") as (_, js):
            pub = NodePublisher(js, node, actor)
            for item in good:
                try:
                    ack = await pub.publish(item.envelope)
                    duplicates += bool(ack.duplicate)
                except PublishFailed as exc:
                    failed.append(f"第 {item.line} 行: {exc}")
        return duplicates, failed

    duplicates, failed = run(send())
    for f in failed:
        console.print(f"[red]发布失败[/red] {f}")
    stored = len(good) - len(failed) - duplicates
    if as_json:
        emit_json(
            {
                "published": stored,
                "already_stored": duplicates,
                "rejected": [
                    {
                        "line": e.line,
                        "event_type": e.error.event_type,
                        "event_id": e.error.event_id,
                        "field": e.error.field,
                        "reason": e.error.reason,
                        "reason_zh": e.error.reason_zh,
                    }
                    for e in bad
                ],
                "failed": failed,
            }
        )
    console.print(
        f"已发布 {stored} 条，此前已发布（服务器去重）{duplicates} 条，拒绝 {len(bad)} 条，发布失败 {len(failed)} 条。"
    )
    if bad or failed:
        raise typer.Exit(1)


@app.command()
def project(follow: Annotated[bool, typer.Option(help="持续运行（否则追平后退出）")] = False) -> None:
    """运行投影器：把事件流折叠进 PostgreSQL 投影表。"""
    from consumers import projector
    from consumers.store import LIVE_SCHEMA, connect

    ep = reach(start=False)
    run(prepare(ep))

    async def go() -> projector.BatchStats:
        async with backbone(ep.nats_url) as (_, js), await connect(ep.database_url, LIVE_SCHEMA) as conn:
            return await projector.run(
                js, conn, until_caught_up=not follow,
                reconnect=lambda: connect(ep.database_url, LIVE_SCHEMA),
                give_up_after=None if follow else 120.0,
            )

    if follow:
        console.print("投影器持续运行中（Ctrl-C 停止）…")
    try:
        stats = run(go())
    except (projector.ProjectorBusy, projector.ProjectorStopped) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(
        f"投影完成：应用 {stats.applied:,} 条，死信 {stats.dead_lettered}，重复 {stats.duplicates}，"
        f"重投已计 {stats.redelivered}，检查点 {stats.last_seq}"
    )


@app.command()
def share(follow: Annotated[bool, typer.Option(help="持续运行（否则追平后退出）")] = False) -> None:
    """向下游共享脱敏事件（lls.share.>，去除群众个人信息），基于 FastStream。"""
    from consumers.share import run_share

    ep = reach(start=False)
    run(prepare(ep))

    async def go() -> int:
        async with backbone(ep.nats_url) as (_, js):
            return await run_share(ep.nats_url, js, until_caught_up=not follow)

    shared = run(go())
    console.print(f"共享流 LLS_SHARE 现有 {shared:,} 条脱敏事件（下游订阅 lls.share.<市>.<县>.<乡>.>）。")


@app.command()
def rebuild(
    as_json: JsonOpt = False, schema: Annotated[str, typer.Option(help="重建到的新模式名")] = "rebuild"
) -> None:
    """从事件流重放到新表，并与在线投影逐表比对。"""
    from consumers.rebuild import rebuild as do_rebuild

    ep = reach(start=False)
    run(prepare(ep))

    async def go() -> Any:
        async with backbone(ep.nats_url) as (_, js):
            return await do_rebuild(js, ep.database_url, schema)

    from consumers.rebuild import REBUILD_SCHEMA

    if not REBUILD_SCHEMA.match(schema):
        console.print(f"[red]--schema 无效：重建目标必须是 rebuild 或 rebuild_<小写字母数字>（{schema!r} 会被先删除，不允许）。[/red]")
        raise typer.Exit(2)
    with console.status("正在从事件流重放…"):
        report = run(go())
    doc = {
        "schema": report.schema,
        "up_to_seq": report.up_to_seq,
        "replayed": report.replayed,
        "equal": report.equal,
        "tables": [
            {
                "table": t.table,
                "live_rows": t.live_rows,
                "rebuilt_rows": t.rebuilt_rows,
                "only_live": t.only_live,
                "only_rebuilt": t.only_rebuilt,
                "equal": t.equal,
            }
            for t in report.tables
        ],
    }
    if as_json:
        emit_json(doc)
    else:
        table = Table(
            "表", "在线", "重建", "仅在线", "仅重建", "一致", title=f"重建至序号 {report.up_to_seq}"
        )
        for t in report.tables:
            table.add_row(
                t.table,
                str(t.live_rows),
                str(t.rebuilt_rows),
                str(t.only_live),
                str(t.only_rebuilt),
                "是" if t.equal else "[red]否[/red]",
            )
        console.print(table)
        console.print(
            "[green]重建结果与在线投影一致。[/green]"
            if report.equal
            else "[red]重建结果与在线投影不一致。[/red]"
        )
    if not report.equal:
        raise typer.Exit(1)


@app.command()
def demo(
    as_json: JsonOpt = False,
    opinions: Annotated[int, typer.Option(help="模拟的群众意见建议数量", min=0)] = 11_000,
    topology: Annotated[
        bool, typer.Option("--topology", help="经多级拓扑运行：各节点向本站发布，经叶节点汇聚至市级集群")
    ] = False,
) -> None:
    """主流程演示：启动嵌入式服务，模拟绍兴市一年数据，发布、投影、质量检查，并核对预置问题。"""
    from hub.demo import run_demo

    if topology:
        from hub.cli_topology import topology_demo

        topology_demo(as_json=as_json, opinions=opinions)
        return
    settings = load_settings()
    ep = reach(start=True)
    run(prepare(ep))
    result = run(run_demo(ep, settings.reports_dir, console, opinions=opinions))
    ok = result.faults_exact and not result.unplanned_failures
    if as_json:
        emit_json(
            {
                "ok": ok,
                "timings": result.timings,
                "events_planned": result.events_planned,
                "events_published": result.events_published,
                "foreign_published": result.foreign_published,
                "projected": result.projected,
                "status": result.status,
                "quality": result.quality,
                "report_html": result.report_html,
                "planted_faults": [
                    {
                        "kind": f.kind,
                        "check": f.check_id,
                        "planted": f.planted,
                        "found": f.found,
                        "exact": f.exact,
                    }
                    for f in result.faults
                ],
                "unplanned_failures": result.unplanned_failures,
            }
        )
    else:
        _print_demo(result, ep)
    if not ok:
        raise typer.Exit(1)


def _print_demo(result: Any, ep: Endpoints) -> None:
    t = result.timings
    console.print(quality_table(result.quality))
    faults = Table("预置问题", "预置", "检出", "核对", title="预置问题核对（应恰好检出这些，不多不少）")
    for f in result.faults:
        faults.add_row(
            f.kind,
            ", ".join(f.planted),
            ", ".join(f.found),
            "[green]一致[/green]" if f.exact else "[red]不一致[/red]",
        )
    console.print(faults)
    if result.unplanned_failures:
        console.print(f"[red]意外未通过的检查：{', '.join(result.unplanned_failures)}[/red]")
    pub_rate = result.events_published / t["publish_s"] if t["publish_s"] else 0
    proj_n = sum(result.projected.values())
    proj_rate = proj_n / t["project_s"] if t["project_s"] else 0
    console.print(
        f"事件：发布 {result.events_published:,} 条（{pub_rate:,.0f} 条/秒，{t['publish_s']:.1f} 秒）；"
        f"投影 {proj_n:,} 条（{proj_rate:,.0f} 条/秒，{t['project_s']:.1f} 秒）；"
        f"质量检查 {t['quality_s']:.1f} 秒；合计 {t['total_s']:.1f} 秒"
    )
    console.print(f"报告（HTML，可直接用浏览器打开）：{result.report_html}")
    if ep.embedded:
        console.print(
            "嵌入式服务仍在运行，可继续执行 `liaison-hub status`、`liaison-hub quality run`；"
            "停止请执行 `liaison-hub down`。"
        )


def _quiet_great_expectations(record: logging.LogRecord) -> bool:
    # GX sets its own loggers to INFO on import and logs temp folders there; auditors need not see that.
    return not (record.name.startswith("great_expectations") and record.levelno < logging.WARNING)


def main() -> None:
    import nats.errors
    import psycopg

    from consumers.store import InvalidSchemaName

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(_quiet_great_expectations)
    try:
        app()
    except (nats.errors.NoServersError, nats.errors.TimeoutError, ConnectionError) as exc:
        console.print(f"[red]无法连接 NATS 服务器（{type(exc).__name__}）。[/red]请检查 HUB_NATS_URL，"
                      "或用 `liaison-hub up` 启动嵌入式服务，再用 `liaison-hub status` 确认。")
        raise SystemExit(3) from exc
    except nats.errors.ConnectionClosedError as exc:
        console.print("[red]与 NATS 服务器的连接中断。[/red]已确认的事件已存储；请用 `liaison-hub status` "
                      "确认服务器恢复后重新执行同一命令（同一事件只会存储一次）。")
        raise SystemExit(3) from exc
    except InvalidSchemaName as exc:
        console.print(f"[red]{exc}[/red]")
        raise SystemExit(2) from exc
    except psycopg.errors.UndefinedTable as exc:
        console.print(f"[red]数据库中找不到所需的表：{str(exc).splitlines()[0]}[/red]\n"
                      "请检查 --schema 是否写错，或先执行 `liaison-hub up` 建表。")
        raise SystemExit(2) from exc
    except UnicodeDecodeError as exc:
        console.print(f"[red]文件不是 UTF-8 编码（第 {exc.start + 1} 个字节起无法解码）。[/red]请另存为 UTF-8 后重试。")
        raise SystemExit(2) from exc
    except psycopg.OperationalError as exc:
        console.print(f"[red]无法连接 PostgreSQL：{str(exc).splitlines()[0]}[/red]\n请检查 HUB_DATABASE_URL，"
                      "或用 `liaison-hub up` 启动嵌入式服务，再用 `liaison-hub status` 确认。")
        raise SystemExit(3) from exc


@app.command()
def bench(
    events: Annotated[int, typer.Option(help="事件数", min=100)] = 20_000,
    as_json: JsonOpt = False,
) -> None:
    """性能基准：原始上限（nats-py 发布/拉取、psycopg COPY）与本系统流水线同场测量，打印比值。"""
    from hub.bench import run_bench

    with console.status(f"在临时嵌入式服务上测量 {events:,} 个事件…"):
        doc = run(run_bench(events))
    if as_json:
        emit_json(doc)
        return
    table = Table("测量项", "数量", "秒", "条/秒", title=f"基准（{doc['events']:,} 个事件，同一次运行）")
    for f in doc["figures"]:
        table.add_row(f["name"], f"{f['count']:,}", f"{f['seconds']:.2f}", f"{f['per_second']:,}")
    console.print(table)
    for k, v in doc["ratios"].items():
        console.print(f"  {k} = {v:.2f}")
