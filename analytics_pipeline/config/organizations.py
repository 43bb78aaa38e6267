"""The organisations one deployment fetches: ``ANALYTICS_ORGANIZATIONS``, or the one ``default``."""

from __future__ import annotations

import re

DEFAULT_ORGANIZATION = "default"
"""The one organisation of a deployment without an organisations file, and the organisation an existing
single-organisation warehouse's rows are migrated to."""

NAME_PATTERN = re.compile(r"[a-z0-9_-]+")
"""An organisation's name: lowercase letters, digits, ``_`` and ``-``."""
