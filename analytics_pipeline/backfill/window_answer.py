"""The API's user-activity over part of a month, for a derivation's monthly check (see
:mod:`analytics_pipeline.backfill.derivation`).

Asked only when a backfill derives days of a month whose other days are not loaded (the range starts or
ends inside it): the month's landed answer then sums days the warehouse cannot, so the check asks for
the backfill's own days of it. Not landed: it is no partition of any endpoint, only a check's evidence,
pseudonymised as landed records are so that it compares with them.
"""

from __future__ import annotations

import datetime as dt

from analytics_pipeline.backfill.derivation import WindowAnswer
from analytics_pipeline.config.organizations import Organization
from analytics_pipeline.config.settings import Settings
from analytics_pipeline.privacy.pseudonymize import Pseudonymizer


def window_answer(settings: Settings, org: Organization) -> WindowAnswer:
    """How the command line asks ``org``'s API for a window's per-member sums: the assets' own resource
    (the token's shared rate-limit budget), records pseudonymised when the settings say so."""
    from analytics_pipeline.defs.build import api_resource

    api = api_resource(settings, org).model_copy(
        update={
            "token": org.require_token().reveal(),
            "state_url": settings.state_url.reveal() if settings.state_url else None,
        }
    )
    key = settings.pseudonymize_key  # the data directory agreed to it before the backfill began
    pseudonymizer = Pseudonymizer(key) if key is not None else None

    def answer(start: dt.date, end: dt.date) -> tuple[list[dict[str, object]], int]:
        records: list[dict[str, object]] = []
        requests = 0
        with api.client() as client:
            for page in client.user_activity(start, end):
                requests += page.requests
                records.extend(pseudonymizer.record(r) if pseudonymizer else r for r in page.records)
        return records, requests

    return answer
