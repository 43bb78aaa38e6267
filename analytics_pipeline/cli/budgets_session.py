"""What the ``budgets`` commands share: the one organisation, its checked budgets file, the warehouse's
view of its members, and a client on the token's shared rate limit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from analytics_pipeline.budgets.budget_file import BudgetFile, BudgetFileError, read_budget_file
from analytics_pipeline.budgets.limits import Key
from analytics_pipeline.budgets.plan import BudgetPlan, budget_plan, desired_overrides
from analytics_pipeline.budgets.usage import Use, month_use, people
from analytics_pipeline.cli.options import chosen_organizations
from analytics_pipeline.config.organizations import Organization
from analytics_pipeline.config.settings import ConfigError, Settings
from analytics_pipeline.dates import utc_today
from analytics_pipeline.privacy.pseudonymize import Pseudonymizer
from analytics_pipeline.warehouse import open_warehouse

if TYPE_CHECKING:
    from analytics_pipeline.api import AnalyticsClient

MEMBERS_SHOWN = 3
"""Unknown members named in the error line; the rest are counted."""


def one_organization(settings: Settings, name: str | None) -> Organization:
    """The organisation ``--organization`` names, or the only one; a one-line error when it is not clear."""
    chosen = chosen_organizations(settings, (name,) if name else ())
    if len(chosen) > 1:
        names = ", ".join(org.name for org in chosen)
        raise ConfigError(f"--organization is needed: budgets are one organisation's at a time ({names})")
    return chosen[0]


@dataclass(frozen=True)
class Members:
    """What the warehouse knows of an organisation's members."""

    people: set[str]
    """Its people in ``dim_users``, as stored (emails, or pseudonyms)."""
    use: dict[Key, Use]
    """This month's use of each current override."""
    pseudonymizer: Pseudonymizer | None

    def stored(self, email: str) -> str:
        return self.pseudonymizer.email(email) if self.pseudonymizer else email

    def sendable_people(self) -> set[str]:
        """The people whose emails the warehouse holds (none when it holds pseudonyms)."""
        return set() if self.pseudonymizer else self.people


def members(settings: Settings, organization: str) -> Members:
    """The warehouse's view of ``organization``'s members (nothing yet when there is no warehouse)."""
    key = settings.pseudonymize_key
    pseudonymizer = Pseudonymizer(key) if key is not None else None
    warehouse = open_warehouse(settings.data_dir, settings.warehouse_url)
    if not warehouse.exists():
        return Members(set(), {}, pseudonymizer)
    with warehouse.reader() as con:
        month = utc_today().replace(day=1)
        return Members(people(con, organization), month_use(con, month, organization), pseudonymizer)


def checked_file(path: str, known: Members, organization: str, *, allow_unknown: bool) -> BudgetFile:
    """The budgets file, checked against the members (before anything is sent)."""
    wanted = read_budget_file(Path(path))
    if wanted.defaults and known.pseudonymizer is not None:
        raise BudgetFileError(
            f"{path}: a [[default]] needs the members' emails, and this warehouse holds pseudonyms "
            "(ANALYTICS_PSEUDONYMIZE=1); give each member a [[budget]] of their own"
        )
    if not allow_unknown:
        unknown = sorted(
            {k.user_email for k in wanted.budgets if known.stored(k.user_email) not in known.people}
        )
        if unknown:
            shown = ", ".join(unknown[:MEMBERS_SHOWN])
            more = f" and {len(unknown) - MEMBERS_SHOWN} more" if len(unknown) > MEMBERS_SHOWN else ""
            raise BudgetFileError(
                f"{path}: {shown}{more} not in dim_users of organization {organization!r}; check the "
                "spelling, load their activity first, or pass --allow-unknown-members"
            )
    return wanted


@contextmanager
def api_client(settings: Settings, org: Organization, *, record_source: bool) -> Iterator[AnalyticsClient]:
    """A client of ``org``'s API on the same shared rate limit (and retries) as the assets' fetches."""
    from analytics_pipeline.defs.build import api_resource

    api = api_resource(settings, org).model_copy(
        update={
            "token": org.require_token().reveal(),
            "state_url": settings.state_url.reveal() if settings.state_url else None,
        }
    )
    with api.client(record_source=record_source) as client:
        yield client


def plan_against(wanted: BudgetFile, known: Members, current: dict[Key, Decimal]) -> BudgetPlan:
    """The plan of ``wanted`` against the overrides in force."""
    return budget_plan(desired_overrides(wanted, known.sendable_people(), current), current)


def month_label(today: dt.date | None = None) -> str:
    return (today or utc_today()).strftime("%B %Y")
