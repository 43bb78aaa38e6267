"""ANALYTICS_PSEUDONYMIZE=1: no email lands, pseudonyms are consistent, and data directories never mix."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from analytics_pipeline.api.endpoints import ASSET_ENDPOINTS, BY_NAME, LANDED, Endpoint
from analytics_pipeline.backfill.in_process import execute_range
from analytics_pipeline.config.datadir import check_emails, claim_emails
from analytics_pipeline.config.paths import EMAILS_MARKER
from analytics_pipeline.config.settings import ConfigError, Settings
from analytics_pipeline.dates import days_between, utc_today, yesterday
from analytics_pipeline.defs.assets.raw import raw_asset_key
from analytics_pipeline.defs.build import build_definitions
from analytics_pipeline.landing import Lander, RawStore, RecordError
from analytics_pipeline.landing.arrow_rows import to_table
from analytics_pipeline.privacy.pseudonymize import Pseudonymizer
from analytics_pipeline.privacy.secret import Secret
from analytics_pipeline.sandbox import SandboxServer, SyntheticOrg
from analytics_pipeline_tests.conftest import (
    SANDBOX_TOKEN,
    TEST_BURST,
    TEST_REQUESTS_PER_MINUTE,
    assert_one_line_error,
    run_cli,
)
from analytics_pipeline_tests.fakes import FakeClient
from analytics_pipeline_tests.traces import encoded_forms, loose_modes, traces

KEY = "0123456789abcdef0123456789abcdef-test-key"
OTHER_KEY = "fedcba9876543210fedcba9876543210-other-key"
DAYS = days_between(dt.date(2026, 11, 1), dt.date(2026, 11, 3))


@pytest.fixture
def pz() -> Pseudonymizer:
    return Pseudonymizer(Secret(KEY))


# ------------------------------------------------------------------ the pseudonyms


def test_a_pseudonym_is_the_documented_keyed_hash(pz: Pseudonymizer) -> None:
    digest = hmac.new(KEY.encode(), b"ada.lovelace@example.com", hashlib.sha256).hexdigest()
    assert pz.email("ada.lovelace@example.com") == f"user-{digest[:20]}@pseudonymized.invalid"
    assert pz.email("  Ada.Lovelace@EXAMPLE.com ") == pz.email("ada.lovelace@example.com")
    assert pz.email("ada@example.com") != pz.email("bob@example.com")
    assert Pseudonymizer(Secret(OTHER_KEY)).email("ada@example.com") != pz.email("ada@example.com")
    assert pz.email(pz.email("ada@example.com")) == pz.email("ada@example.com")  # applying twice: no change


def test_a_record_keeps_everything_but_its_email_addresses(pz: Pseudonymizer) -> None:
    record = {
        "user_email": "Ada@Example.com",
        "metrics": {"chat_messages": 3, "note": "cc grace@example.org please"},
        "approvers": ["bob@example.com", "not an address"],
        "by_reviewer": {"carol@example.com": 2},
        "language": "Go",
        "active_days": 1,
    }
    original = copy.deepcopy(record)
    out = pz.record(record)
    assert record == original  # the input is not changed
    assert out == {
        "user_email": pz.email("ada@example.com"),
        "metrics": {"chat_messages": 3, "note": f"cc {pz.email('grace@example.org')} please"},
        "approvers": [pz.email("bob@example.com"), "not an address"],
        "by_reviewer": {pz.email("carol@example.com"): 2},
        "language": "Go",
        "active_days": 1,
    }
    assert pz.record(out) == out
    service = {"service_account_name": "ci-bot", "metrics": {"chat_messages": 1}}
    assert pz.record(service) == service  # service-account names are not personal data


def test_the_key_is_a_secret(pz: Pseudonymizer) -> None:
    assert KEY not in repr(pz) and KEY not in pz.fingerprint()
    assert len(pz.fingerprint()) == 16
    with pytest.raises(ValueError, match="at least 32 characters"):
        Pseudonymizer(Secret("short"))
    with pytest.raises(TypeError):
        Pseudonymizer(KEY)  # type: ignore[arg-type]


# ------------------------------------------------------------------ landing


@pytest.mark.parametrize("endpoint", LANDED, ids=lambda e: e.name)
def test_no_email_lands_in_a_typed_column_or_the_raw_json(
    tmp_path: Path, pz: Pseudonymizer, endpoint: Endpoint
) -> None:
    store = RawStore(tmp_path / "raw")
    Lander(FakeClient(), store, pseudonymizer=pz).land(endpoint, DAYS)
    plain = RawStore(tmp_path / "plain")
    Lander(FakeClient(), plain).land(endpoint, DAYS)
    for day in DAYS:
        rows, plain_rows = store.read(endpoint, day).to_pylist(), plain.read(endpoint, day).to_pylist()
        assert "example.com" not in str(rows)
        # Exactly the plain rows, with the email replaced in the column and in the raw JSON.
        expected = []
        for row in plain_rows:
            if row.get("user_email"):
                row["user_email"] = pz.email(row["user_email"])
            row["raw_json"] = json.dumps(pz.record(json.loads(row["raw_json"])), separators=(",", ":"))
            expected.append(row)
        assert rows == expected
    assert traces(["ada@example.com"], [tmp_path / "raw"]) == []


def test_a_reused_budget_snapshot_is_not_pseudonymised_twice(tmp_path: Path, pz: Pseudonymizer) -> None:
    endpoint = BY_NAME["budget_overrides"]
    store = RawStore(tmp_path / "raw")
    now = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)
    Lander(FakeClient(), store, clock=lambda: now, pseudonymizer=pz).land(endpoint, DAYS[2:])
    reused = FakeClient()
    Lander(reused, store, clock=lambda: now, pseudonymizer=pz).land(endpoint, DAYS[:1])
    assert reused.requests_sent == 1  # the snapshot's first query, read again to confirm it
    assert store.read(endpoint, DAYS[0]).equals(store.read(endpoint, DAYS[2]))
    emails = set(store.read(endpoint, DAYS[0]).column("user_email").to_pylist())
    assert emails == {pz.email("ada@example.com")}


def test_errors_about_a_record_do_not_quote_its_email(tmp_path: Path) -> None:
    store = RawStore(tmp_path / "raw")
    undated = FakeClient(records=lambda e, s, t: [{"user_email": "ada@example.com", "credits_consumed": 1}])
    with pytest.raises(RecordError) as info:
        Lander(undated, store).land(BY_NAME["credit_usage"], DAYS[:1])
    assert "without a valid 'date'" in str(info.value) and "user_email" in str(info.value)
    assert "ada@example.com" not in str(info.value)
    with pytest.raises(RecordError) as info:
        to_table(BY_NAME["dau"], [{"user_email": ["ada@example.com"]}])
    assert "should be string, got a list" in str(info.value) and "ada@" not in str(info.value)


# ------------------------------------------------------------------ the data directory's record


def listing(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_mode, p.stat().st_mtime_ns) for p in root.rglob("*")}


def test_a_new_directory_records_its_setting_and_keeps_to_it(tmp_path: Path) -> None:
    plain, pseudonymised = tmp_path / "plain", tmp_path / "pseudonymised"
    claim_emails(plain, None)
    claim_emails(pseudonymised, Secret(KEY))
    assert json.loads((plain / EMAILS_MARKER).read_text()) == {"emails": "plain"}
    recorded = json.loads((pseudonymised / EMAILS_MARKER).read_text())
    fingerprint = Pseudonymizer(Secret(KEY)).fingerprint()
    assert recorded == {"emails": "pseudonymized", "key_fingerprint": fingerprint}
    assert traces(encoded_forms(KEY), [tmp_path]) == []  # a fingerprint, never the key
    claim_emails(plain, None)
    claim_emails(pseudonymised, Secret(KEY))  # the same setting again: fine

    # The setting binds even before data lands: two first runs at once cannot both go ahead.
    cases = [
        (plain, Secret(KEY), "holds plain emails"),
        (pseudonymised, None, "holds pseudonymised emails"),
        (pseudonymised, Secret(OTHER_KEY), "pseudonymised with another ANALYTICS_PSEUDONYMIZE_KEY"),
    ]
    for data_dir, key, fragment in cases:
        before = listing(data_dir)
        with pytest.raises(ConfigError, match=fragment) as info:
            claim_emails(data_dir, key)
        assert "\n" not in str(info.value) and "ANALYTICS_DATA_DIR" in str(info.value)
        assert listing(data_dir) == before  # nothing written


def test_data_landed_before_the_record_existed_is_plain(tmp_path: Path) -> None:
    (tmp_path / "raw" / "dau").mkdir(parents=True)
    with pytest.raises(ConfigError, match="holds plain emails"):
        check_emails(tmp_path, Secret(KEY))
    assert not (tmp_path / EMAILS_MARKER).exists()
    claim_emails(tmp_path, None)
    assert json.loads((tmp_path / EMAILS_MARKER).read_text()) == {"emails": "plain"}


def test_an_unreadable_record_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / EMAILS_MARKER).write_text("{not json")
    with pytest.raises(ConfigError, match=r"is unreadable; .* restore it"):
        claim_emails(tmp_path, None)


def test_claiming_makes_the_directory_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    claim_emails(data_dir, None)
    assert data_dir.stat().st_mode & 0o777 == 0o700
    assert (data_dir / EMAILS_MARKER).stat().st_mode & 0o777 == 0o600


# ------------------------------------------------------------------ through Dagster and the command line


@pytest.fixture(scope="module")
def small_sandbox() -> Iterator[SandboxServer]:
    org = SyntheticOrg(seed=8, people=15, service_accounts=2)
    with SandboxServer(
        org, tokens=(SANDBOX_TOKEN,), requests_per_minute=TEST_REQUESTS_PER_MINUTE, burst=TEST_BURST
    ) as server:
        yield server


def env_for(sandbox: SandboxServer, data_dir: Path, key: str | None) -> dict[str, str]:
    env = {
        "AUGMENT_API_TOKEN": SANDBOX_TOKEN,
        "AUGMENT_API_BASE_URL": sandbox.url,
        "ANALYTICS_DATA_DIR": str(data_dir),
        "AUGMENT_API_REQUESTS_PER_MINUTE": str(TEST_REQUESTS_PER_MINUTE),
        "AUGMENT_API_BURST": str(TEST_BURST),
    }
    if key is not None:
        env |= {"ANALYTICS_PSEUDONYMIZE": "1", "ANALYTICS_PSEUDONYMIZE_KEY": key}
    return env


def load_day(
    sandbox: SandboxServer, data_dir: Path, key: str | None, monkeypatch: pytest.MonkeyPatch, day: dt.date
) -> None:
    env = env_for(sandbox, data_dir, key)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if key is None:
        monkeypatch.delenv("ANALYTICS_PSEUDONYMIZE_KEY", raising=False)
    defs = build_definitions(Settings.from_env(env, env_file=data_dir / "no.env"))
    with dg.DagsterInstance.ephemeral() as instance:
        assert execute_range(defs, day, day, instance).success


def tables(data_dir: Path) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """Every fact table and dim_users (columns, rows), without the fetch times that differ by run."""
    names = [e.fact_table for e in ASSET_ENDPOINTS] + ["dim_users"]
    out = {}
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        for name in names:
            columns = "* exclude (fetched_at)" if name == "fct_budget_overrides" else "*"
            cursor = con.execute(f"select {columns} from {name}")
            out[name] = ([d[0] for d in cursor.description], cursor.fetchall())
    return out


def test_the_pseudonymised_warehouse_is_the_plain_one_with_emails_replaced(
    small_sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same rows, same counts, same joins: only the emails differ, one pseudonym per person everywhere."""
    day = yesterday(utc_today())
    load_day(small_sandbox, tmp_path / "plain", None, monkeypatch, day)
    load_day(small_sandbox, tmp_path / "pseudonymised", KEY, monkeypatch, day)
    pz = Pseudonymizer(Secret(KEY))
    plain, pseudonymised = tables(tmp_path / "plain"), tables(tmp_path / "pseudonymised")
    people = set(small_sandbox.org.user_emails)
    for name, (columns, rows) in plain.items():
        mapped = [
            tuple(
                pz.email(v) if c in ("user_email", "user_key") and v in people else v
                for c, v in zip(columns, row, strict=True)
            )
            for row in rows
        ]
        assert pseudonymised[name][0] == columns
        assert sorted(pseudonymised[name][1], key=repr) == sorted(mapped, key=repr), name
    assert any(row for _, rows in plain.values() for row in rows if any(v in people for v in row))
    assert traces(people | {"@example.com"}, [tmp_path / "pseudonymised"]) == []


