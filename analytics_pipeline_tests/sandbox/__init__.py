"""Tests of analytics_pipeline.sandbox."""
