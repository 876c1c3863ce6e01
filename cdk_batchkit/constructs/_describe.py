"""Describe CDK objects in the model's terms: L2 compute environments, queues and job definitions.

Reads the L2 objects' own properties (the same ones they render into the template). Anything that cannot
be known at synth (an imported ARN, a token) is None, and the rules that need it are skipped with a
warning.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Token
from aws_cdk import aws_batch as batch
from aws_cdk import aws_ec2 as ec2

from ..model import (
    Architecture,
    ComputeKind,
    ComputeProfile,
    JobRequirements,
    NodeGroup,
    Platform,
    QueueProfile,
    architecture_of,
    is_gpu,
)


def profile_of_environment(env: Any) -> ComputeProfile | None:
    """The profile of a compute environment: ours (with network facts), an L2 one (from its properties),
    or None for an imported one."""
    owner = env.node.scope
    profile = getattr(owner, "profile", None)
    if isinstance(profile, ComputeProfile) and getattr(owner, "resource", None) is env:
        return profile
    maxv = getattr(env, "maxv_cpus", None)
    maxv_cpus = None if maxv is None or Token.is_unresolved(maxv) else int(maxv)
    if isinstance(env, batch.UnmanagedComputeEnvironment):
        return ComputeProfile(ComputeKind.UNMANAGED, architecture=None)
    if isinstance(env, batch.FargateComputeEnvironment):
        return ComputeProfile(
            ComputeKind.of(spot=bool(env.spot), fargate=True), architecture=None, maxv_cpus=maxv_cpus
        )
    eks = isinstance(env, batch.ManagedEc2EksComputeEnvironment)
    if not (eks or isinstance(env, batch.ManagedEc2EcsComputeEnvironment)):
        return None
    names = [t.to_string() for t in env.instance_types or []]
    names += [
        ec2.InstanceType.of(c, ec2.InstanceSize.LARGE).to_string().split(".", 1)[0]
        for c in env.instance_classes or []
    ]
    archs = {architecture_of(t) for t in names}
    # The L2 appends "optimal" unless told not to (a prop it does not expose): assume it does, so a job
    # is never rejected for want of instances the environment may well have.
    types = (*names, "optimal") if archs <= {Architecture.X86_64} else tuple(names)
    return ComputeProfile(
        ComputeKind.of(spot=bool(env.spot), eks=eks),
        architecture=archs.pop() if len(archs) == 1 else Architecture.X86_64,
        maxv_cpus=maxv_cpus,
        instance_types=types,
        gpu=any(is_gpu(t) for t in names),
    )


def profile_of_queue(queue: batch.IJobQueue) -> QueueProfile | None:
    """The profile of an L2 job queue defined in this app (None for an imported one)."""
    if not isinstance(queue, batch.JobQueue):
        return None
    ordered = sorted(queue.compute_environments, key=lambda o: o.order)
    environments = tuple(
        (_label(o.compute_environment), profile_of_environment(o.compute_environment)) for o in ordered
    )
    return QueueProfile(environments, fair_share=queue.scheduling_policy is not None)


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
