"""Tests of analytics_pipeline.warehouse."""
