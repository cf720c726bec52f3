"""``liaison-hub serve``: projector and quality scheduler in one long-lived process."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import typer

from hub.cli_common import console, reach
from hub.cli_quality import ConfigOpt, load_quality_config


def serve_command(
    config: ConfigOpt = None,
    projector: Annotated[bool, typer.Option(
        "--projector/--no-projector", help="同时运行投影器（缺省运行）")] = True,
) -> None:
    """长期运行：投影器持续跟进事件流，并按配置中的 cron 表达式定时运行数据质量检查（Ctrl-C 停止）。"""
    from hub.config import load_settings
    from hub.serve import install_signal_handlers, serve
    from quality.config import config_path

    settings = load_settings()
    qconfig = load_quality_config(config)
    path: Path | None = config or config_path(settings.home)
    ep = reach(start=False)
    logging.getLogger("liaison-hub.serve").setLevel(logging.INFO)
    logging.getLogger("quality.scheduler").setLevel(logging.INFO)
    for entry in qconfig.schedule:
        dims = "、".join(str(d) for d in entry.dimensions) or "全部维度"
        console.print(f"定时检查 {entry.name}：cron “{entry.cron}”（北京时间），{dims}")
    console.print("投影器：" + ("运行" if projector else "不运行") + "；按 Ctrl-C 或发送 SIGTERM 停止。")

    async def main() -> None:
        stop = asyncio.Event()
        install_signal_handlers(stop)
        await serve(ep, qconfig, config_path=path, stop=stop, with_projector=projector)

    asyncio.run(main())
    console.print("已停止。")
