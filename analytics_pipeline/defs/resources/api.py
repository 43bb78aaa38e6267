"""The Analytics API as a Dagster resource."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import dagster as dg
from pydantic import Field

from analytics_pipeline.api import AnalyticsClient, RateLimiter, RetryPolicy
from analytics_pipeline.api._client import DEFAULT_DEADLINE_SECONDS, DEFAULT_TIMEOUT_SECONDS
from analytics_pipeline.api._retry import (
    DEFAULT_BASE_DELAY,
    DEFAULT_BUDGET_SECONDS,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_DELAY,
)
from analytics_pipeline.api.ratelimit import LimiterState
from analytics_pipeline.api.ratelimit_file import FileLimiterState
from analytics_pipeline.api.ratelimit_postgres import PostgresLimiterState
from analytics_pipeline.config.datadir import check_source, claim_source
from analytics_pipeline.config.paths import DataPaths
from analytics_pipeline.config.settings import (
    DEFAULT_BASE_URL,
    DEFAULT_BURST,
    DEFAULT_DATA_DIR,
    DEFAULT_REQUESTS_PER_MINUTE,
    ConfigError,
    check_api_token,
    check_base_url,
)
from analytics_pipeline.config.state_url import parse_state_url
from analytics_pipeline.organization import DEFAULT_ORGANIZATION
from analytics_pipeline.privacy.secret import Secret

LIMITER_HEADROOM = 1
"""One token of the API's bucket kept in reserve against arrival jitter (see ``api.ratelimit``)."""


def missing_token_in_dagster(token_env: str) -> str:
    """Why a step of Dagster's cannot call the API, and where to set the variable."""
    return (
        f"{token_env} is not set in the environment of the process that runs this step (Dagster's code "
        "server, and its run workers, read it when they start): set it there, restart them, and run again"
    )


BACKFILL_TAG = "dagster/backfill"
"""The tag Dagster gives each run of a backfill: the backfill's id."""
JOB_BACKFILL_WARNING = (
    "this run is one partition of a job backfill (`dagster job backfill`), which makes a run per day: "
    "each asks for its own day of the endpoints that serve up to 90 days a request, so it costs up to "
    "90 times the requests; launch backfills from the asset graph in the UI, or use "
    "`analytics-pipeline backfill` (days already landed are skipped either way)"
)


def job_backfill_warning(instance: dg.DagsterInstance | None, run: dg.DagsterRun | None) -> str:
    """The warning for a run of a job backfill (one partition a run), else ``""``."""
    backfill_id = run.tags.get(BACKFILL_TAG) if run is not None else None
    if instance is None or backfill_id is None:
        return ""
    backfill = instance.get_backfill(backfill_id)
    return JOB_BACKFILL_WARNING if backfill is not None and not backfill.is_asset_backfill else ""


class AnalyticsApiResource(dg.ConfigurableResource):
    """Augment's Analytics API for one organisation, rate-limited across every process sharing its token."""

    organization: str = Field(
        default=DEFAULT_ORGANIZATION, description="The organisation whose data the token reads."
    )
    token_env: str = Field(
        default="AUGMENT_API_TOKEN", description="The variable the token is read from, for messages."
    )
    base_url: str = DEFAULT_BASE_URL
    token: str | None = Field(
        default=None,
        repr=False,
        description="Set from the organisation's variable (AUGMENT_API_TOKEN, or its token_env).",
    )
    requests_per_minute: float = DEFAULT_REQUESTS_PER_MINUTE
    burst: int = DEFAULT_BURST
    data_dir: str = Field(default=str(DEFAULT_DATA_DIR), description="The limiter's shared state lives here.")
    state_url: str | None = Field(
        default=None,
        repr=False,
        description="Set from ANALYTICS_STATE_URL: the limiter's state in PostgreSQL instead of data_dir.",
    )
    timeout_seconds: float = Field(
        default=DEFAULT_TIMEOUT_SECONDS, gt=0, description="Seconds to wait for each read of a response."
    )
    attempt_deadline_seconds: float = Field(
        default=DEFAULT_DEADLINE_SECONDS,
        gt=0,
        description="Most seconds one attempt may take in all: connecting and the whole response.",
    )
    max_attempts: int = Field(
        default=DEFAULT_MAX_ATTEMPTS, ge=1, description="Attempts per request, the first included."
    )
    retry_base_delay: float = Field(
        default=DEFAULT_BASE_DELAY, ge=0, description="Backoff: the first retry waits up to this long."
    )
    retry_max_delay: float = Field(
        default=DEFAULT_MAX_DELAY, ge=0, description="Backoff: the longest wait (unless Retry-After)."
    )
    retry_budget_seconds: float = Field(
        default=DEFAULT_BUDGET_SECONDS, ge=0, description="Most seconds one request may wait to retry."
    )

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Says, once a run, when the run is a day of a job backfill (see :data:`JOB_BACKFILL_WARNING`)."""
        warning = job_backfill_warning(context.instance, context.run)
        if warning and context.log is not None:
            context.log.warning(warning)

    def __repr__(self) -> str:
        return f"AnalyticsApiResource(organization={self.organization!r}, base_url={self.base_url!r})"

    def limiter(self, token: Secret) -> RateLimiter:
        """The budget shared by every process using this token: its state in PostgreSQL when
        ``state_url`` is set, else under the data directory."""
        return RateLimiter(
            self.limiter_state(token), self.requests_per_minute, self.burst, headroom=LIMITER_HEADROOM
        )

    def limiter_state(self, token: Secret) -> LimiterState:
        """Where the limiter of ``token`` keeps its state (not yet opened)."""
        # Dagster hands over the variable as set: parsed here as Settings does.
        url = parse_state_url(self.state_url)
        if url is not None:
            return PostgresLimiterState(url, token)
        return FileLimiterState(FileLimiterState.path_for(DataPaths(Path(self.data_dir)).state, token))

    @contextmanager
    def client(self, *, record_source: bool = True) -> Iterator[AnalyticsClient]:
        """A client, unless the data directory holds another source's data (refused before any request).

        The first response the API accepts records the source in the data directory (``.source``), so
        that no other token or API loads there later; ``record_source=False`` (``plan``) only checks.
        """
        # Dagster hands over the variable as set: normalised and checked here as Settings does.
        token = check_api_token(self.token)
        if token is None:
            raise ConfigError(missing_token_in_dagster(self.token_env))
        base_url, data_dir = check_base_url(self.base_url), Path(self.data_dir)
        check_source(data_dir, base_url, token, self.organization)
        limiter = self.limiter(token)
        with (
            closing(limiter),
            AnalyticsClient(
                base_url,
                token,
                limiter=limiter,
                retry=self.retry_policy(),
                timeout=self.timeout_seconds,
                deadline=self.attempt_deadline_seconds,
                on_accepted=functools.partial(claim_source, data_dir, base_url, token, self.organization)
                if record_source
                else None,
            ) as client,
        ):
            yield client

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.max_attempts,
            base_delay=self.retry_base_delay,
            max_delay=self.retry_max_delay,
            budget_seconds=self.retry_budget_seconds,
        )
