import datetime as dt
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from filelock import FileLock

from analytics_pipeline.api.endpoints import ASSET_ENDPOINTS, BY_NAME, LANDED, Endpoint, Field, Kind
from analytics_pipeline.api.errors import Forbidden
from analytics_pipeline.dates import days_between
from analytics_pipeline.landing import (
    DamagedPartition,
    Lander,
    RawStore,
    RecordError,
    arrow_schema,
    land,
    locks,
    month_is_current,
)
from analytics_pipeline.landing.arrow_rows import _checked_table, _parsed_table, to_table, unknown_fields
from analytics_pipeline.sandbox import SyntheticOrg
from analytics_pipeline_tests.fakes import FakeClient, default_records, metrics

DAYS = days_between(dt.date(2026, 11, 1), dt.date(2026, 11, 3))


@pytest.fixture
def store(tmp_path: Path) -> RawStore:
    return RawStore(tmp_path / "raw")


def test_schema_has_typed_fields_and_raw_json() -> None:
    schema = arrow_schema(BY_NAME["daily_usage"])
    assert schema.field("date").type == pa.date32()
    assert schema.field("completions_suggested_lines_of_code").type == pa.int64()
    assert schema.names[-1] == "raw_json"


def test_missing_field_is_null_and_unknown_fields_are_reported() -> None:
    endpoint = BY_NAME["daily_usage"]
    m = metrics(3)
    del m["completions_suggested_lines_of_code"]
    record = {"date": "2026-11-01", "metrics": {**m, "agent_minutes": 4}, "region": "eu"}
    table = to_table(endpoint, [record])
    assert table.column("completions_suggested_lines_of_code").to_pylist() == [None]
    assert table.column("chat_messages").to_pylist() == [3]
    assert json.loads(table.column("raw_json")[0].as_py()) == record
    assert unknown_fields(endpoint, [record]) == {"metrics.agent_minutes", "region"}


def test_wrongly_typed_field_is_refused() -> None:
    with pytest.raises(RecordError, match=re.escape("metrics.chat_messages should be int")):
        to_table(BY_NAME["daily_usage"], [{"date": "2026-11-01", "metrics": {"chat_messages": "many"}}])


NUMBERS = [(e, f) for e in ASSET_ENDPOINTS for f in e.fields if f.kind in (Kind.INT, Kind.FLOAT)]


@pytest.mark.parametrize(("endpoint", "field"), NUMBERS, ids=lambda x: x.name)
def test_a_negative_count_metric_or_credit_is_refused_and_nothing_of_the_window_lands(
    store: RawStore, endpoint: Endpoint, field: Field
) -> None:
    """Every number the API sends counts something (users, days, lines, messages, credits)."""
    assert field.non_negative

    def records(e: Endpoint, start: dt.date, end: dt.date) -> list[dict]:
        found = default_records(e, start, end)
        holder = found[-1]
        for key in field.source[:-1]:
            holder = holder[key]
        holder[field.source[-1]] = -5
        return found

    message = rf"^{endpoint.name} .*: field {'.'.join(field.source)} is -5; \w+ \w+ cannot be negative$"
    with pytest.raises(RecordError, match=message):
        Lander(FakeClient(records=records, page_size=100), store).land(endpoint, DAYS)
    assert all(not store.exists(endpoint, day) for day in DAYS)


@pytest.mark.parametrize("endpoint", LANDED, ids=lambda e: e.name)
def test_every_endpoint_lands_one_partition_per_day(store: RawStore, endpoint) -> None:
    client = FakeClient()
    result = Lander(client, store).land(endpoint, DAYS)
    assert sorted(p.date for p in result.partitions) == [d.isoformat() for d in DAYS]
    for day in DAYS:
        assert store.exists(endpoint, day)
        files = [f for f in store.partition_dir(endpoint, day).iterdir() if f.name != ".lock"]
        assert [f.name for f in files] == ["part-0.parquet"]
        assert os.stat(files[0]).st_mode & 0o777 == 0o600
    assert sum(store.info(endpoint, d).requests for d in DAYS) == client.requests_sent == result.requests


