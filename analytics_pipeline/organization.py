"""Organisation names: the default one, what a name may be, and how Dagster spells it.

Every layer names organisations (the raw store's folders, the warehouse's ``organization`` column,
Dagster's asset keys); the settings read them (``config/organizations.py``).
"""

from __future__ import annotations

import re

DEFAULT_ORGANIZATION = "default"
"""The one organisation of a deployment without an organisations file, and the organisation an existing
single-organisation warehouse's rows are migrated to."""
ALL = "all"
"""Not a name: the analysis macros' filter value for every organisation."""
NAME_PATTERN = re.compile(r"[a-z0-9_-]{1,64}")
"""An organisation's name: lowercase letters, digits, ``_`` and ``-``."""


def dagster_name(name: str) -> str:
    """``name`` as Dagster allows it in asset keys, groups and jobs (no ``-``)."""
    return name.replace("-", "_")


RAW_FOLDER_PREFIX = "organization="
"""Another organisation than ``default`` lands under ``<raw root>/organization=<name>/``; ``default``
lands at the root itself, the layout a single-organisation deployment always had."""


def raw_folder(name: str) -> str | None:
    """The folder under the raw root that holds ``name``'s partitions; None for ``default`` (the root)."""
    return None if name == DEFAULT_ORGANIZATION else f"{RAW_FOLDER_PREFIX}{name}"
