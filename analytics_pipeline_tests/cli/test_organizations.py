"""--organization on every command, against two sandboxes (two organisations, two tokens) in one warehouse."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from analytics_pipeline.api.endpoints import ASSET_ENDPOINTS
from analytics_pipeline.dates import utc_today, yesterday
from analytics_pipeline.sandbox import SandboxServer, SyntheticOrg
from analytics_pipeline_tests.conftest import (
    TEST_BURST,
    TEST_REQUESTS_PER_MINUTE,
    assert_one_line_error,
    run_cli,
)

END = yesterday(utc_today()) - dt.timedelta(days=2)
START = END - dt.timedelta(days=3)
RANGE = ("--start", str(START), "--end", str(END))
TOKENS = {"acme": "acme-cli-token-1", "globex-eu": "globex-cli-token-2"}


@pytest.fixture(scope="module")
def sandboxes() -> Iterator[dict[str, SandboxServer]]:
    orgs = {
        "acme": SyntheticOrg(seed=3, people=12, service_accounts=1),
        "globex-eu": SyntheticOrg(seed=3, people=8, service_accounts=1),  # the first 8 people again
    }
    with contextlib.ExitStack() as stack:
        yield {
            name: stack.enter_context(
                SandboxServer(
                    org,
                    tokens=(TOKENS[name],),
                    requests_per_minute=TEST_REQUESTS_PER_MINUTE,
                    burst=TEST_BURST,
                )
            )
            for name, org in orgs.items()
        }


def environment(sandboxes: dict[str, SandboxServer], tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "organizations.toml"
    path.write_text(
        "\n".join(
            f'[organizations.{name}]\ntoken_env = "{name.upper().replace("-", "_")}_TOKEN"\n'
            f'base_url = "{server.url}"\n'
            f"requests_per_minute = {TEST_REQUESTS_PER_MINUTE}\nburst = {TEST_BURST}\n"
            for name, server in sandboxes.items()
        ),
        encoding="utf-8",
    )
    return {
        "ANALYTICS_ORGANIZATIONS": str(path),
        "ANALYTICS_DATA_DIR": str(tmp_path / "data"),
        "ACME_TOKEN": TOKENS["acme"],
        "GLOBEX_EU_TOKEN": TOKENS["globex-eu"],
    }


def members(data_dir: Path) -> dict[str, int]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute("select organization, count(*) from dim_users group by all").fetchall()
    return dict(rows)


def sent(sandboxes: dict[str, SandboxServer]) -> dict[str, int]:
    return {name: server.stats.total for name, server in sandboxes.items()}


def test_each_command_takes_the_organisations_it_is_given(
    sandboxes: dict[str, SandboxServer], tmp_path: Path
) -> None:
    env = environment(sandboxes, tmp_path)
    data_dir = tmp_path / "data"

    before = sent(sandboxes)
    result = run_cli("backfill", *RANGE, "--organization", "acme", env=env)
    assert result.exit_code == 0, result.output
    assert "[acme]" in result.output and "[globex-eu]" not in result.output
    after = sent(sandboxes)
    assert after["globex-eu"] == before["globex-eu"] and after["acme"] > before["acme"]
    assert set(members(data_dir)) == {"acme"}
    assert (data_dir / "raw" / "dau").is_dir() is False  # no 'default' here: each under its own folder
    assert (data_dir / "raw" / "organization=acme" / "dau").is_dir()

    # Every organisation: the one loaded is skipped, the other fetched; the same email twice is two members.
    result = run_cli("backfill", *RANGE, env=env)
    assert result.exit_code == 0, result.output
    assert sent(sandboxes)["acme"] == after["acme"]
    assert members(data_dir) == {"acme": 13, "globex-eu": 9}

    result = run_cli("plan", *RANGE, env=env)
    assert result.exit_code == 0, result.output
    assert "Plan of acme" in result.output and "Plan of globex-eu" in result.output
    assert "All 2 organisations at once: ETA" in result.output

    out = tmp_path / "acme.csv"
    args = ("export", "--table", "dim_users", "--format", "csv", "--out", str(out))
    assert run_cli(*args, "--organization", "acme", env=env).exit_code == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 14 and all(line.endswith(",acme") for line in lines[1:])
    assert_one_line_error(
        run_cli(*args, "--organization", "nope", env=env), "holds nothing of organisation 'nope'"
    )
    assert_one_line_error(run_cli(*args, "--organization", "../x", env=env), "is not an organisation's name")
    query = ("export", "--query", "from dim_users", "--format", "csv", "--out", str(out))
    assert_one_line_error(
        run_cli(*query, "--organization", "acme", env=env), "filter on the organization column"
    )

    result = run_cli("report", "--organization", "acme", "--organization", "globex-eu", env=env)
    assert result.exit_code == 0, result.output
    assert (data_dir / "reports" / "acme" / "usage.html").is_file()
    assert (data_dir / "reports" / "globex-eu" / "usage.html").is_file()
    assert run_cli("report", env=env).exit_code == 0
    assert "all organisations" in (data_dir / "reports" / "usage.html").read_text()

    result = run_cli("rebuild", "--organization", "globex-eu", env=env)
    assert result.exit_code == 0, result.output
    assert "[globex-eu] Rebuilt" in result.output and "[acme]" not in result.output
    assert members(data_dir) == {"acme": 13, "globex-eu": 9}

    result = run_cli("nightly", env=env)
    assert result.exit_code == 0, result.output
    day = yesterday(utc_today())
    assert f"Loaded {day} for acme." in result.output and f"Loaded {day} for globex-eu." in result.output
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        loaded = con.execute(
            "select organization, count(*) from pipeline_partitions where date = ? group by all", [day]
        ).fetchall()
    daily = sum(1 for e in ASSET_ENDPOINTS if not e.monthly)
    assert dict(loaded) == {"acme": daily, "globex-eu": daily}

    unauthorized = {name: server.stats.by_status.get(401, 0) for name, server in sandboxes.items()}
    assert unauthorized == {"acme": 0, "globex-eu": 0}  # each token went to its own API only


def test_an_unknown_organisation_is_one_line(sandboxes: dict[str, SandboxServer], tmp_path: Path) -> None:
    env = environment(sandboxes, tmp_path)
    for command in (("backfill", *RANGE), ("plan", *RANGE), ("nightly",)):
        result = run_cli(*command, "--organization", "initech", env=env)
        assert_one_line_error(
            result, "no organisation 'initech' in ANALYTICS_ORGANIZATIONS; use one of: acme, globex-eu"
        )
    assert not (tmp_path / "data" / "warehouse.duckdb").exists()


def test_a_missing_token_variable_stops_every_fetching_command(
    sandboxes: dict[str, SandboxServer], tmp_path: Path
) -> None:
    env = environment(sandboxes, tmp_path)
    del env["GLOBEX_EU_TOKEN"]
    before = sent(sandboxes)
    for command in (("backfill", *RANGE), ("plan", *RANGE), ("nightly",)):
        assert_one_line_error(run_cli(*command, env=env), "GLOBEX_EU_TOKEN is not set")
    assert sent(sandboxes) == before
