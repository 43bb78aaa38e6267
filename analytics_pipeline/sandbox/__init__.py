"""The sandbox: a local stand-in for the Analytics API, served from a synthetic organisation."""

from analytics_pipeline.sandbox.faults import Fault, FaultInjector, FaultKind, FaultPlan
from analytics_pipeline.sandbox.org import InvalidBudgetRequest, SyntheticOrg
from analytics_pipeline.sandbox.server import (
    BeforeResponse,
    RequestStats,
    SandboxRequest,
    SandboxResponse,
    SandboxServer,
)

__all__ = [
    "BeforeResponse",
    "Fault",
    "FaultInjector",
    "FaultKind",
    "FaultPlan",
    "InvalidBudgetRequest",
    "RequestStats",
    "SandboxRequest",
    "SandboxResponse",
    "SandboxServer",
    "SyntheticOrg",
]
