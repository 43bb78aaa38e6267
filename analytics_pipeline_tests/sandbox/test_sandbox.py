"""The sandbox: its synthetic organisation, then the API it serves over loopback."""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import re
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from analytics_pipeline import dates
from analytics_pipeline.api import endpoints as ep
from analytics_pipeline.api.errors import error_body
from analytics_pipeline.sandbox import (
    InvalidBudgetRequest,
    SandboxRequest,
    SandboxResponse,
    SandboxServer,
    SyntheticOrg,
)

TODAY = dt.date(2026, 11, 20)
YESTERDAY = TODAY - dt.timedelta(days=1)
TOKEN = "sandbox-token"
WEEK = (dt.date(2026, 11, 9), dt.date(2026, 11, 15))  # Monday to Sunday


def days(start: dt.date, end: dt.date) -> list[dt.date]:
    return dates.days_between(start, end)


def identity(record: dict[str, Any]) -> str:
    return record.get("user_email") or "service_account:" + record["service_account_name"]


def summed(records: list[dict[str, Any]]) -> Counter[str]:
    total: Counter[str] = Counter()
    for record in records:
        total.update(record["metrics"])
    return total


@pytest.fixture(scope="module")
def org() -> SyntheticOrg:
    return SyntheticOrg(seed=11, people=30, service_accounts=2)


# -- the synthetic organisation ----------------------------------------------------------------------


def test_same_arguments_give_identical_data_and_other_seeds_differ() -> None:
    a = SyntheticOrg(seed=5, people=20, service_accounts=2)
    b = SyntheticOrg(seed=5, people=20, service_accounts=2)
    b.activity(dt.date(2025, 3, 3))  # a different cache history must not matter
    pd.testing.assert_frame_equal(a.activity_range(*WEEK), b.activity_range(*WEEK))
    assert a.get_budget_overrides() == b.get_budget_overrides()
    other = SyntheticOrg(seed=6, people=20, service_accounts=2).activity_range(*WEEK)
    assert not other.equals(a.activity_range(*WEEK))


def test_members_have_valid_unique_names() -> None:
    org = SyntheticOrg(people=3000, service_accounts=12)
    emails = org.user_emails
    assert len(set(emails)) == 3000
    assert all(re.fullmatch(r"[a-z]+\.[a-z]+[0-9]*@example\.com", e) for e in emails)
    names = org.service_account_names
    assert len(set(names)) == 12 and "ci-bot" in names
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{1,100}", n) for n in names)


def test_activity_frame_has_the_documented_columns_and_invariants(org: SyntheticOrg) -> None:
    frame = org.activity_range(dt.date(2026, 9, 1), dt.date(2026, 10, 31))
    assert list(frame.columns[:7]) == [
        "date",
        "user_email",
        "service_account_name",
        "user_key",
        "editor",
        "language",
        "model_name",
    ]
    assert set(ep.METRICS) | {"credits_consumed"} <= set(frame.columns)
    numbers = frame[[*ep.METRICS, "credits_consumed"]]
    assert (numbers.dtypes == np.int64).all() and (numbers >= 0).all().all()
    assert (frame.completions_accepted <= frame.completions_count).all()
    assert (frame.completions_lines_of_code <= frame.completions_suggested_lines_of_code).all()
    messages = frame[
        [
            "chat_messages",
            "remote_agent_messages",
            "ide_agent_messages",
            "cli_agent_interactive_messages",
            "cli_agent_non_interactive_messages",
        ]
    ].sum(axis=1)
    assert (frame.total_messages == messages).all()
    lines = frame[
        [
            "completions_lines_of_code",
            "remote_agent_lines_of_code",
            "ide_agent_lines_of_code",
            "cli_agent_interactive_lines_of_code",
            "cli_agent_non_interactive_lines_of_code",
        ]
    ].sum(axis=1)
    assert (frame.total_modified_lines_of_code == lines).all()
    assert (frame[list(ep.METRICS)].sum(axis=1) > 0).all(), "every row records some activity"
    assert not frame.duplicated(["date", "user_key", "editor", "language", "model_name"]).any()
    people = frame.user_email.notna()
    assert (people != frame.service_account_name.notna()).all()
    assert (frame.user_key[people] == frame.user_email[people]).all()
    assert (frame.user_key[~people] == "service_account:" + frame.service_account_name[~people]).all()
    assert {"VSCode", "JetBrains", "CLI"} <= set(frame.editor)
    assert {"Python", "TypeScript", "Go"} <= set(frame.language)
    assert {"claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5", "gpt-5"} <= set(frame.model_name)
    service = frame[~people]
    assert (service.editor == "CLI").mean() > 0.8
    assert service.cli_agent_non_interactive_messages.sum() > 5 * service.cli_agent_interactive_messages.sum()


