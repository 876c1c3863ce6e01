"""Reusable AWS Batch constructs (one module per concept).

The model they check against (compute kinds, profiles, requirements, rules) lives in
:mod:`cdk_batchkit.model` and is re-exported here for convenience.
"""

from ..model import (
    Architecture,
    ComputeKind,
    ComputeProfile,
    FitResult,
    JobRequirements,
    Platform,
    QueueProfile,
    SubmitShape,
    check_fit,
)
from ._events import EventDelivery
from .compute import (
    BatchComputeEnvironment,
    Ec2ComputeEnvironment,
    FargateComputeEnvironment,
    UnmanagedComputeEnvironment,
)
from .job_definition import (
    BatchJobDefinition,
    Container,
    ContainerJobDefinition,
    ImportedJobDefinition,
    JobDefinitionBase,
    MultiNodeJobDefinition,
    NodeRange,
    RetryPolicy,
)
from .job_notifications import JobStateNotifications, WorkflowNotifications
from .log_archive import JobLogArchive
from .monitoring import BatchMonitoring, MonitoringThresholds
from .nag import acknowledge
from .network import BatchNetwork, NetworkMode
from .notifications import NotificationTopic
from .queue import FairShare, ImportedJobQueue, JobQueue, JobQueueBase
from .submitter import S3JobRule, S3JobSubmitter, SubmitMode
from .triggers import JobSchedule, ObjectCreatedTrigger, WorkflowSchedule
from .workflow import S3_OBJECT_ENVIRONMENT, Step, Workflow

__all__ = [
    "S3_OBJECT_ENVIRONMENT",
    "Architecture",
    "BatchComputeEnvironment",
    "BatchJobDefinition",
    "BatchMonitoring",
    "BatchNetwork",
    "ComputeKind",
    "ComputeProfile",
    "Container",
    "ContainerJobDefinition",
    "Ec2ComputeEnvironment",
    "EventDelivery",
    "FairShare",
    "FargateComputeEnvironment",
    "FitResult",
    "ImportedJobDefinition",
    "ImportedJobQueue",
    "JobDefinitionBase",
    "JobLogArchive",
    "JobQueue",
    "JobQueueBase",
    "JobRequirements",
    "JobSchedule",
    "JobStateNotifications",
    "MonitoringThresholds",
    "MultiNodeJobDefinition",
    "NetworkMode",
    "NodeRange",
    "NotificationTopic",
    "ObjectCreatedTrigger",
    "Platform",
    "QueueProfile",
    "RetryPolicy",
    "S3JobRule",
    "S3JobSubmitter",
    "Step",
    "SubmitMode",
    "SubmitShape",
    "UnmanagedComputeEnvironment",
    "Workflow",
    "WorkflowNotifications",
    "WorkflowSchedule",
    "acknowledge",
    "check_fit",
]
