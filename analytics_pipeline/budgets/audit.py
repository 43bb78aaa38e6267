"""Each change ``budgets apply`` sent, recorded in ``fct_budget_changes`` as soon as its outcome is known.

With ``ANALYTICS_PSEUDONYMIZE=1`` the warehouse holds no email: the member and any address in an error
are stored as their pseudonyms, as landing stores them.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass

import duckdb

from analytics_pipeline.budgets.apply import Sent
from analytics_pipeline.budgets.plan import Action
from analytics_pipeline.privacy.pseudonymize import Pseudonymizer
from analytics_pipeline.warehouse.sql import read_sql


def operator() -> str | None:
    """Who runs the command: the operating system's user name, when it has one."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER: a bare container
        return None


@dataclass(frozen=True)
class AuditTrail:
    """Where one apply's changes are recorded, and as whom."""

    run_id: str
    organization: str
    changed_by: str | None
    pseudonymizer: Pseudonymizer | None = None

    def stored_email(self, email: str) -> str:
        """The member as the warehouse keeps them."""
        return self.pseudonymizer.email(email) if self.pseudonymizer else email

    def record(self, con: duckdb.DuckDBPyConnection, sent: Sent) -> None:
        """Add one sent change to ``fct_budget_changes``."""
        change = sent.change
        error = sent.error
        if error is not None and self.pseudonymizer is not None:
            error = str(self.pseudonymizer.record({"error": error})["error"])
        con.execute(
            read_sql("budgets/record_change"),
            {
                "changed_at": sent.at,
                "run_id": self.run_id,
                "user_email": self.stored_email(change.key.user_email),
                "resource": change.key.resource,
                "period": change.key.period,
                "action": Action(change.action).value,
                "old_limit": change.old,
                "new_limit": change.new,
                "outcome": sent.outcome.value,
                "error": error,
                "changed_by": self.changed_by,
                "organization": self.organization,
            },
        )
