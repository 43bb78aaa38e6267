"""The allocator settings take effect on importing the package, and never override the user's own."""

import json
import os
import subprocess
import sys

from analytics_pipeline.runtime.allocators import SETTINGS

# What a fresh interpreter sees after importing the package and the libraries it configures.
PROBE = """
import json, os
import analytics_pipeline.cli
import duckdb, pyarrow
print(json.dumps({
    "pool": pyarrow.default_memory_pool().backend_name,
    "env": {name: os.environ.get(name) for name in %r},
}))
"""


def _probe(env: dict[str, str]) -> dict:
    code = PROBE % (list(SETTINGS),)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def _clean_env() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if name not in SETTINGS}


def test_importing_the_package_selects_the_returning_allocators() -> None:
    seen = _probe(_clean_env())
    assert seen["pool"] == "system"
    assert seen["env"] == SETTINGS


def test_a_setting_the_user_made_is_kept() -> None:
    env = {**_clean_env(), "ARROW_DEFAULT_MEMORY_POOL": "mimalloc", "DUCKDB_JE_MALLOC_CONF": "narenas:1"}
    seen = _probe(env)
    assert seen["pool"] == "mimalloc"
    assert seen["env"] == {"ARROW_DEFAULT_MEMORY_POOL": "mimalloc", "DUCKDB_JE_MALLOC_CONF": "narenas:1"}
