"""The cross-process rate limiter: a token bucket (GCRA) persisted in one state file."""

from __future__ import annotations

import json
import multiprocessing
import stat
import time
from pathlib import Path

import pytest

from analytics_pipeline.api import RateLimiter
from analytics_pipeline.privacy.secret import Secret


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


def limiter(path: Path, t: FakeTime, rpm: float = 60, burst: int = 3) -> RateLimiter:
    return RateLimiter(path, rpm, burst, clock=t.clock, sleep=t.sleep)


def test_burst_then_exactly_the_rate(tmp_path: Path) -> None:
    t = FakeTime()
    rl = limiter(tmp_path / "rl.json", t, rpm=30, burst=3)  # one per 2 s after 3
    start = t.now
    waits = [rl.acquire() for _ in range(7)]
    assert waits == [0, 0, 0, 2, 2, 2, 2]
    assert t.now - start == pytest.approx(8.0)


def test_headroom_keeps_tokens_of_the_server_bucket_in_reserve(tmp_path: Path) -> None:
    t = FakeTime()
    rl = RateLimiter(tmp_path / "rl.json", 30, 3, headroom=1, clock=t.clock, sleep=t.sleep)
    # The burst stops one short of the server's 3, so a request arriving early still finds a token;
    # after it, exactly the rate.
    assert [rl.acquire() for _ in range(6)] == [0, 0, 2, 2, 2, 2]
    assert RateLimiter(tmp_path / "x.json", 30, 1, headroom=1).tolerance == 0


def test_idle_time_refills_the_bucket_up_to_burst_only(tmp_path: Path) -> None:
    t = FakeTime()
    rl = limiter(tmp_path / "rl.json", t, rpm=60, burst=3)
    for _ in range(3):
        rl.acquire()
    t.now += 3600  # a long pause refills to the burst, not beyond
    assert [rl.acquire() for _ in range(5)] == [0, 0, 0, 1, 1]


def test_partial_refill(tmp_path: Path) -> None:
    t = FakeTime()
    rl = limiter(tmp_path / "rl.json", t, rpm=60, burst=3)
    for _ in range(3):
        rl.acquire()
    t.now += 1.5  # one and a half tokens back
    assert [rl.acquire() for _ in range(3)] == [0, pytest.approx(0.5), pytest.approx(1.0)]


def test_state_survives_a_restart(tmp_path: Path) -> None:
    t = FakeTime()
    path = tmp_path / "state" / "rl.json"
    first = limiter(path, t, rpm=60, burst=3)
    for _ in range(3):
        assert first.acquire() == 0
    del first
    second = limiter(path, t, rpm=60, burst=3)  # a new process on the same file
    assert second.acquire() == pytest.approx(1.0)  # waits: the burst was already spent
    assert second.acquire() == pytest.approx(1.0)


def test_penalize_blocks_everyone_then_resumes_at_the_rate(tmp_path: Path) -> None:
    t = FakeTime()
    path = tmp_path / "rl.json"
    a = limiter(path, t, rpm=60, burst=3)
    b = limiter(path, t, rpm=60, burst=3)
    a.acquire()
    a.penalize(30)
    assert b.acquire() == pytest.approx(30.0)
    assert b.acquire() == pytest.approx(1.0)
    a.penalize(0)  # a no-op
    assert a.acquire() == pytest.approx(1.0)


def test_penalize_never_shortens_an_existing_wait(tmp_path: Path) -> None:
    t = FakeTime()
    rl = limiter(tmp_path / "rl.json", t, rpm=60, burst=3)
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


def test_missing_state_gives_a_fresh_burst(tmp_path: Path) -> None:
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


# ---------------------------------------------------------------------------------------------- two processes

RPM = 600.0  # one every 0.1 s
BURST = 5
PER_PROCESS = 10
TOLERANCE = 0.015  # seconds of scheduling slack between a reserved slot and the recorded stamp


def _worker(state: str, out: str, barrier: object) -> None:
    rl = RateLimiter(Path(state), RPM, BURST)
    barrier.wait()  # type: ignore[attr-defined]
    stamps = []
    for _ in range(PER_PROCESS):
        rl.acquire()
        stamps.append(time.time())
    Path(out).write_text(json.dumps(stamps))


def test_two_processes_share_one_budget(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    state = tmp_path / "shared" / "rl.json"
    barrier = ctx.Barrier(2)
    outs = [tmp_path / f"stamps-{i}.json" for i in range(2)]
    procs = [ctx.Process(target=_worker, args=(str(state), str(out), barrier)) for out in outs]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0

    per_process = [json.loads(out.read_text()) for out in outs]
    stamps = sorted(s for stamps in per_process for s in stamps)
    assert len(stamps) == 2 * PER_PROCESS
    interval = 60.0 / RPM
    # in every window [stamps[i], stamps[j]] at most burst + rate * window requests went
    for i in range(len(stamps)):
        for j in range(i, len(stamps)):
            window = stamps[j] - stamps[i]
            allowed = BURST + int((window + TOLERANCE) / interval)
            assert j - i + 1 <= allowed, (i, j, window)
    # and the budget really was shared: the whole run took as long as one limiter would need
    assert stamps[-1] - stamps[0] >= (2 * PER_PROCESS - BURST) * interval - TOLERANCE
