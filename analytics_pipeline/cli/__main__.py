"""``python -m analytics_pipeline.cli``: the command, for tests and tools that start it by module."""

from analytics_pipeline.cli import main

main()