def test_weekends_are_quiet_holidays_are_empty_and_adoption_grows(org: SyntheticOrg) -> None:
    counts = org.dau_count(dt.date(2026, 8, 3), dt.date(2026, 10, 25))
    weekday = [c["user_count"] for c in counts if dt.date.fromisoformat(c["date"]).weekday() < 5]
    weekend = [c["user_count"] for c in counts if dt.date.fromisoformat(c["date"]).weekday() >= 5]
    assert np.mean(weekday) > 4 * np.mean(weekend)

    christmas = dt.date(2025, 12, 25)
    assert org.dau_count(christmas, christmas) == [{"date": "2025-12-25", "user_count": 0}]
    assert org.daily_usage(christmas - dt.timedelta(days=1), christmas) == org.daily_usage(
        christmas - dt.timedelta(days=1), christmas - dt.timedelta(days=1)
    )
    assert org.dau_users(christmas) == [] and org.editor_language(christmas) == []

    early = sum(c["user_count"] for c in org.dau_count(dt.date(2023, 1, 2), dt.date(2023, 1, 27)))
    late = sum(c["user_count"] for c in org.dau_count(dt.date(2026, 10, 5), dt.date(2026, 10, 30)))
    assert early < late / 3
    late_joiner = max(org.user_emails, key=org.join_date)
    assert org.join_date(late_joiner) > dt.date(2024, 1, 1)
    before = org.activity_range(dt.date(2023, 1, 1), dt.date(2023, 3, 31))
    assert late_joiner not in set(before.user_key)


def test_endpoints_agree_with_each_other_day_by_day(org: SyntheticOrg) -> None:
    counts = {c["date"]: c["user_count"] for c in org.dau_count(*WEEK)}
    usage = {u["date"]: u["metrics"] for u in org.daily_usage(*WEEK)}
    for day in days(*WEEK):
        users = org.dau_users(day)
        assert counts[day.isoformat()] == len(users) == len({identity(u) for u in users})
        assert all(len(u) == 1 for u in users)
        one_day = org.user_activity(day, day)
        assert [identity(u) for u in one_day] == [identity(u) for u in users]
        assert all(u["active_days"] == 1 for u in one_day)
        assert dict(summed(one_day)) == usage[day.isoformat()] == dict(summed(org.editor_language(day)))


def test_user_activity_over_a_range_sums_its_days(org: SyntheticOrg) -> None:
    expected: dict[str, Counter[str]] = {}
    active: Counter[str] = Counter()
    for day in days(*WEEK):
        for record in org.user_activity(day, day):
            expected.setdefault(identity(record), Counter()).update(record["metrics"])
            active[identity(record)] += 1
    ranged = org.user_activity(*WEEK)
    assert {identity(r): r["metrics"] for r in ranged} == {k: dict(v) for k, v in expected.items()}
    assert {identity(r): r["active_days"] for r in ranged} == dict(active)


def test_credit_usage_breakdowns_sum_to_the_totals(org: SyntheticOrg) -> None:
    totals = {identity(r): r["credits_consumed"] for r in org.credit_usage(*WEEK)}
    plain = {"user_email", "service_account_name", "credits_consumed"}
    assert all(set(r) <= plain for r in org.credit_usage(*WEEK))
    for by_date, by_model in ((True, True), (True, False), (False, True)):
        records = org.credit_usage(*WEEK, by_date=by_date, by_model=by_model)
        assert all(("date" in r) == by_date and ("model_name" in r) == by_model for r in records)
        assert all(r["credits_consumed"] > 0 for r in records)
        sums: Counter[str] = Counter()
        for r in records:
            sums[identity(r)] += r["credits_consumed"]
        assert dict(sums) == totals
    frame = org.activity_range(*WEEK)
    assert sum(totals.values()) == int(frame.credits_consumed.sum())


