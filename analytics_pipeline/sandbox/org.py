"""A deterministic synthetic organisation: the data behind the sandbox API.

Everything the sandbox serves is derived from one table, :meth:`SyntheticOrg.activity`, at the grain
(date, user, editor, language, model), so every endpoint agrees with every other one exactly. A day's
rows are a pure function of ``(seed, people, service_accounts, date)``: never of today's date.

The organisation behaves like a real one: people join over time from :data:`EPOCH` on, far fewer work
at weekends, nobody works on the fixed :data:`HOLIDAYS`, people use a main editor, language and model
with some variety, and service accounts run the CLI agent non-interactively.

Budget overrides are the one mutable part: seeded from the seed, then changed through
:meth:`SyntheticOrg.set_budget_overrides` (thread-safe).

Late arrivals (``late_days > 0``): like a real analytics backend, a day's numbers keep growing for a
few days after they are first published. Each member's rows of a day arrive with a lag of 0 to
``late_days`` days (a pure function of the seed, the day and the member); :meth:`SyntheticOrg.seen_on`
gives the organisation as the API shows it on a given date, without the rows that have not arrived.
The organisation itself (``activity``) is always the settled truth.

Activity the API cannot attribute to an editor (``unattributed_share > 0``): that share of a day's
activity rows (a pure function of the seed and the day) is counted everywhere but in
``/daily-user-activity-by-editor-language``, as a real backend counts events that carry no editor: dau,
user-activity, daily-usage and dau-count still include it. A member whose every row of a day is
unattributed is active that day without a single editor-language row.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analytics_pipeline import dates
from analytics_pipeline.api.endpoints import BUDGET_PERIODS, BUDGET_RESOURCES, METRICS

EPOCH = dt.date(2023, 1, 1)
"""The day the organisation started using Augment: join dates are counted from here."""

HOLIDAYS: frozenset[tuple[int, int]] = frozenset({(1, 1), (5, 1), (12, 25)})
"""(month, day) pairs on which nobody is active, service accounts included."""

EDITORS: tuple[str, ...] = ("VSCode", "JetBrains", "Vim", "CLI", "Unknown")
LANGUAGES: tuple[str, ...] = ("Python", "TypeScript", "Go", "Java", "Rust", "Unknown")
MODELS: tuple[str, ...] = ("claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5", "gpt-5")

SUGGESTED_LINES = "completions_suggested_lines_of_code"
SERVICE_ACCOUNT_PREFIX = "service_account:"
CACHE_DAYS = 120
"""How many generated days are kept (a bounded LRU, so memory stays small)."""

IDENTITY_COLUMNS: tuple[str, ...] = ("user_email", "service_account_name", "user_key")
GRAIN: tuple[str, ...] = ("date", *IDENTITY_COLUMNS, "editor", "language", "model_name")
COLUMNS: tuple[str, ...] = (*GRAIN, *METRICS, "credits_consumed")
"""The columns of :meth:`SyntheticOrg.activity`, in order."""

_CLI = EDITORS.index("CLI")
_UNKNOWN_EDITOR = EDITORS.index("Unknown")
_EDITOR_WEIGHTS = np.array([0.50, 0.25, 0.08, 0.12, 0.05])
_LANGUAGE_WEIGHTS = np.array([0.32, 0.28, 0.14, 0.14, 0.07, 0.05])
_MODEL_WEIGHTS = np.array([0.55, 0.15, 0.15, 0.15])
_CREDITS_PER_MESSAGE = np.array([1200.0, 4000.0, 350.0, 1000.0])  # in MODELS order
_CREDIT_LIMITS = ("1000000", "2500000", "5000000", "10000000")
_USD_LIMITS = ("250", "500", "1000", "2500")

_FIRST_NAMES = (
    "ada",
    "alan",
    "alice",
    "amara",
    "ana",
    "arjun",
    "ben",
    "carla",
    "chen",
    "chloe",
    "dana",
    "david",
    "elena",
    "emeka",
    "emma",
    "farah",
    "felix",
    "grace",
    "hana",
    "hugo",
    "ines",
    "ivan",
    "jack",
    "jin",
    "julia",
    "kai",
    "kenji",
    "laura",
    "leo",
    "lina",
    "lucas",
    "maya",
    "mei",
    "mia",
    "nadia",
    "nina",
    "noah",
    "omar",
    "oscar",
    "priya",
    "rafael",
    "rosa",
    "sam",
    "sara",
    "sofia",
    "tariq",
    "tom",
    "uma",
    "victor",
    "yuki",
    "zoe",
    "zara",
)
_LAST_NAMES = (
    "adams",
    "ahmed",
    "alvarez",
    "bauer",
    "becker",
    "brown",
    "chen",
    "costa",
    "das",
    "dubois",
    "evans",
    "fischer",
    "garcia",
    "gupta",
    "hansen",
    "ito",
    "jensen",
    "kim",
    "kowalski",
    "kumar",
    "lee",
    "lopez",
    "martin",
    "meyer",
    "moreau",
    "nakamura",
    "nguyen",
    "novak",
    "okafor",
    "olsen",
    "patel",
    "petrov",
    "quinn",
    "rossi",
    "santos",
    "schmidt",
    "silva",
    "singh",
    "smith",
    "tanaka",
    "taylor",
    "torres",
    "tran",
    "varga",
    "wagner",
    "walsh",
    "wang",
    "weber",
    "wilson",
    "yamada",
    "young",
    "zhang",
)
_SERVICE_ACCOUNT_NAMES = (
    "ci-bot",
    "release-bot",
    "nightly_tests",
    "docs-bot",
    "security-scan",
    "deploy_bot",
    "triage-bot",
    "migration-runner",
)
_EDITOR_NAMES = np.array(EDITORS, dtype=object)
_LANGUAGE_NAMES = np.array(LANGUAGES, dtype=object)
_MODEL_NAMES = np.array(MODELS, dtype=object)
_NUMERIC: tuple[str, ...] = (*METRICS, "credits_consumed")
_LIMIT_PATTERN = re.compile(r"\d{1,20}(\.\d{1,9})?")


class InvalidBudgetRequest(ValueError):
    """A budget override read or write broke the API's rules (the sandbox answers 400)."""


