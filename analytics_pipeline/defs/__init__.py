"""Dagster definitions: partitions, resources, assets, jobs and schedules."""