def test_range_endpoint_fetches_one_window_and_splits_per_day(store: RawStore) -> None:
    client = FakeClient(page_size=100)
    Lander(client, store).land(BY_NAME["credit_usage"], DAYS)
    assert client.calls == [("credit_usage", (DAYS[0], DAYS[-1]))]
    for day in DAYS:
        table = store.read(BY_NAME["credit_usage"], day)
        assert set(table.column("date").to_pylist()) == {day}
        assert table.num_rows == 2
    info = store.info(BY_NAME["credit_usage"], DAYS[-1])
    assert (info.requests, info.window_start, info.window_end) == (1, "2026-11-01", "2026-11-03")


def test_window_over_90_days_is_split(store: RawStore) -> None:
    days = days_between(dt.date(2026, 1, 1), dt.date(2026, 4, 30))  # 120 days
    client = FakeClient(page_size=1000)
    Lander(client, store).land(BY_NAME["dau_count"], days)
    assert [c[1] for c in client.calls] == [
        (dt.date(2026, 1, 31), dt.date(2026, 4, 30)),  # 90 days, newest first
        (dt.date(2026, 1, 1), dt.date(2026, 1, 30)),
    ]


def test_budget_snapshot_is_read_once_per_run_and_fills_resource(store: RawStore) -> None:
    client = FakeClient()
    Lander(client, store).land(BY_NAME["budget_overrides"], DAYS)
    assert len(client.calls) == 2  # one per budget resource, not per day
    table = store.read(BY_NAME["budget_overrides"], DAYS[0])
    assert sorted(table.column("resource").to_pylist()) == [
        "BUDGET_RESOURCE_CREDITS_CONSUMED",
        "BUDGET_RESOURCE_USD_COST",
    ]
    assert table.column("limit").to_pylist() == ["2500000", "2500000"]


def test_empty_day_lands_an_empty_partition(store: RawStore) -> None:
    client = FakeClient(records=lambda endpoint, start, end: [])
    result = Lander(client, store).land(BY_NAME["dau"], DAYS[:1])
    assert result.rows == 0
    assert store.read(BY_NAME["dau"], DAYS[0]).num_rows == 0
    assert store.info(BY_NAME["dau"], DAYS[0]).requests == 1


def test_failure_mid_fetch_keeps_the_old_partition_and_leaves_no_temp_file(store: RawStore) -> None:
    endpoint = BY_NAME["dau"]
    Lander(FakeClient(), store).land(endpoint, DAYS[:1])
    before = store.read(endpoint, DAYS[0])
    with pytest.raises(ConnectionError):
        Lander(FakeClient(page_size=1, fail_after_pages=1), store).land(endpoint, DAYS[:1])
    assert store.read(endpoint, DAYS[0]).equals(before)
    assert sorted(f.name for f in store.partition_dir(endpoint, DAYS[0]).iterdir()) == [
        ".lock",
        "part-0.parquet",
    ]


def test_rerun_replaces_the_partition(store: RawStore) -> None:
    endpoint = BY_NAME["dau"]
    Lander(FakeClient(), store).land(endpoint, DAYS[:1])
    Lander(FakeClient(records=lambda e, s, t: [{"user_email": "x@example.com"}]), store).land(
        endpoint, DAYS[:1]
    )
    assert store.read(endpoint, DAYS[0]).column("user_email").to_pylist() == ["x@example.com"]


def test_stale_temp_file_from_a_crash_is_removed_on_next_write(store: RawStore) -> None:
    endpoint = BY_NAME["dau"]
    directory = store.partition_dir(endpoint, DAYS[0])
    directory.mkdir(parents=True)
    (directory / ".part-0.parquet.deadbeef.tmp").write_bytes(b"half a file")
    Lander(FakeClient(), store).land(endpoint, DAYS[:1])
    assert sorted(f.name for f in directory.iterdir()) == [".lock", "part-0.parquet"]


