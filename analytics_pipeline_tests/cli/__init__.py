"""Tests of analytics_pipeline.cli."""