def test_a_dagster_run_into_a_directory_of_plain_emails_is_refused(
    small_sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    claim_emails(data_dir, None)
    before = listing(data_dir)
    env = env_for(small_sandbox, data_dir, KEY)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    defs = build_definitions(Settings.from_env(env, env_file=tmp_path / "no.env"))
    day = yesterday(utc_today())
    requests = small_sandbox.stats.total
    with dg.DagsterInstance.ephemeral() as instance, pytest.raises(ConfigError, match="holds plain emails"):
        execute_range(defs, day, day, instance, asset_selection=[raw_asset_key(BY_NAME["dau"])])
    assert listing(data_dir) == before and small_sandbox.stats.total == requests  # nothing sent or written


@pytest.mark.usefixtures("clean_environment")
@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"ANALYTICS_PSEUDONYMIZE": "yes"}, "ANALYTICS_PSEUDONYMIZE must be 1"),
        ({"ANALYTICS_PSEUDONYMIZE": "1"}, "needs ANALYTICS_PSEUDONYMIZE_KEY; generate one with"),
        ({"ANALYTICS_PSEUDONYMIZE": "1", "ANALYTICS_PSEUDONYMIZE_KEY": "short"}, "at least 32 characters"),
        ({"ANALYTICS_PSEUDONYMIZE_KEY": KEY}, "ANALYTICS_PSEUDONYMIZE is not"),
    ],
)
def test_bad_settings_are_one_line_errors(env: dict[str, str], fragment: str) -> None:
    for command in ("nightly", "demo"):
        result = run_cli(command, env={"AUGMENT_API_TOKEN": "x", **env})
        assert_one_line_error(result, fragment)
        assert KEY not in result.output and "short" not in result.output


