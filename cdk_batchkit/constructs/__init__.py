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
from .job_notifications import JobStateNotifications, WorkflowNotifications
from .monitoring import BatchMonitoring, MonitoringThresholds
from .nag import acknowledge
from .network import BatchNetwork, NetworkMode
from .notifications import NotificationTopic
from .queue import FairShare, JobQueue
from .submitter import S3JobRule, S3JobSubmitter, SubmitMode
from .triggers import JobSchedule, ObjectCreatedTrigger, WorkflowSchedule
from .workflow import S3_OBJECT_ENVIRONMENT, Step, Workflow

__all__ = [
    "S3_OBJECT_ENVIRONMENT",
    "BatchMonitoring",
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
    "NotificationTopic",
    "Platform",
    "RetryPolicy",
    "S3JobRule",
    "S3JobSubmitter",
    "SubmitMode",
    "UnmanagedComputeEnvironment",
    "JobSchedule",
    "JobStateNotifications",
    "MonitoringThresholds",
    "ObjectCreatedTrigger",
    "Step",
    "Workflow",
    "WorkflowNotifications",
    "WorkflowSchedule",
    "acknowledge",
    "check_fit",
]
