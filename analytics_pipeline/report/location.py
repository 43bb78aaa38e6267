"""Where the report lives inside the data directory (a module of its own: nothing heavy to import)."""

from pathlib import Path

REPORT_FILE = Path("reports") / "usage.html"
