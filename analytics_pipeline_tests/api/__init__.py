"""Tests of analytics_pipeline.api."""
