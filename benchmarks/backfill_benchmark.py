"""Backfill benchmark: requests sent against the fewest possible, rate achieved, 429s, time and memory.

Starts the sandbox API in this process (a thread) with a scaled-up rate limit, runs
``analytics-pipeline backfill`` as a subprocess over a fixed range for a fixed organisation, and
compares what the sandbox saw with the request planner's minimum over the sandbox's own numbers.
Then runs two backfills at once over the two halves of the range, sharing the token and the data
directory, and checks that their combined rate stays within the limit.

    python benchmarks/backfill_benchmark.py                             # small: about two minutes each
    python benchmarks/backfill_benchmark.py --people 2000 --days 730    # the 2-year target
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from analytics_pipeline.api.endpoints import BY_PATH, USER_ACTIVITY
from analytics_pipeline.backfill.estimate import MONTHLY, RequestPlan, counts_from_org, plan_requests
from analytics_pipeline.dates import days_between, reachable_floor, utc_today, yesterday
from analytics_pipeline.sandbox import SandboxRequest, SandboxResponse, SandboxServer, SyntheticOrg

TOKEN = "sandbox-token"
WINDOWS = (1.0, 10.0, 60.0)
"""Sliding windows (seconds) checked against the limit, besides the whole run."""


@dataclass(frozen=True)
class Answer:
    """One request the sandbox answered."""

    at: float
    """When it arrived (``time.monotonic``)."""
    endpoint: str
    status: int


class Recorder:
    """Records every request's arrival and answer through the sandbox's ``before_response`` hook
    (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answers: list[Answer] = []

    def __call__(self, request: SandboxRequest, response: SandboxResponse) -> SandboxResponse:
        # Arrival, not now: an answer takes milliseconds to compute, more for some pages than others,
        # and the limit applies to requests as they arrive.
        answer = Answer(request.received_at, endpoint_name(request), response.status)
        with self._lock:
            self._answers.append(answer)
        return response

    def take(self) -> list[Answer]:
        """Every answer so far, oldest first, and start afresh."""
        with self._lock:
            answers, self._answers = self._answers, []
        return sorted(answers, key=lambda a: a.at)


def endpoint_name(request: SandboxRequest) -> str:
    """The plan's name for a request: user-activity over more than one day is the monthly pass."""
    endpoint = BY_PATH.get(request.path)
    if endpoint is None:
        return request.path
    if endpoint is USER_ACTIVITY and request.query.get("start_date") != request.query.get("end_date"):
        return MONTHLY
    return endpoint.name


@dataclass(frozen=True)
class Run:
    """What one scenario produced."""

    answers: list[Answer]
    seconds: float
    peak_rss_mb: float
    exit_codes: list[int]


def backfill_env(
    server: SandboxServer, args: argparse.Namespace, data_dir: Path, start: dt.date
) -> dict[str, str]:
    """The backfill's environment: the sandbox, the scaled rate, a fresh data directory."""
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}  # an ephemeral Dagster instance
    env.update(
        AUGMENT_API_BASE_URL=server.url,
        AUGMENT_API_TOKEN=TOKEN,
        AUGMENT_API_REQUESTS_PER_MINUTE=str(args.rpm),
        AUGMENT_API_BURST=str(args.burst),
        ANALYTICS_DATA_DIR=str(data_dir),
        ANALYTICS_START_DATE=start.isoformat(),
    )
    return env


def _relay(process: subprocess.Popen[str], prefix: str) -> None:
    """Echo a backfill's progress lines as they come."""
    assert process.stdout is not None
    for line in process.stdout:
        print(f"{prefix}{line.rstrip()}", flush=True)


