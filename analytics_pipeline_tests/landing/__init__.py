"""Tests of analytics_pipeline.landing."""
