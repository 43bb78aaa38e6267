"""Dagster resources, one per file."""

from analytics_pipeline.defs.resources.api import AnalyticsApiResource
from analytics_pipeline.defs.resources.privacy import PrivacyResource
from analytics_pipeline.defs.resources.storage import StorageResource

__all__ = ["AnalyticsApiResource", "PrivacyResource", "StorageResource"]
