"""How personal data lands, as a Dagster resource: emails as sent, or pseudonymised with a key."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field

from analytics_pipeline.config.datadir import claim_emails
from analytics_pipeline.config.settings import check_pseudonymize_key
from analytics_pipeline.privacy.pseudonymize import Pseudonymizer


class PrivacyResource(dg.ConfigurableResource):
    """Pseudonymises emails before they land when a key is set (ANALYTICS_PSEUDONYMIZE=1)."""

    pseudonymize_key: str | None = Field(
        default=None,
        repr=False,
        description="From ANALYTICS_PSEUDONYMIZE_KEY when ANALYTICS_PSEUDONYMIZE=1; unset: emails as sent.",
    )

    def __repr__(self) -> str:
        return f"PrivacyResource(pseudonymize={self.pseudonymize_key is not None})"

    def pseudonymizer(self, data_dir: Path) -> Pseudonymizer | None:
        """What to apply to records before they land in ``data_dir``, once the directory agrees.

        Every landing step asks, so a run launched from the UI is refused (nothing written) just as
        the command line is when the directory holds emails in another form.
        """
        key = check_pseudonymize_key(self.pseudonymize_key) if self.pseudonymize_key else None
        claim_emails(data_dir, key)
        return Pseudonymizer(key) if key is not None else None
