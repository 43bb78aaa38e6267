"""Take the screenshots in ``docs/screenshots/``: what a Dagster user sees after a backfill and a nightly run.

Everything on loopback: the bundled sandbox API, ``analytics-pipeline backfill`` and ``nightly`` recording
their runs in a persistent Dagster instance (the project's ``dagster.yaml``), then ``dagster-webserver`` on
that instance, photographed by headless Chromium (Debian's ``chromium``, as the report's tests use).

    .venv/bin/python docs/screenshots/take_screenshots.py

Takes about two minutes; writes ``asset_graph.png``, ``partition_metadata.png`` and ``check_history.png``
next to this file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from analytics_pipeline.dates import utc_today, yesterday
from analytics_pipeline.sandbox import SandboxServer, SyntheticOrg

HERE = Path(__file__).resolve().parent
PROJECT_ROOT = HERE.parents[1]
BIN = Path(sys.executable).parent
CHROMIUM = Path("/usr/bin/chromium")
# Chromium as root: no sandbox; and none of its background connections (refused here, noisily).
CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
TOKEN = "sandbox-token"
DAYS = 14
PEOPLE = 60
VIEWPORT = {"width": 1600, "height": 1150}
PARTITION_ASSET = "raw_user_activity"
CHECKED_ASSET = "fct_dau_users"
CHECK = "unique_keys"
REPORT_ASSET = "usage_report"
LOAD_SECONDS = 120
SETTLE_MS = 4000
DIALOG_MS = 20_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(env: dict[str, str], *args: str) -> None:
    """An ``analytics-pipeline`` command, its output shown; stops the script when it fails."""
    print("$ analytics-pipeline", " ".join(args), flush=True)
    subprocess.run([str(BIN / "analytics-pipeline"), *args], env=env, cwd=PROJECT_ROOT, check=True)


@contextlib.contextmanager
def webserver(env: dict[str, str], home: Path) -> Iterator[str]:
    """``dagster-webserver`` on the instance in ``home``, once it answers; its URL."""
    port = free_port()
    log = (home / "webserver.log").open("wb")
    process = subprocess.Popen(
        [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + LOAD_SECONDS
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/server_info", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit(f"dagster-webserver did not start; see {home / 'webserver.log'}")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def photograph(url: str, shots: dict[str, tuple[str, str | None]]) -> None:
    """Each ``name: (path, tab to click or None)`` of the UI at ``url``, saved as ``<name>.png`` here."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_FLAGS)
        )
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(f"{url}/overview")
        # A new instance's first visit asks to join a newsletter, a few seconds in; decline once.
        skip = page.get_by_role("button", name="Skip")
        with contextlib.suppress(PlaywrightTimeout):
            skip.wait_for(timeout=DIALOG_MS)
            skip.click()
        for name, (path, tab) in shots.items():
            page.goto(f"{url}{path}")
            page.wait_for_load_state("networkidle")
            if tab is not None:
                page.get_by_text(tab, exact=True).click()
                page.wait_for_load_state("networkidle")
            # The graph lays itself out and the panels fill in after the data arrives.
            page.wait_for_timeout(SETTLE_MS)
            page.screenshot(path=HERE / f"{name}.png")
            print(f"wrote {HERE / f'{name}.png'}", flush=True)
        browser.close()


def main() -> None:
    if not CHROMIUM.exists():
        raise SystemExit(f"Debian's chromium is needed ({CHROMIUM}): apt-get install chromium")
    end = yesterday(utc_today())
    start = end - dt.timedelta(days=DAYS - 1)
    partition = (end - dt.timedelta(days=3)).isoformat()
    with (
        tempfile.TemporaryDirectory(prefix="screenshots-") as tmp,
        SandboxServer(SyntheticOrg(people=PEOPLE), tokens=(TOKEN,), requests_per_minute=None) as sandbox,
    ):
        home = Path(tmp) / "dagster_home"
        home.mkdir()
        shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
        with (home / "dagster.yaml").open("a", encoding="utf-8") as settings:
            settings.write("telemetry:\n  enabled: false\n")
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "AUGMENT_API_TOKEN": TOKEN,
            "AUGMENT_API_BASE_URL": sandbox.url,
            "AUGMENT_API_REQUESTS_PER_MINUTE": "6000",
            "AUGMENT_API_BURST": "100",
            "ANALYTICS_DATA_DIR": str(Path(tmp) / "data"),
        }
        run(env, "backfill", "--start", start.isoformat(), "--end", end.isoformat())
        run(env, "nightly")
        with webserver(env, home) as url:
            photograph(
                url,
                {
                    "asset_graph": (
                        f"/assets/{REPORT_ASSET}?view=lineage&lineageScope=upstream&lineageDepth=3",
                        None,
                    ),
                    "partition_metadata": (
                        f"/assets/{PARTITION_ASSET}?view=partitions&partition={partition}",
                        None,
                    ),
                    "check_history": (
                        f"/assets/{CHECKED_ASSET}?view=checks&checkDetail={CHECK}",
                        "Execution history",
                    ),
                },
            )


if __name__ == "__main__":
    main()
