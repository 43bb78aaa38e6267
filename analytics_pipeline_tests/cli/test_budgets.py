"""``analytics-pipeline budgets``: export, plan, apply and plan again against a sandbox of the test's own
(its writes change the organisation's budgets, which the session's sandbox must keep), a partial failure
that a second apply finishes, and bad input refused in one line before any request."""

from __future__ import annotations

import contextlib
import datetime as dt
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result

from analytics_pipeline.api import RetryPolicy
from analytics_pipeline.dates import utc_today, yesterday
from analytics_pipeline.defs.resources import AnalyticsApiResource
from analytics_pipeline.report.data import Period, report_data
from analytics_pipeline.sandbox import FaultInjector, FaultPlan, SandboxServer, SyntheticOrg
from analytics_pipeline.warehouse import Warehouse
from analytics_pipeline_tests.conftest import (
    SANDBOX_TOKEN,
    TEST_BURST,
    TEST_REQUESTS_PER_MINUTE,
    assert_one_line_error,
    run_cli,
    sandbox_env,
)
from analytics_pipeline_tests.postgres_server import PostgresServer
from analytics_pipeline_tests.warehouse.test_lake import lake_env, lake_of

CREDITS = "BUDGET_RESOURCE_CREDITS_CONSUMED"
USD = "BUDGET_RESOURCE_USD_COST"
MONTHLY = "BUDGET_PERIOD_MONTHLY"
DAY = yesterday(utc_today())


@pytest.fixture
def org() -> SyntheticOrg:
    return SyntheticOrg(seed=5, people=16, service_accounts=1)


@pytest.fixture
def server(org: SyntheticOrg) -> Iterator[SandboxServer]:
    with SandboxServer(
        org, tokens=(SANDBOX_TOKEN,), requests_per_minute=TEST_REQUESTS_PER_MINUTE, burst=TEST_BURST
    ) as running:
        yield running


