"""API records -> typed Arrow rows, keeping each record's raw JSON whole.

Every landed row is one API record: the endpoint's known fields as typed columns (a missing field is
NULL, never zero) plus ``raw_json``, the record exactly as received, so no field the API sends is lost.
Fields the pipeline does not know yet are reported by :func:`unknown_fields`.
"""

from __future__ import annotations

import array
import datetime as dt
import hashlib
import io
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from analytics_pipeline.api.endpoints import Endpoint, Field, Kind
from analytics_pipeline.errors import DataError

RAW_JSON = "raw_json"
DIGEST_MODULUS = 1 << 128
INT64_RANGE = range(-(1 << 63), 1 << 63)

_ARROW_TYPES: dict[Kind, pa.DataType] = {
    Kind.STRING: pa.string(),
    Kind.INT: pa.int64(),
    Kind.FLOAT: pa.float64(),
    Kind.DATE: pa.date32(),
}


class RecordError(DataError, ValueError):
    """A record the pipeline cannot land (a value of the wrong type or out of range); nothing of the
    answer that holds it is landed.

    The message names the endpoint, the day or window of the answer once the lander knows it (see
    :meth:`at`), and the field; never a value that may be an email (records name people).
    """

    transient = True  # the API may answer as documented later
    hint = (
        "nothing of that answer was landed; the API sent data the pipeline cannot accept: run again later, "
        "and report it to Augment support if it persists"
    )

    def __init__(self, endpoint: str, problem: str, where: str = "") -> None:
        self.endpoint = endpoint
        self.problem = problem
        self.where = where
        super().__init__(f"{endpoint} {where}: {problem}" if where else f"{endpoint}: {problem}")

    def __reduce__(self) -> tuple[type[RecordError], tuple[str, str, str]]:
        return RecordError, (self.endpoint, self.problem, self.where)

    def at(self, where: str) -> RecordError:
        """The same error naming the day or window it was found in (a narrower one named already stays)."""
        return self if self.where else RecordError(self.endpoint, self.problem, where)


def arrow_schema(endpoint: Endpoint) -> pa.Schema:
    """The landed Parquet schema of an endpoint: its fields, then ``raw_json``."""
    columns = [pa.field(f.name, _ARROW_TYPES[f.kind]) for f in endpoint.fields]
    return pa.schema([*columns, pa.field(RAW_JSON, pa.string(), nullable=False)])