def test_suggested_lines_can_be_omitted() -> None:
    org = SyntheticOrg(people=10, service_accounts=1, omit_suggested_lines=True)
    records = org.daily_usage(*WEEK) + org.user_activity(*WEEK) + org.editor_language(WEEK[0])
    assert records and all("completions_suggested_lines_of_code" not in r["metrics"] for r in records)
    assert all(len(r["metrics"]) == len(ep.METRICS) - 1 for r in records)


def test_unattributed_activity_is_missing_from_editor_language_only() -> None:
    """The fault leaves a deterministic share of rows out of editor-language; every other view, and the
    organisation's truth, still counts them."""
    clean = SyntheticOrg(seed=9, people=200, service_accounts=2)
    faulty = SyntheticOrg(seed=9, people=200, service_accounts=2, unattributed_share=0.05)
    day = dt.date(2026, 3, 10)
    dropped = faulty.unattributed(day)
    assert 0 < dropped.mean() < 0.15
    assert (dropped == faulty.unattributed(day)).all()  # the same rows every time
    assert faulty.dau_users(day) == clean.dau_users(day)
    assert faulty.user_activity(day, day) == clean.user_activity(day, day)
    assert faulty.daily_usage(day, day) == clean.daily_usage(day, day)
    kept = clean.activity(day)[~dropped]
    sums = kept.groupby(["user_key", "language", "editor"])["total_messages"].sum()
    assert sum(r["metrics"]["total_messages"] for r in faulty.editor_language(day)) == sums.sum()
    assert len(faulty.editor_language(day)) == len(sums)
    assert not clean.unattributed(day).any()


def test_a_day_for_two_thousand_people_is_generated_in_milliseconds() -> None:
    org = SyntheticOrg(people=2000, service_accounts=20)
    started = time.perf_counter()
    frames = [org.activity(day) for day in days(dt.date(2026, 10, 5), dt.date(2026, 10, 18))]
    per_day = (time.perf_counter() - started) / len(frames)
    assert per_day < 0.05, f"{per_day * 1000:.1f} ms per day"
    assert max(len(f) for f in frames) > 1500


def test_budget_overrides_start_seeded_and_round_trip() -> None:
    org = SyntheticOrg(seed=3, people=40, service_accounts=2)
    initial = org.get_budget_overrides()
    credits, usd = ep.BUDGET_RESOURCES
    assert 4 <= sum(o["resource"] == credits for o in initial) <= 20
    assert 1 <= sum(o["resource"] == usd for o in initial) <= 5
    assert all(o["config"]["limit"].isdigit() and o["period"] == "BUDGET_PERIOD_MONTHLY" for o in initial)

    email = org.user_emails[0]
    monthly = "BUDGET_PERIOD_MONTHLY"
    change = {"user_email": email, "resource": usd, "period": monthly, "config": {"limit": "750"}}
    assert org.set_budget_overrides([change]) == [change]
    assert org.get_budget_overrides(user_emails=[email], resource=usd) == [change]
    assert change in org.get_budget_overrides(period="BUDGET_PERIOD_MONTHLY")
    assert all(o["resource"] == credits for o in org.get_budget_overrides(resource=credits))

    with pytest.raises(InvalidBudgetRequest, match="resource"):
        org.get_budget_overrides(resource="BUDGET_RESOURCE_SEATS")
    bad = [change, {**change, "user_email": "nobody@example.com"}]
    with pytest.raises(InvalidBudgetRequest, match=r"overrides\[1\]\.user_email"):
        org.set_budget_overrides(bad)
    with pytest.raises(InvalidBudgetRequest, match="limit"):
        org.set_budget_overrides([{**change, "config": {"limit": "-1"}}])


# -- the API over loopback ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(org: SyntheticOrg) -> Iterator[SandboxServer]:
    with SandboxServer(org, today=TODAY, requests_per_minute=None) as running:
        yield running