def test_stale_temp_files_in_partitions_never_written_again_are_swept(store: RawStore) -> None:
    """A killed re-landing leaves a temporary file beside a landed partition that a resumed backfill
    skips; the sweep removes it (and a never-landed day's), and leaves a live writer's alone."""
    endpoint = BY_NAME["dau"]
    Lander(FakeClient(), store).land(endpoint, DAYS[:2])
    landed = store.read(endpoint, DAYS[0])
    stale = [store.partition_dir(endpoint, d) / ".part-0.parquet.deadbeef.tmp" for d in DAYS]
    store.partition_dir(endpoint, DAYS[2]).mkdir()
    for path in stale:
        path.write_bytes(b"half a file")
    live = store.writer(endpoint, DAYS[1])
    live.write([{"user_email": "live@example.com"}])  # holds DAYS[1]'s lock (and swept its folder)

    assert store.remove_stale_temporaries(endpoint) == [stale[0], stale[2]]
    assert sorted(f.name for f in stale[0].parent.iterdir()) == [".lock", "part-0.parquet"]
    assert store.read(endpoint, DAYS[0]).equals(landed)
    assert len(list(store.partition_dir(endpoint, DAYS[1]).glob("*.tmp"))) == 1  # the live writer's own
    live.commit()
    assert store.read(endpoint, DAYS[1]).column("user_email").to_pylist() == ["live@example.com"]
    assert store.remove_stale_temporaries(endpoint) == []


def test_landing_an_endpoint_sweeps_its_folders_first(store: RawStore) -> None:
    endpoint = BY_NAME["dau"]
    Lander(FakeClient(), store).land(endpoint, DAYS[:1])
    stale = store.partition_dir(endpoint, DAYS[0]) / ".part-0.parquet.deadbeef.tmp"
    stale.write_bytes(b"half a file")
    Lander(FakeClient(), store).land(endpoint, DAYS[1:2], skip_landed=True)
    assert not stale.exists()


def test_record_outside_the_window_is_refused(store: RawStore) -> None:
    client = FakeClient(records=lambda e, s, t: [{"date": "2020-01-01", "user_count": 1}])
    with pytest.raises(RecordError, match=re.escape("outside 2026-11-01..2026-11-03")):
        Lander(client, store).land(BY_NAME["dau_count"], DAYS)
    assert not store.exists(BY_NAME["dau_count"], DAYS[0])


def test_skip_landed_fetches_only_missing_days(store: RawStore) -> None:
    endpoint = BY_NAME["credit_usage"]
    Lander(FakeClient(page_size=100), store).land(endpoint, DAYS[1:])
    client = FakeClient(page_size=100)
    Lander(client, store).land(endpoint, DAYS, skip_landed=True)
    assert client.calls == [("credit_usage", (DAYS[0], DAYS[0]))]
    client = FakeClient(page_size=100)
    assert Lander(client, store).land(endpoint, DAYS, skip_landed=True).requests == 0
    assert client.calls == []


def test_monthly_partition_covers_the_calendar_month_clamped_to_yesterday(store: RawStore) -> None:
    endpoint = BY_NAME["user_activity_monthly"]
    client = FakeClient(page_size=100)
    lander = Lander(client, store, today=lambda: dt.date(2026, 11, 20))
    lander.land(endpoint, [dt.date(2026, 10, 5), dt.date(2026, 11, 3), dt.date(2026, 11, 4)])
    assert client.calls == [
        ("user_activity_monthly", (dt.date(2026, 11, 1), dt.date(2026, 11, 19))),
        ("user_activity_monthly", (dt.date(2026, 10, 1), dt.date(2026, 10, 31))),
    ]
    assert store.partition_dir(endpoint, dt.date(2026, 11, 1)).name == "month=2026-11-01"
    # October is complete and November is as fresh as it can be today: nothing to fetch again.
    client.calls.clear()
    lander.land(endpoint, [dt.date(2026, 10, 5), dt.date(2026, 11, 3)], skip_landed=True)
    assert client.calls == []
    # Tomorrow, November has a new day: it is fetched again, October is not.
    Lander(client, store, today=lambda: dt.date(2026, 11, 21)).land(
        endpoint, [dt.date(2026, 10, 5), dt.date(2026, 11, 3)], skip_landed=True
    )
    assert client.calls == [("user_activity_monthly", (dt.date(2026, 11, 1), dt.date(2026, 11, 20)))]


