"""Where the report lives inside the data directory (a module of its own: nothing heavy to import)."""

from analytics_pipeline.config.paths import REPORT_FILE

__all__ = ["REPORT_FILE"]