@pytest.fixture
def client(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        yield http


def test_a_request_is_timed_on_arrival_before_its_answer_is_computed(
    server: SandboxServer, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    answering: list[float] = []
    seen: list[SandboxRequest] = []
    answer = server._answer

    def timed_answer(request: SandboxRequest, authorization: str | None) -> SandboxResponse:
        answering.append(time.monotonic())
        return answer(request, authorization)

    def record(request: SandboxRequest, response: SandboxResponse) -> SandboxResponse:
        seen.append(request)
        return response

    monkeypatch.setattr(server, "_answer", timed_answer)
    monkeypatch.setattr(server, "before_response", record)
    sent = time.monotonic()
    week = {"start_date": "2026-11-01", "end_date": "2026-11-07"}
    assert client.get(ep.DAU_COUNT.path, params=week).is_success
    assert sent <= seen[0].received_at <= answering[0]


def invalid(message: str) -> dict[str, Any]:
    return error_body("InvalidArgument", message)


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "Unauthenticated"),
        ({"Authorization": "Bearer wrong"}, 401, "Unauthenticated"),
        ({"Authorization": "Basic sandbox-token"}, 401, "Unauthenticated"),
        ({"Authorization": "Bearer sandbox-readonly"}, 403, "PermissionDenied"),
    ],
)
def test_auth_failures_answer_with_the_error_body(
    server: SandboxServer, headers: dict[str, str], status: int, code: str
) -> None:
    response = httpx.get(f"{server.url}{ep.DAU_COUNT.path}", headers=headers)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert "sandbox-" not in response.text


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def bad_format(name: str, text: str) -> str:
    return f"{name} must be a date in YYYY-MM-DD format, got {text!r}"


def bad_range(start: str, end: str) -> str | None:
    return dates.range_problem(d(start), d(end), TODAY)


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        (ep.DAU_COUNT.path, {"start_date": "2026-1-05"}, bad_format("start_date", "2026-1-05")),
        (ep.DAILY_USAGE.path, {"end_date": ""}, bad_format("end_date", "")),
        (ep.DAU.path, {"date": "20261101"}, bad_format("date", "20261101")),
        (
            ep.USER_ACTIVITY.path,
            {"start_date": "2026-11-10", "end_date": "2026-11-09"},
            bad_range("2026-11-10", "2026-11-09"),
        ),
        (
            ep.DAU_COUNT.path,
            {"start_date": "2026-11-10", "end_date": "2026-11-20"},
            bad_range("2026-11-10", "2026-11-20"),
        ),
        (
            ep.CREDIT_USAGE.path,
            {"start_date": "2026-11-21"},
            dates.day_problem(d("2026-11-21"), TODAY, "start_date"),
        ),
        (
            ep.DAU_COUNT.path,
            {"start_date": "2024-11-01", "end_date": "2024-11-30"},
            bad_range("2024-11-01", "2024-11-30"),
        ),
        (ep.DAILY_USAGE.path, {"end_date": "2024-01-01"}, bad_range("2023-12-26", "2024-01-01")),
        (
            ep.USER_ACTIVITY.path,
            {"start_date": "2026-01-01", "end_date": "2026-06-30"},
            bad_range("2026-01-01", "2026-06-30"),
        ),
        (ep.DAU.path, {"date": "2026-11-20"}, dates.day_problem(TODAY, TODAY)),
        (ep.EDITOR_LANGUAGE.path, {"date": "2024-11-19"}, dates.day_problem(d("2024-11-19"), TODAY)),
    ],
)
def test_date_rules_answer_400_with_the_exact_message(
    client: httpx.Client, path: str, params: dict[str, str], message: str | None
) -> None:
    assert message is not None
    response = client.get(path, params=params)
    assert response.status_code == 400
    assert response.json() == invalid(message)


