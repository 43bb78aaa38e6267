"""Tests of analytics_pipeline.defs."""
