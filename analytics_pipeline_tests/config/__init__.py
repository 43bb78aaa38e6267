"""Tests of analytics_pipeline.config."""
