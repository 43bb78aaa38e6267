"""Backfills: what a range costs in requests, and the in-process runs that load it."""
