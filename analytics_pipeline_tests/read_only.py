"""Run a command with a directory read-only, as a read-only mount or a directory without write bits.

Permission bits do not stop root, so as root the command runs in its own mount namespace where the
directory is bind-mounted read-only over itself (util-linux's ``unshare``; nothing outside changes).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

_REMOUNT = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" "$1" && shift && exec "$@"'


def _chmod_tree(root: Path, remove_write: bool) -> None:
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        path.chmod(mode & ~0o222 if remove_write else mode | 0o200)


def run_with_read_only_dir(
    directory: Path, argv: Sequence[str], *, env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """``argv`` (a Python module and its arguments, run with this interpreter) with ``directory``
    read-only; its output as text."""
    command = [sys.executable, "-m", *argv]
    full_env = {**os.environ, **env}
    if os.geteuid() == 0:
        unshare = shutil.which("unshare")
        assert unshare, "util-linux's unshare is needed to make a read-only mount as root"
        command = [unshare, "-m", "sh", "-c", _REMOUNT, "sh", str(directory), *command]
        return subprocess.run(command, env=full_env, cwd=cwd, capture_output=True, text=True, timeout=120)
    _chmod_tree(directory, remove_write=True)
    try:
        return subprocess.run(command, env=full_env, cwd=cwd, capture_output=True, text=True, timeout=120)
    finally:
        _chmod_tree(directory, remove_write=False)
