"""Tests of analytics_pipeline.report."""