@pytest.fixture
def env(server: SandboxServer, tmp_path: Path) -> dict[str, str]:
    """The sandbox's variables, with yesterday loaded (dim_users and a snapshot of the overrides)."""
    values = sandbox_env(server, tmp_path)
    result = run_cli("backfill", "--start", DAY.isoformat(), "--end", DAY.isoformat(), env=values)
    assert result.exit_code == 0, result.output
    return values


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two attempts without waiting, so a refused write fails at once."""
    monkeypatch.setattr(AnalyticsApiResource, "retry_policy", lambda self: RetryPolicy(2, base_delay=0))


def _budget(email: str, limit: str, resource: str = CREDITS) -> str:
    return (
        f'\n[[budget]]\nuser_email = "{email}"\nresource = "{resource}"\nperiod = "{MONTHLY}"\n'
        f'limit = "{limit}"\n'
    )


def _without_override(org: SyntheticOrg, count: int) -> list[str]:
    """People active yesterday (so in dim_users) who have no credits override."""
    held = {o["user_email"] for o in org.get_budget_overrides(resource=CREDITS)}
    active = {r["user_email"] for r in org.dau_users(DAY) if r.get("user_email")}
    return sorted(active - held)[:count]


def _changes(data_dir: Path) -> list[tuple[str, str, str, str | None, str, str]]:
    with Warehouse(data_dir / "warehouse.duckdb").reader() as con:
        rows = con.execute(
            "select user_email, action, outcome, old_limit::varchar, new_limit::varchar, organization "
            "from fct_budget_changes order by changed_at, user_email"
        ).fetchall()
    return [tuple(r) for r in rows]


def _snapshot(data_dir: Path) -> dict[str, float]:
    with Warehouse(data_dir / "warehouse.duckdb").reader() as con:
        rows = con.execute(
            "select user_email, limit_value::double from fct_budget_overrides "
            "where snapshot_date = ? and resource = ?",
            [DAY, CREDITS],
        ).fetchall()
    return dict(rows)


def _exported(env: dict[str, str], tmp_path: Path) -> Path:
    out = tmp_path / "budgets.toml"
    result = run_cli("budgets", "export", "--out", str(out), env=env)
    assert result.exit_code == 0, result.output
    return out


def _plan(env: dict[str, str], path: Path, *extra: str) -> Result:
    return run_cli("budgets", "plan", "--file", str(path), *extra, env=env)


def test_export_plan_apply_plan(org: SyntheticOrg, env: dict[str, str], tmp_path: Path) -> None:
    out = _exported(env, tmp_path)
    held = org.get_budget_overrides()
    assert len(tomllib.loads(out.read_text())["budget"]) == len(held) > 0

    unchanged = _plan(env, out)
    assert unchanged.exit_code == 0, unchanged.output
    assert f"0 to add, 0 to change, 0 to remove, {len(held)} unchanged." in unchanged.output

    changed = next(o for o in held if o["resource"] == CREDITS)
    (newcomer,) = _without_override(org, 1)
    text = out.read_text().replace(
        f'user_email = "{changed["user_email"]}"\nresource = "{CREDITS}"\nperiod = "{MONTHLY}"\n'
        f'limit = "{changed["config"]["limit"]}"',
        f'user_email = "{changed["user_email"]}"\nresource = "{CREDITS}"\nperiod = "{MONTHLY}"\n'
        'limit = "123456.5"',
    )
    assert text != out.read_text()
    out.write_text(text + _budget(newcomer, "700000"))

    planned = _plan(env, out)
    assert planned.exit_code == 1, planned.output
    assert "1 to add, 1 to change, 0 to remove" in planned.output
    assert "% used" in planned.output and "projected month-end" in planned.output
    assert org.get_budget_overrides(user_emails=[newcomer]) == []  # a plan sends nothing

    applied = run_cli("budgets", "apply", "--file", str(out), "--yes", env=env)
    assert applied.exit_code == 0, applied.output
    assert "Applied 2 of 2 changes" in applied.output
    assert (
        org.get_budget_overrides(user_emails=[newcomer], resource=CREDITS)[0]["config"]["limit"] == "700000"
    )

    data_dir = Path(env["ANALYTICS_DATA_DIR"])
    assert sorted(_changes(data_dir)) == sorted(
        [
            (
                changed["user_email"],
                "change",
                "applied",
                f"{changed['config']['limit']}.000000",
                "123456.500000",
                "default",
            ),
            (newcomer, "add", "applied", None, "700000.000000", "default"),
        ]
    )
    snapshot = _snapshot(data_dir)  # the new snapshot is loaded
    assert snapshot[newcomer] == 700000 and snapshot[changed["user_email"]] == 123456.5

    again = _plan(env, out)
    assert again.exit_code == 0, again.output
    assert "0 to add, 0 to change, 0 to remove" in again.output

    with Warehouse(data_dir / "warehouse.duckdb").reader() as con:  # the report's budget view shows them
        report = report_data(con, Period(DAY, DAY), generated_at=dt.datetime.now(dt.UTC))
    assert {(c.user, c.action, c.outcome) for c in report.budgets.changes} == {
        (changed["user_email"], "change", "applied"),
        (newcomer, "add", "applied"),
    }
    assert run_cli("report", env=env).exit_code == 0
    page = (data_dir / "reports" / "usage.html").read_text(encoding="utf-8")
    changes = page[page.index('id="budget-changes"') :]
    assert newcomer in changes[: changes.index("</table>")]


@pytest.mark.usefixtures("quick_retries")
def test_a_partial_failure_is_recorded_and_a_second_apply_finishes_it(
    org: SyntheticOrg, server: SandboxServer, env: dict[str, str], tmp_path: Path
) -> None:
    out = _exported(env, tmp_path)
    newcomers = _without_override(org, 3)
    out.write_text(out.read_text() + "".join(_budget(e, "5000") for e in newcomers))
    server.faults = FaultInjector(FaultPlan(write_errors_after=1))

    first = run_cli("budgets", "apply", "--file", str(out), "--yes", env=env)
    assert first.exit_code == 1, first.output
    assert "Applied 1 of 3 changes; 1 unconfirmed (may have been applied); 1 not sent" in first.output
    assert "Run the same command again to finish" in first.output
    data_dir = Path(env["ANALYTICS_DATA_DIR"])
    recorded = _changes(data_dir)
    assert [(r[0], r[2]) for r in recorded] == [(newcomers[0], "applied"), (newcomers[1], "unconfirmed")]
    assert org.get_budget_overrides(user_emails=newcomers[1:]) == []  # the refused write changed nothing

    server.faults = None
    second = run_cli("budgets", "apply", "--file", str(out), "--yes", env=env)
    assert second.exit_code == 0, second.output
    assert "Applied 2 of 2 changes" in second.output  # the first is not sent again
    applied = [r[0] for r in _changes(data_dir) if r[2] == "applied"]
    assert sorted(applied) == newcomers
    assert _plan(env, out).exit_code == 0


def test_apply_asks_first(org: SyntheticOrg, env: dict[str, str], tmp_path: Path) -> None:
    out = _exported(env, tmp_path)
    (newcomer,) = _without_override(org, 1)
    out.write_text(out.read_text() + _budget(newcomer, "10"))
    declined = run_cli("budgets", "apply", "--file", str(out), env={**env, "TERM": "dumb"})
    assert declined.exit_code == 1
    assert "Apply 1 change to default?" in declined.output
    assert org.get_budget_overrides(user_emails=[newcomer]) == []


def test_a_default_covers_everyone_without_their_own(
    org: SyntheticOrg, env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "budgets.toml"
    path.write_text(f'[[default]]\nresource = "{USD}"\nlimit = 50\n')
    result = _plan(env, path)
    assert result.exit_code == 1
    credits_held = len(org.get_budget_overrides(resource=CREDITS))
    assert f"{credits_held} to remove" in result.output
    with Warehouse(Path(env["ANALYTICS_DATA_DIR"]) / "warehouse.duckdb").reader() as con:
        (people,) = con.execute("select count(*) from dim_users where not is_service_account").fetchone()
    usd_rows = [line for line in result.output.splitlines() if " USD_COST " in line]
    assert len(usd_rows) >= people


def test_removals_are_shown_and_left_to_the_console(
    org: SyntheticOrg, env: dict[str, str], tmp_path: Path
) -> None:
    out = _exported(env, tmp_path)
    doc = out.read_text()
    first = org.get_budget_overrides()[0]
    kept = doc.split("\n[[budget]]\n")
    out.write_text(
        "\n[[budget]]\n".join(
            k for k in kept if f'"{first["user_email"]}"' not in k or first["resource"] not in k
        )
    )
    result = run_cli("budgets", "apply", "--file", str(out), "--yes", env=env)
    assert result.exit_code == 1
    assert "1 to remove" in result.output and "remove them in Augment's console" in result.output
    assert "Nothing to apply." in result.output


# -- bad input: one line, exit code 2, no request ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[[budget]\n", "not valid TOML"),
        (_budget("ghost@nowhere.example", "10"), "ghost@nowhere.example not in dim_users"),
        (
            '[[budget]]\nuser_email = "{email}"\nresource = "TOKENS"\nlimit = 1\n',
            "resource 'TOKENS' is not one of",
        ),
        (
            '[[budget]]\nuser_email = "{email}"\nresource = "' + CREDITS + '"\nperiod = "DAILY"\nlimit = 1\n',
            "period 'DAILY'",
        ),
        (_budget("{email}", "-5"), "is negative"),
        (_budget("{email}", "lots"), "is not a number"),
        (_budget("{email}", "1") + _budget("{email}", "2"), "is given twice"),
        (
            '[[budget]]\nuser_email = "{email}"\nresource = "' + CREDITS + '"\nlimit = 1\ncolour = "red"\n',
            "unknown key 'colour'",
        ),
        ("budgets = 3\n", "unknown key 'budgets'"),
    ],
)
def test_bad_input_is_one_line_before_any_request(
    org: SyntheticOrg, server: SandboxServer, env: dict[str, str], tmp_path: Path, text: str, fragment: str
) -> None:
    (email,) = _without_override(org, 1)
    path = tmp_path / "budgets.toml"
    path.write_text(text.replace("{email}", email))
    before = server.stats.total
    assert_one_line_error(_plan(env, path), fragment)
    assert_one_line_error(run_cli("budgets", "apply", "--file", str(path), "--yes", env=env), fragment)
    assert server.stats.total == before


def test_unknown_members_are_allowed_with_the_flag(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "budgets.toml"
    path.write_text(_budget("ghost@nowhere.example", "10"))
    result = _plan(env, path, "--allow-unknown-members")
    assert result.exit_code == 1, result.output
    assert "add" in result.output and "ghost@nowhere.example" in result.output


def test_export_does_not_replace_a_file_unasked(env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "budgets.toml"
    out.write_text("# mine\n")
    assert_one_line_error(run_cli("budgets", "export", "--out", str(out), env=env), "pass --force")
    elsewhere = str(tmp_path / "nowhere" / "budgets.toml")
    assert_one_line_error(run_cli("budgets", "export", "--out", elsewhere, env=env), "create it first")
    assert out.read_text() == "# mine\n"
    assert run_cli("budgets", "export", "--out", str(out), "--force", env=env).exit_code == 0
    assert "[[budget]]" in out.read_text()


def test_with_pseudonyms_the_audit_holds_no_email(
    org: SyntheticOrg, server: SandboxServer, tmp_path: Path
) -> None:
    env = {
        **sandbox_env(server, tmp_path),
        "ANALYTICS_PSEUDONYMIZE": "1",
        "ANALYTICS_PSEUDONYMIZE_KEY": "k" * 40,
    }
    assert run_cli("backfill", "--start", DAY.isoformat(), "--end", DAY.isoformat(), env=env).exit_code == 0
    (newcomer,) = _without_override(org, 1)
    path = tmp_path / "budgets.toml"
    path.write_text(f'[[default]]\nresource = "{USD}"\nlimit = 1\n')
    assert_one_line_error(_plan(env, path), "holds pseudonyms")

    (tmp_path / "export").mkdir()
    out = _exported(env, tmp_path / "export")  # the file holds emails: they are what the API takes
    out.write_text(out.read_text() + _budget(newcomer, "42"))
    applied = run_cli("budgets", "apply", "--file", str(out), "--yes", env=env)
    assert applied.exit_code == 0, applied.output
    assert org.get_budget_overrides(user_emails=[newcomer], resource=CREDITS)[0]["config"]["limit"] == "42"
    with Warehouse(Path(env["ANALYTICS_DATA_DIR"]) / "warehouse.duckdb").reader() as con:
        rows = con.execute("select user_key, user_email from fct_budget_changes").fetchall()
    assert len(rows) == 1 and rows[0][0] == rows[0][1]
    assert rows[0][0].endswith("@pseudonymized.invalid")


def test_one_organisation_at_a_time(tmp_path: Path) -> None:
    tokens = {"acme": "acme-budget-token", "globex": "globex-budget-token"}
    orgs = {
        "acme": SyntheticOrg(seed=3, people=12, service_accounts=0),
        "globex": SyntheticOrg(seed=3, people=8, service_accounts=0),  # acme's first 8 people
    }
    with contextlib.ExitStack() as stack:
        servers = {
            name: stack.enter_context(
                SandboxServer(
                    org,
                    tokens=(tokens[name],),
                    requests_per_minute=TEST_REQUESTS_PER_MINUTE,
                    burst=TEST_BURST,
                )
            )
            for name, org in orgs.items()
        }
        listing = tmp_path / "organizations.toml"
        listing.write_text(
            "".join(
                f'[organizations.{name}]\ntoken_env = "{name.upper()}_TOKEN"\nbase_url = "{server.url}"\n'
                f"requests_per_minute = {TEST_REQUESTS_PER_MINUTE}\nburst = {TEST_BURST}\n"
                for name, server in servers.items()
            )
        )
        env = {
            "ANALYTICS_ORGANIZATIONS": str(listing),
            "ANALYTICS_DATA_DIR": str(tmp_path / "data"),
            **{f"{name.upper()}_TOKEN": token for name, token in tokens.items()},
        }
        assert run_cli("backfill", "--start", str(DAY), "--end", str(DAY), env=env).exit_code == 0
        path = tmp_path / "budgets.toml"
        only_acme = sorted(set(orgs["acme"].user_emails) - set(orgs["globex"].user_emails))
        active_in_acme = {r["user_email"] for r in orgs["acme"].dau_users(DAY)}
        path.write_text(_budget(next(e for e in only_acme if e in active_in_acme), "5"))
        assert_one_line_error(_plan(env, path), "--organization is needed")
        assert_one_line_error(_plan(env, path, "--organization", "globex"), "of organization 'globex'")

        out = tmp_path / "globex.toml"
        assert (
            run_cli("budgets", "export", "--organization", "globex", "--out", str(out), env=env).exit_code
            == 0
        )
        (newcomer,) = _without_override(orgs["globex"], 1)
        out.write_text(out.read_text() + _budget(newcomer, "77"))
        acme_before = orgs["acme"].get_budget_overrides()
        applied = run_cli(
            "budgets", "apply", "--organization", "globex", "--file", str(out), "--yes", env=env
        )
        assert applied.exit_code == 0, applied.output
        assert orgs["acme"].get_budget_overrides() == acme_before
        recorded = _changes(tmp_path / "data")
        assert [(r[0], r[2], r[5]) for r in recorded] == [(newcomer, "applied", "globex")]


def test_apply_on_a_ducklake_warehouse(
    org: SyntheticOrg, server: SandboxServer, postgres: PostgresServer, tmp_path: Path
) -> None:
    (tmp_path / "lake-data").mkdir()
    env = {
        **sandbox_env(server, tmp_path),
        **lake_env(postgres, postgres.create_database(), tmp_path / "lake-data"),
    }
    assert run_cli("backfill", "--start", str(DAY), "--end", str(DAY), env=env).exit_code == 0
    out = _exported(env, tmp_path)
    (newcomer,) = _without_override(org, 1)
    out.write_text(out.read_text() + _budget(newcomer, "31"))
    assert _plan(env, out).exit_code == 1
    applied = run_cli("budgets", "apply", "--file", str(out), "--yes", env=env)
    assert applied.exit_code == 0, applied.output
    assert _plan(env, out).exit_code == 0
    with lake_of(env).reader() as con:
        assert con.execute("select user_email, outcome from fct_budget_changes").fetchall() == [
            (newcomer, "applied")
        ]
        limit = con.execute(
            "select limit_value::varchar from fct_budget_overrides "
            "where snapshot_date = ? and user_email = ?",
            [DAY, newcomer],
        ).fetchall()
    assert limit == [("31.000000",)]
    assert not (tmp_path / "data" / "warehouse.duckdb").exists()