def run_backfills(
    server: SandboxServer,
    recorder: Recorder,
    args: argparse.Namespace,
    data_dir: Path,
    ranges: Sequence[tuple[dt.date, dt.date]],
) -> Run:
    """Backfill each range in its own subprocess, all at once, and wait for every one."""
    recorder.take()
    server.stats.reset()
    env = backfill_env(server, args, data_dir, min(start for start, _ in ranges))
    started = time.monotonic()
    processes = []
    for start, end in ranges:
        command = [sys.executable, "-m", "analytics_pipeline.cli", "backfill"]
        process = subprocess.Popen(
            [*command, "--start", str(start), "--end", str(end)],
            env=env,
            cwd=data_dir.parent,  # no stray .env from the caller's directory
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        relay = threading.Thread(target=_relay, args=(process, f"    [{start}..{end}] "), daemon=True)
        relay.start()
        processes.append((process, relay))
    codes = []
    for process, relay in processes:
        codes.append(process.wait())
        relay.join()
    seconds = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
    return Run(recorder.take(), seconds, peak, codes)


def achieved_rate(answers: Sequence[Answer], burst: int, per_minute: float) -> float:
    """Requests after the burst per minute over the whole span, as a fraction of the allowed rate."""
    if len(answers) <= burst:
        return float("nan")
    span = answers[-1].at - answers[0].at
    return (len(answers) - burst) / span * 60 / per_minute if span > 0 else float("nan")


def max_in_window(times: Sequence[float], window: float) -> int:
    """The most requests in any window of ``window`` seconds."""
    return max((bisect.bisect_right(times, t + window) - i for i, t in enumerate(times)), default=0)


def sent_by_endpoint(answers: Sequence[Answer]) -> Counter[str]:
    """Requests the sandbox answered, per plan endpoint (429s included: they were sent)."""
    return Counter(a.endpoint for a in answers)


def recorded_by_endpoint(data_dir: Path) -> dict[str, int]:
    """Requests per endpoint as the pipeline recorded them (``pipeline_partitions.requests``)."""
    path = data_dir / "warehouse.duckdb"
    if not path.is_file():
        return {}
    with duckdb.connect(str(path), read_only=True) as con:
        sql = "select endpoint, sum(requests) from pipeline_partitions group by endpoint"
        rows = con.execute(sql).fetchall()
    return {name: int(total) for name, total in rows}


def duration(seconds: float) -> str:
    """``3m07.2s``."""
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes)}m{secs:04.1f}s"


def report_single(run: Run, minimum: RequestPlan, args: argparse.Namespace, data_dir: Path) -> None:
    """The single backfill's figures against the minimum."""
    sent = len(run.answers)
    limited = sum(1 for a in run.answers if a.status == 429)
    print("\nOne backfill")
    print(f"  exit code                  {run.exit_codes[0]}")
    print(f"  requests sent              {sent}")
    print(f"  minimum possible           {minimum.total}")
    print(f"  sent / minimum             {sent / minimum.total:.3f}")
    rate = achieved_rate(run.answers, args.burst, args.rpm)
    print(f"  rate after the burst       {rate:.3f} of {args.rpm:g}/min")
    print(f"  429 responses              {limited}")
    print(f"  wall time                  {duration(run.seconds)}")
    print(f"  peak memory (child RSS)    {run.peak_rss_mb:.0f} MB")
    report_difference(sent_by_endpoint(run.answers), minimum, recorded_by_endpoint(data_dir))


def report_difference(sent: Counter[str], minimum: RequestPlan, recorded: dict[str, int]) -> None:
    """Per endpoint, where the pipeline sent more (or fewer) than the minimum."""
    names = [*minimum.requests, *(n for n in sent if n not in minimum.requests)]
    different = [n for n in names if sent.get(n, 0) != minimum.requests.get(n, 0)]
    if not different:
        print("  every endpoint sent exactly its minimum")
        return
    # On the 2nd of a month the current month's monthly pass is a one-day range: the same request as
    # that day's user-activity, which the sandbox cannot tell apart. The pipeline's own records can.
    alike = (USER_ACTIVITY.name, MONTHLY)
    if (
        set(different) <= set(alike)
        and sum(sent.get(n, 0) for n in alike) == sum(minimum.requests.get(n, 0) for n in alike)
        and all(recorded.get(n, 0) == minimum.requests.get(n, 0) for n in alike)
    ):
        print("  every endpoint sent exactly its minimum (as recorded: the current month is one day")
        print("  so far, and its monthly request is the same as that day's user-activity request)")
        return
    print(f"  NOT the minimum: {sum(sent.values()) - minimum.total:+d} requests")
    print(f"    {'endpoint':<24} {'sent':>7} {'minimum':>8} {'diff':>6} {'recorded':>9}")
    for name in different:
        got, least = sent.get(name, 0), minimum.requests.get(name, 0)
        print(f"    {name:<24} {got:>7} {least:>8} {got - least:>+6} {recorded.get(name, 0):>9}")


