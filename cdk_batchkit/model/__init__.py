"""The CDK-free AWS Batch model: compute kinds, queue and job profiles, and the synth rules.

Nothing here imports aws-cdk-lib: it loads in milliseconds, in a Lambda, a job or a test, and the
constructs are thin translations from CDK objects into these values.
"""

from __future__ import annotations

from .instances import Architecture, InstanceShape, architecture_of, is_gpu, shape_of
from .jobs import ContainerSpec, JobSpec, LinuxSettings, NodeRangeSpec, Tmpfs, Ulimit
from .profiles import (
    ComputeKind,
    ComputeProfile,
    ConsumableRequest,
    FitResult,
    JobRequirements,
    NodeGroup,
    Orchestration,
    Platform,
    QueueProfile,
    SharedMount,
    SubmitShape,
)
from .rules import RULES, Problem, Rule, check_consumables, check_environment, check_fit, check_queue
from .storage import LaunchTemplateSpec, LustreMountSpec
from .submission import FromInput, Integration, NodeOverrideSpec, Overrides, Submission, SubmitPath

__all__ = [
    "RULES",
    "Architecture",
    "ComputeKind",
    "ComputeProfile",
    "ConsumableRequest",
    "ContainerSpec",
    "FitResult",
    "FromInput",
    "InstanceShape",
    "Integration",
    "JobRequirements",
    "JobSpec",
    "LaunchTemplateSpec",
    "LinuxSettings",
    "LustreMountSpec",
    "NodeOverrideSpec",
    "NodeRangeSpec",
    "NodeGroup",
    "Orchestration",
    "Overrides",
    "Platform",
    "Problem",
    "QueueProfile",
    "Rule",
    "SharedMount",
    "Submission",
    "SubmitPath",
    "SubmitShape",
    "Tmpfs",
    "Ulimit",
    "architecture_of",
    "check_consumables",
    "check_environment",
    "check_fit",
    "check_queue",
    "is_gpu",
    "shape_of",
]
