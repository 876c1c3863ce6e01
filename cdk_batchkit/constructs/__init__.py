"""Reusable AWS Batch constructs (one module per concept)."""

from .compute import (
    BatchComputeEnvironment,
    ComputeKind,
    ComputeProfile,
    Ec2ComputeEnvironment,
    FargateComputeEnvironment,
    UnmanagedComputeEnvironment,
)
from .fit import FitResult, JobRequirements, Platform, check_fit
from .instance_catalog import Architecture
from .job_definition import (
    BatchJobDefinition,
    ContainerJobDefinition,
    MultiNodeJobDefinition,
    RetryPolicy,
)
from .nag import acknowledge
from .network import BatchNetwork, NetworkMode
from .queue import FairShare, JobQueue

__all__ = [
    "Architecture",
    "BatchComputeEnvironment",
    "BatchJobDefinition",
    "BatchNetwork",
    "ComputeKind",
    "ComputeProfile",
    "ContainerJobDefinition",
    "Ec2ComputeEnvironment",
    "FairShare",
    "FargateComputeEnvironment",
    "FitResult",
    "JobQueue",
    "JobRequirements",
    "MultiNodeJobDefinition",
    "NetworkMode",
    "Platform",
    "RetryPolicy",
    "UnmanagedComputeEnvironment",
    "acknowledge",
    "check_fit",
]
