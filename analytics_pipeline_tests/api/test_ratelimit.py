"""The cross-process rate limiter: a token bucket (GCRA) persisted in a shared state.

The behaviour of the GCRA is tested on both states (``budget``): the default JSON file, and a row in a real
PostgreSQL (``ANALYTICS_STATE_URL``); what only one of them does is tested on its own (the file's below,
PostgreSQL's in ``test_ratelimit_postgres.py``).
"""

from __future__ import annotations

import json
import multiprocessing
import stat
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from analytics_pipeline.api import RateLimiter
from analytics_pipeline.api.ratelimit import LimiterState
from analytics_pipeline.api.ratelimit_postgres import PostgresLimiterState
from analytics_pipeline.config.state_url import parse_state_url
from analytics_pipeline.privacy.secret import Secret

Budget = Callable[[], "LimiterState | Path"]


class FakeTime:
    """A clock that only moves when something sleeps."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture(params=["file", "postgres"])
def budget(request: pytest.FixtureRequest, tmp_path: Path) -> Budget:
    """Each call, a new handle on one and the same budget: the state file, or the PostgreSQL row."""
    if request.param == "file":
        return lambda: tmp_path / "rl.json"
    postgres = request.getfixturevalue("postgres")
    url = parse_state_url(postgres.url(postgres.create_database()))
    assert url is not None
    token = Secret("the-token")
    return lambda: PostgresLimiterState(url, token)


def limiter(state: LimiterState | Path, t: FakeTime, rpm: float = 60, burst: int = 3) -> RateLimiter:
    return RateLimiter(state, rpm, burst, clock=t.clock, sleep=t.sleep)


def test_burst_then_exactly_the_rate(budget: Budget) -> None:
    t = FakeTime()
    rl = limiter(budget(), t, rpm=30, burst=3)  # one per 2 s after 3
    start = t.now
    waits = [rl.acquire() for _ in range(7)]
    assert waits == [0, 0, 0, 2, 2, 2, 2]
    assert t.now - start == pytest.approx(8.0)


def test_headroom_keeps_tokens_of_the_server_bucket_in_reserve(budget: Budget, tmp_path: Path) -> None:
    t = FakeTime()
    rl = RateLimiter(budget(), 30, 3, headroom=1, clock=t.clock, sleep=t.sleep)
    # The burst stops one short of the server's 3, so a request arriving early still finds a token;
    # after it, exactly the rate.
    assert [rl.acquire() for _ in range(6)] == [0, 0, 2, 2, 2, 2]
    assert RateLimiter(tmp_path / "x.json", 30, 1, headroom=1).tolerance == 0


def test_idle_time_refills_the_bucket_up_to_burst_only(budget: Budget) -> None:
    t = FakeTime()
    rl = limiter(budget(), t, rpm=60, burst=3)
    for _ in range(3):
        rl.acquire()
    t.now += 3600  # a long pause refills to the burst, not beyond
    assert [rl.acquire() for _ in range(5)] == [0, 0, 0, 1, 1]


def test_partial_refill(budget: Budget) -> None:
    t = FakeTime()
    rl = limiter(budget(), t, rpm=60, burst=3)
    for _ in range(3):
        rl.acquire()
    t.now += 1.5  # one and a half tokens back
    assert [rl.acquire() for _ in range(3)] == [0, pytest.approx(0.5), pytest.approx(1.0)]


def test_state_survives_a_restart(budget: Budget) -> None:
    t = FakeTime()
    first = limiter(budget(), t, rpm=60, burst=3)
    for _ in range(3):
        assert first.acquire() == 0
    first.close()
    del first
    second = limiter(budget(), t, rpm=60, burst=3)  # a new process on the same state
    assert second.acquire() == pytest.approx(1.0)  # waits: the burst was already spent
    assert second.acquire() == pytest.approx(1.0)


def test_penalize_blocks_everyone_then_resumes_at_the_rate(budget: Budget) -> None:
    t = FakeTime()
    a = limiter(budget(), t, rpm=60, burst=3)
    b = limiter(budget(), t, rpm=60, burst=3)
    a.acquire()
    a.penalize(30)
    assert b.acquire() == pytest.approx(30.0)
    assert b.acquire() == pytest.approx(1.0)
    a.penalize(0)  # a no-op
    assert a.acquire() == pytest.approx(1.0)


def test_penalize_never_shortens_an_existing_wait(budget: Budget) -> None:
    t = FakeTime()
    rl = limiter(budget(), t, rpm=60, burst=3)
    rl.penalize(60)
    rl.penalize(5)
    assert rl.acquire() == pytest.approx(60.0)


@pytest.mark.parametrize(
    "content",
    [b"not json", b"", b'{"tat": "soon"}', b'{"tat": NaN}', b"[1, 2]", b'{"tat": 1e300}', b"\xff\xfe"],
)
def test_corrupt_state_counts_as_burst_spent_and_is_rewritten(tmp_path: Path, content: bytes) -> None:
    t = FakeTime()
    path = tmp_path / "rl.json"
    path.write_bytes(content)
    rl = limiter(path, t, rpm=60, burst=3)
    assert rl.acquire() == pytest.approx(1.0)  # not a fresh burst: the safe side
    state = json.loads(path.read_text())
    assert state["tat"] == pytest.approx(t.now + 3.0)


def test_missing_state_gives_a_fresh_burst(budget: Budget) -> None:
    t = FakeTime()
    rl = limiter(budget(), t, rpm=60, burst=2)
    assert [rl.acquire() for _ in range(3)] == [0, 0, 1]


def test_missing_state_directory_is_created(tmp_path: Path) -> None:
    t = FakeTime()
    rl = limiter(tmp_path / "a" / "b" / "rl.json", t, rpm=60, burst=2)
    assert [rl.acquire() for _ in range(3)] == [0, 0, 1]


def test_state_file_and_directory_permissions(tmp_path: Path) -> None:
    t = FakeTime()
    path = tmp_path / "private" / "rl.json"
    limiter(path, t).acquire()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []  # no temp left over


def test_temp_file_of_a_killed_writer_is_removed(tmp_path: Path) -> None:
    t = FakeTime()
    path = tmp_path / "rl.json"
    stale = tmp_path / ".rl.json.k1ll3d.tmp"  # as mkstemp names it; the writer died before the rename
    stale.write_text('{"tat": 0}')
    other = tmp_path / ".other.json.k1ll3d.tmp"  # another token's state: not this limiter's to remove
    other.write_text('{"tat": 0}')
    limiter(path, t).acquire()
    assert not stale.exists()
    assert other.exists()


def test_state_path_is_per_token_without_the_token(tmp_path: Path) -> None:
    token = Secret("a-very-secret-token")
    path = RateLimiter.state_path_for(tmp_path, token)
    assert "a-very-secret-token" not in str(path)
    assert path != RateLimiter.state_path_for(tmp_path, Secret("another-token"))
    assert path.parent == tmp_path


@pytest.mark.parametrize(("rpm", "burst"), [(0, 1), (-1, 1), (10, 0)])
def test_bad_configuration_is_refused(tmp_path: Path, rpm: float, burst: int) -> None:
    with pytest.raises(ValueError):
        RateLimiter(tmp_path / "rl.json", rpm, burst)


# ------------------------------------------------------------------------------------------ several processes

RPM = 600.0  # one every 0.1 s
BURST = 5
PROCESSES = 3
PER_PROCESS = 8
TOLERANCE = 0.015  # seconds of scheduling slack between a reserved slot and the recorded stamp


def _worker(kind: str, where: str, out: str, barrier: object) -> None:
    """Acquire ``PER_PROCESS`` slots of the budget in ``where`` (a state file, or a state URL)."""
    if kind == "file":
        state: LimiterState | Path = Path(where)
    else:
        url = parse_state_url(where)
        assert url is not None
        state = PostgresLimiterState(url, Secret("the-shared-token"))
    rl = RateLimiter(state, RPM, BURST)
    barrier.wait()  # type: ignore[attr-defined]
    stamps = []
    for _ in range(PER_PROCESS):
        rl.acquire()
        stamps.append(time.time())
    Path(out).write_text(json.dumps(stamps))


@pytest.mark.parametrize("kind", ["file", "postgres"])
def test_several_processes_share_one_budget(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if kind == "file":
        where = str(tmp_path / "shared" / "rl.json")
    else:
        postgres = request.getfixturevalue("postgres")
        where = postgres.url(postgres.create_database())  # a fresh database: its table not created yet
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    outs = [tmp_path / f"stamps-{i}.json" for i in range(PROCESSES)]
    procs = [ctx.Process(target=_worker, args=(kind, where, str(out), barrier)) for out in outs]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0

    per_process = [json.loads(out.read_text()) for out in outs]
    stamps = sorted(s for stamps in per_process for s in stamps)
    assert len(stamps) == PROCESSES * PER_PROCESS
    interval = 60.0 / RPM
    # in every window [stamps[i], stamps[j]] at most burst + rate * window requests went
    for i in range(len(stamps)):
        for j in range(i, len(stamps)):
            window = stamps[j] - stamps[i]
            allowed = BURST + int((window + TOLERANCE) / interval)
            assert j - i + 1 <= allowed, (i, j, window)
    # and the budget really was shared: the whole run took as long as one limiter would need
    assert stamps[-1] - stamps[0] >= (PROCESSES * PER_PROCESS - BURST) * interval - TOLERANCE
