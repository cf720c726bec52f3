"""What every command module shares: the console, JSON output, reaching the servers."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Coroutine
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from hub import embedded
from hub.config import load_settings
from hub.runtime import Endpoints, NotRunning, endpoints

# Not wrapped, so a script grepping stderr sees whole lines; tables get room when piped.
console = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else 140)
T = TypeVar("T")
JsonOpt = Annotated[bool, typer.Option("--json", help="在标准输出打印一个 JSON 文档")]


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def emit_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2, default=str) + "\n")


def reach(start: bool) -> Endpoints:
    """The servers' URLs, or a Chinese message that says what to do and exit 2."""
    try:
        return endpoints(load_settings(), start=start)
    except NotRunning as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    except embedded.ServiceError as exc:
        console.print(
            f"[red]嵌入式服务启动失败：{exc}[/red]\n请查看数据目录下的日志，或执行 "
            "`liaison-hub down` 后重试。"
        )
        raise typer.Exit(2) from exc