def report_concurrent(run: Run, args: argparse.Namespace) -> None:
    """The combined figures of the backfills run at once, window by window against the limit."""
    times = [a.at for a in run.answers]
    rate = args.rpm / 60
    print("\nTwo backfills at once (same token, same data directory)")
    print(f"  exit codes                 {run.exit_codes}")
    print(f"  requests sent              {len(times)}")
    span = times[-1] - times[0] if times else 0.0
    for window in (*WINDOWS, span):
        limit = args.burst + rate * window
        most = max_in_window(times, window)
        verdict = "ok" if most <= limit else "OVER THE LIMIT"
        print(f"  max in any {window:>6.1f}s window {most:>6} (limit {limit:.1f}) {verdict}")
    print(f"  429 responses              {sum(1 for a in run.answers if a.status == 429)}")
    rate_achieved = achieved_rate(run.answers, args.burst, args.rpm)
    print(f"  combined rate after burst  {rate_achieved:.3f} of {args.rpm:g}/min")
    print(f"  wall time                  {duration(run.seconds)}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The organisation, range and rate; small defaults that finish in a few minutes."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--service-accounts", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=int, default=120, help="days ending yesterday (UTC)")
    parser.add_argument("--rpm", type=float, default=600.0, help="the sandbox's and the client's rate")
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--skip-concurrent", action="store_true", help="only the single backfill")
    return parser.parse_args(argv)


def minimum_plan(org: SyntheticOrg, start: dt.date, end: dt.date, today: dt.date) -> RequestPlan:
    """The fewest requests that fetch the range: the planner over the sandbox's own numbers."""
    counts, monthly = counts_from_org(org, start, end, today=today)
    return plan_requests(days_between(start, end), counts, monthly_users=monthly, snapshots=1)


def halves(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    middle = start + (end - start) / 2
    return [(start, middle), (middle + dt.timedelta(days=1), end)]


def main(argv: Sequence[str] | None = None) -> int:
    """Both scenarios against one sandbox; returns the exit code."""
    args = parse_args(argv)
    today = utc_today()
    end = yesterday(today)
    start = max(end - dt.timedelta(days=args.days - 1), reachable_floor(today))
    org = SyntheticOrg(seed=args.seed, people=args.people, service_accounts=args.service_accounts)
    print(
        f"Backfill benchmark: {args.people} people + {args.service_accounts} service accounts "
        f"(seed {args.seed}), {start}..{end} ({(end - start).days + 1} days), "
        f"{args.rpm:g} requests/minute, burst {args.burst}"
    )
    clock = time.monotonic()
    minimum = minimum_plan(org, start, end, today)
    seconds = time.monotonic() - clock
    print(f"Minimum requests from the sandbox's own numbers: {minimum.total} ({seconds:.1f}s to count)")
    print("  " + ", ".join(f"{name} {n}" for name, n in minimum.requests.items()))

    recorder = Recorder()
    failed = False
    with SandboxServer(org, tokens=(TOKEN,), requests_per_minute=args.rpm, burst=args.burst) as server:
        server.before_response = recorder
        with tempfile.TemporaryDirectory(prefix="backfill-benchmark-") as tmp:
            single_dir = Path(tmp) / "single" / "data"
            single_dir.parent.mkdir(parents=True)
            print("\nRunning one backfill...")
            single = run_backfills(server, recorder, args, single_dir, [(start, end)])
            report_single(single, minimum, args, single_dir)
            failed = any(single.exit_codes)
            if not args.skip_concurrent:
                time.sleep(args.burst * 60 / args.rpm)  # the sandbox's bucket refills, as for a new token
                both_dir = Path(tmp) / "both" / "data"
                both_dir.parent.mkdir(parents=True)
                ranges = halves(start, end)
                shown = " and ".join(f"{lo}..{hi}" for lo, hi in ranges)
                print(f"\nRunning two backfills at once: {shown}...")
                both = run_backfills(server, recorder, args, both_dir, ranges)
                report_concurrent(both, args)
                failed = failed or any(both.exit_codes)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
