"""The limiter's state in a real PostgreSQL (``ANALYTICS_STATE_URL``): what the file state does not do.

The GCRA's behaviour on it, and several processes sharing it, are in ``test_ratelimit.py`` (run on both
states); here: one row per token fingerprint, unreadable rows, a dropped connection, and the errors.
"""

from __future__ import annotations

import math
import pickle
import traceback
from urllib.parse import quote

import psycopg2
import pytest

from analytics_pipeline.api import RateLimiter
from analytics_pipeline.api.ratelimit_postgres import TABLE, LimiterStateUnavailable, PostgresLimiterState
from analytics_pipeline.config.settings import ConfigError
from analytics_pipeline.config.state_url import StateUrl, parse_state_url
from analytics_pipeline.privacy.secret import Secret
from analytics_pipeline_tests.api.test_ratelimit import FakeTime
from analytics_pipeline_tests.postgres_server import PostgresServer
from analytics_pipeline_tests.traces import encoded_forms

TOKEN = Secret("tok-canary-for-the-limiter")
# Distinctive, and with characters whose URL-encoded forms differ ('/', '+', '=', '%').
WRONG_PASSWORD = "pw-canary/Q7x+9zVb=41%e1d"


def state_url(text: str) -> StateUrl:
    url = parse_state_url(text)
    assert url is not None
    return url


def limiter(url: StateUrl, t: FakeTime, token: Secret = TOKEN, burst: int = 3) -> RateLimiter:
    return RateLimiter(PostgresLimiterState(url, token), 60, burst, clock=t.clock, sleep=t.sleep)


def rows(postgres: PostgresServer, database: str) -> list[tuple[str, float | None]]:
    with psycopg2.connect(postgres.url(database)) as con, con.cursor() as cur:
        cur.execute(f"select token_fingerprint, tat from {TABLE} order by token_fingerprint")
        return list(cur.fetchall())


def test_one_row_per_token_fingerprint_never_the_token(
    postgres: PostgresServer, postgres_database: str
) -> None:
    t = FakeTime()
    url = state_url(postgres.url(postgres_database))
    one, other = limiter(url, t), limiter(url, t, token=Secret("another-token"))
    assert [one.acquire() for _ in range(4)] == [0, 0, 0, pytest.approx(1.0)]
    assert [other.acquire() for _ in range(3)] == [0, 0, 0]  # a budget of its own
    stored = rows(postgres, postgres_database)
    assert sorted(fingerprint for fingerprint, _ in stored) == sorted(
        [TOKEN.fingerprint(), Secret("another-token").fingerprint()]
    )
    assert TOKEN.reveal() not in repr(stored)


@pytest.mark.parametrize("tat", ["'NaN'", "'Infinity'", "'-Infinity'", "1e300"])
def test_an_unreadable_row_counts_as_burst_spent_and_is_rewritten(
    postgres: PostgresServer, postgres_database: str, tat: str
) -> None:
    t = FakeTime()
    url = state_url(postgres.url(postgres_database))
    limiter(url, t).acquire()  # creates the table and the row
    with psycopg2.connect(postgres.url(postgres_database)) as con, con.cursor() as cur:
        cur.execute(f"update {TABLE} set tat = {tat}::double precision")  # a constant of the test's own
    rl = limiter(url, t)
    assert rl.acquire() == pytest.approx(1.0)  # not a fresh burst: the safe side
    ((_, stored),) = rows(postgres, postgres_database)
    assert stored is not None and math.isfinite(stored)
    assert stored == pytest.approx(t.now + 3.0)


def test_a_dropped_connection_is_opened_again(postgres: PostgresServer, postgres_database: str) -> None:
    t = FakeTime()
    rl = limiter(state_url(postgres.url(postgres_database)), t)
    assert [rl.acquire() for _ in range(3)] == [0, 0, 0]
    with psycopg2.connect(postgres.url(postgres_database)) as con, con.cursor() as cur:
        cur.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity "
            "where datname = %s and pid <> pg_backend_pid()",
            (postgres_database,),
        )
        assert cur.fetchall() == [(True,)]  # the limiter's one connection
    assert rl.acquire() == pytest.approx(1.0)  # the budget, on a new connection
    rl.close()
    assert rl.acquire() == pytest.approx(1.0)  # and after a close


def test_a_wrong_password_is_a_one_line_config_error_without_it(
    postgres: PostgresServer, postgres_database: str
) -> None:
    url = state_url(postgres.url(postgres_database, password=quote(WRONG_PASSWORD, safe="")))
    rl = limiter(url, FakeTime())
    with pytest.raises(ConfigError) as refused:
        rl.acquire()
    message = str(refused.value)
    assert "\n" not in message and refused.value.exit_code == 2
    assert message.startswith("cannot use the PostgreSQL of ANALYTICS_STATE_URL (127.0.0.1:")
    assert "password authentication failed" in message
    assert refused.value.__cause__ is None and refused.value.__context__ is None
    texts = [message, repr(refused.value), "".join(traceback.format_exception(refused.value)), repr(rl)]
    assert not [form for form in encoded_forms(WRONG_PASSWORD) for text in texts if form in text]


def test_an_unreachable_server_is_a_one_line_config_error(postgres: PostgresServer) -> None:
    with PostgresServer() as stopped:  # a port nothing listens on once it is stopped
        port = stopped.port
    url = state_url(f"postgresql://someone:{quote(WRONG_PASSWORD, safe='')}@127.0.0.1:{port}/db")
    with pytest.raises(ConfigError) as refused:
        PostgresLimiterState(url, TOKEN).verify()
    message = str(refused.value)
    assert "\n" not in message
    assert f"(127.0.0.1:{port}/db)" in message and "Connection refused" in message
    assert not [form for form in encoded_forms(WRONG_PASSWORD) if form in message]


def test_a_server_lost_during_a_run_is_a_transient_error() -> None:
    t = FakeTime()
    with PostgresServer() as server:
        rl = limiter(state_url(server.url()), t)
        rl.acquire()
    with pytest.raises(LimiterStateUnavailable) as lost:
        rl.acquire()
    assert lost.value.transient and lost.value.exit_code == 1
    assert "\n" not in str(lost.value) and server.password not in str(lost.value)
    assert lost.value.__context__ is None


def test_reprs_and_pickles_hide_the_password(postgres: PostgresServer) -> None:
    url = state_url(postgres.url())
    state = PostgresLimiterState(url, TOKEN)
    for text in (repr(url), str(url), url.display, repr(state), repr(RateLimiter(state, 60, 3))):
        assert postgres.password not in text
        assert "**********" in text
    with pytest.raises(TypeError):
        pickle.dumps(url)
