"""A Dagster deployment of the project on loopback, as ``deploy/README.md`` describes it: a code server
serving ``analytics_pipeline.definitions``, the webserver and the daemon, each its own process, all
reading ``deploy/dagster.yaml`` and ``deploy/workspace.yaml`` from one ``DAGSTER_HOME``.

Also the few GraphQL calls the UI makes to launch and follow a backfill, sent to the webserver with
httpx. Every wait polls with a short interval against a deadline, and names what it waited for.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import httpx

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEPLOY_DIR = PROJECT_ROOT / "deploy"
BIN = Path(sys.executable).parent
POLL_SECONDS = 0.25
LOCATION_NAME = "analytics_pipeline"
"""As deploy/workspace.yaml names the code location."""

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(what: str, check: Callable[[], T | None], deadline: float, logs: Callable[[], str]) -> T:
    """``check()``'s first result that is not None, polled until ``deadline`` (``time.monotonic``)."""
    while True:
        result = check()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{logs()}")
        time.sleep(POLL_SECONDS)


class DagsterDeployment:
    """The code server, webserver and daemon of one ``DAGSTER_HOME``; stopped, children included, on exit."""

    def __init__(self, home: Path, env: Mapping[str, str], logs_dir: Path) -> None:
        self.home = home
        self.logs_dir = logs_dir
        self.code_server_port = free_port()
        self.webserver_port = free_port()
        self.env = {
            **env,
            "DAGSTER_HOME": str(home),
            "DAGSTER_CODE_SERVER_HOST": "127.0.0.1",
            "DAGSTER_CODE_SERVER_PORT": str(self.code_server_port),
        }
        self._processes: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.webserver_port}"

    def _start(self, name: str, *args: str) -> None:
        log = (self.logs_dir / f"{name}.log").open("wb")
        # A session of its own: the runs the code server launches are its children, stopped with it.
        self._processes[name] = subprocess.Popen(
            [str(BIN / args[0]), *args[1:]],
            env=self.env,
            cwd=self.home,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def logs(self) -> str:
        """The last lines of every process's output, for a failure's message."""
        parts = []
        for name in self._processes:
            lines = (self.logs_dir / f"{name}.log").read_text(errors="replace").splitlines()
            parts.append(f"--- {name} (last 40 lines) ---\n" + "\n".join(lines[-40:]))
        return "\n".join(parts)

    def start(self, deadline: float) -> DagsterDeployment:
        """The code server and the webserver, once the webserver has loaded the code location."""
        self.home.mkdir(parents=True, exist_ok=True)
        shutil.copy(DEPLOY_DIR / "dagster.yaml", self.home / "dagster.yaml")
        shutil.copy(DEPLOY_DIR / "workspace.yaml", self.home / "workspace.yaml")
        self._start("code-server", "dagster", "code-server", "start", "-m", "analytics_pipeline.definitions")
        self._start(
            "webserver", "dagster-webserver", "-h", "127.0.0.1", "-p", str(self.webserver_port),
            "-w", str(self.home / "workspace.yaml"),
        )  # fmt: skip
        wait_for("the code location to load in the webserver", self._location_loaded, deadline, self.logs)
        return self

    def start_daemon(self) -> None:
        """The daemon: schedules, sensors, the run queue and backfills start from here."""
        self._start("daemon", "dagster-daemon", "run", "-w", str(self.home / "workspace.yaml"))

    def stop_schedules(self) -> None:
        """Turn off every running schedule, as the UI's toggle does (before the daemon starts)."""
        answer = self.graphql(SCHEDULES_QUERY, {"location": LOCATION_NAME})["schedulesOrError"]
        assert answer["__typename"] == "Schedules" and answer["results"], answer
        for schedule in answer["results"]:
            if schedule["scheduleState"]["status"] == "RUNNING":
                stopped = self.graphql(STOP_SCHEDULE_MUTATION, {"id": schedule["id"]})["stopRunningSchedule"]
                assert stopped["__typename"] == "ScheduleStateResult", stopped

    def _location_loaded(self) -> bool | None:
        for name, process in self._processes.items():
            if process.poll() is not None:
                raise AssertionError(f"{name} exited with {process.returncode}\n{self.logs()}")
        try:
            data = self.graphql(WORKSPACE_QUERY)
        except httpx.TransportError:
            return None  # the webserver is not listening yet
        entries = data["workspaceOrError"]["locationEntries"]
        loaded = [e for e in entries if e["locationOrLoadError"]]
        if not loaded:
            return None
        location = loaded[0]["locationOrLoadError"]
        if location["__typename"] != "RepositoryLocation":
            # The code server may still be loading when the webserver first asks: ask it to look again.
            self.graphql(RELOAD_MUTATION, {"location": loaded[0]["name"]})
            return None
        return True

    def stop(self) -> None:
        for process in self._processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self._processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=20)

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """POST a query to the webserver's /graphql, as the UI does; its ``data``, or an AssertionError."""
        response = httpx.post(
            f"{self.url}/graphql", json={"query": query, "variables": dict(variables or {})}, timeout=30
        )
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise AssertionError(f"GraphQL errors: {body['errors']}")
        return body["data"]


@contextlib.contextmanager
def dagster_deployment(
    home: Path, env: Mapping[str, str], logs_dir: Path, deadline: float
) -> Iterator[DagsterDeployment]:
    """A started :class:`DagsterDeployment`, always stopped afterwards (its processes' children too)."""
    logs_dir.mkdir(parents=True, exist_ok=True)
    deployment = DagsterDeployment(home, env, logs_dir)
    try:
        deployment.start(deadline)
        # The nightly schedule is on by default: at 02:30 UTC it would load yesterday in the middle of
        # a test. Off before the daemon starts, so no run but the test's own ever touches the data.
        deployment.stop_schedules()
        deployment.start_daemon()
        yield deployment
    finally:
        deployment.stop()


WORKSPACE_QUERY = """
query Workspace {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on RepositoryLocation { name }
          ... on PythonError { message }
        }
      }
    }
  }
}
"""

RELOAD_MUTATION = """
mutation Reload($location: String!) {
  reloadRepositoryLocation(repositoryLocationName: $location) { __typename }
}
"""

SCHEDULES_QUERY = """
query Schedules($location: String!) {
  schedulesOrError(
    repositorySelector: {repositoryLocationName: $location, repositoryName: "__repository__"}
  ) {
    __typename
    ... on Schedules { results { id name scheduleState { status } } }
    ... on Error { message }
  }
}
"""

STOP_SCHEDULE_MUTATION = """
mutation StopSchedule($id: String!) {
  stopRunningSchedule(id: $id) {
    __typename
    ... on Error { message }
  }
}
"""

ASSET_KEYS_QUERY = """
query AssetKeys {
  assetNodes { assetKey { path } }
}
"""

LAUNCH_BACKFILL_MUTATION = """
mutation LaunchPartitionBackfill($backfillParams: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $backfillParams) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on Error { message }
  }
}
"""

BACKFILL_QUERY = """
query Backfill($backfillId: String!) {
  partitionBackfillOrError(backfillId: $backfillId) {
    __typename
    ... on PartitionBackfill {
      status
      isAssetBackfill
      error { message }
      runs(limit: 1000) { runId status }
    }
    ... on Error { message }
  }
}
"""

INSTANCE_QUERY = """
query Instance {
  instance {
    runQueuingSupported
    runQueueConfig { maxConcurrentRuns }
    poolConfig { poolGranularity defaultPoolLimit }
  }
}
"""
