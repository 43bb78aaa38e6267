"""An override's key and its limit: what the file, the API and the plan all speak."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from analytics_pipeline.api.endpoints import BUDGET_PERIODS, BUDGET_RESOURCES

DEFAULT_PERIOD = BUDGET_PERIODS[0]
"""The period an entry that names none has (the API knows one: monthly)."""
MAX_INTEGER_DIGITS = 20
MAX_DECIMAL_PLACES = 6
"""The warehouse keeps limits as DECIMAL(38, 6); the API takes at most 20 digits before the point."""


@dataclass(frozen=True, order=True)
class Key:
    """One override: a member's budget for a resource over a period."""

    user_email: str
    resource: str
    period: str

    def describe(self) -> str:
        return f"{self.user_email} {short(self.resource)} {short(self.period)}"


def short(name: str) -> str:
    """A resource or period without its API prefix, for tables: ``CREDITS_CONSUMED``, ``MONTHLY``."""
    for prefix in ("BUDGET_RESOURCE_", "BUDGET_PERIOD_"):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def limit_problem(value: object) -> str | None:
    """Why ``value`` is not a limit (None: it is one): a number or a decimal string, 0 or more."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return f'limit must be a number or a decimal string like "2500000", got {type(value).__name__}'
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return f'limit {value!r} is not a number; give one like "2500000"'
    if not number.is_finite():
        return f"limit {value!r} is not a finite number"
    if number < 0:
        return f"limit {value!r} is negative; give 0 or more"
    if len(str(int(number))) > MAX_INTEGER_DIGITS:
        return f"limit {value!r} has more than {MAX_INTEGER_DIGITS} digits before the point"
    if number != number.quantize(Decimal(1).scaleb(-MAX_DECIMAL_PLACES)):
        return f"limit {value!r} has more than {MAX_DECIMAL_PLACES} decimal places"
    return None


def parse_limit(value: object) -> Decimal:
    """A limit checked by :func:`limit_problem` (ValueError with its reason otherwise)."""
    problem = limit_problem(value)
    if problem:
        raise ValueError(problem)
    return Decimal(str(value).strip())


def limit_text(limit: Decimal) -> str:
    """A limit as the API writes it: a plain decimal string, no exponent, no trailing zeros."""
    if limit == 0:
        return "0"  # not "-0", nor "0E+2"
    text = f"{limit.normalize():f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def resource_problem(value: object) -> str | None:
    if value not in BUDGET_RESOURCES:
        return f"resource {value!r} is not one of {', '.join(BUDGET_RESOURCES)}"
    return None


def period_problem(value: object) -> str | None:
    if value not in BUDGET_PERIODS:
        return f"period {value!r} is not one of {', '.join(BUDGET_PERIODS)}"
    return None