@dataclass(frozen=True)
class Roster:
    """Who is in the organisation and how each member behaves, in display order.

    People come first (sorted by email), then service accounts (sorted by name); a member's index
    is its rank in every sorted response.
    """

    emails: np.ndarray  # object: email, or None for service accounts
    service_names: np.ndarray  # object: name, or None for people
    keys: np.ndarray  # object: the user_key
    is_service: np.ndarray  # bool
    join_ordinal: np.ndarray  # int: first day the member may be active
    p_weekday: np.ndarray
    p_weekend: np.ndarray
    intensity: np.ndarray
    accept_rate: np.ndarray
    editor: np.ndarray  # main editor index
    language: np.ndarray  # main language index
    second_language: np.ndarray
    model: np.ndarray  # preferred model index

    @property
    def size(self) -> int:
        return len(self.keys)


def _people_emails(rng: np.random.Generator, count: int) -> list[str]:
    pairs = len(_FIRST_NAMES) * len(_LAST_NAMES)
    order = rng.permutation(pairs)
    emails = []
    for i in range(count):
        first, last = divmod(int(order[i % pairs]), len(_LAST_NAMES))
        suffix = str(i // pairs + 1) if i >= pairs else ""
        emails.append(f"{_FIRST_NAMES[first]}.{_LAST_NAMES[last]}{suffix}@example.com")
    return sorted(emails)


def _service_names(count: int) -> list[str]:
    base = len(_SERVICE_ACCOUNT_NAMES)
    names = [
        _SERVICE_ACCOUNT_NAMES[i % base] + (f"-{i // base + 1}" if i >= base else "") for i in range(count)
    ]
    return sorted(names)


def _build_roster(seed: int, people: int, service_accounts: int) -> Roster:
    rng = np.random.default_rng([seed, people, service_accounts])
    emails = _people_emails(rng, people)
    services = _service_names(service_accounts)
    n = people + service_accounts
    is_service = np.arange(n) >= people

    # Adoption grows: a small pilot group starts in the first fortnight, the rest join over ~3 years.
    join = np.round(rng.beta(1.3, 2.0, n) * 1000).astype(np.int64)
    pilot = rng.permutation(people)[: max(1, people // 10)] if people else np.array([], dtype=np.int64)
    join[pilot] = rng.integers(0, 14, len(pilot))
    join[is_service] = rng.integers(0, 600, service_accounts)

    editor = rng.choice(len(EDITORS), n, p=_EDITOR_WEIGHTS)
    editor[is_service] = _CLI
    language = rng.choice(len(LANGUAGES), n, p=_LANGUAGE_WEIGHTS)
    second = (language + rng.integers(1, len(LANGUAGES), n)) % len(LANGUAGES)
    p_weekday = np.where(is_service, 0.95, rng.beta(8, 2, n))
    p_weekend = np.where(is_service, 0.6, rng.uniform(0.01, 0.10, n))

    return Roster(
        emails=np.array([*emails, *([None] * service_accounts)], dtype=object),
        service_names=np.array([*([None] * people), *services], dtype=object),
        keys=np.array([*emails, *(SERVICE_ACCOUNT_PREFIX + s for s in services)], dtype=object),
        is_service=is_service,
        join_ordinal=EPOCH.toordinal() + join,
        p_weekday=p_weekday,
        p_weekend=p_weekend,
        intensity=rng.lognormal(0.0, 0.5, n),
        accept_rate=rng.beta(5, 4, n),
        editor=editor,
        language=language,
        second_language=second,
        model=rng.choice(len(MODELS), n, p=_MODEL_WEIGHTS),
    )


def _pick(rng: np.random.Generator, main: np.ndarray, options: int, keep: float) -> np.ndarray:
    """The main choice with probability ``keep``, otherwise a uniformly random one."""
    other = rng.integers(0, options, len(main))
    return np.where(rng.random(len(main)) < keep, main, other)


def _frame(
    day: dt.date | None, roster: Roster, user: np.ndarray, cols: dict[str, np.ndarray]
) -> pd.DataFrame:
    """Assemble the activity frame (also the empty one, so dtypes always match).

    Built from one object block and one int64 block: far faster than column by column, and the
    identity columns stay ``object`` so a missing email or name is ``None``, not NaN.
    """
    labels = np.full(len(user), day, dtype=object)
    text = np.column_stack(
        [
            labels,
            roster.emails[user],
            roster.service_names[user],
            roster.keys[user],
            _EDITOR_NAMES[cols["editor"]],
            _LANGUAGE_NAMES[cols["language"]],
            _MODEL_NAMES[cols["model"]],
        ]
    )
    numbers = np.column_stack([cols[name] for name in _NUMERIC]).astype(np.int64, copy=False)
    return pd.concat(
        [
            pd.DataFrame(text.reshape(len(user), len(GRAIN)), columns=list(GRAIN), dtype=object),
            pd.DataFrame(numbers.reshape(len(user), len(_NUMERIC)), columns=list(_NUMERIC)),
        ],
        axis=1,
    )


def _empty_columns() -> dict[str, np.ndarray]:
    empty = np.zeros(0, dtype=np.int64)
    return dict.fromkeys(("editor", "language", "model", *METRICS, "credits_consumed"), empty)


def _take(index: np.ndarray, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    return tuple(a[index] for a in arrays)


def _generate_day(seed: int, roster: Roster, day: dt.date) -> pd.DataFrame:
    """One day's activity rows; every draw is vectorised over the whole roster."""
    if (day.month, day.day) in HOLIDAYS or roster.size == 0:
        return _frame(day, roster, np.zeros(0, dtype=np.int64), _empty_columns())
    rng = np.random.default_rng([seed, day.toordinal()])
    weekend = day.weekday() >= 5
    p_active = np.where(roster.join_ordinal <= day.toordinal(), 1.0, 0.0)
    p_active *= roster.p_weekend if weekend else roster.p_weekday
    active = np.flatnonzero(rng.random(roster.size) < p_active)

    # One to three (editor, language, model) combinations per active member; the first is the usual one.
    per_user = 1 + rng.binomial(2, 0.35, len(active))
    user = np.repeat(active, per_user)
    first = np.zeros(len(user), dtype=bool)
    first[np.cumsum(per_user) - per_user] = True
    service = roster.is_service[user]

    editor = np.where(first, roster.editor[user], _pick(rng, roster.editor[user], len(EDITORS), 0.6))
    editor = np.where(service, np.where(rng.random(len(user)) < 0.95, _CLI, _UNKNOWN_EDITOR), editor)
    usual = rng.random(len(user)) < 0.65
    main_language = np.where(usual, roster.language[user], roster.second_language[user])
    language = np.where(first, roster.language[user], _pick(rng, main_language, len(LANGUAGES), 0.85))
    model = np.where(first, roster.model[user], _pick(rng, roster.model[user], len(MODELS), 0.7))

    # Drop repeated combinations (keep the first), then order rows by member rank and combination.
    code = ((user * len(EDITORS) + editor) * len(LANGUAGES) + language) * len(MODELS) + model
    _, keep = np.unique(code, return_index=True)
    keep.sort()
    user, editor, language, model, service = _take(keep, user, editor, language, model, service)
    order = np.lexsort((model, editor, language, user))
    user, editor, language, model, service = _take(order, user, editor, language, model, service)

    cols = _metrics(rng, roster, user, editor, model, service, weekend)
    return _frame(day, roster, user, {"editor": editor, "language": language, "model": model, **cols})


def _metrics(
    rng: np.random.Generator,
    roster: Roster,
    user: np.ndarray,
    editor: np.ndarray,
    model: np.ndarray,
    service: np.ndarray,
    weekend: bool,
) -> dict[str, np.ndarray]:
    """Internally consistent metrics for each row (totals are sums of their parts)."""
    rows = len(user)
    load = roster.intensity[user] * rng.gamma(2.0, 0.5, rows) * (0.5 if weekend else 1.0)
    cli = editor == _CLI
    ide_person = ~service & ~cli
    cli_person = ~service & cli

    completions = rng.poisson(load * 45 * ide_person)
    chat = rng.poisson(load * 4 * ide_person)
    ide_agent = rng.poisson(load * 6 * ide_person)
    remote_agent = rng.poisson(load * 1.5 * ~service) * (rng.random(rows) < 0.3)
    interactive = rng.poisson(load * (7 * cli_person + service)) * (cli_person | (rng.random(rows) < 0.1))
    non_interactive = rng.poisson(load * (25 * service + cli_person)) * (service | (rng.random(rows) < 0.2))

    # A row exists only because its member did something: give an empty row its member's usual message.
    idle = (completions + chat + ide_agent + remote_agent + interactive + non_interactive) == 0
    chat = chat + (idle & ide_person)
    interactive = interactive + (idle & cli_person)
    non_interactive = non_interactive + (idle & service)

    accepted = rng.binomial(completions, roster.accept_rate[user])
    suggested = rng.poisson(completions * 2.2)
    kept = np.divide(accepted, completions, out=np.zeros(rows), where=completions > 0)
    cols = {
        "completions_count": completions,
        "completions_accepted": accepted,
        "completions_lines_of_code": rng.binomial(suggested, kept),
        SUGGESTED_LINES: suggested,
        "chat_messages": chat,
        "remote_agent_messages": remote_agent,
        "remote_agent_lines_of_code": rng.poisson(remote_agent * 9.0),
        "ide_agent_messages": ide_agent,
        "ide_agent_lines_of_code": rng.poisson(ide_agent * 7.0),
        "cli_agent_interactive_messages": interactive,
        "cli_agent_interactive_lines_of_code": rng.poisson(interactive * 6.0),
        "cli_agent_non_interactive_messages": non_interactive,
        "cli_agent_non_interactive_lines_of_code": rng.poisson(non_interactive * 4.0),
    }
    agent = remote_agent + ide_agent + interactive + non_interactive
    cols["total_tool_calls"] = rng.poisson(agent * 3.0)
    cols["total_messages"] = chat + agent
    cols["total_modified_lines_of_code"] = (
        cols["completions_lines_of_code"]
        + cols["remote_agent_lines_of_code"]
        + cols["ide_agent_lines_of_code"]
        + cols["cli_agent_interactive_lines_of_code"]
        + cols["cli_agent_non_interactive_lines_of_code"]
    )
    cols["credits_consumed"] = rng.poisson(_CREDITS_PER_MESSAGE[model] * (0.4 * chat + agent))
    return cols


def _check_filter(name: str, value: Any, allowed: Sequence[str]) -> None:
    if value is not None and value not in allowed:
        raise InvalidBudgetRequest(f"{name} must be one of {', '.join(allowed)}, got {value!r}")


class SyntheticOrg:
    """A deterministic synthetic organisation and the API-shaped views of its activity.

    Views return plain dicts shaped exactly like the API's records, in a stable order: people by email,
    then service accounts by name (and within a member, by the record's other keys).
    """

    def __init__(
        self,
        seed: int = 7,
        people: int = 40,
        service_accounts: int = 3,
        *,
        omit_suggested_lines: bool = False,
        late_days: int = 0,
        late_share: float = 0.2,
        unattributed_share: float = 0.0,
    ) -> None:
        if people < 0 or service_accounts < 0:
            raise ValueError("people and service_accounts must not be negative")
        if late_days < 0 or not 0.0 <= late_share <= 1.0:
            raise ValueError("late_days must not be negative and late_share must be between 0 and 1")
        if not 0.0 <= unattributed_share <= 1.0:
            raise ValueError("unattributed_share must be between 0 and 1")
        self.unattributed_share = unattributed_share
        """The share of activity rows the editor-language view leaves out (see the module docstring)."""
        self.late_days = late_days
        """Days after its first publication during which a day's numbers may still grow."""
        self.late_share = late_share
        """The share of a day's active members whose rows arrive late (when ``late_days`` > 0)."""
        self._seen_on: dt.date | None = None
        self.seed = seed
        self.people = people
        self.service_accounts = service_accounts
        self.omit_suggested_lines = omit_suggested_lines
        self.metric_names: tuple[str, ...] = tuple(
            m for m in METRICS if not (omit_suggested_lines and m == SUGGESTED_LINES)
        )
        """The metrics every response carries (the suggested lines are dropped when omitted)."""
        self._roster = _build_roster(seed, people, service_accounts)
        self._rank = {key: i for i, key in enumerate(self._roster.keys)}
        self._identity = {
            key: ({"user_email": email} if email is not None else {"service_account_name": name})
            for key, email, name in zip(
                self._roster.keys, self._roster.emails, self._roster.service_names, strict=True
            )
        }
        self._people = frozenset(self.user_emails)
        self._days: OrderedDict[int, pd.DataFrame] = OrderedDict()
        self._days_lock = threading.Lock()
        self._budget_lock = threading.Lock()
        self._budgets = self._initial_budgets()

    def __repr__(self) -> str:
        return (
            f"SyntheticOrg(seed={self.seed}, people={self.people}, "
            f"service_accounts={self.service_accounts}, omit_suggested_lines={self.omit_suggested_lines}, "
            f"late_days={self.late_days}, late_share={self.late_share}, "
            f"unattributed_share={self.unattributed_share})"
        )

    def seen_on(self, today: dt.date) -> SyntheticOrg:
        """The organisation as the API shows it on ``today``: late rows not yet arrived are left out.

        A shallow copy sharing the day cache and the budgets (so a budget write shows in both); the
        organisation itself when nothing arrives late.
        """
        if not self.late_days:
            return self
        view = copy.copy(self)
        view._seen_on = today
        return view

    def arrival_lags(self, day: dt.date) -> np.ndarray:
        """Days after ``day``'s first publication at which each member's rows of ``day`` arrive."""
        if not self.late_days:
            return np.zeros(self._roster.size, dtype=np.int64)
        rng = np.random.default_rng([self.seed, day.toordinal(), 0x1A7E])
        late = rng.random(self._roster.size) < self.late_share
        return np.where(late, rng.integers(1, self.late_days + 1, self._roster.size), 0)

    # -- members ---------------------------------------------------------------------------------------

    @property
    def user_emails(self) -> list[str]:
        """Every person's email, sorted."""
        return [e for e in self._roster.emails if e is not None]

    @property
    def service_account_names(self) -> list[str]:
        """Every service account's name, sorted."""
        return [n for n in self._roster.service_names if n is not None]

    def join_date(self, user_key: str) -> dt.date:
        """The first day a member may be active (the adoption curve)."""
        return dt.date.fromordinal(int(self._roster.join_ordinal[self._rank[user_key]]))

    # -- the one underlying table ----------------------------------------------------------------------

    def activity(self, day: dt.date) -> pd.DataFrame:
        """Every activity row of one day at the grain (date, user, editor, language, model_name).

        The frame is a copy: callers may change it freely. Seen on a date (:meth:`seen_on`), rows
        that have not arrived by then are left out.
        """
        frame = self._settled_activity(day)
        return frame[self._arrived(day, frame)].reset_index(drop=True)

    def _arrived(self, day: dt.date, settled: pd.DataFrame) -> np.ndarray:
        """Which of ``day``'s settled rows have arrived by the date the organisation is seen on."""
        arrived = np.ones(len(settled), dtype=bool)
        if self._seen_on is not None:
            # Age 0: the day was first published this morning (it is yesterday).
            age = (self._seen_on - day).days - 1
            if age < self.late_days:
                ranks = settled["user_key"].map(self._rank).to_numpy(dtype=np.int64)
                arrived = self.arrival_lags(day)[ranks] <= age
        return arrived

    def _settled_activity(self, day: dt.date) -> pd.DataFrame:
        ordinal = day.toordinal()
        with self._days_lock:
            frame = self._days.get(ordinal)
            if frame is not None:
                self._days.move_to_end(ordinal)
        if frame is None:
            frame = _generate_day(self.seed, self._roster, day)
            with self._days_lock:
                self._days[ordinal] = frame
                while len(self._days) > CACHE_DAYS:
                    self._days.popitem(last=False)
        return frame.copy()

    def activity_range(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        """Every activity row from ``start`` to ``end`` inclusive, day by day."""
        frames = [f for f in (self.activity(d) for d in dates.days_between(start, end)) if len(f)]
        if not frames:
            return _frame(None, self._roster, np.zeros(0, dtype=np.int64), _empty_columns())
        return pd.concat(frames, ignore_index=True)

    # -- API views -------------------------------------------------------------------------------------

    def dau_count(self, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
        """``/dau-count`` records: one per day of the range, days without activity included as 0."""
        return [
            {"date": d.isoformat(), "user_count": int(self.activity(d)["user_key"].nunique())}
            for d in dates.days_between(start, end)
        ]

    def dau_users(self, day: dt.date) -> list[dict[str, Any]]:
        """``/dau`` records: the members active on ``day``."""
        keys = self.activity(day)["user_key"].unique()
        return [dict(self._identity[k]) for k in sorted(keys, key=self._rank.__getitem__)]

    def daily_usage(self, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
        """``/daily-usage`` records: organisation totals per day; days without activity omitted."""
        records = []
        for d in dates.days_between(start, end):
            frame = self.activity(d)
            if len(frame):
                totals = frame[list(self.metric_names)].sum().tolist()
                records.append({"date": d.isoformat(), "metrics": self._metrics(totals)})
        return records

    def user_activity(self, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
        """``/user-activity`` records: per-member sums over the range, with the days active."""
        frame = self.activity_range(start, end)
        grouped = frame.groupby("user_key", sort=False)
        sums = grouped[list(self.metric_names)].sum()
        sums["active_days"] = grouped["date"].nunique()
        sums = self._ranked(sums.reset_index(), [])
        return [
            {**self._identity[key], "active_days": int(days), "metrics": self._metrics(values)}
            for key, days, values in zip(
                sums["user_key"],
                sums["active_days"],
                sums[list(self.metric_names)].to_numpy().tolist(),
                strict=True,
            )
        ]

    def unattributed(self, day: dt.date) -> np.ndarray:
        """Which of :meth:`activity`'s rows of ``day`` carry no editor (a mask over the settled rows)."""
        settled = len(self._settled_activity(day))
        if not self.unattributed_share:
            return np.zeros(settled, dtype=bool)
        rng = np.random.default_rng([self.seed, day.toordinal(), 0xED17])
        return rng.random(settled) < self.unattributed_share

    def editor_language(self, day: dt.date) -> list[dict[str, Any]]:
        """``/daily-user-activity-by-editor-language`` records: per member, language and editor (without
        the activity that carries no editor: :meth:`unattributed`)."""
        keys = ["user_key", "language", "editor"]
        settled = self._settled_activity(day)
        frame = settled[self._arrived(day, settled) & ~self.unattributed(day)]
        sums = frame.groupby(keys, sort=False)[list(self.metric_names)].sum().reset_index()
        sums = self._ranked(sums, ["language", "editor"])
        return [
            {**self._identity[key], "language": language, "editor": editor, "metrics": self._metrics(values)}
            for key, language, editor, values in zip(
                sums["user_key"],
                sums["language"],
                sums["editor"],
                sums[list(self.metric_names)].to_numpy().tolist(),
                strict=True,
            )
        ]

    def credit_usage(
        self, start: dt.date, end: dt.date, by_date: bool = False, by_model: bool = False
    ) -> list[dict[str, Any]]:
        """``/credit-usage-by-user`` records: credits per member, optionally per day and per model.

        ``date`` and ``model_name`` are present only when their breakdown is on; only positive totals
        are listed. Ordered by date (when broken down), then member, then model.
        """
        extra = (["date"] if by_date else []) + (["model_name"] if by_model else [])
        frame = self.activity_range(start, end)
        sums = frame.groupby(["user_key", *extra], sort=False)["credits_consumed"].sum().reset_index()
        sums = sums[sums["credits_consumed"] > 0]
        sums = self._ranked(sums, ["model_name"] if by_model else [], first=["date"] if by_date else [])
        records = []
        for row in sums.itertuples(index=False):
            record: dict[str, Any] = dict(self._identity[row.user_key])
            if by_date:
                record["date"] = row.date.isoformat()
            if by_model:
                record["model_name"] = row.model_name
            record["credits_consumed"] = int(row.credits_consumed)
            records.append(record)
        return records

    # -- budget overrides ------------------------------------------------------------------------------

    def get_budget_overrides(
        self,
        user_emails: Iterable[str] | None = None,
        resource: str | None = None,
        period: str | None = None,
    ) -> list[dict[str, Any]]:
        """``/get-user-budget-overrides`` records, filtered by whatever is given.

        An empty ``user_emails`` means no filter (as an unset repeated field does in the real API).
        """
        if user_emails is not None and (
            isinstance(user_emails, str) or not all(isinstance(e, str) for e in user_emails)
        ):
            raise InvalidBudgetRequest("user_emails must be a list of strings")
        _check_filter("resource", resource, BUDGET_RESOURCES)
        _check_filter("period", period, BUDGET_PERIODS)
        wanted = set(user_emails or ())
        with self._budget_lock:
            items = sorted(self._budgets.items())
        return [
            {"user_email": email, "resource": res, "period": per, "config": {"limit": limit}}
            for (email, res, per), limit in items
            if (not wanted or email in wanted)
            and (resource is None or res == resource)
            and (period is None or per == period)
        ]

    def set_budget_overrides(self, overrides: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Validate every override, then create or update them all at once; returns what was written.

        Each override is ``{"user_email", "resource", "period", "config": {"limit"}}``; the limit is a
        non-negative decimal string (an integer is accepted and written as a string). Only people may
        have overrides. Nothing is written when any override is invalid.
        """
        if isinstance(overrides, (str, bytes, Mapping)) or not isinstance(overrides, Sequence):
            raise InvalidBudgetRequest("overrides must be a list")
        written = [self._valid_override(i, o) for i, o in enumerate(overrides)]
        with self._budget_lock:
            for o in written:
                self._budgets[(o["user_email"], o["resource"], o["period"])] = o["config"]["limit"]
        return written

    # -- helpers ---------------------------------------------------------------------------------------

    def _valid_override(self, index: int, override: Any) -> dict[str, Any]:
        where = f"overrides[{index}]"
        if not isinstance(override, Mapping):
            raise InvalidBudgetRequest(f"{where} must be an object")
        email = override.get("user_email")
        if not isinstance(email, str) or email not in self._people:
            raise InvalidBudgetRequest(f"{where}.user_email {email!r} is not a user of this organisation")
        for name, allowed in (("resource", BUDGET_RESOURCES), ("period", BUDGET_PERIODS)):
            if override.get(name) not in allowed:
                raise InvalidBudgetRequest(
                    f"{where}.{name} must be one of {', '.join(allowed)}, got {override.get(name)!r}"
                )
        config = override.get("config")
        limit = config.get("limit") if isinstance(config, Mapping) else None
        if isinstance(limit, int) and not isinstance(limit, bool) and limit >= 0:
            limit = str(limit)
        if not isinstance(limit, str) or not _LIMIT_PATTERN.fullmatch(limit):
            raise InvalidBudgetRequest(
                f"{where}.config.limit must be a non-negative decimal string like '2500000', got {limit!r}"
            )
        return {
            "user_email": email,
            "resource": override["resource"],
            "period": override["period"],
            "config": {"limit": limit},
        }

    def _initial_budgets(self) -> dict[tuple[str, str, str], str]:
        rng = np.random.default_rng([self.seed, self.people, self.service_accounts, 0xB0D6E7])
        emails = self.user_emails
        budgets: dict[tuple[str, str, str], str] = {}
        credits, usd = BUDGET_RESOURCES
        (monthly,) = BUDGET_PERIODS
        for i in np.flatnonzero(rng.random(len(emails)) < 0.25):
            budgets[(emails[i], credits, monthly)] = str(rng.choice(_CREDIT_LIMITS))
        few = rng.permutation(len(emails))[: max(1, len(emails) // 20)] if emails else np.array([], dtype=int)
        for j in few:
            budgets[(emails[j], usd, monthly)] = str(rng.choice(_USD_LIMITS))
        return budgets

    def _metrics(self, values: Sequence[Any]) -> dict[str, int]:
        return {name: int(v) for name, v in zip(self.metric_names, values, strict=True)}

    def _ranked(self, frame: pd.DataFrame, after: list[str], first: Sequence[str] = ()) -> pd.DataFrame:
        """Sort by ``first``, then member rank (people by email, then service accounts), then ``after``."""
        frame = frame.assign(_rank=frame["user_key"].map(self._rank))
        return frame.sort_values([*first, "_rank", *after], kind="stable").drop(columns="_rank")