def test_monthly_partition_starts_the_day_after_the_lookback_floor(store: RawStore) -> None:
    client = FakeClient(page_size=100)
    Lander(client, store, today=lambda: dt.date(2026, 11, 20)).land(
        BY_NAME["user_activity_monthly"], [dt.date(2024, 11, 25)]
    )
    # The floor is 2024-11-20; an API whose clock is on tomorrow already would refuse it.
    assert client.calls == [("user_activity_monthly", (dt.date(2024, 11, 21), dt.date(2024, 11, 30)))]


def test_fresh_budget_snapshot_is_reused_for_older_days(store: RawStore) -> None:
    endpoint = BY_NAME["budget_overrides"]
    now = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)
    first = FakeClient()
    Lander(first, store, clock=lambda: now).land(endpoint, DAYS[2:])
    assert first.requests_sent == 2
    older = FakeClient()
    result = Lander(older, store, clock=lambda: now + dt.timedelta(hours=2)).land(endpoint, DAYS[:2])
    assert (older.requests_sent, result.requests) == (1, 1)  # its first query, read again to confirm it
    assert store.read(endpoint, DAYS[0]).equals(store.read(endpoint, DAYS[2]))
    assert store.info(endpoint, DAYS[0]).fetched_at == now.isoformat()
    # A day-old snapshot, or a day newer than the snapshot, is read again.
    stale = FakeClient()
    Lander(stale, store, clock=lambda: now + dt.timedelta(hours=25)).land(endpoint, DAYS[:1])
    assert stale.requests_sent == 2


def test_a_snapshot_that_changed_since_is_read_again_in_full(store: RawStore) -> None:
    endpoint = BY_NAME["budget_overrides"]
    now = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)
    Lander(FakeClient(), store, clock=lambda: now).land(endpoint, DAYS[2:])

    def raised(e: Endpoint, start: dt.date, end: dt.date) -> list[dict]:
        return [{"user_email": "ada@example.com", "config": {"limit": "3000000"}}]

    later = now + dt.timedelta(hours=2)
    client = FakeClient(records=raised)
    Lander(client, store, clock=lambda: later).land(endpoint, DAYS[:1])
    assert client.requests_sent == 2
    assert store.info(endpoint, DAYS[0]).fetched_at == later.isoformat()
    assert store.read(endpoint, DAYS[0]).column("limit").to_pylist() == ["3000000", "3000000"]


def test_a_token_that_lost_its_permission_lands_no_reused_snapshot(store: RawStore) -> None:
    endpoint = BY_NAME["budget_overrides"]
    now = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)
    Lander(FakeClient(), store, clock=lambda: now).land(endpoint, DAYS[2:])

    def forbidden(e: Endpoint, start: dt.date, end: dt.date) -> list[dict]:
        raise Forbidden("this API token does not have permission to read analytics", code="PermissionDenied")

    with pytest.raises(Forbidden):
        Lander(FakeClient(records=forbidden), store, clock=lambda: now).land(endpoint, DAYS[:2])
    assert store.landed_days(endpoint) == DAYS[2:]


def test_two_writers_of_one_partition_take_turns(store: RawStore) -> None:
    import threading

    endpoint = BY_NAME["dau"]
    first = store.writer(endpoint, DAYS[0])
    first.write([{"user_email": "first@example.com"}])  # holds the partition's lock from here
    second_done = threading.Event()

    def second() -> None:
        with store.writer(endpoint, DAYS[0]) as writer:
            writer.write([{"user_email": "second@example.com"}])
            writer.commit()
        second_done.set()

    thread = threading.Thread(target=second)
    thread.start()
    assert not second_done.wait(0.3)  # waiting for the first writer, not deleting its temporary file
    first.commit()
    thread.join(10)
    assert second_done.is_set()
    assert store.read(endpoint, DAYS[0]).column("user_email").to_pylist() == ["second@example.com"]
    assert not list(store.partition_dir(endpoint, DAYS[0]).glob("*.tmp"))


