"""``liaison-hub topology …`` (a multi-level topology on this machine) and ``liaison-hub deploy
render`` (the NATS configuration of a real deployment)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from hub.cli_common import JsonOpt, console, emit_json, run
from hub.config import load_settings

topology_app = typer.Typer(help="多级拓扑（本机）：市级集群、县级与乡镇叶节点、投影器", no_args_is_help=True)
deploy_app = typer.Typer(help="生成真实部署的 NATS 配置", no_args_is_help=True)

CountiesOpt = Annotated[
    str | None, typer.Option("--counties", help="县级区划代码，逗号分隔（缺省：前两个县）")
]


def _codes(text: str | None) -> list[str] | None:
    return [c.strip() for c in text.split(",") if c.strip()] if text else None


@topology_app.command("up")
def topology_up(
    counties: CountiesOpt = None,
    townships: Annotated[int, typer.Option(help="每县乡镇数（0 = 全部）")] = 2,
    as_json: JsonOpt = False,
) -> None:
    """启动市级三节点集群、县级与乡镇叶节点（各自的 JetStream 域与事件流）、PostgreSQL 与市级投影器。"""
    from hub.topology import Topology, local_root, start_local, status

    home = load_settings().home
    root = local_root(home)
    if counties and (root / "topology.json").exists():
        have = set(Topology.load(root).plan.counties)
        if have != set(_codes(counties) or []):
            console.print(
                f"[yellow]{root} 已有拓扑（县 {', '.join(sorted(have))}），沿用之；要换成新的县，"
                "先执行 `liaison-hub topology down` 并删除该目录。[/yellow]"
            )
    with console.status("启动多级拓扑…"):
        topo, local = start_local(home, counties=_codes(counties), townships=townships or None)
        doc = run(status(topo))
    doc["database_url"] = local.database_url
    doc["services_pid"] = local.services_pid
    if as_json:
        emit_json(doc)
        return
    _print_status(doc)
    console.print(f"PostgreSQL（市级投影）：{local.database_url}")
    console.print("停止请执行 `liaison-hub topology down`。")


@topology_app.command("down")
def topology_down() -> None:
    """停止本机多级拓扑的全部进程（数据保留）。"""
    from hub.topology import stop_local

    stopped = stop_local(load_settings().home)
    console.print("已停止多级拓扑。" if stopped else "没有正在运行的多级拓扑。")


RootOpt = Annotated[
    Path | None,
    typer.Option("--root", help="deploy render 生成的目录（真实部署）；缺省为本机拓扑"),
]


def _root(root: Path | None) -> Path:
    from hub.topology import local_root

    return root or local_root(load_settings().home)


@topology_app.command("status")
def topology_status(as_json: JsonOpt = False, root: RootOpt = None) -> None:
    """各服务器进程与叶节点连接，各节点事件流的消息数与来源（source）滞后。"""
    from hub.topology import Topology, TopologyError, status

    try:
        topo = Topology.load(_root(root))
    except TopologyError as exc:
        console.print(f"[red]{exc}[/red]；请先执行 `liaison-hub topology up`。")
        raise typer.Exit(2) from exc
    doc = run(status(topo))
    if as_json:
        emit_json(doc)
        return
    _print_status(doc)


def _print_status(doc: dict[str, Any]) -> None:
    servers = Table("服务器", "节点", "运行", "客户端", "叶节点端口", "集群端口", "已连接叶节点", title="NATS 服务器")
    for s in doc["servers"]:
        servers.add_row(
            s["name"],
            s["node"],
            "是" if s["running"] else "[red]否[/red]",
            s["client"],
            str(s["leaf_port"] or ""),
            str(s["cluster_port"] or ""),
            str(len(s["leafs"])),
        )
    console.print(servers)
    streams = Table("节点", "名称", "域", "上行", "事件", "下发", "收件箱", "来源（域:滞后/空闲秒）", title="事件流")
    for n in doc["nodes"]:
        st = n["streams"]

        def count(name: str, st: dict[str, Any] = st) -> str:
            s = st.get(name)
            return "" if s is None else str(s.get("messages", s.get("error", "")))

        sources = "; ".join(
            f"{src['domain']}:{src['lag']}/{src['idle_s']}"
            for s in st.values()
            for src in s.get("sources", [])
        )
        uplink = "" if n["uplink"] is None else ("通" if n["uplink"] else "[yellow]断[/yellow]")
        streams.add_row(
            n["node"], n["name"], n["domain"], uplink, count("LLS_EVENTS"), count("LLS_DOWN"),
            count("LLS_INBOX"), n.get("error") or sources,
        )
    console.print(streams)


@topology_app.command("uplink")
def topology_uplink(
    node: Annotated[str, typer.Argument(help="县或乡镇区划代码")],
    up: Annotated[bool, typer.Option("--up/--down", help="接通或断开该节点的上行叶节点连接")] = True,
) -> None:
    """断开或恢复一个节点的上行连接（演练离线：本地照常写入，恢复后上级自动追平）。"""
    from hub.topology import Topology, local_root

    topo = Topology.load(local_root(load_settings().home))
    topo.set_uplink(node, up=up)
    console.print(f"{node} 上行连接已{'恢复' if up else '断开'}。")


@topology_app.command("reconcile")
def topology_reconcile(
    as_json: JsonOpt = False,
    root: RootOpt = None,
    database_url: Annotated[str | None, typer.Option(help="市级投影库（缺省：本机拓扑的）")] = None,
) -> None:
    """逐节点核对：本站发布数、到达县级与市级的数量、市级投影数，列出缺失与重复的事件 id。"""
    from hub.topology import Topology, read_services, reconcile

    folder = _root(root)
    topo = Topology.load(folder)
    local = read_services(folder)
    rec = run(reconcile(topo, database_url or (local.database_url if local else None)))
    doc = rec.to_json()
    if as_json:
        emit_json(doc)
    else:
        print_reconciliation(doc)
    if not rec.exact:
        raise typer.Exit(1)


def print_reconciliation(doc: dict[str, Any]) -> None:
    table = Table("节点", "名称", "发布", "县级", "市级", "市级投影", "缺口/重复", title="跨级核对")
    for n in doc["nodes"]:
        gaps = (
            len(n["missing_at_county"])
            + len(n["missing_at_city"])
            + len(n["missing_in_projection"])
            + len(n["unexpected_at_city"])
            + sum(len(v) for v in n["duplicates"].values())
        )
        table.add_row(
            n["node"],
            n["name"],
            str(n["published"]),
            "" if n["at_county"] is None else str(n["at_county"]),
            str(n["at_city"]),
            "" if n["projected"] is None else str(n["projected"]),
            "[green]0[/green]" if gaps == 0 else f"[red]{gaps}[/red]",
        )
    console.print(table)
    console.print("[green]各级一致：无缺失、无重复。[/green]" if doc["exact"] else "[red]存在缺失或重复（--json 查看事件 id）。[/red]")


@topology_app.command("services", hidden=True)
def topology_services(home: Annotated[Path, typer.Option()]) -> None:
    """（内部）市级投影器与来源看护，由 topology up 在后台启动。"""
    from hub.topology import Topology, local_root, read_services, run_services

    root = local_root(home)
    topo = Topology.load(root)
    local = read_services(root)
    if local is None:
        raise typer.Exit(2)

    async def go() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run_services(topo, local.database_url, stop)

    run(go())


@deploy_app.command("render")
def deploy_render(
    city: Annotated[str, typer.Option(help="市级区划代码（schemas/data/regions_<city>.json）")] = "3306",
    out: Annotated[Path, typer.Option(help="输出目录")] = Path("deploy/3306"),
    counties: Annotated[
        str | None, typer.Option("--counties", help="县级区划代码，逗号分隔（缺省：全部县）")
    ] = None,
    townships: Annotated[int, typer.Option(help="每县乡镇数（0 = 全部）")] = 0,
    local: Annotated[bool, typer.Option(help="全部放在 127.0.0.1 的空闲端口上（本机拓扑）")] = False,
    host_template: Annotated[
        str, typer.Option(help="各服务器主机名模板，{name} 为服务器名（3306-1、330602、330602001）")
    ] = "lls-{name}.nats.internal",
) -> None:
    """按区划清单生成：市级三节点集群、各县与各乡镇叶节点的 nats.conf、事件流定义与 nkey 凭据。"""
    from hub.deploy_render import render_city

    plan = render_city(
        city,
        out,
        counties=_codes(counties),
        townships_per_county=townships or None,
        local=local,
        host_template=host_template,
    )
    console.print(
        f"已生成 {len(plan.servers)} 个服务器的配置（{len(plan.counties)} 个县、{len(plan.townships)} 个乡镇）"
        f"到 {out}；私钥在 {out / 'secrets'}（权限 0600，勿入库）。"
    )


def topology_demo(*, as_json: bool, opinions: int, counties: int = 2) -> None:
    """``liaison-hub demo --topology``: the main job through the multi-level topology."""
    from hub.cli_quality import quality_table
    from hub.topology_demo import run_topology_demo

    settings = load_settings()
    result = run(run_topology_demo(settings.home, settings.reports_dir, console, opinions=opinions, counties=counties))
    ok = result.faults_exact and not result.unplanned_failures and result.reconciled
    if as_json:
        emit_json(
            {
                "ok": ok,
                "servers": result.servers,
                "timings": result.timings,
                "events_planned": result.events_planned,
                "events_published": result.events_published,
                "foreign_published": result.foreign_published,
                "projected": result.projected,
                "reconciliation": result.reconciliation,
                "quality": result.quality,
                "report_html": result.report_html,
                "planted_faults": [
                    {"kind": f.kind, "check": f.check_id, "planted": f.planted, "found": f.found, "exact": f.exact}
                    for f in result.faults
                ],
                "unplanned_failures": result.unplanned_failures,
                "database_url": result.database_url,
            }
        )
    else:
        console.print(quality_table(result.quality))
        faults = Table("预置问题", "预置", "检出", "核对", title="预置问题核对（应恰好检出这些，不多不少）")
        for f in result.faults:
            faults.add_row(
                f.kind, ", ".join(f.planted), ", ".join(f.found), "[green]一致[/green]" if f.exact else "[red]不一致[/red]"
            )
        console.print(faults)
        print_reconciliation(result.reconciliation)
        t = result.timings
        rate = result.events_published / t["publish_s"] if t.get("publish_s") else 0
        console.print(
            f"{result.servers} 个 nats-server 进程；发布并汇聚至市级 {result.events_published:,} 条"
            f"（{rate:,.0f} 条/秒，{t['publish_s']:.1f} 秒）；投影 {t['project_s']:.1f} 秒；"
            f"核对 {t['reconcile_s']:.1f} 秒；质量检查 {t['quality_s']:.1f} 秒；合计 {t['total_s']:.1f} 秒"
        )
        console.print(f"报告：{result.report_html}")
        console.print("多级拓扑仍在运行（市级投影器在后台）；`liaison-hub topology status` 查看，`liaison-hub topology down` 停止。")
    if not ok:
        raise typer.Exit(1)


@deploy_app.command("provision")
def deploy_provision(
    streams_dir: Annotated[Path, typer.Argument(help="本节点的事件流定义目录（streams/<code>/）")],
    url: Annotated[str, typer.Option(help="本节点 nats-server 的客户端地址")] = "nats://127.0.0.1:4222",
    seed: Annotated[Path, typer.Option(help="本节点管理员 nkey 私钥文件")] = Path("/etc/liaison-hub/secrets/admin.nk"),
) -> None:
    """按生成的定义创建或更新本节点的事件流（幂等；与 `nats stream add --config` 等效）。"""
    import json

    import nats
    from nats.js.api import StreamConfig

    from hub.topology import _ensure_stream

    async def go() -> list[tuple[str, str]]:
        nc = await nats.connect(url, nkeys_seed=str(seed), name="lls-provision")
        try:
            js = nc.jetstream(timeout=10)
            done = []
            for path in sorted(streams_dir.glob("*.json")):
                cfg = StreamConfig.from_response(json.loads(path.read_text()))
                done.append((str(cfg.name), await _ensure_stream(js, cfg, 60)))
            return done
        finally:
            await nc.close()

    for name, what in run(go()):
        console.print(f"{name}: {what}")


@deploy_app.command("watch")
def deploy_watch(
    url: Annotated[str, typer.Option(help="本节点 nats-server 的客户端地址")] = "nats://127.0.0.1:4222",
    seed: Annotated[Path, typer.Option(help="本节点管理员 nkey 私钥文件（secrets/admin.nk）")] = Path(
        "/etc/liaison-hub/secrets/admin.nk"
    ),
    streams: Annotated[str, typer.Option(help="要看护的事件流，逗号分隔")] = "LLS_EVENTS,LLS_INBOX",
    interval: Annotated[float, typer.Option(help="检查间隔（秒）")] = 2.0,
) -> None:
    """来源看护（每个汇聚节点运行一个）：上游恢复后立即重新挂接停滞的 source，而不是等服务器最长 2 分钟的退避。"""
    import nats

    from hub.topology import kick_stalled_sources

    names = [s.strip() for s in streams.split(",") if s.strip()]

    async def go() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        nc = await nats.connect(url, nkeys_seed=str(seed), name="lls-source-watchdog", max_reconnect_attempts=-1)
        try:
            while not stop.is_set():
                try:
                    for k in await kick_stalled_sources(nc, names):
                        console.print(f"重新挂接 {k.stream} 的来源 {k.source_domain}（空闲 {k.inactive_s:.0f} 秒）")
                except Exception as exc:
                    console.print(f"[yellow]看护检查失败：{exc}[/yellow]")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), interval)
        finally:
            await nc.close()

    run(go())
