"""Two organisations in one deployment: one ``backfill`` loads both, at once, each within its own limit.

Two sandboxes serve two synthetic organisations (different people, different tokens, each limited to
its own rate). One organisations file names both; one ``backfill`` loads them into one warehouse. Then
each sandbox is loaded alone, as a single-organisation deployment, into a directory of its own: each
organisation's rows of the shared warehouse, exported through ``export --organization``, must equal the
single run's.

Used by ``test_two_organizations.py``; ``python -m analytics_pipeline_tests.scenarios.two_organizations``
runs it at the issue's size (120 requests a minute, burst 20 each) and prints what it measured.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from analytics_pipeline.api.endpoints import ASSET_ENDPOINTS
from analytics_pipeline.sandbox import SandboxServer

FACT_TABLES = tuple(e.fact_table for e in ASSET_ENDPOINTS if e.fact_table)
TOKENS = {"acme": "acme-sandbox-token-1", "globex-eu": "globex-sandbox-token-2"}
VARIABLES = {"acme": "ACME_AUGMENT_TOKEN", "globex-eu": "GLOBEX_AUGMENT_TOKEN"}


@dataclass
class Run:
    """One backfill: how long it took, and what it printed."""

    seconds: float
    output: str


@dataclass
class TwoOrganizationsResult:
    together: Run
    alone: dict[str, Run]
    requests: dict[str, int]
    """Requests each sandbox answered during the backfill of both."""
    spans: dict[str, tuple[float, float]]
    """When each sandbox answered its first and last request of the backfill of both."""
    rate_limited: dict[str, int]
    exports: dict[str, dict[str, str]] = field(default_factory=dict)
    """Organisation -> table -> its rows exported from the shared warehouse (CSV)."""
    alone_exports: dict[str, dict[str, str]] = field(default_factory=dict)
    """Organisation -> table -> the single-organisation run's rows (CSV)."""
    outputs: list[str] = field(default_factory=list)

    def overlap(self) -> float:
        """The share of the shorter request span during which the other sandbox was answering too."""
        (a0, a1), (b0, b1) = self.spans.values()
        shorter = min(a1 - a0, b1 - b0)
        return max(0.0, min(a1, b1) - max(a0, b0)) / shorter if shorter > 0 else 0.0


def _base_env(root: Path) -> dict[str, str]:
    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "TMPDIR", "PYTHONPATH")}
    return {**keep, "HOME": str(home)}


def organizations_file(sandboxes: dict[str, SandboxServer], path: Path, rate: tuple[int, int]) -> Path:
    """The organisations file naming both sandboxes (the variables' names, never a token)."""
    tables = [
        f'[organizations.{name}]\ntoken_env = "{VARIABLES[name]}"\nbase_url = "{sandbox.url}"\n'
        f"requests_per_minute = {rate[0]}\nburst = {rate[1]}\n"
        for name, sandbox in sandboxes.items()
    ]
    path.write_text("\n".join(tables), encoding="utf-8")
    return path


def _cli(args: list[str], env: dict[str, str]) -> Run:
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "analytics_pipeline.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise AssertionError(f"`{' '.join(args[:1])}` failed ({done.returncode}):\n{output}")
    return Run(time.monotonic() - began, output)


def _export(env: dict[str, str], out_dir: Path, organization: str | None) -> dict[str, str]:
    """Every fact table (one organisation's rows when given), without the organisation column, sorted."""
    exports = {}
    out_dir.mkdir(parents=True, exist_ok=True)
    for table in FACT_TABLES:
        out = out_dir / f"{table}.csv"
        exclude = "organization, fetched_at" if table == "fct_budget_overrides" else "organization"
        where = f" where organization = '{organization}'" if organization else ""
        query = f"select * exclude ({exclude}) from {table}{where} order by all"
        _cli(["export", "--query", query, "--format", "csv", "--out", str(out)], env)
        exports[table] = out.read_text(encoding="utf-8")
    return exports


def run_two_organizations(
    root: Path,
    sandboxes: dict[str, SandboxServer],
    start: dt.date,
    end: dt.date,
    rate: tuple[int, int] = (120, 20),
) -> TwoOrganizationsResult:
    """Backfill both organisations in one deployment, then each alone; export and compare."""
    both = root / "both"
    env = {
        **_base_env(both),
        "ANALYTICS_DATA_DIR": str(both / "data"),
        "ANALYTICS_ORGANIZATIONS": str(organizations_file(sandboxes, root / "organizations.toml", rate)),
        **{VARIABLES[name]: TOKENS[name] for name in sandboxes},
    }
    before = {name: s.stats.total for name, s in sandboxes.items()}
    together = _cli(["backfill", "--start", str(start), "--end", str(end)], env)
    requests = {name: s.stats.total - before[name] for name, s in sandboxes.items()}
    spans = {name: s.stats.span for name, s in sandboxes.items()}
    assert all(span is not None for span in spans.values()), "a sandbox answered no request"
    result = TwoOrganizationsResult(
        together,
        {},
        requests,
        {name: span for name, span in spans.items() if span is not None},
        {name: s.stats.rate_limited for name, s in sandboxes.items()},
    )
    result.outputs.append(together.output)
    for name in sandboxes:
        result.exports[name] = _export(env, both / "exports" / name, name)

    for name, sandbox in sandboxes.items():
        alone = root / f"alone-{name}"
        single = {
            **_base_env(alone),
            "ANALYTICS_DATA_DIR": str(alone / "data"),
            "AUGMENT_API_TOKEN": TOKENS[name],
            "AUGMENT_API_BASE_URL": sandbox.url,
            "AUGMENT_API_REQUESTS_PER_MINUTE": str(rate[0]),
            "AUGMENT_API_BURST": str(rate[1]),
        }
        result.alone[name] = _cli(["backfill", "--start", str(start), "--end", str(end)], single)
        result.outputs.append(result.alone[name].output)
        result.alone_exports[name] = _export(single, alone / "exports", None)
    return result


def main() -> None:
    import tempfile

    from analytics_pipeline.dates import utc_today, yesterday
    from analytics_pipeline.sandbox import SyntheticOrg

    end = yesterday(utc_today()) - dt.timedelta(days=3)
    start = end - dt.timedelta(days=19)
    orgs = {
        "acme": SyntheticOrg(seed=11, people=120, service_accounts=3),
        "globex-eu": SyntheticOrg(seed=23, people=90, service_accounts=2),
    }
    with tempfile.TemporaryDirectory() as tmp:
        servers = {
            name: SandboxServer(org, tokens=(TOKENS[name],), requests_per_minute=120, burst=20)
            for name, org in orgs.items()
        }
        for server in servers.values():
            server.__enter__()
        try:
            result = run_two_organizations(Path(tmp), servers, start, end)
        finally:
            for server in servers.values():
                server.__exit__(None, None, None)
    same = all(result.exports[name] == result.alone_exports[name] for name in orgs)
    alone = ", ".join(f"{name} {run.seconds:.1f} s" for name, run in result.alone.items())
    print(
        f"two organisations, {start}..{end}, 120/min burst 20 each: one backfill of both "
        f"{result.together.seconds:.1f} s; each alone: {alone}; requests {result.requests}, "
        f"429s {result.rate_limited}; request spans overlap {result.overlap():.0%} of the shorter; "
        f"each organisation's rows equal its single run's: {same}"
    )


if __name__ == "__main__":
    main()