def _sandbox_records(endpoint: Endpoint) -> list[dict]:
    org = SyntheticOrg(seed=3, people=25, service_accounts=2)
    day = dt.date(2026, 3, 4)
    return {
        "dau_count": lambda: org.dau_count(day, day + dt.timedelta(days=3)),
        "dau": lambda: org.dau_users(day),
        "daily_usage": lambda: org.daily_usage(day, day + dt.timedelta(days=3)),
        "user_activity": lambda: org.user_activity(day, day),
        "user_activity_monthly": lambda: org.user_activity(day.replace(day=1), day),
        "editor_language": lambda: org.editor_language(day),
        "credit_usage": lambda: org.credit_usage(
            day, day + dt.timedelta(days=2), by_date=True, by_model=True
        ),
        "budget_overrides": lambda: org.get_budget_overrides(),
    }[endpoint.name]()


@pytest.mark.parametrize("endpoint", ASSET_ENDPOINTS, ids=lambda e: e.name)
def test_native_parsing_equals_the_value_by_value_rules(endpoint: Endpoint) -> None:
    records = _sandbox_records(endpoint)
    assert records
    lines = [json.dumps(r, ensure_ascii=False, separators=(",", ":")).encode() for r in records]
    defaults = {"resource": "BUDGET_RESOURCE_CREDITS_CONSUMED", "period": "BUDGET_PERIOD_MONTHLY"}
    for given in (None, defaults if endpoint.name == "budget_overrides" else None):
        native = _parsed_table(endpoint, lines, given)
        assert native.equals(_checked_table(endpoint, records, lines, given))


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"date": "2026-11-01", "metrics": {"chat_messages": "5"}}, 5),  # a numeric string, as before
        ({"date": "2026-11-01", "metrics": {"chat_messages": 5.0}}, 5),  # an integral float
        ({"date": "2026-11-01", "metrics": "not an object"}, None),  # a parent that is not an object
    ],
)
def test_values_the_json_reader_refuses_follow_the_lenient_rules(record: dict, expected: int | None) -> None:
    table = to_table(BY_NAME["daily_usage"], [record])
    assert table.column("chat_messages").to_pylist() == [expected]
    assert json.loads(table.column("raw_json")[0].as_py()) == record


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"date": "2026-11-1"}, "field date should be date"),
        ({"date": "2026-02-30"}, "field date should be date"),
        ({"date": 20261101}, "field date should be date"),
        ({"date": "2026-11-01", "metrics": {"chat_messages": True}}, "metrics.chat_messages should be int"),
        ({"date": "2026-11-01", "metrics": {"chat_messages": 2.5}}, "metrics.chat_messages should be int"),
        ({"date": "2026-11-01", "metrics": {"chat_messages": 10**30}}, "chat_messages is 1000+, beyond a 64"),
        ({"date": "2026-11-01", "metrics": {"chat_messages": 1e30}}, "chat_messages is 1e\\+30, beyond a 64"),
    ],
)
def test_values_both_readings_refuse_are_refused_with_the_field_named(record: dict, message: str) -> None:
    with pytest.raises(RecordError, match=message):
        to_table(BY_NAME["daily_usage"], [record])


