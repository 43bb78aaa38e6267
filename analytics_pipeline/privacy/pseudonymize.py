"""Keyed pseudonyms for email addresses, applied to API records before they land.

With ``ANALYTICS_PSEUDONYMIZE=1`` every email address in a record is replaced by a pseudonym before the
record is written anywhere, so the warehouse, the raw Parquet and every log hold no email at all:

- the person's ``user_email`` (top level, in every endpoint that has one, budget overrides included);
- any other email address in the record, in a value or a key at any depth, so a field the API adds
  later cannot carry one into ``raw_json`` unnoticed.

A pseudonym is ``user-<h>@pseudonymized.invalid``, where ``<h>`` is the first 20 hex digits (80 bits)
of HMAC-SHA256 under the key of the address stripped and lower-cased. It is still a well-formed email
(tools that expect one keep working), under a top-level domain reserved never to resolve (RFC 2606),
and the same person gets the same pseudonym on every endpoint and every day, so joins, distinct counts
and per-user history work unchanged. Without the key it cannot be reversed or recomputed; with the key,
only by hashing candidate addresses. Service-account names are not personal data and stay as sent
(unless one contains an email address). Applying it twice changes nothing: pseudonyms are left alone.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

from analytics_pipeline.privacy.secret import Secret

MIN_KEY_LENGTH = 32
"""Characters; ``secrets.token_hex(32)`` gives 64."""
PSEUDONYM_DOMAIN = "pseudonymized.invalid"
PSEUDONYM_HEX_DIGITS = 20
IDENTITY_FIELD = "user_email"

_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
_PSEUDONYM = re.compile(rf"user-[0-9a-f]{{{PSEUDONYM_HEX_DIGITS}}}@{re.escape(PSEUDONYM_DOMAIN)}")


class Pseudonymizer:
    """Replaces email addresses with keyed pseudonyms (see the module docstring for the format)."""

    __slots__ = ("_key",)

    def __init__(self, key: Secret) -> None:
        if not isinstance(key, Secret):
            raise TypeError("key must be a Secret")
        if len(key.reveal()) < MIN_KEY_LENGTH:
            raise ValueError(f"a pseudonymisation key needs at least {MIN_KEY_LENGTH} characters")
        self._key = key

    def __repr__(self) -> str:
        return f"Pseudonymizer(key={self._key!r})"

    def fingerprint(self) -> str:
        """A one-way check value of the key (16 hex digits), to tell keys apart without storing one."""
        mac = hmac.new(self._key.reveal().encode(), b"analytics-pipeline key fingerprint", hashlib.sha256)
        return mac.hexdigest()[:16]

    def email(self, address: str) -> str:
        """The pseudonym of one address (an address that is already a pseudonym is returned as is)."""
        normalised = address.strip().lower()
        if _PSEUDONYM.fullmatch(normalised):
            return normalised
        mac = hmac.new(self._key.reveal().encode(), normalised.encode(), hashlib.sha256)
        return f"user-{mac.hexdigest()[:PSEUDONYM_HEX_DIGITS]}@{PSEUDONYM_DOMAIN}"

    def record(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of ``record`` with ``user_email`` and every other email address in it pseudonymised."""
        out: dict[str, Any] = {}
        for key, value in record.items():
            if key == IDENTITY_FIELD and isinstance(value, str) and value.strip():
                out[key] = self.email(value)
            else:
                out[self._text(key)] = self._value(value)
        return out

    def _value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._text(value)
        if isinstance(value, Mapping):
            return {self._text(str(k)): self._value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._value(v) for v in value]
        return value

    def _text(self, text: str) -> str:
        if "@" not in text:  # the common case, and the cheap one
            return text
        return _EMAIL.sub(lambda match: self.email(match.group()), text)
