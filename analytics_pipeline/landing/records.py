"""API records -> typed Arrow rows, keeping each record's raw JSON whole.

Every landed row is one API record: the endpoint's known fields as typed columns (a missing field is
NULL, never zero) plus ``raw_json``, the record exactly as received, so no field the API sends is lost.
Fields the pipeline does not know yet are reported by :func:`unknown_fields`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa

from analytics_pipeline.api.endpoints import Endpoint, Field, Kind

RAW_JSON = "raw_json"
DIGEST_MODULUS = 1 << 128

_ARROW_TYPES: dict[Kind, pa.DataType] = {
    Kind.STRING: pa.string(),
    Kind.INT: pa.int64(),
    Kind.FLOAT: pa.float64(),
    Kind.DATE: pa.date32(),
}


class RecordError(ValueError):
    """A record's field has a value of the wrong type; nothing of that page is landed."""


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
    try:
        if f.kind is Kind.INT:
            if isinstance(value, bool):
                raise TypeError
            if isinstance(value, float) and not value.is_integer():
                raise TypeError
            return int(value)
        if f.kind is Kind.FLOAT:
            if isinstance(value, bool):
                raise TypeError
            return float(value)
        if f.kind is Kind.DATE:
            return dt.date.fromisoformat(value)
        if not isinstance(value, str):
            raise TypeError
        return value
    except (TypeError, ValueError):
        # An email is not quoted: errors reach logs and Dagster's event log.
        shown = f"a {type(value).__name__}" if f.name == "user_email" else f"{value!r:.80}"
        raise RecordError(
            f"{endpoint.name}: field {'.'.join(f.source)} should be {f.kind.value}, got {shown}"
        ) from None


def to_table(
    endpoint: Endpoint, records: Iterable[Mapping[str, Any]], defaults: Mapping[str, Any] | None = None
) -> pa.Table:
    """Convert records to an Arrow table of the endpoint's schema.

    ``defaults`` fill typed columns the record leaves out (e.g. the budget ``resource`` that was
    asked for); the raw JSON always stays exactly as received.
    """
    columns: dict[str, list[Any]] = {f.name: [] for f in endpoint.fields}
    raw: list[str] = []
    for record in records:
        for f in endpoint.fields:
            value = _lookup(record, f.source)
            if value is None and defaults:
                value = defaults.get(f.name)
            columns[f.name].append(_coerce(value, f, endpoint))
        raw.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
    columns[RAW_JSON] = raw
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


def records_digest(records: Iterable[Mapping[str, Any]]) -> int:
    """An order-independent digest of records' content: the sum of each record's hash mod 2**128.

    Two fetches of a day give the same digest exactly when they hold the same records, in any order
    and with keys in any order, so a re-check can tell "restated" from "sent again" without keeping
    the old records. Sums of digests combine, so a partition written page by page sums its pages'.
    """
    total = 0
    for record in records:
        canonical = json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        total += int.from_bytes(hashlib.blake2b(canonical.encode(), digest_size=16).digest(), "big")
    return total % DIGEST_MODULUS
