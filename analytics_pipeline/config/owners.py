"""Who owns an organisation's assets in Dagster: ``ANALYTICS_OWNERS``, or ``owners`` in its table.

Dagster shows an asset's owners in the catalog and filters by them; it takes an email address or a team
name prefixed ``team:``. Checked here, with the rule Dagster applies, so that a typo is one line at start
rather than a code location that fails to load.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from analytics_pipeline.config.settings import ConfigError

OWNERS_VARIABLE = "ANALYTICS_OWNERS"
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,7}")
"""Dagster 1.13's rule for an owner's email (``dagster._core.utils.is_valid_email``)."""
TEAM = re.compile(r"team:\S+")
EXAMPLE = "team:data-platform or alice@example.com"


def check_owners(values: object, name: str) -> tuple[str, ...]:
    """``values`` as owners, in order, each once; a one-line :class:`ConfigError` naming ``name``."""
    if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
        raise ConfigError(f"{name} must be a list of owners, such as [{EXAMPLE.replace(' or ', ', ')}]")
    owners = tuple(dict.fromkeys(v.strip() for v in values))
    for owner in owners:
        if not (EMAIL.fullmatch(owner) or TEAM.fullmatch(owner)):
            raise ConfigError(f"{name}: owner {owner!r} is neither an email address nor a team ({EXAMPLE})")
    return owners


def owners_from_env(env: Mapping[str, str]) -> tuple[str, ...]:
    """``ANALYTICS_OWNERS``: owners separated by commas; none when unset."""
    text = env.get(OWNERS_VARIABLE, "").strip()
    return check_owners([part for part in text.split(",") if part.strip()], OWNERS_VARIABLE) if text else ()
