"""Tests of analytics_pipeline.backfill."""
