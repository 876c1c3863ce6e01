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
from .acknowledgements import acknowledge_eks_cluster, acknowledge_rule
from .compute import (
    AllocationStrategy,
    BatchComputeEnvironment,
    Ec2ComputeEnvironment,
    FargateComputeEnvironment,
    ManagedEc2Props,
    UnmanagedComputeEnvironment,
)
from .consumable import ConsumableResource, ConsumableResourceType
from .container_options import ContainerCondition, FireLens, LinuxParameters
from .eks import EksComputeEnvironment, EksContainer, EksJobDefinition, batch_manifests
from .encryption import BatchEncryption
from .job_definition import (
    BatchJobDefinition,
    Container,
    ContainerJobDefinition,
    EcsJobDefinitionProps,
    ImportedJobDefinition,
    JobDefinitionBase,
    JobDefinitionProps,
    MultiNodeJobDefinition,
    NodeRange,
    RetryPolicy,
    TaskPlatformProps,
)
from .job_notifications import JobStateNotifications, WorkflowNotifications
from .log_archive import JobLogArchive
from .managed_instances import ManagedInstancesComputeEnvironment
from .monitoring import (
    BatchMonitoring,
    JobStatus,
    MonitoringThresholds,
    QueueMetrics,
    SubmitterMetrics,
    WorkflowMetrics,
)
from .nag import acknowledge, acknowledge_resource, managed_policy_finding
from .network import BatchNetwork, NetworkMode
from .node_overrides import NodeOverride
from .notifications import NotificationTopic
from .queue import FairShare, ImportedJobQueue, JobQueue, JobQueueBase
from .service import SageMakerTrainingEnvironment, SageMakerTrainingQueue
from .storage import LustreMount, LustreVolume
from .submitter import S3JobRule, S3JobSubmitter, SubmitMode
from .task_job_definition import EcsTaskJobDefinition, TaskContainer
from .triggers import JobSchedule, ObjectCreatedTrigger, WorkflowSchedule
from .workflow import S3_OBJECT_ENVIRONMENT, Step, Workflow

__all__ = [
    "S3_OBJECT_ENVIRONMENT",
    "AllocationStrategy",
    "Architecture",
    "BatchComputeEnvironment",
    "BatchEncryption",
    "BatchJobDefinition",
    "BatchMonitoring",
    "BatchNetwork",
    "ComputeKind",
    "ComputeProfile",
    "ConsumableResource",
    "ConsumableResourceType",
    "Container",
    "ContainerCondition",
    "ContainerJobDefinition",
    "EcsJobDefinitionProps",
    "EcsTaskJobDefinition",
    "Ec2ComputeEnvironment",
    "EksComputeEnvironment",
    "EksContainer",
    "EksJobDefinition",
    "EventDelivery",
    "FairShare",
    "FargateComputeEnvironment",
    "FireLens",
    "FitResult",
    "ImportedJobDefinition",
    "ImportedJobQueue",
    "JobDefinitionBase",
    "JobDefinitionProps",
    "JobLogArchive",
    "JobQueue",
    "JobQueueBase",
    "JobRequirements",
    "JobSchedule",
    "JobStateNotifications",
    "JobStatus",
    "LinuxParameters",
    "ManagedEc2Props",
    "ManagedInstancesComputeEnvironment",
    "LustreMount",
    "LustreVolume",
    "MonitoringThresholds",
    "QueueMetrics",
    "SubmitterMetrics",
    "WorkflowMetrics",
    "MultiNodeJobDefinition",
    "NetworkMode",
    "NodeOverride",
    "NodeRange",
    "NotificationTopic",
    "ObjectCreatedTrigger",
    "Platform",
    "QueueProfile",
    "RetryPolicy",
    "S3JobRule",
    "S3JobSubmitter",
    "SageMakerTrainingEnvironment",
    "SageMakerTrainingQueue",
    "Step",
    "SubmitMode",
    "SubmitShape",
    "TaskContainer",
    "TaskPlatformProps",
    "UnmanagedComputeEnvironment",
    "Workflow",
    "WorkflowNotifications",
    "WorkflowSchedule",
    "acknowledge",
    "acknowledge_eks_cluster",
    "acknowledge_resource",
    "acknowledge_rule",
    "batch_manifests",
    "check_fit",
    "managed_policy_finding",
]