@pytest.mark.parametrize(
    ("params", "start", "end"),
    [
        ({}, dt.date(2026, 11, 13), YESTERDAY),
        ({"start_date": "2026-11-01"}, dt.date(2026, 11, 1), dt.date(2026, 11, 7)),
        ({"start_date": "2026-11-16"}, dt.date(2026, 11, 16), YESTERDAY),
        ({"end_date": "2026-10-10"}, dt.date(2026, 10, 4), dt.date(2026, 10, 10)),
        ({"start_date": "2026-08-22", "end_date": "2026-11-19", "other": "x"}, d("2026-08-22"), YESTERDAY),
    ],
)
def test_range_defaults_follow_the_docs(
    client: httpx.Client, org: SyntheticOrg, params: dict[str, str], start: dt.date, end: dt.date
) -> None:
    body = client.get(ep.DAU_COUNT.path, params=params).json()
    meta = body["metadata"]
    assert (meta["effective_start_date"], meta["effective_end_date"]) == (start.isoformat(), end.isoformat())
    assert meta["total_days"] == (end - start).days + 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["generated_at"])
    assert body["daily_active_user_counts"] == org.dau_count(start, end)


def test_non_paginated_endpoints_match_the_org(client: httpx.Client, org: SyntheticOrg) -> None:
    start, end = dt.date(2025, 12, 20), dt.date(2025, 12, 31)  # Christmas has no data
    params = {"start_date": start.isoformat(), "end_date": end.isoformat()}
    body = client.get(ep.DAILY_USAGE.path, params=params).json()
    assert body[ep.DAILY_USAGE.records_key] == org.daily_usage(start, end)
    assert body["metadata"]["total_days"] == len(body["daily_usage"]) < 12
    assert "pagination" not in body


def test_day_endpoints_default_to_yesterday(client: httpx.Client) -> None:
    for endpoint in (ep.DAU, ep.EDITOR_LANGUAGE):
        assert client.get(endpoint.path).json()["metadata"]["effective_date"] == YESTERDAY.isoformat()


@pytest.mark.parametrize("endpoint", [ep.DAU, ep.USER_ACTIVITY, ep.EDITOR_LANGUAGE, ep.CREDIT_USAGE])
@pytest.mark.parametrize("page_size", ["0", "-3", "abc", "1.5", "max+1"])
def test_bad_page_sizes_are_refused(client: httpx.Client, endpoint: ep.Endpoint, page_size: str) -> None:
    assert endpoint.max_page_size is not None
    value = str(endpoint.max_page_size + 1) if page_size == "max+1" else page_size
    response = client.get(endpoint.path, params={"page_size": value})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidArgument"
    assert "page_size" in response.json()["error"]["message"]
    assert client.get(endpoint.path, params={"page_size": endpoint.max_page_size}).status_code == 200