def _lookup(record: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = record
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _coerce(value: Any, f: Field, endpoint: Endpoint) -> Any:
    if value is None:
        return None
    source = ".".join(f.source)
    try:
        if f.kind is Kind.INT:
            if isinstance(value, bool):
                raise TypeError
            if isinstance(value, float) and not value.is_integer():
                raise TypeError
            number = int(value)
            if number not in INT64_RANGE:
                raise RecordError(endpoint.name, f"field {source} is {value!r:.40}, beyond a 64-bit integer")
            return _non_negative(number, f, endpoint)
        if f.kind is Kind.FLOAT:
            if isinstance(value, bool):
                raise TypeError
            real = float(value)
            if not math.isfinite(real):
                raise RecordError(endpoint.name, f"field {source} is {value!r:.40}, not a finite number")
            return _non_negative(real, f, endpoint)
        if f.kind is Kind.DATE:
            return dt.date.fromisoformat(value)
        if not isinstance(value, str):
            raise TypeError
        return value
    except (TypeError, ValueError, OverflowError) as exc:
        if isinstance(exc, RecordError):
            raise
        # An email is not quoted: errors reach logs and Dagster's event log.
        shown = f"a {type(value).__name__}" if f.name == "user_email" else f"{value!r:.80}"
        raise RecordError(endpoint.name, f"field {source} should be {f.kind.value}, got {shown}") from None


def _non_negative(number: float, f: Field, endpoint: Endpoint) -> float:
    if f.non_negative and number < 0:
        what = "a count" if f.kind is Kind.INT else "an amount"
        source = ".".join(f.source)
        raise RecordError(endpoint.name, f"field {source} is {number:g}; {what} cannot be negative")
    return number


def to_table(
    endpoint: Endpoint, records: Iterable[Mapping[str, Any]], defaults: Mapping[str, Any] | None = None
) -> pa.Table:
    """Convert records to an Arrow table of the endpoint's schema.

    ``defaults`` fill typed columns the record leaves out (e.g. the budget ``resource`` that was
    asked for); the raw JSON always stays exactly as received.

    Arrow's JSON reader parses the page natively (fast, and it leaves pandas unimported: building
    arrays from Python lists makes pyarrow import pandas, about 40 MB, in every backfill process). It
    is stricter than the rules of :func:`_coerce`, so a page it refuses, or whose dates it reads
    differently, goes through those rules instead, value by value, with their exact error messages.
    """
    records = list(records)
    lines = [json.dumps(r, ensure_ascii=False, separators=(",", ":")).encode() for r in records]
    try:
        return _parsed_table(endpoint, lines, defaults)
    except _NotNative:
        return _checked_table(endpoint, records, lines, defaults)


class _NotNative(Exception):
    """The page needs the value-by-value rules (a value the JSON reader refuses or reads otherwise)."""


def _json_schema(endpoint: Endpoint) -> pa.Schema:
    """The typed fields as the JSON reader sees them: nested paths as structs, dates as strings."""
    top: dict[str, pa.DataType] = {}
    nested: dict[str, list[pa.Field]] = {}
    for f in endpoint.fields:
        kind = pa.string() if f.kind is Kind.DATE else _ARROW_TYPES[f.kind]
        if len(f.source) == 1:
            top[f.source[0]] = kind
        else:
            nested.setdefault(f.source[0], []).append(pa.field(f.source[1], kind))
    return pa.schema([*top.items(), *((name, pa.struct(fields)) for name, fields in nested.items())])


def _string_array(values: list[bytes]) -> pa.Array:
    """A string array straight from UTF-8 bytes (``pa.array`` on a list would import pandas)."""
    offsets = [0]
    for value in values:
        offsets.append(offsets[-1] + len(value))
    return pa.Array.from_buffers(
        pa.string(),
        len(values),
        [None, pa.py_buffer(array.array("i", offsets).tobytes()), pa.py_buffer(b"".join(values))],
    )


def _parsed_table(endpoint: Endpoint, lines: list[bytes], defaults: Mapping[str, Any] | None) -> pa.Table:
    schema = arrow_schema(endpoint)
    if not lines:
        return pa.Table.from_batches([], schema=schema)
    options = pj.ParseOptions(explicit_schema=_json_schema(endpoint), unexpected_field_behavior="ignore")
    try:
        parsed = pj.read_json(
            io.BytesIO(b"\n".join(lines)),
            read_options=pj.ReadOptions(use_threads=False),
            parse_options=options,
        )
    except pa.ArrowInvalid:
        raise _NotNative from None
    columns = []
    for f in endpoint.fields:
        column = parsed.column(f.source[0])
        if len(f.source) == 2:
            column = pc.struct_field(column, f.source[1])
        default = defaults.get(f.name) if defaults else None
        if default is not None:
            if not isinstance(default, str) or f.kind is not Kind.STRING:
                raise _NotNative
            column = pc.fill_null(column, _string_array([default.encode()])[0])
        if f.kind is Kind.DATE:
            column = _dates(column)
        elif f.kind is Kind.FLOAT and pc.all(pc.is_finite(column)).as_py() is False:
            raise _NotNative  # NaN or Infinity, which the JSON reader accepts
        if f.non_negative and (pc.min(column).as_py() or 0) < 0:
            raise _NotNative
        columns.append(column)
    return pa.Table.from_arrays([*columns, _string_array(lines)], schema=schema)


def _dates(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """ISO dates, exactly: a string that does not read back the same is left to ``_coerce``."""
    try:
        dates = pc.cast(column, pa.date32())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise _NotNative from None
    if pc.all(pc.equal(pc.strftime(dates, "%Y-%m-%d"), column)).as_py() is False:
        raise _NotNative
    return dates


def _checked_table(
    endpoint: Endpoint,
    records: list[Mapping[str, Any]],
    lines: list[bytes],
    defaults: Mapping[str, Any] | None,
) -> pa.Table:
    """The value-by-value rules of :func:`_coerce`: precise errors, and the lenient readings."""
    columns: dict[str, list[Any]] = {f.name: [] for f in endpoint.fields}
    for record in records:
        for f in endpoint.fields:
            value = _lookup(record, f.source)
            if value is None and defaults:
                value = defaults.get(f.name)
            columns[f.name].append(_coerce(value, f, endpoint))
    columns[RAW_JSON] = [line.decode() for line in lines]
    return pa.table(columns, schema=arrow_schema(endpoint))


def unknown_fields(endpoint: Endpoint, records: Iterable[Mapping[str, Any]]) -> set[str]:
    """Dotted paths of record fields the endpoint table does not describe."""
    known = endpoint.known_keys
    found: set[str] = set()

    def walk(obj: Mapping[str, Any], prefix: tuple[str, ...]) -> None:
        for key, value in obj.items():
            path = (*prefix, key)
            if path not in known:
                found.add(".".join(path))
            elif isinstance(value, Mapping):
                walk(value, path)

    for record in records:
        walk(record, ())
    return found


def record_digest(record: Mapping[str, Any]) -> int:
    """A record's content as 128 bits, whatever the order of its keys."""
    canonical = json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return int.from_bytes(hashlib.blake2b(canonical.encode(), digest_size=16).digest(), "big")


def records_digest(records: Iterable[Mapping[str, Any]]) -> int:
    """An order-independent digest of records' content: the sum of each record's hash mod 2**128.

    Two fetches of a day give the same digest exactly when they hold the same records, in any order
    and with keys in any order, so a re-check can tell "restated" from "sent again" without keeping
    the old records. Sums of digests combine, so a partition written page by page sums its pages'.
    """
    return sum(map(record_digest, records)) % DIGEST_MODULUS


def grain_keys(
    endpoint: Endpoint, records: Iterable[Mapping[str, Any]], defaults: Mapping[str, Any] | None = None
) -> list[tuple[Any, ...]]:
    """Each record's values of the endpoint's grain (a field a record leaves out taken from ``defaults``).

    Call it on records :func:`to_table` accepted: their grain values are strings or None, so hashable.
    """
    by_name = {f.name: f for f in endpoint.fields}
    sources = [(name, by_name[name].source) for name in endpoint.grain]
    defaults = defaults or {}
    return [
        tuple(
            defaults.get(name) if (value := _lookup(record, source)) is None else value
            for name, source in sources
        )
        for record in records
    ]
