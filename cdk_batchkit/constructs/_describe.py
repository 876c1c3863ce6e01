"""Describe CDK objects in the model's terms: L2 compute environments, queues and job definitions.

Reads the L2 objects' own properties (the same ones they render into the template). Anything that cannot
be known at synth (an imported ARN, a token) is None, and the rules that need it are skipped with a
warning.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack, Token
from aws_cdk import aws_batch as batch

from ..model import (
    ComputeKind,
    ComputeProfile,
    JobRequirements,
    NodeGroup,
    Platform,
    QueueProfile,
)
from ..model.compute import ComputeSettings
from ..model.queues import FairSharePolicy

_L2_ENVIRONMENTS = (
    batch.ManagedEc2EcsComputeEnvironment,
    batch.ManagedEc2EksComputeEnvironment,
    batch.FargateComputeEnvironment,
    batch.UnmanagedComputeEnvironment,
)


def is_ours(env: Any) -> bool:
    """Whether ``env`` is the L2 resource of one of this library's compute constructs."""
    owner = env.node.scope
    if getattr(owner, "resource", None) is not env:
        return False
    return isinstance(getattr(owner, "profile", None), ComputeProfile)


def settings_of_environment(env: Any) -> ComputeSettings | None:
    """The settings an ``aws_batch`` compute environment defined in this app renders (read from its L1's
    properties, so exactly what the template holds, "optimal" included), or None (imported, or one of
    this library's, whose constructs keep their own settings)."""
    if not isinstance(env, _L2_ENVIRONMENTS) or is_ours(env):
        return None
    cfn = env.node.default_child
    if not isinstance(cfn, batch.CfnComputeEnvironment):
        return None
    # The L1's properties as the L2 set them (camelCase); raw overrides added later are not seen.
    properties = Stack.of(cfn).resolve(cfn._cfn_properties)
    return ComputeSettings.from_api(properties) if isinstance(properties, dict) else None


def profile_of_environment(env: Any) -> ComputeProfile | None:
    """The profile of a compute environment: ours (with network facts), an L2 one (from the properties
    it renders: kind, maxvCpus, instance types and their architecture, and whether its instances run
    Amazon Linux 2023 and have swap, where that is knowable), or None for an imported one."""
    if is_ours(env):
        profile: ComputeProfile = env.node.scope.profile
        return profile
    settings = settings_of_environment(env)
    return None if settings is None else profile_of_settings(settings)


def profile_of_settings(settings: ComputeSettings) -> ComputeProfile:
    """The profile of an environment described by its rendered settings."""
    if settings.kind is ComputeKind.UNMANAGED:
        # Your instances: architecture, GPUs and AMI unknown.
        return ComputeProfile(ComputeKind.UNMANAGED, architecture=None)
    return settings.profile()


def fair_share_of_queue(queue: batch.IJobQueue) -> FairSharePolicy | None:
    """The fair-share policy of an L2 job queue defined in this app (None: none, or not knowable)."""
    policy = getattr(queue, "scheduling_policy", None) if isinstance(queue, batch.JobQueue) else None
    if not isinstance(policy, batch.FairshareSchedulingPolicy):
        return None
    decay, reservation = policy.share_decay, policy.compute_reservation
    seconds = None if decay is None else decay.to_seconds()
    return FairSharePolicy.of(
        [(s.share_identifier, s.weight_factor) for s in policy.shares],
        share_decay_seconds=None if seconds is None or Token.is_unresolved(seconds) else seconds,
        compute_reservation=None
        if reservation is None or Token.is_unresolved(reservation)
        else int(reservation),
    )


def profile_of_queue(queue: batch.IJobQueue) -> QueueProfile | None:
    """The profile of an L2 job queue defined in this app (None for an imported one): its environments
    and, with a fair-share policy, the share identifiers it lists."""
    if not isinstance(queue, batch.JobQueue):
        return None
    ordered = sorted(queue.compute_environments, key=lambda o: o.order)
    environments = tuple(
        (_label(o.compute_environment), profile_of_environment(o.compute_environment)) for o in ordered
    )
    policy = fair_share_of_queue(queue)
    return QueueProfile(
        environments,
        fair_share=queue.scheduling_policy is not None,
        share_identifiers=None if policy is None else policy.share_identifiers,
    )


def _label(env: Any) -> str:
    """Our compute construct's path for its L2 resource, else the L2's own path."""
    owner = env.node.scope
    return str(owner.node.path) if getattr(owner, "resource", None) is env else str(env.node.path)


def _mib(size: Any) -> int:
    mib = size.to_mebibytes() if size is not None else 0
    return 0 if Token.is_unresolved(mib) else int(mib)


def _cpu(value: Any) -> float:
    return 0 if value is None or Token.is_unresolved(value) else float(value)


def requirements_of_definition(definition: batch.IJobDefinition) -> JobRequirements | None:
    """What an L2 job definition defined in this app asks of its compute (None for an imported one)."""
    if isinstance(definition, batch.EcsJobDefinition):
        container = definition.container
        fargate = isinstance(container, batch.EcsFargateContainerDefinition)
        cfn = definition.node.default_child
        image = getattr(getattr(cfn, "container_properties", None), "image", None)
        return JobRequirements(
            platform=Platform.FARGATE if fargate else Platform.EC2,
            vcpus=_cpu(container.cpu),
            memory_mib=_mib(container.memory),
            gpus=0 if fargate else int(getattr(container, "gpu", None) or 0),
            assign_public_ip=bool(getattr(container, "assign_public_ip", False)),
            images=(image,) if isinstance(image, str) and not Token.is_unresolved(image) else (),
        )
    if isinstance(definition, batch.MultiNodeJobDefinition):
        ranges = list(definition.containers)
        if not ranges:
            return None
        nodes = max(int(r.end_node if r.end_node is not None else 0) for r in ranges) + 1
        largest = max(ranges, key=lambda r: (_cpu(r.container.cpu), _mib(r.container.memory)))
        instance_type = definition.instance_type.to_string() if definition.instance_type else None
        # Every range's container is checked (each range is a group of nodes of its own size).
        groups = tuple(
            NodeGroup(
                int(r.end_node if r.end_node is not None else nodes - 1) - int(r.start_node) + 1,
                _cpu(r.container.cpu),
                _mib(r.container.memory),
                int(getattr(r.container, "gpu", None) or 0),
                f"nodes {int(r.start_node)}-{int(r.end_node if r.end_node is not None else nodes - 1)}",
            )
            for r in ranges
        )
        return JobRequirements(
            platform=Platform.EC2,
            vcpus=_cpu(largest.container.cpu),
            memory_mib=_mib(largest.container.memory),
            gpus=int(getattr(largest.container, "gpu", None) or 0),
            nodes=max(nodes, 2),
            instance_type=instance_type,
            node_groups=groups if len(groups) > 1 else (),
        )
    if isinstance(definition, batch.EksJobDefinition):
        pod = definition.container
        return JobRequirements(
            platform=Platform.EKS,
            vcpus=_cpu(pod.cpu_reservation or pod.cpu_limit),
            memory_mib=_mib(pod.memory_reservation or pod.memory_limit),
            gpus=int(pod.gpu_reservation or pod.gpu_limit or 0),
        )
    return None