@pytest.mark.usefixtures("clean_environment")
def test_the_command_line_refuses_to_mix(small_sandbox: SandboxServer, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    (data_dir / "raw").mkdir(parents=True)  # landed before pseudonymisation existed: plain
    before = listing(data_dir)
    result = run_cli("nightly", env=env_for(small_sandbox, data_dir, KEY))
    assert_one_line_error(result, "holds plain emails")
    assert listing(data_dir) == before

    claim_emails(tmp_path / "other", Secret(OTHER_KEY))
    day = str(yesterday(utc_today()))
    for command in (("nightly",), ("plan", "--start", day, "--end", day)):
        result = run_cli(*command, env=env_for(small_sandbox, tmp_path / "other", KEY))
        assert_one_line_error(result, "another ANALYTICS_PSEUDONYMIZE_KEY")


@pytest.mark.usefixtures("clean_environment")
def test_the_demo_pseudonymises_its_synthetic_emails(tmp_path: Path) -> None:
    os.umask(0o022)
    result = run_cli("demo", env={"ANALYTICS_PSEUDONYMIZE": "1", "ANALYTICS_PSEUDONYMIZE_KEY": KEY})
    assert result.exit_code == 0, result.output
    data_dir = tmp_path / "data"
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        sql = "select user_email from dim_users where user_email is not null"
        emails = [e for (e,) in con.execute(sql).fetchall()]
        accounts = con.execute("select count(*) from dim_users where is_service_account").fetchall()[0][0]
    assert len(emails) > 10 and accounts == 3
    assert all(e.startswith("user-") and e.endswith("@pseudonymized.invalid") for e in emails)
    assert traces(["@example.com"], [data_dir], [result.output]) == []
    assert json.loads((data_dir / EMAILS_MARKER).read_text())["emails"] == "pseudonymized"
    assert (data_dir / ".sandbox-data").exists() and loose_modes(data_dir) == []
    # The same directory will not take the demo's plain emails next.
    assert_one_line_error(run_cli("demo"), "holds pseudonymised emails")
