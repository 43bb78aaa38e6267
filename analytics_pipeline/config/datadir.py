"""Guards on the data directory, so data of different kinds never mix, and it stays private.

The demo writes synthetic data; a real backfill writes an organisation's data. A marker file tells
them apart, and each refuses a directory that holds the other's data rather than overwrite it.
Likewise a second marker, ``.emails``, records whether the directory's emails are plain or pseudonymised
and, if pseudonymised, a one-way fingerprint of the key (never the key): plain and pseudonymised
records, or pseudonyms from two keys, would otherwise split every person in two without a trace. A third,
``.source``, records which API a loaded directory's data came from and a one-way fingerprint of the token
(never the token): two organisations' people (or a sandbox's) would otherwise merge unnoticed.

The data holds people's usage (and, unless pseudonymised, their emails): every file and directory the
pipeline creates is readable by its owner only.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from analytics_pipeline.config.paths import DataPaths
from analytics_pipeline.config.settings import ConfigError, is_loopback
from analytics_pipeline.organization import DEFAULT_ORGANIZATION
from analytics_pipeline.privacy.pseudonymize import Pseudonymizer
from analytics_pipeline.privacy.secret import Secret

PLAIN = "plain"
PSEUDONYMIZED = "pseudonymized"
PRIVATE_UMASK = 0o077


def keep_files_private() -> None:
    """From now on, every file and directory this process creates is readable by its owner only.

    Process-wide on purpose: the pipeline creates its own files with explicit modes, but DuckDB creates
    the warehouse's ``.wal`` and the files ``export`` writes, and Dagster its run storage, each with the
    process's umask. Called once by the command line and the Dagster code location, never by library
    code. Bits the user's own umask already masks stay masked.
    """
    current = os.umask(PRIVATE_UMASK)
    os.umask(current | PRIVATE_UMASK)


def make_private(data_dir: Path) -> None:
    """Create the data directory as 0700, or take group and other access away from ours."""
    missing = []
    path = data_dir
    while not path.exists():
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        directory.mkdir(mode=0o700, exist_ok=True)
    info = data_dir.stat()
    if info.st_uid == os.getuid() and info.st_mode & 0o077:
        data_dir.chmod(0o700)


def _holds_data(data_dir: Path) -> bool:
    paths = DataPaths(data_dir)
    return paths.warehouse.exists() or paths.raw.exists()


def check_usable(data_dir: Path) -> None:
    """The data directory exists (or can be created) and this user can list it and write in it.

    Tried for real (a probe file created and removed) rather than judged from permission bits, which
    say nothing for root, read-only mounts or ACLs.
    """
    if data_dir.exists() and not data_dir.is_dir():
        raise ConfigError(f"ANALYTICS_DATA_DIR {data_dir} is not a directory; point it at a directory")
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create ANALYTICS_DATA_DIR {data_dir} ({exc.strerror or type(exc).__name__}); "
            "choose a directory you can write to"
        ) from None
    try:
        os.listdir(data_dir)
        with tempfile.TemporaryFile(dir=data_dir, prefix=".probe-"):
            pass
    except OSError as exc:
        raise ConfigError(
            f"ANALYTICS_DATA_DIR {data_dir} is not readable and writable by this user "
            f"({exc.strerror or type(exc).__name__}); fix its permissions or choose another directory"
        ) from None


def claim_for_sandbox(data_dir: Path) -> None:
    """Allow the demo to write here, unless the directory holds real data."""
    check_usable(data_dir)
    marker = DataPaths(data_dir).sandbox_marker
    if _holds_data(data_dir) and not marker.exists():
        raise ConfigError(
            f"{data_dir} holds data loaded from the real API; the demo will not overwrite it: "
            "set ANALYTICS_DATA_DIR to another directory for the demo"
        )
    make_private(data_dir)
    marker.touch(mode=0o600)


def claim_for_api(
    data_dir: Path, base_url: str, token: Secret, organization: str = DEFAULT_ORGANIZATION
) -> None:
    """Allow a load from the API at ``base_url`` with ``token`` here; check only, nothing is written.

    Refused when the directory is the demo's (whatever the URL: a sandbox on loopback too) or holds data
    from another source (:func:`check_source`). The source is recorded by the load itself, at the first
    response the API accepts (:func:`claim_source`): a token the API rejects claims nothing.
    """
    check_usable(data_dir)
    if DataPaths(data_dir).sandbox_marker.exists():
        raise _demo_directory(data_dir)
    check_source(data_dir, base_url, token, organization)


def _demo_directory(data_dir: Path) -> ConfigError:
    return ConfigError(
        f"{data_dir} holds the demo's synthetic data; set ANALYTICS_DATA_DIR to another directory "
        "(or delete this one) before loading from an API"
    )


def _is_loopback_url(url: str) -> bool:
    return is_loopback(urlsplit(url).hostname or "")


def _source_wanted(base_url: str, token: Secret) -> dict[str, str]:
    return {"base_url": base_url, "token_fingerprint": token.fingerprint()}


def _source_recorded(data_dir: Path, organization: str) -> dict[str, str] | None:
    """What the organisation's marker records; None when there is none (a new directory or organisation,
    or one loaded before markers existed)."""
    marker = DataPaths(data_dir).source_marker(organization)
    try:
        recorded = json.loads(marker.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        recorded = None
    if not isinstance(recorded, dict) or not all(
        isinstance(recorded.get(field), str) for field in ("base_url", "token_fingerprint")
    ):
        raise ConfigError(
            f"{marker} is unreadable; it records which API and token {data_dir}'s data came from: restore "
            "it from a backup, or delete it if that data came with the current "
            + _token_variable(organization)
        )
    return recorded


def _token_variable(organization: str) -> str:
    """How messages name the token: the variable's name is the organisation's setting."""
    if organization == DEFAULT_ORGANIZATION:
        return "AUGMENT_API_TOKEN"
    return f"token of organization {organization!r}"


def check_source(
    data_dir: Path, base_url: str, token: Secret, organization: str = DEFAULT_ORGANIZATION
) -> None:
    """Refuse to load an organisation's data from another API, or with another token, than its data
    came from.

    The demo's directory records no source; a load into it is refused unless from loopback (the demo's
    own sandbox). A directory loaded before ``.source`` existed takes the first source that loads into it.
    """
    paths = DataPaths(data_dir)
    if paths.sandbox_marker.exists():
        if not _is_loopback_url(base_url):
            raise _demo_directory(data_dir)
        return
    recorded = _source_recorded(data_dir, organization)
    wanted = _source_wanted(base_url, token)
    if recorded is None or all(recorded[field] == value for field, value in wanted.items()):
        return
    marker = paths.source_marker(organization)
    whose = "" if organization == DEFAULT_ORGANIZATION else f" for organization {organization!r}"
    if recorded["base_url"] != base_url:
        setting = (
            "AUGMENT_API_BASE_URL"
            if organization == DEFAULT_ORGANIZATION
            else "its base_url in ANALYTICS_ORGANIZATIONS"
        )
        raise ConfigError(
            f"{data_dir} holds data{whose} loaded from {recorded['base_url']} (as {marker.name} records), "
            f"not {base_url}: set ANALYTICS_DATA_DIR to another directory for this API, or set {setting} back"
        )
    raise ConfigError(
        f"{data_dir} holds data{whose} loaded with another {_token_variable(organization)} (fingerprint "
        f"{recorded['token_fingerprint']}; this token's is {wanted['token_fingerprint']}), perhaps another "
        "organisation's: set ANALYTICS_DATA_DIR to another directory for another organisation (or name it "
        "in ANALYTICS_ORGANIZATIONS); if the token was rotated for the same organisation, delete "
        f"{marker} to accept the new one"
    )


def claim_source(
    data_dir: Path, base_url: str, token: Secret, organization: str = DEFAULT_ORGANIZATION
) -> None:
    """Check the source (:func:`check_source`) and record it, once, unless the directory is the demo's.

    Called when the API has just accepted ``token``: from then on the directory's data is that source's.
    """
    check_source(data_dir, base_url, token, organization)
    paths = DataPaths(data_dir)
    if paths.sandbox_marker.exists():
        return
    make_private(data_dir)
    wanted = _source_wanted(base_url, token)
    _record_once(
        paths.source_marker(organization),
        wanted,
        lambda: check_source(data_dir, base_url, token, organization),
    )


def _emails_wanted(key: Secret | None) -> dict[str, str]:
    if key is None:
        return {"emails": PLAIN}
    return {"emails": PSEUDONYMIZED, "key_fingerprint": Pseudonymizer(key).fingerprint()}


def _emails_recorded(data_dir: Path) -> dict[str, str] | None:
    """What the marker records; None for a new directory. Data landed before markers existed is plain."""
    marker = DataPaths(data_dir).emails_marker
    try:
        recorded = json.loads(marker.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"emails": PLAIN} if _holds_data(data_dir) else None
    except (OSError, ValueError):
        recorded = None
    if not isinstance(recorded, dict) or recorded.get("emails") not in (PLAIN, PSEUDONYMIZED):
        raise ConfigError(
            f"{marker} is unreadable; it records whether {data_dir} holds plain or pseudonymised "
            "emails: restore it from a backup, or set ANALYTICS_DATA_DIR to a new directory"
        )
    return recorded


def check_emails(data_dir: Path, key: Secret | None) -> None:
    """Refuse to land emails in a form (plain, or pseudonymised with this key) other than the data's.

    Once recorded, the setting is the directory's for good (deleting its data does not reset it):
    two runs with different settings starting at once in a new directory must not both go ahead.
    """
    recorded = _emails_recorded(data_dir)
    wanted = _emails_wanted(key)
    if recorded is None or recorded == wanted:
        return
    marker = DataPaths(data_dir).emails_marker
    if recorded["emails"] == PLAIN:
        raise ConfigError(
            f"{data_dir} holds plain emails (as {marker.name} records), and landed data cannot be "
            "pseudonymised afterwards: set ANALYTICS_DATA_DIR to a new directory to pseudonymise from "
            "now on, or unset ANALYTICS_PSEUDONYMIZE"
        )
    if wanted["emails"] == PLAIN:
        raise ConfigError(
            f"{data_dir} holds pseudonymised emails (as {marker.name} records): set "
            "ANALYTICS_PSEUDONYMIZE=1 and its ANALYTICS_PSEUDONYMIZE_KEY, or set ANALYTICS_DATA_DIR to "
            "another directory for plain emails"
        )
    raise ConfigError(
        f"{data_dir} was pseudonymised with another ANALYTICS_PSEUDONYMIZE_KEY (fingerprint "
        f"{recorded.get('key_fingerprint')}; this key's is {wanted['key_fingerprint']}): use that key, "
        "or set ANALYTICS_DATA_DIR to a new directory (a new key gives everyone new pseudonyms)"
    )


def claim_emails(data_dir: Path, key: Secret | None) -> None:
    """Check the data directory agrees with this email setting, make it private, and record it there.

    The record is written once, atomically, as a hard link that fails if another process got there
    first (whose record is then checked instead). Nothing is written when the check fails.
    """
    check_emails(data_dir, key)
    make_private(data_dir)
    marker = DataPaths(data_dir).emails_marker
    _record_once(marker, _emails_wanted(key), lambda: check_emails(data_dir, key))


def _record_once(marker: Path, record: dict[str, str], check: Callable[[], None]) -> None:
    """Write ``record`` to ``marker`` unless it exists, atomically: a hard link that fails if another
    process got there first, whose record ``check`` then judges."""
    if marker.exists():
        return
    tmp = marker.with_name(f".{marker.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(record, handle)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, marker)
        except FileExistsError:
            check()
    finally:
        tmp.unlink(missing_ok=True)
