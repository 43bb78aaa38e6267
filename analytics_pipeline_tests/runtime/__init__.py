"""Tests of analytics_pipeline.runtime."""