def test_landing_leaves_pandas_unimported(tmp_path: Path) -> None:
    """Landing every endpoint, re-using a budget snapshot (which reads a partition back) and reading
    what landed import neither pandas nor ``pyarrow.dataset`` (about 50 MB) into a backfill process."""
    code = (
        "import sys, datetime as dt, pathlib\n"
        "from analytics_pipeline.api.endpoints import BY_NAME, LANDED\n"
        "from analytics_pipeline.landing import Lander, RawStore\n"
        "from analytics_pipeline.landing.arrow_rows import to_table\n"
        "from analytics_pipeline_tests.fakes import FakeClient\n"
        "to_table(BY_NAME['budget_overrides'], [{'user_email': 'a@b.c', 'config': {'limit': '5'}}],"
        " {'resource': 'R', 'period': 'P'})\n"
        "to_table(BY_NAME['dau'], [])\n"
        "store = RawStore(pathlib.Path(sys.argv[1]))\n"
        "days = [dt.date(2026, 11, 1), dt.date(2026, 11, 2), dt.date(2026, 11, 3)]\n"
        "for endpoint in LANDED:\n"
        "    Lander(FakeClient(), store).land(endpoint, days[1:])\n"
        "Lander(FakeClient(), store).land(BY_NAME['budget_overrides'], days[:1])  # re-uses the snapshot\n"
        "assert store.read(BY_NAME['budget_overrides'], days[0]).num_rows\n"
        "store.info(BY_NAME['credit_usage'], days[1])\n"
        "print(sorted(m for m in ('pandas', 'pyarrow.dataset') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "raw")], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("name", ["dau", "daily_usage", "user_activity_monthly"])
def test_a_partition_another_process_is_fetching_is_waited_for_not_fetched_again(
    store: RawStore, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    endpoint = BY_NAME[name]
    today = dt.date(2026, 11, 20)
    key = dt.date(2026, 11, 1) if endpoint.monthly else DAYS[0]
    waiting = threading.Event()

    class SignallingLock(FileLock):
        def acquire(self, *args: Any, **kwargs: Any) -> Any:
            waiting.set()  # the lander reached the claim another process holds
            return super().acquire(*args, **kwargs)

    monkeypatch.setattr(locks, "FileLock", SignallingLock)
    claim = store.partition_dir(endpoint, key) / land.CLAIM_NAME
    claim.parent.mkdir(parents=True)
    second = FakeClient()
    with FileLock(claim):  # "another process" is fetching the partition
        lander = threading.Thread(
            target=lambda: Lander(second, store, today=lambda: today).land(endpoint, [key], skip_landed=True)
        )
        lander.start()
        assert waiting.wait(timeout=10)
        Lander(FakeClient(), store, today=lambda: today).land(endpoint, [key])  # ... and lands it
    lander.join(timeout=10)
    assert not lander.is_alive() and second.calls == []


def test_a_record_repeated_on_a_later_page_lands_once_and_is_counted(store: RawStore) -> None:
    endpoint = BY_NAME["credit_usage"]

    def repeated(e: Endpoint, start: dt.date, end: dt.date) -> list[dict]:
        found = default_records(e, start, end)
        return [*found, dict(reversed(found[0].items()))]  # the same record, its keys in another order

    result = Lander(FakeClient(records=repeated), store).land(endpoint, DAYS)
    assert result.duplicates_collapsed == 1
    clean = RawStore(store.root.parent / "clean")
    Lander(FakeClient(), clean).land(endpoint, DAYS)
    for day in DAYS:
        assert store.read(endpoint, day).equals(clean.read(endpoint, day))
        info, expected = store.info(endpoint, day), clean.info(endpoint, day)
        assert (info.rows, info.content_digest) == (expected.rows, expected.content_digest)
        assert info.duplicates_collapsed == (1 if day == DAYS[0] else 0)


def test_budget_records_alike_for_two_resources_are_not_duplicates(store: RawStore) -> None:
    endpoint = BY_NAME["budget_overrides"]
    result = Lander(FakeClient(), store).land(endpoint, DAYS[:1])
    assert (result.rows, result.duplicates_collapsed) == (2, 0)


def test_two_different_records_of_one_grain_fail_the_whole_window(store: RawStore) -> None:
    endpoint = BY_NAME["credit_usage"]

    def conflicting(e: Endpoint, start: dt.date, end: dt.date) -> list[dict]:
        found = default_records(e, start, end)
        return [*found, {**found[-1], "credits_consumed": 11}]

    with pytest.raises(RecordError) as info:
        Lander(FakeClient(records=conflicting), store).land(endpoint, DAYS)
    assert str(info.value) == (
        f"credit_usage {DAYS[-1]}: two records share one (date, user_email, service_account_name, "
        "model_name) but differ; the API answered inconsistently"
    )
    assert all(not store.exists(endpoint, day) for day in DAYS)


@pytest.mark.parametrize("endpoint", LANDED, ids=lambda e: e.name)
def test_every_landed_endpoint_has_a_grain_of_its_fields(endpoint: Endpoint) -> None:
    assert endpoint.grain and set(endpoint.grain) <= {f.name for f in endpoint.fields}


def _damage(store: RawStore, endpoint: Endpoint, day: dt.date, how: str) -> bytes:
    """Damage a landed partition as a disk, a copy or a person might; returns the bytes left there."""
    path = store.partition_path(endpoint, day)
    table = store.read(endpoint, day)
    if how == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "foreign":
        pq.write_table(pa.table({"user": ["x"], "n": [1]}), path)
    elif how == "another_endpoint":
        Lander(FakeClient(), store).land(BY_NAME["dau_count"], [day])
        shutil.copy(store.partition_path(BY_NAME["dau_count"], day), path)
    elif how == "rows_missing":  # our metadata and schema, a row short of what the metadata counts
        metadata = pq.read_metadata(path).metadata
        pq.write_table(table.slice(1).replace_schema_metadata(metadata), path)
    return path.read_bytes()


DAMAGES = ["truncated", "empty", "foreign", "another_endpoint", "rows_missing"]


@pytest.mark.parametrize("how", DAMAGES)
def test_a_damaged_partition_is_quarantined_and_fetched_again(store: RawStore, how: str) -> None:
    endpoint = BY_NAME["credit_usage"]
    Lander(FakeClient(page_size=100), store).land(endpoint, DAYS)
    good = store.read(endpoint, DAYS[1])
    damaged = _damage(store, endpoint, DAYS[1], how)
    client = FakeClient(page_size=100)
    result = Lander(client, store).land(endpoint, DAYS, skip_landed=True)
    assert client.calls == [("credit_usage", (DAYS[1], DAYS[1]))]
    path = store.partition_path(endpoint, DAYS[1])
    assert result.quarantined == [str(path)]
    assert store.read(endpoint, DAYS[1]).equals(good)
    [moved] = (store.root / ".quarantine" / "credit_usage").iterdir()
    assert moved.name.startswith(f"date={DAYS[1]}-") and moved.suffix == ".parquet"
    assert moved.read_bytes() == damaged  # moved, not deleted
    assert stat.S_IMODE(moved.stat().st_mode) == 0o600
    assert {stat.S_IMODE(d.stat().st_mode) for d in (moved.parent, moved.parent.parent)} == {0o700}


@pytest.mark.parametrize("how", DAMAGES)
def test_reading_a_damaged_partition_names_it_in_one_line(store: RawStore, how: str) -> None:
    endpoint = BY_NAME["dau"]
    Lander(FakeClient(), store).land(endpoint, DAYS[:1])
    _damage(store, endpoint, DAYS[0], how)
    path = store.partition_path(endpoint, DAYS[0])
    with pytest.raises(DamagedPartition) as info:
        store.info(endpoint, DAYS[0])
    message = str(info.value)
    assert message.startswith(f"dau {DAYS[0]}: the landed partition {path} is damaged (")
    assert message.endswith("parquet, and running again fetches it anew") and "\n" not in message
    assert "moved it to " + str(store.root / ".quarantine" / "dau" / f"date={DAYS[0]}-") in message
    assert not path.exists() and not store.exists(endpoint, DAYS[0])


def test_a_damaged_month_is_not_current(store: RawStore) -> None:
    endpoint = BY_NAME["user_activity_monthly"]
    today = dt.date(2026, 11, 20)
    Lander(FakeClient(page_size=100), store, today=lambda: today).land(endpoint, [dt.date(2026, 10, 5)])
    assert month_is_current(store, endpoint, dt.date(2026, 10, 1), today)
    _damage(store, endpoint, dt.date(2026, 10, 1), "truncated")
    assert not month_is_current(store, endpoint, dt.date(2026, 10, 1), today)
    assert len(store.quarantined) == 1


def test_a_damaged_budget_snapshot_is_read_again_rather_than_reused(store: RawStore) -> None:
    endpoint = BY_NAME["budget_overrides"]
    now = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)
    Lander(FakeClient(), store, clock=lambda: now).land(endpoint, DAYS[2:])
    _damage(store, endpoint, DAYS[2], "foreign")
    client = FakeClient()
    result = Lander(client, store, clock=lambda: now).land(endpoint, DAYS[:1])
    assert client.requests_sent == 2 and result.rows == 2
    assert result.quarantined == [str(store.partition_path(endpoint, DAYS[2]))]