def walk(client: httpx.Client, endpoint: ep.Endpoint, params: dict[str, str]) -> tuple[list[Any], list[Any]]:
    """Every record of a paginated query, and every page's body."""
    records: list[Any] = []
    bodies: list[Any] = []
    cursor = None
    while True:
        response = client.get(endpoint.path, params={**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        body = response.json()
        bodies.append(body)
        records.extend(body[endpoint.records_key])
        if not body["pagination"]["has_more"]:
            assert body["pagination"]["next_cursor"] == ""
            return records, bodies
        cursor = body["pagination"]["next_cursor"]
        assert cursor and cursor not in [b["pagination"]["next_cursor"] for b in bodies[:-1]]


def test_pagination_walks_every_record_with_opaque_cursors(client: httpx.Client, org: SyntheticOrg) -> None:
    day, (start, end) = dt.date(2026, 11, 11), WEEK
    one_day = {"date": day.isoformat()}
    week = {"start_date": str(start), "end_date": str(end)}
    breakdown = {"by_date": "true", "by_model": "true"}
    users, records = "returned_user_count", "returned_record_count"
    cases = [
        (ep.DAU, {**one_day, "page_size": "7"}, org.dau_users(day), users),
        (ep.EDITOR_LANGUAGE, {**one_day, "page_size": "9"}, org.editor_language(day), records),
        (ep.USER_ACTIVITY, {**week, "page_size": "8"}, org.user_activity(start, end), users),
        (
            ep.CREDIT_USAGE,
            {**week, **breakdown, "page_size": "25"},
            org.credit_usage(start, end, by_date=True, by_model=True),
            records,
        ),
    ]
    for endpoint, params, expected, count_key in cases:
        records, bodies = walk(client, endpoint, params)
        assert records == expected and len(bodies) > 2, endpoint.name
        assert [b["metadata"][count_key] for b in bodies] == [len(b[endpoint.records_key]) for b in bodies]
    first = client.get(ep.USER_ACTIVITY.path, params={"start_date": str(start), "end_date": str(end)}).json()
    assert len(first["users"]) == min(50, len(org.user_activity(start, end)))
    assert first["metadata"]["total_days"] == 7


def test_cursors_are_tied_to_their_query_and_tamper_proof(client: httpx.Client) -> None:
    params = {"date": "2026-11-11", "page_size": "5"}
    cursor = client.get(ep.DAU.path, params=params).json()["pagination"]["next_cursor"]
    payload = json.loads(base64.urlsafe_b64decode(cursor))
    forged = base64.urlsafe_b64encode(json.dumps({**payload, "offset": 0}).encode()).decode()
    message = "invalid cursor: it is malformed or belongs to a different query"
    for bad_params in (
        {**params, "cursor": forged},
        {**params, "cursor": "not-a-cursor!"},
        {**params, "date": "2026-11-12", "cursor": cursor},
    ):
        response = client.get(ep.DAU.path, params=bad_params)
        assert (response.status_code, response.json()) == (400, invalid(message))
    assert client.get(ep.DAU.path, params={**params, "cursor": cursor}).status_code == 200


def test_budget_overrides_round_trip_over_http(client: httpx.Client) -> None:
    get, put = ep.BUDGET_OVERRIDES.path, ep.SET_BUDGET_OVERRIDES.path
    everything = client.post(get, json={}).json()["overrides"]
    assert everything and all(set(o) == {"user_email", "resource", "period", "config"} for o in everything)
    email = everything[0]["user_email"]
    change = {
        "user_email": email,
        "resource": "BUDGET_RESOURCE_USD_COST",
        "period": "BUDGET_PERIOD_MONTHLY",
        "config": {"limit": "1234"},
    }
    assert client.post(put, json={"overrides": [change]}).json() == {"overrides": [change]}
    mine = client.post(get, json={"user_emails": [email], "resource": "BUDGET_RESOURCE_USD_COST"}).json()
    assert mine == {"overrides": [change]}
    nobody = client.post(get, json={"user_emails": ["nobody@example.com"]}).json()
    assert nobody == {"overrides": []}

    for path, content in (
        (get, b"{not json"),
        (get, json.dumps({"resource": "BUDGET_RESOURCE_SEATS"}).encode()),
        (get, json.dumps({"period": "BUDGET_PERIOD_DAILY"}).encode()),
        (put, json.dumps({"overrides": [{**change, "period": "BUDGET_PERIOD_DAILY"}]}).encode()),
        (put, json.dumps([change]).encode()),
    ):
        response = client.post(path, content=content, headers={"Content-Type": "application/json"})
        assert response.status_code == 400 and response.json()["error"]["code"] == "InvalidArgument"


def test_unknown_paths_and_wrong_methods(client: httpx.Client) -> None:
    missing = client.get("/analytics/v0/nothing-here")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NotFound"
    wrong = client.get(ep.BUDGET_OVERRIDES.path)
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "POST"
    assert client.post(ep.DAU_COUNT.path).status_code == 405


def test_rate_limit_answers_429_after_the_burst() -> None:
    now = [100.0]
    org = SyntheticOrg(people=5, service_accounts=1)
    with (
        SandboxServer(
            org, today=TODAY, requests_per_minute=1, burst=3, retry_after=True, clock=lambda: now[0]
        ) as server,
        httpx.Client(base_url=server.url) as http,
    ):
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert http.get(ep.DAU_COUNT.path).status_code == 401  # unauthenticated requests spend nothing
        assert [http.get(ep.DAU_COUNT.path, headers=auth).status_code for _ in range(3)] == [200] * 3
        limited = http.get(ep.DAU_COUNT.path, headers=auth)
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "ResourceExhausted"
        assert limited.headers["Retry-After"] == "60"
        now[0] += 30.0
        assert http.get(ep.DAU_COUNT.path, headers=auth).headers["Retry-After"] == "30"
        now[0] += 30.0
        assert http.get(ep.DAU_COUNT.path, headers=auth).status_code == 200
        assert server.stats.rate_limited == 2
        assert server.stats.by_status == {401: 1, 200: 4, 429: 2}
        assert server.stats.by_path == {ep.DAU_COUNT.path: 7} and server.stats.total == 7


def test_retry_after_is_only_sent_when_asked() -> None:
    org = SyntheticOrg(people=2, service_accounts=0)
    with SandboxServer(org, today=TODAY, requests_per_minute=1, burst=1, clock=lambda: 0.0) as server:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert httpx.get(server.url + ep.DAU_COUNT.path, headers=auth).status_code == 200
        limited = httpx.get(server.url + ep.DAU_COUNT.path, headers=auth)
        assert limited.status_code == 429 and "Retry-After" not in limited.headers


def test_before_response_is_the_fault_injection_seam(org: SyntheticOrg) -> None:
    seen: list[SandboxRequest] = []

    def fail(request: SandboxRequest, response: SandboxResponse) -> SandboxResponse:
        seen.append(request)
        return SandboxResponse.error(500, "Internal", "injected")

    with SandboxServer(org, today=TODAY, requests_per_minute=None) as server:
        server.before_response = fail
        auth = {"Authorization": f"Bearer {TOKEN}"}
        response = httpx.get(server.url + ep.DAU.path, params={"date": "2026-11-11"}, headers=auth)
        assert response.status_code == 500 and response.json() == error_body("Internal", "injected")
        assert seen[0].path == ep.DAU.path and seen[0].query == {"date": "2026-11-11"}


def test_requests_are_logged_without_query_or_token(
    client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="analytics_pipeline.sandbox"):
        client.get(ep.DAU.path, params={"date": "2026-11-11"})
    lines = [r.getMessage() for r in caplog.records if r.name == "analytics_pipeline.sandbox"]
    assert f"GET {ep.DAU.path} 200" in lines
    assert TOKEN not in caplog.text and "2026-11-11" not in caplog.text


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com"])
def test_only_loopback_hosts_are_accepted(org: SyntheticOrg, host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        SandboxServer(org, host=host)


def test_today_may_be_a_callable(org: SyntheticOrg) -> None:
    with SandboxServer(org, today=lambda: dt.date(2026, 3, 10), requests_per_minute=None) as server:
        assert server.today == dt.date(2026, 3, 10)
        body = httpx.get(server.url + ep.DAU.path, headers={"Authorization": f"Bearer {TOKEN}"}).json()
        assert body["metadata"]["effective_date"] == "2026-03-09"
        assert body["metadata"]["generated_at"].startswith("2026-03-10T")


def test_writes_past_write_errors_after_are_refused_and_not_applied() -> None:
    from analytics_pipeline.sandbox import FaultInjector, FaultPlan
    from analytics_pipeline.sandbox.faults import FaultKind

    org = SyntheticOrg(seed=3, people=6, service_accounts=0)
    injector = FaultInjector(FaultPlan(write_errors_after=1))
    get, put = ep.BUDGET_OVERRIDES.path, ep.SET_BUDGET_OVERRIDES.path
    email = org.user_emails[0]

    def write(limit: str) -> httpx.Response:
        body = {"resource": "BUDGET_RESOURCE_USD_COST", "period": "BUDGET_PERIOD_MONTHLY"}
        change = {"user_email": email, **body, "config": {"limit": limit}}
        return http.post(put, json={"overrides": [change]})

    with (
        SandboxServer(org, tokens=(TOKEN,), requests_per_minute=None, faults=injector) as server,
        httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}) as http,
    ):
        assert write("11").status_code == 200
        refused = write("22")
        assert refused.status_code == 503 and refused.json()["error"]["code"] == "Unavailable"
        assert write("33").status_code == 503  # every later write, retries included
        assert http.post(get, json={}).status_code == 200  # reads are not touched
    mine = org.get_budget_overrides(user_emails=[email], resource="BUDGET_RESOURCE_USD_COST")
    assert [o["config"]["limit"] for o in mine] == ["11"]
    assert injector.counts[FaultKind.WRITE] == 2
    with pytest.raises(ValueError, match="write_errors_after must be 0 or more"):
        FaultPlan(write_errors_after=-1)
