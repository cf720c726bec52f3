"""The HTML report opens in a real browser with no server and no network: headless Chromium
renders it, and a screenshot is kept for people to look at.

Chromium is Debian's ``chromium``; if it is missing the test installs it (``apt-get``, as
root) together with a CJK font, or is skipped saying why. The screenshot is written to
``$QUALITY_SCREENSHOT`` (default ``/tmp/liaison-hub-quality-report.png``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.test_quality import Env, env  # noqa: F401  (module fixture)

pytestmark = pytest.mark.integration

SCREENSHOT = Path(os.environ.get("QUALITY_SCREENSHOT", "/tmp/liaison-hub-quality-report.png"))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _apt(*packages: str) -> str | None:
    """Install with apt-get; the reason it could not, or None."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "not root"
    if shutil.which("apt-get") is None:
        return "no apt-get"
    apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        subprocess.run(["apt-get", "update", "-q"], check=True, capture_output=True, timeout=600,
                       env=apt_env)
        subprocess.run(["apt-get", "install", "-y", "-q", *packages], check=True,
                       capture_output=True, timeout=1200, env=apt_env)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        return f"apt-get install {' '.join(packages)} failed: {exc}"
    return None


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        why = _apt("chromium", "fonts-wqy-microhei")
        found = shutil.which("chromium")
        if found is None:
            pytest.skip(f"headless Chromium is not available and could not be installed ({why})")
    fonts = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False)
    if not fonts.stdout.strip():
        _apt("fonts-wqy-microhei")  # without a CJK font the text renders as boxes
    return found


def _browser(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile.mkdir(parents=True, exist_ok=True)
    return subprocess.run([binary, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120, check=False)


async def test_report_opens_in_headless_chromium(env: Env, tmp_path: Path) -> None:  # noqa: F811
    binary = chromium()
    # A history to draw: a clean run, one with faults at one township, and the faults fixed.
    await env.run()
    faults = ("UPDATE receptions SET status = 'cancelled' WHERE reception_id = 'R-330602002-01-2'",
              "UPDATE opinions SET deadline = '2025-03-05' WHERE opinion_id = 'O3'",
              "UPDATE event_archive SET recorded_at = recorded_at + interval '30 hours'"
              " WHERE event_id = '{visit_recorded__V2}'")
    undo = ("UPDATE receptions SET status = 'held' WHERE reception_id = 'R-330602002-01-2'",
            "UPDATE opinions SET deadline = '2025-04-30' WHERE opinion_id = 'O3'",
            "UPDATE event_archive SET recorded_at = recorded_at - interval '30 hours'"
            " WHERE event_id = '{visit_recorded__V2}'")
    await env.run()
    env.sql(*faults)
    try:
        run = await env.run()
    finally:
        env.sql(*undo)
    assert run.html_path is not None and not run.success
    url = run.html_path.resolve().as_uri()

    dom = _browser(binary, tmp_path / "profile-dom", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "数据质量检查报告" in dom.stdout and dom.stdout.count("<svg") >= 7
    assert "各节点评分" in dom.stdout and "异常记录示例" in dom.stdout

    shot = tmp_path / "report.png"
    result = _browser(binary, tmp_path / "profile-shot", "--hide-scrollbars",
                      "--window-size=1280,2600", f"--screenshot={shot}", url)
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000  # a rendered page, not a blank
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, SCREENSHOT)
    shutil.copyfile(run.html_path, SCREENSHOT.with_suffix(".html"))
    print(f"\nreport screenshot: {SCREENSHOT}")
